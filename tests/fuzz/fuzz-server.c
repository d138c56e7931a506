/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the device server's command stream, checked against the
 * guarantees in docs/design.md ("Guarantees of the device server").
 *
 * One context with two channels: A on the library's own SEQPACKET pair
 * (each fuzzer chunk is one packet, short, exact or long) and B on a
 * SOCK_STREAM pair (chunks split anywhere). Each channel carries regions of
 * both kinds: MMIO and PIO, posted writes, a doorbell, restricted widths,
 * a deferring read callback, a failing write callback, and the user_data
 * of a destroyed region. The loop is driven with ioregion_ctx_dispatch().
 *
 * Input: byte 0 picks the dialect; then operations, each one byte:
 *   0 raw packet to A     len byte (bit 7 of op doubles it), bytes
 *   1 raw bytes to B      len byte, bytes
 *   2 well-formed command to A or B with a live region's user_data
 *   3 dispatch
 *   4 complete a deferred read (value from the input)
 *   5 destroy a region
 *   6 hang up: close our end of A or B (the server sees EOF)
 *   7 destroy channel A or B
 *
 * Invariants: every response is exactly 32 bytes with zero padding; a
 * channel never sends more responses than it received commands that expect
 * one, and exactly as many when it is still open at the end with every
 * deferred read completed; no crash, leak or fd leak.
 */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioregion/server.h"
#include "ioregion/wire.h"

#define NREG 6

struct chan_state {
	struct ioregion_channel *ch;
	int peer;			/* our end: the "kernel" */
	bool stream;
	bool alive;			/* channel not destroyed by us */
	bool hung_up;			/* we closed our end or sent EOF */
	struct ioregion_region *r[NREG];
	uint64_t user_data[NREG];
	uint64_t expected;		/* commands that expect a response */
	uint64_t responses;
	uint8_t part[32];		/* stream: the command being built */
	size_t part_len;
	uint8_t rpart[32];		/* stream: the response being read */
	size_t rpart_len;
	unsigned deferred;		/* a deferred read waits (0 or 1) */
};

static int dialect;
static struct chan_state chans[2];

static int
reg_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	uint8_t *mem = ioregion_region_get_userdata(r);

	*val = 0;
	memcpy(val, mem + off, size);
	return 0;
}

static int
reg_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	uint8_t *mem = ioregion_region_get_userdata(r);

	memcpy(mem + off, &val, size);
	return 0;
}

/* Defers every read at an even offset, fails odd ones. */
static int
defer_read(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t *val)
{
	struct chan_state *cs = ioregion_region_get_userdata(r);

	if (off & 1)
		return -EIO;
	FUZZ_CHECK(cs->deferred == 0);	/* the channel holds the rest back */
	cs->deferred = 1;
	return IOREGION_DEFERRED;
}

static int
fail_write(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t val)
{
	return off & 1 ? -EPERM : 0;
}

static void __attribute__((format(printf, 3, 0)))
quiet_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, args);	/* exercise the formats */
}

/* Whether a command (first 32 bytes, zero-padded) waits for an answer,
 * decoded here from the tables of docs/wire-protocol.md, not with the
 * library. */
static bool
expects_response(const uint8_t *msg, size_t len)
{
	uint8_t b[32] = { 0 };
	unsigned cmd;
	bool resp;

	memcpy(b, msg, len < 32 ? len : 32);
	if (dialect == IOREGION_WIRE_V3) {
		cmd = b[0];
		resp = b[1] & 0x10;
	} else {
		uint32_t info = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
				(uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;

		cmd = info & 0xf;
		resp = info & 0x40;
	}
	return cmd == 0 || resp;
}

static uint8_t mem[2][NREG][0x100];

static void
setup_channel(struct ioregion_ctx *ctx, int i)
{
	static const struct ioregion_region_ops rw_ops = {
		.read = reg_read, .write = reg_write,
	};
	static const struct ioregion_region_ops defer_ops = {
		.read = defer_read, .write = fail_write,
	};
	static const struct ioregion_region_ops doorbell_ops = {
		.write = fail_write,
	};
	struct chan_state *cs = &chans[i];
	struct ioregion_region_config cfg[NREG] = {
		{ .addr = 0x1000, .size = 0x100, .ops = &rw_ops },
		{ .addr = 0x2000, .size = 0x40, .widths = IOREGION_WIDTH_4 |
		  IOREGION_WIDTH_8, .flags = IOREGION_F_POSTED_WRITES,
		  .ops = &rw_ops },
		{ .addr = 0x60, .size = 8, .flags = IOREGION_F_PIO,
		  .widths = IOREGION_WIDTH_1 | IOREGION_WIDTH_2, .ops = &rw_ops },
		{ .addr = 0x3000, .size = 0, .flags = IOREGION_F_POSTED_WRITES,
		  .ops = &doorbell_ops },
		{ .addr = 0x4000, .size = 0x10, .ops = &defer_ops },
		{ .addr = 0x5000, .size = 0x10, .ops = NULL },
	};
	int rc;

	memset(cs, 0, sizeof(*cs));
	if (i == 0) {
		FUZZ_CHECK(ioregion_channel_new(ctx, dialect, &cs->ch) == 0);
		cs->peer = ioregion_channel_take_peer_fd(cs->ch);
		FUZZ_CHECK(cs->peer >= 0);
	} else {
		int sv[2];

		FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				      sv) == 0);
		FUZZ_CHECK(ioregion_channel_new_from_fds(ctx, sv[0], sv[0],
							 dialect, &cs->ch) == 0);
		cs->peer = sv[1];
		cs->stream = true;
	}
	FUZZ_CHECK(fcntl(cs->peer, F_SETFL, O_NONBLOCK) == 0);
	cs->alive = true;
	for (int k = 0; k < NREG; k++) {
		struct ioregion_desc d;

		cfg[k].userdata = k == 4 ? (void *)cs : (void *)mem[i][k];
		rc = ioregion_region_new(cs->ch, &cfg[k], &cs->r[k]);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(ioregion_region_get_desc(cs->r[k], &d) == 0);
		cs->user_data[k] = d.user_data;
	}
	/* The last one is gone before any command: its user_data is stale. */
	ioregion_region_destroy(cs->r[NREG - 1]);
	cs->r[NREG - 1] = NULL;
}

static void
count_stream_bytes(struct chan_state *cs, const uint8_t *p, size_t n)
{
	while (n) {
		size_t take = 32 - cs->part_len;

		if (take > n)
			take = n;
		memcpy(cs->part + cs->part_len, p, take);
		cs->part_len += take;
		p += take;
		n -= take;
		if (cs->part_len == 32) {
			cs->expected += expects_response(cs->part, 32);
			cs->part_len = 0;
		}
	}
}

/* Read and check every response waiting on our end. */
static void
drain(struct chan_state *cs)
{
	uint8_t buf[4096];

	if (cs->peer < 0)
		return;
	for (;;) {
		ssize_t n;

		if (cs->stream) {
			n = read(cs->peer, buf, sizeof(buf));
			if (n <= 0)
				break;
			for (ssize_t k = 0; k < n; k++) {
				cs->rpart[cs->rpart_len++] = buf[k];
				if (cs->rpart_len == 32) {
					for (int j = 8; j < 32; j++)
						FUZZ_CHECK(cs->rpart[j] == 0);
					cs->responses++;
					cs->rpart_len = 0;
				}
			}
		} else {
			n = recv(cs->peer, buf, sizeof(buf), MSG_DONTWAIT);
			if (n <= 0)
				break;
			FUZZ_CHECK(n == 32);
			for (int j = 8; j < 32; j++)
				FUZZ_CHECK(buf[j] == 0);
			cs->responses++;
		}
	}
	FUZZ_CHECK(cs->responses <= cs->expected);
}

static void
dispatch(struct ioregion_ctx *ctx)
{
	FUZZ_CHECK(ioregion_ctx_dispatch(ctx) == 0);
	drain(&chans[0]);
	drain(&chans[1]);
}

static void
send_bytes(struct ioregion_ctx *ctx, struct chan_state *cs, const uint8_t *p,
	   size_t n)
{
	ssize_t w = -1;

	if (cs->hung_up)
		return;
	if (!cs->stream && n == 0) {
		/* A zero-length packet is EOF to the server: say so. */
		if (send(cs->peer, p, 0, MSG_DONTWAIT | MSG_NOSIGNAL) == 0)
			cs->hung_up = true;
		return;
	}
	for (int tries = 0; tries < 2; tries++) {
		w = send(cs->peer, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w >= 0)
			break;
		if (errno != EAGAIN)
			return;		/* the server closed its end */
		dispatch(ctx);		/* make room, then once more */
	}
	if (w < 0)
		return;
	if (cs->stream)
		count_stream_bytes(cs, p, (size_t)w);
	else
		cs->expected += expects_response(p, n);
}

static void
build_cmd(struct fuzz_in *in, uint8_t *msg, const struct chan_state *cs)
{
	uint8_t sel = fuzz_u8(in), cmd = fuzz_u8(in), exp_resp = fuzz_u8(in);
	uint64_t off = fuzz_u8(in), data = fuzz_u64(in);
	uint64_t ud = cs->user_data[sel % NREG];

	memset(msg, 0, 32);
	if (dialect == IOREGION_WIRE_V3) {
		msg[0] = cmd & 1;
		msg[1] = (exp_resp & 3) | ((exp_resp & 4) ? 0x10 : 0);
	} else {
		msg[0] = (uint8_t)((cmd & 1) | (exp_resp & 3) << 4 |
				   ((exp_resp & 4) ? 0x40 : 0));
	}
	for (int k = 0; k < 8; k++) {
		msg[8 + k] = (uint8_t)(ud >> (8 * k));
		msg[16 + k] = (uint8_t)(off >> (8 * k));
		msg[24 + k] = (uint8_t)(data >> (8 * k));
	}
}

static void
complete_deferred(struct chan_state *cs, uint64_t val)
{
	int rc;

	if (!cs->alive || !cs->r[4])
		return;
	rc = ioregion_region_complete_read(cs->r[4], val);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ENOTCONN);
	if (rc == 0)
		FUZZ_CHECK(cs->deferred == 1);	/* one at a time per channel */
	cs->deferred = 0;			/* nothing is waiting now */
}

/*
 * Let everything finish: complete deferred reads until none is left. A
 * channel holds the commands behind a deferred read back, so each round
 * releases at most one deferred read per channel; the number of rounds
 * needed is bounded by the work actually queued, not by a constant. Every
 * deferred read is a command we sent that expects a response, so the
 * callback can defer at most (expected - responses) more times: more
 * rounds than that would mean the library deferred one command twice.
 */
static void
finish(struct ioregion_ctx *ctx)
{
	uint64_t owed = 0, rounds = 0;

	dispatch(ctx);
	for (int i = 0; i < 2; i++)
		owed += chans[i].expected - chans[i].responses;
	for (;;) {
		bool more = false;

		for (int i = 0; i < 2; i++) {
			if (chans[i].alive && chans[i].deferred) {
				complete_deferred(&chans[i], 0x5a);
				more = true;
			}
		}
		dispatch(ctx);
		if (!more)
			break;
		FUZZ_CHECK(++rounds <= owed);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	struct ioregion_ctx *ctx;
	int fds_before = fuzz_count_fds();
	unsigned ops = 0;

	dialect = (fuzz_u8(&in) & 1) ? IOREGION_WIRE_INFO : IOREGION_WIRE_V3;
	FUZZ_CHECK(ioregion_ctx_new(NULL, &ctx) == 0);
	ioregion_ctx_set_log_handler(ctx, quiet_log, NULL);
	ioregion_ctx_set_log_priority(ctx, IOREGION_LOG_DEBUG);
	/* Deferred reads are completed by the input, never by the clock. */
	FUZZ_CHECK(ioregion_ctx_set_deferred_timeout(ctx, 600000) == 0);
	setup_channel(ctx, 0);
	setup_channel(ctx, 1);

	while (fuzz_more(&in) && ops++ < 4096) {
		uint8_t op = fuzz_u8(&in);
		struct chan_state *cs = &chans[(op >> 3) & 1];
		uint8_t msg[32];
		const uint8_t *p;
		size_t n;

		switch (op & 7) {
		case 0:
		case 1:
			cs = &chans[op & 1];
			n = fuzz_u8(&in);
			if (op & 0x80)
				n *= 2;
			p = fuzz_bytes(&in, n, &n);
			send_bytes(ctx, cs, p, n);
			break;
		case 2:
			build_cmd(&in, msg, cs);
			send_bytes(ctx, cs, msg, 32);
			break;
		case 3:
			dispatch(ctx);
			break;
		case 4:
			complete_deferred(cs, fuzz_u64(&in));
			dispatch(ctx);
			break;
		case 5: {
			unsigned k = fuzz_u8(&in) % NREG;

			if (cs->alive && cs->r[k]) {
				if (k == 4)
					cs->deferred = 0;	/* answered now */
				ioregion_region_destroy(cs->r[k]);
				cs->r[k] = NULL;
			}
			break;
		}
		case 6:
			if (cs->peer >= 0) {
				drain(cs);
				close(cs->peer);
				cs->peer = -1;
				cs->hung_up = true;
			}
			break;
		case 7:
			if (cs->alive) {
				ioregion_channel_destroy(cs->ch);
				cs->alive = false;
				memset(cs->r, 0, sizeof(cs->r));
			}
			break;
		}
	}

	finish(ctx);
	for (int i = 0; i < 2; i++) {
		struct chan_state *cs = &chans[i];

		drain(cs);
		if (cs->alive && !cs->hung_up &&
		    ioregion_channel_is_open(cs->ch) == 1 && !cs->deferred) {
			/* Guarantee 1 (docs/design.md): exactly one answer
			 * per command that expects one, nothing held back. */
			FUZZ_CHECK(cs->responses == cs->expected);
			FUZZ_CHECK(cs->rpart_len == 0);
		}
		if (cs->peer >= 0)
			close(cs->peer);
	}
	ioregion_ctx_unref(ctx);
	FUZZ_CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
