/* SPDX-License-Identifier: MIT */
/*
 * A bounded byte sink and the few AML (ACPI Machine Language) terms
 * tinyvmm's DSDT needs (aml.c): Scope, Device, Name, integers, strings,
 * EISA ids, buffers and the resource descriptors of a ResourceTemplate.
 * Encoded from the ACPI specification's AML grammar (chapter 20) and its
 * resource data types (section 6.4).
 *
 * The sink never writes past its capacity: once a write would not fit it
 * stops writing and only counts, so the caller learns the size it needed
 * (aml_buf.pos) and that it did not fit (aml_buf.overflow).
 */
#ifndef EXAMPLES_VMM_AML_H
#define EXAMPLES_VMM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *p;		/* the bytes */
	size_t cap;		/* how many may be written at p */
	size_t pos;		/* bytes emitted so far (written or counted) */
	bool overflow;		/* something did not fit: p is incomplete */
};

/* Append n bytes / one byte / v as n little-endian bytes (n <= 8). */
void aml_bytes(struct aml_buf *b, const void *src, size_t n);
void aml_byte(struct aml_buf *b, uint8_t v);
void aml_le(struct aml_buf *b, uint64_t v, unsigned int n);
/* Zero bytes up to the next multiple of @align (a power of two) of pos. */
void aml_align(struct aml_buf *b, size_t align);
/* Overwrite n little-endian bytes at @at (already emitted); a no-op once
 * the sink has overflowed. */
void aml_patch_le(struct aml_buf *b, size_t at, uint64_t v, unsigned int n);

/* A term whose length comes first: call *_begin, emit its contents, then
 * aml_end with what begin returned; aml_end puts the PkgLength (and, for
 * a buffer, its BufferSize) in front of the contents. */
size_t aml_scope_begin(struct aml_buf *b, const char *path);
size_t aml_device_begin(struct aml_buf *b, const char *seg);
size_t aml_buffer_begin(struct aml_buf *b);
void aml_end(struct aml_buf *b, size_t start);
void aml_buffer_end(struct aml_buf *b, size_t start);

/* Name(seg, ...): the NameOp and the name; the value follows. */
void aml_name(struct aml_buf *b, const char *seg);
/* Values: the shortest integer encoding, a NUL-terminated string, an
 * EISA id ("PNP0501") as its 32-bit compressed form. */
void aml_integer(struct aml_buf *b, uint64_t v);
void aml_string(struct aml_buf *b, const char *s);
void aml_eisa_id(struct aml_buf *b, const char *id);

/* Resource descriptors inside a ResourceTemplate (a buffer): */
/* IO(Decode16, min, max, align, len) */
void aml_res_io16(struct aml_buf *b, uint16_t min, uint16_t max,
		  uint8_t align, uint8_t len);
/* IRQNoFlags(){irq}: ISA style, edge, active high, exclusive (irq < 16) */
void aml_res_irq_noflags(struct aml_buf *b, unsigned int irq);
/* Memory32Fixed(ReadWrite or ReadOnly, base, size) */
void aml_res_mem32_fixed(struct aml_buf *b, bool writable, uint32_t base,
			 uint32_t size);
/* Interrupt(ResourceConsumer, Level/Edge, ActiveHigh/Low,
 * Exclusive/Shared){gsi} */
void aml_res_interrupt(struct aml_buf *b, bool edge, bool active_low,
		       bool shared, uint32_t gsi);
/* EndTag: closes the template */
void aml_res_end(struct aml_buf *b);

#endif
