/* SPDX-License-Identifier: MIT */
/*
 * Control session: a device process that dies and a restarted one that
 * re-attaches while the "guest" (the bridge's accesses) goes on; and
 * peers that stop talking, at every stage, cost a bounded wait.
 */
#include "test-common.h"
#include "session-fixture.h"
#include "session-raw.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/device.h"
#include "ioregion/vmm.h"
#include "ioregion/wire.h"

#define BOUND_MS 200
/* Bounded means: back within this many times the bound (generous: the
 * machine is shared). */
#define SLACK 10

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t
spawn_pair(const struct tdev_opts *o, int *vmm_end)
{
	int sv[2];

	tvmm_pair(sv);
	*vmm_end = sv[0];
	return tdev_spawn(sv[1], o);
}

/* Everything the device got works: registers, memory, both lines. */
static void
check_device(struct tvmm *v)
{
	uint64_t one = 1;

	tvmm_write(v, TDEV_SCRATCH, 0x42);
	ior_assert_uint_eq(tvmm_read(v, TDEV_SCRATCH), 0x42);
	tvmm_write(v, TDEV_MEM_ADDR, TVMM_RAM_GPA + 4 * 3);
	ior_assert_uint_eq(tvmm_read(v, TDEV_MEM_DATA), TVMM_PATTERN(3));
	tvmm_write(v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v->edge_fd, 5000), 1);
	tvmm_write(v, TDEV_ASSERT, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v->level_fd, 5000), 1);
	tvmm_write(v, TDEV_LOWER, 1);
	ior_assert_int_eq(write(v->resample_fd, &one, sizeof(one)), 8);
	for (int i = 0; i < 500 && tvmm_read(v, TDEV_RESAMPLES) == 0; i++)
		usleep(10000);
	ior_assert_uint_eq(tvmm_read(v, TDEV_RESAMPLES), 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v->level_fd, 50), 0);
}

static void
reconnect(bool fallback)
{
	struct tdev_opts o = { .nlines = 2, .memory = true, .two_regions = true };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	uint64_t val = 0;
	int sock, fds;
	pid_t a, b;

	tvmm_init(&v);
	if (fallback)
		v.cfg.flags = IOREGION_VMM_F_FALLBACK;
	fds = ior_count_fds();
	a = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_attach(sock, &v.cfg, &dev), 0);
	check_device(&v);

	/* The device dies. In the gap the bridge answers at once: the
	 * device hung up, then the channel has failed. */
	kill(a, SIGKILL);
	ior_assert_int_eq(tdev_wait(a, 10000), -SIGKILL);
	ior_assert_int_eq(tvmm_access(&v, TDEV_SCRATCH, false, &val),
			  -ECONNRESET);
	ior_assert_uint_eq(val, ~0ull);
	ior_assert_int_eq(tvmm_access(&v, TDEV_SCRATCH, false, &val),
			  -ENOTCONN);
	ior_assert_int_eq(ioregion_vmm_check(dev), -ECONNRESET);
	ior_assert_int_eq(ioregion_vmm_get_fd(dev), -ENOTCONN);
	ior_assert_int_eq(ioregion_vmm_reset(dev), -ENOTCONN);

	/* A new process re-attaches: new channels on every path, the same
	 * lines and the same memory. */
	b = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_reattach(dev, sock), 0);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), TDEV_SCRATCH_RESET);
	check_device(&v);
	val = 9;
	ior_assert_int_eq(ioregion_bridge_access(v.bridge, true, TDEV_PIO_BASE,
						 true, 1, &val), 1);
	ior_assert_int_eq(ioregion_vmm_reset(dev), 0);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_RESETS), 1);

	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(b, 10000), 0);
	ioregion_vmm_destroy(dev);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}

START_TEST(test_reconnect)
{
	reconnect(false);
}
END_TEST

START_TEST(test_reconnect_fallback)
{
	reconnect(true);
}
END_TEST

/* The re-attached device gets the memory table as it is now, not as it
 * was at the first attach. */
START_TEST(test_reconnect_memory_table)
{
	struct tdev_opts o = { .memory = true };
	struct ioregion_mem_slot extra = {
		.gpa = 0x200000, .size = 0x1000, .offset = 0x1000,
	};
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sock;
	pid_t a, b;

	tvmm_init(&v);
	a = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_attach(sock, &v.cfg, &dev), 0);
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, v.ram_fd), 0);
	ior_assert_int_eq(ioregion_vmm_mem_remove(dev, TVMM_RAM_GPA), 0);
	kill(a, SIGKILL);
	ior_assert_int_eq(tdev_wait(a, 10000), -SIGKILL);

	b = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_reattach(dev, sock), 0);
	tvmm_write(&v, TDEV_MEM_ADDR, 0x200000);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA),
			   TVMM_PATTERN(0x1000 / 4));
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(b, 10000), 0);
	ioregion_vmm_destroy(dev);
	tvmm_fini(&v);
}
END_TEST

/* Only the same device may re-attach: name, lines, regions. A refused
 * one hears why; then the right one still can. */
START_TEST(test_reconnect_other_device)
{
	struct tdev_opts o = { .nlines = 1 };
	struct tdev_opts other_name = { .nlines = 1, .name = "other" };
	struct tdev_opts other_lines = { .nlines = 2 };
	struct tdev_opts other_regions = { .nlines = 1, .two_regions = true };
	const struct tdev_opts *wrong[] = {
		&other_name, &other_lines, &other_regions,
	};
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sock, fds;
	pid_t a, b;

	tvmm_init(&v);
	fds = ior_count_fds();
	a = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_attach(sock, &v.cfg, &dev), 0);
	kill(a, SIGKILL);
	ior_assert_int_eq(tdev_wait(a, 10000), -SIGKILL);
	for (unsigned int i = 0; i < 3; i++) {
		b = spawn_pair(wrong[i], &sock);
		ior_assert_int_eq(ioregion_vmm_reattach(dev, sock), -EPROTO);
		ior_assert_int_eq(tdev_wait(b, 10000), ECONNREFUSED);
	}
	b = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_reattach(dev, sock), 0);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 5000), 1);
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(b, 10000), 0);
	ioregion_vmm_destroy(dev);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}
END_TEST

/* Without a SHUTDOWN the device hears the VMM's end as EOF. */
START_TEST(test_vmm_gone)
{
	struct tdev_opts o = { 0 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sock;
	pid_t a;

	tvmm_init(&v);
	a = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_attach(sock, &v.cfg, &dev), 0);
	ioregion_vmm_destroy(dev);
	ior_assert_int_eq(tdev_wait(a, 10000), TDEV_EXIT_RESET);
	tvmm_fini(&v);
}
END_TEST

/* A device that says HELLO and then nothing: the VMM's attach gives up
 * within the bound, and the device is told. */
START_TEST(test_stall_device)
{
	struct ioregion_session_hello h = { .name = "mute" };
	struct ioregion_session_hdr hdr;
	struct ioregion_session_error e;
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sv[2], fds;
	int64_t t0, dt;

	tvmm_init(&v);
	v.cfg.timeout_ms = BOUND_MS;
	fds = ior_count_fds();
	/* Silent from the start, then after HELLO. */
	for (int step = 0; step < 2; step++) {
		tvmm_pair(sv);
		if (step)
			raw_send(sv[1], NULL, IOREGION_SESSION_HELLO, &h,
				 sizeof(h), NULL, 0);
		t0 = now_ms();
		ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev),
				  -ETIMEDOUT);
		dt = now_ms() - t0;
		ior_assert_int_ge(dt, BOUND_MS - 5);
		ior_assert_int_lt(dt, SLACK * BOUND_MS);
		if (step) {	/* WELCOME, then the reason */
			ior_assert_int_gt(raw_recv(sv[1], &hdr, &e, sizeof(e),
						   1000), 0);
			ior_assert_uint_eq(hdr.type, IOREGION_SESSION_WELCOME);
		}
		ior_assert_int_eq(raw_recv(sv[1], &hdr, &e, sizeof(e), 1000),
				  (ssize_t)(sizeof(hdr) + sizeof(e)));
		ior_assert_uint_eq(hdr.type, IOREGION_SESSION_ERROR);
		ior_assert_int_eq(e.error, ETIMEDOUT);
		close(sv[1]);
	}
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}
END_TEST

/* A VMM that says nothing (or stops after WELCOME): the device's attach
 * gives up within the bound, no channel or fd stays. */
START_TEST(test_stall_vmm)
{
	static const struct ioregion_region_ops ops = { 0 };
	struct ioregion_device_region region = {
		"r", { .addr = 0x1000, .size = 0x10, .ops = &ops },
	};
	struct ioregion_device_config cfg = {
		.name = "d", .regions = &region, .nregions = 1,
		.timeout_ms = BOUND_MS,
	};
	struct ioregion_session_welcome w = { .dialect = IOREGION_WIRE_V3 };
	struct ioregion_device *dev;
	struct ioregion_ctx *ctx;
	int sv[2], fds;
	int64_t t0, dt;

	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	ioregion_ctx_set_log_handler(ctx, NULL, NULL);
	fds = ior_count_fds();
	for (int step = 0; step < 2; step++) {
		tvmm_pair(sv);
		if (step)
			raw_send(sv[1], NULL, IOREGION_SESSION_WELCOME, &w,
				 sizeof(w), NULL, 0);
		t0 = now_ms();
		ior_assert_int_eq(ioregion_device_attach(ctx, sv[0], &cfg,
							 &dev), -ETIMEDOUT);
		dt = now_ms() - t0;
		ior_assert_int_ge(dt, BOUND_MS - 5);
		ior_assert_int_lt(dt, SLACK * BOUND_MS);
		close(sv[1]);	/* with the REGION fds in its queue */
	}
	ior_assert_int_eq(ior_count_fds(), fds);
	ioregion_ctx_unref(ctx);
}
END_TEST

/* A device that stops after READY: a request gets -ETIMEDOUT within the
 * bound and closes the session (a late ACK would answer the next one). */
START_TEST(test_stall_after_ready)
{
	struct tdev_opts o = { 0 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int64_t t0, dt;
	int sock;
	pid_t a;

	tvmm_init(&v);
	v.cfg.timeout_ms = BOUND_MS;
	a = spawn_pair(&o, &sock);
	ior_assert_int_eq(ioregion_vmm_attach(sock, &v.cfg, &dev), 0);
	kill(a, SIGSTOP);
	t0 = now_ms();
	ior_assert_int_eq(ioregion_vmm_reset(dev), -ETIMEDOUT);
	dt = now_ms() - t0;
	ior_assert_int_ge(dt, BOUND_MS - 5);
	ior_assert_int_lt(dt, SLACK * BOUND_MS);
	ior_assert_int_eq(ioregion_vmm_reset(dev), -ENOTCONN);
	kill(a, SIGCONT);
	/* It resets, answers into a closed socket, then sees the EOF. */
	ior_assert_int_eq(tdev_wait(a, 10000), TDEV_EXIT_RESET);
	ioregion_vmm_destroy(dev);
	tvmm_fini(&v);
}
END_TEST

static Suite *
reconnect_suite(void)
{
	Suite *s = suite_create("session-reconnect");

	ior_add_test_timeout(s, test_reconnect, 60);
	ior_add_test_timeout(s, test_reconnect_fallback, 60);
	ior_add_test_timeout(s, test_reconnect_memory_table, 60);
	ior_add_test_timeout(s, test_reconnect_other_device, 60);
	ior_add_test_timeout(s, test_vmm_gone, 60);
	ior_add_test_timeout(s, test_stall_device, 60);
	ior_add_test_timeout(s, test_stall_vmm, 60);
	ior_add_test_timeout(s, test_stall_after_ready, 60);
	return s;
}

IOR_TEST_MAIN(reconnect_suite)
