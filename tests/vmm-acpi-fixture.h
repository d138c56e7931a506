/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tests' shared part (vmm-acpi-fixture.c): test-vmm-acpi.c and
 * test-vmm-acpi-iasl.c build tinyvmm's tables (examples/vmm/acpi.c) into
 * one buffer standing for guest memory at GPA and check them with these.
 */
#ifndef IOREGION_TEST_VMM_ACPI_FIXTURE_H
#define IOREGION_TEST_VMM_ACPI_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "acpi.h"
#include "test-common.h"

#define GPA 0xe0000ull
#define BUF_LEN 0x20000u
#define CANARY 0xa5

/* The tables go here (BUF_LEN, and 64 bytes past it for canaries). */
extern uint8_t buf[BUF_LEN + 64];
/* Two virtio-mmio windows: 0xd0000000 on GSI 5, 0xd0001000 on GSI 6. */
extern const struct vmm_acpi_mmio two_windows[2];

uint32_t rd32(const uint8_t *p);
uint64_t rd64(const uint8_t *p);
/* The bytes' sum modulo 256. */
uint8_t sum8(const uint8_t *p, size_t n);
/* buf[from, to) still holds CANARY; aborts the test naming @what. */
void assert_canary(size_t from, size_t to, const char *what);
/* vmm_acpi_build() into buf for ncpus and the windows. */
ssize_t build(uint64_t gpa, size_t len, unsigned int ncpus,
	      const struct vmm_acpi_mmio *mmio, unsigned int nmmio,
	      uint64_t *rsdp);
/* The table at guest address @addr: inside the @used bytes built at GPA,
 * its signature, a length that fits, a zero checksum, our OEM id. */
const uint8_t *table(uint64_t addr, ssize_t used, const char *sig);

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
};

/* Follow the pointers from the RSDP built at GPA, checking each table on
 * the way (the RSDP's two checksums, revision 2, no RSDT; an XSDT of
 * two entries; a 276-byte FADT with X_DSDT only). */
struct tables walk(uint64_t rsdp, ssize_t used);

#endif
