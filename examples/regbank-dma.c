/* SPDX-License-Identifier: MIT */
/*
 * regbank's DMA engine. See regbank-dma.h and regbank.h.
 */
#include <errno.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"

#include "regbank-dma.h"

void
regbank_dma_init(struct regbank_dma *d, struct ioregion_mem *mem,
		 struct ioregion_irq *irq)
{
	*d = (struct regbank_dma){ .mem = mem, .irq = irq };
}

static void dma_update_irq(struct regbank_dma *d);

void
regbank_dma_reset(struct regbank_dma *d)
{
	*d = (struct regbank_dma){
		.mem = d->mem, .irq = d->irq,
		.copies = d->copies, .errors = d->errors,
	};
	dma_update_irq(d);
}

bool
regbank_dma_is_reg(uint64_t offset)
{
	return offset >= REGBANK_DMA_SRC && offset <= REGBANK_DMA_STATUS;
}

/* The line is asserted while the guest wants interrupts and a copy's end
 * is not acknowledged. */
static void
dma_update_irq(struct regbank_dma *d)
{
	bool pending = (d->ctrl & REGBANK_DMA_CTRL_IE) &&
		       (d->status & (REGBANK_DMA_ST_DONE | REGBANK_DMA_ST_ERROR));

	if (d->irq)
		ioregion_irq_set(d->irq, pending);
}

int
regbank_dma_read(const struct regbank_dma *d, uint64_t offset,
		 unsigned int size, uint64_t *val)
{
	switch (offset) {
	case REGBANK_DMA_SRC:
	case REGBANK_DMA_DST:
	case REGBANK_DMA_LEN:
		if (size != 8)
			return -EINVAL;
		*val = offset == REGBANK_DMA_SRC ? d->src :
		       offset == REGBANK_DMA_DST ? d->dst : d->len;
		return 0;
	case REGBANK_DMA_CTRL:
	case REGBANK_DMA_STATUS:
		if (size != 4)
			return -EINVAL;
		*val = offset == REGBANK_DMA_CTRL ? d->ctrl : d->status;
		return 0;
	}
	return -ENXIO;
}

int
regbank_dma_write(struct regbank_dma *d, uint64_t offset, unsigned int size,
		  uint64_t val, bool *start)
{
	uint32_t ack;

	*start = false;
	switch (offset) {
	case REGBANK_DMA_SRC:
	case REGBANK_DMA_DST:
	case REGBANK_DMA_LEN:
		if (size != 8)
			return -EINVAL;
		if (offset == REGBANK_DMA_SRC)
			d->src = val;
		else if (offset == REGBANK_DMA_DST)
			d->dst = val;
		else
			d->len = val;
		return 0;
	case REGBANK_DMA_CTRL:
		if (size != 4)
			return -EINVAL;
		if ((val & REGBANK_DMA_CTRL_GO) &&
		    (d->status & REGBANK_DMA_ST_BUSY))
			return -EBUSY;
		d->ctrl = (uint32_t)val & REGBANK_DMA_CTRL_IE;
		if (val & REGBANK_DMA_CTRL_GO) {
			d->status = REGBANK_DMA_ST_BUSY;
			*start = true;
		}
		dma_update_irq(d);
		return 0;
	case REGBANK_DMA_STATUS:
		if (size != 4)
			return -EINVAL;
		/* Write 1 to DONE or ERROR to clear it (ERROR with its code). */
		ack = (uint32_t)val & (REGBANK_DMA_ST_DONE | REGBANK_DMA_ST_ERROR);
		if (ack & REGBANK_DMA_ST_ERROR)
			d->status &= (1u << REGBANK_DMA_ST_CODE_SHIFT) - 1;
		d->status &= ~ack;
		dma_update_irq(d);
		return 0;
	}
	return -ENXIO;
}

unsigned int
regbank_dma_copy(struct ioregion_mem *mem, uint64_t src, uint64_t dst,
		 uint64_t len, uint8_t *bounce, size_t bounce_size)
{
	void *p;
	int rc;

	if (!mem)
		return REGBANK_DMA_ERR_NOMEM;
	if (len == 0 || len > REGBANK_DMA_MAX_LEN)
		return REGBANK_DMA_ERR_LEN;
	/* Both ranges whole, before anything moves: outside every slot,
	 * spanning two or wrapping is -EFAULT, a read-only slot -EACCES. */
	if (ioregion_mem_translate(mem, src, len, false, &p) < 0)
		return REGBANK_DMA_ERR_SRC;
	rc = ioregion_mem_translate(mem, dst, len, true, &p);
	if (rc == -EACCES)
		return REGBANK_DMA_ERR_RO;
	if (rc < 0)
		return REGBANK_DMA_ERR_DST;
	/* Neither wraps now. */
	if (src < dst + len && dst < src + len)
		return REGBANK_DMA_ERR_OVERLAP;
	for (uint64_t off = 0; off < len; off += bounce_size) {
		size_t n = len - off < bounce_size ? (size_t)(len - off)
						   : bounce_size;

		if (ioregion_mem_read(mem, src + off, bounce, n) < 0)
			return REGBANK_DMA_ERR_SRC;
		if (ioregion_mem_write(mem, dst + off, bounce, n) < 0)
			return REGBANK_DMA_ERR_DST;
	}
	return 0;
}

void
regbank_dma_run(struct regbank_dma *d)
{
	unsigned int err;

	if (!(d->status & REGBANK_DMA_ST_BUSY))
		return;
	err = regbank_dma_copy(d->mem, d->src, d->dst, d->len, d->bounce,
			       sizeof(d->bounce));
	if (err) {
		d->status = REGBANK_DMA_ST_ERROR |
			    err << REGBANK_DMA_ST_CODE_SHIFT;
		d->errors++;
	} else {
		d->status = REGBANK_DMA_ST_DONE;
		d->copies++;
	}
	dma_update_irq(d);
}
