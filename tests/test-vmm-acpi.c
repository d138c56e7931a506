// SPDX-License-Identifier: MIT
/*
 * tinyvmm's ACPI tables (examples/vmm/acpi.c), linked alone: checksums,
 * lengths, the pointers RSDP -> XSDT -> FADT -> DSDT, FACS and -> MADT,
 * the FADT's fixed hardware, MADT entries per CPU count and the SCI's
 * override, the DSDT's AML walked by hand (vmm-acpi-fixture.c), every class of
 * bad config (-EINVAL), every too-small length (-ENOSPC, nothing written
 * past it). test-vmm-acpi-iasl.c is the other half: ACPICA, which we did
 * not write, reads them back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm-acpi-fixture.h"

START_TEST(test_tables_checksums_lengths_pointers)
{
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 1, two_windows, 2, &rsdp);
	struct tables t = walk(rsdp, used);

	/* The RSDP is the last table: the bytes used end with it. */
	ior_assert_uint_eq(rsdp + 36, GPA + (uint64_t)used);
	ior_assert_uint_eq(t.fadt[8], 6);		/* revision */
	ior_assert_uint_eq(t.fadt[131], 3);		/* minor: 6.3 */
	ior_assert_uint_eq(t.madt[8], 5);
	ior_assert_uint_eq(t.dsdt[8], 2);
	ior_assert_uint_eq(t.xsdt[8], 1);
}
END_TEST

/* A generic address structure at @g: system I/O, @bits wide, at @port. */
static void check_gas_io(const uint8_t *g, unsigned int bits, uint64_t port)
{
	ior_assert_uint_eq(g[0], 1);		/* SystemIO */
	ior_assert_uint_eq(g[1], bits);		/* bit width */
	ior_assert_uint_eq(g[2], 0);		/* bit offset */
	ior_assert_uint_eq(g[3], 2);		/* word access */
	ior_assert_uint_eq(rd64(g + 4), port);
}

/* A full (not hardware-reduced) FADT, as on a PC: an SCI on IRQ 9, no
 * SMI command port (always in ACPI mode), the PM1a event and control
 * blocks, and nothing else of the fixed hardware. */
START_TEST(test_fadt_flags)
{
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 2, two_windows, 2, &rsdp);
	struct tables t = walk(rsdp, used);
	uint16_t boot = (uint16_t)(t.fadt[109] | t.fadt[110] << 8);
	uint32_t flags = rd32(t.fadt + 112);

	ior_assert_uint_eq(flags & (1u << 20), 0);	/* not HW reduced */
	ior_assert_uint_eq(flags, 0x35);	/* WBINVD PROC_C1 PWR SLP */
	ior_assert_uint_eq(boot, 0x25);		/* legacy, no VGA, no RTC */
	ior_assert_uint_eq(boot & (1u << 1), 0);	/* no 8042 */
	ior_assert_uint_eq(t.fadt[46] | t.fadt[47] << 8, 9);	/* SCI_INT */
	ior_assert_uint_eq(VMM_ACPI_GSI_SCI, 9);
	ior_assert_uint_eq(rd32(t.fadt + 48), 0);	/* no SMI_CMD */
	ior_assert_uint_eq(t.fadt[52] | t.fadt[53], 0);	/* ACPI_ENABLE/DISABLE */
	ior_assert_uint_eq(rd32(t.fadt + 56), 0x600);	/* PM1a_EVT_BLK */
	ior_assert_uint_eq(rd32(t.fadt + 60), 0);	/* no PM1b */
	ior_assert_uint_eq(rd32(t.fadt + 64), 0x604);	/* PM1a_CNT_BLK */
	ior_assert_uint_eq(rd32(t.fadt + 68), 0);
	ior_assert_uint_eq(rd32(t.fadt + 72), 0);	/* no PM2 */
	ior_assert_uint_eq(rd32(t.fadt + 76), 0);	/* no PM timer */
	ior_assert_uint_eq(rd32(t.fadt + 80), 0);	/* no GPE0 */
	ior_assert_uint_eq(rd32(t.fadt + 84), 0);	/* no GPE1 */
	ior_assert_uint_eq(t.fadt[88], 4);		/* PM1_EVT_LEN */
	ior_assert_uint_eq(t.fadt[89], 2);		/* PM1_CNT_LEN */
	for (int i = 90; i <= 94; i++)		/* PM2, timer, GPE lengths */
		ior_assert_uint_eq(t.fadt[i], 0);
	/* C2 and C3 not supported */
	ior_assert_int_gt(t.fadt[96] | t.fadt[97] << 8, 100);
	ior_assert_int_gt(t.fadt[98] | t.fadt[99] << 8, 1000);
	ior_assert_uint_eq(VMM_ACPI_PM_BASE, 0x600);
	check_gas_io(t.fadt + 148, 32, 0x600);		/* X_PM1a_EVT_BLK */
	check_gas_io(t.fadt + 172, 16, 0x604);		/* X_PM1a_CNT_BLK */
	for (int off = 160; off < 276; off += 12)	/* the other X_ blocks */
		if (off != 172)
			for (int k = 0; k < 12; k++)
				ior_assert_uint_eq(t.fadt[off + k], 0);
	ior_assert_uint_eq(t.fadt[128], 0);		/* no reset value */
	for (int k = 116; k < 128; k++)			/* no RESET_REG */
		ior_assert_uint_eq(t.fadt[k], 0);
}
END_TEST

/* The FACS (which walk() found through X_FIRMWARE_CTRL): version 2, no
 * waking vectors, no S4BIOS, the global lock free. */
START_TEST(test_facs)
{
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 1, NULL, 0, &rsdp);
	struct tables t = walk(rsdp, used);

	ior_assert_uint_eq(rd32(t.facs + 8), 0);	/* hardware signature */
	ior_assert_uint_eq(rd32(t.facs + 12), 0);	/* waking vector */
	ior_assert_uint_eq(rd32(t.facs + 16), 0);	/* global lock */
	ior_assert_uint_eq(rd32(t.facs + 20), 0);	/* flags */
	ior_assert_uint_eq(rd64(t.facs + 24), 0);	/* X waking vector */
	ior_assert_uint_eq(t.facs[32], 2);		/* version */
	for (int k = 33; k < 64; k++)
		ior_assert_uint_eq(t.facs[k], 0);
	/* It is not the DSDT's, FADT's or MADT's memory. */
	ior_assert(t.facs + 64 <= t.dsdt || t.facs >= t.dsdt + rd32(t.dsdt + 4));
	ior_assert(t.facs + 64 <= t.fadt || t.facs >= t.fadt + 276);
	ior_assert(t.facs + 64 <= t.madt || t.facs >= t.madt + rd32(t.madt + 4));
}
END_TEST

/* \_S5_: the value of SLP_TYP that powers the machine off. */
START_TEST(test_dsdt_s5)
{
	uint64_t rsdp = 0, s5[4];
	ssize_t used = build(GPA, BUF_LEN, 1, two_windows, 2, &rsdp);
	const uint8_t *after;

	dsdt_s5(walk(rsdp, used).dsdt, s5, &after);
	ior_assert_uint_eq(s5[0], VMM_ACPI_SLP_TYP_S5);
	ior_assert_uint_eq(s5[1], VMM_ACPI_SLP_TYP_S5);
	ior_assert_uint_eq(s5[2], 0);
	ior_assert_uint_eq(s5[3], 0);
	ior_assert_int_le(VMM_ACPI_SLP_TYP_S5, 7);	/* a 3-bit field */
}
END_TEST

/* The MADT for ncpus: its entries tile the table exactly. */
static void check_madt(unsigned int ncpus)
{
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, ncpus, two_windows, 2, &rsdp);
	struct tables t = walk(rsdp, used);
	uint32_t len = rd32(t.madt + 4);
	unsigned int lapics = 0, ioapics = 0, isos = 0, others = 0;

	ior_assert_uint_eq(rd32(t.madt + 36), 0xfee00000u);
	ior_assert_uint_eq(rd32(t.madt + 40), 1);	/* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = t.madt + off;

		ior_assert_uint_eq(e[1] >= 2, 1);
		ior_assert(off + e[1] <= len);
		if (e[0] == 0) {
			ior_assert_uint_eq(e[1], 8);
			ior_assert_uint_eq(e[2], lapics);	/* UID */
			ior_assert_uint_eq(e[3], lapics);	/* APIC id */
			ior_assert_uint_eq(rd32(e + 4), 1);	/* enabled */
			lapics++;
		} else if (e[0] == 1) {
			ior_assert_uint_eq(e[1], 12);
			ior_assert_uint_eq(e[2], ncpus);	/* IO APIC id */
			ior_assert_uint_eq(rd32(e + 4), 0xfec00000u);
			ior_assert_uint_eq(rd32(e + 8), 0);	/* GSI base */
			ioapics++;
		} else if (e[0] == 2) {
			/* Interrupt source override: ISA IRQ 9 (the SCI) on
			 * GSI 9, level, active high; nothing else moves. */
			static const uint8_t iso[10] = {
				2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00,
			};

			ior_assert_mem_eq(e, iso, sizeof(iso));
			isos++;
		} else {
			others++;
		}
		off += e[1];
	}
	ior_assert_uint_eq(lapics, ncpus);
	ior_assert_uint_eq(ioapics, 1);
	ior_assert_uint_eq(isos, 1);
	ior_assert_uint_eq(others, 0);
	ior_assert_uint_eq(len, 44 + 8 * ncpus + 12 + 10);
}

START_TEST(test_madt_1_cpu) { check_madt(1); }
END_TEST
START_TEST(test_madt_2_cpus) { check_madt(2); }
END_TEST
START_TEST(test_madt_8_cpus) { check_madt(8); }
END_TEST
START_TEST(test_madt_255_cpus) { check_madt(255); }
END_TEST

static const uint8_t *dsdt_of(ssize_t used, uint64_t rsdp)
{
	return walk(rsdp, used).dsdt;
}

static void check_virtio(const struct device *d, unsigned int i,
			 const struct vmm_acpi_mmio *w, bool shared)
{
	char name[8];
	/* Memory32Fixed(ReadWrite, base, size), Interrupt(ResourceConsumer,
	 * Level, ActiveHigh, Exclusive or Shared) {gsi}, EndTag */
	uint8_t crs[] = {
		0x86, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
		0x89, 0x06, 0x00, 0x01, 0x01, 0, 0, 0, 0,
		0x79, 0x00,
	};

	snprintf(name, sizeof(name), "VR%02X", i & 0xffu);
	ior_assert_str_eq(d->name, name);
	ior_assert_str_eq(d->hid, "LNRO0005");
	ior_assert_uint_eq(d->uid, i);
	for (int k = 0; k < 4; k++) {
		crs[4 + k] = (uint8_t)(w->base >> (8 * k));
		crs[8 + k] = (uint8_t)(w->size >> (8 * k));
		crs[17 + k] = (uint8_t)(w->gsi >> (8 * k));
	}
	if (shared)
		crs[15] |= 0x08;
	if (w->edge)
		crs[15] |= 0x02;
	ior_assert_uint_eq(d->crs_len, sizeof(crs));
	ior_assert_mem_eq(d->crs, crs, sizeof(crs));
}

static void check_com1(const struct device *d)
{
	/* IO(Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags() {4}, EndTag */
	static const uint8_t crs[] = {
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x22, 0x10, 0x00,
		0x79, 0x00,
	};

	ior_assert_str_eq(d->name, "COM1");
	ior_assert_uint_eq(d->eisa, 0x0105d041u);	/* PNP0501 */
	ior_assert_uint_eq(d->uid, 0);
	ior_assert_uint_eq(d->crs_len, sizeof(crs));
	ior_assert_mem_eq(d->crs, crs, sizeof(crs));
}

START_TEST(test_dsdt_two_windows)
{
	struct device d[4];
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 1, two_windows, 2, &rsdp);
	unsigned int n = dsdt_devices(dsdt_of(used, rsdp), d, 4);

	ior_assert_uint_eq(n, 3);
	check_com1(&d[0]);
	check_virtio(&d[1], 0, &two_windows[0], false);
	check_virtio(&d[2], 1, &two_windows[1], false);
}
END_TEST

/* A window whose line is edge-triggered says so in its _CRS (Linux
 * programs the IOAPIC pin from it); the other stays level. */
START_TEST(test_dsdt_edge_window)
{
	struct vmm_acpi_mmio w[2] = { two_windows[0], two_windows[1] };
	struct device d[4];
	uint64_t rsdp = 0;
	ssize_t used;

	w[1].edge = true;
	used = build(GPA, BUF_LEN, 1, w, 2, &rsdp);
	ior_assert_uint_eq(dsdt_devices(dsdt_of(used, rsdp), d, 4), 3);
	check_virtio(&d[1], 0, &w[0], false);
	check_virtio(&d[2], 1, &w[1], false);
	ior_assert_uint_eq(d[2].crs[15], 0x03);	/* consumer | edge */
}
END_TEST

START_TEST(test_dsdt_no_window)
{
	struct device d[2];
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 1, NULL, 0, &rsdp);

	ior_assert_uint_eq(dsdt_devices(dsdt_of(used, rsdp), d, 2), 1);
	check_com1(&d[0]);
}
END_TEST

/* A window on the SCI's GSI shares it with the SCI (both level, active
 * high), so it says Shared even alone. */
START_TEST(test_dsdt_sci_gsi_shared)
{
	static const struct vmm_acpi_mmio w[] = {
		{ .base = 0xd0000000, .size = 0x200, .gsi = VMM_ACPI_GSI_SCI },
		{ .base = 0xd0000200, .size = 0x200, .gsi = 10 },
	};
	struct device d[3];
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 1, w, 2, &rsdp);

	ior_assert_uint_eq(dsdt_devices(dsdt_of(used, rsdp), d, 3), 3);
	check_virtio(&d[1], 0, &w[0], true);
	check_virtio(&d[2], 1, &w[1], false);
}
END_TEST

/* Windows on one gsi say Shared; the others stay Exclusive. */
START_TEST(test_dsdt_shared_gsi)
{
	static const struct vmm_acpi_mmio w[] = {
		{ .base = 0xd0000000, .size = 0x200, .gsi = 11 },
		{ .base = 0xd0000200, .size = 0x200, .gsi = 10 },
		{ .base = 0xd0000400, .size = 0x200, .gsi = 11 },
	};
	struct device d[4];
	uint64_t rsdp = 0;
	ssize_t used = build(GPA, BUF_LEN, 1, w, 3, &rsdp);

	ior_assert_uint_eq(dsdt_devices(dsdt_of(used, rsdp), d, 4), 4);
	check_virtio(&d[1], 0, &w[0], true);
	check_virtio(&d[2], 1, &w[1], false);
	check_virtio(&d[3], 2, &w[2], true);
}
END_TEST

static struct vmm_acpi_mmio many[VMM_ACPI_MAX_MMIO + 1];

static void fill_many(void)
{
	for (unsigned int i = 0; i < VMM_ACPI_MAX_MMIO + 1; i++) {
		many[i].base = 0xc0000000ull + 0x1000ull * i;
		many[i].size = 0x200;
		many[i].gsi = 5 + i % 19;
	}
}

/* The largest config: 255 CPUs, 256 windows (VR00..VRFF; PkgLengths of
 * 3 bytes for the scope). */
START_TEST(test_largest_config)
{
	static struct device d[VMM_ACPI_MAX_MMIO + 1];
	uint64_t rsdp = 0;
	ssize_t used;
	unsigned int n;

	fill_many();
	used = build(GPA, BUF_LEN, 255, many, VMM_ACPI_MAX_MMIO, &rsdp);
	n = dsdt_devices(dsdt_of(used, rsdp), d, VMM_ACPI_MAX_MMIO + 1);
	ior_assert_uint_eq(n, VMM_ACPI_MAX_MMIO + 1);
	for (unsigned int i = 0; i < VMM_ACPI_MAX_MMIO; i++)
		check_virtio(&d[1 + i], i, &many[i], true);
	ior_assert_str_eq(d[VMM_ACPI_MAX_MMIO].name, "VRFF");
	ior_assert_errno(build(GPA, BUF_LEN, 255, many, VMM_ACPI_MAX_MMIO + 1,
			       &rsdp), -EINVAL);
}
END_TEST

/* Built at any host alignment, at any (16-byte aligned) guest address:
 * the pointers move with gpa, nothing else changes. */
START_TEST(test_gpa_and_host_alignment)
{
	static uint8_t a[BUF_LEN], b2[BUF_LEN + 1];
	struct vmm_acpi_config cfg = { .ncpus = 2, .mmio = two_windows,
				       .nmmio = 2 };
	uint64_t r1 = 0, r2 = 0;
	ssize_t n1 = vmm_acpi_build(a, GPA, BUF_LEN, &cfg, &r1);
	ssize_t n2 = vmm_acpi_build(b2 + 1, 0x7fff0000ull, BUF_LEN, &cfg, &r2);

	ior_assert_int_gt(n1, 0);
	ior_assert_int_eq(n1, n2);
	ior_assert_uint_eq(r1 - GPA, r2 - 0x7fff0000ull);
	/* The DSDT (first) is the same; a second build is identical. */
	ior_assert_mem_eq(a, b2 + 1, rd32(a + 4));
	memset(buf, 0, sizeof(buf));
	ior_assert_int_eq(vmm_acpi_build(buf, GPA, BUF_LEN, &cfg, &r2), n1);
	ior_assert_mem_eq(a, buf, (size_t)n1);
	/* Above 4 GiB: 64-bit pointers only. */
	ior_assert_int_eq(vmm_acpi_build(buf, 0x100000000ull, BUF_LEN, &cfg,
					 &r2), n1);
	ior_assert_uint_eq(rd64(buf + (r2 - 0x100000000ull) + 24) >> 32, 1);
}
END_TEST

/* ---- bad configs ----------------------------------------------------- */

/* @w is refused alone (unless @alone_ok: it only collides with the
 * first of two_windows) and after two_windows[0]. */
static void expect_einval(struct vmm_acpi_mmio w, bool alone_ok)
{
	struct vmm_acpi_mmio two[2] = { two_windows[0], w };
	uint64_t rsdp = 0x1234;

	if (alone_ok) {
		ior_assert_int_gt(build(GPA, BUF_LEN, 1, &w, 1, &rsdp), 0);
		rsdp = 0x1234;
	}
	memset(buf, CANARY, sizeof(buf));
	if (!alone_ok)
		ior_assert_errno(build(GPA, BUF_LEN, 1, &w, 1, &rsdp), -EINVAL);
	ior_assert_errno(build(GPA, BUF_LEN, 1, two, 2, &rsdp), -EINVAL);
	/* Checked before anything is written; *rsdp_gpa untouched. */
	ior_assert_uint_eq(rsdp, 0x1234);
	assert_canary(0, sizeof(buf), "-EINVAL");
}

static void expect_einval_window(struct vmm_acpi_mmio w)
{
	expect_einval(w, false);
}

static void expect_einval_overlap(struct vmm_acpi_mmio w)
{
	expect_einval(w, true);
}

START_TEST(test_einval_arguments)
{
	struct vmm_acpi_config cfg = { .ncpus = 1 };
	uint64_t rsdp = 0;

	ior_assert_errno(vmm_acpi_build(NULL, GPA, BUF_LEN, &cfg, &rsdp),
			 -EINVAL);
	ior_assert_errno(vmm_acpi_build(buf, GPA, BUF_LEN, NULL, &rsdp),
			 -EINVAL);
	ior_assert_errno(vmm_acpi_build(buf, GPA, BUF_LEN, &cfg, NULL),
			 -EINVAL);
	/* gpa not 16-byte aligned */
	for (uint64_t off = 1; off < 16; off++)
		ior_assert_errno(vmm_acpi_build(buf, GPA + off, BUF_LEN, &cfg,
						&rsdp), -EINVAL);
	/* gpa + len past the 64-bit space */
	ior_assert_errno(vmm_acpi_build(buf, UINT64_MAX - 15, BUF_LEN, &cfg,
					&rsdp), -EINVAL);
	/* ... a bad config wins over a short length */
	cfg.ncpus = 0;
	ior_assert_errno(vmm_acpi_build(buf, GPA, 0, &cfg, &rsdp), -EINVAL);
}
END_TEST

START_TEST(test_einval_cpus)
{
	uint64_t rsdp = 0;

	ior_assert_errno(build(GPA, BUF_LEN, 0, NULL, 0, &rsdp), -EINVAL);
	ior_assert_errno(build(GPA, BUF_LEN, 256, NULL, 0, &rsdp), -EINVAL);
	ior_assert_errno(build(GPA, BUF_LEN, 100000, NULL, 0, &rsdp), -EINVAL);
	ior_assert_int_gt(build(GPA, BUF_LEN, 255, NULL, 0, &rsdp), 0);
}
END_TEST

START_TEST(test_einval_windows)
{
	struct vmm_acpi_config cfg = { .ncpus = 1, .mmio = NULL, .nmmio = 1 };
	uint64_t rsdp = 0;

	ior_assert_errno(vmm_acpi_build(buf, GPA, BUF_LEN, &cfg, &rsdp),
			 -EINVAL);
	/* size 0 */
	expect_einval_window((struct vmm_acpi_mmio){ 0xd0002000, 0, 7, false });
	/* outside the 32-bit space: above, or crossing 4 GiB */
	expect_einval_window((struct vmm_acpi_mmio){ 0x100000000ull, 0x200, 7, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xfffffe00u, 0x201, 7, false });
	expect_einval_window((struct vmm_acpi_mmio){ UINT64_MAX, 1, 7, false });
	/* on the IO APIC's page, the local APIC's megabyte */
	expect_einval_window((struct vmm_acpi_mmio){ 0xfec00f00u, 0x200, 7, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xfebfff00u, 0x200, 7, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xfeeff000u, 0x200, 7, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xfed00000u, 0x200000, 7, false });
	/* overlapping the first window: same, inside, straddling */
	expect_einval_overlap(two_windows[0]);
	expect_einval_overlap((struct vmm_acpi_mmio){ 0xd0000100, 0x10, 7, false });
	expect_einval_overlap((struct vmm_acpi_mmio){ 0xcffffe01u, 0x200, 7, false });
	expect_einval_overlap((struct vmm_acpi_mmio){ 0xd00001ffu, 0x200, 7, false });
	expect_einval_overlap((struct vmm_acpi_mmio){ 0xc0000000u, 0x10000001,
						      7, false });
	/* ... while touching it is fine */
	{
		struct vmm_acpi_mmio w[2] = {
			two_windows[0], { 0xd0000200, 0x200, 7, false },
		};
		struct vmm_acpi_mmio top = { 0xfffffe00u, 0x200, 7, false };

		ior_assert_int_gt(build(GPA, BUF_LEN, 1, w, 2, &rsdp), 0);
		ior_assert_int_gt(build(GPA, BUF_LEN, 1, &top, 1, &rsdp), 0);
	}
}
END_TEST

START_TEST(test_einval_gsi)
{
	uint64_t rsdp = 0;

	expect_einval_window((struct vmm_acpi_mmio){ 0xd0002000, 0x200, 24, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xd0002000, 0x200,
						     UINT32_MAX, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xd0002000, 0x200,
						     VMM_ACPI_GSI_PIT, false });
	expect_einval_window((struct vmm_acpi_mmio){ 0xd0002000, 0x200,
						     VMM_ACPI_GSI_COM1, false });
	for (uint32_t gsi = 1; gsi <= VMM_ACPI_MAX_GSI; gsi++) {
		struct vmm_acpi_mmio w = { 0xd0002000, 0x200, gsi, false };

		if (gsi == VMM_ACPI_GSI_COM1)
			continue;
		ior_assert_int_gt(build(GPA, BUF_LEN, 1, &w, 1, &rsdp), 0);
	}
}
END_TEST

/* ---- too small ------------------------------------------------------- */

/* Every length short of what the config needs: -ENOSPC, nothing written
 * at or past len, *rsdp_gpa untouched; the exact length works. */
static void check_every_short_length(unsigned int ncpus,
				     const struct vmm_acpi_mmio *w,
				     unsigned int nmmio)
{
	uint64_t rsdp = 0;
	ssize_t need = build(GPA, BUF_LEN, ncpus, w, nmmio, &rsdp);

	ior_assert_int_gt(need, 0);
	ior_assert((size_t)need + 64 <= sizeof(buf));
	for (size_t len = 0; len < (size_t)need; len++) {
		uint64_t r = 0x1234;

		memset(buf, CANARY, (size_t)need + 64);
		ssize_t rc = build(GPA, len, ncpus, w, nmmio, &r);

		if (rc != -ENOSPC)
			ior_abort("len %zu of %zd: %zd, not -ENOSPC", len, need,
				  rc);
		if (r != 0x1234)
			ior_abort("len %zu: *rsdp_gpa written", len);
		assert_canary(len, (size_t)need + 64, "-ENOSPC");
	}
	memset(buf, CANARY, (size_t)need + 64);
	ior_assert_int_eq(build(GPA, (size_t)need, ncpus, w, nmmio, &rsdp),
			  need);
	assert_canary((size_t)need, (size_t)need + 64, "exact length");
	walk(rsdp, need);
}

START_TEST(test_enospc_small)
{
	check_every_short_length(1, NULL, 0);
	check_every_short_length(2, two_windows, 2);
}
END_TEST

START_TEST(test_enospc_large)
{
	fill_many();
	/* 40 windows: the scope's PkgLength takes 2 bytes */
	check_every_short_length(8, many, 40);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("vmm-acpi");

	ior_add_test(s, test_tables_checksums_lengths_pointers);
	ior_add_test(s, test_fadt_flags);
	ior_add_test(s, test_facs);
	ior_add_test(s, test_dsdt_s5);
	ior_add_test(s, test_dsdt_sci_gsi_shared);
	ior_add_test(s, test_madt_1_cpu);
	ior_add_test(s, test_madt_2_cpus);
	ior_add_test(s, test_madt_8_cpus);
	ior_add_test(s, test_madt_255_cpus);
	ior_add_test(s, test_dsdt_two_windows);
	ior_add_test(s, test_dsdt_edge_window);
	ior_add_test(s, test_dsdt_no_window);
	ior_add_test(s, test_dsdt_shared_gsi);
	ior_add_test(s, test_largest_config);
	ior_add_test(s, test_gpa_and_host_alignment);
	ior_add_test(s, test_einval_arguments);
	ior_add_test(s, test_einval_cpus);
	ior_add_test(s, test_einval_windows);
	ior_add_test(s, test_einval_gsi);
	ior_add_test_timeout(s, test_enospc_small, 60);
	ior_add_test_timeout(s, test_enospc_large, 120);
	return s;
}

IOR_TEST_MAIN(make_suite)
