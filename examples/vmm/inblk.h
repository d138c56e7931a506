/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's in-VMM virtio-blk (inblk.c): the device model of
 * examples/virtio-blk.c served in the VMM's vCPU threads. The core here
 * needs no VM (tests/test-inblk.c drives it on a memfd); the glue for
 * tinyvmm is in vmm.h (vmm_inblk_*).
 */
#ifndef EXAMPLES_VMM_INBLK_H
#define EXAMPLES_VMM_INBLK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ioregion/memory.h"

#include "virtio-blk-model.h"

/* Where the window is: the device process's default base. */
#define INBLK_BASE 0xd0002000ull
/* The name --irq gives its line: --irq in-vmm-blk=GSI. */
#define INBLK_NAME "in-vmm-blk"

struct inblk {
	struct vblk b;			/* the model and its transport */
	uint64_t base;
	struct ioregion_ctx *ctx;	/* holds the line; its loop never runs */
	struct ioregion_irq *irq;
	struct ioregion_mem *mem;
	pthread_mutex_t lock;		/* one vCPU in the transport at a time */
	bool locked;			/* lock initialised */
	uint64_t exits;			/* accesses served */
	uint64_t errors;		/* ... refused by the transport */
};

/*
 * Open @image and serve it at @base on guest memory @slot of @mem_fd
 * (mapped here), interrupts written to the eventfd @irq_fd (non-blocking;
 * duplicated). Returns 0 or a negative errno (everything undone).
 */
int inblk_open(struct inblk *ib, const char *image, uint64_t base, int mem_fd,
	       const struct ioregion_mem_slot *slot, int irq_fd);

/*
 * One MMIO access of @len bytes (1, 2, 4, 8) at guest-physical @addr:
 * @data is the value written (little-endian), or gets the value read
 * (all-ones for a register the transport refuses). Returns whether the
 * address is the device's (false: not touched). Requests are served, and
 * their interrupt raised, before a QueueNotify write returns.
 */
bool inblk_mmio(struct inblk *ib, uint64_t addr, bool is_write, unsigned len,
		uint8_t data[8]);

/* Counters to stderr, "PROG: in-vmm-blk ...". */
void inblk_print_stats(const struct inblk *ib, const char *prog);

/* Destroy the transport, close the image, the memory and the line. */
void inblk_close(struct inblk *ib);

#endif /* EXAMPLES_VMM_INBLK_H */
