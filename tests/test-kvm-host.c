/* SPDX-License-Identifier: MIT */
/*
 * The probe and registration on this machine's real /dev/kvm (suite kvm).
 * A stock kernel has no KVM_SET_IOREGION: the probe must say "absent" even
 * though KVM_CHECK_EXTENSION answers 1 for 191 (KVM_CAP_SYS_HYPERV_CPUID,
 * the number ioregionfd v3 used). Without a usable /dev/kvm the binary
 * reports a TAP skip ("1..0 # SKIP ...") and exits 0.
 */
#include "test-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"
#include "ioregion/wire.h"

static int
open_kvm(void)
{
	const char *path = getenv("IOREGION_KVM_DEV");

	return open(path && *path ? path : "/dev/kvm", O_RDWR | O_CLOEXEC);
}

static int
create_vm(int *kvm_fd)
{
	int vm;

	*kvm_fd = open_kvm();
	ior_assert_int_ge(*kvm_fd, 0);
	vm = ioctl(*kvm_fd, KVM_CREATE_VM, 0);
	ior_assert_int_ge(vm, 0);
	return vm;
}

START_TEST(test_kvm_host_probe_system_answers_absent)
{
	ior_assert_int_eq(ioregion_kvm_probe_system(), 0);
}
END_TEST

START_TEST(test_kvm_host_probe_vm_answers_absent_despite_cap_191)
{
	int kvm, vm = create_vm(&kvm);
	int cap191 = ioctl(vm, KVM_CHECK_EXTENSION, 191);

	/* Informational: stock 6.1 answers 1 for the RFC ports' numbers. */
	fprintf(stderr, "# KVM_CHECK_EXTENSION(191) on this VM: %d\n", cap191);
	ior_assert_int_eq(ioregion_kvm_probe(vm), 0);
	close(vm);
	close(kvm);
}
END_TEST

START_TEST(test_kvm_host_probe_dev_kvm_fd_returns_ebadf)
{
	int kvm = open_kvm();

	ior_assert_int_ge(kvm, 0);
	ior_assert_errno(ioregion_kvm_probe(kvm), -EBADF);
	close(kvm);
}
END_TEST

START_TEST(test_kvm_host_probe_vcpu_fd_returns_ebadf)
{
	int kvm, vm = create_vm(&kvm);
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);

	ior_assert_int_ge(vcpu, 0);
	ior_assert_errno(ioregion_kvm_probe(vcpu), -EBADF);
	close(vcpu);
	close(vm);
	close(kvm);
}
END_TEST

START_TEST(test_kvm_host_register_returns_enotty)
{
	struct ioregion_desc d = {
		.addr = 0xd0000000, .size = 0x1000, .user_data = 1,
		.dialect = IOREGION_WIRE_V3,
	};
	int kvm, vm = create_vm(&kvm);
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ior_assert_errno(ioregion_kvm_register(vm, &d, sv[0]), -ENOTTY);
	ior_assert_errno(ioregion_kvm_unregister(vm, &d), -ENOTTY);
	d.dialect = IOREGION_WIRE_INFO;
	ior_assert_errno(ioregion_kvm_unregister(vm, &d), -ENOTTY);
	close(sv[0]);
	close(sv[1]);
	close(vm);
	close(kvm);
}
END_TEST

static Suite *
kvm_host_suite(void)
{
	Suite *s = suite_create("kvm-host");

	ior_add_test(s, test_kvm_host_probe_system_answers_absent);
	ior_add_test(s, test_kvm_host_probe_vm_answers_absent_despite_cap_191);
	ior_add_test(s, test_kvm_host_probe_dev_kvm_fd_returns_ebadf);
	ior_add_test(s, test_kvm_host_probe_vcpu_fd_returns_ebadf);
	ior_add_test(s, test_kvm_host_register_returns_enotty);
	return s;
}

int
main(void)
{
	int kvm = open_kvm();
	int vm;

	if (kvm < 0) {
		printf("1..0 # SKIP no usable /dev/kvm (%s)\n", strerror(errno));
		return 0;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("1..0 # SKIP KVM_CREATE_VM: %s\n", strerror(errno));
		close(kvm);
		return 0;
	}
	close(vm);
	close(kvm);
	return ior_run_suite(kvm_host_suite());
}
