/* SPDX-License-Identifier: MIT */
/*
 * example-test: runs tinyvmm with the example devices and guests and
 * checks the outcome: the guest's UART output byte for byte, exit
 * statuses, a device killed mid-run. One C program (not a shell script) so
 * that the QEMU lab runner can copy it into its VM with its libraries.
 *
 *   example-test --tinyvmm P --uart P --regbank P --guests DIR
 *                [--expect-path fast|bridge] MODE
 *
 * Every mode runs on whichever path this machine's kernel gives: the
 * harness probes KVM_SET_IOREGION itself (the library's probe, on a
 * scratch VM) and checks that tinyvmm took the path the kernel offers
 * (fast path where present, bridge elsewhere) and, where the outcome
 * differs by path (a device speaking another wire dialect than the
 * kernel: refused), the outcome that path must give. --expect-path
 * fails the run unless that path is the one taken (the kernel suite says
 * fast, so a patched module that did not load cannot pass as the bridge).
 *
 * Exit 0 pass, 1 fail, 77 skip (tinyvmm found no KVM).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"
#include "ioregion/wire.h"

#define SKIP 77
#define HARNESS_LIMIT_MS 45000
#define KILL_BOUND_MS 5000	/* signal to tinyvmm's exit */
/* Signal to "device error": the bridge's bound (500 ms here), plus on the
 * fast path the kernel socket's receive bound (1000 ms by default) after
 * which KVM hands the access to the bridge; generous for emulation. */
#define REPORT_BOUND_MS 2000
#define REPORT_BOUND_FAST_MS 4000
#define VMM_EXIT_ERROR 125

/* What this machine's kernel offers, from the library's own probe. */
struct kernel_path {
	bool fast;				/* KVM_SET_IOREGION present */
	enum ioregion_wire_dialect dialect;	/* its wire dialect */
};

static struct kernel_path kpath;
static const char *expect_path;		/* --expect-path, or NULL */

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
	const char *argv[24];
	int argc;
	char *owned[8];			/* allocated argv strings */
	int nowned;
	const char *stdin_data;		/* NULL: /dev/null */
	const char *env;		/* one NAME=VALUE, or NULL */
	int kill_device;		/* signal for the first device mid-run */
	/* results */
	int status;			/* exit status, or -1 */
	struct buf out;
	struct buf err;
	long kill_to_exit_ms;		/* -1 if never killed */
	long kill_to_report_ms;		/* until "device error", or -1 */
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
buf_append(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *d = realloc(b->data, cap);

		if (!d) {
			fprintf(stderr, "example-test: out of memory\n");
			exit(1);
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
arg(struct run *r, const char *a)
{
	if (r->argc < (int)(sizeof(r->argv) / sizeof(r->argv[0])) - 1)
		r->argv[r->argc++] = a;
}

/* An argument the run frees. */
static void
arg_owned(struct run *r, char *a)
{
	if (r->nowned < (int)(sizeof(r->owned) / sizeof(r->owned[0])))
		r->owned[r->nowned++] = a;
	else
		exit(1);
	arg(r, a);
}

static void
run_free(struct run *r)
{
	for (int i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->out.data);
	free(r->err.data);
	memset(r, 0, sizeof(*r));
}

/* The pid tinyvmm printed for its first spawned device, or 0. */
static pid_t
spawned_pid(const struct buf *err)
{
	const char *p = err->data ? strstr(err->data, "spawned pid ") : NULL;

	return p ? (pid_t)atoi(p + strlen("spawned pid ")) : 0;
}

static int
run_vmm(struct run *r)
{
	int out[2], err[2], in[2];
	long start = now_ms(), killed_at = -1;
	bool out_open = true, err_open = true, exited = false;
	pid_t pid;
	int wstatus;

	r->status = -1;
	r->kill_to_exit_ms = -1;
	r->kill_to_report_ms = -1;
	r->argv[r->argc] = NULL;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
	    pipe2(in, O_CLOEXEC)) {
		perror("example-test: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("example-test: fork");
		return -1;
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		if (r->env)
			putenv((char *)r->env);
		execv(r->argv[0], (char **)r->argv);
		fprintf(stderr, "exec %s: %s\n", r->argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (r->stdin_data &&
	    write(in[1], r->stdin_data, strlen(r->stdin_data)) < 0)
		perror("example-test: write stdin");
	close(in[1]);

	while (out_open || err_open || !exited) {
		struct pollfd pfd[2] = {
			{ .fd = out_open ? out[0] : -1, .events = POLLIN },
			{ .fd = err_open ? err[0] : -1, .events = POLLIN },
		};
		char tmp[4096];
		ssize_t n;

		if (now_ms() - start > HARNESS_LIMIT_MS) {
			fprintf(stderr, "example-test: tinyvmm still running "
				"after %d ms: killing it\n", HARNESS_LIMIT_MS);
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			r->status = -1;
			exited = true;
			break;
		}
		if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
			exited = true;
			if (killed_at >= 0)
				r->kill_to_exit_ms = now_ms() - killed_at;
			r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
						       : -1;
		}
		if (killed_at >= 0 && r->kill_to_report_ms < 0 &&
		    strstr(r->err.data ? r->err.data : "", "device error"))
			r->kill_to_report_ms = now_ms() - killed_at;
		if (r->kill_device && killed_at < 0 && err_open &&
		    strstr(r->err.data ? r->err.data : "", "running ")) {
			pid_t dev = spawned_pid(&r->err);

			usleep(300 * 1000);	/* let the guest get going */
			if (dev > 0 && kill(dev, r->kill_device) == 0) {
				killed_at = now_ms();
				fprintf(stderr, "example-test: sent %s to "
					"device pid %d\n",
					strsignal(r->kill_device), (int)dev);
			}
		}
		if (poll(pfd, 2, 20) <= 0)
			continue;
		if (pfd[0].revents) {
			n = read(out[0], tmp, sizeof(tmp));
			if (n > 0)
				buf_append(&r->out, tmp, (size_t)n);
			else
				out_open = false;
		}
		if (pfd[1].revents) {
			n = read(err[0], tmp, sizeof(tmp));
			if (n > 0)
				buf_append(&r->err, tmp, (size_t)n);
			else
				err_open = false;
		}
	}
	close(out[0]);
	close(err[0]);
	/* Show what the VMM said, for the test log. */
	fprintf(stderr, "---- tinyvmm stderr ----\n%s---- (exit %d) ----\n",
		r->err.data ? r->err.data : "", r->status);
	return 0;
}

static char *
guest(const struct paths *p, const char *name)
{
	size_t n = strlen(p->guests) + strlen(name) + 8;
	char *s = malloc(n);

	if (!s)
		exit(1);
	snprintf(s, n, "%s/%s.bin", p->guests, name);
	return s;
}

static char *
cmd(const char *prog, const char *args)
{
	size_t n = strlen(prog) + strlen(args) + 2;
	char *s = malloc(n);

	if (!s)
		exit(1);
	snprintf(s, n, "%s%s%s", prog, *args ? " " : "", args);
	return s;
}

static int
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
static int
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

/* Probe on a scratch VM, as tinyvmm does on its own. No KVM: bridge (the
 * run then skips anyway). */
static void
probe_kernel(void)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	int kvm, vm;

	kpath.fast = false;
	kpath.dialect = IOREGION_WIRE_V3;
	kvm = open(dev && *dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		kpath.fast = ioregion_kvm_probe_dialect(vm, &kpath.dialect) > 0;
		close(vm);
	}
	close(kvm);
}

/* tinyvmm said the path the kernel offers (and --expect-path's). */
static int
path_verdict(const struct run *r)
{
	const char *err = r->err.data ? r->err.data : "";
	bool fast = strstr(err, "path: ioregionfd fast path") != NULL;

	if (!strstr(err, "path: ")) {
		fprintf(stderr, "example-test: tinyvmm did not say its path\n");
		return 1;
	}
	if (fast != kpath.fast) {
		fprintf(stderr, "example-test: tinyvmm took the %s, but this "
			"kernel %s KVM_SET_IOREGION\n",
			fast ? "fast path" : "bridge",
			kpath.fast ? "has" : "has no");
		return 1;
	}
	if (expect_path && strcmp(expect_path, fast ? "fast" : "bridge")) {
		fprintf(stderr, "example-test: path %s, --expect-path %s\n",
			fast ? "fast" : "bridge", expect_path);
		return 1;
	}
	fprintf(stderr, "example-test: path: %s\n", fast ? "fast" : "bridge");
	return 0;
}

static int
base_run(struct run *r, const struct paths *p, const char *g)
{
	memset(r, 0, sizeof(*r));
	arg(r, p->tinyvmm);
	arg(r, "--guest");
	arg_owned(r, guest(p, g));
	arg(r, "--timeout-ms");
	arg(r, "20000");
	return 0;
}

static int
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

static int
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

/* On the fast path a device must speak the kernel's dialect: tinyvmm
 * refuses any other with one message naming both, before the guest runs. */
static int
test_dialect_refused(const struct run *r, const char *dialect)
{
	char want[160];
	const char *kd = kpath.dialect == IOREGION_WIRE_INFO ? "info" : "v3";
	int v = status_verdict(r, VMM_EXIT_ERROR);

	if (v >= 0)
		return v;
	snprintf(want, sizeof(want), "speaks the %s wire dialect, but this "
		 "kernel's KVM_SET_IOREGION speaks %s: refused", dialect, kd);
	if (!strstr(r->err.data, want) || r->out.len) {
		fprintf(stderr, "example-test: want '%s' and no guest output\n",
			want);
		return 1;
	}
	fprintf(stderr, "example-test: the %s device was refused on this %s "
		"kernel, as it must be\n", dialect, kd);
	return 0;
}

static int
test_selftest(const struct paths *p, struct run *r, const char *dialect)
{
	static const char want[] = "selftest: PASS\n";
	char extra[32];
	int v;

	snprintf(extra, sizeof(extra), "--dialect %s", dialect);
	base_run(r, p, "selftest");
	arg(r, "--spawn");
	arg_owned(r, cmd(p->uart, "--no-stdin"));
	arg(r, "--spawn");
	arg_owned(r, cmd(p->regbank, extra));
	if (run_vmm(r) < 0)
		return 1;
	if (kpath.fast &&
	    strcmp(dialect, kpath.dialect == IOREGION_WIRE_INFO ? "info" : "v3"))
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

static int
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

/* A device that dies (SIGKILL: EOF) or stops answering (SIGSTOP: the
 * bridge's bound) mid-run: tinyvmm reports it and exits 125 in time. */
static int
test_device_fails(const struct paths *p, struct run *r, int sig,
		  const char *why)
{
	int v;

	base_run(r, p, "spin");
	arg(r, "--bridge-timeout-ms");
	arg(r, "500");
	arg(r, "--spawn");
	arg(r, p->regbank);
	r->kill_device = sig;
	if (run_vmm(r) < 0)
		return 1;
	int bound = kpath.fast ? REPORT_BOUND_FAST_MS : REPORT_BOUND_MS;

	v = status_verdict(r, VMM_EXIT_ERROR);
	if (v >= 0)
		return v;
	if (path_verdict(r))
		return 1;
	if (r->kill_to_report_ms < 0 || r->kill_to_report_ms > bound ||
	    r->kill_to_exit_ms < 0 || r->kill_to_exit_ms > KILL_BOUND_MS) {
		fprintf(stderr, "example-test: after the signal tinyvmm took "
			"%ld ms to report (bound %d), %ld ms to exit (bound "
			"%d)\n", r->kill_to_report_ms, bound,
			r->kill_to_exit_ms, KILL_BOUND_MS);
		return 1;
	}
	if (!strstr(r->err.data, "device error") ||
	    !strstr(r->err.data, why)) {
		fprintf(stderr, "example-test: no 'device error ... %s'\n",
			why);
		return 1;
	}
	fprintf(stderr, "example-test: tinyvmm reported the device %ld ms "
		"and exited %ld ms after the signal\n", r->kill_to_report_ms,
		r->kill_to_exit_ms);
	return 0;
}

/* Two vCPUs, one on the fast path (where there is one), one making
 * accesses that leave KVM for the bridge: every value right on both. */
static int
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

/*
 * The dmairq guest: regbank's DMA engine with guest RAM (--mem-for) and
 * an interrupt line on GSI 5, edge or level (--irq). The guest checks the
 * copies, the refused ones and the interrupts; the device's own count
 * must agree (2 copies, 5 refused). Without --mem-for the device has no
 * guest memory (least privilege): the first copy is refused and the
 * guest stops at its check 3.
 */
static int
test_dma(const struct paths *p, struct run *r, const char *irq, bool mem)
{
	char want[64];
	int v;

	base_run(r, p, "dmairq");
	arg(r, "--spawn");
	arg(r, p->regbank);
	if (mem) {
		arg(r, "--mem-for");
		arg(r, "regbank");
	}
	arg(r, "--irq");
	arg(r, irq);
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
	snprintf(want, sizeof(want), "DMA interrupt: %s line",
		 strstr(irq, ",level") ? "level" : "edge");
	if (!strstr(r->err.data, want)) {
		fprintf(stderr, "example-test: the device did not say '%s'\n",
			want);
		return 1;
	}
	if (mem ? !strstr(r->err.data, "dma copies 2 dma errors 5\n") ||
		  !strstr(r->err.data, "guest memory 0x0+0x200000 mapped")
		: !strstr(r->err.data, "dma copies 0 dma errors 1\n") ||
		  strstr(r->err.data, "guest memory")) {
		fprintf(stderr, "example-test: want the device to %s\n",
			mem ? "map guest RAM, copy twice and refuse 5 copies"
			    : "have no guest memory and refuse one copy");
		return 1;
	}
	return 0;
}

/*
 * The uartirq guest: an echo driven by the UART's interrupts on GSI 4
 * (--irq uart16550=4, edge or level). The device honours RTS (--rtscts),
 * so the input waits until the guest has set the chip up. Every line comes
 * back, then the guest's summary; the guest checked that its handler ran
 * for received data and for THRE, the device that it raised the line.
 */
static int
test_uart_irq(const struct paths *p, struct run *r, const char *irq)
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
	arg_owned(r, cmd(p->uart, "--rtscts"));
	arg(r, "--irq");
	arg(r, irq);
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

static int
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
			"dma-irq dma-irq-level dma-no-mem uart-irq uart-irq-level "
			"no-kvm\n");
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
	else if (!strcmp(mode, "dma-irq"))
		rc = test_dma(&p, &r, "regbank=5", true);
	else if (!strcmp(mode, "dma-irq-level"))
		rc = test_dma(&p, &r, "regbank=5,level", true);
	else if (!strcmp(mode, "dma-no-mem"))
		rc = test_dma(&p, &r, "regbank=5", false);
	else if (!strcmp(mode, "uart-irq"))
		rc = test_uart_irq(&p, &r, "uart16550=4");
	else if (!strcmp(mode, "uart-irq-level"))
		rc = test_uart_irq(&p, &r, "uart16550=4,level");
	else if (!strcmp(mode, "no-kvm"))
		rc = test_no_kvm(&p, &r);
	else
		fprintf(stderr, "example-test: unknown mode '%s'\n", mode);
	run_free(&r);
	return rc;
}
