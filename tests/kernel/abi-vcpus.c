/* SPDX-License-Identifier: MIT */
/* ioregion-abi: two vCPUs on one file, removal while a vCPU waits. */
#include "abi.h"

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

void test_two_vcpus(void)
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

void test_remove_waiting(void)
{
	remove_while_waiting(0);
	remove_while_waiting(1);
}

/*
 * A removal gives up an access that was sent: its reply, should it still
 * come, must not answer the next access on the file. vCPU 0 (guest_intr)
 * reads the MMIO region and the device holds the reply back; the MMIO
 * region is removed, the read becomes a KVM_EXIT_MMIO; then the device's
 * late reply is written, and the guest's next access, a PIO read of
 * another region on the same fd, must fall back to KVM_EXIT_IO without
 * being sent, leaving the late reply unread.
 */
void test_remove_late(void)
{
	uint32_t late = 0x1a7e1a7eu;
	uint8_t resp[CMD_SIZE] = { 0 };
	struct vcpu_arg a;
	struct cmd c;
	pthread_t t;
	struct vm v;
	int sv[2], n;

	vm_create(&v, guest_intr, GUEST_INTR_LEN, NULL, 0);
	pair(sv);
	register_all(v.fd, sv[0]);
	memset(&a, 0, sizeof(a));
	a.v = &v;
	a.mmio_answer = 0x5a5a5a5a;
	if (pthread_create(&t, NULL, vcpu_thread, &a))
		die("pthread_create");
	check(readable(sv[1], 5000) && recv(sv[1], &c, sizeof(c), 0) == CMD_SIZE &&
	      c.b[0] == 0 && get64(c.b + 8) == UD_MMIO,
	      "the MMIO read reached the device");
	usleep(200000);		/* the vCPU blocks on the reply */
	EXPECT_RC(set_ioregion(v.fd, MMIO_BASE, 0x100, 0, -1, -1, IOREGION_KVM_DEASSIGN), 0,
		  "DEASSIGN the MMIO region while its read waits");
	memcpy(resp, &late, 4);
	check(send(sv[1], resp, sizeof(resp), MSG_NOSIGNAL) == CMD_SIZE,
	      "the device's late reply is written");
	pthread_join(t, NULL);
	check(a.halted, "guest reached HLT");
	check(a.ex.mmio == 1 && a.ex.mmio_addr[0] == MMIO_BASE + 0x40 &&
	      (uint32_t)get_regs(&v, 0).rbx == 0x5a5a5a5au,
	      "the read gave up and fell back to KVM_EXIT_MMIO (%d exits, ebx 0x%08x)",
	      a.ex.mmio, (uint32_t)get_regs(&v, 0).rbx);
	check(a.ex.io == 1 && (uint32_t)get_regs(&v, 0).rax == 0xeeeeeeeeu,
	      "the next access (PIO, same fd) fell back to KVM_EXIT_IO, not answered with "
	      "the late reply (%d exits, eax 0x%08x; late 0x%08x)", a.ex.io,
	      (uint32_t)get_regs(&v, 0).rax, late);
	n = 0;
	while (recv(sv[1], &c, sizeof(c), MSG_DONTWAIT) == CMD_SIZE)
		n++;
	check(n == 0, "nothing sent on the failed fd after the removal (%d commands)", n);
	memset(resp, 0, sizeof(resp));
	check(recv(sv[0], resp, sizeof(resp), MSG_DONTWAIT) == CMD_SIZE &&
	      memcmp(resp, &late, 4) == 0, "the late reply is still unread in KVM's file");
	close(sv[0]);
	close(sv[1]);
	vm_destroy(&v);
}
