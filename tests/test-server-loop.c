/* SPDX-License-Identifier: MIT */
/*
 * Device server in the caller's main loop: get_fd/dispatch, libev loops
 * of the caller's, the context's lifetime inside callbacks, re-entering
 * the loop from a callback.
 */
#include "server-fixture.h"

#include <ev.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- loop integration ------------------------------------------------- */

START_TEST(test_server_get_fd_signals_work_for_dispatch)
{
	struct ioregion_region *r = add_region(ch, 0x1000, 0x100, 0, 0);
	struct pollfd pfd;
	int fd = ioregion_ctx_get_fd(ctx);

	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(ioregion_ctx_get_fd(ctx), fd);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ior_assert_int_eq(poll(&pfd, 1, 0), 0);
	send_cmd(peer, 0, 0, true, ud(r), 0, 0);
	ior_assert_int_eq(poll(&pfd, 1, 1000), 1);
	ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);
	ior_assert_int_eq(poll(&pfd, 1, 0), 0);
	ior_assert_uint_eq(response(peer), 0);
	ior_assert_errno(ioregion_ctx_dispatch(NULL), -EINVAL);
	ior_assert_errno(ioregion_ctx_get_fd(NULL), -EINVAL);
}
END_TEST

static struct ioregion_ctx *unref_in_cb_ctx;

static int
unref_ctx_read(struct ioregion_region *r, uint64_t off, unsigned size,
	       uint64_t *val)
{
	unref_in_cb_ctx = ioregion_ctx_unref(unref_in_cb_ctx);
	*val = 7;
	return 0;
}

START_TEST(test_server_last_ctx_unref_inside_callback_during_dispatch)
{
	static const struct ioregion_region_ops ops = { .read = unref_ctx_read };
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .ops = &ops,
	};
	struct ioregion_channel *chan;
	struct ioregion_region *r;
	uint8_t buf[32];
	int fds = ior_count_fds(), p;

	/* A private loop: the context destroys it, but not while
	 * ioregion_ctx_dispatch() is still running it. */
	ior_assert_int_eq(ioregion_ctx_new(NULL, &unref_in_cb_ctx), 0);
	ior_assert_int_eq(ioregion_channel_new(unref_in_cb_ctx,
					       IOREGION_WIRE_V3, &chan), 0);
	p = ioregion_channel_take_peer_fd(chan);
	ior_assert_int_ge(p, 0);
	ior_assert_int_eq(ioregion_region_new(chan, &cfg, &r), 0);
	send_cmd(p, 0, 0, true, ud(r), 0, 0);
	ior_assert_int_eq(ioregion_ctx_dispatch(unref_in_cb_ctx), 0);
	ior_assert_ptr_null(unref_in_cb_ctx);
	/* Answered, then the channel was closed with the context. */
	ior_assert_int_eq(ior_read_timeout(p, buf, 32, 1000), 32);
	ior_assert_uint_eq(ioregion_wire_decode_resp(buf), 7);
	ior_assert_int_eq(read(p, buf, 32), 0);
	close(p);
	ior_assert_int_eq(ior_count_fds(), fds);
}
END_TEST

START_TEST(test_server_get_fd_quiet_while_read_deferred)
{
	struct ioregion_region *r = add_deferring();
	struct pollfd pfd;
	int fd = ioregion_ctx_get_fd(ctx);

	ior_assert_int_ge(fd, 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred */
	no_response(peer);
	/* More commands arrive behind it: dispatch cannot take them before
	 * the completion, so the fd must not wake the caller (it would spin
	 * until then). */
	send_cmd(peer, 1, 0, false, ud(r), 5, 0x55);
	ior_assert_int_eq(poll(&pfd, 1, 50), 0);
	ior_assert_int_eq(ioregion_region_complete_read(r, 9), 0);
	ior_assert_uint_eq(response(peer), 9);
	ior_assert_uint_eq(dev.writes, 1);
	/* Reading resumed: the fd signals new work again. */
	send_cmd(peer, 0, 0, true, ud(r), 4, 0);
	ior_assert_int_eq(poll(&pfd, 1, 1000), 1);
	ior_assert_uint_eq(response(peer), 4);
	ior_assert_int_eq(poll(&pfd, 1, 0), 0);
}
END_TEST

START_TEST(test_server_ctx_on_caller_loop_and_refcount)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ioregion_ctx *c2, *ref;
	struct ioregion_channel *chan;

	ior_assert_int_eq(ioregion_ctx_new(loop, &c2), 0);
	ior_assert(ioregion_ctx_get_loop(c2) == loop);
	ref = ioregion_ctx_ref(c2);
	ior_assert(ref == c2);
	ior_assert_int_eq(ioregion_channel_new(c2, IOREGION_WIRE_V3, &chan), 0);
	ior_assert_ptr_null(ioregion_ctx_unref(c2));	/* one ref left */
	ior_assert_int_eq(ioregion_channel_is_open(chan), 1);
	ior_assert_ptr_null(ioregion_ctx_unref(c2));	/* destroyed */
	ev_loop_destroy(loop);
	ior_assert_errno(ioregion_ctx_new(NULL, NULL), -EINVAL);
	ior_assert_ptr_null(ioregion_ctx_unref(NULL));
}
END_TEST

/* ---- a main loop that is not libev ------------------------------------ */

/*
 * What a poll()-based main loop does: sleep on the context's fd and call
 * ioregion_ctx_dispatch() only when it says so. Returns true as soon as
 * the peer @fd has something to read, false after about @ms.
 */
static bool
poll_loop_until_readable(int fd, int ms)
{
	int nfd = ioregion_ctx_get_fd(ctx);

	ior_assert_int_ge(nfd, 0);
	for (int waited = 0; waited < ms; waited += 10) {
		struct pollfd p[2] = {
			{ .fd = nfd, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};

		ior_assert_int_ge(poll(p, 2, 10), 0);
		if (p[1].revents & POLLIN)
			return true;
		if (p[0].revents & POLLIN)
			ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);
	}
	return false;
}

/* The next response on the SEQPACKET peer, served by the poll loop. */
static uint64_t
poll_loop_response(void)
{
	uint8_t buf[33];

	ior_assert(poll_loop_until_readable(peer, 2000));
	ior_assert_int_eq(read(peer, buf, sizeof(buf)), 32);
	return ioregion_wire_decode_resp(buf);
}

/* A poll() loop that sleeps only as long as get_fd and get_timeout say:
 * a deferred read that is never completed is still answered (all-ones)
 * at its bound, with no blind wake-ups. */
START_TEST(test_server_get_timeout_bounds_a_poll_loop_to_the_deferred_timer)
{
	struct ioregion_region *r = add_deferring();
	int nfd = ioregion_ctx_get_fd(ctx), t = 0, wakeups = 0;
	uint8_t buf[33];

	expect_errors = true;			/* the timeout is logged */
	ior_assert_int_ge(nfd, 0);
	ior_assert_int_eq(ioregion_ctx_set_deferred_timeout(ctx, 150), 0);
	ior_assert_int_eq(ioregion_ctx_get_timeout(ctx, &t), 0);
	ior_assert_int_eq(t, -1);		/* nothing armed */
	ior_assert_errno(ioregion_ctx_get_timeout(NULL, &t), -EINVAL);
	ior_assert_errno(ioregion_ctx_get_timeout(ctx, NULL), -EINVAL);

	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred, never done */
	while (!ior_readable(peer, 0) && wakeups < 20) {
		struct pollfd p = { .fd = nfd, .events = POLLIN };

		ior_assert_int_eq(ioregion_ctx_get_timeout(ctx, &t), 0);
		ior_assert_int_le(t, 150);
		ior_assert_int_ge(poll(&p, 1, t), 0);
		ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);
		wakeups++;
	}
	/* one wake-up for the command, one (or two, rounding) for the timer */
	ior_assert_int_le(wakeups, 4);
	ior_assert_int_eq(read(peer, buf, sizeof(buf)), 32);
	ior_assert_uint_eq(ioregion_wire_decode_resp(buf), ONES);
	ior_assert_int_eq(ioregion_ctx_get_timeout(ctx, &t), 0);
	ior_assert_int_eq(t, -1);
}
END_TEST

START_TEST(test_server_get_fd_wakes_for_commands_queued_behind_read_completed_outside_dispatch)
{
	struct ioregion_region *r = add_deferring();

	/* Both arrive in one batch: the second waits in the channel's
	 * buffer, not in the fd, while the first is deferred. */
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred */
	send_cmd(peer, 0, 2, true, ud(r), 4, 0);	/* answers 4 */
	ior_assert(!poll_loop_until_readable(peer, 100));
	ior_assert_uint_eq(dev.reads, 1);
	/* Completed from outside dispatch (e.g. the device's own event). */
	ior_assert_int_eq(ioregion_region_complete_read(r, 9), 0);
	ior_assert_uint_eq(poll_loop_response(), 9);
	ior_assert_uint_eq(poll_loop_response(), 4);
	ior_assert_uint_eq(dev.reads, 2);
}
END_TEST

START_TEST(test_server_get_fd_wakes_for_next_command_after_read_completed_outside_dispatch)
{
	struct ioregion_region *r = add_deferring();

	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred */
	ior_assert(!poll_loop_until_readable(peer, 100));
	ior_assert_int_eq(ioregion_region_complete_read(r, 9), 0);
	ior_assert_uint_eq(poll_loop_response(), 9);
	/* The next command arrives in the fd after the completion. */
	send_cmd(peer, 0, 2, true, ud(r), 8, 0);
	ior_assert_uint_eq(poll_loop_response(), 8);
	/* and after a timed-out one too */
	expect_errors = true;
	ior_assert_int_eq(ioregion_ctx_set_deferred_timeout(ctx, 20), 0);
	send_cmd(peer, 0, 2, true, ud(r), 0, 0);	/* deferred */
	ior_assert(!poll_loop_until_readable(peer, 5));
	usleep(40 * 1000);
	ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);	/* times out */
	ior_assert_uint_eq(poll_loop_response(), ONES);
	send_cmd(peer, 0, 2, true, ud(r), 12, 0);
	ior_assert_uint_eq(poll_loop_response(), 12);
}
END_TEST

/* ---- re-entering the loop from a callback ----------------------------- */

enum reenter { REENTER_DISPATCH, REENTER_EV_RUN };

static struct {
	enum reenter how;
	int peer;
	uint64_t user;
	unsigned calls;
	int dispatch_rc;
} re;

/* The first read makes two more commands arrive, then runs the loop from
 * inside the callback. Every read answers its offset + 1. */
static int
reentering_read(struct ioregion_region *r, uint64_t off, unsigned size,
		uint64_t *val)
{
	if (re.calls++ == 0) {
		send_cmd(re.peer, 0, 3, true, re.user, 8, 0);
		send_cmd(re.peer, 0, 3, true, re.user, 16, 0);
		if (re.how == REENTER_DISPATCH)
			re.dispatch_rc = ioregion_ctx_dispatch(ctx);
		else
			ev_run(ioregion_ctx_get_loop(ctx), EVRUN_NOWAIT);
	}
	*val = off + 1;
	return 0;
}

static void
reenter_case(int type, enum reenter how)
{
	static const struct ioregion_region_ops ops = { .read = reentering_read };
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .ops = &ops,
	};
	struct ioregion_channel *c2;
	struct ioregion_channel_stats cs;
	struct ioregion_region *r;
	int p2;

	stream_channel(type, &c2, &p2);
	ior_assert_int_eq(ioregion_region_new(c2, &cfg, &r), 0);
	re = (typeof(re)){ .how = how, .peer = p2, .user = ud(r),
			   .dispatch_rc = 1 };
	send_cmd(p2, 0, 3, true, re.user, 0, 0);
	pump();
	/* Each command handled once, answered once, in order. */
	ior_assert_uint_eq(response(p2), 1);
	ior_assert_uint_eq(response(p2), 9);
	ior_assert_uint_eq(response(p2), 17);
	no_response(p2);
	ior_assert_uint_eq(re.calls, 3);
	ior_assert_int_eq(ioregion_channel_get_stats(c2, &cs), 0);
	ior_assert_uint_eq(cs.commands, 3);
	ior_assert_uint_eq(cs.responses, 3);
	if (how == REENTER_DISPATCH)
		ior_assert_int_eq(re.dispatch_rc, -EBUSY);
	ior_assert_int_eq(ioregion_channel_is_open(c2), 1);
	close(p2);
}

START_TEST(test_server_dispatch_inside_callback_is_refused_seqpacket)
{
	reenter_case(SOCK_SEQPACKET, REENTER_DISPATCH);
}
END_TEST

START_TEST(test_server_dispatch_inside_callback_is_refused_stream)
{
	reenter_case(SOCK_STREAM, REENTER_DISPATCH);
}
END_TEST

START_TEST(test_server_ev_run_inside_callback_handles_each_command_once_seqpacket)
{
	reenter_case(SOCK_SEQPACKET, REENTER_EV_RUN);
}
END_TEST

START_TEST(test_server_ev_run_inside_callback_handles_each_command_once_stream)
{
	reenter_case(SOCK_STREAM, REENTER_EV_RUN);
}
END_TEST

static Suite *
server_loop_suite(void)
{
	Suite *s = suite_create("server-loop");
	TCase *tc = tcase_create("server-loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_server_get_fd_signals_work_for_dispatch);
	tcase_add_test(tc, test_server_get_timeout_bounds_a_poll_loop_to_the_deferred_timer);
	tcase_add_test(tc, test_server_get_fd_quiet_while_read_deferred);
	tcase_add_test(tc, test_server_ctx_on_caller_loop_and_refcount);
	tcase_add_test(tc, test_server_last_ctx_unref_inside_callback_during_dispatch);
	tcase_add_test(tc, test_server_get_fd_wakes_for_commands_queued_behind_read_completed_outside_dispatch);
	tcase_add_test(tc, test_server_get_fd_wakes_for_next_command_after_read_completed_outside_dispatch);
	tcase_add_test(tc, test_server_dispatch_inside_callback_is_refused_seqpacket);
	tcase_add_test(tc, test_server_dispatch_inside_callback_is_refused_stream);
	tcase_add_test(tc, test_server_ev_run_inside_callback_handles_each_command_once_seqpacket);
	tcase_add_test(tc, test_server_ev_run_inside_callback_handles_each_command_once_stream);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(server_loop_suite)
