/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: a minimal KVM VMM whose devices live in other processes.
 *
 * It loads a flat 64-bit guest image (memory map and entry state in
 * tinyvmm.h), accepts device processes on a UNIX socket and receives their
 * regions (hand-off), registers them with KVM_SET_IOREGION when the kernel
 * has it and always adds them to the bridge (on stock kernels the bridge
 * serves every access; on patched ones it is the failure path). Then it
 * runs one thread per vCPU until the guest writes its status to the debug
 * exit port, every vCPU halts, a device fails, or the time is up, and
 * prints per-region statistics. Its exit status is the guest's status.
 *
 *   tinyvmm --guest hello.bin --spawn uart16550 [--spawn regbank] ...
 *   tinyvmm --guest selftest.bin --socket /tmp/vmm.sock --devices 2
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "logging.h"
#include "ioregion/bridge.h"
#include "ioregion/kvm.h"

#include "devhost.h"
#include "tinyvmm.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_SPAWN DEVHOST_MAX_DEVICES
#define KICK_SIGNAL SIGUSR1

/* x86 control bits used to enter long mode directly. */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

struct vmm;

struct vcpu {
	struct vmm *vmm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

struct vmm_opts {
	const char *guest;
	const char *socket_path;
	const char *spawn[MAX_SPAWN];
	unsigned int nspawn;
	unsigned int ndevices;
	bool ndevices_set;
	unsigned int nvcpus;
	unsigned int timeout_ms;
	unsigned int bridge_timeout_ms;
	bool no_ioregionfd;
};

/* The VM: one per program run. */
struct vmm {
	const char *prog;
	struct vmm_opts opts;
	int kvm_fd;
	int vm_fd;
	uint8_t *mem;
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	struct devhost host;
	struct ioregion_bridge *bridge;
	bool fast_path;

	struct vcpu vcpus[TINYVMM_MAX_VCPUS];

	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	unsigned int running;		/* vCPU threads not finished */
	bool stop;			/* every vCPU should stop */
	int guest_status;		/* -1 until the debug exit port */
	int error;			/* first error: a TINYVMM_EXIT_* */
	atomic_uint_fast64_t unclaimed;
};

/* ---- KVM setup ------------------------------------------------------------ */

static int
vmm_open_kvm(struct vmm *vm)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	int api;

	if (!dev || !*dev)
		dev = "/dev/kvm";
	vm->kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		fprintf(stderr, "%s: %s: %s: no KVM here, skipping "
			"(to see a guest run under KVM anyway, boot it in the "
			"QEMU lab: tests/vm/prepare, then tests/vm/run --test "
			"NAME %s --arg ... with this command line; scripts/demo "
			"prints a complete one)\n",
			vm->prog, dev, strerror(errno), vm->prog);
		return -TINYVMM_EXIT_SKIP;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "%s: %s: KVM API version %d, need %d\n",
			vm->prog, dev, api, KVM_API_VERSION);
		return -TINYVMM_EXIT_SKIP;
	}
	return 0;
}

static int
vmm_fail(struct vmm *vm, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", vm->prog, what, strerror(errno));
	return -TINYVMM_EXIT_ERROR;
}

/* Identity map of the first 4 GiB with 2 MiB pages, and a flat GDT. */
static void
vmm_build_tables(struct vmm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + TINYVMM_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + TINYVMM_PDPT);
	uint64_t *gdt = (uint64_t *)(vm->mem + TINYVMM_GDT);

	pml4[0] = TINYVMM_PDPT | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(vm->mem + TINYVMM_PD + i * 0x1000);

		pdpt[i] = (TINYVMM_PD + i * 0x1000) | PTE_P | PTE_RW;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
	}
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;	/* code: L, P, DPL 0, exec/read */
	gdt[2] = 0x00cf93000000ffffull;	/* data: G, D/B, P, read/write */
}

static int
vmm_load_guest(struct vmm *vm)
{
	struct stat st;
	ssize_t n;
	size_t done = 0;
	int fd = open(vm->opts.guest, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return vmm_fail(vm, vm->opts.guest);
	if (fstat(fd, &st) < 0 || st.st_size == 0 ||
	    st.st_size > TINYVMM_IMAGE_MAX) {
		fprintf(stderr, "%s: %s: empty, unreadable or larger than "
			"%#x bytes\n", vm->prog, vm->opts.guest,
			TINYVMM_IMAGE_MAX);
		close(fd);
		return -TINYVMM_EXIT_ERROR;
	}
	while (done < (size_t)st.st_size) {
		n = read(fd, vm->mem + TINYVMM_ENTRY + done,
			 (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return vmm_fail(vm, vm->opts.guest);
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

static int
vmm_create(struct vmm *vm)
{
	struct kvm_userspace_memory_region slot = { 0 };
	int rc, nent = 64;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vmm_fail(vm, "KVM_CREATE_VM");
	/* Intel wants a TSS area below 4 GiB; same spot as QEMU's. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);

	vm->mem = mmap(NULL, TINYVMM_RAM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return vmm_fail(vm, "mmap guest memory");
	}
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = TINYVMM_RAM_SIZE;
	slot.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return vmm_fail(vm, "KVM_SET_USER_MEMORY_REGION");
	vmm_build_tables(vm);
	rc = vmm_load_guest(vm);
	if (rc < 0)
		return rc;

	rc = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (rc < (int)sizeof(struct kvm_run))
		return vmm_fail(vm, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)rc;

	/* Long mode needs the guest CPUID to say so: give it what KVM can. */
	for (;;) {
		vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
				      nent * sizeof(vm->cpuid->entries[0]));
		if (!vm->cpuid)
			return -TINYVMM_EXIT_ERROR;
		vm->cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) == 0)
			break;
		free(vm->cpuid);
		vm->cpuid = NULL;
		if (errno != E2BIG || nent >= 1024)
			return vmm_fail(vm, "KVM_GET_SUPPORTED_CPUID");
		nent *= 2;
	}
	return 0;
}

static void
set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static int
vcpu_create(struct vmm *vm, struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index);
	if (v->fd < 0)
		return vmm_fail(vm, "KVM_CREATE_VCPU");
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return vmm_fail(vm, "mmap kvm_run");
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid) < 0)
		return vmm_fail(vm, "KVM_SET_CPUID2");

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return vmm_fail(vm, "KVM_GET_SREGS");
	set_seg(&sregs.cs, TINYVMM_SEL_CODE, 11, true);
	set_seg(&sregs.ds, TINYVMM_SEL_DATA, 3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = TINYVMM_SEL_TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 11;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.unusable = 1;
	sregs.gdt.base = TINYVMM_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = TINYVMM_PML4;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return vmm_fail(vm, "KVM_SET_SREGS");

	regs.rflags = 0x2;
	regs.rip = TINYVMM_ENTRY;
	regs.rsp = TINYVMM_STACK_TOP - (uint64_t)v->index * TINYVMM_STACK_SIZE;
	regs.rdi = v->index;
	regs.rsi = vm->opts.nvcpus;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return vmm_fail(vm, "KVM_SET_REGS");
	return 0;
}

/* ---- devices --------------------------------------------------------------- */

static const char *
dialect_name(uint32_t dialect)
{
	return dialect == IOREGION_WIRE_INFO ? "info" : "v3";
}

/*
 * On a patched kernel every device region must speak the kernel's wire
 * dialect (only the VMM can learn it, from the probe) and come with a
 * fallback channel for the bridge: the kernel and the bridge must never
 * share an open file, or their replies cross. Refuse anything else with
 * one clear message, before anything is registered.
 */
static int
vmm_check_fast_path_regions(struct vmm *vm, enum ioregion_wire_dialect kd)
{
	for (unsigned int i = 0; i < vm->host.nregions; i++) {
		const struct devhost_region *r = &vm->host.regions[i];

		if (r->desc.dialect != (uint32_t)kd) {
			fprintf(stderr,
				"%s: device region %s speaks the %s wire "
				"dialect, but this kernel's KVM_SET_IOREGION "
				"speaks %s: refused (start the device with "
				"--dialect %s)\n", vm->prog, r->name,
				dialect_name(r->desc.dialect),
				dialect_name(kd), dialect_name(kd));
			return -TINYVMM_EXIT_ERROR;
		}
		if (r->fallback_fd < 0) {
			fprintf(stderr,
				"%s: device region %s came without a fallback "
				"channel; on a patched kernel the bridge must "
				"not share KVM's fd: refused\n", vm->prog,
				r->name);
			return -TINYVMM_EXIT_ERROR;
		}
	}
	return 0;
}

static int
vmm_attach_devices(struct vmm *vm)
{
	enum ioregion_wire_dialect kd = IOREGION_WIRE_V3;
	int probe = 0, rc;

	rc = ioregion_bridge_new(&vm->bridge);
	if (rc < 0) {
		fprintf(stderr, "%s: bridge: %s\n", vm->prog, strerror(-rc));
		return -TINYVMM_EXIT_ERROR;
	}
	ioregion_bridge_set_log_handler(vm->bridge, log_to_stderr,
					(void *)vm->prog);
	if (vm->opts.bridge_timeout_ms)
		ioregion_bridge_set_timeout(vm->bridge,
					    vm->opts.bridge_timeout_ms);

	if (!vm->opts.no_ioregionfd)
		probe = ioregion_kvm_probe_dialect(vm->vm_fd, &kd);
	if (probe > 0) {
		rc = vmm_check_fast_path_regions(vm, kd);
		if (rc < 0)
			return rc;
	}

	for (unsigned int i = 0; i < vm->host.nregions; i++) {
		struct devhost_region *r = &vm->host.regions[i];
		int bridge_fd = r->fd;

		if (probe > 0) {
			rc = ioregion_kvm_register(vm->vm_fd, &r->desc, r->fd);
			if (rc < 0) {
				fprintf(stderr, "%s: KVM_SET_IOREGION %s: %s\n",
					vm->prog, r->name, strerror(-rc));
				return -TINYVMM_EXIT_ERROR;
			}
			vm->fast_path = true;
			bridge_fd = r->fallback_fd;
		}
		/* Always: the whole path on stock kernels; on patched ones
		 * the failure path, for the accesses the kernel hands back,
		 * on the device's fallback channel. */
		rc = ioregion_bridge_add(vm->bridge, &r->desc, bridge_fd);
		if (rc < 0) {
			fprintf(stderr, "%s: bridge add %s: %s\n", vm->prog,
				r->name, strerror(-rc));
			return -TINYVMM_EXIT_ERROR;
		}
	}
	if (vm->fast_path)
		fprintf(stderr, "%s: path: ioregionfd fast path "
			"(KVM_SET_IOREGION present, %s dialect; bridge on the "
			"fallback channels)\n", vm->prog, dialect_name(kd));
	else if (vm->opts.no_ioregionfd)
		fprintf(stderr, "%s: path: bridge (--no-ioregionfd)\n",
			vm->prog);
	else if (probe < 0)
		fprintf(stderr, "%s: path: bridge (the KVM_SET_IOREGION "
			"probe failed: %s; the kernel answered neither as a "
			"stock nor as a patched kernel)\n", vm->prog,
			strerror(-probe));
	else
		fprintf(stderr, "%s: path: bridge (KVM_SET_IOREGION absent)\n",
			vm->prog);
	return 0;
}

static void
vmm_print_stats(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->host.nregions; i++) {
		const struct devhost_region *r = &vm->host.regions[i];
		struct ioregion_bridge_stats st;
		bool pio = r->desc.flags & IOREGION_F_PIO;

		if (ioregion_bridge_get_stats(vm->bridge, pio, r->desc.addr,
					      &st) < 0)
			continue;
		fprintf(stderr,
			"%s: stats %-12s %s 0x%" PRIx64 ": reads %" PRIu64
			" writes %" PRIu64 " posted %" PRIu64 " errors %" PRIu64
			"\n", vm->prog, r->name, pio ? "pio " : "mmio",
			r->desc.addr, st.reads, st.writes, st.posted_writes,
			st.errors);
	}
	if (atomic_load(&vm->unclaimed))
		fprintf(stderr, "%s: accesses to no device: %" PRIu64 "\n",
			vm->prog, (uint64_t)atomic_load(&vm->unclaimed));
}

/* ---- vCPU threads ---------------------------------------------------------- */

static void
kick_handler(int sig)
{
	/* Only there to make KVM_RUN return EINTR. */
}

/* Make every vCPU leave KVM_RUN and stop; called with vm->lock held. */
static void
vmm_stop_locked(struct vmm *vm)
{
	vm->stop = true;
	for (unsigned int i = 0; i < vm->opts.nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		/* immediate_exit covers a vCPU about to enter KVM_RUN, the
		 * signal one already inside it. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, KICK_SIGNAL);
	}
}

static void
vcpu_error(struct vcpu *v, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
vcpu_error(struct vcpu *v, int code, const char *fmt, ...)
{
	struct vmm *vm = v->vmm;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (!vm->error && !vm->stop) {
		fprintf(stderr, "%s: vcpu%u: ", vm->prog, v->index);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		vm->error = code;
	}
	vmm_stop_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

static void
vcpu_guest_exit(struct vcpu *v, uint8_t status)
{
	struct vmm *vm = v->vmm;

	pthread_mutex_lock(&vm->lock);
	if (vm->guest_status < 0)
		vm->guest_status = status;
	vmm_stop_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

static const char *
region_name(struct vmm *vm, bool pio, uint64_t addr)
{
	const struct devhost_region *r = devhost_find(&vm->host, pio, addr);

	return r ? r->name : "?";
}

/* An access no device claimed: reads see all-ones (an open bus). */
static void
vcpu_unclaimed(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	atomic_fetch_add(&v->vmm->unclaimed, 1);
	if (run->exit_reason == KVM_EXIT_IO &&
	    run->io.direction == KVM_EXIT_IO_IN)
		memset((uint8_t *)run + run->io.data_offset, 0xff,
		       (size_t)run->io.size * run->io.count);
	else if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

/* Returns 0 to re-enter the guest, 1 when this vCPU is done. */
static int
vcpu_handle_exit(struct vcpu *v)
{
	struct vmm *vm = v->vmm;
	struct kvm_run *run = v->run;
	bool pio = run->exit_reason == KVM_EXIT_IO;
	uint64_t addr;
	int rc;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.port == TINYVMM_DEBUG_EXIT_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT) {
			vcpu_guest_exit(v, *((uint8_t *)run +
					     run->io.data_offset));
			return 1;
		}
		/* fall through */
	case KVM_EXIT_MMIO:
		addr = pio ? run->io.port : run->mmio.phys_addr;
		rc = ioregion_bridge_handle_exit(vm->bridge, run);
		if (rc < 0) {
			vcpu_error(v, TINYVMM_EXIT_ERROR,
				   "device error on %s 0x%" PRIx64 " (%s): %s",
				   pio ? "pio" : "mmio", addr,
				   region_name(vm, pio, addr), strerror(-rc));
			return 1;
		}
		if (rc == 0)
			vcpu_unclaimed(v);
		return 0;
	case KVM_EXIT_HLT:
		return 1;
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_SHUTDOWN:
		vcpu_error(v, TINYVMM_EXIT_ERROR,
			   "guest shut down (triple fault)");
		return 1;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_error(v, TINYVMM_EXIT_ERROR,
			   "entry failed, hardware reason 0x%llx",
			   (unsigned long long)
			   run->fail_entry.hardware_entry_failure_reason);
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_error(v, TINYVMM_EXIT_ERROR,
			   "KVM internal error, suberror %u",
			   run->internal.suberror);
		return 1;
	default:
		vcpu_error(v, TINYVMM_EXIT_ERROR, "unexpected exit reason %u",
			   run->exit_reason);
		return 1;
	}
}

static bool
vmm_stopping(struct vmm *vm)
{
	bool stop;

	pthread_mutex_lock(&vm->lock);
	stop = vm->stop;
	pthread_mutex_unlock(&vm->lock);
	return stop;
}

static void *
vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vmm *vm = v->vmm;

	while (!vmm_stopping(vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;	/* kicked: check stop, re-enter */
			vcpu_error(v, TINYVMM_EXIT_ERROR, "KVM_RUN: %s",
				   strerror(errno));
			break;
		}
		if (vcpu_handle_exit(v))
			break;
	}

	pthread_mutex_lock(&vm->lock);
	vm->running--;
	pthread_cond_signal(&vm->done_cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

/* Start the vCPUs and wait for the end of the run. Returns the exit
 * status of the program. */
static int
vmm_run(struct vmm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	pthread_condattr_t cattr;
	struct timespec deadline;
	bool timed_out = false;
	int status;

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);	/* no SA_RESTART */

	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->done_cond, &cattr);
	pthread_condattr_destroy(&cattr);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += vm->opts.timeout_ms / 1000;
	deadline.tv_nsec += (long)(vm->opts.timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->opts.nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

		if (err) {
			fprintf(stderr, "%s: vcpu%u thread: %s\n", vm->prog, i,
				strerror(err));
			vm->error = TINYVMM_EXIT_ERROR;
			vmm_stop_locked(vm);
			break;
		}
		v->started = true;
		vm->running++;
	}
	while (vm->running) {
		if (timed_out) {
			pthread_cond_wait(&vm->done_cond, &vm->lock);
			continue;
		}
		if (pthread_cond_timedwait(&vm->done_cond, &vm->lock,
					   &deadline) == ETIMEDOUT) {
			fprintf(stderr, "%s: timeout: the guest ran for %u ms "
				"without finishing\n", vm->prog,
				vm->opts.timeout_ms);
			timed_out = true;
			vmm_stop_locked(vm);
		}
	}
	pthread_mutex_unlock(&vm->lock);

	for (unsigned int i = 0; i < vm->opts.nvcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);

	if (vm->error)
		status = vm->error;
	else if (timed_out && vm->guest_status < 0)
		status = TINYVMM_EXIT_TIMEOUT;
	else if (vm->guest_status >= 0)
		status = vm->guest_status;
	else {
		fprintf(stderr, "%s: every vCPU halted without a status on "
			"port 0x%x\n", vm->prog, TINYVMM_DEBUG_EXIT_PORT);
		status = TINYVMM_EXIT_ERROR;
	}
	if (vm->guest_status >= 0)
		fprintf(stderr, "%s: guest status %d (%s)\n", vm->prog,
			vm->guest_status, vm->guest_status ? "fail" : "pass");
	return status;
}

/* ---- program --------------------------------------------------------------- */

enum {
	OPT_GUEST = 0x100,
	OPT_SOCKET,
	OPT_DEVICES,
	OPT_VCPUS,
	OPT_TIMEOUT,
	OPT_BRIDGE_TIMEOUT,
	OPT_NO_IOREGIONFD,
	OPT_SPAWN,
	OPT_HELP,
};

static void
usage(const char *prog, FILE *f)
{
	fprintf(f,
		"usage: %s --guest FILE.bin [options]\n"
		"  --guest FILE        flat 64-bit guest image (see tinyvmm.h)\n"
		"  --socket PATH       listen here for device processes\n"
		"                      (default: a private temporary folder)\n"
		"  --spawn \"CMD ARGS\"  start a device process (repeatable); it\n"
		"                      gets --socket-path PATH appended\n"
		"  --devices N         device processes to wait for (default:\n"
		"                      the number of --spawn)\n"
		"  --vcpus K           vCPU threads (1..%d, default 1)\n"
		"  --timeout-ms T      bound on the whole run (default %d)\n"
		"  --bridge-timeout-ms T  bound on one device response\n"
		"  --no-ioregionfd     use the bridge even if KVM has ioregionfd\n"
		"Exit status: the guest's debug-exit byte (port 0x%x); %d no KVM,\n"
		"%d timeout, %d error. IOREGION_KVM_DEV overrides /dev/kvm.\n",
		prog, TINYVMM_MAX_VCPUS, DEFAULT_TIMEOUT_MS,
		TINYVMM_DEBUG_EXIT_PORT, TINYVMM_EXIT_SKIP,
		TINYVMM_EXIT_TIMEOUT, TINYVMM_EXIT_ERROR);
}

static int
parse_uint(const char *prog, const char *opt, const char *s,
	   unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "%s: %s wants %lu..%lu, not '%s'\n", prog, opt,
			min, max, s);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int
parse_args(struct vmm *vm, int argc, char **argv)
{
	static const struct option options[] = {
		{ "guest", required_argument, NULL, OPT_GUEST },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "devices", required_argument, NULL, OPT_DEVICES },
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "bridge-timeout-ms", required_argument, NULL,
		  OPT_BRIDGE_TIMEOUT },
		{ "no-ioregionfd", no_argument, NULL, OPT_NO_IOREGIONFD },
		{ "spawn", required_argument, NULL, OPT_SPAWN },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct vmm_opts *o = &vm->opts;
	int c;

	o->nvcpus = 1;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_GUEST:
			o->guest = optarg;
			break;
		case OPT_SOCKET:
			o->socket_path = optarg;
			break;
		case OPT_DEVICES:
			if (parse_uint(vm->prog, "--devices", optarg, 0,
				       DEVHOST_MAX_DEVICES, &o->ndevices))
				return -1;
			o->ndevices_set = true;
			break;
		case OPT_VCPUS:
			if (parse_uint(vm->prog, "--vcpus", optarg, 1,
				       TINYVMM_MAX_VCPUS, &o->nvcpus))
				return -1;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(vm->prog, "--timeout-ms", optarg, 1,
				       3600000, &o->timeout_ms))
				return -1;
			break;
		case OPT_BRIDGE_TIMEOUT:
			if (parse_uint(vm->prog, "--bridge-timeout-ms", optarg,
				       1, 3600000, &o->bridge_timeout_ms))
				return -1;
			break;
		case OPT_NO_IOREGIONFD:
			o->no_ioregionfd = true;
			break;
		case OPT_SPAWN:
			if (o->nspawn >= MAX_SPAWN) {
				fprintf(stderr, "%s: at most %d --spawn\n",
					vm->prog, MAX_SPAWN);
				return -1;
			}
			o->spawn[o->nspawn++] = optarg;
			break;
		case OPT_HELP:
			usage(vm->prog, stdout);
			return 1;
		default:
			usage(vm->prog, stderr);
			return -1;
		}
	}
	if (optind < argc || !o->guest) {
		usage(vm->prog, stderr);
		return -1;
	}
	if (!o->ndevices_set)
		o->ndevices = o->nspawn;
	if (o->ndevices < o->nspawn) {
		fprintf(stderr, "%s: --devices is less than the number of "
			"--spawn\n", vm->prog);
		return -1;
	}
	return 0;
}

static void
vmm_destroy(struct vmm *vm)
{
	for (unsigned int i = 0; i < TINYVMM_MAX_VCPUS; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	if (vm->mem)
		munmap(vm->mem, TINYVMM_RAM_SIZE);
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

int
main(int argc, char **argv)
{
	struct vmm vm = {
		.kvm_fd = -1,
		.vm_fd = -1,
		.guest_status = -1,
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	bool host_up = false;
	int rc, status = TINYVMM_EXIT_ERROR;

	vm.prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (unsigned int i = 0; i < TINYVMM_MAX_VCPUS; i++) {
		vm.vcpus[i].fd = -1;
		vm.vcpus[i].vmm = &vm;
		vm.vcpus[i].index = i;
	}
	rc = parse_args(&vm, argc, argv);
	if (rc)
		return rc > 0 ? 0 : TINYVMM_EXIT_ERROR;
	/* Devices may stop reading their channel; never die of SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	/* Check for KVM first: without it, start no device at all. */
	rc = vmm_open_kvm(&vm);
	if (rc == 0)
		rc = vmm_create(&vm);
	for (unsigned int i = 0; rc == 0 && i < vm.opts.nvcpus; i++)
		rc = vcpu_create(&vm, &vm.vcpus[i]);
	if (rc < 0) {
		status = -rc;
		goto out;
	}

	rc = devhost_listen(&vm.host, vm.prog, vm.opts.socket_path);
	if (rc < 0)
		goto out;
	host_up = true;
	fprintf(stderr, "%s: listening on %s for %u device(s)\n", vm.prog,
		vm.host.socket_path, vm.opts.ndevices);
	for (unsigned int i = 0; i < vm.opts.nspawn; i++) {
		rc = devhost_spawn(&vm.host, vm.opts.spawn[i]);
		if (rc < 0)
			goto out;
	}
	rc = devhost_accept(&vm.host, vm.opts.ndevices,
			    (int)vm.opts.timeout_ms);
	if (rc < 0)
		goto out;
	rc = vmm_attach_devices(&vm);
	if (rc < 0)
		goto out;

	fprintf(stderr, "%s: running %s on %u vCPU(s)\n", vm.prog,
		vm.opts.guest, vm.opts.nvcpus);
	status = vmm_run(&vm);
	vmm_print_stats(&vm);

out:
	/* Closing the VM's copies of the device fds lets devices see EOF. */
	if (vm.bridge)
		vm.bridge = ioregion_bridge_unref(vm.bridge);
	vmm_destroy(&vm);
	if (host_up) {
		if (devhost_finish(&vm.host, 2000) && status == 0)
			status = TINYVMM_EXIT_ERROR;
		devhost_fini(&vm.host);
	}
	return status;
}
