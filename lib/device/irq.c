/* SPDX-License-Identifier: MIT */
/*
 * Interrupt lines on the device side: eventfds the VMM registered with
 * KVM_IRQFD.
 *
 * A line keeps two bits. `wanted`: the device wants it asserted (raise,
 * set true; cleared by lower, pulse, set false). `held`, level lines only:
 * KVM holds the GSI asserted, i.e. we wrote the trigger fd and have not
 * heard the EOI on the resample fd since. A raise writes only when the
 * line is not held, so a device that raises on every register access
 * costs one syscall per interrupt, not per access. At an EOI the resample
 * callback clears `held` and, if the line is still wanted, writes again.
 *
 * A failed write leaves `held` clear, so the next raise or EOI retries.
 * EAGAIN (the 64-bit counter is full, nobody consumed 2^64 - 2 writes)
 * means an interrupt is pending anyway: counted as coalesced, success.
 */
#include "server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ioregion/irq.h"

struct ioregion_irq {
	ev_io rio;			/* the resample fd, level lines only */
	struct ioregion_ctx *ctx;
	struct ioregion_irq *prev, *next;
	int trigger_fd;
	int resample_fd;		/* -1: edge line */
	bool wanted;
	bool held;
	struct ioregion_irq_stats stats;
};

/* One write of 1 to the trigger fd. */
static int
irq_trigger(struct ioregion_irq *irq)
{
	static const uint64_t one = 1;
	ssize_t n = write(irq->trigger_fd, &one, sizeof(one));
	int err;

	if (likely(n == sizeof(one))) {
		irq->stats.triggers++;
		irq->held = irq->resample_fd >= 0;
		return 0;
	}
	err = n < 0 ? errno : EIO;
	if (err == EAGAIN) {
		irq->stats.coalesced++;
		irq->held = irq->resample_fd >= 0;
		return 0;
	}
	irq->stats.errors++;
	log_peer(&irq->ctx->log, "interrupt line fd %d: write: %s",
		 irq->trigger_fd, strerror(err));
	return -err;
}

static void
irq_resample_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_irq *irq = (struct ioregion_irq *)w;
	uint64_t n;
	ssize_t r;

	(void)revents;
	r = read(irq->resample_fd, &n, sizeof(n));
	if (r != sizeof(n)) {
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;		/* spurious wake-up */
		/* An eventfd fails no other way; do not spin on it. */
		irq->stats.errors++;
		log_error(&irq->ctx->log,
			  "interrupt line fd %d: resample read failed, no longer watched: %s",
			  irq->resample_fd, r < 0 ? strerror(errno) : "short read");
		ev_io_stop(loop, w);
		ctx_notify_del(irq->ctx, irq->resample_fd);
		return;
	}
	irq->stats.resamples++;
	irq->held = false;
	if (irq->wanted && irq_trigger(irq) == 0)
		irq->stats.reasserts++;
}

/* Duplicate @fd and check it; -errno on failure. */
static int
irq_dup(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (d < 0)
		return errno == EINVAL ? -EBADF : -errno;
	if (!fd_is_nonblocking_eventfd(d)) {
		close(d);
		return -EINVAL;
	}
	return d;
}

static void
irq_free(struct ioregion_irq *irq)
{
	struct ioregion_ctx *ctx = irq->ctx;

	if (irq->resample_fd >= 0) {
		ev_io_stop(ctx->loop, &irq->rio);
		ctx_notify_del(ctx, irq->resample_fd);
		close(irq->resample_fd);
	}
	close(irq->trigger_fd);
	if (irq->prev)
		irq->prev->next = irq->next;
	else
		ctx->irqs = irq->next;
	if (irq->next)
		irq->next->prev = irq->prev;
	free(irq);
}

void
irq_free_all(struct ioregion_ctx *ctx)
{
	while (ctx->irqs)
		irq_free(ctx->irqs);
}

void
irq_notify_all(struct ioregion_ctx *ctx)
{
	struct ioregion_irq *irq;

	for (irq = ctx->irqs; irq; irq = irq->next)
		if (ev_is_active(&irq->rio))
			ctx_notify_add(ctx, irq->resample_fd, EPOLLIN);
}

IOREGION_EXPORT int
ioregion_irq_new(struct ioregion_ctx *ctx, int trigger_fd, int resample_fd,
		 struct ioregion_irq **irqp)
{
	struct ioregion_irq *irq;
	int t, r = -1;

	if (irqp)
		*irqp = NULL;
	if (!ctx || !irqp)
		return -EINVAL;
	if (trigger_fd < 0 || resample_fd < -1)
		return -EBADF;
	if (trigger_fd == resample_fd)
		return -EINVAL;
	t = irq_dup(trigger_fd);
	if (t < 0)
		return t;
	if (resample_fd >= 0) {
		r = irq_dup(resample_fd);
		if (r < 0) {
			close(t);
			return r;
		}
	}
	irq = calloc(1, sizeof(*irq));
	if (!irq) {
		close(t);
		if (r >= 0)
			close(r);
		return -ENOMEM;
	}
	irq->ctx = ctx;
	irq->trigger_fd = t;
	irq->resample_fd = r;
	irq->next = ctx->irqs;
	if (ctx->irqs)
		ctx->irqs->prev = irq;
	ctx->irqs = irq;
	ev_io_init(&irq->rio, irq_resample_cb, r, EV_READ);
	if (r >= 0) {
		ev_io_start(ctx->loop, &irq->rio);
		ctx_notify_add(ctx, r, EPOLLIN);
	}
	*irqp = irq;
	return 0;
}

IOREGION_EXPORT void
ioregion_irq_destroy(struct ioregion_irq *irq)
{
	if (irq)
		irq_free(irq);
}

IOREGION_EXPORT int
ioregion_irq_raise(struct ioregion_irq *irq)
{
	if (unlikely(!irq))
		return -EINVAL;
	irq->wanted = true;
	if (irq->held)
		return 0;	/* KVM holds it until the EOI; re-asserted then */
	return irq_trigger(irq);
}

IOREGION_EXPORT int
ioregion_irq_lower(struct ioregion_irq *irq)
{
	if (unlikely(!irq))
		return -EINVAL;
	irq->wanted = false;
	return 0;
}

IOREGION_EXPORT int
ioregion_irq_pulse(struct ioregion_irq *irq)
{
	if (unlikely(!irq))
		return -EINVAL;
	irq->wanted = false;
	if (irq->held)
		return 0;
	return irq_trigger(irq);
}

IOREGION_EXPORT int
ioregion_irq_set(struct ioregion_irq *irq, bool asserted)
{
	if (unlikely(!irq))
		return -EINVAL;
	if (!asserted)
		return ioregion_irq_lower(irq);
	if (irq->wanted && irq->resample_fd < 0)
		return 0;	/* edge: no rising change, no edge */
	return ioregion_irq_raise(irq);
}

IOREGION_EXPORT int
ioregion_irq_is_asserted(const struct ioregion_irq *irq)
{
	if (!irq)
		return -EINVAL;
	return irq->wanted ? 1 : 0;
}

IOREGION_EXPORT int
ioregion_irq_get_stats(const struct ioregion_irq *irq,
		       struct ioregion_irq_stats *stats)
{
	if (!irq || !stats)
		return -EINVAL;
	*stats = irq->stats;
	return 0;
}
