/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport and split virtqueues: the state both files share
 * (virtio-mmio.c keeps the registers, virtqueue.c the rings,
 * virtio-state.c the state area a restarted process resumes from).
 */
#ifndef IOREGION_VIRTIO_PRIVATE_H
#define IOREGION_VIRTIO_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioregion/virtio.h"

/*
 * The state area (virtio-state.c), where a restarted process finds what
 * the driver programmed. Host byte order (the same host reads it back), all
 * fields naturally aligned, the area 8-byte aligned:
 *
 *   0                 struct vstate_hdr (written once, then isr only)
 *   64                struct vstate_record, copy 0 (the registers)
 *   64 + R            copy 1; R = vstate_record_size(nqueues)
 *   64 + 2R + q * P   queue q's progress word, then its bitmap of held
 *                     chains; P = 8 + 8 * ((queue_max + 63) / 64)
 *
 * A transport without an area of its caller's keeps the same layout in
 * memory of its own: one code path.
 */
#define VSTATE_MAGIC 0x534f4956u	/* "VIOS" in memory */
#define VSTATE_VERSION 1u

struct vstate_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t device_id;
	uint32_t nqueues;
	uint32_t queue_max;
	uint32_t record_size;
	uint64_t features;	/* offered */
	uint32_t isr;		/* InterruptStatus, stored as it changes */
	uint32_t reserved[7];
};

struct vstate_queue {
	uint64_t desc, avail, used;
	uint32_t num;
	uint8_t ready, broken;
	uint8_t reserved[2];
};

/* One copy of the registers: valid when sum is the checksum of the
 * copy from seq on (seq included, sum and reserved0 excluded). The newer
 * of two valid copies (seq, wrapping) wins. */
struct vstate_record {
	uint32_t seq;
	uint32_t reserved0;
	uint64_t sum;
	uint32_t status;
	uint32_t config_generation;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t driver_features_extra;
	uint32_t queue_sel;
	struct vstate_queue queues[];	/* nqueues */
};

_Static_assert(sizeof(struct vstate_hdr) == 64, "state header layout");
_Static_assert(sizeof(struct vstate_queue) == 32, "state queue layout");
_Static_assert(sizeof(struct vstate_record) == 48, "state record layout");

/*
 * A queue's progress word: bits 0-15 the next avail entry to take, 16-31
 * our used->idx, 32-47 the head of the step under way, 48-55 the step
 * (VQP_NONE, VQP_POP: the head is being marked held; VQP_PUSH: it is
 * being given back, used->idx being stored), 56-63 zero. A pop stores
 * the word with the new avail place and VQP_POP, sets the head's bit,
 * stores VQP_NONE; a push writes the used element, stores the word with
 * the new used->idx and VQP_PUSH, stores used->idx in the ring, clears
 * the bit, stores VQP_NONE. A restart finishes a step under way.
 */
#define VQP_NONE 0u
#define VQP_POP 1u
#define VQP_PUSH 2u
#define VQP_WORD(last_avail, used_idx, head, op) \
	((uint64_t)(last_avail) | (uint64_t)(used_idx) << 16 | \
	 (uint64_t)(head) << 32 | (uint64_t)(op) << 48)

/* Bytes of one copy of the registers for @nqueues queues. */
static inline size_t
vstate_record_size(uint32_t nqueues)
{
	return sizeof(struct vstate_record) + nqueues * sizeof(struct vstate_queue);
}

/* Offset of queue @q's progress word. */
static inline size_t
vstate_progress_off(uint32_t nqueues, uint32_t queue_max, uint32_t q)
{
	return sizeof(struct vstate_hdr) + 2 * vstate_record_size(nqueues) +
	       q * (8 + 8 * (((size_t)queue_max + 63) / 64));
}

struct ioregion_virtq {
	struct ioregion_virtio_mmio *vm;
	uint32_t num;		/* QueueNum */
	bool ready;		/* QueueReady */
	bool broken;		/* a malformed chain stopped it */
	uint64_t desc, avail, used;	/* ring addresses */
	uint16_t last_avail;	/* next avail ring entry to take */
	uint16_t used_idx;	/* our copy of used->idx */
	uint64_t *progress;	/* in the state area: the progress word */
	uint64_t *inflight;	/* ... then the bitmap of heads popped and
				   not pushed */
};

struct ioregion_virtio_mmio {
	struct ioregion_virtio_mmio_config cfg;
	struct ioregion_virtio_mmio_ops ops;
	struct ioregion_mem *mem;
	struct ioregion_irq *irq;
	uint32_t status;
	uint32_t isr;			/* InterruptStatus */
	uint32_t config_generation;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	bool driver_features_extra;	/* a bit above 63 was set */
	uint32_t queue_sel;
	struct ioregion_virtio_mmio_stats stats;
	struct ioregion_virtq *queues;	/* cfg.nqueues */
	uint8_t *state;			/* the state area */
	uint8_t *own_state;		/* ours, until set_state */
	unsigned rec_slot;		/* the copy of the registers stored last */
	uint32_t rec_seq;		/* ... its sequence number */
	bool touched;			/* a register was accessed */
};

/* virtio-mmio.c: whether ioregion_virtio_mmio_new() takes @cfg. */
bool virtio_config_ok(const struct ioregion_virtio_mmio_config *cfg);
/* The registers and queues as after a reset; no callback, no store. */
void virtio_mmio_clear(struct ioregion_virtio_mmio *vm);

/* virtio-state.c: the state area. Bytes for @cfg (0: a bad config). */
size_t vstate_size(const struct ioregion_virtio_mmio_config *cfg);
/* Lay a fresh area out at @area for @vm's current state and point the
 * queues at it. */
void vstate_init(struct ioregion_virtio_mmio *vm, uint8_t *area);
/* Store the registers (the older copy) / InterruptStatus. */
void vstate_save(struct ioregion_virtio_mmio *vm);
void vstate_save_isr(struct ioregion_virtio_mmio *vm);

/* virtqueue.c: store @vq's progress word with step @op on @head. */
void virtq_progress(struct ioregion_virtq *vq, unsigned op, uint16_t head);
/* A restart: check @vq's rings and progress, finish a step under way.
 * 0 or negative errno (the state does not add up). */
int virtq_resume_check(struct ioregion_virtq *vq);
/* A restart: answer every chain @vq holds through the abandoned callback
 * (@segs: room for a chain as long as the queue); no interrupt. */
void virtq_resume_abandon(struct ioregion_virtq *vq, unsigned index,
			  struct ioregion_virtq_seg *segs);

/* Raise InterruptStatus bits and the line. */
int virtio_mmio_interrupt(struct ioregion_virtio_mmio *vm, uint32_t bits);
/* A malformed chain on @p vq: stop it, needs reset, count it. */
void virtq_fail(struct ioregion_virtq *vq);
/* Whether @p vq may run: 0, -ENOTCONN or -EIO. */
int virtq_live(const struct ioregion_virtq *vq);
/* Ring progress and held chains forgotten (the queue is not ready, and
 * its registers are stored, before). */
void virtq_clear(struct ioregion_virtq *vq);
/* Back to the registers after reset (the caller stores them, then
 * virtq_clear()). */
void virtq_reset(struct ioregion_virtq *vq);
/* Check the ring addresses at QueueReady: 0 or negative errno. */
int virtq_check_rings(struct ioregion_virtq *vq);

#endif /* IOREGION_VIRTIO_PRIVATE_H */
