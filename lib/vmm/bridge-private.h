/* SPDX-License-Identifier: MIT */
/*
 * The bridge's pieces, shared by its files:
 *   bridge.c        lifecycle, settings and the table (add/remove/replace)
 *   bridge-chan.c   channels: one per open file, I/O bounded by a deadline
 *   bridge-exit.c   the access path: exits decoded, string PIO, stats
 *   bridge-log.c    the log handler
 * Not installed.
 */
#ifndef IOREGION_BRIDGE_PRIVATE_H
#define IOREGION_BRIDGE_PRIVATE_H

#include "ioregion-private.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "ioregion/bridge.h"
#include "ioregion/wire.h"

#define DEFAULT_TIMEOUT_MS 1000u
/* The receive buffer: one answer and as much again, so that one receive
 * also sees data nobody asked for (bridge_recv_resp). */
#define BRIDGE_RESP_BUF (2 * IOREGION_WIRE_MSG_SIZE)
/* The PIO data area of kvm_run is one page (KVM_PIO_PAGE_OFFSET). */
#define PIO_DATA_MAX 4096u

/*
 * Lifetimes: the table holds one reference to each of its regions, a
 * region one to its channel. An access takes its own references to the
 * region and the channel under the table's read lock and drops the lock
 * before it talks to the device, so add/remove/replace_fd and accesses to
 * other devices never wait for a device; a region removed meanwhile (or a
 * channel replaced) lives on until that access ends.
 */
struct chan {
	struct chan *next;	/* bridge->chans, under chans_lock */
	unsigned int refs;	/* atomic; reaches 0 only under chans_lock */
	int fd;			/* the bridge's own duplicate */
	dev_t dev;
	ino_t ino;
	uint64_t cookie;	/* SO_COOKIE, 0: unknown */
	bool is_message;	/* SEQPACKET/DGRAM: one response per packet */
	pthread_mutex_t lock;	/* serializes accesses; protects failed */
	bool failed;
	/* SO_RCVTIMEO as set on fd, ns; 0: none (blocking receives off) */
	uint64_t rcvtimeo_ns;
	bool rcvtimeo_refused;	/* setsockopt failed: never block */
};

struct region {
	/* desc's user_data, dialect, flags and chan change under the write
	 * lock (replace_fd): accesses copy them under the read lock */
	struct ioregion_desc desc;
	uint64_t end;		/* exclusive; addr + 1 for a doorbell */
	struct chan *chan;
	unsigned int refs;	/* atomic */
	/* updated with relaxed atomics */
	struct ioregion_bridge_stats stats;
};

struct space {
	struct region **v;	/* sorted by desc.addr, non-overlapping */
	size_t n, cap;
};

struct ioregion_bridge {
	unsigned int refcount;
	unsigned int timeout_ms;	/* atomic */
	uint64_t poll_ns;		/* atomic; adaptive polling, 0 = off */
	bool idle_check;		/* atomic; the strict mode's peek */
	pthread_rwlock_t table_lock;
	struct space mmio, pio;
	pthread_mutex_t chans_lock;	/* the list of channels */
	struct chan *chans;
	pthread_mutex_t log_lock;	/* handler, priority, rate limit */
	struct ioregion_log log;
};

/* bridge.c: the table */
struct space *bridge_space_of(struct ioregion_bridge *bridge, bool pio);
struct region *bridge_lookup(const struct space *sp, uint64_t addr);
void bridge_region_unref(struct ioregion_bridge *bridge, struct region *r);

/* bridge-chan.c */
int bridge_chan_get(struct ioregion_bridge *bridge, int fd, struct chan **out);
void bridge_chan_ref(struct chan *c);
void bridge_chan_unref(struct ioregion_bridge *bridge, struct chan *c);
int bridge_send_cmd(struct chan *c, const uint8_t *buf, uint64_t deadline);
int bridge_check_idle(struct chan *c);
/* @p buf: BRIDGE_RESP_BUF bytes; the answer in its first 32 */
int bridge_recv_resp(struct chan *c, uint8_t *buf, uint64_t deadline,
		     uint64_t spin_until, uint64_t timeout_ns);

/* bridge-log.c: what went wrong in an access, a message a peer or guest
 * can cause, noted under the access's locks and logged (rate-limited)
 * after them. */
struct bridge_note {
	char msg[200];
};
void bridge_note_peer(struct bridge_note *note, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bridge_log_note(struct ioregion_bridge *bridge,
		     const struct bridge_note *note);

#endif /* IOREGION_BRIDGE_PRIVATE_H */
