/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the bridge tests (test-bridge*.c): a fake device thread that
 * speaks the wire protocol with plain read/write over a socketpair, decodes
 * commands by hand from the wire tables in docs/ (not with the library),
 * records every command it receives, and answers as scripted; and a fake
 * struct kvm_run in a buffer of two pages for handle_exit.
 */
#ifndef IOREGION_TEST_BRIDGE_PEER_H
#define IOREGION_TEST_BRIDGE_PEER_H

#include "test-common.h"

#include <pthread.h>
#include <stdarg.h>
#include <linux/kvm.h>

#include "ioregion/bridge.h"
#include "ioregion/wire.h"

#define MAX_CMDS 64
#define JUNK 0xff	/* command byte of filler packets the peer skips */
#define MMIO_BASE 0x10000000ull

enum peer_mode {
	PEER_ECHO = 1,		/* register file: writes store, reads load */
	PEER_SILENT,		/* records, never answers */
	PEER_CLOSE,		/* closes its end on the first command */
	PEER_SHORT,		/* answers with a 16-byte packet */
	PEER_LONG,		/* answers with a 40-byte packet */
	PEER_PIECES,		/* answers in three pieces, 5 ms apart */
	PEER_HALF_CLOSE,	/* answers 16 bytes, then closes its end */
	PEER_SLOW,		/* as ECHO, each answer after delay_ms */
};

struct peer {
	int fd;
	bool stream;
	int dialect;
	enum peer_mode mode;
	unsigned start_delay_ms;
	unsigned delay_ms;	/* PEER_SLOW */
	bool autoinc;		/* a read increments the value it read */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t cmds[MAX_CMDS][32];
	unsigned ncmds;
	uint8_t regs[256];
};

void sleep_ms(unsigned ms);
uint64_t ms_now(void);
uint64_t le_load(const uint8_t *p, unsigned n);
void le_store(uint8_t *p, unsigned n, uint64_t v);

/* Start a peer; returns the VMM-side end (the caller gives it to the
 * bridge and closes its own copy). */
int peer_start(struct peer *p, int type, int dialect, enum peer_mode mode);
void peer_run(struct peer *p);
/* Join after every VMM-side fd is closed (the peer then sees EOF). */
void peer_stop(struct peer *p);
/* Wait until the peer recorded at least n commands (2 s bound). */
unsigned peer_wait(struct peer *p, unsigned n);

/* Log messages the bridge of new_bridge() gave its handler. */
extern unsigned log_count;
void count_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	       va_list args) __attribute__((format(printf, 3, 0)));

/* A bridge whose log handler is count_log (log_count reset to 0). */
struct ioregion_bridge *new_bridge(void);
struct ioregion_desc mk_desc(uint64_t addr, uint64_t size, uint64_t user_data,
			     uint32_t flags, int dialect);
/* Add a region served by a new peer (running). */
void add_with_peer(struct ioregion_bridge *b, const struct ioregion_desc *d,
		   struct peer *p, int type, enum peer_mode mode);

struct kvm_run *new_run(void);
void mmio_exit(struct kvm_run *run, uint64_t addr, unsigned len, bool is_write,
	       uint64_t val);
/* A PIO exit; returns its data area. */
uint8_t *io_exit(struct kvm_run *run, uint16_t port, unsigned size,
		 uint32_t count, bool out);

/* Fill a socket with JUNK packets until send gets EAGAIN; returns how
 * many went in. */
int fill_socket(int fd);

#endif /* IOREGION_TEST_BRIDGE_PEER_H */
