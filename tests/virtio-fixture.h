/* SPDX-License-Identifier: MIT */
/*
 * A virtio-mmio transport on a memfd-backed guest memory and a real
 * eventfd interrupt line, with the driver's side played by hand: the
 * register sequence Linux's virtio_mmio driver does at probe, and split
 * rings written through the "VMM" mapping of the same memfd.
 */
#ifndef VIRTIO_FIXTURE_H
#define VIRTIO_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"
#include "ioregion/virtio.h"

/* Guest RAM: [RAM_GPA, +RAM_SIZE) read-write; [RO_GPA, +RO_SIZE) read-only. */
#define VF_RAM_GPA 0x100000ull
#define VF_RAM_SIZE 0x10000ull
#define VF_RO_GPA 0x200000ull
#define VF_RO_SIZE 0x1000ull
/* Queue 0's rings and the buffers. */
#define VF_DESC 0x100000ull
#define VF_AVAIL 0x101000ull
#define VF_USED 0x102000ull
#define VF_BUF 0x108000ull
#define VF_QSIZE 8u
#define VF_FEATURES (IOREGION_VIRTIO_F_VERSION_1 | (1ull << 6))

struct vf {
	int fd;			/* guest RAM memfd */
	uint8_t *ram;		/* the VMM's view of [VF_RAM_GPA, ...) */
	int efd;		/* the interrupt line's trigger eventfd */
	struct ioregion_ctx *ctx;
	struct ioregion_irq *irq;
	struct ioregion_mem *mem;
	struct ioregion_virtio_mmio *vm;
	unsigned notified;	/* notify callback calls */
	unsigned last_queue;	/* its last queue */
	unsigned resets;	/* reset callback calls */
	uint8_t config[16];	/* the device's config space */
	uint16_t avail_idx;	/* the driver's next avail index */
	uint64_t features;	/* vf_probe(): offered, all accepted */
	uint32_t queue_max;	/* vf_queue(): QueueNumMax */
	struct ioregion_channel *ch;	/* vf_channel(): the window's channel */
	int peer;		/* its peer end: the test plays the kernel */
};

/* One descriptor as the test's driver writes it. */
struct vf_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void vf_setup(struct vf *f, uint32_t nqueues);
/* Memory, line and context only: the test makes the transport (f->vm,
 * destroyed by vf_teardown()) and sets f->features and f->queue_max. */
void vf_setup_env(struct vf *f);
void vf_teardown(struct vf *f);
uint32_t vf_rd(struct vf *f, uint64_t off);
void vf_wr(struct vf *f, uint64_t off, uint32_t val);
/* Linux's probe up to DRIVER_OK with queue 0 at VF_DESC/AVAIL/USED. */
void vf_probe(struct vf *f);
/* Set up queue @p q with @p num entries at the given rings (QueueReady 1). */
void vf_queue(struct vf *f, unsigned q, uint32_t num, uint64_t desc,
	      uint64_t avail, uint64_t used);
/* Write descriptors at table index @p first.. and make @p head available. */
void vf_descs(struct vf *f, unsigned first, const struct vf_desc *d, unsigned n);
void vf_avail(struct vf *f, uint16_t head);
/* Edges on the line since the last call (reads the eventfd). */
uint64_t vf_edges(struct vf *f);
/* Guest RAM at @p gpa through the VMM's view. */
void *vf_ptr(struct vf *f, uint64_t gpa);
struct ioregion_virtio_mmio_stats vf_stats(struct vf *f);

/* A SEQPACKET channel on the fixture's context (f->ch, f->peer; destroyed
 * by vf_teardown()). */
void vf_channel(struct vf *f);
/* The window at 0xd0000000 split by ioregion_virtio_mmio_ranges() (in @p r)
 * as three regions on f->ch (vf_channel() first), in @p reg. */
void vf_ranges(struct vf *f,
	       struct ioregion_virtio_mmio_range r[IOREGION_VIRTIO_MMIO_NRANGES],
	       struct ioregion_region *reg[IOREGION_VIRTIO_MMIO_NRANGES]);
/* Send one 4-byte command (v3) for region @p r at @p off: a read, or a
 * write (@p wr) of @p val that waits for an answer unless @p posted. 0 or -1.
 * No assertion inside (Check's would allocate): callers check. */
int vf_send(struct vf *f, struct ioregion_region *r, bool wr, bool posted,
	     uint64_t off, uint32_t val);
/* Dispatch what the channel has; then, if an answer came, return 1 with
 * its data in *@p val, else 0 (-1: a short answer). */
int vf_answer(struct vf *f, uint64_t *val);

#endif /* VIRTIO_FIXTURE_H */
