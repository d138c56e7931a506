/* SPDX-License-Identifier: MIT */
/*
 * example-test modes on interrupts and guest memory: dma-irq(-level),
 * dma-no-mem, uart-irq(-level). See example-test.h.
 */
#include <stdio.h>
#include <string.h>

#include "example-test.h"

/*
 * The dmairq guest: regbank's DMA engine with guest RAM (--mem-for) and
 * its interrupt line on GSI 5 (--irq), an edge line or, with the
 * device's --irq-level, a level line. The guest checks the
 * copies, the refused ones and the interrupts; the device's own count
 * must agree (2 copies, 5 refused). Without --mem-for the device has no
 * guest memory (least privilege): the first copy is refused and the
 * guest stops at its check 3.
 */
int
test_dma(const struct paths *p, struct run *r, bool level, bool mem)
{
	char want[80];
	int v;

	base_run(r, p, "dmairq");
	arg(r, "--spawn");
	arg_owned(r, cmd(p->regbank, level ? "--irq-level" : ""));
	if (mem) {
		arg(r, "--mem-for");
		arg(r, "regbank");
	}
	arg(r, "--irq");
	arg(r, "regbank=5");
	if (run_vmm(r) < 0)
		return 1;
	v = status_verdict(r, mem ? 0 : 3);
	if (v >= 0) {
		if (r->status > 0 && r->status < 100)
			fprintf(stderr, "example-test: the guest failed its "
				"check %d (examples/guest/dmairq.S)\n",
				r->status);
		return v;
	}
	if (path_verdict(r))
		return 1;
	snprintf(want, sizeof(want), "DMA interrupt: %s line; guest memory: %s",
		 level ? "level" : "edge", mem ? "granted" : "none");
	if (!strstr(r->err.data, want)) {
		fprintf(stderr, "example-test: the device did not say '%s'\n",
			want);
		return 1;
	}
	snprintf(want, sizeof(want), "line 0 'dma' GSI 5 %s",
		 level ? "level" : "edge");
	if (!strstr(r->err.data, want)) {
		fprintf(stderr, "example-test: tinyvmm did not say '%s'\n",
			want);
		return 1;
	}
	if (mem ? !strstr(r->err.data, "dma copies 2 dma errors 5\n") ||
		  !strstr(r->err.data, "memory regbank      0x0+0x200000")
		: !strstr(r->err.data, "dma copies 0 dma errors 1\n") ||
		  strstr(r->err.data, "memory regbank")) {
		fprintf(stderr, "example-test: want the device to %s\n",
			mem ? "map guest RAM, copy twice and refuse 5 copies"
			    : "have no guest memory and refuse one copy");
		return 1;
	}
	return 0;
}

/*
 * The uartirq guest: an echo driven by the UART's interrupts on GSI 4
 * (--irq uart16550=4; an edge line, or a level line with the device's
 * --irq-level). The device honours RTS (--rtscts),
 * so the input waits until the guest has set the chip up. Every line comes
 * back, then the guest's summary; the guest checked that its handler ran
 * for received data and for THRE, the device that it raised the line.
 */
int
test_uart_irq(const struct paths *p, struct run *r, bool level)
{
	static const char in[] =
		"hello over interrupts\n"
		"a second line, longer than the 16-byte FIFO of the 16550A\n"
		"bye\n";
	const size_t n = sizeof(in) - 1;
	unsigned long long echoed = 0, irqs = 0, rx = 0, tx = 0, edges = 0;
	const char *st;
	int v;

	base_run(r, p, "uartirq");
	arg(r, "--spawn");
	arg_owned(r, cmd(p->uart, level ? "--rtscts --irq-level" : "--rtscts"));
	arg(r, "--irq");
	arg(r, "uart16550=4");
	r->stdin_data = in;
	if (run_vmm(r) < 0)
		return 1;
	v = status_verdict(r, 0);
	if (v >= 0) {
		if (r->status >= 2 && r->status <= 5)
			fprintf(stderr, "example-test: the guest says %s "
				"(examples/guest/uartirq.S)\n",
				r->status == 2 ? "no UART interrupt came" :
				r->status == 3 ? "no receive interrupt" :
				r->status == 4 ? "no THRE interrupt" :
				"its ring overflowed");
		return v;
	}
	if (path_verdict(r))
		return 1;
	if (r->out.len < n || memcmp(r->out.data, in, n) ||
	    sscanf(r->out.data + n, "uartirq: echoed %llu bytes, %llu "
		   "interrupts (%llu rx, %llu tx)\n", &echoed, &irqs, &rx,
		   &tx) != 4 || echoed != n || !irqs || !rx || !tx) {
		fprintf(stderr, "example-test: want the input echoed and "
			"'uartirq: echoed %zu bytes, M interrupts (R rx, T "
			"tx)', M, R, T > 0\n", n);
		return expect_output(r, in, n);
	}
	st = strstr(r->err.data, " irq edges ");
	if (!st || sscanf(st, " irq edges %llu", &edges) != 1 || !edges ||
	    !strstr(st, " irq errors 0\n")) {
		fprintf(stderr, "example-test: want the device to report irq "
			"edges > 0 and irq errors 0\n");
		return 1;
	}
	fprintf(stderr, "example-test: %llu bytes echoed on %llu interrupts "
		"(%llu rx, %llu tx), %llu edges from the device\n", echoed,
		irqs, rx, tx, edges);
	return 0;
}

