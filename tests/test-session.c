/* SPDX-License-Identifier: MIT */
/*
 * Control session, end to end: a device process on the device helper and
 * this process as the VMM on the VMM helper, over a socketpair or a
 * listening socket; the bridge plays the kernel (ioregion_bridge_access).
 * Set-up, accesses, interrupt lines, guest memory and its updates, reset,
 * shutdown, and what the VMM refuses (another uid, a KVM that refuses the
 * regions). Reconnect and stalls: test-session-reconnect.c; malformed
 * messages: test-session-bad.c.
 */
#include "test-common.h"
#include "session-fixture.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ioregion/device.h"
#include "ioregion/vmm.h"
#include "ioregion/wire.h"

/* Shut @p dev down, see its process @p pid exit 0, destroy it. */
static void
detach(struct ioregion_vmm_device *dev, pid_t pid)
{
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(pid, 10000), 0);
	ioregion_vmm_destroy(dev);
}

START_TEST(test_full_session)
{
	struct tdev_opts o = { .nlines = 2, .memory = true, .two_regions = true };
	struct ioregion_vmm_device *dev;
	struct ioregion_desc d;
	const char *name;
	struct tvmm v;
	uint64_t val;
	int fds, before = ior_count_fds();
	pid_t pid;

	tvmm_init(&v);
	fds = ior_count_fds();
	pid = tvmm_attach(&v, &o, &dev);
	ior_assert_str_eq(ioregion_vmm_get_name(dev), "tdev");
	ior_assert_int_eq(ioregion_vmm_is_fast_path(dev), 0);
	ior_assert_int_eq(ioregion_vmm_keeps_state(dev), 0);
	ior_assert_int_eq(ioregion_vmm_get_dialect(dev), IOREGION_WIRE_V3);
	ior_assert_uint_eq(ioregion_vmm_get_nregions(dev), 2);
	ior_assert_int_eq(ioregion_vmm_get_region(dev, 1, &d, &name), 0);
	ior_assert_str_eq(name, "pio");
	ior_assert_uint_eq(d.addr, TDEV_PIO_BASE);
	ior_assert_uint_eq(d.flags & IOREGION_F_PIO, IOREGION_F_PIO);
	ior_assert_int_eq(ioregion_vmm_get_region(dev, 2, &d, NULL), -ENOENT);
	ior_assert_int_eq(ioregion_vmm_check(dev), 0);

	/* Registers, on both regions, through the bridge. */
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), TDEV_SCRATCH_RESET);
	tvmm_write(&v, TDEV_SCRATCH, 0x1234);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), 0x1234);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_DIALECT), IOREGION_WIRE_V3);
	val = 0x77;
	ior_assert_int_eq(ioregion_bridge_access(v.bridge, true,
						 TDEV_PIO_BASE + 2, true, 1,
						 &val), 1);
	val = 0;
	ior_assert_int_eq(ioregion_bridge_access(v.bridge, true,
						 TDEV_PIO_BASE + 2, false, 1,
						 &val), 1);
	ior_assert_uint_eq(val, 0x77);

	/* Guest memory: the device reads and writes the VMM's RAM. */
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA + 4 * 17);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), TVMM_PATTERN(17));
	tvmm_write(&v, TDEV_MEM_DATA, 0xfeedf00d);
	ior_assert_uint_eq(((uint32_t *)v.ram)[17], 0xfeedf00d);
	/* Outside every slot: the device's read fails, the guest reads
	 * all-ones. */
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA + TVMM_RAM_SIZE - 2);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);

	/* Interrupt lines: the edge line, and the level line with its
	 * resample eventfd (the VMM's EOI reaches the device's loop). */
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 5000), 1);
	tvmm_write(&v, TDEV_ASSERT, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v.level_fd, 5000), 1);
	/* The guest's EOI (what KVM signals on the resample eventfd): the
	 * line is still wanted, the device's loop asserts it again. */
	val = 1;
	ior_assert_int_eq(write(v.resample_fd, &val, sizeof(val)), 8);
	ior_assert_uint_eq(tvmm_eventfd_read(v.level_fd, 5000), 1);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_RESAMPLES), 1);
	/* Lowered: the next EOI asserts nothing. */
	tvmm_write(&v, TDEV_LOWER, 1);
	ior_assert_int_eq(write(v.resample_fd, &val, sizeof(val)), 8);
	for (int i = 0; i < 500 && tvmm_read(&v, TDEV_RESAMPLES) < 2; i++)
		usleep(10000);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_RESAMPLES), 2);
	ior_assert_uint_eq(tvmm_eventfd_read(v.level_fd, 100), 0);

	/* SHUTDOWN: the device's gone callback with 0, exit 0. */
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(ioregion_vmm_get_fd(dev), -ENOTCONN);
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), -ENOTCONN);
	ior_assert_int_eq(ioregion_vmm_reset(dev), -ENOTCONN);
	ior_assert_int_eq(ioregion_vmm_check(dev), -ENOTCONN);
	ior_assert_int_eq(tdev_wait(pid, 10000), 0);
	ioregion_vmm_destroy(dev);
	/* Destroy took the regions out of the bridge. */
	ior_assert_int_eq(tvmm_access(&v, TDEV_SCRATCH, false, &val), 0);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
	ior_assert_int_eq(ior_count_fds(), before);
}
END_TEST

/*
 * RESET, on a device served by ev_run() and on one served by
 * ioregion_ctx_run(): the run hears its session too, though nothing else
 * wakes it between the accesses (on io_uring it sleeps in the ring, so
 * the session's fd must be in what that wait covers), and the SHUTDOWN
 * whose gone callback stops it.
 */
START_TEST(test_reset)
{
	for (int run = 0; run < 2; run++) {
		struct tdev_opts o = { .ctx_run = run == 1 };
		struct ioregion_vmm_device *dev;
		struct tvmm v;
		pid_t pid;

		tvmm_init(&v);
		pid = tvmm_attach(&v, &o, &dev);
		tvmm_write(&v, TDEV_SCRATCH, 0x99);
		ior_assert_int_eq(ioregion_vmm_reset(dev), 0);
		ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), TDEV_SCRATCH_RESET);
		ior_assert_uint_eq(tvmm_read(&v, TDEV_RESETS), 1);
		/* The device's callback's error is the VMM's result. */
		tvmm_write(&v, TDEV_RESET_RESULT, (uint64_t)(int64_t)-EIO);
		ior_assert_int_eq(ioregion_vmm_reset(dev), -EIO);
		ior_assert_uint_eq(tvmm_read(&v, TDEV_RESETS), 2);
		/* The session goes on. */
		ior_assert_int_eq(ioregion_vmm_reset(dev), 0);
		ior_assert_uint_eq(tvmm_read(&v, TDEV_RESETS), 3);
		ior_assert_int_eq(ioregion_vmm_reset(NULL), -EINVAL);
		detach(dev, pid);
		tvmm_fini(&v);
	}
}
END_TEST

/* A device that keeps its state across restarts says so in its HELLO:
 * the VMM then knows not to reset it after a reconnect. */
START_TEST(test_keeps_state)
{
	struct tdev_opts o = { .keeps_state = true };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	pid_t pid;

	tvmm_init(&v);
	pid = tvmm_attach(&v, &o, &dev);
	ior_assert_int_eq(ioregion_vmm_keeps_state(dev), 1);
	ior_assert_int_eq(ioregion_vmm_keeps_state(NULL), -EINVAL);
	detach(dev, pid);
	tvmm_fini(&v);
}
END_TEST

START_TEST(test_memory_updates)
{
	struct tdev_opts o = { .memory = true };
	struct ioregion_mem_slot extra = {
		.gpa = 0x200000, .size = 0x1000, .offset = 0x1000,
		.flags = IOREGION_MEM_F_READONLY,
	};
	struct ioregion_mem_slot big = { .gpa = 0x400000, .size = 0x10000 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int fds;
	pid_t pid;

	tvmm_init(&v);
	fds = ior_count_fds();
	pid = tvmm_attach(&v, &o, &dev);

	/* Hot-add a read-only slot on the second page of the memfd. */
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, v.ram_fd), 0);
	tvmm_write(&v, TDEV_MEM_ADDR, 0x200000 + 8);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA),
			   TVMM_PATTERN(0x1000 / 4 + 2));
	/* The device may not write a read-only slot: the write fails in
	 * the device (counted) and the RAM stays. */
	tvmm_write(&v, TDEV_MEM_DATA, 0);
	ior_assert_uint_eq(((uint32_t *)v.ram)[0x1000 / 4 + 2],
			   TVMM_PATTERN(0x1000 / 4 + 2));
	/* Checked on the VMM side before sending. */
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, v.ram_fd), -EEXIST);
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, -1), -EEXIST);
	extra.gpa = 0x300000;
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, -1), -EBADF);
	extra.size = 0;
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, v.ram_fd), -EINVAL);
	/* Refused by the device: the memfd is shorter than the slot. The
	 * session goes on, the slot is not in the table. */
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &big, v.ram_fd), -EINVAL);
	ior_assert_int_eq(ioregion_vmm_mem_remove(dev, big.gpa), -ENOENT);

	/* Hot-remove: after the ACK the device cannot reach it. */
	ior_assert_int_eq(ioregion_vmm_mem_remove(dev, 0x200000), 0);
	tvmm_write(&v, TDEV_MEM_ADDR, 0x200000 + 8);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);
	ior_assert_int_eq(ioregion_vmm_mem_remove(dev, TVMM_RAM_GPA), 0);
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);
	ior_assert_int_eq(ioregion_vmm_check(dev), 0);

	detach(dev, pid);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}
END_TEST

/* A register-only device gets no memory: nothing is sent, its table does
 * not exist. */
START_TEST(test_no_memory_unless_asked)
{
	struct tdev_opts o = { 0 };
	struct ioregion_mem_slot extra = { .gpa = 0x200000, .size = 0x1000 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	pid_t pid;

	tvmm_init(&v);
	pid = tvmm_attach(&v, &o, &dev);
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);
	/* Kept for the table, not sent. */
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, v.ram_fd), 0);
	ior_assert_int_eq(ioregion_vmm_mem_remove(dev, 0x200000), 0);
	ior_assert_int_eq(ioregion_vmm_check(dev), 0);
	detach(dev, pid);
	tvmm_fini(&v);
}
END_TEST

static char granted_to[IOREGION_SESSION_NAME_MAX];
static int grant_answer;

static int
grant(void *data, const char *device)
{
	snprintf(granted_to, sizeof(granted_to), "%s", device);
	return grant_answer;
}

/* The VMM decides per device: a device that asks for memory and is not
 * granted it gets an empty table, also later (hot-add is not sent); a
 * negative answer refuses the device. */
START_TEST(test_memory_policy)
{
	struct tdev_opts o = { .memory = true, .name = "nosy" };
	struct ioregion_mem_slot extra = { .gpa = 0x200000, .size = 0x1000 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sv[2];
	pid_t pid;

	tvmm_init(&v);
	v.cfg.grant_memory = grant;
	grant_answer = 0;
	pid = tvmm_attach(&v, &o, &dev);
	ior_assert_str_eq(granted_to, "nosy");
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);
	ior_assert_int_eq(ioregion_vmm_mem_add(dev, &extra, v.ram_fd), 0);
	tvmm_write(&v, TDEV_MEM_ADDR, 0x200000);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), ~0ull);
	detach(dev, pid);

	grant_answer = 1;
	pid = tvmm_attach(&v, &o, &dev);
	tvmm_write(&v, TDEV_MEM_ADDR, TVMM_RAM_GPA);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_MEM_DATA), TVMM_PATTERN(0));
	detach(dev, pid);

	grant_answer = -EPERM;
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -EPERM);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNREFUSED);
	tvmm_fini(&v);
}
END_TEST

/* Fallback channels without KVM: two fds per region, the bridge on the
 * fallback channel, the main channel held by the session. */
START_TEST(test_fallback_channels)
{
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	pid_t pid;

	tvmm_init(&v);
	v.cfg.flags = IOREGION_VMM_F_FALLBACK;
	v.cfg.dialect = IOREGION_WIRE_INFO;
	pid = tvmm_attach(&v, &o, &dev);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_DIALECT), IOREGION_WIRE_INFO);
	tvmm_write(&v, TDEV_SCRATCH, 0xabcdef);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), 0xabcdef);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 5000), 1);
	detach(dev, pid);
	tvmm_fini(&v);
}
END_TEST

/* A device raising a line it was not given (it asked for one, raises
 * line 1 and line 1000): -EINVAL, nothing reaches the VMM's eventfds, and
 * the session and the given line go on working. */
START_TEST(test_raise_of_a_line_not_given)
{
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	pid_t pid;

	tvmm_init(&v);
	pid = tvmm_attach(&v, &o, &dev);
	tvmm_write(&v, TDEV_RAISE_ANY, 1);
	ior_assert_int_eq((int64_t)tvmm_read(&v, TDEV_RAISE_ANY), -EINVAL);
	tvmm_write(&v, TDEV_RAISE_ANY, 1000);
	ior_assert_int_eq((int64_t)tvmm_read(&v, TDEV_RAISE_ANY), -EINVAL);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 100), 0);
	ior_assert_int_eq(ioregion_vmm_check(dev), 0);
	tvmm_write(&v, TDEV_RAISE_ANY, 0);	/* the line it has */
	ior_assert_int_eq((int64_t)tvmm_read(&v, TDEV_RAISE_ANY), 0);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 5000), 1);
	detach(dev, pid);
	tvmm_fini(&v);
}
END_TEST

/* The device connects to a path from its environment; the VMM accepts. */
START_TEST(test_connect_env)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_device_config cfg = { 0 };
	struct ioregion_vmm_device *dev;
	struct ioregion_device *ddev = (void *)1;
	struct ioregion_ctx *ctx;
	char dir[] = "/tmp/ior-session-XXXXXX";
	struct tvmm v;
	int lfd, fds;
	pid_t pid;

	tvmm_init(&v);
	fds = ior_count_fds();
	ior_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vmm.sock", dir);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ior_assert_int_ge(lfd, 0);
	ior_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ior_assert_int_eq(listen(lfd, 4), 0);

	/* No path and no environment. */
	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	unsetenv(IOREGION_SESSION_ENV);
	ior_assert_int_eq(ioregion_device_connect(ctx, NULL, &cfg, &ddev),
			  -EDESTADDRREQ);
	ior_assert_ptr_null(ddev);
	ioregion_ctx_unref(ctx);

	/* Nobody connects: bounded. */
	v.cfg.timeout_ms = 100;
	ior_assert_int_eq(ioregion_vmm_accept(lfd, &v.cfg, &dev), -ETIMEDOUT);
	v.cfg.timeout_ms = 5000;

	ior_assert_int_eq(setenv(IOREGION_SESSION_ENV, sa.sun_path, 1), 0);
	pid = tdev_spawn_connect(NULL, &o);
	ior_assert_int_eq(ioregion_vmm_accept(lfd, &v.cfg, &dev), 0);
	tvmm_write(&v, TDEV_SCRATCH, 5);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), 5);
	detach(dev, pid);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}
END_TEST

/* A peer of another uid is refused before a word; the device sees EOF. */
START_TEST(test_peer_uid)
{
	struct tdev_opts o = { 0 };
	struct ioregion_vmm_device *dev = (void *)1;
	struct tvmm v;
	int sv[2], fds;
	pid_t pid;

	tvmm_init(&v);
	fds = ior_count_fds();
	v.cfg.flags = IOREGION_VMM_F_PEER_UID;
	v.cfg.peer_uid = geteuid() + 1;
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -EACCES);
	ior_assert_ptr_null(dev);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNRESET);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}
END_TEST

/* KVM refuses the regions (here: a VM fd that is /dev/null, which answers
 * ENOTTY): the attach fails with that, nothing stays in the bridge, no fd
 * stays open, and the device hears why (ERROR: its attach fails with
 * -ECONNREFUSED). */
START_TEST(test_kvm_refuses)
{
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_vmm_device *dev;
	struct ioregion_bridge_stats st;
	struct tvmm v;
	int sv[2], fds;
	pid_t pid;

	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	v.cfg.dialect = IOREGION_WIRE_V3;	/* "probed earlier" */
	fds = ior_count_fds();
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -ENOTTY);
	ior_assert_int_eq(ioregion_bridge_get_stats(v.bridge, false, TDEV_BASE,
						    &st), -ENOENT);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNREFUSED);
	ior_assert_int_eq(ior_count_fds(), fds);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

/* A region that overlaps one already in the bridge: -EEXIST, undone. */
START_TEST(test_overlap_refused)
{
	struct tdev_opts o = { 0 };
	struct ioregion_vmm_device *dev, *dev2;
	struct tvmm v;
	int sv[2];
	pid_t pid, pid2;

	tvmm_init(&v);
	pid = tvmm_attach(&v, &o, &dev);
	tvmm_pair(sv);
	pid2 = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev2), -EEXIST);
	ior_assert_int_eq(tdev_wait(pid2, 10000), ECONNREFUSED);
	/* The first device is untouched. */
	tvmm_write(&v, TDEV_SCRATCH, 3);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), 3);
	detach(dev, pid);
	tvmm_fini(&v);
}
END_TEST

/* A VMM that gives no lines refuses a device that wants some. */
START_TEST(test_no_lines)
{
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sv[2];
	pid_t pid;

	tvmm_init(&v);
	v.cfg.get_line = NULL;
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -ENXIO);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNREFUSED);
	tvmm_fini(&v);
}
END_TEST

/* The device's lines need non-blocking eventfds: the VMM refuses to hand
 * out blocking ones (-EINVAL), before the device sees any. */
START_TEST(test_blocking_eventfd)
{
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sv[2], nonblocking;
	pid_t pid;

	tvmm_init(&v);
	nonblocking = v.edge_fd;
	v.edge_fd = eventfd(0, EFD_CLOEXEC);
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -EINVAL);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNREFUSED);
	close(v.edge_fd);
	v.edge_fd = nonblocking;
	tvmm_fini(&v);
}
END_TEST

START_TEST(test_bad_args)
{
	struct ioregion_vmm_config cfg = { .vm_fd = -1 };
	struct ioregion_device_config dcfg = { 0 };
	struct ioregion_vmm_device *dev;
	struct ioregion_device *ddev;
	struct ioregion_ctx *ctx;
	struct tvmm v;
	int sv[2], fds;

	tvmm_init(&v);
	fds = ior_count_fds();
	/* Each takes the socket, also on failure. */
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &cfg, &dev), -EINVAL);
	cfg = v.cfg;
	cfg.flags = 1u << 7;
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &cfg, &dev), -EINVAL);
	cfg = v.cfg;
	cfg.dialect = 4;
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &cfg, &dev), -EINVAL);
	cfg = v.cfg;
	cfg.reserved[1] = 1;
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &cfg, &dev), -EINVAL);
	ior_assert_int_eq(ioregion_vmm_attach(-1, NULL, &dev), -EINVAL);
	ior_assert_int_eq(ioregion_vmm_reattach(NULL, -1), -EINVAL);
	ior_assert_int_eq(ioregion_vmm_get_dialect(NULL), -EINVAL);
	ior_assert_int_eq(ioregion_vmm_is_fast_path(NULL), -EINVAL);
	/* Not a SEQPACKET socket. */
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				     sv), 0);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev),
			  -EPROTOTYPE);
	ior_assert_int_eq(pipe2(sv, O_CLOEXEC), 0);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -ENOTSOCK);

	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_device_attach(ctx, sv[0], &dcfg, &ddev),
			  -EINVAL);	/* no regions */
	ior_assert_ptr_null(ioregion_device_get_irq(NULL, 0));
	ior_assert_ptr_null(ioregion_device_get_region(NULL, 0));
	ior_assert_ptr_null(ioregion_device_get_mem(NULL));
	ior_assert_int_eq(ioregion_device_get_fd(NULL), -EINVAL);
	ioregion_device_destroy(NULL);
	ioregion_vmm_destroy(NULL);
	ioregion_ctx_unref(ctx);
	ior_assert_int_eq(ior_count_fds(), fds);
	tvmm_fini(&v);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");

	ior_add_test_timeout(s, test_full_session, 60);
	ior_add_test_timeout(s, test_reset, 60);
	ior_add_test_timeout(s, test_keeps_state, 60);
	ior_add_test_timeout(s, test_memory_updates, 60);
	ior_add_test_timeout(s, test_no_memory_unless_asked, 60);
	ior_add_test_timeout(s, test_memory_policy, 60);
	ior_add_test_timeout(s, test_fallback_channels, 60);
	ior_add_test_timeout(s, test_raise_of_a_line_not_given, 60);
	ior_add_test_timeout(s, test_connect_env, 60);
	ior_add_test_timeout(s, test_peer_uid, 60);
	ior_add_test_timeout(s, test_kvm_refuses, 60);
	ior_add_test_timeout(s, test_overlap_refused, 60);
	ior_add_test_timeout(s, test_no_lines, 60);
	ior_add_test_timeout(s, test_blocking_eventfd, 60);
	ior_add_test(s, test_bad_args);
	return s;
}

IOR_TEST_MAIN(session_suite)
