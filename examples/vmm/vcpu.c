/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: one thread per vCPU, the exits they handle (the debug-exit
 * port, device accesses through the bridge, HLT, errors), and the end of
 * the run (guest status, error, timeout: every vCPU is kicked out of
 * KVM_RUN with immediate_exit and a signal).
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
int
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

