/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues in guest memory. The guest may change its rings at any
 * time, also while we read them: every field is copied in once
 * (ioregion_mem_read() into a local) and only the copy is checked and
 * used. The avail index is loaded with acquire semantics before the ring
 * entries it covers; used->idx is stored with release semantics after the
 * element it covers. No allocation; guest memory accesses are copies or
 * one translation, no syscall.
 *
 * Ring layout (virtio 1.x, little-endian):
 *   desc:  [num] { le64 addr; le32 len; le16 flags; le16 next; }
 *   avail: le16 flags; le16 idx; le16 ring[num];
 *   used:  le16 flags; le16 idx; [num] { le32 id; le32 len; }
 */
#include "ioregion-private.h"
#include "virtio-private.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ioregion/memory.h"

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

#define DESC_SIZE 16u

_Static_assert(sizeof(struct vring_desc) == DESC_SIZE, "descriptor layout");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used element layout");

static unsigned
held_words(const struct ioregion_virtq *vq)
{
	return (vq->vm->cfg.queue_max + 63) / 64;
}

void
virtq_progress(struct ioregion_virtq *vq, unsigned op, uint16_t head)
{
	__atomic_store_n(vq->progress, VQP_WORD(vq->last_avail, vq->used_idx,
						head, op), __ATOMIC_RELEASE);
}

/* Mark @head held or not: one store of its word, after what came
 * before. */
static void
held_set(struct ioregion_virtq *vq, uint16_t head, bool on)
{
	uint64_t *w = &vq->inflight[head / 64], bit = 1ull << (head % 64);

	__atomic_store_n(w, on ? *w | bit : *w & ~bit, __ATOMIC_RELEASE);
}

static bool
held(const struct ioregion_virtq *vq, uint16_t head)
{
	return vq->inflight[head / 64] & (1ull << (head % 64));
}

void
virtq_clear(struct ioregion_virtq *vq)
{
	vq->last_avail = 0;
	vq->used_idx = 0;
	virtq_progress(vq, VQP_NONE, 0);
	for (unsigned i = 0; i < held_words(vq); i++)
		__atomic_store_n(&vq->inflight[i], 0, __ATOMIC_RELEASE);
}

void
virtq_reset(struct ioregion_virtq *vq)
{
	vq->ready = false;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->num = vq->vm->cfg.queue_max;
	vq->broken = false;
	vq->desc = vq->avail = vq->used = 0;
}

int
virtq_check_rings(struct ioregion_virtq *vq)
{
	struct ioregion_mem *mem = vq->vm->mem;
	uint64_t n = vq->num;
	void *p;
	int rc;

	if (n == 0 || n > vq->vm->cfg.queue_max)
		return -EINVAL;
	if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
		return -EINVAL;
	rc = ioregion_mem_translate(mem, vq->desc, DESC_SIZE * n, false, &p);
	if (rc == 0)
		rc = ioregion_mem_translate(mem, vq->avail, 4 + 2 * n, false, &p);
	if (rc == 0)
		rc = ioregion_mem_translate(mem, vq->used, 4 + 8 * n, true, &p);
	return rc;
}

int
virtq_live(const struct ioregion_virtq *vq)
{
	uint32_t st = vq->vm->status;

	if (st & (IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET |
		  IOREGION_VIRTIO_STATUS_FAILED) || vq->broken)
		return -EIO;
	if (!vq->ready || !(st & IOREGION_VIRTIO_STATUS_DRIVER_OK))
		return -ENOTCONN;
	return 0;
}

void
virtq_fail(struct ioregion_virtq *vq)
{
	vq->broken = true;
	vq->vm->stats.bad_chains++;
	ioregion_virtio_mmio_needs_reset(vq->vm);
}

IOREGION_EXPORT unsigned
ioregion_virtq_get_size(const struct ioregion_virtq *vq)
{
	return vq ? vq->num : 0;
}

/* avail->idx, with acquire: the ring entries it covers are read after. */
static int
avail_idx(struct ioregion_virtq *vq, uint16_t *idx)
{
	void *p;
	int rc = ioregion_mem_translate(vq->vm->mem, vq->avail + 2, 2, false, &p);

	if (rc < 0)
		return rc;
	*idx = le16toh(__atomic_load_n((uint16_t *)p, __ATOMIC_ACQUIRE));
	return 0;
}

/*
 * Walk the chain at @p head: each descriptor copied once, its copy checked
 * (index, loop, flags, the sum of lengths) and kept in @p segs; then every
 * buffer is checked against guest memory, from the copies.
 */
static int
walk_chain(struct ioregion_virtq *vq, uint16_t head,
	   struct ioregion_virtq_seg *segs, unsigned max)
{
	struct ioregion_mem *mem = vq->vm->mem;
	struct vring_desc d;
	uint32_t i = head, n = 0, k;
	uint64_t total = 0;
	void *p;
	int rc;

	for (;;) {
		if (n == vq->num)
			return -ELOOP;
		rc = ioregion_mem_read(mem, vq->desc + (uint64_t)i * DESC_SIZE,
				       &d, sizeof(d));
		if (rc < 0)
			return rc;
		d.flags = le16toh(d.flags);
		if (d.flags & IOREGION_VIRTQ_DESC_F_INDIRECT)
			return -EINVAL;
		total += le32toh(d.len);
		if (total > UINT32_MAX)
			return -EOVERFLOW;
		if (n == max)
			return -ENOBUFS;
		segs[n].gpa = le64toh(d.addr);
		segs[n].len = le32toh(d.len);
		segs[n].write = d.flags & IOREGION_VIRTQ_DESC_F_WRITE;
		n++;
		if (!(d.flags & IOREGION_VIRTQ_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= vq->num)
			return -EINVAL;
	}
	for (k = 0; k < n; k++) {
		if (!segs[k].len)
			continue;
		rc = ioregion_mem_translate(mem, segs[k].gpa, segs[k].len,
					    segs[k].write, &p);
		if (rc < 0)
			return rc;
	}
	return (int)n;
}

IOREGION_EXPORT int
ioregion_virtq_pop(struct ioregion_virtq *vq, struct ioregion_virtq_seg *segs,
		   unsigned max, uint16_t *headp)
{
	uint16_t idx, head;
	int rc;

	if (!vq || !segs || !max || !headp)
		return -EINVAL;
	rc = virtq_live(vq);
	if (rc < 0)
		return rc;
	rc = avail_idx(vq, &idx);
	if (rc < 0)
		goto bad;
	if (idx == vq->last_avail)
		return 0;
	if ((uint16_t)(idx - vq->last_avail) > vq->num) {
		rc = -EINVAL;
		goto bad;
	}
	rc = ioregion_mem_read(vq->vm->mem,
			       vq->avail + 4 + 2 * (uint64_t)(vq->last_avail % vq->num),
			       &head, sizeof(head));
	if (rc < 0)
		goto bad;
	head = le16toh(head);
	if (head >= vq->num) {
		rc = -EINVAL;
		goto bad;
	}
	if (held(vq, head)) {
		rc = -EINVAL;		/* the driver reused a chain we hold */
		goto bad;
	}
	rc = walk_chain(vq, head, segs, max);
	if (rc < 0)
		goto bad;
	/* taken (a restart finishes the step), held, step done */
	vq->last_avail++;
	virtq_progress(vq, VQP_POP, head);
	held_set(vq, head, true);
	virtq_progress(vq, VQP_NONE, 0);
	*headp = head;
	return rc;
bad:
	virtq_fail(vq);
	return rc;
}

IOREGION_EXPORT int
ioregion_virtq_push(struct ioregion_virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem e;
	void *p;
	int rc;

	if (!vq)
		return -EINVAL;
	rc = virtq_live(vq);
	if (rc < 0)
		return rc;
	if (head >= vq->num || !held(vq, head))
		return -EINVAL;
	e.id = htole32(head);
	e.len = htole32(len);
	rc = ioregion_mem_write(vq->vm->mem,
				vq->used + 4 + 8 * (uint64_t)(vq->used_idx % vq->num),
				&e, sizeof(e));
	if (rc == 0)
		rc = ioregion_mem_translate(vq->vm->mem, vq->used + 2, 2, true, &p);
	if (rc < 0) {
		virtq_fail(vq);
		return rc;
	}
	/* given back (a restart finishes the step), the driver told, not
	 * held, step done */
	vq->used_idx++;
	virtq_progress(vq, VQP_PUSH, head);
	__atomic_store_n((uint16_t *)p, htole16(vq->used_idx), __ATOMIC_RELEASE);
	held_set(vq, head, false);
	virtq_progress(vq, VQP_NONE, 0);
	return 0;
}

IOREGION_EXPORT int
ioregion_virtq_notify(struct ioregion_virtq *vq)
{
	uint16_t flags;
	int rc;

	if (!vq)
		return -EINVAL;
	rc = virtq_live(vq);
	if (rc < 0)
		return rc;
	/* used->idx stored before avail->flags is read: a driver that
	 * clears NO_INTERRUPT and then checks used->idx sees our push, or
	 * we see its flag */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rc = ioregion_mem_read(vq->vm->mem, vq->avail, &flags, sizeof(flags));
	if (rc < 0) {
		virtq_fail(vq);
		return rc;
	}
	if (le16toh(flags) & IOREGION_VIRTQ_AVAIL_F_NO_INTERRUPT) {
		vq->vm->stats.suppressed++;
		return 0;
	}
	rc = virtio_mmio_interrupt(vq->vm, IOREGION_VIRTIO_INT_VRING);
	return rc < 0 ? rc : 1;
}

int
virtq_resume_check(struct ioregion_virtq *vq)
{
	uint64_t w = __atomic_load_n(vq->progress, __ATOMIC_ACQUIRE);
	unsigned op = (unsigned)(w >> 48) & 0xff, count = 0, i;
	uint16_t head = (uint16_t)(w >> 32);
	void *p;
	int rc;

	if (!vq->ready) {
		virtq_clear(vq);	/* QueueReady 0 forgets it all */
		return 0;
	}
	rc = virtq_check_rings(vq);
	if (rc < 0)
		return rc;
	if ((w >> 56) || op > VQP_PUSH || (op != VQP_NONE && head >= vq->num))
		return -EBADMSG;
	vq->last_avail = (uint16_t)w;
	vq->used_idx = (uint16_t)(w >> 16);
	if (op == VQP_POP) {
		held_set(vq, head, true);
	} else if (op == VQP_PUSH) {
		rc = ioregion_mem_translate(vq->vm->mem, vq->used + 2, 2, true, &p);
		if (rc < 0)
			return rc;
		__atomic_store_n((uint16_t *)p, htole16(vq->used_idx),
				 __ATOMIC_RELEASE);
		held_set(vq, head, false);
	}
	virtq_progress(vq, VQP_NONE, 0);
	/* held chains: inside the queue, as many as taken and not given */
	for (i = 0; i < held_words(vq); i++) {
		uint64_t bits = vq->inflight[i];
		uint32_t in = vq->num > i * 64 ? vq->num - i * 64 : 0;

		if (in < 64 && (bits & ~(in ? ~0ull >> (64 - in) : 0)))
			return -EBADMSG;
		count += (unsigned)__builtin_popcountll(bits);
	}
	if (count != (uint16_t)(vq->last_avail - vq->used_idx))
		return -EBADMSG;
	return 0;
}

void
virtq_resume_abandon(struct ioregion_virtq *vq, unsigned index,
		     struct ioregion_virtq_seg *segs)
{
	struct ioregion_virtio_mmio *vm = vq->vm;

	if (virtq_live(vq) < 0)
		return;
	for (uint32_t h = 0; h < vq->num; h++) {
		uint32_t len = 0;
		int n;

		if (!held(vq, (uint16_t)h))
			continue;
		/* the driver leaves a chain alone until it is used: read
		 * and checked again, as a pop does */
		n = walk_chain(vq, (uint16_t)h, segs, vq->num);
		if (n < 0) {
			virtq_fail(vq);
			return;
		}
		if (vm->ops.abandoned)
			len = vm->ops.abandoned(vm, index, (uint16_t)h, segs,
						(unsigned)n);
		vm->stats.abandoned++;
		if (ioregion_virtq_push(vq, (uint16_t)h, len) < 0)
			return;
	}
}
