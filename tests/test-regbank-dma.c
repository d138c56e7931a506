/* SPDX-License-Identifier: MIT */
/*
 * The regbank example's DMA engine (examples/regbank-dma.c) on a real
 * memfd, without KVM: a copy larger than its bounce buffer, every bad
 * range class as an error status with nothing written (outside every
 * slot, wrapping past 2^64, spanning two slots, into a read-only slot,
 * overlapping, bad length, no memory), and the registers: GO, BUSY,
 * DONE/ERROR acknowledged by writing them, widths, the interrupt line
 * (edge: one eventfd write per completion while IE is set).
 */
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"

#include "regbank-dma.h"

#define RAM 0x30000

/* Guest RAM: [0, 64K) read-write at offset 0, [64K, 128K) read-write at
 * offset 64K (two slots back to back), [0x100000, +64K) read-only at
 * offset 128K. @p is the "VMM's" view of the whole memfd. */
struct fixture {
	int fd;
	uint8_t *p;
	struct ioregion_mem *mem;
};

static void
fixture_new(struct fixture *f)
{
	struct ioregion_mem_slot a = { .gpa = 0, .size = 0x10000 };
	struct ioregion_mem_slot b = { .gpa = 0x10000, .size = 0x10000,
		.offset = 0x10000 };
	struct ioregion_mem_slot ro = { .gpa = 0x100000, .size = 0x10000,
		.offset = 0x20000, .flags = IOREGION_MEM_F_READONLY };

	f->fd = memfd_create("dma-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ior_assert_int_ge(f->fd, 0);
	ior_assert_int_eq(ftruncate(f->fd, RAM), 0);
	f->p = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	ior_assert(f->p != MAP_FAILED);
	for (unsigned int i = 0; i < RAM; i++)
		f->p[i] = (uint8_t)(i * 7 + 3);
	ior_assert_int_eq(ioregion_mem_new(&f->mem), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(f->mem, &a, f->fd), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(f->mem, &b, f->fd), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(f->mem, &ro, f->fd), 0);
}

static void
fixture_free(struct fixture *f)
{
	ioregion_mem_unref(f->mem);
	munmap(f->p, RAM);
	close(f->fd);
}

static unsigned int
copy(struct fixture *f, uint64_t src, uint64_t dst, uint64_t len)
{
	static uint8_t bounce[REGBANK_DMA_CHUNK];

	return regbank_dma_copy(f->mem, src, dst, len, bounce, sizeof(bounce));
}

START_TEST(test_dma_copy_moves_the_bytes_in_chunks)
{
	struct fixture f;
	uint8_t want[0x2345];

	fixture_new(&f);
	memcpy(want, f.p + 0x100, sizeof(want));
	/* more than two bounce buffers, from one slot into the other, and
	 * from the read-only slot (reading it is fine) */
	ior_assert_int_eq(copy(&f, 0x100, 0x18000, sizeof(want)), 0);
	ior_assert_mem_eq(f.p + 0x18000, want, sizeof(want));
	ior_assert_int_eq(copy(&f, 0x100000, 0x4000, 0x1000), 0);
	ior_assert_mem_eq(f.p + 0x4000, f.p + 0x20000, 0x1000);
	fixture_free(&f);
}
END_TEST

START_TEST(test_dma_bad_ranges_are_error_codes_and_write_nothing)
{
	struct fixture f;
	uint8_t before[RAM];

	fixture_new(&f);
	memcpy(before, f.p, RAM);
	/* outside every slot */
	ior_assert_int_eq(copy(&f, 0x50000, 0x1000, 0x10), REGBANK_DMA_ERR_SRC);
	ior_assert_int_eq(copy(&f, 0x1000, 0x50000, 0x10), REGBANK_DMA_ERR_DST);
	ior_assert_int_eq(copy(&f, 0x1000, 0x10000000, 0x10), REGBANK_DMA_ERR_DST);
	/* half inside: a slot's end */
	ior_assert_int_eq(copy(&f, 0x1000, 0x1ff00, 0x200), REGBANK_DMA_ERR_DST);
	/* wrapping past 2^64 */
	ior_assert_int_eq(copy(&f, UINT64_MAX - 0xfff, 0x1000, 0x2000),
			  REGBANK_DMA_ERR_SRC);
	ior_assert_int_eq(copy(&f, 0x1000, UINT64_MAX - 0xf, 0x20),
			  REGBANK_DMA_ERR_DST);
	/* spanning two slots, even back to back in one fd */
	ior_assert_int_eq(copy(&f, 0xff00, 0x4000, 0x200), REGBANK_DMA_ERR_SRC);
	ior_assert_int_eq(copy(&f, 0x4000, 0xff00, 0x200), REGBANK_DMA_ERR_DST);
	/* into the read-only slot */
	ior_assert_int_eq(copy(&f, 0x1000, 0x100000, 0x10), REGBANK_DMA_ERR_RO);
	/* overlapping, either way */
	ior_assert_int_eq(copy(&f, 0x1000, 0x1800, 0x1000), REGBANK_DMA_ERR_OVERLAP);
	ior_assert_int_eq(copy(&f, 0x1800, 0x1000, 0x1000), REGBANK_DMA_ERR_OVERLAP);
	/* lengths */
	ior_assert_int_eq(copy(&f, 0x1000, 0x8000, 0), REGBANK_DMA_ERR_LEN);
	ior_assert_int_eq(copy(&f, 0x1000, 0x8000, REGBANK_DMA_MAX_LEN + 1),
			  REGBANK_DMA_ERR_LEN);
	ior_assert_int_eq(copy(&f, 0x1000, 0x8000, UINT64_MAX),
			  REGBANK_DMA_ERR_LEN);
	ior_assert_mem_eq(f.p, before, RAM);
	/* no memory at all */
	ior_assert_int_eq(regbank_dma_copy(NULL, 0, 0x1000, 1, before, 16),
			  REGBANK_DMA_ERR_NOMEM);
	fixture_free(&f);
}
END_TEST

static uint64_t
eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

START_TEST(test_dma_registers_status_and_edge_interrupt)
{
	static struct regbank_dma d;
	struct ioregion_ctx *ctx;
	struct ioregion_irq *irq;
	struct fixture f;
	uint64_t v;
	bool start;
	int efd;

	fixture_new(&f);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ior_assert_int_ge(efd, 0);
	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, efd, -1, &irq), 0);
	regbank_dma_init(&d, f.mem, irq);

	ior_assert(regbank_dma_is_reg(REGBANK_DMA_SRC));
	ior_assert(regbank_dma_is_reg(REGBANK_DMA_STATUS));
	ior_assert(!regbank_dma_is_reg(REGBANK_DMA_STATUS + 4));
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_SRC, 4, 0, &start), -EINVAL);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 8, 0, &start), -EINVAL);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 8, &v), -EINVAL);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_SRC + 4, 4, 0, &start), -ENXIO);

	/* a good copy with IE: BUSY until run, then DONE and one edge */
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_SRC, 8, 0x2000, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_DST, 8, 0x12000, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_LEN, 8, 0x100, &start), 0);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_LEN, 8, &v), 0);
	ior_assert_uint_eq(v, 0x100);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 4,
					    REGBANK_DMA_CTRL_GO | REGBANK_DMA_CTRL_IE,
					    &start), 0);
	ior_assert(start);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, REGBANK_DMA_ST_BUSY);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_CTRL, 4, &v), 0);
	ior_assert_uint_eq(v, REGBANK_DMA_CTRL_IE);	/* GO reads 0 */
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 4,
					    REGBANK_DMA_CTRL_GO, &start), -EBUSY);
	ior_assert(!start);
	ior_assert_uint_eq(eventfd_count(efd), 0);
	regbank_dma_run(&d);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, REGBANK_DMA_ST_DONE);
	ior_assert_mem_eq(f.p + 0x12000, f.p + 0x2000, 0x100);
	ior_assert_uint_eq(eventfd_count(efd), 1);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 1);
	/* acknowledged: the line drops */
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_STATUS, 4,
					    REGBANK_DMA_ST_DONE, &start), 0);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, 0);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);

	/* an error, also interrupting; its code goes with the ack */
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_DST, 8, 0x100000, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 4,
					    REGBANK_DMA_CTRL_GO | REGBANK_DMA_CTRL_IE,
					    &start), 0);
	regbank_dma_run(&d);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, REGBANK_DMA_ST_ERROR |
			   REGBANK_DMA_ERR_RO << REGBANK_DMA_ST_CODE_SHIFT);
	ior_assert_uint_eq(eventfd_count(efd), 1);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_STATUS, 4,
					    REGBANK_DMA_ST_ERROR, &start), 0);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, 0);

	/* without IE: DONE, no interrupt; a run with nothing started is a
	 * no-op */
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_DST, 8, 0x13000, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 4,
					    REGBANK_DMA_CTRL_GO, &start), 0);
	regbank_dma_run(&d);
	regbank_dma_run(&d);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, REGBANK_DMA_ST_DONE);
	ior_assert_uint_eq(eventfd_count(efd), 0);
	ior_assert_uint_eq(d.copies, 2);
	ior_assert_uint_eq(d.errors, 1);

	ctx = ioregion_ctx_unref(ctx);
	close(efd);
	fixture_free(&f);
}
END_TEST

/* The VMM's reset: a pending copy is dropped, the registers read 0, an
 * asserted line drops; memory, line and counters stay. */
START_TEST(test_dma_reset_makes_the_engine_idle)
{
	static struct regbank_dma d;
	struct ioregion_ctx *ctx;
	struct ioregion_irq *irq;
	struct fixture f;
	uint64_t v;
	bool start;
	int efd;

	fixture_new(&f);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ior_assert_int_ge(efd, 0);
	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	ior_assert_int_eq(ioregion_irq_new(ctx, efd, -1, &irq), 0);
	regbank_dma_init(&d, f.mem, irq);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_SRC, 8, 0x2000, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_DST, 8, 0x12000, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_LEN, 8, 0x10, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 4,
					    REGBANK_DMA_CTRL_GO | REGBANK_DMA_CTRL_IE,
					    &start), 0);
	regbank_dma_run(&d);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 1);
	/* a second copy started, not yet run */
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_STATUS, 4,
					    REGBANK_DMA_ST_DONE, &start), 0);
	ior_assert_int_eq(regbank_dma_write(&d, REGBANK_DMA_CTRL, 4,
					    REGBANK_DMA_CTRL_GO | REGBANK_DMA_CTRL_IE,
					    &start), 0);

	regbank_dma_reset(&d);
	ior_assert_int_eq(ioregion_irq_is_asserted(irq), 0);
	for (uint64_t r = REGBANK_DMA_SRC; r <= REGBANK_DMA_LEN; r += 8) {
		ior_assert_int_eq(regbank_dma_read(&d, r, 8, &v), 0);
		ior_assert_uint_eq(v, 0);
	}
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_CTRL, 4, &v), 0);
	ior_assert_uint_eq(v, 0);
	ior_assert_int_eq(regbank_dma_read(&d, REGBANK_DMA_STATUS, 4, &v), 0);
	ior_assert_uint_eq(v, 0);
	regbank_dma_run(&d);		/* the dropped copy does not run */
	ior_assert_uint_eq(d.copies, 1);
	ior_assert(d.mem == f.mem && d.irq == irq);

	ctx = ioregion_ctx_unref(ctx);
	close(efd);
	fixture_free(&f);
}
END_TEST

static Suite *
regbank_dma_suite(void)
{
	Suite *s = suite_create("regbank-dma");

	ior_add_test(s, test_dma_copy_moves_the_bytes_in_chunks);
	ior_add_test(s, test_dma_bad_ranges_are_error_codes_and_write_nothing);
	ior_add_test(s, test_dma_registers_status_and_edge_interrupt);
	ior_add_test(s, test_dma_reset_makes_the_engine_idle);
	return s;
}

IOR_TEST_MAIN(regbank_dma_suite)
