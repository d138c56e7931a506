/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: the CPUID each vCPU sees. What KVM can give
 * (KVM_GET_SUPPORTED_CPUID, once per VM), then per vCPU: its own APIC ID
 * (vCPU i has APIC ID i) in leaf 1 EBX[31:24] and in the x2APIC
 * topology leaves 0xB/0x1F, a flat topology (one thread per core, nvcpus
 * cores in one package; leaf 1 EBX[23:16]), the hypervisor bit (leaf 1
 * ECX[31]) and the TSC deadline timer where KVM has it (ECX[24]), set
 * with KVM_SET_CPUID2 before the vCPU first runs. A Linux guest reads
 * its CPU numbers from here and checks them against the MADT's local
 * APICs; the flat guests need only long mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "vmm.h"

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_TOPO_SMT 1u
#define CPUID_TOPO_CORE 2u

int
vmm_cpuid_init(struct vmm *vm)
{
	int nent = 64;

	for (;;) {
		vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
				      nent * sizeof(vm->cpuid->entries[0]));
		if (!vm->cpuid)
			return -TINYVMM_EXIT_ERROR;
		vm->cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) == 0)
			return 0;
		free(vm->cpuid);
		vm->cpuid = NULL;
		if (errno != E2BIG || nent >= 1024)
			return vmm_fail(vm, "KVM_GET_SUPPORTED_CPUID");
		nent *= 2;
	}
}

/* Bits needed to number @n things: ceil(log2(n)). */
static uint32_t
id_bits(unsigned int n)
{
	uint32_t b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* One x2APIC topology subleaf (0xB and 0x1F share the layout). */
static void
topology(struct kvm_cpuid_entry2 *e, uint32_t apic_id, unsigned int ncpus)
{
	e->edx = apic_id;
	switch (e->index) {
	case 0:				/* threads: one per core */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (CPUID_TOPO_SMT << 8) | 0;
		break;
	case 1:				/* cores: ncpus per package */
		e->eax = id_bits(ncpus);
		e->ebx = ncpus;
		e->ecx = (CPUID_TOPO_CORE << 8) | 1;
		break;
	default:			/* no further level */
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

int
vmm_cpuid_set(struct vmm *vm, struct vcpu *v)
{
	size_t size = sizeof(*vm->cpuid) +
		      vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	uint32_t id = v->index;
	bool tsc_deadline;
	int rc = 0;

	if (!c)
		return vmm_fail(vm, "cpuid");
	memcpy(c, vm->cpuid, size);
	/* KVM's local APIC has the TSC deadline timer, but says so only as a
	 * capability: a Linux guest then needs no LAPIC timer calibration. */
	tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			     KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) |
				 ((uint32_t)vm->opts.nvcpus << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			if (vm->opts.nvcpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			break;
		case 0xb:
		case 0x1f:
			topology(e, id, vm->opts.nvcpus);
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		rc = vmm_fail(vm, "KVM_SET_CPUID2");
	free(c);
	return rc;
}
