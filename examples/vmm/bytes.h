/* SPDX-License-Identifier: MIT */
/*
 * Unaligned reads and writes of the x86 guest's little-endian fields in
 * the tables and boot structures tinyvmm builds (pvh.c, mptable.c) and
 * their tests read.
 */
#ifndef EXAMPLES_VMM_BYTES_H
#define EXAMPLES_VMM_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

#endif /* EXAMPLES_VMM_BYTES_H */
