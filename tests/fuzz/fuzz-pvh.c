/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: tinyvmm's PVH loader (examples/vmm/pvh.c), the one parser
 * of a file the user hands the VMM: pvh_parse() on the input as an ELF
 * image, for a guest whose RAM is [1 MiB, 16 MiB); on success the
 * segments loaded into that RAM and the initrd placed above them.
 *
 * Invariants: the return value is a documented one with a reason; on
 * success every segment's file bytes are inside the input and its memory
 * inside the RAM, p_filesz <= p_memsz, the segments do not overlap, the
 * kernel's start and end bound them, the entry point is inside a
 * segment's file bytes; loading writes nothing outside them (ASan).
 */
#include "fuzz-common.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/linux.h"

#define RAM_LO	0x100000ull
#define RAM_HI	0x1000000ull

static uint8_t *ram;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvh_kernel k;
	char err[PVH_ERR_MAX];
	uint64_t gpa;
	bool found = false;
	int rc;

	err[0] = '\0';
	rc = pvh_parse(data, size, RAM_LO, RAM_HI, &k, err);
	FUZZ_CHECK(rc == 0 || rc == -ENOEXEC || rc == -EBADMSG ||
		   rc == -EOVERFLOW || rc == -ERANGE || rc == -ENOENT);
	if (rc < 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	FUZZ_CHECK(k.nseg > 0 && k.nseg <= PVH_MAX_SEGMENTS);
	for (unsigned int i = 0; i < k.nseg; i++) {
		const struct pvh_segment *s = &k.seg[i];

		FUZZ_CHECK(s->filesz <= s->memsz && s->memsz > 0);
		FUZZ_CHECK(s->offset <= size && s->filesz <= size - s->offset);
		FUZZ_CHECK(s->paddr >= RAM_LO && s->memsz <= RAM_HI - s->paddr);
		FUZZ_CHECK(s->paddr >= k.start && s->paddr + s->memsz <= k.end);
		for (unsigned int j = 0; j < i; j++)
			FUZZ_CHECK(s->paddr >= k.seg[j].paddr + k.seg[j].memsz ||
				   k.seg[j].paddr >= s->paddr + s->memsz);
		found |= k.entry >= s->paddr && k.entry - s->paddr < s->filesz;
	}
	FUZZ_CHECK(found);
	if (!ram) {
		ram = malloc(RAM_HI);
		FUZZ_CHECK(ram != NULL);
	}
	pvh_load(&k, data, ram);
	for (unsigned int i = 0; i < k.nseg; i++)
		FUZZ_CHECK(!memcmp(ram + k.seg[i].paddr, data + k.seg[i].offset,
				   k.seg[i].filesz));
	if (pvh_place_initrd(size ? size : 1, k.end, RAM_HI, &gpa) == 0)
		FUZZ_CHECK(gpa >= k.end && gpa % 4096 == 0 &&
			   gpa + (size ? size : 1) <= RAM_HI);
	return 0;
}
