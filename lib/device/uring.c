/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend: one ring per context. Each open channel keeps one
 * receive queued in it (a packet on SEQPACKET, up to a buffer of bytes on
 * a stream or pipe) into the same buffers the epoll backend fills, and
 * the responses of a batch go in as sends (linked on SEQPACKET, so that
 * they leave in order) together with the next receive. libev and the
 * get_fd epoll watch the ring's fd, which is readable when completions
 * wait; ioregion_ctx_run() instead sleeps in the io_uring_enter() that
 * submits them.
 *
 * The flow per channel mirrors input.c's run_batches(): commands are
 * handled only while none of the channel's sends is in flight, so output
 * never exceeds one batch and answers keep command order; a receive that
 * completes meanwhile waits in the buffer. A deferred read stops
 * receiving until it is answered.
 *
 * Requests carry the channel's address in user_data, the kind in the two
 * low bits. A channel freed while requests name it (they were cancelled
 * when its fds closed) stays allocated, as a zombie, until their
 * completions have come back: the kernel may still write into its
 * buffers until then.
 */
#include "server-private.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#if IOREGION_HAVE_IO_URING

#include "uring-private.h"

#include <poll.h>

static void
zombie_free(struct ctx_uring *u, struct ioregion_channel *ch)
{
	struct ioregion_channel **pp = &u->zombies;

	while (*pp != ch)
		pp = &(*pp)->next_zombie;
	*pp = ch->next_zombie;
	uring_free_buffers(u, ch);
	free(ch);
}

static void
complete(struct ioregion_ctx *ctx, uint64_t ud, int res, unsigned int flags)
{
	struct ioregion_channel *ch = (struct ioregion_channel *)(uintptr_t)(ud & ~3ull);
	int tag = (int)(ud & 3);

	if (ud == UD_AUX) {
		ctx->uring->aux_armed = false;
		ctx->uring->aux_fired = true;
		return;
	}
	if (!ch)
		return;		/* a cancel's own completion */
	if (flags & IORING_CQE_F_MORE) {
		/* the multishot receive goes on */
	} else {
		ch->uring_ops--;
	}
	if (!ch->ctx && (flags & IORING_CQE_F_MORE))
		return;
	if (!ch->ctx) {		/* freed while the request was in flight */
		if (tag == TAG_SEND)
			ch->uring_sends--;
		if (!ch->uring_ops)
			zombie_free(ctx->uring, ch);
		return;
	}
	if (tag == TAG_POLL) {
		ch->uring_polls--;
		return;		/* the linked request completes next */
	}
	channel_enter(ch);
	if (tag == TAG_RECV)
		uring_recv_done(ch, res, flags);
	else
		uring_send_done(ch, res);
	channel_leave(ch);
}

/* Handle every completion there is. No submission: the caller does it
 * (ring_cb at once, the run loop with its wait). */
static void
reap(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = ctx->uring;
	struct io_uring_cqe *cqe;

	u->reaping++;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t ud = cqe->user_data;
		int res = cqe->res;
		unsigned int flags = cqe->flags;

		io_uring_cqe_seen(&u->ring, cqe);
		complete(ctx, ud, res, flags);
	}
	u->reaping--;
}

/* Adaptive polling: submit what is queued first (the answers just made:
 * the peer waits for them; under ioregion_ctx_run() nothing else would
 * before the window ends), then watch the completion queue without
 * sleeping, the window re-armed by each completion. */
static void
poll_window(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = ctx->uring;
	uint64_t deadline = now_ns() + ctx->poll_ns;

	while (!ctx->dead) {
		if (io_uring_sq_ready(&u->ring))
			uring_submit(u);
		if (now_ns() >= deadline)
			break;
		if (!io_uring_cq_ready(&u->ring)) {
			/* A receive that completed waits as task work until
			 * this task enters the kernel (COOP_TASKRUN: no IPI
			 * for it); the flag says when: enter only then. */
			if (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN)
				io_uring_get_events(&u->ring);
			else
				cpu_relax();
			continue;
		}
		reap(ctx);
		deadline = now_ns() + ctx->poll_ns;
	}
}

static void
ring_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_ctx *ctx = w->data;
	struct ctx_uring *u = ctx->uring;

	ctx_enter(ctx);
	/* What the submission completes at once (the sends, a receive
	 * whose data is there) is handled in the same pass, a few rounds
	 * at most before the loop's other watchers get their turn. */
	for (int i = 0; i < 8 && !ctx->dead; i++) {
		reap(ctx);
		if (!io_uring_sq_ready(&u->ring))
			break;
		uring_submit(u);
		if (!io_uring_cq_ready(&u->ring))
			break;
	}
	if (ctx->poll_ns && !ctx->dead)
		poll_window(ctx);
	ctx_leave(ctx);
}

/* Submit what was queued outside a pass over the completions, at once:
 * nothing else would (a get_fd caller may be about to sleep). */
void
uring_commit(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = ctx->uring;

	if (!u->reaping && io_uring_sq_ready(&u->ring))
		uring_submit(u);
}

int
uring_ctx_init(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return -ENOMEM;
	/*
	 * COOP_TASKRUN: a completion's task work does not interrupt this
	 * task with an IPI; it runs when the task next enters the kernel
	 * (its wait in io_uring_enter() or epoll_wait() still wakes).
	 * TASKRUN_FLAG marks pending work in the SQ ring's flags, so that a
	 * polling window, which never enters the kernel by itself, fetches
	 * it (poll_window()) and liburing's peek does too. Kernels before
	 * 5.19 refuse the flags: a plain ring then.
	 */
	rc = io_uring_queue_init(RING_ENTRIES, &u->ring, IORING_SETUP_COOP_TASKRUN |
				 IORING_SETUP_TASKRUN_FLAG);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(RING_ENTRIES, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return rc;
	}
	/* The ring's watcher alone does not keep ev_run() going: each open
	 * channel holds a reference on the loop instead, as its fd watcher
	 * does on the epoll backend. */
	ev_io_init(&u->io, ring_cb, u->ring.ring_fd, EV_READ);
	u->io.data = ctx;
	ev_io_start(ctx->loop, &u->io);
	ev_unref(ctx->loop);
	ctx->uring = u;
	ctx_notify_add(ctx, u->ring.ring_fd, EPOLLIN);
	return 0;
}

/* Called after every channel was freed: wait for the requests of the
 * zombies (cancelled when their fds closed), then close the ring. */
void
uring_ctx_fini(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = ctx->uring;
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_cqe *cqe;

	if (!u)
		return;
	while (u->zombies) {
		if (io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL) < 0 &&
		    !io_uring_cq_ready(&u->ring))
			break;	/* never expected: the kernel lost a cancel */
		reap(ctx);
	}
	ev_ref(ctx->loop);
	ev_io_stop(ctx->loop, &u->io);
	io_uring_queue_exit(&u->ring);
	while (u->zombies) {
		struct ioregion_channel *ch = u->zombies;

		u->zombies = ch->next_zombie;
		free(ch->uring_br);
		free(ch);
	}
	free(u);
	ctx->uring = NULL;
}

int
uring_ctx_fd(struct ioregion_ctx *ctx)
{
	return ctx->uring->ring.ring_fd;
}

int
uring_ctx_run(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = ctx->uring;
	struct io_uring_cqe *cqe;
	int notify_fd, rc = 0;

	/* The wait covers what get_fd reports: its epoll fd, without the
	 * ring's own fd for the time being, polled from the ring. */
	notify_fd = ioregion_ctx_get_fd(ctx);
	if (notify_fd < 0)
		return notify_fd;
	ctx_notify_del(ctx, u->ring.ring_fd);
	ctx_enter(ctx);
	u->in_run = true;
	while (!ctx->dead && ctx_any_open(ctx)) {
		struct __kernel_timespec ts;
		int timeout_ms;

		if (!u->aux_armed) {
			struct io_uring_sqe *sqe = uring_get_sqe(u, 1);

			if (sqe) {
				io_uring_prep_poll_add(sqe, notify_fd, POLLIN);
				io_uring_sqe_set_data64(sqe, UD_AUX);
				u->aux_armed = true;
			}
		}
		if (u->more) {
			/* commands wait behind the sends: no sleeping */
			u->more = false;
			uring_submit(u);
			rc = 0;
		} else {
			ioregion_ctx_get_timeout(ctx, &timeout_ms);
			ts.tv_sec = timeout_ms / 1000;
			ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
			/* the sends complete at once: wait for one thing more */
			rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe,
							      1 + u->new_sends,
							      timeout_ms >= 0 ? &ts : NULL,
							      NULL);
			u->new_sends = 0;
		}
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN &&
		    rc != -EBUSY)
			break;
		reap(ctx);
		if (ctx->poll_ns)
			poll_window(ctx);
		if (rc == -ETIME || u->aux_fired || ev_pending_count(ctx->loop)) {
			/* timers, interrupt lines, fed events: the loop's turn */
			u->aux_fired = false;
			ev_run(ctx->loop, EVRUN_NOWAIT);
		}
		rc = 0;
	}
	u->in_run = false;
	if (!ctx->dead) {
		ctx_notify_add(ctx, u->ring.ring_fd, EPOLLIN);
		if (u->aux_armed) {
			struct io_uring_sqe *sqe = uring_get_sqe(u, 1);

			if (sqe) {
				io_uring_prep_cancel64(sqe, UD_AUX, 0);
				io_uring_sqe_set_data64(sqe, 0);
				uring_submit(u);
			}
		}
	}
	ctx_leave(ctx);
	return rc;
}

#else /* !IOREGION_HAVE_IO_URING: never called but for init */

int
uring_ctx_init(struct ioregion_ctx *ctx)
{
	return -EOPNOTSUPP;
}

void uring_ctx_fini(struct ioregion_ctx *ctx) {}
int uring_ctx_fd(struct ioregion_ctx *ctx) { return -1; }
int uring_ctx_run(struct ioregion_ctx *ctx) { return -EOPNOTSUPP; }
void uring_commit(struct ioregion_ctx *ctx) {}
void uring_channel_open(struct ioregion_channel *ch) {}
void uring_channel_close(struct ioregion_channel *ch) {}
bool uring_channel_keep(struct ioregion_channel *ch) { return false; }
void uring_channel_resume(struct ioregion_channel *ch) {}
void uring_reading_stop(struct ioregion_channel *ch) {}

#endif
