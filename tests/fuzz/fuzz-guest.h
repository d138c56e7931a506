/* SPDX-License-Identifier: MIT */
/*
 * Guest memory and an interrupt line for the virtio fuzz targets: one
 * memfd with 8 KiB read-write at RAM_GPA and 4 KiB read-only right after
 * it, a mapping of it for the "driver", a memory table on it, and an
 * eventfd line on a context. Made once per process.
 */
#ifndef IOREGION_FUZZ_GUEST_H
#define IOREGION_FUZZ_GUEST_H

#include "fuzz-common.h"

#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioregion/irq.h"
#include "ioregion/memory.h"
#include "ioregion/server.h"
#include "ioregion/virtio.h"

#define RAM_GPA 0x10000ull
#define RW_SIZE 0x2000ull
#define RO_SIZE 0x1000ull

struct fuzz_guest {
	uint8_t *ram;
	struct ioregion_mem *mem;
	struct ioregion_ctx *ctx;
	struct ioregion_irq *irq;
	int efd;
};

static inline void
fuzz_guest_init(struct fuzz_guest *g, const char *name)
{
	struct ioregion_mem_slot rw = { .gpa = RAM_GPA, .size = RW_SIZE };
	struct ioregion_mem_slot ro = { .gpa = RAM_GPA + RW_SIZE,
		.size = RO_SIZE, .offset = RW_SIZE,
		.flags = IOREGION_MEM_F_READONLY };
	int fd = memfd_create(name, MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(ftruncate(fd, RW_SIZE + RO_SIZE) == 0);
	g->ram = mmap(NULL, RW_SIZE + RO_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, fd, 0);
	FUZZ_CHECK(g->ram != MAP_FAILED);
	FUZZ_CHECK(ioregion_mem_new(&g->mem) == 0);
	FUZZ_CHECK(ioregion_mem_add_slot(g->mem, &rw, fd) == 0);
	FUZZ_CHECK(ioregion_mem_add_slot(g->mem, &ro, fd) == 0);
	close(fd);
	g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	FUZZ_CHECK(g->efd >= 0);
	FUZZ_CHECK(ioregion_ctx_new(NULL, &g->ctx) == 0);
	FUZZ_CHECK(ioregion_irq_new(g->ctx, g->efd, -1, &g->irq) == 0);
}

/* Guest memory (read-write, then read-only) from the input; zeros past
 * its end. */
static inline void
fuzz_guest_fill(struct fuzz_guest *g, struct fuzz_in *in)
{
	size_t got;
	const uint8_t *p;

	memset(g->ram, 0, RW_SIZE + RO_SIZE);
	p = fuzz_bytes(in, RW_SIZE + RO_SIZE, &got);
	memcpy(g->ram, p, got);
}

/* A segment a device got lies inside guest memory, a device-writable one
 * inside writable memory, and the table translates it. */
static inline void
fuzz_guest_check_seg(const struct fuzz_guest *g,
		     const struct ioregion_virtq_seg *s)
{
	void *p;

	if (!s->len)
		return;
	FUZZ_CHECK(s->gpa >= RAM_GPA);
	FUZZ_CHECK(s->gpa - RAM_GPA + s->len <= (s->write ? RW_SIZE
							   : RW_SIZE + RO_SIZE));
	FUZZ_CHECK(ioregion_mem_translate(g->mem, s->gpa, s->len, s->write,
					  &p) == 0);
}

/* Empties the line's eventfd (what a round's interrupts left there). */
static inline void
fuzz_guest_drain(const struct fuzz_guest *g)
{
	uint64_t drain;

	if (read(g->efd, &drain, sizeof(drain)) < 0)
		drain = 0;
	(void)drain;
}

#endif
