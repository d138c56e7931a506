/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's MP table (Intel MultiProcessor Specification 1.4) for a
 * Linux guest: the vCPUs' local APICs, one ISA bus, the IOAPIC, ISA IRQs
 * 0-15 (but the cascade, 2) on the IOAPIC pins of the same number (KVM's
 * default routing: GSI n is pin n), and the local APICs' LINT0 (ExtINT)
 * and LINT1 (NMI). A kernel that has ACPI takes its MADT instead; the MP
 * table is there for one without it, and because Linux always looks for
 * one: its search ends at the first 16-byte "_MP_" floating pointer in
 * the last KiB of base memory (LINUX_MPTABLE), before it would scan the
 * 64 KiB BIOS area in 16-byte steps, one memory map and unmap each
 * (seconds in a nested guest under TCG). No KVM here (linux.h).
 */
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "linux.h"

#define MP_LAPIC_ADDR	0xfee00000u
#define MP_IOAPIC_ADDR	0xfec00000u
#define MP_LAPIC_VER	0x14		/* what KVM's local APIC reports */
#define MP_IOAPIC_VER	0x11		/* KVM's IOAPIC: 24 pins */
#define MP_HEADER_SIZE	44
#define MP_CPU_SIZE	20
#define MP_ENTRY_SIZE	8

enum { MP_CPU, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LINT };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

static uint8_t
checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* An 8-byte interrupt entry (I/O or local). */
static uint8_t *
irq_entry(uint8_t *e, uint8_t type, uint8_t irqtype, uint8_t src_irq,
	  uint8_t dst, uint8_t pin)
{
	e[0] = type;
	e[1] = irqtype;
	put16(e + 2, 0);		/* polarity, trigger: the bus's */
	e[4] = 0;			/* ISA bus */
	e[5] = src_irq;
	e[6] = dst;
	e[7] = pin;
	return e + MP_ENTRY_SIZE;
}

size_t
mptable_write(uint8_t *mem, unsigned int ncpus, uint32_t cpu_signature,
	      uint32_t cpu_features)
{
	uint8_t *fp = mem + LINUX_MPTABLE;
	uint8_t *hdr = fp + 16, *e = hdr + MP_HEADER_SIZE;
	uint8_t ioapic = (uint8_t)ncpus;
	uint16_t count = 0;
	size_t len;

	if (ncpus == 0 || ncpus > LINUX_MPTABLE_MAX_CPUS)
		return 0;
	memset(fp, 0, LINUX_MPTABLE_SIZE);
	for (unsigned int i = 0; i < ncpus; i++, count++) {
		e[0] = MP_CPU;
		e[1] = (uint8_t)i;			/* local APIC ID */
		e[2] = MP_LAPIC_VER;
		e[3] = 1 | (i == 0 ? 2 : 0);		/* enabled, BSP */
		put32(e + 4, cpu_signature);
		put32(e + 8, cpu_features);
		e += MP_CPU_SIZE;
	}
	e[0] = MP_BUS;
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENTRY_SIZE;
	e[0] = MP_IOAPIC;
	e[1] = ioapic;
	e[2] = MP_IOAPIC_VER;
	e[3] = 1;					/* enabled */
	put32(e + 4, MP_IOAPIC_ADDR);
	e += MP_ENTRY_SIZE;
	count += 2;
	for (uint8_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;
		e = irq_entry(e, MP_IOINT, MP_INT, irq, ioapic, irq);
		count++;
	}
	e = irq_entry(e, MP_LINT, MP_EXTINT, 0, 0xff, 0);
	e = irq_entry(e, MP_LINT, MP_NMI, 0, 0xff, 1);
	count += 2;
	len = (size_t)(e - hdr);

	memcpy(hdr, "PCMP", 4);
	put16(hdr + 4, (uint16_t)len);
	hdr[6] = 4;					/* spec 1.4 */
	memcpy(hdr + 8, "TINYVMM ", 8);
	memcpy(hdr + 16, "LINUX MODE  ", 12);
	put16(hdr + 34, count);
	put32(hdr + 36, MP_LAPIC_ADDR);
	hdr[7] = checksum(hdr, len);

	memcpy(fp, "_MP_", 4);
	put32(fp + 4, (uint32_t)(LINUX_MPTABLE + 16));
	fp[8] = 1;					/* 16 bytes */
	fp[9] = 4;
	fp[10] = checksum(fp, 16);
	return 16 + len;
}
