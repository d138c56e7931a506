/* SPDX-License-Identifier: MIT */
/*
 * Device server: deferred reads (completion, order, timeouts, regions
 * destroyed while a read waits).
 */
#include "server-fixture.h"

#include <ev.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/bridge.h"

START_TEST(test_server_deferred_read_answered_on_completion_in_order)
{
	struct ioregion_region *r = add_deferring();

	ior_assert_errno(ioregion_region_complete_read(r, 1), -ENOENT);
	send_cmd(peer, 0, 1, true, ud(r), 0, 0);	/* deferred */
	send_cmd(peer, 1, 0, false, ud(r), 5, 0x55);	/* posted, waits */
	send_cmd(peer, 0, 0, true, ud(r), 4, 0);	/* answered after */
	no_response(peer);
	ior_assert_uint_eq(dev.reads, 1);
	ior_assert_uint_eq(dev.writes, 0);		/* held back */
	ior_assert_int_eq(ioregion_region_complete_read(r, 0x12345), 0);
	ior_assert_uint_eq(response(peer), 0x2345);	/* masked to 2 bytes */
	ior_assert_uint_eq(response(peer), 4);
	ior_assert_uint_eq(dev.writes, 1);
	ior_assert_errno(ioregion_region_complete_read(r, 1), -ENOENT);
	ior_assert_errno(ioregion_region_complete_read(NULL, 1), -EINVAL);
}
END_TEST

START_TEST(test_server_deferred_read_times_out_with_ones)
{
	struct ioregion_region *r = add_deferring();
	struct ioregion_region_stats st;

	expect_errors = true;
	ior_assert_errno(ioregion_ctx_set_deferred_timeout(ctx, 0), -EINVAL);
	ior_assert_int_eq(ioregion_ctx_set_deferred_timeout(ctx, 30), 0);
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);
	no_response(peer);
	usleep(50 * 1000);
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert_errno(ioregion_region_complete_read(r, 1), -ENOENT);
	ioregion_region_get_stats(r, &st);
	ior_assert_uint_eq(st.errors, 1);
}
END_TEST

START_TEST(test_server_region_destroyed_while_deferred_answers_ones)
{
	struct ioregion_region *r = add_deferring();

	expect_errors = true;
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);
	no_response(peer);
	ioregion_region_destroy(r);
	ior_assert_uint_eq(response(peer), ONES);
}
END_TEST

static int
destroy_then_defer_read(struct ioregion_region *r, uint64_t off, unsigned size,
			uint64_t *val)
{
	struct dev *d = ioregion_region_get_userdata(r);

	d->reads++;
	ioregion_region_destroy(r);
	return IOREGION_DEFERRED;
}

START_TEST(test_server_region_destroyed_in_read_cb_that_defers_answers_now)
{
	static const struct ioregion_region_ops ops = {
		.read = destroy_then_defer_read,
	};
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .ops = &ops, .userdata = &dev,
	};
	struct ioregion_region *r;
	struct ioregion_channel_stats cst;
	uint64_t user;

	expect_errors = true;
	/* Long enough that only an immediate answer passes. */
	ior_assert_int_eq(ioregion_ctx_set_deferred_timeout(ctx, 10000), 0);
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	user = ud(r);
	send_cmd(peer, 0, 2, true, user, 0, 0);
	/* The region is gone: nothing can complete the read, so it is
	 * answered now (and never from freed memory). */
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(peer, 0, 2, true, user, 0, 0);
	ior_assert_uint_eq(response(peer), ONES);	/* unknown now */
	ior_assert_uint_eq(dev.reads, 1);
	ior_assert_int_eq(ioregion_channel_get_stats(ch, &cst), 0);
	ior_assert_uint_eq(cst.unknown_region, 1);
}
END_TEST

/* ---- the loop in a thread of its own ---------------------------------- */

/* For tests where this thread blocks (a bridge access) or the server must
 * keep running while the test waits: the server thread runs the fixture's
 * context until its channel closes; the test touches only the peer fd
 * meanwhile. */
static pthread_t server_thread;

static void
break_on_close(struct ioregion_channel *c, int error, void *data)
{
	ev_break(ioregion_ctx_get_loop(ctx), EVBREAK_ALL);
}

static void *
serve(void *arg)
{
	ev_run(ioregion_ctx_get_loop(ctx), 0);
	return NULL;
}

static void
server_thread_start(void)
{
	ioregion_channel_set_close_handler(ch, break_on_close, NULL);
	ior_assert_int_eq(pthread_create(&server_thread, NULL, serve, NULL), 0);
}

/* Hang up the peer end; the server thread sees EOF and returns. */
static void
server_thread_stop(void)
{
	close(peer);
	peer = -1;
	ior_assert_int_eq(pthread_join(server_thread, NULL), 0);
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(test_server_deferred_timeout_counts_from_the_deferral_under_adaptive_polling)
{
	struct ioregion_region *r = add_deferring();
	uint64_t user = ud(r), t0, elapsed;
	uint8_t buf[32];

	expect_errors = true;
	ior_assert_int_eq(ioregion_ctx_set_deferred_timeout(ctx, 200), 0);
	ior_assert_int_eq(ioregion_ctx_set_poll_us(ctx, IOREGION_POLL_US_MAX), 0);
	server_thread_start();
	send_cmd(peer, 0, 2, true, user, 4, 0);
	ior_assert_int_eq(ior_read_timeout(peer, buf, 32, 5000), 32);
	ior_assert_uint_eq(ioregion_wire_decode_resp(buf), 4);
	/* The server polls for up to a second without going back to its
	 * loop, whose clock stays where it woke up. */
	usleep(400 * 1000);
	t0 = ms_now();
	send_cmd(peer, 0, 2, true, user, 0, 0);		/* deferred */
	ior_assert_int_eq(ior_read_timeout(peer, buf, 32, 5000), 32);
	elapsed = ms_now() - t0;
	ior_assert_uint_eq(ioregion_wire_decode_resp(buf), ONES);
	/* Timed out, but not before the 200 ms it was given. */
	ior_assert_int_ge(elapsed, 150);
	server_thread_stop();
}
END_TEST

static void
quiet_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
}

/* A device busy for a while in a posted write (the bridge does not wait
 * for it), then deferring the read behind it and never completing it. */
static int
slow_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	usleep(100 * 1000);
	return 0;
}

START_TEST(test_server_default_deferred_timeout_answers_before_default_bridge_gives_up)
{
	static const struct ioregion_region_ops ops = {
		.read = deferring_read, .write = slow_write,
	};
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .flags = IOREGION_F_POSTED_WRITES,
		.ops = &ops, .userdata = &dev,
	};
	struct ioregion_region *r;
	struct ioregion_bridge *b;
	struct ioregion_bridge_stats bs;
	struct ioregion_desc d;
	uint64_t v = 0;

	expect_errors = true;
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	ior_assert_int_eq(ioregion_region_get_desc(r, &d), 0);
	ior_assert_int_eq(ioregion_bridge_new(&b), 0);	/* default timeout */
	ioregion_bridge_set_log_handler(b, quiet_log, NULL);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, peer), 0);
	server_thread_start();
	/* The bridge's bound runs from its send, the device's from its
	 * deferral, later by the time the device was busy: the device's
	 * bound passes first all the same, the guest reads all-ones... */
	ior_assert_int_eq(ioregion_bridge_access(b, false, d.addr, true, 4, &v), 1);
	ior_assert_int_eq(ioregion_bridge_access(b, false, d.addr, false, 4, &v), 1);
	ior_assert_uint_eq(v, 0xffffffffu);
	/* ...and the fd is still good. */
	ior_assert_int_eq(ioregion_bridge_access(b, false, d.addr + 8, false, 4, &v), 1);
	ior_assert_uint_eq(v, 8);
	ior_assert_int_eq(ioregion_bridge_get_stats(b, false, d.addr, &bs), 0);
	ior_assert_uint_eq(bs.errors, 0);
	b = ioregion_bridge_unref(b);
	server_thread_stop();
	ior_assert_int_eq(log_errors, 1);	/* the server's timeout */
}
END_TEST

static Suite *
server_deferred_suite(void)
{
	Suite *s = suite_create("server-deferred");
	TCase *tc = tcase_create("server-deferred");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_server_deferred_read_answered_on_completion_in_order);
	tcase_add_test(tc, test_server_deferred_read_times_out_with_ones);
	tcase_add_test(tc, test_server_region_destroyed_while_deferred_answers_ones);
	tcase_add_test(tc, test_server_region_destroyed_in_read_cb_that_defers_answers_now);
	tcase_add_test(tc, test_server_deferred_timeout_counts_from_the_deferral_under_adaptive_polling);
	tcase_add_test(tc, test_server_default_deferred_timeout_answers_before_default_bridge_gives_up);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(server_deferred_suite)
