/* SPDX-License-Identifier: MIT */
/*
 * What the device server's log says: refused writes are not "answered
 * all-ones", a callback's errno is named, not printed as a number, and
 * rate-limited messages are counted at teardown even when no later
 * message comes to carry the count.
 */
#include "server-fixture.h"

#include <stdio.h>

static char last[256];
static char all[4096];

static void __attribute__((format(printf, 3, 0)))
capture_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	    va_list args)
{
	size_t n = strlen(all);

	(void)data;
	(void)prio;
	vsnprintf(last, sizeof(last), fmt, args);
	snprintf(all + n, sizeof(all) - n, "%s", last);
}

static void
capture(void)
{
	last[0] = all[0] = '\0';
	ioregion_ctx_set_log_handler(ctx, capture_log, NULL);
}

START_TEST(test_server_log_refused_write_is_acknowledged_not_all_ones)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0,
					       IOREGION_WIDTH_4);

	capture();
	/* a 2-byte non-posted write where only 4 bytes are allowed */
	send_cmd(peer, 1, 1, true, ud(r), 0x10, 0xbeef);
	(void)response(peer);
	ior_assert(strstr(last, "write of 2 bytes") != NULL);
	ior_assert(strstr(last, "acknowledged, not applied") != NULL);
	ior_assert(strstr(last, "all-ones") == NULL);
	/* a refused read still says all-ones */
	send_cmd(peer, 0, 1, true, ud(r), 0x10, 0);
	ior_assert_uint_eq(response(peer) & 0xffff, 0xffff);
	ior_assert(strstr(last, "answering all-ones") != NULL);
	/* a posted write to an unknown region: dropped */
	send_cmd(peer, 1, 2, false, ud(r) + 1, 0, 0);
	pump();
	ior_assert(strstr(last, ": dropped") != NULL);
}
END_TEST

START_TEST(test_server_log_callback_errno_is_named)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	capture();
	dev.read_rc = -EPERM;
	send_cmd(peer, 0, 2, true, ud(r), 0x10, 0);
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert(strstr(last, strerror(EPERM)) != NULL);
	ior_assert(strstr(last, "(-1)") == NULL);
	dev.write_rc = -EIO;
	send_cmd(peer, 1, 2, true, ud(r), 0x10, 7);
	(void)response(peer);
	ior_assert(strstr(last, strerror(EIO)) != NULL);
	ior_assert(strstr(last, "acknowledged, not applied") != NULL);
}
END_TEST

START_TEST(test_server_log_suppressed_count_reported_at_teardown)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	capture();
	/* 15 refused reads in one burst: 10 logged, 5 suppressed */
	for (int i = 0; i < 15; i++) {
		send_cmd(peer, 0, 2, true, ud(r) + 1, 0, 0);
		(void)response(peer);
	}
	ior_assert(strstr(all, "suppressed") == NULL);
	ctx = ioregion_ctx_unref(ctx);
	ch = NULL;
	ior_assert(strstr(all, "5 similar messages suppressed") != NULL);
}
END_TEST

static Suite *
server_log_suite(void)
{
	Suite *s = suite_create("server-log");
	TCase *tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_server_log_refused_write_is_acknowledged_not_all_ones);
	tcase_add_test(tc, test_server_log_callback_errno_is_named);
	tcase_add_test(tc, test_server_log_suppressed_count_reported_at_teardown);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(server_log_suite)
