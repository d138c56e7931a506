/* SPDX-License-Identifier: MIT */
/* Device server internals shared by the files of lib/device/. */
#ifndef IOREGION_SERVER_PRIVATE_H
#define IOREGION_SERVER_PRIVATE_H

#include "ioregion-private.h"

#include <ev.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "ioregion/server.h"

/* Commands handled per read: one recvmmsg or one read() of this many. */
#define BATCH_MAX 64
/* Per-packet receive buffer on SEQPACKET: larger than a message, so a
 * packet that is too long is seen as such (and MSG_TRUNC beyond it). */
#define PKT_BUF 40
#define MSG_SIZE IOREGION_WIRE_MSG_SIZE

struct ioregion_ctx {
	int refcount;
	struct ev_loop *loop;
	bool own_loop;
	struct ioregion_log log;
	unsigned int deferred_timeout_ms;
	uint64_t poll_ns;			/* adaptive polling, 0 = off */
	struct ioregion_channel *channels;	/* doubly linked */
	struct ioregion_irq *irqs;		/* doubly linked (irq.c) */
	int notify_fd;				/* epoll fd for get_fd, or -1 */
	int kick_fd;				/* eventfd in notify_fd, or -1 */
	bool kicked;				/* kick_fd is readable */
	unsigned int busy;			/* inside a callback */
	bool dead;				/* last unref while busy */
	struct ctx_uring *uring;		/* io_uring backend, else NULL */
	/* ioregion_ctx_stop(), maybe from a signal handler: the flag, and
	 * the eventfd that wakes a run (made by the first run). */
	volatile sig_atomic_t stop;
	volatile sig_atomic_t running;		/* in ioregion_ctx_run() */
	int stop_fd;
	ev_io stop_io;
	struct ctx_watch *watches;		/* ctx_watch_add() */
};

/*
 * A loop watcher of the library's own besides the channels and interrupt
 * lines (a device's control session): its fd goes into get_fd's epoll fd
 * too, so that a get_fd caller and ioregion_ctx_run() on io_uring (whose
 * wait covers that epoll fd) wake for it, not only ev_run().
 */
struct ctx_watch {
	int fd;
	struct ctx_watch *next;
};
void ctx_watch_add(struct ioregion_ctx *ctx, struct ctx_watch *w, int fd);
void ctx_watch_del(struct ioregion_ctx *ctx, struct ctx_watch *w);

struct ioregion_region {
	struct ioregion_channel *ch;
	uint64_t addr;
	uint64_t size;
	uint64_t user_data;
	uint32_t flags;
	uint32_t widths;
	const struct ioregion_region_ops *ops;
	void *userdata;
	struct ioregion_region_stats stats;
	struct ioregion_region *next_zombie;
};

struct region_slot {
	struct ioregion_region *region;	/* NULL when free */
	uint32_t gen;			/* bumped at every reuse */
};

struct ioregion_channel {
	struct ioregion_ctx *ctx;
	struct ioregion_channel *prev, *next;
	/* A fallback serves its primary's regions: primary set, no slots of
	 * its own. A primary lists its fallbacks. */
	struct ioregion_channel *primary;
	struct ioregion_channel *fallbacks, *next_fallback;
	int dialect;
	bool seqpacket;			/* else a byte stream (socket or pipe) */
	bool is_socket;			/* write end takes send(MSG_NOSIGNAL) */
	bool open;
	bool destroy_requested;
	bool running;			/* inside channel_run() */
	bool peer_eof;			/* EOF read behind buffered commands */
	unsigned int busy;
	int rfd, wfd, peer_fd;

	ev_io rio;
	ev_io wio;
	ev_timer deferred_timer;

	ioregion_channel_close_fn *close_fn;
	void *close_data;

	struct region_slot *slots;	/* primary only */
	uint32_t nslots;
	struct ioregion_region *zombies;	/* destroyed while busy */

	/* Input. SEQPACKET: in_count packets, next one at in_next. Stream:
	 * in_len bytes in inbuf from in_off. */
	unsigned int in_count, in_next;
	size_t in_len, in_off;
	struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov[BATCH_MAX];
	uint8_t pkt[BATCH_MAX][PKT_BUF];
	uint8_t inbuf[BATCH_MAX * MSG_SIZE];

	/* Output: out_count responses in out, out_done bytes already sent. */
	unsigned int out_count;
	size_t out_done;
	struct mmsghdr omsgs[BATCH_MAX];
	struct iovec oiov[BATCH_MAX];
	uint8_t out[BATCH_MAX * MSG_SIZE];

	/* The deferred read waiting for ioregion_region_complete_read(). */
	struct ioregion_region *pending;
	unsigned int pending_size;

	/* io_uring backend (uring.c): requests in the ring naming this
	 * channel. A channel freed with some still there waits for their
	 * completions on the ring's list of zombies. */
	unsigned int uring_ops;		/* all of them: receive, sends, polls */
	unsigned int uring_sends;	/* sends of the output in flight */
	unsigned int uring_polls;	/* readiness polls before a retry */
	bool uring_recv;		/* a receive is queued */
	bool uring_plain_write;		/* the pipe takes no RWF_NOWAIT */
	int uring_error;		/* first send error of the output */
	/* SEQPACKET: a multishot receive into pkt[], handed to the kernel
	 * as a ring of provided buffers (group uring_bgid); the packets
	 * queued in msgs/iov name their buffer. uring_taken buffers are out
	 * of the ring, given back when the queue is empty. */
	void *uring_br;
	uint16_t uring_bgid;
	unsigned int uring_taken;
	struct ioregion_channel *next_zombie;

	struct ioregion_channel_stats stats;
};

/* The channel whose table holds @ch's regions. */
static inline struct ioregion_channel *
channel_table(struct ioregion_channel *ch)
{
	return ch->primary ? ch->primary : ch;
}

/* region.c */
struct ioregion_region *region_lookup(struct ioregion_channel *ch,
				      uint64_t user_data);
void region_free_all(struct ioregion_channel *ch);
void region_reap(struct ioregion_channel *ch);

/* channel.c: lifetime */
void channel_enter(struct ioregion_channel *ch);
bool channel_leave(struct ioregion_channel *ch);
void channel_close(struct ioregion_channel *ch, int error);
void channel_free_now(struct ioregion_channel *ch);

/* input.c */
void channel_process_input(struct ioregion_channel *ch);
void channel_run(struct ioregion_channel *ch);
bool channel_input_buffered(const struct ioregion_channel *ch);
void channel_read_cb(struct ev_loop *loop, ev_io *w, int revents);

/* output.c */
void channel_reading_start(struct ioregion_channel *ch);
void channel_reading_stop(struct ioregion_channel *ch);
int channel_flush(struct ioregion_channel *ch);
void channel_respond(struct ioregion_channel *ch, uint64_t val);
void channel_write_cb(struct ev_loop *loop, ev_io *w, int revents);

/* deferred.c */
void channel_defer(struct ioregion_channel *ch, struct ioregion_region *r,
		   unsigned int size);
void channel_finish_deferred(struct ioregion_channel *ch, uint64_t val,
			     bool ok);
void channel_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
int region_finish_deferred(struct ioregion_region *r, uint64_t val, bool ok);

/* irq.c: a context's interrupt lines */
void irq_free_all(struct ioregion_ctx *ctx);
void irq_notify_all(struct ioregion_ctx *ctx);

/* uring.c: the io_uring backend; every function but uring_ctx_init()
 * is for contexts with ctx->uring set. */
int uring_ctx_init(struct ioregion_ctx *ctx);
void uring_ctx_fini(struct ioregion_ctx *ctx);
int uring_ctx_fd(struct ioregion_ctx *ctx);
int uring_ctx_run(struct ioregion_ctx *ctx);
void uring_commit(struct ioregion_ctx *ctx);
void uring_channel_open(struct ioregion_channel *ch);
void uring_channel_close(struct ioregion_channel *ch);
bool uring_channel_keep(struct ioregion_channel *ch);
void uring_channel_resume(struct ioregion_channel *ch);
void uring_reading_stop(struct ioregion_channel *ch);

/* ctx.c */
/* Whether ioregion_ctx_run() goes on: a channel open and no
 * ioregion_ctx_stop() since the run began. */
bool ctx_any_open(const struct ioregion_ctx *ctx);
void ctx_notify_add(struct ioregion_ctx *ctx, int fd, uint32_t events);
void ctx_notify_del(struct ioregion_ctx *ctx, int fd);
void ctx_kick(struct ioregion_ctx *ctx);
void ctx_enter(struct ioregion_ctx *ctx);
void ctx_leave(struct ioregion_ctx *ctx);

#endif /* IOREGION_SERVER_PRIVATE_H */
