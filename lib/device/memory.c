/* SPDX-License-Identifier: MIT */
/*
 * Guest memory on the device side: a table of mapped slots, sorted by
 * guest address, searched by bisection. Every range check is done in a
 * form that cannot overflow (compare lengths against what is left of the
 * slot, never compute gpa + len unchecked). No libev.
 */
#include "ioregion-private.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioregion/memory.h"

struct mem_slot {
	uint64_t gpa;
	uint64_t size;
	uint32_t flags;
	uint8_t *base;		/* the mapping of [gpa, gpa + size) */
};

struct ioregion_mem {
	int refcount;
	unsigned int nslots;
	uint64_t generation;
	struct mem_slot slots[IOREGION_MEM_SLOTS_MAX];	/* sorted by gpa */
};

IOREGION_EXPORT int
ioregion_mem_new(struct ioregion_mem **memp)
{
	struct ioregion_mem *mem;

	if (!memp)
		return -EINVAL;
	*memp = NULL;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	mem->refcount = 1;
	*memp = mem;
	return 0;
}

IOREGION_EXPORT struct ioregion_mem *
ioregion_mem_ref(struct ioregion_mem *mem)
{
	if (mem)
		mem->refcount++;
	return mem;
}

IOREGION_EXPORT struct ioregion_mem *
ioregion_mem_unref(struct ioregion_mem *mem)
{
	if (!mem || --mem->refcount > 0)
		return NULL;
	ioregion_mem_clear(mem);
	free(mem);
	return NULL;
}

/* Index of the first slot whose gpa is > @p gpa. */
static unsigned int
upper_bound(const struct ioregion_mem *mem, uint64_t gpa)
{
	unsigned int lo = 0, hi = mem->nslots;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (mem->slots[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The slot holding @p gpa, or NULL. */
static const struct mem_slot *
find(const struct ioregion_mem *mem, uint64_t gpa)
{
	unsigned int i = upper_bound(mem, gpa);
	const struct mem_slot *s;

	if (i == 0)
		return NULL;
	s = &mem->slots[i - 1];
	return gpa - s->gpa < s->size ? s : NULL;
}

static int
check_slot(const struct ioregion_mem_slot *slot)
{
	long page = sysconf(_SC_PAGESIZE);

	if (slot->size == 0 || (slot->flags & ~IOREGION_MEM_F_ALL))
		return -EINVAL;
	if (slot->gpa + slot->size - 1 < slot->gpa ||
	    slot->offset + slot->size < slot->offset)
		return -EINVAL;
	if (page <= 0 || slot->offset % (uint64_t)page)
		return -EINVAL;
	if (slot->size > SIZE_MAX || slot->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	return 0;
}

IOREGION_EXPORT int
ioregion_mem_add_slot(struct ioregion_mem *mem,
		      const struct ioregion_mem_slot *slot, int fd)
{
	struct stat st;
	unsigned int i;
	uint64_t last;
	bool ro;
	void *p;
	int rc;

	if (!mem || !slot)
		return -EINVAL;
	rc = check_slot(slot);
	if (rc < 0)
		return rc;
	if (mem->nslots >= IOREGION_MEM_SLOTS_MAX)
		return -ENOSPC;
	last = slot->gpa + slot->size - 1;
	i = upper_bound(mem, slot->gpa);
	/* the slot before must end before us, the one after start after */
	if (i > 0 && slot->gpa - mem->slots[i - 1].gpa < mem->slots[i - 1].size)
		return -EEXIST;
	if (i < mem->nslots && mem->slots[i].gpa <= last)
		return -EEXIST;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 0 ||
	    (uint64_t)st.st_size < slot->offset + slot->size)
		return -EINVAL;
	ro = slot->flags & IOREGION_MEM_F_READONLY;
	p = mmap(NULL, (size_t)slot->size, PROT_READ | (ro ? 0 : PROT_WRITE),
		 MAP_SHARED, fd, (off_t)slot->offset);
	if (p == MAP_FAILED)
		return -errno;

	memmove(&mem->slots[i + 1], &mem->slots[i],
		(mem->nslots - i) * sizeof(mem->slots[0]));
	mem->slots[i] = (struct mem_slot){
		.gpa = slot->gpa, .size = slot->size, .flags = slot->flags,
		.base = p,
	};
	mem->nslots++;
	mem->generation++;
	return 0;
}

static void
unmap_slot(struct mem_slot *s)
{
	munmap(s->base, (size_t)s->size);
}

IOREGION_EXPORT int
ioregion_mem_remove_slot(struct ioregion_mem *mem, uint64_t gpa)
{
	unsigned int i;

	if (!mem)
		return -EINVAL;
	i = upper_bound(mem, gpa);
	if (i == 0 || mem->slots[i - 1].gpa != gpa)
		return -ENOENT;
	i--;
	unmap_slot(&mem->slots[i]);
	memmove(&mem->slots[i], &mem->slots[i + 1],
		(mem->nslots - i - 1) * sizeof(mem->slots[0]));
	mem->nslots--;
	mem->generation++;
	return 0;
}

IOREGION_EXPORT int
ioregion_mem_clear(struct ioregion_mem *mem)
{
	if (!mem)
		return -EINVAL;
	for (unsigned int i = 0; i < mem->nslots; i++)
		unmap_slot(&mem->slots[i]);
	if (mem->nslots)
		mem->generation++;
	mem->nslots = 0;
	return 0;
}

IOREGION_EXPORT uint64_t
ioregion_mem_generation(const struct ioregion_mem *mem)
{
	return mem ? mem->generation : 0;
}

IOREGION_EXPORT int
ioregion_mem_translate(struct ioregion_mem *mem, uint64_t gpa, uint64_t len,
		       bool write, void **ptr)
{
	const struct mem_slot *s;
	uint64_t off;

	if (ptr)
		*ptr = NULL;
	if (!mem || !ptr || len == 0)
		return -EINVAL;
	s = find(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	/* off < size here, so size - off cannot underflow; this also
	 * refuses a range that wraps past 2^64 or runs into the next slot */
	if (len > s->size - off)
		return -EFAULT;
	if (write && (s->flags & IOREGION_MEM_F_READONLY))
		return -EACCES;
	*ptr = s->base + off;
	return 0;
}

IOREGION_EXPORT int
ioregion_mem_read(struct ioregion_mem *mem, uint64_t gpa, void *buf,
		  size_t len)
{
	void *p;
	int rc;

	if (!buf)
		return -EINVAL;
	rc = ioregion_mem_translate(mem, gpa, len, false, &p);
	if (rc < 0)
		return rc;
	memcpy(buf, p, len);
	return 0;
}

IOREGION_EXPORT int
ioregion_mem_write(struct ioregion_mem *mem, uint64_t gpa, const void *buf,
		   size_t len)
{
	void *p;
	int rc;

	if (!buf)
		return -EINVAL;
	rc = ioregion_mem_translate(mem, gpa, len, true, &p);
	if (rc < 0)
		return rc;
	memcpy(p, buf, len);
	return 0;
}
