/* SPDX-License-Identifier: MIT */
/*
 * regbank: a register bank for exercising ioregionfd end to end.
 *
 * Three regions on one channel (so their commands stay in order with
 * respect to each other): the MMIO bank of regbank.h (ID, a read counter,
 * a time counter, scratch registers of every width, a read-to-clear
 * SUM/COUNT pair fed by ADD, a deferred-read register answered by a timer,
 * a byte array), a posted-write MMIO log port whose writes the bank
 * checks in order (LOG_LEN, LOG_HASH), and a small PIO window of memory.
 * The bank also holds a DMA engine (regbank-dma.c) that copies within
 * the guest RAM the VMM shares and interrupts when done: the device asks
 * for guest memory (IOREGION_DEVICE_F_MEMORY) and declares one line,
 * "dma" (edge; level with --irq-level), and the control session brings
 * both. The VMM's reset (RESET) puts every register back to 0 and the
 * DMA engine to idle.
 * Accesses of the wrong width or to holes are refused: the guest reads
 * all-ones and the library counts an error.
 *
 *   regbank --socket-path /tmp/vmm.sock [--base 0xd0000000] [--deferred-us 1000]
 *           [--irq-level]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/device.h"
#include "ioregion/irq.h"
#include "ioregion/memory.h"

#include "devmain.h"
#include "regbank.h"
#include "regbank-dma.h"

#define DEFAULT_DEFERRED_US 1000

/* The device: one field per register, plus the deferred-read machinery. */
struct regbank {
	uint64_t counter;
	uint8_t scratch8;
	uint16_t scratch16;
	uint32_t scratch32;
	uint64_t scratch64;
	uint64_t sum;
	uint64_t count;
	uint64_t deferred_seq;
	uint32_t log_len;
	uint64_t log_hash;
	uint64_t log_last;
	uint8_t array[REGBANK_ARRAY_SIZE];
	uint8_t pio[REGBANK_PIO_SIZE];
	struct timespec start;

	struct ev_loop *loop;
	ev_timer deferred_timer;
	double deferred_delay;
	struct ioregion_region *deferred_region;	/* read waiting, or NULL */
	uint64_t deferred_reads;

	struct regbank_dma dma;		/* the DMA engine */
	ev_timer dma_timer;		/* runs a started copy */
};

/* Little-endian load/store of @size bytes, for the memory-like windows. */
static uint64_t
mem_load(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
mem_store(uint8_t *p, unsigned int size, uint64_t v)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
regbank_time_ns(const struct regbank *rb)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - rb->start.tv_sec) * 1000000000ull +
	       (uint64_t)now.tv_nsec - (uint64_t)rb->start.tv_nsec;
}

static void
regbank_log_append(struct regbank *rb, uint64_t v)
{
	rb->log_len++;
	rb->log_hash = rb->log_hash * REGBANK_LOG_MULT + v;
	rb->log_last = v;
}

/* ---- main bank ------------------------------------------------------------ */

static int
regbank_in(struct regbank *rb, struct ioregion_region *region,
	   uint64_t offset, unsigned int size, uint64_t *val)
{
	if (regbank_dma_is_reg(offset))
		return regbank_dma_read(&rb->dma, offset, size, val);
	if (offset >= REGBANK_ARRAY &&
	    offset + size <= REGBANK_ARRAY + REGBANK_ARRAY_SIZE) {
		*val = mem_load(&rb->array[offset - REGBANK_ARRAY], size);
		return 0;
	}

	switch (offset) {
	case REGBANK_ID:
		if (size != 2 && size != 4)
			return -EINVAL;
		*val = REGBANK_ID_VALUE & (size == 2 ? 0xffff : 0xffffffff);
		return 0;
	case REGBANK_COUNTER:
		if (size != 8)
			return -EINVAL;
		*val = ++rb->counter;
		return 0;
	case REGBANK_SCRATCH8:
		if (size != 1)
			return -EINVAL;
		*val = rb->scratch8;
		return 0;
	case REGBANK_SCRATCH16:
		if (size != 2)
			return -EINVAL;
		*val = rb->scratch16;
		return 0;
	case REGBANK_SCRATCH32:
		if (size != 4)
			return -EINVAL;
		*val = rb->scratch32;
		return 0;
	case REGBANK_SCRATCH64:
		if (size != 8)
			return -EINVAL;
		*val = rb->scratch64;
		return 0;
	case REGBANK_SUM:
		if (size != 8)
			return -EINVAL;
		*val = rb->sum;
		rb->sum = 0;
		return 0;
	case REGBANK_COUNT:
		if (size != 8)
			return -EINVAL;
		*val = rb->count;
		rb->count = 0;
		return 0;
	case REGBANK_DEFERRED:
		if (size != 4 && size != 8)
			return -EINVAL;
		/* The kernel (and the bridge) send one read at a time per
		 * fd, so a second one while waiting is a peer bug. */
		if (rb->deferred_region)
			return -EBUSY;
		rb->deferred_region = region;
		ev_timer_set(&rb->deferred_timer, rb->deferred_delay, 0.);
		ev_timer_start(rb->loop, &rb->deferred_timer);
		return IOREGION_DEFERRED;
	case REGBANK_LOG_LEN:
		if (size != 4)
			return -EINVAL;
		*val = rb->log_len;
		return 0;
	case REGBANK_LOG_HASH:
		if (size != 8)
			return -EINVAL;
		*val = rb->log_hash;
		return 0;
	case REGBANK_TIME_NS:
		if (size != 8)
			return -EINVAL;
		*val = regbank_time_ns(rb);
		return 0;
	}
	return -ENXIO;
}

static int
regbank_out(struct regbank *rb, uint64_t offset, unsigned int size,
	    uint64_t val)
{
	if (regbank_dma_is_reg(offset)) {
		bool start;
		int rc = regbank_dma_write(&rb->dma, offset, size, val, &start);

		/* The copy runs after this write is answered. */
		if (start)
			ev_timer_start(rb->loop, &rb->dma_timer);
		return rc;
	}
	if (offset >= REGBANK_ARRAY &&
	    offset + size <= REGBANK_ARRAY + REGBANK_ARRAY_SIZE) {
		mem_store(&rb->array[offset - REGBANK_ARRAY], size, val);
		return 0;
	}

	switch (offset) {
	case REGBANK_SCRATCH8:
		if (size != 1)
			return -EINVAL;
		rb->scratch8 = (uint8_t)val;
		return 0;
	case REGBANK_SCRATCH16:
		if (size != 2)
			return -EINVAL;
		rb->scratch16 = (uint16_t)val;
		return 0;
	case REGBANK_SCRATCH32:
		if (size != 4)
			return -EINVAL;
		rb->scratch32 = (uint32_t)val;
		return 0;
	case REGBANK_SCRATCH64:
		if (size != 8)
			return -EINVAL;
		rb->scratch64 = val;
		return 0;
	case REGBANK_ADD:
		rb->sum += val;
		rb->count++;
		return 0;
	case REGBANK_LOG_CLEAR:
		rb->log_len = 0;
		rb->log_hash = 0;
		rb->log_last = 0;
		return 0;
	case REGBANK_ID:
	case REGBANK_COUNTER:
	case REGBANK_SUM:
	case REGBANK_COUNT:
	case REGBANK_DEFERRED:
	case REGBANK_LOG_LEN:
	case REGBANK_LOG_HASH:
	case REGBANK_TIME_NS:
		return -EPERM;	/* read-only */
	}
	return -ENXIO;
}

static void
regbank_deferred_done(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct regbank *rb = w->data;
	struct ioregion_region *region = rb->deferred_region;
	int rc;

	rb->deferred_region = NULL;
	if (!region)
		return;
	rc = ioregion_region_complete_read(region,
					   REGBANK_DEFERRED_TAG +
					   ++rb->deferred_seq);
	/* -ENOENT: the library's bound passed first and the guest got
	 * all-ones; -ENOTCONN: the VMM is gone. Both are already counted. */
	if (rc == 0)
		rb->deferred_reads++;
}

static int
bank_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	  uint64_t *val)
{
	return regbank_in(ioregion_region_get_userdata(region), region, offset,
			  size, val);
}

static int
bank_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	   uint64_t val)
{
	return regbank_out(ioregion_region_get_userdata(region), offset, size,
			   val);
}

static const struct ioregion_region_ops bank_ops = {
	.read = bank_read,
	.write = bank_write,
};

/* ---- posted-write log port -------------------------------------------- */

static int
log_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	 uint64_t *val)
{
	struct regbank *rb = ioregion_region_get_userdata(region);

	if (offset != 0)
		return -ENXIO;
	*val = rb->log_len;
	return 0;
}

static int
log_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	  uint64_t val)
{
	struct regbank *rb = ioregion_region_get_userdata(region);

	if (offset != 0)
		return -ENXIO;
	regbank_log_append(rb, val);
	return 0;
}

static const struct ioregion_region_ops log_ops = {
	.read = log_read,
	.write = log_write,
};

/* ---- PIO window ----------------------------------------------------------- */

static int
pio_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	 uint64_t *val)
{
	struct regbank *rb = ioregion_region_get_userdata(region);

	if (offset + size > REGBANK_PIO_SIZE)
		return -ENXIO;
	*val = mem_load(&rb->pio[offset], size);
	return 0;
}

static int
pio_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	  uint64_t val)
{
	struct regbank *rb = ioregion_region_get_userdata(region);

	if (offset + size > REGBANK_PIO_SIZE)
		return -ENXIO;
	mem_store(&rb->pio[offset], size, val);
	return 0;
}

static const struct ioregion_region_ops pio_ops = {
	.read = pio_read,
	.write = pio_write,
};

static void
regbank_dma_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct regbank *rb = w->data;

	regbank_dma_run(&rb->dma);
}

/* Every register to its power-on value, the DMA engine idle; a deferred
 * read in flight is still answered. */
static void
regbank_reset_regs(struct regbank *rb)
{
	rb->counter = 0;
	rb->scratch8 = 0;
	rb->scratch16 = 0;
	rb->scratch32 = 0;
	rb->scratch64 = 0;
	rb->sum = 0;
	rb->count = 0;
	rb->log_len = 0;
	rb->log_hash = 0;
	rb->log_last = 0;
	memset(rb->array, 0, sizeof(rb->array));
	memset(rb->pio, 0, sizeof(rb->pio));
	ev_timer_stop(rb->loop, &rb->dma_timer);
	regbank_dma_reset(&rb->dma);
}

/* The VMM's reset (control session RESET). */
static int
regbank_reset(struct ioregion_device *dev, void *data)
{
	(void)dev;
	regbank_reset_regs(data);
	return 0;
}

static void
regbank_init(struct regbank *rb, struct ev_loop *loop, unsigned int delay_us)
{
	memset(rb, 0, sizeof(*rb));
	clock_gettime(CLOCK_MONOTONIC, &rb->start);
	rb->loop = loop;
	rb->deferred_delay = delay_us / 1e6;
	ev_timer_init(&rb->deferred_timer, regbank_deferred_done,
		      rb->deferred_delay, 0.);
	rb->deferred_timer.data = rb;
	regbank_dma_init(&rb->dma, NULL, NULL);
	ev_timer_init(&rb->dma_timer, regbank_dma_due, 0., 0.);
	rb->dma_timer.data = rb;
}

static void
regbank_exit(struct regbank *rb)
{
	ev_timer_stop(rb->loop, &rb->deferred_timer);
	ev_timer_stop(rb->loop, &rb->dma_timer);
	rb->deferred_region = NULL;
}

/* ---- program ------------------------------------------------------------ */

enum { OPT_DEFERRED_US = 0x100 };

struct regbank_opts {
	unsigned int deferred_us;
};

static int
regbank_parse_opt(void *data, int opt, const char *arg)
{
	struct regbank_opts *o = data;
	char *end;
	unsigned long v;

	if (opt != OPT_DEFERRED_US)
		return -1;
	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || !v || v > 10000000) {
		fprintf(stderr, "regbank: bad --deferred-us '%s'\n", arg);
		return -1;
	}
	o->deferred_us = (unsigned int)v;
	return 0;
}

static const struct option regbank_options[] = {
	{ "deferred-us", required_argument, NULL, OPT_DEFERRED_US },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct regbank_opts ropts = { .deferred_us = DEFAULT_DEFERRED_US };
	struct devmain_extra extra = {
		.options = regbank_options,
		.help = "  --deferred-us N     delay of the DEFERRED register (default 1000)\n"
			"Regions: MMIO base (default 0xd0000000) size 0x1000; posted log\n"
			"port at base+0x1000; PIO window at 0x700-0x70f. See regbank.h.\n"
			"Asks for guest memory (DMA) and one interrupt line, \"dma\".\n",
		.parse = regbank_parse_opt,
		.dev = &ropts,
	};
	struct devmain dm;
	struct regbank rb;
	struct ioregion_device_line line = { .name = "dma" };
	struct ioregion_device_config cfg = {
		.name = "regbank",
		.lines = &line,
		.nlines = 1,
		.flags = IOREGION_DEVICE_F_MEMORY,
		.reset = regbank_reset,
		.userdata = &rb,
	};
	uint64_t base;
	int rc, status = 1;

	rc = devmain_parse(&dm, argc, argv, &extra);
	if (rc)
		return rc > 0 ? 0 : 2;
	base = dm.opts.base_set ? dm.opts.base : REGBANK_DEFAULT_BASE;

	rc = devmain_init(&dm);
	if (rc < 0) {
		fprintf(stderr, "%s: init: %s\n", dm.prog, strerror(-rc));
		goto out;
	}
	regbank_init(&rb, dm.loop, ropts.deferred_us);
	line.trigger = devmain_line_trigger(&dm);
	rc = devmain_add_region(&dm, "regbank", base, REGBANK_SIZE, 0,
				IOREGION_WIDTH_ALL, &bank_ops, &rb);
	if (rc == 0)
		rc = devmain_add_region(&dm, "regbank-log",
					base + REGBANK_LOG_OFFSET,
					REGBANK_LOG_SIZE,
					IOREGION_F_POSTED_WRITES,
					IOREGION_WIDTH_ALL, &log_ops, &rb);
	if (rc == 0)
		rc = devmain_add_region(&dm, "regbank-pio", REGBANK_PIO_BASE,
					REGBANK_PIO_SIZE, IOREGION_F_PIO,
					IOREGION_WIDTH_1 | IOREGION_WIDTH_2 |
					IOREGION_WIDTH_4, &pio_ops, &rb);
	if (rc == 0)
		rc = devmain_connect(&dm, &cfg);
	if (rc < 0)
		goto out_rb;
	/* What the session brought: the line, and the guest memory the VMM
	 * granted (an empty table when it granted none: DMA is refused). */
	rb.dma.irq = ioregion_device_get_irq(dm.dev, 0);
	rb.dma.mem = ioregion_device_get_mem(dm.dev);
	fprintf(stderr, "%s: DMA interrupt: %s line; guest memory: %s\n",
		dm.prog, line.trigger == IOREGION_LINE_LEVEL ? "level" : "edge",
		ioregion_mem_generation(rb.dma.mem) ? "granted" : "none");

	status = devmain_run(&dm);
	devmain_print_stats(&dm);
	if (!dm.opts.quiet)
		fprintf(stderr,
			"%s: adds pending %" PRIu64 " log entries %" PRIu32
			" deferred reads %" PRIu64 " dma copies %" PRIu64
			" dma errors %" PRIu64 "\n",
			dm.prog, rb.count, rb.log_len, rb.deferred_reads,
			rb.dma.copies, rb.dma.errors);
out_rb:
	regbank_exit(&rb);
out:
	devmain_fini(&dm);	/* the line and the memory go with the device */
	return status;
}
