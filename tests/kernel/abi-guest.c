/* SPDX-License-Identifier: MIT */
/* ioregion-abi: guests served over a socket, signals while a vCPU waits. */
#include "abi.h"

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

void test_guest(void)
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

void test_signal(void)
{
	static struct device d;
	struct exits ex = { 0 };
	struct kvm_signal_mask *mask;
	struct vm v;
	int sv[2], halted;

	vm_create(&v, guest_intr, GUEST_INTR_LEN, NULL, 0);
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
void test_string_signal(void)
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
