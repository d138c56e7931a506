/* SPDX-License-Identifier: MIT */
/*
 * The device-server test fixture shared by test-server*.c: a context on a
 * private loop with one SEQPACKET channel whose peer end the test holds,
 * playing the kernel: it writes raw 32-byte commands and reads raw
 * responses. A region's callbacks work on a struct dev.
 */
#ifndef IOREGION_SERVER_FIXTURE_H
#define IOREGION_SERVER_FIXTURE_H

#include "test-common.h"

#include <stdarg.h>

#include "ioregion/server.h"

#define ONES UINT64_MAX

struct dev {
	uint8_t mem[0x100];
	unsigned reads, writes;
	uint64_t last_off, last_val;
	unsigned last_size;
	int read_rc, write_rc;		/* returned by the callbacks */
	uint64_t counter;		/* value of the "counter" read at 0xf8 */
	bool destroy_region_in_cb, destroy_channel_in_cb;
};

extern struct ioregion_ctx *ctx;
extern struct ioregion_channel *ch;
extern int peer;			/* the peer end of ch */
extern struct dev dev;
extern int log_errors;
extern bool expect_errors;		/* else an ERROR log fails the test */

/* Reads mem (0xf8: the counter), writes mem; honours the dev flags. */
extern const struct ioregion_region_ops dev_ops;
/* Reads at offset 0 defer, other reads answer their offset. */
extern const struct ioregion_region_ops deferring_ops;
int deferring_read(struct ioregion_region *r, uint64_t off, unsigned size,
		   uint64_t *val);

void setup(void);
void teardown(void);
void test_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	      va_list args) __attribute__((format(printf, 3, 0)));

struct ioregion_region *add_region(struct ioregion_channel *c, uint64_t addr,
				   uint64_t size, uint32_t flags,
				   uint32_t widths);
/* A deferring region at 0x1000 on ch. */
struct ioregion_region *add_deferring(void);
uint64_t ud(struct ioregion_region *r);

/* Encode a command the way the v3 table lays it out. */
void v3_cmd(uint8_t buf[32], uint8_t cmd, unsigned exp, bool resp,
	    uint64_t user, uint64_t off, uint64_t data);
void send_cmd(int fd, uint8_t cmd, unsigned exp, bool resp, uint64_t user,
	      uint64_t off, uint64_t data);
/* Run the loop until nothing is ready. */
void pump(void);
/* Pump, then expect exactly one response on @fd and return its data. */
uint64_t response(int fd);
void no_response(int fd);
/* A channel on a new socketpair of @type; *p is the peer end. */
void stream_channel(int type, struct ioregion_channel **c, int *p);

#endif /* IOREGION_SERVER_FIXTURE_H */
