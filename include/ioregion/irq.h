/* SPDX-License-Identifier: MIT */
/*
 * libioregion interrupts: lines as eventfds that the VMM registers with
 * KVM_IRQFD for a GSI. The wire protocol is not involved, and KVM_IRQFD is
 * in every kernel KVM runs on, so interrupts work the same on the bridge
 * and on the fast path.
 *
 * Two halves, in two libraries:
 *  - the device's side (libioregion-server): an interrupt line on a
 *    context, raised and lowered from any callback; one write(2) at most,
 *    no allocation;
 *  - the VMM's side (libioregion, no libev): ioregion_irqfd_assign()
 *    creates the eventfds and registers them for a GSI. The VMM owns the
 *    irqchip and the GSI numbering; the device only ever holds eventfds,
 *    never the VM fd.
 *
 * Edge lines (an ISA device's IRQ, virtio-mmio's interrupt): every write
 * of 1 to the trigger eventfd injects one edge. Level lines (PCI INTx
 * style) use KVM_IRQFD_FLAG_RESAMPLE: a write asserts the GSI and KVM
 * holds it asserted until the guest's EOI; then KVM de-asserts it and
 * signals the resample eventfd. The device's context watches that fd in
 * its loop and re-asserts the line if the device still wants it high.
 *
 * KVM cannot de-assert a resampled line before the EOI, so lowering a
 * level line takes effect at the guest's next EOI: an interrupt already
 * asserted is still delivered, and the guest's handler finds nothing
 * pending (as after a shared line's interrupt meant for another device).
 * The device's interrupt state (IER, IIR, ISR registers) stays the
 * device's; ioregion_irq_set() maps "something is pending" to the line.
 */
#ifndef IOREGION_IRQ_H
#define IOREGION_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A level-triggered line: registered with KVM_IRQFD_FLAG_RESAMPLE. */
#define IOREGION_IRQ_LEVEL (1u << 0)
/** Every flag of ioregion_irqfd_assign() this version knows. */
#define IOREGION_IRQ_F_ALL IOREGION_IRQ_LEVEL

/* ---- device side (libioregion-server) --------------------------------- */

struct ioregion_ctx;
struct ioregion_irq;

/** Per-line counters. */
struct ioregion_irq_stats {
	uint64_t triggers;	/**< writes to the trigger eventfd */
	uint64_t resamples;	/**< EOIs heard on the resample eventfd */
	uint64_t reasserts;	/**< EOIs after which the line was asserted again */
	uint64_t coalesced;	/**< raises absorbed by a full eventfd counter */
	uint64_t errors;	/**< failed writes or reads of the eventfds */
};

/**
 * Create an interrupt line on @p ctx. Both fds are duplicated
 * (F_DUPFD_CLOEXEC): the caller keeps its own and may close them at once.
 * @p resample_fd -1 makes an edge line, any other fd a level line whose
 * resample eventfd is watched in the context's loop (and in the set
 * ioregion_ctx_get_fd() reports). Both must be non-blocking eventfds
 * (EFD_NONBLOCK, as ioregion_irqfd_assign() makes them): the device's
 * loop never blocks on a line.
 *
 * The context owns the line: ioregion_ctx_unref() of the last reference
 * destroys it (the handle becomes invalid). A line belongs to the
 * context's thread, as everything in the context does.
 *
 * @param[out] irqp the new line
 * @return 0
 * @retval -EINVAL @p ctx or @p irqp is NULL; an fd is not an eventfd or
 *         not non-blocking; both fds are the same
 * @retval -EBADF @p trigger_fd is negative, @p resample_fd is below -1,
 *         or either is not open
 * @retval -EMFILE no fd left for the duplicates
 * @retval -ENOMEM out of memory
 */
int ioregion_irq_new(struct ioregion_ctx *ctx, int trigger_fd,
		     int resample_fd, struct ioregion_irq **irqp);

/**
 * Destroy a line and close its duplicates. NULL is allowed. Safe inside
 * any callback. Does not unregister the irqfd (the VMM's business): a
 * level line left asserted stays so until the guest's EOI.
 */
void ioregion_irq_destroy(struct ioregion_irq *irq);

/**
 * Assert the line. Edge: inject one edge, at every call (one write).
 * Level: the line is wanted high; written unless KVM holds it asserted
 * already (then nothing: no redundant syscall), and asserted again after
 * every EOI until ioregion_irq_lower(). No allocation.
 *
 * A full eventfd counter (2^64 - 2 writes nobody consumed: EAGAIN) means
 * the interrupt is pending already; the raise is counted as coalesced
 * and succeeds.
 *
 * @return 0
 * @retval -EINVAL @p irq is NULL
 * @retval negative errno from write(2) (counted as an error; a level line
 *         tries again at the next raise or EOI)
 */
int ioregion_irq_raise(struct ioregion_irq *irq);

/**
 * De-assert the line: no syscall. Edge: only forgets the level that
 * ioregion_irq_set() compares with. Level: not re-asserted at the next
 * EOI (KVM drops the line there; see the file comment).
 * @return 0
 * @retval -EINVAL @p irq is NULL
 */
int ioregion_irq_lower(struct ioregion_irq *irq);

/**
 * Assert and de-assert at once. Edge: one edge, as ioregion_irq_raise().
 * Level: asserted until the guest's next EOI and not again (one write,
 * none if KVM holds the line asserted already).
 * @return 0
 * @retval -EINVAL @p irq is NULL
 * @retval negative errno from write(2)
 */
int ioregion_irq_pulse(struct ioregion_irq *irq);

/**
 * Set the line to @p asserted, for devices that recompute their pending
 * state after every register access (a 16550's IIR). Level: raise or
 * lower. Edge: an edge on a rising change only (false to true), as an
 * edge-triggered irqchip input sees a wire; setting it true again while
 * it is true writes nothing.
 * @return 0
 * @retval -EINVAL @p irq is NULL
 * @retval negative errno from write(2)
 */
int ioregion_irq_set(struct ioregion_irq *irq, bool asserted);

/**
 * Whether the device wants the line asserted (raised or set true, not
 * lowered or pulsed since).
 * @return 1 asserted, 0 not
 * @retval -EINVAL @p irq is NULL
 */
int ioregion_irq_is_asserted(const struct ioregion_irq *irq);

/**
 * Copy the line's counters into @p stats.
 * @return 0
 * @retval -EINVAL a NULL argument
 */
int ioregion_irq_get_stats(const struct ioregion_irq *irq,
			   struct ioregion_irq_stats *stats);

/* ---- VMM side (libioregion) -------------------------------------------- */

/**
 * Create the eventfds of one interrupt line (EFD_CLOEXEC | EFD_NONBLOCK)
 * and register them with KVM_IRQFD for @p gsi: an edge line, or with
 * @p flags IOREGION_IRQ_LEVEL a level line (KVM_IRQFD_FLAG_RESAMPLE, with
 * a resample eventfd). Hand the fds to the device; keep the trigger fd
 * for ioregion_irqfd_deassign().
 *
 * The VMM owns the irqchip and the GSI numbering. KVM_IRQFD needs an
 * in-kernel irqchip, created before the vCPUs (x86: KVM_CREATE_IRQCHIP).
 * On a split irqchip (KVM_CAP_SPLIT_IRQCHIP) only edge lines work, for
 * GSIs the VMM routed to an MSI; level lines need the full one. A VMM without one skips this
 * call, makes the eventfds itself, reads them in its loop and injects the
 * interrupts its own way; the device's code stays the same.
 *
 * @param[out] trigger_fdp the trigger eventfd; -1 on error
 * @param[out] resample_fdp the resample eventfd of a level line, -1 for
 *             an edge line (may be NULL then) and on error
 * @return 0
 * @retval -EINVAL unknown @p flags, @p trigger_fdp NULL, a level line
 *         without @p resample_fdp; or KVM refused (no in-kernel irqchip,
 *         a level line on a split irqchip)
 * @retval -EBADF @p vm_fd is not a KVM VM fd
 * @retval -EMFILE, -ENFILE no fd left for the eventfds
 * @retval -ENOMEM out of memory (here or in KVM)
 * @retval other negative errno from KVM_IRQFD
 */
int ioregion_irqfd_assign(int vm_fd, uint32_t gsi, uint32_t flags,
			  int *trigger_fdp, int *resample_fdp);

/**
 * Unregister the irqfd of @p trigger_fd for @p gsi (KVM_IRQFD_FLAG_DEASSIGN;
 * a level line's resampler goes with it). The fds stay open: close the
 * trigger and resample fds afterwards. KVM answers 0 also when no irqfd
 * matched.
 * @return 0
 * @retval -EBADF @p vm_fd is not a KVM VM fd, @p trigger_fd is negative
 *         or not open
 * @retval -EINVAL @p trigger_fd is not an eventfd
 */
int ioregion_irqfd_deassign(int vm_fd, uint32_t gsi, int trigger_fd);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_IRQ_H */
