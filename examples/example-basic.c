/* SPDX-License-Identifier: MIT */
/*
 * example-test modes on the guests' output and counts: hello, string-pio,
 * selftest(-info), hammer, crossing, no-kvm, bad-kernel. See
 * example-test.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example-test.h"

int
test_hello(const struct paths *p, struct run *r)
{
	static const char want[] =
		"Hello from the guest via ioregion UART\n"
		"rep outsb: 0123456789 abcdefghijklmnopqrstuvwxyz "
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
	int v;

	base_run(r, p, "hello");
	arg(r, "--spawn");
	arg_owned(r, cmd(p->uart, "--no-stdin"));
	if (run_vmm(r) < 0)
		return 1;
	v = status_verdict(r, 0);
	if (v >= 0)
		return v;
	if (path_verdict(r))
		return 1;
	return expect_output(r, want, sizeof(want) - 1);
}

int
test_string_pio(const struct paths *p, struct run *r)
{
	static const char ping[] = "ping from the host, through RBR\n";
	char *want;
	size_t len = 0, cap = 80 * 64 + 64 + sizeof(ping);
	int v;

	want = malloc(cap);
	if (!want)
		return 1;
	for (int line = 0; line < 80; line++) {
		len += (size_t)sprintf(want + len, "%04d:", line);
		for (int i = 0; i < 58; i++)
			want[len++] = (char)('a' + (line + i) % 26);
		want[len++] = '\n';
	}
	len += (size_t)sprintf(want + len, "echo: %s", ping);

	base_run(r, p, "stringio");
	arg(r, "--spawn");
	arg_owned(r, cmd(p->uart, ""));
	r->stdin_data = ping;
	v = run_vmm(r) < 0 ? 1 : status_verdict(r, 0);
	if (v < 0)
		v = path_verdict(r);
	if (v <= 0)
		v = expect_output(r, want, len);
	free(want);
	return v;
}

/* On the fast path the devices speak the kernel's dialect: tinyvmm
 * refuses --dialect for another with one message naming both, before any
 * device starts. */
static int
test_dialect_refused(const struct run *r, const char *dialect)
{
	char want[160];
	int v = status_verdict(r, VMM_EXIT_ERROR);

	if (v >= 0)
		return v;
	snprintf(want, sizeof(want), "--dialect %s, but this kernel's "
		 "KVM_SET_IOREGION speaks %s: refused", dialect,
		 kernel_dialect_name());
	if (!strstr(r->err.data, want) || r->out.len ||
	    strstr(r->err.data, "spawned")) {
		fprintf(stderr, "example-test: want '%s', no device started "
			"and no guest output\n", want);
		return 1;
	}
	fprintf(stderr, "example-test: the %s dialect was refused on this %s "
		"kernel, as it must be\n", dialect, kernel_dialect_name());
	return 0;
}

/* The devices learn the dialect from tinyvmm (the control session). */
int
test_selftest(const struct paths *p, struct run *r, const char *dialect)
{
	static const char want[] = "selftest: PASS\n";
	int v;

	base_run(r, p, "selftest");
	arg(r, "--dialect");
	arg(r, dialect);
	arg(r, "--spawn");
	arg_owned(r, cmd(p->uart, "--no-stdin"));
	arg(r, "--spawn");
	arg(r, p->regbank);
	if (run_vmm(r) < 0)
		return 1;
	if (kpath.fast && strcmp(dialect, kernel_dialect_name()))
		return test_dialect_refused(r, dialect);
	v = status_verdict(r, 0);
	if (v >= 0) {
		if (r->out.len)
			fprintf(stderr, "guest said: %s", r->out.data);
		return v;
	}
	if (path_verdict(r))
		return 1;
	return expect_output(r, want, sizeof(want) - 1);
}

int
test_hammer(const struct paths *p, struct run *r)
{
	int v;

	base_run(r, p, "hammer");
	arg(r, "--vcpus");
	arg(r, "2");
	arg(r, "--spawn");
	arg(r, p->regbank);
	if (run_vmm(r) < 0)
		return 1;
	v = status_verdict(r, 0);
	if (v >= 0)
		return v;
	if (path_verdict(r))
		return 1;
	/* Both vCPUs wrote: 2 x 2000 non-posted and 2 x 2000 posted: the
	 * device counts them on either path. */
	if (!strstr(r->err.data, "writes 4000 ") ||
	    !strstr(r->err.data, "posted 4000 ")) {
		fprintf(stderr, "example-test: the device did not count "
			"4000 writes and 4000 posted writes\n");
		return 1;
	}
	return 0;
}

/* Two vCPUs, one on the fast path (where there is one), one making
 * accesses that leave KVM for the bridge: every value right on both. */
int
test_crossing(const struct paths *p, struct run *r)
{
	const char *st;
	unsigned long long reads = 0;
	int v;

	base_run(r, p, "crossing");
	arg(r, "--vcpus");
	arg(r, "2");
	arg(r, "--spawn");
	arg(r, p->regbank);
	if (run_vmm(r) < 0)
		return 1;
	v = status_verdict(r, 0);
	if (v >= 0) {
		if (r->status > 0 && r->status < 4)
			fprintf(stderr, "example-test: wrong values seen by "
				"%s\n", r->status == 1 ? "vCPU 0 (fast path)" :
				r->status == 2 ? "vCPU 1 (bridge)" :
				"both vCPUs");
		return v;
	}
	if (path_verdict(r))
		return 1;
	/* tinyvmm's bridge served at least vCPU 1's 1000 halves */
	st = strstr(r->err.data, "stats regbank ");
	if (!st || !(st = strstr(st, "reads ")) ||
	    sscanf(st, "reads %llu", &reads) != 1 || reads < 1000) {
		fprintf(stderr, "example-test: the bridge served %llu reads of "
			"regbank, want >= 1000\n", reads);
		return 1;
	}
	return 0;
}

int
test_no_kvm(const struct paths *p, struct run *r)
{

	base_run(r, p, "hello");
	arg(r, "--spawn");
	arg_owned(r, cmd(p->uart, "--no-stdin"));
	r->env = "IOREGION_KVM_DEV=/nonexistent/kvm";
	if (run_vmm(r) < 0)
		return 1;
	if (r->status != SKIP || !strstr(r->err.data, "no KVM") ||
	    strstr(r->err.data, "spawned")) {
		fprintf(stderr, "example-test: want exit 77, a 'no KVM' "
			"message and no device started\n");
		return 1;
	}
	return 0;
}


/* Linux mode with kernels tinyvmm must refuse: checked before KVM is
 * opened (so this runs anywhere), exit 125 with the reason, no device
 * started. A flat guest image is no ELF file; tinyvmm itself is one, but
 * position-independent (ET_DYN), not a kernel. */
int
test_bad_kernel(const struct paths *p, struct run *r)
{
	static const struct {
		const char *what;
		const char *why;
	} cases[] = {
		{ "hello", "not an ELF file" },
		{ NULL, "not an executable" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_free(r);
		*r = (struct run){ 0 };
		arg(r, p->tinyvmm);
		arg(r, "--kernel");
		if (cases[i].what)
			arg_owned(r, guest(p, cases[i].what));
		else
			arg(r, p->tinyvmm);
		arg(r, "--spawn");
		arg_owned(r, cmd(p->uart, "--no-stdin"));
		r->env = "IOREGION_KVM_DEV=/nonexistent/kvm";
		if (run_vmm(r) < 0)
			return 1;
		if (r->status != VMM_EXIT_ERROR ||
		    !strstr(r->err.data, cases[i].why) ||
		    strstr(r->err.data, "spawned")) {
			fprintf(stderr, "example-test: bad kernel %zu: want "
				"exit 125, '%s' and no device started\n", i,
				cases[i].why);
			return 1;
		}
	}
	return 0;
}
