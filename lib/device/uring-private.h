/* SPDX-License-Identifier: MIT */
/* The io_uring backend's internals, shared by uring.c (the ring, its
 * passes over the completions, the run loop) and uring-channel.c (each
 * channel's receives and sends). Only with IOREGION_HAVE_IO_URING. */
#ifndef IOREGION_URING_PRIVATE_H
#define IOREGION_URING_PRIVATE_H

#include "server-private.h"

#include <liburing.h>

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
static inline void
uring_submit(struct ctx_uring *u)
{
	io_uring_submit(&u->ring);
	u->new_sends = 0;
}

static inline struct io_uring_sqe *
uring_get_sqe(struct ctx_uring *u, unsigned int need)
{
	struct io_uring_sqe *sqe;

	/* A chain of linked requests must go in one submission. */
	if (io_uring_sq_space_left(&u->ring) < need)
		uring_submit(u);
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		uring_submit(u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static inline void
uring_set_tag(struct io_uring_sqe *sqe, struct ioregion_channel *ch, int tag)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)ch | (uint64_t)tag);
}

/* uring-channel.c: a completion of one of the channel's requests */
void uring_recv_done(struct ioregion_channel *ch, int res, unsigned int flags);
void uring_send_done(struct ioregion_channel *ch, int res);
void uring_free_buffers(struct ctx_uring *u, struct ioregion_channel *ch);

#endif /* IOREGION_URING_PRIVATE_H */
