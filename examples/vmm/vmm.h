/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's insides, shared by the files of examples/vmm/ (not by the
 * guests: their ABI is ../tinyvmm.h). One file per concern:
 *
 *   main.c     options, program flow
 *   guest.c    KVM and the VM, the guest image, page tables, GDT, CPUID,
 *              the vCPUs' entry state
 *   vcpu.c     vCPU threads, exit handling, the end of the run
 *   devices.c  device processes: hand-off, attach (fast path / bridge),
 *              statistics
 */
#ifndef EXAMPLES_VMM_VMM_H
#define EXAMPLES_VMM_VMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devhost.h"
#include "tinyvmm.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_SPAWN DEVHOST_MAX_DEVICES

struct vmm;
struct kvm_run;
struct kvm_cpuid2;

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
	bool host_up;			/* host listening: finish it at the end */
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

/* Print "prog: what: strerror(errno)"; returns -TINYVMM_EXIT_ERROR. */
int vmm_fail(struct vmm *vm, const char *what);

/* guest.c. Each returns 0 or -TINYVMM_EXIT_* (message printed). */
int vmm_open_kvm(struct vmm *vm);
int vmm_create(struct vmm *vm);
int vcpu_create(struct vmm *vm, struct vcpu *v);
void vmm_destroy(struct vmm *vm);

/* devices.c */
int vmm_start_devices(struct vmm *vm);
int vmm_attach_devices(struct vmm *vm);
void vmm_print_stats(struct vmm *vm);

/* vcpu.c: start the vCPUs and wait for the end of the run; returns the
 * program's exit status. */
int vmm_run(struct vmm *vm);

#endif /* EXAMPLES_VMM_VMM_H */
