/* SPDX-License-Identifier: MIT */
/*
 * libioregion wire ABI: the ioregionfd command and response messages.
 *
 * This header is self-contained and is the library's description of the
 * protocol; docs/wire-protocol.md is the long form of the same facts.
 * ioregionfd was never merged upstream, so two layouts exist in real kernels.
 * Both are exactly 32 bytes in host byte order; this header describes them by
 * byte offsets and bit shifts (no C bitfields), so it is exact on any ABI.
 *
 * Dialect v3 (RFC v3, Feb 2021; the default):
 *
 *   offset size name       meaning
 *   0      1    cmd        0 = read, 1 = write, other values invalid
 *   1      1    flags      bits 0-3 size exponent (0..3: 1,2,4,8 bytes)
 *                          bit 4 resp (a response is expected)
 *                          bits 5-7 reserved, must be zero
 *   2      6    padding    ignored
 *   8      8    user_data  the value given at registration, verbatim
 *   16     8    offset     guest address minus region start
 *   24     8    data       write: value in the low size bytes; read: 0
 *
 * Dialect info (design doc Nov 2020, RFC v1/v2; the kernels vmsh used):
 *
 *   offset size name       meaning
 *   0      4    info       u32: bits 0-3 cmd, bits 4-5 size exponent,
 *                          bit 6 resp, bits 7-31 reserved (zero)
 *   4      4    padding    ignored
 *   8..31                  user_data, offset, data as in v3
 *
 * Response (both dialects):
 *
 *   offset size name       meaning
 *   0      8    data       a read's value in the low size bytes, zero-extended
 *   8      24   padding    ignored
 *
 * Rules: reads always expect a response; writes do unless the region has
 * posted writes. Per fd at most one response is outstanding. There is no
 * request id and no error field.
 */
#ifndef IOREGION_WIRE_H
#define IOREGION_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size in bytes of every command and every response. */
#define IOREGION_WIRE_MSG_SIZE 32

/** Byte offsets of the fields common to both dialects. */
#define IOREGION_WIRE_OFF_USER_DATA 8
#define IOREGION_WIRE_OFF_OFFSET 16
#define IOREGION_WIRE_OFF_DATA 24

/** v3: byte 1 layout. */
#define IOREGION_WIRE_V3_SIZE_MASK 0x0fu
#define IOREGION_WIRE_V3_RESP_BIT 0x10u
#define IOREGION_WIRE_V3_RESERVED_MASK 0xe0u

/** info dialect: u32 at offset 0. */
#define IOREGION_WIRE_INFO_CMD_MASK 0x0000000fu
#define IOREGION_WIRE_INFO_SIZE_SHIFT 4
#define IOREGION_WIRE_INFO_SIZE_MASK 0x00000030u
#define IOREGION_WIRE_INFO_RESP_BIT 0x00000040u
#define IOREGION_WIRE_INFO_RESERVED_MASK 0xffffff80u

/**
 * Wire dialects. Values start at 3 so that a stray 0 or 1 is refused.
 */
enum ioregion_wire_dialect {
	IOREGION_WIRE_V3 = 3,	/**< RFC v3 byte layout (default) */
	IOREGION_WIRE_INFO = 5,	/**< RFC v1/v2 u32 info word */
};

/** Command values on the wire. */
enum ioregion_wire_cmd_type {
	IOREGION_CMD_READ = 0,
	IOREGION_CMD_WRITE = 1,
};

/**
 * A decoded command. Filled by ioregion_wire_decode_cmd() even when the
 * command is invalid, so the caller can still tell whether it must answer.
 */
struct ioregion_wire_cmd {
	uint8_t cmd;		/**< raw command value (0 read, 1 write) */
	uint8_t size;		/**< access size in bytes (1, 2, 4, 8), 0 if invalid */
	bool resp;		/**< a response is expected */
	uint64_t user_data;	/**< verbatim from the wire */
	uint64_t offset;	/**< offset into the region */
	uint64_t data;		/**< write value, masked to size; 0 for reads */
};

/**
 * @return whether @p dialect is one of the dialects this library speaks
 */
bool ioregion_wire_dialect_valid(int dialect);

/**
 * Decode one 32-byte command.
 *
 * @p out is always filled with what could be decoded. A read always has
 * out->resp set (reads always expect a response), whatever the bit says.
 * A write's data is masked to its size (upper bytes are ignored).
 *
 * @return 0 for a valid command
 * @retval -EINVAL @p dialect is unknown or a pointer is NULL
 * @retval -EOPNOTSUPP the command value is neither read nor write
 * @retval -EBADMSG reserved bits are set
 * @retval -EMSGSIZE the size exponent is not 0..3 (v3 only)
 */
int ioregion_wire_decode_cmd(int dialect,
			     const uint8_t buf[IOREGION_WIRE_MSG_SIZE],
			     struct ioregion_wire_cmd *out);

/**
 * Encode one command into 32 bytes, exactly as a kernel would send it.
 * Padding bytes are zero. @p cmd->size must be 1, 2, 4 or 8, and
 * @p cmd->cmd read or write; data is masked to size, and a read's data is
 * sent as 0.
 *
 * @return 0
 * @retval -EINVAL unknown dialect, command, size or a NULL pointer
 */
int ioregion_wire_encode_cmd(int dialect,
			     const struct ioregion_wire_cmd *cmd,
			     uint8_t buf[IOREGION_WIRE_MSG_SIZE]);

/**
 * Encode a response carrying @p data (bytes 0-7, host order, rest zero).
 */
void ioregion_wire_encode_resp(uint64_t data,
			       uint8_t buf[IOREGION_WIRE_MSG_SIZE]);

/**
 * Decode a response. The caller masks the value to the size of the access
 * it asked for.
 * @return the 64-bit data field (bytes 0-7)
 */
uint64_t ioregion_wire_decode_resp(const uint8_t buf[IOREGION_WIRE_MSG_SIZE]);

/**
 * @return the mask of the low @p size bytes (size 1, 2, 4 or 8; anything
 *         else: 0)
 */
uint64_t ioregion_wire_size_mask(unsigned size);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_WIRE_H */
