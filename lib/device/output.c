/* SPDX-License-Identifier: MIT */
/*
 * Channel output: the queued responses of a batch leave in one
 * sendmmsg/send/write; a write that would block stops reading
 * (backpressure) until the fd takes more, so the output never grows past
 * one batch.
 */
#include "server-private.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The read watcher and the get_fd registration of rfd go together: while
 * the channel does not read (deferred read, output blocked) the notify fd
 * must not report rfd, or a get_fd caller would spin. */
void
channel_reading_start(struct ioregion_channel *ch)
{
	if (ch->ctx->uring || ev_is_active(&ch->rio))
		return;
	ev_io_start(ch->ctx->loop, &ch->rio);
	ctx_notify_add(ch->ctx, ch->rfd, EPOLLIN);
}

void
channel_reading_stop(struct ioregion_channel *ch)
{
	if (ch->ctx->uring) {
		uring_reading_stop(ch);
		return;
	}
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
		channel_reading_stop(ch);
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
int
channel_flush(struct ioregion_channel *ch)
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

void
channel_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_channel *ch = w->data;

	channel_enter(ch);
	if (channel_flush(ch) > 0)
		channel_run(ch);	/* resume the commands held back */
	channel_leave(ch);
}
