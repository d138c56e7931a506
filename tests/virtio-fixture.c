/* SPDX-License-Identifier: MIT */
/* The virtio fixture: see virtio-fixture.h. */
#include "test-common.h"
#include "virtio-fixture.h"

#include "ioregion/wire.h"

#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static int
cfg_read(struct ioregion_virtio_mmio *vm, uint32_t off, unsigned size,
	 uint64_t *val)
{
	struct vf *f = ioregion_virtio_mmio_get_userdata(vm);

	*val = 0;
	memcpy(val, f->config + off, size);
	return 0;
}

static int
cfg_write(struct ioregion_virtio_mmio *vm, uint32_t off, unsigned size,
	  uint64_t val)
{
	struct vf *f = ioregion_virtio_mmio_get_userdata(vm);

	if (off == 0)
		return -EPERM;		/* a read-only field */
	memcpy(f->config + off, &val, size);
	return 0;
}

static void
notify(struct ioregion_virtio_mmio *vm, unsigned queue)
{
	struct vf *f = ioregion_virtio_mmio_get_userdata(vm);

	f->notified++;
	f->last_queue = queue;
}

static void
reset(struct ioregion_virtio_mmio *vm)
{
	struct vf *f = ioregion_virtio_mmio_get_userdata(vm);

	f->resets++;
}

static const struct ioregion_virtio_mmio_ops vf_ops = {
	.config_read = cfg_read,
	.config_write = cfg_write,
	.notify = notify,
	.reset = reset,
};

void
vf_setup_env(struct vf *f)
{
	struct ioregion_mem_slot rw = { .gpa = VF_RAM_GPA, .size = VF_RAM_SIZE };
	struct ioregion_mem_slot ro = { .gpa = VF_RO_GPA, .size = VF_RO_SIZE,
		.offset = VF_RAM_SIZE, .flags = IOREGION_MEM_F_READONLY };

	memset(f, 0, sizeof(*f));
	f->features = VF_FEATURES;
	f->queue_max = VF_QSIZE;
	for (unsigned i = 0; i < sizeof(f->config); i++)
		f->config[i] = (uint8_t)(0xa0 + i);
	f->fd = memfd_create("virtio-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ior_assert_int_ge(f->fd, 0);
	ior_assert_int_eq(ftruncate(f->fd, VF_RAM_SIZE + VF_RO_SIZE), 0);
	ior_assert_int_eq(fcntl(f->fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	f->ram = mmap(NULL, VF_RAM_SIZE + VF_RO_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, f->fd, 0);
	ior_assert(f->ram != MAP_FAILED);
	ior_assert_int_eq(ioregion_mem_new(&f->mem), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(f->mem, &rw, f->fd), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(f->mem, &ro, f->fd), 0);
	f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ior_assert_int_ge(f->efd, 0);
	ior_assert_int_eq(ioregion_ctx_new(NULL, &f->ctx), 0);
	ior_assert_int_eq(ioregion_irq_new(f->ctx, f->efd, -1, &f->irq), 0);
	f->peer = -1;
}

void
vf_setup(struct vf *f, uint32_t nqueues)
{
	struct ioregion_virtio_mmio_config cfg = {
		.device_id = 2, .vendor_id = 0x554d4551, .features = VF_FEATURES,
		.nqueues = nqueues, .queue_max = VF_QSIZE,
		.config_size = sizeof(f->config), .ops = &vf_ops, .userdata = f,
	};

	vf_setup_env(f);
	ior_assert_int_eq(ioregion_virtio_mmio_new(&cfg, f->mem, f->irq, &f->vm), 0);
}

void
vf_teardown(struct vf *f)
{
	ioregion_channel_destroy(f->ch);
	if (f->peer >= 0)
		close(f->peer);
	ioregion_virtio_mmio_destroy(f->vm);
	ioregion_mem_unref(f->mem);
	ioregion_ctx_unref(f->ctx);
	close(f->efd);
	munmap(f->ram, VF_RAM_SIZE + VF_RO_SIZE);
	close(f->fd);
}

uint32_t
vf_rd(struct vf *f, uint64_t off)
{
	uint64_t v = 0;

	ior_assert_int_eq(ioregion_virtio_mmio_read(f->vm, off, 4, &v), 0);
	return (uint32_t)v;
}

void
vf_wr(struct vf *f, uint64_t off, uint32_t val)
{
	ior_assert_int_eq(ioregion_virtio_mmio_write(f->vm, off, 4, val), 0);
}

void *
vf_ptr(struct vf *f, uint64_t gpa)
{
	return f->ram + (gpa - VF_RAM_GPA);
}

void
vf_queue(struct vf *f, unsigned q, uint32_t num, uint64_t desc,
	 uint64_t avail, uint64_t used)
{
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_SEL, q);
	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_QUEUE_READY), 0);
	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_QUEUE_NUM_MAX), f->queue_max);
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_NUM, num);
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	vf_wr(f, IOREGION_VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Linux adds one status bit per write: read, OR, write back. */
static void
add_status(struct vf *f, uint32_t bit)
{
	vf_wr(f, IOREGION_VIRTIO_MMIO_STATUS,
	      vf_rd(f, IOREGION_VIRTIO_MMIO_STATUS) | bit);
}

void
vf_probe(struct vf *f)
{
	uint64_t features;

	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_MAGIC_VALUE),
			   IOREGION_VIRTIO_MMIO_MAGIC);
	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_VERSION), 2);
	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_DEVICE_ID), 2);
	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_VENDOR_ID), 0x554d4551);
	vf_wr(f, IOREGION_VIRTIO_MMIO_STATUS, 0);
	add_status(f, IOREGION_VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(f, IOREGION_VIRTIO_STATUS_DRIVER);
	vf_wr(f, IOREGION_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)vf_rd(f, IOREGION_VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vf_wr(f, IOREGION_VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features |= vf_rd(f, IOREGION_VIRTIO_MMIO_DEVICE_FEATURES);
	ior_assert(features == f->features);
	vf_wr(f, IOREGION_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vf_wr(f, IOREGION_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vf_wr(f, IOREGION_VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vf_wr(f, IOREGION_VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	add_status(f, IOREGION_VIRTIO_STATUS_FEATURES_OK);
	ior_assert(vf_rd(f, IOREGION_VIRTIO_MMIO_STATUS) &
		   IOREGION_VIRTIO_STATUS_FEATURES_OK);
	vf_queue(f, 0, VF_QSIZE, VF_DESC, VF_AVAIL, VF_USED);
	add_status(f, IOREGION_VIRTIO_STATUS_DRIVER_OK);
	ior_assert_uint_eq(vf_rd(f, IOREGION_VIRTIO_MMIO_STATUS), 0x0f);
	f->avail_idx = 0;
}

void
vf_descs(struct vf *f, unsigned first, const struct vf_desc *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = vf_ptr(f, VF_DESC + 16 * (uint64_t)(first + i));

		memcpy(p, &d[i].addr, 8);
		memcpy(p + 8, &d[i].len, 4);
		memcpy(p + 12, &d[i].flags, 2);
		memcpy(p + 14, &d[i].next, 2);
	}
}

void
vf_avail(struct vf *f, uint16_t head)
{
	uint16_t *ring = vf_ptr(f, VF_AVAIL + 4);

	ring[f->avail_idx % VF_QSIZE] = head;
	f->avail_idx++;
	__atomic_store_n((uint16_t *)vf_ptr(f, VF_AVAIL + 2), f->avail_idx,
			 __ATOMIC_RELEASE);
}

uint64_t
vf_edges(struct vf *f)
{
	uint64_t n = 0;

	if (read(f->efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

struct ioregion_virtio_mmio_stats
vf_stats(struct vf *f)
{
	struct ioregion_virtio_mmio_stats st;

	ior_assert_int_eq(ioregion_virtio_mmio_get_stats(f->vm, &st), 0);
	return st;
}

void
vf_channel(struct vf *f)
{
	ior_assert_int_eq(ioregion_channel_new(f->ctx, IOREGION_WIRE_V3, &f->ch), 0);
	f->peer = ioregion_channel_take_peer_fd(f->ch);
	ior_assert_int_ge(f->peer, 0);
}

void
vf_ranges(struct vf *f,
	  struct ioregion_virtio_mmio_range r[IOREGION_VIRTIO_MMIO_NRANGES],
	  struct ioregion_region *reg[IOREGION_VIRTIO_MMIO_NRANGES])
{
	ior_assert_int_eq(ioregion_virtio_mmio_ranges(0x200, r), 3);
	for (unsigned i = 0; i < 3; i++) {
		struct ioregion_region_config c = {
			.addr = 0xd0000000 + r[i].offset, .size = r[i].size,
			.flags = r[i].flags, .ops = r[i].ops, .userdata = f->vm,
		};

		ior_assert_int_eq(ioregion_region_new(f->ch, &c, &reg[i]), 0);
	}
}

int
vf_send(struct vf *f, struct ioregion_region *r, bool wr, bool posted,
	uint64_t off, uint32_t val)
{
	struct ioregion_desc d;
	struct ioregion_wire_cmd c = {
		.cmd = wr ? IOREGION_CMD_WRITE : IOREGION_CMD_READ,
		.size = 4, .resp = !wr || !posted, .offset = off, .data = val,
	};
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];

	if (ioregion_region_get_desc(r, &d) < 0)
		return -1;
	c.user_data = d.user_data;
	if (ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf) < 0 ||
	    write(f->peer, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -1;
	return 0;
}

int
vf_answer(struct vf *f, uint64_t *val)
{
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];

	for (int i = 0; i < 4; i++)
		ioregion_ctx_dispatch(f->ctx);
	if (!ior_readable(f->peer, 20))
		return 0;
	if (read(f->peer, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -1;
	*val = ioregion_wire_decode_resp(buf);
	return 1;
}
