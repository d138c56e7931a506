/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: KVM and the VM, the flat guest image, its page tables and
 * GDT, and the vCPUs' entry state (64-bit long mode, see ../tinyvmm.h);
 * in Linux mode the guest and the entry state are linux.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm.h"

/* x86 control bits used to enter long mode directly. */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

int
vmm_open_kvm(struct vmm *vm)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	int api;

	if (!dev || !*dev)
		dev = "/dev/kvm";
	vm->kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		fprintf(stderr, "%s: %s: %s: no KVM here, skipping "
			"(to see a guest run under KVM anyway, boot it in the "
			"QEMU lab: tests/vm/prepare, then tests/vm/run --test "
			"NAME %s --arg ... with this command line; scripts/demo "
			"prints a complete one)\n",
			vm->prog, dev, strerror(errno), vm->prog);
		return -TINYVMM_EXIT_SKIP;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "%s: %s: KVM API version %d, need %d\n",
			vm->prog, dev, api, KVM_API_VERSION);
		return -TINYVMM_EXIT_SKIP;
	}
	return 0;
}

int
vmm_fail(struct vmm *vm, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", vm->prog, what, strerror(errno));
	return -TINYVMM_EXIT_ERROR;
}

/* Identity map of the first 4 GiB with 2 MiB pages, and a flat GDT. */
static void
vmm_build_tables(struct vmm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + TINYVMM_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + TINYVMM_PDPT);
	uint64_t *gdt = (uint64_t *)(vm->mem + TINYVMM_GDT);

	pml4[0] = TINYVMM_PDPT | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(vm->mem + TINYVMM_PD + i * 0x1000);

		pdpt[i] = (TINYVMM_PD + i * 0x1000) | PTE_P | PTE_RW;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;	/* code: L, P, DPL 0, exec/read */
	gdt[2] = 0x00cf93000000ffffull;	/* data: G, D/B, P, read/write */
}

static int
vmm_load_guest(struct vmm *vm)
{
	struct stat st;
	ssize_t n;
	size_t done = 0;
	int fd = open(vm->opts.guest, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return vmm_fail(vm, vm->opts.guest);
	if (fstat(fd, &st) < 0 || st.st_size == 0 ||
	    st.st_size > TINYVMM_IMAGE_MAX) {
		fprintf(stderr, "%s: %s: empty, unreadable or larger than "
			"%#x bytes\n", vm->prog, vm->opts.guest,
			TINYVMM_IMAGE_MAX);
		close(fd);
		return -TINYVMM_EXIT_ERROR;
	}
	while (done < (size_t)st.st_size) {
		n = read(fd, vm->mem + TINYVMM_ENTRY + done,
			 (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return vmm_fail(vm, vm->opts.guest);
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

int
vmm_create(struct vmm *vm)
{
	int rc;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vmm_fail(vm, "KVM_CREATE_VM");
	/* Intel wants a TSS area below 4 GiB; same spot as QEMU's. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);

	rc = vmm_mem_create(vm);
	if (rc < 0)
		return rc;
	if (vm->linux_mode) {
		rc = vmm_linux_load(vm);
	} else {
		vmm_build_tables(vm);
		rc = vmm_load_guest(vm);
	}
	if (rc < 0)
		return rc;

	rc = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (rc < (int)sizeof(struct kvm_run))
		return vmm_fail(vm, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)rc;
	return vmm_cpuid_init(vm);
}

static void
set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

int
vcpu_create(struct vmm *vm, struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index);
	if (v->fd < 0)
		return vmm_fail(vm, "KVM_CREATE_VCPU");
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return vmm_fail(vm, "mmap kvm_run");
	}
	if (vmm_cpuid_set(vm, v) < 0)
		return -TINYVMM_EXIT_ERROR;
	if (vm->linux_mode)
		return vmm_linux_entry(vm, v);

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return vmm_fail(vm, "KVM_GET_SREGS");
	set_seg(&sregs.cs, TINYVMM_SEL_CODE, 11, true);
	set_seg(&sregs.ds, TINYVMM_SEL_DATA, 3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = TINYVMM_SEL_TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 11;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.unusable = 1;
	sregs.gdt.base = TINYVMM_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = TINYVMM_PML4;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return vmm_fail(vm, "KVM_SET_SREGS");

	regs.rflags = 0x2;
	regs.rip = TINYVMM_ENTRY;
	regs.rsp = TINYVMM_STACK_TOP - (uint64_t)v->index * TINYVMM_STACK_SIZE;
	regs.rdi = v->index;
	regs.rsi = vm->opts.nvcpus;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return vmm_fail(vm, "KVM_SET_REGS");
	return 0;
}

void
vmm_destroy(struct vmm *vm)
{
	for (unsigned int i = 0; i < TINYVMM_MAX_VCPUS; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	vmm_mem_destroy(vm);
	vmm_irq_destroy(vm);
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

