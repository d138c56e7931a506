// SPDX-License-Identifier: MIT
/*
 * The ACPI tests' shared part (vmm-acpi-fixture.h): one buffer standing
 * for guest memory at GPA, readers, the walk RSDP -> XSDT -> FADT ->
 * DSDT, FACS and -> MADT that checks every table on the way, and the
 * DSDT's AML decoded independently of aml.c.
 */
#include <string.h>

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
	/* The FACS: no checksum, 64-byte aligned, X_FIRMWARE_CTRL only. */
	ior_assert_uint_eq(rd32(t.fadt + 36), 0);	/* 32-bit FACS */
	{
		uint64_t facs = rd64(t.fadt + 132);

		ior_assert(facs >= GPA && facs + 64 <= GPA + (uint64_t)used);
		ior_assert_uint_eq(facs % 64, 0);
		t.facs = buf + (facs - GPA);
		ior_assert_mem_eq(t.facs, "FACS", 4);
		ior_assert_uint_eq(rd32(t.facs + 4), 64);
	}
	return t;
}

/* ---- the DSDT's AML, decoded here independently of aml.c ------------ */

/* A PkgLength at *p: returns its value (which counts itself), moves *p
 * past it. */
size_t pkglen(const uint8_t **p)
{
	const uint8_t *q = *p;
	unsigned int follow = q[0] >> 6;
	size_t v;

	if (follow == 0) {
		*p = q + 1;
		return q[0] & 0x3f;
	}
	ior_assert_uint_eq(q[0] & 0x30, 0);
	v = q[0] & 0x0f;
	for (unsigned int i = 0; i < follow; i++)
		v |= (size_t)q[1 + i] << (4 + 8 * i);
	*p = q + 1 + follow;
	return v;
}

/* An integer term at *p (ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix). */
uint64_t integer(const uint8_t **p)
{
	const uint8_t *q = *p;
	unsigned int n;
	uint64_t v = 0;

	switch (q[0]) {
	case 0x00: *p = q + 1; return 0;
	case 0x01: *p = q + 1; return 1;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default: ior_abort("not an integer: 0x%02x", q[0]); return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)q[1 + i] << (8 * i);
	*p = q + 1 + n;
	return v;
}

/* Name(seg, ...) at *p: checks NameOp and the name, moves past them. */
void expect_name(const uint8_t **p, const char *seg)
{
	ior_assert_uint_eq((*p)[0], 0x08);
	ior_assert_mem_eq(*p + 1, seg, 4);
	*p += 5;
}


/* Device(name) { Name(_HID) Name(_UID) Name(_CRS, Buffer) } at *p. */
struct device device(const uint8_t **p)
{
	struct device d = { 0 };
	const uint8_t *q = *p, *end;
	size_t len, size;

	ior_assert_uint_eq(q[0], 0x5b);
	ior_assert_uint_eq(q[1], 0x82);
	q += 2;
	end = q;
	len = pkglen(&q);
	end += len;
	memcpy(d.name, q, 4);
	q += 4;
	expect_name(&q, "_HID");
	if (q[0] == 0x0d) {
		size_t n = strlen((const char *)q + 1);

		ior_assert_uint_eq(n, 8);
		memcpy(d.hid, q + 1, n + 1);
		q += n + 2;
	} else {
		ior_assert_uint_eq(q[0], 0x0c);
		d.eisa = rd32(q + 1);
		q += 5;
	}
	expect_name(&q, "_UID");
	d.uid = integer(&q);
	expect_name(&q, "_CRS");
	ior_assert_uint_eq(q[0], 0x11);		/* BufferOp */
	q++;
	{
		const uint8_t *bstart = q;
		size_t blen = pkglen(&q);

		size = integer(&q);
		ior_assert_uint_eq((size_t)(bstart + blen - q), size);
	}
	d.crs = q;
	d.crs_len = size;
	q += size;
	ior_assert(q == end);
	/* A template ends with EndTag (checksum 0). */
	ior_assert_uint_eq(d.crs[size - 2], 0x79);
	ior_assert_uint_eq(d.crs[size - 1], 0);
	*p = q;
	return d;
}

/* The DSDT's first term, Name(_S5_, Package(4) {a, b, c, d}): its four
 * integers in @pkg, *@after past it. */
void dsdt_s5(const uint8_t *dsdt, uint64_t pkg[4], const uint8_t **after)
{
	const uint8_t *p = dsdt + 36, *start;
	size_t len;

	expect_name(&p, "_S5_");
	ior_assert_uint_eq(p[0], 0x12);		/* PackageOp */
	p++;
	start = p;
	len = pkglen(&p);
	ior_assert_uint_eq(p[0], 4);		/* NumElements */
	p++;
	for (int i = 0; i < 4; i++)
		pkg[i] = integer(&p);
	ior_assert(p == start + len);
	*after = p;
}

unsigned int dsdt_devices(const uint8_t *dsdt, struct device *out,
				 unsigned int max)
{
	uint32_t len = rd32(dsdt + 4);
	const uint8_t *p, *start, *end = dsdt + len;
	uint64_t s5[4];
	unsigned int n = 0;

	dsdt_s5(dsdt, s5, &p);
	ior_assert_uint_eq(p[0], 0x10);		/* ScopeOp */
	p++;
	start = p;
	ior_assert(start + pkglen(&p) == end);
	ior_assert_mem_eq(p, "\\_SB_", 5);
	p += 5;
	while (p < end) {
		ior_assert(n < max);
		out[n++] = device(&p);
	}
	ior_assert(p == end);
	return n;
}
