/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's insides, shared by the files of examples/vmm/ (not by the
 * guests: their ABI is ../tinyvmm.h). One file per concern:
 *
 *   main.c     options, program flow
 *   guest.c    KVM and the VM, the guest image, page tables, GDT, CPUID,
 *              the vCPUs' entry state
 *   vcpu.c     vCPU threads, exit handling, the end of the run
 *   memory.c   guest RAM: a sealed memfd, KVM's slot, a device's grant
 *   irq.c      the in-kernel irqchip, interrupt lines (irqfds) and their
 *              grants
 *   devices.c  device processes: what each is given (grants), hand-off,
 *              attach (fast path / bridge), statistics
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
#define VMM_NAME_MAX 32			/* a device's name: see vmm_device_name */
#define VMM_GRANT_FDS 8
#define VMM_MAX_IRQS 8
#define VMM_MAX_GSI 23			/* the IOAPIC's last pin */

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
	const char *mem_for[MAX_SPAWN];	/* --mem-for: device names */
	unsigned int nmem_for;
};

/*
 * What one device process gets besides its socket: fds it inherits and
 * the options on its command line that tell it their numbers. (A control
 * session will carry them instead.)
 */
struct vmm_grant {
	const char *args[DEVHOST_MAX_EXTRA_ARGS];
	char bufs[DEVHOST_MAX_EXTRA_ARGS / 2][24];
	unsigned int nargs;
	unsigned int nbufs;
	int fds[VMM_GRANT_FDS];
	unsigned int nfds;
};

/* One interrupt line (--irq NAME=GSI[,level]). */
struct vmm_irq_line {
	char device[VMM_NAME_MAX];	/* the --spawn device it is for */
	unsigned int gsi;
	bool level;
	int trigger_fd;			/* -1 until assigned */
	int resample_fd;		/* level lines; -1 */
};

/* The VM: one per program run. */
struct vmm {
	const char *prog;
	struct vmm_opts opts;
	int kvm_fd;
	int vm_fd;
	int mem_fd;			/* guest RAM: memfd, sealed */
	uint8_t *mem;			/* its mapping, TINYVMM_RAM_SIZE bytes */
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	struct devhost host;
	bool host_up;			/* host listening: finish it at the end */
	struct ioregion_bridge *bridge;
	bool fast_path;

	struct vmm_irq_line irqs[VMM_MAX_IRQS];
	unsigned int nirqs;		/* none: no irqchip either */

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

/* memory.c: guest RAM (0 or -TINYVMM_EXIT_ERROR); a device's grant of it
 * (0 or -ENOSPC). */
int vmm_mem_create(struct vmm *vm);
int vmm_mem_grant(struct vmm *vm, struct vmm_grant *g);
void vmm_mem_destroy(struct vmm *vm);

/* irq.c. parse: 0 or -1 (message printed); grant: 0 or -ENOSPC; the
 * others 0 or -TINYVMM_EXIT_ERROR. */
int vmm_irq_parse(struct vmm *vm, const char *arg);
int vmm_irqchip_create(struct vmm *vm);
int vmm_irq_assign(struct vmm *vm);
int vmm_irq_grant(struct vmm *vm, const char *device, struct vmm_grant *g);
void vmm_irq_destroy(struct vmm *vm);

/* devices.c */
/* A device's name: the last part of its command's first word (--spawn
 * "/path/regbank --base 0x..." is regbank). 0, or -EINVAL if too long. */
int vmm_device_name(const char *cmdline, char name[VMM_NAME_MAX]);
/* Add "@opt value" (value printf-formatted) or an fd to a grant: 0 or
 * -ENOSPC. */
int vmm_grant_arg(struct vmm_grant *g, const char *opt, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vmm_grant_fd(struct vmm_grant *g, int fd);
int vmm_start_devices(struct vmm *vm);
int vmm_attach_devices(struct vmm *vm);
void vmm_print_stats(struct vmm *vm);

/* vcpu.c: start the vCPUs and wait for the end of the run; returns the
 * program's exit status. */
int vmm_run(struct vmm *vm);

#endif /* EXAMPLES_VMM_VMM_H */
