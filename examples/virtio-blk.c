/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk: a virtio-mmio block device backed by a disk image file.
 *
 * The model (virtio-blk-model.c) serves one request queue: read, write,
 * flush (fdatasync) and get-id, sector bounds checked; the capacity is the
 * image's size in 512-byte sectors, and the disk is read-only if the image
 * is (or with --read-only). The transport is the library's
 * (ioregion/virtio.h): a 0x200-byte MMIO window at --base (default
 * 0xd0002000), registered as three regions on the device's one channel
 * (ioregion_virtio_mmio_ranges()): QueueNotify alone with posted writes,
 * so the guest's notify does not wait for its requests, and the registers
 * around it non-posted, their writes answered. The queue is served inside
 * the posted write's callback. The device asks for guest memory and one
 * interrupt line, "virtio" (edge; level with --irq-level).
 *
 * --state-file PATH keeps the transport's state in PATH (created, locked
 * while the process runs, mapped shared; see
 * ioregion_virtio_mmio_set_state()): a process started again with the
 * same command line after this one was killed takes up where it left
 * off. The requests it had taken and not answered fail (IOERR), the guest
 * driver goes on without a reset, and the device says so in its HELLO
 * (IOREGION_DEVICE_F_KEEPS_STATE) so that the VMM does not reset it
 * either. One file per device; delete it for a fresh start (the guest's
 * next boot resets the device anyway).
 *
 *   virtio-blk --socket-path /tmp/vmm.sock --image disk.img [--base ADDR]
 *              [--id STRING] [--read-only] [--state-file PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioregion/device.h"
#include "ioregion/server.h"

#include "devmain.h"
#include "virtio-blk-model.h"

#define VBLK_DEFAULT_BASE 0xd0002000ull

enum { OPT_IMAGE = 0x100, OPT_ID, OPT_READ_ONLY, OPT_STATE_FILE, OPT_DELAY };

static const struct option vblk_options[] = {
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "state-file", required_argument, NULL, OPT_STATE_FILE },
	{ "delay-us", required_argument, NULL, OPT_DELAY },
	{ 0 },
};

struct vblk_opts {
	const char *image;
	const char *id;
	bool readonly;
	const char *state_file;
	unsigned int delay_us;
};

static int
vblk_parse_opt(void *data, int opt, const char *arg)
{
	struct vblk_opts *o = data;

	switch (opt) {
	case OPT_IMAGE:
		o->image = arg;
		return 0;
	case OPT_ID:
		o->id = arg;
		return 0;
	case OPT_READ_ONLY:
		o->readonly = true;
		return 0;
	case OPT_STATE_FILE:
		o->state_file = arg;
		return 0;
	case OPT_DELAY: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' ||
		    v > VBLK_DELAY_MAX_US) {
			fprintf(stderr, "virtio-blk: --delay-us wants 0..%u, "
				"not '%s'\n", VBLK_DELAY_MAX_US, arg);
			return -1;
		}
		o->delay_us = (unsigned int)v;
		return 0;
	}
	}
	return -1;
}

/* The state file: created if need be, locked (one process at a time: the
 * lock goes with the process, also when it is killed), at least @size
 * bytes (a new one reads zeros: no state), mapped shared. Returns the fd
 * (keep it open for the lock) with *@areap, or a negative errno (-EBUSY:
 * another process has it). */
static int
state_open(const char *path, size_t size, void **areap)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), err = 0;

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		err = errno == EWOULDBLOCK ? EBUSY : errno;
	else if (fstat(fd, &st) < 0 ||
		 (st.st_size < (off_t)size && ftruncate(fd, (off_t)size) < 0))
		err = errno;
	if (!err) {
		*areap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fd, 0);
		if (*areap == MAP_FAILED)
			err = errno;
	}
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

/* The VMM's reset is the driver's: Status 0. */
static int
vblk_reset(struct ioregion_device *dev, void *data)
{
	struct vblk *b = data;

	(void)dev;
	return b->vm ? ioregion_virtio_mmio_write(b->vm,
			IOREGION_VIRTIO_MMIO_STATUS, 4, 0) : 0;
}

int
main(int argc, char **argv)
{
	struct vblk_opts o = { 0 };
	struct devmain_extra extra = {
		.options = vblk_options,
		.help = "  --image PATH        the disk image (required; its size is a\n"
			"                      multiple of 512)\n"
			"  --id STRING         the GET_ID string (default: the image's name)\n"
			"  --read-only         a read-only disk (also if the image is)\n"
			"  --state-file PATH   keep the transport's state in PATH: a\n"
			"                      process started again after this one\n"
			"                      died resumes (its requests fail: IOERR)\n"
			"  --delay-us N        a slow disk: each read and write waits N\n"
			"                      microseconds first (0..1000000; for tests\n"
			"                      that need a request in flight)\n"
			"Region: MMIO base (default 0xd0002000) size 0x200, virtio-mmio v2;\n"
			"QueueNotify (0x50) takes posted writes.\n"
			"Asks for guest memory and one interrupt line, \"virtio\".\n",
		.parse = vblk_parse_opt,
		.dev = &o,
	};
	struct devmain dm;
	struct vblk b = { .fd = -1 };
	struct ioregion_device_line line = { .name = "virtio" };
	struct ioregion_device_config cfg = {
		.name = "virtio-blk",
		.lines = &line,
		.nlines = 1,
		.flags = IOREGION_DEVICE_F_MEMORY,
		.reset = vblk_reset,
		.userdata = &b,
	};
	struct ioregion_virtio_mmio_stats vs;
	void *area = NULL;
	size_t area_size = 0;
	static const char *const state_names[] = { "new", "resumed",
		"unusable: the device needs reset" };
	struct ioregion_region_config win[IOREGION_VIRTIO_MMIO_NRANGES];
	static const char *const win_names[IOREGION_VIRTIO_MMIO_NRANGES] = {
		"virtio-blk", "virtio-blk-notify", "virtio-blk-regs",
	};
	int rc, status = 1, state_fd = -1;

	rc = devmain_parse(&dm, argc, argv, &extra);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (!o.image) {
		fprintf(stderr, "%s: --image PATH is required\n", dm.prog);
		return 2;
	}
	rc = vblk_open(&b, o.image, o.id, o.readonly);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", dm.prog, o.image,
			rc == -EINVAL ? "not a file of whole 512-byte sectors"
				      : strerror(-rc));
		return 1;
	}
	b.delay_us = o.delay_us;
	if (o.state_file) {
		area_size = vblk_state_size(&b);
		state_fd = state_open(o.state_file, area_size, &area);
		if (state_fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", dm.prog, o.state_file,
				state_fd == -EBUSY ? "in use by another process"
						   : strerror(-state_fd));
			vblk_close(&b);
			return 1;
		}
		cfg.flags |= IOREGION_DEVICE_F_KEEPS_STATE;
	}
	rc = devmain_init(&dm);
	if (rc < 0) {
		fprintf(stderr, "%s: init: %s\n", dm.prog, strerror(-rc));
		goto out;
	}
	line.trigger = devmain_line_trigger(&dm);
	rc = vblk_regions(&b, dm.opts.base_set ? dm.opts.base : VBLK_DEFAULT_BASE,
			  win);
	for (int i = 0; i < rc; i++) {
		int err = devmain_add_region(&dm, win_names[i], win[i].addr,
					     win[i].size, win[i].flags,
					     IOREGION_WIDTH_ALL, win[i].ops,
					     win[i].userdata);
		if (err < 0)
			rc = err;
	}
	if (rc >= 0)
		rc = devmain_connect(&dm, &cfg);
	if (rc < 0)
		goto out;
	rc = vblk_attach(&b, ioregion_device_get_mem(dm.dev),
			 ioregion_device_get_irq(dm.dev, 0), area, area_size);
	if (rc < 0) {
		fprintf(stderr, "%s: transport: %s\n", dm.prog, strerror(-rc));
		goto out;
	}
	if (area)
		fprintf(stderr, "%s: state %s: %s, %" PRIu64 " request(s) of the "
			"process before answered IOERR\n", dm.prog,
			o.state_file, state_names[rc], b.stats.abandoned);
	fprintf(stderr, "%s: %s: %" PRIu64 " sectors%s, id \"%.20s\"\n",
		dm.prog, o.image, b.capacity, b.readonly ? " read-only" : "",
		b.id);

	status = devmain_run(&dm);
	devmain_print_stats(&dm);
	if (!dm.opts.quiet && ioregion_virtio_mmio_get_stats(b.vm, &vs) == 0)
		fprintf(stderr,
			"%s: reads %" PRIu64 " writes %" PRIu64 " flushes %"
			PRIu64 " get-ids %" PRIu64 " ioerr %" PRIu64
			" unsupp %" PRIu64 " bad requests %" PRIu64
			" bad chains %" PRIu64 " resets %" PRIu64 "\n",
			dm.prog, b.stats.reads, b.stats.writes, b.stats.flushes,
			b.stats.get_ids, b.stats.ioerr, b.stats.unsupp,
			b.stats.bad_requests, vs.bad_chains, vs.resets);
out:
	vblk_close(&b);		/* before the device: the memory goes with it */
	devmain_fini(&dm);
	if (area)
		munmap(area, area_size);
	if (state_fd >= 0)
		close(state_fd);
	return status;
}
