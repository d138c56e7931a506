/* SPDX-License-Identifier: MIT */
/* Wire ABI: golden byte-level tests written from the tables of
 * docs/wire-protocol.md (not from the encoder), for both dialects. */
#include "test-common.h"

#include "ioregion/wire.h"

/* An 8-byte write with resp, user_data 0x1122334455667788, offset 0x10,
 * data 0xdeadbeefcafef00d, as the v3 table lays it out. */
static const uint8_t v3_write8[32] = {
	0x01, 0x13, 0, 0, 0, 0, 0, 0,
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	0x10, 0, 0, 0, 0, 0, 0, 0,
	0x0d, 0xf0, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde,
};

/* The same command in the info dialect: info = 1 | 3 << 4 | 1 << 6 = 0x71. */
static const uint8_t info_write8[32] = {
	0x71, 0, 0, 0, 0, 0, 0, 0,
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	0x10, 0, 0, 0, 0, 0, 0, 0,
	0x0d, 0xf0, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde,
};

/* A 2-byte read at offset 0x1234, user_data 7: v3 byte 1 = 1 | resp. */
static const uint8_t v3_read2[32] = {
	0x00, 0x11, 0, 0, 0, 0, 0, 0,
	7, 0, 0, 0, 0, 0, 0, 0,
	0x34, 0x12, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};

/* info: read (0) | size exp 1 << 4 | resp 1 << 6 = 0x50. */
static const uint8_t info_read2[32] = {
	0x50, 0, 0, 0, 0, 0, 0, 0,
	7, 0, 0, 0, 0, 0, 0, 0,
	0x34, 0x12, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};

START_TEST(test_wire_v3_encode_write8_matches_table)
{
	struct ioregion_wire_cmd c = {
		.cmd = IOREGION_CMD_WRITE, .size = 8, .resp = true,
		.user_data = 0x1122334455667788ull, .offset = 0x10,
		.data = 0xdeadbeefcafef00dull,
	};
	uint8_t buf[32];

	ior_assert_int_eq(ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf), 0);
	ior_assert_mem_eq(buf, v3_write8, 32);
}
END_TEST

START_TEST(test_wire_info_encode_write8_matches_table)
{
	struct ioregion_wire_cmd c = {
		.cmd = IOREGION_CMD_WRITE, .size = 8, .resp = true,
		.user_data = 0x1122334455667788ull, .offset = 0x10,
		.data = 0xdeadbeefcafef00dull,
	};
	uint8_t buf[32];

	ior_assert_int_eq(ioregion_wire_encode_cmd(IOREGION_WIRE_INFO, &c, buf), 0);
	ior_assert_mem_eq(buf, info_write8, 32);
}
END_TEST

START_TEST(test_wire_encode_read_always_sets_resp_and_zero_data)
{
	struct ioregion_wire_cmd c = {
		.cmd = IOREGION_CMD_READ, .size = 2, .resp = false,
		.user_data = 7, .offset = 0x1234, .data = 0xffff,
	};
	uint8_t buf[32];

	ior_assert_int_eq(ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf), 0);
	ior_assert_mem_eq(buf, v3_read2, 32);
	ior_assert_int_eq(ioregion_wire_encode_cmd(IOREGION_WIRE_INFO, &c, buf), 0);
	ior_assert_mem_eq(buf, info_read2, 32);
}
END_TEST

START_TEST(test_wire_decode_golden_both_dialects)
{
	struct ioregion_wire_cmd c;

	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, v3_write8, &c), 0);
	ior_assert_uint_eq(c.cmd, IOREGION_CMD_WRITE);
	ior_assert_uint_eq(c.size, 8);
	ior_assert(c.resp);
	ior_assert_uint_eq(c.user_data, 0x1122334455667788ull);
	ior_assert_uint_eq(c.offset, 0x10);
	ior_assert_uint_eq(c.data, 0xdeadbeefcafef00dull);

	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_INFO, info_write8, &c), 0);
	ior_assert_uint_eq(c.cmd, IOREGION_CMD_WRITE);
	ior_assert_uint_eq(c.size, 8);
	ior_assert(c.resp);
	ior_assert_uint_eq(c.data, 0xdeadbeefcafef00dull);

	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, v3_read2, &c), 0);
	ior_assert_uint_eq(c.cmd, IOREGION_CMD_READ);
	ior_assert_uint_eq(c.size, 2);
	ior_assert_uint_eq(c.offset, 0x1234);
	ior_assert_uint_eq(c.user_data, 7);

	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_INFO, info_read2, &c), 0);
	ior_assert_uint_eq(c.cmd, IOREGION_CMD_READ);
	ior_assert_uint_eq(c.size, 2);
	ior_assert(c.resp);
}
END_TEST

START_TEST(test_wire_decode_every_size_exponent)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint8_t buf[32];
	struct ioregion_wire_cmd c;

	for (unsigned exp = 0; exp < 4; exp++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = 1;			/* v3 write, posted */
		buf[1] = (uint8_t)exp;
		ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), 0);
		ior_assert_uint_eq(c.size, sizes[exp]);
		ior_assert(!c.resp);

		memset(buf, 0, sizeof(buf));
		buf[0] = (uint8_t)(1 | exp << 4);	/* info write, posted */
		ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_INFO, buf, &c), 0);
		ior_assert_uint_eq(c.size, sizes[exp]);
		ior_assert(!c.resp);
	}
}
END_TEST

START_TEST(test_wire_decode_write_data_masked_to_size)
{
	uint8_t buf[32];
	struct ioregion_wire_cmd c;

	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	buf[1] = 0x00;			/* 1 byte */
	memset(buf + 24, 0xab, 8);
	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), 0);
	ior_assert_uint_eq(c.data, 0xab);
}
END_TEST

START_TEST(test_wire_decode_rejects_unknown_command)
{
	uint8_t buf[32] = { 0 };
	struct ioregion_wire_cmd c;

	buf[0] = 2;
	buf[1] = 0x12;
	ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), -EOPNOTSUPP);
	ior_assert(c.resp);		/* still tells that an answer is due */
	buf[0] = 0xff;
	buf[1] = 0x02;
	ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), -EOPNOTSUPP);
	ior_assert(!c.resp);
	memset(buf, 0, 4);
	buf[0] = 0x4f;			/* info: cmd 15, resp */
	ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_INFO, buf, &c), -EOPNOTSUPP);
	ior_assert(c.resp);
}
END_TEST

START_TEST(test_wire_decode_rejects_reserved_bits)
{
	uint8_t buf[32] = { 0 };
	struct ioregion_wire_cmd c;

	for (unsigned bit = 5; bit < 8; bit++) {
		buf[0] = 0;
		buf[1] = (uint8_t)(0x02 | 1u << bit);
		ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), -EBADMSG);
		ior_assert(c.resp);	/* a read: answer due */
	}
	for (unsigned bit = 7; bit < 32; bit++) {
		uint32_t info = 0x01 | 1u << bit;	/* posted write */

		memset(buf, 0, sizeof(buf));
		memcpy(buf, &info, 4);
		ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_INFO, buf, &c), -EBADMSG);
		ior_assert(!c.resp);
	}
}
END_TEST

START_TEST(test_wire_decode_rejects_v3_size_exponent_above_3)
{
	uint8_t buf[32] = { 0 };
	struct ioregion_wire_cmd c;

	for (unsigned exp = 4; exp < 16; exp++) {
		buf[1] = (uint8_t)exp;
		ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), -EMSGSIZE);
		ior_assert_uint_eq(c.size, 0);
		ior_assert(c.resp);
	}
}
END_TEST

START_TEST(test_wire_padding_is_ignored)
{
	uint8_t buf[32];
	struct ioregion_wire_cmd c;

	memcpy(buf, v3_read2, 32);
	memset(buf + 2, 0x5a, 6);
	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, &c), 0);
	memcpy(buf, info_read2, 32);
	memset(buf + 4, 0x5a, 4);
	ior_assert_int_eq(ioregion_wire_decode_cmd(IOREGION_WIRE_INFO, buf, &c), 0);
}
END_TEST

START_TEST(test_wire_bad_arguments_einval)
{
	uint8_t buf[32] = { 0 };
	struct ioregion_wire_cmd c = { .cmd = 0, .size = 3 };

	ior_assert_errno(ioregion_wire_decode_cmd(0, buf, &c), -EINVAL);
	ior_assert_errno(ioregion_wire_decode_cmd(1, buf, &c), -EINVAL);
	ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, NULL, &c), -EINVAL);
	ior_assert_errno(ioregion_wire_decode_cmd(IOREGION_WIRE_V3, buf, NULL), -EINVAL);
	ior_assert_errno(ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf), -EINVAL);
	c.size = 4;
	c.cmd = 2;
	ior_assert_errno(ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf), -EINVAL);
	c.cmd = 0;
	ior_assert_errno(ioregion_wire_encode_cmd(7, &c, buf), -EINVAL);
	ior_assert(!ioregion_wire_dialect_valid(0));
	ior_assert(ioregion_wire_dialect_valid(IOREGION_WIRE_INFO));
}
END_TEST

START_TEST(test_wire_response_layout)
{
	static const uint8_t golden[32] = {
		0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0,
	};
	uint8_t buf[32];

	memset(buf, 0xee, sizeof(buf));
	ioregion_wire_encode_resp(0x11223344, buf);
	ior_assert_mem_eq(buf, golden, 32);
	memset(buf + 8, 0x77, 24);	/* padding ignored on decode */
	ior_assert_uint_eq(ioregion_wire_decode_resp(buf), 0x11223344);
	ior_assert_uint_eq(ioregion_wire_size_mask(2), 0xffff);
	ior_assert_uint_eq(ioregion_wire_size_mask(3), 0);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");

	ior_add_test(s, test_wire_v3_encode_write8_matches_table);
	ior_add_test(s, test_wire_info_encode_write8_matches_table);
	ior_add_test(s, test_wire_encode_read_always_sets_resp_and_zero_data);
	ior_add_test(s, test_wire_decode_golden_both_dialects);
	ior_add_test(s, test_wire_decode_every_size_exponent);
	ior_add_test(s, test_wire_decode_write_data_masked_to_size);
	ior_add_test(s, test_wire_decode_rejects_unknown_command);
	ior_add_test(s, test_wire_decode_rejects_reserved_bits);
	ior_add_test(s, test_wire_decode_rejects_v3_size_exponent_above_3);
	ior_add_test(s, test_wire_padding_is_ignored);
	ior_add_test(s, test_wire_bad_arguments_einval);
	ior_add_test(s, test_wire_response_layout);
	return s;
}

IOR_TEST_MAIN(wire_suite)
