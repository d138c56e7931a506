/* SPDX-License-Identifier: MIT */
/* Device server context: the loop, logging, teardown, get_fd/dispatch. */
#include "server-private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void
ctx_free(struct ioregion_ctx *ctx)
{
	while (ctx->channels)
		channel_free_now(ctx->channels);
	irq_free_all(ctx);
	if (ctx->uring)
		uring_ctx_fini(ctx);
	if (ctx->notify_fd >= 0)
		close(ctx->notify_fd);
	if (ctx->kick_fd >= 0)
		close(ctx->kick_fd);
	if (ctx->stop_fd >= 0)
		close(ctx->stop_fd);
	if (ctx->own_loop)
		ev_loop_destroy(ctx->loop);
	log_fini(&ctx->log);
	free(ctx);
}

/* IOREGION_SERVER_BACKEND: the default backend of a process's contexts. */
static void
backend_from_env(struct ioregion_ctx *ctx)
{
	const char *name = secure_getenv("IOREGION_SERVER_BACKEND");

	if (!name || !*name || strcmp(name, "epoll") == 0)
		return;
	if (strcmp(name, "io_uring") == 0)
		ioregion_ctx_set_backend(ctx, IOREGION_BACKEND_IO_URING);
	else
		log_info(&ctx->log, "IOREGION_SERVER_BACKEND=%s unknown (epoll or io_uring): using epoll\n",
			 name);
}

IOREGION_EXPORT int
ioregion_ctx_new(struct ev_loop *loop, struct ioregion_ctx **ctxp)
{
	struct ioregion_ctx *ctx;

	if (!ctxp)
		return -EINVAL;
	*ctxp = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refcount = 1;
	ctx->notify_fd = -1;
	ctx->kick_fd = -1;
	ctx->stop_fd = -1;
	ctx->deferred_timeout_ms = IOREGION_DEFERRED_TIMEOUT_MS_DEFAULT;
	log_init(&ctx->log);
	if (loop) {
		ctx->loop = loop;
	} else {
		/* A private loop, never EV_DEFAULT: no global state. */
		ctx->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
		if (!ctx->loop)
			ctx->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
		if (!ctx->loop) {
			free(ctx);
			return -ENOMEM;
		}
		ctx->own_loop = true;
	}
	backend_from_env(ctx);
	*ctxp = ctx;
	return 0;
}

IOREGION_EXPORT struct ioregion_ctx *
ioregion_ctx_ref(struct ioregion_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

IOREGION_EXPORT struct ioregion_ctx *
ioregion_ctx_unref(struct ioregion_ctx *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return NULL;
	if (ctx->busy) {
		/* From inside one of our callbacks: finish when it returns. */
		ctx->dead = true;
		return NULL;
	}
	ctx_free(ctx);
	return NULL;
}

void
ctx_enter(struct ioregion_ctx *ctx)
{
	ctx->busy++;
}

void
ctx_leave(struct ioregion_ctx *ctx)
{
	if (--ctx->busy == 0 && ctx->dead)
		ctx_free(ctx);
}

IOREGION_EXPORT void
ioregion_ctx_set_log_handler(struct ioregion_ctx *ctx,
			     ioregion_log_handler_fn *handler, void *data)
{
	if (!ctx)
		return;
	ctx->log.handler = handler;
	ctx->log.data = data;
}

IOREGION_EXPORT void
ioregion_ctx_set_log_priority(struct ioregion_ctx *ctx,
			      enum ioregion_log_priority priority)
{
	if (ctx)
		ctx->log.priority = priority;
}

IOREGION_EXPORT int
ioregion_ctx_set_deferred_timeout(struct ioregion_ctx *ctx, unsigned int ms)
{
	if (!ctx || ms == 0)
		return -EINVAL;
	ctx->deferred_timeout_ms = ms;
	return 0;
}

IOREGION_EXPORT int
ioregion_ctx_set_poll_us(struct ioregion_ctx *ctx, unsigned int us)
{
	if (!ctx || us > IOREGION_POLL_US_MAX)
		return -EINVAL;
	ctx->poll_ns = (uint64_t)us * 1000;
	return 0;
}

IOREGION_EXPORT int
ioregion_ctx_set_backend(struct ioregion_ctx *ctx, enum ioregion_backend backend)
{
	int rc;

	if (!ctx || (backend != IOREGION_BACKEND_EPOLL &&
		     backend != IOREGION_BACKEND_IO_URING))
		return -EINVAL;
	if (ctx->channels || ctx->busy)
		return -EBUSY;
	if ((backend == IOREGION_BACKEND_IO_URING) == !!ctx->uring)
		return 0;
	if (backend == IOREGION_BACKEND_EPOLL) {
		uring_ctx_fini(ctx);
		return 0;
	}
	rc = uring_ctx_init(ctx);
	if (rc == -EOPNOTSUPP)
		log_info(&ctx->log, "io_uring backend not built in (liburing missing at build time): using epoll\n");
	else if (rc < 0)
		log_info(&ctx->log, "io_uring unavailable (%s%s): using epoll\n",
			 strerror(-rc), rc == -EPERM ? ", sysctl kernel.io_uring_disabled?" : "");
	return 0;
}

IOREGION_EXPORT enum ioregion_backend
ioregion_ctx_get_backend(struct ioregion_ctx *ctx)
{
	return ctx && ctx->uring ? IOREGION_BACKEND_IO_URING : IOREGION_BACKEND_EPOLL;
}

bool
ctx_any_open(const struct ioregion_ctx *ctx)
{
	if (ctx->stop)
		return false;
	for (const struct ioregion_channel *ch = ctx->channels; ch; ch = ch->next)
		if (ch->open)
			return true;
	return false;
}

/* Empty the stop eventfd (it was written only while a run was on). */
static void
stop_drain(struct ioregion_ctx *ctx)
{
	uint64_t n;

	if (read(ctx->stop_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug(&ctx->log, "stop eventfd: %s\n", strerror(errno));
}

static void
stop_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	stop_drain(w->data);
}

/*
 * The run's wake-up for ioregion_ctx_stop(): an eventfd, watched by the
 * loop (the epoll backend sleeps in ev_run()) and by get_fd's epoll fd
 * (the io_uring backend's wait covers it). Made once; a syscall or two
 * per run, none per access.
 */
static int
stop_watch(struct ioregion_ctx *ctx)
{
	int fd;

	if (ctx->stop_fd < 0) {
		ctx->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ctx->stop_fd < 0)
			return -errno;
		ev_io_init(&ctx->stop_io, stop_cb, ctx->stop_fd, EV_READ);
		ctx->stop_io.data = ctx;
	}
	if (ctx->uring) {
		fd = ioregion_ctx_get_fd(ctx);
		if (fd < 0)
			return fd;
		ctx_notify_add(ctx, ctx->stop_fd, EPOLLIN);
	}
	ev_io_start(ctx->loop, &ctx->stop_io);
	return 0;
}

IOREGION_EXPORT int
ioregion_ctx_run(struct ioregion_ctx *ctx)
{
	int rc = 0;

	if (!ctx)
		return -EINVAL;
	if (ctx->busy)
		return -EBUSY;
	/* Our own hold: the context outlives a last unref in a callback
	 * until the stop watcher is put away. */
	ctx_enter(ctx);
	if (!ctx->stop) {
		rc = stop_watch(ctx);
		if (rc == 0) {
			ctx->running = 1;
			if (ctx->uring) {
				rc = uring_ctx_run(ctx);
				/* A stop from a callback leaves that pass's
				 * answers queued in the ring: send them. */
				if (!ctx->dead && ctx->uring)
					uring_commit(ctx);
			} else {
				while (!ctx->dead && ctx_any_open(ctx))
					ev_run(ctx->loop, EVRUN_ONCE);
			}
			ctx->running = 0;
			ev_io_stop(ctx->loop, &ctx->stop_io);
			if (ctx->stop)
				stop_drain(ctx);
		}
	}
	ctx->stop = 0;
	ctx_leave(ctx);
	return rc;
}

IOREGION_EXPORT int
ioregion_ctx_stop(struct ioregion_ctx *ctx)
{
	uint64_t one = 1;
	int saved = errno;

	if (!ctx)
		return -EINVAL;
	ctx->stop = 1;
	/* Only a running run watches the eventfd: outside of one, the flag
	 * alone makes the next run return at once. */
	if (ctx->running && ctx->stop_fd >= 0 &&
	    write(ctx->stop_fd, &one, sizeof(one)) != sizeof(one)) {
		/* never: the counter is drained after each run */
	}
	errno = saved;
	return 0;
}

IOREGION_EXPORT struct ev_loop *
ioregion_ctx_get_loop(struct ioregion_ctx *ctx)
{
	return ctx ? ctx->loop : NULL;
}

void
ctx_notify_add(struct ioregion_ctx *ctx, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (ctx->notify_fd < 0 || fd < 0)
		return;
	if (epoll_ctl(ctx->notify_fd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
	    errno == EEXIST)
		epoll_ctl(ctx->notify_fd, EPOLL_CTL_MOD, fd, &ev);
}

void
ctx_notify_del(struct ioregion_ctx *ctx, int fd)
{
	if (ctx->notify_fd >= 0 && fd >= 0)
		epoll_ctl(ctx->notify_fd, EPOLL_CTL_DEL, fd, NULL);
}

void
ctx_watch_add(struct ioregion_ctx *ctx, struct ctx_watch *w, int fd)
{
	w->fd = fd;
	w->next = ctx->watches;
	ctx->watches = w;
	ctx_notify_add(ctx, fd, EPOLLIN);
}

void
ctx_watch_del(struct ioregion_ctx *ctx, struct ctx_watch *w)
{
	struct ctx_watch **pp = &ctx->watches;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (!*pp)
		return;		/* not watched */
	*pp = w->next;
	ctx_notify_del(ctx, w->fd);
}

/*
 * Work that is in no fd: commands buffered in a channel behind a deferred
 * read that was completed outside ioregion_ctx_dispatch(). The loop has an
 * event fed for them; a get_fd caller learns of it from the kick eventfd,
 * which the next dispatch clears. One write per completion that leaves
 * commands behind, and only for contexts that use get_fd.
 */
void
ctx_kick(struct ioregion_ctx *ctx)
{
	uint64_t one = 1;

	if (ctx->kick_fd < 0 || ctx->kicked)
		return;
	if (write(ctx->kick_fd, &one, sizeof(one)) == sizeof(one))
		ctx->kicked = true;
}

/*
 * libev does not expose its backend fd, so get_fd returns an epoll fd of
 * our own that watches the channels' fds (level-triggered; on the
 * io_uring backend the ring's fd instead), the level
 * interrupt lines' resample fds, the devices' control sessions
 * (ctx_watch_add()) and the kick eventfd: it is readable whenever ioregion_ctx_dispatch() has input or
 * output work. Made on first use, so contexts that run on libev pay
 * nothing for it.
 */
IOREGION_EXPORT int
ioregion_ctx_get_fd(struct ioregion_ctx *ctx)
{
	struct ioregion_channel *ch;
	int rc;

	if (!ctx)
		return -EINVAL;
	if (ctx->notify_fd >= 0)
		return ctx->notify_fd;
	ctx->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ctx->kick_fd < 0)
		return -errno;
	ctx->notify_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->notify_fd < 0) {
		rc = -errno;
		close(ctx->kick_fd);
		ctx->kick_fd = -1;
		return rc;
	}
	ctx_notify_add(ctx, ctx->kick_fd, EPOLLIN);
	if (ctx->uring)
		ctx_notify_add(ctx, uring_ctx_fd(ctx), EPOLLIN);
	for (ch = ctx->channels; ch; ch = ch->next) {
		if (!ch->open)
			continue;
		if (ev_is_active(&ch->rio)) {
			ctx_notify_add(ctx, ch->rfd, EPOLLIN);
			if (channel_input_buffered(ch))
				ctx_kick(ctx);
		}
		if (ev_is_active(&ch->wio))
			ctx_notify_add(ctx, ch->wfd, EPOLLOUT);
	}
	irq_notify_all(ctx);
	for (struct ctx_watch *w = ctx->watches; w; w = w->next)
		ctx_notify_add(ctx, w->fd, EPOLLIN);
	return ctx->notify_fd;
}

IOREGION_EXPORT int
ioregion_ctx_dispatch(struct ioregion_ctx *ctx)
{
	uint64_t n;

	if (!ctx)
		return -EINVAL;
	if (ctx->busy)
		return -EBUSY;	/* inside one of our callbacks, or dispatch */
	if (ctx->kicked) {
		/* The fed events it stands for are run below. */
		if (read(ctx->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return -errno;
		ctx->kicked = false;
	}
	/* A callback may drop the last reference: free the context (and its
	 * private loop) after ev_run() is done with the loop, not inside it. */
	ctx_enter(ctx);
	ev_run(ctx->loop, EVRUN_NOWAIT);
	ctx_leave(ctx);
	return 0;
}

IOREGION_EXPORT int
ioregion_ctx_get_timeout(struct ioregion_ctx *ctx, int *timeout_ms)
{
	struct ioregion_channel *ch;
	double next = -1.0;

	if (!ctx || !timeout_ms)
		return -EINVAL;
	ev_now_update(ctx->loop);
	for (ch = ctx->channels; ch; ch = ch->next) {
		double left;

		if (!ev_is_active(&ch->deferred_timer))
			continue;
		left = ev_timer_remaining(ctx->loop, &ch->deferred_timer);
		if (left < 0)
			left = 0;
		if (next < 0 || left < next)
			next = left;
	}
	/* round up: waking a little late is fine, too early spins */
	*timeout_ms = next < 0 ? -1 :
		      next * 1000.0 >= INT_MAX ? INT_MAX :
		      (int)(next * 1000.0 + 0.999);
	return 0;
}
