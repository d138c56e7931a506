/* SPDX-License-Identifier: MIT */
/*
 * regbank's DMA engine (registers in regbank.h): copies within the guest
 * memory the VMM gave the device, checked with ioregion_mem_* so that a
 * guest's bad range is an error status, never a crash; interrupts on
 * completion. No libev here: the device's loop decides when a started
 * copy runs (regbank.c: the next loop iteration, so the guest sees BUSY
 * and waits for the interrupt, as with real hardware).
 */
#ifndef EXAMPLES_REGBANK_DMA_H
#define EXAMPLES_REGBANK_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "regbank.h"

#define REGBANK_DMA_CHUNK 4096		/* bytes per read/write pair */

struct ioregion_irq;
struct ioregion_mem;

struct regbank_dma {
	struct ioregion_mem *mem;	/* guest RAM; NULL: none given */
	struct ioregion_irq *irq;	/* completion line; NULL: none */
	uint64_t src, dst, len;
	uint32_t ctrl;			/* REGBANK_DMA_CTRL_IE */
	uint32_t status;		/* REGBANK_DMA_ST_* | code << 8 */
	uint64_t copies;		/* copies done */
	uint64_t errors;		/* copies refused */
	uint8_t bounce[REGBANK_DMA_CHUNK];
};

/* Set up an idle engine on @mem and @irq (either may be NULL; the engine
 * takes no reference). */
void regbank_dma_init(struct regbank_dma *d, struct ioregion_mem *mem,
		      struct ioregion_irq *irq);

/* The VMM's reset: registers to 0, a started copy dropped, the line
 * lowered; memory, line and counters stay. */
void regbank_dma_reset(struct regbank_dma *d);

/* Whether @offset is one of the engine's registers. */
bool regbank_dma_is_reg(uint64_t offset);

/* Register accesses. Return 0, -EINVAL for a wrong width, -EBUSY for GO
 * while a copy is pending, -ENXIO off the engine's registers. A GO sets
 * @start: the caller then calls regbank_dma_run() (later, from its loop). */
int regbank_dma_read(const struct regbank_dma *d, uint64_t offset,
		     unsigned int size, uint64_t *val);
int regbank_dma_write(struct regbank_dma *d, uint64_t offset,
		      unsigned int size, uint64_t val, bool *start);

/* Run the pending copy: STATUS becomes DONE or ERROR with its code; the
 * line follows (asserted while IE and DONE or ERROR). No allocation. */
void regbank_dma_run(struct regbank_dma *d);

/* The copy alone: @len bytes from @src to @dst, both ranges checked whole
 * first (nothing is written unless both are good), moved in chunks of
 * @bounce_size through @bounce. Returns 0 or a REGBANK_DMA_ERR_* code. */
unsigned int regbank_dma_copy(struct ioregion_mem *mem, uint64_t src,
			      uint64_t dst, uint64_t len, uint8_t *bounce,
			      size_t bounce_size);

#endif /* EXAMPLES_REGBANK_DMA_H */
