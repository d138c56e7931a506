/* SPDX-License-Identifier: MIT */
/*
 * Shared test helpers. Check is kept behind these thin macros so that a
 * later switch of test framework touches this header only.
 */
#ifndef IOREGION_TEST_COMMON_H
#define IOREGION_TEST_COMMON_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define ior_assert(cond) ck_assert(cond)
#define ior_assert_int_eq(a, b) ck_assert_int_eq((a), (b))
#define ior_assert_int_ne(a, b) ck_assert_int_ne((a), (b))
#define ior_assert_int_ge(a, b) ck_assert_int_ge((a), (b))
#define ior_assert_int_gt(a, b) ck_assert_int_gt((a), (b))
#define ior_assert_int_le(a, b) ck_assert_int_le((a), (b))
#define ior_assert_int_lt(a, b) ck_assert_int_lt((a), (b))
#define ior_assert_uint_eq(a, b) ck_assert_uint_eq((a), (b))
#define ior_assert_ptr_null(p) ck_assert_ptr_null(p)
#define ior_assert_ptr_nonnull(p) ck_assert_ptr_nonnull(p)
#define ior_assert_mem_eq(a, b, n) ck_assert_mem_eq((a), (b), (n))
#define ior_assert_str_eq(a, b) ck_assert_str_eq((a), (b))
/* A call that must succeed (returns >= 0). */
#define ior_assert_ok(expr) ck_assert_int_ge((expr), 0)
/* A call that must fail with exactly this negative errno. */
#define ior_assert_errno(expr, neg_errno) ck_assert_int_eq((expr), (neg_errno))
#define ior_abort(...) ck_abort_msg(__VA_ARGS__)

/* Add test function @fn as its own TCase named after it, so that
 * CK_RUN_CASE=<name> runs one test. */
#define ior_add_test(suite, fn) ior_add_tcase((suite), #fn, (fn), 0)
/* The same with a timeout in seconds (0: Check's default). */
#define ior_add_test_timeout(suite, fn, secs) \
	ior_add_tcase((suite), #fn, (fn), (secs))

void ior_add_tcase(Suite *s, const char *name, const TTest *fn, double secs);

/* Run @suite; returns the process exit status. Honours CK_* variables. */
int ior_run_suite(Suite *suite);

#define IOR_TEST_MAIN(make_suite)                                            \
	int main(void) { return ior_run_suite(make_suite()); }

/* ---- helpers for peers and fds --------------------------------------- */

/* Write all of buf, retrying EINTR; aborts the test on failure. */
void ior_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes with a bound of timeout_ms; returns bytes read
 * (less on EOF or timeout). */
size_t ior_read_timeout(int fd, void *buf, size_t len, int timeout_ms);
/* How many fds this process has open (for leak checks: compare before
 * and after). */
int ior_count_fds(void);
/* Whether fd has data within timeout_ms. */
bool ior_readable(int fd, int timeout_ms);

#endif /* IOREGION_TEST_COMMON_H */
