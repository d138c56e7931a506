// SPDX-License-Identifier: MIT
/*
 * The ACPI tests' shared part (vmm-acpi-fixture.h): one buffer standing
 * for guest memory at GPA, readers, and the walk RSDP -> XSDT -> FADT ->
 * DSDT and -> MADT that checks every table on the way.
 */
#include "vmm-acpi-fixture.h"

uint8_t buf[BUF_LEN + 64];

const struct vmm_acpi_mmio two_windows[2] = {
	{ .base = 0xd0000000, .size = 0x200, .gsi = 5 },
	{ .base = 0xd0001000, .size = 0x200, .gsi = 6 },
};

uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* buf[from, to) still holds CANARY (one assertion, not one per byte:
 * Check's assertions cost a message each). */
void assert_canary(size_t from, size_t to, const char *what)
{
	for (size_t i = from; i < to; i++)
		if (buf[i] != CANARY)
			ior_abort("%s: byte %zu written", what, i);
}

ssize_t build(uint64_t gpa, size_t len, unsigned int ncpus,
		     const struct vmm_acpi_mmio *mmio, unsigned int nmmio,
		     uint64_t *rsdp)
{
	struct vmm_acpi_config cfg = {
		.ncpus = ncpus, .mmio = mmio, .nmmio = nmmio,
	};

	return vmm_acpi_build(buf, gpa, len, &cfg, rsdp);
}

/* The table at guest address @addr: inside the @used bytes built at GPA,
 * its signature, a length that fits, a zero checksum, our OEM id. */
const uint8_t *table(uint64_t addr, ssize_t used, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	ior_assert(addr >= GPA && addr + 36 <= GPA + (uint64_t)used);
	t = buf + (addr - GPA);
	ior_assert_mem_eq(t, sig, 4);
	len = rd32(t + 4);
	ior_assert_uint_eq(len >= 36, 1);
	ior_assert(addr + len <= GPA + (uint64_t)used);
	ior_assert_uint_eq(sum8(t, len), 0);
	ior_assert_mem_eq(t + 10, "LIBIOR", 6);
	return t;
}

/* Follow the pointers from the RSDP, checking each table on the way. */
struct tables walk(uint64_t rsdp, ssize_t used)
{
	struct tables t;

	ior_assert_int_gt(used, 0);
	ior_assert(rsdp >= GPA && rsdp + 36 <= GPA + (uint64_t)used);
	ior_assert_uint_eq(rsdp % 16, 0);
	t.rsdp = buf + (rsdp - GPA);
	ior_assert_mem_eq(t.rsdp, "RSD PTR ", 8);
	ior_assert_uint_eq(sum8(t.rsdp, 20), 0);
	ior_assert_uint_eq(sum8(t.rsdp, 36), 0);
	ior_assert_mem_eq(t.rsdp + 9, "LIBIOR", 6);
	ior_assert_uint_eq(t.rsdp[15], 2);		/* revision */
	ior_assert_uint_eq(rd32(t.rsdp + 16), 0);	/* no RSDT */
	ior_assert_uint_eq(rd32(t.rsdp + 20), 36);	/* length */

	t.xsdt = table(rd64(t.rsdp + 24), used, "XSDT");
	ior_assert_uint_eq(rd32(t.xsdt + 4), 36 + 2 * 8);
	t.fadt = table(rd64(t.xsdt + 36), used, "FACP");
	t.madt = table(rd64(t.xsdt + 44), used, "APIC");
	ior_assert_uint_eq(rd32(t.fadt + 4), 276);
	ior_assert_uint_eq(rd32(t.fadt + 40), 0);	/* 32-bit DSDT */
	t.dsdt = table(rd64(t.fadt + 140), used, "DSDT");
	return t;
}
