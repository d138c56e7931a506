/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's ACPI PM1 registers (Linux mode): the fixed hardware the FADT
 * (acpi.c) points the guest at, answered in the VMM, not by a device
 * process. Ports from VMM_ACPI_PM_BASE:
 *
 *   +0  PM1 status (2 bytes)   reads 0: nothing here sets a status bit
 *                              (no PM timer, no buttons, no wake), so
 *                              writing ones to clear them leaves 0
 *   +2  PM1 enable (2 bytes)   a plain register: reads what was written
 *   +4  PM1 control (2 bytes)  SCI_EN reads 1 (always in ACPI mode: the
 *                              FADT has no SMI command port to switch);
 *                              BM_RLD and SLP_TYP read back; GBL_RLS and
 *                              SLP_EN read 0. SLP_EN written with
 *                              SLP_TYP = VMM_ACPI_SLP_TYP_S5 (the DSDT's
 *                              \_S5) powers the guest off; another
 *                              SLP_TYP (no such sleep state) is ignored
 *
 * Any width and rep ins/outs: each byte is one register byte. vm->lock
 * orders the vCPUs' accesses (rare: Linux touches these at boot and at
 * power-off).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "acpi.h"
#include "pm.h"
#include "vmm.h"

#define PM1_EN 2			/* offsets in the block */
#define PM1_CNT 4
#define PM_PORTS (VMM_ACPI_PM1_EVT_LEN + VMM_ACPI_PM1_CNT_LEN)
#define CNT_KEPT (VMM_PM_CNT_BM_RLD | VMM_PM_CNT_SLP_TYP) /* reads back */

/* One byte of the block at offset @off. */
static uint8_t
pm_read(const struct vmm_pm *pm, unsigned int off)
{
	uint16_t v = 0;

	if (off >= PM1_CNT)
		v = (uint16_t)(pm->cnt | VMM_PM_CNT_SCI_EN);
	else if (off >= PM1_EN)
		v = pm->en;
	return (uint8_t)(v >> (8 * (off & 1)));
}

/* Write byte @b at offset @off; returns true if it powers off. */
static bool
pm_write(struct vmm_pm *pm, unsigned int off, uint8_t b)
{
	unsigned int shift = 8 * (off & 1);
	uint16_t mask = (uint16_t)(0xffu << shift), v = (uint16_t)(b << shift);

	if (off < PM1_EN)
		return false;		/* status: write-ones-clear of zeros */
	if (off < PM1_CNT) {
		pm->en = (uint16_t)((pm->en & ~mask) | v);
		return false;
	}
	pm->cnt = (uint16_t)((pm->cnt & ~(mask & CNT_KEPT)) |
			     (v & mask & CNT_KEPT));
	return (v & VMM_PM_CNT_SLP_EN) &&
	       (pm->cnt & VMM_PM_CNT_SLP_TYP) >> VMM_PM_CNT_SLP_TYP_SHIFT ==
	       VMM_ACPI_SLP_TYP_S5;
}

int
vmm_pm_access(struct vmm_pm *pm, uint32_t port, unsigned int size, bool in,
	      uint8_t *data)
{
	bool off = false;

	if (port < VMM_ACPI_PM_BASE || size > PM_PORTS ||
	    port - VMM_ACPI_PM_BASE > PM_PORTS - size)
		return 0;
	for (unsigned int k = 0; k < size; k++) {
		unsigned int o = port - VMM_ACPI_PM_BASE + k;

		if (in)
			data[k] = pm_read(pm, o);
		else if (pm_write(pm, o, data[k]))
			off = true;
	}
	return off ? 2 : 1;
}

int
vmm_pm_io(struct vmm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	int rc = 0, r;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < run->io.count; i++) {
		r = vmm_pm_access(&vm->pm, run->io.port, run->io.size, in,
				  data + (size_t)i * run->io.size);
		if (r == 0)
			break;
		rc = r > rc ? r : rc;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}
