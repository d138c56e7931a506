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
/* The PIO data area of kvm_run is one page (KVM_PIO_PAGE_OFFSET). */
#define PIO_DATA_MAX 4096u

struct chan {
	struct chan *next;
	int fd;			/* the bridge's own duplicate */
	dev_t dev;
	ino_t ino;
	uint64_t cookie;	/* SO_COOKIE, 0: unknown */
	bool is_message;	/* SEQPACKET/DGRAM: one response per packet */
	unsigned int refs;	/* regions using it; under the write lock */
	pthread_mutex_t lock;	/* serializes accesses; protects failed */
	bool failed;
};

struct region {
	struct ioregion_desc desc;
	uint64_t end;		/* exclusive; addr + 1 for a doorbell */
	struct chan *chan;
	/* updated with relaxed atomics: readers hold only the read lock */
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
	pthread_rwlock_t table_lock;
	struct space mmio, pio;
	struct chan *chans;
	pthread_mutex_t log_lock;	/* log_peer keeps rate-limit state */
	struct ioregion_log log;
};


/* bridge.c: the table */
struct space *bridge_space_of(struct ioregion_bridge *bridge, bool pio);
struct region *bridge_lookup(const struct space *sp, uint64_t addr);

/* bridge-chan.c */
void bridge_chan_put(struct ioregion_bridge *bridge, struct chan *c);
int bridge_chan_get(struct ioregion_bridge *bridge, int fd, struct chan **out);
int bridge_send_cmd(struct chan *c, const uint8_t *buf, uint64_t deadline);
int bridge_check_idle(struct chan *c);
int bridge_recv_resp(struct chan *c, uint8_t *buf, uint64_t deadline,
	      uint64_t spin_until);

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
