/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), one-shot, for linux-test's checks of the disk
 * regions the guest hashes with busybox's sha256sum.
 */
#ifndef TESTS_LINUX_SHA256_H
#define TESTS_LINUX_SHA256_H

#include <stddef.h>

/* Writes the 64 lowercase hex digits of SHA-256(@data) and a NUL. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif /* TESTS_LINUX_SHA256_H */
