/* SPDX-License-Identifier: MIT */
/*
 * Integration: a device server in its own process hands its regions to
 * this process (the VMM role) with the hand-off, and the bridge drives
 * them exactly as it drives KVM exits. Real processes, real sockets.
 */
#include "test-common.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/bridge.h"
#include "ioregion/handoff.h"
#include "ioregion/server.h"

#define MMIO_BASE 0xd0000000ull
#define PIO_BASE 0x3f8

/* ---- the device process ---------------------------------------------- */

struct scratch {
	uint8_t mem[0x100];
	uint64_t posted_sum, posted_count;
};

static int
scratch_read(struct ioregion_region *r, uint64_t off, unsigned size,
	     uint64_t *val)
{
	struct scratch *s = ioregion_region_get_userdata(r);

	if (off == 0xf0) {		/* sum of the posted writes, then clear */
		*val = s->posted_sum;
		s->posted_sum = 0;
		return 0;
	}
	if (off == 0xe8) {
		*val = s->posted_count;
		return 0;
	}
	*val = 0;
	memcpy(val, s->mem + off, size);
	return 0;
}

static int
scratch_write(struct ioregion_region *r, uint64_t off, unsigned size,
	      uint64_t val)
{
	struct scratch *s = ioregion_region_get_userdata(r);

	memcpy(s->mem + off, &val, size);
	return 0;
}

static int
doorbell_write(struct ioregion_region *r, uint64_t off, unsigned size,
	       uint64_t val)
{
	struct scratch *s = ioregion_region_get_userdata(r);

	/* posted writes must arrive in order: each carries its index */
	if (val != s->posted_count)
		s->posted_sum = ~0ull;	/* poison: seen out of order */
	else
		s->posted_sum += val;
	s->posted_count++;
	return 0;
}

static void
on_close(struct ioregion_channel *ch, int error, void *data)
{
	ev_break(data, EVBREAK_ALL);
}

/* Runs in the child: never returns. */
static void
device_main(int sock, enum ioregion_wire_dialect dialect)
{
	static const struct ioregion_region_ops scratch_ops = {
		.read = scratch_read, .write = scratch_write,
	};
	static const struct ioregion_region_ops doorbell_ops = {
		.write = doorbell_write,
	};
	struct scratch s = { 0 };
	struct ioregion_region_config cfg[] = {
		{ .addr = MMIO_BASE, .size = 0x100, .ops = &scratch_ops, .userdata = &s },
		{ .addr = PIO_BASE, .size = 8, .flags = IOREGION_F_PIO,
		  .ops = &scratch_ops, .userdata = &s },
		{ .addr = MMIO_BASE + 0x1000, .size = 8,
		  .flags = IOREGION_F_POSTED_WRITES, .ops = &doorbell_ops,
		  .userdata = &s },
	};
	static const char *names[] = { "scratch", "scratch-pio", "doorbell" };
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch;

	if (ioregion_ctx_new(NULL, &ctx) < 0 ||
	    ioregion_channel_new(ctx, dialect, &ch) < 0)
		_exit(10);
	for (size_t i = 0; i < 3; i++) {
		struct ioregion_region *r;
		struct ioregion_desc d;

		if (ioregion_region_new(ch, &cfg[i], &r) < 0 ||
		    ioregion_region_get_desc(r, &d) < 0 ||
		    ioregion_handoff_send(sock, &d, ioregion_channel_peer_fd(ch),
					  names[i]) < 0)
			_exit(11);
	}
	if (ioregion_handoff_send_end(sock) < 0)
		_exit(12);
	close(sock);
	/* The VMM holds the peer end now: drop ours so its exit is our EOF. */
	close(ioregion_channel_take_peer_fd(ch));
	ioregion_channel_set_close_handler(ch, on_close, ioregion_ctx_get_loop(ctx));
	ev_run(ioregion_ctx_get_loop(ctx), 0);
	ioregion_ctx_unref(ctx);
	_exit(0);
}

/* ---- the VMM side ----------------------------------------------------- */

static pid_t child;
static struct ioregion_bridge *bridge;

static void
start_device(enum ioregion_wire_dialect dialect)
{
	int sv[2], n = 0, rc;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	child = fork();
	ior_assert_int_ge(child, 0);
	if (child == 0) {
		close(sv[0]);
		device_main(sv[1], dialect);
	}
	close(sv[1]);
	ior_assert_int_eq(ioregion_handoff_check_peer(sv[0], getuid()), 0);
	ior_assert_int_eq(ioregion_bridge_new(&bridge), 0);
	ior_assert_int_eq(ioregion_bridge_set_timeout(bridge, 500), 0);
	for (;;) {
		struct ioregion_desc d;
		char name[IOREGION_HANDOFF_NAME_MAX];
		int fd;

		rc = ioregion_handoff_recv(sv[0], &d, &fd, name);
		if (rc == 0)
			break;
		ior_assert_int_eq(rc, 1);
		ior_assert_int_eq(d.dialect, dialect);
		ior_assert_int_eq(ioregion_bridge_add(bridge, &d, fd), 0);
		close(fd);	/* the bridge keeps its own duplicate */
		n++;
	}
	ior_assert_int_eq(n, 3);
	close(sv[0]);
}

static int
stop_device(void)
{
	int status = 0;

	bridge = ioregion_bridge_unref(bridge);	/* closes the fds: EOF */
	ior_assert_int_eq(waitpid(child, &status, 0), child);
	return status;
}

static uint64_t
bread(bool pio, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	ior_assert_int_eq(ioregion_bridge_access(bridge, pio, addr, false, size, &v), 1);
	return v;
}

static void
bwrite(bool pio, uint64_t addr, unsigned size, uint64_t v)
{
	ior_assert_int_eq(ioregion_bridge_access(bridge, pio, addr, true, size, &v), 1);
}

static void
check_all_widths_and_posted_order(void)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	for (size_t i = 0; i < 4; i++) {
		uint64_t v = 0x1122334455667788ull & ((sizes[i] == 8) ? ~0ull :
			     ((1ull << (8 * sizes[i])) - 1));

		bwrite(false, MMIO_BASE + 0x10 * i, sizes[i], v);
		ior_assert_uint_eq(bread(false, MMIO_BASE + 0x10 * i, sizes[i]), v);
	}
	for (unsigned size = 1; size <= 4; size *= 2) {
		bwrite(true, PIO_BASE + 4, size, 0xa5a5a5a5u);
		ior_assert_uint_eq(bread(true, PIO_BASE + 4, size),
				   0xa5a5a5a5u & ((1ull << (8 * size)) - 1));
	}
	/* 1000 posted writes, then one read that must see all, in order */
	for (uint64_t i = 0; i < 1000; i++)
		bwrite(false, MMIO_BASE + 0x1000, 8, i);
	ior_assert_uint_eq(bread(false, MMIO_BASE + 0xe8, 8), 1000);
	ior_assert_uint_eq(bread(false, MMIO_BASE + 0xf0, 8), 999ull * 1000 / 2);
	ior_assert_uint_eq(bread(false, MMIO_BASE + 0xf0, 8), 0);	/* cleared */
}

START_TEST(test_integration_device_process_through_bridge_v3)
{
	struct ioregion_bridge_stats st;

	start_device(IOREGION_WIRE_V3);
	check_all_widths_and_posted_order();
	ior_assert_int_eq(ioregion_bridge_get_stats(bridge, false, MMIO_BASE + 0x1000, &st), 0);
	ior_assert_uint_eq(st.posted_writes, 1000);
	ior_assert_uint_eq(st.errors, 0);
	ior_assert_int_eq(stop_device(), 0);	/* the device exits on EOF */
}
END_TEST

START_TEST(test_integration_device_process_through_bridge_info_dialect)
{
	start_device(IOREGION_WIRE_INFO);
	check_all_widths_and_posted_order();
	ior_assert_int_eq(stop_device(), 0);
}
END_TEST

START_TEST(test_integration_device_killed_reports_error_within_bound)
{
	struct timespec a, b;
	uint64_t v = 0;
	int rc, status;
	long ms;

	start_device(IOREGION_WIRE_V3);
	ior_assert_uint_eq(bread(false, MMIO_BASE, 1), 0);
	kill(child, SIGKILL);
	ior_assert_int_eq(waitpid(child, &status, 0), child);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = ioregion_bridge_access(bridge, false, MMIO_BASE, false, 4, &v);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ior_assert(rc == -ECONNRESET || rc == -EPIPE);
	ior_assert_uint_eq(v, ~0ull & 0xffffffffull);	/* all-ones read */
	ior_assert_int_lt(ms, 600);
	/* the fd stays failed */
	ior_assert_errno(ioregion_bridge_access(bridge, false, MMIO_BASE, false, 4, &v),
			 -ENOTCONN);
	bridge = ioregion_bridge_unref(bridge);
}
END_TEST

static Suite *
integration_suite(void)
{
	Suite *s = suite_create("integration");

	ior_add_test_timeout(s, test_integration_device_process_through_bridge_v3, 60);
	ior_add_test_timeout(s, test_integration_device_process_through_bridge_info_dialect, 60);
	ior_add_test_timeout(s, test_integration_device_killed_reports_error_within_bound, 60);
	return s;
}

IOR_TEST_MAIN(integration_suite)
