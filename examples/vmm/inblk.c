/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: --in-vmm-blk IMAGE, the in-VMM baseline. The virtio-blk device
 * of examples/virtio-blk.c (the same model, virtio-blk-model.c, on the same
 * transport, the library's virtio-mmio) linked into the VMM and served in
 * the vCPU thread on KVM_EXIT_MMIO, the way most VMMs serve their devices:
 * what the out-of-process device is measured against. Nothing of the
 * device is written twice; only where it runs differs.
 *
 * - Window: 0x200 bytes at INBLK_BASE (the device process's default base),
 *   every access a KVM_EXIT_MMIO; QueueNotify's requests are served before
 *   the vCPU re-enters the guest.
 * - Memory: an ioregion_mem over tinyvmm's own guest RAM memfd (one slot,
 *   all of RAM, its own mapping), as a device process maps it.
 * - Interrupt: an ioregion_irq (edge) on an eventfd wired with KVM_IRQFD
 *   to the GSI of --irq in-vmm-blk=GSI; without one, an eventfd that
 *   reaches nothing (the driver would have to poll). The context it needs
 *   is a private one whose loop never runs: an edge line is one write.
 * - vCPUs: the transport belongs to one thread at a time; a mutex
 *   (uncontended with one vCPU: no syscall) serialises them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"

#include "acpi.h"
#include "inblk.h"
#include "vmm.h"

int
inblk_open(struct inblk *ib, const char *image, uint64_t base, int mem_fd,
	   const struct ioregion_mem_slot *slot, int irq_fd)
{
	int rc;

	memset(ib, 0, sizeof(*ib));
	ib->base = base;
	ib->b.fd = -1;
	rc = vblk_open(&ib->b, image, NULL, false);
	if (rc < 0)
		return rc;
	rc = ioregion_ctx_new(NULL, &ib->ctx);
	if (rc == 0)
		rc = ioregion_irq_new(ib->ctx, irq_fd, -1, &ib->irq);
	if (rc == 0)
		rc = ioregion_mem_new(&ib->mem);
	if (rc == 0)
		rc = ioregion_mem_add_slot(ib->mem, slot, mem_fd);
	if (rc == 0)
		rc = vblk_attach(&ib->b, ib->mem, ib->irq, NULL, 0);
	if (rc == 0)
		rc = -pthread_mutex_init(&ib->lock, NULL);
	if (rc < 0) {
		inblk_close(ib);
		return rc;
	}
	ib->locked = true;
	return 0;
}

bool
inblk_mmio(struct inblk *ib, uint64_t addr, bool is_write, unsigned len,
	   uint8_t data[8])
{
	uint64_t off = addr - ib->base, v = 0;
	int rc;

	if (!ib->b.vm || addr < ib->base || off >= VBLK_WINDOW)
		return false;
	if (len == 0 || len > 8)
		len = 8;	/* never reached from KVM: 1, 2, 4 or 8 */
	pthread_mutex_lock(&ib->lock);
	ib->exits++;
	if (is_write) {
		for (unsigned i = 0; i < len; i++)
			v |= (uint64_t)data[i] << (8 * i);
		rc = ioregion_virtio_mmio_write(ib->b.vm, off, len, v);
	} else {
		rc = ioregion_virtio_mmio_read(ib->b.vm, off, len, &v);
		if (rc < 0)
			v = ~0ull;
		for (unsigned i = 0; i < len; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
	if (rc < 0)
		ib->errors++;
	pthread_mutex_unlock(&ib->lock);
	return true;
}

void
inblk_close(struct inblk *ib)
{
	vblk_close(&ib->b);		/* before the memory and the line */
	ioregion_mem_unref(ib->mem);
	ib->mem = NULL;
	ioregion_irq_destroy(ib->irq);
	ib->irq = NULL;
	if (ib->ctx)
		ioregion_ctx_unref(ib->ctx);
	ib->ctx = NULL;
	if (ib->locked)
		pthread_mutex_destroy(&ib->lock);
	ib->locked = false;
}

void
inblk_print_stats(const struct inblk *ib, const char *prog)
{
	struct ioregion_virtio_mmio_stats vs = { 0 };

	ioregion_virtio_mmio_get_stats(ib->b.vm, &vs);
	fprintf(stderr,
		"%s: in-vmm-blk exits %" PRIu64 " errors %" PRIu64 " reads %"
		PRIu64 " writes %" PRIu64 " flushes %" PRIu64 " notifies %"
		PRIu64 " interrupts %" PRIu64 " bad chains %" PRIu64 "\n",
		prog, ib->exits, ib->errors, ib->b.stats.reads,
		ib->b.stats.writes, ib->b.stats.flushes, vs.notifies,
		vs.interrupts, vs.bad_chains);
}

/* ---- tinyvmm's glue -------------------------------------------------- */

/* The --irq line for INBLK_NAME, or NULL. */
static struct vmm_irq_line *
inblk_line(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->nirqs; i++)
		if (!strcmp(vm->irqs[i].device, INBLK_NAME))
			return &vm->irqs[i];
	return NULL;
}

int
vmm_inblk_start(struct vmm *vm)
{
	struct ioregion_mem_slot slot = { .gpa = 0, .size = vm->mem_size };
	struct vmm_irq_line *l = inblk_line(vm);
	int fd = -1, rc;

	if (!vm->opts.in_vmm_blk)
		return 0;
	vm->inblk = calloc(1, sizeof(*vm->inblk));
	if (!vm->inblk)
		return -TINYVMM_EXIT_ERROR;
	if (l) {
		rc = ioregion_irqfd_assign(vm->vm_fd, l->gsi, 0, &l->trigger_fd,
					   &l->resample_fd);
		fd = l->trigger_fd;	/* vmm_irq_destroy() unwires it */
	} else {
		fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		rc = fd < 0 ? -errno : 0;
	}
	if (rc == 0)
		rc = inblk_open(vm->inblk, vm->opts.in_vmm_blk, INBLK_BASE,
				vm->mem_fd, &slot, fd);
	if (!l && fd >= 0)
		close(fd);		/* the line holds its own copy */
	if (rc < 0) {
		fprintf(stderr, "%s: --in-vmm-blk %s: %s\n", vm->prog,
			vm->opts.in_vmm_blk, strerror(-rc));
		free(vm->inblk);
		vm->inblk = NULL;
		return -TINYVMM_EXIT_ERROR;
	}
	fprintf(stderr, "%s: in-vmm-blk %s: %" PRIu64 " sectors, mmio 0x%llx+0x%x,"
		" %s%u, served in the vCPU threads\n", vm->prog,
		vm->opts.in_vmm_blk, vm->inblk->b.capacity, INBLK_BASE,
		VBLK_WINDOW, l ? "GSI " : "no interrupt line", l ? l->gsi : 0);
	return 0;
}

bool
vmm_inblk_exit(struct vmm *vm, struct kvm_run *run)
{
	return vm->inblk && run->exit_reason == KVM_EXIT_MMIO &&
	       inblk_mmio(vm->inblk, run->mmio.phys_addr, run->mmio.is_write,
			  run->mmio.len, run->mmio.data);
}

int
vmm_inblk_window(struct vmm *vm, struct vmm_acpi_mmio *w)
{
	struct vmm_irq_line *l = inblk_line(vm);

	if (!vm->inblk || !l)
		return 0;
	*w = (struct vmm_acpi_mmio){
		.base = INBLK_BASE, .size = VBLK_WINDOW, .gsi = l->gsi,
		.edge = true,	/* its ioregion_irq has no resample fd */
	};
	return 1;
}

void
vmm_inblk_stop(struct vmm *vm)
{
	if (!vm->inblk)
		return;
	inblk_print_stats(vm->inblk, vm->prog);
	inblk_close(vm->inblk);
	free(vm->inblk);
	vm->inblk = NULL;
}
