/* SPDX-License-Identifier: MIT */
/*
 * Device server: dispatch, batching, channel lifecycle, callbacks, and
 * every class of bad input from the peer (fixture: server-fixture.h).
 */
#include "server-fixture.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- dispatch --------------------------------------------------------- */

START_TEST(test_server_read_every_width_returns_low_bytes)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	for (unsigned i = 0; i < 16; i++)
		dev.mem[i] = (uint8_t)(0xa0 + i);
	send_cmd(peer, 0, 0, true, ud(r), 1, 0);
	ior_assert_uint_eq(response(peer), 0xa1);
	send_cmd(peer, 0, 1, true, ud(r), 2, 0);
	ior_assert_uint_eq(response(peer), 0xa3a2);
	send_cmd(peer, 0, 2, true, ud(r), 4, 0);
	ior_assert_uint_eq(response(peer), 0xa7a6a5a4);
	send_cmd(peer, 0, 3, true, ud(r), 8, 0);
	ior_assert_uint_eq(response(peer), 0xafaeadacabaaa9a8ull);
	ior_assert_uint_eq(dev.reads, 4);
	ior_assert_uint_eq(dev.last_size, 8);
}
END_TEST

START_TEST(test_server_read_without_resp_bit_is_still_answered)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	dev.mem[0] = 0x42;
	send_cmd(peer, 0, 0, false, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 0x42);
}
END_TEST

START_TEST(test_server_write_with_resp_applied_then_answered)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_region_stats st;

	send_cmd(peer, 1, 2, true, ud(r), 0x10, 0x11223344);
	ior_assert_uint_eq(response(peer), 0);
	ior_assert_uint_eq(dev.writes, 1);
	ior_assert_uint_eq(dev.last_val, 0x11223344);
	ior_assert_uint_eq(dev.last_off, 0x10);
	ior_assert_int_eq(ioregion_region_get_stats(r, &st), 0);
	ior_assert_uint_eq(st.writes, 1);
	ior_assert_uint_eq(st.posted_writes, 0);
}
END_TEST

START_TEST(test_server_posted_writes_applied_in_order_never_answered)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100,
					       IOREGION_F_POSTED_WRITES, 0);
	struct ioregion_region_stats st;

	for (unsigned i = 0; i < 10; i++)
		send_cmd(peer, 1, 0, false, ud(r), i, i + 1);
	no_response(peer);
	for (unsigned i = 0; i < 10; i++)
		ior_assert_uint_eq(dev.mem[i], i + 1);
	ior_assert_int_eq(ioregion_region_get_stats(r, &st), 0);
	ior_assert_uint_eq(st.posted_writes, 10);
	/* A read behind them sees them all. */
	send_cmd(peer, 0, 0, true, ud(r), 9, 0);
	ior_assert_uint_eq(response(peer), 10);
}
END_TEST

START_TEST(test_server_info_dialect_read_and_write)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r;
	uint8_t buf[32] = { 0 };
	uint64_t user, off = 4, data = 0xbeef;
	int p2;

	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_INFO, &c2), 0);
	ior_assert_int_eq(ioregion_channel_get_dialect(c2), IOREGION_WIRE_INFO);
	p2 = ioregion_channel_take_peer_fd(c2);
	r = add_region(c2, 0x2000, 0x10, 0, 0);
	user = ud(r);
	buf[0] = 0x51;		/* write | 2 bytes << 4 | resp << 6 */
	memcpy(buf + 8, &user, 8);
	memcpy(buf + 16, &off, 8);
	memcpy(buf + 24, &data, 8);
	ior_write_all(p2, buf, 32);
	ior_assert_uint_eq(response(p2), 0);
	buf[0] = 0x50;		/* read, 2 bytes, resp */
	ior_write_all(p2, buf, 32);
	ior_assert_uint_eq(response(p2), 0xbeef);
	close(p2);
}
END_TEST

/* ---- bad input -------------------------------------------------------- */

START_TEST(test_server_unknown_command_answers_ones_when_resp)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_channel_stats cs;

	expect_errors = true;
	send_cmd(peer, 2, 2, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 0x7f, 2, false, ud(r), 0, 0);
	no_response(peer);
	ior_assert_uint_eq(dev.reads + dev.writes, 0);
	ioregion_channel_get_stats(ch, &cs);
	ior_assert_uint_eq(cs.malformed, 2);
	ior_assert_int_ge(log_errors, 2);
}
END_TEST

START_TEST(test_server_reserved_bits_v3_answers_ones)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	uint8_t buf[32];

	expect_errors = true;
	v3_cmd(buf, 0, 2, true, ud(r), 0, 0);
	buf[1] |= 0x80;
	ior_write_all(peer, buf, 32);
	ior_assert_uint_eq(response(peer), ONES);
	v3_cmd(buf, 1, 2, false, ud(r), 0, 5);
	buf[1] |= 0x20;		/* posted write with a reserved bit: dropped */
	ior_write_all(peer, buf, 32);
	no_response(peer);
	ior_assert_uint_eq(dev.reads + dev.writes, 0);
}
END_TEST

START_TEST(test_server_reserved_info_bits_answers_ones)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r;
	uint8_t buf[32] = { 0 };
	uint32_t info = 0x50 | 1u << 20;	/* read, 2 bytes, resp, bit 20 */
	uint64_t user;
	int p2;

	expect_errors = true;
	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_INFO, &c2), 0);
	p2 = ioregion_channel_take_peer_fd(c2);
	r = add_region(c2, 0x2000, 0x10, 0, 0);
	user = ud(r);
	memcpy(buf, &info, 4);
	memcpy(buf + 8, &user, 8);
	ior_write_all(p2, buf, 32);
	ior_assert_uint_eq(response(p2), ONES);
	ior_assert_uint_eq(dev.reads, 0);
	close(p2);
}
END_TEST

START_TEST(test_server_v3_size_exponent_above_3_answers_ones)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	expect_errors = true;
	send_cmd(peer, 0, 4, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert_uint_eq(dev.reads, 0);
}
END_TEST

START_TEST(test_server_width_not_allowed_answers_ones_and_drops_write)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0,
					       IOREGION_WIDTH_4);
	struct ioregion_region_stats st;

	expect_errors = true;
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);	/* 1 byte: refused */
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 1, 3, true, ud(r), 0, 7);	/* 8 bytes: refused */
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert_uint_eq(dev.reads + dev.writes, 0);
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* 4 bytes: fine */
	ior_assert_uint_eq(response(peer), 0);
	ioregion_region_get_stats(r, &st);
	ior_assert_uint_eq(st.errors, 2);
	ior_assert_uint_eq(st.reads, 1);
}
END_TEST

START_TEST(test_server_offset_beyond_region_answers_ones)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_region_stats st;

	expect_errors = true;
	send_cmd(peer, 0, 0, true, ud(r), 0x100, 0);		/* at end */
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 0, 2, true, ud(r), 0xfe, 0);		/* straddles end */
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 0, 3, true, ud(r), UINT64_MAX - 3, 0);	/* u64 wrap */
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 1, 2, false, ud(r), UINT64_MAX, 1);	/* posted: dropped */
	no_response(peer);
	ior_assert_uint_eq(dev.reads + dev.writes, 0);
	send_cmd(peer, 0, 0, true, ud(r), 0xff, 0);		/* last byte ok */
	ior_assert_uint_eq(response(peer), 0);
	ioregion_region_get_stats(r, &st);
	ior_assert_uint_eq(st.errors, 4);
}
END_TEST

START_TEST(test_server_unknown_user_data_answers_ones)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_channel_stats cs;
	uint64_t stale = ud(r);

	expect_errors = true;
	send_cmd(peer, 0, 0, true, 0xdeadbeef00000000ull, 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 0, 0, true, stale + 1, 0, 0);	/* next slot, empty */
	ior_assert_uint_eq(response(peer), ONES);
	ioregion_region_destroy(r);
	/* A new region may take the same slot: the stale user_data misses. */
	r = add_region(ch, 0x1000, 0x100, 0, 0);
	ior_assert(ud(r) != stale);
	send_cmd(peer, 0, 0, true, stale, 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 1, 0, false, stale, 0, 0);	/* posted: dropped */
	no_response(peer);
	ior_assert_uint_eq(dev.reads + dev.writes, 0);
	ioregion_channel_get_stats(ch, &cs);
	ior_assert_uint_eq(cs.unknown_region, 4);
}
END_TEST

START_TEST(test_server_seqpacket_short_and_long_packets_answered_if_read)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_channel_stats cs;
	uint8_t buf[64];

	expect_errors = true;
	v3_cmd(buf, 0, 2, true, ud(r), 0, 0);
	ior_write_all(peer, buf, 16);			/* short read */
	ior_assert_uint_eq(response(peer), ONES);
	memset(buf + 32, 0, 32);
	ior_write_all(peer, buf, 33);			/* long read */
	ior_assert_uint_eq(response(peer), ONES);
	ior_write_all(peer, buf, 64);			/* longer than PKT_BUF */
	ior_assert_uint_eq(response(peer), ONES);
	v3_cmd(buf, 1, 0, false, ud(r), 0, 1);
	ior_write_all(peer, buf, 31);			/* short posted write */
	no_response(peer);
	ior_assert_uint_eq(dev.reads + dev.writes, 0);
	ioregion_channel_get_stats(ch, &cs);
	ior_assert_uint_eq(cs.malformed, 4);
	/* The channel keeps working. */
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 0);
}
END_TEST


START_TEST(test_server_stream_command_split_byte_by_byte)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r;
	uint8_t buf[32];
	int p2;

	stream_channel(SOCK_STREAM, &c2, &p2);
	r = add_region(c2, 0x1000, 0x100, 0, 0);
	dev.mem[3] = 0x77;
	v3_cmd(buf, 0, 0, true, ud(r), 3, 0);
	for (int i = 0; i < 32; i++) {
		ior_write_all(p2, buf + i, 1);
		pump();
		if (i < 31)
			ior_assert(!ior_readable(p2, 0));
	}
	ior_assert_uint_eq(response(p2), 0x77);
	ior_assert_uint_eq(dev.reads, 1);
	close(p2);
}
END_TEST

START_TEST(test_server_several_commands_in_one_read_all_answered_in_order)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r;
	struct ioregion_channel_stats cs;
	uint8_t buf[32 * 10];
	int p2;

	stream_channel(SOCK_STREAM, &c2, &p2);
	r = add_region(c2, 0x1000, 0x100, 0, 0);
	for (int i = 0; i < 10; i++)
		v3_cmd(buf + 32 * i, 0, 3, true, ud(r), 0xf8, 0);	/* counter */
	ior_write_all(p2, buf, sizeof(buf));
	pump();
	for (uint64_t i = 0; i < 10; i++)
		ior_assert_uint_eq(response(p2), i);
	ioregion_channel_get_stats(c2, &cs);
	ior_assert_uint_eq(cs.commands, 10);
	ior_assert_uint_eq(cs.batches, 1);	/* one read for all ten */
	close(p2);
}
END_TEST

START_TEST(test_server_seqpacket_batch_of_many_packets)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_channel_stats cs;

	for (int i = 0; i < 200; i++)
		send_cmd(peer, 0, 3, true, ud(r), 0xf8, 0);
	pump();
	for (uint64_t i = 0; i < 200; i++)
		ior_assert_uint_eq(response(peer), i);
	ioregion_channel_get_stats(ch, &cs);
	ior_assert_uint_eq(cs.commands, 200);
	ior_assert_int_le(cs.batches, 5);	/* 64 per recvmmsg */
}
END_TEST

static int close_calls, close_error;

static void
on_close(struct ioregion_channel *c, int error, void *data)
{
	close_calls++;
	close_error = error;
	if (data)
		ioregion_channel_destroy(c);
}

START_TEST(test_server_eof_mid_command_closes_channel_counts_malformed)
{
	struct ioregion_channel *c2;
	struct ioregion_channel_stats cs;
	uint8_t buf[32] = { 0 };
	int p2;

	expect_errors = true;
	close_calls = 0;
	stream_channel(SOCK_STREAM, &c2, &p2);
	add_region(c2, 0x1000, 0x100, 0, 0);
	ioregion_channel_set_close_handler(c2, on_close, NULL);
	ior_write_all(p2, buf, 20);
	close(p2);
	pump();
	ior_assert_int_eq(close_calls, 1);
	ior_assert_int_eq(close_error, 0);
	ior_assert_int_eq(ioregion_channel_is_open(c2), 0);
	ioregion_channel_get_stats(c2, &cs);
	ior_assert_uint_eq(cs.malformed, 1);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 1);
}
END_TEST

/* The peer sends commands, then shutdown(SHUT_WR): every command before
 * the EOF is answered (the peer still reads), then the channel closes. */
static void
half_close_case(int type)
{
	struct ioregion_channel *c2;
	struct ioregion_channel_stats cs;
	uint8_t buf[32];
	int p2;

	close_calls = 0;
	stream_channel(type, &c2, &p2);
	struct ioregion_region *r = add_region(c2, 0x1000, 0x100, 0, 0);
	ioregion_channel_set_close_handler(c2, on_close, NULL);
	for (int i = 0; i < 3; i++) {
		dev.mem[i] = (uint8_t)(0x31 + i);
		send_cmd(p2, 0, 0, true, ud(r), (uint64_t)i, 0);
	}
	ior_assert_int_eq(shutdown(p2, SHUT_WR), 0);
	pump();
	for (int i = 0; i < 3; i++)
		ior_assert_uint_eq(response(p2), 0x31 + i);
	ior_assert(ior_readable(p2, 1000));
	ior_assert_int_eq(read(p2, buf, sizeof(buf)), 0);	/* then EOF */
	ior_assert_int_eq(close_calls, 1);
	ior_assert_int_eq(close_error, 0);
	ior_assert_int_eq(ioregion_channel_get_stats(c2, &cs), 0);
	ior_assert_uint_eq(cs.commands, 3);
	ior_assert_uint_eq(cs.responses, 3);
	close(p2);
}

START_TEST(test_server_seqpacket_half_close_answers_commands_before_eof)
{
	half_close_case(SOCK_SEQPACKET);
}
END_TEST

START_TEST(test_server_stream_half_close_answers_commands_before_eof)
{
	half_close_case(SOCK_STREAM);
}
END_TEST

START_TEST(test_server_half_close_behind_deferred_read_answers_all_then_closes)
{
	struct ioregion_region *r = add_deferring();
	uint8_t buf[32];

	close_calls = 0;
	ioregion_channel_set_close_handler(ch, on_close, NULL);
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred */
	send_cmd(peer, 0, 2, true, ud(r), 4, 0);
	ior_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	no_response(peer);
	/* Still open: the deferred read and the one behind it are owed. */
	ior_assert_int_eq(ioregion_channel_is_open(ch), 1);
	ior_assert_int_eq(close_calls, 0);
	ior_assert_int_eq(ioregion_region_complete_read(r, 7), 0);
	ior_assert_uint_eq(response(peer), 7);
	ior_assert_uint_eq(response(peer), 4);
	ior_assert(ior_readable(peer, 1000));
	ior_assert_int_eq(read(peer, buf, sizeof(buf)), 0);
	ior_assert_int_eq(close_calls, 1);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 0);
}
END_TEST

START_TEST(test_server_eof_closes_one_channel_others_keep_running)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r, *r2;
	int p2;

	close_calls = 0;
	r = add_region(ch, 0x1000, 0x100, 0, 0);
	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_V3, &c2), 0);
	p2 = ioregion_channel_take_peer_fd(c2);
	r2 = add_region(c2, 0x1000, 0x100, 0, 0);	/* other channel: no overlap check */
	ioregion_channel_set_close_handler(c2, on_close, (void *)1); /* destroys */
	close(p2);
	pump();
	ior_assert_int_eq(close_calls, 1);
	ior_assert_int_eq(close_error, 0);
	(void)r2;
	dev.mem[0] = 9;
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 9);
	/* a region of a closed channel refuses completion */
	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_V3, &c2), 0);
	r2 = add_region(c2, 0, 8, 0, 0);
	close(ioregion_channel_take_peer_fd(c2));
	pump();
	ior_assert_int_eq(ioregion_channel_is_open(c2), 0);
	ior_assert_errno(ioregion_region_complete_read(r2, 1), -ENOTCONN);
	struct ioregion_region *r3;
	struct ioregion_region_config cfg = { .addr = 0x100, .size = 8 };
	ior_assert_errno(ioregion_region_new(c2, &cfg, &r3), -ENOTCONN);
}
END_TEST

START_TEST(test_server_peer_stops_reading_never_blocks_never_drops)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	uint8_t buf[32];
	unsigned sent = 0, got = 0;

	ior_assert_int_eq(fcntl(peer, F_SETFL, O_NONBLOCK), 0);
	/* Queue far more reads than the socket buffers hold, letting the
	 * server run between bursts, without ever reading an answer. */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 100; i++) {
			v3_cmd(buf, 0, 3, true, ud(r), 0xf8, 0);
			if (write(peer, buf, 32) != 32)
				break;
			sent++;
		}
		pump();		/* must return: never blocks */
	}
	/* more than the server's batch and the socket can hold at once */
	ior_assert_int_gt(sent, 256);
	/* Now drain: every answer arrives, in order. */
	while (got < sent) {
		ssize_t n;

		pump();
		n = read(peer, buf, 32);
		if (n < 0 && errno == EAGAIN) {
			ior_assert(ior_readable(peer, 1000) || (pump(), true));
			continue;
		}
		ior_assert_int_eq(n, 32);
		ior_assert_uint_eq(ioregion_wire_decode_resp(buf), got);
		got++;
	}
	pump();
	ior_assert_int_lt(read(peer, buf, 32), 0);	/* nothing extra */
	ior_assert_uint_eq(dev.counter, sent);
}
END_TEST

START_TEST(test_server_pipe_pair_channel)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r;
	int to_dev[2], from_dev[2];

	ior_assert_int_eq(pipe2(to_dev, O_CLOEXEC), 0);
	ior_assert_int_eq(pipe2(from_dev, O_CLOEXEC), 0);
	ior_assert_int_eq(ioregion_channel_new_from_fds(ctx, to_dev[0],
			  from_dev[1], IOREGION_WIRE_V3, &c2), 0);
	r = add_region(c2, 0x1000, 0x100, 0, 0);
	dev.mem[1] = 0x5a;
	send_cmd(to_dev[1], 0, 0, true, ud(r), 1, 0);
	ior_assert_uint_eq(response(from_dev[0]), 0x5a);
	close(to_dev[1]);
	close(from_dev[0]);
}
END_TEST

START_TEST(test_server_channel_from_bad_fds)
{
	struct ioregion_channel *c2;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int sv[2];

	ior_assert_errno(ioregion_channel_new_from_fds(ctx, fd, fd,
			 IOREGION_WIRE_V3, &c2), -ENOTSOCK);
	ior_assert_int_lt(fcntl(fd, F_GETFD), 0);	/* taken and closed */
	ior_assert_errno(ioregion_channel_new_from_fds(ctx, 1000, 1000,
			 IOREGION_WIRE_V3, &c2), -EBADF);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	ior_assert_errno(ioregion_channel_new_from_fds(ctx, sv[0], sv[0],
			 IOREGION_WIRE_V3, &c2), -EINVAL);
	close(sv[1]);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ior_assert_errno(ioregion_channel_new_from_fds(ctx, sv[0], sv[0], 0, &c2),
			 -EINVAL);
	close(sv[1]);
	ior_assert_errno(ioregion_channel_new(ctx, 1, &c2), -EINVAL);
	ior_assert_errno(ioregion_channel_new(NULL, IOREGION_WIRE_V3, &c2), -EINVAL);
	ior_assert_errno(ioregion_channel_take_peer_fd(ch), -ENOENT);
	ior_assert_errno(ioregion_channel_peer_fd(ch), -ENOENT);
}
END_TEST

/* ---- region registration --------------------------------------------- */

START_TEST(test_server_region_new_rejects_invalid_configs)
{
	struct ioregion_region *r;
	struct ioregion_region_config cfg = { .addr = 0x1000, .size = 0 };

	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EINVAL); /* size 0 */
	cfg = (struct ioregion_region_config){ .addr = UINT64_MAX - 4, .size = 8 };
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EINVAL); /* wraps */
	cfg = (struct ioregion_region_config){ .addr = 0, .size = 8, .flags = 1u << 5 };
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EINVAL); /* flags */
	cfg = (struct ioregion_region_config){ .addr = 0, .size = 8, .widths = 0x10 };
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EINVAL); /* widths */
	cfg = (struct ioregion_region_config){ .addr = 0, .size = 8, .reserved[2] = 1 };
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EINVAL);
	cfg = (struct ioregion_region_config){ .addr = 0xfffc, .size = 8,
					       .flags = IOREGION_F_PIO };
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EINVAL); /* > 0xffff */
	ior_assert_errno(ioregion_region_new(NULL, &cfg, &r), -EINVAL);
	ior_assert_errno(ioregion_region_new(ch, NULL, &r), -EINVAL);
	ior_assert_errno(ioregion_region_new(ch, &cfg, NULL), -EINVAL);
}
END_TEST

START_TEST(test_server_region_overlap_on_one_channel_eexist)
{
	struct ioregion_region *r;
	struct ioregion_region_config cfg = { .addr = 0x1000, .size = 0x100 };

	add_region(ch, 0x1000, 0x100, 0, 0);
	cfg.addr = 0x10ff;
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EEXIST);
	cfg.addr = 0xf01;
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EEXIST);
	cfg.addr = 0xf00;				/* adjacent: fine */
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	cfg.addr = 0x1000;				/* PIO space is separate */
	cfg.flags = IOREGION_F_PIO;
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	cfg = (struct ioregion_region_config){ .addr = 0x1080,
		.flags = IOREGION_F_POSTED_WRITES };	/* doorbell inside */
	ior_assert_errno(ioregion_region_new(ch, &cfg, &r), -EEXIST);
}
END_TEST

START_TEST(test_server_doorbell_accepts_write_refuses_read)
{
	struct ioregion_region *r = add_region(ch, 0x3000, 0,
					       IOREGION_F_POSTED_WRITES, 0);
	struct ioregion_region_stats st;

	expect_errors = true;
	send_cmd(peer, 1, 0, false, ud(r), 0, 0);
	no_response(peer);
	ior_assert_uint_eq(dev.writes, 1);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	ioregion_region_get_stats(r, &st);
	ior_assert_uint_eq(st.posted_writes, 1);
	ior_assert_uint_eq(st.errors, 1);
}
END_TEST

START_TEST(test_server_region_desc_reports_assigned_user_data)
{
	struct ioregion_region *a = add_region(ch, 0x1000, 0x100, IOREGION_F_PIO, 0);
	struct ioregion_region *b = add_region(ch, 0x2000, 0x100, 0, 0);
	struct ioregion_desc d;

	ior_assert_int_eq(ioregion_region_get_desc(a, &d), 0);
	ior_assert_uint_eq(d.addr, 0x1000);
	ior_assert_uint_eq(d.size, 0x100);
	ior_assert_uint_eq(d.flags, IOREGION_F_PIO);
	ior_assert_uint_eq(d.dialect, IOREGION_WIRE_V3);
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
	ior_assert(ud(a) != ud(b));
	ior_assert(ioregion_region_get_userdata(a) == &dev);
	ior_assert(ioregion_region_get_channel(b) == ch);
}
END_TEST

/* ---- callbacks -------------------------------------------------------- */

START_TEST(test_server_callback_errors_counted_read_ones_write_answered)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_region_stats st;

	expect_errors = true;
	dev.read_rc = -EIO;
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	dev.write_rc = -EPERM;
	send_cmd(peer, 1, 2, true, ud(r), 0, 1);
	ior_assert_uint_eq(response(peer), 0);
	dev.read_rc = 7;	/* not a valid return: treated as an error */
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	ioregion_region_get_stats(r, &st);
	ior_assert_uint_eq(st.errors, 3);
	ior_assert_uint_eq(st.reads, 0);
}
END_TEST

START_TEST(test_server_null_ops_read_ones_write_dropped)
{
	struct ioregion_region *r;
	struct ioregion_region_config cfg = { .addr = 0, .size = 8 };

	expect_errors = true;
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 1, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 0);
}
END_TEST

START_TEST(test_server_destroy_region_inside_its_callback)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	uint64_t user = ud(r);

	expect_errors = true;
	dev.mem[0] = 3;
	dev.destroy_region_in_cb = true;
	send_cmd(peer, 0, 0, true, user, 0, 0);
	send_cmd(peer, 0, 0, true, user, 0, 0);		/* now unknown */
	ior_assert_uint_eq(response(peer), 3);
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert_uint_eq(dev.reads, 1);
}
END_TEST

START_TEST(test_server_destroy_channel_inside_callback)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	dev.destroy_channel_in_cb = true;
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	pump();
	ior_assert_uint_eq(dev.reads, 1);
	/* Our end is closed: the peer sees EOF (the answer was never sent). */
	uint8_t buf[32];
	ior_assert(ior_readable(peer, 1000));
	ior_assert_int_eq(read(peer, buf, 32), 0);
}
END_TEST

static Suite *
server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_server_read_every_width_returns_low_bytes);
	tcase_add_test(tc, test_server_read_without_resp_bit_is_still_answered);
	tcase_add_test(tc, test_server_write_with_resp_applied_then_answered);
	tcase_add_test(tc, test_server_posted_writes_applied_in_order_never_answered);
	tcase_add_test(tc, test_server_info_dialect_read_and_write);
	tcase_add_test(tc, test_server_unknown_command_answers_ones_when_resp);
	tcase_add_test(tc, test_server_reserved_bits_v3_answers_ones);
	tcase_add_test(tc, test_server_reserved_info_bits_answers_ones);
	tcase_add_test(tc, test_server_v3_size_exponent_above_3_answers_ones);
	tcase_add_test(tc, test_server_width_not_allowed_answers_ones_and_drops_write);
	tcase_add_test(tc, test_server_offset_beyond_region_answers_ones);
	tcase_add_test(tc, test_server_unknown_user_data_answers_ones);
	tcase_add_test(tc, test_server_seqpacket_short_and_long_packets_answered_if_read);
	tcase_add_test(tc, test_server_stream_command_split_byte_by_byte);
	tcase_add_test(tc, test_server_several_commands_in_one_read_all_answered_in_order);
	tcase_add_test(tc, test_server_seqpacket_batch_of_many_packets);
	tcase_add_test(tc, test_server_eof_mid_command_closes_channel_counts_malformed);
	tcase_add_test(tc, test_server_eof_closes_one_channel_others_keep_running);
	tcase_add_test(tc, test_server_seqpacket_half_close_answers_commands_before_eof);
	tcase_add_test(tc, test_server_stream_half_close_answers_commands_before_eof);
	tcase_add_test(tc, test_server_half_close_behind_deferred_read_answers_all_then_closes);
	tcase_add_test(tc, test_server_peer_stops_reading_never_blocks_never_drops);
	tcase_add_test(tc, test_server_pipe_pair_channel);
	tcase_add_test(tc, test_server_channel_from_bad_fds);
	tcase_add_test(tc, test_server_region_new_rejects_invalid_configs);
	tcase_add_test(tc, test_server_region_overlap_on_one_channel_eexist);
	tcase_add_test(tc, test_server_doorbell_accepts_write_refuses_read);
	tcase_add_test(tc, test_server_region_desc_reports_assigned_user_data);
	tcase_add_test(tc, test_server_callback_errors_counted_read_ones_write_answered);
	tcase_add_test(tc, test_server_null_ops_read_ones_write_dropped);
	tcase_add_test(tc, test_server_destroy_region_inside_its_callback);
	tcase_add_test(tc, test_server_destroy_channel_inside_callback);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(server_suite)
