/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend, per channel: the receive kept queued (multishot
 * into a ring of provided buffers on SEQPACKET), the sends of a batch,
 * and what their completions do: the flow of input.c's run_batches() on
 * the ring (uring.c has the design). Nothing is allocated here after a
 * channel's set-up.
 */
#include "server-private.h"

#if IOREGION_HAVE_IO_URING

#include "uring-private.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

/* A poll for @events linked before the next request: after an EAGAIN,
 * the retry waits for readiness instead of spinning. */
static bool
queue_poll(struct ioregion_channel *ch, int fd, unsigned int events)
{
	struct io_uring_sqe *sqe = uring_get_sqe(ch->ctx->uring, 2);

	if (!sqe)
		return false;
	io_uring_prep_poll_add(sqe, fd, events);
	sqe->flags |= IOSQE_IO_LINK;
	uring_set_tag(sqe, ch, TAG_POLL);
	ch->uring_polls++;
	ch->uring_ops++;
	return true;
}

static void
arm_recv(struct ioregion_channel *ch, bool wait_ready)
{
	struct io_uring_sqe *sqe;

	if (wait_ready && !queue_poll(ch, ch->rfd, POLLIN))
		goto fail;
	sqe = uring_get_sqe(ch->ctx->uring, 1);
	if (!sqe)
		goto fail;
	if (ch->uring_br) {
		/* one completion per packet, in order, until the buffers
		 * run out (-ENOBUFS) */
		io_uring_prep_recv_multishot(sqe, ch->rfd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = ch->uring_bgid;
	} else if (ch->seqpacket)
		/* MSG_TRUNC: the result is the packet's real length */
		io_uring_prep_recv(sqe, ch->rfd, ch->pkt[0], PKT_BUF, MSG_TRUNC);
	else if (ch->is_socket)
		io_uring_prep_recv(sqe, ch->rfd, ch->inbuf + ch->in_len,
				   sizeof(ch->inbuf) - ch->in_len, 0);
	else
		io_uring_prep_read(sqe, ch->rfd, ch->inbuf + ch->in_len,
				   (unsigned int)(sizeof(ch->inbuf) - ch->in_len),
				   (uint64_t)-1);
	uring_set_tag(sqe, ch, TAG_RECV);
	ch->uring_recv = true;
	ch->uring_ops++;
	return;
fail:
	/* The ring is full even after a submission: nothing can be done. */
	channel_close(ch, -EBUSY);
}

/*
 * Queue the unsent part of the output. The sends never wait in the ring
 * (MSG_DONTWAIT, RWF_NOWAIT): each completes within the io_uring_enter()
 * that submits it, sent or -EAGAIN; after -EAGAIN the rest goes again
 * behind a poll for POLLOUT (@wait_ready).
 */
static void
queue_sends(struct ioregion_channel *ch, bool wait_ready)
{
	struct ctx_uring *u = ch->ctx->uring;
	size_t total = (size_t)ch->out_count * MSG_SIZE;
	struct io_uring_sqe *sqe;

	if (wait_ready && !queue_poll(ch, ch->wfd, POLLOUT))
		goto fail;
	if (ch->seqpacket) {
		unsigned int first = (unsigned int)(ch->out_done / MSG_SIZE);

		for (unsigned int i = first; i < ch->out_count; i++) {
			sqe = uring_get_sqe(u, i == first ? ch->out_count - first : 1);
			if (!sqe)
				goto fail;
			io_uring_prep_send(sqe, ch->wfd, ch->out + (size_t)i * MSG_SIZE,
					   MSG_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (i + 1 < ch->out_count)
				sqe->flags |= IOSQE_IO_LINK;
			uring_set_tag(sqe, ch, TAG_SEND);
			ch->uring_sends++;
			ch->uring_ops++;
			if (!wait_ready)
				u->new_sends++;
		}
		return;
	}
	sqe = uring_get_sqe(u, 1);
	if (!sqe)
		goto fail;
	if (ch->is_socket) {
		io_uring_prep_send(sqe, ch->wfd, ch->out + ch->out_done,
				   total - ch->out_done, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		io_uring_prep_write(sqe, ch->wfd, ch->out + ch->out_done,
				    (unsigned int)(total - ch->out_done), (uint64_t)-1);
		if (!ch->uring_plain_write)
			sqe->rw_flags = RWF_NOWAIT;
	}
	uring_set_tag(sqe, ch, TAG_SEND);
	ch->uring_sends++;
	ch->uring_ops++;
	/* a plain write may finish later (the fd's O_NONBLOCK still bounds
	 * it): the run loop must not count on it */
	if (!wait_ready && (ch->is_socket || !ch->uring_plain_write))
		u->new_sends++;
	return;
fail:
	channel_close(ch, -EBUSY);
}

/* Return the packets' buffers to the kernel (the queue is empty). */
static void
give_back(struct ioregion_channel *ch)
{
	struct io_uring_buf_ring *br = ch->uring_br;
	int mask = io_uring_buf_ring_mask(BATCH_MAX);

	for (unsigned int i = 0; i < ch->uring_taken; i++) {
		uint8_t *p = ch->iov[i].iov_base;

		io_uring_buf_ring_add(br, p, PKT_BUF,
				      (unsigned short)((p - ch->pkt[0]) / PKT_BUF),
				      mask, (int)i);
	}
	io_uring_buf_ring_advance(br, (int)ch->uring_taken);
	ch->uring_taken = 0;
}

/*
 * The channel's work, as far as it can go without waiting: send what is
 * queued, handle buffered commands (only while no send is in flight),
 * close after the peer's EOF once everything is answered, and keep a
 * receive queued while no deferred read holds the channel: a multishot
 * one while buffers are left, else whenever the buffer is empty. A nested call (a callback that runs the loop) does nothing:
 * the outer one goes on.
 */
static void
service(struct ioregion_channel *ch)
{
	if (ch->running)
		return;
	ch->running = true;
	for (;;) {
		if (!ch->open)
			break;
		if (ch->uring_sends) {
			/* what is left is for when they complete: at once,
			 * but the run loop must not wait for more first */
			if (channel_input_buffered(ch) || ch->peer_eof)
				ch->ctx->uring->more = true;
			break;
		}
		if (ch->out_count) {
			queue_sends(ch, false);
			continue;
		}
		if (ch->pending)
			break;
		if (channel_input_buffered(ch)) {
			channel_process_input(ch);
			continue;
		}
		if (ch->peer_eof)
			channel_close(ch, 0);
		break;
	}
	if (ch->uring_br && ch->uring_taken && !channel_input_buffered(ch))
		give_back(ch);
	if (ch->open && !ch->uring_recv && !ch->peer_eof && !ch->pending &&
	    (ch->uring_br ? ch->uring_taken < BATCH_MAX :
	     !channel_input_buffered(ch)))
		arm_recv(ch, false);
	ch->running = false;
}

/* A packet of the multishot receive: queue it behind the others. */
static void
packet_in(struct ioregion_channel *ch, int res, unsigned int flags)
{
	unsigned int i = ch->in_count, bid = flags >> IORING_CQE_BUFFER_SHIFT;
	struct mmsghdr *m = &ch->msgs[i];

	if (i == 0)
		ch->stats.batches++;
	ch->iov[i].iov_base = ch->pkt[bid % BATCH_MAX];
	/* a full buffer: the packet may have been longer */
	m->msg_len = (unsigned int)res;
	m->msg_hdr.msg_flags = res >= PKT_BUF ? MSG_TRUNC : 0;
	ch->in_count++;
	ch->uring_taken++;
}

void
uring_recv_done(struct ioregion_channel *ch, int res, unsigned int flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		ch->uring_recv = false;
	if (!ch->open)
		return;
	if (ch->uring_br && res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		packet_in(ch, res, flags);
		if (!ch->running)
			service(ch);
		return;
	}
	if (ch->uring_br && (res == -ENOBUFS || res == -ECANCELED)) {
		/* out of buffers, or stopped for a deferred read */
		service(ch);	/* re-armed once the buffers are back */
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		arm_recv(ch, res == -EAGAIN);
		return;
	}
	if (res < 0) {
		channel_close(ch, res);
		return;
	}
	if (ch->seqpacket) {
		if (res == 0) {
			/* EOF: the commands before it are answered first */
			ch->peer_eof = true;
		} else {
			struct mmsghdr *m = &ch->msgs[0];

			m->msg_len = res > PKT_BUF ? PKT_BUF : (unsigned int)res;
			m->msg_hdr.msg_flags = res > PKT_BUF ? MSG_TRUNC : 0;
			ch->in_count = 1;
			ch->in_next = 0;
			ch->stats.batches++;
		}
	} else if (res == 0) {
		if (ch->in_len) {
			ch->stats.malformed++;
			log_peer(&ch->ctx->log,
				 "EOF in the middle of a command (%zu of %d bytes)\n",
				 ch->in_len, MSG_SIZE);
		}
		/* Close once the answers in flight are out (the peer may
		 * have shut down only its writing side). */
		ch->peer_eof = true;
	} else {
		ch->in_len += (size_t)res;
		ch->stats.batches++;
	}
	service(ch);
}

void
uring_send_done(struct ioregion_channel *ch, int res)
{
	ch->uring_sends--;
	if (res == -EOPNOTSUPP && !ch->is_socket && !ch->uring_plain_write) {
		/* pipes take RWF_NOWAIT only on newer kernels (not 6.1):
		 * the same write again without it */
		ch->uring_plain_write = true;
		res = -EINTR;
	}
	if (res >= 0)
		ch->out_done += (size_t)res;
	else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN &&
		 !ch->uring_error)
		ch->uring_error = res;
	else if (res == -EAGAIN)
		ch->uring_error = ch->uring_error ? ch->uring_error : 1;
	if (ch->uring_sends || !ch->open)
		return;
	if (ch->uring_error < 0) {
		int error = ch->uring_error;

		ch->uring_error = 0;
		channel_close(ch, error);
		return;
	}
	if (ch->out_done < (size_t)ch->out_count * MSG_SIZE) {
		/* short, interrupted or would block: the rest again */
		bool wait_ready = ch->uring_error == 1;

		ch->uring_error = 0;
		queue_sends(ch, wait_ready);
		return;
	}
	ch->uring_error = 0;
	ch->out_count = 0;
	ch->out_done = 0;
	service(ch);
}

/* The buffer ring of a channel no request names any more. */
void
uring_free_buffers(struct ctx_uring *u, struct ioregion_channel *ch)
{
	if (!ch->uring_br)
		return;
	io_uring_unregister_buf_ring(&u->ring, ch->uring_bgid);
	free(ch->uring_br);
	ch->uring_br = NULL;
}

/* SEQPACKET: pkt[] as a ring of provided buffers for a multishot
 * receive. Without (kernels before 6.0, no memory) one receive per
 * packet does the same, a packet per io_uring_enter(). */
static void
setup_buffers(struct ioregion_channel *ch)
{
	struct ctx_uring *u = ch->ctx->uring;
	struct io_uring_buf_reg reg = { .ring_entries = BATCH_MAX };
	struct io_uring_buf_ring *br = aligned_alloc(4096, 4096);

	if (!br)
		return;
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	for (int tries = 0; tries < 16; tries++) {
		int rc;

		reg.bgid = u->next_bgid++;
		rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
		if (rc == 0) {
			io_uring_buf_ring_init(br);
			ch->uring_br = br;
			ch->uring_bgid = reg.bgid;
			for (unsigned int i = 0; i < BATCH_MAX; i++)
				ch->iov[i].iov_base = ch->pkt[i];
			ch->uring_taken = BATCH_MAX;
			give_back(ch);
			return;
		}
		if (rc != -EEXIST)
			break;
	}
	free(br);
}

void
uring_channel_open(struct ioregion_channel *ch)
{
	ev_ref(ch->ctx->loop);
	if (ch->seqpacket)
		setup_buffers(ch);
	arm_recv(ch, false);
	uring_commit(ch->ctx);
}

/* Before the channel's fds close: cancel every request naming it (their
 * completions come back later, -ECANCELED, and are ignored). */
void
uring_channel_close(struct ioregion_channel *ch)
{
	struct ctx_uring *u = ch->ctx->uring;
	uint64_t base = (uint64_t)(uintptr_t)ch;
	unsigned int i;

	ev_unref(ch->ctx->loop);
	for (i = 0; i < (ch->uring_recv ? 1u : 0u); i++) {
		struct io_uring_sqe *sqe = uring_get_sqe(u, 1);

		if (sqe) {
			io_uring_prep_cancel64(sqe, base | TAG_RECV, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	for (i = 0; i < ch->uring_sends; i++) {
		struct io_uring_sqe *sqe = uring_get_sqe(u, 1);

		if (sqe) {
			io_uring_prep_cancel64(sqe, base | TAG_SEND, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	for (i = 0; i < ch->uring_polls; i++) {
		struct io_uring_sqe *sqe = uring_get_sqe(u, 1);

		if (sqe) {
			io_uring_prep_cancel64(sqe, base | TAG_POLL, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	/* now: a receive's fd must be resolved before it is closed */
	if (io_uring_sq_ready(&u->ring))
		uring_submit(u);
}

/* channel_free_now(): whether the channel must outlive its requests;
 * if not, its buffer ring goes now (the caller frees the channel). */
bool
uring_channel_keep(struct ioregion_channel *ch)
{
	struct ctx_uring *u = ch->ctx->uring;

	if (!ch->uring_ops) {
		uring_free_buffers(u, ch);
		return false;
	}
	ch->ctx = NULL;		/* marks the zombie */
	ch->next_zombie = u->zombies;
	u->zombies = ch;
	return true;
}

/* A read was deferred: stop a multishot receive, so that what arrives
 * behind it waits in the socket, as on the epoll backend (and the ring's
 * fd stays quiet meanwhile). One cancel per deferral. */
void
uring_reading_stop(struct ioregion_channel *ch)
{
	struct io_uring_sqe *sqe;

	if (!ch->uring_br || !ch->uring_recv)
		return;
	sqe = uring_get_sqe(ch->ctx->uring, 1);
	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)ch | TAG_RECV, 0);
	io_uring_sqe_set_data64(sqe, 0);
	uring_commit(ch->ctx);
}

/* A deferred read was answered: send it; the commands behind it are
 * handled when the send completes, from the ring's pass. */
void
uring_channel_resume(struct ioregion_channel *ch)
{
	struct ioregion_ctx *ctx = ch->ctx;

	ctx_enter(ctx);
	channel_enter(ch);
	service(ch);
	channel_leave(ch);
	uring_commit(ctx);
	ctx_leave(ctx);
}

#endif /* IOREGION_HAVE_IO_URING */
