/* SPDX-License-Identifier: MIT */
/*
 * The bridge against a real peer: a fake device thread in this file that
 * speaks the wire protocol with plain read/write over a socketpair, decodes
 * commands by hand from DESIGN section 3's tables (not with the library),
 * records every command it receives, and answers as scripted. handle_exit
 * is driven with a fake struct kvm_run in a buffer of two pages.
 */
#include "test-common.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/bridge.h"
#include "ioregion/wire.h"

#define MAX_CMDS 64
#define JUNK 0xff	/* command byte of filler packets the peer skips */

enum peer_mode {
	PEER_ECHO = 1,		/* register file: writes store, reads load */
	PEER_SILENT,		/* records, never answers */
	PEER_CLOSE,		/* closes its end on the first command */
	PEER_SHORT,		/* answers with a 16-byte packet */
	PEER_LONG,		/* answers with a 40-byte packet */
	PEER_PIECES,		/* answers in three pieces, 5 ms apart */
	PEER_HALF_CLOSE,	/* answers 16 bytes, then closes its end */
};

struct peer {
	int fd;
	bool stream;
	int dialect;
	enum peer_mode mode;
	unsigned start_delay_ms;
	bool autoinc;		/* a read increments the value it read */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t cmds[MAX_CMDS][32];
	unsigned ncmds;
	uint8_t regs[256];
};

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
le_load(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
le_store(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool
peer_read_cmd(struct peer *p, uint8_t *buf)
{
	size_t got = 0;

	while (got < 32) {
		ssize_t n = read(p->fd, buf + got, p->stream ? 32 - got : 32);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		if (!p->stream && n != 32)
			return false;
		got += (size_t)n;
	}
	return true;
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	uint8_t buf[32], resp[40];

	if (p->start_delay_ms)
		sleep_ms(p->start_delay_ms);
	while (peer_read_cmd(p, buf)) {
		unsigned cmd, size;
		bool want;
		uint64_t off, val = 0;

		if (buf[0] == JUNK)
			continue;
		pthread_mutex_lock(&p->lock);
		if (p->ncmds < MAX_CMDS)
			memcpy(p->cmds[p->ncmds], buf, 32);
		p->ncmds++;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);

		if (p->dialect == IOREGION_WIRE_V3) {
			cmd = buf[0];
			size = 1u << (buf[1] & 0x0f);
			want = buf[1] & 0x10;
		} else {
			uint32_t info = (uint32_t)le_load(buf, 4);

			cmd = info & 0xf;
			size = 1u << ((info >> 4) & 3);
			want = info & 0x40;
		}
		off = le_load(buf + 16, 8);
		if (off + size <= sizeof(p->regs)) {
			if (cmd == 1) {
				le_store(p->regs + off, size,
					 le_load(buf + 24, 8));
			} else {
				val = le_load(p->regs + off, size);
				if (p->autoinc)
					le_store(p->regs + off, size, val + 1);
			}
		}
		if (!want)
			continue;

		memset(resp, 0, sizeof(resp));
		le_store(resp, 8, val);
		switch (p->mode) {
		case PEER_ECHO:
			ior_write_all(p->fd, resp, 32);
			break;
		case PEER_SILENT:
			break;
		case PEER_CLOSE:
			close(p->fd);
			p->fd = -1;
			return NULL;
		case PEER_SHORT:
			ior_write_all(p->fd, resp, 16);
			break;
		case PEER_LONG:
			ior_write_all(p->fd, resp, 40);
			break;
		case PEER_HALF_CLOSE:
			ior_write_all(p->fd, resp, 16);
			close(p->fd);
			p->fd = -1;
			return NULL;
		case PEER_PIECES:
			ior_write_all(p->fd, resp, 10);
			sleep_ms(5);
			ior_write_all(p->fd, resp + 10, 10);
			sleep_ms(5);
			ior_write_all(p->fd, resp + 20, 12);
			break;
		}
	}
	return NULL;
}

/* Start a peer; returns the VMM-side end (the caller gives it to the
 * bridge and closes its own copy). */
static int
peer_start(struct peer *p, int type, int dialect, enum peer_mode mode)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	ior_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	p->fd = sv[1];
	p->stream = type == SOCK_STREAM;
	p->dialect = dialect;
	p->mode = mode;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return sv[0];
}

static void
peer_run(struct peer *p)
{
	ior_assert_int_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

/* Join after every VMM-side fd is closed (the peer then sees EOF). */
static void
peer_stop(struct peer *p)
{
	pthread_join(p->thread, NULL);
	if (p->fd >= 0)
		close(p->fd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}

/* Wait until the peer recorded at least n commands (2 s bound). */
static unsigned
peer_wait(struct peer *p, unsigned n)
{
	struct timespec dl;
	unsigned got;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	pthread_mutex_lock(&p->lock);
	while (p->ncmds < n &&
	       pthread_cond_timedwait(&p->cond, &p->lock, &dl) == 0)
		;
	got = p->ncmds;
	pthread_mutex_unlock(&p->lock);
	return got;
}

/* ---- bridge helpers ------------------------------------------------------- */

static unsigned log_count;

static void
count_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
	(void)data;
	(void)prio;
	(void)fmt;
	(void)args;
	__atomic_fetch_add(&log_count, 1, __ATOMIC_RELAXED);
}

static struct ioregion_bridge *
new_bridge(void)
{
	struct ioregion_bridge *b = NULL;

	ior_assert_int_eq(ioregion_bridge_new(&b), 0);
	ior_assert_ptr_nonnull(b);
	ioregion_bridge_set_log_handler(b, count_log, NULL);
	log_count = 0;
	return b;
}

static struct ioregion_desc
mk_desc(uint64_t addr, uint64_t size, uint64_t user_data, uint32_t flags,
	int dialect)
{
	struct ioregion_desc d = {
		.addr = addr, .size = size, .user_data = user_data,
		.flags = flags, .dialect = (uint32_t)dialect,
	};
	return d;
}

/* Add a region served by a new peer (running). */
static void
add_with_peer(struct ioregion_bridge *b, const struct ioregion_desc *d,
	      struct peer *p, int type, enum peer_mode mode)
{
	int fd = peer_start(p, type, (int)d->dialect, mode);

	ior_assert_int_eq(ioregion_bridge_add(b, d, fd), 0);
	close(fd);
	peer_run(p);
}

static struct kvm_run *
new_run(void)
{
	struct kvm_run *run = aligned_alloc(4096, 8192);

	ior_assert_ptr_nonnull(run);
	memset(run, 0, 8192);
	return run;
}

static void
mmio_exit(struct kvm_run *run, uint64_t addr, unsigned len, bool is_write,
	  uint64_t val)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = addr;
	run->mmio.len = len;
	run->mmio.is_write = is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (is_write)
		le_store(run->mmio.data, len, val);
}

static uint8_t *
io_exit(struct kvm_run *run, uint16_t port, unsigned size, uint32_t count,
	bool out)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run->io.size = (uint8_t)size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = 4096;
	return (uint8_t *)run + 4096;
}

#define MMIO_BASE 0x10000000ull

/* ---- widths and golden bytes ------------------------------------------------ */

START_TEST(test_bridge_mmio_every_width_round_trips_through_peer)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct ioregion_bridge_stats st;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	for (unsigned i = 0; i < 4; i++) {
		unsigned sz = sizes[i];
		uint64_t v = 0x8877665544332211ull + i, got = 0;
		uint64_t mask = sz == 8 ? ~0ull : (1ull << (8 * sz)) - 1;

		/* through the scripted API */
		ior_assert_int_eq(ioregion_bridge_access(b, false,
				MMIO_BASE + 0x10, true, sz, &v), 1);
		ior_assert_int_eq(ioregion_bridge_access(b, false,
				MMIO_BASE + 0x10, false, sz, &got), 1);
		ior_assert_uint_eq(got, v & mask);

		/* through handle_exit */
		mmio_exit(run, MMIO_BASE + 0x20, sz, true, ~v);
		ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
		mmio_exit(run, MMIO_BASE + 0x20, sz, false, 0);
		ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
		ior_assert_uint_eq(le_load(run->mmio.data, sz), ~v & mask);
	}
	ior_assert_int_eq(ioregion_bridge_get_stats(b, false, MMIO_BASE + 0xff,
						    &st), 0);
	ior_assert_uint_eq(st.reads, 8);
	ior_assert_uint_eq(st.writes, 8);
	ior_assert_uint_eq(st.posted_writes, 0);
	ior_assert_uint_eq(st.errors, 0);
	ior_assert_uint_eq(log_count, 0);
	b = ioregion_bridge_unref(b);
	ior_assert_ptr_null(b);
	peer_stop(&p);
	free(run);
}
END_TEST

START_TEST(test_bridge_pio_every_width_round_trips_through_peer)
{
	struct ioregion_desc d = mk_desc(0x3f8, 8, 2, IOREGION_F_PIO,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	static const unsigned sizes[] = { 1, 2, 4 };
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	for (unsigned i = 0; i < 3; i++) {
		unsigned sz = sizes[i];
		uint64_t v = 0xa1b2c3d4ull >> (8 * (4 - sz));
		uint8_t *data = io_exit(run, 0x3fc, sz, 1, true);

		le_store(data, sz, v);
		ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
		data = io_exit(run, 0x3fc, sz, 1, false);
		memset(data, 0, 8);
		ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
		ior_assert_uint_eq(le_load(data, sz), v);
	}
	/* 8-byte PIO via the scripted API: the wire allows it */
	{
		uint64_t v = 0x0102030405060708ull, got = 0;

		ior_assert_int_eq(ioregion_bridge_access(b, true, 0x3f8, true,
							 8, &v), 1);
		ior_assert_int_eq(ioregion_bridge_access(b, true, 0x3f8, false,
							 8, &got), 1);
		ior_assert_uint_eq(got, v);
	}
	ior_assert_uint_eq(log_count, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

/* A 4-byte MMIO write of 0x12345678 at offset 4 with a response, v3 table:
 * byte 1 = size exponent 2 | resp 0x10. */
static const uint8_t golden_v3_write4[32] = {
	0x01, 0x12, 0, 0, 0, 0, 0, 0,
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	0x04, 0, 0, 0, 0, 0, 0, 0,
	0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0,
};

/* A 2-byte PIO read at port 0x3fa of a region at 0x3f8, user_data 7. */
static const uint8_t golden_v3_pio_read2[32] = {
	0x00, 0x11, 0, 0, 0, 0, 0, 0,
	0x07, 0, 0, 0, 0, 0, 0, 0,
	0x02, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};

START_TEST(test_bridge_mmio_write4_sends_golden_v3_bytes)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100,
					 0x1122334455667788ull, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	mmio_exit(run, MMIO_BASE + 4, 4, true, 0x12345678);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
	ior_assert_uint_eq(peer_wait(&p, 1), 1);
	ior_assert_mem_eq(p.cmds[0], golden_v3_write4, 32);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

START_TEST(test_bridge_pio_read2_sends_golden_v3_bytes_and_fills_run)
{
	struct ioregion_desc d = mk_desc(0x3f8, 8, 7, IOREGION_F_PIO,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	struct peer p;
	uint8_t *data;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	/* the peer's register at offset 2 */
	{
		uint64_t v = 0xbeef;

		ior_assert_int_eq(ioregion_bridge_access(b, true, 0x3fa, true,
							 2, &v), 1);
	}
	data = io_exit(run, 0x3fa, 2, 1, false);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
	ior_assert_uint_eq(peer_wait(&p, 2), 2);
	ior_assert_mem_eq(p.cmds[1], golden_v3_pio_read2, 32);
	ior_assert_uint_eq(data[0], 0xef);
	ior_assert_uint_eq(data[1], 0xbe);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

/* info dialect: an 8-byte write with resp starts 71 00 00 00; a 2-byte
 * read starts 50 00 00 00 (DESIGN section 3). */
static const uint8_t golden_info_write8[32] = {
	0x71, 0, 0, 0, 0, 0, 0, 0,
	0x05, 0, 0, 0, 0, 0, 0, 0,
	0x08, 0, 0, 0, 0, 0, 0, 0,
	0x0d, 0xf0, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde,
};

static const uint8_t golden_info_read2[32] = {
	0x50, 0, 0, 0, 0, 0, 0, 0,
	0x05, 0, 0, 0, 0, 0, 0, 0,
	0x08, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};

START_TEST(test_bridge_info_dialect_sends_info_word)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 5, 0,
					 IOREGION_WIRE_INFO);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0xdeadbeefcafef00dull, got = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 8, true,
						 8, &v), 1);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 8,
						 false, 2, &got), 1);
	ior_assert_uint_eq(got, 0xf00d);
	ior_assert_uint_eq(peer_wait(&p, 2), 2);
	ior_assert_mem_eq(p.cmds[0], golden_info_write8, 32);
	ior_assert_mem_eq(p.cmds[1], golden_info_read2, 32);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_posted_write_does_not_wait_for_response)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 3,
					 IOREGION_F_POSTED_WRITES,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_bridge_stats st;
	uint64_t v = 0xab, t0;
	struct peer p;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 2000), 0);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SILENT);
	t0 = ms_now();
	for (int i = 0; i < 3; i++)
		ior_assert_int_eq(ioregion_bridge_access(b, false,
				MMIO_BASE + (uint64_t)i, true, 1, &v), 1);
	ior_assert(ms_now() - t0 < 1000);
	ior_assert_uint_eq(peer_wait(&p, 3), 3);
	/* byte 1: size exponent 0, resp bit clear */
	ior_assert_uint_eq(p.cmds[0][0], 1);
	ior_assert_uint_eq(p.cmds[0][1], 0x00);
	ior_assert_uint_eq(p.cmds[2][16], 2);	/* offsets in order */
	ior_assert_int_eq(ioregion_bridge_get_stats(b, false, MMIO_BASE, &st),
			  0);
	ior_assert_uint_eq(st.posted_writes, 3);
	ior_assert_uint_eq(st.writes, 0);
	ior_assert_uint_eq(log_count, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_doorbell_sends_one_byte_write_of_zero)
{
	struct ioregion_desc d = mk_desc(0x20000000, 0, 9,
					 IOREGION_F_POSTED_WRITES,
					 IOREGION_WIRE_V3);
	static const uint8_t want[32] = {
		0x01, 0x00, 0, 0, 0, 0, 0, 0,
		0x09, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	uint64_t v = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SILENT);
	mmio_exit(run, 0x20000000, 4, true, 0xdeadbeef);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
	ior_assert_uint_eq(peer_wait(&p, 1), 1);
	ior_assert_mem_eq(p.cmds[0], want, 32);
	/* a read there, or a write next to it, is not the doorbell's */
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x20000000, false,
						 4, &v), 0);
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x20000001, true,
						 1, &v), 0);
	/* At the last address its end would wrap to 0: refused, not added
	 * as a doorbell that no write can reach. */
	d.addr = UINT64_MAX;
	ior_assert_errno(ioregion_bridge_add(b, &d, p.fd), -EINVAL);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

/* ---- string PIO ---------------------------------------------------------------- */

START_TEST(test_bridge_pio_string_out_sends_one_command_per_element)
{
	struct ioregion_desc d = mk_desc(0x3f8, 8, 1, IOREGION_F_PIO,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	struct peer p;
	uint8_t *data;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	data = io_exit(run, 0x3f8, 1, 5, true);
	memcpy(data, "hello", 5);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
	ior_assert_uint_eq(peer_wait(&p, 5), 5);
	for (unsigned i = 0; i < 5; i++) {
		ior_assert_uint_eq(p.cmds[i][0], 1);		/* write */
		ior_assert_uint_eq(p.cmds[i][1], 0x10);		/* 1 byte, resp */
		ior_assert_uint_eq(le_load(p.cmds[i] + 16, 8), 0);
		ior_assert_uint_eq(le_load(p.cmds[i] + 24, 8),
				   (uint8_t)"hello"[i]);
	}
	/* 16-bit elements */
	data = io_exit(run, 0x3fa, 2, 3, true);
	le_store(data, 2, 0x1111);
	le_store(data + 2, 2, 0x2222);
	le_store(data + 4, 2, 0x3333);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
	ior_assert_uint_eq(peer_wait(&p, 8), 8);
	for (unsigned i = 0; i < 3; i++) {
		ior_assert_uint_eq(p.cmds[5 + i][1], 0x11);
		ior_assert_uint_eq(le_load(p.cmds[5 + i] + 16, 8), 2);
		ior_assert_uint_eq(le_load(p.cmds[5 + i] + 24, 8),
				   0x1111 * (i + 1));
	}
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

START_TEST(test_bridge_pio_string_in_fills_each_element_in_order)
{
	struct ioregion_desc d = mk_desc(0x60, 4, 1, IOREGION_F_PIO,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	uint64_t v = 0x100;
	struct peer p;
	uint8_t *data;
	int fd;

	fd = peer_start(&p, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_ECHO);
	p.autoinc = true;	/* a read returns the value, then adds 1 */
	ior_assert_int_eq(ioregion_bridge_add(b, &d, fd), 0);
	close(fd);
	peer_run(&p);
	ior_assert_int_eq(ioregion_bridge_access(b, true, 0x62, true, 2, &v),
			  1);
	data = io_exit(run, 0x62, 2, 4, false);
	memset(data, 0, 8);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 1);
	for (unsigned i = 0; i < 4; i++)
		ior_assert_uint_eq(le_load(data + 2 * i, 2), 0x100 + i);
	ior_assert_uint_eq(peer_wait(&p, 5), 5);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

/* ---- routing ---------------------------------------------------------------------- */

START_TEST(test_bridge_not_ours_returns_0)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	uint64_t v = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	run->exit_reason = KVM_EXIT_HLT;
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 0);
	mmio_exit(run, MMIO_BASE - 1, 1, false, 0);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 0);
	mmio_exit(run, MMIO_BASE + 0x100, 1, true, 0);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 0);
	/* straddles the end */
	mmio_exit(run, MMIO_BASE + 0xfe, 4, false, 0);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 0);
	/* same number, other space */
	io_exit(run, (uint16_t)MMIO_BASE, 1, 1, true);
	ior_assert_int_eq(ioregion_bridge_handle_exit(b, run), 0);
	ior_assert_int_eq(ioregion_bridge_access(b, true, MMIO_BASE, false, 1,
						 &v), 0);
	ior_assert_uint_eq(p.ncmds, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

START_TEST(test_bridge_lookup_picks_the_right_region_among_many)
{
	struct ioregion_bridge *b = new_bridge();
	struct peer p[4];
	uint64_t v;

	/* added out of order; all echo peers with distinct user_data */
	static const uint64_t bases[] = { 0x3000, 0x1000, 0x4000, 0x2000 };

	for (unsigned i = 0; i < 4; i++) {
		struct ioregion_desc d = mk_desc(bases[i], 0x1000, 100 + i, 0,
						 IOREGION_WIRE_V3);

		add_with_peer(b, &d, &p[i], SOCK_SEQPACKET, PEER_ECHO);
	}
	for (unsigned i = 0; i < 4; i++) {
		v = 0;
		ior_assert_int_eq(ioregion_bridge_access(b, false,
				bases[i] + 0xff8, false, 8, &v), 1);
		ior_assert_uint_eq(peer_wait(&p[i], 1), 1);
		ior_assert_uint_eq(le_load(p[i].cmds[0] + 8, 8), 100 + i);
		ior_assert_uint_eq(le_load(p[i].cmds[0] + 16, 8), 0xff8);
	}
	ioregion_bridge_unref(b);
	for (unsigned i = 0; i < 4; i++)
		peer_stop(&p[i]);
}
END_TEST

/* ---- failures ------------------------------------------------------------------------ */

START_TEST(test_bridge_read_timeout_returns_etimedout)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	struct ioregion_bridge_stats st;
	uint64_t t0, dt;
	struct peer p;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 50), 0);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SILENT);
	mmio_exit(run, MMIO_BASE, 4, false, 0);
	t0 = ms_now();
	ior_assert_errno(ioregion_bridge_handle_exit(b, run), -ETIMEDOUT);
	dt = ms_now() - t0;
	ior_assert(dt >= 50 && dt < 500);
	ior_assert_uint_eq(le_load(run->mmio.data, 4), 0xffffffffu);
	ior_assert_int_gt(log_count, 0);
	ior_assert_int_eq(ioregion_bridge_get_stats(b, false, MMIO_BASE, &st),
			  0);
	ior_assert_uint_eq(st.errors, 1);
	ior_assert_uint_eq(st.reads, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

START_TEST(test_bridge_failed_port_returns_enotconn_until_replace_fd)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0, t0;
	struct peer p, q;
	int fd;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 300), 0);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SILENT);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 8,
						&v), -ETIMEDOUT);
	ior_assert_uint_eq(v, ~0ull);
	t0 = ms_now();
	v = 5;
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, true, 8,
						&v), -ENOTCONN);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 2,
						&v), -ENOTCONN);
	ior_assert_uint_eq(v, 0xffff);
	ior_assert(ms_now() - t0 < 300);	/* no waiting */
	ior_assert_uint_eq(peer_wait(&p, 1), 1);	/* nothing more sent */

	fd = peer_start(&q, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_ECHO);
	ior_assert_int_eq(ioregion_bridge_replace_fd(b, &d, fd), 0);
	close(fd);
	peer_run(&q);
	/* the old peer's fd was the only user: closed, the peer sees EOF */
	peer_stop(&p);
	v = 77;
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, true, 8,
						 &v), 1);
	v = 0;
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, false, 8,
						 &v), 1);
	ior_assert_uint_eq(v, 77);
	ioregion_bridge_unref(b);
	peer_stop(&q);
}
END_TEST

START_TEST(test_bridge_regions_on_one_socket_share_lock_and_failure)
{
	struct ioregion_desc d1 = mk_desc(MMIO_BASE, 0x100, 1, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_desc d2 = mk_desc(0x80, 4, 2, IOREGION_F_PIO,
					  IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;
	struct peer p;
	int fd, fd2;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 30), 0);
	fd = peer_start(&p, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_SILENT);
	fd2 = dup(fd);	/* another fd, the same open file */
	ior_assert_int_eq(ioregion_bridge_add(b, &d1, fd), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d2, fd2), 0);
	close(fd);
	close(fd2);
	peer_run(&p);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 1,
						&v), -ETIMEDOUT);
	/* a late answer on that socket would be taken for this one */
	ior_assert_errno(ioregion_bridge_access(b, true, 0x80, false, 1, &v),
			 -ENOTCONN);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_eof_returns_econnreset)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0, t0;
	struct peer p;

	/* the device hangs up while the access waits */
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_CLOSE);
	t0 = ms_now();
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ECONNRESET);
	ior_assert(ms_now() - t0 < 500);
	ior_assert_uint_eq(v, 0xffffffffu);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_send_to_closed_peer_returns_econnreset)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1,
					 IOREGION_F_POSTED_WRITES,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 1;
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	/* no SIGPIPE: the process survives and gets an error */
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, true, 1,
						&v), -ECONNRESET);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_seqpacket_short_response_returns_ebadmsg)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SHORT);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -EBADMSG);
	ior_assert_uint_eq(v, 0xffffffffu);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_seqpacket_long_response_returns_ebadmsg)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_LONG);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 1,
						&v), -EBADMSG);
	ior_assert_uint_eq(v, 0xff);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_stream_response_in_pieces_is_reassembled)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0x55aa55aa, got = 0;
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_STREAM, PEER_PIECES);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 8, true,
						 4, &v), 1);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 8,
						 false, 4, &got), 1);
	ior_assert_uint_eq(got, v);
	ior_assert_uint_eq(log_count, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_stream_eof_mid_response_returns_econnreset)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;
	struct peer p;

	/* half a response to the command, then a hang-up */
	add_with_peer(b, &d, &p, SOCK_STREAM, PEER_HALF_CLOSE);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ECONNRESET);
	ior_assert_uint_eq(v, 0xffffffffull);
	ior_assert_uint_eq(peer_wait(&p, 1), 1);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_data_waiting_before_read_returns_ebadmsg_unsent)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint8_t cmd[32], early[32] = { 0x42 };
	uint64_t v = 0;
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	close(sv[0]);
	/* an answer nobody asked for: not taken for the read's */
	ior_write_all(sv[1], early, sizeof(early));
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -EBADMSG);
	ior_assert_uint_eq(v, 0xffffffffull);
	ior_assert_uint_eq(log_count, 1);
	/* nothing was sent, and the fd is failed now */
	ior_assert(!ior_readable(sv[1], 0));
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	ior_assert_uint_eq(ior_read_timeout(sv[1], cmd, 32, 0), 0);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

/* Fill the socket (the bridge's dup shares O_NONBLOCK with our fd) so that
 * the bridge's send gets EAGAIN; the peer drains after a delay. */
static int
fill_socket(int fd)
{
	uint8_t junk[32];
	int n = 0;

	memset(junk, JUNK, sizeof(junk));
	while (send(fd, junk, sizeof(junk), MSG_DONTWAIT) == sizeof(junk))
		n++;
	ior_assert_int_eq(errno, EAGAIN);
	return n;
}

START_TEST(test_bridge_nonblocking_full_socket_waits_for_pollout)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0, t0, dt;
	struct peer p;
	int fd;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 2000), 0);
	fd = peer_start(&p, SOCK_SEQPACKET, IOREGION_WIRE_V3, PEER_ECHO);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, fd), 0);
	/* behind the bridge's back */
	ior_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	ior_assert_int_gt(fill_socket(fd), 0);
	close(fd);
	p.start_delay_ms = 40;
	peer_run(&p);
	t0 = ms_now();
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						 &v), 1);
	dt = ms_now() - t0;
	ior_assert(dt >= 20 && dt < 2000);
	ior_assert_uint_eq(v, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

START_TEST(test_bridge_nonblocking_full_socket_times_out)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1,
					 IOREGION_F_POSTED_WRITES,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0, t0, dt;
	int sv[2];

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 50), 0);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK,
				     0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	fill_socket(sv[0]);
	t0 = ms_now();
	/* even a posted write is bounded: nobody drains the socket */
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, true, 4,
						&v), -ETIMEDOUT);
	dt = ms_now() - t0;
	ior_assert(dt >= 50 && dt < 500);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_odd_mmio_length_returns_eopnotsupp)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	mmio_exit(run, MMIO_BASE, 3, false, 0);
	ior_assert_errno(ioregion_bridge_handle_exit(b, run), -EOPNOTSUPP);
	ior_assert_uint_eq(le_load(run->mmio.data, 3), 0xffffff);
	ior_assert_uint_eq(p.ncmds, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
}
END_TEST

/* ---- threads --------------------------------------------------------------------------- */

struct hammer {
	struct ioregion_bridge *b;
	uint64_t off;
	unsigned iters;
	unsigned bad;
	int rc;
};

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;

	for (unsigned i = 0; i < h->iters; i++) {
		uint64_t v = (h->off << 32) | i, got = 0;
		int rc;

		rc = ioregion_bridge_access(h->b, false, MMIO_BASE + h->off,
					    true, 8, &v);
		if (rc != 1) {
			h->rc = rc;
			break;
		}
		rc = ioregion_bridge_access(h->b, false, MMIO_BASE + h->off,
					    false, 8, &got);
		if (rc != 1) {
			h->rc = rc;
			break;
		}
		if (got != v)
			h->bad++;
	}
	return NULL;
}

START_TEST(test_bridge_two_threads_share_one_region)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct hammer h[2] = {
		{ .b = b, .off = 0x10, .iters = 2000, .rc = 1 },
		{ .b = b, .off = 0x40, .iters = 2000, .rc = 1 },
	};
	struct ioregion_bridge_stats st;
	pthread_t t[2];
	struct peer p;

	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	for (int i = 0; i < 2; i++)
		ior_assert_int_eq(pthread_create(&t[i], NULL, hammer_main,
						 &h[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		ior_assert_int_eq(h[i].rc, 1);
		ior_assert_uint_eq(h[i].bad, 0);
	}
	ior_assert_int_eq(ioregion_bridge_get_stats(b, false, MMIO_BASE, &st),
			  0);
	ior_assert_uint_eq(st.reads, 4000);
	ior_assert_uint_eq(st.writes, 4000);
	ior_assert_uint_eq(st.errors, 0);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

/* ---- table management ------------------------------------------------------------------- */

START_TEST(test_bridge_add_overlapping_returns_eexist)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_desc o;
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	ior_assert_errno(ioregion_bridge_add(b, &d, sv[0]), -EEXIST);
	o = mk_desc(0x0f80, 0x81, 1, 0, IOREGION_WIRE_V3);	/* head */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x10ff, 0x10, 1, 0, IOREGION_WIRE_V3);	/* tail */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x1010, 0x10, 1, 0, IOREGION_WIRE_V3);	/* inside */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x0, 0x10000, 1, 0, IOREGION_WIRE_V3);	/* around */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x1080, 0, 1, IOREGION_F_POSTED_WRITES,
		    IOREGION_WIRE_V3);				/* doorbell in */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	/* adjacent on both sides, and the same range in PIO space: fine */
	o = mk_desc(0x0f00, 0x100, 1, 0, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_bridge_add(b, &o, sv[0]), 0);
	o = mk_desc(0x1100, 0, 1, IOREGION_F_POSTED_WRITES, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_bridge_add(b, &o, sv[0]), 0);
	o = mk_desc(0x1100, 1, 1, 0, IOREGION_WIRE_V3);	/* on doorbell */
	ior_assert_errno(ioregion_bridge_add(b, &o, sv[0]), -EEXIST);
	o = mk_desc(0x1000, 0x100, 1, IOREGION_F_PIO, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_bridge_add(b, &o, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_add_invalid_desc_returns_einval)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc bad[] = {
		mk_desc(0x1000, 0, 1, 0, IOREGION_WIRE_V3),
		mk_desc(0x1000, 1, 1, 0x8, IOREGION_WIRE_V3),
		mk_desc(0x1000, 1, 1, 0, 0),
		mk_desc(~0ull - 1, 4, 1, 0, IOREGION_WIRE_V3),
		mk_desc(0xfff0, 0x20, 1, IOREGION_F_PIO, IOREGION_WIRE_V3),
	};
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ior_assert_errno(ioregion_bridge_add(b, &bad[i], sv[0]),
				 -EINVAL);
	ior_assert_errno(ioregion_bridge_add(b, NULL, sv[0]), -EINVAL);
	ior_assert_errno(ioregion_bridge_add(NULL, &bad[0], sv[0]), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_add_bad_fd_returns_ebadf)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	int sv[2];

	ior_assert_errno(ioregion_bridge_add(b, &d, -1), -EBADF);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	close(sv[0]);
	close(sv[1]);
	ior_assert_errno(ioregion_bridge_add(b, &d, sv[0]), -EBADF);
	/* nothing was added */
	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_remove_absent_returns_enoent)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_desc o = d;
	uint64_t v = 0;
	struct peer p;

	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_ECHO);
	o.size = 0x80;
	ior_assert_errno(ioregion_bridge_remove(b, &o), -ENOENT);
	o = d;
	o.flags = IOREGION_F_PIO;
	ior_assert_errno(ioregion_bridge_remove(b, &o), -ENOENT);
	ior_assert_int_eq(ioregion_bridge_remove(b, &d), 0);
	ior_assert_errno(ioregion_bridge_remove(b, &d), -ENOENT);
	/* gone: not ours, and its fd was closed (the peer saw EOF) */
	ior_assert_int_eq(ioregion_bridge_access(b, false, 0x1000, false, 4,
						 &v), 0);
	peer_stop(&p);
	ior_assert_errno(ioregion_bridge_get_stats(b, false, 0x1000,
			 &(struct ioregion_bridge_stats){ 0 }), -ENOENT);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_replace_fd_errors)
{
	struct ioregion_bridge *b = new_bridge();
	struct ioregion_desc d = mk_desc(0x1000, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_errno(ioregion_bridge_replace_fd(b, &d, sv[0]), -ENOENT);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	ior_assert_errno(ioregion_bridge_replace_fd(b, &d, -1), -EBADF);
	close(sv[1]);
	ior_assert_errno(ioregion_bridge_replace_fd(b, &d, sv[1]), -EBADF);
	close(sv[0]);
	ioregion_bridge_unref(b);
}
END_TEST

START_TEST(test_bridge_bad_arguments_return_einval)
{
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;

	ior_assert_errno(ioregion_bridge_new(NULL), -EINVAL);
	ior_assert_errno(ioregion_bridge_set_timeout(b, 0), -EINVAL);
	ior_assert_errno(ioregion_bridge_access(b, false, 0, false, 3, &v),
			 -EINVAL);
	ior_assert_errno(ioregion_bridge_access(b, false, 0, false, 4, NULL),
			 -EINVAL);
	ior_assert_errno(ioregion_bridge_handle_exit(b, NULL), -EINVAL);
	ior_assert_errno(ioregion_bridge_handle_exit(NULL, NULL), -EINVAL);
	ior_assert_ptr_null(ioregion_bridge_unref(NULL));
	/* ref/unref: the last unref frees */
	ior_assert(ioregion_bridge_ref(b) == b);
	ior_assert_ptr_null(ioregion_bridge_unref(b));
	ior_assert_ptr_null(ioregion_bridge_unref(b));
}
END_TEST

static Suite *
bridge_suite(void)
{
	Suite *s = suite_create("bridge");

	ior_add_test(s, test_bridge_mmio_every_width_round_trips_through_peer);
	ior_add_test(s, test_bridge_pio_every_width_round_trips_through_peer);
	ior_add_test(s, test_bridge_mmio_write4_sends_golden_v3_bytes);
	ior_add_test(s, test_bridge_pio_read2_sends_golden_v3_bytes_and_fills_run);
	ior_add_test(s, test_bridge_info_dialect_sends_info_word);
	ior_add_test(s, test_bridge_posted_write_does_not_wait_for_response);
	ior_add_test(s, test_bridge_doorbell_sends_one_byte_write_of_zero);
	ior_add_test(s, test_bridge_pio_string_out_sends_one_command_per_element);
	ior_add_test(s, test_bridge_pio_string_in_fills_each_element_in_order);
	ior_add_test(s, test_bridge_not_ours_returns_0);
	ior_add_test(s, test_bridge_lookup_picks_the_right_region_among_many);
	ior_add_test(s, test_bridge_read_timeout_returns_etimedout);
	ior_add_test(s, test_bridge_failed_port_returns_enotconn_until_replace_fd);
	ior_add_test(s, test_bridge_regions_on_one_socket_share_lock_and_failure);
	ior_add_test(s, test_bridge_eof_returns_econnreset);
	ior_add_test(s, test_bridge_send_to_closed_peer_returns_econnreset);
	ior_add_test(s, test_bridge_seqpacket_short_response_returns_ebadmsg);
	ior_add_test(s, test_bridge_seqpacket_long_response_returns_ebadmsg);
	ior_add_test(s, test_bridge_stream_response_in_pieces_is_reassembled);
	ior_add_test(s, test_bridge_stream_eof_mid_response_returns_econnreset);
	ior_add_test(s, test_bridge_data_waiting_before_read_returns_ebadmsg_unsent);
	ior_add_test(s, test_bridge_nonblocking_full_socket_waits_for_pollout);
	ior_add_test(s, test_bridge_nonblocking_full_socket_times_out);
	ior_add_test(s, test_bridge_odd_mmio_length_returns_eopnotsupp);
	ior_add_test_timeout(s, test_bridge_two_threads_share_one_region, 60);
	ior_add_test(s, test_bridge_add_overlapping_returns_eexist);
	ior_add_test(s, test_bridge_add_invalid_desc_returns_einval);
	ior_add_test(s, test_bridge_add_bad_fd_returns_ebadf);
	ior_add_test(s, test_bridge_remove_absent_returns_enoent);
	ior_add_test(s, test_bridge_replace_fd_errors);
	ior_add_test(s, test_bridge_bad_arguments_return_einval);
	return s;
}

IOR_TEST_MAIN(bridge_suite)
