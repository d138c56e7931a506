/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: the in-kernel irqchip and the devices' interrupt lines.
 *
 * With any --irq, the VM gets KVM's irqchip (KVM_CREATE_IRQCHIP, before
 * the vCPUs): the two 8259 PICs and the IOAPIC, both wired to GSI 0-15 by
 * KVM's default routing (the IOAPIC alone to 16-23), and a local APIC
 * per vCPU whose LINT0 takes the PIC's output on vCPU 0. tinyvmm owns the
 * GSI numbers: --irq NAME=GSI[,level] makes one line with
 * ioregion_irqfd_assign() (a level line with a resample eventfd) and
 * gives its eventfds to the --spawn device NAME, and only to it.
 *
 * The irqchip also keeps HLT in the kernel: a vCPU that halts sleeps
 * there until an interrupt, as on hardware, and the run ends at the
 * debug-exit port or the timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "ioregion/irq.h"

#include "vmm.h"

int
vmm_irq_parse(struct vmm *vm, const char *arg)
{
	struct vmm_irq_line *l;
	const char *eq = strchr(arg, '=');
	char *end;
	unsigned long gsi;

	if (vm->nirqs >= VMM_MAX_IRQS) {
		fprintf(stderr, "%s: at most %d --irq\n", vm->prog,
			VMM_MAX_IRQS);
		return -1;
	}
	l = &vm->irqs[vm->nirqs];
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(l->device))
		goto bad;
	errno = 0;
	gsi = strtoul(eq + 1, &end, 0);
	if (errno || end == eq + 1 || eq[1] == '-' || gsi > VMM_MAX_GSI)
		goto bad;
	if (*end == ',' && !strcmp(end + 1, "level"))
		l->level = true;
	else if (*end)
		goto bad;
	memcpy(l->device, arg, (size_t)(eq - arg));
	l->device[eq - arg] = '\0';
	l->gsi = (unsigned int)gsi;
	l->trigger_fd = l->resample_fd = -1;
	for (unsigned int i = 0; i < vm->nirqs; i++)
		if (vm->irqs[i].gsi == l->gsi) {
			fprintf(stderr, "%s: --irq %s: GSI %u is given "
				"already\n", vm->prog, arg, l->gsi);
			return -1;
		}
	vm->nirqs++;
	return 0;
bad:
	fprintf(stderr, "%s: --irq wants NAME=GSI[,level] (GSI 0..%d), not "
		"'%s'\n", vm->prog, VMM_MAX_GSI, arg);
	return -1;
}

int
vmm_irqchip_create(struct vmm *vm)
{
	if (!vm->nirqs)
		return 0;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_fail(vm, "KVM_CREATE_IRQCHIP");
	return 0;
}

int
vmm_irq_assign(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->nirqs; i++) {
		struct vmm_irq_line *l = &vm->irqs[i];
		int rc;

		rc = ioregion_irqfd_assign(vm->vm_fd, l->gsi,
					   l->level ? IOREGION_IRQ_LEVEL : 0,
					   &l->trigger_fd, &l->resample_fd);
		if (rc < 0) {
			fprintf(stderr, "%s: interrupt line GSI %u for %s: "
				"%s\n", vm->prog, l->gsi, l->device,
				strerror(-rc));
			return -TINYVMM_EXIT_ERROR;
		}
		fprintf(stderr, "%s: irq %-12s GSI %u %s\n", vm->prog,
			l->device, l->gsi, l->level ? "level" : "edge");
	}
	return 0;
}

int
vmm_irq_grant(struct vmm *vm, const char *device, struct vmm_grant *g)
{
	for (unsigned int i = 0; i < vm->nirqs; i++) {
		struct vmm_irq_line *l = &vm->irqs[i];
		int rc;

		if (strcmp(l->device, device))
			continue;
		if (l->level)
			rc = vmm_grant_arg(g, "--irq-fd", "%d,%d",
					   l->trigger_fd, l->resample_fd);
		else
			rc = vmm_grant_arg(g, "--irq-fd", "%d", l->trigger_fd);
		if (rc < 0 || vmm_grant_fd(g, l->trigger_fd) < 0 ||
		    (l->level && vmm_grant_fd(g, l->resample_fd) < 0))
			return -ENOSPC;
	}
	return 0;
}

void
vmm_irq_destroy(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->nirqs; i++) {
		struct vmm_irq_line *l = &vm->irqs[i];

		if (l->trigger_fd >= 0) {
			ioregion_irqfd_deassign(vm->vm_fd, l->gsi,
						l->trigger_fd);
			close(l->trigger_fd);
		}
		if (l->resample_fd >= 0)
			close(l->resample_fd);
		l->trigger_fd = l->resample_fd = -1;
	}
}
