/* SPDX-License-Identifier: MIT */
/* ioregion-abi: the helpers every group of tests uses (abi.h). */
#include "abi.h"

int failures, checks;
const char *cur_test = "";

void check(int ok, const char *fmt, ...)
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

void die(const char *what)
{
	printf("ioregion-abi: %s FAIL: %s: %s\n", cur_test, what, strerror(errno));
	exit(EXIT_FAILURE);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- wire v3 -------------------------------------------------------- */

uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

struct cmd mkcmd(int write, unsigned size, int resp, uint64_t user_data,
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

void fmt_cmd(const struct cmd *c, char *out, size_t n)
{
	snprintf(out, n, "%s size %u%s ud 0x%" PRIx64 " off 0x%" PRIx64 " data 0x%" PRIx64
		 " [%02x %02x]",
		 c->b[0] ? "W" : "R", 1u << (c->b[1] & 0xf), (c->b[1] & 0x10) ? " resp" : "",
		 get64(c->b + 8), get64(c->b + 16), get64(c->b + 24), c->b[0], c->b[1]);
}

/* A read's answer depends on the command, so a mismatched reply shows. */
uint64_t answer_for(const struct cmd *c)
{
	uint64_t ud = get64(c->b + 8), off = get64(c->b + 16);

	if (ud == UD_MMIO || ud == UD_PIO)
		return (ud << 16) | off;
	return 0xfedcba9876543200ull | off;
}

/* ---- the VM --------------------------------------------------------- */

int kvm_dev_fd = -1;

void vm_create(struct vm *v, const uint8_t *code, size_t len,
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

void vm_destroy(struct vm *v)
{
	int runsz = ioctl(kvm_dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	for (int i = 0; i < v->nvcpu; i++) {
		munmap(v->run[i], (size_t)runsz);
		close(v->vcpu[i]);
	}
	munmap(v->ram, RAM_SIZE);
	close(v->fd);
}

int set_ioregion(int vm, uint64_t addr, uint64_t size, uint64_t ud,
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

int set_ioeventfd(int vm, uint64_t addr, uint32_t len, int pio, int deassign)
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

const char *errname(int e)
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

void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
}

/* 1 if fd has data (or EOF) within ms, else 0 */
int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/* ---- device thread ---------------------------------------------------- */

void *device_main(void *arg)
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

void device_start(struct device *d, int fd)
{
	d->fd = fd;
	if (pthread_create(&d->thread, NULL, device_main, d))
		die("pthread_create");
}

void device_join(struct device *d)
{
	if (d->fd >= 0)
		shutdown(d->fd, SHUT_RDWR);
	pthread_join(d->thread, NULL);
}

/* ---- running a vCPU ------------------------------------------------------ */

void on_signal(int sig)
{
	(void)sig;
}

/*
 * Run until HLT, serving stray MMIO exits with @mmio_answer (recorded in
 * @ex), counting EINTRs; bounded by @limit_s. Returns 1 at HLT.
 */
int run_vcpu(struct vm *v, int i, struct exits *ex, uint64_t mmio_answer,
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

struct kvm_regs get_regs(struct vm *v, int i)
{
	struct kvm_regs regs;

	if (ioctl(v->vcpu[i], KVM_GET_REGS, &regs) < 0)
		die("KVM_GET_REGS");
	return regs;
}

void register_all(int vm, int fd)
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

/*
 *   mov $0xd000,%ax; mov %ax,%ds
 *   mov 0x40,%eax; mov %eax,%ebx      (MMIO read)
 *   mov $0x1248,%dx; in (%dx),%eax    (PIO read)
 *   hlt
 */
const uint8_t guest_intr[GUEST_INTR_LEN] = {
	0xb8, 0x00, 0xd0, 0x8e, 0xd8, 0x66, 0xa1, 0x40, 0x00, 0x66, 0x89, 0xc3,
	0xba, 0x48, 0x12, 0x66, 0xed, 0xf4,
};
