/* SPDX-License-Identifier: MIT */
/*
 * ioregion-abi: kernel tests of KVM_SET_IOREGION (kernel/ patch), in the
 * style of the KVM selftests: the ioctl's argument checks, and real-mode
 * guests whose MMIO and PIO accesses KVM carries over a socket to a device
 * thread (or child process) of this program.
 *
 * Every guest access to a region must arrive as the exact 32-byte command
 * (wire v3, DESIGN section 3) and must NOT reach this program as a
 * KVM_EXIT_MMIO/KVM_EXIT_IO, except where the patch falls back on purpose
 * (non-blocking fd, hang-up, device killed).
 *
 * Usage: ioregion-abi [TEST...]   (default: all; --list names them)
 * Exit status: 0 pass, 1 a check failed, 77 no /dev/kvm or no
 * KVM_SET_IOREGION (ENOTTY: stock kvm modules).
 * Environment: IOREGION_KVM_DEV (default /dev/kvm).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/kvm.h"

#define EXIT_SKIP 77
#define RAM_SIZE 0x10000u
#define CODE_ADDR 0x1000u
#define CMD_SIZE 32
#define KVM_CAP_IOREGIONFD_PATCH 1024 /* kernel/ patch; informative only */

#define MMIO_BASE 0xd0000u
#define MMIO_POSTED 0xd1000u
#define MMIO_DOORBELL 0xd2000u
#define PIO_BASE 0x1230u
#define PIO_POSTED 0x1260u
#define PIO_DOORBELL 0x1270u

#define UD_MMIO 0x1111u
#define UD_PIO 0x2222u
#define UD_MPOST 0x3333u
#define UD_MBELL 0x4444u
#define UD_PPOST 0x5555u
#define UD_PBELL 0x6666u

static int failures, checks;
static const char *cur_test = "";

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("ioregion-abi: %-12s %s: ", cur_test, ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *what)
{
	printf("ioregion-abi: %s FAIL: %s: %s\n", cur_test, what, strerror(errno));
	exit(EXIT_FAILURE);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- wire v3 -------------------------------------------------------- */

struct cmd {
	uint8_t b[CMD_SIZE];
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static struct cmd mkcmd(int write, unsigned size, int resp, uint64_t user_data,
			uint64_t offset, uint64_t data)
{
	struct cmd c;
	unsigned exp = size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;

	memset(&c, 0, sizeof(c));
	c.b[0] = (uint8_t)write;
	c.b[1] = (uint8_t)(exp | (resp ? 0x10 : 0));
	memcpy(c.b + 8, &user_data, 8);
	memcpy(c.b + 16, &offset, 8);
	memcpy(c.b + 24, &data, 8);
	return c;
}

static void fmt_cmd(const struct cmd *c, char *out, size_t n)
{
	snprintf(out, n, "%s size %u%s ud 0x%" PRIx64 " off 0x%" PRIx64 " data 0x%" PRIx64
		 " [%02x %02x]",
		 c->b[0] ? "W" : "R", 1u << (c->b[1] & 0xf), (c->b[1] & 0x10) ? " resp" : "",
		 get64(c->b + 8), get64(c->b + 16), get64(c->b + 24), c->b[0], c->b[1]);
}

/* A read's answer depends on the command, so a mismatched reply shows. */
static uint64_t answer_for(const struct cmd *c)
{
	uint64_t ud = get64(c->b + 8), off = get64(c->b + 16);

	if (ud == UD_MMIO || ud == UD_PIO)
		return (ud << 16) | off;
	return 0xfedcba9876543200ull | off;
}

/* ---- the VM --------------------------------------------------------- */

struct vm {
	int kvm, fd;
	int vcpu[2];
	struct kvm_run *run[2];
	uint8_t *ram;
	int nvcpu;
};

static int kvm_dev_fd = -1;

static void vm_create(struct vm *v, const uint8_t *code, size_t len,
		      const uint8_t *code1, size_t len1)
{
	struct kvm_userspace_memory_region region;
	int runsz;

	memset(v, 0, sizeof(*v));
	v->kvm = kvm_dev_fd;
	v->fd = ioctl(kvm_dev_fd, KVM_CREATE_VM, 0);
	if (v->fd < 0)
		die("KVM_CREATE_VM");
	if (ioctl(v->fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		die("KVM_SET_TSS_ADDR");
	v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->ram == MAP_FAILED)
		die("mmap guest RAM");
	memset(v->ram, 0xf4, RAM_SIZE);
	if (code)
		memcpy(v->ram + CODE_ADDR, code, len);
	if (code1)
		memcpy(v->ram + CODE_ADDR + 0x100, code1, len1);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)v->ram,
	};
	if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	runsz = ioctl(kvm_dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (runsz <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	v->nvcpu = code ? (code1 ? 2 : 1) : 0;
	for (int i = 0; i < v->nvcpu; i++) {
		struct kvm_sregs sregs;
		struct kvm_regs regs;

		v->vcpu[i] = ioctl(v->fd, KVM_CREATE_VCPU, i);
		if (v->vcpu[i] < 0)
			die("KVM_CREATE_VCPU");
		v->run[i] = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE,
				 MAP_SHARED, v->vcpu[i], 0);
		if (v->run[i] == MAP_FAILED)
			die("mmap kvm_run");
		if (ioctl(v->vcpu[i], KVM_GET_SREGS, &sregs) < 0)
			die("KVM_GET_SREGS");
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		sregs.ds.base = 0;
		sregs.ds.selector = 0;
		if (ioctl(v->vcpu[i], KVM_SET_SREGS, &sregs) < 0)
			die("KVM_SET_SREGS");
		memset(&regs, 0, sizeof(regs));
		regs.rip = CODE_ADDR + 0x100u * (unsigned)i;
		regs.rflags = 0x2;
		if (ioctl(v->vcpu[i], KVM_SET_REGS, &regs) < 0)
			die("KVM_SET_REGS");
	}
}

static void vm_destroy(struct vm *v)
{
	int runsz = ioctl(kvm_dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	for (int i = 0; i < v->nvcpu; i++) {
		munmap(v->run[i], (size_t)runsz);
		close(v->vcpu[i]);
	}
	munmap(v->ram, RAM_SIZE);
	close(v->fd);
}

static int set_ioregion(int vm, uint64_t addr, uint64_t size, uint64_t ud,
			int rfd, int wfd, uint32_t flags)
{
	struct ioregion_kvm_ioregion r;

	memset(&r, 0, sizeof(r));
	r.guest_paddr = addr;
	r.memory_size = size;
	r.user_data = ud;
	r.read_fd = rfd;
	r.write_fd = wfd;
	r.flags = flags;
	return ioctl(vm, IOREGION_KVM_SET_IOREGION, &r) < 0 ? -errno : 0;
}

static int set_ioeventfd(int vm, uint64_t addr, uint32_t len, int pio, int deassign)
{
	static int efd = -1;
	struct kvm_ioeventfd e;

	if (efd < 0) {
		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0)
			die("eventfd");
	}
	memset(&e, 0, sizeof(e));
	e.addr = addr;
	e.len = len;
	e.fd = efd;
	e.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		  (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0);
	return ioctl(vm, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}

static const char *errname(int e)
{
	switch (-e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case ENOTTY: return "ENOTTY";
	default: return strerror(-e);
	}
}

#define EXPECT_RC(expr, want, what)                                              \
	do {                                                                     \
		int rc_ = (expr);                                                \
		check(rc_ == (want), "%s: %s (want %s)", what, errname(rc_),     \
		      errname(want));                                            \
	} while (0)

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
}

/* 1 if fd has data (or EOF) within ms, else 0 */
static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/* ---- device thread ---------------------------------------------------- */

#define MAX_CMDS 2048

struct device {
	int fd;
	pthread_t thread;
	struct cmd cmds[MAX_CMDS];
	int ncmds;
	int answer_after;	/* answer only after this many commands (-1: always) */
	int stop_after;		/* close fd after this many commands (0: never) */
	int delay_us;
	/* signal test */
	pthread_t vcpu_thread;
	int signals_per_read;
	uint64_t signal_cmds;	/* also one signal for command i when bit i is set */
	int hold_first;		/* first reply: wait for 'a' (answer) or 'd' (drop) */
	int release_pipe[2];
	int answer_seq;		/* reads get 0xa0 + command index, not answer_for() */
	int intr_pipe[2];	/* vCPU thread -> device: one byte per EINTR seen */
	int lost_signals;	/* signals no EINTR answered within 2 s */
};

static void *device_main(void *arg)
{
	struct device *d = arg;
	struct cmd c;
	int nsig;

	for (;;) {
		ssize_t n = recv(d->fd, &c, sizeof(c), 0);

		if (n <= 0)
			break;
		if (n != CMD_SIZE || d->ncmds >= MAX_CMDS) {
			printf("ioregion-abi: device: bad command size %zd\n", n);
			break;
		}
		d->cmds[d->ncmds++] = c;
		if (d->delay_us)
			usleep((useconds_t)d->delay_us);
		nsig = c.b[0] ? 0 : d->signals_per_read;
		if (d->ncmds <= 64 && (d->signal_cmds >> (d->ncmds - 1)) & 1)
			nsig++;
		for (int i = 0; i < nsig; i++) {
			char b;

			usleep(30000);	/* let the vCPU block on the reply */
			pthread_kill(d->vcpu_thread, SIGUSR1);
			/* bounded: a signal that interrupts nothing is counted */
			if (!readable(d->intr_pipe[0], 2000) ||
			    read(d->intr_pipe[0], &b, 1) != 1) {
				d->lost_signals++;
				break;
			}
		}
		if (d->hold_first && d->ncmds == 1) {
			char b = 'a';

			if (read(d->release_pipe[0], &b, 1) == 1 && b == 'd')
				continue;	/* the access gave up: no reply */
		}
		if (c.b[1] & 0x10) {
			uint8_t resp[CMD_SIZE] = { 0 };
			uint64_t v = d->answer_seq ? 0xa0u + (unsigned)d->ncmds - 1 :
						     answer_for(&c);

			memcpy(resp, &v, 8);
			if (send(d->fd, resp, sizeof(resp), MSG_NOSIGNAL) != CMD_SIZE)
				break;
		}
		if (d->stop_after && d->ncmds >= d->stop_after)
			break;
	}
	close(d->fd);
	d->fd = -1;
	return NULL;
}

static void device_start(struct device *d, int fd)
{
	d->fd = fd;
	if (pthread_create(&d->thread, NULL, device_main, d))
		die("pthread_create");
}

static void device_join(struct device *d)
{
	if (d->fd >= 0)
		shutdown(d->fd, SHUT_RDWR);
	pthread_join(d->thread, NULL);
}

/* ---- running a vCPU ------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
}

struct exits {
	int mmio, io, intr;
	uint64_t mmio_addr[8];
	int mmio_write[8];
	uint64_t mmio_wdata[8];
};

/*
 * Run until HLT, serving stray MMIO exits with @mmio_answer (recorded in
 * @ex), counting EINTRs; bounded by @limit_s. Returns 1 at HLT.
 */
static int run_vcpu(struct vm *v, int i, struct exits *ex, uint64_t mmio_answer,
		    double limit_s, int intr_pipe)
{
	struct kvm_run *run = v->run[i];
	double start = now_s();

	for (;;) {
		if (now_s() - start > limit_s) {
			check(0, "vcpu%d: no HLT within %.0f s", i, limit_s);
			return 0;
		}
		if (ioctl(v->vcpu[i], KVM_RUN, 0) < 0) {
			if (errno != EINTR)
				die("KVM_RUN");
			ex->intr++;
			if (run->exit_reason != KVM_EXIT_INTR)
				check(0, "vcpu%d: EINTR with exit_reason %u, want KVM_EXIT_INTR",
				      i, run->exit_reason);
			if (intr_pipe >= 0) {
				/* SIGUSR1 is blocked out here: eat it, as QEMU does */
				struct timespec zero = { 0, 0 };
				sigset_t usr1;

				sigemptyset(&usr1);
				sigaddset(&usr1, SIGUSR1);
				while (sigtimedwait(&usr1, NULL, &zero) == SIGUSR1)
					;
				if (write(intr_pipe, "e", 1) != 1)
					die("write intr pipe");
			}
			continue;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_HLT:
			return 1;
		case KVM_EXIT_MMIO:
			if (ex->mmio < 8) {
				ex->mmio_addr[ex->mmio] = run->mmio.phys_addr;
				ex->mmio_write[ex->mmio] = run->mmio.is_write;
				memcpy(&ex->mmio_wdata[ex->mmio], run->mmio.data, 8);
			}
			ex->mmio++;
			if (!run->mmio.is_write)
				memcpy(run->mmio.data, &mmio_answer, 8);
			break;
		case KVM_EXIT_IO:
			ex->io++;
			if (run->io.direction == KVM_EXIT_IO_IN)
				memset((uint8_t *)run + run->io.data_offset, 0xee,
				       (size_t)run->io.size * run->io.count);
			break;
		default:
			check(0, "vcpu%d: unexpected exit %u", i, run->exit_reason);
			return 0;
		}
	}
}

static struct kvm_regs get_regs(struct vm *v, int i)
{
	struct kvm_regs regs;

	if (ioctl(v->vcpu[i], KVM_GET_REGS, &regs) < 0)
		die("KVM_GET_REGS");
	return regs;
}

/* ---- tests --------------------------------------------------------------- */

static void test_args(void)
{
	struct vm v;
	int sv[2], vm;

	vm_create(&v, NULL, 0, NULL, 0);
	vm = v.fd;
	pair(sv);

	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], 1u << 3),
		  -EINVAL, "unknown flag 1<<3");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], 0x80000000u),
		  -EINVAL, "unknown flag 1<<31");
	{
		struct ioregion_kvm_ioregion r;

		memset(&r, 0, sizeof(r));
		r.guest_paddr = MMIO_BASE;
		r.memory_size = 0x100;
		r.read_fd = r.write_fd = sv[0];
		r.pad[27] = 1;
		EXPECT_RC(ioctl(vm, IOREGION_KVM_SET_IOREGION, &r) < 0 ? -errno : 0,
			  -EINVAL, "non-zero padding");
	}
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0, 0, sv[0], sv[0], 0),
		  -EINVAL, "size 0 without POSTED_WRITES");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0, 0, -2, -2, 0),
		  -EINVAL, "size 0 without POSTED_WRITES, fds -2 (the library's presence probe)");
	EXPECT_RC(set_ioregion(vm, 0, 0, 0, -1, -1, 0),
		  -EINVAL, "size 0 without POSTED_WRITES, fds -1 (the library's dialect probe: "
		  "EINVAL = v3, a v1/v2 kernel answers ENOENT)");
	EXPECT_RC(set_ioregion(vm, 0xfffffffffffff000ull, 0x2000, 0, sv[0], sv[0], 0),
		  -EINVAL, "MMIO wrap-around");
	EXPECT_RC(set_ioregion(vm, 0xfffffffffffff000ull, 0x1000, 0, sv[0], sv[0], 0),
		  -EINVAL, "MMIO ending at 2^64 (refused like ioeventfd does)");
	EXPECT_RC(set_ioregion(vm, 0xffffffffffffe000ull, 0x1000, 0, sv[0], sv[0], 0),
		  0, "MMIO ending just below 2^64");
	EXPECT_RC(set_ioregion(vm, 0xfff0, 0x20, 0, sv[0], sv[0], IOREGION_KVM_PIO),
		  -EINVAL, "PIO beyond port 0xffff");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, sv[0], 0),
		  -EBADF, "read_fd -1");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], 1000, 0),
		  -EBADF, "write_fd not open");
	{
		int p[2];

		if (pipe(p) < 0)
			die("pipe");
		EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, p[1], p[1], 0),
			  -EBADF, "read_fd not open for reading (a pipe's write end)");
		EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, p[0], p[0], 0),
			  -EBADF, "write_fd not open for writing (a pipe's read end)");
		EXPECT_RC(set_ioregion(vm, 0x700, 0x10, 0, p[0], p[1], IOREGION_KVM_PIO),
			  0, "a pipe pair (read end, write end)");
		close(p[0]);
		close(p[1]);
	}

	/* overlaps between ioregions */
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], 0), 0,
		  "MMIO 0xd0000+0x100");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0xff, 0x10, 0, sv[0], sv[0], 0), -EEXIST,
		  "MMIO overlapping its last byte");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE - 0x10, 0x11, 0, sv[0], sv[0], 0), -EEXIST,
		  "MMIO overlapping its first byte");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0x80, 0, 0, sv[0], sv[0],
			       IOREGION_KVM_POSTED_WRITES), -EEXIST,
		  "MMIO doorbell inside it");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0x100, 0x100, 0, sv[0], sv[0], 0), 0,
		  "MMIO right after it");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, sv[0], sv[0], IOREGION_KVM_PIO), -EINVAL,
		  "PIO at 0xd0000 (beyond 0xffff)");
	EXPECT_RC(set_ioregion(vm, 0x100, 0x100, 0, sv[0], sv[0], IOREGION_KVM_PIO), 0,
		  "PIO 0x100+0x100 (other bus than MMIO 0x100)");
	EXPECT_RC(set_ioregion(vm, 0x1ff, 1, 0, sv[0], sv[0], IOREGION_KVM_PIO), -EEXIST,
		  "PIO overlapping");
	EXPECT_RC(set_ioregion(vm, 0x100, 0x100, 0, sv[0], sv[0], 0), 0,
		  "MMIO 0x100+0x100 (other bus than PIO 0x100)");

	/* ioeventfd both ways */
	EXPECT_RC(set_ioeventfd(vm, MMIO_BASE + 0x10, 4, 0, 0), -EEXIST,
		  "ioeventfd inside an MMIO ioregion");
	EXPECT_RC(set_ioeventfd(vm, MMIO_BASE + 0x10, 0, 0, 0), -EEXIST,
		  "length-0 ioeventfd inside an MMIO ioregion");
	EXPECT_RC(set_ioeventfd(vm, 0x180, 2, 1, 0), -EEXIST,
		  "PIO ioeventfd inside a PIO ioregion");
	EXPECT_RC(set_ioeventfd(vm, 0xe0000, 4, 0, 0), 0, "MMIO ioeventfd at 0xe0000");
	EXPECT_RC(set_ioregion(vm, 0xe0000 - 0x10, 0x12, 0, sv[0], sv[0], 0), -EEXIST,
		  "ioregion over an MMIO ioeventfd");
	EXPECT_RC(set_ioregion(vm, 0xe0003, 0, 0, sv[0], sv[0], IOREGION_KVM_POSTED_WRITES),
		  -EEXIST, "doorbell over an MMIO ioeventfd");
	EXPECT_RC(set_ioregion(vm, 0xe0004, 4, 0, sv[0], sv[0], 0), 0,
		  "ioregion right after the ioeventfd");
	EXPECT_RC(set_ioeventfd(vm, 0x400, 1, 1, 0), 0, "PIO ioeventfd at 0x400");
	EXPECT_RC(set_ioregion(vm, 0x3f0, 0x20, 0, sv[0], sv[0], IOREGION_KVM_PIO), -EEXIST,
		  "PIO ioregion over a PIO ioeventfd");
	EXPECT_RC(set_ioregion(vm, 0x3f0, 0x20, 0, sv[0], sv[0], 0), 0,
		  "MMIO ioregion at the PIO ioeventfd's number");

	/* removal */
	EXPECT_RC(set_ioregion(vm, 0xf0000, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  -ENOENT, "DEASSIGN of a missing region");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x80, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  -ENOENT, "DEASSIGN with the wrong size");
	EXPECT_RC(set_ioregion(vm, 0x3f0, 0x20, 0, -1, -1,
			       IOREGION_KVM_DEASSIGN | IOREGION_KVM_PIO),
		  -ENOENT, "DEASSIGN on the wrong bus (MMIO 0x3f0 exists, PIO does not)");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, -1,
			       IOREGION_KVM_DEASSIGN | (1u << 5)),
		  -EINVAL, "DEASSIGN with an unknown flag");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  0, "DEASSIGN");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN),
		  -ENOENT, "DEASSIGN again");
	EXPECT_RC(set_ioregion(vm, MMIO_BASE + 0x10, 4, 0, sv[0], sv[0], 0), 0,
		  "register in the freed range");
	EXPECT_RC(set_ioeventfd(vm, MMIO_BASE + 0x20, 4, 0, 0), 0,
		  "ioeventfd in the freed range");

	check(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_IOREGIONFD_PATCH) == 1,
	      "KVM_CHECK_EXTENSION(KVM_CAP_IOREGIONFD = %d) = 1 (informative: the "
	      "library detects by errno)", KVM_CAP_IOREGIONFD_PATCH);
	check(ioregion_kvm_probe(vm) == 1, "the library's ioregion_kvm_probe() = %d (want 1)",
	      ioregion_kvm_probe(vm));
	check(ioregion_kvm_probe_system() == 1, "ioregion_kvm_probe_system() = %d (want 1)",
	      ioregion_kvm_probe_system());
	{
		enum ioregion_wire_dialect d = (enum ioregion_wire_dialect)0;
		int rc = ioregion_kvm_probe_dialect(vm, &d);

		check(rc == 1 && d == IOREGION_WIRE_V3,
		      "ioregion_kvm_probe_dialect() = %d, dialect %d (want 1, v3 = %d)", rc,
		      (int)d, IOREGION_WIRE_V3);
		d = (enum ioregion_wire_dialect)0;
		rc = ioregion_kvm_probe_system_dialect(&d);
		check(rc == 1 && d == IOREGION_WIRE_V3,
		      "ioregion_kvm_probe_system_dialect() = %d, dialect %d (want 1, v3 = %d)",
		      rc, (int)d, IOREGION_WIRE_V3);
	}

	close(sv[0]);
	close(sv[1]);
	vm_destroy(&v);
}

/* Files are released on removal and on VM destruction: the peer sees EOF. */
static void test_release(void)
{
	struct vm v;
	int a[2], b[2];

	vm_create(&v, NULL, 0, NULL, 0);
	pair(a);
	pair(b);
	EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, 0, a[0], a[0], 0), 0, "register A");
	EXPECT_RC(set_ioregion(v.fd, 0x1230, 0x10, 0, b[0], b[0],
			       IOREGION_KVM_PIO | IOREGION_KVM_POSTED_WRITES), 0,
		  "register B (PIO, posted)");
	close(a[0]);
	close(b[0]);
	check(!readable(a[1], 100), "A's peer: no EOF while registered (KVM holds the file)");
	EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN), 0,
		  "DEASSIGN A");
	check(readable(a[1], 2000) && recv(a[1], &v.kvm, sizeof(v.kvm), MSG_DONTWAIT) == 0,
	      "A's peer sees EOF after DEASSIGN (file released)");
	check(!readable(b[1], 100), "B's peer: no EOF while the VM lives");
	vm_destroy(&v);
	check(readable(b[1], 2000) && recv(b[1], &v.kvm, sizeof(v.kvm), MSG_DONTWAIT) == 0,
	      "B's peer sees EOF after the VM is destroyed (file released)");
	close(a[1]);
	close(b[1]);
}

/*
 * The guest, 16-bit real mode at 0000:1000 (as --32, .code16):
 *   mov $0xd000,%ax; mov %ax,%ds
 *   movb $0xa1,0x10; movw $0xb2c3,0x20; movl $0xd4e5f607,0x30
 *   mov 0x40,%al; mov %al,0x41; mov 0x42,%ax; mov %ax,0x44
 *   mov 0x48,%eax; mov %eax,0x4c
 *   movl $0x11223344,0x1000          (posted MMIO region at 0xd1000)
 *   movb $0x55,0x2000                (MMIO doorbell at 0xd2000)
 *   mov $0x1230,%dx; mov $0x11,%al; out %al,(%dx)
 *   mov $0x1232,%dx; mov $0x2233,%ax; out %ax,(%dx)
 *   mov $0x1234,%dx; mov $0x44556677,%eax; out %eax,(%dx)
 *   mov $0x1240,%dx; in (%dx),%al; mov $0x1241,%dx; out %al,(%dx)
 *   mov $0x1242,%dx; in (%dx),%ax; mov $0x1244,%dx; out %ax,(%dx)
 *   mov $0x1248,%dx; in (%dx),%eax; mov $0x124c,%dx; out %eax,(%dx)
 *   mov $0x1260,%dx; mov $0x77,%al; out %al,(%dx)   (posted PIO)
 *   mov $0x1270,%dx; out %al,(%dx)                  (PIO doorbell)
 *   hlt
 */
static const uint8_t guest_basic[] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0xa1, 0xc7, 0x06,
	0x20, 0x00, 0xc3, 0xb2, 0x66, 0xc7, 0x06, 0x30, 0x00, 0x07, 0xf6, 0xe5,
	0xd4, 0xa0, 0x40, 0x00, 0xa2, 0x41, 0x00, 0xa1, 0x42, 0x00, 0xa3, 0x44,
	0x00, 0x66, 0xa1, 0x48, 0x00, 0x66, 0xa3, 0x4c, 0x00, 0x66, 0xc7, 0x06,
	0x00, 0x10, 0x44, 0x33, 0x22, 0x11, 0xc6, 0x06, 0x00, 0x20, 0x55, 0xba,
	0x30, 0x12, 0xb0, 0x11, 0xee, 0xba, 0x32, 0x12, 0xb8, 0x33, 0x22, 0xef,
	0xba, 0x34, 0x12, 0x66, 0xb8, 0x77, 0x66, 0x55, 0x44, 0x66, 0xef, 0xba,
	0x40, 0x12, 0xec, 0xba, 0x41, 0x12, 0xee, 0xba, 0x42, 0x12, 0xed, 0xba,
	0x44, 0x12, 0xef, 0xba, 0x48, 0x12, 0x66, 0xed, 0xba, 0x4c, 0x12, 0x66,
	0xef, 0xba, 0x60, 0x12, 0xb0, 0x77, 0xee, 0xba, 0x70, 0x12, 0xee, 0xf4,
};

static void register_all(int vm, int fd)
{
	EXPECT_RC(set_ioregion(vm, MMIO_BASE, 0x100, UD_MMIO, fd, fd, 0), 0, "MMIO region");
	EXPECT_RC(set_ioregion(vm, MMIO_POSTED, 0x10, UD_MPOST, fd, fd,
			       IOREGION_KVM_POSTED_WRITES), 0, "MMIO posted-write region");
	EXPECT_RC(set_ioregion(vm, MMIO_DOORBELL, 0, UD_MBELL, fd, fd,
			       IOREGION_KVM_POSTED_WRITES), 0, "MMIO doorbell (size 0)");
	EXPECT_RC(set_ioregion(vm, PIO_BASE, 0x20, UD_PIO, fd, fd, IOREGION_KVM_PIO), 0,
		  "PIO region");
	EXPECT_RC(set_ioregion(vm, PIO_POSTED, 8, UD_PPOST, fd, fd,
			       IOREGION_KVM_PIO | IOREGION_KVM_POSTED_WRITES), 0,
		  "PIO posted-write region");
	EXPECT_RC(set_ioregion(vm, PIO_DOORBELL, 0, UD_PBELL, fd, fd,
			       IOREGION_KVM_PIO | IOREGION_KVM_POSTED_WRITES), 0,
		  "PIO doorbell (size 0)");
}

static void test_guest(void)
{
	static struct device d;
	struct exits ex = { 0 };
	struct vm v;
	int sv[2];
	const struct cmd want[] = {
		mkcmd(1, 1, 1, UD_MMIO, 0x10, 0xa1),
		mkcmd(1, 2, 1, UD_MMIO, 0x20, 0xb2c3),
		mkcmd(1, 4, 1, UD_MMIO, 0x30, 0xd4e5f607),
		mkcmd(0, 1, 1, UD_MMIO, 0x40, 0),
		mkcmd(1, 1, 1, UD_MMIO, 0x41, 0x40),
		mkcmd(0, 2, 1, UD_MMIO, 0x42, 0),
		mkcmd(1, 2, 1, UD_MMIO, 0x44, 0x0042),
		mkcmd(0, 4, 1, UD_MMIO, 0x48, 0),
		mkcmd(1, 4, 1, UD_MMIO, 0x4c, 0x11110048),
		mkcmd(1, 4, 0, UD_MPOST, 0, 0x11223344),
		mkcmd(1, 1, 0, UD_MBELL, 0, 0),
		mkcmd(1, 1, 1, UD_PIO, 0, 0x11),
		mkcmd(1, 2, 1, UD_PIO, 2, 0x2233),
		mkcmd(1, 4, 1, UD_PIO, 4, 0x44556677),
		mkcmd(0, 1, 1, UD_PIO, 0x10, 0),
		mkcmd(1, 1, 1, UD_PIO, 0x11, 0x10),
		mkcmd(0, 2, 1, UD_PIO, 0x12, 0),
		mkcmd(1, 2, 1, UD_PIO, 0x14, 0x0012),
		mkcmd(0, 4, 1, UD_PIO, 0x18, 0),
		mkcmd(1, 4, 1, UD_PIO, 0x1c, 0x22220018),
		mkcmd(1, 1, 0, UD_PPOST, 0, 0x77),
		mkcmd(1, 1, 0, UD_PBELL, 0, 0),
	};
	const int nwant = (int)(sizeof(want) / sizeof(want[0]));
	int halted;

	vm_create(&v, guest_basic, sizeof(guest_basic), NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	memset(&d, 0, sizeof(d));
	device_start(&d, sv[1]);
	halted = run_vcpu(&v, 0, &ex, 0, 30, -1);
	check(halted, "guest reached HLT");
	check(ex.mmio == 0 && ex.io == 0,
	      "no KVM_EXIT_MMIO/KVM_EXIT_IO reached userspace (mmio %d, io %d)", ex.mmio, ex.io);
	usleep(100000);
	device_join(&d);
	check(d.ncmds == nwant, "device received %d commands (want %d)", d.ncmds, nwant);
	for (int i = 0; i < nwant && i < d.ncmds; i++) {
		char got[160], exp[160];

		fmt_cmd(&d.cmds[i], got, sizeof(got));
		fmt_cmd(&want[i], exp, sizeof(exp));
		check(memcmp(&d.cmds[i], &want[i], CMD_SIZE) == 0,
		      "command %2d: exact 32 bytes: %s%s%s", i + 1, got,
		      memcmp(&d.cmds[i], &want[i], CMD_SIZE) ? " want " : "",
		      memcmp(&d.cmds[i], &want[i], CMD_SIZE) ? exp : "");
	}
	if (halted) {
		struct kvm_regs r = get_regs(&v, 0);

		check((uint32_t)r.rax == 0x22220077u || (uint8_t)r.rax == 0x77,
		      "guest state at HLT: eax 0x%08x", (uint32_t)r.rax);
	}
	close(sv[0]);
	vm_destroy(&v);
}

/*
 *   mov $0xd000,%ax; mov %ax,%ds
 *   mov 0x40,%eax; mov %eax,%ebx      (MMIO read)
 *   mov $0x1248,%dx; in (%dx),%eax    (PIO read)
 *   hlt
 */
static const uint8_t guest_intr[] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0x66, 0xa1, 0x40, 0x00, 0x66, 0x89, 0xc3,
	0xba, 0x48, 0x12, 0x66, 0xed, 0xf4,
};

/*
 * SIGUSR1 is blocked in userspace and let in only inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK), so a signal sent just before KVM_RUN is
 * re-entered is not lost. Undo with usr1_unblock().
 */
static struct kvm_signal_mask *usr1_only_in_kvm_run(struct vm *v)
{
	struct kvm_signal_mask *mask;
	sigset_t block, *unblocked;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	mask = calloc(1, sizeof(*mask) + 8);
	if (!mask)
		die("calloc");
	mask->len = 8;
	unblocked = (sigset_t *)mask->sigset;
	pthread_sigmask(SIG_BLOCK, NULL, unblocked);
	sigdelset(unblocked, SIGUSR1);
	if (ioctl(v->vcpu[0], KVM_SET_SIGNAL_MASK, mask) < 0)
		die("KVM_SET_SIGNAL_MASK");
	return mask;
}

static void usr1_unblock(struct kvm_signal_mask *mask)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	free(mask);
}

static void test_signal(void)
{
	static struct device d;
	struct exits ex = { 0 };
	struct kvm_signal_mask *mask;
	struct vm v;
	int sv[2], halted;

	vm_create(&v, guest_intr, sizeof(guest_intr), NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	mask = usr1_only_in_kvm_run(&v);

	memset(&d, 0, sizeof(d));
	d.vcpu_thread = pthread_self();
	d.signals_per_read = 2;
	if (pipe(d.intr_pipe) < 0)
		die("pipe");
	device_start(&d, sv[1]);
	halted = run_vcpu(&v, 0, &ex, 0, 30, d.intr_pipe[1]);
	check(halted, "guest reached HLT");
	check(ex.intr == 4, "KVM_RUN returned EINTR (KVM_EXIT_INTR) %d times (want 4: "
	      "2 signals while each read waits, the second one during the resume)", ex.intr);
	check(ex.mmio == 0 && ex.io == 0, "no MMIO/IO exit reached userspace (mmio %d, io %d)",
	      ex.mmio, ex.io);
	usleep(50000);
	device_join(&d);
	check(d.ncmds == 2, "device received %d commands (want 2: no resend after EINTR)",
	      d.ncmds);
	check(d.lost_signals == 0, "every signal interrupted a waiting KVM_RUN (%d did not)",
	      d.lost_signals);
	if (halted) {
		struct kvm_regs r = get_regs(&v, 0);

		check((uint32_t)r.rbx == 0x11110040u,
		      "MMIO read resumed: ebx 0x%08x (want 0x11110040)", (uint32_t)r.rbx);
		check((uint32_t)r.rax == 0x22220018u,
		      "PIO read resumed: eax 0x%08x (want 0x22220018)", (uint32_t)r.rax);
	}
	usr1_unblock(mask);
	close(d.intr_pipe[0]);
	close(d.intr_pipe[1]);
	close(sv[0]);
	vm_destroy(&v);
}

/*
 * String PIO through a region, 1-byte elements at port PIO_BASE + 8:
 *   mov $0x1238,%dx; mov $0x2000,%di; mov $8,%cx; cld; rep insb
 *   mov $0x2100,%si; mov $8,%cx; rep outsb
 *   hlt
 */
#define STR_N 8
#define STR_IN 0x2000u
#define STR_OUT 0x2100u
static const uint8_t guest_string[] = {
	0xba, 0x38, 0x12, 0xbf, 0x00, 0x20, 0xb9, 0x08, 0x00, 0xfc, 0xf3, 0x6c,
	0xbe, 0x00, 0x21, 0xb9, 0x08, 0x00, 0xf3, 0x6e, 0xf4,
};

/*
 * rep insb/outsb with a signal while element i waits for its reply. KVM
 * reads ahead all 8 `ins` elements in one go: a signal at element 3 stops
 * that loop at i = 3 (what is done so far must survive in pio_data), one at
 * element 5 stops the resume loop. Each `outs` element is its own access:
 * signals at elements 0 and 4 of it. Every element must be sent exactly
 * once, in order, and land in the right place.
 */
static void test_string_signal(void)
{
	static struct device d;
	struct exits ex = { 0 };
	struct kvm_signal_mask *mask;
	struct vm v;
	int sv[2], halted;

	vm_create(&v, guest_string, sizeof(guest_string), NULL, 0);
	for (int k = 0; k < STR_N; k++)
		v.ram[STR_OUT + k] = (uint8_t)(0x11 + k);
	memset(v.ram + STR_IN, 0, STR_N);
	pair(sv);
	register_all(v.fd, sv[0]);
	mask = usr1_only_in_kvm_run(&v);

	memset(&d, 0, sizeof(d));
	d.vcpu_thread = pthread_self();
	d.signal_cmds = (1u << 3) | (1u << 5) | (1u << (STR_N + 0)) | (1u << (STR_N + 4));
	d.answer_seq = 1;
	if (pipe(d.intr_pipe) < 0)
		die("pipe");
	device_start(&d, sv[1]);
	halted = run_vcpu(&v, 0, &ex, 0, 30, d.intr_pipe[1]);
	check(halted, "guest reached HLT");
	check(ex.intr == 4, "KVM_RUN returned EINTR (KVM_EXIT_INTR) %d times (want 4)", ex.intr);
	check(ex.mmio == 0 && ex.io == 0, "no MMIO/IO exit reached userspace (mmio %d, io %d)",
	      ex.mmio, ex.io);
	usleep(50000);
	device_join(&d);
	check(d.ncmds == 2 * STR_N, "device received %d commands (want %d: each element once)",
	      d.ncmds, 2 * STR_N);
	check(d.lost_signals == 0, "every signal interrupted a waiting KVM_RUN (%d did not)",
	      d.lost_signals);
	for (int k = 0; k < 2 * STR_N && k < d.ncmds; k++) {
		int w = k >= STR_N;
		struct cmd want = mkcmd(w, 1, 1, UD_PIO, 8, w ? 0x11u + (unsigned)(k - STR_N) : 0);
		char got_s[160], want_s[160];

		fmt_cmd(&d.cmds[k], got_s, sizeof(got_s));
		fmt_cmd(&want, want_s, sizeof(want_s));
		check(memcmp(&d.cmds[k], &want, sizeof(want)) == 0, "command %d: %s (want %s)",
		      k, got_s, want_s);
	}
	for (int k = 0; k < STR_N; k++)
		check(v.ram[STR_IN + k] == 0xa0 + k, "rep insb element %d: 0x%02x (want 0x%02x)",
		      k, v.ram[STR_IN + k], 0xa0 + k);
	if (halted) {
		struct kvm_regs r = get_regs(&v, 0);

		check((uint16_t)r.rcx == 0 && (uint16_t)r.rdi == STR_IN + STR_N &&
		      (uint16_t)r.rsi == STR_OUT + STR_N,
		      "cx 0x%x di 0x%x si 0x%x after both loops (want 0, 0x%x, 0x%x)",
		      (unsigned)(uint16_t)r.rcx, (unsigned)(uint16_t)r.rdi,
		      (unsigned)(uint16_t)r.rsi, STR_IN + STR_N, STR_OUT + STR_N);
	}
	usr1_unblock(mask);
	close(d.intr_pipe[0]);
	close(d.intr_pipe[1]);
	close(sv[0]);
	vm_destroy(&v);
}

/*
 *   mov $0xd000,%ax; mov %ax,%ds
 *   mov 0x40,%eax; mov %eax,%ebx      (MMIO read)
 *   movl $0xabcd,0x1000               (posted MMIO write)
 *   movl $0x5678,0x44                 (MMIO write)
 *   hlt
 */
static const uint8_t guest_fallback[] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0x66, 0xa1, 0x40, 0x00, 0x66, 0x89, 0xc3,
	0x66, 0xc7, 0x06, 0x00, 0x10, 0xcd, 0xab, 0x00, 0x00, 0x66, 0xc7, 0x06,
	0x44, 0x00, 0x78, 0x56, 0x00, 0x00, 0xf4,
};

/* O_NONBLOCK on KVM's file: reads fall back to an exit, nothing is sent. */
static void test_nonblock(void)
{
	struct exits ex = { 0 };
	struct cmd c;
	struct vm v;
	int sv[2], n = 0;

	vm_create(&v, guest_fallback, sizeof(guest_fallback), NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		die("fcntl O_NONBLOCK");
	/* only the posted write may go over the fd: no device needed */
	check(run_vcpu(&v, 0, &ex, 0x5a5a5a5a, 30, -1), "guest reached HLT");
	check(ex.mmio == 2 && ex.mmio_addr[0] == MMIO_BASE + 0x40 && !ex.mmio_write[0] &&
	      ex.mmio_addr[1] == MMIO_BASE + 0x44 && ex.mmio_write[1],
	      "the read and the non-posted write fell back to KVM_EXIT_MMIO (%d exits, "
	      "first 0x%" PRIx64 ")", ex.mmio, ex.mmio_addr[0]);
	check((uint32_t)get_regs(&v, 0).rbx == 0x5a5a5a5a,
	      "the read got the value userspace supplied");
	while (recv(sv[1], &c, sizeof(c), MSG_DONTWAIT) == CMD_SIZE) {
		n++;
		check(get64(c.b + 8) == UD_MPOST && get64(c.b + 24) == 0xabcd,
		      "only the posted write was sent over the non-blocking fd");
	}
	check(n == 1, "%d command(s) on the fd (want 1, the posted write)", n);
	close(sv[0]);
	close(sv[1]);
	vm_destroy(&v);
}

/*
 * KVM's fd closed by userspace while registered: still served. Then a
 * device whose end is closed: every access falls back to an exit, and no
 * SIGPIPE reaches this process (it would kill it).
 */
static void test_closed(void)
{
	static struct device d;
	struct exits ex = { 0 };
	struct vm v;
	int sv[2];

	vm_create(&v, guest_fallback, sizeof(guest_fallback), NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	close(sv[0]);
	memset(&d, 0, sizeof(d));
	device_start(&d, sv[1]);
	check(run_vcpu(&v, 0, &ex, 0x5a5a5a5a, 30, -1), "guest reached HLT");
	device_join(&d);
	check(ex.mmio == 0 && d.ncmds == 3 &&
	      (uint32_t)get_regs(&v, 0).rbx == 0x11110040u,
	      "all 3 accesses served over the fd userspace had closed (%d commands, "
	      "%d exits, ebx 0x%08x)", d.ncmds, ex.mmio, (uint32_t)get_regs(&v, 0).rbx);
	vm_destroy(&v);

	memset(&ex, 0, sizeof(ex));
	vm_create(&v, guest_fallback, sizeof(guest_fallback), NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	close(sv[1]);
	check(run_vcpu(&v, 0, &ex, 0x5a5a5a5a, 30, -1), "guest reached HLT (no SIGPIPE, no hang)");
	check(ex.mmio == 3 && ex.mmio_addr[0] == MMIO_BASE + 0x40 && !ex.mmio_write[0] &&
	      ex.mmio_addr[1] == MMIO_POSTED && ex.mmio_write[1] &&
	      (uint32_t)ex.mmio_wdata[1] == 0xabcd &&
	      ex.mmio_addr[2] == MMIO_BASE + 0x44 && (uint32_t)ex.mmio_wdata[2] == 0x5678,
	      "device end closed: read, posted and non-posted write fell back to "
	      "KVM_EXIT_MMIO (%d exits)", ex.mmio);
	check((uint32_t)get_regs(&v, 0).rbx == 0x5a5a5a5a, "the read got userspace's value");
	close(sv[0]);
	vm_destroy(&v);
}

/* A device process killed while the vCPU waits for its reply. */
static void test_killed(void)
{
	struct exits ex = { 0 };
	struct vm v;
	int sv[2], note[2], status;
	double t0;
	pid_t pid;

	vm_create(&v, guest_intr, sizeof(guest_intr), NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	if (pipe(note) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct cmd c;

		close(sv[0]);
		if (recv(sv[1], &c, sizeof(c), 0) == CMD_SIZE &&
		    write(note[1], "c", 1) == 1)
			pause();	/* never answers */
		_exit(0);
	}
	close(sv[1]);
	close(note[1]);
	if (fork() == 0) {	/* the killer: after the command arrived */
		char b;

		close(sv[0]);
		if (read(note[0], &b, 1) == 1) {
			usleep(100000);
			kill(pid, SIGKILL);
		}
		_exit(0);
	}
	close(note[0]);
	t0 = now_s();
	check(run_vcpu(&v, 0, &ex, 0x5a5a5a5a, 30, -1), "guest reached HLT");
	check(now_s() - t0 < 10, "no hang: %.2f s", now_s() - t0);
	check(ex.mmio == 1 && ex.mmio_addr[0] == MMIO_BASE + 0x40 && ex.io == 1,
	      "the read in flight and the next access fell back to exits (mmio %d, io %d)",
	      ex.mmio, ex.io);
	check((uint32_t)get_regs(&v, 0).rbx == 0x5a5a5a5a, "the read got userspace's value");
	while (wait(&status) > 0)
		;
	close(sv[0]);
	vm_destroy(&v);
}

/*
 * Two vCPUs, one MMIO region and one PIO region on the same fd; each
 * vCPU reads its region 300 times and checks the value, which depends on
 * the command: a reply handed to the wrong vCPU stops it with cx != 0.
 *   vcpu0: mov $0xd000,%ax; mov %ax,%ds; mov $300,%cx
 *          1: mov 0x40,%eax; cmp $0x11110040,%eax; jne 2f; dec %cx; jnz 1b
 *          2: hlt
 *   vcpu1: mov $300,%cx; mov $0x1248,%dx
 *          1: in (%dx),%eax; cmp $0x22220018,%eax; jne 2f; dec %cx; jnz 1b
 *          2: hlt
 */
static const uint8_t guest_two0[] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0xb9, 0x2c, 0x01, 0x66, 0xa1, 0x40, 0x00,
	0x66, 0x3d, 0x40, 0x00, 0x11, 0x11, 0x75, 0x03, 0x49, 0x75, 0xf1, 0xf4,
};
static const uint8_t guest_two1[] = {
	0xb9, 0x2c, 0x01, 0xba, 0x48, 0x12, 0x66, 0xed,
	0x66, 0x3d, 0x18, 0x00, 0x22, 0x22, 0x75, 0x03, 0x49, 0x75, 0xf3, 0xf4,
};

struct vcpu_arg {
	struct vm *v;
	int i, halted;
	uint64_t mmio_answer;
	struct exits ex;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_arg *a = arg;

	a->halted = run_vcpu(a->v, a->i, &a->ex, a->mmio_answer, 60, -1);
	return NULL;
}

static void test_two_vcpus(void)
{
	static struct device d;
	struct vcpu_arg a[2];
	pthread_t t[2];
	struct vm v;
	int sv[2];

	vm_create(&v, guest_two0, sizeof(guest_two0), guest_two1, sizeof(guest_two1));
	pair(sv);
	register_all(v.fd, sv[0]);
	memset(&d, 0, sizeof(d));
	d.delay_us = 50;
	device_start(&d, sv[1]);
	for (int i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].v = &v;
		a[i].i = i;
		if (pthread_create(&t[i], NULL, vcpu_thread, &a[i]))
			die("pthread_create");
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		check(a[i].halted, "vcpu%d reached HLT", i);
		check(a[i].ex.mmio == 0 && a[i].ex.io == 0, "vcpu%d: no exits to userspace", i);
		check((uint16_t)get_regs(&v, i).rcx == 0,
		      "vcpu%d: all 300 reads got their own reply (cx %u left)", i,
		      (unsigned)(uint16_t)get_regs(&v, i).rcx);
	}
	device_join(&d);
	check(d.ncmds == 600, "device served %d commands (want 600)", d.ncmds);
	close(sv[0]);
	vm_destroy(&v);
}

/* ---- a region removed while a vCPU waits on its file -------------------- */

/*   mov $0xd000,%ax; mov %ax,%ds; mov 0x40,%eax; mov %eax,%ebx; hlt */
static const uint8_t guest_mmio_read[] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0x66, 0xa1, 0x40, 0x00, 0x66, 0x89, 0xc3, 0xf4,
};
/*   mov $0x1248,%dx; in (%dx),%eax; mov %eax,%ebx; hlt */
static const uint8_t guest_pio_read[] = {
	0xba, 0x48, 0x12, 0x66, 0xed, 0x66, 0x89, 0xc3, 0xf4,
};

struct remover {
	pthread_t thread;
	int vm, rc, done;
	uint64_t addr, size;
	uint32_t flags;
	double secs;
};

static void *remover_main(void *arg)
{
	struct remover *r = arg;
	double t0 = now_s();

	r->rc = set_ioregion(r->vm, r->addr, r->size, 0, -1, -1,
			     r->flags | IOREGION_KVM_DEASSIGN);
	r->secs = now_s() - t0;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* 1 when *flag became non-zero within ms */
static int wait_flag(const int *flag, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return 1;
		usleep(1000);
	}
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}

/*
 * DEASSIGN from another thread while vCPU 0's MMIO read has been sent and
 * its reply is held back by the device (which never sends it when the test
 * passes). With @waiter, vCPU 1 reads the PIO region on the same fd and
 * waits for its turn, and the PIO region is the one removed; without it,
 * the MMIO region is removed under vCPU 0. In both cases DEASSIGN must
 * return at once (not when the device answers), and the access of the
 * removed region must give up and become an ordinary exit. If DEASSIGN
 * hangs, the device answers after 3 s to unstick it and the test fails.
 */
static void remove_while_waiting(int waiter)
{
	static struct device d;
	struct vcpu_arg a[2];
	struct remover rm;
	pthread_t t[2];
	struct vm v;
	int sv[2], sent, done, n = waiter ? 2 : 1;
	const char *what = waiter ? "PIO region (vCPU 1 waits for the file)" :
				    "MMIO region (vCPU 0 waits for its reply)";

	vm_create(&v, guest_mmio_read, sizeof(guest_mmio_read),
		  waiter ? guest_pio_read : NULL, sizeof(guest_pio_read));
	pair(sv);
	register_all(v.fd, sv[0]);
	memset(&d, 0, sizeof(d));
	d.hold_first = 1;
	if (pipe(d.release_pipe) < 0)
		die("pipe");
	device_start(&d, sv[1]);
	for (int i = 0; i < n; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].v = &v;
		a[i].i = i;
		a[i].mmio_answer = 0x5a5a5a5a;
	}
	if (pthread_create(&t[0], NULL, vcpu_thread, &a[0]))
		die("pthread_create");
	sent = 0;
	for (int i = 0; i < 5000 && !sent; i++) {
		sent = __atomic_load_n(&d.ncmds, __ATOMIC_ACQUIRE) >= 1;
		usleep(1000);
	}
	check(sent, "%s: vCPU 0's read reached the device", what);
	if (waiter && pthread_create(&t[1], NULL, vcpu_thread, &a[1]))
		die("pthread_create");
	usleep(200000);		/* vCPU 0 blocks on the reply, vCPU 1 on the file */

	memset(&rm, 0, sizeof(rm));
	rm.vm = v.fd;
	rm.addr = waiter ? PIO_BASE : MMIO_BASE;
	rm.size = waiter ? 0x20 : 0x100;
	rm.flags = waiter ? IOREGION_KVM_PIO : 0;
	if (pthread_create(&rm.thread, NULL, remover_main, &rm))
		die("pthread_create");
	done = wait_flag(&rm.done, 3000);
	check(done, "%s: DEASSIGN returned while the reply was held back (%s)", what,
	      done ? "yes" : "no: still blocked after 3 s");
	if (done && waiter)
		pthread_join(t[1], NULL);	/* before vCPU 0's reply comes */
	/* with a waiter vCPU 0's region stays: its reply is still wanted */
	if (write(d.release_pipe[1], done && !waiter ? "d" : "a", 1) != 1)
		die("write release pipe");
	pthread_join(rm.thread, NULL);
	check(rm.rc == 0, "%s: DEASSIGN: %s (want 0), %.2f s", what, errname(rm.rc), rm.secs);
	pthread_join(t[0], NULL);
	if (!done && waiter)
		pthread_join(t[1], NULL);
	if (waiter)
		check(a[1].halted && a[1].ex.io == 1 && a[1].ex.mmio == 0 &&
		      (uint32_t)get_regs(&v, 1).rbx == 0xeeeeeeeeu,
		      "%s: vCPU 1's read gave up and fell back to KVM_EXIT_IO (halted %d, "
		      "io %d, ebx 0x%08x)", what, a[1].halted, a[1].ex.io,
		      (uint32_t)get_regs(&v, 1).rbx);
	check(a[0].halted, "%s: vCPU 0 reached HLT", what);
	if (waiter)
		check(a[0].ex.mmio == 0 && (uint32_t)get_regs(&v, 0).rbx == 0x11110040u,
		      "%s: vCPU 0 (other region) got its reply after all: %d exits, "
		      "ebx 0x%08x (want 0x11110040), %d EINTR", what, a[0].ex.mmio,
		      (uint32_t)get_regs(&v, 0).rbx, a[0].ex.intr);
	else
		check(a[0].ex.mmio == 1 && a[0].ex.mmio_addr[0] == MMIO_BASE + 0x40 &&
		      !a[0].ex.mmio_write[0] && a[0].ex.intr == 0 &&
		      (uint32_t)get_regs(&v, 0).rbx == 0x5a5a5a5au,
		      "%s: the read gave up and fell back to KVM_EXIT_MMIO with userspace's "
		      "value (%d exits, %d EINTR, ebx 0x%08x)", what, a[0].ex.mmio,
		      a[0].ex.intr, (uint32_t)get_regs(&v, 0).rbx);
	device_join(&d);
	check(d.ncmds == 1, "%s: device received %d command(s) (want 1)", what, d.ncmds);
	close(d.release_pipe[0]);
	close(d.release_pipe[1]);
	close(sv[0]);
	vm_destroy(&v);
}

static void test_remove_waiting(void)
{
	remove_while_waiting(0);
	remove_while_waiting(1);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "args", test_args },
	{ "release", test_release },
	{ "guest", test_guest },
	{ "signal", test_signal },
	{ "string-signal", test_string_signal },
	{ "nonblock", test_nonblock },
	{ "closed", test_closed },
	{ "killed", test_killed },
	{ "two-vcpus", test_two_vcpus },
	{ "remove-waiting", test_remove_waiting },
};
#define NTESTS (sizeof(tests) / sizeof(tests[0]))

int main(int argc, char **argv)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	struct ioregion_kvm_ioregion probe;
	struct sigaction sa;
	int vm, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < NTESTS; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (!dev || !*dev)
		dev = "/dev/kvm";
	kvm_dev_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm_dev_fd < 0) {
		printf("ioregion-abi: SKIP: cannot open %s: %s\n", dev, strerror(errno));
		return EXIT_SKIP;
	}
	vm = ioctl(kvm_dev_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	memset(&probe, 0, sizeof(probe));
	probe.read_fd = probe.write_fd = -2;
	rc = ioctl(vm, IOREGION_KVM_SET_IOREGION, &probe) < 0 ? errno : 0;
	if (rc == ENOTTY) {
		enum ioregion_wire_dialect d;
		int lib = ioregion_kvm_probe_dialect(vm, &d);

		close(vm);
		if (lib != 0) {
			printf("ioregion-abi: FAIL: no KVM_SET_IOREGION (ENOTTY), but "
			       "ioregion_kvm_probe_dialect() = %d (want 0, absent)\n", lib);
			return EXIT_FAILURE;
		}
		printf("ioregion-abi: SKIP: this kernel has no KVM_SET_IOREGION (ENOTTY): "
		       "stock kvm modules, not the kernel/ patch (the library's probe "
		       "agrees: absent)\n");
		return EXIT_SKIP;
	}
	close(vm);
	if (rc != EINVAL) {
		printf("ioregion-abi: FAIL: KVM_SET_IOREGION probe gave %s, want EINVAL\n",
		       strerror(rc));
		return EXIT_FAILURE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* interrupts KVM_RUN, no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);	/* a stray SIGPIPE must kill: shows up */

	for (size_t i = 0; i < NTESTS; i++) {
		int run = argc == 1;

		for (int j = 1; j < argc; j++)
			run |= strcmp(argv[j], tests[i].name) == 0;
		if (!run)
			continue;
		cur_test = tests[i].name;
		tests[i].fn();
	}
	printf("ioregion-abi: %s: %d checks, %d failed\n", failures ? "FAIL" : "PASS",
	       checks, failures);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
