/* SPDX-License-Identifier: MIT */
/*
 * The harness of the examples' end-to-end tests that play the VMM for one
 * device program without KVM: a bridge, a devhost with the program spawned
 * and attached, checks counted and printed, and the tear-down with the
 * PASS/FAIL line.
 */
#ifndef IOREGION_EXAMPLES_DEVTEST_H
#define IOREGION_EXAMPLES_DEVTEST_H

#include <stdbool.h>

#include "ioregion/bridge.h"
#include "ioregion/vmm.h"

#include "devhost.h"

struct devtest {
	const char *prog;		/* for messages */
	struct devhost host;
	struct ioregion_bridge *bridge;
	struct ioregion_vmm_device *dev;
	bool host_up;
};

/* The checks that failed so far. */
extern int devtest_failures;

/* Prints "ok  : ..." or "FAIL: ..."; counts a failure (devtest_failures). */
void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Makes the bridge, listens, spawns @cmdline and attaches it with @cfg
 * (its bridge set here), waiting up to @wait_ms. 0 or -1 (then t->dev is
 * NULL; devtest_finish() reports it). */
int devtest_start(struct devtest *t, const char *prog, const char *cmdline,
		  struct ioregion_vmm_config *cfg, int wait_ms);

/* Shuts the device down, waits for the program, frees it all and prints
 * the verdict. Returns the exit status: 0 pass, 1 fail. */
int devtest_finish(struct devtest *t);

#endif
