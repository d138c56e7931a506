/* SPDX-License-Identifier: MIT */
/*
 * Interrupt lines on the VMM side: eventfds registered with KVM_IRQFD.
 * The VMM chooses the GSI and owns the irqchip; this file only makes the
 * eventfds and issues the ioctl. No libev here.
 *
 * KVM's rules, which the errors pass on: KVM_IRQFD needs an in-kernel
 * irqchip, and a resampled (level) line needs the full one, not the split
 * irqchip (EINVAL otherwise); an eventfd already registered for the VM is
 * EBUSY (never the case here: the eventfds are new). Removal matches the
 * eventfd and the GSI and answers 0 whether or not one matched.
 */
#include "ioregion-private.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/irq.h"
#include "kvm-private.h"

_Static_assert(IOREGION_IRQ_F_ALL == IOREGION_IRQ_LEVEL,
	       "every flag is handled below");

IOREGION_EXPORT int
ioregion_irqfd_assign(int vm_fd, uint32_t gsi, uint32_t flags,
		      int *trigger_fdp, int *resample_fdp)
{
	bool level = flags & IOREGION_IRQ_LEVEL;
	struct kvm_irqfd req;
	int t, r = -1, rc;

	if (trigger_fdp)
		*trigger_fdp = -1;
	if (resample_fdp)
		*resample_fdp = -1;
	if (!trigger_fdp || (flags & ~IOREGION_IRQ_F_ALL) ||
	    (level && !resample_fdp))
		return -EINVAL;
	rc = kvm_check_vm_fd(vm_fd);
	if (rc < 0)
		return rc;
	t = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t < 0)
		return -errno;
	if (level) {
		r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r < 0) {
			rc = -errno;
			close(t);
			return rc;
		}
	}
	memset(&req, 0, sizeof(req));
	req.fd = (uint32_t)t;
	req.gsi = gsi;
	if (level) {
		req.flags = KVM_IRQFD_FLAG_RESAMPLE;
		req.resamplefd = (uint32_t)r;
	}
	rc = kvm_ioctl(vm_fd, KVM_IRQFD, (unsigned long)&req);
	if (rc < 0) {
		close(t);
		if (r >= 0)
			close(r);
		return rc;
	}
	*trigger_fdp = t;
	if (resample_fdp)
		*resample_fdp = r;
	return 0;
}

IOREGION_EXPORT int
ioregion_irqfd_deassign(int vm_fd, uint32_t gsi, int trigger_fd)
{
	struct kvm_irqfd req;
	int rc;

	if (trigger_fd < 0)
		return -EBADF;
	rc = kvm_check_vm_fd(vm_fd);
	if (rc < 0)
		return rc;
	memset(&req, 0, sizeof(req));
	req.fd = (uint32_t)trigger_fd;
	req.gsi = gsi;
	req.flags = KVM_IRQFD_FLAG_DEASSIGN;
	rc = kvm_ioctl(vm_fd, KVM_IRQFD, (unsigned long)&req);
	return rc < 0 ? rc : 0;
}
