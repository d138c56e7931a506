/* SPDX-License-Identifier: MIT */
/* Internals of lib/vmm/kvm.c reachable by tests (static library). Not
 * installed, not exported. */
#ifndef IOREGION_KVM_PRIVATE_H
#define IOREGION_KVM_PRIVATE_H

#include "ioregion/wire.h"

/* ioctl(2) retried on EINTR: the result, or -errno. */
int kvm_ioctl(int fd, unsigned long req, unsigned long arg);

/* 0 if @p fd is a KVM VM fd, -EBADF otherwise (negative, closed, another
 * file, the /dev/kvm system fd, a vCPU fd). */
int kvm_check_vm_fd(int fd);

/* ioregion_kvm_probe_dialect() with an explicit capability hint instead of
 * the build's IOREGION_KVM_CAP_HINT (0: none). */
int kvm_probe_with_hint(int vm_fd, unsigned int cap_hint,
			enum ioregion_wire_dialect *dialect);

#endif /* IOREGION_KVM_PRIVATE_H */
