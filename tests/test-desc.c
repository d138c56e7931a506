/* SPDX-License-Identifier: MIT */
/* Region descriptions: the kernel's KVM_SET_IOREGION argument checks. */
#include "test-common.h"

#include "ioregion/desc.h"
#include "ioregion/wire.h"

static struct ioregion_desc
mk(uint64_t addr, uint64_t size, uint32_t flags)
{
	return (struct ioregion_desc){ .addr = addr, .size = size,
		.flags = flags, .dialect = IOREGION_WIRE_V3 };
}

START_TEST(test_desc_valid_mmio_pio_and_doorbell)
{
	struct ioregion_desc d = mk(0xd0000000, 0x1000, 0);

	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
	d = mk(0x3f8, 8, IOREGION_F_PIO);
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
	d = mk(0xfff8, 8, IOREGION_F_PIO);		/* ends at 0xffff */
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
	d = mk(0x1000, 0, IOREGION_F_POSTED_WRITES);
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
	d = mk(UINT64_MAX - 0x1000, 0x1000, 0);	/* up to the last byte but one */
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
	d.dialect = IOREGION_WIRE_INFO;
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
}
END_TEST

START_TEST(test_desc_rejects_size_zero_without_posted_writes)
{
	struct ioregion_desc d = mk(0x1000, 0, 0);

	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
}
END_TEST

START_TEST(test_desc_rejects_wrap_around)
{
	struct ioregion_desc d = mk(UINT64_MAX - 0xffe, 0x1000, 0);

	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	/* Ending exactly at 2^64 wraps to 0: the kernel refuses it too. */
	d = mk(UINT64_MAX - 0xfff, 0x1000, 0);
	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	/* A doorbell occupies its one address: at 2^64 - 1 it ends at 2^64,
	 * which no table can hold (the bridge could never match it and
	 * missed overlaps with it). */
	d = mk(UINT64_MAX, 0, IOREGION_F_POSTED_WRITES);
	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	d = mk(UINT64_MAX - 1, 0, IOREGION_F_POSTED_WRITES);
	ior_assert_int_eq(ioregion_desc_validate(&d), 0);
}
END_TEST

START_TEST(test_desc_rejects_unknown_flags_and_dialect)
{
	struct ioregion_desc d = mk(0x1000, 8, 1u << 2);	/* DEASSIGN is not ours */

	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	d = mk(0x1000, 8, 1u << 31);
	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	d = mk(0x1000, 8, 0);
	d.dialect = 0;
	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	ior_assert_errno(ioregion_desc_validate(NULL), -EINVAL);
}
END_TEST

START_TEST(test_desc_rejects_pio_beyond_port_space)
{
	struct ioregion_desc d = mk(0xfffc, 8, IOREGION_F_PIO);

	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
	d = mk(0x10000, 0, IOREGION_F_PIO | IOREGION_F_POSTED_WRITES);
	ior_assert_errno(ioregion_desc_validate(&d), -EINVAL);
}
END_TEST

static Suite *
desc_suite(void)
{
	Suite *s = suite_create("desc");

	ior_add_test(s, test_desc_valid_mmio_pio_and_doorbell);
	ior_add_test(s, test_desc_rejects_size_zero_without_posted_writes);
	ior_add_test(s, test_desc_rejects_wrap_around);
	ior_add_test(s, test_desc_rejects_unknown_flags_and_dialect);
	ior_add_test(s, test_desc_rejects_pio_beyond_port_space);
	return s;
}

IOR_TEST_MAIN(desc_suite)
