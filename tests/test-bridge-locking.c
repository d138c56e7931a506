/* SPDX-License-Identifier: MIT */
/*
 * The bridge's locks (bridge-peer.h): the log handler runs with no lock
 * held.
 *
 * Every test that a locking bug would hang arms a watchdog (alarm; its
 * handler says so and exits), so a regression fails instead of hanging the
 * suite, with or without Check's fork per test.
 */
#include "bridge-peer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define WATCHDOG_S 10

static void
watchdog_fired(int sig)
{
	static const char msg[] = "test-bridge-locking: watchdog: the test "
				  "hung (a lock left held?)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void
watchdog(unsigned secs)
{
	struct sigaction sa = { .sa_handler = watchdog_fired };

	sigemptyset(&sa.sa_mask);
	ior_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	alarm(secs);
}

/* ---- the log handler --------------------------------------------------------------- */

static struct ioregion_bridge *handler_bridge;
static unsigned handler_calls;
static int handler_stats_rc = 1, handler_add_rc = 1, handler_remove_rc = 1;
static uint64_t handler_errors;
static bool handler_changes_table;

static void __attribute__((format(printf, 3, 0)))
reentering_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	       va_list args)
{
	struct ioregion_bridge_stats st = { 0 };

	(void)data;
	(void)prio;
	(void)fmt;
	(void)args;
	if (handler_calls++ > 0)
		return;
	ioregion_bridge_set_log_priority(handler_bridge, IOREGION_LOG_ERROR);
	handler_stats_rc = ioregion_bridge_get_stats(handler_bridge, false,
						     MMIO_BASE, &st);
	handler_errors = st.errors;
	if (handler_changes_table) {
		struct ioregion_desc d = mk_desc(0x9000, 0x10, 9, 0,
						 IOREGION_WIRE_V3);
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			       sv) < 0)
			return;
		handler_add_rc = ioregion_bridge_add(handler_bridge, &d, sv[0]);
		handler_remove_rc = ioregion_bridge_remove(handler_bridge, &d);
		close(sv[0]);
		close(sv[1]);
	}
}

/* A failing access logs; the handler calls back into the bridge. */
static void
run_reentering_log(bool change_table)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE, 0x100, 1, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();
	uint64_t v = 0;
	struct peer p;

	watchdog(WATCHDOG_S);
	handler_bridge = b;
	handler_calls = 0;
	handler_changes_table = change_table;
	ioregion_bridge_set_log_handler(b, reentering_log, NULL);
	ior_assert_int_eq(ioregion_bridge_set_timeout(b, 30), 0);
	add_with_peer(b, &d, &p, SOCK_SEQPACKET, PEER_SILENT);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ETIMEDOUT);
	ior_assert_uint_eq(handler_calls, 1);
	ior_assert_int_eq(handler_stats_rc, 0);
	ior_assert_uint_eq(handler_errors, 1);	/* counted before the log */
	ioregion_bridge_unref(b);
	peer_stop(&p);
	alarm(0);
}

START_TEST(test_bridge_log_handler_may_read_stats_and_set_priority)
{
	run_reentering_log(false);
}
END_TEST

START_TEST(test_bridge_log_handler_may_add_and_remove_regions)
{
	run_reentering_log(true);
	ior_assert_int_eq(handler_add_rc, 0);
	ior_assert_int_eq(handler_remove_rc, 0);
}
END_TEST

static Suite *
bridge_locking_suite(void)
{
	Suite *s = suite_create("bridge-locking");

	ior_add_test_timeout(s, test_bridge_log_handler_may_read_stats_and_set_priority, 30);
	ior_add_test_timeout(s, test_bridge_log_handler_may_add_and_remove_regions, 30);
	return s;
}

IOR_TEST_MAIN(bridge_locking_suite)
