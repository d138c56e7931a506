/* SPDX-License-Identifier: MIT */
/* Wire ABI: encode, decode and validate ioregionfd commands and responses.
 * Decoding works on bytes and shifts only (no bitfields), see wire.h. */
#include "ioregion-private.h"

#include <errno.h>

#include "ioregion/wire.h"

IOREGION_EXPORT bool
ioregion_wire_dialect_valid(int dialect)
{
	return dialect == IOREGION_WIRE_V3 || dialect == IOREGION_WIRE_INFO;
}

IOREGION_EXPORT uint64_t
ioregion_wire_size_mask(unsigned size)
{
	switch (size) {
	case 1: return 0xffull;
	case 2: return 0xffffull;
	case 4: return 0xffffffffull;
	case 8: return ~0ull;
	default: return 0;
	}
}

IOREGION_EXPORT int
ioregion_wire_decode_cmd(int dialect, const uint8_t buf[IOREGION_WIRE_MSG_SIZE],
			 struct ioregion_wire_cmd *out)
{
	unsigned exp;
	bool reserved;

	if (!buf || !out || !ioregion_wire_dialect_valid(dialect))
		return -EINVAL;

	if (dialect == IOREGION_WIRE_V3) {
		uint8_t flags = buf[1];

		out->cmd = buf[0];
		exp = flags & IOREGION_WIRE_V3_SIZE_MASK;
		out->resp = flags & IOREGION_WIRE_V3_RESP_BIT;
		reserved = flags & IOREGION_WIRE_V3_RESERVED_MASK;
	} else {
		uint32_t info = load_u32(buf);

		out->cmd = info & IOREGION_WIRE_INFO_CMD_MASK;
		exp = (info & IOREGION_WIRE_INFO_SIZE_MASK) >>
		      IOREGION_WIRE_INFO_SIZE_SHIFT;
		out->resp = info & IOREGION_WIRE_INFO_RESP_BIT;
		reserved = info & IOREGION_WIRE_INFO_RESERVED_MASK;
	}

	out->size = exp <= 3 ? (uint8_t)(1u << exp) : 0;
	out->user_data = load_u64(buf + IOREGION_WIRE_OFF_USER_DATA);
	out->offset = load_u64(buf + IOREGION_WIRE_OFF_OFFSET);
	out->data = 0;
	if (out->cmd == IOREGION_CMD_READ)
		out->resp = true;
	else if (out->cmd == IOREGION_CMD_WRITE)
		out->data = load_u64(buf + IOREGION_WIRE_OFF_DATA) &
			    ioregion_wire_size_mask(out->size);

	if (out->cmd != IOREGION_CMD_READ && out->cmd != IOREGION_CMD_WRITE)
		return -EOPNOTSUPP;
	if (reserved)
		return -EBADMSG;
	if (out->size == 0)
		return -EMSGSIZE;
	return 0;
}

static int
size_exponent(unsigned size)
{
	switch (size) {
	case 1: return 0;
	case 2: return 1;
	case 4: return 2;
	case 8: return 3;
	default: return -1;
	}
}

IOREGION_EXPORT int
ioregion_wire_encode_cmd(int dialect, const struct ioregion_wire_cmd *cmd,
			 uint8_t buf[IOREGION_WIRE_MSG_SIZE])
{
	int exp;
	bool resp;
	uint64_t data;

	if (!cmd || !buf || !ioregion_wire_dialect_valid(dialect))
		return -EINVAL;
	exp = size_exponent(cmd->size);
	if (exp < 0 ||
	    (cmd->cmd != IOREGION_CMD_READ && cmd->cmd != IOREGION_CMD_WRITE))
		return -EINVAL;

	resp = cmd->cmd == IOREGION_CMD_READ || cmd->resp;
	data = cmd->cmd == IOREGION_CMD_WRITE ?
	       cmd->data & ioregion_wire_size_mask(cmd->size) : 0;

	memset(buf, 0, IOREGION_WIRE_MSG_SIZE);
	if (dialect == IOREGION_WIRE_V3) {
		buf[0] = cmd->cmd;
		buf[1] = (uint8_t)exp | (resp ? IOREGION_WIRE_V3_RESP_BIT : 0);
	} else {
		uint32_t info = cmd->cmd |
				((uint32_t)exp << IOREGION_WIRE_INFO_SIZE_SHIFT) |
				(resp ? IOREGION_WIRE_INFO_RESP_BIT : 0);
		store_u32(buf, info);
	}
	store_u64(buf + IOREGION_WIRE_OFF_USER_DATA, cmd->user_data);
	store_u64(buf + IOREGION_WIRE_OFF_OFFSET, cmd->offset);
	store_u64(buf + IOREGION_WIRE_OFF_DATA, data);
	return 0;
}

IOREGION_EXPORT void
ioregion_wire_encode_resp(uint64_t data, uint8_t buf[IOREGION_WIRE_MSG_SIZE])
{
	memset(buf, 0, IOREGION_WIRE_MSG_SIZE);
	store_u64(buf, data);
}

IOREGION_EXPORT uint64_t
ioregion_wire_decode_resp(const uint8_t buf[IOREGION_WIRE_MSG_SIZE])
{
	return load_u64(buf);
}
