/* SPDX-License-Identifier: MIT */
/*
 * kvm-smoke: a real KVM guest doing port I/O and MMIO.
 *
 * Creates a VM with 64 KiB of RAM at guest-physical 0 and one vCPU in real
 * mode, runs a small 16-bit guest (below) and checks that every exit arrives
 * as KVM_EXIT_IO / KVM_EXIT_MMIO with the exact port or address, size,
 * direction and data, then KVM_EXIT_HLT with the last value read still in
 * EAX. For the guest's reads (in, MMIO loads) the test supplies the data and
 * the guest writes it back out, so a lost or truncated read shows up.
 *
 * Exit status: 0 all checks passed, 1 a check failed, 77 no usable KVM
 * device (skip). Options:
 *   --expect-wrong  expect a wrong value for the first exit (must then FAIL;
 *                   used by the VM runner's self-test)
 * Environment:
 *   IOREGION_KVM_DEV  KVM device path (default /dev/kvm)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXIT_SKIP 77
#define RAM_SIZE 0x10000u
#define CODE_ADDR 0x1000u
#define MMIO_BASE 0xd0000u /* ds = 0xd000: above RAM, unbacked */
#define RUN_TIMEOUT_S 30

/*
 * The guest, 16-bit real mode, loaded at 0000:1000 (as --32, .code16):
 *   0: ba 30 12             mov    $0x1230,%dx
 *   3: b0 11                mov    $0x11,%al
 *   5: ee                   out    %al,(%dx)
 *   6: ba 32 12             mov    $0x1232,%dx
 *   9: b8 33 22             mov    $0x2233,%ax
 *   c: ef                   out    %ax,(%dx)
 *   d: ba 34 12             mov    $0x1234,%dx
 *  10: 66 b8 77 66 55 44    mov    $0x44556677,%eax
 *  16: 66 ef                out    %eax,(%dx)
 *  18: ba 40 12             mov    $0x1240,%dx
 *  1b: ec                   in     (%dx),%al
 *  1c: e6 80                out    %al,$0x80
 *  1e: ba 42 12             mov    $0x1242,%dx
 *  21: ed                   in     (%dx),%ax
 *  22: ba 50 12             mov    $0x1250,%dx
 *  25: ef                   out    %ax,(%dx)
 *  26: ba 44 12             mov    $0x1244,%dx
 *  29: 66 ed                in     (%dx),%eax
 *  2b: ba 54 12             mov    $0x1254,%dx
 *  2e: 66 ef                out    %eax,(%dx)
 *  30: b8 00 d0             mov    $0xd000,%ax
 *  33: 8e d8                mov    %ax,%ds
 *  35: c6 06 10 00 a1       movb   $0xa1,0x10
 *  3a: c7 06 20 00 c3 b2    movw   $0xb2c3,0x20
 *  40: 66 c7 06 30 00 07 f6 movl   $0xd4e5f607,0x30
 *  47: e5 d4
 *  49: a0 40 00             mov    0x40,%al
 *  4c: a2 41 00             mov    %al,0x41
 *  4f: a1 42 00             mov    0x42,%ax
 *  52: a3 44 00             mov    %ax,0x44
 *  55: 66 a1 48 00          mov    0x48,%eax
 *  59: 66 a3 4c 00          mov    %eax,0x4c
 *  5d: f4                   hlt
 */
static const uint8_t guest_code[] = {
	0xba, 0x30, 0x12, 0xb0, 0x11, 0xee,
	0xba, 0x32, 0x12, 0xb8, 0x33, 0x22, 0xef,
	0xba, 0x34, 0x12, 0x66, 0xb8, 0x77, 0x66, 0x55, 0x44, 0x66, 0xef,
	0xba, 0x40, 0x12, 0xec, 0xe6, 0x80,
	0xba, 0x42, 0x12, 0xed, 0xba, 0x50, 0x12, 0xef,
	0xba, 0x44, 0x12, 0x66, 0xed, 0xba, 0x54, 0x12, 0x66, 0xef,
	0xb8, 0x00, 0xd0, 0x8e, 0xd8,
	0xc6, 0x06, 0x10, 0x00, 0xa1,
	0xc7, 0x06, 0x20, 0x00, 0xc3, 0xb2,
	0x66, 0xc7, 0x06, 0x30, 0x00, 0x07, 0xf6, 0xe5, 0xd4,
	0xa0, 0x40, 0x00, 0xa2, 0x41, 0x00,
	0xa1, 0x42, 0x00, 0xa3, 0x44, 0x00,
	0x66, 0xa1, 0x48, 0x00, 0x66, 0xa3, 0x4c, 0x00,
	0xf4,
};

enum kind { IO, MMIO };

struct step {
	enum kind kind;
	int write;	/* 1: guest writes (out / store); 0: guest reads */
	uint64_t addr;	/* port or guest-physical address */
	unsigned size;	/* bytes */
	uint32_t value; /* expected (write) or supplied (read) */
};

/* Reads supply a value; the step after each read expects it echoed back. */
static struct step steps[] = {
	{ IO, 1, 0x1230, 1, 0x11 },
	{ IO, 1, 0x1232, 2, 0x2233 },
	{ IO, 1, 0x1234, 4, 0x44556677 },
	{ IO, 0, 0x1240, 1, 0x5a },
	{ IO, 1, 0x0080, 1, 0x5a },
	{ IO, 0, 0x1242, 2, 0xbeef },
	{ IO, 1, 0x1250, 2, 0xbeef },
	{ IO, 0, 0x1244, 4, 0xcafef00d },
	{ IO, 1, 0x1254, 4, 0xcafef00d },
	{ MMIO, 1, MMIO_BASE + 0x10, 1, 0xa1 },
	{ MMIO, 1, MMIO_BASE + 0x20, 2, 0xb2c3 },
	{ MMIO, 1, MMIO_BASE + 0x30, 4, 0xd4e5f607 },
	{ MMIO, 0, MMIO_BASE + 0x40, 1, 0x3c },
	{ MMIO, 1, MMIO_BASE + 0x41, 1, 0x3c },
	{ MMIO, 0, MMIO_BASE + 0x42, 2, 0x8e71 },
	{ MMIO, 1, MMIO_BASE + 0x44, 2, 0x8e71 },
	{ MMIO, 0, MMIO_BASE + 0x48, 4, 0x8badf00d },
	{ MMIO, 1, MMIO_BASE + 0x4c, 4, 0x8badf00d },
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static int failures;
static int checks;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("kvm-smoke: check %2d %s: ", checks, ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void on_alarm(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN with EINTR */
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_INTR: return "KVM_EXIT_INTR";
	default: return "other";
	}
}

static const char *step_name(const struct step *s)
{
	if (s->kind == IO)
		return s->write ? "io out" : "io in";
	return s->write ? "mmio store" : "mmio load";
}

static uint32_t get_le(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size && i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void die(const char *what)
{
	printf("kvm-smoke: FAIL: %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct sigaction sa;
	struct kvm_run *run;
	int kvm, vm, vcpu, api, runsz;
	size_t next = 0;
	uint8_t *ram;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--expect-wrong") == 0) {
			steps[0].value ^= 0xff; /* the guest really sends 0x11 */
			printf("kvm-smoke: --expect-wrong: expecting 0x%" PRIx32
			       " for the first out, which must FAIL\n",
			       steps[0].value);
		} else {
			fprintf(stderr, "usage: %s [--expect-wrong]\n", argv[0]);
			return EXIT_FAILURE;
		}
	}
	if (!dev || !*dev)
		dev = "/dev/kvm";

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO ||
		    errno == EACCES || errno == EPERM) {
			printf("kvm-smoke: SKIP: cannot open %s: %s\n", dev,
			       strerror(errno));
			return EXIT_SKIP;
		}
		die(dev);
	}
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	check(api == KVM_API_VERSION, "KVM_GET_API_VERSION = %d (want %d)", api,
	      KVM_API_VERSION);
	if (api != KVM_API_VERSION)
		return EXIT_FAILURE;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	/* VMX without unrestricted guest needs a TSS for real mode; harmless on SVM. */
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		die("KVM_SET_TSS_ADDR");

	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM");
	memset(ram, 0xf4, RAM_SIZE); /* hlt everywhere: a stray jump stops */
	memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
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

	/* Bound every KVM_RUN: SIGALRM without SA_RESTART makes it return EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		die("sigaction");
	alarm(RUN_TIMEOUT_S);

	for (;;) {
		const struct step *s;

		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR) {
				check(0, "guest still running after %d s (at step %zu of %zu)",
				      RUN_TIMEOUT_S, next + 1, NSTEPS);
				break;
			}
			die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			check(next == NSTEPS, "KVM_EXIT_HLT after %zu of %zu expected exits",
			      next, NSTEPS);
			if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
				die("KVM_GET_REGS");
			check(regs.rip == CODE_ADDR + sizeof(guest_code) &&
			      (uint32_t)regs.rax == steps[NSTEPS - 1].value,
			      "at HLT rip=0x%llx eax=0x%08" PRIx32
			      " (want rip=0x%zx eax=0x%08" PRIx32 ")",
			      (unsigned long long)regs.rip, (uint32_t)regs.rax,
			      CODE_ADDR + sizeof(guest_code), steps[NSTEPS - 1].value);
			break;
		}
		if (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO) {
			check(0, "unexpected exit %s (%" PRIu32 ") at step %zu; hw reason 0x%llx",
			      exit_name(run->exit_reason), run->exit_reason, next + 1,
			      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		}
		if (next == NSTEPS) {
			check(0, "extra %s after the last expected exit",
			      exit_name(run->exit_reason));
			break;
		}
		s = &steps[next++];
		if (run->exit_reason == KVM_EXIT_IO) {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			int wr = run->io.direction == KVM_EXIT_IO_OUT;
			uint32_t got = wr ? get_le(data, run->io.size) : 0;

			if (!wr)
				put_le(data, run->io.size, s->value);
			check(s->kind == IO && s->write == wr && s->addr == run->io.port &&
			      s->size == run->io.size && run->io.count == 1 &&
			      (!wr || got == s->value),
			      "KVM_EXIT_IO %s port 0x%04x size %u count %u data 0x%0*" PRIx32
			      " (want %s 0x%04" PRIx64 " size %u data 0x%0*" PRIx32 ")",
			      wr ? "out" : "in ", run->io.port, run->io.size,
			      run->io.count, (int)run->io.size * 2,
			      wr ? got : s->value, step_name(s), s->addr, s->size, (int)s->size * 2, s->value);
		} else {
			int wr = run->mmio.is_write;
			uint32_t got = wr ? get_le(run->mmio.data, run->mmio.len) : 0;

			if (!wr)
				put_le(run->mmio.data, run->mmio.len, s->value);
			check(s->kind == MMIO && s->write == wr && s->addr == run->mmio.phys_addr &&
			      s->size == run->mmio.len && (!wr || got == s->value),
			      "KVM_EXIT_MMIO %s addr 0x%05llx len %u data 0x%0*" PRIx32
			      " (want %s 0x%05" PRIx64 " len %u data 0x%0*" PRIx32 ")",
			      wr ? "store" : "load ", (unsigned long long)run->mmio.phys_addr,
			      run->mmio.len, (int)run->mmio.len * 2, wr ? got : s->value,
			      step_name(s), s->addr,
			      s->size, (int)s->size * 2, s->value);
		}
	}
	alarm(0);

	printf("kvm-smoke: %s: %d checks, %d failed\n",
	       failures || checks < (int)NSTEPS + 3 ? "FAIL" : "PASS", checks, failures);
	return failures || checks < (int)NSTEPS + 3 ? EXIT_FAILURE : EXIT_SUCCESS;
}
