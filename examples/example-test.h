/* SPDX-License-Identifier: MIT */
/*
 * example-test's shared parts: the run of one tinyvmm (example-run.c),
 * the verdicts common to every mode (example-test.c), and the modes, one
 * file per kind: example-basic.c (the guests' output and counts),
 * example-lifecycle.c (a device killed, stopped, restarted),
 * example-irq.c (interrupts and guest memory).
 */
#ifndef EXAMPLES_EXAMPLE_TEST_H
#define EXAMPLES_EXAMPLE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ioregion/wire.h"

#define SKIP 77
#define HARNESS_LIMIT_MS 45000
#define VMM_EXIT_ERROR 125

/* What this machine's kernel offers, from the library's own probe. */
struct kernel_path {
	bool fast;				/* KVM_SET_IOREGION present */
	enum ioregion_wire_dialect dialect;	/* its wire dialect */
};

extern struct kernel_path kpath;
extern const char *expect_path;		/* --expect-path, or NULL */

struct paths {
	const char *tinyvmm;
	const char *uart;
	const char *regbank;
	const char *guests;
};

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

struct run {
	const char *argv[32];
	int argc;
	char *owned[8];			/* allocated argv strings */
	int nowned;
	const char *stdin_data;		/* NULL: /dev/null */
	bool tee;			/* echo tinyvmm's stdout as it comes */
	long limit_ms;			/* kill tinyvmm after (0: HARNESS_LIMIT_MS) */
	const char *mark;		/* time when stdout first holds this */
	const char *env;		/* one NAME=VALUE, or NULL */
	int kill_device;		/* signal for the first device mid-run */
	/* when tinyvmm's stderr says this (NULL: "running "), after
	 * kill_delay_ms (0: 300 ms, to let the guest get going; < 0: none) */
	const char *kill_after;
	int kill_delay_ms;
	/* Repeated kills (linux-test's restart mode): once stdout holds
	 * kill_out, and until it holds kill_stop_out, send SIGKILL every
	 * kill_every_ms (at most kill_max times) to the latest spawned device
	 * whose command holds kill_match, each once stderr holds kill_ready
	 * as many times as kills were sent (tinyvmm restarted it), and when
	 * kill_when(kill_data) says so (NULL: when the device is running),
	 * or after 500 ms. */
	const char *kill_out, *kill_stop_out, *kill_match, *kill_ready;
	bool (*kill_when)(void *data, pid_t dev);
	void *kill_data;
	int kill_every_ms, kill_max;
	/* results */
	int kills;			/* repeated kills sent */
	int status;			/* exit status, or -1 */
	struct buf out;
	struct buf err;
	long kill_to_exit_ms;		/* -1 if never killed */
	long kill_to_report_ms;		/* until "device error", or -1 */
	long mark_ms;			/* start to @mark seen, or -1 */
	long run_ms;			/* start to exit */
};

/* example-run.c */
long now_ms(void);
void arg(struct run *r, const char *a);
void arg_owned(struct run *r, char *a);	/* an argument the run frees */
void run_free(struct run *r);
int run_vmm(struct run *r);		/* 0, or -1 (could not run it) */
char *guest(const struct paths *p, const char *name);
char *cmd(const char *prog, const char *args);

/* example-path.c: the path this kernel offers (probe_kernel() fills kpath)
 * and the verdict on the path tinyvmm took: 0 or 1. */
void probe_kernel(void);
int path_verdict(const struct run *r);
const char *kernel_dialect_name(void);

/* example-test.c: verdicts. expect_output: 0 or 1 (differences printed);
 * status_verdict: -1 to go on checking, else the result; path_verdict:
 * 0 or 1. base_run: tinyvmm with guest @g. */
int expect_output(const struct run *r, const char *want, size_t want_len);
int status_verdict(const struct run *r, int want);
void base_run(struct run *r, const struct paths *p, const char *g);

/* The modes: 0 pass, 1 fail, 77 skip. */
int test_hello(const struct paths *p, struct run *r);
int test_string_pio(const struct paths *p, struct run *r);
int test_selftest(const struct paths *p, struct run *r, const char *dialect);
int test_hammer(const struct paths *p, struct run *r);
int test_crossing(const struct paths *p, struct run *r);
int test_no_kvm(const struct paths *p, struct run *r);
int test_bad_kernel(const struct paths *p, struct run *r);
int test_device_fails(const struct paths *p, struct run *r, int sig,
		      const char *why);
int test_reconnect(const struct paths *p, struct run *r);
int test_dma(const struct paths *p, struct run *r, bool level, bool mem);
int test_uart_irq(const struct paths *p, struct run *r, bool level);

#endif /* EXAMPLES_EXAMPLE_TEST_H */
