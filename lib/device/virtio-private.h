/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport and split virtqueues: the state both files share
 * (virtio-mmio.c keeps the registers, virtqueue.c the rings).
 */
#ifndef IOREGION_VIRTIO_PRIVATE_H
#define IOREGION_VIRTIO_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ioregion/virtio.h"

struct ioregion_virtq {
	struct ioregion_virtio_mmio *vm;
	uint32_t num;		/* QueueNum */
	bool ready;		/* QueueReady */
	bool broken;		/* a malformed chain stopped it */
	uint64_t desc, avail, used;	/* ring addresses */
	uint16_t last_avail;	/* next avail ring entry to take */
	uint16_t used_idx;	/* our copy of used->idx */
	uint64_t *inflight;	/* bitmap of heads popped and not pushed */
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
};

/* Raise InterruptStatus bits and the line. */
int virtio_mmio_interrupt(struct ioregion_virtio_mmio *vm, uint32_t bits);
/* A malformed chain on @p vq: stop it, needs reset, count it. */
void virtq_fail(struct ioregion_virtq *vq);
/* Whether @p vq may run: 0, -ENOTCONN or -EIO. */
int virtq_live(const struct ioregion_virtq *vq);
/* QueueReady 0: not ready, ring progress and held chains forgotten
 * (size and addresses stay). */
void virtq_stop(struct ioregion_virtq *vq);
/* Back to the state after reset. */
void virtq_reset(struct ioregion_virtq *vq);
/* Check the ring addresses at QueueReady: 0 or negative errno. */
int virtq_check_rings(struct ioregion_virtq *vq);

#endif /* IOREGION_VIRTIO_PRIVATE_H */
