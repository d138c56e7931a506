/* SPDX-License-Identifier: MIT */
/*
 * Channel input: per wake-up, every whole command already in the fd is
 * read (one recvmmsg on SEQPACKET, one read() on a stream or pipe,
 * repeated only while the buffer came back full), each is validated and
 * dispatched to its region, and the responses of the batch are flushed
 * together. Nothing is allocated on this path: the buffers live in the
 * channel.
 *
 * Ordering: responses leave in command order. A deferred read stops the
 * channel (the commands behind it stay buffered and the fd is not read)
 * until it completes or times out.
 */
#include "server-private.h"

#include <errno.h>
#include <unistd.h>

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

/* What a refused command gets, for the log: a read all-ones, a write
 * that waits an empty acknowledgement, a posted write nothing. */
static const char *
refusal(const struct ioregion_wire_cmd *c)
{
	if (!c->resp)
		return ": dropped";
	return c->cmd == IOREGION_CMD_READ ? ": answering all-ones" :
	       ": acknowledged, not applied";
}

/* A callback's error for the log (it should be a negative errno). */
static const char *
callback_error(int rc)
{
	return rc < 0 ? strerror(-rc) : "callback returned a positive value";
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
		channel_defer(ch, r, c->size);
		return;
	}
	if (rc != 0) {
		r->stats.errors++;
		log_peer(&ch->ctx->log,
			 "read of %u bytes at 0x%llx+0x%llx failed (%s): answering all-ones\n",
			 c->size, (unsigned long long)r->addr,
			 (unsigned long long)c->offset, callback_error(rc));
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
			 "write of %u bytes at 0x%llx+0x%llx failed (%s): %s\n",
			 c->size, (unsigned long long)r->addr,
			 (unsigned long long)c->offset, callback_error(rc),
			 c->resp ? "acknowledged, not applied" : "dropped");
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
			 len, MSG_SIZE, refusal(&c));
		refuse(ch, &c);
		return;
	}
	rc = ioregion_wire_decode_cmd(ch->dialect, msg, &c);
	if (unlikely(rc < 0)) {
		ch->stats.malformed++;
		log_peer(&ch->ctx->log, "malformed command (%s)%s\n",
			 strerror(-rc), refusal(&c));
		refuse(ch, &c);
		return;
	}
	r = region_lookup(ch, c.user_data);
	if (unlikely(!r)) {
		ch->stats.unknown_region++;
		log_peer(&ch->ctx->log, "command for unknown user_data 0x%llx%s\n",
			 (unsigned long long)c.user_data, refusal(&c));
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
			 (unsigned long long)r->size, refusal(&c));
		refuse(ch, &c);
		return;
	}
	if (c.cmd == IOREGION_CMD_READ)
		dispatch_read(ch, r, &c);
	else
		dispatch_write(ch, r, &c);
}

/* Dispatch buffered commands until none is left or the channel must stop
 * (deferred read, closed). Both backends fill the same buffers. */
void
channel_process_input(struct ioregion_channel *ch)
{
	if (ch->seqpacket) {
		while (ch->in_next < ch->in_count && !ch->pending && ch->open) {
			struct mmsghdr *m = &ch->msgs[ch->in_next];
			size_t len = m->msg_len;

			if (m->msg_hdr.msg_flags & MSG_TRUNC)
				len = PKT_BUF + 1;	/* longer than we looked */
			dispatch(ch, ch->iov[ch->in_next].iov_base, len);
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
				/* A zero-length message is the peer's EOF: the
				 * commands before it are handled and answered
				 * first (after shutdown(SHUT_WR) the peer still
				 * reads), then the channel closes. */
				for (int i = 0; i < n; i++) {
					if (ch->msgs[i].msg_len == 0) {
						ch->peer_eof = true;
						n = i;
						break;
					}
				}
				ch->in_count = (unsigned int)n;
				ch->in_next = 0;
				*full = n == BATCH_MAX;
				if (n > 0)
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

bool
channel_input_buffered(const struct ioregion_channel *ch)
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
run_batches(struct ioregion_channel *ch)
{
	uint64_t poll_ns = ch->ctx->poll_ns, deadline = 0;

	while (ch->open && !ch->pending) {
		bool full = true;

		if (!channel_input_buffered(ch)) {
			int n;

			if (ch->peer_eof) {
				/* All answered: close once they are out. */
				if (!ch->out_count || channel_flush(ch) > 0)
					channel_close(ch, 0);
				return;
			}
			n = fill(ch, &full);

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
		channel_process_input(ch);
		if (ch->out_count && channel_flush(ch) <= 0)
			return;		/* blocked or closed */
		if (!full && !poll_ns && !ch->peer_eof)
			break;		/* the fd is drained: one read per batch */
	}
	if (ch->open && ch->out_count)
		channel_flush(ch);
	if (ch->open && !ch->pending && !ev_is_active(&ch->wio))
		channel_reading_start(ch);
}

/*
 * A callback that runs the loop (ev_run) while its command is being
 * handled must not get this channel's input handled again underneath it:
 * the command in hand would be dispatched twice and the buffer offsets of
 * the outer pass broken. The inner call only stops the read watcher (so
 * that the inner loop does not spin on the fd); the outer pass goes on
 * with what it holds and starts reading again when it is done.
 */
void
channel_run(struct ioregion_channel *ch)
{
	if (ch->running) {
		channel_reading_stop(ch);
		return;
	}
	ch->running = true;
	run_batches(ch);
	ch->running = false;
}

void
channel_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_channel *ch = w->data;

	channel_enter(ch);
	channel_run(ch);
	channel_leave(ch);
}
