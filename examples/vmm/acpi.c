// SPDX-License-Identifier: MIT
/*
 * tinyvmm's ACPI tables for a Linux guest (acpi.h). docs/examples.md,
 * "ACPI tables for Linux guests", says what each table and flag is for
 * and why.
 *
 * Layout in the buffer, each table 16-byte aligned, every pointer
 * pointing back to a table already written (so one pass writes all):
 *
 *   DSDT   \_S5_ (the soft-off SLP_TYP), \_SB.COM1 (PNP0501) and one
 *          \_SB.VRnn (LNRO0005) per window
 *   FACS   64-byte aligned: no waking vector, the global lock free
 *   FACP   the FADT, revision 6: full ACPI as on a PC (SCI 9, the PM1a
 *          event and control blocks, no SMI port), X_DSDT, X_FIRMWARE_CTRL
 *   APIC   the MADT: local APICs 0..ncpus-1, one IO APIC, the SCI's
 *          interrupt source override
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
#define FADT_SCI_INT 46
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_NO_C2 0x0fff		/* P_LVL2_LAT above 100: no C2 */
#define FADT_NO_C3 0x0fff		/* P_LVL3_LAT above 1000: no C3 */
/* Generic address structure: space, bit width, bit offset, access size,
 * address (8 bytes). */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_WORD 2
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

/* FACS, 64 bytes, 64-byte aligned, no checksum. */
#define FACS_LEN 64
#define FACS_ALIGN 64
#define FACS_VERSION 2
#define FACS_OFF_VERSION 32

/* MADT, ACPI 6.3 (revision 5). */
#define MADT_REVISION 5
#define MADT_PCAT_COMPAT (1u << 0)	/* KVM's irqchip has both 8259s */
#define MADT_LAPIC 0			/* entry type, 8 bytes */
#define MADT_LAPIC_LEN 8
#define MADT_LAPIC_ENABLED (1u << 0)
#define MADT_IOAPIC 1			/* entry type, 12 bytes */
#define MADT_IOAPIC_LEN 12
#define MADT_ISO 2			/* interrupt source override, 10 bytes */
#define MADT_ISO_LEN 10
#define MADT_ISO_ISA_BUS 0
#define MADT_ISO_ACTIVE_HIGH 0x1	/* MPS INTI flags: polarity bits 0-1 */
#define MADT_ISO_LEVEL (0x3 << 2)	/* trigger mode bits 2-3 */

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

/* Whether window i shares its interrupt with another window or the SCI. */
static bool gsi_shared(const struct vmm_acpi_config *cfg, unsigned int i)
{
	if (cfg->mmio[i].gsi == VMM_ACPI_GSI_SCI)
		return true;
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
	aml_res_interrupt(b, w->edge, false, gsi_shared(cfg, i), w->gsi);
	aml_res_end(b);
	aml_buffer_end(b, crs);
	aml_end(b, dev);
}

/* Name(_S5_, Package(4) {S5, S5, 0, 0}): SLP_TYP for PM1a and PM1b
 * control (there is no PM1b; the value is the same as PCs give), then
 * two reserved. */
static void dsdt_s5(struct aml_buf *b)
{
	size_t pkg;

	aml_name(b, "_S5_");
	pkg = aml_package_begin(b, 4);
	aml_integer(b, VMM_ACPI_SLP_TYP_S5);
	aml_integer(b, VMM_ACPI_SLP_TYP_S5);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_end(b, pkg);
}

static size_t build_dsdt(struct aml_buf *b, const struct vmm_acpi_config *cfg)
{
	size_t start = table_begin(b, "DSDT", DSDT_REVISION);
	size_t sb;

	dsdt_s5(b);
	sb = aml_scope_begin(b, "\\_SB_");

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

/* A generic address structure for @bits of system I/O at @port. */
static void put_gas_io(uint8_t *g, unsigned int bits, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = (uint8_t)bits;
	g[2] = 0;
	g[3] = GAS_ACCESS_WORD;
	put_le(g + 4, port, 8);
}

static size_t build_facs(struct aml_buf *b)
{
	uint8_t f[FACS_LEN] = { 'F', 'A', 'C', 'S' };
	size_t start;

	aml_align(b, FACS_ALIGN);
	start = b->pos;
	put_le(f + 4, FACS_LEN, 4);
	f[FACS_OFF_VERSION] = FACS_VERSION;
	aml_bytes(b, f, sizeof(f));
	return start;
}

static size_t build_fadt(struct aml_buf *b, uint64_t dsdt_gpa,
			 uint64_t facs_gpa)
{
	uint8_t f[FADT_LEN - HDR_LEN] = { 0 };
	size_t start = table_begin(b, "FACP", FADT_REVISION);
	const uint16_t evt = VMM_ACPI_PM_BASE;
	const uint16_t cnt = VMM_ACPI_PM_BASE + VMM_ACPI_PM1_EVT_LEN;

#define F(off) (f + (off) - HDR_LEN)
	/* Everything else stays 0: no SMI command port (ACPI mode is always
	 * on), no PM1b, PM2, GPE or PM timer blocks, no reset or sleep
	 * registers. The 32-bit DSDT and FIRMWARE_CTRL fields too: X_DSDT and
	 * X_FIRMWARE_CTRL replace them. The PM1a blocks in both forms, the
	 * same ports. */
	put_le(F(FADT_SCI_INT), VMM_ACPI_GSI_SCI, 2);
	put_le(F(FADT_PM1A_EVT_BLK), evt, 4);
	put_le(F(FADT_PM1A_CNT_BLK), cnt, 4);
	*F(FADT_PM1_EVT_LEN) = VMM_ACPI_PM1_EVT_LEN;
	*F(FADT_PM1_CNT_LEN) = VMM_ACPI_PM1_CNT_LEN;
	put_le(F(FADT_P_LVL2_LAT), FADT_NO_C2, 2);
	put_le(F(FADT_P_LVL3_LAT), FADT_NO_C3, 2);
	put_le(F(FADT_IAPC_BOOT_ARCH), BOOT_LEGACY_DEVICES |
	       BOOT_VGA_NOT_PRESENT | BOOT_CMOS_RTC_NOT_PRESENT, 2);
	put_le(F(FADT_FLAGS), FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
	       FADT_SLP_BUTTON, 4);
	*F(FADT_MINOR_VERSION) = FADT_MINOR;
	put_le(F(FADT_X_FIRMWARE_CTRL), facs_gpa, 8);
	put_le(F(FADT_X_DSDT), dsdt_gpa, 8);
	put_gas_io(F(FADT_X_PM1A_EVT_BLK), 8 * VMM_ACPI_PM1_EVT_LEN, evt);
	put_gas_io(F(FADT_X_PM1A_CNT_BLK), 8 * VMM_ACPI_PM1_CNT_LEN, cnt);
#undef F
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
	/* The SCI: ISA IRQ 9 stays GSI 9 (KVM's default routing: IO APIC
	 * pin 9, and the second 8259's pin 1), level and active high, as
	 * PCs and QEMU say (ACPI's default for an SCI without an override is
	 * active low; KVM's IO APIC ignores the polarity bit, so high is
	 * what a raised line means). The other ISA IRQs keep the ISA
	 * default, edge and active high on the pin of their number, which
	 * needs no entry. */
	aml_byte(b, MADT_ISO);
	aml_byte(b, MADT_ISO_LEN);
	aml_byte(b, MADT_ISO_ISA_BUS);
	aml_byte(b, VMM_ACPI_GSI_SCI);		/* source: ISA IRQ */
	aml_le(b, VMM_ACPI_GSI_SCI, 4);		/* GSI */
	aml_le(b, MADT_ISO_ACTIVE_HIGH | MADT_ISO_LEVEL, 2);
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
	size_t dsdt, facs, fadt, madt, xsdt, rsdp;

	if (buf == NULL || cfg == NULL || rsdp_gpa == NULL)
		return -EINVAL;
	if ((gpa & (TABLE_ALIGN - 1)) != 0 || len > UINT64_MAX - gpa)
		return -EINVAL;
	if (check_config(cfg) < 0)
		return -EINVAL;

	dsdt = build_dsdt(&b, cfg);
	facs = build_facs(&b);
	fadt = build_fadt(&b, gpa + dsdt, gpa + facs);
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
