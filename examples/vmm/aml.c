// SPDX-License-Identifier: MIT
/*
 * The AML encoder behind tinyvmm's DSDT (aml.h). Opcodes and encodings as
 * the ACPI specification's AML grammar defines them:
 *
 *   DefScope  := ScopeOp PkgLength NameString TermList        (0x10)
 *   DefDevice := ExtOpPrefix DeviceOp PkgLength NameString TermList
 *                                                             (0x5b 0x82)
 *   DefName   := NameOp NameString DataRefObject              (0x08)
 *   DefBuffer := BufferOp PkgLength BufferSize ByteList       (0x11)
 *   integers  := ZeroOp 0x00 | OneOp 0x01 | BytePrefix 0x0a + 1 byte |
 *                WordPrefix 0x0b + 2 | DWordPrefix 0x0c + 4 |
 *                QWordPrefix 0x0e + 8 (little endian)
 *   String    := StringPrefix 0x0d, ASCII bytes, NUL
 *
 * PkgLength counts itself and everything up to the end of the term. It
 * takes 1 byte for totals up to 63 (bits 0-5), otherwise 2-4 bytes: the
 * lead byte holds the count of bytes that follow in bits 6-7 and the low
 * nibble of the total in bits 0-3; each following byte the next 8 bits.
 * Terms are emitted contents first and their PkgLength inserted in front
 * afterwards (aml_end), because its size depends on the contents' size.
 */
#include <string.h>

#include "aml.h"

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE 0x82		/* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR 0x5c	/* '\' */

#define AML_NAMESEG 4
#define AML_PKGLEN_MAX 0x0fffffffu	/* 28 bits */

/* Small resource descriptors: type in bits 3-6, length in bits 0-2. */
#define RES_IRQ_NOFLAGS 0x22	/* type 0x04, 2 bytes: the IRQ mask */
#define RES_IO 0x47		/* type 0x08, 7 bytes */
#define RES_END 0x79		/* type 0x0f, 1 byte: checksum (0: none) */
/* Large resource descriptors: bit 7 set, type in bits 0-6, then a
 * 16-bit length of what follows. */
#define RES_MEM32_FIXED 0x86
#define RES_MEM32_FIXED_LEN 9
#define RES_EXT_IRQ 0x89
#define RES_EXT_IRQ_LEN 6	/* flags, count, one 32-bit interrupt */

#define RES_IO_DECODE16 0x01
#define RES_MEM_WRITABLE 0x01
#define RES_IRQ_CONSUMER 0x01
#define RES_IRQ_EDGE 0x02
#define RES_IRQ_ACTIVE_LOW 0x04
#define RES_IRQ_SHARED 0x08

void aml_bytes(struct aml_buf *b, const void *src, size_t n)
{
	if (!b->overflow && n <= b->cap - b->pos)
		memcpy(b->p + b->pos, src, n);
	else
		b->overflow = true;
	b->pos += n;
}

void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void le_encode(uint8_t *out, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

void aml_le(struct aml_buf *b, uint64_t v, unsigned int n)
{
	uint8_t tmp[8];

	le_encode(tmp, v, n);
	aml_bytes(b, tmp, n);
}

void aml_align(struct aml_buf *b, size_t align)
{
	static const uint8_t zeros[16];
	size_t pad = (align - (b->pos & (align - 1))) & (align - 1);

	while (pad > 0) {
		size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);

		aml_bytes(b, zeros, n);
		pad -= n;
	}
}

void aml_patch_le(struct aml_buf *b, size_t at, uint64_t v, unsigned int n)
{
	if (!b->overflow)
		le_encode(b->p + at, v, n);
}

/* Put n bytes in front of what was emitted since @at. */
static void insert(struct aml_buf *b, size_t at, const uint8_t *src, size_t n)
{
	if (!b->overflow && n <= b->cap - b->pos) {
		memmove(b->p + at + n, b->p + at, b->pos - at);
		memcpy(b->p + at, src, n);
	} else {
		b->overflow = true;
	}
	b->pos += n;
}

/* The PkgLength for @len bytes of contents; returns its size (1-4), 0
 * when the total does not fit in 28 bits. */
static size_t pkglen_encode(uint8_t out[4], size_t len)
{
	size_t n, total;

	if (len + 1 <= 0x3f) {
		out[0] = (uint8_t)(len + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = len + n;
		if (total <= (1u << (4 + 8 * (n - 1))) - 1)
			break;
	}
	if (n > 4 || total > AML_PKGLEN_MAX)
		return 0;
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

void aml_end(struct aml_buf *b, size_t start)
{
	uint8_t pkg[4];
	size_t n = pkglen_encode(pkg, b->pos - start);

	if (n == 0) {
		b->overflow = true;
		return;
	}
	insert(b, start, pkg, n);
}

/* The shortest integer encoding of v; returns its size. */
static size_t integer_encode(uint8_t out[9], uint64_t v)
{
	unsigned int n;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE : AML_ZERO;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	le_encode(out + 1, v, n);
	return 1 + n;
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	uint8_t tmp[9];

	aml_bytes(b, tmp, integer_encode(tmp, v));
}

void aml_string(struct aml_buf *b, const char *s)
{
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

/* "PNP0501": three letters in 5 bits each (A = 1), then four hex digits,
 * stored as the bytes of a big-endian 32-bit value. */
void aml_eisa_id(struct aml_buf *b, const char *id)
{
	unsigned int c1 = (unsigned int)(id[0] - '@') & 0x1f;
	unsigned int c2 = (unsigned int)(id[1] - '@') & 0x1f;
	unsigned int c3 = (unsigned int)(id[2] - '@') & 0x1f;
	unsigned int hex = 0;
	uint8_t v[5];

	for (int i = 3; i < 7; i++) {
		char c = id[i];
		unsigned int d = c >= 'A' ? (unsigned int)(c - 'A' + 10) :
				 (unsigned int)(c - '0');

		hex = (hex << 4) | (d & 0xf);
	}
	v[0] = AML_DWORD_PREFIX;
	v[1] = (uint8_t)((c1 << 2) | (c2 >> 3));
	v[2] = (uint8_t)(((c2 & 7) << 5) | c3);
	v[3] = (uint8_t)(hex >> 8);
	v[4] = (uint8_t)hex;
	aml_bytes(b, v, sizeof(v));
}

/* A NameString: "\XXXX" (from the root) or "XXXX" (one NameSeg). */
static void name_string(struct aml_buf *b, const char *path)
{
	if (path[0] == '\\') {
		aml_byte(b, AML_ROOT_CHAR);
		path++;
	}
	aml_bytes(b, path, AML_NAMESEG);
}

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	size_t start;

	aml_byte(b, AML_SCOPE);
	start = b->pos;
	name_string(b, path);
	return start;
}

size_t aml_device_begin(struct aml_buf *b, const char *seg)
{
	size_t start;

	aml_byte(b, AML_EXT_PREFIX);
	aml_byte(b, AML_DEVICE);
	start = b->pos;
	name_string(b, seg);
	return start;
}

size_t aml_buffer_begin(struct aml_buf *b)
{
	aml_byte(b, AML_BUFFER);
	return b->pos;
}

void aml_buffer_end(struct aml_buf *b, size_t start)
{
	uint8_t size[9];

	insert(b, start, size, integer_encode(size, b->pos - start));
	aml_end(b, start);
}

void aml_name(struct aml_buf *b, const char *seg)
{
	aml_byte(b, AML_NAME);
	name_string(b, seg);
}

void aml_res_io16(struct aml_buf *b, uint16_t min, uint16_t max,
		  uint8_t align, uint8_t len)
{
	uint8_t d[8] = { RES_IO, RES_IO_DECODE16 };

	le_encode(d + 2, min, 2);
	le_encode(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	aml_bytes(b, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml_buf *b, unsigned int irq)
{
	uint8_t d[3] = { RES_IRQ_NOFLAGS };

	le_encode(d + 1, 1u << (irq & 15), 2);
	aml_bytes(b, d, sizeof(d));
}

void aml_res_mem32_fixed(struct aml_buf *b, bool writable, uint32_t base,
			 uint32_t size)
{
	uint8_t d[3 + RES_MEM32_FIXED_LEN] = { RES_MEM32_FIXED };

	le_encode(d + 1, RES_MEM32_FIXED_LEN, 2);
	d[3] = writable ? RES_MEM_WRITABLE : 0;
	le_encode(d + 4, base, 4);
	le_encode(d + 8, size, 4);
	aml_bytes(b, d, sizeof(d));
}

void aml_res_interrupt(struct aml_buf *b, bool edge, bool active_low,
		       bool shared, uint32_t gsi)
{
	uint8_t d[3 + RES_EXT_IRQ_LEN] = { RES_EXT_IRQ };

	le_encode(d + 1, RES_EXT_IRQ_LEN, 2);
	d[3] = RES_IRQ_CONSUMER | (edge ? RES_IRQ_EDGE : 0) |
	       (active_low ? RES_IRQ_ACTIVE_LOW : 0) |
	       (shared ? RES_IRQ_SHARED : 0);
	d[4] = 1;
	le_encode(d + 5, gsi, 4);
	aml_bytes(b, d, sizeof(d));
}

void aml_res_end(struct aml_buf *b)
{
	static const uint8_t d[2] = { RES_END, 0 };

	aml_bytes(b, d, sizeof(d));
}
