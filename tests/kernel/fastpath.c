/* SPDX-License-Identifier: MIT */
/*
 * fastpath: the example guests through tinyvmm on a kernel with the
 * kernel/ patch, checking that tinyvmm took the ioregionfd fast path and
 * that the accesses really went through KVM to the device processes (their
 * counters show them, tinyvmm's bridge saw none of them).
 *
 *   fastpath --tinyvmm P --uart P --regbank P --guests DIR MODE
 *   MODE: hello | selftest | ratio [--pairs N]
 *
 * ratio: the hammer guest (1 vCPU: 2000 non-posted and 2000 posted
 * writes) on the fast path and through the bridge (--no-ioregionfd),
 * alternating, in the same boot; prints
 *   RATIO fastpath-vs-bridge-emulated <bridge time / fast-path time>
 * Measured under QEMU/TCG emulation: only the ratio means anything.
 *
 * Exit status: 0 pass, 1 fail, 77 no KVM or no KVM_SET_IOREGION.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/kvm.h"

#define EXIT_SKIP 77
#define LIMIT_S 60

struct out {
	char *data;
	size_t len, cap;
};

struct result {
	struct out out, err;
	int status;	/* exit code, or 128 + signal, or -1 timeout */
	double secs;
};

static const char *tinyvmm, *uart, *regbank, *guests;
static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (!ok)
		failures++;
	printf("fastpath: %s: ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void append(struct out *o, const char *p, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->data = realloc(o->data, o->cap);
		if (!o->data)
			abort();
	}
	memcpy(o->data + o->len, p, n);
	o->len += n;
	o->data[o->len] = '\0';
}

/* Run argv with stdout and stderr captured, bounded by LIMIT_S. */
static void run(char *const argv[], struct result *r)
{
	int po[2], pe[2], st;
	double t0 = now_s();
	pid_t pid;

	memset(r, 0, sizeof(*r));
	append(&r->out, "", 0);
	append(&r->err, "", 0);
	if (pipe(po) < 0 || pipe(pe) < 0) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd p[2] = { { .fd = po[0], .events = POLLIN },
				       { .fd = pe[0], .events = POLLIN } };
		double left = LIMIT_S - (now_s() - t0);
		char buf[4096];

		if (left <= 0 || poll(p, 2, (int)(left * 1000) + 1) == 0) {
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!p[i].revents || p[i].fd < 0)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(i ? pe[0] : po[0]);
				if (i)
					pe[0] = -1;
				else
					po[0] = -1;
				open_fds--;
			} else {
				append(i ? &r->err : &r->out, buf, (size_t)n);
			}
		}
		if (po[0] < 0 && pe[0] < 0)
			break;
	}
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	waitpid(pid, &st, 0);
	r->secs = now_s() - t0;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void show(const char *what, const struct result *r)
{
	printf("fastpath: --- %s: exit %d, %.2f s; tinyvmm/device stderr:\n%s", what,
	       r->status, r->secs, r->err.data);
	if (r->out.len)
		printf("fastpath: --- guest output:\n%s", r->out.data);
	fflush(stdout);
}

static char *guest(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s.bin", guests, name) < 0)
		abort();
	return p;
}

/* Sum of the device processes' "region ... reads R writes W posted P" counters. */
static uint64_t device_accesses(const char *err)
{
	uint64_t sum = 0;

	for (const char *p = err; (p = strstr(p, ": region ")); p++) {
		uint64_t rd, wr, po;
		const char *q = strstr(p, " reads ");

		if (q && sscanf(q, " reads %" SCNu64 " writes %" SCNu64 " posted %" SCNu64,
				&rd, &wr, &po) == 3)
			sum += rd + wr + po;
	}
	return sum;
}

/* Sum of tinyvmm's bridge counters ("stats NAME ... reads R writes W posted P"). */
static uint64_t bridge_accesses(const char *err)
{
	uint64_t sum = 0;

	for (const char *p = err; (p = strstr(p, ": stats ")); p++) {
		uint64_t rd, wr, po;
		const char *q = strstr(p, ": reads ");

		if (q && sscanf(q, ": reads %" SCNu64 " writes %" SCNu64 " posted %" SCNu64,
				&rd, &wr, &po) == 3)
			sum += rd + wr + po;
	}
	return sum;
}

static void check_fast(const char *what, const struct result *r, int want_status)
{
	uint64_t dev = device_accesses(r->err.data), br = bridge_accesses(r->err.data);

	check(r->status == want_status, "%s: tinyvmm exit %d (want %d)", what, r->status,
	      want_status);
	check(strstr(r->err.data, "path: ioregionfd fast path") != NULL,
	      "%s: tinyvmm says it used KVM_SET_IOREGION (\"path: ioregionfd fast path\")",
	      what);
	check(dev > 0, "%s: the device processes counted %" PRIu64 " accesses", what, dev);
	check(br == 0, "%s: tinyvmm's bridge served %" PRIu64 " of them (want 0: all "
	      "went through KVM)", what, br);
}

static int mode_hello(void)
{
	static const char want[] = "Hello from the guest via ioregion UART\n"
				   "rep outsb: 0123456789 abcdefghijklmnopqrstuvwxyz "
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
	char *u;
	struct result r;

	if (asprintf(&u, "%s --no-stdin", uart) < 0)
		abort();
	char *argv[] = { (char *)tinyvmm, "--guest", guest("hello"), "--timeout-ms", "30000",
			 "--spawn", u, NULL };
	run(argv, &r);
	show("hello", &r);
	check_fast("hello", &r, 0);
	check(strcmp(r.out.data, want) == 0, "hello: the guest's text arrived byte for byte");
	return failures ? 1 : 0;
}

static int mode_selftest(void)
{
	char *u;
	struct result r;

	if (asprintf(&u, "%s --no-stdin", uart) < 0)
		abort();
	char *argv[] = { (char *)tinyvmm, "--guest", guest("selftest"), "--timeout-ms", "30000",
			 "--spawn", u, "--spawn", (char *)regbank, NULL };
	run(argv, &r);
	show("selftest", &r);
	check_fast("selftest", &r, 0);
	check(strstr(r.out.data, "selftest: PASS") != NULL, "selftest: the guest says PASS");
	return failures ? 1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int mode_ratio(int pairs)
{
	double fast[16], bridge[16];
	struct result r;

	if (pairs < 1 || pairs > 16)
		pairs = 3;
	for (int i = 0; i < pairs; i++) {
		for (int b = 0; b < 2; b++) {
			char *argv[] = { (char *)tinyvmm, "--guest", guest("hammer"),
					 "--vcpus", "1", "--timeout-ms", "50000",
					 "--spawn", (char *)regbank,
					 b ? "--no-ioregionfd" : NULL, NULL };

			run(argv, &r);
			if (r.status != 0 || i == 0)
				show(b ? "hammer via bridge" : "hammer via fast path", &r);
			check(r.status == 0, "hammer %s run %d: exit %d, %.3f s",
			      b ? "bridge   " : "fast path", i + 1, r.status, r.secs);
			if (!b)
				check_fast("hammer", &r, 0);
			else
				check(strstr(r.err.data, "path: bridge") != NULL &&
				      bridge_accesses(r.err.data) > 0,
				      "hammer: --no-ioregionfd went through the bridge");
			(b ? bridge : fast)[i] = r.secs;
		}
	}
	qsort(fast, (size_t)pairs, sizeof(double), cmp_double);
	qsort(bridge, (size_t)pairs, sizeof(double), cmp_double);
	printf("fastpath: hammer (1 vCPU, 2000 writes + 2000 posted writes), median of %d: "
	       "fast path %.3f s, bridge %.3f s (QEMU/TCG emulation, nested KVM)\n",
	       pairs, fast[pairs / 2], bridge[pairs / 2]);
	printf("RATIO fastpath-vs-bridge-emulated %.2f\n", bridge[pairs / 2] / fast[pairs / 2]);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = NULL;
	int pairs = 3, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char **dst = NULL;

		if (!strcmp(argv[i], "--tinyvmm"))
			dst = &tinyvmm;
		else if (!strcmp(argv[i], "--uart"))
			dst = &uart;
		else if (!strcmp(argv[i], "--regbank"))
			dst = &regbank;
		else if (!strcmp(argv[i], "--guests"))
			dst = &guests;
		else if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
			pairs = atoi(argv[++i]);
		else if (argv[i][0] != '-' && !mode)
			mode = argv[i];
		else
			goto usage;
		if (dst) {
			if (++i >= argc)
				goto usage;
			*dst = argv[i];
		}
	}
	if (!tinyvmm || !uart || !regbank || !guests || !mode)
		goto usage;

	rc = ioregion_kvm_probe_system();
	if (rc < 0) {
		printf("fastpath: SKIP: no usable KVM: %s\n", strerror(-rc));
		return EXIT_SKIP;
	}
	if (rc == 0) {
		printf("fastpath: SKIP: this kernel has no KVM_SET_IOREGION (stock kvm "
		       "modules, not the kernel/ patch)\n");
		return EXIT_SKIP;
	}
	if (!strcmp(mode, "hello"))
		return mode_hello();
	if (!strcmp(mode, "selftest"))
		return mode_selftest();
	if (!strcmp(mode, "ratio"))
		return mode_ratio(pairs);
usage:
	fprintf(stderr, "usage: fastpath --tinyvmm P --uart P --regbank P --guests DIR "
		"hello|selftest|ratio [--pairs N]\n");
	return 2;
}
