/* SPDX-License-Identifier: MIT */
/*
 * The server's backends and its blocking run mode: choosing a backend
 * (ioregion_ctx_set_backend(), IOREGION_SERVER_BACKEND), the fallback to
 * epoll where io_uring cannot be had (a seccomp filter plays the kernel
 * without io_uring, ENOSYS, and the one that refuses it, EPERM), and
 * ioregion_ctx_run(): it serves until no channel is open, answers in
 * order, runs the deferred-read bound, answers without waiting for the
 * end of a polling window, refuses inside callbacks. Run on
 * both backends (test server-run-uring sets IOREGION_SERVER_BACKEND).
 */
#include "config.h"
#include "server-fixture.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(test_run_backend_arguments)
{
	struct ioregion_ctx *c2;

	ior_assert_errno(ioregion_ctx_set_backend(NULL, IOREGION_BACKEND_EPOLL), -EINVAL);
	ior_assert_errno(ioregion_ctx_set_backend(ctx, (enum ioregion_backend)7), -EINVAL);
	/* the fixture's context has a channel already */
	ior_assert_errno(ioregion_ctx_set_backend(ctx, IOREGION_BACKEND_EPOLL), -EBUSY);
	ior_assert_errno(ioregion_ctx_set_backend(ctx, IOREGION_BACKEND_IO_URING), -EBUSY);
	ior_assert_int_eq(ioregion_ctx_get_backend(NULL), IOREGION_BACKEND_EPOLL);
	ior_assert_errno(ioregion_ctx_run(NULL), -EINVAL);

	ior_assert_int_eq(ioregion_ctx_new(NULL, &c2), 0);
	ior_assert_int_eq(ioregion_ctx_set_backend(c2, IOREGION_BACKEND_EPOLL), 0);
	ior_assert_int_eq(ioregion_ctx_get_backend(c2), IOREGION_BACKEND_EPOLL);
	/* 0 either way; where io_uring works (this machine kind) it is used */
	ior_assert_int_eq(ioregion_ctx_set_backend(c2, IOREGION_BACKEND_IO_URING), 0);
#if IOREGION_HAVE_IO_URING
	if (access("/proc/sys/kernel/io_uring_disabled", F_OK) != 0 ||
	    system("grep -qx 0 /proc/sys/kernel/io_uring_disabled") == 0) {
		const char *env = getenv("IOREGION_SERVER_BACKEND");

		ior_assert_int_eq(ioregion_ctx_get_backend(c2), IOREGION_BACKEND_IO_URING);
		/* the -uring runs of the suites are on io_uring indeed */
		if (env && strcmp(env, "io_uring") == 0)
			ior_assert_int_eq(ioregion_ctx_get_backend(ctx),
					  IOREGION_BACKEND_IO_URING);
	}
#endif
	ior_assert_int_eq(ioregion_ctx_set_backend(c2, IOREGION_BACKEND_EPOLL), 0);
	ior_assert_int_eq(ioregion_ctx_get_backend(c2), IOREGION_BACKEND_EPOLL);
	/* a run with nothing open returns at once */
	ior_assert_int_eq(ioregion_ctx_run(c2), 0);
	c2 = ioregion_ctx_unref(c2);
}
END_TEST

START_TEST(test_run_serves_until_eof_answers_in_order)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct ioregion_region *p = add_region(ch, 0x2000, 0x100,
					       IOREGION_F_POSTED_WRITES, 0);
	struct ioregion_channel_stats st;

	for (unsigned i = 0; i < 8; i++) {
		send_cmd(peer, 1, 3, false, ud(p), i * 8, i + 1);	/* posted */
		send_cmd(peer, 0, 3, true, ud(r), i * 8, 0);		/* reads it */
	}
	ior_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 0);
	for (uint64_t i = 0; i < 8; i++)
		ior_assert_uint_eq(response(peer), i + 1);
	ior_assert_int_eq(ioregion_channel_get_stats(ch, &st), 0);
	ior_assert_uint_eq(st.commands, 16);
	ior_assert_uint_eq(st.responses, 8);
	/* closed: a second run has nothing to do */
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
}
END_TEST

START_TEST(test_run_answers_a_stream_channel_too)
{
	struct ioregion_channel *c2;
	struct ioregion_region *r;
	int p2;

	stream_channel(SOCK_STREAM, &c2, &p2);
	r = add_region(c2, 0x3000, 0x100, 0, 0);
	dev.mem[4] = 0x77;
	send_cmd(p2, 0, 0, true, ud(r), 4, 0);
	send_cmd(p2, 0, 0, true, ud(r), 4, 0);
	ior_assert_int_eq(shutdown(p2, SHUT_WR), 0);
	ioregion_channel_destroy(ch);	/* the fixture's: only c2 keeps run going */
	ch = NULL;
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_uint_eq(response(p2), 0x77);
	ior_assert_uint_eq(response(p2), 0x77);
	ior_assert_int_eq(ioregion_channel_is_open(c2), 0);
	close(p2);
}
END_TEST

START_TEST(test_run_deferred_read_times_out_within_bound)
{
	struct ioregion_region *r = add_deferring();

	expect_errors = true;
	ior_assert_int_eq(ioregion_ctx_set_deferred_timeout(ctx, 30), 0);
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred, never completed */
	send_cmd(peer, 0, 2, true, ud(r), 4, 0);	/* behind it: answers 4 */
	ior_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	/* run returns only after the bound answered the first one */
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_uint_eq(response(peer), ONES);
	ior_assert_uint_eq(response(peer), 4);
}
END_TEST

/*
 * Adaptive polling must not hold back an answer already made: with the
 * longest window (1 s), each of 3 read round trips is answered well
 * within it (800 ms each, the window's end being the failure).
 */
START_TEST(test_run_polling_window_does_not_delay_the_answer)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	int status;
	pid_t pid;

	dev.mem[8] = 0x42;
	ior_assert_int_eq(ioregion_ctx_set_poll_us(ctx, IOREGION_POLL_US_MAX), 0);
	pid = fork();
	ior_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the peer (the kernel's part); the context is the parent's */
		uint8_t resp[32] = { 0 };
		int late = 0;

		for (int i = 0; i < 3; i++) {
			send_cmd(peer, 0, 0, true, ud(r), 8, 0);
			if (ior_read_timeout(peer, resp, 32, 800) != 32) {
				late++;	/* then wait it out: no EPIPE */
				ior_read_timeout(peer, resp, 32, 3000);
			}
			late += resp[0] != 0x42;
		}
		_exit(late);
	}
	close(peer);		/* the child's copy alone: its exit is the EOF */
	peer = -1;
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	ior_assert(WIFEXITED(status));
	/* how many of the 3 came late (or wrong) */
	ior_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static int run_rc_in_cb = 1;

static int
run_inside(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	run_rc_in_cb = ioregion_ctx_run(ctx);
	*val = 5;
	return 0;
}

START_TEST(test_run_refuses_inside_a_callback)
{
	static const struct ioregion_region_ops ops = { .read = run_inside };
	struct ioregion_region_config cfg = {
		.addr = 0x4000, .size = 8, .ops = &ops,
	};
	struct ioregion_region *r;

	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 5);
	ior_assert_int_eq(run_rc_in_cb, -EBUSY);
}
END_TEST

static void
destroy_on_close(struct ioregion_channel *c, int error, void *data)
{
	ioregion_channel_destroy(c);
	ch = NULL;
}

START_TEST(test_run_returns_when_the_close_handler_destroys_the_channel)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	expect_errors = true;	/* the answer meets the closed peer: EPIPE */
	ioregion_channel_set_close_handler(ch, destroy_on_close, NULL);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_uint_eq(ior_readable(peer, 0), false);
	close(peer);		/* EOF behind the read: answered, then closed */
	peer = -1;
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_ptr_null(ch);
}
END_TEST

/* ---- ioregion_ctx_stop() ---------------------------------------------- */

static int stop_reads;

/* The first read stops the run. */
static int
stop_in_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	if (stop_reads++ == 0)
		ior_assert_int_eq(ioregion_ctx_stop(ctx), 0);
	*val = 9;
	return 0;
}

START_TEST(test_run_stop_from_a_callback_leaves_the_channel_open)
{
	static const struct ioregion_region_ops ops = { .read = stop_in_read };
	struct ioregion_region_config cfg = {
		.addr = 0x4000, .size = 8, .ops = &ops,
	};
	struct ioregion_region *r;

	ior_assert_errno(ioregion_ctx_stop(NULL), -EINVAL);
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	/* no EOF: only the stop ends this run */
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 1);
	ior_assert(ior_readable(peer, 5000));
	ior_assert_uint_eq(response(peer), 9);
	/* the stop was used up: the next run serves until EOF */
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 0);
	ior_assert_uint_eq(response(peer), 9);
	ior_assert_int_eq(stop_reads, 2);
}
END_TEST

START_TEST(test_run_stop_before_the_run_returns_at_once_once)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	ior_assert_int_eq(ioregion_ctx_stop(ctx), 0);
	ior_assert_int_eq(ioregion_ctx_stop(ctx), 0);	/* the same one stop */
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);	/* at once */
	ior_assert_int_eq(ioregion_channel_is_open(ch), 1);
	dev.mem[8] = 0x31;
	send_cmd(peer, 0, 0, true, ud(r), 8, 0);
	ior_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);	/* serves again */
	ior_assert_uint_eq(response(peer), 0x31);
}
END_TEST

static volatile sig_atomic_t alarm_rc = 1, alarm_errno;

static void
stop_on_alarm(int sig)
{
	(void)sig;
	errno = 0;
	alarm_rc = ioregion_ctx_stop(ctx);
	alarm_errno = errno;	/* kept: 0 */
}

/* A SIGALRM handler stops the run that sleeps with nothing to do; then
 * the run serves as before. */
START_TEST(test_run_stop_from_a_signal_handler_ends_a_sleeping_run)
{
	struct sigaction sa = { .sa_handler = stop_on_alarm };
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);

	/* valgrind 3.19 runs io_uring_enter() with every signal blocked: no
	 * signal reaches a run sleeping there (not even SIGTERM), so under it
	 * this case cannot be told apart from a hang. The build without
	 * valgrind runs it on both backends. */
	if (getenv("IOR_VALGRIND") &&
	    ioregion_ctx_get_backend(ctx) == IOREGION_BACKEND_IO_URING) {
		fprintf(stderr, "# skipped under valgrind on io_uring\n");
		return;
	}
	sa.sa_flags = SA_RESTART;	/* as most programs have it */
	sigemptyset(&sa.sa_mask);
	ior_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ior_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	signal(SIGALRM, SIG_DFL);
	ior_assert_int_eq(alarm_rc, 0);
	ior_assert_int_eq(alarm_errno, 0);
	ior_assert_int_eq(ioregion_channel_is_open(ch), 1);
	dev.mem[0] = 0x5a;
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	ior_assert_int_eq(ioregion_ctx_run(ctx), 0);
	ior_assert_uint_eq(response(peer), 0x5a);
}
END_TEST

/* ---- fallback --------------------------------------------------------- */

static int info_lines, fallback_lines;

static void __attribute__((format(printf, 3, 0)))
count_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
	char buf[256];

	vsnprintf(buf, sizeof(buf), fmt, args);
	info_lines++;
	if (strstr(buf, "using epoll") && strstr(buf, data))
		fallback_lines++;
}

/* In a child: io_uring_setup() fails with @err, as on a kernel without
 * io_uring (ENOSYS) or with kernel.io_uring_disabled set (EPERM). The
 * context falls back to epoll with one log line and serves as usual.
 * Exit status 0 when all of that held. (In a build without liburing the
 * one line says so instead.) */
static void
fallback_child(int err)
{
#ifdef __NR_io_uring_setup
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	struct ioregion_ctx *c;
	struct ioregion_channel *chan;
	struct ioregion_region *r;
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .ops = &dev_ops, .userdata = &dev,
	};
	uint8_t buf[32];
	int p;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(10);
	unsetenv("IOREGION_SERVER_BACKEND");
	if (ioregion_ctx_new(NULL, &c) < 0)
		_exit(11);
	/* the line says why: the kernel's error, or the build's */
	ioregion_ctx_set_log_handler(c, count_log,
				     IOREGION_HAVE_IO_URING ? strerror(err) : "not built in");
	ioregion_ctx_set_log_priority(c, IOREGION_LOG_INFO);
	if (ioregion_ctx_set_backend(c, IOREGION_BACKEND_IO_URING) != 0)
		_exit(12);
	if (ioregion_ctx_get_backend(c) != IOREGION_BACKEND_EPOLL)
		_exit(13);
	if (info_lines != 1 || fallback_lines != 1)
		_exit(14);
	/* and it serves */
	if (ioregion_channel_new(c, IOREGION_WIRE_V3, &chan) < 0 ||
	    ioregion_region_new(chan, &cfg, &r) < 0)
		_exit(15);
	p = ioregion_channel_take_peer_fd(chan);
	dev.mem[0] = 0x42;
	v3_cmd(buf, 0, 0, true, ud(r), 0, 0);
	if (write(p, buf, 32) != 32)
		_exit(16);
	ioregion_ctx_dispatch(c);
	if (read(p, buf, 32) != 32 || ioregion_wire_decode_resp(buf) != 0x42)
		_exit(17);
	/* the environment variable takes the same way back */
	setenv("IOREGION_SERVER_BACKEND", "io_uring", 1);
	ioregion_ctx_unref(c);
	if (ioregion_ctx_new(NULL, &c) < 0 ||
	    ioregion_ctx_get_backend(c) != IOREGION_BACKEND_EPOLL)
		_exit(18);
	ioregion_ctx_unref(c);
	close(p);
	_exit(0);
#else
	_exit(0);
#endif
}

static void
check_fallback(int err)
{
	int status;
	pid_t pid = fork();

	ior_assert_int_ge(pid, 0);
	if (pid == 0)
		fallback_child(err);
	ior_assert_int_eq(waitpid(pid, &status, 0), pid);
	ior_assert(WIFEXITED(status));
	ior_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(test_run_io_uring_enosys_falls_back_to_epoll_one_log_line)
{
	check_fallback(ENOSYS);
}
END_TEST

START_TEST(test_run_io_uring_eperm_falls_back_to_epoll_one_log_line)
{
	check_fallback(EPERM);
}
END_TEST

static Suite *
run_suite(void)
{
	Suite *s = suite_create("server-run");
	TCase *tc = tcase_create("server-run");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_run_backend_arguments);
	tcase_add_test(tc, test_run_serves_until_eof_answers_in_order);
	tcase_add_test(tc, test_run_answers_a_stream_channel_too);
	tcase_add_test(tc, test_run_deferred_read_times_out_within_bound);
	tcase_add_test(tc, test_run_polling_window_does_not_delay_the_answer);
	tcase_add_test(tc, test_run_refuses_inside_a_callback);
	tcase_add_test(tc, test_run_returns_when_the_close_handler_destroys_the_channel);
	tcase_add_test(tc, test_run_stop_from_a_callback_leaves_the_channel_open);
	tcase_add_test(tc, test_run_stop_before_the_run_returns_at_once_once);
	tcase_add_test(tc, test_run_stop_from_a_signal_handler_ends_a_sleeping_run);
	tcase_add_test(tc, test_run_io_uring_enosys_falls_back_to_epoll_one_log_line);
	tcase_add_test(tc, test_run_io_uring_eperm_falls_back_to_epoll_one_log_line);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(run_suite)
