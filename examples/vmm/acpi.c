// SPDX-License-Identifier: MIT
/*
 * tinyvmm's ACPI tables for a Linux guest (acpi.h). docs/examples.md,
 * "ACPI tables for Linux guests", says what each table and flag is for
 * and why.
 *
 * Layout in the buffer, each table 16-byte aligned, every pointer
 * pointing back to a table already written (so one pass writes all):
 *
 *   DSDT   \_SB.COM1 (PNP0501) and one \_SB.VRnn (LNRO0005) per window
 *   FACP   the FADT, revision 6: hardware-reduced ACPI, X_DSDT
 *   APIC   the MADT: local APICs 0..ncpus-1, one IO APIC
 *   XSDT   -> FACP, APIC
 *   RSDP   revision 2 -> XSDT (16-byte aligned, last)
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "acpi.h"
#include "aml.h"

#define OEM_ID "LIBIOR"			/* 6 bytes */
#define OEM_TABLE_ID "TINYVMM "		/* 8 bytes */
#define OEM_REVISION 1
#define CREATOR_ID "LIBI"		/* 4 bytes */
#define CREATOR_REVISION 1

#define HDR_LEN 36			/* every table's header */
#define HDR_LENGTH 4			/* offset of its Length field */
#define HDR_CHECKSUM 9			/* offset of its Checksum field */

/* FADT, ACPI 6.x layout (276 bytes): the offsets of the fields we set. */
#define FADT_LEN 276
#define FADT_REVISION 6
#define FADT_MINOR 3			/* ACPI 6.3 */
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
/* IAPC_BOOT_ARCH */
#define BOOT_LEGACY_DEVICES (1u << 0)	/* ISA-style devices: COM1 */
#define BOOT_8042 (1u << 1)		/* left clear: no keyboard controller */
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)
/* Flags */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4)	/* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)	/* no fixed-feature sleep button */
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* MADT, ACPI 6.3 (revision 5). */
#define MADT_REVISION 5
#define MADT_PCAT_COMPAT (1u << 0)	/* KVM's irqchip has both 8259s */
#define MADT_LAPIC 0			/* entry type, 8 bytes */
#define MADT_LAPIC_LEN 8
#define MADT_LAPIC_ENABLED (1u << 0)
#define MADT_IOAPIC 1			/* entry type, 12 bytes */
#define MADT_IOAPIC_LEN 12

#define DSDT_REVISION 2			/* 64-bit AML integers */
#define XSDT_REVISION 1
#define RSDP_REVISION 2
#define RSDP_LEN 36
#define RSDP_V1_LEN 20			/* what the first checksum covers */

#define TABLE_ALIGN 16

/* What the MMIO windows must stay clear of: the IO APIC's page and the
 * local APIC's (and MSI's) megabyte. */
#define IOAPIC_SPAN 0x1000u
#define LAPIC_SPAN 0x100000u

#define COM1_PORT 0x3f8
#define COM1_PORTS 8

static void checksum(struct aml_buf *b, size_t start, size_t len, size_t at)
{
	uint8_t sum = 0;

	if (b->overflow)
		return;
	b->p[at] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b->p[start + i]);
	b->p[at] = (uint8_t)-sum;
}

static size_t table_begin(struct aml_buf *b, const char *sig, uint8_t rev)
{
	size_t start;

	aml_align(b, TABLE_ALIGN);
	start = b->pos;
	aml_bytes(b, sig, 4);
	aml_le(b, 0, 4);		/* Length: table_end */
	aml_byte(b, rev);
	aml_byte(b, 0);			/* Checksum: table_end */
	aml_bytes(b, OEM_ID, 6);
	aml_bytes(b, OEM_TABLE_ID, 8);
	aml_le(b, OEM_REVISION, 4);
	aml_bytes(b, CREATOR_ID, 4);
	aml_le(b, CREATOR_REVISION, 4);
	return start;
}

static void table_end(struct aml_buf *b, size_t start)
{
	size_t len = b->pos - start;

	aml_patch_le(b, start + HDR_LENGTH, len, 4);
	checksum(b, start, len, start + HDR_CHECKSUM);
}

/* Whether window i shares its interrupt with another window. */
static bool gsi_shared(const struct vmm_acpi_config *cfg, unsigned int i)
{
	for (unsigned int j = 0; j < cfg->nmmio; j++)
		if (j != i && cfg->mmio[j].gsi == cfg->mmio[i].gsi)
			return true;
	return false;
}

/* Name(_CRS, ResourceTemplate() { ... }) for the UART at COM1: edge,
 * active high, ISA IRQ 4. */
static void dsdt_com1(struct aml_buf *b)
{
	size_t dev, crs;

	dev = aml_device_begin(b, "COM1");
	aml_name(b, "_HID");
	aml_eisa_id(b, "PNP0501");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_CRS");
	crs = aml_buffer_begin(b);
	aml_res_io16(b, COM1_PORT, COM1_PORT, 1, COM1_PORTS);
	aml_res_irq_noflags(b, VMM_ACPI_GSI_COM1);
	aml_res_end(b);
	aml_buffer_end(b, crs);
	aml_end(b, dev);
}

static void dsdt_virtio(struct aml_buf *b, const struct vmm_acpi_config *cfg,
			unsigned int i)
{
	static const char hex[] = "0123456789ABCDEF";
	const struct vmm_acpi_mmio *w = &cfg->mmio[i];
	char name[5] = { 'V', 'R', hex[(i >> 4) & 15], hex[i & 15], 0 };
	size_t dev, crs;

	dev = aml_device_begin(b, name);
	aml_name(b, "_HID");
	aml_string(b, "LNRO0005");
	aml_name(b, "_UID");
	aml_integer(b, i);
	aml_name(b, "_CRS");
	crs = aml_buffer_begin(b);
	aml_res_mem32_fixed(b, true, (uint32_t)w->base, w->size);
	aml_res_interrupt(b, false, false, gsi_shared(cfg, i), w->gsi);
	aml_res_end(b);
	aml_buffer_end(b, crs);
	aml_end(b, dev);
}

static size_t build_dsdt(struct aml_buf *b, const struct vmm_acpi_config *cfg)
{
	size_t start = table_begin(b, "DSDT", DSDT_REVISION);
	size_t sb = aml_scope_begin(b, "\\_SB_");

	dsdt_com1(b);
	for (unsigned int i = 0; i < cfg->nmmio; i++)
		dsdt_virtio(b, cfg, i);
	aml_end(b, sb);
	table_end(b, start);
	return start;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static size_t build_fadt(struct aml_buf *b, uint64_t dsdt_gpa)
{
	uint8_t f[FADT_LEN - HDR_LEN] = { 0 };
	size_t start = table_begin(b, "FACP", FADT_REVISION);

	/* Everything else stays 0: no FACS, no SCI, no SMI command port, no
	 * PM1/PM2/GPE/PM timer blocks, no reset or sleep registers. The
	 * 32-bit DSDT field too: X_DSDT replaces it. */
	put_le(f + FADT_IAPC_BOOT_ARCH - HDR_LEN, BOOT_LEGACY_DEVICES |
	       BOOT_VGA_NOT_PRESENT | BOOT_CMOS_RTC_NOT_PRESENT, 2);
	put_le(f + FADT_FLAGS - HDR_LEN, FADT_WBINVD | FADT_PROC_C1 |
	       FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_HW_REDUCED_ACPI, 4);
	f[FADT_MINOR_VERSION - HDR_LEN] = FADT_MINOR;
	put_le(f + FADT_X_DSDT - HDR_LEN, dsdt_gpa, 8);
	aml_bytes(b, f, sizeof(f));
	table_end(b, start);
	return start;
}

static size_t build_madt(struct aml_buf *b, const struct vmm_acpi_config *cfg)
{
	size_t start = table_begin(b, "APIC", MADT_REVISION);

	aml_le(b, VMM_ACPI_LAPIC_ADDR, 4);
	aml_le(b, MADT_PCAT_COMPAT, 4);
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		aml_byte(b, MADT_LAPIC);
		aml_byte(b, MADT_LAPIC_LEN);
		aml_byte(b, (uint8_t)i);	/* ACPI processor UID */
		aml_byte(b, (uint8_t)i);	/* APIC id */
		aml_le(b, MADT_LAPIC_ENABLED, 4);
	}
	aml_byte(b, MADT_IOAPIC);
	aml_byte(b, MADT_IOAPIC_LEN);
	aml_byte(b, (uint8_t)cfg->ncpus);	/* IO APIC id */
	aml_byte(b, 0);
	aml_le(b, VMM_ACPI_IOAPIC_ADDR, 4);
	aml_le(b, 0, 4);			/* its first GSI */
	table_end(b, start);
	return start;
}

static size_t build_xsdt(struct aml_buf *b, uint64_t fadt_gpa,
			 uint64_t madt_gpa)
{
	size_t start = table_begin(b, "XSDT", XSDT_REVISION);

	aml_le(b, fadt_gpa, 8);
	aml_le(b, madt_gpa, 8);
	table_end(b, start);
	return start;
}

static size_t build_rsdp(struct aml_buf *b, uint64_t xsdt_gpa)
{
	size_t start;

	aml_align(b, TABLE_ALIGN);
	start = b->pos;
	aml_bytes(b, "RSD PTR ", 8);
	aml_byte(b, 0);			/* Checksum: the first 20 bytes */
	aml_bytes(b, OEM_ID, 6);
	aml_byte(b, RSDP_REVISION);
	aml_le(b, 0, 4);		/* RsdtAddress: none, the XSDT only */
	aml_le(b, RSDP_LEN, 4);
	aml_le(b, xsdt_gpa, 8);
	aml_byte(b, 0);			/* Extended Checksum: all 36 */
	aml_le(b, 0, 3);
	checksum(b, start, RSDP_V1_LEN, start + 8);
	checksum(b, start, RSDP_LEN, start + 32);
	return start;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_window(const struct vmm_acpi_mmio *w)
{
	if (w->size == 0 || w->base > UINT32_MAX ||
	    w->size > (uint64_t)UINT32_MAX + 1 - w->base)
		return -EINVAL;
	if (overlaps(w->base, w->size, VMM_ACPI_IOAPIC_ADDR, IOAPIC_SPAN) ||
	    overlaps(w->base, w->size, VMM_ACPI_LAPIC_ADDR, LAPIC_SPAN))
		return -EINVAL;
	if (w->gsi > VMM_ACPI_MAX_GSI || w->gsi == VMM_ACPI_GSI_PIT ||
	    w->gsi == VMM_ACPI_GSI_COM1)
		return -EINVAL;
	return 0;
}

static int check_config(const struct vmm_acpi_config *cfg)
{
	if (cfg->ncpus == 0 || cfg->ncpus > VMM_ACPI_MAX_CPUS)
		return -EINVAL;
	if (cfg->nmmio > VMM_ACPI_MAX_MMIO ||
	    (cfg->nmmio > 0 && cfg->mmio == NULL))
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nmmio; i++) {
		const struct vmm_acpi_mmio *w = &cfg->mmio[i];

		if (check_window(w) < 0)
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++)
			if (overlaps(w->base, w->size, cfg->mmio[j].base,
				     cfg->mmio[j].size))
				return -EINVAL;
	}
	return 0;
}

ssize_t vmm_acpi_build(void *buf, uint64_t gpa, size_t len,
		       const struct vmm_acpi_config *cfg, uint64_t *rsdp_gpa)
{
	struct aml_buf b = { .p = buf, .cap = len };
	size_t dsdt, fadt, madt, xsdt, rsdp;

	if (buf == NULL || cfg == NULL || rsdp_gpa == NULL)
		return -EINVAL;
	if ((gpa & (TABLE_ALIGN - 1)) != 0 || len > UINT64_MAX - gpa)
		return -EINVAL;
	if (check_config(cfg) < 0)
		return -EINVAL;

	dsdt = build_dsdt(&b, cfg);
	fadt = build_fadt(&b, gpa + dsdt);
	madt = build_madt(&b, cfg);
	xsdt = build_xsdt(&b, gpa + fadt, gpa + madt);
	rsdp = build_rsdp(&b, gpa + xsdt);
	if (b.overflow)
		return -ENOSPC;
	if (b.pos > SSIZE_MAX)
		return -EINVAL;
	*rsdp_gpa = gpa + rsdp;
	return (ssize_t)b.pos;
}
