/* SPDX-License-Identifier: MIT */
/*
 * The bridge's locks (bridge-peer.h): a vCPU waiting on a device holds up
 * nobody but that device's other users; the log handler runs with no lock
 * held; a vCPU thread cancelled while it waits leaves the bridge usable.
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

/* The bound of the accesses that wait on a silent device. */
#define LONG_BOUND_MS 3000u

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

/* ---- a waiting vCPU holds up nobody else ------------------------------------------ */

struct vcpu {
	struct ioregion_bridge *b;
	uint64_t addr;
	int rc;
	uint64_t val;
	pthread_t thread;
};

static void *
vcpu_read(void *arg)
{
	struct vcpu *c = arg;

	c->rc = ioregion_bridge_access(c->b, false, c->addr, false, 4,
				       &c->val);
	return NULL;
}

static void
vcpu_start(struct vcpu *c, struct ioregion_bridge *b, uint64_t addr)
{
	c->b = b;
	c->addr = addr;
	c->rc = 1;
	ior_assert_int_eq(pthread_create(&c->thread, NULL, vcpu_read, c), 0);
}

struct adder {
	struct ioregion_bridge *b;
	struct ioregion_desc d;
	int fd;
	int rc;
	pthread_t thread;
};

static void *
adder_main(void *arg)
{
	struct adder *a = arg;

	a->rc = ioregion_bridge_add(a->b, &a->d, a->fd);
	return NULL;
}

/* A bridge with a silent device at MMIO_BASE and an echoing one at
 * MMIO_BASE + 0x1000; a vCPU thread waits on the silent one. */
static struct ioregion_bridge *
bridge_with_waiting_vcpu(struct peer *silent, struct peer *echo,
			 struct vcpu *waiting)
{
	struct ioregion_desc ds = mk_desc(MMIO_BASE, 0x100, 1, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_desc de = mk_desc(MMIO_BASE + 0x1000, 0x100, 2, 0,
					  IOREGION_WIRE_V3);
	struct ioregion_bridge *b = new_bridge();

	ior_assert_int_eq(ioregion_bridge_set_timeout(b, LONG_BOUND_MS), 0);
	add_with_peer(b, &ds, silent, SOCK_SEQPACKET, PEER_SILENT);
	add_with_peer(b, &de, echo, SOCK_SEQPACKET, PEER_ECHO);
	vcpu_start(waiting, b, MMIO_BASE);
	/* the command is at the device: the vCPU waits for its answer */
	ior_assert_uint_eq(peer_wait(silent, 1), 1);
	return b;
}

START_TEST(test_bridge_add_does_not_wait_for_a_waiting_vcpu)
{
	struct ioregion_desc d = mk_desc(MMIO_BASE + 0x2000, 0x100, 3, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge *b;
	struct peer ps, pe;
	struct vcpu w;
	uint64_t t0, dt;
	int sv[2];

	watchdog(WATCHDOG_S);
	b = bridge_with_waiting_vcpu(&ps, &pe, &w);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	t0 = ms_now();
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	ior_assert_int_eq(ioregion_bridge_remove(b, &d), 0);
	dt = ms_now() - t0;
	ior_assert_int_lt(dt, LONG_BOUND_MS / 3);
	pthread_join(w.thread, NULL);
	ior_assert_errno(w.rc, -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
	peer_stop(&ps);
	peer_stop(&pe);
	alarm(0);
}
END_TEST

/* An add queued behind the waiting vCPU (as the table lock prefers
 * writers) must not hold up a read of a healthy device either. */
START_TEST(test_bridge_healthy_device_not_delayed_by_a_waiting_one)
{
	struct ioregion_bridge *b;
	struct adder a = { .rc = 1 };
	struct peer ps, pe;
	struct vcpu w;
	uint64_t v = 0, t0, dt;
	int sv[2];

	watchdog(WATCHDOG_S);
	b = bridge_with_waiting_vcpu(&ps, &pe, &w);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	a.b = b;
	a.d = mk_desc(MMIO_BASE + 0x2000, 0x100, 3, 0, IOREGION_WIRE_V3);
	a.fd = sv[0];
	ior_assert_int_eq(pthread_create(&a.thread, NULL, adder_main, &a), 0);
	sleep_ms(100);
	t0 = ms_now();
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 0x1000,
						 false, 4, &v), 1);
	dt = ms_now() - t0;
	ior_assert_int_lt(dt, LONG_BOUND_MS / 3);
	pthread_join(a.thread, NULL);
	ior_assert_int_eq(a.rc, 0);
	pthread_join(w.thread, NULL);
	ior_assert_errno(w.rc, -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
	peer_stop(&ps);
	peer_stop(&pe);
	alarm(0);
}
END_TEST

/* ---- cancellation ------------------------------------------------------------------- */

/* pthread_cancel of a vCPU thread waiting for an answer: the thread goes
 * at once, the device it waited on is failed (its answer may still come
 * and would be taken for the next access's), and everything else works. */
/* Not run under the sanitizers, which misread a cancelled thread: ASan
 * (seen with GCC 12's) reports a stack-buffer-overflow in its own
 * sigaltstack() call when the thread unwinds through a cleanup handler
 * (google/sanitizers issue 1399), and TSan does not see the unlock in a
 * cleanup handler that runs inside its poll() interceptor, so it reports
 * the next lock as a double lock (google/sanitizers issue 646). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

START_TEST(test_bridge_cancelled_vcpu_leaves_the_bridge_usable)
#ifdef UNDER_SANITIZER
{
}
#else
{
	struct ioregion_desc d = mk_desc(MMIO_BASE + 0x2000, 0x100, 3, 0,
					 IOREGION_WIRE_V3);
	struct ioregion_bridge_stats st;
	struct ioregion_bridge *b;
	struct peer ps, pe;
	struct vcpu w;
	uint64_t v = 0, t0, dt;
	void *ret = NULL;
	int sv[2];

	watchdog(WATCHDOG_S);
	b = bridge_with_waiting_vcpu(&ps, &pe, &w);
	t0 = ms_now();
	ior_assert_int_eq(pthread_cancel(w.thread), 0);
	ior_assert_int_eq(pthread_join(w.thread, &ret), 0);
	ior_assert(ret == PTHREAD_CANCELED);
	ior_assert_errno(ioregion_bridge_access(b, false, MMIO_BASE, false, 4,
						&v), -ENOTCONN);
	ior_assert_uint_eq(v, 0xffffffffu);
	ior_assert_int_eq(ioregion_bridge_access(b, false, MMIO_BASE + 0x1000,
						 false, 4, &v), 1);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(ioregion_bridge_add(b, &d, sv[0]), 0);
	ior_assert_int_eq(ioregion_bridge_remove(b, &d), 0);
	dt = ms_now() - t0;
	ior_assert_int_lt(dt, LONG_BOUND_MS / 3);
	ior_assert_int_eq(ioregion_bridge_get_stats(b, false, MMIO_BASE, &st),
			  0);
	ior_assert_uint_eq(st.errors, 2);	/* the cancelled one, ENOTCONN */
	close(sv[0]);
	close(sv[1]);
	ioregion_bridge_unref(b);
	peer_stop(&ps);
	peer_stop(&pe);
	alarm(0);
}
#endif
END_TEST

static Suite *
bridge_locking_suite(void)
{
	Suite *s = suite_create("bridge-locking");

	ior_add_test_timeout(s, test_bridge_log_handler_may_read_stats_and_set_priority, 30);
	ior_add_test_timeout(s, test_bridge_log_handler_may_add_and_remove_regions, 30);
	ior_add_test_timeout(s, test_bridge_add_does_not_wait_for_a_waiting_vcpu, 30);
	ior_add_test_timeout(s, test_bridge_healthy_device_not_delayed_by_a_waiting_one, 30);
	ior_add_test_timeout(s, test_bridge_cancelled_vcpu_leaves_the_bridge_usable, 30);
	return s;
}

IOR_TEST_MAIN(bridge_locking_suite)
