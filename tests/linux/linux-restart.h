/* SPDX-License-Identifier: MIT */
/*
 * linux-test --restart (linux-restart.c): the virtio-blk process killed
 * while it holds one of the guest's reads, and what the run must show.
 * Shared with linux-test.c: its failure count and console lookup.
 */
#ifndef TESTS_LINUX_LINUX_RESTART_H
#define TESTS_LINUX_LINUX_RESTART_H

#include <stddef.h>

#include "example-test.h"

#define MARK "LINUXTEST "

/* linux-test.c: count a failed check and print it. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* linux-test.c: the rest of the console line "LINUXTEST @what: " in @buf,
 * or NULL. */
const char *marker(const char *console, const char *what, char *buf,
		   size_t size);

/* Set @r up to kill virtio-blk (SIGKILL) while the guest reads, at
 * moments its state file @state says it holds a request. */
void restart_arm(struct run *r, const char *state);
/* The kills, the guest's I/O error and read-back, no reset. */
void restart_check(const struct run *r, const char *read_sha);

#endif /* TESTS_LINUX_LINUX_RESTART_H */
