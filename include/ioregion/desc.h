/* SPDX-License-Identifier: MIT */
/* The description of one ioregion as the VMM side sees it: where it is in
 * the guest, how it behaves, and which user_data the wire carries for it.
 * Used by KVM registration, the bridge and the hand-off. No libev here. */
#ifndef IOREGION_DESC_H
#define IOREGION_DESC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The region is in port I/O space (x86) instead of MMIO. Same value as
 * the kernel's KVM_IOREGION_PIO. */
#define IOREGION_F_PIO (1u << 0)
/** Writes are posted: never answered. Same value as the kernel's
 * KVM_IOREGION_POSTED_WRITES. */
#define IOREGION_F_POSTED_WRITES (1u << 1)
/** Every flag this version knows. */
#define IOREGION_F_ALL (IOREGION_F_PIO | IOREGION_F_POSTED_WRITES)

/** Highest port number in PIO space. */
#define IOREGION_PIO_LIMIT 0x10000ull

/**
 * One region: a guest address range served over an fd.
 */
struct ioregion_desc {
	uint64_t addr;		/**< guest physical address, or base port */
	uint64_t size;		/**< bytes; 0 is a doorbell (posted writes only) */
	uint64_t user_data;	/**< carried verbatim in every command */
	uint32_t flags;		/**< IOREGION_F_* */
	uint32_t dialect;	/**< enum ioregion_wire_dialect of its fd */
};

/**
 * Check a description the way the kernel checks KVM_SET_IOREGION's
 * argument, plus the dialect.
 *
 * @return 0 if valid
 * @retval -EINVAL NULL, unknown flags, unknown dialect, size 0 without
 *         IOREGION_F_POSTED_WRITES, addr + size wraps around (a doorbell
 *         counts as one byte, so none at 2^64 - 1), or a PIO range beyond
 *         port 0xffff
 */
int ioregion_desc_validate(const struct ioregion_desc *desc);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_DESC_H */
