/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: the in-kernel irqchip and the devices' interrupt lines.
 *
 * With any --irq, and always in Linux mode (with KVM's PIT then too:
 * linux.c), the VM gets KVM's irqchip (KVM_CREATE_IRQCHIP, before
 * the vCPUs): the two 8259 PICs and the IOAPIC, both wired to GSI 0-15 by
 * KVM's default routing (the IOAPIC alone to 16-23), and a local APIC
 * per vCPU whose LINT0 takes the PIC's output on vCPU 0. tinyvmm owns the
 * GSI numbers: --irq NAME=GSI wires the next interrupt line the --spawn
 * device NAME asks for (its control session's get_line callback) to GSI
 * with ioregion_irqfd_assign() (a level line, as the device declares it,
 * with a resample eventfd), and gives its eventfds to that device only.
 * A line no --irq wires gets eventfds that reach nothing (an unconnected
 * pin: the device works polled). The irqfds stay across restarts.
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
	if (*end)
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
	fprintf(stderr, "%s: --irq wants NAME=GSI (GSI 0..%d; a level line is "
		"the device's choice), not "
		"'%s'\n", vm->prog, VMM_MAX_GSI, arg);
	return -1;
}

int
vmm_irqchip_create(struct vmm *vm)
{
	if (!vm->nirqs && !vm->linux_mode)
		return 0;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_fail(vm, "KVM_CREATE_IRQCHIP");
	return vm->linux_mode ? vmm_linux_pit(vm) : 0;
}

/* The @n-th --irq line of device @name, or NULL. */
static struct vmm_irq_line *
nth_line(struct vmm *vm, const char *name, unsigned int n)
{
	for (unsigned int i = 0; i < vm->nirqs; i++)
		if (!strcmp(vm->irqs[i].device, name) && n-- == 0)
			return &vm->irqs[i];
	return NULL;
}

int
vmm_irq_get_line(void *data, const char *device, unsigned int index,
		 const char *name, uint32_t trigger,
		 struct ioregion_vmm_line *line)
{
	struct vmm_dev *d = data;
	struct vmm *vm = d->vm;
	struct vmm_irq_line *l = nth_line(vm, d->name, index);
	bool level = trigger == IOREGION_LINE_LEVEL;
	int rc;

	(void)device;		/* what it says; d->name is what we started */
	if (!l) {
		fprintf(stderr, "%s: irq %-12s line %u '%s' (%s): not wired\n",
			vm->prog, d->name, index, name, level ? "level" : "edge");
		return devhost_unwired_line(&vm->host, trigger, line);
	}
	if (l->trigger_fd < 0) {
		rc = ioregion_irqfd_assign(vm->vm_fd, l->gsi,
					   level ? IOREGION_IRQ_LEVEL : 0,
					   &l->trigger_fd, &l->resample_fd);
		if (rc < 0) {
			fprintf(stderr, "%s: interrupt line GSI %u for %s: "
				"%s\n", vm->prog, l->gsi, d->name,
				strerror(-rc));
			return rc;
		}
		l->level = level;
	}
	fprintf(stderr, "%s: irq %-12s line %u '%s' GSI %u %s\n", vm->prog,
		d->name, index, name, l->gsi, l->level ? "level" : "edge");
	*line = (struct ioregion_vmm_line){
		.fd = l->trigger_fd, .resample_fd = l->resample_fd,
		.gsi = l->gsi,
	};
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
