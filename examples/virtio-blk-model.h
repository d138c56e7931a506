/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device model behind examples/virtio-blk.c, with no I/O to
 * the control session so that tests/test-virtio-blk.c can drive it on a
 * memfd guest memory and a plain eventfd line.
 *
 * One request queue. A request is a descriptor chain: the header (type,
 * reserved, sector: 16 bytes, device-readable) in the first descriptor,
 * data segments, and the status byte in the last byte of the last
 * descriptor (device-writable). Types IN, OUT, FLUSH (fdatasync of the
 * image) and GET_ID (a 20-byte id string); any other type answers
 * UNSUPP. A transfer that is not whole sectors, reaches past the end of
 * the disk, has a data segment in the wrong direction or writes a
 * read-only image answers IOERR. A chain the transport refuses (see
 * ioregion/virtio.h) leaves the device needing reset. Data moves between
 * the image file and guest memory directly (pread/pwrite into the
 * translated buffers, no bounce buffer).
 *
 * A restart: given a state area (vblk_attach()), the transport's state
 * outlives the process; the requests the dead process had taken and not
 * answered are answered IOERR (neither read nor written again: the guest
 * sees an I/O error, as a disk that failed a request), and the rest is
 * served as usual.
 */
#ifndef EXAMPLES_VIRTIO_BLK_MODEL_H
#define EXAMPLES_VIRTIO_BLK_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"
#include "ioregion/virtio.h"

#define VBLK_DEVICE_ID 2u
#define VBLK_VENDOR_ID 0x554d4551u
#define VBLK_SECTOR 512u
#define VBLK_QUEUE_MAX 256u
/* Most data segments in one request (config seg_max). */
#define VBLK_SEG_MAX 126u
#define VBLK_ID_BYTES 20u
/* The register window: registers, then config space at 0x100. */
#define VBLK_WINDOW 0x200u

/* Feature bits (virtio 1.x, block device). */
#define VBLK_F_SEG_MAX (1ull << 2)
#define VBLK_F_RO (1ull << 5)
#define VBLK_F_BLK_SIZE (1ull << 6)
#define VBLK_F_FLUSH (1ull << 9)

/* Request types and status values. */
#define VBLK_T_IN 0u
#define VBLK_T_OUT 1u
#define VBLK_T_FLUSH 4u
#define VBLK_T_GET_ID 8u
#define VBLK_S_OK 0u
#define VBLK_S_IOERR 1u
#define VBLK_S_UNSUPP 2u

/* Config space: capacity (u64, sectors) at 0, seg_max (u32) at 12,
 * blk_size (u32) at 20. */
#define VBLK_CFG_CAPACITY 0u
#define VBLK_CFG_SEG_MAX 12u
#define VBLK_CFG_BLK_SIZE 20u
#define VBLK_CFG_SIZE 24u

struct vblk_stats {
	uint64_t reads, writes, flushes, get_ids;
	uint64_t ioerr;		/* requests answered IOERR */
	uint64_t unsupp;	/* requests answered UNSUPP */
	uint64_t bad_requests;	/* chains with no room for a status byte */
	uint64_t stopped;	/* queue runs ended by a refused chain */
	uint64_t abandoned;	/* requests of a dead process answered IOERR */
};

struct vblk;

/* One region of the register window: its offset in the window. */
struct vblk_window {
	struct vblk *b;
	uint64_t offset;
};

/* --delay-us's bound. */
#define VBLK_DELAY_MAX_US 1000000u

struct vblk {
	int fd;			/* the image */
	bool readonly;
	uint64_t capacity;	/* sectors */
	char id[VBLK_ID_BYTES];	/* not NUL-terminated if 20 long */
	uint8_t config[VBLK_CFG_SIZE];
	struct ioregion_mem *mem;
	struct ioregion_virtio_mmio *vm;
	struct vblk_stats stats;
	unsigned int delay_us;	/* each read/write waits this long first */
	struct vblk_window win[IOREGION_VIRTIO_MMIO_NRANGES];
};

/*
 * Open the image at @path (read-write, or read-only if it can only be
 * opened so, or if @readonly); the id is @id cut to 20 bytes (NULL: the
 * file's base name). Returns 0 or a negative errno (-EINVAL: the size is
 * not a whole number of sectors).
 */
int vblk_open(struct vblk *b, const char *path, const char *id, bool readonly);

/* Bytes of state area the device needs (ioregion_virtio_mmio_state_size()). */
size_t vblk_state_size(const struct vblk *b);

/* Create the transport on @mem and @irq (both stay the caller's) and, if
 * @state is not NULL, keep its state in the @len bytes there (see
 * ioregion_virtio_mmio_set_state(): a restart resumes, answering the
 * requests the process before held with IOERR). Returns 0 without a
 * state area, IOREGION_VIRTIO_STATE_NEW, _RESUMED or _BAD with one, or a
 * negative errno from ioregion_virtio_mmio_new() or _set_state(). */
int vblk_attach(struct vblk *b, struct ioregion_mem *mem,
		struct ioregion_irq *irq, void *state, size_t len);

/*
 * The register window at @base (VBLK_WINDOW bytes) as the regions
 * ioregion_virtio_mmio_ranges() splits it into, QueueNotify posted, in
 * @cfg (IOREGION_VIRTIO_MMIO_NRANGES entries): register them all on one
 * channel. Their callbacks go to the transport once vblk_attach() has made
 * it (before: -ENODEV, a read answers all-ones). Returns
 * IOREGION_VIRTIO_MMIO_NRANGES or -EINVAL (@cfg NULL).
 */
int vblk_regions(struct vblk *b, uint64_t base,
		 struct ioregion_region_config *cfg);

/* Serve the request queue until it is empty or a chain is refused. */
void vblk_process(struct vblk *b);

/* The features the device offers. */
uint64_t vblk_features(const struct vblk *b);

/* Destroy the transport and close the image. */
void vblk_close(struct vblk *b);

#endif /* EXAMPLES_VIRTIO_BLK_MODEL_H */
