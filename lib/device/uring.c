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

#include <liburing.h>
#include <poll.h>

/* Enough for a batch of sends plus a receive, a poll and cancels of a few
 * channels at once; a fuller queue is submitted on the way. */
#define RING_ENTRIES 256

enum {
	TAG_NONE = 0,	/* cancels: nothing to do on completion */
	TAG_RECV = 1,
	TAG_SEND = 2,
	TAG_POLL = 3,	/* a readiness poll before a retried receive/send */
};
/* The run mode's poll of the context's notify fd (no channel). */
#define UD_AUX ((uint64_t)TAG_POLL)

struct ctx_uring {
	struct io_uring ring;
	ev_io io;			/* the ring's fd in the loop */
	struct ioregion_channel *zombies;
	unsigned int reaping;		/* inside reap() */
	unsigned int new_sends;		/* queued since the last submission */
	uint16_t next_bgid;		/* buffer group ids, handed out in turn */
	bool in_run;			/* ioregion_ctx_run() waits in the ring */
	bool more;			/* work waits for sends just queued */
	bool aux_armed, aux_fired;
};

/* Every submission goes through here: the run loop waits for one
 * completion more than the sends it submits (they complete at once). */
static void
submit(struct ctx_uring *u)
{
	io_uring_submit(&u->ring);
	u->new_sends = 0;
}

static struct io_uring_sqe *
get_sqe(struct ctx_uring *u, unsigned int need)
{
	struct io_uring_sqe *sqe;

	/* A chain of linked requests must go in one submission. */
	if (io_uring_sq_space_left(&u->ring) < need)
		submit(u);
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		submit(u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void
set_tag(struct io_uring_sqe *sqe, struct ioregion_channel *ch, int tag)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)ch | (uint64_t)tag);
}

/* A poll for @events linked before the next request: after an EAGAIN,
 * the retry waits for readiness instead of spinning. */
static bool
queue_poll(struct ioregion_channel *ch, int fd, unsigned int events)
{
	struct io_uring_sqe *sqe = get_sqe(ch->ctx->uring, 2);

	if (!sqe)
		return false;
	io_uring_prep_poll_add(sqe, fd, events);
	sqe->flags |= IOSQE_IO_LINK;
	set_tag(sqe, ch, TAG_POLL);
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
	sqe = get_sqe(ch->ctx->uring, 1);
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
	set_tag(sqe, ch, TAG_RECV);
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
			sqe = get_sqe(u, i == first ? ch->out_count - first : 1);
			if (!sqe)
				goto fail;
			io_uring_prep_send(sqe, ch->wfd, ch->out + (size_t)i * MSG_SIZE,
					   MSG_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (i + 1 < ch->out_count)
				sqe->flags |= IOSQE_IO_LINK;
			set_tag(sqe, ch, TAG_SEND);
			ch->uring_sends++;
			ch->uring_ops++;
			if (!wait_ready)
				u->new_sends++;
		}
		return;
	}
	sqe = get_sqe(u, 1);
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
	set_tag(sqe, ch, TAG_SEND);
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

static void
recv_done(struct ioregion_channel *ch, int res, unsigned int flags)
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

static void
send_done(struct ioregion_channel *ch, int res)
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

/* The channel's memory, once no request names it: its buffer ring too. */
static void
final_free(struct ctx_uring *u, struct ioregion_channel *ch)
{
	if (ch->uring_br) {
		io_uring_unregister_buf_ring(&u->ring, ch->uring_bgid);
		free(ch->uring_br);
	}
	free(ch);
}

static void
zombie_free(struct ctx_uring *u, struct ioregion_channel *ch)
{
	struct ioregion_channel **pp = &u->zombies;

	while (*pp != ch)
		pp = &(*pp)->next_zombie;
	*pp = ch->next_zombie;
	final_free(u, ch);
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
		recv_done(ch, res, flags);
	else
		send_done(ch, res);
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

/* Adaptive polling: watch the completion queue without sleeping, the
 * window re-armed by each completion. */
static void
poll_window(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = ctx->uring;
	uint64_t deadline = now_ns() + ctx->poll_ns;

	while (now_ns() < deadline && !ctx->dead) {
		if (!io_uring_cq_ready(&u->ring)) {
			cpu_relax();
			continue;
		}
		reap(ctx);
		if (io_uring_sq_ready(&u->ring))
			submit(u);
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
		submit(u);
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
		submit(u);
}

int
uring_ctx_init(struct ioregion_ctx *ctx)
{
	struct ctx_uring *u = calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return -ENOMEM;
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
		struct io_uring_sqe *sqe = get_sqe(u, 1);

		if (sqe) {
			io_uring_prep_cancel64(sqe, base | TAG_RECV, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	for (i = 0; i < ch->uring_sends; i++) {
		struct io_uring_sqe *sqe = get_sqe(u, 1);

		if (sqe) {
			io_uring_prep_cancel64(sqe, base | TAG_SEND, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	for (i = 0; i < ch->uring_polls; i++) {
		struct io_uring_sqe *sqe = get_sqe(u, 1);

		if (sqe) {
			io_uring_prep_cancel64(sqe, base | TAG_POLL, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	/* now: a receive's fd must be resolved before it is closed */
	if (io_uring_sq_ready(&u->ring))
		submit(u);
}

/* channel_free_now(): whether the channel must outlive its requests;
 * if not, its buffer ring goes now (the caller frees the channel). */
bool
uring_channel_keep(struct ioregion_channel *ch)
{
	struct ctx_uring *u = ch->ctx->uring;

	if (!ch->uring_ops) {
		if (ch->uring_br)
			io_uring_unregister_buf_ring(&u->ring, ch->uring_bgid);
		free(ch->uring_br);
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
	sqe = get_sqe(ch->ctx->uring, 1);
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
			struct io_uring_sqe *sqe = get_sqe(u, 1);

			if (sqe) {
				io_uring_prep_poll_add(sqe, notify_fd, POLLIN);
				io_uring_sqe_set_data64(sqe, UD_AUX);
				u->aux_armed = true;
			}
		}
		if (u->more) {
			/* commands wait behind the sends: no sleeping */
			u->more = false;
			submit(u);
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
			struct io_uring_sqe *sqe = get_sqe(u, 1);

			if (sqe) {
				io_uring_prep_cancel64(sqe, UD_AUX, 0);
				io_uring_sqe_set_data64(sqe, 0);
				submit(u);
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
