/* SPDX-License-Identifier: MIT */
/* Helpers shared by the libFuzzer targets (and their corpus replayer). */
#ifndef IOREGION_FUZZ_COMMON_H
#define IOREGION_FUZZ_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the library; a violation is a finding: abort loudly. */
#define FUZZ_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",  \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

/* Open fds of this process (/proc/self/fd, minus the directory's own). */
static inline int
fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* A little reader over the fuzzer's bytes: past the end it reads zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t len, off;
};

static inline int
fuzz_more(const struct fuzz_in *in)
{
	return in->off < in->len;
}

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static inline uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

/* Up to @p max bytes: returns a pointer into the input and the count. */
static inline const uint8_t *
fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p + in->off;
	size_t left = in->len - in->off;

	*got = want < left ? want : left;
	in->off += *got;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* IOREGION_FUZZ_COMMON_H */
