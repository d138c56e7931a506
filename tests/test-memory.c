/* SPDX-License-Identifier: MIT */
/*
 * Guest memory, device side: slots of a real memfd mapped twice (the
 * "VMM" mapping here, the device's inside the table), every refused
 * range class (outside, spanning two slots, wrapping past 2^64, writes to
 * a read-only slot), table changes and the generation counter.
 */
#include "test-common.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioregion/memory.h"

#define RAM_SIZE (64 * 1024)

struct ram {
	int fd;
	uint8_t *p;	/* the VMM's own view */
};

static void
ram_new(struct ram *r, size_t size)
{
	r->fd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ior_assert_int_ge(r->fd, 0);
	ior_assert_int_eq(ftruncate(r->fd, (off_t)size), 0);
	ior_assert_int_eq(fcntl(r->fd, F_ADD_SEALS,
				F_SEAL_SHRINK | F_SEAL_GROW), 0);
	r->p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	ior_assert(r->p != MAP_FAILED);
}

static void
ram_free(struct ram *r, size_t size)
{
	munmap(r->p, size);
	close(r->fd);
}

static struct ioregion_mem_slot
slot(uint64_t gpa, uint64_t size, uint64_t offset, uint32_t flags)
{
	return (struct ioregion_mem_slot){ .gpa = gpa, .size = size,
		.offset = offset, .flags = flags };
}

/* Two slots back to back: [0x100000, +32K) from offset 0 read-write,
 * [0x108000, +32K) from offset 32K read-only. */
static struct ioregion_mem *
two_slots(struct ram *r)
{
	struct ioregion_mem *mem;
	struct ioregion_mem_slot a = slot(0x100000, 0x8000, 0, 0);
	struct ioregion_mem_slot b = slot(0x108000, 0x8000, 0x8000,
					  IOREGION_MEM_F_READONLY);

	ram_new(r, RAM_SIZE);
	ior_assert_int_eq(ioregion_mem_new(&mem), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &a, r->fd), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &b, r->fd), 0);
	return mem;
}

START_TEST(test_mem_new_and_unref_handle_null)
{
	ior_assert_errno(ioregion_mem_new(NULL), -EINVAL);
	ior_assert_ptr_null(ioregion_mem_unref(NULL));
	ior_assert_ptr_null(ioregion_mem_ref(NULL));
	ior_assert_uint_eq(ioregion_mem_generation(NULL), 0);
	ior_assert_errno(ioregion_mem_remove_slot(NULL, 0), -EINVAL);
	ior_assert_errno(ioregion_mem_clear(NULL), -EINVAL);
}
END_TEST

START_TEST(test_mem_translate_gives_the_shared_memory)
{
	struct ram r;
	struct ioregion_mem *mem = two_slots(&r);
	uint8_t *p;

	ior_assert_int_eq(ioregion_mem_translate(mem, 0x100010, 16, true,
						 (void **)&p), 0);
	memcpy(p, "from the device", 16);
	ior_assert_mem_eq(r.p + 0x10, "from the device", 16);
	/* the read-only slot maps offset 32K of the file */
	memcpy(r.p + 0x8000 + 4, "vmm", 4);
	ior_assert_int_eq(ioregion_mem_translate(mem, 0x108004, 4, false,
						 (void **)&p), 0);
	ior_assert_mem_eq(p, "vmm", 4);
	/* the last byte of a slot */
	ior_assert_int_eq(ioregion_mem_translate(mem, 0x107fff, 1, true,
						 (void **)&p), 0);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_translate_refuses_outside_spanning_and_wrapping)
{
	struct ram r;
	struct ioregion_mem *mem = two_slots(&r);
	struct ioregion_mem_slot top = slot(UINT64_MAX - 0xfff, 0x1000, 0, 0);
	void *p = (void *)1;

	/* below, above, in a hole */
	ior_assert_errno(ioregion_mem_translate(mem, 0xfffff, 1, false, &p),
			 -EFAULT);
	ior_assert_ptr_null(p);
	ior_assert_errno(ioregion_mem_translate(mem, 0x110000, 1, false, &p),
			 -EFAULT);
	ior_assert_errno(ioregion_mem_translate(mem, 0, 1, false, &p),
			 -EFAULT);
	/* starting inside, running past the end of all slots */
	ior_assert_errno(ioregion_mem_translate(mem, 0x10fff0, 0x20, false,
						&p), -EFAULT);
	/* spanning the two slots, although both are mapped */
	ior_assert_errno(ioregion_mem_translate(mem, 0x107ff0, 0x20, false,
						&p), -EFAULT);
	/* starting before the first slot, ending inside it */
	ior_assert_errno(ioregion_mem_translate(mem, 0xffff0, 0x20, false,
						&p), -EFAULT);
	/* huge lengths: gpa + len would wrap to a small number */
	ior_assert_errno(ioregion_mem_translate(mem, 0x100000, UINT64_MAX,
						false, &p), -EFAULT);
	ior_assert_errno(ioregion_mem_translate(mem, 0x100010,
						UINT64_MAX - 0xf, false, &p),
			 -EFAULT);
	/* a slot at the very top of the address space */
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &top, r.fd), 0);
	ior_assert_int_eq(ioregion_mem_translate(mem, UINT64_MAX, 1, true, &p),
			  0);
	ior_assert_errno(ioregion_mem_translate(mem, UINT64_MAX - 7, 16, false,
						&p), -EFAULT);
	/* length 0, NULL */
	ior_assert_errno(ioregion_mem_translate(mem, 0x100000, 0, false, &p),
			 -EINVAL);
	ior_assert_errno(ioregion_mem_translate(mem, 0x100000, 1, false, NULL),
			 -EINVAL);
	ior_assert_errno(ioregion_mem_translate(NULL, 0x100000, 1, false, &p),
			 -EINVAL);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_write_to_readonly_slot_returns_eacces)
{
	struct ram r;
	struct ioregion_mem *mem = two_slots(&r);
	uint32_t v = 0x11223344;
	void *p;

	ior_assert_errno(ioregion_mem_translate(mem, 0x108000, 4, true, &p),
			 -EACCES);
	ior_assert_errno(ioregion_mem_write(mem, 0x108000, &v, sizeof(v)),
			 -EACCES);
	ior_assert_int_eq(ioregion_mem_read(mem, 0x108000, &v, sizeof(v)), 0);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_read_copies_once_write_copies_out)
{
	struct ram r;
	struct ioregion_mem *mem = two_slots(&r);
	uint8_t desc[16], back[16];

	memset(r.p + 0x200, 0xa5, sizeof(desc));
	ior_assert_int_eq(ioregion_mem_read(mem, 0x100200, desc, sizeof(desc)),
			  0);
	/* the guest changes it after the copy: the copy stays */
	memset(r.p + 0x200, 0x5a, sizeof(desc));
	for (size_t i = 0; i < sizeof(desc); i++)
		ior_assert_int_eq(desc[i], 0xa5);

	ior_assert_int_eq(ioregion_mem_write(mem, 0x100300, desc,
					     sizeof(desc)), 0);
	ior_assert_mem_eq(r.p + 0x300, desc, sizeof(desc));
	ior_assert_errno(ioregion_mem_read(mem, 0x107ff8, back, sizeof(back)),
			 -EFAULT);
	ior_assert_errno(ioregion_mem_write(mem, 0x10fff8, back, sizeof(back)),
			 -EFAULT);
	ior_assert_errno(ioregion_mem_read(mem, 0x100000, NULL, 1), -EINVAL);
	ior_assert_errno(ioregion_mem_write(mem, 0x100000, NULL, 1), -EINVAL);
	ior_assert_errno(ioregion_mem_read(mem, 0x100000, back, 0), -EINVAL);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_add_slot_refuses_bad_slots)
{
	struct ram r;
	struct ioregion_mem *mem;
	struct ioregion_mem_slot s;
	char path[64];
	int ro;

	ram_new(&r, RAM_SIZE);
	ior_assert_int_eq(ioregion_mem_new(&mem), 0);
	s = slot(0x1000, 0, 0, 0);			/* size 0 */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EINVAL);
	s = slot(0x1000, 0x1000, 0, 0x2);		/* unknown flag */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EINVAL);
	s = slot(UINT64_MAX - 0xfff, 0x2000, 0, 0);	/* gpa wraps */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EINVAL);
	s = slot(0x1000, 0x1000, UINT64_MAX - 0xfff, 0); /* offset wraps */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EINVAL);
	s = slot(0x1000, 0x1000, 0x10, 0);		/* offset unaligned */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EINVAL);
	s = slot(0x1000, RAM_SIZE, 0x1000, 0);		/* past the file's end */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EINVAL);
	s = slot(0x1000, 0x1000, 0, 0);
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, -1), -EBADF);
	ior_assert_errno(ioregion_mem_add_slot(mem, NULL, r.fd), -EINVAL);
	ior_assert_errno(ioregion_mem_add_slot(NULL, &s, r.fd), -EINVAL);

	/* a read-write slot of a read-only open: the mapping is refused */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r.fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ior_assert_int_ge(ro, 0);
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, ro), -EACCES);
	s.flags = IOREGION_MEM_F_READONLY;
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &s, ro), 0);
	close(ro);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_add_slot_refuses_overlap_and_a_full_table)
{
	struct ram r;
	struct ioregion_mem *mem;
	struct ioregion_mem_slot s = slot(0x10000, 0x2000, 0, 0);
	unsigned int i;

	ram_new(&r, RAM_SIZE);
	ior_assert_int_eq(ioregion_mem_new(&mem), 0);
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &s, r.fd), 0);
	s = slot(0x11fff, 0x1000, 0, 0);		/* last byte shared */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EEXIST);
	s = slot(0xf001, 0x1000, 0, 0);			/* first byte shared */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EEXIST);
	s = slot(0x8000, 0x10000, 0, 0);		/* covers it all */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EEXIST);
	s = slot(0x10000, 0x2000, 0, 0);		/* the same again */
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -EEXIST);
	s = slot(0xf000, 0x1000, 0, 0);			/* touching: fine */
	ior_assert_int_eq(ioregion_mem_add_slot(mem, &s, r.fd), 0);

	for (i = 2; i < IOREGION_MEM_SLOTS_MAX; i++) {
		s = slot(0x100000 + (uint64_t)i * 0x1000, 0x1000, 0, 0);
		ior_assert_int_eq(ioregion_mem_add_slot(mem, &s, r.fd), 0);
	}
	s = slot(0x900000, 0x1000, 0, 0);
	ior_assert_errno(ioregion_mem_add_slot(mem, &s, r.fd), -ENOSPC);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_remove_and_clear_change_the_generation)
{
	struct ram r;
	struct ioregion_mem *mem = two_slots(&r);
	uint64_t g = ioregion_mem_generation(mem);
	void *p;

	ior_assert_uint_eq(g, 2);
	ior_assert_errno(ioregion_mem_remove_slot(mem, 0x100001), -ENOENT);
	ior_assert_uint_eq(ioregion_mem_generation(mem), g);
	ior_assert_int_eq(ioregion_mem_remove_slot(mem, 0x100000), 0);
	ior_assert_uint_eq(ioregion_mem_generation(mem), g + 1);
	ior_assert_errno(ioregion_mem_translate(mem, 0x100000, 1, false, &p),
			 -EFAULT);
	ior_assert_int_eq(ioregion_mem_translate(mem, 0x108000, 1, false, &p),
			  0);
	ior_assert_int_eq(ioregion_mem_clear(mem), 0);
	ior_assert_uint_eq(ioregion_mem_generation(mem), g + 2);
	ior_assert_errno(ioregion_mem_translate(mem, 0x108000, 1, false, &p),
			 -EFAULT);
	/* the table takes slots again */
	ior_assert_int_eq(ioregion_mem_clear(mem), 0);
	ior_assert_uint_eq(ioregion_mem_generation(mem), g + 2);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

START_TEST(test_mem_ref_keeps_the_table)
{
	struct ram r;
	struct ioregion_mem *mem = two_slots(&r);
	void *p;

	ior_assert(ioregion_mem_ref(mem) == mem);
	ior_assert_ptr_null(ioregion_mem_unref(mem));
	ior_assert_int_eq(ioregion_mem_translate(mem, 0x100000, 1, false, &p),
			  0);
	ioregion_mem_unref(mem);
	ram_free(&r, RAM_SIZE);
}
END_TEST

static Suite *
memory_suite(void)
{
	Suite *s = suite_create("memory");

	ior_add_test(s, test_mem_new_and_unref_handle_null);
	ior_add_test(s, test_mem_translate_gives_the_shared_memory);
	ior_add_test(s, test_mem_translate_refuses_outside_spanning_and_wrapping);
	ior_add_test(s, test_mem_write_to_readonly_slot_returns_eacces);
	ior_add_test(s, test_mem_read_copies_once_write_copies_out);
	ior_add_test(s, test_mem_add_slot_refuses_bad_slots);
	ior_add_test(s, test_mem_add_slot_refuses_overlap_and_a_full_table);
	ior_add_test(s, test_mem_remove_and_clear_change_the_generation);
	ior_add_test(s, test_mem_ref_keeps_the_table);
	return s;
}

IOR_TEST_MAIN(memory_suite)
