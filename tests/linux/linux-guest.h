/* SPDX-License-Identifier: MIT */
/*
 * What the Linux guest's host programs share (linux-test.c, linux-bench.c):
 * the kernel command line Debian's kernel boots fastest with on tinyvmm
 * (docs/linux-guest.md); each adds its linuxtest.* parameters for /init
 * (init.sh).
 */
#ifndef TESTS_LINUX_GUEST_H
#define TESTS_LINUX_GUEST_H

#define LINUX_BASE_CMDLINE                                              \
	"console=ttyS0 panic=-1 reboot=t quiet pci=noearly tsc=reliable " \
	"no_timer_check cryptomgr.notests mitigations=off "             \
	"random.trust_cpu=on initcall_blacklist=cmos_init"

#endif /* TESTS_LINUX_GUEST_H */
