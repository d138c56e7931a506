/* SPDX-License-Identifier: MIT */
/*
 * bridge-script: drive the example device processes through the bridge
 * without KVM or a guest. It plays tinyvmm's part (listen, spawn, hand-off)
 * and then issues a scripted access sequence with ioregion_bridge_access(),
 * the same path a KVM exit takes: it prints a line through the UART, and
 * checks the regbank device (every width, read-to-clear, deferred read,
 * posted-write ordering) and the UART's registers, as guest/selftest.S does.
 * For machines without /dev/kvm (the demo's fallback) and suite
 * 'integration'.
 *
 *   bridge-script --spawn "uart16550 --no-stdin" --spawn regbank
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logging.h"
#include "ioregion/bridge.h"

#include "devhost.h"
#include "regbank.h"

#define COM1 0x3f8
#define UART_LSR_THRE 0x20
#define MAX_SPAWN DEVHOST_MAX_DEVICES
#define EXIT_ERROR 125

struct step {
	bool pio;
	uint64_t addr;
	bool write;
	unsigned int size;
	uint64_t val;		/* written, or expected when reading */
	const char *what;
};

#define RB(off) ((uint64_t)REGBANK_DEFAULT_BASE + (off))
#define W(pio, a, sz, v, s) { pio, a, true, sz, v, s }
#define R(pio, a, sz, v, s) { pio, a, false, sz, v, s }

/* Checks with fixed answers, in order (each read compares). */
static const struct step script[] = {
	R(false, RB(REGBANK_ID), 4, REGBANK_ID_VALUE, "ID"),
	W(false, RB(REGBANK_SCRATCH8), 1, 0xa5, "scratch8"),
	R(false, RB(REGBANK_SCRATCH8), 1, 0xa5, "scratch8"),
	W(false, RB(REGBANK_SCRATCH16), 2, 0xbeef, "scratch16"),
	R(false, RB(REGBANK_SCRATCH16), 2, 0xbeef, "scratch16"),
	W(false, RB(REGBANK_SCRATCH32), 4, 0xdeadbeef, "scratch32"),
	R(false, RB(REGBANK_SCRATCH32), 4, 0xdeadbeef, "scratch32"),
	W(false, RB(REGBANK_SCRATCH64), 8, 0x0123456789abcdefull, "scratch64"),
	R(false, RB(REGBANK_SCRATCH64), 8, 0x0123456789abcdefull, "scratch64"),
	W(false, RB(REGBANK_ARRAY), 8, 0x8877665544332211ull, "array"),
	R(false, RB(REGBANK_ARRAY + 3), 1, 0x44, "array byte"),
	R(false, RB(REGBANK_ARRAY + 4), 2, 0x6655, "array word"),
	R(false, RB(REGBANK_ARRAY + 4), 4, 0x88776655, "array dword"),
	W(false, RB(REGBANK_ADD), 1, 5, "add"),
	W(false, RB(REGBANK_ADD), 2, 300, "add"),
	W(false, RB(REGBANK_ADD), 4, 70000, "add"),
	W(false, RB(REGBANK_ADD), 8, 0x100000000ull, "add"),
	R(false, RB(REGBANK_SUM), 8, 0x1000112a1ull, "sum"),
	R(false, RB(REGBANK_SUM), 8, 0, "sum cleared by reading"),
	R(false, RB(REGBANK_COUNT), 8, 4, "count"),
	R(false, RB(REGBANK_COUNT), 8, 0, "count cleared by reading"),
	R(false, RB(REGBANK_DEFERRED), 4, REGBANK_DEFERRED_TAG + 1, "deferred"),
	R(false, RB(REGBANK_DEFERRED), 8, REGBANK_DEFERRED_TAG + 2, "deferred"),
	W(true, REGBANK_PIO_BASE, 4, 0x11223344, "pio dword"),
	W(true, REGBANK_PIO_BASE + 4, 2, 0x5566, "pio word"),
	R(true, REGBANK_PIO_BASE + 2, 2, 0x1122, "pio word"),
	R(true, REGBANK_PIO_BASE + 4, 4, 0x5566, "pio dword"),
	W(true, COM1 + 7, 1, 0x5a, "uart scr"),
	R(true, COM1 + 7, 1, 0x5a, "uart scr"),
	R(true, COM1 + 5, 1, 0x60, "uart lsr"),
	W(true, COM1 + 3, 1, 0x83, "uart lcr dlab"),
	W(true, COM1 + 0, 1, 0x01, "uart dll"),
	R(true, COM1 + 0, 1, 0x01, "uart dll"),
	W(true, COM1 + 3, 1, 0x03, "uart lcr"),
	R(true, COM1 + 2, 1, 0x01, "uart iir"),
	W(true, COM1 + 2, 1, 0x07, "uart fcr"),
	R(true, COM1 + 2, 1, 0xc1, "uart iir fifo"),
	W(true, COM1 + 4, 1, 0x10, "uart mcr loop"),
	W(true, COM1 + 0, 1, 'A', "uart thr (loopback)"),
	R(true, COM1 + 5, 1, 0x61, "uart lsr dr"),
	R(true, COM1 + 0, 1, 'A', "uart rbr (loopback)"),
	W(true, COM1 + 4, 1, 0x00, "uart mcr"),
	W(true, COM1 + 2, 1, 0x00, "uart fcr"),
	R(true, COM1 + 0, 2, 0xffff, "uart word read refused"),
};

struct script_ctx {
	const char *prog;
	struct ioregion_bridge *bridge;
	unsigned int checks;
};

/* One access; reads compare with @expect unless @out is given.
 * Returns 0, or -1 (message printed). */
static int
access1(struct script_ctx *s, bool pio, uint64_t addr, bool write,
	unsigned int size, uint64_t val, const char *what, uint64_t *out)
{
	uint64_t v = val;
	int rc = ioregion_bridge_access(s->bridge, pio, addr, write, size, &v);

	if (rc <= 0) {
		fprintf(stderr, "%s: %s %s 0x%" PRIx64 " (%s): %s\n", s->prog,
			write ? "write" : "read", pio ? "pio" : "mmio", addr,
			what, rc ? strerror(-rc) : "no device there");
		return -1;
	}
	if (write)
		return 0;
	if (out) {
		*out = v;
		return 0;
	}
	s->checks++;
	if (v != val) {
		fprintf(stderr, "%s: check %u (%s): read 0x%" PRIx64
			" at 0x%" PRIx64 ", want 0x%" PRIx64 "\n", s->prog,
			s->checks, what, v, addr, val);
		return -1;
	}
	return 0;
}

static int
uart_puts(struct script_ctx *s, const char *str)
{
	uint64_t lsr;

	for (; *str; str++) {
		do {
			if (access1(s, true, COM1 + 5, false, 1, 0, "lsr",
				    &lsr) < 0)
				return -1;
		} while (!(lsr & UART_LSR_THRE));
		if (access1(s, true, COM1, true, 1, (uint8_t)*str, "thr",
			    NULL) < 0)
			return -1;
	}
	return 0;
}

static int
run_script(struct script_ctx *s)
{
	uint64_t a, b, hash = 0;

	if (uart_puts(s, "Hello from bridge-script: devices driven through "
			 "the bridge, no KVM\n") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		const struct step *st = &script[i];

		if (access1(s, st->pio, st->addr, st->write, st->size, st->val,
			    st->what, NULL) < 0)
			return -1;
	}

	/* The read counter moves by one per read. */
	if (access1(s, false, RB(REGBANK_COUNTER), false, 8, 0, "counter",
		    &a) < 0 ||
	    access1(s, false, RB(REGBANK_COUNTER), false, 8, 0, "counter",
		    &b) < 0)
		return -1;
	s->checks++;
	if (b != a + 1) {
		fprintf(stderr, "%s: counter went from %" PRIu64 " to %" PRIu64
			"\n", s->prog, a, b);
		return -1;
	}

	/* Posted writes: 100 of them, then the log must hold all, in order. */
	if (access1(s, false, RB(REGBANK_LOG_CLEAR), true, 4, 1, "log clear",
		    NULL) < 0)
		return -1;
	for (uint64_t i = 1; i <= 100; i++) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull;

		if (access1(s, false, RB(REGBANK_LOG_OFFSET), true, 8, v,
			    "log", NULL) < 0)
			return -1;
		hash = hash * REGBANK_LOG_MULT + v;
	}
	if (access1(s, false, RB(REGBANK_LOG_LEN), false, 4, 100, "log len",
		    NULL) < 0 ||
	    access1(s, false, RB(REGBANK_LOG_HASH), false, 8, hash,
		    "log hash (order)", NULL) < 0)
		return -1;

	/* Nobody serves this address: the bridge says so. */
	s->checks++;
	a = 0;
	if (ioregion_bridge_access(s->bridge, false, 0xc0000000, false, 4,
				   &a) != 0) {
		fprintf(stderr, "%s: an unclaimed address was claimed\n",
			s->prog);
		return -1;
	}
	return uart_puts(s, "bridge-script: PASS\n");
}

static void
print_stats(struct script_ctx *s, const struct devhost *h)
{
	for (unsigned int i = 0; i < h->nregions; i++) {
		const struct devhost_region *r = &h->regions[i];
		struct ioregion_bridge_stats st;
		bool pio = r->desc.flags & IOREGION_F_PIO;

		if (ioregion_bridge_get_stats(s->bridge, pio, r->desc.addr,
					      &st) < 0)
			continue;
		fprintf(stderr, "%s: stats %-12s %s 0x%" PRIx64 ": reads %"
			PRIu64 " writes %" PRIu64 " posted %" PRIu64
			" errors %" PRIu64 "\n", s->prog, r->name,
			pio ? "pio " : "mmio", r->desc.addr, st.reads,
			st.writes, st.posted_writes, st.errors);
	}
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "spawn", required_argument, NULL, 'p' },
		{ "devices", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct script_ctx s = { .prog = "bridge-script" };
	struct devhost host;
	const char *socket_path = NULL;
	const char *spawn[MAX_SPAWN];
	unsigned int nspawn = 0, ndevices = 0;
	bool ndevices_set = false, host_up = false;
	int c, rc, status = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'p':
			if (nspawn >= MAX_SPAWN)
				return EXIT_ERROR;
			spawn[nspawn++] = optarg;
			break;
		case 'n':
			ndevices = (unsigned int)strtoul(optarg, NULL, 0);
			ndevices_set = true;
			break;
		case 'h':
			printf("usage: %s [--socket PATH] [--devices N] "
			       "--spawn \"CMD\"...\n"
			       "Runs a scripted access sequence against the "
			       "uart16550 and regbank devices\nthrough the "
			       "bridge (no KVM). Exit 0 when every check "
			       "passes.\n", s.prog);
			return 0;
		default:
			return EXIT_ERROR;
		}
	}
	if (!ndevices_set)
		ndevices = nspawn;
	if (optind < argc || !ndevices || ndevices > DEVHOST_MAX_DEVICES) {
		fprintf(stderr, "%s: give --spawn or --devices (try --help)\n",
			s.prog);
		return EXIT_ERROR;
	}
	signal(SIGPIPE, SIG_IGN);

	rc = ioregion_bridge_new(&s.bridge);
	if (rc < 0) {
		fprintf(stderr, "%s: bridge: %s\n", s.prog, strerror(-rc));
		return EXIT_ERROR;
	}
	ioregion_bridge_set_log_handler(s.bridge, log_to_stderr,
					(void *)s.prog);
	rc = devhost_listen(&host, s.prog, socket_path);
	if (rc < 0)
		goto out;
	host_up = true;
	for (unsigned int i = 0; i < nspawn; i++)
		if (devhost_spawn(&host, spawn[i]) < 0)
			goto out;
	if (devhost_accept(&host, ndevices, 10000) < 0)
		goto out;
	for (unsigned int i = 0; i < host.nregions; i++) {
		rc = ioregion_bridge_add(s.bridge, &host.regions[i].desc,
					 host.regions[i].fd);
		if (rc < 0) {
			fprintf(stderr, "%s: bridge add %s: %s\n", s.prog,
				host.regions[i].name, strerror(-rc));
			goto out;
		}
	}
	fprintf(stderr, "%s: path: bridge, driven by a script (no KVM)\n",
		s.prog);

	rc = run_script(&s);
	fprintf(stderr, "%s: %u checks %s\n", s.prog, s.checks,
		rc ? "stopped at a failure" : "passed");
	print_stats(&s, &host);
	status = rc ? 1 : 0;
out:
	s.bridge = ioregion_bridge_unref(s.bridge);
	if (host_up) {
		if (devhost_finish(&host, 2000) && status == 0)
			status = 1;
		devhost_fini(&host);
	}
	return status;
}
