/* SPDX-License-Identifier: MIT */
/*
 * A small device program for ioregion-drive's test (the scripts in tests/drive/),
 * deliberately not one of the examples: libioregion-server on a private
 * libev loop and no socket code at all. ioregion_device_connect() takes
 * the control session socket from --socket-path PATH (or $IOREGION_SOCKET)
 * and hands the three regions over (with fallback channels where the
 * VMM wants them: a patched kernel); the device serves them until the VMM
 * ends the session (exit 0) or the session fails (exit 1). ioregion-vmm
 * runs tests/drive/guest.S against it.
 *
 *   "dt"       MMIO 0xe0000000+0x100
 *              0x00 ID (RO 4) DT_ID; 0x08 scratch (RW 1/2/4/8);
 *              0x10 counter (RO 8, +1 per read, first read 1);
 *              0x18 fifo count (RO 8); 0x20 fifo sum (RO 8)
 *   "dt-fifo"  MMIO 0xe0001000+0x8, posted writes: count += 1, sum += value
 *   "dt-pio"   PIO 0x600+0x4, 1-byte only: four bytes of memory
 */
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioregion/device.h"

#define DT_ID 0x0d71e001u

struct dt {
	uint64_t scratch, counter, fifo_count, fifo_sum;
	uint8_t pio[4];
	struct ev_loop *loop;
	int close_error;
};

static int
dt_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	struct dt *d = ioregion_region_get_userdata(r);

	switch (off) {
	case 0x00: *val = DT_ID; return 0;
	case 0x08: *val = d->scratch; return 0;
	case 0x10: *val = ++d->counter; return 0;
	case 0x18: *val = d->fifo_count; return 0;
	case 0x20: *val = d->fifo_sum; return 0;
	default: return -EINVAL;
	}
}

static int
dt_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	struct dt *d = ioregion_region_get_userdata(r);

	if (off != 0x08)
		return -EPERM;
	d->scratch = val;
	return 0;
}

static int
fifo_write(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t val)
{
	struct dt *d = ioregion_region_get_userdata(r);

	d->fifo_count++;
	d->fifo_sum += val;
	return 0;
}

static int
pio_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	struct dt *d = ioregion_region_get_userdata(r);

	*val = d->pio[off];
	return 0;
}

static int
pio_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	struct dt *d = ioregion_region_get_userdata(r);

	d->pio[off] = (uint8_t)val;
	return 0;
}

static void
on_gone(struct ioregion_device *dev, int error, void *data)
{
	struct dt *d = data;

	(void)dev;
	d->close_error = error == -ECONNRESET ? 0 : error;
	ev_break(d->loop, EVBREAK_ALL);
}

int
main(int argc, char **argv)
{
	static const struct ioregion_region_ops dt_ops = {
		.read = dt_read, .write = dt_write,
	};
	static const struct ioregion_region_ops fifo_ops = { .write = fifo_write };
	static const struct ioregion_region_ops pio_ops = {
		.read = pio_read, .write = pio_write,
	};
	struct dt d = { 0 };
	const struct ioregion_device_region regions[] = {
		{ "dt", { .addr = 0xe0000000, .size = 0x100,
			  .ops = &dt_ops, .userdata = &d } },
		{ "dt-fifo", { .addr = 0xe0001000, .size = 0x8,
			       .flags = IOREGION_F_POSTED_WRITES,
			       .ops = &fifo_ops, .userdata = &d } },
		{ "dt-pio", { .addr = 0x600, .size = 0x4,
			      .flags = IOREGION_F_PIO,
			      .widths = IOREGION_WIDTH_1,
			      .ops = &pio_ops, .userdata = &d } },
	};
	const struct ioregion_device_config cfg = {
		.name = "drive-device",
		.regions = regions,
		.nregions = sizeof(regions) / sizeof(regions[0]),
		.gone = on_gone,
		.userdata = &d,
	};
	struct ioregion_ctx *ctx;
	struct ioregion_device *dev;
	int rc;

	if (argc != 1 && (argc != 3 || strcmp(argv[1], "--socket-path"))) {
		fprintf(stderr, "usage: drive-device [--socket-path PATH]\n");
		return 2;
	}
	rc = ioregion_ctx_new(NULL, &ctx);
	if (rc < 0) {
		fprintf(stderr, "drive-device: %s\n", strerror(-rc));
		return 1;
	}
	d.loop = ioregion_ctx_get_loop(ctx);
	rc = ioregion_device_connect(ctx, argc == 3 ? argv[2] : NULL, &cfg,
				     &dev);
	if (rc < 0) {
		fprintf(stderr, "drive-device: connect: %s\n", strerror(-rc));
		ioregion_ctx_unref(ctx);
		return 1;
	}
	ev_run(d.loop, 0);
	ioregion_device_destroy(dev);
	ioregion_ctx_unref(ctx);
	if (d.close_error < 0) {
		fprintf(stderr, "drive-device: session failed: %s\n",
			strerror(-d.close_error));
		return 1;
	}
	return 0;
}
