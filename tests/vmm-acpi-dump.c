// SPDX-License-Identifier: MIT
/*
 * vmm-acpi-dump: tinyvmm's ACPI tables (examples/vmm/acpi.c) into a file,
 * for reading them with other tools (a guest that finds them in memory:
 * tests/acpi-linux-tcg; iasl -d after cutting out one table).
 *
 *   vmm-acpi-dump OUT GPA NCPUS [BASE,SIZE,GSI]...
 *
 * Writes the bytes vmm_acpi_build() used, built for guest address GPA,
 * and prints the RSDP's guest address. Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"

#define MAX_LEN 0x20000u

int main(int argc, char **argv)
{
	static uint8_t buf[MAX_LEN];
	static struct vmm_acpi_mmio w[VMM_ACPI_MAX_MMIO];
	struct vmm_acpi_config cfg = { .mmio = w };
	uint64_t gpa, rsdp = 0;
	char *end;
	ssize_t used;
	FILE *f;

	if (argc < 4 || argc - 4 > (int)VMM_ACPI_MAX_MMIO) {
		fprintf(stderr, "usage: %s OUT GPA NCPUS [BASE,SIZE,GSI]...\n",
			argv[0]);
		return 1;
	}
	gpa = strtoull(argv[2], &end, 0);
	if (*end == 0)
		cfg.ncpus = (unsigned int)strtoul(argv[3], &end, 0);
	if (*end != 0) {
		fprintf(stderr, "GPA and NCPUS: numbers\n");
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		struct vmm_acpi_mmio *m = &w[cfg.nmmio++];
		int fields = 0;

		m->base = strtoull(argv[i], &end, 0);
		if (*end == ',' && ++fields)
			m->size = (uint32_t)strtoul(end + 1, &end, 0);
		if (*end == ',' && ++fields)
			m->gsi = (uint32_t)strtoul(end + 1, &end, 0);
		if (*end != 0 || fields != 2) {
			fprintf(stderr, "%s: not BASE,SIZE,GSI\n", argv[i]);
			return 1;
		}
	}
	used = vmm_acpi_build(buf, gpa, sizeof(buf), &cfg, &rsdp);
	if (used < 0) {
		fprintf(stderr, "vmm_acpi_build: %s\n", strerror((int)-used));
		return 1;
	}
	f = fopen(argv[1], "wb");
	if (f == NULL || fwrite(buf, 1, (size_t)used, f) != (size_t)used ||
	    fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("rsdp 0x%" PRIx64 " bytes %zd\n", rsdp, used);
	return 0;
}
