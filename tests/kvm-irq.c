/* SPDX-License-Identifier: MIT */
/*
 * kvm-irq: interrupt lines on a real VM, both halves of irq.h.
 *
 * The VMM's half: a VM with the in-kernel irqchip (KVM_CREATE_IRQCHIP),
 * ioregion_irqfd_assign() for GSI 4 (an edge line: the ISA IRQ of a
 * 16550) and GSI 10 (a level line with a resample eventfd), and the errors
 * KVM gives without an irqchip. The device's half: an ioregion_irq on
 * each trigger fd, in a context this program dispatches (as a device
 * process would, only in the same thread: every step is deterministic).
 *
 * The guest, 16-bit real mode, programs both 8259s (vectors 0x20/0x28),
 * unmasks IRQ 2 (cascade), 4 and 10, makes IRQ 10 level-triggered
 * (ELCR), and loops: cli, report its counters (edge, level, stray
 * interrupts) with an `out` to port 0x500, sti, hlt. The level handler
 * writes port 0x502 (the device's "acknowledge" register) before its EOIs.
 * The host raises a line at a report and the next report must show it:
 *  1. edge: 12 interrupts from raise, pulse and set, one each (each kind
 *     writes the eventfd once: the line's counters say so);
 *  2. level: the device has 4 events pending; one raise, then the line is
 *     re-asserted at each EOI (heard on the resample fd, which makes
 *     ioregion_ctx_get_fd() readable) while the device still has events,
 *     and lowered by the last acknowledge: 4 interrupts, 4 writes;
 *  3. quiet: after a while with the guest in hlt, the slave PIC's IRR has
 *     no IRQ 10 and the device wrote nothing more;
 *  4. a level pulse: one interrupt, not re-asserted at its EOI;
 *  5. a last edge wakes the guest for the final report.
 * Then the irqfds are removed (KVM_IRQFD of the same eventfd is refused
 * before and accepted after).
 *
 * Exit status: 0 pass, 1 fail, 77 no usable KVM device (skip).
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
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/irq.h"
#include "ioregion/server.h"

#define EXIT_SKIP 77
#define RAM_SIZE 0x10000u
#define CODE_ADDR 0x1000u
#define PORT_REPORT 0x500
#define PORT_ACK 0x502
#define GSI_EDGE 4
#define GSI_LEVEL 10
#define N_EDGE 12
#define N_LEVEL 4
#define QUIET_S 0.5
#define DEADLINE_S 90.0		/* nested KVM under TCG: generous */

/*
 * The guest (as --32, .code16), loaded at 0000:1000; its counters are the
 * bytes at 0x600 (edge), 0x601 (level), 0x602 (stray: any other vector
 * of either PIC), reported together as one 32-bit out.
 */
static const uint8_t guest_code[] = {
	/* start: */
	0xfa,                           /* 00: cli */
	0x66, 0x31, 0xc0,               /* 01: xor %eax,%eax */
	0x8e, 0xd8,                     /* 04: mov %ax,%ds */
	0x8e, 0xd0,                     /* 06: mov %ax,%ss */
	0xbc, 0x00, 0x80,               /* 08: mov $0x8000,%sp */
	0xbf, 0x80, 0x00,               /* 0b: mov $0x80,%di */
	0xb9, 0x10, 0x00,               /* 0e: mov $0x10,%cx */
	0xc7, 0x05, 0x83, 0x10,         /* 11: movw $0x1083,(%di) */
	0x89, 0x45, 0x02,               /* 15: mov %ax,0x2(%di) */
	0x83, 0xc7, 0x04,               /* 18: add $0x4,%di */
	0xe2, 0xf4,                     /* 1b: loop 11 */
	0xc7, 0x06, 0x90, 0x00, 0x65, 0x10, /* 1d: movw $0x1065,0x90 */
	0xc7, 0x06, 0xa8, 0x00, 0x70, 0x10, /* 23: movw $0x1070,0xa8 */
	0x66, 0xa3, 0x00, 0x06,         /* 29: mov %eax,0x600 */
	0xb0, 0x11,                     /* 2d: mov $0x11,%al */
	0xe6, 0x20,                     /* 2f: out %al,$0x20 */
	0xe6, 0xa0,                     /* 31: out %al,$0xa0 */
	0xb0, 0x20,                     /* 33: mov $0x20,%al */
	0xe6, 0x21,                     /* 35: out %al,$0x21 */
	0xb0, 0x28,                     /* 37: mov $0x28,%al */
	0xe6, 0xa1,                     /* 39: out %al,$0xa1 */
	0xb0, 0x04,                     /* 3b: mov $0x4,%al */
	0xe6, 0x21,                     /* 3d: out %al,$0x21 */
	0xb0, 0x02,                     /* 3f: mov $0x2,%al */
	0xe6, 0xa1,                     /* 41: out %al,$0xa1 */
	0xb0, 0x01,                     /* 43: mov $0x1,%al */
	0xe6, 0x21,                     /* 45: out %al,$0x21 */
	0xe6, 0xa1,                     /* 47: out %al,$0xa1 */
	0xb0, 0xeb,                     /* 49: mov $0xeb,%al */
	0xe6, 0x21,                     /* 4b: out %al,$0x21 */
	0xb0, 0xfb,                     /* 4d: mov $0xfb,%al */
	0xe6, 0xa1,                     /* 4f: out %al,$0xa1 */
	0xba, 0xd1, 0x04,               /* 51: mov $0x4d1,%dx */
	0xb0, 0x04,                     /* 54: mov $0x4,%al */
	0xee,                           /* 56: out %al,(%dx) */
	/* report: */
	0xfa,                           /* 57: cli */
	0xba, 0x00, 0x05,               /* 58: mov $0x500,%dx */
	0x66, 0xa1, 0x00, 0x06,         /* 5b: mov 0x600,%eax */
	0x66, 0xef,                     /* 5f: out %eax,(%dx) */
	0xfb,                           /* 61: sti */
	0xf4,                           /* 62: hlt */
	0xeb, 0xf2,                     /* 63: jmp 57 */
	/* edge_isr: */
	0x50,                           /* 65: push %ax */
	0xfe, 0x06, 0x00, 0x06,         /* 66: incb 0x600 */
	0xb0, 0x20,                     /* 6a: mov $0x20,%al */
	0xe6, 0x20,                     /* 6c: out %al,$0x20 */
	0x58,                           /* 6e: pop %ax */
	0xcf,                           /* 6f: iret */
	/* level_isr: */
	0x50,                           /* 70: push %ax */
	0x52,                           /* 71: push %dx */
	0xba, 0x02, 0x05,               /* 72: mov $0x502,%dx */
	0xee,                           /* 75: out %al,(%dx) */
	0xfe, 0x06, 0x01, 0x06,         /* 76: incb 0x601 */
	0xb0, 0x20,                     /* 7a: mov $0x20,%al */
	0xe6, 0xa0,                     /* 7c: out %al,$0xa0 */
	0xe6, 0x20,                     /* 7e: out %al,$0x20 */
	0x5a,                           /* 80: pop %dx */
	0x58,                           /* 81: pop %ax */
	0xcf,                           /* 82: iret */
	/* stray: */
	0xfe, 0x06, 0x02, 0x06,         /* 83: incb 0x602 */
	0xcf,                           /* 87: iret */

};

static int failures, checks;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
check(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("kvm-irq: check %2d %s: ", checks, ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
die(const char *what)
{
	printf("kvm-irq: FAIL: %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
on_alarm(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return EINTR */
}

static struct ioregion_irq_stats
stats(struct ioregion_irq *irq)
{
	struct ioregion_irq_stats st;

	memset(&st, 0, sizeof(st));
	if (ioregion_irq_get_stats(irq, &st) < 0)
		check(0, "ioregion_irq_get_stats");
	return st;
}

static bool
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* KVM_IRQFD of @fd for @gsi, as is: 0 or -errno. */
static int
raw_irqfd(int vm, int fd, uint32_t gsi)
{
	struct kvm_irqfd req = { .fd = (uint32_t)fd, .gsi = gsi };

	return ioctl(vm, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

/* The errors of the VMM's half where KVM has its say. */
static void
vmm_errors(int kvm)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	int t = 7, r = 7, rc;

	if (vm < 0)
		die("KVM_CREATE_VM (no irqchip)");
	rc = ioregion_irqfd_assign(vm, GSI_EDGE, 0, &t, &r);
	check(rc == -EINVAL && t == -1 && r == -1,
	      "edge line without an irqchip: %d (want %d), fds %d %d", rc,
	      -EINVAL, t, r);
	rc = ioregion_irqfd_assign(vm, GSI_LEVEL, IOREGION_IRQ_LEVEL, &t, &r);
	check(rc == -EINVAL && t == -1 && r == -1,
	      "level line without an irqchip: %d (want %d)", rc, -EINVAL);
	rc = ioregion_irqfd_assign(kvm, GSI_EDGE, 0, &t, NULL);
	check(rc == -EBADF, "the /dev/kvm fd as a VM fd: %d (want %d)", rc, -EBADF);
	close(vm);
}

enum phase { P_EDGE, P_LEVEL, P_QUIET, P_PULSE, P_FINAL, P_DONE };

struct host {
	int vm;
	struct ioregion_ctx *ctx;
	struct ioregion_irq *edge, *level;
	int ctx_fd;
	enum phase phase;
	unsigned edges;		/* edges raised */
	unsigned acks;		/* level interrupts the guest acknowledged */
	unsigned pending;	/* the device's events behind the level line */
	double quiet_since;
};

/* One edge, made a different way each time; each writes once. */
static void
raise_edge(struct host *h)
{
	uint64_t before = stats(h->edge).triggers;
	int rc;

	switch (h->edges % 3) {
	case 0:
		rc = ioregion_irq_raise(h->edge);
		if (rc == 0)
			rc = ioregion_irq_lower(h->edge);
		break;
	case 1:
		rc = ioregion_irq_pulse(h->edge);
		break;
	default:
		rc = ioregion_irq_set(h->edge, true);
		if (rc == 0)
			rc = ioregion_irq_set(h->edge, true);	/* no edge */
		if (rc == 0)
			rc = ioregion_irq_set(h->edge, false);
		break;
	}
	h->edges++;
	if (rc != 0 || stats(h->edge).triggers != before + 1)
		check(0, "edge %u: rc %d, %" PRIu64 " writes (want 1)", h->edges,
		      rc, stats(h->edge).triggers - before);
}

/* The guest's report: returns false to stop. */
static bool
on_report(struct host *h, uint32_t v)
{
	unsigned edge = v & 0xff, level = (v >> 8) & 0xff, stray = (v >> 16) & 0xff;
	struct ioregion_irq_stats st;

	if (stray) {
		check(0, "%u stray interrupts (spurious IRQ 7/15)", stray);
		return false;
	}
	switch (h->phase) {
	case P_EDGE:
		if (edge != h->edges || level != 0) {
			check(0, "edge phase: guest counted %u edge, %u level (want %u, 0)",
			      edge, level, h->edges);
			return false;
		}
		if (h->edges < N_EDGE) {
			raise_edge(h);
			return true;
		}
		check(1, "%u edge interrupts, one eventfd write each (%" PRIu64 ")",
		      edge, stats(h->edge).triggers);
		h->phase = P_LEVEL;
		h->pending = N_LEVEL;
		if (ioregion_irq_raise(h->level) != 0)
			check(0, "raise the level line");
		return true;
	case P_LEVEL:
		/* After a level interrupt: its EOI signalled the resample fd. */
		if (!readable(h->ctx_fd)) {
			check(0, "ioregion_ctx_get_fd() not readable after EOI %u",
			      h->acks);
			return false;
		}
		ioregion_ctx_dispatch(h->ctx);
		if (level != h->acks || edge != N_EDGE) {
			check(0, "level phase: guest counted %u level (acknowledged %u), %u edge",
			      level, h->acks, edge);
			return false;
		}
		if (h->acks < N_LEVEL)
			return true;
		st = stats(h->level);
		check(level == N_LEVEL && st.triggers == N_LEVEL &&
		      st.resamples == N_LEVEL && st.reasserts == N_LEVEL - 1 &&
		      ioregion_irq_is_asserted(h->level) == 0,
		      "level line: %u interrupts; %" PRIu64 " writes, %" PRIu64
		      " EOIs heard, %" PRIu64 " re-asserted (want %u, %u, %u, %u)",
		      level, st.triggers, st.resamples, st.reasserts, N_LEVEL,
		      N_LEVEL, N_LEVEL, N_LEVEL - 1);
		h->phase = P_QUIET;
		h->quiet_since = now_s();
		return true;
	case P_PULSE:
		ioregion_ctx_dispatch(h->ctx);
		st = stats(h->level);
		check(level == N_LEVEL + 1 && st.triggers == N_LEVEL + 1 &&
		      st.resamples == N_LEVEL + 1 && st.reasserts == N_LEVEL - 1,
		      "level pulse: %u interrupts in all; %" PRIu64 " writes, %"
		      PRIu64 " EOIs, %" PRIu64 " re-asserted (want %u, %u, %u, %u)",
		      level, st.triggers, st.resamples, st.reasserts, N_LEVEL + 1,
		      N_LEVEL + 1, N_LEVEL + 1, N_LEVEL - 1);
		h->phase = P_FINAL;
		raise_edge(h);
		return true;
	case P_FINAL:
		check(edge == N_EDGE + 1 && level == N_LEVEL + 1,
		      "final report: %u edge, %u level (want %u, %u)", edge, level,
		      N_EDGE + 1, N_LEVEL + 1);
		h->phase = P_DONE;
		return false;
	default:
		check(0, "report 0x%08" PRIx32 " in the quiet phase: an interrupt after the line was lowered", v);
		return false;
	}
}

/* The level handler's acknowledge: one event done. */
static bool
on_ack(struct host *h)
{
	if (h->phase != P_LEVEL && h->phase != P_PULSE) {
		check(0, "acknowledge in phase %d", (int)h->phase);
		return false;
	}
	h->acks++;
	if (h->pending)
		h->pending--;
	if (ioregion_irq_set(h->level, h->pending > 0) != 0)
		check(0, "ioregion_irq_set from the acknowledge");
	return true;
}

/* The timer's tick while the guest sleeps in hlt. */
static void
on_tick(struct host *h)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_SLAVE };
	struct ioregion_irq_stats st;

	if (h->phase != P_QUIET || now_s() - h->quiet_since < QUIET_S)
		return;
	ioregion_ctx_dispatch(h->ctx);
	st = stats(h->level);
	if (ioctl(h->vm, KVM_GET_IRQCHIP, &chip) < 0)
		die("KVM_GET_IRQCHIP");
	check(!(chip.chip.pic.irr & 0x04) && (chip.chip.pic.elcr & 0x04) &&
	      !(chip.chip.pic.imr & 0x04),
	      "quiet %.1f s after the last EOI: slave PIC irr 0x%02x imr 0x%02x elcr 0x%02x (IRQ 10 not pending, unmasked, level)",
	      QUIET_S, chip.chip.pic.irr, chip.chip.pic.imr, chip.chip.pic.elcr);
	check(st.triggers == N_LEVEL && st.resamples == N_LEVEL &&
	      !readable(h->ctx_fd),
	      "quiet: no write since, no EOI to hear (%" PRIu64 " writes, %" PRIu64 " EOIs)",
	      st.triggers, st.resamples);
	h->phase = P_PULSE;
	if (ioregion_irq_pulse(h->level) != 0)
		check(0, "pulse the level line");
}

int
main(void)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	struct kvm_userspace_memory_region region;
	struct itimerval tick = { { 0, 20000 }, { 0, 20000 } };
	struct host h = { .phase = P_EDGE };
	int kvm, vcpu, runsz, et, lt, lr, rc;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct sigaction sa;
	struct kvm_run *run;
	double deadline;
	uint8_t *ram;

	if (!dev || !*dev)
		dev = "/dev/kvm";
	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO ||
		    errno == EACCES || errno == EPERM) {
			printf("kvm-irq: SKIP: cannot open %s: %s\n", dev,
			       strerror(errno));
			return EXIT_SKIP;
		}
		die(dev);
	}
	vmm_errors(kvm);

	h.vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (h.vm < 0)
		die("KVM_CREATE_VM");
	if (ioctl(h.vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		die("KVM_SET_TSS_ADDR");
	if (ioctl(h.vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM");
	memset(ram, 0xf4, RAM_SIZE);	/* hlt everywhere: a stray jump stops */
	memset(ram, 0, 0x1000);		/* IVT, counters */
	memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(h.vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");

	/* The VMM's half: two lines. */
	rc = ioregion_irqfd_assign(h.vm, GSI_EDGE, 0, &et, NULL);
	check(rc == 0 && et >= 0, "ioregion_irqfd_assign(GSI %d, edge): %d",
	      GSI_EDGE, rc);
	rc = ioregion_irqfd_assign(h.vm, GSI_LEVEL, IOREGION_IRQ_LEVEL, &lt, &lr);
	check(rc == 0 && lt >= 0 && lr >= 0,
	      "ioregion_irqfd_assign(GSI %d, level): %d", GSI_LEVEL, rc);
	if (failures)
		return EXIT_FAILURE;
	rc = raw_irqfd(h.vm, et, GSI_EDGE);
	check(rc == -EBUSY, "KVM_IRQFD of the same eventfd again: %d (want %d, registered)",
	      rc, -EBUSY);

	/* The device's half, on the same fds (a device process would get
	 * them over its control socket). */
	if (ioregion_ctx_new(NULL, &h.ctx) < 0 ||
	    ioregion_irq_new(h.ctx, et, -1, &h.edge) < 0 ||
	    ioregion_irq_new(h.ctx, lt, lr, &h.level) < 0)
		die("device context and lines");
	h.ctx_fd = ioregion_ctx_get_fd(h.ctx);
	if (h.ctx_fd < 0)
		die("ioregion_ctx_get_fd");

	vcpu = ioctl(h.vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (runsz < (int)sizeof(*run))
		die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");

	/* A tick every 20 ms: KVM_RUN returns EINTR while the guest sleeps. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0 ||
	    setitimer(ITIMER_REAL, &tick, NULL) < 0)
		die("timer");
	deadline = now_s() + DEADLINE_S;

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno != EINTR)
				die("KVM_RUN");
			if (now_s() > deadline) {
				check(0, "no progress within %.0f s (phase %d: %u edges, %u acknowledges)",
				      DEADLINE_S, (int)h.phase, h.edges, h.acks);
				break;
			}
			on_tick(&h);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO &&
		    run->io.direction == KVM_EXIT_IO_OUT && run->io.count == 1) {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			uint32_t v = 0;

			memcpy(&v, data, run->io.size < 4 ? run->io.size : 4);
			if (run->io.port == PORT_REPORT && run->io.size == 4) {
				if (!on_report(&h, v))
					break;
				continue;
			}
			if (run->io.port == PORT_ACK && run->io.size == 1) {
				if (!on_ack(&h))
					break;
				continue;
			}
		}
		if (run->exit_reason == KVM_EXIT_IO)
			check(0, "unexpected port I/O: %s port 0x%x size %u",
			      run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			      run->io.port, run->io.size);
		else
			check(0, "unexpected exit %" PRIu32, run->exit_reason);
		break;
	}
	setitimer(ITIMER_REAL, &(struct itimerval){ { 0, 0 }, { 0, 0 } }, NULL);
	check(h.phase == P_DONE, "all phases done");

	rc = ioregion_irqfd_deassign(h.vm, GSI_EDGE, et);
	check(rc == 0, "ioregion_irqfd_deassign(GSI %d): %d", GSI_EDGE, rc);
	rc = ioregion_irqfd_deassign(h.vm, GSI_LEVEL, lt);
	check(rc == 0, "ioregion_irqfd_deassign(GSI %d): %d", GSI_LEVEL, rc);
	rc = raw_irqfd(h.vm, et, GSI_EDGE);
	check(rc == 0, "KVM_IRQFD of the removed eventfd: %d (want 0, free again)", rc);
	rc = ioregion_irqfd_deassign(h.vm, GSI_EDGE, h.ctx_fd);
	check(rc == -EINVAL, "deassign with an epoll fd: %d (want %d)", rc, -EINVAL);

	h.ctx = ioregion_ctx_unref(h.ctx);
	close(et);
	close(lt);
	close(lr);
	close(vcpu);
	close(h.vm);
	close(kvm);
	printf("kvm-irq: %s: %d checks, %d failed\n", failures ? "FAIL" : "PASS",
	       checks, failures);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
