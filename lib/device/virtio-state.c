/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport's state area: what a restarted device process
 * needs to take up where the killed one left off (layout and step order:
 * virtio-private.h). Every change is stored as it happens, with plain
 * stores in an order that leaves the area usable whatever instruction the
 * process is killed at:
 *
 *   - the registers: two copies, the older one rewritten, its checksum
 *     and then its sequence number stored last, so a copy caught half
 *     written never checks out and the other one is used;
 *   - InterruptStatus: one word;
 *   - ring progress: one word per queue and one bit per held chain
 *     (virtqueue.c), each pop and push a step a restart can finish.
 *
 * A restart checks all of it before using any (a damaged or foreign area
 * is DEVICE_NEEDS_RESET, never a crash), answers the chains the dead
 * process held through the device's abandoned callback, and kicks every
 * live queue. The area is the process's memory only in the sense of a
 * mapping: no syscall, no allocation after set-up.
 */
#include "ioregion-private.h"
#include "virtio-private.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ioregion/irq.h"

#define KNOWN_STATUS (IOREGION_VIRTIO_STATUS_ACKNOWLEDGE | \
	IOREGION_VIRTIO_STATUS_DRIVER | IOREGION_VIRTIO_STATUS_DRIVER_OK | \
	IOREGION_VIRTIO_STATUS_FEATURES_OK | \
	IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET | \
	IOREGION_VIRTIO_STATUS_FAILED)

size_t
vstate_size(const struct ioregion_virtio_mmio_config *cfg)
{
	if (!cfg || !virtio_config_ok(cfg))
		return 0;
	return vstate_progress_off(cfg->nqueues, cfg->queue_max, cfg->nqueues);
}

IOREGION_EXPORT size_t
ioregion_virtio_mmio_state_size(const struct ioregion_virtio_mmio_config *cfg)
{
	return vstate_size(cfg);
}

static struct vstate_hdr *
hdr_of(uint8_t *area)
{
	return (struct vstate_hdr *)(void *)area;
}

static struct vstate_record *
record_of(const struct ioregion_virtio_mmio *vm, uint8_t *area, unsigned i)
{
	return (struct vstate_record *)(void *)(area + sizeof(struct vstate_hdr) +
		i * vstate_record_size(vm->cfg.nqueues));
}

/* FNV-1a, 64 bits: detects a torn or damaged copy (not an attack: the
 * area is the device's own). */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The checksum of copy @r as if its sequence number were @seq. */
static uint64_t
record_sum(const struct ioregion_virtio_mmio *vm, const struct vstate_record *r,
	   uint32_t seq)
{
	size_t from = offsetof(struct vstate_record, status);

	return fnv(fnv(0xcbf29ce484222325ull, &seq, sizeof(seq)),
		   (const uint8_t *)r + from,
		   vstate_record_size(vm->cfg.nqueues) - from);
}

static void
point_queues(struct ioregion_virtio_mmio *vm, uint8_t *area)
{
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++) {
		struct ioregion_virtq *vq = &vm->queues[q];

		vq->progress = (uint64_t *)(void *)(area +
			vstate_progress_off(vm->cfg.nqueues, vm->cfg.queue_max, q));
		vq->inflight = vq->progress + 1;
	}
}

void
vstate_save(struct ioregion_virtio_mmio *vm)
{
	unsigned slot = !vm->rec_slot;
	struct vstate_record *r = record_of(vm, vm->state, slot);
	uint32_t seq = vm->rec_seq + 1;

	r->status = vm->status;
	r->config_generation = vm->config_generation;
	r->device_features_sel = vm->device_features_sel;
	r->driver_features_sel = vm->driver_features_sel;
	r->driver_features = vm->driver_features;
	r->driver_features_extra = vm->driver_features_extra;
	r->queue_sel = vm->queue_sel;
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++) {
		const struct ioregion_virtq *vq = &vm->queues[q];

		r->queues[q] = (struct vstate_queue){
			.desc = vq->desc, .avail = vq->avail, .used = vq->used,
			.num = vq->num, .ready = vq->ready, .broken = vq->broken,
		};
	}
	/* the checksum for the new number, then the number: until both
	 * are there the copy does not check out */
	__atomic_store_n(&r->sum, record_sum(vm, r, seq), __ATOMIC_RELEASE);
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
	vm->rec_slot = slot;
	vm->rec_seq = seq;
}

void
vstate_save_isr(struct ioregion_virtio_mmio *vm)
{
	__atomic_store_n(&hdr_of(vm->state)->isr, vm->isr, __ATOMIC_RELEASE);
}

void
vstate_init(struct ioregion_virtio_mmio *vm, uint8_t *area)
{
	struct vstate_hdr *h = hdr_of(area);

	memset(area, 0, vstate_size(&vm->cfg));
	vm->state = area;
	point_queues(vm, area);
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++)
		virtq_progress(&vm->queues[q], VQP_NONE, 0);
	vm->rec_slot = 1;
	vm->rec_seq = 0;
	vstate_save(vm);
	vstate_save_isr(vm);
	h->version = VSTATE_VERSION;
	h->device_id = vm->cfg.device_id;
	h->nqueues = vm->cfg.nqueues;
	h->queue_max = vm->cfg.queue_max;
	h->record_size = (uint32_t)vstate_record_size(vm->cfg.nqueues);
	h->features = vm->cfg.features;
	__atomic_store_n(&h->magic, VSTATE_MAGIC, __ATOMIC_RELEASE);
}

/* The newer copy of the registers that checks out, or NULL. */
static struct vstate_record *
newest_record(struct ioregion_virtio_mmio *vm, uint8_t *area, unsigned *slot)
{
	struct vstate_record *best = NULL;

	for (unsigned i = 0; i < 2; i++) {
		struct vstate_record *r = record_of(vm, area, i);

		if (r->sum != record_sum(vm, r, r->seq))
			continue;
		if (!best || (int32_t)(r->seq - best->seq) > 0) {
			best = r;
			*slot = i;
		}
	}
	return best;
}

/* Take the registers from copy @r, checked as the register writes would
 * have left them. 0 or -EBADMSG. */
static int
load_record(struct ioregion_virtio_mmio *vm, const struct vstate_record *r)
{
	if ((r->status & ~KNOWN_STATUS) || r->driver_features_extra > 1 ||
	    ((r->status & IOREGION_VIRTIO_STATUS_FEATURES_OK) &&
	     (r->driver_features & ~vm->cfg.features)))
		return -EBADMSG;
	vm->status = r->status;
	vm->config_generation = r->config_generation;
	vm->device_features_sel = r->device_features_sel;
	vm->driver_features_sel = r->driver_features_sel;
	vm->driver_features = r->driver_features;
	vm->driver_features_extra = r->driver_features_extra;
	vm->queue_sel = r->queue_sel;
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++) {
		const struct vstate_queue *s = &r->queues[q];
		struct ioregion_virtq *vq = &vm->queues[q];

		if (s->ready > 1 || s->broken > 1 ||
		    s->num > vm->cfg.queue_max || (s->ready && !s->num))
			return -EBADMSG;
		vq->desc = s->desc;
		vq->avail = s->avail;
		vq->used = s->used;
		vq->num = s->num;
		vq->ready = s->ready;
		vq->broken = s->broken;
	}
	return 0;
}

/* Resume from @area: 0, or a negative errno with *@status the Status of
 * a copy that checked out (0 if none did). */
static int
resume(struct ioregion_virtio_mmio *vm, uint8_t *area, uint32_t *status)
{
	const struct vstate_hdr *h = hdr_of(area);
	struct vstate_record *r;
	unsigned slot = 0;
	int rc;

	*status = 0;
	if (h->magic != VSTATE_MAGIC || h->version != VSTATE_VERSION)
		return -EPROTO;
	if (h->device_id != vm->cfg.device_id || h->nqueues != vm->cfg.nqueues ||
	    h->queue_max != vm->cfg.queue_max || h->features != vm->cfg.features ||
	    h->record_size != vstate_record_size(vm->cfg.nqueues))
		return -ESTALE;		/* another device's */
	r = newest_record(vm, area, &slot);
	if (!r)
		return -EBADMSG;
	*status = r->status & KNOWN_STATUS;
	rc = load_record(vm, r);
	if (rc < 0)
		return rc;
	vm->isr = h->isr & (IOREGION_VIRTIO_INT_VRING | IOREGION_VIRTIO_INT_CONFIG);
	vm->state = area;
	vm->rec_slot = slot;
	vm->rec_seq = r->seq;
	point_queues(vm, area);
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++) {
		rc = virtq_resume_check(&vm->queues[q]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* State we cannot use: the device as after a reset, but with the Status
 * the driver last saw (if we know it) and DEVICE_NEEDS_RESET, and a
 * config-change interrupt whatever the Status (the driver may be in the
 * middle of using the device); the area laid out afresh for that. */
static void
refuse_state(struct ioregion_virtio_mmio *vm, uint8_t *area, uint32_t status)
{
	virtio_mmio_clear(vm);
	vm->status = status | IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	vm->isr = IOREGION_VIRTIO_INT_CONFIG;
	vstate_init(vm, area);
	vm->stats.interrupts++;
	ioregion_irq_set(vm->irq, true);
}

IOREGION_EXPORT int
ioregion_virtio_mmio_set_state(struct ioregion_virtio_mmio *vm, void *buf,
			       size_t len)
{
	struct ioregion_virtq_seg *segs;
	uint32_t status;
	size_t size;

	if (!vm || !buf || ((uintptr_t)buf & 7))
		return -EINVAL;
	size = vstate_size(&vm->cfg);
	if (len < size)
		return -EINVAL;
	if (vm->state != vm->own_state || vm->touched)
		return -EBUSY;
	segs = calloc(vm->cfg.queue_max, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	free(vm->own_state);
	vm->own_state = NULL;
	if (all_zero(buf, size)) {
		vstate_init(vm, buf);
		free(segs);
		return IOREGION_VIRTIO_STATE_NEW;
	}
	if (resume(vm, buf, &status) < 0) {
		refuse_state(vm, buf, status);
		free(segs);
		return IOREGION_VIRTIO_STATE_BAD;
	}
	/* the chains the dead process held, answered failed; a used-buffer
	 * interrupt on every live queue (the process may have died between
	 * a push and its interrupt: a spurious one is harmless, a lost one
	 * leaves the driver waiting); then what the driver made available
	 * meanwhile (its notify may be lost) */
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++) {
		virtq_resume_abandon(&vm->queues[q], q, segs);
		if (virtq_live(&vm->queues[q]) == 0)
			ioregion_virtq_notify(&vm->queues[q]);
	}
	free(segs);
	if (vm->isr)
		ioregion_irq_set(vm->irq, true);
	for (uint32_t q = 0; q < vm->cfg.nqueues; q++)
		if (virtq_live(&vm->queues[q]) == 0 && vm->ops.notify)
			vm->ops.notify(vm, q);
	return IOREGION_VIRTIO_STATE_RESUMED;
}
