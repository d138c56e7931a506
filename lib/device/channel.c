/* SPDX-License-Identifier: MIT */
/*
 * Channels: construction, lifetime (busy counting, so that a channel
 * destroyed inside its own callback is freed on the way out), closing,
 * and the small accessors. The I/O is in input.c, output.c, deferred.c.
 */
#include "server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A fallback channel's callbacks run on its primary's regions, and may
 * destroy the primary (ioregion_region_get_channel()): entering a
 * fallback holds its primary busy too, so the primary, its regions and
 * its fallbacks are freed only after the callback unwinds.
 */
void
channel_enter(struct ioregion_channel *ch)
{
	ch->busy++;
	if (ch->primary)
		ch->primary->busy++;
	ctx_enter(ch->ctx);
}

/* One level out; true if that freed the channel. */
static bool
settle(struct ioregion_channel *ch)
{
	if (--ch->busy)
		return false;
	if (!ch->primary)
		region_reap(ch);
	if (!ch->destroy_requested)
		return false;
	channel_free_now(ch);
	return true;
}

/* Returns true if the channel was freed. The context may be freed too. */
bool
channel_leave(struct ioregion_channel *ch)
{
	struct ioregion_ctx *ctx = ch->ctx;
	struct ioregion_channel *primary = ch->primary;
	bool freed = settle(ch);

	/* A primary freed here takes its fallbacks, @ch included. */
	if (primary && settle(primary))
		freed = true;
	ctx_leave(ctx);
	return freed;
}

static void
close_fds(struct ioregion_channel *ch)
{
	struct ev_loop *loop = ch->ctx->loop;

	if (ch->ctx->uring)
		uring_channel_close(ch);
	ev_io_stop(loop, &ch->rio);
	ev_io_stop(loop, &ch->wio);
	ev_timer_stop(loop, &ch->deferred_timer);
	ctx_notify_del(ch->ctx, ch->rfd);
	if (ch->wfd != ch->rfd)
		ctx_notify_del(ch->ctx, ch->wfd);
	if (ch->rfd >= 0)
		close(ch->rfd);
	if (ch->wfd >= 0 && ch->wfd != ch->rfd)
		close(ch->wfd);
	ch->rfd = ch->wfd = -1;
	ch->open = false;
	ch->pending = NULL;
}

/* The channel ends by itself: EOF (error 0) or an fd error. */
void
channel_close(struct ioregion_channel *ch, int error)
{
	if (!ch->open)
		return;
	if (error)
		log_error(&ch->ctx->log, "channel closed: %s\n", strerror(-error));
	else
		log_info(&ch->ctx->log, "channel closed by the peer (EOF)\n");
	close_fds(ch);
	if (ch->close_fn && !ch->destroy_requested) {
		channel_enter(ch);
		ch->close_fn(ch, error, ch->close_data);
		channel_leave(ch);	/* frees only if busy was 0 before */
	}
}

void
channel_free_now(struct ioregion_channel *ch)
{
	struct ioregion_ctx *ctx = ch->ctx;

	if (ch->open)
		close_fds(ch);
	if (ch->peer_fd >= 0)
		close(ch->peer_fd);
	if (ch->primary) {
		struct ioregion_channel **pp = &ch->primary->fallbacks;

		while (*pp != ch)
			pp = &(*pp)->next_fallback;
		*pp = ch->next_fallback;
	} else {
		while (ch->fallbacks)
			channel_free_now(ch->fallbacks);
		region_free_all(ch);
	}
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		ctx->channels = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	if (ctx->uring && uring_channel_keep(ch))
		return;		/* freed when the ring is done with it */
	free(ch);
}

static void
channel_stop(struct ioregion_channel *ch)
{
	ch->destroy_requested = true;
	if (ch->open)
		close_fds(ch);
}

IOREGION_EXPORT void
ioregion_channel_destroy(struct ioregion_channel *ch)
{
	if (!ch)
		return;
	if (ch->busy) {
		/* Inside one of its callbacks (or, for a primary, of one of its
		 * fallbacks'): stop now, free on the way out. A primary's
		 * fallbacks go with it. */
		struct ioregion_channel *fb;

		channel_stop(ch);
		for (fb = ch->fallbacks; fb; fb = fb->next_fallback)
			channel_stop(fb);
		return;
	}
	channel_free_now(ch);
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Classify an fd: 1 SEQPACKET socket, 2 stream socket, 3 pipe/FIFO. */
static int
fd_kind(int fd)
{
	struct stat st;
	int type;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode))
		return 3;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	if (type == SOCK_SEQPACKET)
		return 1;
	if (type == SOCK_STREAM)
		return 2;
	return -EINVAL;
}

static int
channel_create(struct ioregion_ctx *ctx, int rfd, int wfd, int peer_fd,
	       enum ioregion_wire_dialect dialect,
	       struct ioregion_channel **chp)
{
	struct ioregion_channel *ch;
	int rkind, wkind, rc;

	rkind = fd_kind(rfd);
	if (rkind < 0)
		return rkind;
	wkind = wfd == rfd ? rkind : fd_kind(wfd);
	if (wkind < 0)
		return wkind;
	/* One message framing both ways. */
	if ((rkind == 1) != (wkind == 1))
		return -EINVAL;
	if ((rc = set_nonblock(rfd)) < 0 || (rc = set_nonblock(wfd)) < 0)
		return rc;

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->ctx = ctx;
	ch->dialect = dialect;
	ch->seqpacket = rkind == 1;
	ch->is_socket = wkind != 3;
	ch->rfd = rfd;
	ch->wfd = wfd;
	ch->peer_fd = peer_fd;
	ch->open = true;
	for (unsigned int i = 0; i < BATCH_MAX; i++) {
		ch->iov[i] = (struct iovec){ ch->pkt[i], PKT_BUF };
		ch->msgs[i].msg_hdr.msg_iov = &ch->iov[i];
		ch->msgs[i].msg_hdr.msg_iovlen = 1;
		ch->oiov[i] = (struct iovec){ ch->out + (size_t)i * MSG_SIZE, MSG_SIZE };
		ch->omsgs[i].msg_hdr.msg_iov = &ch->oiov[i];
		ch->omsgs[i].msg_hdr.msg_iovlen = 1;
	}
	ev_io_init(&ch->rio, channel_read_cb, rfd, EV_READ);
	ev_io_init(&ch->wio, channel_write_cb, wfd, EV_WRITE);
	ev_timer_init(&ch->deferred_timer, channel_timer_cb, 1., 0.);
	ch->rio.data = ch->wio.data = ch->deferred_timer.data = ch;

	ch->next = ctx->channels;
	if (ctx->channels)
		ctx->channels->prev = ch;
	ctx->channels = ch;
	if (ctx->uring) {
		uring_channel_open(ch);
	} else {
		ev_io_start(ctx->loop, &ch->rio);
		ctx_notify_add(ctx, rfd, EPOLLIN);
	}
	*chp = ch;
	return 0;
}

/* A channel on a new SEQPACKET pair: sv[0] is ours (made non-blocking);
 * sv[1], the peer's, stays blocking, as KVM needs it. */
static int
channel_new_pair(struct ioregion_ctx *ctx, enum ioregion_wire_dialect dialect,
		 struct ioregion_channel **chp)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = channel_create(ctx, sv[0], sv[0], sv[1], dialect, chp);
	if (rc < 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return rc;
}

IOREGION_EXPORT int
ioregion_channel_new(struct ioregion_ctx *ctx,
		     enum ioregion_wire_dialect dialect,
		     struct ioregion_channel **chp)
{
	if (!ctx || !chp || !ioregion_wire_dialect_valid((int)dialect))
		return -EINVAL;
	*chp = NULL;
	return channel_new_pair(ctx, dialect, chp);
}

IOREGION_EXPORT int
ioregion_channel_new_fallback(struct ioregion_channel *primary,
			      struct ioregion_channel **chp)
{
	struct ioregion_channel *fb;
	int rc;

	if (chp)
		*chp = NULL;
	if (!primary || !chp || primary->primary)
		return -EINVAL;
	if (!primary->open || primary->destroy_requested)
		return -ENOTCONN;
	rc = channel_new_pair(primary->ctx,
			      (enum ioregion_wire_dialect)primary->dialect, &fb);
	if (rc < 0)
		return rc;
	fb->primary = primary;
	fb->next_fallback = primary->fallbacks;
	primary->fallbacks = fb;
	*chp = fb;
	return 0;
}

IOREGION_EXPORT int
ioregion_channel_new_from_fds(struct ioregion_ctx *ctx, int read_fd,
			      int write_fd, enum ioregion_wire_dialect dialect,
			      struct ioregion_channel **chp)
{
	int rc;

	if (chp)
		*chp = NULL;
	if (!ctx || !chp || !ioregion_wire_dialect_valid((int)dialect) ||
	    read_fd < 0 || write_fd < 0) {
		rc = -EINVAL;
		goto fail;
	}
	rc = channel_create(ctx, read_fd, write_fd, -1, dialect, chp);
	if (rc == 0)
		return 0;
fail:
	/* The channel owns the fds, also on failure. */
	if (read_fd >= 0)
		close(read_fd);
	if (write_fd >= 0 && write_fd != read_fd)
		close(write_fd);
	return rc;
}

IOREGION_EXPORT int
ioregion_channel_peer_fd(struct ioregion_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return ch->peer_fd >= 0 ? ch->peer_fd : -ENOENT;
}

IOREGION_EXPORT int
ioregion_channel_take_peer_fd(struct ioregion_channel *ch)
{
	int fd;

	if (!ch)
		return -EINVAL;
	if (ch->peer_fd < 0)
		return -ENOENT;
	fd = ch->peer_fd;
	ch->peer_fd = -1;
	return fd;
}

IOREGION_EXPORT enum ioregion_wire_dialect
ioregion_channel_get_dialect(struct ioregion_channel *ch)
{
	return ch ? (enum ioregion_wire_dialect)ch->dialect : IOREGION_WIRE_V3;
}

IOREGION_EXPORT void
ioregion_channel_set_close_handler(struct ioregion_channel *ch,
				   ioregion_channel_close_fn *fn, void *data)
{
	if (!ch)
		return;
	ch->close_fn = fn;
	ch->close_data = data;
}

IOREGION_EXPORT int
ioregion_channel_is_open(struct ioregion_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return ch->open ? 1 : 0;
}

IOREGION_EXPORT int
ioregion_channel_get_stats(struct ioregion_channel *ch,
			   struct ioregion_channel_stats *stats)
{
	if (!ch || !stats)
		return -EINVAL;
	*stats = ch->stats;
	return 0;
}
