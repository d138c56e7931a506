/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's ACPI tables for a Linux guest (acpi.c): RSDP, XSDT, FADT,
 * MADT and a DSDT that names one virtio-mmio device (_HID "LNRO0005")
 * per register window. Pure table building: no KVM, no I/O, so the unit
 * test (tests/test-vmm-acpi.c) links this file alone.
 */
#ifndef EXAMPLES_VMM_ACPI_H
#define EXAMPLES_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** The IO APIC's MMIO base in the MADT (the address KVM's in-kernel one uses). */
#define VMM_ACPI_IOAPIC_ADDR 0xfec00000u
/** The local APICs' MMIO base in the MADT. */
#define VMM_ACPI_LAPIC_ADDR 0xfee00000u
/** The last IO APIC pin (KVM's in-kernel IO APIC has 24). */
#define VMM_ACPI_MAX_GSI 23u
/** The most CPUs the MADT describes (8-bit APIC ids; the IO APIC's id is ncpus). */
#define VMM_ACPI_MAX_CPUS 255u

/** One virtio-mmio window the guest finds through the DSDT (an LNRO0005 device). */
struct vmm_acpi_mmio {
	uint64_t base;     /**< guest-physical start of the register window */
	uint32_t size;     /**< its length (0x200 for virtio-mmio) */
	uint32_t gsi;      /**< its interrupt: IOAPIC pin (level, active high) */
};

/** What the tables describe. */
struct vmm_acpi_config {
	unsigned int ncpus;                 /**< local APICs 0..ncpus-1, all enabled */
	const struct vmm_acpi_mmio *mmio;   /**< virtio-mmio windows */
	unsigned int nmmio;                 /**< how many (0 is fine) */
};

/**
 * Build the ACPI tables into @p buf, which the guest sees at guest-physical
 * @p gpa: RSDP (revision 2), XSDT, FADT (revision 6, hardware-reduced, no
 * CMOS RTC, no VGA, no 8042), MADT (local APICs 0..ncpus-1, one IO APIC at
 * VMM_ACPI_IOAPIC_ADDR with id ncpus and GSI base 0, the ISA IRQ 0 -> GSI 2
 * override that KVM's in-kernel PIT needs) and a DSDT with one LNRO0005
 * device per window (_HID, _UID, _CRS = Memory32Fixed + Interrupt).
 *
 * Nothing is written past @p len; on error the contents of @p buf are
 * unspecified.
 *
 * @param buf       where the tables go (any alignment)
 * @param gpa       the guest-physical address of buf[0] (16-byte aligned,
 *                  below 4 GiB: the RSDP's 32-bit RSDT field and the
 *                  FADT's legacy fields are 32-bit)
 * @param len       the bytes available at @p buf
 * @param cfg       what to describe
 * @param rsdp_gpa  set to the RSDP's guest-physical address on success
 * @return the bytes used (> 0) on success, or a negative errno
 * @retval -EINVAL  @p buf, @p cfg or @p rsdp_gpa NULL; @p gpa not 16-byte
 *                  aligned or the tables would not lie below 4 GiB; ncpus
 *                  0 or more than VMM_ACPI_MAX_CPUS; nmmio > 0 with a NULL
 *                  mmio; a window of size 0, not inside the 32-bit space,
 *                  overlapping another window or the APICs' pages; a gsi
 *                  above VMM_ACPI_MAX_GSI
 * @retval -ENOSPC  @p len smaller than the tables need
 */
ssize_t vmm_acpi_build(void *buf, uint64_t gpa, size_t len,
		       const struct vmm_acpi_config *cfg, uint64_t *rsdp_gpa);

#endif
