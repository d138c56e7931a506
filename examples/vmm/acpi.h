/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's ACPI tables for a Linux guest (acpi.c, its AML encoder in
 * aml.c): RSDP, XSDT, FADT, MADT and a DSDT that names the 16550 at COM1
 * and one virtio-mmio device (_HID "LNRO0005") per register window. Pure
 * table building: no KVM, no I/O, so the unit tests
 * (tests/test-vmm-acpi*.c) link these two files alone. docs/examples.md, "ACPI tables for Linux
 * guests", explains every table and flag.
 */
#ifndef EXAMPLES_VMM_ACPI_H
#define EXAMPLES_VMM_ACPI_H

#include <stddef.h>
#include <stdbool.h>
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
/** The most virtio-mmio windows (device names VR00..VRFF). */
#define VMM_ACPI_MAX_MMIO 256u
/** GSI of the COM1 UART (0x3f8, ISA IRQ 4, edge): not for a window. */
#define VMM_ACPI_GSI_COM1 4u
/** GSI where KVM's in-kernel PIT raises ISA IRQ 0 (KVM's default routing
 * wires GSI 0 to IO APIC pin 0): not for a window. */
#define VMM_ACPI_GSI_PIT 0u
/** GSI (and ISA IRQ) of the SCI, ACPI's own interrupt, as on a PC: level,
 * active high (the MADT's override says so). A window may use it too: it
 * is then marked Shared. */
#define VMM_ACPI_GSI_SCI 9u
/** The first port of the PM1a event block (status, enable: 2 bytes each);
 * the PM1a control block (2 bytes) follows at +4. The VMM answers them
 * (tinyvmm: pm.c). */
#define VMM_ACPI_PM_BASE 0x600u
/** The PM1 event block's length, then the control block's. */
#define VMM_ACPI_PM1_EVT_LEN 4u
#define VMM_ACPI_PM1_CNT_LEN 2u
/** SLP_TYP for S5 (soft off) in the DSDT's \\_S5 package: a write of
 * SLP_EN with this SLP_TYP to PM1a control powers the guest off. */
#define VMM_ACPI_SLP_TYP_S5 5u

/** One virtio-mmio window the guest finds through the DSDT (an LNRO0005 device). */
struct vmm_acpi_mmio {
	uint64_t base;     /**< guest-physical start of the register window */
	uint32_t size;     /**< its length (0x200 for virtio-mmio) */
	uint32_t gsi;      /**< its interrupt: IOAPIC pin, active high */
	bool edge;         /**< the line is edge-triggered (default: level) */
};

/** What the tables describe. */
struct vmm_acpi_config {
	unsigned int ncpus;                 /**< local APICs 0..ncpus-1, all enabled */
	const struct vmm_acpi_mmio *mmio;   /**< virtio-mmio windows */
	unsigned int nmmio;                 /**< how many (0 is fine) */
};

/**
 * Build the ACPI tables into @p buf, which the guest sees at guest-physical
 * @p gpa: RSDP (revision 2), XSDT, FADT (revision 6, full ACPI as on a
 * PC: SCI on VMM_ACPI_GSI_SCI, no SMI command port, the PM1a event and
 * control blocks at VMM_ACPI_PM_BASE, no PM timer, no GPE blocks; no CMOS
 * RTC, no VGA, no 8042), FACS, MADT (local APICs 0..ncpus-1, one IO APIC
 * at VMM_ACPI_IOAPIC_ADDR with id ncpus and GSI base 0, one interrupt
 * source override: the SCI level, active high; otherwise KVM's default
 * routing, the identity) and a DSDT with \\_S5 (SLP_TYP
 * VMM_ACPI_SLP_TYP_S5), COM1 (PNP0501: ports 0x3f8-0x3ff, IRQ 4) and one
 * LNRO0005 device per window (_HID "LNRO0005", _UID = its index, _CRS =
 * Memory32Fixed(ReadWrite) + Interrupt(ResourceConsumer, Level,
 * ActiveHigh, Exclusive, or Shared when windows share a gsi or use the
 * SCI's)).
 *
 * Nothing is written past @p len; on error the contents of @p buf are
 * unspecified.
 *
 * @param buf       where the tables go (any alignment)
 * @param gpa       the guest-physical address of buf[0] (16-byte aligned;
 *                  the tables use 64-bit pointers only, so any address)
 * @param len       the bytes available at @p buf
 * @param cfg       what to describe
 * @param rsdp_gpa  set to the RSDP's guest-physical address on success
 * @return the bytes used (> 0) on success, or a negative errno
 * @retval -EINVAL  @p buf, @p cfg or @p rsdp_gpa NULL; @p gpa not 16-byte
 *                  aligned, or @p gpa + @p len past the 64-bit space;
 *                  ncpus 0 or more than VMM_ACPI_MAX_CPUS; nmmio above
 *                  VMM_ACPI_MAX_MMIO, or > 0 with a NULL mmio; a window
 *                  of size 0, not inside the 32-bit space, overlapping
 *                  another window, the IO APIC's page (4 KiB at
 *                  VMM_ACPI_IOAPIC_ADDR) or the local APIC's megabyte
 *                  (at VMM_ACPI_LAPIC_ADDR); a gsi above VMM_ACPI_MAX_GSI,
 *                  or VMM_ACPI_GSI_PIT or VMM_ACPI_GSI_COM1. Checked
 *                  before anything is written.
 * @retval -ENOSPC  @p len smaller than the tables need (a valid config)
 */
ssize_t vmm_acpi_build(void *buf, uint64_t gpa, size_t len,
		       const struct vmm_acpi_config *cfg, uint64_t *rsdp_gpa);

#endif
