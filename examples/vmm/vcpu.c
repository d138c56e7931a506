/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: one thread per vCPU, the exits they handle (the debug ports,
 * device accesses through the bridge, HLT, errors), and the end of the
 * run (guest status, error, timeout: every vCPU is kicked out of KVM_RUN
 * with immediate_exit and a signal). While they run, the main thread is
 * the control thread (control.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/kvm.h>

#include "ioregion/bridge.h"

#include "vmm.h"

#define KICK_SIGNAL SIGUSR1

static void
kick_handler(int sig)
{
	/* Only there to make KVM_RUN return EINTR. */
}

void
vmm_stop_locked(struct vmm *vm)
{
	vm->stop = true;
	pthread_cond_broadcast(&vm->reset_cond);
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

/* The guest wrote S5 to the ACPI PM1 control register (pm.c): the run
 * ends, without a status of its own (vmm_run). */
static void
vcpu_poweroff(struct vcpu *v)
{
	struct vmm *vm = v->vmm;

	pthread_mutex_lock(&vm->lock);
	vm->powered_off = true;
	vmm_stop_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

/* The guest asks for a reset of every device (TINYVMM_RESET_PORT): the
 * control thread does it; this vCPU waits for the answers. */
static void
vcpu_request_reset(struct vcpu *v)
{
	struct vmm *vm = v->vmm;
	uint64_t ticket;

	pthread_mutex_lock(&vm->lock);
	ticket = ++vm->reset_requested;
	vmm_control_kick(vm);
	while (vm->reset_done < ticket && !vm->stop)
		pthread_cond_wait(&vm->reset_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static bool vmm_stopping(struct vmm *vm);

/* A device access failed with @rc. A restartable device's hang-up is
 * not the end of the run: the control thread restarts the device
 * (@epoch: the restarts done before this access). A device that keeps its
 * state across restarts (its HELLO said so) gets the access again once
 * it is back: this vCPU waits for the restart (at most
 * VMM_RESTART_WAIT_MS), so the guest's driver sees a slow access instead
 * of all-ones, which a virtio driver would take for a config change in
 * InterruptStatus (and then read a capacity of all-ones); the same write
 * twice is harmless for such a device. Any other device's access is
 * answered by the bridge (reads all-ones). Returns 0 when the run ends,
 * 1 when the guest goes on, 2 to make the access again. */
static int
vcpu_device_gone(struct vcpu *v, const struct vmm_region *r, int rc,
		 uint64_t epoch)
{
	struct vmm *vm = v->vmm;

	if (!r || !r->dev->restartable || (rc != -ECONNRESET && rc != -ENOTCONN))
		return 0;
	if (atomic_load(&vm->epoch) == epoch &&
	    atomic_exchange(&r->dev->suspect, epoch + 1) != epoch + 1)
		vmm_control_kick(vm);
	if (r->dev->keeps_state) {
		for (int ms = 0; ms < VMM_RESTART_WAIT_MS &&
		     atomic_load(&vm->epoch) == epoch && !vmm_stopping(vm); ms++)
			usleep(1000);
		if (atomic_load(&vm->epoch) != epoch) {
			atomic_fetch_add(&r->dev->gap_waits, 1);
			return 2;
		}
	}
	atomic_fetch_add(&r->dev->gap_accesses, 1);
	return 1;
}

/* Count an unclaimed access at @addr in its slot (lock-free: a free slot
 * is taken with a compare-and-swap; once every slot is taken, only the
 * total counts). */
static void
vcpu_count_unclaimed(struct vmm *vm, bool pio, uint64_t addr)
{
	uint64_t key = ((addr << 1) | pio) + 1;

	atomic_fetch_add(&vm->unclaimed, 1);
	for (unsigned int i = 0; i < VMM_UNCLAIMED_SLOTS; i++) {
		struct vmm_unclaimed *u = &vm->unclaimed_at[i];
		uint64_t cur = atomic_load(&u->key);

		if (cur == 0 && atomic_compare_exchange_strong(&u->key, &cur,
								key))
			cur = key;
		if (cur == key) {
			atomic_fetch_add(&u->count, 1);
			return;
		}
	}
}

/* An access no device claimed: reads see all-ones (an open bus). */
static void
vcpu_unclaimed(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	bool pio = run->exit_reason == KVM_EXIT_IO;

	vcpu_count_unclaimed(v->vmm, pio,
			     pio ? run->io.port : run->mmio.phys_addr);
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
	uint64_t addr, epoch;
	int rc, again;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1) {
			uint8_t b = *((uint8_t *)run + run->io.data_offset);

			switch (run->io.port) {
			case TINYVMM_DEBUG_EXIT_PORT:
				vcpu_guest_exit(v, b);
				return 1;
			case TINYVMM_RESET_PORT:
				vcpu_request_reset(v);
				return 0;
			case TINYVMM_MARK_PORT:
				fprintf(stderr, "%s: vcpu%u: guest mark %u\n",
					vm->prog, v->index, b);
				return 0;
			}
		}
		/* fall through */
	case KVM_EXIT_MMIO:
		if (vmm_inblk_exit(vm, run))
			return 0;
		addr = pio ? run->io.port : run->mmio.phys_addr;
		do {
			epoch = atomic_load(&vm->epoch);
			rc = ioregion_bridge_handle_exit(vm->bridge, run);
			again = rc < 0 ? vcpu_device_gone(v,
				vmm_find_region(vm, pio, addr), rc, epoch) : 0;
		} while (again == 2);
		if (rc < 0) {
			const struct vmm_region *r =
				vmm_find_region(vm, pio, addr);

			if (again)
				return 0;
			vcpu_error(v, TINYVMM_EXIT_ERROR,
				   "device error on %s 0x%" PRIx64 " (%s): %s",
				   pio ? "pio" : "mmio", addr,
				   r ? r->name : "?", strerror(-rc));
			return 1;
		}
		if (rc == 0 && pio && vm->linux_mode) {
			rc = vmm_pm_io(vm, run);
			if (rc == 2)
				vcpu_poweroff(v);
			if (rc > 0)
				return rc == 2;
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
			   "guest shut down (a triple fault; a Linux "
			   "guest's reboot, or a panic with panic=-1)");
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
	pthread_mutex_unlock(&vm->lock);
	vmm_control_kick(vm);
	return NULL;
}

/* Start the vCPUs and wait for the end of the run. Returns the exit
 * status of the program. */
int
vmm_run(struct vmm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	struct timespec deadline, start, end;
	bool timed_out = false;
	int status;

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);	/* no SA_RESTART */

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	start = deadline;
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
	pthread_mutex_unlock(&vm->lock);

	vmm_control(vm, &deadline, &timed_out);

	for (unsigned int i = 0; i < vm->opts.nvcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);

	if (vm->error)
		status = vm->error;
	else if (timed_out && vm->guest_status < 0)
		status = TINYVMM_EXIT_TIMEOUT;
	else if (vm->guest_status >= 0)
		status = vm->guest_status;
	else if (vm->powered_off) {
		/* A clean end for the guest, but not a verdict: tests want
		 * the status byte. */
		fprintf(stderr, "%s: the guest powered off (ACPI S5) without "
			"a status on port 0x%x\n", vm->prog,
			TINYVMM_DEBUG_EXIT_PORT);
		status = TINYVMM_EXIT_ERROR;
	} else {
		fprintf(stderr, "%s: every vCPU halted without a status on "
			"port 0x%x\n", vm->prog, TINYVMM_DEBUG_EXIT_PORT);
		status = TINYVMM_EXIT_ERROR;
	}
	if (vm->guest_status >= 0)
		fprintf(stderr, "%s: guest status %d (%s)\n", vm->prog,
			vm->guest_status, vm->guest_status ? "fail" : "pass");
	clock_gettime(CLOCK_MONOTONIC, &end);
	fprintf(stderr, "%s: the guest ran %.2f s\n", vm->prog,
		(double)(end.tv_sec - start.tv_sec) +
		(double)(end.tv_nsec - start.tv_nsec) / 1e9);
	return status;
}

