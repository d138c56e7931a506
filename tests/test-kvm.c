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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"
#include "ioregion/wire.h"
#include "../lib/vmm/kvm-private.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct {
	int set_errno;		/* KVM_SET_IOREGION: 0 succeeds, else fails */
	int cap_answer;		/* KVM_CHECK_EXTENSION on the VM fd */
	unsigned cap_hint_answer_for;	/* if nonzero: only this cap says 1 */
	unsigned set_calls;
	unsigned long last_req;
	uint8_t last_arg[64];
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
	case IOREGION_KVM_SET_IOREGION:
		fake.set_calls++;
		fake.last_req = req;
		memcpy(fake.last_arg, (const void *)arg, 64);
		return fake.set_errno ? ioctl_fail(fake.set_errno) : 0;
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

	/* size 0, no flags, fds -1: invalid on purpose, changes nothing */
	memset(want, 0, sizeof(want));
	put32(want + 24, 0xffffffffu);
	put32(want + 28, 0xffffffffu);
	fake.set_errno = EINVAL;
	ior_assert_int_eq(ioregion_kvm_probe(vm), 1);
	ior_assert_uint_eq(fake.last_req, 0x4040ae49ul);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(vm);
}
END_TEST

START_TEST(test_kvm_probe_cap_collision_still_answers_absent)
{
	int vm = open_vm();

	/* Stock kernels answer 1 for 191 (KVM_CAP_SYS_HYPERV_CPUID), 195,
	 * 206: the probe must not believe them. */
	fake.cap_answer = 1;
	fake.set_errno = ENOTTY;
	ior_assert_int_eq(ioregion_kvm_probe(vm), 0);
	ior_assert_int_eq(kvm_probe_with_hint(vm, 191), 0);
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
	int vm = open_vm();

	fake.cap_hint_answer_for = 300;
	/* ioctl present, hint capability present: present */
	fake.set_errno = EINVAL;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 300), 1);
	/* ioctl present, hint capability absent: absent */
	ior_assert_int_eq(kvm_probe_with_hint(vm, 301), 0);
	/* hint capability present, ioctl absent: absent */
	fake.set_errno = ENOTTY;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 300), 0);
	/* no hint: only the errno counts */
	fake.set_errno = EINVAL;
	ior_assert_int_eq(kvm_probe_with_hint(vm, 0), 1);
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

/* ---- register / unregister ------------------------------------------------- */

START_TEST(test_kvm_register_mmio_posted_encodes_struct)
{
	struct ioregion_desc d = {
		.addr = 0xd0000000, .size = 0x1000,
		.user_data = 0x1122334455667788ull,
		.flags = IOREGION_F_POSTED_WRITES, .dialect = IOREGION_WIRE_V3,
	};
	uint8_t want[64];
	int vm = open_vm();

	memset(want, 0, sizeof(want));
	put64(want + 0, 0xd0000000);
	put64(want + 8, 0x1000);
	put64(want + 16, 0x1122334455667788ull);
	put32(want + 24, 7);	/* read_fd */
	put32(want + 28, 7);	/* write_fd */
	put32(want + 32, 2);	/* POSTED_WRITES */
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, 7), 0);
	ior_assert_uint_eq(fake.last_req, 0x4040ae49ul);
	ior_assert_mem_eq(fake.last_arg, want, 64);
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
	int vm = open_vm();

	memset(want, 0, sizeof(want));
	put64(want + 0, 0x3f8);
	put64(want + 8, 8);
	put64(want + 16, 3);
	put32(want + 24, 9);
	put32(want + 28, 9);
	put32(want + 32, 1);	/* PIO */
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, 9), 0);
	ior_assert_mem_eq(fake.last_arg, want, 64);
	close(vm);
}
END_TEST

START_TEST(test_kvm_register_doorbell_encodes_size0_posted)
{
	struct ioregion_desc d = {
		.addr = 0xfee00000, .size = 0, .user_data = 1,
		.flags = IOREGION_F_POSTED_WRITES, .dialect = IOREGION_WIRE_V3,
	};
	int vm = open_vm();
	uint8_t want[64];

	memset(want, 0, sizeof(want));
	put64(want + 0, 0xfee00000);
	put64(want + 16, 1);
	put32(want + 24, 4);
	put32(want + 28, 4);
	put32(want + 32, 2);
	fake.set_errno = 0;
	ior_assert_int_eq(ioregion_kvm_register(vm, &d, 4), 0);
	ior_assert_mem_eq(fake.last_arg, want, 64);
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
	int vm = open_vm();

	for (unsigned i = 0; i < N_ELEMS(errs); i++) {
		fake.set_errno = errs[i];
		ior_assert_errno(ioregion_kvm_register(vm, &d, 5), -errs[i]);
	}
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
