/* SPDX-License-Identifier: MIT */
/*
 * libioregion guest memory, device side: the slots of guest RAM a VMM
 * shared with this device (memfd or any mappable fd), mapped MAP_SHARED,
 * and bounds-checked translation of guest physical ranges to pointers.
 * No libev here.
 *
 * Least privilege: a device only sees the slots it was given; a
 * register-only device needs none. Every range is checked whole: it must
 * lie inside one slot (a range outside any slot, spanning two slots, or
 * whose end wraps past 2^64 is refused, never split behind the caller's
 * back), and a write needs a writable slot.
 *
 * The guest can change its memory at any time, also while the device
 * reads it. Copy a descriptor in once with ioregion_mem_read(), validate
 * the copy, and use only the copy (no double fetch).
 *
 * A pointer from ioregion_mem_translate() is valid until the next change
 * of the table (add or remove of a slot), which the generation counter
 * tells. A device driven by one event loop applies table updates between
 * accesses, so a pointer taken while serving one access stays valid for
 * that access.
 */
#ifndef IOREGION_MEMORY_H
#define IOREGION_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The device may only read this slot. */
#define IOREGION_MEM_F_READONLY (1u << 0)
/** Every slot flag this version knows. */
#define IOREGION_MEM_F_ALL IOREGION_MEM_F_READONLY

/** Most slots one table holds. */
#define IOREGION_MEM_SLOTS_MAX 64

/** One slot of guest RAM as the VMM describes it. */
struct ioregion_mem_slot {
	uint64_t gpa;		/**< guest physical address of its first byte */
	uint64_t size;		/**< bytes, > 0 */
	uint64_t offset;	/**< where it starts in the fd, page aligned */
	uint32_t flags;		/**< IOREGION_MEM_F_* */
};

struct ioregion_mem;

/**
 * Create an empty table.
 * @param[out] memp the new table, one reference
 * @return 0
 * @retval -EINVAL @p memp is NULL
 * @retval -ENOMEM out of memory
 */
int ioregion_mem_new(struct ioregion_mem **memp);

/** Take a reference. @return @p mem (NULL stays NULL) */
struct ioregion_mem *ioregion_mem_ref(struct ioregion_mem *mem);

/** Drop a reference; the last unmaps every slot. @return NULL, always. */
struct ioregion_mem *ioregion_mem_unref(struct ioregion_mem *mem);

/**
 * Map @p slot of @p fd (MAP_SHARED; read-only slots PROT_READ only) and
 * add it to the table. The caller keeps @p fd (it may close it at once:
 * the mapping stays). The fd must be at least offset + size bytes long;
 * a VMM should seal its guest RAM against shrinking (F_SEAL_SHRINK), as a
 * shrunk file would fault the device on access.
 *
 * @return 0
 * @retval -EINVAL NULL, size 0, unknown flags, gpa + size or offset + size
 *         wraps, offset not page aligned, or the fd is shorter than
 *         offset + size
 * @retval -EEXIST overlaps a slot already in the table
 * @retval -ENOSPC the table holds IOREGION_MEM_SLOTS_MAX slots
 * @retval -EBADF, -EACCES, -ENODEV, -ENOMEM from fstat() or mmap() (a
 *         read-write slot of a read-only fd is -EACCES)
 */
int ioregion_mem_add_slot(struct ioregion_mem *mem,
			  const struct ioregion_mem_slot *slot, int fd);

/**
 * Remove and unmap the slot that starts at @p gpa. Pointers into it from
 * earlier translations must not be used any more.
 * @return 0
 * @retval -EINVAL @p mem is NULL
 * @retval -ENOENT no slot starts there
 */
int ioregion_mem_remove_slot(struct ioregion_mem *mem, uint64_t gpa);

/**
 * Remove every slot (e.g. before a new table arrives).
 * @return 0
 * @retval -EINVAL @p mem is NULL
 */
int ioregion_mem_clear(struct ioregion_mem *mem);

/**
 * Changes of the table so far: a pointer from ioregion_mem_translate() is
 * valid while this stays the same. @return the count, 0 for NULL
 */
uint64_t ioregion_mem_generation(const struct ioregion_mem *mem);

/**
 * Translate [@p gpa, @p gpa + @p len) to a pointer into the device's
 * mapping. No allocation, no syscall.
 *
 * @param write the device will write there (needs a writable slot)
 * @param[out] ptr the pointer; NULL on error
 * @return 0
 * @retval -EINVAL NULL @p mem or @p ptr, or @p len 0
 * @retval -EFAULT the range is not inside one slot (outside every slot,
 *         spanning two, or wrapping past 2^64)
 * @retval -EACCES @p write on a read-only slot
 */
int ioregion_mem_translate(struct ioregion_mem *mem, uint64_t gpa,
			   uint64_t len, bool write, void **ptr);

/**
 * Copy guest memory [@p gpa, @p gpa + @p len) into @p buf: the way to
 * read a descriptor once and then validate the copy.
 * @return 0
 * @retval -EINVAL NULL @p mem or @p buf, or @p len 0
 * @retval -EFAULT as ioregion_mem_translate()
 */
int ioregion_mem_read(struct ioregion_mem *mem, uint64_t gpa, void *buf,
		      size_t len);

/**
 * Copy @p len bytes of @p buf into guest memory at @p gpa.
 * @return 0
 * @retval -EINVAL NULL @p mem or @p buf, or @p len 0
 * @retval -EFAULT as ioregion_mem_translate()
 * @retval -EACCES the slot is read-only
 */
int ioregion_mem_write(struct ioregion_mem *mem, uint64_t gpa,
		       const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_MEMORY_H */
