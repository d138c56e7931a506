/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's PVH loader: check an ELF vmlinux strictly, load its PT_LOAD
 * segments into guest RAM, place the initrd, write the hvm_start_info.
 * Everything in the file is untrusted: each size is checked against the
 * file, each sum for overflow, each segment against the guest's RAM,
 * before anything is copied. No KVM here (interface in linux.h).
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "linux.h"

/* The PVH entry note: owner "Xen", type 18, the 32-bit entry point. */
#define XEN_NOTE_NAME		"Xen"
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ELF_PHNUM_MAX		64

static int
fail(char *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(char *err, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, PVH_ERR_MAX, fmt, ap);
	va_end(ap);
	return rc;
}

/* [off, off + size) inside @len bytes? -EOVERFLOW, -EBADMSG or 0. */
static int
in_file(uint64_t off, uint64_t size, size_t len)
{
	if (off + size < off)
		return -EOVERFLOW;
	return off + size > len ? -EBADMSG : 0;
}

static int
check_header(const Elf64_Ehdr *eh, size_t len, char *err)
{
	int rc;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(err, -ENOEXEC, "not an ELF file (a bzImage? "
			    "tinyvmm wants the uncompressed vmlinux)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return fail(err, -ENOEXEC, "not a 64-bit little-endian x86-64 "
			    "ELF file");
	if (eh->e_type != ET_EXEC)
		return fail(err, -ENOEXEC, "ELF type %u, not an executable",
			    eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, -ENOEXEC, "program header size %u, not %zu",
			    eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_PHNUM_MAX)
		return fail(err, -EBADMSG, "%u program headers (1..%d)",
			    eh->e_phnum, ELF_PHNUM_MAX);
	rc = in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
		     len);
	if (rc < 0)
		return fail(err, rc, "program headers at %#" PRIx64 " %s",
			    (uint64_t)eh->e_phoff, rc == -EOVERFLOW ?
			    "overflow" : "past the end of the file");
	return 0;
}

static int
add_segment(const Elf64_Phdr *ph, unsigned int i, size_t len,
	    uint64_t ram_lo, uint64_t ram_hi, struct pvh_kernel *k, char *err)
{
	struct pvh_segment *s;
	int rc = in_file(ph->p_offset, ph->p_filesz, len);

	if (rc < 0)
		return fail(err, rc, "segment %u: file bytes %#" PRIx64
			    "+%#" PRIx64 " %s", i, (uint64_t)ph->p_offset,
			    (uint64_t)ph->p_filesz, rc == -EOVERFLOW ?
			    "overflow" : "past the end of the file");
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, -EBADMSG, "segment %u: p_filesz %#" PRIx64
			    " > p_memsz %#" PRIx64, i, (uint64_t)ph->p_filesz,
			    (uint64_t)ph->p_memsz);
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return fail(err, -EOVERFLOW, "segment %u: address %#" PRIx64
			    "+%#" PRIx64 " overflows", i,
			    (uint64_t)ph->p_paddr, (uint64_t)ph->p_memsz);
	if (ph->p_memsz == 0)
		return 0;
	if (ph->p_paddr < ram_lo || ph->p_paddr + ph->p_memsz > ram_hi)
		return fail(err, -ERANGE, "segment %u: %#" PRIx64 "-%#" PRIx64
			    " outside guest RAM %#" PRIx64 "-%#" PRIx64
			    " (more --mem?)", i, (uint64_t)ph->p_paddr,
			    (uint64_t)(ph->p_paddr + ph->p_memsz), ram_lo,
			    ram_hi);
	for (unsigned int j = 0; j < k->nseg; j++)
		if (ph->p_paddr < k->seg[j].paddr + k->seg[j].memsz &&
		    k->seg[j].paddr < ph->p_paddr + ph->p_memsz)
			return fail(err, -EBADMSG, "segment %u overlaps an "
				    "earlier one at %#" PRIx64, i,
				    k->seg[j].paddr);
	if (k->nseg >= PVH_MAX_SEGMENTS)
		return fail(err, -EBADMSG, "more than %d loadable segments",
			    PVH_MAX_SEGMENTS);
	s = &k->seg[k->nseg++];
	*s = (struct pvh_segment){ .paddr = ph->p_paddr,
		.offset = ph->p_offset, .filesz = ph->p_filesz,
		.memsz = ph->p_memsz };
	if (k->nseg == 1 || s->paddr < k->start)
		k->start = s->paddr;
	if (s->paddr + s->memsz > k->end)
		k->end = s->paddr + s->memsz;
	return 0;
}

/* Look for the PVH note in the PT_NOTE segment @ph (inside the file).
 * 1 and *@entry if found, 0 if not, or a negative errno. */
static int
scan_notes(const uint8_t *file, const Elf64_Phdr *ph, unsigned int i,
	   uint64_t *entry, char *err)
{
	uint64_t align = ph->p_align == 8 ? 8 : 4;
	uint64_t off = 0, size = ph->p_filesz;
	const uint8_t *p = file + ph->p_offset;

	while (off < size) {
		uint64_t namesz, descsz, name, desc, next;
		uint32_t type;

		if (size - off < 12)
			return fail(err, -EBADMSG, "segment %u: note header at "
				    "%#" PRIx64 " past the end of its segment",
				    i, off);
		namesz = get32(p + off);
		descsz = get32(p + off + 4);
		type = get32(p + off + 8);
		/* 32-bit sizes: these sums cannot overflow 64 bits. */
		name = off + 12;
		desc = name + ((namesz + align - 1) & ~(align - 1));
		next = desc + ((descsz + align - 1) & ~(align - 1));
		if (desc + descsz > size)
			return fail(err, -EBADMSG, "segment %u: note at %#"
				    PRIx64 " past the end of its segment", i,
				    off);
		if (namesz == sizeof(XEN_NOTE_NAME) &&
		    !memcmp(p + name, XEN_NOTE_NAME, sizeof(XEN_NOTE_NAME)) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz == 4)
				*entry = get32(p + desc);
			else if (descsz == 8)
				*entry = get64(p + desc);
			else
				return fail(err, -EBADMSG, "PVH entry note of "
					    "%" PRIu64 " bytes (4 or 8)",
					    descsz);
			return 1;
		}
		off = next;
	}
	return 0;
}

int
pvh_parse(const uint8_t *file, size_t len, uint64_t ram_lo,
	  uint64_t ram_hi, struct pvh_kernel *k, char *err)
{
	Elf64_Ehdr eh;
	uint64_t entry = 0;
	bool found = false, entry_loaded = false;
	int rc;

	memset(k, 0, sizeof(*k));
	if (len < sizeof(eh))
		return fail(err, -ENOEXEC, "%zu bytes: shorter than an ELF "
			    "header", len);
	memcpy(&eh, file, sizeof(eh));
	rc = check_header(&eh, len, err);
	if (rc < 0)
		return rc;

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, file + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			rc = add_segment(&ph, i, len, ram_lo, ram_hi, k, err);
		} else if (ph.p_type == PT_NOTE && !found) {
			rc = in_file(ph.p_offset, ph.p_filesz, len);
			if (rc < 0)
				return fail(err, rc, "segment %u: notes %s", i,
					    rc == -EOVERFLOW ? "overflow" :
					    "past the end of the file");
			rc = scan_notes(file, &ph, i, &entry, err);
			found = rc == 1;
		} else {
			rc = 0;
		}
		if (rc < 0)
			return rc;
	}
	if (k->nseg == 0)
		return fail(err, -ENOEXEC, "no loadable segment");
	if (!found)
		return fail(err, -ENOENT, "no PVH entry note "
			    "(XEN_ELFNOTE_PHYS32_ENTRY): not a kernel built "
			    "with CONFIG_PVH=y");
	for (unsigned int i = 0; i < k->nseg; i++)
		if (entry >= k->seg[i].paddr &&
		    entry - k->seg[i].paddr < k->seg[i].filesz)
			entry_loaded = true;
	if (!entry_loaded || entry > UINT32_MAX)
		return fail(err, -ERANGE, "PVH entry point %#" PRIx64
			    " outside the loaded segments", entry);
	k->entry = (uint32_t)entry;
	return 0;
}

void
pvh_load(const struct pvh_kernel *k, const uint8_t *file, uint8_t *mem)
{
	for (unsigned int i = 0; i < k->nseg; i++) {
		const struct pvh_segment *s = &k->seg[i];

		memcpy(mem + s->paddr, file + s->offset, s->filesz);
		memset(mem + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
}

int
pvh_place_initrd(uint64_t size, uint64_t kernel_end, uint64_t ram_size,
		 uint64_t *gpa)
{
	uint64_t at;

	if (size == 0 || size > ram_size)
		return -ENOSPC;
	at = (ram_size - size) & ~0xfffull;
	if (at < kernel_end || at < LINUX_HIGH_RAM)
		return -ENOSPC;
	*gpa = at;
	return 0;
}

static void
put_memmap(uint8_t *e, uint64_t addr, uint64_t size, uint32_t type)
{
	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	put32(e + 20, 0);
}

int
pvh_write_start_info(uint8_t *mem, const struct pvh_boot *b)
{
	uint8_t *si = mem + LINUX_START_INFO;
	uint8_t *mod = mem + LINUX_MODLIST;
	uint8_t *map = mem + LINUX_MEMMAP;
	size_t n = strlen(b->cmdline);

	if (n >= LINUX_CMDLINE_MAX)
		return -E2BIG;
	memcpy(mem + LINUX_CMDLINE, b->cmdline, n + 1);

	memset(si, 0, PVH_SI_SIZE);
	put32(si + PVH_SI_MAGIC, PVH_START_MAGIC);
	put32(si + PVH_SI_VERSION, 1);
	put64(si + PVH_SI_CMDLINE, LINUX_CMDLINE);
	put64(si + PVH_SI_RSDP, b->rsdp_gpa);
	if (b->initrd_size) {
		memset(mod, 0, PVH_MOD_SIZE);
		put64(mod, b->initrd_gpa);
		put64(mod + 8, b->initrd_size);
		put32(si + PVH_SI_NR_MODULES, 1);
		put64(si + PVH_SI_MODLIST, LINUX_MODLIST);
	}
	put_memmap(map, 0, LINUX_LOW_RAM_END, PVH_MEMMAP_RAM);
	put_memmap(map + PVH_MEMMAP_ENTRY_SIZE, LINUX_LOW_RAM_END,
		   LINUX_HIGH_RAM - LINUX_LOW_RAM_END, PVH_MEMMAP_RESERVED);
	put_memmap(map + 2 * PVH_MEMMAP_ENTRY_SIZE, LINUX_HIGH_RAM,
		   b->ram_size - LINUX_HIGH_RAM, PVH_MEMMAP_RAM);
	put64(si + PVH_SI_MEMMAP, LINUX_MEMMAP);
	put32(si + PVH_SI_MEMMAP_ENTRIES, 3);
	return 0;
}
