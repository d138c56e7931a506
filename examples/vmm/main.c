/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: a minimal KVM VMM whose devices live in other processes.
 *
 * It loads a flat 64-bit guest image (memory map and entry state in
 * ../tinyvmm.h), or in Linux mode a PVH kernel with its initrd (linux.h),
 * starts its device processes and attaches each with the
 * library's control session (ioregion_vmm_accept()), which registers
 * their regions with KVM_SET_IOREGION when the kernel has it and always
 * with the bridge (on stock kernels the bridge serves every access; on
 * patched ones it is the failure path), and gives them their interrupt
 * lines and guest memory. Then it runs one thread per vCPU until the
 * guest writes its status to the debug exit port, every vCPU halts, a
 * device fails (a --restart device is started again instead), or the
 * time is up, and prints per-region statistics. Its exit status is the
 * guest's status.
 *
 *   tinyvmm --guest hello.bin --spawn uart16550 [--spawn regbank] ...
 *   tinyvmm --guest selftest.bin --socket /tmp/vmm.sock --devices 2
 *   tinyvmm --kernel vmlinux --initrd initrd.cpio --spawn uart16550 \
 *           --irq uart16550=4
 *
 * This file: the program's flow; the options in options.c, the rest in
 * vmm.h's list.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include "ioregion/bridge.h"

#include "inblk.h"
#include "vmm.h"

int
main(int argc, char **argv)
{
	struct vmm vm = {
		.kvm_fd = -1,
		.vm_fd = -1,
		.mem_fd = -1,
		.ctl_fd = -1,
		.guest_status = -1,
		.lnx = { .initrd_fd = -1 },
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.reset_cond = PTHREAD_COND_INITIALIZER,
	};
	int rc, status = TINYVMM_EXIT_ERROR;

	vm.prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (unsigned int i = 0; i < TINYVMM_MAX_VCPUS; i++) {
		vm.vcpus[i].fd = -1;
		vm.vcpus[i].vmm = &vm;
		vm.vcpus[i].index = i;
	}
	rc = vmm_parse_args(&vm, argc, argv);
	if (rc)
		return rc > 0 ? 0 : TINYVMM_EXIT_ERROR;
	/* Devices may stop reading their channel; never die of SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	/* A kernel is checked before anything else (a bad file is an error
	 * with or without KVM); then KVM: without it, start no device. */
	rc = vm.linux_mode ? vmm_linux_open(&vm) : 0;
	if (rc == 0)
		rc = vmm_open_kvm(&vm);
	if (rc == 0)
		rc = vmm_create(&vm);
	if (rc == 0)
		rc = vmm_irqchip_create(&vm);	/* before the vCPUs */
	for (unsigned int i = 0; rc == 0 && i < vm.opts.nvcpus; i++)
		rc = vcpu_create(&vm, &vm.vcpus[i]);
	if (rc == 0) {
		vm.ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vm.ctl_fd < 0)
			rc = vmm_fail(&vm, "eventfd");
	}
	if (rc == 0)
		rc = vmm_inblk_start(&vm);
	if (rc == 0)
		rc = vmm_start_devices(&vm);
	if (rc == 0 && vm.linux_mode)
		rc = vmm_linux_tables(&vm);
	if (rc < 0) {
		status = -rc;
		goto out;
	}

	fprintf(stderr, "%s: running %s on %u vCPU(s)\n", vm.prog,
		vm.linux_mode ? vm.opts.kernel : vm.opts.guest, vm.opts.nvcpus);
	status = vmm_run(&vm);
	vmm_print_stats(&vm);

out:
	/* SHUTDOWN ends each device; its regions leave KVM and the bridge. */
	vmm_stop_devices(&vm);
	vmm_inblk_stop(&vm);
	if (vm.bridge)
		vm.bridge = ioregion_bridge_unref(vm.bridge);
	vmm_destroy(&vm);
	vmm_linux_close(&vm);
	if (vm.ctl_fd >= 0)
		close(vm.ctl_fd);
	if (vm.host_up) {
		if (devhost_finish(&vm.host, 2000) && status == 0)
			status = TINYVMM_EXIT_ERROR;
		devhost_fini(&vm.host);
	}
	return status;
}
