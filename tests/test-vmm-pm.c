// SPDX-License-Identifier: MIT
/*
 * tinyvmm's ACPI PM1 registers (examples/vmm/pm.c), linked alone: the
 * block's bounds, status reading 0 whatever is written, enable as a plain
 * register, control with SCI_EN always set and SLP_EN never read back,
 * byte-wise and word-wise access, and which write powers off (SLP_EN with
 * the DSDT's S5 SLP_TYP, in one word or in its high byte alone).
 */
#include <string.h>

#include "acpi.h"
#include "pm.h"
#include "test-common.h"

#define EVT VMM_ACPI_PM_BASE
#define EN (VMM_ACPI_PM_BASE + 2)
#define CNT (VMM_ACPI_PM_BASE + 4)
#define S5 (VMM_ACPI_SLP_TYP_S5 << VMM_PM_CNT_SLP_TYP_SHIFT)

static uint16_t rd16(struct vmm_pm *pm, uint32_t port)
{
	uint8_t d[2] = { 0xee, 0xee };

	ior_assert_int_eq(vmm_pm_access(pm, port, 2, true, d), 1);
	return (uint16_t)(d[0] | d[1] << 8);
}

static int wr16(struct vmm_pm *pm, uint32_t port, uint16_t v)
{
	uint8_t d[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return vmm_pm_access(pm, port, 2, false, d);
}

START_TEST(test_pm_bounds)
{
	struct vmm_pm pm = { 0 };
	uint8_t d[4] = { 0x5a, 0x5a, 0x5a, 0x5a };

	/* Outside, or straddling either end: not the block's, untouched. */
	ior_assert_int_eq(vmm_pm_access(&pm, EVT - 1, 1, true, d), 0);
	ior_assert_int_eq(vmm_pm_access(&pm, EVT - 1, 2, true, d), 0);
	ior_assert_int_eq(vmm_pm_access(&pm, CNT + 2, 1, true, d), 0);
	ior_assert_int_eq(vmm_pm_access(&pm, CNT + 1, 2, true, d), 0);
	ior_assert_int_eq(vmm_pm_access(&pm, CNT, 4, true, d), 0);
	ior_assert_int_eq(vmm_pm_access(&pm, 0xffffffffu, 4, true, d), 0);
	ior_assert_int_eq(vmm_pm_access(&pm, EVT, 8, true, d), 0);
	ior_assert_uint_eq(d[0] & d[1] & d[2] & d[3], 0x5a);
	/* Inside, every width: the last byte of control, a dword. */
	ior_assert_int_eq(vmm_pm_access(&pm, CNT + 1, 1, true, d), 1);
	ior_assert_int_eq(vmm_pm_access(&pm, EVT, 4, true, d), 1);
	ior_assert_int_eq(vmm_pm_access(&pm, EN, 4, true, d), 1);
}
END_TEST

START_TEST(test_pm_status_enable)
{
	struct vmm_pm pm = { 0 };
	uint8_t d[4];

	ior_assert_uint_eq(rd16(&pm, EVT), 0);
	ior_assert_int_eq(wr16(&pm, EVT, 0xffff), 1);	/* clear all */
	ior_assert_uint_eq(rd16(&pm, EVT), 0);
	ior_assert_uint_eq(rd16(&pm, EN), 0);
	ior_assert_int_eq(wr16(&pm, EN, 0x0120), 1);	/* GBL_EN, PWRBTN_EN */
	ior_assert_uint_eq(rd16(&pm, EN), 0x0120);
	ior_assert_uint_eq(rd16(&pm, EVT), 0);
	/* a byte write changes that byte only */
	d[0] = 0x01;
	ior_assert_int_eq(vmm_pm_access(&pm, EN + 1, 1, false, d), 1);
	ior_assert_uint_eq(rd16(&pm, EN), 0x0120);
	d[0] = 0x00;
	ior_assert_int_eq(vmm_pm_access(&pm, EN, 1, false, d), 1);
	ior_assert_uint_eq(rd16(&pm, EN), 0x0100);
	/* a dword at the block's start: status, then enable */
	ior_assert_int_eq(vmm_pm_access(&pm, EVT, 4, true, d), 1);
	ior_assert_uint_eq(d[0] | d[1] | d[2], 0);
	ior_assert_uint_eq(d[3], 0x01);
}
END_TEST

START_TEST(test_pm_control)
{
	struct vmm_pm pm = { 0 };

	/* ACPI mode from the start: SCI_EN, without a switch */
	ior_assert_uint_eq(rd16(&pm, CNT), VMM_PM_CNT_SCI_EN);
	/* SCI_EN cannot be cleared; GBL_RLS and SLP_EN read 0; BM_RLD
	 * and SLP_TYP read back; reserved bits are dropped */
	ior_assert_int_eq(wr16(&pm, CNT, (uint16_t)(VMM_PM_CNT_BM_RLD |
			  VMM_PM_CNT_GBL_RLS | (3u << 10) | 0xc3f8)), 1);
	ior_assert_uint_eq(rd16(&pm, CNT), VMM_PM_CNT_SCI_EN |
			   VMM_PM_CNT_BM_RLD | (3u << 10));
	/* SLP_EN with another SLP_TYP: no such sleep state, nothing */
	ior_assert_int_eq(wr16(&pm, CNT, (uint16_t)(VMM_PM_CNT_SLP_EN |
						    (3u << 10))), 1);
	/* SLP_TYP = S5 without SLP_EN (Linux writes it first): nothing */
	ior_assert_int_eq(wr16(&pm, CNT, S5), 1);
	ior_assert_uint_eq(rd16(&pm, CNT), VMM_PM_CNT_SCI_EN | S5);
}
END_TEST

START_TEST(test_pm_poweroff)
{
	struct vmm_pm pm = { 0 };
	uint8_t hi;

	/* One word: SLP_TYP = S5 and SLP_EN */
	ior_assert_int_eq(wr16(&pm, CNT, S5 | VMM_PM_CNT_SLP_EN), 2);
	/* The high byte alone carries both fields */
	memset(&pm, 0, sizeof(pm));
	hi = (uint8_t)((S5 | VMM_PM_CNT_SLP_EN) >> 8);
	ior_assert_int_eq(vmm_pm_access(&pm, CNT + 1, 1, false, &hi), 2);
	/* ... but SLP_TYP comes from the byte written, not from before */
	memset(&pm, 0, sizeof(pm));
	ior_assert_int_eq(wr16(&pm, CNT, S5), 1);
	hi = (uint8_t)(VMM_PM_CNT_SLP_EN >> 8);
	ior_assert_int_eq(vmm_pm_access(&pm, CNT + 1, 1, false, &hi), 1);
	/* The low byte cannot: SLP_EN is bit 13 */
	hi = 0xff;
	ior_assert_int_eq(vmm_pm_access(&pm, CNT, 1, false, &hi), 1);
	/* Writes to status or enable never power off */
	ior_assert_int_eq(wr16(&pm, EVT, 0xffff), 1);
	ior_assert_int_eq(wr16(&pm, EN, 0xffff), 1);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("vmm-pm");

	ior_add_test(s, test_pm_bounds);
	ior_add_test(s, test_pm_status_enable);
	ior_add_test(s, test_pm_control);
	ior_add_test(s, test_pm_poweroff);
	return s;
}

IOR_TEST_MAIN(make_suite)
