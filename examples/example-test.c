/* SPDX-License-Identifier: MIT */
/*
 * example-test: runs tinyvmm with the example devices and guests and
 * checks the outcome: the guest's UART output byte for byte, exit
 * statuses, a device killed mid-run, a device restarted under a running
 * guest. One C program (not a shell script) so that the QEMU lab runner
 * can copy it into its VM with its libraries. This file: the common
 * verdicts and the modes' table; the rest in example-test.h's list.
 *
 *   example-test --tinyvmm P --uart P --regbank P --guests DIR
 *                [--expect-path fast|bridge] MODE
 *
 * Every mode runs on whichever path this machine's kernel gives: the
 * harness probes KVM_SET_IOREGION itself (the library's probe, on a
 * scratch VM) and checks that tinyvmm took the path the kernel offers
 * (fast path where present, bridge elsewhere) and, where the outcome
 * differs by path (a wire dialect other than the kernel's asked for:
 * refused), the outcome that path must give. --expect-path
 * fails the run unless that path is the one taken (the kernel suite says
 * fast, so a patched module that did not load cannot pass as the bridge).
 *
 * Exit 0 pass, 1 fail, 77 skip (tinyvmm found no KVM).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "example-test.h"

int
expect_output(const struct run *r, const char *want, size_t want_len)
{
	size_t n = r->out.len < want_len ? r->out.len : want_len;
	size_t i;

	if (r->out.len == want_len && !memcmp(r->out.data, want, want_len))
		return 0;
	for (i = 0; i < n && r->out.data[i] == want[i]; i++)
		;
	fprintf(stderr, "example-test: UART output differs at byte %zu "
		"(got %zu bytes, want %zu)\n---- got ----\n%.*s\n---- want "
		"----\n%.*s\n", i, r->out.len, want_len, (int)r->out.len,
		r->out.data ? r->out.data : "", (int)want_len, want);
	return 1;
}

/* Common verdict on the exit status: returns -1 to go on checking. */
int
status_verdict(const struct run *r, int want)
{
	if (r->status == SKIP) {
		fprintf(stderr, "example-test: SKIP: no KVM\n");
		return SKIP;
	}
	if (r->status != want) {
		fprintf(stderr, "example-test: tinyvmm exit %d, want %d\n",
			r->status, want);
		return 1;
	}
	return -1;
}

void
base_run(struct run *r, const struct paths *p, const char *g)
{
	memset(r, 0, sizeof(*r));
	arg(r, p->tinyvmm);
	arg(r, "--guest");
	arg_owned(r, guest(p, g));
	arg(r, "--timeout-ms");
	arg(r, "20000");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tinyvmm", required_argument, NULL, 't' },
		{ "uart", required_argument, NULL, 'u' },
		{ "regbank", required_argument, NULL, 'r' },
		{ "guests", required_argument, NULL, 'g' },
		{ "expect-path", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct paths p = { 0 };
	struct run r = { 0 };
	const char *mode;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 't': p.tinyvmm = optarg; break;
		case 'u': p.uart = optarg; break;
		case 'r': p.regbank = optarg; break;
		case 'g': p.guests = optarg; break;
		case 'e': expect_path = optarg; break;
		default: return 1;
		}
	}
	if (optind != argc - 1 || !p.tinyvmm || !p.uart || !p.regbank ||
	    !p.guests || (expect_path && strcmp(expect_path, "fast") &&
			  strcmp(expect_path, "bridge"))) {
		fprintf(stderr, "usage: example-test --tinyvmm P --uart P "
			"--regbank P --guests DIR [--expect-path fast|bridge] "
			"MODE\nmodes: hello string-pio selftest selftest-info "
			"hammer crossing device-killed device-stopped "
			"reconnect dma-irq dma-irq-level dma-no-mem uart-irq "
			"uart-irq-level no-kvm bad-kernel\n");
		return 1;
	}
	mode = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	probe_kernel();

	if (!strcmp(mode, "hello"))
		rc = test_hello(&p, &r);
	else if (!strcmp(mode, "string-pio"))
		rc = test_string_pio(&p, &r);
	else if (!strcmp(mode, "selftest"))
		rc = test_selftest(&p, &r, "v3");
	else if (!strcmp(mode, "selftest-info"))
		rc = test_selftest(&p, &r, "info");
	else if (!strcmp(mode, "hammer"))
		rc = test_hammer(&p, &r);
	else if (!strcmp(mode, "crossing"))
		rc = test_crossing(&p, &r);
	else if (!strcmp(mode, "device-killed"))
		rc = test_device_fails(&p, &r, SIGKILL,
				       strerror(ECONNRESET));
	else if (!strcmp(mode, "device-stopped"))
		rc = test_device_fails(&p, &r, SIGSTOP, strerror(ETIMEDOUT));
	else if (!strcmp(mode, "reconnect"))
		rc = test_reconnect(&p, &r);
	else if (!strcmp(mode, "dma-irq"))
		rc = test_dma(&p, &r, false, true);
	else if (!strcmp(mode, "dma-irq-level"))
		rc = test_dma(&p, &r, true, true);
	else if (!strcmp(mode, "dma-no-mem"))
		rc = test_dma(&p, &r, false, false);
	else if (!strcmp(mode, "uart-irq"))
		rc = test_uart_irq(&p, &r, false);
	else if (!strcmp(mode, "uart-irq-level"))
		rc = test_uart_irq(&p, &r, true);
	else if (!strcmp(mode, "no-kvm"))
		rc = test_no_kvm(&p, &r);
	else if (!strcmp(mode, "bad-kernel"))
		rc = test_bad_kernel(&p, &r);
	else
		fprintf(stderr, "example-test: unknown mode '%s'\n", mode);
	run_free(&r);
	return rc;
}

