/* SPDX-License-Identifier: MIT */
/*
 * Interrupt lines, device side, on plain eventfds: the test plays KVM. It
 * reads the trigger eventfd's counter (how many writes the line made) and
 * writes the resample eventfd as KVM does at the guest's EOI. And the VMM
 * side's argument checks, which need no /dev/kvm (tests/kvm-irq.c runs
 * both halves on a real VM).
 */
#include "server-fixture.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/irq.h"

/* The VMM's ends of one line: KVM would hold these. */
static int trig = -1, resample = -1;

static void
irq_setup(void)
{
	setup();
	trig = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	resample = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ior_assert_int_ge(trig, 0);
	ior_assert_int_ge(resample, 0);
}

static void
irq_teardown(void)
{
	teardown();
	close(trig);
	close(resample);
	trig = resample = -1;
}

/* How many writes the line made since the last call (KVM consumes the
 * counter the same way). */
static uint64_t
writes(void)
{
	uint64_t n;

	if (read(trig, &n, sizeof(n)) != sizeof(n)) {
		ior_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

/* KVM at the guest's EOI: the line dropped, the resample fd signalled. */
static void
eoi(void)
{
	uint64_t one = 1;

	ior_assert_int_eq(write(resample, &one, sizeof(one)), sizeof(one));
	pump();
}

static struct ioregion_irq_stats
stats(struct ioregion_irq *irq)
{
	struct ioregion_irq_stats st;

	ior_assert_int_eq(ioregion_irq_get_stats(irq, &st), 0);
	return st;
}

static struct ioregion_irq *
edge_line(void)
{
	struct ioregion_irq *irq = NULL;

	ior_assert_int_eq(ioregion_irq_new(ctx, trig, -1, &irq), 0);
	ior_assert_ptr_nonnull(irq);
	return irq;
}

static struct ioregion_irq *
level_line(void)
{
	struct ioregion_irq *irq = NULL;

	ior_assert_int_eq(ioregion_irq_new(ctx, trig, resample, &irq), 0);
	ior_assert_ptr_nonnull(irq);
	return irq;
}

START_TEST(test_irq_edge_every_raise_and_pulse_is_one_write)
{
	struct ioregion_irq *irq = edge_line();

	for (int i = 0; i < 3; i++)
		ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 3);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 1);
	ior_assert_int_eq(ioregion_irq_lower(irq), 0);
	ior_assert_uint_eq(writes(), 0);		/* lower: no syscall */
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);
	ior_assert_int_eq(ioregion_irq_pulse(irq), 0);
	ior_assert_int_eq(ioregion_irq_pulse(irq), 0);
	ior_assert_uint_eq(writes(), 2);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);
	ior_assert_uint_eq(stats(irq).triggers, 5);
	ior_assert_uint_eq(stats(irq).errors, 0);
}
END_TEST

START_TEST(test_irq_edge_set_makes_an_edge_on_rising_changes_only)
{
	struct ioregion_irq *irq = edge_line();

	ior_assert_int_eq(ioregion_irq_set(irq, true), 0);
	ior_assert_int_eq(ioregion_irq_set(irq, true), 0);	/* still high */
	ior_assert_uint_eq(writes(), 1);
	ior_assert_int_eq(ioregion_irq_set(irq, false), 0);
	ior_assert_int_eq(ioregion_irq_set(irq, false), 0);
	ior_assert_uint_eq(writes(), 0);
	ior_assert_int_eq(ioregion_irq_set(irq, true), 0);
	ior_assert_uint_eq(writes(), 1);
	/* raise is an explicit event: it writes although the line is high */
	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 1);
}
END_TEST

START_TEST(test_irq_level_raise_without_eoi_writes_once)
{
	struct ioregion_irq *irq = level_line();

	for (int i = 0; i < 10; i++)
		ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_int_eq(ioregion_irq_set(irq, true), 0);
	ior_assert_uint_eq(writes(), 1);
	ior_assert_uint_eq(stats(irq).triggers, 1);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 1);
	/* lowered and raised again before the EOI: KVM still holds it */
	ior_assert_int_eq(ioregion_irq_lower(irq), 0);
	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 0);
}
END_TEST

START_TEST(test_irq_level_eoi_while_wanted_reasserts)
{
	struct ioregion_irq *irq = level_line();

	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 1);
	for (int i = 0; i < 3; i++) {
		eoi();
		ior_assert_uint_eq(writes(), 1);
		/* held again: a raise in between writes nothing */
		ior_assert_int_eq(ioregion_irq_raise(irq), 0);
		ior_assert_uint_eq(writes(), 0);
	}
	ior_assert_uint_eq(stats(irq).resamples, 3);
	ior_assert_uint_eq(stats(irq).reasserts, 3);
	ior_assert_uint_eq(stats(irq).triggers, 4);
}
END_TEST

START_TEST(test_irq_level_lower_then_eoi_does_not_reassert)
{
	struct ioregion_irq *irq = level_line();

	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 1);
	ior_assert_int_eq(ioregion_irq_lower(irq), 0);
	eoi();
	ior_assert_uint_eq(writes(), 0);
	ior_assert_uint_eq(stats(irq).resamples, 1);
	ior_assert_uint_eq(stats(irq).reasserts, 0);
	/* KVM dropped it at the EOI: the next raise writes at once */
	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 1);
	/* a set(false) from a callback is a lower */
	ior_assert_int_eq(ioregion_irq_set(irq, false), 0);
	eoi();
	ior_assert_uint_eq(writes(), 0);
}
END_TEST

START_TEST(test_irq_level_pulse_asserts_until_the_next_eoi_only)
{
	struct ioregion_irq *irq = level_line();

	ior_assert_int_eq(ioregion_irq_pulse(irq), 0);
	ior_assert_uint_eq(writes(), 1);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);
	ior_assert_int_eq(ioregion_irq_pulse(irq), 0);	/* still held */
	ior_assert_uint_eq(writes(), 0);
	eoi();
	ior_assert_uint_eq(writes(), 0);
	ior_assert_int_eq(ioregion_irq_pulse(irq), 0);
	ior_assert_uint_eq(writes(), 1);
}
END_TEST

/* The eventfd counter at its maximum (2^64 - 2): a write is EAGAIN. */
START_TEST(test_irq_full_counter_is_coalesced_not_an_error)
{
	uint64_t max = UINT64_MAX - 1;
	struct ioregion_irq *e = edge_line();
	struct ioregion_irq *l;

	ior_assert_int_eq(write(trig, &max, sizeof(max)), sizeof(max));
	ior_assert_int_eq(ioregion_irq_raise(e), 0);
	ior_assert_int_eq(ioregion_irq_pulse(e), 0);
	ior_assert_uint_eq(stats(e).coalesced, 2);
	ior_assert_uint_eq(stats(e).triggers, 0);
	ior_assert_uint_eq(stats(e).errors, 0);
	/* a level line counts as held: pending is pending */
	l = level_line();
	ior_assert_int_eq(ioregion_irq_raise(l), 0);
	ior_assert_int_eq(ioregion_irq_raise(l), 0);
	ior_assert_uint_eq(stats(l).coalesced, 1);
	ior_assert_uint_eq(writes(), max);
	eoi();
	ior_assert_uint_eq(writes(), 1);	/* re-asserted after the EOI */
	ior_assert_uint_eq(stats(l).reasserts, 1);
}
END_TEST

/* The get_fd set watches the resample fd: made before and after it. */
START_TEST(test_irq_get_fd_readable_on_resample)
{
	int resample2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct ioregion_irq *a = level_line(), *b;
	uint64_t one = 1;
	int fd;

	ior_assert_int_ge(resample2, 0);
	fd = ioregion_ctx_get_fd(ctx);		/* after a */
	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, trig, resample2, &b), 0);
	ior_assert(!ior_readable(fd, 0));
	ior_assert_int_eq(ioregion_irq_raise(a), 0);
	ior_assert_int_eq(ioregion_irq_raise(b), 0);
	ior_assert_uint_eq(writes(), 2);
	ior_assert(!ior_readable(fd, 0));

	ior_assert_int_eq(write(resample, &one, sizeof(one)), sizeof(one));
	ior_assert(ior_readable(fd, 1000));
	ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);
	ior_assert(!ior_readable(fd, 0));
	ior_assert_uint_eq(writes(), 1);
	ior_assert_uint_eq(stats(a).resamples, 1);

	ior_assert_int_eq(write(resample2, &one, sizeof(one)), sizeof(one));
	ior_assert(ior_readable(fd, 1000));
	ior_assert_int_eq(ioregion_ctx_dispatch(ctx), 0);
	ior_assert(!ior_readable(fd, 0));
	ior_assert_uint_eq(stats(b).resamples, 1);

	/* a destroyed line leaves the set */
	ioregion_irq_destroy(b);
	ior_assert_int_eq(write(resample2, &one, sizeof(one)), sizeof(one));
	ior_assert(!ior_readable(fd, 0));
	close(resample2);
}
END_TEST

/* A line on a loop the caller runs: libev sees the resample fd too. */
START_TEST(test_irq_resample_heard_by_ev_run)
{
	struct ioregion_irq *irq = level_line();
	uint64_t one = 1;

	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_uint_eq(writes(), 1);
	ior_assert_int_eq(write(resample, &one, sizeof(one)), sizeof(one));
	ev_run(ioregion_ctx_get_loop(ctx), EVRUN_NOWAIT);
	ior_assert_uint_eq(writes(), 1);
	ior_assert_uint_eq(stats(irq).reasserts, 1);
}
END_TEST

/* A device whose status register holds pending bits: a write sets them,
 * the line follows "any bit pending", from inside the region callback. */
static struct ioregion_irq *dev_line;
static uint64_t dev_pending;

static int
status_write(struct ioregion_region *r, uint64_t off, unsigned size,
	     uint64_t val)
{
	(void)r;
	(void)off;
	(void)size;
	dev_pending = val;
	return ioregion_irq_set(dev_line, dev_pending != 0);
}

static int
status_read(struct ioregion_region *r, uint64_t off, unsigned size,
	    uint64_t *val)
{
	(void)r;
	(void)off;
	(void)size;
	*val = (uint64_t)ioregion_irq_is_asserted(dev_line) << 63 | dev_pending;
	return 0;
}

START_TEST(test_irq_raised_and_lowered_from_region_callbacks)
{
	static const struct ioregion_region_ops ops = {
		.read = status_read, .write = status_write,
	};
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 8, .ops = &ops,
	};
	struct ioregion_region *r;

	dev_line = level_line();
	dev_pending = 0;
	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	send_cmd(peer, 1, 3, true, ud(r), 0, 0x5);
	ior_assert_uint_eq(response(peer), 0);
	send_cmd(peer, 1, 3, true, ud(r), 0, 0x4);	/* still pending */
	ior_assert_uint_eq(response(peer), 0);
	ior_assert_uint_eq(writes(), 1);
	send_cmd(peer, 0, 3, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 1ull << 63 | 4);
	eoi();
	ior_assert_uint_eq(writes(), 1);		/* still pending */
	send_cmd(peer, 1, 3, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 0);
	eoi();
	ior_assert_uint_eq(writes(), 0);
	send_cmd(peer, 0, 3, true, ud(r), 0, 0);
	ior_assert_uint_eq(response(peer), 0);
}
END_TEST

START_TEST(test_irq_caller_may_close_its_fds_at_once)
{
	int keep = dup(trig);		/* the test's view of the counter */
	struct ioregion_irq *irq;
	uint64_t n;

	ior_assert_int_ge(keep, 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, trig, -1, &irq), 0);
	close(trig);
	trig = keep;
	ior_assert_int_eq(ioregion_irq_raise(irq), 0);
	ior_assert_int_eq(read(trig, &n, sizeof(n)), sizeof(n));
	ior_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_irq_destroy_and_ctx_unref_close_every_fd)
{
	int before = ior_count_fds();
	struct ioregion_irq *a, *b;
	struct ioregion_ctx *c2;

	ior_assert_int_eq(ioregion_irq_new(ctx, trig, resample, &a), 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, trig, -1, &b), 0);
	ior_assert_int_eq(ior_count_fds(), before + 3);
	ioregion_irq_destroy(a);
	ior_assert_int_eq(ior_count_fds(), before + 1);
	ioregion_irq_destroy(b);
	ioregion_irq_destroy(NULL);
	ior_assert_int_eq(ior_count_fds(), before);

	/* the last unref destroys the lines still on the context */
	ior_assert_int_eq(ioregion_ctx_new(NULL, &c2), 0);
	ior_assert_int_eq(ioregion_irq_new(c2, trig, resample, &a), 0);
	ior_assert_int_eq(ioregion_irq_new(c2, trig, -1, &b), 0);
	ior_assert_int_ge(ioregion_ctx_get_fd(c2), 0);
	ior_assert_int_eq(ioregion_irq_raise(a), 0);
	ior_assert_int_gt(ior_count_fds(), before + 3);
	c2 = ioregion_ctx_unref(c2);
	ior_assert_int_eq(ior_count_fds(), before);
}
END_TEST

START_TEST(test_irq_new_refuses_bad_arguments)
{
	int before = ior_count_fds();
	int blocking = eventfd(0, EFD_CLOEXEC);
	int pfd[2], closed;
	struct ioregion_irq *irq = (struct ioregion_irq *)&irq;

	ior_assert_int_ge(blocking, 0);
	ior_assert_int_eq(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
	closed = 999;	/* high: our own duplicates cannot land on it */
	ior_assert_int_lt(fcntl(closed, F_GETFD), 0);

	ior_assert_errno(ioregion_irq_new(NULL, trig, -1, &irq), -EINVAL);
	ior_assert_ptr_null(irq);
	ior_assert_errno(ioregion_irq_new(ctx, trig, -1, NULL), -EINVAL);
	ior_assert_errno(ioregion_irq_new(ctx, -1, -1, &irq), -EBADF);
	ior_assert_errno(ioregion_irq_new(ctx, trig, -2, &irq), -EBADF);
	ior_assert_errno(ioregion_irq_new(ctx, closed, -1, &irq), -EBADF);
	ior_assert_errno(ioregion_irq_new(ctx, trig, closed, &irq), -EBADF);
	ior_assert_errno(ioregion_irq_new(ctx, trig, trig, &irq), -EINVAL);
	/* not an eventfd */
	ior_assert_errno(ioregion_irq_new(ctx, pfd[1], -1, &irq), -EINVAL);
	ior_assert_errno(ioregion_irq_new(ctx, trig, pfd[0], &irq), -EINVAL);
	ior_assert_errno(ioregion_irq_new(ctx, peer, -1, &irq), -EINVAL);
	/* blocking */
	ior_assert_errno(ioregion_irq_new(ctx, blocking, -1, &irq), -EINVAL);
	ior_assert_errno(ioregion_irq_new(ctx, trig, blocking, &irq), -EINVAL);
	ior_assert_ptr_null(irq);
	close(blocking);
	close(pfd[0]);
	close(pfd[1]);
	ior_assert_int_eq(ior_count_fds(), before);	/* no duplicate left */
}
END_TEST

START_TEST(test_irq_null_line_is_einval)
{
	struct ioregion_irq_stats st;
	struct ioregion_irq *irq = edge_line();

	ior_assert_errno(ioregion_irq_raise(NULL), -EINVAL);
	ior_assert_errno(ioregion_irq_lower(NULL), -EINVAL);
	ior_assert_errno(ioregion_irq_pulse(NULL), -EINVAL);
	ior_assert_errno(ioregion_irq_set(NULL, true), -EINVAL);
	ior_assert_errno(ioregion_irq_set(NULL, false), -EINVAL);
	ior_assert_errno(ioregion_irq_is_asserted(NULL), -EINVAL);
	ior_assert_errno(ioregion_irq_get_stats(NULL, &st), -EINVAL);
	ior_assert_errno(ioregion_irq_get_stats(irq, NULL), -EINVAL);
}
END_TEST

/* ---- VMM side without KVM: every refusal before the ioctl ------------ */

START_TEST(test_irqfd_assign_refuses_bad_arguments)
{
	int before = ior_count_fds();
	int t = 7, r = 7;

	ior_assert_errno(ioregion_irqfd_assign(-1, 4, 0, &t, &r), -EBADF);
	ior_assert_int_eq(t, -1);
	ior_assert_int_eq(r, -1);
	ior_assert_errno(ioregion_irqfd_assign(trig, 4, 0, &t, NULL), -EBADF);
	ior_assert_errno(ioregion_irqfd_assign(peer, 10, IOREGION_IRQ_LEVEL,
					       &t, &r), -EBADF);
	t = r = 7;
	ior_assert_errno(ioregion_irqfd_assign(trig, 4, 1u << 1, &t, &r), -EINVAL);
	ior_assert_int_eq(t, -1);
	ior_assert_int_eq(r, -1);
	ior_assert_errno(ioregion_irqfd_assign(trig, 4, 0, NULL, &r), -EINVAL);
	ior_assert_errno(ioregion_irqfd_assign(trig, 10, IOREGION_IRQ_LEVEL,
					       &t, NULL), -EINVAL);
	ior_assert_int_eq(ior_count_fds(), before);	/* nothing made */
}
END_TEST

START_TEST(test_irqfd_deassign_refuses_bad_fds)
{
	ior_assert_errno(ioregion_irqfd_deassign(-1, 4, trig), -EBADF);
	ior_assert_errno(ioregion_irqfd_deassign(trig, 4, trig), -EBADF);
	ior_assert_errno(ioregion_irqfd_deassign(trig, 4, -1), -EBADF);
}
END_TEST

static Suite *
irq_suite(void)
{
	Suite *s = suite_create("irq");
	TCase *tc = tcase_create("irq");

	tcase_add_checked_fixture(tc, irq_setup, irq_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_irq_edge_every_raise_and_pulse_is_one_write);
	tcase_add_test(tc, test_irq_edge_set_makes_an_edge_on_rising_changes_only);
	tcase_add_test(tc, test_irq_level_raise_without_eoi_writes_once);
	tcase_add_test(tc, test_irq_level_eoi_while_wanted_reasserts);
	tcase_add_test(tc, test_irq_level_lower_then_eoi_does_not_reassert);
	tcase_add_test(tc, test_irq_level_pulse_asserts_until_the_next_eoi_only);
	tcase_add_test(tc, test_irq_full_counter_is_coalesced_not_an_error);
	tcase_add_test(tc, test_irq_get_fd_readable_on_resample);
	tcase_add_test(tc, test_irq_resample_heard_by_ev_run);
	tcase_add_test(tc, test_irq_raised_and_lowered_from_region_callbacks);
	tcase_add_test(tc, test_irq_caller_may_close_its_fds_at_once);
	tcase_add_test(tc, test_irq_destroy_and_ctx_unref_close_every_fd);
	tcase_add_test(tc, test_irq_new_refuses_bad_arguments);
	tcase_add_test(tc, test_irq_null_line_is_einval);
	tcase_add_test(tc, test_irqfd_assign_refuses_bad_arguments);
	tcase_add_test(tc, test_irqfd_deassign_refuses_bad_fds);
	suite_add_tcase(s, tc);
	return s;
}

IOR_TEST_MAIN(irq_suite)
