/* SPDX-License-Identifier: MIT */
/*
 * linux-test --poweroff (linux-poweroff.c): what the run must show when
 * the guest powers off through ACPI instead of writing its status byte.
 */
#ifndef TESTS_LINUX_LINUX_POWEROFF_H
#define TESTS_LINUX_LINUX_POWEROFF_H

#include "example-test.h"

/* The kernel command line's tail that makes the guest's init
 * `poweroff -f` (busybox, from the initramfs). */
#define POWEROFF_CMDLINE "rdinit=/bin/busybox -- poweroff -f"

/* tinyvmm exited 125 saying the guest powered off (ACPI S5) without a
 * status byte. 0 if so, else 1 (the failures counted with fail()). */
int poweroff_check(const struct run *r);

#endif /* TESTS_LINUX_LINUX_POWEROFF_H */
