/* SPDX-License-Identifier: MIT */
/*
 * libioregion device server: the device process's side of ioregionfd.
 *
 * A context runs on a libev loop. It owns channels (an fd pair speaking the
 * wire protocol of wire.h); a channel carries any number of regions, told
 * apart by a library-assigned user_data. The library reads commands,
 * validates every byte, calls the region's read/write callbacks and answers.
 *
 * Ownership: the context owns its channels, a channel owns its regions
 * (and its fallback channels, which serve the same regions to the VMM's
 * bridge: ioregion_channel_new_fallback()).
 * ioregion_ctx_unref() of the last reference destroys every channel and
 * region still alive (their handles become invalid; no close handler is
 * called during that teardown). ioregion_channel_destroy() destroys the
 * channel's regions. Destroying a region or channel from inside one of its
 * own callbacks is allowed: the memory is released after the callback.
 *
 * Threading: a context and everything in it belong to the thread running
 * its loop; callbacks run in that thread, from ev_run() or
 * ioregion_ctx_dispatch().
 */
#ifndef IOREGION_SERVER_H
#define IOREGION_SERVER_H

#include <stdint.h>

#include "ioregion/desc.h"
#include "ioregion/log.h"
#include "ioregion/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;
struct ioregion_ctx;
struct ioregion_channel;
struct ioregion_region;

/**
 * Returned by a read callback that will answer later with
 * ioregion_region_complete_read().
 */
#define IOREGION_DEFERRED 1

/** Allowed access widths, a bit per size in bytes (the default is all). */
#define IOREGION_WIDTH_1 (1u << 0)
#define IOREGION_WIDTH_2 (1u << 1)
#define IOREGION_WIDTH_4 (1u << 2)
#define IOREGION_WIDTH_8 (1u << 3)
#define IOREGION_WIDTH_ALL 0x0fu

/**
 * Region callbacks. Both may be NULL: a read then answers all-ones and a
 * write is dropped, both counted as errors.
 */
struct ioregion_region_ops {
	/**
	 * Read @p size bytes at @p offset into @p *val (low bytes).
	 * @return 0 with *val set; IOREGION_DEFERRED to answer later;
	 * a negative errno: the guest reads all-ones and an error is counted.
	 */
	int (*read)(struct ioregion_region *region, uint64_t offset,
		    unsigned size, uint64_t *val);
	/**
	 * Write @p val (masked to @p size bytes) at @p offset.
	 * @return 0, or a negative errno: counted and logged; a non-posted
	 * write is answered all the same.
	 */
	int (*write)(struct ioregion_region *region, uint64_t offset,
		     unsigned size, uint64_t val);
};

/**
 * What a device asks for when it creates a region. Zero-initialise it;
 * reserved fields must stay zero (they are for later versions).
 */
struct ioregion_region_config {
	uint64_t addr;		/**< guest physical address or base port */
	uint64_t size;		/**< bytes; 0 = doorbell: posted writes only */
	uint32_t flags;		/**< IOREGION_F_PIO, IOREGION_F_POSTED_WRITES */
	uint32_t widths;	/**< IOREGION_WIDTH_* mask, 0 = all */
	const struct ioregion_region_ops *ops;
	void *userdata;		/**< for the callbacks: ioregion_region_get_userdata() */
	uint64_t reserved[4];
};

/** Per-region counters. */
struct ioregion_region_stats {
	uint64_t reads;		/**< reads answered by the device */
	uint64_t writes;	/**< non-posted writes applied */
	uint64_t posted_writes;	/**< posted writes applied */
	uint64_t errors;	/**< accesses refused: bad offset, width, callback error */
};

/** Per-channel counters. */
struct ioregion_channel_stats {
	uint64_t commands;	/**< well-formed commands received */
	uint64_t responses;	/**< responses sent */
	uint64_t malformed;	/**< bad packets: size, command, reserved bits */
	uint64_t unknown_region;	/**< user_data naming no live region */
	uint64_t batches;	/**< wake-ups that read at least one command */
};

/* ---- context ---------------------------------------------------------- */

/**
 * Create a context on @p loop, or, with NULL, on a new private loop owned by
 * the context (never the process-wide default loop).
 *
 * @param[out] ctxp the new context, one reference
 * @return 0
 * @retval -EINVAL ctxp is NULL
 * @retval -ENOMEM out of memory or no loop could be created
 */
int ioregion_ctx_new(struct ev_loop *loop, struct ioregion_ctx **ctxp);

/** Take a reference. @return @p ctx (NULL stays NULL) */
struct ioregion_ctx *ioregion_ctx_ref(struct ioregion_ctx *ctx);

/**
 * Drop a reference; the last one destroys the context with all its channels
 * and regions (and its private loop). Inside a callback the destruction
 * waits until the callback returns, or until ioregion_ctx_dispatch()
 * returns. A private loop that the caller runs itself with ev_run() must
 * not lose its last reference inside a callback: ev_run() would go on
 * with a destroyed loop. @return NULL, always.
 */
struct ioregion_ctx *ioregion_ctx_unref(struct ioregion_ctx *ctx);

/**
 * Set the log handler (NULL: no logging); the priority is set apart, with
 * ioregion_ctx_set_log_priority(). The default writes ERROR messages to
 * stderr. NULL @p ctx is ignored.
 */
void ioregion_ctx_set_log_handler(struct ioregion_ctx *ctx,
				  ioregion_log_handler_fn *handler, void *data);

/** Set the lowest priority passed to the log handler (NULL ctx: ignored). */
void ioregion_ctx_set_log_priority(struct ioregion_ctx *ctx,
				   enum ioregion_log_priority priority);

/** The default bound of a deferred read, in milliseconds. */
#define IOREGION_DEFERRED_TIMEOUT_MS_DEFAULT 250u

/**
 * Bound the time a deferred read may stay unanswered; when it passes the
 * guest reads all-ones and an error is counted, so no vCPU waits forever.
 * Default IOREGION_DEFERRED_TIMEOUT_MS_DEFAULT (250 ms).
 *
 * The rule: the device's bound must be well inside the VMM's bound on the
 * same access, at most half of it: the bridge's response timeout
 * (ioregion_bridge_set_timeout(), default 1000 ms) and, on the fast path,
 * the receive timeout of the kernel's socket. The VMM counts from its
 * send, the device from its deferral, later by whatever the device was
 * busy with meanwhile. If the VMM's bound passes first, it fails the fd
 * for good (a late answer would be taken for the next access), where the
 * device's all-ones answer keeps the channel working.
 * @return 0
 * @retval -EINVAL ctx is NULL or @p ms is 0
 */
int ioregion_ctx_set_deferred_timeout(struct ioregion_ctx *ctx,
				      unsigned int ms);

/** Longest adaptive-polling window, in microseconds. */
#define IOREGION_POLL_US_MAX 1000000u

/**
 * Adaptive polling: after handling a batch, keep reading the channel
 * without sleeping for up to @p us microseconds (re-armed by each command
 * that arrives) before going back to the loop. It trades a CPU core, busy
 * while the guest is quiet, for the cost of waking a sleeping process
 * (tens of microseconds across CPUs); other channels of the context wait
 * meanwhile. 0 (the default) turns it off.
 *
 * @return 0
 * @retval -EINVAL ctx is NULL or @p us > IOREGION_POLL_US_MAX
 */
int ioregion_ctx_set_poll_us(struct ioregion_ctx *ctx, unsigned int us);

/**
 * How a context's channels do their I/O. Both serve the same commands with
 * the same answers, errors and counters; they differ in the syscalls per
 * round trip (docs/design.md, "Server I/O backends").
 */
enum ioregion_backend {
	/** libev watches each channel's fd; a wake-up reads with recvmmsg()
	 * (read() on a stream or pipe) and answers with sendmmsg() (send(),
	 * write()). The default. */
	IOREGION_BACKEND_EPOLL = 0,
	/** One io_uring per context: each channel keeps a receive queued in
	 * it, and the responses of a batch are queued with the next receive.
	 * libev (and ioregion_ctx_get_fd()) watch the ring's fd; the ring is
	 * entered once per wake-up to submit them. With ioregion_ctx_run()
	 * the wait is in that same io_uring_enter(): one syscall per round
	 * trip. Needs a build with liburing (Meson option io_uring) and a
	 * kernel that allows io_uring. */
	IOREGION_BACKEND_IO_URING = 1,
};

/**
 * Choose the I/O backend, before the context has any channel. The
 * environment variable IOREGION_SERVER_BACKEND (`epoll` or `io_uring`),
 * read by ioregion_ctx_new(), sets the same thing for every new context
 * of a process (ignored in set-uid programs).
 *
 * IOREGION_BACKEND_IO_URING falls back to IOREGION_BACKEND_EPOLL, with
 * one INFO log line saying why, where it cannot be had: a build without
 * liburing, a kernel without io_uring (ENOSYS) or one that refuses it
 * (EPERM: sysctl kernel.io_uring_disabled), or out of memory or locked
 * memory. ioregion_ctx_get_backend() tells which one is in use.
 *
 * @return 0 (also after a fallback)
 * @retval -EINVAL ctx is NULL or @p backend unknown
 * @retval -EBUSY the context has channels already, or inside one of its
 *         callbacks
 */
int ioregion_ctx_set_backend(struct ioregion_ctx *ctx,
			     enum ioregion_backend backend);

/**
 * @return the backend the context's channels use (IOREGION_BACKEND_EPOLL
 * for a NULL @p ctx)
 */
enum ioregion_backend ioregion_ctx_get_backend(struct ioregion_ctx *ctx);

/**
 * Serve in the calling thread until no channel of the context is open
 * (each closed by EOF or an error, or destroyed, e.g. from its close
 * handler); returns at once if none is.
 *
 * IOREGION_BACKEND_IO_URING: the thread sleeps in io_uring_enter(), which
 * also submits the responses and the next receives: one syscall per round
 * trip, where ev_run() needs two (epoll_wait() for the ring's fd, then
 * io_uring_enter()). The wait also ends for what ioregion_ctx_get_fd()
 * reports (interrupt lines' resample fds, the control sessions of the
 * context's devices) and for the library's timers
 * (ioregion_ctx_get_timeout()); then the loop runs once without waiting.
 * The caller's own watchers on the loop are not waited for: they run only
 * at those passes. Programs that need them use ev_run().
 *
 * IOREGION_BACKEND_EPOLL: the same as ev_run() on the context's loop,
 * until no channel is open.
 *
 * ioregion_ctx_stop() ends the run early, the channels still open.
 *
 * @return 0
 * @retval -EINVAL ctx is NULL
 * @retval -EBUSY called from inside one of the context's callbacks
 * @retval -EMFILE, -ENFILE, -ENOMEM no eventfd for ioregion_ctx_stop()'s
 *         wake-up, or (io_uring) no epoll fd for ioregion_ctx_get_fd()'s
 *         set (made by the first run)
 * @return other negative errno from io_uring_enter()
 */
int ioregion_ctx_run(struct ioregion_ctx *ctx);

/**
 * Make ioregion_ctx_run() return 0 with the channels still open: the run
 * in progress, once the callback or signal handler that calls this has
 * returned, or else the next run, at once. A run after that serves again.
 *
 * Async-signal-safe (a flag and, while a run is on, one write() to an
 * eventfd; errno is kept): a SIGTERM handler may call it. Call it from the
 * thread that runs the context, or from a signal handler on it.
 *
 * @return 0
 * @retval -EINVAL ctx is NULL
 */
int ioregion_ctx_stop(struct ioregion_ctx *ctx);

/** @return the loop the context runs on, NULL if @p ctx is NULL */
struct ev_loop *ioregion_ctx_get_loop(struct ioregion_ctx *ctx);

/**
 * An fd that becomes readable when ioregion_ctx_dispatch() has work, for
 * callers whose main loop is not libev: an epoll fd of the context's own
 * (made on first call), not the loop's backend fd. It watches the
 * channels' fds, the resample fds of level interrupt lines (irq.h) and
 * an eventfd that reports commands left buffered
 * behind a deferred read completed outside dispatch (e.g. by
 * ioregion_region_complete_read() from the caller's own event). Timers
 * (the deferred timeout) do not show on it.
 *
 * @return the fd (owned by the context)
 * @retval -EINVAL ctx is NULL
 * @retval -EMFILE, -ENFILE, -ENOMEM epoll_create1() failed
 */
int ioregion_ctx_get_fd(struct ioregion_ctx *ctx);

/**
 * Handle everything that is ready, without blocking. Deferred-read timeouts
 * are checked here too: callers of get_fd/dispatch that use deferred reads
 * call this at least as often as their deferred timeout.
 *
 * Not re-entrant: from inside one of the context's callbacks (region,
 * close handler) it refuses. A callback that runs the loop itself
 * (ev_run) does no harm either: the channel whose command is being
 * handled is not read again until that command is done.
 *
 * @return 0
 * @retval -EINVAL ctx is NULL
 * @retval -EBUSY called from inside one of the context's callbacks
 */
int ioregion_ctx_dispatch(struct ioregion_ctx *ctx);

/**
 * How long a caller of ioregion_ctx_get_fd() may sleep before it must call
 * ioregion_ctx_dispatch() anyway: the library's own timers (a deferred
 * read's bound) do not show on the fd. Pass the value to poll() as is.
 *
 * @param[out] timeout_ms milliseconds until the next timer is due (0: now),
 *             or -1 when no timer is armed (sleep until the fd says so)
 * @return 0
 * @retval -EINVAL ctx or timeout_ms is NULL
 */
int ioregion_ctx_get_timeout(struct ioregion_ctx *ctx, int *timeout_ms);

/* ---- channels --------------------------------------------------------- */

/**
 * Create a channel on a new socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC).
 * The server keeps one end (non-blocking); the other, blocking, end is the
 * peer fd to give to KVM or the VMM: ioregion_channel_take_peer_fd().
 *
 * @return 0
 * @retval -EINVAL bad argument or unknown dialect
 * @retval -EMFILE, -ENFILE out of file descriptors
 * @retval -ENOMEM out of memory
 */
int ioregion_channel_new(struct ioregion_ctx *ctx,
			 enum ioregion_wire_dialect dialect,
			 struct ioregion_channel **chp);

/**
 * Create a channel from fds the caller opened: a socket (SEQPACKET or
 * STREAM) used both ways (@p read_fd == @p write_fd), or the read end of
 * one pipe and the write end of another. The channel takes ownership of the
 * fds, also on failure, and makes them non-blocking (this changes the
 * open file description: don't share it with a blocking user).
 *
 * @return 0
 * @retval -EINVAL bad argument, unknown dialect, or a datagram socket
 * @retval -EBADF an fd is not open
 * @retval -ENOTSOCK an fd is neither a socket nor a pipe/FIFO
 * @retval -ENOMEM out of memory
 * @return other negative errno from fstat/getsockopt/fcntl on the fds
 */
int ioregion_channel_new_from_fds(struct ioregion_ctx *ctx, int read_fd,
				  int write_fd,
				  enum ioregion_wire_dialect dialect,
				  struct ioregion_channel **chp);

/**
 * Create a fallback channel of @p primary: a new SOCK_SEQPACKET pair, as
 * ioregion_channel_new() makes, in the primary's dialect, that serves the
 * primary's regions under the same user_data values. It is for the VMM's
 * bridge on a kernel with KVM_SET_IOREGION: the accesses the kernel hands
 * back to the VMM go to the bridge, and the kernel and the bridge must
 * never share an open file (neither sees the other's lock, so replies go
 * to whoever reads first). Give the primary's peer fd to the kernel and
 * the fallback's (ioregion_channel_take_peer_fd()) to the bridge.
 *
 * A fallback has its own fds, counters and close handler. Regions are made
 * on the primary only; their counters count the accesses of both.
 * Destroying the primary destroys its fallbacks (their handles become
 * invalid; no close handler runs); destroying a fallback leaves the
 * primary. EOF or an error closes only the channel it happens on: a
 * fallback's EOF leaves the primary running and the other way round. A
 * read of one region may be deferred on several of these channels at once:
 * ioregion_region_complete_read() answers them all.
 *
 * @param primary a channel that is not itself a fallback
 * @param[out] chp the fallback
 * @return 0
 * @retval -EINVAL a NULL argument, or @p primary is a fallback
 * @retval -ENOTCONN @p primary is closed
 * @retval -EMFILE, -ENFILE out of file descriptors
 * @retval -ENOMEM out of memory
 */
int ioregion_channel_new_fallback(struct ioregion_channel *primary,
				  struct ioregion_channel **chp);

/**
 * Destroy a channel: its regions (and a primary's fallback channels) are
 * destroyed, its fds closed (a peer fd not taken yet too). NULL is
 * allowed. Safe inside the channel's callbacks.
 */
void ioregion_channel_destroy(struct ioregion_channel *ch);

/**
 * The peer end of a channel made by ioregion_channel_new(), still owned by
 * the channel.
 * @return the fd
 * @retval -EINVAL ch is NULL
 * @retval -ENOENT no peer end (channel from caller fds, or taken already)
 */
int ioregion_channel_peer_fd(struct ioregion_channel *ch);

/**
 * Take ownership of the peer end: the caller closes it (e.g. right after
 * handing it to the VMM, so that the VMM's exit shows up as EOF here).
 * @return the fd
 * @retval -EINVAL ch is NULL
 * @retval -ENOENT no peer end, or taken already
 */
int ioregion_channel_take_peer_fd(struct ioregion_channel *ch);

/** @return the channel's dialect (IOREGION_WIRE_V3 if @p ch is NULL) */
enum ioregion_wire_dialect
ioregion_channel_get_dialect(struct ioregion_channel *ch);

/**
 * Called once when the channel closes by itself: @p error is 0 for EOF
 * (the peer hung up) or a negative errno. The channel's regions stay valid
 * but receive nothing more; destroying the channel here is allowed.
 */
typedef void ioregion_channel_close_fn(struct ioregion_channel *ch,
				       int error, void *data);

/** Set the close handler of @p ch (NULL for none; NULL @p ch: ignored). */
void ioregion_channel_set_close_handler(struct ioregion_channel *ch,
					ioregion_channel_close_fn *fn,
					void *data);

/**
 * Whether the channel is open: 1 open, 0 closed after EOF or an error.
 * @retval -EINVAL ch is NULL
 */
int ioregion_channel_is_open(struct ioregion_channel *ch);

/** Copy the channel's counters into @p stats.
 * @return 0
 * @retval -EINVAL a NULL argument */
int ioregion_channel_get_stats(struct ioregion_channel *ch,
			       struct ioregion_channel_stats *stats);

/* ---- regions ---------------------------------------------------------- */

/**
 * Add a region to a channel. The library assigns its user_data. The
 * channel's fallbacks (ioregion_channel_new_fallback()) serve it too.
 *
 * @return 0
 * @retval -EINVAL NULL, unknown flags or widths, size 0 without posted
 *         writes, a range that wraps around (or leaves PIO space), a
 *         reserved field not zero, or @p ch is a fallback channel
 * @retval -EEXIST overlaps a region of the same space on this channel
 * @retval -ENOTCONN the channel is closed
 * @retval -ENOSPC the channel's table is full (2^31 slots)
 * @retval -ENOMEM out of memory
 */
int ioregion_region_new(struct ioregion_channel *ch,
			const struct ioregion_region_config *config,
			struct ioregion_region **regionp);

/**
 * Remove and free a region: commands naming it afterwards are answered as
 * unknown. NULL is allowed. Safe inside its own callbacks.
 */
void ioregion_region_destroy(struct ioregion_region *region);

/** @return the userdata given in the region's config (NULL region: NULL) */
void *ioregion_region_get_userdata(struct ioregion_region *region);

/** @return the channel the region belongs to, the primary if it has
 * fallbacks (NULL region: NULL) */
struct ioregion_channel *
ioregion_region_get_channel(struct ioregion_region *region);

/**
 * The region as the VMM must register it: address, size, flags, the
 * library-assigned user_data and the channel's dialect.
 * @return 0
 * @retval -EINVAL a NULL argument
 */
int ioregion_region_get_desc(struct ioregion_region *region,
			     struct ioregion_desc *desc);

/** Copy the region's counters into @p stats.
 * @return 0
 * @retval -EINVAL a NULL argument */
int ioregion_region_get_stats(struct ioregion_region *region,
			      struct ioregion_region_stats *stats);

/**
 * Answer the read this region's read callback deferred (returned
 * IOREGION_DEFERRED for): every such read waiting, on the region's channel
 * and on its fallbacks (one per channel at most), gets @p val, masked to
 * its own size; each channel's answers stay in its command order. Commands
 * that arrived behind them are handled next, from the loop.
 *
 * @return 0
 * @retval -EINVAL region is NULL
 * @retval -ENOENT no deferred read of this region is waiting (answered,
 *         timed out, or never deferred)
 * @retval -ENOTCONN the region's channel and all its fallbacks are closed
 */
int ioregion_region_complete_read(struct ioregion_region *region,
				  uint64_t val);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_SERVER_H */
