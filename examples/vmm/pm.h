/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's ACPI PM1 registers (pm.c), the fixed hardware its FADT
 * (acpi.c) describes, answered in the VMM in Linux mode. The register
 * model is here without KVM, so tests/test-vmm-pm.c links pm.c alone.
 */
#ifndef EXAMPLES_VMM_PM_H
#define EXAMPLES_VMM_PM_H

#include <stdbool.h>
#include <stdint.h>

/* The registers that keep a value (status always reads 0). */
struct vmm_pm {
	uint16_t en;		/* PM1 enable */
	uint16_t cnt;		/* PM1 control: BM_RLD, SLP_TYP */
};

/* PM1 control bits. */
#define VMM_PM_CNT_SCI_EN	0x0001u
#define VMM_PM_CNT_BM_RLD	0x0002u
#define VMM_PM_CNT_GBL_RLS	0x0004u
#define VMM_PM_CNT_SLP_TYP_SHIFT 10
#define VMM_PM_CNT_SLP_TYP	(7u << VMM_PM_CNT_SLP_TYP_SHIFT)
#define VMM_PM_CNT_SLP_EN	0x2000u

/*
 * One access of @size bytes (1, 2 or 4) at I/O port @port, @data in the
 * guest's byte order: if it lies inside the PM block (VMM_ACPI_PM_BASE,
 * VMM_ACPI_PM1_EVT_LEN + VMM_ACPI_PM1_CNT_LEN ports) it is answered (a
 * read fills @data) and 1 is returned, 2 if it was the write that powers
 * the guest off (SLP_EN with SLP_TYP = VMM_ACPI_SLP_TYP_S5); 0 if it is
 * not the block's (nothing done, also for an access that only straddles
 * it).
 */
int vmm_pm_access(struct vmm_pm *pm, uint32_t port, unsigned int size,
		  bool in, uint8_t *data);

#endif
