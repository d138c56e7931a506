/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: guest RAM. One memfd, sealed against shrinking and growing
 * (a device that maps it can never fault on a shrunk file), mapped
 * MAP_SHARED here and given to KVM as memory slot 0 at guest physical 0.
 * A device named by --mem-for gets it as one slot (the control session
 * sends the fd; the device maps it itself); no other device sees guest
 * memory.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm.h"

int
vmm_mem_create(struct vmm *vm)
{
	struct kvm_userspace_memory_region slot = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
	};

	vm->mem_fd = memfd_create("tinyvmm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0)
		return vmm_fail(vm, "memfd_create guest memory");
	if (ftruncate(vm->mem_fd, vm->mem_size) < 0)
		return vmm_fail(vm, "ftruncate guest memory");
	/* Its size is fixed from now on, and nobody (a device holding the
	 * fd) can add seals of its own, such as one against our writes. */
	if (fcntl(vm->mem_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return vmm_fail(vm, "seal guest memory");
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return vmm_fail(vm, "mmap guest memory");
	}
	slot.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return vmm_fail(vm, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/*
 * Give device @d its slot of guest RAM in its config: read-write, offset
 * 0 in the fd, the whole of guest RAM, the only slot there is.
 */
void
vmm_mem_give(struct vmm *vm, struct vmm_dev *d)
{
	d->slot = (struct ioregion_vmm_slot){
		.slot = { .gpa = 0, .size = vm->mem_size },
		.fd = vm->mem_fd,
	};
	d->cfg.slots = &d->slot;
	d->cfg.nslots = 1;
	fprintf(stderr, "%s: memory %-12s 0x0+%#zx read-write\n", vm->prog,
		d->name, vm->mem_size);
}

void
vmm_mem_destroy(struct vmm *vm)
{
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	vm->mem = NULL;
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	vm->mem_fd = -1;
}
