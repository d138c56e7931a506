/* SPDX-License-Identifier: MIT */
/*
 * libioregion device side of the control session (protocol in
 * ioregion/session.h), in libioregion-server: a device declares its
 * regions, the interrupt lines it wants and whether it needs guest memory,
 * and one call connects to the VMM, learns the wire dialect, makes the
 * channels (and the fallback channels, when the VMM uses them), hands the
 * regions over and receives the lines' eventfds and the memory table. No
 * socket code for the device author.
 *
 *   static const struct ioregion_device_region regions[] = {
 *       { "regs", { .addr = 0xd0000000, .size = 0x1000, .ops = &ops } },
 *   };
 *   static const struct ioregion_device_line lines[] = {
 *       { "irq", IOREGION_LINE_EDGE },
 *   };
 *   struct ioregion_device_config cfg = {
 *       .name = "mydev", .regions = regions, .nregions = 1,
 *       .lines = lines, .nlines = 1, .flags = IOREGION_DEVICE_F_MEMORY,
 *       .gone = on_gone,
 *   };
 *   rc = ioregion_device_connect(ctx, NULL, &cfg, &dev);  // $IOREGION_SOCKET
 *   ev_run(ioregion_ctx_get_loop(ctx), 0);
 *
 * and in a callback: ioregion_irq_raise(ioregion_device_get_irq(dev, 0)),
 * ioregion_mem_read(ioregion_device_get_mem(dev), gpa, &desc, sizeof(desc)).
 *
 * After the set-up the session socket is watched by the context's libev
 * loop: RESET calls the reset callback, memory updates change the table
 * between accesses, SHUTDOWN or the VMM's end calls the gone callback.
 * A context driven by ioregion_ctx_get_fd()/ioregion_ctx_dispatch() polls
 * ioregion_device_get_fd() too (the context's fd does not show it).
 *
 * Threading: as the context (ioregion/server.h): the thread of its loop.
 */
#ifndef IOREGION_DEVICE_H
#define IOREGION_DEVICE_H

#include <stdint.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"
#include "ioregion/session.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ioregion_device;

/** A region the device serves: a name (for the VMM's logs and statistics;
 * NULL: none) and the config of ioregion_region_new(). */
struct ioregion_device_region {
	const char *name;
	struct ioregion_region_config config;
};

/** An interrupt line the device wants. */
struct ioregion_device_line {
	const char *name;	/**< for the VMM, cut to 23 bytes; NULL: none */
	uint32_t trigger;	/**< IOREGION_LINE_EDGE or IOREGION_LINE_LEVEL */
};

/** The device wants guest memory (the VMM's slots, in a table). */
#define IOREGION_DEVICE_F_MEMORY (1u << 0)
/**
 * The device keeps its state across a restart of its process (a virtio
 * transport with ioregion_virtio_mmio_set_state(), say): the HELLO tells
 * the VMM, which then does not reset it after the reconnect
 * (ioregion_vmm_keeps_state()).
 */
#define IOREGION_DEVICE_F_KEEPS_STATE (1u << 1)
#define IOREGION_DEVICE_F_ALL \
	(IOREGION_DEVICE_F_MEMORY | IOREGION_DEVICE_F_KEEPS_STATE)

/**
 * The VMM resets the device: put its registers in their reset state.
 * @return 0, or a negative errno, which the VMM's ioregion_vmm_reset()
 *         returns
 */
typedef int ioregion_device_reset_fn(struct ioregion_device *dev,
				     void *userdata);

/**
 * The session ended: @p error is 0 for the VMM's SHUTDOWN, -ECONNRESET
 * when the VMM went away, -ECONNREFUSED when it gave up (ERROR, logged),
 * another negative errno for a malformed message (logged). The regions
 * stay, but the VMM holds no channel to them any more; destroying the
 * device (or stopping the loop) here is allowed.
 */
typedef void ioregion_device_gone_fn(struct ioregion_device *dev, int error,
				     void *userdata);

/** What a device is. Zero-initialise it; reserved fields stay zero. */
struct ioregion_device_config {
	const char *name;	/**< the device's name; NULL: "" */
	const struct ioregion_device_region *regions;
	unsigned int nregions;	/**< 1 to IOREGION_SESSION_REGIONS_MAX */
	const struct ioregion_device_line *lines;
	unsigned int nlines;	/**< 0 to IOREGION_SESSION_LINES_MAX */
	uint32_t flags;		/**< IOREGION_DEVICE_F_* */
	/** Bound of the set-up, ms; 0: IOREGION_SESSION_TIMEOUT_MS_DEFAULT */
	unsigned int timeout_ms;
	ioregion_device_reset_fn *reset;	/**< NULL: reset answers 0 */
	ioregion_device_gone_fn *gone;		/**< NULL: none */
	void *userdata;		/**< ioregion_device_get_userdata() */
	uint64_t reserved[4];
};

/**
 * Connect to the VMM's socket at @p path (NULL: the path in the
 * environment variable IOREGION_SOCKET, not read by set-uid programs)
 * and run ioregion_device_attach() on it; connecting is bounded by the
 * session timeout too.
 * @return 0
 * @retval -EDESTADDRREQ @p path is NULL and IOREGION_SOCKET is not set
 * @retval -ENAMETOOLONG the path does not fit a UNIX socket address
 * @retval -ENOENT, -ECONNREFUSED, -EACCES no VMM listens there
 * @retval -ETIMEDOUT the VMM's backlog stayed full
 * @return the errors of ioregion_device_attach()
 */
int ioregion_device_connect(struct ioregion_ctx *ctx, const char *path,
			    const struct ioregion_device_config *cfg,
			    struct ioregion_device **devp);

/**
 * Run the device's side of the set-up on @p sock, a connected AF_UNIX
 * SOCK_SEQPACKET socket, which the device takes (closed on failure):
 * HELLO; WELCOME (the dialect); the channels (ioregion_channel_new(),
 * and ioregion_channel_new_fallback() when the VMM uses fallback
 * channels) and the regions on them; REGION per region and REGIONS_DONE;
 * the lines' eventfds (made into ioregion_irq lines:
 * ioregion_device_get_irq()) and the memory slots (mapped into the table
 * of ioregion_device_get_mem()); READY, answered. The whole set-up is
 * bounded by the session timeout. On failure the VMM gets an ERROR with
 * the reason and nothing stays: no channel, no fd.
 *
 * @param[out] devp the ready device
 * @return 0
 * @retval -EINVAL a NULL argument, no regions or more than
 *         IOREGION_SESSION_REGIONS_MAX, more lines than
 *         IOREGION_SESSION_LINES_MAX, a line neither edge nor level,
 *         unknown flags, reserved fields not zero, or a region config
 *         ioregion_region_new() refuses
 * @retval -EEXIST two regions overlap
 * @retval -ENOTSOCK, -EPROTOTYPE @p sock is not an AF_UNIX SOCK_SEQPACKET
 *         socket
 * @retval -ETIMEDOUT the VMM stopped talking (session timeout)
 * @retval -ECONNRESET the VMM hung up
 * @retval -ECONNREFUSED the VMM refused the device (ERROR, logged)
 * @retval -EBADMSG, -EPROTONOSUPPORT, -ENOMSG, -EPROTO, -EBADFD a
 *         malformed, unknown or out-of-order message, or an IRQ fd that
 *         is not an eventfd (ioregion/session.h)
 * @return the errors of ioregion_mem_add_slot() for a slot that cannot be
 *         mapped (-EINVAL: the fd is shorter than offset + size; -EACCES,
 *         -ENODEV), of ioregion_irq_new() (-EINVAL: an eventfd that is
 *         not non-blocking), of ioregion_channel_new() and
 *         ioregion_region_new()
 * @retval -ENOMEM out of memory
 */
int ioregion_device_attach(struct ioregion_ctx *ctx, int sock,
			   const struct ioregion_device_config *cfg,
			   struct ioregion_device **devp);

/**
 * Destroy the device: its channels and regions, the session (closed
 * without a word: the VMM sees EOF), the lines' fds, its reference to the
 * memory table and to the context. NULL is allowed; allowed inside the
 * device's callbacks and its regions' callbacks.
 */
void ioregion_device_destroy(struct ioregion_device *dev);

/** @return region @p index of the config, NULL if there is none */
struct ioregion_region *ioregion_device_get_region(struct ioregion_device *dev,
						   unsigned int index);

/**
 * Interrupt line @p index of the config, made from the eventfds the VMM
 * sent (ioregion_irq_new(): a level line's resample eventfd is watched
 * in the context's loop). Raise, lower, pulse or set it with the
 * functions of ioregion/irq.h, from any callback. Owned by the device.
 * @return the line, NULL if there is none
 */
struct ioregion_irq *ioregion_device_get_irq(struct ioregion_device *dev,
					     unsigned int index);

/** @return the guest memory table (owned by the device: take a reference
 *          to keep it), NULL if the device did not ask for memory */
struct ioregion_mem *ioregion_device_get_mem(struct ioregion_device *dev);

/** @return the wire dialect the VMM chose (IOREGION_WIRE_V3 for NULL) */
enum ioregion_wire_dialect
ioregion_device_get_dialect(struct ioregion_device *dev);

/**
 * @return the session socket (owned by the device), for callers that
 *         drive the context with ioregion_ctx_dispatch(): poll it too
 * @retval -EINVAL a NULL @p dev
 * @retval -ENOTCONN the session has ended
 */
int ioregion_device_get_fd(struct ioregion_device *dev);

/** @return the userdata of the config (NULL for NULL @p dev) */
void *ioregion_device_get_userdata(struct ioregion_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_DEVICE_H */
