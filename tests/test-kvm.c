/* SPDX-License-Identifier: MIT */
/*
 * KVM registration and probe, without KVM: this binary defines its own
 * ioctl(), which the static library's calls bind to. It plays a kernel on
 * two kinds of fds and passes every other fd to the real syscall:
 *   - an fd on /dev/null is a VM fd (KVM_SET_IOREGION answers as scripted,
 *     KVM_CHECK_EXTENSION answers 1 to every number, as stock 6.1 does for
 *     191, 195 and 206; KVM_GET_API_VERSION is refused, as on a VM fd);
 *   - an fd on /dev/zero is the system fd (/dev/kvm): it answers
 *     KVM_GET_API_VERSION and creates "VMs" (fds on /dev/null).
 * The real /dev/kvm is tested in test-kvm-host.c (suite kvm).
 */
#include "test-common.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"
#include "ioregion/wire.h"
#include "../lib/vmm/kvm-private.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Which kernel the VM fd plays for KVM_SET_IOREGION. */
enum fake_kernel {
	FAKE_SCRIPTED,	/* answers set_errno to everything */
	FAKE_STOCK,	/* no such ioctl: ENOTTY */
	FAKE_V3,	/* RFC v3 and kernel/: DEASSIGN flag, size check first */
	FAKE_INFO,	/* v1/v2: any fd == -1 is a removal, checked first */
	FAKE_EPERM,	/* something else in the way (a seccomp filter, an LSM) */
};

#define FAKE_MAX_CALLS 8

static struct {
	enum fake_kernel kernel;
	int set_errno;		/* FAKE_SCRIPTED: 0 succeeds, else fails */
	int cap_answer;		/* KVM_CHECK_EXTENSION on the VM fd */
	unsigned cap_hint_answer_for;	/* if nonzero: only this cap says 1 */
	unsigned set_calls;
	unsigned long last_req;
	uint8_t last_arg[64];
	int fds[FAKE_MAX_CALLS][2];	/* read_fd, write_fd of each call */
	unsigned nseq;			/* FAKE_SCRIPTED: if nonzero, call i */
	int seq[FAKE_MAX_CALLS];	/* answers seq[i] instead of set_errno */
} fake = { .set_errno = ENOTTY, .cap_answer = 1 };

/* Every test starts from a stock kernel (also with CK_FORK=no). */
static void
fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.set_errno = ENOTTY;
	fake.cap_answer = 1;
}

enum fake_kind { FAKE_NONE, FAKE_VM, FAKE_SYS };

static enum fake_kind
fake_kind(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != 1)
		return FAKE_NONE;
	if (minor(st.st_rdev) == 3)
		return FAKE_VM;
	if (minor(st.st_rdev) == 5)
		return FAKE_SYS;
	return FAKE_NONE;
}

static int
ioctl_fail(int err)
{
	errno = err;
	return -1;
}

/* The argument checks of a patched kernel with no region registered, in
 * the order its dialect makes them. */
static int
fake_set_ioregion(const struct ioregion_kvm_ioregion *r)
{
	switch (fake.kernel) {
	case FAKE_SCRIPTED:
		if (fake.nseq)
			return fake.seq[fake.set_calls < fake.nseq ?
					fake.set_calls : fake.nseq - 1];
		return fake.set_errno;
	case FAKE_STOCK:
		return ENOTTY;
	case FAKE_EPERM:
		return EPERM;
	case FAKE_V3:
		if (r->flags & ~7u)
			return EINVAL;
		if (r->memory_size == 0 &&
		    !(r->flags & IOREGION_KVM_POSTED_WRITES))
			return EINVAL;
		if (r->flags & IOREGION_KVM_DEASSIGN)
			return ENOENT;	/* nothing registered */
		return r->read_fd < 0 || r->write_fd < 0 ? EBADF : 0;
	case FAKE_INFO:
		if (r->read_fd == -1 || r->write_fd == -1)
			return ENOENT;	/* a removal of nothing */
		if (r->flags & ~3u)
			return EINVAL;
		if (r->memory_size == 0 &&
		    !(r->flags & IOREGION_KVM_POSTED_WRITES))
			return EINVAL;
		return r->read_fd < 0 || r->write_fd < 0 ? EBADF : 0;
	}
	return EPROTO;
}

int
ioctl(int fd, unsigned long req, ...)
{
	enum fake_kind kind = fake_kind(fd);
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);

	if (kind == FAKE_NONE)
		return (int)syscall(SYS_ioctl, fd, req, arg);

	if (kind == FAKE_SYS) {
		switch (req) {
		case KVM_GET_API_VERSION:
			return KVM_API_VERSION;
		case KVM_CHECK_EXTENSION:
			return 1;
		case KVM_CREATE_VM:
			return open("/dev/null", O_RDWR | O_CLOEXEC);
		default:
			return ioctl_fail(EINVAL);	/* as kvm_arch_dev_ioctl */
		}
	}

	switch (req) {
	case KVM_CHECK_EXTENSION:
		if (fake.cap_hint_answer_for)
			return arg == fake.cap_hint_answer_for ? 1 : 0;
		return fake.cap_answer;
	case IOREGION_KVM_SET_IOREGION: {
		const struct ioregion_kvm_ioregion *r = (const void *)arg;
		int err;

		if (fake.set_calls < FAKE_MAX_CALLS) {
			fake.fds[fake.set_calls][0] = r->read_fd;
			fake.fds[fake.set_calls][1] = r->write_fd;
		}
		err = fake_set_ioregion(r);
		fake.set_calls++;
		fake.last_req = req;
		memcpy(fake.last_arg, (const void *)arg, 64);
		return err ? ioctl_fail(err) : 0;
	}
	default:
		return ioctl_fail(ENOTTY);	/* as kvm_arch_vm_ioctl */
	}
}

static int
open_vm(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	fake_reset();
	ior_assert_int_ge(fd, 0);
	return fd;
}

/* Little-endian field writers for the golden struct bytes. */
static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- probe ---------------------------------------------------------------- */

START_TEST(test_kvm_probe_enotty_answers_absent)
{
	int vm = open_vm();

	fake.set_errno = ENOTTY;
	ior_assert_int_eq(ioregion_kvm_probe(vm), 0);
	ior_assert_uint_eq(fake.set_calls, 1);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_einval_answers_present)
{
	int vm = open_vm();

	fake.set_errno = EINVAL;
	ior_assert_int_eq(ioregion_kvm_probe(vm), 1);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_sends_size0_without_posted_writes)
{
	int vm = open_vm();
	uint8_t want[64];

	/* size 0, no flags: invalid on purpose, changes nothing; fds -2/-2
	 * (presence), then -1/-1 (dialect), which is the last one sent */
	memset(want, 0, sizeof(want));
	put32(want + 24, 0xffffffffu);
	put32(want + 28, 0xffffffffu);
	fake.set_errno = EINVAL;
	ior_assert_int_eq(ioregion_kvm_probe(vm), 1);
	ior_assert_uint_eq(fake.set_calls, 2);
	ior_assert_int_eq(fake.fds[0][0], -2);
	ior_assert_int_eq(fake.fds[0][1], -2);
	ior_assert_int_eq(fake.fds[1][0], -1);
	ior_assert_int_eq(fake.fds[1][1], -1);
	ior_assert_uint_eq(fake.last_req, 0x4040ae49ul);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_cap_collision_still_answers_absent)
{
	enum ioregion_wire_dialect dialect;
	int vm = open_vm();

	/* Stock kernels answer 1 for 191 (KVM_CAP_SYS_HYPERV_CPUID), 195,
	 * 206: the probe must not believe them. */
	fake.cap_answer = 1;
	fake.set_errno = ENOTTY;
	ior_assert_int_eq(ioregion_kvm_probe(vm), 0);
	ior_assert_int_eq(kvm_probe_with_hint(vm, 191, &dialect), 0);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_unexpected_errno_returns_eproto)
{
	int vm = open_vm();

	fake.set_errno = EFAULT;
	ior_assert_errno(ioregion_kvm_probe(vm), -EPROTO);
	fake.set_errno = EBADF;
	ior_assert_errno(ioregion_kvm_probe(vm), -EPROTO);
	fake.set_errno = 0;	/* "accepted" an invalid region */
	ior_assert_errno(ioregion_kvm_probe(vm), -EPROTO);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_system_fd_returns_ebadf)
{
	int sys = open("/dev/zero", O_RDWR | O_CLOEXEC);

	fake_reset();
	/* /dev/kvm answers unknown ioctls with EINVAL: never "present" */
	fake.set_errno = EINVAL;
	ior_assert_errno(ioregion_kvm_probe(sys), -EBADF);
	ior_assert_uint_eq(fake.set_calls, 0);
	close(sys);
}
END_TEST

START_TEST(test_kvm_probe_non_kvm_fd_returns_ebadf)
{
	int p[2];

	fake_reset();
	ior_assert_int_eq(pipe(p), 0);
	ior_assert_errno(ioregion_kvm_probe(p[0]), -EBADF);
	ior_assert_errno(ioregion_kvm_probe(-1), -EBADF);
	close(p[0]);
	ior_assert_errno(ioregion_kvm_probe(p[0]), -EBADF);
	close(p[1]);
	ior_assert_uint_eq(fake.set_calls, 0);
}
END_TEST

START_TEST(test_kvm_probe_hint_must_agree_with_errno)
{
	enum ioregion_wire_dialect dialect;
	int vm = open_vm();

	fake.cap_hint_answer_for = 300;
	/* ioctl present, hint capability present: present */
	fake.set_errno = EINVAL;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 300, &dialect), 1);
	/* ioctl present, hint capability absent: absent, no dialect asked */
	fake.set_calls = 0;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 301, &dialect), 0);
	ior_assert_uint_eq(fake.set_calls, 1);
	/* hint capability present, ioctl absent: absent */
	fake.set_errno = ENOTTY;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 300, &dialect), 0);
	/* no hint: only the errno counts */
	fake.set_errno = EINVAL;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 0, &dialect), 1);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_system_answers_present_and_closes_fds)
{
	int before = ior_count_fds();

	fake_reset();
	setenv("IOREGION_KVM_DEV", "/dev/zero", 1);
	fake.set_errno = EINVAL;
	ior_assert_int_eq(ioregion_kvm_probe_system(), 1);
	fake.set_errno = ENOTTY;
	ior_assert_int_eq(ioregion_kvm_probe_system(), 0);
	ior_assert_int_eq(ior_count_fds(), before);
}
END_TEST

START_TEST(test_kvm_probe_system_missing_device_returns_enoent)
{
	setenv("IOREGION_KVM_DEV", "/nonexistent/kvm", 1);
	ior_assert_errno(ioregion_kvm_probe_system(), -ENOENT);
}
END_TEST

/* What each kind of kernel makes of the probe, and that the first call
 * never has fds -1/-1 (a removal request for v1/v2 kernels). */
static const struct {
	enum fake_kernel kernel;
	const char *name;
	int present;		/* ioregion_kvm_probe() */
} kernels[] = {
	{ FAKE_STOCK, "stock", 0 },
	{ FAKE_V3, "v3", 1 },
	{ FAKE_INFO, "info", 1 },
	{ FAKE_EPERM, "EPERM", -EPROTO },
};

START_TEST(test_kvm_probe_answers_per_kernel)
{
	int vm = open_vm();

	for (unsigned i = 0; i < N_ELEMS(kernels); i++) {
		fake_reset();
		fake.kernel = kernels[i].kernel;
		ck_assert_msg(ioregion_kvm_probe(vm) == kernels[i].present,
			      "%s kernel: probe %d, want %d", kernels[i].name,
			      ioregion_kvm_probe(vm), kernels[i].present);
	}
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_first_call_is_no_removal)
{
	int vm = open_vm();

	for (unsigned i = 0; i < N_ELEMS(kernels); i++) {
		fake_reset();
		fake.kernel = kernels[i].kernel;
		(void)ioregion_kvm_probe(vm);
		ck_assert_uint_ge(fake.set_calls, 1);
		ck_assert_msg(fake.fds[0][0] != -1 && fake.fds[0][1] != -1,
			      "%s kernel: first KVM_SET_IOREGION has fds %d/%d",
			      kernels[i].name, fake.fds[0][0], fake.fds[0][1]);
	}
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_dialect_per_kernel)
{
	static const struct {
		enum fake_kernel kernel;
		int rc;
		int dialect;	/* 0: left untouched */
	} want[] = {
		{ FAKE_STOCK, 0, 0 },
		{ FAKE_V3, 1, IOREGION_WIRE_V3 },
		{ FAKE_INFO, 1, IOREGION_WIRE_INFO },
		{ FAKE_EPERM, -EPROTO, 0 },
	};
	int vm = open_vm();

	for (unsigned i = 0; i < N_ELEMS(want); i++) {
		enum ioregion_wire_dialect d = (enum ioregion_wire_dialect)0;

		fake_reset();
		fake.kernel = want[i].kernel;
		ior_assert_int_eq(ioregion_kvm_probe_dialect(vm, &d), want[i].rc);
		ior_assert_int_eq((int)d, want[i].dialect);
	}
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_dialect_unexpected_second_answer_returns_eproto)
{
	static const int second[] = { EBADF, EPERM, EFAULT, ENOTTY, 0 };
	enum ioregion_wire_dialect d;
	int vm = open_vm();

	for (unsigned i = 0; i < N_ELEMS(second); i++) {
		fake_reset();
		fake.nseq = 2;
		fake.seq[0] = EINVAL;	/* present */
		fake.seq[1] = second[i];
		d = (enum ioregion_wire_dialect)0;
		ior_assert_errno(ioregion_kvm_probe_dialect(vm, &d), -EPROTO);
		ior_assert_int_eq((int)d, 0);
		fake.set_calls = 0;
		ior_assert_errno(ioregion_kvm_probe(vm), -EPROTO);
	}
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_dialect_null_returns_einval)
{
	int vm = open_vm();

	fake.kernel = FAKE_V3;
	ior_assert_errno(ioregion_kvm_probe_dialect(vm, NULL), -EINVAL);
	ior_assert_errno(ioregion_kvm_probe_system_dialect(NULL), -EINVAL);
	ior_assert_uint_eq(fake.set_calls, 0);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_system_dialect_per_kernel)
{
	int before = ior_count_fds();
	enum ioregion_wire_dialect d = (enum ioregion_wire_dialect)0;

	fake_reset();
	setenv("IOREGION_KVM_DEV", "/dev/zero", 1);
	fake.kernel = FAKE_INFO;
	ior_assert_int_eq(ioregion_kvm_probe_system_dialect(&d), 1);
	ior_assert_int_eq(d, IOREGION_WIRE_INFO);
	ior_assert_int_eq(ioregion_kvm_probe_system(), 1);
	fake.kernel = FAKE_V3;
	ior_assert_int_eq(ioregion_kvm_probe_system_dialect(&d), 1);
	ior_assert_int_eq(d, IOREGION_WIRE_V3);
	fake.kernel = FAKE_STOCK;
	ior_assert_int_eq(ioregion_kvm_probe_system_dialect(&d), 0);
	ior_assert_int_eq(ioregion_kvm_probe_system(), 0);
	fake.kernel = FAKE_EPERM;
	ior_assert_errno(ioregion_kvm_probe_system_dialect(&d), -EPROTO);
	ior_assert_int_eq(ior_count_fds(), before);
}
END_TEST

/* ---- register / unregister ------------------------------------------------- */

/* A socket for KVM's side of a region (registration needs a socket). */
static int
kvm_sock(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ior_assert_int_ge(fd, 0);
	return fd;
}

/* SO_RCVTIMEO or SO_SNDTIMEO of @p fd in ms (-1 if unreadable). */
static long
sock_timeout_ms(int fd, int opt)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0)
		return -1;
	return (long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The kernel keeps socket timeouts in jiffies, rounded up (HZ >= 100). */
#define ior_assert_bound(fd, opt, ms)                                   \
	do {                                                            \
		ck_assert_int_ge(sock_timeout_ms((fd), (opt)), (ms));   \
		ck_assert_int_le(sock_timeout_ms((fd), (opt)), (ms) + 10); \
	} while (0)

START_TEST(test_kvm_register_bounds_kernel_waits_by_default)
{
	struct ioregion_desc d = {
		.addr = 0x1000, .size = 0x10, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm(), sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_int_eq(sock_timeout_ms(sv[0], SO_RCVTIMEO), 0);
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, sv[0]), 0);
	ior_assert_bound(sv[0], SO_RCVTIMEO, 1000);
	ior_assert_bound(sv[0], SO_SNDTIMEO, 1000);
	/* the device's end is not touched */
	ior_assert_int_eq(sock_timeout_ms(sv[1], SO_RCVTIMEO), 0);
	close(sv[0]);
	close(sv[1]);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_timeout_sets_given_bound)
{
	struct ioregion_desc d = {
		.addr = 0x1000, .size = 0x10, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm(), fd = kvm_sock();

	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register_timeout(vm, &d, fd, 250), 0);
	ior_assert_bound(fd, SO_RCVTIMEO, 250);
	ior_assert_bound(fd, SO_SNDTIMEO, 250);
	ior_assert_int_eq(ioregion_kvm_register_timeout(vm, &d, fd, 61500), 0);
	ior_assert_bound(fd, SO_RCVTIMEO, 61500);
	/* refused by the kernel: the bound is set all the same */
	fake.set_errno = EEXIST;
	ior_assert_errno(ioregion_kvm_register_timeout(vm, &d, fd, 300), -EEXIST);
	ior_assert_bound(fd, SO_RCVTIMEO, 300);
	close(fd);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_refuses_unbounded_without_ioctl)
{
	struct ioregion_desc d = {
		.addr = 0x1000, .size = 0x10, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm(), fd = kvm_sock(), p[2];

	fake.set_errno = 0;
	ior_assert_int_eq(pipe(p), 0);
	/* no socket: the kernel's wait on it could not be bounded */
	ior_assert_errno(ioregion_kvm_register(vm, &d, p[0]), -ENOTSOCK);
	ior_assert_errno(ioregion_kvm_register_timeout(vm, &d, p[1], 100),
			 -ENOTSOCK);
	/* 0 would mean no bound */
	ior_assert_errno(ioregion_kvm_register_timeout(vm, &d, fd, 0), -EINVAL);
	ior_assert_int_eq(sock_timeout_ms(fd, SO_RCVTIMEO), 0);
	/* a closed fd */
	close(p[0]);
	ior_assert_errno(ioregion_kvm_register(vm, &d, p[0]), -EBADF);
	ior_assert_uint_eq(fake.set_calls, 0);
	close(p[1]);
	close(fd);
	close(vm);
}
END_TEST

START_TEST(test_kvm_set_timeout_checks_its_arguments)
{
	int fd = kvm_sock(), p[2];

	ior_assert_int_eq(ioregion_kvm_set_timeout(fd, 1), 0);
	ior_assert_bound(fd, SO_RCVTIMEO, 1);
	ior_assert_bound(fd, SO_SNDTIMEO, 1);
	ior_assert_int_eq(ioregion_kvm_set_timeout(fd, 1999), 0);
	ior_assert_bound(fd, SO_RCVTIMEO, 1999);
	ior_assert_errno(ioregion_kvm_set_timeout(fd, 0), -EINVAL);
	ior_assert_bound(fd, SO_RCVTIMEO, 1999);
	ior_assert_errno(ioregion_kvm_set_timeout(-1, 100), -EBADF);
	ior_assert_int_eq(pipe(p), 0);
	ior_assert_errno(ioregion_kvm_set_timeout(p[0], 100), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
	close(fd);
	ior_assert_errno(ioregion_kvm_set_timeout(fd, 100), -EBADF);
}
END_TEST

START_TEST(test_kvm_register_mmio_posted_encodes_struct)
{
	struct ioregion_desc d = {
		.addr = 0xd0000000, .size = 0x1000,
		.user_data = 0x1122334455667788ull,
		.flags = IOREGION_F_POSTED_WRITES, .dialect = IOREGION_WIRE_V3,
	};
	uint8_t want[64];
	int vm = open_vm(), fd = kvm_sock();

	memset(want, 0, sizeof(want));
	put64(want + 0, 0xd0000000);
	put64(want + 8, 0x1000);
	put64(want + 16, 0x1122334455667788ull);
	put32(want + 24, (uint32_t)fd);	/* read_fd */
	put32(want + 28, (uint32_t)fd);	/* write_fd */
	put32(want + 32, 2);	/* POSTED_WRITES */
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, fd), 0);
	ior_assert_uint_eq(fake.last_req, 0x4040ae49ul);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(fd);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_pio_encodes_flag)
{
	struct ioregion_desc d = {
		.addr = 0x3f8, .size = 8, .user_data = 3,
		.flags = IOREGION_F_PIO, .dialect = IOREGION_WIRE_INFO,
	};
	uint8_t want[64];
	int vm = open_vm(), fd = kvm_sock();

	memset(want, 0, sizeof(want));
	put64(want + 0, 0x3f8);
	put64(want + 8, 8);
	put64(want + 16, 3);
	put32(want + 24, (uint32_t)fd);
	put32(want + 28, (uint32_t)fd);
	put32(want + 32, 1);	/* PIO */
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, fd), 0);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(fd);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_doorbell_encodes_size0_posted)
{
	struct ioregion_desc d = {
		.addr = 0xfee00000, .size = 0, .user_data = 1,
		.flags = IOREGION_F_POSTED_WRITES, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm(), fd = kvm_sock();
	uint8_t want[64];

	memset(want, 0, sizeof(want));
	put64(want + 0, 0xfee00000);
	put64(want + 16, 1);
	put32(want + 24, (uint32_t)fd);
	put32(want + 28, (uint32_t)fd);
	put32(want + 32, 2);
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, fd), 0);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(fd);
	close(vm);
}
END_TEST

START_TEST(test_kvm_unregister_v3_sends_deassign)
{
	struct ioregion_desc d = {
		.addr = 0x3f8, .size = 8, .user_data = 3,
		.flags = IOREGION_F_PIO, .dialect = IOREGION_WIRE_V3,
	};
	uint8_t want[64];
	int vm = open_vm();

	memset(want, 0, sizeof(want));
	put64(want + 0, 0x3f8);
	put64(want + 8, 8);
	put64(want + 16, 3);
	put32(want + 24, 0xffffffffu);
	put32(want + 28, 0xffffffffu);
	put32(want + 32, 1 | 4);	/* PIO | DEASSIGN */
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_unregister(vm, &d), 0);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(vm);
}
END_TEST

START_TEST(test_kvm_unregister_info_sends_both_fds_minus1)
{
	struct ioregion_desc d = {
		.addr = 0xd0000000, .size = 0x100, .user_data = 5,
		.flags = 0, .dialect = IOREGION_WIRE_INFO,
	};
	uint8_t want[64];
	int vm = open_vm();

	memset(want, 0, sizeof(want));
	put64(want + 0, 0xd0000000);
	put64(want + 8, 0x100);
	put64(want + 16, 5);
	put32(want + 24, 0xffffffffu);
	put32(want + 28, 0xffffffffu);
	put32(want + 32, 0);	/* no DEASSIGN: v1/v2 do not know it */
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_unregister(vm, &d), 0);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_maps_kernel_errno)
{
	static const int errs[] = { EINVAL, EBADF, EEXIST, ENOTTY, ENOMEM,
				    ENOSPC };
	struct ioregion_desc d = {
		.addr = 0x1000, .size = 0x10, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm(), fd = kvm_sock();

	for (unsigned i = 0; i < N_ELEMS(errs); i++) {
		fake.set_errno = errs[i];
		ior_assert_errno(ioregion_kvm_register(vm, &d, fd), -errs[i]);
	}
	close(fd);
	close(vm);
}
END_TEST

START_TEST(test_kvm_unregister_absent_returns_enoent)
{
	struct ioregion_desc d = {
		.addr = 0x1000, .size = 0x10, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm();

	fake.set_errno = ENOENT;
	ior_assert_errno(ioregion_kvm_unregister(vm, &d), -ENOENT);
	fake.set_errno = ENOTTY;
	ior_assert_errno(ioregion_kvm_unregister(vm, &d), -ENOTTY);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_invalid_desc_returns_einval_without_ioctl)
{
	struct ioregion_desc bad[] = {
		{ .addr = 0x1000, .size = 0, .dialect = IOREGION_WIRE_V3 },
		{ .addr = 0x1000, .size = 1, .flags = 0x80,
		  .dialect = IOREGION_WIRE_V3 },
		{ .addr = 0x1000, .size = 1, .dialect = 0 },
		{ .addr = ~0ull, .size = 2, .dialect = IOREGION_WIRE_V3 },
		{ .addr = 0xffff, .size = 2, .flags = IOREGION_F_PIO,
		  .dialect = IOREGION_WIRE_V3 },
	};
	int vm = open_vm();

	for (unsigned i = 0; i < N_ELEMS(bad); i++) {
		ior_assert_errno(ioregion_kvm_register(vm, &bad[i], 5),
				 -EINVAL);
		ior_assert_errno(ioregion_kvm_unregister(vm, &bad[i]),
				 -EINVAL);
	}
	ior_assert_errno(ioregion_kvm_register(vm, NULL, 5), -EINVAL);
	ior_assert_uint_eq(fake.set_calls, 0);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_negative_fd_returns_ebadf)
{
	struct ioregion_desc d = {
		.addr = 0x1000, .size = 0x10, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm();

	ior_assert_errno(ioregion_kvm_register(vm, &d, -1), -EBADF);
	ior_assert_errno(ioregion_kvm_register(-1, &d, 5), -EBADF);
	ior_assert_uint_eq(fake.set_calls, 0);
	close(vm);
}
END_TEST

static Suite *
kvm_suite(void)
{
	Suite *s = suite_create("kvm");

	ior_add_test(s, test_kvm_probe_enotty_answers_absent);
	ior_add_test(s, test_kvm_probe_einval_answers_present);
	ior_add_test(s, test_kvm_probe_sends_size0_without_posted_writes);
	ior_add_test(s, test_kvm_probe_cap_collision_still_answers_absent);
	ior_add_test(s, test_kvm_probe_unexpected_errno_returns_eproto);
	ior_add_test(s, test_kvm_probe_system_fd_returns_ebadf);
	ior_add_test(s, test_kvm_probe_non_kvm_fd_returns_ebadf);
	ior_add_test(s, test_kvm_probe_hint_must_agree_with_errno);
	ior_add_test(s, test_kvm_probe_system_answers_present_and_closes_fds);
	ior_add_test(s, test_kvm_probe_system_missing_device_returns_enoent);
	ior_add_test(s, test_kvm_probe_answers_per_kernel);
	ior_add_test(s, test_kvm_probe_first_call_is_no_removal);
	ior_add_test(s, test_kvm_probe_dialect_per_kernel);
	ior_add_test(s, test_kvm_probe_dialect_unexpected_second_answer_returns_eproto);
	ior_add_test(s, test_kvm_probe_dialect_null_returns_einval);
	ior_add_test(s, test_kvm_probe_system_dialect_per_kernel);
	ior_add_test(s, test_kvm_register_bounds_kernel_waits_by_default);
	ior_add_test(s, test_kvm_register_timeout_sets_given_bound);
	ior_add_test(s, test_kvm_register_refuses_unbounded_without_ioctl);
	ior_add_test(s, test_kvm_set_timeout_checks_its_arguments);
	ior_add_test(s, test_kvm_register_mmio_posted_encodes_struct);
	ior_add_test(s, test_kvm_register_pio_encodes_flag);
	ior_add_test(s, test_kvm_register_doorbell_encodes_size0_posted);
	ior_add_test(s, test_kvm_unregister_v3_sends_deassign);
	ior_add_test(s, test_kvm_unregister_info_sends_both_fds_minus1);
	ior_add_test(s, test_kvm_register_maps_kernel_errno);
	ior_add_test(s, test_kvm_unregister_absent_returns_enoent);
	ior_add_test(s, test_kvm_register_invalid_desc_returns_einval_without_ioctl);
	ior_add_test(s, test_kvm_register_negative_fd_returns_ebadf);
	return s;
}

IOR_TEST_MAIN(kvm_suite)
