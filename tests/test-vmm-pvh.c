/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's PVH loader (examples/vmm/pvh.c) without KVM: a small valid
 * PVH ELF image built here, then one defect at a time, each with the
 * exact error it gets (and never a read outside the buffer: the image
 * is copied into a buffer of exactly its length, so ASan sees any);
 * loading the segments; the initrd's place; the hvm_start_info layout;
 * the MP table (examples/vmm/mptable.c).
 */
#include "test-common.h"

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bytes.h"
#include "vmm/linux.h"

#define RAM_LO	0x100000ull
#define RAM_HI	0x400000ull
#define SEG0	0x200000ull	/* text: 0x100 bytes of file, 0x1000 in memory */
#define SEG1	0x300000ull	/* data: 0x40 bytes, 0x80 in memory (bss) */
#define ENTRY	(SEG0 + 0x10)

/* Layout of the image: header, 3 program headers (LOAD, LOAD, NOTE),
 * the notes, the two segments' bytes. */
#define PH_OFF	sizeof(Elf64_Ehdr)
#define NOTE_OFF (PH_OFF + 3 * sizeof(Elf64_Phdr))
#define NOTE_LEN 0x2c
#define NOTE2	 0x14	/* the PVH note, in the notes */
#define SEG0_OFF 0x200
#define SEG0_LEN 0x100
#define SEG1_OFF 0x300
#define SEG1_LEN 0x40
#define IMG_LEN	 (SEG1_OFF + SEG1_LEN)

struct img {
	uint8_t b[IMG_LEN];
	size_t len;
};

static Elf64_Ehdr *
eh(struct img *m)
{
	return (Elf64_Ehdr *)m->b;
}

static Elf64_Phdr *
ph(struct img *m, int i)
{
	return (Elf64_Phdr *)(m->b + PH_OFF) + i;
}

/* A note at @p: name, type, descsz bytes of @desc; returns its length. */
static size_t
note(uint8_t *p, const char *name, uint32_t type, const void *desc,
     uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t n = 12 + ((namesz + 3) & ~3u);

	put32(p, namesz);
	put32(p + 4, descsz);
	put32(p + 8, type);
	memcpy(p + 12, name, namesz);
	memcpy(p + n, desc, descsz);
	return n + ((descsz + 3) & ~3u);
}

static void
img_build(struct img *m)
{
	Elf64_Ehdr *e = eh(m);
	uint64_t entry = ENTRY;
	const char other[4] = "abc";
	size_t n;

	memset(m, 0, sizeof(*m));
	m->len = IMG_LEN;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = 0xffffffff81000000ull;
	e->e_phoff = PH_OFF;
	e->e_ehsize = sizeof(*e);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 3;

	*ph(m, 0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = SEG0_OFF,
		.p_vaddr = 0xffffffff80000000ull + SEG0, .p_paddr = SEG0,
		.p_filesz = SEG0_LEN, .p_memsz = 0x1000, .p_align = 0x1000 };
	*ph(m, 1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = SEG1_OFF,
		.p_vaddr = 0xffffffff80000000ull + SEG1, .p_paddr = SEG1,
		.p_filesz = SEG1_LEN, .p_memsz = 0x80, .p_align = 0x1000 };
	/* Another Xen note first, then the PVH entry (8 bytes, as Linux's
	 * 64-bit build has it). */
	n = note(m->b + NOTE_OFF, "Xen", 6, other, sizeof(other));
	n += note(m->b + NOTE_OFF + n, "Xen", 18, &entry, sizeof(entry));
	ck_assert_uint_eq(n, NOTE_LEN);
	*ph(m, 2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
		.p_filesz = NOTE_LEN, .p_align = 4 };
	for (unsigned int i = 0; i < SEG0_LEN; i++)
		m->b[SEG0_OFF + i] = (uint8_t)(0x80 + i);
	for (unsigned int i = 0; i < SEG1_LEN; i++)
		m->b[SEG1_OFF + i] = (uint8_t)(0x10 + i);
}

/* Parse a copy of exactly m->len bytes (heap: ASan bounds); returns the
 * result and leaves the reason in @err. */
static int
img_parse(const struct img *m, struct pvh_kernel *k, char *err)
{
	uint8_t *copy = malloc(m->len ? m->len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, m->b, m->len);
	err[0] = '\0';
	rc = pvh_parse(copy, m->len, RAM_LO, RAM_HI, k, err);
	free(copy);
	return rc;
}

#define EXPECT(m, neg_errno, words) do {				\
	struct pvh_kernel k_;						\
	char err_[PVH_ERR_MAX];						\
	ior_assert_errno(img_parse((m), &k_, err_), (neg_errno));	\
	ck_assert_msg(strstr(err_, (words)) != NULL,			\
		      "reason '%s' lacks '%s'", err_, (words));		\
} while (0)

START_TEST(test_valid)
{
	struct img m;
	struct pvh_kernel k;
	char err[PVH_ERR_MAX];

	img_build(&m);
	ior_assert_int_eq(img_parse(&m, &k, err), 0);
	ck_assert_uint_eq(k.entry, ENTRY);
	ck_assert_uint_eq(k.nseg, 2);
	ck_assert_uint_eq(k.start, SEG0);
	ck_assert_uint_eq(k.end, SEG1 + 0x80);
	ck_assert_uint_eq(k.seg[0].paddr, SEG0);
	ck_assert_uint_eq(k.seg[0].offset, SEG0_OFF);
	ck_assert_uint_eq(k.seg[1].filesz, SEG1_LEN);
	ck_assert_uint_eq(k.seg[1].memsz, 0x80);
}
END_TEST

START_TEST(test_entry_4_bytes)
{
	struct img m;
	struct pvh_kernel k;
	char err[PVH_ERR_MAX];
	uint32_t entry = ENTRY + 4;
	const char other[4] = "abc";
	size_t n;

	img_build(&m);
	memset(m.b + NOTE_OFF, 0, NOTE_LEN);
	n = note(m.b + NOTE_OFF, "Xen", 6, other, sizeof(other));
	n += note(m.b + NOTE_OFF + n, "Xen", 18, &entry, sizeof(entry));
	ph(&m, 2)->p_filesz = n;
	ior_assert_int_eq(img_parse(&m, &k, err), 0);
	ck_assert_uint_eq(k.entry, ENTRY + 4);
}
END_TEST

START_TEST(test_truncated_header)
{
	struct img m;

	img_build(&m);
	m.len = 0;
	EXPECT(&m, -ENOEXEC, "shorter than an ELF header");
	m.len = sizeof(Elf64_Ehdr) - 1;
	EXPECT(&m, -ENOEXEC, "shorter than an ELF header");
	/* The header whole, the program headers cut. */
	m.len = PH_OFF + sizeof(Elf64_Phdr);
	EXPECT(&m, -EBADMSG, "program headers at 0x40 past the end");
}
END_TEST

START_TEST(test_not_elf64_x86)
{
	struct img m;

	img_build(&m);
	m.b[0] = 'M';
	EXPECT(&m, -ENOEXEC, "not an ELF file");
	img_build(&m);
	eh(&m)->e_ident[EI_CLASS] = ELFCLASS32;
	EXPECT(&m, -ENOEXEC, "not a 64-bit");
	img_build(&m);
	eh(&m)->e_machine = EM_AARCH64;
	EXPECT(&m, -ENOEXEC, "not a 64-bit");
	img_build(&m);
	eh(&m)->e_type = ET_REL;
	EXPECT(&m, -ENOEXEC, "not an executable");
	img_build(&m);
	eh(&m)->e_phentsize = 32;
	EXPECT(&m, -ENOEXEC, "program header size 32");
	img_build(&m);
	eh(&m)->e_phnum = 0;
	EXPECT(&m, -EBADMSG, "0 program headers");
}
END_TEST

START_TEST(test_segment_past_file_end)
{
	struct img m;

	img_build(&m);
	ph(&m, 1)->p_filesz = SEG1_LEN + 1;
	ph(&m, 1)->p_memsz = 0x80;
	EXPECT(&m, -EBADMSG, "segment 1: file bytes 0x300+0x41 past the end");
	img_build(&m);
	ph(&m, 0)->p_offset = IMG_LEN;
	EXPECT(&m, -EBADMSG, "segment 0: file bytes");
}
END_TEST

START_TEST(test_filesz_over_memsz)
{
	struct img m;

	img_build(&m);
	ph(&m, 0)->p_memsz = SEG0_LEN - 1;
	EXPECT(&m, -EBADMSG, "segment 0: p_filesz 0x100 > p_memsz 0xff");
}
END_TEST

START_TEST(test_segment_outside_ram)
{
	struct img m;

	img_build(&m);
	ph(&m, 1)->p_paddr = RAM_HI - 0x40;	/* 0x80 in memory: 0x40 past */
	EXPECT(&m, -ERANGE, "segment 1: 0x3fffc0-0x400040 outside guest RAM");
	img_build(&m);
	ph(&m, 0)->p_paddr = RAM_LO - 0x1000;	/* in the VMM's boot area */
	EXPECT(&m, -ERANGE, "segment 0: 0xff000-0x100000 outside guest RAM");
	img_build(&m);
	ph(&m, 1)->p_paddr = SEG0 + 0x800;	/* inside segment 0 */
	EXPECT(&m, -EBADMSG, "segment 1 overlaps an earlier one at 0x200000");
}
END_TEST

START_TEST(test_overflowing_offsets)
{
	struct img m;

	img_build(&m);
	ph(&m, 0)->p_offset = UINT64_MAX - 0x10;
	EXPECT(&m, -EOVERFLOW, "segment 0: file bytes 0xffffffffffffffef+0x100 "
	       "overflow");
	img_build(&m);
	ph(&m, 1)->p_paddr = UINT64_MAX - 0x10;
	EXPECT(&m, -EOVERFLOW, "segment 1: address 0xffffffffffffffef+0x80 "
	       "overflows");
	img_build(&m);
	eh(&m)->e_phoff = UINT64_MAX - 0x20;
	EXPECT(&m, -EOVERFLOW, "program headers at 0xffffffffffffffdf overflow");
	img_build(&m);
	ph(&m, 2)->p_offset = UINT64_MAX;
	EXPECT(&m, -EOVERFLOW, "segment 2: notes overflow");
}
END_TEST

START_TEST(test_no_pvh_note)
{
	struct img m;

	img_build(&m);
	put32(m.b + NOTE_OFF + NOTE2 + 8, 17);	/* the entry note's type */
	EXPECT(&m, -ENOENT, "no PVH entry note");
	img_build(&m);
	ph(&m, 2)->p_type = PT_NULL;		/* no notes at all */
	EXPECT(&m, -ENOENT, "no PVH entry note");
	img_build(&m);
	m.b[NOTE_OFF + NOTE2 + 12] = 'Y';	/* "Yen": another owner */
	EXPECT(&m, -ENOENT, "no PVH entry note");
}
END_TEST

START_TEST(test_note_past_end)
{
	struct img m;

	img_build(&m);
	/* The entry note's descsz runs past its segment. */
	put32(m.b + NOTE_OFF + NOTE2 + 4, 0x100);
	EXPECT(&m, -EBADMSG, "segment 2: note at 0x14 past the end of its "
	       "segment");
	img_build(&m);
	/* A descsz so large that a 32-bit sum would wrap. */
	put32(m.b + NOTE_OFF + 4, UINT32_MAX);
	EXPECT(&m, -EBADMSG, "segment 2: note at 0 past the end");
	img_build(&m);
	/* The segment cut inside the second note's header. */
	ph(&m, 2)->p_filesz = NOTE2 + 6;
	EXPECT(&m, -EBADMSG, "segment 2: note header at 0x14 past the end");
	img_build(&m);
	/* The note segment itself past the end of the file. */
	ph(&m, 2)->p_filesz = IMG_LEN;
	EXPECT(&m, -EBADMSG, "segment 2: notes past the end of the file");
	img_build(&m);
	put32(m.b + NOTE_OFF + NOTE2 + 4, 2);	/* a 2-byte entry */
	EXPECT(&m, -EBADMSG, "PVH entry note of 2 bytes");
}
END_TEST

START_TEST(test_entry_outside)
{
	struct img m;
	uint64_t entry;

	img_build(&m);
	entry = SEG0 + SEG0_LEN;		/* the zeroed tail: not loaded */
	memcpy(m.b + NOTE_OFF + NOTE2 + 16, &entry, 8);
	EXPECT(&m, -ERANGE, "PVH entry point 0x200100 outside");
	img_build(&m);
	entry = 0x100000000ull + SEG0;
	memcpy(m.b + NOTE_OFF + NOTE2 + 16, &entry, 8);
	EXPECT(&m, -ERANGE, "PVH entry point 0x100200000 outside");
}
END_TEST

START_TEST(test_no_load_segment)
{
	struct img m;

	img_build(&m);
	ph(&m, 0)->p_type = PT_NULL;
	ph(&m, 1)->p_type = PT_NULL;
	EXPECT(&m, -ENOEXEC, "no loadable segment");
}
END_TEST

START_TEST(test_load)
{
	struct img m;
	struct pvh_kernel k;
	char err[PVH_ERR_MAX];
	uint8_t *mem = malloc(RAM_HI);

	ck_assert_ptr_nonnull(mem);
	memset(mem, 0xee, RAM_HI);
	img_build(&m);
	ior_assert_int_eq(img_parse(&m, &k, err), 0);
	pvh_load(&k, m.b, mem);
	ior_assert_mem_eq(mem + SEG0, m.b + SEG0_OFF, SEG0_LEN);
	for (unsigned int i = SEG0_LEN; i < 0x1000; i++)
		ck_assert_uint_eq(mem[SEG0 + i], 0);
	ck_assert_uint_eq(mem[SEG0 + 0x1000], 0xee);
	ior_assert_mem_eq(mem + SEG1, m.b + SEG1_OFF, SEG1_LEN);
	ck_assert_uint_eq(mem[SEG1 + 0x7f], 0);
	ck_assert_uint_eq(mem[SEG1 + 0x80], 0xee);
	ck_assert_uint_eq(mem[SEG0 - 1], 0xee);
	free(mem);
}
END_TEST

START_TEST(test_initrd_place)
{
	uint64_t gpa = 0;

	ior_assert_int_eq(pvh_place_initrd(0x1801, 0x300000, 0x400000, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x3fe000);
	ior_assert_int_eq(pvh_place_initrd(0x1000, 0x300000, 0x400000, &gpa), 0);
	ck_assert_uint_eq(gpa, 0x3ff000);
	ior_assert_int_eq(pvh_place_initrd(0x100000, 0x300000, 0x400000, &gpa),
			  0);
	ck_assert_uint_eq(gpa, 0x300000);
	/* Into the kernel, past RAM, empty. */
	ior_assert_errno(pvh_place_initrd(0x100001, 0x300000, 0x400000, &gpa),
			 -ENOSPC);
	ior_assert_errno(pvh_place_initrd(0x400001, 0, 0x400000, &gpa),
			 -ENOSPC);
	ior_assert_errno(pvh_place_initrd(UINT64_MAX, 0, 0x400000, &gpa),
			 -ENOSPC);
	ior_assert_errno(pvh_place_initrd(0, 0x300000, 0x400000, &gpa),
			 -ENOSPC);
	/* Never into the low megabyte. */
	ior_assert_errno(pvh_place_initrd(0x3ff000, 0, 0x400000, &gpa),
			 -ENOSPC);
}
END_TEST

START_TEST(test_start_info)
{
	uint8_t *mem = calloc(1, LINUX_HIGH_RAM);
	const uint8_t *si, *map, *mod;
	struct pvh_boot b = {
		.cmdline = "console=ttyS0",
		.initrd_gpa = 0xff00000, .initrd_size = 0x12345,
		.rsdp_gpa = 0xe0000, .ram_size = 0x10000000,
	};

	ck_assert_ptr_nonnull(mem);
	ior_assert_int_eq(pvh_write_start_info(mem, &b), 0);
	si = mem + LINUX_START_INFO;
	ck_assert_uint_eq(get32(si + 0), 0x336ec578);	/* "xEn3", 0x80 in E */
	ck_assert_uint_eq(get32(si + 4), 1);
	ck_assert_uint_eq(get32(si + 8), 0);
	ck_assert_uint_eq(get32(si + 12), 1);
	ck_assert_uint_eq(get64(si + 16), LINUX_MODLIST);
	ck_assert_uint_eq(get64(si + 24), LINUX_CMDLINE);
	ck_assert_uint_eq(get64(si + 32), 0xe0000);
	ck_assert_uint_eq(get64(si + 40), LINUX_MEMMAP);
	ck_assert_uint_eq(get32(si + 48), 3);
	ior_assert_str_eq((const char *)mem + LINUX_CMDLINE, "console=ttyS0");
	mod = mem + LINUX_MODLIST;
	ck_assert_uint_eq(get64(mod), 0xff00000);
	ck_assert_uint_eq(get64(mod + 8), 0x12345);
	ck_assert_uint_eq(get64(mod + 16), 0);
	map = mem + LINUX_MEMMAP;
	ck_assert_uint_eq(get64(map), 0);
	ck_assert_uint_eq(get64(map + 8), 0x9fc00);
	ck_assert_uint_eq(get32(map + 16), 1);
	ck_assert_uint_eq(get64(map + 24), 0x9fc00);
	ck_assert_uint_eq(get64(map + 32), 0x100000 - 0x9fc00);
	ck_assert_uint_eq(get32(map + 40), 2);
	ck_assert_uint_eq(get64(map + 48), 0x100000);
	ck_assert_uint_eq(get64(map + 56), 0x10000000 - 0x100000);
	ck_assert_uint_eq(get32(map + 64), 1);
	/* The tables stay clear of the ACPI area and of each other. */
	ck_assert(LINUX_MEMMAP + 3 * 24 <= LINUX_CMDLINE);
	ck_assert(LINUX_MODLIST + 32 <= LINUX_MEMMAP);

	/* No initrd: no module. */
	b.initrd_size = 0;
	memset(mem, 0, LINUX_HIGH_RAM);
	ior_assert_int_eq(pvh_write_start_info(mem, &b), 0);
	ck_assert_uint_eq(get32(si + 12), 0);
	ck_assert_uint_eq(get64(si + 16), 0);
	free(mem);
}
END_TEST

START_TEST(test_cmdline_too_long)
{
	uint8_t *mem = calloc(1, LINUX_HIGH_RAM);
	char *line = malloc(LINUX_CMDLINE_MAX + 1);
	struct pvh_boot b = { .cmdline = line, .ram_size = 0x10000000 };

	ck_assert_ptr_nonnull(mem);
	ck_assert_ptr_nonnull(line);
	memset(line, 'x', LINUX_CMDLINE_MAX);
	line[LINUX_CMDLINE_MAX] = '\0';
	ior_assert_errno(pvh_write_start_info(mem, &b), -E2BIG);
	ck_assert_uint_eq(mem[LINUX_CMDLINE], 0);	/* nothing written */
	line[LINUX_CMDLINE_MAX - 1] = '\0';		/* 2047: fits */
	ior_assert_int_eq(pvh_write_start_info(mem, &b), 0);
	ck_assert_uint_eq(mem[LINUX_CMDLINE + LINUX_CMDLINE_MAX - 1], 0);
	free(line);
	free(mem);
}
END_TEST

static uint8_t
sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* The MP table for 2 vCPUs: where Linux looks, both checksums, the
 * entries it parses. */
START_TEST(test_mptable)
{
	uint8_t *mem = calloc(1, LINUX_HIGH_RAM);
	const uint8_t *fp, *hdr, *e;
	unsigned int cpus = 0, ioints = 0, lints = 0, other = 0;
	uint16_t len, count;
	size_t n;

	ck_assert_ptr_nonnull(mem);
	n = mptable_write(mem, 2, 0x663, 0x1789fbff);
	ck_assert_uint_gt(n, 16 + 44);
	ck_assert_uint_le(n, LINUX_MPTABLE_SIZE);
	fp = mem + 0x9fc00;		/* the last KiB below 640 KiB */
	ior_assert_mem_eq(fp, "_MP_", 4);
	ck_assert_uint_eq(get32(fp + 4), 0x9fc10);
	ck_assert_uint_eq(fp[8], 1);
	ck_assert_uint_eq(fp[9], 4);
	ck_assert_uint_eq(fp[11], 0);	/* a table, not a default config */
	ck_assert_uint_eq(sum8(fp, 16), 0);
	hdr = fp + 16;
	ior_assert_mem_eq(hdr, "PCMP", 4);
	memcpy(&len, hdr + 4, 2);
	memcpy(&count, hdr + 34, 2);
	ck_assert_uint_eq(16 + len, n);
	ck_assert_uint_eq(sum8(hdr, len), 0);
	ck_assert_uint_eq(get32(hdr + 36), 0xfee00000);
	e = hdr + 44;
	for (unsigned int i = 0; i < count; i++) {
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[1], cpus);		/* APIC ID */
			ck_assert_uint_eq(e[3], cpus == 0 ? 3 : 1);
			ck_assert_uint_eq(get32(e + 4), 0x663);
			cpus++;
			e += 20;
			continue;
		case 2:
			ck_assert_uint_eq(e[1], 2);		/* IOAPIC ID */
			ck_assert_uint_eq(get32(e + 4), 0xfec00000);
			other++;
			break;
		case 3:
			ck_assert_uint_eq(e[5], e[7]);		/* IRQ n: pin n */
			ck_assert_uint_ne(e[5], 2);
			ck_assert_uint_eq(e[6], 2);
			ioints++;
			break;
		case 4:
			lints++;
			break;
		default:
			ck_assert_uint_eq(e[0], 1);		/* the ISA bus */
			ior_assert_mem_eq(e + 2, "ISA   ", 6);
			other++;
			break;
		}
		e += 8;
	}
	ck_assert_uint_eq(e - hdr, len);
	ck_assert_uint_eq(cpus, 2);
	ck_assert_uint_eq(ioints, 15);
	ck_assert_uint_eq(lints, 2);
	ck_assert_uint_eq(other, 2);

	/* Limits: nothing written. */
	memset(mem, 0, LINUX_HIGH_RAM);
	ck_assert_uint_eq(mptable_write(mem, 0, 0, 0), 0);
	ck_assert_uint_eq(mptable_write(mem, LINUX_MPTABLE_MAX_CPUS + 1, 0, 0),
			  0);
	ck_assert_uint_eq(mem[0x9fc00], 0);
	n = mptable_write(mem, LINUX_MPTABLE_MAX_CPUS, 0, 0);
	ck_assert_uint_le(n, LINUX_MPTABLE_SIZE);
	free(mem);
}
END_TEST

static Suite *
pvh_suite(void)
{
	Suite *s = suite_create("vmm-pvh");

	ior_add_test(s, test_valid);
	ior_add_test(s, test_entry_4_bytes);
	ior_add_test(s, test_truncated_header);
	ior_add_test(s, test_not_elf64_x86);
	ior_add_test(s, test_segment_past_file_end);
	ior_add_test(s, test_filesz_over_memsz);
	ior_add_test(s, test_segment_outside_ram);
	ior_add_test(s, test_overflowing_offsets);
	ior_add_test(s, test_no_pvh_note);
	ior_add_test(s, test_note_past_end);
	ior_add_test(s, test_entry_outside);
	ior_add_test(s, test_no_load_segment);
	ior_add_test(s, test_load);
	ior_add_test(s, test_initrd_place);
	ior_add_test(s, test_start_info);
	ior_add_test(s, test_cmdline_too_long);
	ior_add_test(s, test_mptable);
	return s;
}

IOR_TEST_MAIN(pvh_suite)
