/* SPDX-License-Identifier: MIT */
/*
 * What the Linux guest's host programs share (linux-test.c, linux-bench.c;
 * linux-guest.c): the kernel command line Debian's kernel boots fastest
 * with on tinyvmm (docs/linux-guest.md), to which each adds its
 * linuxtest.* parameters for /init (init.sh); the KVM check, the scratch
 * directory and the tinyvmm arguments both boots start with.
 */
#ifndef TESTS_LINUX_GUEST_H
#define TESTS_LINUX_GUEST_H

#define LINUX_BASE_CMDLINE                                              \
	"console=ttyS0 panic=-1 reboot=t quiet pci=noearly tsc=reliable " \
	"no_timer_check cryptomgr.notests mitigations=off "             \
	"random.trust_cpu=on initcall_blacklist=cmos_init"

#include <stddef.h>

#include "example-test.h"

/* 0 if the KVM device (IOREGION_KVM_DEV, else /dev/kvm) opens read-write;
 * else prints "@prog: SKIP: ..." and returns SKIP. */
int linux_kvm_usable(const char *prog);

/* A new directory "@prog-XXXXXX" in $TMPDIR (else /tmp), its name in @dir.
 * 0, or -1 (printed). */
int linux_tmpdir(const char *prog, char *dir, size_t size);

/* tinyvmm, the kernel, initrd and command line, 256 MiB, and the UART
 * (no stdin, irq 4): the arguments every boot starts with. */
void linux_args_boot(struct run *r, const char *tinyvmm, const char *kernel,
		     const char *initrd, const char *cmdline, const char *uart);

/* A device program to spawn: "--spawn" and "@prog @args". */
void linux_args_spawn(struct run *r, const char *prog, const char *args);

/* The spawned virtio-blk's guest memory, line (@irq "virtio-blk=GSI") and
 * virtio-mmio transport. */
void linux_args_vblk(struct run *r, const char *irq);

#endif /* TESTS_LINUX_GUEST_H */
