/* SPDX-License-Identifier: MIT */
/*
 * A small device program for ioregion-drive's test (the scripts in tests/drive/),
 * deliberately not one of the examples: libioregion-server on a private
 * libev loop, the hand-off done by hand. It connects to --socket-path
 * PATH, hands off three regions (each with its main and its fallback
 * channel, so that a VMM on a patched kernel can use it too) and serves
 * them until the VMM side closes the channel (exit 0) or the channel
 * fails (exit 1). ioregion-vmm runs tests/drive/guest.S against it.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ioregion/handoff.h"
#include "ioregion/server.h"

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
on_close(struct ioregion_channel *ch, int error, void *data)
{
	struct dt *d = data;

	d->close_error = error;
	ev_break(d->loop, EVBREAK_ALL);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
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
	const struct {
		const char *name;
		struct ioregion_region_config cfg;
	} regions[] = {
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
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch, *fb = NULL;
	int sock, peer, fbpeer, rc;

	if (argc != 3 || strcmp(argv[1], "--socket-path")) {
		fprintf(stderr, "usage: drive-device --socket-path PATH\n");
		return 2;
	}
	rc = ioregion_ctx_new(NULL, &ctx);
	if (rc == 0)
		rc = ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch);
	if (rc == 0)
		rc = ioregion_channel_new_fallback(ch, &fb);
	if (rc < 0) {
		fprintf(stderr, "drive-device: %s\n", strerror(-rc));
		return 1;
	}
	d.loop = ioregion_ctx_get_loop(ctx);
	ioregion_channel_set_close_handler(ch, on_close, &d);
	sock = connect_to(argv[2]);
	if (sock < 0) {
		fprintf(stderr, "drive-device: connect %s: %s\n", argv[2],
			strerror(-sock));
		return 1;
	}
	peer = ioregion_channel_peer_fd(ch);
	fbpeer = ioregion_channel_peer_fd(fb);
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
		struct ioregion_region *r;
		struct ioregion_desc desc;

		rc = ioregion_region_new(ch, &regions[i].cfg, &r);
		if (rc == 0)
			rc = ioregion_region_get_desc(r, &desc);
		if (rc == 0)
			rc = ioregion_handoff_send_with_fallback(sock, &desc,
					peer, fbpeer, regions[i].name);
		if (rc < 0) {
			fprintf(stderr, "drive-device: region %s: %s\n",
				regions[i].name, strerror(-rc));
			return 1;
		}
	}
	rc = ioregion_handoff_send_end(sock);
	close(sock);
	if (rc < 0) {
		fprintf(stderr, "drive-device: hand-off end: %s\n", strerror(-rc));
		return 1;
	}
	/* The VMM side holds the peer now: its close is our EOF. */
	close(ioregion_channel_take_peer_fd(ch));
	close(ioregion_channel_take_peer_fd(fb));
	ev_run(d.loop, 0);
	ioregion_ctx_unref(ctx);
	if (d.close_error < 0) {
		fprintf(stderr, "drive-device: channel failed: %s\n",
			strerror(-d.close_error));
		return 1;
	}
	return 0;
}
