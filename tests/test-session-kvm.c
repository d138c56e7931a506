/* SPDX-License-Identifier: MIT */
/*
 * Control session on the fast path, without KVM: this binary defines its
 * own ioctl(), which the static library's calls bind to, and plays a
 * kernel with KVM_SET_IOREGION on fds of /dev/null (the VM fd): it probes
 * as the RFC v3 or the info dialect, keeps a table of the regions it is
 * given (refusing overlaps, removing on DEASSIGN or fds -1), and holds a
 * duplicate of each region's fd, through which the test sends commands as
 * the kernel would. Every other fd goes to the real ioctl.
 *
 * What it shows: the probe's dialect reaches the device, KVM gets each
 * region's main channel and the bridge its fallback channel (both answer,
 * and they are different sockets), the kernel's socket gets the bounded
 * wait, a reconnect deregisters the old channel and registers the new one,
 * destroy leaves nothing registered. KVM_IRQFD is played too: with GSIs
 * the session registers the lines' eventfds itself.
 */
#include "test-common.h"
#include "session-fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"
#include "ioregion/vmm.h"
#include "ioregion/wire.h"

#define FAKE_REGIONS 8

#define FAKE_IRQFDS 8

static struct {
	int dialect;		/* IOREGION_WIRE_V3 or _INFO */
	unsigned int assigns, deassigns;
	unsigned int irqfd_assigns, irqfd_deassigns;
	struct {
		bool used;
		uint32_t gsi, flags;
		ino_t ino;	/* of the trigger eventfd */
		int fd, resample_fd;	/* the kernel's duplicates */
	} irqfd[FAKE_IRQFDS];
	struct {
		bool used;
		uint64_t addr, size;
		uint32_t flags;
		uint64_t user_data;
		int fd;		/* the kernel's duplicate */
	} r[FAKE_REGIONS];
} kernel;

static bool
is_vm_fd(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	       major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

/* KVM_SET_IOREGION's checks in the order of the fake's dialect. */
static int
set_ioregion(const struct ioregion_kvm_ioregion *a)
{
	bool removal = kernel.dialect == IOREGION_WIRE_V3 ?
		       (a->flags & IOREGION_KVM_DEASSIGN) :
		       (a->read_fd == -1 || a->write_fd == -1);
	unsigned int i;

	if (kernel.dialect == IOREGION_WIRE_INFO && removal)
		goto remove;
	if (a->flags & ~(kernel.dialect == IOREGION_WIRE_V3 ? 7u : 3u))
		return EINVAL;
	if (a->memory_size == 0 && !(a->flags & IOREGION_KVM_POSTED_WRITES))
		return EINVAL;
	if (removal)
		goto remove;
	if (a->read_fd < 0 || a->write_fd < 0)
		return EBADF;
	for (i = 0; i < FAKE_REGIONS; i++)
		if (kernel.r[i].used &&
		    !((kernel.r[i].flags ^ a->flags) & IOREGION_KVM_PIO) &&
		    a->guest_paddr < kernel.r[i].addr + kernel.r[i].size &&
		    kernel.r[i].addr < a->guest_paddr + a->memory_size)
			return EEXIST;
	for (i = 0; i < FAKE_REGIONS && kernel.r[i].used; i++)
		;
	if (i == FAKE_REGIONS)
		return ENOSPC;
	kernel.r[i].used = true;
	kernel.r[i].addr = a->guest_paddr;
	kernel.r[i].size = a->memory_size;
	kernel.r[i].flags = a->flags;
	kernel.r[i].user_data = a->user_data;
	kernel.r[i].fd = fcntl(a->read_fd, F_DUPFD_CLOEXEC, 0);
	kernel.assigns++;
	return 0;
remove:
	for (i = 0; i < FAKE_REGIONS; i++) {
		if (kernel.r[i].used && kernel.r[i].addr == a->guest_paddr &&
		    kernel.r[i].size == a->memory_size &&
		    !((kernel.r[i].flags ^ a->flags) & IOREGION_KVM_PIO)) {
			close(kernel.r[i].fd);
			kernel.r[i].used = false;
			kernel.deassigns++;
			return 0;
		}
	}
	return ENOENT;
}

static ino_t
ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* KVM_IRQFD: a table of (trigger eventfd, GSI); DEASSIGN matches both. */
static int
irqfd(const struct kvm_irqfd *q)
{
	ino_t ino = ino_of((int)q->fd);
	unsigned int i;

	if (!ino)
		return EBADF;
	if (q->flags & KVM_IRQFD_FLAG_DEASSIGN) {
		for (i = 0; i < FAKE_IRQFDS; i++) {
			if (kernel.irqfd[i].used && kernel.irqfd[i].ino == ino &&
			    kernel.irqfd[i].gsi == q->gsi) {
				close(kernel.irqfd[i].fd);
				if (kernel.irqfd[i].resample_fd >= 0)
					close(kernel.irqfd[i].resample_fd);
				kernel.irqfd[i].used = false;
				kernel.irqfd_deassigns++;
			}
		}
		return 0;
	}
	for (i = 0; i < FAKE_IRQFDS && kernel.irqfd[i].used; i++)
		;
	if (i == FAKE_IRQFDS)
		return ENOSPC;
	kernel.irqfd[i].used = true;
	kernel.irqfd[i].gsi = q->gsi;
	kernel.irqfd[i].flags = q->flags;
	kernel.irqfd[i].ino = ino;
	kernel.irqfd[i].fd = fcntl((int)q->fd, F_DUPFD_CLOEXEC, 0);
	kernel.irqfd[i].resample_fd =
		(q->flags & KVM_IRQFD_FLAG_RESAMPLE) ?
		fcntl((int)q->resamplefd, F_DUPFD_CLOEXEC, 0) : -1;
	kernel.irqfd_assigns++;
	return 0;
}

int
ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;
	int err;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!is_vm_fd(fd))
		return (int)syscall(SYS_ioctl, fd, req, arg);
	if (req == KVM_CHECK_EXTENSION)
		return 1;
	if (req == IOREGION_KVM_SET_IOREGION)
		err = set_ioregion((const struct ioregion_kvm_ioregion *)arg);
	else if (req == KVM_IRQFD)
		err = irqfd((const struct kvm_irqfd *)arg);
	else
		err = EINVAL;	/* KVM_GET_API_VERSION: not the system fd */
	if (!err)
		return 0;
	errno = err;
	return -1;
}

/* The MMIO region at @p addr. */
static int
kernel_slot(uint64_t addr)
{
	for (int i = 0; i < FAKE_REGIONS; i++)
		if (kernel.r[i].used && kernel.r[i].addr == addr &&
		    !(kernel.r[i].flags & IOREGION_KVM_PIO))
			return i;
	return -1;
}

static unsigned int
kernel_nregions(void)
{
	unsigned int n = 0;

	for (int i = 0; i < FAKE_REGIONS; i++)
		n += kernel.r[i].used;
	return n;
}

static int
kernel_irqfd(uint32_t gsi)
{
	for (int i = 0; i < FAKE_IRQFDS; i++)
		if (kernel.irqfd[i].used && kernel.irqfd[i].gsi == gsi)
			return i;
	return -1;
}

static unsigned int
kernel_nirqfds(void)
{
	unsigned int n = 0;

	for (int i = 0; i < FAKE_IRQFDS; i++)
		n += kernel.irqfd[i].used;
	return n;
}

static void
kernel_reset(int dialect)
{
	for (int i = 0; i < FAKE_REGIONS; i++)
		if (kernel.r[i].used)
			close(kernel.r[i].fd);
	for (int i = 0; i < FAKE_IRQFDS; i++) {
		if (!kernel.irqfd[i].used)
			continue;
		close(kernel.irqfd[i].fd);
		if (kernel.irqfd[i].resample_fd >= 0)
			close(kernel.irqfd[i].resample_fd);
	}
	memset(&kernel, 0, sizeof(kernel));
	kernel.dialect = dialect;
}

/* One access as the kernel makes it, on the fd it was given. */
static uint64_t
kernel_access(uint64_t addr, bool is_write, uint64_t val)
{
	int i = kernel_slot(TDEV_BASE);
	struct ioregion_wire_cmd cmd = {
		.cmd = is_write ? IOREGION_CMD_WRITE : IOREGION_CMD_READ,
		.size = 8, .resp = true,
		.offset = addr - TDEV_BASE, .data = val,
	};
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];

	ior_assert_int_ge(i, 0);
	cmd.user_data = kernel.r[i].user_data;
	ior_assert_int_eq(ioregion_wire_encode_cmd(kernel.dialect, &cmd, buf),
			  0);
	ior_write_all(kernel.r[i].fd, buf, sizeof(buf));
	ior_assert_uint_eq(ior_read_timeout(kernel.r[i].fd, buf, sizeof(buf),
					    5000), sizeof(buf));
	return ioregion_wire_decode_resp(buf);
}

static void
fast_path(int dialect)
{
	struct tdev_opts o = { .nlines = 1, .memory = true };
	struct ioregion_vmm_device *dev;
	struct timeval tv;
	socklen_t len = sizeof(tv);
	struct tvmm v;
	int fds;
	pid_t pid;

	kernel_reset(dialect);
	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	v.cfg.kvm_timeout_ms = 700;
	fds = ior_count_fds();
	pid = tvmm_attach(&v, &o, &dev);
	ior_assert_int_eq(ioregion_vmm_is_fast_path(dev), 1);
	ior_assert_int_eq(ioregion_vmm_get_dialect(dev), dialect);
	ior_assert_uint_eq(kernel_nregions(), 1);
	ior_assert_uint_eq(kernel.assigns, 1);
	/* The device speaks the dialect the probe found. */
	ior_assert_uint_eq(kernel_access(TDEV_BASE + TDEV_DIALECT, false, 0),
			   (uint64_t)dialect);
	/* The kernel's channel and the bridge's serve the same regions. */
	kernel_access(TDEV_BASE + TDEV_SCRATCH, true, 0x5151);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), 0x5151);
	tvmm_write(&v, TDEV_SCRATCH, 0x6262);
	ior_assert_uint_eq(kernel_access(TDEV_BASE + TDEV_SCRATCH, false, 0),
			   0x6262);
	/* The kernel's wait on its socket is bounded. */
	ior_assert_int_eq(getsockopt(kernel.r[kernel_slot(TDEV_BASE)].fd,
				     SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	ior_assert_int_eq(tv.tv_sec * 1000 + tv.tv_usec / 1000, 700);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 5000), 1);

	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(pid, 10000), 0);
	ioregion_vmm_destroy(dev);
	/* Destroy deregistered it from KVM too. */
	ior_assert_uint_eq(kernel_nregions(), 0);
	ior_assert_uint_eq(kernel.deassigns, 1);
	ior_assert_int_eq(ior_count_fds(), fds);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}

START_TEST(test_fast_path_v3)
{
	fast_path(IOREGION_WIRE_V3);
}
END_TEST

START_TEST(test_fast_path_info)
{
	fast_path(IOREGION_WIRE_INFO);
}
END_TEST

/* The kernel's channel and the bridge's are two sockets: a command sent
 * on the kernel's is never answered on the bridge's (the bridge would
 * report data waiting before its command as -EBADMSG). */
START_TEST(test_fast_path_two_channels)
{
	struct tdev_opts o = { 0 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	pid_t pid;

	kernel_reset(IOREGION_WIRE_V3);
	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid = tvmm_attach(&v, &o, &dev);
	for (int i = 0; i < 50; i++) {
		tvmm_write(&v, TDEV_SCRATCH, (uint64_t)i);
		ior_assert_uint_eq(kernel_access(TDEV_BASE + TDEV_SCRATCH,
						 false, 0), (uint64_t)i);
		kernel_access(TDEV_BASE + TDEV_SCRATCH, true, (uint64_t)i + 1);
		ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), (uint64_t)i + 1);
	}
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(pid, 10000), 0);
	ioregion_vmm_destroy(dev);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

/* A restarted device: KVM loses the old channel and gets the new one,
 * the bridge too; no probe again (the VMM was told the dialect). */
START_TEST(test_fast_path_reconnect)
{
	struct tdev_opts o = { .nlines = 1, .two_regions = true };
	struct ioregion_vmm_device *dev;
	struct stat before, after;
	struct tvmm v;
	int sv[2], fds;
	pid_t a, b;

	kernel_reset(IOREGION_WIRE_V3);
	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	v.cfg.dialect = IOREGION_WIRE_V3;	/* probed earlier */
	fds = ior_count_fds();
	a = tvmm_attach(&v, &o, &dev);
	ior_assert_uint_eq(kernel_nregions(), 2);
	ior_assert_int_eq(fstat(kernel.r[kernel_slot(TDEV_BASE)].fd, &before),
			  0);
	kill(a, SIGKILL);
	ior_assert_int_eq(tdev_wait(a, 10000), -SIGKILL);

	tvmm_pair(sv);
	b = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_reattach(dev, sv[0]), 0);
	ior_assert_uint_eq(kernel_nregions(), 2);
	ior_assert_uint_eq(kernel.assigns, 4);
	ior_assert_uint_eq(kernel.deassigns, 2);
	ior_assert_int_eq(fstat(kernel.r[kernel_slot(TDEV_BASE)].fd, &after),
			  0);
	ior_assert(before.st_ino != after.st_ino);
	ior_assert_uint_eq(kernel_access(TDEV_BASE + TDEV_SCRATCH, false, 0),
			   TDEV_SCRATCH_RESET);
	tvmm_write(&v, TDEV_SCRATCH, 7);
	ior_assert_uint_eq(kernel_access(TDEV_BASE + TDEV_SCRATCH, false, 0),
			   7);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(v.edge_fd, 5000), 1);

	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(b, 10000), 0);
	ioregion_vmm_destroy(dev);
	ior_assert_uint_eq(kernel_nregions(), 0);
	ior_assert_int_eq(ior_count_fds(), fds);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

/* KVM refuses the second region (it overlaps one of another device):
 * the first is deregistered again, nothing stays. */
START_TEST(test_fast_path_refused)
{
	struct tdev_opts o = { .two_regions = true };
	struct ioregion_kvm_ioregion other = {
		.guest_paddr = TDEV_PIO_BASE, .memory_size = 1,
		.read_fd = 0, .write_fd = 0, .flags = IOREGION_KVM_PIO,
	};
	struct ioregion_vmm_device *dev;
	struct ioregion_bridge_stats st;
	struct tvmm v;
	int sv[2];
	pid_t pid;

	kernel_reset(IOREGION_WIRE_V3);
	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ior_assert_int_eq(set_ioregion(&other), 0);	/* someone else's */
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -EEXIST);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNREFUSED);
	ior_assert_uint_eq(kernel_nregions(), 1);	/* only the other */
	ior_assert_int_lt(kernel_slot(TDEV_BASE), 0);
	ior_assert_int_eq(ioregion_bridge_get_stats(v.bridge, false, TDEV_BASE,
						    &st), -ENOENT);
	kernel_reset(IOREGION_WIRE_V3);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

/* The session registers the lines itself (gsis): KVM_IRQFD for each, a
 * resampler for the level line, the same irqfds across a reconnect,
 * removed by destroy. */
START_TEST(test_session_irqfds)
{
	static const uint32_t gsis[] = { 4, 10 };
	struct tdev_opts o = { .nlines = 2 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	uint64_t one = 1;
	int sv[2], fds, e, l;
	pid_t a, b;

	kernel_reset(IOREGION_WIRE_V3);
	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	v.cfg.get_line = NULL;
	v.cfg.gsis = gsis;
	v.cfg.ngsis = 2;
	fds = ior_count_fds();
	a = tvmm_attach(&v, &o, &dev);
	ior_assert_uint_eq(kernel_nirqfds(), 2);
	e = kernel_irqfd(4);
	l = kernel_irqfd(10);
	ior_assert(e >= 0 && l >= 0);
	ior_assert_uint_eq(kernel.irqfd[e].flags, 0);
	ior_assert_uint_eq(kernel.irqfd[l].flags, KVM_IRQFD_FLAG_RESAMPLE);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(kernel.irqfd[e].fd, 5000), 1);
	tvmm_write(&v, TDEV_ASSERT, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(kernel.irqfd[l].fd, 5000), 1);
	ior_assert_int_eq(write(kernel.irqfd[l].resample_fd, &one,
				sizeof(one)), 8);
	ior_assert_uint_eq(tvmm_eventfd_read(kernel.irqfd[l].fd, 5000), 1);

	kill(a, SIGKILL);
	ior_assert_int_eq(tdev_wait(a, 10000), -SIGKILL);
	tvmm_pair(sv);
	b = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_reattach(dev, sv[0]), 0);
	ior_assert_uint_eq(kernel.irqfd_assigns, 2);
	ior_assert_uint_eq(kernel.irqfd_deassigns, 0);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(kernel.irqfd[e].fd, 5000), 1);

	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(b, 10000), 0);
	ioregion_vmm_destroy(dev);
	ior_assert_uint_eq(kernel_nirqfds(), 0);
	ior_assert_uint_eq(kernel.irqfd_deassigns, 2);
	ior_assert_uint_eq(kernel_nregions(), 0);
	ior_assert_int_eq(ior_count_fds(), fds);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

/* Bridge only on a kernel with KVM_SET_IOREGION (a VMM told not to use
 * it): no probe, no registration, the bridge's dialect; the VM fd still
 * serves the lines (KVM_IRQFD). */
START_TEST(test_bridge_only_with_irqfds)
{
	static const uint32_t gsis[] = { 4 };
	struct tdev_opts o = { .nlines = 1 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int e;
	pid_t pid;

	kernel_reset(IOREGION_WIRE_V3);
	tvmm_init(&v);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	v.cfg.flags |= IOREGION_VMM_F_BRIDGE_ONLY;
	v.cfg.dialect = IOREGION_WIRE_INFO;	/* the bridge's, not the kernel's */
	v.cfg.get_line = NULL;
	v.cfg.gsis = gsis;
	v.cfg.ngsis = 1;
	pid = tvmm_attach(&v, &o, &dev);
	ior_assert_int_eq(ioregion_vmm_is_fast_path(dev), 0);
	ior_assert_int_eq(ioregion_vmm_get_dialect(dev), IOREGION_WIRE_INFO);
	ior_assert_uint_eq(kernel.assigns, 0);		/* no KVM_SET_IOREGION */
	ior_assert_uint_eq(kernel_nregions(), 0);
	ior_assert_uint_eq(tvmm_read(&v, TDEV_DIALECT), IOREGION_WIRE_INFO);
	tvmm_write(&v, TDEV_SCRATCH, 0x77);		/* through the bridge */
	ior_assert_uint_eq(tvmm_read(&v, TDEV_SCRATCH), 0x77);
	ior_assert_uint_eq(kernel_nirqfds(), 1);
	e = kernel_irqfd(4);
	ior_assert_int_ge(e, 0);
	tvmm_write(&v, TDEV_RAISE, 1);
	ior_assert_uint_eq(tvmm_eventfd_read(kernel.irqfd[e].fd, 5000), 1);
	ior_assert_int_eq(ioregion_vmm_shutdown(dev), 0);
	ior_assert_int_eq(tdev_wait(pid, 10000), 0);
	ioregion_vmm_destroy(dev);
	ior_assert_uint_eq(kernel_nirqfds(), 0);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

/* GSIs: only with a VM fd and without get_line; enough for the device. */
START_TEST(test_session_gsis_refused)
{
	static const uint32_t gsis[] = { 4 };
	struct tdev_opts o = { .nlines = 2 };
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sv[2];
	pid_t pid;

	kernel_reset(IOREGION_WIRE_V3);
	tvmm_init(&v);
	v.cfg.gsis = gsis;
	v.cfg.ngsis = 1;
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -EINVAL);
	v.cfg.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	tvmm_pair(sv);
	close(sv[1]);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -EINVAL);
	v.cfg.get_line = NULL;
	tvmm_pair(sv);
	pid = tdev_spawn(sv[1], &o);
	ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), -ENXIO);
	ior_assert_int_eq(tdev_wait(pid, 10000), ECONNREFUSED);
	ior_assert_uint_eq(kernel_nirqfds(), 0);
	close(v.cfg.vm_fd);
	tvmm_fini(&v);
}
END_TEST

static Suite *
kvm_suite(void)
{
	Suite *s = suite_create("session-kvm");

	ior_add_test_timeout(s, test_fast_path_v3, 60);
	ior_add_test_timeout(s, test_fast_path_info, 60);
	ior_add_test_timeout(s, test_fast_path_two_channels, 60);
	ior_add_test_timeout(s, test_fast_path_reconnect, 60);
	ior_add_test_timeout(s, test_fast_path_refused, 60);
	ior_add_test_timeout(s, test_session_irqfds, 60);
	ior_add_test_timeout(s, test_bridge_only_with_irqfds, 60);
	ior_add_test_timeout(s, test_session_gsis_refused, 60);
	return s;
}

IOR_TEST_MAIN(kvm_suite)
