/* SPDX-License-Identifier: MIT */
/*
 * The bridge's failures (bridge-peer.h): timeouts, hang-ups, full
 * sockets, bounds per exit; a failed fd stays failed. What the receive
 * does with what it gets is in test-bridge-answers.c.
 */
#include "bridge-peer.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* ---- one bound per exit --------------------------------------------------------------- */

/* Adaptive polling spins at most until the deadline: a 50 ms bound with
 * the longest poll window (1 s) still times out near 50 ms. */
START_TEST(test_bridge_poll_window_stops_at_the_deadline)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0, t0, dt;
	struct peer p;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 50), 0);
	ior_assert_int_eq(ioregion_bridge_set_poll_us(b,
				IOREGION_BRIDGE_POLL_US_MAX), 0);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SILENT);
	t0 = ms_now();
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ETIMEDOUT);
	dt = ms_now() - t0;
	ior_assert_int_ge(dt, 50);
	ior_assert_int_lt(dt, 5 * 50);
	ioregion_bridge_unref(b);
	peer_stop(&p);
}
END_TEST

#define STRING_BOUND_MS 100u
#define STRING_ELEMS 20u

/* One string PIO exit of STRING_ELEMS bytes against a device that answers
 * each command after delay_ms (0: never); returns handle_exit's value and
 * the time it took in *dt. */
static int
string_exit(bool out, enum peer_mode mode, unsigned delay_ms, uint8_t *got,
	    uint64_t *dt)
{
	struct ioregion_desc d = mk_desc(0x60, 4, 1, IOREGION_F_PIO,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	struct kvm_run *run = new_run();
	uint8_t *data;
	uint64_t t0;
	struct peer p;
	int fd, rc;

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, STRING_BOUND_MS), 0);
	fd = peer_start(&p, SOCK_SEQPACKET, IOREGION_WIRE_V3, mode);
	p.delay_ms = delay_ms;
	p.regs[0] = 0x5a;
	ior_assert_int_eq(ioregion_bridge_add(b, &d, fd), 0);
	close(fd);
	peer_run(&p);
	data = io_exit(run, 0x60, 1, STRING_ELEMS, out);
	memset(data, out ? 0x11 : 0, STRING_ELEMS);
	t0 = ms_now();
	rc = ioregion_bridge_handle_exit(b, run);
	*dt = ms_now() - t0;
	memcpy(got, data, STRING_ELEMS);
	ioregion_bridge_unref(b);
	peer_stop(&p);
	free(run);
	return rc;
}

/* The bound is the exit's, not each element's: 20 elements answered 60 ms
 * apart do not make a 1.2 s exit at a 100 ms bound. */
START_TEST(test_bridge_string_pio_has_one_deadline_per_exit)
{
	uint8_t got[STRING_ELEMS];
	uint64_t dt;

	/* a slow device: the first element is in time, the second is not */
	ior_assert_errno(string_exit(false, PEER_SLOW, 60, got, &dt),
			 -ETIMEDOUT);
	ior_assert_int_lt(dt, 5 * STRING_BOUND_MS);
	ior_assert_uint_eq(got[0], 0x5a);
	for (unsigned i = 1; i < STRING_ELEMS; i++)
		ior_assert_uint_eq(got[i], 0xff);
	ior_assert_errno(string_exit(true, PEER_SLOW, 60, got, &dt),
			 -ETIMEDOUT);
	ior_assert_int_lt(dt, 5 * STRING_BOUND_MS);
	/* a stopped device */
	ior_assert_errno(string_exit(false, PEER_SILENT, 0, got, &dt),
			 -ETIMEDOUT);
	ior_assert_int_lt(dt, 5 * STRING_BOUND_MS);
	for (unsigned i = 0; i < STRING_ELEMS; i++)
		ior_assert_uint_eq(got[i], 0xff);
	ior_assert_errno(string_exit(true, PEER_SILENT, 0, got, &dt),
			 -ETIMEDOUT);
	ior_assert_int_lt(dt, 5 * STRING_BOUND_MS);
	/* a quick device: the whole string in one bound */
	ior_assert_int_eq(string_exit(false, PEER_ECHO, 0, got, &dt), 1);
	for (unsigned i = 0; i < STRING_ELEMS; i++)
		ior_assert_uint_eq(got[i], 0x5a);
}
END_TEST

/* The answer is waited for by a blocking receive bounded by half the
 * timeout, then by poll() for the rest: an answer after that half (on a
 * blocking fd and a non-blocking one, SEQPACKET and stream, before and
 * after the timeout changes) is still this access's, and a silent device still times out
 * at the bound. */
START_TEST(test_bridge_answer_after_half_the_timeout_arrives)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_STREAM };
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);

	for (unsigned i = 0; i < 4; i++) {
		struct ioregion_bridge *b = new_bridge();
		uint64_t v = 0, t0;
		struct peer p;
		int fd;

		ior_assert_int_eq(ioregion_bridge_set_timeout(b, 200), 0);
		fd = peer_start(&p, types[i % 2], IOREGION_WIRE_V3, PEER_SLOW);
		p.delay_ms = 140;
		le_store(p.regs, 8, 0x1234 + i);
		if (i >= 2)
			ior_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
		ior_assert_int_eq(ioregion_bridge_add(b, &d, fd), 0);
		close(fd);
		peer_run(&p);
		ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE,
							 false, 8, &v), 1);
		ior_assert_uint_eq(v, 0x1234 + i);
		/* a longer timeout: SO_RCVTIMEO follows it */
		ior_assert_int_eq(ioregion_bridge_set_timeout(b, 400), 0);
		v = 0;
		ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE,
							 false, 8, &v), 1);
		ior_assert_uint_eq(v, 0x1234 + i);
		/* a shorter one: the old SO_RCVTIMEO must not stretch it */
		ior_assert_int_eq(ioregion_bridge_set_timeout(b, 40), 0);
		t0 = ms_now();
		ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE,
							false, 8, &v), -ETIMEDOUT);
		ior_assert_int_lt(ms_now() - t0, 5 * 40 + 100);
		ioregion_bridge_unref(b);
		peer_stop(&p);
	}
}
END_TEST

static Suite *
bridge_failures_suite(void)
{
	Suite *s = suite_create("bridge-failures");

	ior_add_test(s, test_bridge_read_timeout_returns_etimedout);
	ior_add_test(s, test_bridge_failed_port_returns_enotconn_until_replace_fd);
	ior_add_test(s, test_bridge_regions_on_one_socket_share_lock_and_failure);
	ior_add_test(s, test_bridge_eof_returns_econnreset);
	ior_add_test(s, test_bridge_send_to_closed_peer_returns_econnreset);
	ior_add_test(s, test_bridge_nonblocking_full_socket_waits_for_pollout);
	ior_add_test(s, test_bridge_nonblocking_full_socket_times_out);
	ior_add_test(s, test_bridge_poll_window_stops_at_the_deadline);
	ior_add_test_timeout(s, test_bridge_string_pio_has_one_deadline_per_exit, 30);
	ior_add_test_timeout(s, test_bridge_answer_after_half_the_timeout_arrives, 30);
	return s;
}

IOR_TEST_MAIN(bridge_failures_suite)
