/* SPDX-License-Identifier: MIT */
/*
 * libioregion bridge: the kernel's half of the protocol, in the VMM, for
 * kernels without KVM_SET_IOREGION (and as the failure path on kernels with
 * it). An ordinary KVM_EXIT_MMIO / KVM_EXIT_IO in a registered range becomes
 * exactly the command the kernel would send; the bridge waits, bounded, for
 * the response and fills kvm_run. No libev here.
 *
 * Threading: every function is thread-safe. Accesses on one fd are
 * serialized by a lock per fd (like the kernel's), so several vCPU threads
 * may share regions. Regions on the same open file share one lock. A vCPU
 * waiting for a device holds only that lock: accesses to other devices and
 * ioregion_bridge_add(), _remove(), _replace_fd() go on meanwhile (a
 * region removed or given a new fd during an access finishes that access
 * on what it had).
 *
 * Cancellation: ioregion_bridge_handle_exit() and _access() are
 * cancellation points (deferred cancellation; a thread with asynchronous
 * cancellation enabled must not call into the bridge). A vCPU thread
 * cancelled while it waits for a device goes at once and leaves the
 * bridge as a timeout would: every lock is released, and the fd is marked
 * failed if a command went out unanswered (its answer may still come), so
 * later accesses to it return -ENOTCONN until ioregion_bridge_replace_fd().
 */
#ifndef IOREGION_BRIDGE_H
#define IOREGION_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "ioregion/desc.h"
#include "ioregion/log.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kvm_run;
struct ioregion_bridge;

/** Per-region counters kept by the bridge. */
struct ioregion_bridge_stats {
	uint64_t reads;
	uint64_t writes;
	uint64_t posted_writes;
	uint64_t errors;	/**< timeouts, EOF, malformed responses */
};

/**
 * Create a bridge with an empty table.
 * @param[out] bridgep the new bridge, one reference
 * @return 0
 * @retval -EINVAL bridgep is NULL
 * @retval -ENOMEM out of memory
 */
int ioregion_bridge_new(struct ioregion_bridge **bridgep);

/** Take a reference. @return @p bridge (NULL stays NULL) */
struct ioregion_bridge *ioregion_bridge_ref(struct ioregion_bridge *bridge);

/** Drop a reference; the last frees the bridge and closes its fds.
 * @return NULL, always. */
struct ioregion_bridge *ioregion_bridge_unref(struct ioregion_bridge *bridge);

/**
 * Set the log handler (NULL: none); default: ERROR to stderr.
 * @note The handler may run in any vCPU thread, after the access that
 * logs let go of every lock of the bridge: it may call any bridge
 * function (an access that fails there logs again, from inside it).
 */
void ioregion_bridge_set_log_handler(struct ioregion_bridge *bridge,
				     ioregion_log_handler_fn *handler,
				     void *data);

/** Set the lowest priority passed to the log handler. */
void ioregion_bridge_set_log_priority(struct ioregion_bridge *bridge,
				      enum ioregion_log_priority priority);

/**
 * Bound the wait for a response (and for a blocked send). Default 1000 ms.
 * One bound per access: send and response together (per exit for string
 * PIO).
 *
 * Keep the VMM's bounds well above the device's: this timeout, and on a
 * kernel with KVM_SET_IOREGION the receive timeout on the kernel's socket,
 * at least twice the device's deferred-read timeout
 * (ioregion_ctx_set_deferred_timeout(), default 250 ms). A device that
 * gives up on a slow deferred read answers all-ones and the guest goes
 * on; if the VMM gives up first, it must mark the fd failed (the late
 * answer would be taken for the next access's), and every later access to
 * that device fails until ioregion_bridge_replace_fd(). The two defaults
 * keep that order.
 * @return 0
 * @retval -EINVAL ms is 0
 */
int ioregion_bridge_set_timeout(struct ioregion_bridge *bridge,
				unsigned int ms);

/** Longest adaptive-polling window, in microseconds. */
#define IOREGION_BRIDGE_POLL_US_MAX 1000000u

/**
 * Adaptive polling: after sending a command that expects a response, try
 * to read it without sleeping for up to @p us microseconds before blocking
 * in poll(). It burns the vCPU thread's CPU for the cost of a wake-up
 * (tens of microseconds across CPUs). 0 (the default) turns it off. The
 * spin ends at the access's deadline (ioregion_bridge_set_timeout()) if
 * that comes first.
 *
 * @return 0
 * @retval -EINVAL bridge is NULL or @p us > IOREGION_BRIDGE_POLL_US_MAX
 */
int ioregion_bridge_set_poll_us(struct ioregion_bridge *bridge,
				unsigned int us);

/**
 * The strict mode: look for data waiting in the fd before each command
 * that wants an answer (one non-blocking peek, one syscall more per
 * access). Off by default.
 *
 * The wire has no request id: an answer nobody asked for (a buggy or
 * hostile device, the bytes after a too-long answer on a stream, an fd
 * shared by mistake) would be taken for the next access's answer, and
 * every answer after it would be one behind. What each mode catches:
 *
 * - Always (the default mode is this alone): the receive takes up to two packets
 *   (SEQPACKET) or up to 64 bytes (stream) and fails with -EBADMSG when it
 *   finds more than one answer: a stray that is in the fd together with
 *   an answer (a second packet, a too-long answer on a stream, a peer
 *   that writes into the fd while accesses flow). A stray that came while
 *   the fd was idle, alone, is taken for the next access's answer, as the
 *   kernel's KVM_SET_IOREGION path does (it reads exactly one answer and
 *   never checks); the answers after it are then one behind until a
 *   receive finds two at once (-EBADMSG).
 * - Strict (@p on): that idle stray too, before anything is sent
 *   (-EBADMSG, the command is not sent).
 *
 * Neither can tell a stray sent between a command and its answer from the
 * answer: only the device can cause that, and it can lie in its answer
 * anyway. Either way a caught stray fails the fd (-ENOTCONN until
 * ioregion_bridge_replace_fd()).
 *
 * @param on true: strict; false: the default
 * @return 0
 * @retval -EINVAL bridge is NULL
 */
int ioregion_bridge_set_idle_check(struct ioregion_bridge *bridge, bool on);

/**
 * Route the range of @p desc to @p fd. The bridge duplicates @p fd with
 * F_DUPFD_CLOEXEC (the caller keeps its own). @p fd must be a socket end
 * that carries both directions: SOCK_SEQPACKET (one response per packet;
 * any other length is -EBADMSG) or SOCK_STREAM (partial responses are put
 * together). Nothing else is taken: a FIFO opened read-write would read
 * the bridge's own command back as the answer, and a read from a FIFO or
 * character device that another process also reads can block for ever.
 * It may be blocking or not (even changed later): every wait is a bounded
 * poll(). Regions whose fds are the same open file (dups of one fd, or
 * fds of one socket received twice) share one channel: one lock, one
 * failed state; different sockets never do. The open file is compared
 * with kcmp(KCMP_FILE), or with the socket's SO_COOKIE where kcmp is
 * refused (seccomp). A kernel with neither gets one channel per add: two
 * channels on one socket may swap concurrent answers, so there give each
 * region its own socket.
 *
 * A doorbell (size 0, posted writes) occupies its one address: writes of
 * any size starting there are sent as a 1-byte write of 0 at offset 0;
 * reads there are not its (handle_exit returns 0).
 *
 * @return 0
 * @retval -EINVAL bridge is NULL or invalid desc (ioregion_desc_validate)
 * @retval -EBADF bad fd
 * @retval -ENOTSOCK @p fd is not a socket
 * @retval -EEXIST overlaps a range already in the table (same space)
 * @retval -EMFILE, -ENFILE no fd left for the duplicate
 * @retval -ENOMEM out of memory
 */
int ioregion_bridge_add(struct ioregion_bridge *bridge,
			const struct ioregion_desc *desc, int fd);

/**
 * Remove the region that starts at desc->addr in desc's space (PIO flag)
 * with desc->size. Its fd is closed when no other region uses it.
 * @return 0
 * @retval -ENOENT no such region
 * @retval -EINVAL NULL
 */
int ioregion_bridge_remove(struct ioregion_bridge *bridge,
			   const struct ioregion_desc *desc);

/**
 * Give an existing region (same addr/size/space) a new fd, e.g. a restarted
 * device process. A socket new to the bridge starts healthy, so this is
 * how a failed region recovers; an fd whose open file the bridge already
 * has joins that channel as it is (failed or not: a failed socket's late
 * answers may still come). The region takes user_data,
 * dialect and the posted-writes flag from @p desc: a restarted device may
 * number its regions differently (pass the desc it handed over). Other
 * regions on the old fd keep it (and its failed state).
 * @return 0
 * @retval -EINVAL a NULL argument or invalid desc (ioregion_desc_validate)
 * @retval -ENOENT no such region
 * @retval -EBADF bad fd
 * @retval -ENOTSOCK @p fd is not a socket (as ioregion_bridge_add())
 * @retval -EMFILE, -ENFILE no fd left for the duplicate
 * @retval -ENOMEM out of memory
 */
int ioregion_bridge_replace_fd(struct ioregion_bridge *bridge,
			       const struct ioregion_desc *desc, int fd);

/**
 * Serve one KVM_EXIT_MMIO or KVM_EXIT_IO (including string PIO,
 * io.count > 1: one command per element, in order, at the same port;
 * data at io.data_offset in the run page; the whole string shares one
 * timeout and holds its fd's lock from the first element to the last). Reads fill kvm_run; on an error
 * a read is filled with all-ones so the VMM may still resume the guest
 * (string reads: the failed element and all after it). Values are the
 * guest's little-endian bytes. An access that starts in a region but
 * runs past its end is not ours, as in the kernel.
 *
 * @return 1 handled, 0 not in any registered range (or another exit reason)
 * @retval -ETIMEDOUT no response within the timeout; the fd is then marked
 *         failed (a late answer would be taken for the next one) and later
 *         accesses to it return -ENOTCONN until ioregion_bridge_replace_fd().
 *         A thread held up past the deadline (the VMM stopped or starved)
 *         that finds the answer already there takes it instead.
 * @retval -ECONNRESET the device hung up (EOF, EPIPE) or the fd failed;
 *         the fd is marked failed as for -ETIMEDOUT
 * @retval -EBADMSG a response of the wrong size (SEQPACKET), or more
 *         than one answer in the fd when the response is received (a
 *         second packet, more than 32 bytes on a stream: an answer nobody
 *         asked for), or, in the strict mode
 *         (ioregion_bridge_set_idle_check()), data already waiting before
 *         a command that expects a response (nothing is sent then); fd
 *         marked failed. Posted writes receive nothing and do not look.
 * @retval -ENOTCONN the fd failed earlier
 * @retval -EOPNOTSUPP an access size other than 1, 2, 4, 8 in a region
 *         (MMIO length or PIO size)
 * @retval -EINVAL NULL, or a PIO exit larger than its one-page data area
 */
int ioregion_bridge_handle_exit(struct ioregion_bridge *bridge,
				struct kvm_run *run);

/**
 * One access without KVM (scripted drivers, tests, the demo without
 * /dev/kvm): the same path as handle_exit.
 *
 * @param pio port I/O space instead of MMIO
 * @param size 1, 2, 4 or 8
 * @param[in,out] val the value written, or the value read
 * @return 1 handled, 0 not ours, negative errno as handle_exit
 * @retval -EINVAL bridge or val NULL, or size not 1, 2, 4, 8
 */
int ioregion_bridge_access(struct ioregion_bridge *bridge, bool pio,
			   uint64_t addr, bool is_write, unsigned size,
			   uint64_t *val);

/**
 * Counters of the region containing @p addr in the given space.
 * @return 0
 * @retval -EINVAL bridge or stats NULL
 * @retval -ENOENT no region there
 */
int ioregion_bridge_get_stats(struct ioregion_bridge *bridge, bool pio,
			      uint64_t addr,
			      struct ioregion_bridge_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_BRIDGE_H */
