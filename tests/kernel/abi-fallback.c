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
