/* SPDX-License-Identifier: MIT */
/* The virtio-blk device model: see virtio-blk-model.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "virtio-blk-model.h"

/* Header, data segments, status. */
#define VBLK_CHAIN_MAX (VBLK_SEG_MAX + 2u)

static void
put_le(uint8_t *p, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int
vblk_open(struct vblk *b, const char *path, const char *id, bool readonly)
{
	struct stat st;
	const char *base;
	int err = 0;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	if (!readonly)
		b->fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0) {
		if (!readonly && errno != EACCES && errno != EROFS &&
		    errno != EPERM)
			return -errno;
		b->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (b->fd < 0)
			return -errno;
		readonly = true;
	}
	b->readonly = readonly;
	if (fstat(b->fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode) || st.st_size % VBLK_SECTOR)
		err = EINVAL;
	if (err) {
		close(b->fd);
		b->fd = -1;
		return -err;
	}
	b->capacity = (uint64_t)st.st_size / VBLK_SECTOR;
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!id)
		id = base;
	memcpy(b->id, id, strnlen(id, sizeof(b->id)));
	put_le(b->config + VBLK_CFG_CAPACITY, 8, b->capacity);
	put_le(b->config + VBLK_CFG_SEG_MAX, 4, VBLK_SEG_MAX);
	put_le(b->config + VBLK_CFG_BLK_SIZE, 4, VBLK_SECTOR);
	return 0;
}

uint64_t
vblk_features(const struct vblk *b)
{
	return IOREGION_VIRTIO_F_VERSION_1 | VBLK_F_FLUSH | VBLK_F_SEG_MAX |
	       VBLK_F_BLK_SIZE | (b->readonly ? VBLK_F_RO : 0);
}

static int
cfg_read(struct ioregion_virtio_mmio *vm, uint32_t off, unsigned size,
	 uint64_t *val)
{
	struct vblk *b = ioregion_virtio_mmio_get_userdata(vm);

	*val = get_le(b->config + off, size);
	return 0;
}

/* Every field this device has is read-only. */
static int
cfg_write(struct ioregion_virtio_mmio *vm, uint32_t off, unsigned size,
	  uint64_t val)
{
	(void)vm;
	(void)off;
	(void)size;
	(void)val;
	return -EPERM;
}

static void
on_notify(struct ioregion_virtio_mmio *vm, unsigned queue)
{
	(void)queue;
	vblk_process(ioregion_virtio_mmio_get_userdata(vm));
}

/* A request the process before took and never answered: IOERR in its
 * status byte (the last byte of the last buffer, if it is writable). */
static uint32_t
on_abandoned(struct ioregion_virtio_mmio *vm, unsigned queue, uint16_t head,
	     const struct ioregion_virtq_seg *segs, unsigned n)
{
	struct vblk *b = ioregion_virtio_mmio_get_userdata(vm);
	const struct ioregion_virtq_seg *st = &segs[n - 1];
	uint8_t status = VBLK_S_IOERR;

	(void)queue;
	(void)head;
	b->stats.abandoned++;
	if (n < 2 || !st->write || !st->len ||
	    ioregion_mem_write(b->mem, st->gpa + st->len - 1, &status, 1) < 0)
		return 0;
	b->stats.ioerr++;
	return 1;
}

static const struct ioregion_virtio_mmio_ops vblk_ops = {
	.config_read = cfg_read,
	.config_write = cfg_write,
	.notify = on_notify,
	.abandoned = on_abandoned,
};

static struct ioregion_virtio_mmio_config
vblk_config(const struct vblk *b)
{
	return (struct ioregion_virtio_mmio_config){
		.device_id = VBLK_DEVICE_ID,
		.vendor_id = VBLK_VENDOR_ID,
		.features = vblk_features(b),
		.nqueues = 1,
		.queue_max = VBLK_QUEUE_MAX,
		.config_size = VBLK_CFG_SIZE,
		.ops = &vblk_ops,
		.userdata = (void *)b,
	};
}

size_t
vblk_state_size(const struct vblk *b)
{
	struct ioregion_virtio_mmio_config cfg = vblk_config(b);

	return ioregion_virtio_mmio_state_size(&cfg);
}

int
vblk_attach(struct vblk *b, struct ioregion_mem *mem, struct ioregion_irq *irq,
	    void *state, size_t len)
{
	struct ioregion_virtio_mmio_config cfg = vblk_config(b);
	int rc;

	b->mem = mem;
	rc = ioregion_virtio_mmio_new(&cfg, mem, irq, &b->vm);
	if (rc < 0 || !state)
		return rc;
	rc = ioregion_virtio_mmio_set_state(b->vm, state, len);
	if (rc < 0) {
		ioregion_virtio_mmio_destroy(b->vm);
		b->vm = NULL;
	}
	return rc;
}

/* Move the data segments [first, last) to or from the image at @pos.
 * Returns 0 or a negative errno. */
static int
transfer(struct vblk *b, const struct ioregion_virtq_seg *s, unsigned n,
	 bool in, uint64_t pos)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p;
		uint32_t done = 0;
		int rc;

		if (s[i].write != in)
			return -EINVAL;
		if (!s[i].len)
			continue;
		rc = ioregion_mem_translate(b->mem, s[i].gpa, s[i].len, in,
					    (void **)&p);
		if (rc < 0)
			return rc;
		while (done < s[i].len) {
			ssize_t r = in ? pread(b->fd, p + done, s[i].len - done,
					       (off_t)(pos + done))
				       : pwrite(b->fd, p + done, s[i].len - done,
						(off_t)(pos + done));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			done += (uint32_t)r;
		}
		pos += s[i].len;
	}
	return 0;
}

/* A slow disk (vblk.delay_us): the request is held meanwhile, which is
 * what a test that kills the process during I/O needs. */
static void
slow_disk(const struct vblk *b)
{
	struct timespec ts = {
		.tv_sec = b->delay_us / 1000000u,
		.tv_nsec = (long)(b->delay_us % 1000000u) * 1000,
	};

	if (b->delay_us)
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
}

/* One request: its status, and in *@written the bytes put in its
 * device-writable data segments. */
static uint8_t
serve(struct vblk *b, const struct ioregion_virtq_seg *s, unsigned n,
      uint32_t *written)
{
	uint8_t hdr[16];
	uint32_t type;
	uint64_t sector, bytes = 0;
	const struct ioregion_virtq_seg *data = s + 1;
	unsigned ndata = n - 2;

	*written = 0;
	if (s[0].write || s[0].len < sizeof(hdr) ||
	    ioregion_mem_read(b->mem, s[0].gpa, hdr, sizeof(hdr)) < 0)
		return VBLK_S_IOERR;
	type = (uint32_t)get_le(hdr, 4);
	sector = get_le(hdr + 8, 8);
	for (unsigned i = 0; i < ndata; i++)
		bytes += data[i].len;	/* the transport bounds the sum */

	switch (type) {
	case VBLK_T_IN:
	case VBLK_T_OUT:
		if (bytes % VBLK_SECTOR || sector > b->capacity ||
		    bytes / VBLK_SECTOR > b->capacity - sector ||
		    (type == VBLK_T_OUT && b->readonly))
			return VBLK_S_IOERR;
		slow_disk(b);
		if (transfer(b, data, ndata, type == VBLK_T_IN,
			     sector * VBLK_SECTOR) < 0)
			return VBLK_S_IOERR;
		if (type == VBLK_T_IN) {
			*written = (uint32_t)bytes;
			b->stats.reads++;
		} else {
			b->stats.writes++;
		}
		return VBLK_S_OK;
	case VBLK_T_FLUSH:
		b->stats.flushes++;
		return fdatasync(b->fd) < 0 ? VBLK_S_IOERR : VBLK_S_OK;
	case VBLK_T_GET_ID: {
		uint32_t left = VBLK_ID_BYTES;
		const char *src = b->id;

		for (unsigned i = 0; i < ndata && left; i++) {
			uint32_t k = data[i].len < left ? data[i].len : left;

			if (!data[i].write)
				return VBLK_S_IOERR;
			if (k && ioregion_mem_write(b->mem, data[i].gpa, src, k) < 0)
				return VBLK_S_IOERR;
			src += k;
			left -= k;
			*written += k;
		}
		b->stats.get_ids++;
		return VBLK_S_OK;
	}
	}
	return VBLK_S_UNSUPP;
}

void
vblk_process(struct vblk *b)
{
	struct ioregion_virtq *vq = ioregion_virtio_mmio_queue(b->vm, 0);
	struct ioregion_virtq_seg segs[VBLK_CHAIN_MAX];
	uint16_t head;
	int n, pushed = 0;

	while ((n = ioregion_virtq_pop(vq, segs, VBLK_CHAIN_MAX, &head)) > 0) {
		const struct ioregion_virtq_seg *st = &segs[n - 1];
		uint32_t written = 0;
		uint8_t status;

		if (n < 2 || !st->write || !st->len) {
			/* nowhere to put a status: give the chain back */
			b->stats.bad_requests++;
		} else {
			status = serve(b, segs, (unsigned)n, &written);
			if (status == VBLK_S_IOERR)
				b->stats.ioerr++;
			else if (status == VBLK_S_UNSUPP)
				b->stats.unsupp++;
			if (ioregion_mem_write(b->mem, st->gpa + st->len - 1,
					       &status, 1) == 0)
				written++;
		}
		if (ioregion_virtq_push(vq, head, written) < 0)
			break;
		pushed++;
	}
	if (n < 0)
		b->stats.stopped++;
	if (pushed)
		ioregion_virtq_notify(vq);
}

/* The regions exist before the transport (which needs the session's
 * memory and line): forward to it once it is there. */
static int
window_read(struct ioregion_region *region, uint64_t offset, unsigned size,
	    uint64_t *val)
{
	struct vblk_window *w = ioregion_region_get_userdata(region);

	return w->b->vm ? ioregion_virtio_mmio_read(w->b->vm, w->offset + offset,
						    size, val) : -ENODEV;
}

static int
window_write(struct ioregion_region *region, uint64_t offset, unsigned size,
	     uint64_t val)
{
	struct vblk_window *w = ioregion_region_get_userdata(region);

	return w->b->vm ? ioregion_virtio_mmio_write(w->b->vm, w->offset + offset,
						     size, val) : -ENODEV;
}

static const struct ioregion_region_ops window_ops = {
	.read = window_read,
	.write = window_write,
};

int
vblk_regions(struct vblk *b, uint64_t base, struct ioregion_region_config *cfg)
{
	struct ioregion_virtio_mmio_range r[IOREGION_VIRTIO_MMIO_NRANGES];
	int n;

	if (!b || !cfg)
		return -EINVAL;
	n = ioregion_virtio_mmio_ranges(VBLK_WINDOW, r);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		b->win[i] = (struct vblk_window){ .b = b, .offset = r[i].offset };
		cfg[i] = (struct ioregion_region_config){
			.addr = base + r[i].offset,
			.size = r[i].size,
			.flags = r[i].flags,
			.ops = &window_ops,
			.userdata = &b->win[i],
		};
	}
	return n;
}

void
vblk_close(struct vblk *b)
{
	ioregion_virtio_mmio_destroy(b->vm);
	b->vm = NULL;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
