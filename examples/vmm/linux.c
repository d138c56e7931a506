/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's Linux mode (--kernel VMLINUX): the kernel and the initrd in
 * guest RAM (checked by pvh.c before KVM is even opened), KVM's PIT,
 * the firmware tables and the hvm_start_info once the devices are
 * attached, and vCPU 0's entry state: 32-bit protected mode, paging
 * off, flat 4 GiB segments, EBX = the start_info. The memory map is in
 * linux.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "acpi.h"
#include "vmm.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define FILE_MAX (1ull << 30)		/* a kernel or an initrd */

/* Read @fd's @len bytes into @buf. 0 or -errno. */
static int
read_all(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* shorter than it was */
		done += (size_t)n;
	}
	return 0;
}

/* Open @path and its size (at most FILE_MAX). fd, or -1 (printed). */
static int
open_sized(struct vmm *vm, const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		vmm_fail(vm, path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FILE_MAX) {
		fprintf(stderr, "%s: %s: not a regular file of at most 1 GiB\n",
			vm->prog, path);
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int
vmm_linux_open(struct vmm *vm)
{
	struct vmm_linux *l = &vm->lnx;
	char err[PVH_ERR_MAX];
	uint64_t size;
	int fd, rc;

	l->initrd_fd = -1;
	fd = open_sized(vm, vm->opts.kernel, &size);
	if (fd < 0)
		return -TINYVMM_EXIT_ERROR;
	l->len = (size_t)size;
	l->file = malloc(l->len ? l->len : 1);
	rc = l->file ? read_all(fd, l->file, l->len) : -ENOMEM;
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", vm->prog, vm->opts.kernel,
			strerror(-rc));
		return -TINYVMM_EXIT_ERROR;
	}
	rc = pvh_parse(l->file, l->len, LINUX_HIGH_RAM, vm->mem_size,
		       &l->kernel, err);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", vm->prog, vm->opts.kernel, err);
		return -TINYVMM_EXIT_ERROR;
	}
	if (vm->opts.initrd) {
		l->initrd_fd = open_sized(vm, vm->opts.initrd, &l->initrd_size);
		if (l->initrd_fd < 0)
			return -TINYVMM_EXIT_ERROR;
		if (l->initrd_size == 0) {
			fprintf(stderr, "%s: %s: empty\n", vm->prog,
				vm->opts.initrd);
			return -TINYVMM_EXIT_ERROR;
		}
		if (pvh_place_initrd(l->initrd_size, l->kernel.end,
				     vm->mem_size, &l->initrd_gpa) < 0) {
			fprintf(stderr, "%s: %s: %" PRIu64 " bytes do not fit "
				"between the kernel's end (%#" PRIx64 ") and the "
				"end of RAM (%#zx; more --mem?)\n", vm->prog,
				vm->opts.initrd, l->initrd_size,
				l->kernel.end, vm->mem_size);
			return -TINYVMM_EXIT_ERROR;
		}
	}
	if (strlen(vm->opts.cmdline) >= LINUX_CMDLINE_MAX) {
		fprintf(stderr, "%s: --cmdline: longer than %d bytes\n",
			vm->prog, LINUX_CMDLINE_MAX - 1);
		return -TINYVMM_EXIT_ERROR;
	}
	return 0;
}

int
vmm_linux_load(struct vmm *vm)
{
	struct vmm_linux *l = &vm->lnx;
	int rc;

	pvh_load(&l->kernel, l->file, vm->mem);
	free(l->file);
	l->file = NULL;
	fprintf(stderr, "%s: kernel %s: %u segment(s) %#" PRIx64 "-%#" PRIx64
		", PVH entry %#x\n", vm->prog, vm->opts.kernel, l->kernel.nseg,
		l->kernel.start, l->kernel.end, l->kernel.entry);
	if (l->initrd_fd < 0)
		return 0;
	rc = read_all(l->initrd_fd, vm->mem + l->initrd_gpa,
		      (size_t)l->initrd_size);
	close(l->initrd_fd);
	l->initrd_fd = -1;
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", vm->prog, vm->opts.initrd,
			strerror(-rc));
		return -TINYVMM_EXIT_ERROR;
	}
	fprintf(stderr, "%s: initrd %s: %#" PRIx64 "+%#" PRIx64 "\n",
		vm->prog, vm->opts.initrd, l->initrd_gpa, l->initrd_size);
	return 0;
}

int
vmm_linux_pit(struct vmm *vm)
{
	/* Port 0x61's speaker bits as a dummy, so Linux's PIT calibration
	 * reads its gate and output from KVM too. */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vmm_fail(vm, "KVM_CREATE_PIT2");
	return 0;
}

/* The register window (first MMIO region, and the device's regions right
 * after it) and interrupt (first --irq) of the --virtio device @name. 0,
 * or -1 (message printed). */
static int
virtio_window(struct vmm *vm, const char *name, struct vmm_acpi_mmio *w)
{
	const struct vmm_region *r = NULL;

	for (unsigned int i = 0; i < vm->nregions && !r; i++)
		if (!strcmp(vm->regions[i].dev->name, name) &&
		    !(vm->regions[i].desc.flags & IOREGION_F_PIO))
			r = &vm->regions[i];
	if (!r || r->desc.size == 0 || r->desc.size > UINT32_MAX) {
		fprintf(stderr, "%s: --virtio %s: the device has no MMIO region "
			"for a register window\n", vm->prog, name);
		return -1;
	}
	w->base = r->desc.addr;
	w->size = (uint32_t)r->desc.size;
	/* A window split into regions (QueueNotify posted on its own: see
	 * ioregion_virtio_mmio_ranges()) is one window: take in the device's
	 * MMIO regions that follow on without a gap. */
	for (bool grew = true; grew;) {
		grew = false;
		for (unsigned int i = 0; i < vm->nregions; i++) {
			const struct vmm_region *n = &vm->regions[i];

			if (n->dev == r->dev && !(n->desc.flags & IOREGION_F_PIO) &&
			    n->desc.addr == w->base + w->size &&
			    n->desc.size <= UINT32_MAX - w->size) {
				w->size += (uint32_t)n->desc.size;
				grew = true;
			}
		}
	}
	for (unsigned int i = 0; i < vm->nirqs; i++)
		if (!strcmp(vm->irqs[i].device, name)) {
			w->gsi = vm->irqs[i].gsi;
			/* the _CRS says what the line is: Linux programs the
			 * IOAPIC pin from it, and a pulse (edge irqfd) on a
			 * pin programmed level is lost while the previous
			 * interrupt waits for its EOI (KVM's remote IRR) */
			w->edge = !vm->irqs[i].level;
			break;	/* parse_args checked there is one */
		}
	fprintf(stderr, "%s: acpi virtio-mmio %-12s mmio 0x%" PRIx64 "+%#x "
		"GSI %u %s\n", vm->prog, name, w->base, w->size, w->gsi,
		w->edge ? "edge" : "level");
	return 0;
}

/* The ACPI tables at LINUX_ACPI: the vCPUs, the IOAPIC, COM1, the
 * --virtio windows. */
static int
acpi_tables(struct vmm *vm)
{
	struct vmm_acpi_mmio win[MAX_SPAWN + 1];
	struct vmm_acpi_config cfg = { .ncpus = vm->opts.nvcpus, .mmio = win,
				       .nmmio = vm->opts.nvirtio };
	ssize_t n;

	for (unsigned int i = 0; i < vm->opts.nvirtio; i++)
		if (virtio_window(vm, vm->opts.virtio[i], &win[i]) < 0)
			return -TINYVMM_EXIT_ERROR;
	/* --in-vmm-blk: the same kind of window, served inside tinyvmm */
	if (vmm_inblk_window(vm, &win[cfg.nmmio]) == 1) {
		fprintf(stderr, "%s: acpi virtio-mmio %-12s mmio 0x%" PRIx64
			"+%#x GSI %u\n", vm->prog, "in-vmm-blk",
			win[cfg.nmmio].base, win[cfg.nmmio].size,
			win[cfg.nmmio].gsi);
		cfg.nmmio++;
	}
	n = vmm_acpi_build(vm->mem + LINUX_ACPI, LINUX_ACPI, LINUX_ACPI_SIZE,
			   &cfg, &vm->lnx.rsdp_gpa);
	if (n < 0) {
		fprintf(stderr, "%s: ACPI tables: %s (a --virtio window that "
			"overlaps another or an APIC, or its GSI %u or %u, which "
			"are COM1's and the PIT's?)\n", vm->prog,
			strerror((int)-n), VMM_ACPI_GSI_COM1, VMM_ACPI_GSI_PIT);
		return -TINYVMM_EXIT_ERROR;
	}
	fprintf(stderr, "%s: acpi tables at %#llx, %zd bytes, RSDP at %#" PRIx64
		"\n", vm->prog, LINUX_ACPI, n, vm->lnx.rsdp_gpa);
	return 0;
}

int
vmm_linux_tables(struct vmm *vm)
{
	struct vmm_linux *l = &vm->lnx;
	struct pvh_boot b = {
		.cmdline = vm->opts.cmdline,
		.initrd_gpa = l->initrd_gpa,
		.initrd_size = l->initrd_size,
		.rsdp_gpa = l->rsdp_gpa,
		.ram_size = vm->mem_size,
	};

	uint32_t sig = 0, features = 0;

	if (acpi_tables(vm) < 0)
		return -TINYVMM_EXIT_ERROR;
	b.rsdp_gpa = l->rsdp_gpa;
	for (unsigned int i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 1) {
			sig = vm->cpuid->entries[i].eax;
			features = vm->cpuid->entries[i].edx;
		}
	/* --vcpus is at most TINYVMM_MAX_VCPUS: it fits. */
	mptable_write(vm->mem, vm->opts.nvcpus, sig, features);
	/* The length was checked in vmm_linux_open(). */
	if (pvh_write_start_info(vm->mem, &b) < 0)
		return -TINYVMM_EXIT_ERROR;
	fprintf(stderr, "%s: cmdline: %s\n", vm->prog, vm->opts.cmdline);
	return 0;
}

static void
flat32(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .s = 1, .db = 1, .g = 1,
	};
}

int
vmm_linux_entry(struct vmm *vm, struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	if (v->index != 0)
		return 0;	/* an AP: KVM holds it until INIT/SIPI */
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return vmm_fail(vm, "KVM_GET_SREGS");
	flat32(&sregs.cs, TINYVMM_SEL_CODE, 11);	/* execute/read */
	flat32(&sregs.ds, TINYVMM_SEL_DATA, 3);		/* read/write */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .limit = 0x67, .type = 11,
		.present = 1, .selector = TINYVMM_SEL_TSS };
	sregs.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	sregs.gdt.base = sregs.idt.base = 0;
	sregs.gdt.limit = sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr3 = sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return vmm_fail(vm, "KVM_SET_SREGS");
	regs.rflags = 0x2;
	regs.rip = vm->lnx.kernel.entry;
	regs.rbx = LINUX_START_INFO;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return vmm_fail(vm, "KVM_SET_REGS");
	return 0;
}

void
vmm_linux_close(struct vmm *vm)
{
	free(vm->lnx.file);
	vm->lnx.file = NULL;
	if (vm->lnx.initrd_fd >= 0)
		close(vm->lnx.initrd_fd);
	vm->lnx.initrd_fd = -1;
}
