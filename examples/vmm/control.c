/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: the control thread (the main thread while the vCPUs run).
 *
 * Restarts (--restart NAME): it watches the control session of every
 * restartable device. When the device process dies (its session ends:
 * end of file), or a vCPU finds its channel hung up (the bridge's
 * -ECONNRESET or -ENOTCONN), the guest keeps running: the bridge answers
 * the device's accesses with its bounded error (reads all-ones), and
 * this thread starts the device again, re-attaches it
 * (ioregion_vmm_reaccept(): the bridge gets the new fallback channels,
 * KVM the new main ones on the fast path, and the device its interrupt
 * eventfds and guest memory again) and resets it (RESET), unless the
 * device said in its HELLO that it keeps its state across restarts (a
 * virtio device on a state file: a reset would throw away what the
 * guest's driver programmed). A device that keeps dying is given up
 * after VMM_MAX_RESTARTS.
 *
 * Guest reset requests: a 1-byte OUT to TINYVMM_RESET_PORT resets every
 * device (ioregion_vmm_reset()); the vCPU waits for the answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

void
vmm_control_kick(struct vmm *vm)
{
	uint64_t one = 1;

	if (write(vm->ctl_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the thread wakes anyway */
	}
}

static int64_t
ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(t->tv_sec - now.tv_sec) * 1000 +
	       (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void
vmm_control_error(struct vmm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->error)
		vm->error = TINYVMM_EXIT_ERROR;
	vmm_stop_locked(vm);
	pthread_mutex_unlock(&vm->lock);
}

/* Start device @d again and re-attach it; the run ends if it cannot. */
static void
vmm_restart(struct vmm *vm, struct vmm_dev *d, const char *why)
{
	int rc, reset;

	if (d->restarts >= VMM_MAX_RESTARTS) {
		fprintf(stderr, "%s: device %s gone (%s) after %u restarts: "
			"giving up\n", vm->prog, d->name, why, d->restarts);
		vmm_control_error(vm);
		return;
	}
	d->restarts++;
	fprintf(stderr, "%s: device %s gone (%s): restarting it (%u)\n",
		vm->prog, d->name, why, d->restarts);
	/* Whatever the new process holds, the guest finds the device as
	 * after a reset, unless it keeps its state (it said so in its
	 * HELLO): then as the dead process left it. */
	rc = devhost_restart(&vm->host, (unsigned int)d->which,
			     (int)vm->opts.timeout_ms, &d->dev, &reset);
	if (rc < 0) {
		fprintf(stderr, "%s: device %s could not be re-attached: %s\n",
			vm->prog, d->name, strerror(-rc));
		vmm_control_error(vm);
		return;
	}
	atomic_fetch_add(&vm->epoch, 1);
	fprintf(stderr, "%s: device %s re-attached (%s), %s%s\n",
		vm->prog, d->name,
		ioregion_vmm_is_fast_path(d->dev) == 1 ? "KVM and the bridge" :
		"the bridge", reset > 0 ? "not reset: it keeps its state" :
		"reset: ", reset > 0 ? "" : reset < 0 ? strerror(-reset) : "done");
}

int
vmm_reset_devices(struct vmm *vm)
{
	int first = 0;

	for (unsigned int i = 0; i < vm->ndevs; i++) {
		struct vmm_dev *d = &vm->devs[i];
		int rc = ioregion_vmm_reset(d->dev);

		fprintf(stderr, "%s: reset %s: %s\n", vm->prog, d->name,
			rc < 0 ? strerror(-rc) : "done");
		if (rc < 0 && !first)
			first = rc;
	}
	return first;
}

/* The guest's reset requests: answer every one made so far. */
static void
vmm_answer_resets(struct vmm *vm)
{
	uint64_t want;

	pthread_mutex_lock(&vm->lock);
	want = vm->reset_requested;
	pthread_mutex_unlock(&vm->lock);
	if (want == vm->reset_done)
		return;
	(void)vmm_reset_devices(vm);
	pthread_mutex_lock(&vm->lock);
	vm->reset_done = want;
	pthread_cond_broadcast(&vm->reset_cond);
	pthread_mutex_unlock(&vm->lock);
}

/* A vCPU found device @d's channel failed: unless it has been restarted
 * since (a stale report), restart it, ending the process if it lives. */
static void
vmm_check_suspect(struct vmm *vm, struct vmm_dev *d)
{
	uint64_t seen = atomic_exchange(&d->suspect, 0);

	if (!seen || seen - 1 != atomic_load(&vm->epoch))
		return;
	vmm_restart(vm, d, "its channel failed");
}

void
vmm_control(struct vmm *vm, const struct timespec *deadline, bool *timed_out)
{
	*timed_out = false;
	for (;;) {
		struct pollfd pfd[1 + DEVHOST_MAX_DEVICES];
		struct vmm_dev *watched[DEVHOST_MAX_DEVICES];
		unsigned int n = 1, running;
		bool stop;
		int64_t left;
		uint64_t v;

		pthread_mutex_lock(&vm->lock);
		running = vm->running;
		stop = vm->stop;
		pthread_mutex_unlock(&vm->lock);
		if (!running)
			return;
		vmm_answer_resets(vm);
		for (unsigned int i = 0; !stop && i < vm->ndevs; i++)
			if (vm->devs[i].restartable)
				vmm_check_suspect(vm, &vm->devs[i]);

		pfd[0] = (struct pollfd){ .fd = vm->ctl_fd, .events = POLLIN };
		for (unsigned int i = 0; !stop && i < vm->ndevs; i++) {
			struct vmm_dev *d = &vm->devs[i];
			int fd = d->restartable ? ioregion_vmm_get_fd(d->dev) : -1;

			if (fd < 0)
				continue;
			watched[n - 1] = d;
			pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
		left = ms_until(deadline);
		if (left <= 0 && !*timed_out) {
			fprintf(stderr, "%s: timeout: the guest ran for %u ms "
				"without finishing\n", vm->prog,
				vm->opts.timeout_ms);
			*timed_out = true;
			pthread_mutex_lock(&vm->lock);
			vmm_stop_locked(vm);
			pthread_mutex_unlock(&vm->lock);
		}
		if (poll(pfd, n, *timed_out ? 100 : left < 1000 ? (int)left + 1
						  : 1000) < 0 && errno != EINTR)
			continue;
		if ((pfd[0].revents & POLLIN) &&
		    read(vm->ctl_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another read took it */
		}
		for (unsigned int i = 1; i < n; i++) {
			struct vmm_dev *d = watched[i - 1];
			int rc;

			if (!pfd[i].revents)
				continue;
			rc = ioregion_vmm_check(d->dev);
			if (rc < 0)
				vmm_restart(vm, d, rc == -ECONNRESET ?
					    "its session ended" : strerror(-rc));
		}
	}
}
