/* SPDX-License-Identifier: MIT */
/* ioregion-abi: accesses that fall back to ordinary exits. */
#include "abi.h"

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
void test_nonblock(void)
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
void test_closed(void)
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
void test_killed(void)
{
	struct exits ex = { 0 };
	struct vm v;
	int sv[2], note[2], status;
	double t0;
	pid_t pid;

	vm_create(&v, guest_intr, GUEST_INTR_LEN, NULL, 0);
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

/* ---- a device that stops answering: bounded, and failed for good ---------- */

#define STALL_MS 200
#define LATE_VALUE 0x1a7e1a7eu

/*
 *   mov $0xd000,%ax; mov %ax,%ds
 *   mov 0x40,%eax; mov %eax,%ebx      (read 1: the device never answers)
 *   mov 0x44,%eax; mov %eax,%ecx      (read 2: after the late reply)
 *   movl $0xabcd,0x1000               (posted write, same fd)
 *   hlt
 * and at CODE_ADDR + 0x40, run once the region has a new fd:
 *   mov 0x48,%eax; mov %eax,%edx; hlt
 */
static const uint8_t guest_stall_mmio[] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0x66, 0xa1, 0x40, 0x00, 0x66, 0x89, 0xc3,
	0x66, 0xa1, 0x44, 0x00, 0x66, 0x89, 0xc1, 0x66, 0xc7, 0x06, 0x00, 0x10,
	0xcd, 0xab, 0x00, 0x00, 0xf4,
};
static const uint8_t guest_stall_mmio_again[] = {
	0x66, 0xa1, 0x48, 0x00, 0x66, 0x89, 0xc2, 0xf4,
};
/*
 *   mov $0x1248,%dx
 *   in (%dx),%eax; mov %eax,%ebx      (read 1: the device never answers)
 *   in (%dx),%eax; mov %eax,%ecx      (read 2: after the late reply)
 *   hlt
 */
static const uint8_t guest_stall_pio[] = {
	0xba, 0x48, 0x12, 0x66, 0xed, 0x66, 0x89, 0xc3, 0x66, 0xed, 0x66, 0x89,
	0xc1, 0xf4,
};

/*
 * KVM's socket has a receive timeout of STALL_MS (the library's
 * ioregion_kvm_set_timeout()) and the device receives the first read's
 * command but does not answer it. That read must become an ordinary exit
 * within a few bounds. Then the device's late reply arrives: the next
 * access on that fd must not take it for its own answer. It must fall
 * back to an exit without being sent (the file is failed), and so must
 * every later access on the fd, posted writes too, while the late reply
 * stays unread. With @pio the same over the PIO region. For MMIO the
 * region then gets a new fd and is served by the kernel again.
 */
static void stall(int pio)
{
	const char *what = pio ? "PIO" : "MMIO";
	struct kvm_run *run;
	struct exits ex = { 0 };
	struct cmd c;
	struct vm v;
	uint8_t resp[CMD_SIZE] = { 0 };
	uint32_t late = LATE_VALUE, mine = 0x5a5a5a5au;
	int sv[2], rc, n;
	double t0, secs;

	if (pio)
		vm_create(&v, guest_stall_pio, sizeof(guest_stall_pio), NULL, 0);
	else
		vm_create(&v, guest_stall_mmio, sizeof(guest_stall_mmio), NULL, 0);
	memcpy(v.ram + CODE_ADDR + 0x40, guest_stall_mmio_again,
	       sizeof(guest_stall_mmio_again));
	run = v.run[0];
	pair(sv);
	register_all(v.fd, sv[0]);
	rc = ioregion_kvm_set_timeout(sv[0], STALL_MS);
	check(rc == 0, "%s: ioregion_kvm_set_timeout(%d ms): %s", what, STALL_MS, errname(rc));

	/* read 1: sent, never answered in time */
	t0 = now_s();
	rc = ioctl(v.vcpu[0], KVM_RUN, 0);
	secs = now_s() - t0;
	check(rc == 0 && (pio ? run->exit_reason == KVM_EXIT_IO &&
				      run->io.direction == KVM_EXIT_IO_IN &&
				      run->io.port == PIO_BASE + 0x18 :
				run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write &&
				      run->mmio.phys_addr == MMIO_BASE + 0x40),
	      "%s: the unanswered read became an ordinary exit (KVM_RUN %d, exit %u)",
	      what, rc, run->exit_reason);
	check(secs >= 0.75 * STALL_MS / 1000 && secs < 25.0 * STALL_MS / 1000,
	      "%s: after %.2f s (the bound: %.2f s; want at least most of it, and < 5 s)",
	      what, secs, STALL_MS / 1000.0);
	check(recv(sv[1], &c, sizeof(c), MSG_DONTWAIT) == CMD_SIZE &&
	      c.b[0] == 0 && get64(c.b + 8) == (pio ? UD_PIO : UD_MMIO),
	      "%s: the device received read 1's command", what);
	if (pio)
		memcpy((uint8_t *)run + run->io.data_offset, &mine, 4);
	else
		memcpy(run->mmio.data, &mine, 4);

	/* the device answers at last */
	memcpy(resp, &late, 4);
	check(send(sv[1], resp, sizeof(resp), MSG_NOSIGNAL) == CMD_SIZE,
	      "%s: the device's late reply is written", what);

	/* read 2 (and for MMIO the posted write) must fall back, unsent */
	check(run_vcpu(&v, 0, &ex, 0x6b6b6b6bu, 30, -1), "%s: guest reached HLT", what);
	if (pio)
		check(ex.io == 1 && ex.mmio == 0 &&
		      (uint32_t)get_regs(&v, 0).rcx == 0xeeeeeeeeu,
		      "%s: read 2 fell back to KVM_EXIT_IO, not answered with the late reply "
		      "(%d exits, ecx 0x%08x; late 0x%08x)", what, ex.io,
		      (uint32_t)get_regs(&v, 0).rcx, LATE_VALUE);
	else
		check(ex.mmio == 2 && ex.mmio_addr[0] == MMIO_BASE + 0x44 &&
		      !ex.mmio_write[0] && ex.mmio_addr[1] == MMIO_POSTED &&
		      ex.mmio_write[1] && (uint32_t)ex.mmio_wdata[1] == 0xabcd &&
		      (uint32_t)get_regs(&v, 0).rcx == 0x6b6b6b6bu,
		      "%s: read 2 and the posted write fell back to KVM_EXIT_MMIO, the read "
		      "not answered with the late reply (%d exits, ecx 0x%08x; late 0x%08x)",
		      what, ex.mmio, (uint32_t)get_regs(&v, 0).rcx, LATE_VALUE);
	check((uint32_t)get_regs(&v, 0).rbx == mine, "%s: read 1 got userspace's value", what);
	n = 0;
	while (recv(sv[1], &c, sizeof(c), MSG_DONTWAIT) == CMD_SIZE)
		n++;
	check(n == 0, "%s: nothing sent on the failed fd after read 1 (%d commands)", what, n);
	memset(resp, 0, sizeof(resp));
	check(recv(sv[0], resp, sizeof(resp), MSG_DONTWAIT) == CMD_SIZE &&
	      memcmp(resp, &late, 4) == 0,
	      "%s: the late reply is still unread in KVM's file", what);

	if (!pio) {
		/* a new fd for the region: served by the kernel again */
		static struct device d;
		struct kvm_regs regs = get_regs(&v, 0);
		int nw[2];

		EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, 0, -1, -1,
				       IOREGION_KVM_DEASSIGN), 0, "MMIO: DEASSIGN");
		pair(nw);
		EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, UD_MMIO, nw[0], nw[0], 0), 0,
			  "MMIO: registered again with a new fd");
		memset(&d, 0, sizeof(d));
		device_start(&d, nw[1]);
		regs.rip = CODE_ADDR + 0x40;
		if (ioctl(v.vcpu[0], KVM_SET_REGS, &regs) < 0)
			die("KVM_SET_REGS");
		memset(&ex, 0, sizeof(ex));
		check(run_vcpu(&v, 0, &ex, 0x6b6b6b6bu, 30, -1), "MMIO: guest reached HLT again");
		device_join(&d);
		check(ex.mmio == 0 && d.ncmds == 1 &&
		      (uint32_t)get_regs(&v, 0).rdx == 0x11110048u,
		      "MMIO: the read on the new fd went through the kernel (%d exits, "
		      "%d commands, edx 0x%08x)", ex.mmio, d.ncmds,
		      (uint32_t)get_regs(&v, 0).rdx);
		close(nw[0]);
	}
	close(sv[0]);
	close(sv[1]);
	vm_destroy(&v);
}

void test_stall(void)
{
	stall(0);
	stall(1);
}
