/* SPDX-License-Identifier: MIT */
/*
 * libioregion virtio: the virtio-mmio transport (virtio 1.x, MMIO register
 * layout version 2) and split virtqueues, for device authors. An optional
 * component of libioregion-server: a device that does not include this
 * header does not use it. It lives in the library, not in an example,
 * because every virtio device needs the same transport and the same
 * careful descriptor parsing; it depends only on guest memory (memory.h)
 * and interrupt lines (irq.h), plus a ready-made set of region callbacks
 * for server.h.
 *
 * The transport keeps the registers, the feature negotiation and the
 * device status state machine; the device keeps its config space (through
 * callbacks) and its requests. The register window is an ioregion of
 * IOREGION_VIRTIO_MMIO_CONFIG + config_size bytes or more. QueueNotify is
 * a write that needs no answer, the case posted writes are made for, but
 * the registers around it are checked writes whose effect the driver reads
 * back: ioregion_virtio_mmio_ranges() splits the window into three regions
 * for one channel, QueueNotify alone with IOREGION_F_POSTED_WRITES, so the
 * guest's notify does not wait for its requests to be served and a later
 * read, on the same channel, still comes after it. QueueReady 1 checks the
 * queue first: a
 * QueueNum of 0 or above QueueNumMax, rings not aligned (16, 2, 4 bytes)
 * or not inside guest memory (the used ring writable) leave it not ready
 * and the device needing reset. A driver's QueueReady 0 takes a queue down:
 * the device forgets its place in the rings and the chains it holds (a
 * push of one is refused). InterruptStatus drives one interrupt line:
 * asserted while InterruptStatus is not 0 (an edge line gets a new edge
 * when the driver's InterruptACK leaves a bit set).
 *
 * Virtqueues are split rings in guest memory. ioregion_virtq_pop() copies
 * every descriptor in once (no double fetch) and validates the copy; a
 * malformed chain (an index past the queue, a chain longer than the
 * queue, lengths whose sum overflows 32 bits, a buffer outside guest
 * memory, an indirect descriptor) is refused with a negative errno, the
 * queue stops, and the transport sets DEVICE_NEEDS_RESET and raises a
 * config-change interrupt, as the virtio specification asks. Whether a
 * request's readable and writable segments come in the order its device
 * type needs is the device's call: each segment says which it is.
 *
 * A device process killed in the middle of requests can be started again
 * without the driver noticing more than failed requests: the transport
 * keeps its state in an area that outlives the process
 * (ioregion_virtio_mmio_set_state()) and a restart resumes from it.
 *
 * Not implemented (refused in the device's feature set):
 * VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX (without it the device
 * honours VRING_AVAIL_F_NO_INTERRUPT), VIRTIO_F_RING_PACKED and
 * VIRTIO_F_NOTIFICATION_DATA. No shared memory regions.
 *
 * Everything runs in the device's loop thread; no allocation and no
 * syscall on the access, pop and push paths (an interrupt is one write to
 * the line's eventfd). The host must be little-endian or convert: the
 * library does (virtio 1.x rings are little-endian).
 */
#ifndef IOREGION_VIRTIO_H
#define IOREGION_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ioregion_irq;
struct ioregion_mem;
struct ioregion_region_ops;
struct ioregion_virtio_mmio;
struct ioregion_virtq;

/* ---- registers (offsets into the window, 32-bit accesses) -------------- */

#define IOREGION_VIRTIO_MMIO_MAGIC_VALUE	0x000
#define IOREGION_VIRTIO_MMIO_VERSION		0x004
#define IOREGION_VIRTIO_MMIO_DEVICE_ID		0x008
#define IOREGION_VIRTIO_MMIO_VENDOR_ID		0x00c
#define IOREGION_VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define IOREGION_VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define IOREGION_VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define IOREGION_VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define IOREGION_VIRTIO_MMIO_QUEUE_SEL		0x030
#define IOREGION_VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define IOREGION_VIRTIO_MMIO_QUEUE_NUM		0x038
#define IOREGION_VIRTIO_MMIO_QUEUE_READY	0x044
#define IOREGION_VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define IOREGION_VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define IOREGION_VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define IOREGION_VIRTIO_MMIO_STATUS		0x070
#define IOREGION_VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define IOREGION_VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define IOREGION_VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define IOREGION_VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define IOREGION_VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
/** Where the device's config space starts. */
#define IOREGION_VIRTIO_MMIO_CONFIG		0x100
/** Largest config space (the window then ends at 0x1000). */
#define IOREGION_VIRTIO_MMIO_CONFIG_MAX		0xf00u

/** MagicValue: "virt" in little-endian. */
#define IOREGION_VIRTIO_MMIO_MAGIC		0x74726976u

/* ---- device status bits ------------------------------------------------ */

#define IOREGION_VIRTIO_STATUS_ACKNOWLEDGE	1u
#define IOREGION_VIRTIO_STATUS_DRIVER		2u
#define IOREGION_VIRTIO_STATUS_DRIVER_OK	4u
#define IOREGION_VIRTIO_STATUS_FEATURES_OK	8u
#define IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define IOREGION_VIRTIO_STATUS_FAILED		128u

/* ---- InterruptStatus bits ---------------------------------------------- */

#define IOREGION_VIRTIO_INT_VRING		1u	/**< used buffer */
#define IOREGION_VIRTIO_INT_CONFIG		2u	/**< config change */

/* ---- feature bits ------------------------------------------------------ */

#define IOREGION_VIRTIO_F_INDIRECT_DESC		(1ull << 28)
#define IOREGION_VIRTIO_F_EVENT_IDX		(1ull << 29)
#define IOREGION_VIRTIO_F_VERSION_1		(1ull << 32)
#define IOREGION_VIRTIO_F_ACCESS_PLATFORM	(1ull << 33)
#define IOREGION_VIRTIO_F_RING_PACKED		(1ull << 34)
#define IOREGION_VIRTIO_F_NOTIFICATION_DATA	(1ull << 38)
/** Features this version does not implement: refused in a config. */
#define IOREGION_VIRTIO_F_UNSUPPORTED \
	(IOREGION_VIRTIO_F_INDIRECT_DESC | IOREGION_VIRTIO_F_EVENT_IDX | \
	 IOREGION_VIRTIO_F_RING_PACKED | IOREGION_VIRTIO_F_NOTIFICATION_DATA)

/* ---- split ring layout ------------------------------------------------- */

#define IOREGION_VIRTQ_DESC_F_NEXT		1u
#define IOREGION_VIRTQ_DESC_F_WRITE		2u
#define IOREGION_VIRTQ_DESC_F_INDIRECT		4u
#define IOREGION_VIRTQ_AVAIL_F_NO_INTERRUPT	1u
/** Largest split queue. */
#define IOREGION_VIRTQ_SIZE_MAX			32768u
/** Most queues one transport has. */
#define IOREGION_VIRTIO_MMIO_QUEUES_MAX		64u

/** One buffer of a descriptor chain, as ioregion_virtq_pop() gives it. */
struct ioregion_virtq_seg {
	uint64_t gpa;		/**< guest physical address */
	uint32_t len;		/**< bytes (0 allowed: nothing to access) */
	bool write;		/**< device-writable (else device-readable) */
};

/** The device's callbacks; all may be NULL. */
struct ioregion_virtio_mmio_ops {
	/**
	 * Read @p size (1, 2, 4 or 8) bytes of config space at @p offset
	 * (from the start of config space, inside config_size).
	 * @return 0 with @p *val set, or a negative errno (the guest reads
	 * all-ones). NULL: config space reads as zeros.
	 */
	int (*config_read)(struct ioregion_virtio_mmio *vm, uint32_t offset,
			   unsigned size, uint64_t *val);
	/** Write config space. @return 0 or a negative errno. NULL: dropped. */
	int (*config_write)(struct ioregion_virtio_mmio *vm, uint32_t offset,
			    unsigned size, uint64_t val);
	/**
	 * The driver wrote QueueNotify for @p queue, a queue that is ready
	 * while the device is live (DRIVER_OK, neither FAILED nor
	 * DEVICE_NEEDS_RESET). Pop its chains here or later.
	 */
	void (*notify)(struct ioregion_virtio_mmio *vm, unsigned queue);
	/**
	 * The driver reset the device (wrote 0 to Status): the transport
	 * and every queue are back to their initial state; chains popped and
	 * not pushed are forgotten (pushing them now is refused).
	 */
	void (*reset)(struct ioregion_virtio_mmio *vm);
	/**
	 * A restarted transport resumed on saved state
	 * (ioregion_virtio_mmio_set_state()) and found the chain at @p head
	 * of @p queue taken by the process before and never given back:
	 * answer it as failed (virtio-blk: VIRTIO_BLK_S_IOERR in its status
	 * byte), without reading or writing the disk. @p segs are its
	 * buffers, checked as ioregion_virtq_pop() checks them.
	 * @return the bytes written into its device-writable buffers (the
	 * used length); the transport then gives the chain back. NULL: the
	 * chains are given back with 0 bytes written.
	 */
	uint32_t (*abandoned)(struct ioregion_virtio_mmio *vm, unsigned queue,
			      uint16_t head, const struct ioregion_virtq_seg *segs,
			      unsigned nsegs);
};

/** A transport as the device describes it. Zero-initialise it. */
struct ioregion_virtio_mmio_config {
	uint32_t device_id;	/**< virtio device ID, not 0 (2: block) */
	uint32_t vendor_id;	/**< VendorID register */
	uint64_t features;	/**< offered; must have VIRTIO_F_VERSION_1 */
	uint32_t nqueues;	/**< 1..IOREGION_VIRTIO_MMIO_QUEUES_MAX */
	uint32_t queue_max;	/**< QueueNumMax, 1..IOREGION_VIRTQ_SIZE_MAX */
	uint32_t config_size;	/**< config space bytes, <= _CONFIG_MAX */
	uint32_t reserved0;	/**< must be 0 */
	const struct ioregion_virtio_mmio_ops *ops;	/**< may be NULL */
	void *userdata;		/**< ioregion_virtio_mmio_get_userdata() */
	uint64_t reserved[4];	/**< must be 0 */
};

/** Per-transport counters. */
struct ioregion_virtio_mmio_stats {
	uint64_t notifies;	/**< QueueNotify writes passed to the device */
	uint64_t interrupts;	/**< times InterruptStatus went from 0 to not 0 */
	uint64_t suppressed;	/**< used-buffer interrupts the driver suppressed */
	uint64_t bad_chains;	/**< malformed descriptor chains refused */
	uint64_t bad_accesses;	/**< register accesses refused or ignored */
	uint64_t refused_features; /**< FEATURES_OK refused */
	uint64_t resets;	/**< resets by the driver (Status 0) */
	uint64_t abandoned;	/**< chains of a dead process answered failed */
};

/**
 * Create a transport. It takes a reference on @p mem and uses @p irq
 * (which stays the caller's, and must outlive the transport).
 * @param[out] vmp the transport
 * @return 0
 * @retval -EINVAL a NULL argument; device_id 0; features without
 *         VIRTIO_F_VERSION_1 or with one of IOREGION_VIRTIO_F_UNSUPPORTED;
 *         nqueues or queue_max out of range; config_size too large; a
 *         reserved field not 0
 * @retval -ENOMEM out of memory
 */
int ioregion_virtio_mmio_new(const struct ioregion_virtio_mmio_config *cfg,
			     struct ioregion_mem *mem, struct ioregion_irq *irq,
			     struct ioregion_virtio_mmio **vmp);

/** Destroy a transport (NULL allowed); drops its reference on the memory. */
void ioregion_virtio_mmio_destroy(struct ioregion_virtio_mmio *vm);

/**
 * A register read at @p offset of the window, for a region's read
 * callback. Registers take 4-byte accesses, config space 1, 2, 4 or 8.
 * @return 0 with @p *val set
 * @retval -EINVAL NULL argument, a bad width or alignment, an offset past
 *         config space or a write-only register (counted)
 * @retval negative errno from the config_read callback
 */
int ioregion_virtio_mmio_read(struct ioregion_virtio_mmio *vm, uint64_t offset,
			      unsigned size, uint64_t *val);

/**
 * A register write, for a region's write callback. Writes the state
 * machine does not allow (setup of a ready queue, features after
 * FEATURES_OK, status bits out of order or cleared) are ignored and
 * counted in bad_accesses, and return 0: the driver sees their effect by
 * reading back, as virtio asks.
 * @return 0
 * @retval -EINVAL NULL, a bad width or alignment, an offset past config
 *         space or a read-only register (counted)
 * @retval negative errno from the config_write callback
 */
int ioregion_virtio_mmio_write(struct ioregion_virtio_mmio *vm,
			       uint64_t offset, unsigned size, uint64_t val);

/**
 * Region callbacks that serve the window: give them as the ops of a
 * region whose userdata is the transport.
 * @return the callbacks (static)
 */
const struct ioregion_region_ops *ioregion_virtio_mmio_region_ops(void);

/** How many regions ioregion_virtio_mmio_ranges() makes of a window. */
#define IOREGION_VIRTIO_MMIO_NRANGES 3

/** One region of a window split by ioregion_virtio_mmio_ranges(). */
struct ioregion_virtio_mmio_range {
	uint64_t offset;	/**< from the window's start */
	uint64_t size;		/**< bytes */
	uint32_t flags;		/**< 0, or IOREGION_F_POSTED_WRITES (QueueNotify) */
	uint32_t reserved;	/**< 0 */
	/** Callbacks for a region on this range whose userdata is the
	 * transport: they add @p offset and call ioregion_virtio_mmio_read()
	 * or ioregion_virtio_mmio_write(). */
	const struct ioregion_region_ops *ops;
};

/**
 * Split a register window of @p window_size bytes into
 * IOREGION_VIRTIO_MMIO_NRANGES regions, in address order: the registers
 * before QueueNotify (0x000-0x04f), QueueNotify alone (0x050-0x053, posted
 * writes), the rest (0x054 to the window's end). Register all three on one
 * channel: commands on a channel are served in order, so a read after a
 * posted QueueNotify sees its effect.
 * @param[out] ranges IOREGION_VIRTIO_MMIO_NRANGES entries
 * @return IOREGION_VIRTIO_MMIO_NRANGES
 * @retval -EINVAL @p ranges is NULL, or @p window_size is below
 *         IOREGION_VIRTIO_MMIO_CONFIG or above IOREGION_VIRTIO_MMIO_CONFIG +
 *         IOREGION_VIRTIO_MMIO_CONFIG_MAX
 */
int ioregion_virtio_mmio_ranges(uint64_t window_size,
				struct ioregion_virtio_mmio_range *ranges);

/** @return the config's userdata (NULL @p vm: NULL) */
void *ioregion_virtio_mmio_get_userdata(struct ioregion_virtio_mmio *vm);

/** @return the Status register (0 for NULL) */
uint32_t ioregion_virtio_mmio_get_status(const struct ioregion_virtio_mmio *vm);

/**
 * The features the driver accepted: meaningful once Status has
 * FEATURES_OK. @return them (0 for NULL)
 */
uint64_t
ioregion_virtio_mmio_get_features(const struct ioregion_virtio_mmio *vm);

/**
 * Queue @p index. @return it, or NULL if @p vm is NULL or @p index is
 * not below nqueues
 */
struct ioregion_virtq *ioregion_virtio_mmio_queue(struct ioregion_virtio_mmio *vm,
						  unsigned index);

/**
 * The device's config space changed: ConfigGeneration moves on and, once
 * the driver has set DRIVER_OK, a config-change interrupt is raised.
 * @return 0
 * @retval -EINVAL @p vm is NULL
 * @retval negative errno from the line
 */
int ioregion_virtio_mmio_config_changed(struct ioregion_virtio_mmio *vm);

/**
 * The device cannot go on: set DEVICE_NEEDS_RESET and, once DRIVER_OK,
 * raise a config-change interrupt. Every queue stops until the driver
 * resets the device. ioregion_virtq_pop() does this on a malformed chain.
 * @return 0
 * @retval -EINVAL @p vm is NULL
 * @retval negative errno from the line
 */
int ioregion_virtio_mmio_needs_reset(struct ioregion_virtio_mmio *vm);

/**
 * Copy the counters into @p stats.
 * @return 0
 * @retval -EINVAL a NULL argument
 */
int ioregion_virtio_mmio_get_stats(const struct ioregion_virtio_mmio *vm,
				   struct ioregion_virtio_mmio_stats *stats);

/* ---- state that outlives the device process --------------------------- */

/** ioregion_virtio_mmio_set_state(): the area held no state (all zeros);
 * the device starts as after a reset and the area now holds its state. */
#define IOREGION_VIRTIO_STATE_NEW	0
/** ioregion_virtio_mmio_set_state(): the transport took up where the
 * process before left off. */
#define IOREGION_VIRTIO_STATE_RESUMED	1
/** ioregion_virtio_mmio_set_state(): the area held state this transport
 * cannot use (damaged, another version or another device's, rings no
 * longer in guest memory, ring progress that does not add up): the device
 * needs reset (DEVICE_NEEDS_RESET and a config-change interrupt) and the
 * area now holds that. */
#define IOREGION_VIRTIO_STATE_BAD	2

/**
 * Bytes of state area a transport of @p cfg needs (a few hundred for one
 * queue of 256: a header, two copies of the registers and, per queue, one
 * word of ring progress and one bit per descriptor).
 * @return the size, 0 if @p cfg is NULL or ioregion_virtio_mmio_new()
 *         would refuse it
 */
size_t ioregion_virtio_mmio_state_size(const struct ioregion_virtio_mmio_config *cfg);

/**
 * Keep the transport's state in @p buf, memory that outlives the process
 * (a MAP_SHARED mapping of a file or memfd that the restarted process
 * maps again), so that a device process killed in the middle of requests
 * can be started again without the driver noticing more than failed
 * requests. The transport then writes every change there as it happens:
 * the registers the driver programmed (status, features, queue sizes and
 * ring addresses; two copies, each with a sequence number and a checksum,
 * the older one rewritten, so a process killed in the middle of an
 * update leaves the newer complete copy), InterruptStatus, and per queue
 * its place in the rings and which chains it holds (one word and one bit
 * per chain, stored in an order that a kill at any instruction leaves
 * either before or after the step). Plain stores: no syscall, no
 * allocation on the access, pop and push paths. One live transport per
 * area (a second process on the same area corrupts it: lock the file).
 *
 * Call it once, right after ioregion_virtio_mmio_new(), once the guest
 * memory table is in place and before the first register access. If @p
 * buf holds state (a restart), the transport resumes: it checks that the
 * state is its own (version, device ID, features, queues), picks the
 * newer valid copy of the registers, checks every ready queue's rings
 * against guest memory as QueueReady does, finishes a pop or push the
 * process was killed in, and checks that the chains held add up to the
 * ring progress. Then every chain the process before held (available,
 * taken, not given back) is re-read from guest memory and handed to the
 * abandoned callback, given back, and the used-buffer interrupt raised on
 * every live queue (also with nothing given back: the process may have
 * died between a push and its interrupt); last, the notify callback runs
 * for every live queue (a QueueNotify may
 * have been lost with the process), so the device serves what the driver
 * made available meanwhile. Both callbacks run inside this call.
 *
 * Only the transport's state is kept: the device keeps its own config
 * space and requests (a device with state of its own keeps it likewise).
 * The VMM must not reset a device that resumed: see
 * IOREGION_DEVICE_F_KEEPS_STATE in device.h.
 *
 * @param buf 8-byte aligned, at least ioregion_virtio_mmio_state_size()
 *        bytes; it stays the caller's and must outlive the transport,
 *        which never writes to it after ioregion_virtio_mmio_destroy()
 * @return IOREGION_VIRTIO_STATE_NEW, _RESUMED or _BAD (the device then
 *         needs reset: not an error, the driver is told)
 * @retval -EINVAL a NULL argument, @p buf not aligned, @p len too small
 * @retval -EBUSY the transport has its state area already, or a register
 *         was accessed before
 * @retval -ENOMEM out of memory
 */
int ioregion_virtio_mmio_set_state(struct ioregion_virtio_mmio *vm, void *buf,
				   size_t len);

/* ---- split virtqueues -------------------------------------------------- */

/** @return the queue's size the driver set (QueueNum), 0 for NULL */
unsigned ioregion_virtq_get_size(const struct ioregion_virtq *vq);

/**
 * Take the next available descriptor chain: its head index in @p *headp
 * and its buffers, in chain order, in @p segs. Each descriptor is read
 * from guest memory once and checked: index inside the queue, the chain
 * not longer than the queue, the sum of lengths inside 32 bits, each
 * buffer inside guest memory (a device-writable one in writable memory),
 * no indirect descriptor. No allocation.
 *
 * A malformed chain (every error but -EINVAL for the caller's own NULL
 * arguments, -ENOTCONN and -EIO) stops the queue, sets
 * DEVICE_NEEDS_RESET and raises a config-change interrupt.
 *
 * @param max entries in @p segs (the device's own bound on a chain)
 * @return the number of segments (>= 1), 0 when nothing is available
 * @retval -EINVAL NULL argument or @p max 0; or a malformed chain: a
 *         descriptor index past the queue, an indirect descriptor, a
 *         head the device still holds (popped, not pushed), or the
 *         driver's avail index more than the queue size ahead
 * @retval -ELOOP the chain is longer than the queue (a loop)
 * @retval -EOVERFLOW the lengths sum to more than 2^32 - 1
 * @retval -EFAULT a buffer or the ring outside guest memory
 * @retval -EACCES a device-writable buffer in read-only guest memory
 * @retval -ENOBUFS the chain has more than @p max segments
 * @retval -ENOTCONN the queue is not ready or the driver has not set
 *         DRIVER_OK
 * @retval -EIO the device needs reset or the driver set FAILED
 */
int ioregion_virtq_pop(struct ioregion_virtq *vq, struct ioregion_virtq_seg *segs,
		       unsigned max, uint16_t *headp);

/**
 * Give the chain at @p head back to the driver with @p len bytes written
 * into its device-writable buffers: the used element first, then used->idx
 * with a release store, so the driver never sees the index before the
 * element. No interrupt: call ioregion_virtq_notify() after one or more
 * pushes.
 * @return 0
 * @retval -EINVAL NULL, or @p head is not a chain popped and not pushed
 * @retval -EFAULT the used ring is outside writable guest memory (the
 *         device then needs reset, as for a malformed chain)
 * @retval -ENOTCONN, -EIO as ioregion_virtq_pop()
 */
int ioregion_virtq_push(struct ioregion_virtq *vq, uint16_t head, uint32_t len);

/**
 * Tell the driver about used buffers: a used-buffer interrupt unless the
 * driver set VRING_AVAIL_F_NO_INTERRUPT (read after a full barrier, so a
 * driver that clears it and then looks at used->idx misses nothing).
 * @return 1 interrupt raised, 0 suppressed by the driver
 * @retval -EINVAL @p vq is NULL
 * @retval -EFAULT the avail ring is outside guest memory (needs reset)
 * @retval -ENOTCONN, -EIO as ioregion_virtq_pop()
 * @retval negative errno from the line
 */
int ioregion_virtq_notify(struct ioregion_virtq *vq);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_VIRTIO_H */
