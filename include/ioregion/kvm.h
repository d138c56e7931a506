/* SPDX-License-Identifier: MIT */
/*
 * libioregion KVM side: KVM_SET_IOREGION (RFC v3 ABI) registration and a
 * detection that cannot be fooled. No libev here.
 *
 * The ioctl and its struct are in no released kernel header, so they are
 * defined here, under the library's prefix. The capability number was
 * never stable (191, 195, 206, 207 in known ports, each naming another
 * capability in mainline), so presence is detected from the ioctl's own
 * errno on a deliberately invalid argument: ENOTTY = absent, EINVAL = present,
 * and the answer to a second one tells the kernel's wire dialect.
 */
#ifndef IOREGION_KVM_H
#define IOREGION_KVM_H

#include <stdint.h>
#include <linux/ioctl.h>

#include "ioregion/desc.h"
#include "ioregion/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The kernel's struct kvm_ioregion (RFC v3), 64 bytes. */
struct ioregion_kvm_ioregion {
	uint64_t guest_paddr;	/**< guest physical address, or base port */
	uint64_t memory_size;	/**< bytes; 0 only with POSTED_WRITES */
	uint64_t user_data;
	int32_t read_fd;	/**< KVM reads responses from it (v1/v2: rfd) */
	int32_t write_fd;	/**< KVM writes commands to it (v1/v2: wfd) */
	uint32_t flags;		/**< IOREGION_KVM_* */
	uint8_t pad[28];
};

#define IOREGION_KVM_PIO (1u << 0)
#define IOREGION_KVM_POSTED_WRITES (1u << 1)
#define IOREGION_KVM_DEASSIGN (1u << 2)	/**< v3 only */

/** KVMIO is 0xAE; _IOW(KVMIO, 0x49, struct kvm_ioregion) = 0x4040ae49. */
#define IOREGION_KVM_SET_IOREGION _IOW(0xAE, 0x49, struct ioregion_kvm_ioregion)

/**
 * Does this VM's kernel have KVM_SET_IOREGION, and which wire dialect does
 * it speak? Issues the ioctl twice with a deliberately invalid argument
 * (size 0 without posted writes), which changes nothing:
 *  1. fds -2/-2 (no removal request in any dialect): ENOTTY = absent,
 *     EINVAL = present (info v1/v2, RFC v3 and kernel/ of this project all
 *     answer EINVAL);
 *  2. fds -1/-1: v1/v2 kernels read it as the removal of a region at
 *     address 0 of size 0 and answer ENOENT (IOREGION_WIRE_INFO); v3
 *     kernels answer EINVAL (IOREGION_WIRE_V3).
 * Probe before registering a sizeless region at address 0, or on a scratch
 * VM (ioregion_kvm_probe_system_dialect()): on a v1/v2 kernel step 2 would
 * remove it.
 *
 * If the build set a capability hint (meson option kvm_cap_ioregionfd),
 * KVM_CHECK_EXTENSION(hint) must be > 0 too; alone it is never trusted.
 * First checks that @p vm_fd is a VM fd (it answers KVM_CHECK_EXTENSION
 * and refuses KVM_GET_API_VERSION): the /dev/kvm fd itself answers every
 * unknown ioctl with EINVAL and would otherwise read as "present".
 *
 * @param vm_fd a KVM VM fd
 * @param[out] dialect set to the kernel's dialect when 1 is returned,
 *             untouched otherwise
 * @return 1 present (*dialect set), 0 absent
 * @retval -EINVAL @p dialect is NULL
 * @retval -EBADF @p vm_fd is not a KVM VM fd (closed, another file, the
 *         /dev/kvm system fd, a vCPU fd)
 * @retval -EPROTO the kernel answered step 1 with neither ENOTTY nor
 *         EINVAL, or step 2 with neither ENOENT nor EINVAL
 */
int ioregion_kvm_probe_dialect(int vm_fd, enum ioregion_wire_dialect *dialect);

/**
 * ioregion_kvm_probe_dialect() without the dialect.
 * @return 1 present, 0 absent
 * @retval -EBADF @p vm_fd is not a KVM VM fd
 * @retval -EPROTO an unexpected answer (see ioregion_kvm_probe_dialect())
 */
int ioregion_kvm_probe(int vm_fd);

/**
 * ioregion_kvm_probe_dialect() on a scratch VM created and destroyed here.
 * The device is /dev/kvm, or the path in the environment variable
 * IOREGION_KVM_DEV (ignored in set-uid programs; for tests).
 * @param[out] dialect set when 1 is returned, untouched otherwise
 * @return 1 present (*dialect set), 0 absent
 * @retval -EINVAL @p dialect is NULL
 * @retval -ENOENT no /dev/kvm
 * @retval -EACCES no permission; other negative errno from open or
 *         KVM_CREATE_VM
 * @retval -EPROTO an unexpected answer (see ioregion_kvm_probe_dialect())
 */
int ioregion_kvm_probe_system_dialect(enum ioregion_wire_dialect *dialect);

/**
 * ioregion_kvm_probe_system_dialect() without the dialect.
 * @return 1 present, 0 absent
 * @retval -ENOENT no /dev/kvm
 * @retval -EACCES no permission; other negative errno from open or
 *         KVM_CREATE_VM
 * @retval -EPROTO an unexpected answer (see ioregion_kvm_probe_dialect())
 */
int ioregion_kvm_probe_system(void);

/** Default bound of the kernel's wait for a reply (and to send), in ms. */
#define IOREGION_KVM_TIMEOUT_MS_DEFAULT 1000

/**
 * Bound how long the kernel waits on @p fd, the socket registered with KVM:
 * sets its SO_RCVTIMEO and SO_SNDTIMEO to @p timeout_ms. A patched kernel
 * reads a region's reply with the socket's receive timeout, so when the
 * device does not answer in time (stopped, hung, too slow) the access
 * becomes an ordinary KVM_EXIT_MMIO/KVM_EXIT_IO instead of holding the vCPU
 * thread; on the kernel/ patch of this project the fd is then failed: every
 * later access on it exits to the VMM without being sent (a late reply
 * would otherwise answer the next access), until the regions are
 * registered again with a new fd. The VMM serves those exits on its own
 * fallback channel to the device (never on @p fd, which is the kernel's).
 *
 * Takes effect at once, also for regions already registered on @p fd
 * (the option belongs to the socket, which KVM shares). Keep a device's
 * own deadlines (deferred reads) well inside it.
 *
 * Only sockets have such a bound: for any other file (a pipe, a FIFO, a
 * character device) the kernel's wait cannot be limited, so this refuses
 * them, and so does ioregion_kvm_register().
 *
 * @return 0
 * @retval -EBADF @p fd is negative or not open
 * @retval -EINVAL @p timeout_ms is 0 (no bound)
 * @retval -ENOTSOCK @p fd is not a socket
 */
int ioregion_kvm_set_timeout(int fd, unsigned int timeout_ms);

/**
 * Register @p desc with KVM, with @p fd as both read and write fd (a
 * blocking socket end, the kernel's alone: the VMM's bridge needs another
 * channel to the device for the accesses that fall back), after bounding
 * the kernel's waits on it to @p timeout_ms (ioregion_kvm_set_timeout()).
 * The dialect of @p desc only matters for removal. Flags passed: PIO and
 * POSTED_WRITES from desc->flags (same values). If the kernel refuses the
 * region, @p fd keeps the timeouts.
 *
 * @return 0
 * @retval -EINVAL invalid desc (see ioregion_desc_validate), @p timeout_ms
 *         is 0, or rejected by the kernel
 * @retval -EBADF bad fd or vm_fd (negative ones are refused here)
 * @retval -ENOTSOCK @p fd is not a socket
 * @retval -EEXIST overlaps another ioregion or an ioeventfd
 * @retval -ENOTTY the kernel has no KVM_SET_IOREGION
 * @retval -ENOMEM, -ENOSPC kernel limits
 */
int ioregion_kvm_register_timeout(int vm_fd, const struct ioregion_desc *desc,
				  int fd, unsigned int timeout_ms);

/**
 * ioregion_kvm_register_timeout() with IOREGION_KVM_TIMEOUT_MS_DEFAULT.
 * Registering another region on the same @p fd sets the bound again (to
 * the default): use ioregion_kvm_register_timeout() for all of them, or
 * ioregion_kvm_set_timeout() after the last one, to keep another bound.
 *
 * @return 0
 * @retval -EINVAL invalid desc (see ioregion_desc_validate) or rejected
 * @retval -EBADF bad fd or vm_fd (negative ones are refused here)
 * @retval -ENOTSOCK @p fd is not a socket
 * @retval -EEXIST overlaps another ioregion or an ioeventfd
 * @retval -ENOTTY the kernel has no KVM_SET_IOREGION
 * @retval -ENOMEM, -ENOSPC kernel limits
 */
int ioregion_kvm_register(int vm_fd, const struct ioregion_desc *desc,
			  int fd);

/**
 * Remove a region registered with ioregion_kvm_register(): the same
 * address, size and flags, both fds -1, plus KVM_IOREGION_DEASSIGN for v3
 * kernels (info-dialect, v1/v2, kernels know no such flag and read fds -1
 * as removal), following desc->dialect.
 *
 * @return 0
 * @retval -ENOENT no such region
 * @retval -EINVAL invalid desc
 * @retval -EBADF bad vm_fd (a negative one is refused here)
 * @retval -ENOTTY the kernel has no KVM_SET_IOREGION
 */
int ioregion_kvm_unregister(int vm_fd, const struct ioregion_desc *desc);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_KVM_H */
