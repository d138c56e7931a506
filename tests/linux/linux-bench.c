/* SPDX-License-Identifier: MIT */
/*
 * linux-bench: the virtio workload benchmark. Boots Debian's kernel on
 * tinyvmm with two virtio disks of the same model and measures both in the
 * same boot, the guest's /bin/blkbench (in the initramfs, run by /init for
 * linuxtest.bench=SEQ_MIB:RAND_OPS:2) alternating between them: sequential
 * read MB/s and 4 KiB random read IOPS with O_DIRECT, one request in
 * flight.
 *
 *   linux-bench --tinyvmm P --uart P --virtio-blk P --kernel VMLINUX
 *               --initrd CPIO [--seq-mib N] [--rand-ops N] [--poll-us N]
 *               [--uring] [--only CFG,...] [--vmm-cpu N] [--device-cpu N]
 *               [--idle-spin N]...
 *               [--rounds N] [--timeout S] [--show] [--emulated]
 *
 * The disks: "in-vmm", the virtio-blk model linked into tinyvmm and served
 * in the vCPU thread (--in-vmm-blk, mmio 0xd0002000, GSI 17): the
 * baseline; and the virtio-blk device process (mmio 0xd0003000, GSI 16) on
 * the path this kernel offers, "fast" (KVM_SET_IOREGION) or "bridge". The
 * guest tells them apart by their GET_ID serials (the images' names). One
 * boot per configuration: PATH, and on the fast path with --poll-us also
 * PATH-poll (the device's adaptive polling); with --uring also
 * PATH-uring (and PATH-uring-poll): the device process on the server's
 * io_uring backend (virtio-blk --backend io_uring: one syscall per
 * answered access instead of three). --only keeps the configurations
 * named. They take turns, --rounds times (default 2). --vmm-cpu pins
 * tinyvmm (its vCPU threads, and so the in-VMM disk) to a CPU and
 * --device-cpu the device process (virtio-blk --cpu), for an L1 with
 * more than one. --idle-spin N (repeatable) keeps CPU N from going idle
 * during the boots: a SCHED_IDLE process spins there, which any other
 * task preempts at once. Under TCG an idle L1 CPU halts its host thread,
 * so a wake-up across CPUs waits for the host's scheduler; the spinner
 * plays a CPU that wakes at once, as real ones do. Both disks of a configuration share every boot, and
 * take turns every 4 MiB and every 100 random reads inside it, so load
 * that comes and goes on the machine weighs on both alike.
 *
 * Printed (stdout), over all rounds: RESULT virtio-seq-CFG MB/s and
 * RESULT virtio-rand-CFG IOPS for CFG in-vmm, PATH and PATH-poll, and
 * RATIO virtio-seq-CFG / virtio-rand-CFG = the device process's time over
 * the in-VMM disk's for the same work in the same boots (lower is better;
 * <= 1.0: out of process costs nothing). --emulated marks the lines: in
 * the QEMU lab the figures come from nested KVM under TCG and only the
 * ratios mean anything. Exit 0, 1 (a boot failed or gave no numbers), 77
 * (no KVM).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example-test.h"
#include "linux-guest.h"

#define DISK_MIB 32u
#define DEFAULT_SEQ_MIB 32u
#define DEFAULT_RAND_OPS 2000u
#define DEFAULT_TIMEOUT_S 280
#define DEFAULT_ROUNDS 2
#define OOP_BASE "0xd0003000"	/* the in-VMM disk has 0xd0002000 */
#define OOP_GSI "16"
#define INVMM_GSI "17"

struct opts {
	const char *tinyvmm, *uart, *vblk, *kernel, *initrd;
	const char *only;		/* NULL: every configuration */
	unsigned int seq_mib, rand_ops, poll_us, timeout_s, rounds;
	int vmm_cpu, device_cpu;	/* -1: not pinned */
	uint64_t idle_spin;		/* CPUs that get a spinner */
	bool show, emulated, uring;
};

/* One disk's sums over the rounds. */
struct figures {
	uint64_t seq_bytes, seq_ns;
	uint64_t rand_ops, rand_ns;
};

/* One configuration: the device process's disk and the in-VMM one. */
struct result {
	char name[32];
	unsigned int poll_us;
	bool uring;			/* virtio-blk --backend io_uring */
	struct figures oop, invmm;
	unsigned int rounds;		/* boots that gave numbers */
	bool failed;			/* a boot did not */
};

static int
make_image(const char *path)
{
	static uint8_t chunk[1 << 20];
	uint64_t x = 0x2545f4914f6cdd1dull;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	for (unsigned int m = 0; m < DISK_MIB; m++) {
		for (size_t i = 0; i < sizeof(chunk); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			chunk[i] = (uint8_t)x;
		}
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) {
			int e = errno ? errno : EIO;

			close(fd);
			return -e;
		}
	}
	return close(fd) ? -errno : 0;
}

/* The guest's device for the disk with GET_ID serial @serial, from
 * "BLKBENCH disk /dev/vdX serial=SERIAL", in @dev. */
static bool
find_disk(const char *con, const char *serial, char *dev, size_t size)
{
	for (const char *p = con; p && (p = strstr(p, "BLKBENCH disk ")); p++) {
		const char *d = p + strlen("BLKBENCH disk ");
		size_t n = strcspn(d, " \r\n");
		const char *sv = d + n;

		if (!strncmp(sv, " serial=", 8) &&
		    !strncmp(sv + 8, serial, strlen(serial)) &&
		    strchr("\r\n", sv[8 + strlen(serial)]) && n < size) {
			memcpy(dev, d, n);
			dev[n] = '\0';
			return true;
		}
	}
	return false;
}

/* "BLKBENCH KIND DEV FIELD=N ns=T" on the console: N and T. */
static bool
parse_line(const char *con, const char *kind, const char *dev,
	   const char *field, uint64_t *n, uint64_t *ns)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "BLKBENCH %s %s %s=", kind, dev, field);
	p = con ? strstr(con, key) : NULL;
	if (!p)
		return false;
	return sscanf(p + strlen(key), "%" SCNu64 " ns=%" SCNu64, n, ns) == 2 &&
	       *ns > 0;
}

/* Add the figures of the disk with serial @serial to @f. */
static bool
collect(const char *con, const char *serial, struct figures *f)
{
	struct figures g = { 0 };
	char dev[32];

	if (!find_disk(con, serial, dev, sizeof(dev)) ||
	    !parse_line(con, "seq", dev, "bytes", &g.seq_bytes, &g.seq_ns) ||
	    !parse_line(con, "rand", dev, "ops", &g.rand_ops, &g.rand_ns))
		return false;
	f->seq_bytes += g.seq_bytes;
	f->seq_ns += g.seq_ns;
	f->rand_ops += g.rand_ops;
	f->rand_ns += g.rand_ns;
	return true;
}

static double
mbps(const struct figures *f)
{
	return f->seq_bytes / 1e6 / (f->seq_ns / 1e9);
}

static double
iops(const struct figures *f)
{
	return f->rand_ops / (f->rand_ns / 1e9);
}

/* The device's counters from tinyvmm's stderr (the device process's
 * region and channel lines, or the in-VMM device's): how many commands a
 * wake-up brought, how many exits the workload took. */
static void
print_counters(const char *name, const char *err)
{
	static const char *const keys[] = {
		"virtio-blk: region", "virtio-blk: channel", "virtio-blk: reads",
		"in-vmm-blk exits",
	};

	for (const char *p = err; p && *p;) {
		size_t n = strcspn(p, "\n");

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (memmem(p, n, keys[k], strlen(keys[k]))) {
				fprintf(stderr, "linux-bench: %s: %.*s\n", name,
					(int)n, p);
				break;
			}
		p += n + (p[n] == '\n');
	}
}

/* One boot of configuration @res: both disks, @oop_img for the device
 * process (polling if res->poll_us), @invmm_img in tinyvmm. */
static void
boot(const struct opts *o, const char *oop_img, const char *invmm_img,
     struct result *res)
{
	struct run r = { 0 };
	char cmdline[640], vblk_args[400], timeout_ms[16], extra[96];
	const char *fail_line;
	struct figures oop = { 0 }, invmm = { 0 };
	bool ok;

	snprintf(cmdline, sizeof(cmdline), "%s linuxtest.bench=%u:%u:2",
		 LINUX_BASE_CMDLINE, o->seq_mib, o->rand_ops);
	snprintf(timeout_ms, sizeof(timeout_ms), "%u", o->timeout_s * 1000u);
	snprintf(extra, sizeof(extra), "%s", res->uring ? " --backend io_uring" : "");
	if (res->poll_us)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 " --poll-us %u", res->poll_us);
	if (o->device_cpu >= 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 " --cpu %d", o->device_cpu);
	snprintf(vblk_args, sizeof(vblk_args), "--image %s --base " OOP_BASE
		 "%s", oop_img, extra);
	linux_args_boot(&r, o->tinyvmm, o->kernel, o->initrd, cmdline, o->uart);
	linux_args_spawn(&r, o->vblk, vblk_args);
	linux_args_vblk(&r, "virtio-blk=" OOP_GSI);
	arg(&r, "--in-vmm-blk");
	arg(&r, invmm_img);
	arg(&r, "--irq");
	arg(&r, "in-vmm-blk=" INVMM_GSI);
	arg(&r, "--timeout-ms");
	arg(&r, timeout_ms);
	r.tee = o->show;
	r.limit_ms = (long)o->timeout_s * 1000 + 15000;

	fprintf(stderr, "linux-bench: %s: booting (virtio-blk %s)\n", res->name,
		vblk_args);
	if (run_vmm(&r)) {
		res->failed = true;
		return;
	}
	ok = r.status == 0 && collect(r.out.data, "oop.img", &oop) &&
	     collect(r.out.data, "invmm.img", &invmm);
	if (ok) {
		fprintf(stderr, "linux-bench: %s: seq %.2f MB/s against in-vmm "
			"%.2f (%.3f), rand %.0f IOPS against %.0f (%.3f)\n",
			res->name, mbps(&oop), mbps(&invmm),
			(double)oop.seq_ns / (double)invmm.seq_ns, iops(&oop),
			iops(&invmm), (double)oop.rand_ns / (double)invmm.rand_ns);
		res->oop.seq_bytes += oop.seq_bytes;
		res->oop.seq_ns += oop.seq_ns;
		res->oop.rand_ops += oop.rand_ops;
		res->oop.rand_ns += oop.rand_ns;
		res->invmm.seq_bytes += invmm.seq_bytes;
		res->invmm.seq_ns += invmm.seq_ns;
		res->invmm.rand_ops += invmm.rand_ops;
		res->invmm.rand_ns += invmm.rand_ns;
		res->rounds++;
	} else {
		res->failed = true;
	}
	fail_line = r.out.data ? strstr(r.out.data, "FAIL") : NULL;
	fprintf(stderr, "linux-bench: %s: tinyvmm exit %d, run %.1f s%s%.*s\n",
		res->name, r.status, r.run_ms / 1000.0, fail_line ? ", " : "",
		fail_line ? (int)strcspn(fail_line, "\r\n") : 0,
		fail_line ? fail_line : "");
	print_counters(res->name, r.err.data);
	if (!ok && !o->show)
		fprintf(stderr, "---- console ----\n%s---- stderr ----\n%s"
			"---- end ----\n", r.out.data ? r.out.data : "",
			r.err.data ? r.err.data : "");
	run_free(&r);
}

static void
print(const struct opts *o, const char *name, const struct figures *f)
{
	const char *tag = o->emulated ? " (emulated: nested KVM under TCG, "
				       "only ratios mean anything)" : "";

	printf("RESULT virtio-seq-%s %.2f MB/s%s\n", name, mbps(f), tag);
	printf("RESULT virtio-rand-%s %.0f IOPS%s\n", name, iops(f), tag);
}

static void
print_ratio(const struct result *res)
{
	printf("RATIO virtio-seq-%s %.3f\n", res->name,
	       (double)res->oop.seq_ns / (double)res->invmm.seq_ns);
	printf("RATIO virtio-rand-%s %.3f\n", res->name,
	       (double)res->oop.rand_ns / (double)res->invmm.rand_ns);
}

/* A SCHED_IDLE busy loop on @cpu until SIGKILLed: pid, or -1. */
static pid_t
spinner(int cpu)
{
	struct sched_param sp = { 0 };
	cpu_set_t set;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0 ||
	    sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
		_exit(1);
	for (;;) {
#if defined(__x86_64__) || defined(__i386__)
		__asm__ volatile("pause");
#else
		__asm__ volatile("" ::: "memory");
#endif
	}
}

/* Whether @name is in the comma-separated @list (NULL: everything). */
static bool
listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return !list;
}

static int
uint_opt(const char *name, const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "linux-bench: --%s wants 0..%u\n", name, max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{ "tinyvmm", required_argument, NULL, 't' },
		{ "uart", required_argument, NULL, 'u' },
		{ "virtio-blk", required_argument, NULL, 'b' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "seq-mib", required_argument, NULL, 'S' },
		{ "rand-ops", required_argument, NULL, 'R' },
		{ "poll-us", required_argument, NULL, 'P' },
		{ "uring", no_argument, NULL, 'U' },
		{ "only", required_argument, NULL, 'O' },
		{ "vmm-cpu", required_argument, NULL, 'V' },
		{ "device-cpu", required_argument, NULL, 'D' },
		{ "idle-spin", required_argument, NULL, 'I' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "rounds", required_argument, NULL, 'N' },
		{ "show", no_argument, NULL, 's' },
		{ "emulated", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int cpu;
	int c;

	o->vmm_cpu = o->device_cpu = -1;
	o->seq_mib = DEFAULT_SEQ_MIB;
	o->rand_ops = DEFAULT_RAND_OPS;
	o->timeout_s = DEFAULT_TIMEOUT_S;
	o->rounds = DEFAULT_ROUNDS;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 't': o->tinyvmm = optarg; break;
		case 'u': o->uart = optarg; break;
		case 'b': o->vblk = optarg; break;
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 's': o->show = true; break;
		case 'E': o->emulated = true; break;
		case 'U': o->uring = true; break;
		case 'O': o->only = optarg; break;
		case 'V':
		case 'D':
			if (uint_opt(c == 'V' ? "vmm-cpu" : "device-cpu", optarg,
				     CPU_SETSIZE - 1, &cpu))
				return -1;
			*(c == 'V' ? &o->vmm_cpu : &o->device_cpu) = (int)cpu;
			break;
		case 'I':
			if (uint_opt("idle-spin", optarg, 63, &cpu))
				return -1;
			o->idle_spin |= 1ull << cpu;
			break;
		case 'S':
			if (uint_opt("seq-mib", optarg, 4096, &o->seq_mib))
				return -1;
			break;
		case 'R':
			if (uint_opt("rand-ops", optarg, 1000000, &o->rand_ops))
				return -1;
			break;
		case 'P':
			if (uint_opt("poll-us", optarg, 100000, &o->poll_us))
				return -1;
			break;
		case 'N':
			if (uint_opt("rounds", optarg, 20, &o->rounds) ||
			    !o->rounds)
				return -1;
			break;
		case 'T':
			if (uint_opt("timeout", optarg, 3600, &o->timeout_s) ||
			    !o->timeout_s)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || !o->tinyvmm || !o->uart || !o->vblk ||
	    !o->kernel || !o->initrd || !o->seq_mib || !o->rand_ops) {
		fprintf(stderr, "usage: linux-bench --tinyvmm P --uart P "
			"--virtio-blk P --kernel VMLINUX --initrd CPIO\n"
			"       [--seq-mib N] [--rand-ops N] [--poll-us N] "
			"[--uring] [--only CFG,...]\n"
			"       [--vmm-cpu N] [--device-cpu N] [--idle-spin N]... "
			"[--rounds N]\n"
			"       [--timeout S] [--show] [--emulated]\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	static struct result cfg[4];
	struct figures base = { 0 };
	char dir[256], oop_img[300], invmm_img[300], names[160] = "";
	const char *path;
	pid_t spinners[64];
	unsigned int ncfg = 0, nspin = 0;
	int rc, failed = 0;

	if (parse(argc, argv, &o))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (linux_kvm_usable("linux-bench"))
		return SKIP;
	probe_kernel();
	path = kpath.fast ? "fast" : "bridge";
	for (unsigned int u = 0; u < (o.uring ? 2u : 1u); u++)
		for (unsigned int p = 0; p < (kpath.fast && o.poll_us ? 2u : 1u); p++) {
			struct result *res = &cfg[ncfg];

			snprintf(res->name, sizeof(res->name), "%s%s%s", path,
				 u ? "-uring" : "", p ? "-poll" : "");
			if (!listed(o.only, res->name))
				continue;
			res->uring = u;
			res->poll_us = p ? o.poll_us : 0;
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 "%s%s", ncfg ? ", " : "", res->name);
			ncfg++;
		}
	if (!ncfg) {
		fprintf(stderr, "linux-bench: --only %s names no configuration "
			"of this kernel's path (%s)\n", o.only, path);
		return 1;
	}
	if (o.vmm_cpu >= 0) {
		/* tinyvmm and its vCPU threads inherit it; the device
		 * process sets its own (--device-cpu) */
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.vmm_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, "linux-bench: --vmm-cpu %d: %s\n",
				o.vmm_cpu, strerror(errno));
			return 1;
		}
	}

	if (linux_tmpdir("linux-bench", dir, sizeof(dir)))
		return 1;
	/* The names are the disks' GET_ID serials in the guest. */
	snprintf(oop_img, sizeof(oop_img), "%s/oop.img", dir);
	snprintf(invmm_img, sizeof(invmm_img), "%s/invmm.img", dir);
	rc = make_image(oop_img);
	if (rc == 0)
		rc = make_image(invmm_img);
	if (rc) {
		fprintf(stderr, "linux-bench: images in %s: %s\n", dir,
			strerror(-rc));
		unlink(oop_img);
		unlink(invmm_img);
		rmdir(dir);
		return 1;
	}
	fprintf(stderr, "linux-bench: two %u MiB disks, in-VMM and the device "
		"process (%s), each %u MiB sequential in 256 KiB reads and %u "
		"random 4 KiB reads per boot, O_DIRECT, one in flight, %u "
		"round(s), tinyvmm on CPU %d, the device on CPU %d (-1: any)%s\n",
		DISK_MIB, names, o.seq_mib, o.rand_ops, o.rounds, o.vmm_cpu,
		o.device_cpu,
		o.emulated ? "; emulated (nested KVM under TCG): only the "
			     "ratios mean anything" : "");

	for (int cpu = 0; cpu < 64; cpu++)
		if (o.idle_spin & (1ull << cpu)) {
			spinners[nspin] = spinner(cpu);
			if (spinners[nspin] < 0) {
				perror("linux-bench: fork");
				return 1;
			}
			nspin++;
		}
	for (unsigned int i = 0; i < o.rounds; i++) {
		fprintf(stderr, "linux-bench: round %u of %u\n", i + 1, o.rounds);
		for (unsigned int c = 0; c < ncfg; c++)
			boot(&o, oop_img, invmm_img, &cfg[c]);
	}
	for (unsigned int i = 0; i < nspin; i++) {
		kill(spinners[i], SIGKILL);
		waitpid(spinners[i], NULL, 0);
	}
	for (unsigned int c = 0; c < ncfg; c++) {
		failed += cfg[c].failed || !cfg[c].rounds;
		base.seq_bytes += cfg[c].invmm.seq_bytes;
		base.seq_ns += cfg[c].invmm.seq_ns;
		base.rand_ops += cfg[c].invmm.rand_ops;
		base.rand_ns += cfg[c].invmm.rand_ns;
	}
	if (base.seq_ns)
		print(&o, "in-vmm", &base);
	for (unsigned int c = 0; c < ncfg; c++)
		if (cfg[c].rounds) {
			print(&o, cfg[c].name, &cfg[c].oop);
			print_ratio(&cfg[c]);
		}
	unlink(oop_img);
	unlink(invmm_img);
	rmdir(dir);
	if (failed)
		fprintf(stderr, "linux-bench: FAIL: %d configuration%s had a "
			"boot without numbers\n", failed,
			failed == 1 ? "" : "s");
	return failed ? 1 : 0;
}
