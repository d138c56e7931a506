/* SPDX-License-Identifier: MIT */
/*
 * KVM side: KVM_SET_IOREGION (RFC v3 ABI) registration and its detection.
 *
 * Detection never trusts a capability number (the RFC ports used 191, 195,
 * 206 and 207, all of them other capabilities in mainline): it issues
 * KVM_SET_IOREGION with size 0 and no POSTED_WRITES, which every version of
 * the patch refuses and which changes nothing, and reads the errno.
 *
 * The fds matter. v1/v2 ("info" dialect) kernels read read_fd == -1 or
 * write_fd == -1 as a removal request and answer ENOENT for a range nothing
 * holds, before looking at the size. So presence is asked with fds -2/-2:
 * every patched kernel seen (info v1/v2, RFC v3, kernel/ of this project)
 * answers EINVAL, a stock kernel ENOTTY (the VM ioctl switch does not know
 * the number). Then the dialect is asked with fds -1/-1: ENOENT = info
 * (a removal of nothing), EINVAL = v3 (DEASSIGN is a flag there, so the
 * size check still fires). Anything else is -EPROTO.
 *
 * Registration bounds the kernel's waits: KVM reads a region's reply (and
 * sends its command) on the registered socket with the socket's own
 * SO_RCVTIMEO/SO_SNDTIMEO, so setting them makes a device that stops
 * answering cost a vCPU at most that long; the access then becomes an
 * ordinary exit for the VMM's fallback channel (kernel/ patch: and the
 * file is failed for good, since the late reply is still on its way).
 *
 * Before probing it makes sure the fd is a VM fd, because the /dev/kvm fd
 * answers unknown ioctls with EINVAL (kvm_arch_dev_ioctl), which would read
 * as "present": a VM fd answers KVM_CHECK_EXTENSION (since Linux 4.0,
 * KVM_CAP_CHECK_EXTENSION_VM) and refuses KVM_GET_API_VERSION, which only
 * the system fd serves; a vCPU fd or any other file refuses the former.
 */
#include "ioregion-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"
#include "ioregion/wire.h"
#include "kvm-private.h"

_Static_assert(sizeof(struct ioregion_kvm_ioregion) == 64,
	       "struct kvm_ioregion is 64 bytes");
_Static_assert(IOREGION_KVM_SET_IOREGION == 0x4040ae49,
	       "KVM_SET_IOREGION number");
_Static_assert(IOREGION_F_PIO == IOREGION_KVM_PIO &&
	       IOREGION_F_POSTED_WRITES == IOREGION_KVM_POSTED_WRITES,
	       "desc flags are the kernel's flags");

#define KVM_DEV_DEFAULT "/dev/kvm"
#define KVM_DEV_ENV "IOREGION_KVM_DEV"

int
kvm_ioctl(int fd, unsigned long req, unsigned long arg)
{
	int rc;

	do {
		rc = ioctl(fd, req, arg);
	} while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

/* 0 if @p fd is a KVM VM fd, -EBADF otherwise. */
int
kvm_check_vm_fd(int fd)
{
	if (fd < 0)
		return -EBADF;
	if (kvm_ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM) < 0)
		return -EBADF;
	if (kvm_ioctl(fd, KVM_GET_API_VERSION, 0) >= 0)
		return -EBADF;	/* the system fd (/dev/kvm), not a VM */
	return 0;
}

/* KVM_SET_IOREGION with size 0, no flags and the given fds: invalid on
 * purpose on every patched kernel, so it changes nothing. */
static int
probe_ioctl(int vm_fd, int fd)
{
	struct ioregion_kvm_ioregion probe;

	memset(&probe, 0, sizeof(probe));
	probe.read_fd = fd;
	probe.write_fd = fd;
	return kvm_ioctl(vm_fd, IOREGION_KVM_SET_IOREGION, (unsigned long)&probe);
}

int
kvm_probe_with_hint(int vm_fd, unsigned int cap_hint,
		    enum ioregion_wire_dialect *dialect)
{
	int rc;

	if (!dialect)
		return -EINVAL;
	rc = kvm_check_vm_fd(vm_fd);
	if (rc < 0)
		return rc;

	/* Presence. Fds -2 are no removal request in any dialect, so every
	 * patched kernel reaches its size check. */
	rc = probe_ioctl(vm_fd, -2);
	if (rc == -ENOTTY)
		return 0;
	if (rc != -EINVAL)
		return -EPROTO;

	/* A build for one specific patched kernel may add its capability
	 * number as a second, necessary (never sufficient) condition. */
	if (cap_hint != 0 &&
	    kvm_ioctl(vm_fd, KVM_CHECK_EXTENSION, cap_hint) <= 0)
		return 0;

	/* Dialect. Fds -1: a removal for v1/v2 kernels, which find nothing
	 * at address 0 size 0 (ENOENT); v3 kernels still refuse the size. */
	rc = probe_ioctl(vm_fd, -1);
	if (rc == -ENOENT)
		*dialect = IOREGION_WIRE_INFO;
	else if (rc == -EINVAL)
		*dialect = IOREGION_WIRE_V3;
	else
		return -EPROTO;
	return 1;
}

IOREGION_EXPORT int
ioregion_kvm_probe_dialect(int vm_fd, enum ioregion_wire_dialect *dialect)
{
	return kvm_probe_with_hint(vm_fd, IOREGION_KVM_CAP_HINT, dialect);
}

IOREGION_EXPORT int
ioregion_kvm_probe(int vm_fd)
{
	enum ioregion_wire_dialect dialect;

	return ioregion_kvm_probe_dialect(vm_fd, &dialect);
}

IOREGION_EXPORT int
ioregion_kvm_probe_system_dialect(enum ioregion_wire_dialect *dialect)
{
	const char *path = secure_getenv(KVM_DEV_ENV);
	int kvm_fd, vm_fd, rc;

	if (!dialect)
		return -EINVAL;
	if (!path || !*path)
		path = KVM_DEV_DEFAULT;
	do {
		kvm_fd = open(path, O_RDWR | O_CLOEXEC);
	} while (kvm_fd < 0 && errno == EINTR);
	if (kvm_fd < 0)
		return -errno;

	vm_fd = kvm_ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0) {
		rc = vm_fd;
		goto out;
	}
	rc = ioregion_kvm_probe_dialect(vm_fd, dialect);
	close(vm_fd);
out:
	close(kvm_fd);
	return rc;
}

IOREGION_EXPORT int
ioregion_kvm_probe_system(void)
{
	enum ioregion_wire_dialect dialect;

	return ioregion_kvm_probe_system_dialect(&dialect);
}

static void
fill_ioregion(struct ioregion_kvm_ioregion *r, const struct ioregion_desc *desc,
	      int fd)
{
	memset(r, 0, sizeof(*r));
	r->guest_paddr = desc->addr;
	r->memory_size = desc->size;
	r->user_data = desc->user_data;
	r->read_fd = fd;
	r->write_fd = fd;
	r->flags = desc->flags & (IOREGION_KVM_PIO | IOREGION_KVM_POSTED_WRITES);
}

IOREGION_EXPORT int
ioregion_kvm_set_timeout(int fd, unsigned int timeout_ms)
{
	struct timeval tv;

	if (fd < 0)
		return -EBADF;
	if (timeout_ms == 0)
		return -EINVAL;
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	/* The kernel's read and send use the socket's own timeouts: ENOTSOCK
	 * for any other file, whose waits nothing here could bound. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

IOREGION_EXPORT int
ioregion_kvm_register_timeout(int vm_fd, const struct ioregion_desc *desc,
			      int fd, unsigned int timeout_ms)
{
	struct ioregion_kvm_ioregion r;
	int rc;

	rc = ioregion_desc_validate(desc);
	if (rc < 0)
		return rc;
	if (fd < 0 || vm_fd < 0)
		return -EBADF;
	rc = ioregion_kvm_set_timeout(fd, timeout_ms);
	if (rc < 0)
		return rc;

	fill_ioregion(&r, desc, fd);
	rc = kvm_ioctl(vm_fd, IOREGION_KVM_SET_IOREGION, (unsigned long)&r);
	return rc < 0 ? rc : 0;
}

IOREGION_EXPORT int
ioregion_kvm_register(int vm_fd, const struct ioregion_desc *desc, int fd)
{
	return ioregion_kvm_register_timeout(vm_fd, desc, fd,
					     IOREGION_KVM_TIMEOUT_MS_DEFAULT);
}

IOREGION_EXPORT int
ioregion_kvm_unregister(int vm_fd, const struct ioregion_desc *desc)
{
	struct ioregion_kvm_ioregion r;
	int rc;

	rc = ioregion_desc_validate(desc);
	if (rc < 0)
		return rc;
	if (vm_fd < 0)
		return -EBADF;

	/* Both dialects: the same address, size and PIO flag, no fds. v3
	 * kernels say "remove" with DEASSIGN; v1/v2 kernels know no such
	 * flag (EINVAL) and read fds == -1 as removal. */
	fill_ioregion(&r, desc, -1);
	if (desc->dialect == IOREGION_WIRE_V3)
		r.flags |= IOREGION_KVM_DEASSIGN;
	rc = kvm_ioctl(vm_fd, IOREGION_KVM_SET_IOREGION, (unsigned long)&r);
	return rc < 0 ? rc : 0;
}
