/* SPDX-License-Identifier: MIT */
/*
 * Channels: the per-fd I/O of the device server.
 *
 * Per wake-up, every whole command already in the fd is read (one recvmmsg
 * on SEQPACKET, one read() on a stream or pipe, repeated only while the
 * buffer came back full), each is validated and dispatched, and the
 * responses of the batch go out in one sendmmsg/write. Nothing is
 * allocated on this path: the buffers live in the channel.
 *
 * Ordering: responses leave in command order. A deferred read stops the
 * channel (the commands behind it stay buffered and the fd is not read)
 * until it completes or times out; a response write that would block stops
 * reading too (backpressure), so the output never grows past one batch.
 */
#include "server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

static void read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

void
channel_enter(struct ioregion_channel *ch)
{
	ch->busy++;
	ctx_enter(ch->ctx);
}

/* Returns true if the channel was freed. The context may be freed too. */
bool
channel_leave(struct ioregion_channel *ch)
{
	struct ioregion_ctx *ctx = ch->ctx;
	bool freed = false;

	if (--ch->busy == 0) {
		region_reap(ch);
		if (ch->destroy_requested) {
			channel_free_now(ch);
			freed = true;
		}
	}
	ctx_leave(ctx);
	return freed;
}

static void
close_fds(struct ioregion_channel *ch)
{
	struct ev_loop *loop = ch->ctx->loop;

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
static void
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
	region_free_all(ch);
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		ctx->channels = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	free(ch);
}

IOREGION_EXPORT void
ioregion_channel_destroy(struct ioregion_channel *ch)
{
	if (!ch)
		return;
	if (ch->busy) {
		/* Inside one of its callbacks: stop now, free on the way out. */
		ch->destroy_requested = true;
		if (ch->open)
			close_fds(ch);
		return;
	}
	channel_free_now(ch);
}

/* ---- output ----------------------------------------------------------- */

/* The read watcher and the get_fd registration of rfd go together: while
 * the channel does not read (deferred read, output blocked) the notify fd
 * must not report rfd, or a get_fd caller would spin. */
static void
reading_start(struct ioregion_channel *ch)
{
	if (ev_is_active(&ch->rio))
		return;
	ev_io_start(ch->ctx->loop, &ch->rio);
	ctx_notify_add(ch->ctx, ch->rfd, EPOLLIN);
}

static void
reading_stop(struct ioregion_channel *ch)
{
	if (!ev_is_active(&ch->rio))
		return;
	ev_io_stop(ch->ctx->loop, &ch->rio);
	if (!(ch->wfd == ch->rfd && ev_is_active(&ch->wio)))
		ctx_notify_del(ch->ctx, ch->rfd);
}

static void
output_blocked(struct ioregion_channel *ch, bool blocked)
{
	struct ev_loop *loop = ch->ctx->loop;

	if (blocked) {
		reading_stop(ch);
		ev_io_start(loop, &ch->wio);
		ctx_notify_add(ch->ctx, ch->wfd, EPOLLOUT);
	} else if (ev_is_active(&ch->wio)) {
		/* run() starts reading again when nothing holds it back. */
		ev_io_stop(loop, &ch->wio);
		ctx_notify_del(ch->ctx, ch->wfd);
	}
}

/*
 * Send the queued responses. Returns 1 when all are out, 0 when the fd
 * would block (the write watcher is then on), -1 when the channel closed.
 */
static int
flush(struct ioregion_channel *ch)
{
	size_t total = (size_t)ch->out_count * MSG_SIZE;

	while (ch->out_done < total) {
		ssize_t n;

		if (ch->seqpacket) {
			unsigned int first = (unsigned int)(ch->out_done / MSG_SIZE);
			int m = sendmmsg(ch->wfd, &ch->omsgs[first],
					 ch->out_count - first,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			n = m < 0 ? -1 : (ssize_t)m * MSG_SIZE;
		} else if (ch->is_socket) {
			n = send(ch->wfd, ch->out + ch->out_done,
				 total - ch->out_done, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			n = write(ch->wfd, ch->out + ch->out_done,
				  total - ch->out_done);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				output_blocked(ch, true);
				return 0;
			}
			channel_close(ch, -errno);
			return -1;
		}
		ch->out_done += (size_t)n;
	}
	ch->out_count = 0;
	ch->out_done = 0;
	output_blocked(ch, false);
	return 1;
}

void
channel_respond(struct ioregion_channel *ch, uint64_t val)
{
	/* Never more than one response per command read, and reading stops
	 * while output is queued: the batch always fits. */
	ioregion_wire_encode_resp(val, ch->out + (size_t)ch->out_count * MSG_SIZE);
	ch->out_count++;
	ch->stats.responses++;
}

/* ---- dispatch --------------------------------------------------------- */

static bool
access_ok(const struct ioregion_region *r, const struct ioregion_wire_cmd *c)
{
	if (!(r->widths & c->size))
		return false;
	if (r->size == 0)	/* doorbell: writes at its address only */
		return c->cmd == IOREGION_CMD_WRITE && c->offset == 0;
	return c->offset <= r->size && c->size <= r->size - c->offset;
}

static void
refuse(struct ioregion_channel *ch, const struct ioregion_wire_cmd *c)
{
	if (c->resp)
		channel_respond(ch, ~0ull);
}

static void
dispatch_read(struct ioregion_channel *ch, struct ioregion_region *r,
	      const struct ioregion_wire_cmd *c)
{
	uint64_t val = 0;
	int rc = r->ops && r->ops->read ?
		 r->ops->read(r, c->offset, c->size, &val) : -ENOSYS;

	/* A read deferred by a callback that destroyed its region can never
	 * complete (and the region is freed when the callback unwinds): it
	 * fails like any other read error below. */
	if (rc == IOREGION_DEFERRED && ch->open &&
	    region_lookup(ch, r->user_data) == r) {
		ch->pending = r;
		ch->pending_size = c->size;
		reading_stop(ch);
		ev_timer_set(&ch->deferred_timer,
			     ch->ctx->deferred_timeout_ms / 1000.0, 0.);
		ev_timer_start(ch->ctx->loop, &ch->deferred_timer);
		return;
	}
	if (rc != 0) {
		r->stats.errors++;
		log_peer(&ch->ctx->log,
			 "read of %u bytes at 0x%llx+0x%llx failed (%d): answering all-ones\n",
			 c->size, (unsigned long long)r->addr,
			 (unsigned long long)c->offset, rc);
		channel_respond(ch, ~0ull);
		return;
	}
	r->stats.reads++;
	channel_respond(ch, val & ioregion_wire_size_mask(c->size));
}

static void
dispatch_write(struct ioregion_channel *ch, struct ioregion_region *r,
	       const struct ioregion_wire_cmd *c)
{
	int rc = r->ops && r->ops->write ?
		 r->ops->write(r, c->offset, c->size, c->data) : -ENOSYS;

	if (rc < 0) {
		r->stats.errors++;
		log_peer(&ch->ctx->log,
			 "write of %u bytes at 0x%llx+0x%llx failed (%d): dropped\n",
			 c->size, (unsigned long long)r->addr,
			 (unsigned long long)c->offset, rc);
	} else if (c->resp) {
		r->stats.writes++;
	} else {
		r->stats.posted_writes++;
	}
	if (c->resp)
		channel_respond(ch, 0);
}

/* Handle one received message of @len bytes (32 unless SEQPACKET). */
static void
dispatch(struct ioregion_channel *ch, const uint8_t *msg, size_t len)
{
	struct ioregion_wire_cmd c;
	struct ioregion_region *r;
	uint8_t tmp[MSG_SIZE];
	int rc;

	if (unlikely(len != MSG_SIZE)) {
		/* Decode what is there (zero-padded) only to learn whether
		 * the sender waits for an answer. */
		memset(tmp, 0, sizeof(tmp));
		memcpy(tmp, msg, len < MSG_SIZE ? len : MSG_SIZE);
		ioregion_wire_decode_cmd(ch->dialect, tmp, &c);
		ch->stats.malformed++;
		log_peer(&ch->ctx->log, "malformed packet of %zu bytes (not %d)%s\n",
			 len, MSG_SIZE, c.resp ? ": answering all-ones" : "");
		refuse(ch, &c);
		return;
	}
	rc = ioregion_wire_decode_cmd(ch->dialect, msg, &c);
	if (unlikely(rc < 0)) {
		ch->stats.malformed++;
		log_peer(&ch->ctx->log, "malformed command (%s)%s\n",
			 strerror(-rc), c.resp ? ": answering all-ones" : "");
		refuse(ch, &c);
		return;
	}
	r = region_lookup(ch, c.user_data);
	if (unlikely(!r)) {
		ch->stats.unknown_region++;
		log_peer(&ch->ctx->log, "command for unknown user_data 0x%llx%s\n",
			 (unsigned long long)c.user_data,
			 c.resp ? ": answering all-ones" : "");
		refuse(ch, &c);
		return;
	}
	ch->stats.commands++;
	if (unlikely(!access_ok(r, &c))) {
		r->stats.errors++;
		log_peer(&ch->ctx->log,
			 "%s of %u bytes at offset 0x%llx outside region 0x%llx (size 0x%llx) or width refused%s\n",
			 c.cmd == IOREGION_CMD_READ ? "read" : "write", c.size,
			 (unsigned long long)c.offset, (unsigned long long)r->addr,
			 (unsigned long long)r->size,
			 c.resp ? ": answering all-ones" : "");
		refuse(ch, &c);
		return;
	}
	if (c.cmd == IOREGION_CMD_READ)
		dispatch_read(ch, r, &c);
	else
		dispatch_write(ch, r, &c);
}

/* Dispatch buffered commands until none is left or the channel must stop
 * (deferred read, closed). */
static void
process_input(struct ioregion_channel *ch)
{
	if (ch->seqpacket) {
		while (ch->in_next < ch->in_count && !ch->pending && ch->open) {
			struct mmsghdr *m = &ch->msgs[ch->in_next];
			size_t len = m->msg_len;

			if (m->msg_hdr.msg_flags & MSG_TRUNC)
				len = PKT_BUF + 1;	/* longer than we looked */
			dispatch(ch, ch->pkt[ch->in_next], len);
			ch->in_next++;
		}
		if (ch->in_next >= ch->in_count)
			ch->in_next = ch->in_count = 0;
		return;
	}
	while (ch->in_len - ch->in_off >= MSG_SIZE && !ch->pending && ch->open) {
		dispatch(ch, ch->inbuf + ch->in_off, MSG_SIZE);
		ch->in_off += MSG_SIZE;
	}
	if (ch->in_off) {
		/* keep a partial command (< 32 bytes) at the front */
		memmove(ch->inbuf, ch->inbuf + ch->in_off, ch->in_len - ch->in_off);
		ch->in_len -= ch->in_off;
		ch->in_off = 0;
	}
}

/*
 * Read what the fd has into the empty input buffer. Returns the number of
 * commands' worth read (> 0), 0 if nothing was there, -1 if the channel
 * closed (EOF or error). Sets *full when the buffer filled up.
 */
static int
fill(struct ioregion_channel *ch, bool *full)
{
	*full = false;
	for (;;) {
		if (ch->seqpacket) {
			int n;

			for (unsigned int i = 0; i < BATCH_MAX; i++)
				ch->msgs[i].msg_hdr.msg_flags = 0;
			n = recvmmsg(ch->rfd, ch->msgs, BATCH_MAX, MSG_DONTWAIT, NULL);
			if (n > 0) {
				/* A zero-length message is the peer's EOF. */
				for (int i = 0; i < n; i++) {
					if (ch->msgs[i].msg_len == 0) {
						ch->in_count = (unsigned int)i;
						ch->in_next = 0;
						process_input(ch);
						channel_close(ch, 0);
						return -1;
					}
				}
				ch->in_count = (unsigned int)n;
				ch->in_next = 0;
				*full = n == BATCH_MAX;
				return n;
			}
			if (n == 0) {
				channel_close(ch, 0);
				return -1;
			}
		} else {
			ssize_t n = read(ch->rfd, ch->inbuf + ch->in_len,
					 sizeof(ch->inbuf) - ch->in_len);

			if (n > 0) {
				ch->in_len += (size_t)n;
				*full = ch->in_len == sizeof(ch->inbuf);
				return (int)(ch->in_len / MSG_SIZE) + 1;
			}
			if (n == 0) {
				if (ch->in_len) {
					ch->stats.malformed++;
					log_peer(&ch->ctx->log,
						 "EOF in the middle of a command (%zu of %d bytes)\n",
						 ch->in_len, MSG_SIZE);
				}
				channel_close(ch, 0);
				return -1;
			}
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		channel_close(ch, -errno);
		return -1;
	}
}

static bool
input_buffered(const struct ioregion_channel *ch)
{
	return ch->seqpacket ? ch->in_next < ch->in_count
			     : ch->in_len - ch->in_off >= MSG_SIZE;
}

/*
 * The channel's work loop: commands already buffered first, then the fd,
 * again while it comes back full. With adaptive polling, an empty fd is
 * retried without sleeping until the polling window passes.
 */
static void
run(struct ioregion_channel *ch)
{
	uint64_t poll_ns = ch->ctx->poll_ns, deadline = 0;

	while (ch->open && !ch->pending) {
		bool full = true;

		if (!input_buffered(ch)) {
			int n = fill(ch, &full);

			if (n < 0)
				return;		/* closed */
			if (n == 0) {
				uint64_t t;

				if (!poll_ns)
					break;
				t = now_ns();
				if (!deadline)
					deadline = t + poll_ns;
				else if (t >= deadline)
					break;
				cpu_relax();
				continue;
			}
			ch->stats.batches++;
			deadline = 0;
		}
		process_input(ch);
		if (ch->out_count && flush(ch) <= 0)
			return;		/* blocked or closed */
		if (!full && !poll_ns)
			break;		/* the fd is drained: one read per batch */
	}
	if (ch->open && ch->out_count)
		flush(ch);
	if (ch->open && !ch->pending && !ev_is_active(&ch->wio))
		reading_start(ch);
}

static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_channel *ch = w->data;

	channel_enter(ch);
	run(ch);
	channel_leave(ch);
}

static void
write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_channel *ch = w->data;

	channel_enter(ch);
	if (flush(ch) > 0)
		run(ch);	/* resume the commands held back */
	channel_leave(ch);
}

void
channel_finish_deferred(struct ioregion_channel *ch, uint64_t val, bool ok)
{
	struct ioregion_region *r = ch->pending;

	if (!r)
		return;
	ch->pending = NULL;
	ev_timer_stop(ch->ctx->loop, &ch->deferred_timer);
	if (ok) {
		r->stats.reads++;
		val &= ioregion_wire_size_mask(ch->pending_size);
	} else {
		r->stats.errors++;
		val = ~0ull;
	}
	channel_respond(ch, val);
	/* Answer now, and let the loop resume the commands behind it. */
	channel_enter(ch);
	if (flush(ch) > 0 && ch->open)
		ev_feed_event(ch->ctx->loop, &ch->rio, EV_CUSTOM);
	channel_leave(ch);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ioregion_channel *ch = w->data;

	channel_enter(ch);
	if (ch->pending) {
		log_error(&ch->ctx->log,
			  "deferred read of region 0x%llx not completed within %u ms: answering all-ones\n",
			  (unsigned long long)ch->pending->addr,
			  ch->ctx->deferred_timeout_ms);
		channel_finish_deferred(ch, ~0ull, false);
	}
	channel_leave(ch);
}

/* ---- construction ----------------------------------------------------- */

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
	ev_io_init(&ch->rio, read_cb, rfd, EV_READ);
	ev_io_init(&ch->wio, write_cb, wfd, EV_WRITE);
	ev_timer_init(&ch->deferred_timer, timer_cb, 1., 0.);
	ch->rio.data = ch->wio.data = ch->deferred_timer.data = ch;
	ev_io_start(ctx->loop, &ch->rio);
	ctx_notify_add(ctx, rfd, EPOLLIN);

	ch->next = ctx->channels;
	if (ctx->channels)
		ctx->channels->prev = ch;
	ctx->channels = ch;
	*chp = ch;
	return 0;
}

IOREGION_EXPORT int
ioregion_channel_new(struct ioregion_ctx *ctx,
		     enum ioregion_wire_dialect dialect,
		     struct ioregion_channel **chp)
{
	int sv[2], rc;

	if (!ctx || !chp || !ioregion_wire_dialect_valid((int)dialect))
		return -EINVAL;
	*chp = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* sv[0] is ours (made non-blocking); sv[1], the peer's, stays
	 * blocking, as KVM needs it. */
	rc = channel_create(ctx, sv[0], sv[0], sv[1], dialect, chp);
	if (rc < 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return rc;
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
