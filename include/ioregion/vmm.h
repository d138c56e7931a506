/* SPDX-License-Identifier: MIT */
/*
 * libioregion VMM side of the control session (protocol in
 * ioregion/session.h): accept a device process, check who it is, tell it
 * the wire dialect, take its regions and register them with the kernel
 * (KVM_SET_IOREGION, where the kernel has it) and with the bridge, give it
 * its interrupt eventfds and guest memory, and later reset it, update its
 * memory, shut it down, or re-attach it after a restart. No libev here.
 *
 * The paths: on a kernel with KVM_SET_IOREGION, each region's main fd goes
 * to KVM and its fallback fd to the bridge (the kernel and the bridge must
 * never share an open file); on a stock kernel (or with vm_fd -1) the main
 * fd goes to the bridge and the device makes no fallback channels.
 *
 * Threading: one struct ioregion_vmm_device belongs to one thread (the
 * VMM's control thread); the bridge it feeds is thread-safe, so vCPU
 * threads keep serving accesses while it re-attaches a device.
 */
#ifndef IOREGION_VMM_H
#define IOREGION_VMM_H

#include <stdint.h>
#include <sys/types.h>

#include "ioregion/bridge.h"
#include "ioregion/desc.h"
#include "ioregion/log.h"
#include "ioregion/memory.h"
#include "ioregion/session.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ioregion_vmm_device;

/** The eventfds the VMM gives a device for one interrupt line: both
 * non-blocking (EFD_NONBLOCK), as ioregion_irqfd_assign() makes them (the
 * device's loop never blocks on a line). */
struct ioregion_vmm_line {
	int fd;			/**< trigger eventfd (the VMM's KVM_IRQFD) */
	int resample_fd;	/**< level lines: resample eventfd; else -1 */
	uint32_t gsi;		/**< the VMM's number for the line, for logs */
};

/**
 * Supply the eventfds of line @p index (as the device asked: @p name,
 * @p trigger IOREGION_LINE_EDGE or _LEVEL) of device @p device. The VMM
 * owns its GSIs and the irqchip; the session duplicates the fds it is
 * given (the VMM keeps its own) and sends them again on a reconnect.
 * @return 0 with *line filled, or a negative errno: the device is
 *         refused with it
 */
typedef int ioregion_vmm_line_fn(void *data, const char *device,
				 unsigned int index, const char *name,
				 uint32_t trigger,
				 struct ioregion_vmm_line *line);

/**
 * May device @p device (the name in its HELLO) have the config's guest
 * memory? Called once per attach of a device that asks for memory (not
 * again on a reconnect). A name is what the device says: a VMM that must
 * know who is on a socket gives each device its own (a socketpair made
 * when it spawns the device) and decides by socket instead.
 * @return 1 yes, 0 no (the device gets no slot: its table stays empty),
 *         a negative errno: the device is refused with it
 */
typedef int ioregion_vmm_memory_fn(void *data, const char *device);

/** A slot of guest RAM and the fd (memfd) that backs it. */
struct ioregion_vmm_slot {
	struct ioregion_mem_slot slot;
	int fd;
};

/** Check the peer against @c peer_uid instead of the VMM's own euid. */
#define IOREGION_VMM_F_PEER_UID (1u << 0)
/** Ask for fallback channels even without KVM_SET_IOREGION: the bridge
 * gets the fallback fds, the main fds stay unused (held by the session). */
#define IOREGION_VMM_F_FALLBACK (1u << 1)
/** With a VM fd: bridge only all the same (no probe, no
 * KVM_SET_IOREGION; @c dialect is the bridge's, 0 = v3); the VM fd
 * serves @c gsis (KVM_IRQFD) only. For a VMM told not to use ioregionfd
 * on a kernel that has it, or to speak a dialect the kernel does not. */
#define IOREGION_VMM_F_BRIDGE_ONLY (1u << 2)
#define IOREGION_VMM_F_ALL (IOREGION_VMM_F_PEER_UID | IOREGION_VMM_F_FALLBACK | \
			    IOREGION_VMM_F_BRIDGE_ONLY)

/** How a VMM attaches its devices. Zero-initialise it. */
struct ioregion_vmm_config {
	/** Required: the bridge that serves the regions' exits. */
	struct ioregion_bridge *bridge;
	/** The VM fd, or -1: bridge only (no KVM_SET_IOREGION). */
	int vm_fd;
	/** With vm_fd >= 0: 0 = probe the kernel here
	 * (ioregion_kvm_probe_dialect()), or the dialect an earlier probe
	 * found (the probe is not repeated: on an info-dialect kernel it
	 * would remove a doorbell registered at address 0). With vm_fd -1:
	 * the dialect the bridge speaks to the device, 0 = IOREGION_WIRE_V3. */
	uint32_t dialect;
	uint32_t flags;		/**< IOREGION_VMM_F_* */
	uid_t peer_uid;		/**< with IOREGION_VMM_F_PEER_UID */
	/** Bound of the set-up and of each request, ms; 0: the default,
	 * IOREGION_SESSION_TIMEOUT_MS_DEFAULT. */
	unsigned int timeout_ms;
	/** The kernel's bound on a region's socket (fast path), ms; 0: the
	 * default, IOREGION_KVM_TIMEOUT_MS_DEFAULT. */
	unsigned int kvm_timeout_ms;
	/** Supplies the lines a device asks for. NULL with @c gsis: the
	 * session makes them; NULL without: a device that asks for any is
	 * refused (-ENXIO). */
	ioregion_vmm_line_fn *get_line;
	/** Instead of @c get_line (with vm_fd >= 0): line i gets GSI
	 * gsis[i]; the session registers its eventfds with KVM_IRQFD
	 * (ioregion_irqfd_assign(), level lines with a resample eventfd) and
	 * ioregion_vmm_destroy() unregisters them. A device that asks for
	 * more than @c ngsis lines is refused (-ENXIO). */
	const uint32_t *gsis;
	unsigned int ngsis;
	/** The guest RAM a device that asks for memory gets (copied, fds
	 * duplicated); none for a device that does not ask. */
	const struct ioregion_vmm_slot *slots;
	unsigned int nslots;
	/** Decides per device whether it gets @c slots; NULL: every device
	 * that asks does. */
	ioregion_vmm_memory_fn *grant_memory;
	/** For the callbacks (@c get_line, @c grant_memory). */
	void *data;
	/** Log handler (NULL: ERROR to stderr) and lowest priority (0:
	 * IOREGION_LOG_ERROR). */
	ioregion_log_handler_fn *log_handler;
	void *log_data;
	enum ioregion_log_priority log_priority;
	uint64_t reserved[4];	/**< zero */
};

/**
 * Run the set-up of the control session on @p sock, a connected
 * SOCK_SEQPACKET UNIX socket, which the device object takes (closed on
 * failure): check the peer's uid (SO_PEERCRED), receive HELLO, send
 * WELCOME, receive the regions, register them (KVM and the bridge, see
 * the file comment), send the lines' eventfds (from @c get_line) and the
 * memory slots, then READY. The whole set-up is bounded by the session
 * timeout. On failure the peer gets an ERROR with the reason, nothing
 * stays registered, and no fd is left open.
 *
 * @param[out] devp the attached device
 * @return 0
 * @retval -EINVAL a NULL argument, no bridge, unknown flags or dialect,
 *         reserved fields not zero, more than IOREGION_MEM_SLOTS_MAX slots,
 *         @c gsis with @c get_line or without a VM fd, more than
 *         IOREGION_SESSION_LINES_MAX of them
 * @retval -EACCES the peer runs as another user
 * @retval -ENOTSOCK, -EPROTOTYPE @p sock is not an AF_UNIX SOCK_SEQPACKET
 *         socket
 * @retval -ETIMEDOUT the device stopped talking (session timeout)
 * @retval -ECONNRESET the device hung up
 * @retval -ECONNREFUSED the device sent ERROR
 * @retval -EBADMSG, -EPROTONOSUPPORT, -ENOMSG, -EPROTO, -ENOTSOCK a
 *         malformed, unknown or out-of-order message (ioregion/session.h)
 * @retval -ENXIO the device wants interrupt lines and @c get_line is NULL
 *         (and @c gsis has too few)
 * @retval -EBADF a line fd from @c get_line or a slot fd is not open
 * @retval -EINVAL a line fd from @c get_line is not a non-blocking eventfd
 * @return a negative errno of @c get_line, @c grant_memory,
 *         ioregion_irqfd_assign() (with
 *         @c gsis: -EINVAL without an in-kernel irqchip),
 *         ioregion_kvm_probe_dialect(),
 *         ioregion_kvm_register_timeout() or ioregion_bridge_add()
 *         (-EEXIST: a region overlaps one already there)
 * @retval -ENOMEM out of memory
 */
int ioregion_vmm_attach(int sock, const struct ioregion_vmm_config *cfg,
			struct ioregion_vmm_device **devp);

/**
 * Wait (bounded by the session timeout) for a connection on
 * @p listen_fd, a listening SOCK_SEQPACKET UNIX socket, accept it and
 * run ioregion_vmm_attach() on it.
 * @return 0
 * @retval -ETIMEDOUT nobody connected in time
 * @return the errors of accept4() and ioregion_vmm_attach()
 */
int ioregion_vmm_accept(int listen_fd, const struct ioregion_vmm_config *cfg,
			struct ioregion_vmm_device **devp);

/**
 * Re-attach a restarted device on a new connection @p sock (taken, closed
 * on failure): the same set-up, without a new probe, where the new HELLO
 * must name the same device and lines, and the new regions must be the
 * old ones (same count, and each the same address, size and space, in
 * the same order). Each region's bridge channel is replaced
 * (ioregion_bridge_replace_fd()) and, on the fast path, its KVM
 * registration too (unregister, register the new main fd); the same
 * interrupt eventfds and the current memory table are sent again. Until
 * then the bridge answers the old channels' accesses with its bounded
 * error. On failure the old session stays closed: call it again with
 * another connection.
 * @return 0
 * @retval -EINVAL a NULL @p dev
 * @retval -EPROTO the device or its regions or lines are not the same
 * @return the errors of ioregion_vmm_attach()
 */
int ioregion_vmm_reattach(struct ioregion_vmm_device *dev, int sock);

/**
 * ioregion_vmm_accept() for ioregion_vmm_reattach().
 * @return 0
 * @retval -ETIMEDOUT nobody connected in time
 * @return the errors of accept4() and ioregion_vmm_reattach()
 */
int ioregion_vmm_reaccept(struct ioregion_vmm_device *dev, int listen_fd);

/**
 * Reset the device: send RESET and wait (bounded) for its ACK, which
 * carries the result of the device's reset callback.
 * @return 0, or the device's negative result
 * @retval -EINVAL a NULL @p dev
 * @retval -ENOTCONN no session (the device is gone or was shut down)
 * @retval -ETIMEDOUT no answer within the session timeout (the session
 *         is then closed: a late answer would be taken for the next)
 * @retval -ECONNRESET the device hung up
 * @retval -EBADMSG, -EPROTO, ... a malformed answer (session closed)
 */
int ioregion_vmm_reset(struct ioregion_vmm_device *dev);

/**
 * Give the device one more slot of guest RAM (memory hot-add): kept in
 * the device's table (@p fd is duplicated) for a reconnect and, if the
 * device asked for memory and was granted it, sent (MEM_SLOT) and
 * acknowledged.
 * @return 0
 * @retval -EINVAL a NULL argument, an invalid slot (size 0, unknown
 *         flags, a range that wraps)
 * @retval -EEXIST it overlaps a slot of the table
 * @retval -ENOSPC the table is full (IOREGION_MEM_SLOTS_MAX)
 * @retval -EBADF @p fd is not open
 * @return the device's negative result (it could not map it: -EINVAL
 *         for an fd shorter than offset + size, -EACCES, -ENODEV) or
 *         the errors of ioregion_vmm_reset(); the slot stays out of the
 *         table then
 */
int ioregion_vmm_mem_add(struct ioregion_vmm_device *dev,
			 const struct ioregion_mem_slot *slot, int fd);

/**
 * Take the slot that starts at @p gpa away (memory hot-remove): out of
 * the table, and, if the device has memory, MEM_REMOVE and its ACK: after
 * a 0 the device has unmapped it.
 * @return 0
 * @retval -EINVAL a NULL @p dev
 * @retval -ENOENT no slot starts there
 * @return the device's negative result, or the errors of
 *         ioregion_vmm_reset()
 */
int ioregion_vmm_mem_remove(struct ioregion_vmm_device *dev, uint64_t gpa);

/**
 * Tell the device to stop (SHUTDOWN) and close the session; its regions
 * stay registered until ioregion_vmm_destroy().
 * @return 0
 * @retval -EINVAL a NULL @p dev
 * @retval -ENOTCONN no session
 * @return an error of the send (the session is closed anyway)
 */
int ioregion_vmm_shutdown(struct ioregion_vmm_device *dev);

/**
 * Has the device gone? Reads what the device sent since, without
 * waiting: an EOF or an ERROR closes the session. Poll
 * ioregion_vmm_get_fd() for POLLIN to know when to call it.
 * @return 0 the session is up and quiet
 * @retval -EINVAL a NULL @p dev
 * @retval -ENOTCONN no session (closed earlier)
 * @retval -ECONNRESET the device hung up (now closed)
 * @retval -ECONNREFUSED the device sent ERROR (logged; now closed)
 * @retval -EBADMSG, -EPROTO, ... it sent something else (now closed)
 */
int ioregion_vmm_check(struct ioregion_vmm_device *dev);

/**
 * @return the session socket (owned by @p dev), to poll for the device's
 *         end
 * @retval -EINVAL a NULL @p dev
 * @retval -ENOTCONN no session
 */
int ioregion_vmm_get_fd(struct ioregion_vmm_device *dev);

/** @return the device's name from its HELLO ("" for NULL @p dev) */
const char *ioregion_vmm_get_name(struct ioregion_vmm_device *dev);

/** @return 1 the regions are registered with KVM (fast path), 0 the
 *          bridge alone serves them
 * @retval -EINVAL a NULL @p dev */
int ioregion_vmm_is_fast_path(struct ioregion_vmm_device *dev);

/**
 * Whether the device said in its HELLO that it keeps its state across a
 * restart (IOREGION_SESSION_HELLO_F_KEEPS_STATE): a VMM that restarts it
 * (ioregion_vmm_reaccept()) then leaves it as it is instead of resetting
 * it. A restarted device must say the same as before.
 * @return 1 it keeps its state, 0 it does not
 * @retval -EINVAL a NULL @p dev
 */
int ioregion_vmm_keeps_state(struct ioregion_vmm_device *dev);

/**
 * The wire dialect the session told the device (WELCOME): the probe's on
 * the fast path, else the config's. Pass it as the config's dialect to
 * the next device's attach, so that the kernel is probed once.
 * @return the dialect
 * @retval -EINVAL a NULL @p dev
 */
int ioregion_vmm_get_dialect(struct ioregion_vmm_device *dev);

/** @return how many regions the device has (0 for NULL @p dev) */
unsigned int ioregion_vmm_get_nregions(struct ioregion_vmm_device *dev);

/**
 * Region @p index as it is registered, and its name (@p name may be NULL;
 * the string is owned by @p dev).
 * @return 0
 * @retval -EINVAL a NULL @p dev or @p desc
 * @retval -ENOENT no such region
 */
int ioregion_vmm_get_region(struct ioregion_vmm_device *dev,
			    unsigned int index, struct ioregion_desc *desc,
			    const char **name);

/**
 * Remove the device's regions from KVM and from the bridge, close the
 * session (without SHUTDOWN) and every fd, free @p dev. NULL is allowed.
 */
void ioregion_vmm_destroy(struct ioregion_vmm_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_VMM_H */
