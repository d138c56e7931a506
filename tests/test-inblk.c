/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's in-VMM virtio-blk (examples/vmm/inblk.c) without a VM: the
 * accesses a vCPU's KVM_EXIT_MMIO would bring, on a memfd guest RAM and an
 * eventfd line: Linux's probe, a queue, a read request served before the
 * QueueNotify access returns, its interrupt and InterruptStatus; addresses
 * outside the window are not the device's; a refused register reads
 * all-ones.
 */
#include "test-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inblk.h"

#define RAM 0x100000ull
#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define HDR 0x20000ull
#define DATA 0x21000ull
#define STATUS 0x22000ull
#define QSIZE 8u
#define SECTORS 16u
#define REG(x) (INBLK_BASE + IOREGION_VIRTIO_MMIO_##x)

struct t {
	int memfd, efd;
	uint8_t *ram;
	char path[64];
	struct inblk ib;
};

static uint64_t
rd(struct t *t, uint64_t addr, unsigned len)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	ior_assert(inblk_mmio(&t->ib, addr, false, len, d));
	memcpy(&v, d, len);
	return v;
}

static void
wr(struct t *t, uint64_t addr, uint32_t val)
{
	uint8_t d[8] = { 0 };

	memcpy(d, &val, 4);
	ior_assert(inblk_mmio(&t->ib, addr, true, 4, d));
}

static void
t_setup(struct t *t)
{
	struct ioregion_mem_slot slot = { .gpa = 0, .size = RAM };
	uint8_t img[SECTORS * VBLK_SECTOR];
	int fd;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 13 + 1);
	snprintf(t->path, sizeof(t->path), "/tmp/test-inblk-XXXXXX");
	fd = mkstemp(t->path);
	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(write(fd, img, sizeof(img)), (int)sizeof(img));
	close(fd);
	t->memfd = memfd_create("inblk-ram", MFD_CLOEXEC);
	ior_assert_int_ge(t->memfd, 0);
	ior_assert_int_eq(ftruncate(t->memfd, RAM), 0);
	t->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, t->memfd, 0);
	ior_assert(t->ram != MAP_FAILED);
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ior_assert_int_ge(t->efd, 0);
	ior_assert_int_eq(inblk_open(&t->ib, t->path, INBLK_BASE, t->memfd,
				     &slot, t->efd), 0);
}

static void
t_teardown(struct t *t)
{
	inblk_close(&t->ib);
	munmap(t->ram, RAM);
	close(t->memfd);
	close(t->efd);
	unlink(t->path);
}

/* Linux's virtio_mmio probe, the features as offered, queue 0. */
static void
probe(struct t *t)
{
	uint32_t f0, f1;

	ior_assert_uint_eq(rd(t, REG(MAGIC_VALUE), 4), IOREGION_VIRTIO_MMIO_MAGIC);
	ior_assert_uint_eq(rd(t, REG(VERSION), 4), 2);
	ior_assert_uint_eq(rd(t, REG(DEVICE_ID), 4), VBLK_DEVICE_ID);
	wr(t, REG(STATUS), 0);
	wr(t, REG(STATUS), 1);
	wr(t, REG(STATUS), 3);
	wr(t, REG(DEVICE_FEATURES_SEL), 1);
	f1 = (uint32_t)rd(t, REG(DEVICE_FEATURES), 4);
	wr(t, REG(DEVICE_FEATURES_SEL), 0);
	f0 = (uint32_t)rd(t, REG(DEVICE_FEATURES), 4);
	wr(t, REG(DRIVER_FEATURES_SEL), 1);
	wr(t, REG(DRIVER_FEATURES), f1);
	wr(t, REG(DRIVER_FEATURES_SEL), 0);
	wr(t, REG(DRIVER_FEATURES), f0);
	wr(t, REG(STATUS), 0xb);
	ior_assert_uint_eq(rd(t, REG(STATUS), 4), 0xb);
	wr(t, REG(QUEUE_SEL), 0);
	ior_assert_uint_eq(rd(t, REG(QUEUE_NUM_MAX), 4), VBLK_QUEUE_MAX);
	wr(t, REG(QUEUE_NUM), QSIZE);
	wr(t, REG(QUEUE_DESC_LOW), DESC);
	wr(t, REG(QUEUE_DRIVER_LOW), AVAIL);
	wr(t, REG(QUEUE_DEVICE_LOW), USED);
	wr(t, REG(QUEUE_READY), 1);
	wr(t, REG(STATUS), 0xf);
	ior_assert_uint_eq(rd(t, REG(STATUS), 4), 0xf);
}

static void
desc(struct t *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
     uint16_t next)
{
	uint8_t *p = t->ram + DESC + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

START_TEST(test_inblk_probe_read_request_interrupt)
{
	struct t t;
	uint32_t type = VBLK_T_IN;
	uint64_t sector = 3, edges = 0;
	uint16_t one = 1, used_idx;
	uint8_t want[2 * VBLK_SECTOR];

	t_setup(&t);
	ior_assert_uint_eq(rd(&t, REG(CONFIG), 8), SECTORS);
	probe(&t);
	memcpy(t.ram + HDR, &type, 4);
	memcpy(t.ram + HDR + 8, &sector, 8);
	t.ram[STATUS] = 0xee;
	desc(&t, 0, HDR, 16, IOREGION_VIRTQ_DESC_F_NEXT, 1);
	desc(&t, 1, DATA, sizeof(want),
	     IOREGION_VIRTQ_DESC_F_NEXT | IOREGION_VIRTQ_DESC_F_WRITE, 2);
	desc(&t, 2, STATUS, 1, IOREGION_VIRTQ_DESC_F_WRITE, 0);
	memset(t.ram + AVAIL + 4, 0, 2);		/* ring[0] = head 0 */
	memcpy(t.ram + AVAIL + 2, &one, 2);		/* avail->idx = 1 */
	wr(&t, REG(QUEUE_NOTIFY), 0);
	/* served before the notify returned */
	memcpy(&used_idx, t.ram + USED + 2, 2);
	ior_assert_uint_eq(used_idx, 1);
	ior_assert_uint_eq(t.ram[STATUS], VBLK_S_OK);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)((3 * VBLK_SECTOR + i) * 13 + 1);
	ior_assert(memcmp(t.ram + DATA, want, sizeof(want)) == 0);
	ior_assert_int_eq(read(t.efd, &edges, 8), 8);
	ior_assert_uint_eq(edges, 1);
	ior_assert_uint_eq(rd(&t, REG(INTERRUPT_STATUS), 4), IOREGION_VIRTIO_INT_VRING);
	wr(&t, REG(INTERRUPT_ACK), IOREGION_VIRTIO_INT_VRING);
	ior_assert_uint_eq(rd(&t, REG(INTERRUPT_STATUS), 4), 0);
	ior_assert_uint_eq(t.ib.b.stats.reads, 1);
	ior_assert_uint_eq(t.ib.errors, 0);
	t_teardown(&t);
}
END_TEST

START_TEST(test_inblk_outside_window_and_refused_registers)
{
	struct t t;
	uint8_t d[8] = { 0 };

	t_setup(&t);
	ior_assert(!inblk_mmio(&t.ib, INBLK_BASE - 4, false, 4, d));
	ior_assert(!inblk_mmio(&t.ib, INBLK_BASE + VBLK_WINDOW, false, 4, d));
	ior_assert(!inblk_mmio(&t.ib, 0, true, 4, d));
	ior_assert_uint_eq(t.ib.exits, 0);
	/* a write-only register, a bad width: all-ones, counted */
	ior_assert_uint_eq(rd(&t, REG(QUEUE_NOTIFY), 4), 0xffffffffu);
	ior_assert_uint_eq(rd(&t, REG(MAGIC_VALUE), 2), 0xffff);
	ior_assert_uint_eq(t.ib.errors, 2);
	ior_assert_uint_eq(t.ib.exits, 2);
	t_teardown(&t);
}
END_TEST

START_TEST(test_inblk_open_refuses_a_missing_image_and_undoes)
{
	struct inblk ib;
	struct ioregion_mem_slot slot = { .gpa = 0, .size = 0x1000 };
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int memfd = memfd_create("inblk-ram", MFD_CLOEXEC);

	ior_assert_int_ge(efd, 0);
	ior_assert_int_ge(memfd, 0);
	ior_assert_int_eq(ftruncate(memfd, 0x1000), 0);
	ior_assert_int_eq(inblk_open(&ib, "/nonexistent/disk.img", INBLK_BASE,
				     memfd, &slot, efd), -ENOENT);
	ior_assert_int_eq(inblk_open(&ib, "/dev/null", INBLK_BASE, memfd,
				     &slot, efd), -EINVAL);
	close(efd);
	close(memfd);
}
END_TEST

static Suite *
inblk_suite(void)
{
	Suite *s = suite_create("inblk");

	ior_add_test(s, test_inblk_probe_read_request_interrupt);
	ior_add_test(s, test_inblk_outside_window_and_refused_registers);
	ior_add_test(s, test_inblk_open_refuses_a_missing_image_and_undoes);
	return s;
}

IOR_TEST_MAIN(inblk_suite)
