/* SPDX-License-Identifier: MIT */
/*
 * Device server: fallback channels. A fallback serves its primary's
 * regions with the same user_data on a socket of its own, for the VMM's
 * bridge, so that the kernel (on the primary's fd) and the bridge never
 * share an open file. The test plays both: the kernel on the primary's
 * peer end, the bridge on the fallback's.
 */
#include "server-fixture.h"

#include <sys/socket.h>
#include <unistd.h>

static struct ioregion_channel *fb;
static int fpeer = -1;
static int fb_closes, fb_close_error;

static void
fb_closed(struct ioregion_channel *c, int error, void *data)
{
	fb_closes++;
	fb_close_error = error;
}

static void
fb_setup(void)
{
	setup();
	fb_closes = 0;
	ior_assert_int_eq(ioregion_channel_new_fallback(ch, &fb), 0);
	ior_assert_ptr_nonnull(fb);
	ioregion_channel_set_close_handler(fb, fb_closed, NULL);
	fpeer = ioregion_channel_take_peer_fd(fb);
	ior_assert_int_ge(fpeer, 0);
}

static void
fb_teardown(void)
{
	teardown();			/* the context takes the fallback along */
	if (fpeer >= 0)
		close(fpeer);
	fpeer = -1;
}

static bool
peer_sees_eof(int fd)
{
	uint8_t buf[32];

	return ior_readable(fd, 1000) && read(fd, buf, sizeof(buf)) == 0;
}

START_TEST(test_server_fallback_serves_the_primary_regions_with_the_same_user_data)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_region *r2 = add_region(ch, 0x3000, 0x10, 0, 0);
	struct ioregion_region_stats st;
	struct ioregion_channel_stats cs;

	for (unsigned i = 0; i < 16; i++)
		dev.mem[i] = (uint8_t)(0xa0 + i);
	ior_assert_int_eq(ioregion_channel_get_dialect(fb), IOREGION_WIRE_V3);
	ior_assert_errno(ioregion_channel_peer_fd(fb), -ENOENT);	/* taken */
	ior_assert_int_eq(ioregion_channel_is_open(fb), 1);
	send_cmd(peer, 0, 0, true, ud(r), 1, 0);
	ior_assert_uint_eq(response(peer), 0xa1);
	send_cmd(fpeer, 0, 1, true, ud(r), 2, 0);
	ior_assert_uint_eq(response(fpeer), 0xa3a2);
	ior_assert_uint_eq(dev.last_off, 2);
	ior_assert_uint_eq(dev.last_size, 2);
	send_cmd(fpeer, 1, 0, true, ud(r2), 5, 0x77);	/* the other region */
	ior_assert_uint_eq(response(fpeer), 0);
	ior_assert_uint_eq(dev.last_off, 5);
	send_cmd(peer, 0, 0, true, ud(r), 5, 0);	/* seen through both */
	ior_assert_uint_eq(response(peer), 0x77);
	/* Offsets are checked against the same region from both sides. */
	expect_errors = true;
	send_cmd(fpeer, 0, 2, true, ud(r2), 0x10, 0);
	ior_assert_uint_eq(response(fpeer), ONES);
	/* Region counters take both channels, channel counters their own. */
	ior_assert_int_eq(ioregion_region_get_stats(r, &st), 0);
	ior_assert_uint_eq(st.reads, 3);
	ior_assert_int_eq(ioregion_region_get_stats(r2, &st), 0);
	ior_assert_uint_eq(st.writes, 1);
	ior_assert_uint_eq(st.errors, 1);
	ior_assert_int_eq(ioregion_channel_get_stats(fb, &cs), 0);
	ior_assert_uint_eq(cs.commands, 3);
	ior_assert_uint_eq(cs.responses, 3);
	ior_assert_int_eq(ioregion_channel_get_stats(ch, &cs), 0);
	ior_assert_uint_eq(cs.commands, 2);
	/* The region belongs to the primary. */
	ior_assert(ioregion_region_get_channel(r) == ch);
}
END_TEST

START_TEST(test_server_fallback_refuses_regions_and_bad_arguments)
{
	struct ioregion_region_config cfg = { .addr = 0x1000, .size = 8 };
	struct ioregion_channel *c2 = (void *)1, *info;
	struct ioregion_region *r;

	ior_assert_errno(ioregion_region_new(fb, &cfg, &r), -EINVAL);
	ior_assert_errno(ioregion_channel_new_fallback(fb, &c2), -EINVAL);
	ior_assert_ptr_null(c2);
	ior_assert_errno(ioregion_channel_new_fallback(NULL, &c2), -EINVAL);
	ior_assert_errno(ioregion_channel_new_fallback(ch, NULL), -EINVAL);
	/* Same dialect as the primary. */
	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_INFO, &info), 0);
	ior_assert_int_eq(ioregion_channel_new_fallback(info, &c2), 0);
	ior_assert_int_eq(ioregion_channel_get_dialect(c2), IOREGION_WIRE_INFO);
	ior_assert_int_ge(ioregion_channel_peer_fd(c2), 0);	/* still owned */
	/* Two fallbacks of one primary are fine. */
	ior_assert_int_eq(ioregion_channel_new_fallback(ch, &c2), 0);
	ioregion_channel_destroy(c2);
	/* A closed primary gets none. */
	close(peer);
	peer = -1;
	pump();
	ior_assert_int_eq(ioregion_channel_is_open(ch), 0);
	ior_assert_errno(ioregion_channel_new_fallback(ch, &c2), -ENOTCONN);
}
END_TEST

START_TEST(test_server_fallback_stale_user_data_misses_on_both)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_channel_stats cs;
	uint64_t old = ud(r);

	expect_errors = true;
	ioregion_region_destroy(r);
	r = add_region(ch, 0x1000, 0x100, 0, 0);	/* same slot, new generation */
	ior_assert(ud(r) != old);
	dev.mem[0] = 0x42;
	send_cmd(peer, 0, 0, true, old, 0, 0);
	ior_assert_uint_eq(response(peer), ONES);
	send_cmd(fpeer, 0, 0, true, old, 0, 0);
	ior_assert_uint_eq(response(fpeer), ONES);
	ior_assert_uint_eq(dev.reads, 0);
	ior_assert_int_eq(ioregion_channel_get_stats(ch, &cs), 0);
	ior_assert_uint_eq(cs.unknown_region, 1);
	ior_assert_int_eq(ioregion_channel_get_stats(fb, &cs), 0);
	ior_assert_uint_eq(cs.unknown_region, 1);
	send_cmd(fpeer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(fpeer), 0x42);
}
END_TEST

START_TEST(test_server_destroying_the_primary_destroys_its_fallbacks)
{
	struct ioregion_channel *fb2;
	int fpeer2;

	add_region(ch, 0x1000, 0x100, 0, 0);
	ior_assert_int_eq(ioregion_channel_new_fallback(ch, &fb2), 0);
	fpeer2 = ioregion_channel_take_peer_fd(fb2);
	ioregion_channel_destroy(ch);
	ior_assert(peer_sees_eof(peer));
	ior_assert(peer_sees_eof(fpeer));
	ior_assert(peer_sees_eof(fpeer2));
	ior_assert_int_eq(fb_closes, 0);	/* destroyed, not closed by itself */
	close(fpeer2);
}
END_TEST

START_TEST(test_server_primary_destroyed_inside_a_callback_run_by_its_fallback)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	/* The read callback destroys ioregion_region_get_channel(r), the
	 * primary, while the fallback is handling the command: all is freed
	 * on the way out, nothing before. */
	dev.destroy_channel_in_cb = true;
	send_cmd(fpeer, 0, 0, true, ud(r), 0, 0);
	send_cmd(fpeer, 0, 0, true, ud(r), 0, 0);
	pump();
	ior_assert_uint_eq(dev.reads, 1);
	ior_assert(peer_sees_eof(fpeer));
	ior_assert(peer_sees_eof(peer));
}
END_TEST

START_TEST(test_server_fallback_eof_leaves_the_primary_running)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	dev.mem[0] = 9;
	close(fpeer);
	fpeer = -1;
	pump();
	ior_assert_int_eq(fb_closes, 1);
	ior_assert_int_eq(fb_close_error, 0);
	ior_assert_int_eq(ioregion_channel_is_open(fb), 0);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 1);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 9);
	/* The closed fallback goes, the primary stays; a new one works. */
	ioregion_channel_destroy(fb);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 9);
	ior_assert_int_eq(ioregion_channel_new_fallback(ch, &fb), 0);
	fpeer = ioregion_channel_take_peer_fd(fb);
	send_cmd(fpeer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(fpeer), 9);
}
END_TEST

START_TEST(test_server_primary_eof_leaves_the_fallback_serving)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	dev.mem[0] = 5;
	close(peer);
	peer = -1;
	pump();
	ior_assert_int_eq(ioregion_channel_is_open(ch), 0);
	send_cmd(fpeer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(fpeer), 5);
}
END_TEST

START_TEST(test_server_read_deferred_on_both_channels_answered_by_one_completion)
{
	struct ioregion_region *r = add_deferring();
	struct ioregion_region_stats st;

	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred, 4 bytes */
	send_cmd(fpeer, 0, 1, true, ud(r), 0, 0);	/* deferred, 2 bytes */
	send_cmd(fpeer, 0, 2, true, ud(r), 4, 0);	/* behind it */
	send_cmd(peer, 0, 2, true, ud(r), 8, 0);	/* behind the other */
	no_response(peer);
	no_response(fpeer);
	ior_assert_uint_eq(dev.reads, 2);
	/* The register's value answers every read waiting for it. */
	ior_assert_int_eq(ioregion_region_complete_read(r, 0x12345678), 0);
	ior_assert_uint_eq(response(peer), 0x12345678);
	ior_assert_uint_eq(response(peer), 8);
	ior_assert_uint_eq(response(fpeer), 0x5678);	/* its own size */
	ior_assert_uint_eq(response(fpeer), 4);
	ior_assert_errno(ioregion_region_complete_read(r, 1), -ENOENT);
	ior_assert_int_eq(ioregion_region_get_stats(r, &st), 0);
	ior_assert_uint_eq(st.reads, 4);
	/* Only the fallback waits: completing answers it alone. */
	send_cmd(fpeer, 0, 2, true, ud(r), 0, 0);
	no_response(fpeer);
	ior_assert_int_eq(ioregion_region_complete_read(r, 3), 0);
	ior_assert_uint_eq(response(fpeer), 3);
	no_response(peer);
}
END_TEST

START_TEST(test_server_region_destroyed_while_deferred_on_both_answers_both)
{
	struct ioregion_region *r = add_deferring();

	expect_errors = true;
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);
	send_cmd(fpeer, 0, 2, true, ud(r), 0, 0);
	no_response(peer);
	no_response(fpeer);
	ioregion_region_destroy(r);
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert_uint_eq(response(fpeer), ONES);
}
END_TEST

START_TEST(test_server_completion_with_primary_closed_answers_the_fallback)
{
	struct ioregion_region *r = add_deferring();

	send_cmd(fpeer, 0, 2, true, ud(r), 0, 0);
	no_response(fpeer);
	close(peer);
	peer = -1;
	pump();
	ior_assert_int_eq(ioregion_channel_is_open(ch), 0);
	ior_assert_int_eq(ioregion_region_complete_read(r, 6), 0);
	ior_assert_uint_eq(response(fpeer), 6);
	ior_assert_errno(ioregion_region_complete_read(r, 6), -ENOENT);
	/* Nothing of the region open any more: ENOTCONN. */
	close(fpeer);
	fpeer = -1;
	pump();
	ior_assert_errno(ioregion_region_complete_read(r, 6), -ENOTCONN);
}
END_TEST

static Suite *
server_fallback_suite(void)
{
	Suite *s = suite_create("server-fallback");
	TCase *tc = tcase_create("server-fallback");

	tcase_add_checked_fixture(tc, fb_setup, fb_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_server_fallback_serves_the_primary_regions_with_the_same_user_data);
	tcase_add_test(tc, test_server_fallback_refuses_regions_and_bad_arguments);
	tcase_add_test(tc, test_server_fallback_stale_user_data_misses_on_both);
	tcase_add_test(tc, test_server_destroying_the_primary_destroys_its_fallbacks);
	tcase_add_test(tc, test_server_primary_destroyed_inside_a_callback_run_by_its_fallback);
	tcase_add_test(tc, test_server_fallback_eof_leaves_the_primary_running);
	tcase_add_test(tc, test_server_primary_eof_leaves_the_fallback_serving);
	tcase_add_test(tc, test_server_read_deferred_on_both_channels_answered_by_one_completion);
	tcase_add_test(tc, test_server_region_destroyed_while_deferred_on_both_answers_both);
	tcase_add_test(tc, test_server_completion_with_primary_closed_answers_the_fallback);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(server_fallback_suite)
