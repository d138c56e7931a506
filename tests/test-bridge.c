/* SPDX-License-Identifier: MIT */
/*
 * The bridge's access path against a real peer (bridge-peer.h): every width
 * in both spaces, golden bytes of both dialects, posted writes, doorbells,
 * string PIO, routing, and two vCPU threads on one region.
 */
#include "bridge-peer.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

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
 * read starts 50 00 00 00 (docs/wire-protocol.md). */
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
	ior_add_test(s, test_bridge_odd_mmio_length_returns_eopnotsupp);
	ior_add_test_timeout(s, test_bridge_two_threads_share_one_region, 60);
	ior_add_test(s, test_bridge_bad_arguments_return_einval);
	return s;
}

IOR_TEST_MAIN(bridge_suite)
