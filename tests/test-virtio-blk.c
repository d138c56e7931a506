/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk example's model (examples/virtio-blk-model.c) on the
 * virtio fixture: a memfd guest memory, a real eventfd line, a disk image
 * in a temporary file, and the driver played by hand through the
 * transport's registers: GET_ID, a write of two sectors and the read back,
 * a flush, requests past the end (IOERR), an unknown type (UNSUPP), a data
 * buffer in the wrong direction, a read-only disk, and the image's bytes
 * on disk after the write.
 */
#include "test-common.h"
#include "virtio-fixture.h"
#include "virtio-blk-model.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REG(x) IOREGION_VIRTIO_MMIO_##x
#define NEXT IOREGION_VIRTQ_DESC_F_NEXT
#define WRITE IOREGION_VIRTQ_DESC_F_WRITE

#define SECTORS 64u
#define HDR VF_BUF
#define STATUS (VF_BUF + 0x100)
#define DATA (VF_BUF + 0x1000)
#define DATA2 (VF_BUF + 0x2000)

struct t {
	struct vf f;
	struct vblk b;
	char path[64];
};

/* An image of SECTORS sectors, byte i = i * 7, and the device on it. */
static void
t_setup(struct t *t, bool readonly)
{
	uint8_t buf[SECTORS * VBLK_SECTOR];
	int fd;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	snprintf(t->path, sizeof(t->path), "/tmp/test-virtio-blk-XXXXXX");
	fd = mkstemp(t->path);
	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(write(fd, buf, sizeof(buf)), (int)sizeof(buf));
	close(fd);

	vf_setup_env(&t->f);
	ior_assert_int_eq(vblk_open(&t->b, t->path, "test-disk-id", readonly), 0);
	ior_assert(t->b.capacity == SECTORS);
	ior_assert_int_eq(vblk_attach(&t->b, t->f.mem, t->f.irq, NULL, 0), 0);
	t->f.vm = t->b.vm;
	t->f.features = vblk_features(&t->b);
	t->f.queue_max = VBLK_QUEUE_MAX;
	vf_probe(&t->f);
}

static void
t_teardown(struct t *t)
{
	vblk_close(&t->b);
	t->f.vm = NULL;
	vf_teardown(&t->f);
	unlink(t->path);
}

/*
 * One request: header, one data buffer (none if @len is 0; device-writable
 * if @dwrite), the status byte; QueueNotify. Returns the status byte and
 * in *@used the length the device reported.
 */
static void
prepare(struct t *t, uint32_t type, uint64_t sector, uint64_t data,
	uint32_t len, bool dwrite)
{
	struct vf_desc d[3];
	uint8_t hdr[16] = { 0 };
	unsigned n = 0;

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(vf_ptr(&t->f, HDR), hdr, sizeof(hdr));
	*(uint8_t *)vf_ptr(&t->f, STATUS) = 0xee;
	d[n++] = (struct vf_desc){ HDR, 16, NEXT, 1 };
	if (len)
		d[n++] = (struct vf_desc){ data, len,
			(uint16_t)(NEXT | (dwrite ? WRITE : 0)), 2 };
	d[n++] = (struct vf_desc){ STATUS, 1, WRITE, 0 };
	vf_descs(&t->f, 0, d, n);
	vf_avail(&t->f, 0);
}

/* The used element of request @p idx: its length; the status byte. */
static int
result(struct t *t, uint16_t idx, uint32_t *used)
{
	uint8_t *uel;

	ior_assert_uint_eq(*(uint16_t *)vf_ptr(&t->f, VF_USED + 2),
			   (uint16_t)(idx + 1));
	uel = vf_ptr(&t->f, VF_USED + 4 + 8 * (uint64_t)(idx % VF_QSIZE));
	ior_assert_uint_eq(*(uint32_t *)uel, 0);		/* the head */
	memcpy(used, uel + 4, 4);
	return *(uint8_t *)vf_ptr(&t->f, STATUS);
}

static int
submit(struct t *t, uint32_t type, uint64_t sector, uint64_t data,
       uint32_t len, bool dwrite, uint32_t *used)
{
	uint16_t idx = t->f.avail_idx;

	prepare(t, type, sector, data, len, dwrite);
	vf_wr(&t->f, REG(QUEUE_NOTIFY), 0);
	return result(t, idx, used);
}

START_TEST(test_vblk_get_id_write_read_flush_and_errors)
{
	struct t t;
	uint32_t used;
	uint64_t cap = 0;
	uint8_t pattern[2 * VBLK_SECTOR], disk[2 * VBLK_SECTOR];
	char id[VBLK_ID_BYTES] = "test-disk-id";
	int fd;

	t_setup(&t, false);
	ior_assert(t.f.features & VBLK_F_FLUSH);
	ior_assert(!(t.f.features & VBLK_F_RO));
	ior_assert_int_eq(ioregion_virtio_mmio_read(t.f.vm, REG(CONFIG) +
		VBLK_CFG_CAPACITY, 8, &cap), 0);
	ior_assert(cap == SECTORS);

	/* GET_ID: 20 bytes, NUL-padded */
	memset(vf_ptr(&t.f, DATA), 0xff, 32);
	ior_assert_int_eq(submit(&t, VBLK_T_GET_ID, 0, DATA, 20, true, &used),
			  VBLK_S_OK);
	ior_assert_uint_eq(used, 21);
	ior_assert(memcmp(vf_ptr(&t.f, DATA), id, sizeof(id)) == 0);
	ior_assert_uint_eq(*(uint8_t *)vf_ptr(&t.f, DATA + 20), 0xff);

	/* a write of two sectors at sector 3, then the read back */
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(0x5a ^ i);
	memcpy(vf_ptr(&t.f, DATA), pattern, sizeof(pattern));
	ior_assert_int_eq(submit(&t, VBLK_T_OUT, 3, DATA, sizeof(pattern),
				 false, &used), VBLK_S_OK);
	ior_assert_uint_eq(used, 1);
	memset(vf_ptr(&t.f, DATA2), 0, sizeof(pattern));
	ior_assert_int_eq(submit(&t, VBLK_T_IN, 3, DATA2, sizeof(pattern),
				 true, &used), VBLK_S_OK);
	ior_assert_uint_eq(used, sizeof(pattern) + 1);
	ior_assert(memcmp(vf_ptr(&t.f, DATA2), pattern, sizeof(pattern)) == 0);
	ior_assert_int_eq(submit(&t, VBLK_T_FLUSH, 0, 0, 0, false, &used),
			  VBLK_S_OK);
	ior_assert_uint_eq(used, 1);

	/* the image on disk: the two sectors written, their neighbours not */
	fd = open(t.path, O_RDONLY);
	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(pread(fd, disk, sizeof(disk), 3 * VBLK_SECTOR),
			  (int)sizeof(disk));
	ior_assert(memcmp(disk, pattern, sizeof(disk)) == 0);
	ior_assert_int_eq(pread(fd, disk, 1, 3 * VBLK_SECTOR - 1), 1);
	ior_assert_uint_eq(disk[0], (uint8_t)((3 * VBLK_SECTOR - 1) * 7));
	ior_assert_int_eq(pread(fd, disk, 1, 5 * VBLK_SECTOR), 1);
	ior_assert_uint_eq(disk[0], (uint8_t)(5 * VBLK_SECTOR * 7));
	close(fd);

	/* past the end, straddling it, a sector that overflows, not whole
	 * sectors, a read into a device-readable buffer */
	ior_assert_int_eq(submit(&t, VBLK_T_IN, SECTORS, DATA, VBLK_SECTOR,
				 true, &used), VBLK_S_IOERR);
	ior_assert_uint_eq(used, 1);
	ior_assert_int_eq(submit(&t, VBLK_T_IN, SECTORS - 1, DATA,
				 2 * VBLK_SECTOR, true, &used), VBLK_S_IOERR);
	ior_assert_int_eq(submit(&t, VBLK_T_OUT, UINT64_MAX, DATA, VBLK_SECTOR,
				 false, &used), VBLK_S_IOERR);
	ior_assert_int_eq(submit(&t, VBLK_T_IN, 0, DATA, 100, true, &used),
			  VBLK_S_IOERR);
	ior_assert_int_eq(submit(&t, VBLK_T_IN, 0, DATA, VBLK_SECTOR, false,
				 &used), VBLK_S_IOERR);
	/* the last sector is fine */
	ior_assert_int_eq(submit(&t, VBLK_T_IN, SECTORS - 1, DATA, VBLK_SECTOR,
				 true, &used), VBLK_S_OK);
	/* an unknown type */
	ior_assert_int_eq(submit(&t, 99, 0, 0, 0, false, &used), VBLK_S_UNSUPP);
	ior_assert_uint_eq(used, 1);

	ior_assert(t.b.stats.reads == 2 && t.b.stats.writes == 1);
	ior_assert(t.b.stats.flushes == 1 && t.b.stats.get_ids == 1);
	ior_assert(t.b.stats.ioerr == 5 && t.b.stats.unsupp == 1);
	ior_assert_uint_eq(vf_stats(&t.f).bad_chains, 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0x0f);
	/* a used-buffer interrupt, on the real line */
	ior_assert_uint_eq(vf_rd(&t.f, REG(INTERRUPT_STATUS)),
			   IOREGION_VIRTIO_INT_VRING);
	ck_assert_uint_ge(vf_edges(&t.f), 1);
	t_teardown(&t);
}
END_TEST

START_TEST(test_vblk_read_only_disk_refuses_writes)
{
	struct t t;
	uint32_t used;
	uint8_t sector[VBLK_SECTOR];
	int fd;

	t_setup(&t, true);
	ior_assert(t.f.features & VBLK_F_RO);
	memset(vf_ptr(&t.f, DATA), 0x11, VBLK_SECTOR);
	ior_assert_int_eq(submit(&t, VBLK_T_OUT, 0, DATA, VBLK_SECTOR, false,
				 &used), VBLK_S_IOERR);
	ior_assert_int_eq(submit(&t, VBLK_T_IN, 0, DATA, VBLK_SECTOR, true,
				 &used), VBLK_S_OK);
	ior_assert_uint_eq(*(uint8_t *)vf_ptr(&t.f, DATA + 1), 7);
	fd = open(t.path, O_RDONLY);
	ior_assert_int_eq(pread(fd, sector, sizeof(sector), 0), VBLK_SECTOR);
	close(fd);
	ior_assert_uint_eq(sector[1], 7);
	t_teardown(&t);
}
END_TEST

START_TEST(test_vblk_malformed_chain_needs_reset_no_status_chain_given_back)
{
	struct t t;
	const struct vf_desc outside = { 0x900000, 512, WRITE, 0 };
	const struct vf_desc lone = { STATUS, 1, WRITE, 0 };

	t_setup(&t, false);
	/* a lone descriptor: no header, given back with nothing written */
	vf_descs(&t.f, 0, &lone, 1);
	vf_avail(&t.f, 0);
	vf_wr(&t.f, REG(QUEUE_NOTIFY), 0);
	ior_assert_uint_eq(*(uint16_t *)vf_ptr(&t.f, VF_USED + 2), 1);
	ior_assert(t.b.stats.bad_requests == 1);
	/* a buffer outside guest memory: the transport's, needs reset */
	vf_descs(&t.f, 0, &outside, 1);
	vf_avail(&t.f, 0);
	vf_wr(&t.f, REG(QUEUE_NOTIFY), 0);
	ior_assert(vf_rd(&t.f, REG(STATUS)) &
		   IOREGION_VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ior_assert_uint_eq(vf_stats(&t.f).bad_chains, 1);
	ior_assert(t.b.stats.stopped == 1);
	ior_assert_uint_eq(*(uint16_t *)vf_ptr(&t.f, VF_USED + 2), 1);
	t_teardown(&t);
}
END_TEST

/* The device killed with a read taken and not answered, started again on
 * its state area: that read fails (IOERR) without a reset, the next one
 * reads the disk. */
START_TEST(test_vblk_restart_on_state_answers_the_held_request_ioerr)
{
	struct t t;
	struct ioregion_virtq_seg segs[4];
	uint32_t used;
	uint16_t head;
	size_t size;
	void *area;
	const struct vf_desc d[3] = {
		{ HDR, 16, NEXT, 1 }, { DATA, VBLK_SECTOR, NEXT | WRITE, 2 },
		{ STATUS, 1, WRITE, 0 },
	};
	uint8_t hdr[16] = { VBLK_T_IN };

	t_setup(&t, false);
	size = vblk_state_size(&t.b);
	area = calloc(1, size);
	ior_assert_ptr_nonnull(area);
	/* the transport again, now on a state area, and the driver's probe */
	ioregion_virtio_mmio_destroy(t.b.vm);
	ior_assert_int_eq(vblk_attach(&t.b, t.f.mem, t.f.irq, area, size),
			  IOREGION_VIRTIO_STATE_NEW);
	t.f.vm = t.b.vm;
	vf_probe(&t.f);
	/* a read taken by the process, which dies before answering it */
	memcpy(vf_ptr(&t.f, HDR), hdr, sizeof(hdr));
	*(uint8_t *)vf_ptr(&t.f, STATUS) = 0xee;
	vf_descs(&t.f, 0, d, 3);
	vf_avail(&t.f, 0);
	ior_assert_int_eq(ioregion_virtq_pop(ioregion_virtio_mmio_queue(t.b.vm, 0),
					     segs, 4, &head), 3);
	ioregion_virtio_mmio_destroy(t.b.vm);
	memset(&t.b.stats, 0, sizeof(t.b.stats));
	ior_assert_int_eq(vblk_attach(&t.b, t.f.mem, t.f.irq, area, size),
			  IOREGION_VIRTIO_STATE_RESUMED);
	t.f.vm = t.b.vm;
	ior_assert_uint_eq(*(uint8_t *)vf_ptr(&t.f, STATUS), VBLK_S_IOERR);
	ior_assert_uint_eq(*(uint16_t *)vf_ptr(&t.f, VF_USED + 2), 1);
	ior_assert(t.b.stats.abandoned == 1 && t.b.stats.ioerr == 1);
	ior_assert(t.b.stats.reads == 0);
	ior_assert_uint_eq(vf_rd(&t.f, REG(STATUS)), 0x0f);
	/* the next read: the image's bytes */
	ior_assert_int_eq(submit(&t, VBLK_T_IN, 1, DATA, VBLK_SECTOR, true,
				 &used), VBLK_S_OK);
	ior_assert_uint_eq(*(uint8_t *)vf_ptr(&t.f, DATA + 1),
			   (uint8_t)((VBLK_SECTOR + 1) * 7));
	t_teardown(&t);
	free(area);
}
END_TEST

/*
 * The device's window as its process registers it (vblk_regions(): three
 * regions on one channel, QueueNotify posted), the test playing the
 * kernel: before the transport exists reads answer all-ones; then a posted
 * QueueNotify gets no answer and its request is served before the
 * InterruptStatus read sent right behind it in the same batch is answered.
 */
START_TEST(test_vblk_window_posted_notify_served_before_a_later_read)
{
	struct ioregion_region_config cfg[IOREGION_VIRTIO_MMIO_NRANGES];
	struct ioregion_region *reg[IOREGION_VIRTIO_MMIO_NRANGES];
	struct ioregion_region_stats st;
	struct ioregion_virtio_mmio *vm;
	struct t t;
	uint32_t used;
	uint64_t v = 0;
	char id[VBLK_ID_BYTES] = "test-disk-id";

	t_setup(&t, false);
	vf_channel(&t.f);
	ior_assert_errno(vblk_regions(&t.b, 0xd0002000, NULL), -EINVAL);
	ior_assert_int_eq(vblk_regions(&t.b, 0xd0002000, cfg),
			  IOREGION_VIRTIO_MMIO_NRANGES);
	ior_assert(cfg[0].addr == 0xd0002000 && cfg[0].size == 0x50);
	ior_assert(cfg[1].addr == 0xd0002050 && cfg[1].size == 4 &&
		   cfg[1].flags == IOREGION_F_POSTED_WRITES);
	ior_assert(cfg[2].addr == 0xd0002054 && cfg[2].size == 0x200 - 0x54);
	for (unsigned i = 0; i < IOREGION_VIRTIO_MMIO_NRANGES; i++)
		ior_assert_int_eq(ioregion_region_new(t.f.ch, &cfg[i], &reg[i]), 0);

	vm = t.b.vm;		/* no transport yet: all-ones */
	t.b.vm = NULL;
	ior_assert_int_eq(vf_send(&t.f, reg[0], false, false, REG(MAGIC_VALUE), 0), 0);
	ior_assert_int_eq(vf_answer(&t.f, &v), 1);
	ior_assert_uint_eq((uint32_t)v, 0xffffffffu);
	t.b.vm = vm;
	ior_assert_int_eq(vf_send(&t.f, reg[0], false, false, REG(MAGIC_VALUE), 0), 0);
	ior_assert_int_eq(vf_answer(&t.f, &v), 1);
	ior_assert_uint_eq(v, IOREGION_VIRTIO_MMIO_MAGIC);
	ior_assert_int_eq(vf_send(&t.f, reg[2], false, false, REG(CONFIG) - 0x54, 0), 0);
	ior_assert_int_eq(vf_answer(&t.f, &v), 1);
	ior_assert_uint_eq(v, SECTORS);

	memset(vf_ptr(&t.f, DATA), 0xff, 32);
	prepare(&t, VBLK_T_GET_ID, 0, DATA, 20, true);
	ior_assert_int_eq(vf_send(&t.f, reg[1], true, true, 0, 0), 0);
	ior_assert_int_eq(vf_send(&t.f, reg[2], false, false, REG(INTERRUPT_STATUS) - 0x54, 0), 0);
	ior_assert_int_eq(vf_answer(&t.f, &v), 1);
	ior_assert_uint_eq(v, IOREGION_VIRTIO_INT_VRING);
	ior_assert_int_eq(vf_answer(&t.f, &v), 0);	/* nothing for the notify */
	ior_assert_int_eq(result(&t, 0, &used), VBLK_S_OK);
	ior_assert_uint_eq(used, 21);
	ior_assert(memcmp(vf_ptr(&t.f, DATA), id, sizeof(id)) == 0);
	ior_assert_uint_eq(vf_edges(&t.f), 1);
	ior_assert_int_eq(ioregion_region_get_stats(reg[1], &st), 0);
	ior_assert_uint_eq(st.posted_writes, 1);
	ior_assert_uint_eq(st.writes, 0);
	ior_assert_uint_eq(st.errors, 0);
	ior_assert_uint_eq(t.b.stats.get_ids, 1);
	for (unsigned i = 0; i < IOREGION_VIRTIO_MMIO_NRANGES; i++)
		ioregion_region_destroy(reg[i]);
	t_teardown(&t);
}
END_TEST

START_TEST(test_vblk_open_refuses_partial_sectors_and_missing_files)
{
	struct vblk b;
	char path[] = "/tmp/test-virtio-blk-XXXXXX";
	int fd = mkstemp(path);

	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(write(fd, "abc", 3), 3);
	close(fd);
	ior_assert_errno(vblk_open(&b, path, NULL, false), -EINVAL);
	ior_assert_int_eq(b.fd, -1);
	unlink(path);
	ior_assert_errno(vblk_open(&b, path, NULL, false), -ENOENT);
	ior_assert_errno(vblk_open(&b, "/tmp", NULL, true), -EINVAL);
}
END_TEST

static Suite *
vblk_suite(void)
{
	Suite *s = suite_create("virtio-blk");

	ior_add_test(s, test_vblk_get_id_write_read_flush_and_errors);
	ior_add_test(s, test_vblk_read_only_disk_refuses_writes);
	ior_add_test(s, test_vblk_malformed_chain_needs_reset_no_status_chain_given_back);
	ior_add_test(s, test_vblk_restart_on_state_answers_the_held_request_ioerr);
	ior_add_test(s, test_vblk_open_refuses_partial_sectors_and_missing_files);
	ior_add_test(s, test_vblk_window_posted_notify_served_before_a_later_read);
	return s;
}

IOR_TEST_MAIN(vblk_suite)
