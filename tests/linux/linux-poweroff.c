// SPDX-License-Identifier: MIT
/*
 * linux-test --poweroff (linux-poweroff.h): the guest's init is
 * `poweroff -f`, so Linux powers off through ACPI (S5 written to
 * tinyvmm's PM1 control register) without a status byte on port 0xf4;
 * tinyvmm must end the run there, as an error.
 */
#include <stdio.h>
#include <string.h>

#include "linux-poweroff.h"
#include "linux-restart.h"

int
poweroff_check(const struct run *r)
{
	const char *err = r->err.data ? r->err.data : "";
	int bad = 0;

	if (r->status != 125) {
		fail("tinyvmm exit %d, want 125 (a power-off is no status)",
		     r->status);
		bad++;
	}
	if (!strstr(err, "the guest powered off (ACPI S5) without a status "
		    "on port 0xf4")) {
		fail("tinyvmm does not say the guest powered off (ACPI S5)");
		bad++;
	}
	fprintf(stderr, "linux-test: %s: the ACPI power-off %s (run %.2f s)\n",
		bad ? "FAIL" : "PASS", bad ? "was not seen" : "ended the run",
		r->run_ms / 1000.0);
	return bad ? 1 : 0;
}
