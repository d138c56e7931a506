/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's Linux mode (--kernel): the guest's memory map, its entry
 * state, and the interfaces of the PVH loader (pvh.c) and the MP table
 * (mptable.c): no KVM in either, so the unit tests link them alone.
 *
 * The kernel is an uncompressed ELF vmlinux with a PVH entry note
 * (XEN_ELFNOTE_PHYS32_ENTRY, Linux's CONFIG_PVH=y). tinyvmm loads its
 * PT_LOAD segments at their physical addresses, writes an hvm_start_info
 * (version 1) with the command line, the initrd as module 0 and a memory
 * map, and starts vCPU 0 at the note's entry point in 32-bit protected
 * mode, paging off, flat 4 GiB segments, EBX = the start_info address.
 * The other vCPUs wait in KVM (in-kernel local APICs) until the kernel
 * starts them with INIT/SIPI. Guest physical memory (RAM is --mem MiB
 * from 0):
 *
 *   0x000000-0x006fff  RAM (the kernel's)
 *   0x007000-0x007fff  hvm_start_info, module list, memory map
 *   0x008000-0x0087ff  the command line
 *   0x009000-0x09fbff  RAM (the kernel's)
 *   0x09fc00-0x0fffff  reserved: the MP table at 0x9fc00 (mptable.c), ACPI
 *                      tables at 0xe0000-0xfffff
 *   0x100000-end       RAM: the kernel's segments (Debian's from 16 MiB),
 *                      the initrd at the top, page aligned
 *   0xd0000000-...     device windows (MMIO), above every RAM size allowed
 *   0xfec00000         IOAPIC, 0xfee00000 local APICs (KVM's)
 *
 * The kernel reads start_info, the module list, the memory map and the
 * command line before it allocates any memory, so their pages need not
 * be reserved.
 */
#ifndef EXAMPLES_VMM_LINUX_H
#define EXAMPLES_VMM_LINUX_H

#include <stddef.h>
#include <stdint.h>

#define LINUX_START_INFO	0x7000ull
#define LINUX_MODLIST		0x7040ull
#define LINUX_MEMMAP		0x7080ull
#define LINUX_CMDLINE		0x8000ull
#define LINUX_CMDLINE_MAX	2048	/* with its NUL: x86's COMMAND_LINE_SIZE */
#define LINUX_LOW_RAM_END	0x9fc00ull
#define LINUX_MPTABLE		0x9fc00ull	/* Linux looks here second */
#define LINUX_MPTABLE_SIZE	0x400
#define LINUX_MPTABLE_MAX_CPUS	16
#define LINUX_ACPI		0xe0000ull
#define LINUX_ACPI_SIZE		0x20000ull
#define LINUX_HIGH_RAM		0x100000ull	/* segments load from here */

#define LINUX_MEM_DEFAULT_MIB	256
#define LINUX_MEM_MIN_MIB	16
#define LINUX_MEM_MAX_MIB	3072	/* below the device windows */
#define LINUX_TIMEOUT_MS	60000

/* The default --cmdline: the serial console on COM1 (the out-of-process
 * 16550), the kernel's messages up to notices (its banner, "Linux
 * version ..."), and what makes a small VM boot fast: no early PCI scan
 * (no PCI here), no CMOS RTC driver (it would retry for seconds on ports
 * that read all-ones), and a reboot on panic by a triple fault (reboot=t:
 * KVM_EXIT_SHUTDOWN ends the run at once; the keyboard controller's reset,
 * Linux's first choice, would poll port 0x64 for seconds first). */
#define LINUX_DEFAULT_CMDLINE \
	"console=ttyS0 loglevel=6 panic=-1 reboot=t pci=noearly " \
	"tsc=reliable " \
	"no_timer_check cryptomgr.notests mitigations=off " \
	"random.trust_cpu=on initcall_blacklist=cmos_init"

/* ---- the PVH loader (pvh.c) ----------------------------------------------- */

#define PVH_MAX_SEGMENTS	16
#define PVH_ERR_MAX		160

/* One PT_LOAD segment: file bytes [offset, offset + filesz) go to guest
 * physical paddr, the rest up to memsz is zeroed. */
struct pvh_segment {
	uint64_t paddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
};

/* A checked kernel image. */
struct pvh_kernel {
	uint32_t entry;			/* the PVH entry point (physical) */
	uint64_t start;			/* lowest segment address */
	uint64_t end;			/* end of the highest segment */
	unsigned int nseg;
	struct pvh_segment seg[PVH_MAX_SEGMENTS];
};

/*
 * Check the ELF image @file (@len bytes) for a guest whose RAM is
 * [@ram_lo, @ram_hi): every header and segment inside the file, no
 * offset or address that overflows, p_filesz <= p_memsz, every segment
 * in that RAM without overlapping another, and a PVH entry note that
 * points into a loaded segment. Returns 0 and fills @k, or (with the
 * reason in @err, PVH_ERR_MAX bytes):
 *   -ENOEXEC   not an x86-64 ELF executable (or shorter than its header)
 *   -EBADMSG   malformed: a header, segment or note past the end of the
 *              file or of its segment, p_filesz > p_memsz, overlapping or
 *              too many segments, a bad note size
 *   -EOVERFLOW an offset or address plus its size overflows 64 bits
 *   -ERANGE    a segment outside [@ram_lo, @ram_hi), or the entry point
 *              outside the loaded bytes
 *   -ENOENT    no PVH entry note (not a PVH kernel: CONFIG_PVH, or a
 *              bzImage rather than a vmlinux)
 */
int pvh_parse(const uint8_t *file, size_t len, uint64_t ram_lo,
	      uint64_t ram_hi, struct pvh_kernel *k, char *err);

/* Copy @k's segments from @file into @mem (guest RAM from physical 0,
 * at least k->end bytes) and zero their tails. */
void pvh_load(const struct pvh_kernel *k, const uint8_t *file, uint8_t *mem);

/*
 * Where the initrd (@size bytes) goes: the highest page-aligned address
 * below @ram_size, above @kernel_end. 0 and *@gpa, or -ENOSPC.
 */
int pvh_place_initrd(uint64_t size, uint64_t kernel_end, uint64_t ram_size,
		     uint64_t *gpa);

/* What the start_info says. */
struct pvh_boot {
	const char *cmdline;
	uint64_t initrd_gpa, initrd_size;	/* size 0: no initrd */
	uint64_t rsdp_gpa;			/* 0: none */
	uint64_t ram_size;
};

/*
 * Write hvm_start_info (version 1) at LINUX_START_INFO, its module list,
 * its memory map (RAM 0-LINUX_LOW_RAM_END, reserved up to LINUX_HIGH_RAM,
 * RAM from there to ram_size) and the command line into @mem (guest RAM
 * from 0, at least LINUX_HIGH_RAM bytes). 0, or -E2BIG if the command
 * line has LINUX_CMDLINE_MAX bytes or more.
 */
int pvh_write_start_info(uint8_t *mem, const struct pvh_boot *b);

/* ---- the MP table (mptable.c) -------------------------------------------- */

/*
 * Write the MP floating pointer and the MP configuration table for
 * @ncpus vCPUs (local APIC IDs 0..ncpus-1, vCPU 0 the BSP; the IOAPIC's
 * ID is ncpus) at LINUX_MPTABLE in @mem (guest RAM from 0). The processor
 * entries carry @cpu_signature and @cpu_features (CPUID leaf 1 EAX, EDX).
 * Returns the bytes written (at most LINUX_MPTABLE_SIZE), or 0 if @ncpus
 * is 0 or above LINUX_MPTABLE_MAX_CPUS (nothing written).
 */
size_t mptable_write(uint8_t *mem, unsigned int ncpus, uint32_t cpu_signature,
		     uint32_t cpu_features);

/* The hvm_start_info layout (the PVH boot ABI, little endian). */
#define PVH_START_MAGIC		0x336ec578u
#define PVH_SI_MAGIC		0
#define PVH_SI_VERSION		4
#define PVH_SI_FLAGS		8
#define PVH_SI_NR_MODULES	12
#define PVH_SI_MODLIST		16
#define PVH_SI_CMDLINE		24
#define PVH_SI_RSDP		32
#define PVH_SI_MEMMAP		40
#define PVH_SI_MEMMAP_ENTRIES	48
#define PVH_SI_SIZE		56
#define PVH_MOD_SIZE		32	/* paddr, size, cmdline, reserved */
#define PVH_MEMMAP_ENTRY_SIZE	24	/* addr, size, type, reserved */
#define PVH_MEMMAP_RAM		1
#define PVH_MEMMAP_RESERVED	2

#endif /* EXAMPLES_VMM_LINUX_H */
