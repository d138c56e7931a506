/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks, each against a baseline measured in the same run:
 *
 *   bench dispatch  read round trip: libioregion server vs a raw blocking
 *                   echo loop, both pinned to one CPU and unpinned
 *   bench uring     the same round trip on the server's io_uring backend,
 *                   under ev_run() and under ioregion_ctx_run(), against the
 *                   same raw echo (exit 77 without io_uring)
 *   bench independent  the same round trip by an independent client
 *                   (responder.c: written from the RFC posting, no
 *                   libioregion code) to an independent responder vs to
 *                   the server on epoll and on io_uring under
 *                   ioregion_ctx_run(), pinned and unpinned
 *   bench posted    posted-write throughput on a stream socket: server
 *                   (one read of up to 64 commands) vs a raw loop doing one
 *                   read per command
 *   bench polling   cross-CPU round trip, bridge + server, with adaptive
 *                   polling on vs off
 *   bench bridge-nokvm  the bridge's round trip without KVM, 1 CPU:
 *                   ioregion_bridge_access() to a device process vs a raw
 *                   client (write + blocking read) to a raw device, and to
 *                   the same libioregion device (the bridge's own share)
 *   bench bridge    a KVM guest doing N MMIO reads: device process through
 *                   the bridge vs a raw forwarding loop vs answering in the
 *                   VMM (exit 77 without /dev/kvm; --emulated labels the
 *                   lines when run inside the QEMU lab)
 *
 * Output: a table, then `RATIO <name> <library/baseline>` (lower is
 * better) and `RESULT <name> <value> <unit>` lines. Baseline and library
 * runs alternate (A B A B ...), 5 pairs; the ratio is the median of the
 * pairs' ratios, so a drifting machine speed cancels out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/bridge.h"
#include "ioregion/server.h"
#include "responder.h"

#define RUNS 5
#define MSG IOREGION_WIRE_MSG_SIZE

static bool emulated;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Pin the calling process to @cpu, or to every CPU when @cpu < 0. */
static void
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
	} else {
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	}
	sched_setaffinity(0, sizeof(set), &set);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

typedef double trial_fn(const void *cfg);

struct comparison {
	double a, b;		/* medians */
	double ratio;		/* median of b/a per pair */
};

/* Alternate trials of @fa and @fb, RUNS pairs. */
static struct comparison
compare(trial_fn *fa, const void *ca, trial_fn *fb, const void *cb)
{
	double a[RUNS], b[RUNS], r[RUNS];
	struct comparison c;

	for (int i = 0; i < RUNS; i++) {
		a[i] = fa(ca);
		b[i] = fb(cb);
		r[i] = b[i] / a[i];
	}
	c.a = median(a, RUNS);
	c.b = median(b, RUNS);
	c.ratio = median(r, RUNS);
	return c;
}

/* ---- device processes ------------------------------------------------- */

/* DEV_URING: the server on its io_uring backend, run by ev_run();
 * DEV_URING_RUN: the same, run by ioregion_ctx_run(); DEV_INDEP: the
 * independent responder (responder.c). */
enum device_kind { DEV_RAW, DEV_SERVER, DEV_URING, DEV_URING_RUN, DEV_INDEP };

struct device_opts {
	enum device_kind kind;
	int cpu;
	unsigned poll_us;
	bool stream;		/* SOCK_STREAM instead of SOCK_SEQPACKET */
};

/* Raw baseline: one blocking read per command, one write per answer. */
static void
raw_device(int fd)
{
	uint8_t buf[64], resp[MSG] = { 0 };
	uint64_t count = 0;

	for (;;) {
		/* exactly one command per read (a packet, or 32 stream bytes) */
		ssize_t n = read(fd, buf, MSG);

		if (n <= 0)
			break;
		while (n < MSG) {
			ssize_t m = read(fd, buf + n, (size_t)(MSG - n));

			if (m <= 0)
				_exit(0);
			n += m;
		}
		count++;
		if (buf[0] == IOREGION_CMD_READ || (buf[1] & IOREGION_WIRE_V3_RESP_BIT)) {
			memcpy(resp, &count, sizeof(count));
			if (write(fd, resp, MSG) != MSG)
				break;
		}
	}
	_exit(0);
}

static uint64_t server_count;

static int
srv_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	*val = ++server_count;
	return 0;
}

static int
srv_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	server_count++;
	return 0;
}

static void
srv_close(struct ioregion_channel *ch, int error, void *data)
{
	ev_break(data, EVBREAK_ALL);
}

/* The library: a server whose regions' user_data the parent knows from
 * the descriptions sent back over @fd before serving. */
static void
server_device(int fd, unsigned poll_us, enum device_kind kind)
{
	static const struct ioregion_region_ops ops = {
		.read = srv_read, .write = srv_write,
	};
	struct ioregion_region_config cfg[2] = {
		{ .addr = 0xd0000, .size = 0x1000, .ops = &ops },
		{ .addr = 0xd1000, .size = 0x1000, .ops = &ops,
		  .flags = IOREGION_F_POSTED_WRITES },
	};
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch;
	struct ioregion_desc d[2];

	if (ioregion_ctx_new(NULL, &ctx) < 0)
		_exit(2);
	if (kind != DEV_SERVER &&
	    (ioregion_ctx_set_backend(ctx, IOREGION_BACKEND_IO_URING) < 0 ||
	     ioregion_ctx_get_backend(ctx) != IOREGION_BACKEND_IO_URING))
		_exit(5);
	if (ioregion_channel_new_from_fds(ctx, fd, fd, IOREGION_WIRE_V3, &ch) < 0)
		_exit(2);
	for (int i = 0; i < 2; i++) {
		struct ioregion_region *r;

		if (ioregion_region_new(ch, &cfg[i], &r) < 0 ||
		    ioregion_region_get_desc(r, &d[i]) < 0)
			_exit(3);
	}
	ioregion_ctx_set_poll_us(ctx, poll_us);
	ioregion_channel_set_close_handler(ch, srv_close, ioregion_ctx_get_loop(ctx));
	/* tell the parent the user_data values (a plain 2-packet reply) */
	if (write(fd, &d[0], sizeof(d[0])) < 0 || write(fd, &d[1], sizeof(d[1])) < 0)
		_exit(4);
	if (kind == DEV_URING_RUN)
		ioregion_ctx_run(ctx);
	else
		ev_run(ioregion_ctx_get_loop(ctx), 0);
	ioregion_ctx_unref(ctx);
	_exit(0);
}

struct device {
	pid_t pid;
	int fd;
	struct ioregion_desc rd, posted;	/* the two regions */
};

static struct device
device_start(const struct device_opts *o)
{
	struct device dev = { 0 };
	int sv[2];

	if (socketpair(AF_UNIX, (o->stream ? SOCK_STREAM : SOCK_SEQPACKET) |
		       SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	dev.pid = fork();
	if (dev.pid < 0)
		die("fork");
	if (dev.pid == 0) {
		close(sv[0]);
		pin(o->cpu);
		if (o->kind == DEV_RAW)
			raw_device(sv[1]);
		if (o->kind == DEV_INDEP) {
			indep_serve(sv[1]);
			_exit(0);
		}
		server_device(sv[1], o->poll_us, o->kind);
	}
	close(sv[1]);
	dev.fd = sv[0];
	dev.rd = (struct ioregion_desc){ .addr = 0xd0000, .size = 0x1000,
		.dialect = IOREGION_WIRE_V3 };
	dev.posted = (struct ioregion_desc){ .addr = 0xd1000, .size = 0x1000,
		.dialect = IOREGION_WIRE_V3, .flags = IOREGION_F_POSTED_WRITES };
	if (o->kind != DEV_RAW && o->kind != DEV_INDEP &&
	    (read(dev.fd, &dev.rd, sizeof(dev.rd)) != sizeof(dev.rd) ||
	     read(dev.fd, &dev.posted, sizeof(dev.posted)) != sizeof(dev.posted)))
		die("reading the device's regions");
	return dev;
}

static void
device_stop(struct device *dev)
{
	int status;

	close(dev->fd);
	waitpid(dev->pid, &status, 0);
}

static void
encode(uint8_t buf[MSG], const struct ioregion_desc *d, uint8_t cmd, unsigned size)
{
	struct ioregion_wire_cmd c = {
		.cmd = cmd, .size = (uint8_t)size, .user_data = d->user_data,
		.resp = !(d->flags & IOREGION_F_POSTED_WRITES),
	};

	ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf);
}

/* ---- dispatch --------------------------------------------------------- */

/* A blocking driver: N read round trips. Returns microseconds each. */
static double
round_trips(struct device *dev, int n)
{
	uint8_t cmd[MSG], resp[MSG];
	double t0;

	encode(cmd, &dev->rd, IOREGION_CMD_READ, 4);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (write(dev->fd, cmd, MSG) != MSG || read(dev->fd, resp, MSG) != MSG)
			die("round trip");
	}
	return (now_s() - t0) * 1e6 / n;
}

/* The same with the independent client (responder.c): @dev's read
 * region, the answers checked to count up by one. */
static double
indep_round_trips_us(struct device *dev, int n)
{
	double t0 = now_s();

	if (indep_round_trips(dev->fd, dev->rd.user_data, n) < 0)
		die("independent round trip");
	return (now_s() - t0) * 1e6 / n;
}

struct rt_cfg {
	enum device_kind kind;
	int cpu, n;
	bool indep;		/* the independent client, not round_trips() */
};

static double
rt_trial(const void *p)
{
	const struct rt_cfg *c = p;
	struct device_opts o = { .kind = c->kind, .cpu = c->cpu };
	struct device dev;
	double t;

	pin(c->cpu);
	dev = device_start(&o);
	if (c->indep) {
		indep_round_trips_us(&dev, c->n / 10);	/* warm-up */
		t = indep_round_trips_us(&dev, c->n);
	} else {
		round_trips(&dev, c->n / 10);	/* warm-up */
		t = round_trips(&dev, c->n);
	}
	device_stop(&dev);
	pin(-1);
	return t;
}

/* The round-trip benchmarks' layouts: both processes on CPU 0, or
 * wherever the scheduler puts them (fewer round trips: cross-CPU wakeups
 * are slower). */
static const struct { const char *name; int cpu; int n; } layouts[] = {
	{ "pinned-1cpu", 0, 20000 },
	{ "unpinned", -1, 5000 },
};

static void
bench_dispatch(void)
{
	printf("%-12s %14s %14s %8s\n", "layout", "raw us/rt", "server us/rt", "ratio");
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		struct rt_cfg raw = { DEV_RAW, layouts[i].cpu, layouts[i].n, false };
		struct rt_cfg lib = { DEV_SERVER, layouts[i].cpu, layouts[i].n, false };
		struct comparison c = compare(rt_trial, &raw, rt_trial, &lib);

		printf("%-12s %14.2f %14.2f %8.3f\n", layouts[i].name, c.a, c.b, c.ratio);
		printf("RESULT dispatch-%s-raw %.2f us\n", layouts[i].name, c.a);
		printf("RESULT dispatch-%s-server %.2f us\n", layouts[i].name, c.b);
		printf("RATIO dispatch-%s %.3f\n", layouts[i].name, c.ratio);
	}
}

/*
 * The io_uring backend against the same raw blocking echo, in the same
 * run: served by ev_run() (the loop's epoll_wait() on the ring's fd, then
 * one io_uring_enter() submitting the answer) and by ioregion_ctx_run()
 * (one io_uring_enter() that submits the answer and waits for the next
 * command), and both against the epoll backend.
 */
/* Whether the server's io_uring backend works here (built, and the
 * kernel lets this process set up a ring). */
static bool
have_uring(void)
{
	struct ioregion_ctx *probe;
	bool have;

	if (ioregion_ctx_new(NULL, &probe) < 0)
		die("ioregion_ctx_new");
	ioregion_ctx_set_log_handler(probe, NULL, NULL);
	ioregion_ctx_set_backend(probe, IOREGION_BACKEND_IO_URING);
	have = ioregion_ctx_get_backend(probe) == IOREGION_BACKEND_IO_URING;
	ioregion_ctx_unref(probe);
	return have;
}

static void
bench_uring(void)
{
	if (!have_uring()) {
		printf("uring: no io_uring backend (not built, or the kernel refuses it)\n");
		exit(77);
	}
	printf("%-12s %10s %10s %10s %10s %8s %8s %8s %8s\n", "layout", "raw",
	       "epoll", "uring ev", "uring run", "ev/raw", "run/raw", "run/epoll",
	       "ev/epoll");
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		struct rt_cfg raw = { DEV_RAW, layouts[i].cpu, layouts[i].n, false };
		struct rt_cfg srv = { DEV_SERVER, layouts[i].cpu, layouts[i].n, false };
		struct rt_cfg ev = { DEV_URING, layouts[i].cpu, layouts[i].n, false };
		struct rt_cfg run = { DEV_URING_RUN, layouts[i].cpu, layouts[i].n, false };
		struct comparison e = compare(rt_trial, &raw, rt_trial, &ev);
		struct comparison r = compare(rt_trial, &raw, rt_trial, &run);
		struct comparison s = compare(rt_trial, &srv, rt_trial, &run);
		struct comparison se = compare(rt_trial, &srv, rt_trial, &ev);
		const char *n = layouts[i].name;

		printf("%-12s %10.2f %10.2f %10.2f %10.2f %8.3f %8.3f %8.3f %8.3f\n", n,
		       r.a, s.a, e.b, r.b, e.ratio, r.ratio, s.ratio, se.ratio);
		printf("RESULT uring-%s-raw %.2f us\n", n, r.a);
		printf("RESULT uring-%s-epoll %.2f us\n", n, s.a);
		printf("RESULT uring-%s-ev %.2f us\n", n, e.b);
		printf("RESULT uring-%s-run %.2f us\n", n, r.b);
		printf("RATIO uring-%s-ev %.3f\n", n, e.ratio);
		printf("RATIO uring-%s-run %.3f\n", n, r.ratio);
		printf("RATIO uring-%s-run-vs-epoll %.3f\n", n, s.ratio);
		printf("RATIO uring-%s-ev-vs-epoll %.3f\n", n, se.ratio);
	}
}

/* ---- independent ------------------------------------------------------ */

/*
 * The independent client (responder.c, written from the RFC posting, no
 * libioregion code) against the independent responder, and against the
 * library's server on epoll and on io_uring run by ioregion_ctx_run():
 * the library's cost measured by code that shares none of its
 * assumptions. The io_uring lines are left out without io_uring.
 */
static void
bench_independent(void)
{
	bool uring = have_uring();

	printf("%-12s %12s %12s %12s %8s %8s\n", "layout", "responder", "epoll",
	       "uring run", "epoll/r", "run/r");
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const char *n = layouts[i].name;
		struct rt_cfg ind = { DEV_INDEP, layouts[i].cpu, layouts[i].n, true };
		struct rt_cfg srv = { DEV_SERVER, layouts[i].cpu, layouts[i].n, true };
		struct rt_cfg run = { DEV_URING_RUN, layouts[i].cpu, layouts[i].n, true };
		struct comparison e = compare(rt_trial, &ind, rt_trial, &srv);
		struct comparison r = { 0 };

		if (uring)
			r = compare(rt_trial, &ind, rt_trial, &run);
		printf("%-12s %12.2f %12.2f %12.2f %8.3f %8.3f%s\n", n, e.a, e.b, r.b,
		       e.ratio, r.ratio, uring ? "" : " (no io_uring)");
		printf("RESULT independent-%s-responder %.2f us\n", n, e.a);
		printf("RESULT independent-%s-epoll %.2f us\n", n, e.b);
		printf("RATIO independent-%s-epoll %.3f\n", n, e.ratio);
		if (!uring)
			continue;
		printf("RESULT independent-%s-uring-run %.2f us\n", n, r.b);
		printf("RATIO independent-%s-uring-run %.3f\n", n, r.ratio);
	}
}

/* One trial of the independent client, for `strace -c -f`:
 * bench indep-roundtrips responder|epoll|uring-run N. */
static int
indep_roundtrips_main(int argc, char **argv)
{
	static const struct { const char *name; enum device_kind kind; } kinds[] = {
		{ "responder", DEV_INDEP }, { "epoll", DEV_SERVER },
		{ "uring-run", DEV_URING_RUN },
	};
	struct rt_cfg c = { .cpu = 0, .n = argc >= 4 ? atoi(argv[3]) : 0, .indep = true };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (c.n <= 0 || strcmp(argv[2], kinds[i].name) != 0)
			continue;
		c.kind = kinds[i].kind;
		printf("independent client, %s: %.2f us per round trip\n", argv[2],
		       rt_trial(&c));
		return 0;
	}
	return 2;
}

/* ---- posted ----------------------------------------------------------- */

/* Send @n posted writes on a stream socket in bursts of 64 (as several
 * vCPUs would queue them), then one read that the device answers only
 * after applying them all. Returns commands per second. */
static double
posted_run(struct device *dev, int n)
{
	uint8_t burst[64 * MSG], rd[MSG], resp[MSG];
	double t0;

	for (int i = 0; i < 64; i++)
		encode(burst + i * MSG, &dev->posted, IOREGION_CMD_WRITE, 4);
	encode(rd, &dev->rd, IOREGION_CMD_READ, 4);
	t0 = now_s();
	for (int sent = 0; sent < n; sent += 64) {
		size_t len = (size_t)(n - sent < 64 ? n - sent : 64) * MSG;
		size_t done = 0;

		while (done < len) {
			ssize_t k = write(dev->fd, burst + done, len - done);

			if (k <= 0)
				die("posted write");
			done += (size_t)k;
		}
	}
	if (write(dev->fd, rd, MSG) != MSG ||
	    (size_t)recv(dev->fd, resp, MSG, MSG_WAITALL) != MSG)
		die("posted read-back");
	return n / (now_s() - t0);
}

struct posted_cfg {
	enum device_kind kind;
	int n;
};

/* Returns seconds per command (lower is better). */
static double
posted_trial(const void *p)
{
	const struct posted_cfg *c = p;
	struct device_opts o = { .kind = c->kind, .cpu = 0, .stream = true };
	struct device dev;
	double rate;

	pin(0);
	dev = device_start(&o);
	posted_run(&dev, c->n / 10);
	rate = posted_run(&dev, c->n);
	device_stop(&dev);
	pin(-1);
	return 1.0 / rate;
}

static void
bench_posted(void)
{
	struct posted_cfg raw = { DEV_RAW, 200000 }, lib = { DEV_SERVER, 200000 };
	struct comparison c = compare(posted_trial, &raw, posted_trial, &lib);

	printf("%-34s %14s\n", "posted writes, stream socket, 1 CPU", "commands/s");
	printf("%-34s %14.0f\n", "raw, one read per command", 1 / c.a);
	printf("%-34s %14.0f\n", "server, batched (one read per 2 KiB)", 1 / c.b);
	printf("RESULT posted-raw %.0f cmd/s\n", 1 / c.a);
	printf("RESULT posted-server %.0f cmd/s\n", 1 / c.b);
	printf("RESULT posted-speedup %.2f x\n", 1 / c.ratio);
	/* time per command, library over baseline: lower is better */
	printf("RATIO posted %.3f\n", c.ratio);
}

/* ---- polling ---------------------------------------------------------- */

static double
bridge_round_trips(struct ioregion_bridge *b, int n)
{
	uint64_t v;
	double t0 = now_s();

	for (int i = 0; i < n; i++)
		if (ioregion_bridge_access(b, false, 0xd0000, false, 4, &v) != 1)
			die("bridge access");
	return (now_s() - t0) * 1e6 / n;
}

struct poll_cfg {
	unsigned poll_us;
	int n;
	enum device_kind kind;	/* DEV_SERVER or DEV_URING_RUN */
};

static double
polling_trial(const void *p)
{
	const struct poll_cfg *c = p;
	struct device_opts o = { .kind = c->kind, .cpu = 1, .poll_us = c->poll_us };
	struct ioregion_bridge *b;
	struct device dev;
	double t;

	pin(0);
	dev = device_start(&o);
	if (ioregion_bridge_new(&b) < 0 ||
	    ioregion_bridge_set_poll_us(b, c->poll_us) < 0 ||
	    ioregion_bridge_add(b, &dev.rd, dev.fd) < 0)
		die("bridge");
	bridge_round_trips(b, c->n / 10);
	t = bridge_round_trips(b, c->n);
	ioregion_bridge_unref(b);
	device_stop(&dev);
	pin(-1);
	return t;
}

/* Reference floor: both sides of a raw socket busy-polling (no library). */
static double
raw_spin_trial(const void *p)
{
	const int n = *(const int *)p;
	uint8_t buf[MSG] = { 0 };
	double t0, t;
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		pin(1);
		for (;;) {
			ssize_t r = recv(sv[1], buf, MSG, MSG_DONTWAIT);

			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0 || send(sv[1], buf, MSG, 0) != MSG)
				_exit(0);
		}
	}
	close(sv[1]);
	pin(0);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (send(sv[0], buf, MSG, 0) != MSG)
			die("send");
		while (recv(sv[0], buf, MSG, MSG_DONTWAIT) != MSG)
			;
	}
	t = (now_s() - t0) * 1e6 / n;
	close(sv[0]);
	waitpid(pid, &status, 0);
	pin(-1);
	return t;
}

/* The same polling round trip to the server on io_uring under
 * ioregion_ctx_run() (its polling is ioregion_ctx_set_poll_us() too),
 * against the same raw floor; nothing without io_uring. 10,000 round
 * trips a trial, fewer than above: polled round trips on this backend
 * are several times slower, and the benchmark keeps to its time. */
static void
polling_uring(void)
{
	int n = 10000;
	struct poll_cfg on = { 200, n, DEV_URING_RUN };
	struct comparison u;

	if (!have_uring()) {
		printf("polling: no io_uring backend, no io_uring lines\n");
		return;
	}
	u = compare(raw_spin_trial, &n, polling_trial, &on);
	printf("%-40s %10.2f\n", "adaptive polling 200 us, io_uring (run)", u.b);
	printf("%-40s %10.2f\n", "reference again: raw sockets, busy-poll", u.a);
	printf("RESULT polling-on-uring %.2f us\n", u.b);
	printf("RATIO polling-uring-vs-raw-spin %.3f\n", u.ratio);
}

static void
bench_polling(void)
{
	struct poll_cfg off = { 0, 4000, DEV_SERVER }, on = { 200, 40000, DEV_SERVER };
	struct comparison c, floor;
	int n = 40000;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("polling: needs 2 CPUs\n");
		exit(77);
	}
	c = compare(polling_trial, &off, polling_trial, &on);
	floor = compare(raw_spin_trial, &n, polling_trial, &on);
	printf("%-40s %10s\n", "cross-CPU round trip (bridge+server)", "us/rt");
	printf("%-40s %10.2f\n", "blocking (polling off)", c.a);
	printf("%-40s %10.2f\n", "adaptive polling 200 us, both sides", c.b);
	printf("%-40s %10.2f\n", "reference: raw sockets, both busy-poll", floor.a);
	printf("RESULT polling-raw-spin %.2f us\n", floor.a);
	printf("RATIO polling-vs-raw-spin %.3f\n", floor.ratio);
	printf("RESULT polling-off %.2f us\n", c.a);
	printf("RESULT polling-on %.2f us\n", c.b);
	printf("RESULT polling-speedup %.2f x\n", 1 / c.ratio);
	printf("RATIO polling %.3f\n", c.ratio);
	polling_uring();
}

/* ---- bridge without KVM ------------------------------------------------ */

struct nokvm_cfg {
	bool bridge;		/* through ioregion_bridge_access() */
	enum device_kind kind;
	int n;
};

static double
nokvm_trial(const void *p)
{
	const struct nokvm_cfg *c = p;
	struct device_opts o = { .kind = c->kind, .cpu = 0 };
	struct ioregion_bridge *b;
	struct device dev;
	double t;

	pin(0);
	dev = device_start(&o);
	if (c->bridge) {
		if (ioregion_bridge_new(&b) < 0 ||
		    ioregion_bridge_add(b, &dev.rd, dev.fd) < 0)
			die("bridge");
		bridge_round_trips(b, c->n / 10);
		t = bridge_round_trips(b, c->n);
		ioregion_bridge_unref(b);
	} else {
		round_trips(&dev, c->n / 10);
		t = round_trips(&dev, c->n);
	}
	device_stop(&dev);
	pin(-1);
	return t;
}

static void
bench_bridge_nokvm(void)
{
	struct nokvm_cfg raw = { false, DEV_RAW, 30000 },
		srv = { false, DEV_SERVER, 30000 },
		br = { true, DEV_SERVER, 30000 },
		ur = { true, DEV_URING_RUN, 30000 };
	struct comparison c = compare(nokvm_trial, &raw, nokvm_trial, &br);
	struct comparison s = compare(nokvm_trial, &srv, nokvm_trial, &br);

	printf("%-40s %10s\n", "read round trip, no KVM, 1 CPU", "us/rt");
	printf("%-40s %10.2f\n", "raw client to a raw device", c.a);
	printf("%-40s %10.2f\n", "raw client to a libioregion device", s.a);
	printf("%-40s %10.2f\n", "bridge to a libioregion device", c.b);
	printf("RESULT bridge-nokvm-raw %.2f us\n", c.a);
	printf("RESULT bridge-nokvm-raw-client %.2f us\n", s.a);
	printf("RESULT bridge-nokvm-bridge %.2f us\n", c.b);
	printf("RATIO bridge-nokvm %.3f\n", c.ratio);
	printf("RATIO bridge-nokvm-vs-raw-client %.3f\n", s.ratio);
	if (!have_uring()) {
		printf("bridge-nokvm: no io_uring backend, no io_uring lines\n");
		return;
	}
	c = compare(nokvm_trial, &raw, nokvm_trial, &ur);
	printf("%-40s %10.2f\n", "bridge to the device on io_uring (run)", c.b);
	printf("%-40s %10.2f\n", "raw client to a raw device, again", c.a);
	printf("RESULT bridge-nokvm-bridge-uring %.2f us\n", c.b);
	printf("RATIO bridge-nokvm-uring %.3f\n", c.ratio);
}

/* ---- bridge (real KVM) ------------------------------------------------ */

/*
 * Real-mode guest at 0x1000: N one-byte MMIO reads from 0xd0000, then hlt.
 *   mov ax, 0xd000; mov ds, ax; mov ecx, N
 *   1: mov al, [0]; dec ecx; jnz 1b; hlt
 */
static const uint8_t guest_code[] = {
	0xb8, 0x00, 0xd0,		/* mov ax, 0xd000 */
	0x8e, 0xd8,			/* mov ds, ax */
	0x66, 0xb9, 0, 0, 0, 0,		/* mov ecx, imm32 (patched) */
	0xa0, 0x00, 0x00,		/* 1: mov al, [0] */
	0x66, 0x49,			/* dec ecx */
	0x75, 0xf9,			/* jnz 1b */
	0xf4,				/* hlt */
};

enum vmm_mode { VMM_LOCAL, VMM_RAW, VMM_BRIDGE };

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	void *mem;
	size_t mem_size;
};

static int
vm_create(struct vm *v, uint32_t n)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint8_t code[sizeof(guest_code)];
	int run_size;

	v->kvm = open(dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return -errno;
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		die("KVM_CREATE_VM");
	v->mem_size = 0x10000;
	v->mem = mmap(NULL, v->mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(code, guest_code, sizeof(code));
	memcpy(code + 7, &n, 4);
	memcpy((uint8_t *)v->mem + 0x1000, code, sizeof(code));
	mr = (struct kvm_userspace_memory_region){ .slot = 0,
		.guest_phys_addr = 0, .memory_size = v->mem_size,
		.userspace_addr = (uintptr_t)v->mem };
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		die("KVM_CREATE_VCPU");
	run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	regs = (struct kvm_regs){ .rip = 0x1000, .rflags = 2 };
	if (ioctl(v->vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
	return 0;
}

static void
vm_destroy(struct vm *v)
{
	close(v->vcpu);
	close(v->vm);
	close(v->kvm);
	munmap(v->mem, v->mem_size);
}

/* Run the guest to its hlt; returns microseconds per MMIO read. */
static double
vm_run(uint32_t n, enum vmm_mode mode, struct device *dev,
       struct ioregion_bridge *b)
{
	uint8_t cmd[MSG], resp[MSG];
	struct vm v = { 0 };
	double t0, t;
	uint32_t exits = 0;

	if (vm_create(&v, n) < 0) {
		printf("bridge: no KVM device (%s)\n", strerror(errno));
		exit(77);
	}
	if (dev)
		encode(cmd, &dev->rd, IOREGION_CMD_READ, 1);
	t0 = now_s();
	for (;;) {
		if (ioctl(v.vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (v.run->exit_reason == KVM_EXIT_HLT)
			break;
		if (v.run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "bench: unexpected exit %u\n", v.run->exit_reason);
			exit(1);
		}
		exits++;
		switch (mode) {
		case VMM_LOCAL:
			v.run->mmio.data[0] = 0x5a;
			break;
		case VMM_RAW:
			/* the raw forwarding loop: the exit as one write, the
			 * answer by one blocking read */
			memcpy(cmd + 16, &(uint64_t){ v.run->mmio.phys_addr - 0xd0000 }, 8);
			if (write(dev->fd, cmd, MSG) != MSG || read(dev->fd, resp, MSG) != MSG)
				die("raw forward");
			v.run->mmio.data[0] = resp[0];
			break;
		case VMM_BRIDGE:
			if (ioregion_bridge_handle_exit(b, v.run) != 1)
				die("bridge handle_exit");
			break;
		}
	}
	t = (now_s() - t0) * 1e6 / n;
	if (exits != n) {
		fprintf(stderr, "bench: %u exits for %u reads\n", exits, n);
		exit(1);
	}
	vm_destroy(&v);
	return t;
}

struct vm_cfg {
	enum vmm_mode mode;
	uint32_t n;
	enum device_kind kind;	/* VMM_BRIDGE's device: DEV_SERVER or DEV_URING_RUN */
};

static double
vm_trial(const void *p)
{
	const struct vm_cfg *c = p;
	struct device_opts o = { .kind = c->mode == VMM_RAW ? DEV_RAW : c->kind, .cpu = 0 };
	struct ioregion_bridge *b = NULL;
	struct device dev;
	double t;

	pin(0);
	if (c->mode == VMM_LOCAL) {
		t = vm_run(c->n, c->mode, NULL, NULL);
		pin(-1);
		return t;
	}
	dev = device_start(&o);
	if (c->mode == VMM_BRIDGE &&
	    (ioregion_bridge_new(&b) < 0 || ioregion_bridge_add(b, &dev.rd, dev.fd) < 0))
		die("bridge");
	t = vm_run(c->n, c->mode, &dev, b);
	ioregion_bridge_unref(b);
	device_stop(&dev);
	pin(-1);
	return t;
}

static void
bench_bridge(void)
{
	uint32_t n = emulated ? 2000 : 20000;
	const char *tag = emulated ? "bridge-emulated" : "bridge";
	struct vm_cfg local = { VMM_LOCAL, n, DEV_SERVER }, raw = { VMM_RAW, n, DEV_RAW },
		br = { VMM_BRIDGE, n, DEV_SERVER }, ur = { VMM_BRIDGE, n, DEV_URING_RUN };
	struct comparison c = compare(vm_trial, &raw, vm_trial, &br);
	struct comparison l = compare(vm_trial, &local, vm_trial, &br);

	printf("%-40s %10s%s\n", "KVM guest MMIO read, 1 CPU", "us/read",
	       emulated ? " (emulated: QEMU/TCG, nested KVM)" : "");
	printf("%-40s %10.2f\n", "answered in the VMM", l.a);
	printf("%-40s %10.2f\n", "raw forwarding loop to a raw device", c.a);
	printf("%-40s %10.2f\n", "bridge to a libioregion device process", c.b);
	printf("RESULT %s-local %.2f us\n", tag, l.a);
	printf("RESULT %s-raw %.2f us\n", tag, c.a);
	printf("RESULT %s-bridge %.2f us\n", tag, c.b);
	printf("RATIO %s %.3f\n", tag, c.ratio);
	printf("RATIO %s-vs-local %.3f\n", tag, l.ratio);
	if (!have_uring()) {
		printf("%s: no io_uring backend, no io_uring lines\n", tag);
		return;
	}
	c = compare(vm_trial, &raw, vm_trial, &ur);
	printf("%-40s %10.2f\n", "bridge to the device on io_uring (run)", c.b);
	printf("%-40s %10.2f\n", "raw forwarding loop, again", c.a);
	printf("RESULT %s-bridge-uring %.2f us\n", tag, c.b);
	printf("RATIO %s-uring %.3f\n", tag, c.ratio);
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--emulated") == 0)
			emulated = true;
	if (argc < 2) {
		fprintf(stderr, "usage: bench dispatch|independent|uring|posted|polling|bridge|bridge-nokvm [--emulated]\n");
		return 2;
	}
	if (strcmp(argv[1], "roundtrips") == 0 && argc >= 4) {
		/* one trial, for `strace -c -f`: bench roundtrips KIND N */
		static const char *const kinds[] = { "raw", "epoll", "uring-ev", "uring-run" };
		struct rt_cfg c = { .cpu = 0, .n = atoi(argv[3]) };

		for (c.kind = DEV_RAW; c.kind <= DEV_URING_RUN; c.kind++)
			if (strcmp(argv[2], kinds[c.kind]) == 0)
				break;
		if (c.kind > DEV_URING_RUN || c.n <= 0)
			return 2;
		printf("%s: %.2f us per round trip\n", argv[2], rt_trial(&c));
		return 0;
	}
	if (strcmp(argv[1], "indep-roundtrips") == 0 && argc >= 3)
		return indep_roundtrips_main(argc, argv);
	if (strcmp(argv[1], "bridge-roundtrips") == 0 && argc >= 3) {
		/* one trial, for `strace -c -f`: N bridge accesses to a
		 * libioregion device on CPU 0 (bench bridge-roundtrips N) */
		struct nokvm_cfg c = { true, DEV_SERVER, atoi(argv[2]) };

		if (c.n <= 0)
			return 2;
		printf("bridge: %.2f us per access\n", nokvm_trial(&c));
		return 0;
	}
	if (strcmp(argv[1], "dispatch") == 0)
		bench_dispatch();
	else if (strcmp(argv[1], "independent") == 0)
		bench_independent();
	else if (strcmp(argv[1], "uring") == 0)
		bench_uring();
	else if (strcmp(argv[1], "posted") == 0)
		bench_posted();
	else if (strcmp(argv[1], "polling") == 0)
		bench_polling();
	else if (strcmp(argv[1], "bridge") == 0)
		bench_bridge();
	else if (strcmp(argv[1], "bridge-nokvm") == 0)
		bench_bridge_nokvm();
	else
		return 2;
	return 0;
}
