/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's insides, shared by the files of examples/vmm/ (not by the
 * guests: their ABI is ../tinyvmm.h). One file per concern:
 *
 *   main.c     the program's flow
 *   options.c  the command line, usage()
 *   guest.c    KVM and the VM, the flat guest image, its page tables and
 *              GDT, the vCPUs' entry state
 *   cpuid.c    the CPUID of each vCPU (its APIC ID, the topology)
 *   linux.c    Linux mode (--kernel): the kernel, initrd and command line
 *              in guest RAM, the PIT, the firmware tables, vCPU 0's PVH
 *              entry state (memory map in linux.h)
 *   pvh.c      the PVH loader: the ELF checks, the hvm_start_info (no KVM)
 *   mptable.c  the MP table: local APICs, IOAPIC, ISA interrupts (no KVM)
 *   acpi.c     the ACPI tables, aml.c their AML encoder (no KVM)
 *   pm.c       the ACPI PM1 registers those tables name (Linux mode)
 *   vcpu.c     vCPU threads, exit handling, the end of the run
 *   memory.c   guest RAM: a sealed memfd, KVM's slot, a device's slot
 *   irq.c      the in-kernel irqchip, the devices' interrupt lines
 *              (irqfds, or wired to nothing)
 *   devices.c  device processes: their configs, attach with the control
 *              session (fast path / bridge), the region table, the end,
 *              statistics
 *   control.c  the control thread during the run: restarts (--restart),
 *              the guest's reset requests, the run's deadline
 *   inblk.c    --in-vmm-blk: virtio-blk linked in and served in the vCPU
 *              threads (the in-VMM baseline)
 */
#ifndef EXAMPLES_VMM_VMM_H
#define EXAMPLES_VMM_VMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ioregion/vmm.h"
#include "ioregion/wire.h"

#include "devhost.h"
#include "linux.h"
#include "pm.h"
#include "tinyvmm.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_SPAWN DEVHOST_MAX_DEVICES
#define VMM_NAME_MAX 32			/* a device's name: see vmm_device_name */
#define VMM_MAX_IRQS 8
#define VMM_MAX_GSI 23			/* the IOAPIC's last pin */
#define VMM_MAX_REGIONS 64
#define VMM_MAX_RESTARTS 16		/* per device and run */
#define VMM_RESTART_WAIT_MS 10000	/* a vCPU's wait for a restart */

struct vmm;
struct vmm_acpi_mmio;
struct inblk;
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
	const char *kernel;		/* --kernel: Linux mode */
	const char *initrd;
	const char *cmdline;
	unsigned int mem_mib;		/* --mem */
	const char *virtio[MAX_SPAWN];	/* --virtio: device names */
	unsigned int nvirtio;
	bool timeout_set;
	const char *socket_path;
	const char *spawn[MAX_SPAWN];
	unsigned int nspawn;
	unsigned int ndevices;
	bool ndevices_set;
	unsigned int nvcpus;
	unsigned int timeout_ms;
	unsigned int bridge_timeout_ms;
	bool no_ioregionfd;
	uint32_t dialect;		/* --dialect; 0: the kernel's, or v3 */
	const char *mem_for[MAX_SPAWN];	/* --mem-for: device names */
	unsigned int nmem_for;
	const char *restart[MAX_SPAWN];	/* --restart: device names */
	unsigned int nrestart;
	const char *in_vmm_blk;		/* --in-vmm-blk IMAGE */
};

/* One interrupt line (--irq NAME=GSI): the next line device NAME asks
 * for. Its irqfd is made when the device asks (its trigger is the
 * device's) and kept across the device's restarts. */
struct vmm_irq_line {
	char device[VMM_NAME_MAX];	/* the --spawn device it is for */
	unsigned int gsi;
	bool level;			/* as the device asked */
	int trigger_fd;			/* -1 until assigned */
	int resample_fd;		/* level lines; -1 */
};

/* One device process and its control session. */
struct vmm_dev {
	struct vmm *vm;
	int which;			/* its devhost index, or DEVHOST_SHARED */
	char name[VMM_NAME_MAX];	/* from --spawn (or its HELLO) */
	struct ioregion_vmm_device *dev;
	struct ioregion_vmm_config cfg;
	struct ioregion_vmm_slot slot;	/* its guest RAM (--mem-for) */
	unsigned int nlines;		/* lines it asked for so far */
	bool restartable;		/* --restart */
	bool keeps_state;		/* its HELLO: not reset, accesses wait */
	unsigned int restarts;
	atomic_uint_fast64_t gap_accesses;	/* answered while it was gone */
	atomic_uint_fast64_t gap_waits;	/* made again after its restart */
	/* A vCPU saw its channel fail: 1 + the restart epoch it saw. */
	atomic_uint_fast64_t suspect;
};

/* A region as attached (they stay the same across restarts), for the
 * vCPUs' messages and the statistics. */
struct vmm_region {
	struct ioregion_desc desc;
	char name[IOREGION_SESSION_NAME_MAX];
	struct vmm_dev *dev;
};

/* Linux mode: the kernel file while it is loaded, the initrd. */
struct vmm_linux {
	uint8_t *file;			/* the whole vmlinux, until loaded */
	size_t len;
	struct pvh_kernel kernel;
	int initrd_fd;
	uint64_t initrd_gpa, initrd_size;
	uint64_t rsdp_gpa;		/* the ACPI tables' RSDP, or 0 */
};

/* Accesses no device claimed, per address: the first VMM_UNCLAIMED_SLOTS
 * addresses seen (a slot's addr is published after its space). */
#define VMM_UNCLAIMED_SLOTS 16
struct vmm_unclaimed {
	_Atomic uint64_t key;		/* 0: free; else addr << 1 | pio, + 1 */
	atomic_uint_fast64_t count;
};

/* The VM: one per program run. */
struct vmm {
	const char *prog;
	struct vmm_opts opts;
	int kvm_fd;
	int vm_fd;
	int mem_fd;			/* guest RAM: memfd, sealed */
	uint8_t *mem;			/* its mapping, mem_size bytes */
	size_t mem_size;		/* TINYVMM_RAM_SIZE, or --mem */
	bool linux_mode;		/* --kernel */
	struct vmm_linux lnx;
	size_t run_size;
	struct kvm_cpuid2 *cpuid;
	struct devhost host;
	bool host_up;			/* host listening: finish it at the end */
	struct ioregion_bridge *bridge;
	bool fast_path;
	enum ioregion_wire_dialect dialect;	/* the devices' */
	struct ioregion_vmm_config hand_cfg;	/* devices started by hand */

	struct vmm_dev devs[DEVHOST_MAX_DEVICES];
	unsigned int ndevs;
	struct vmm_region regions[VMM_MAX_REGIONS];
	unsigned int nregions;

	struct vmm_irq_line irqs[VMM_MAX_IRQS];
	unsigned int nirqs;		/* none: no irqchip either */

	struct vcpu vcpus[TINYVMM_MAX_VCPUS];

	int ctl_fd;			/* eventfd: the control thread, wake up */
	atomic_uint_fast64_t epoch;	/* restarts done */

	pthread_mutex_t lock;
	pthread_cond_t reset_cond;	/* reset_done moved, or stop */
	uint64_t reset_requested;	/* guest reset requests */
	uint64_t reset_done;		/* ... answered */
	unsigned int running;		/* vCPU threads not finished */
	bool stop;			/* every vCPU should stop */
	int guest_status;		/* -1 until the debug exit port */
	struct vmm_pm pm;		/* Linux mode: ACPI PM1 (pm.c) */
	bool powered_off;		/* ... the guest wrote S5 to it */
	int error;			/* first error: a TINYVMM_EXIT_* */
	atomic_uint_fast64_t unclaimed;
	struct inblk *inblk;		/* --in-vmm-blk, or NULL */
	struct vmm_unclaimed unclaimed_at[VMM_UNCLAIMED_SLOTS];
};

/* options.c: fill vm->opts (and the --irq lines, the memory size, the
 * mode) from the command line. 0, 1 after --help (usage printed), or -1
 * (a message or usage() printed). */
int vmm_parse_args(struct vmm *vm, int argc, char **argv);

/* Print "prog: what: strerror(errno)"; returns -TINYVMM_EXIT_ERROR. */
int vmm_fail(struct vmm *vm, const char *what);

/* guest.c. Each returns 0 or -TINYVMM_EXIT_* (message printed). */
int vmm_open_kvm(struct vmm *vm);
int vmm_create(struct vmm *vm);
int vcpu_create(struct vmm *vm, struct vcpu *v);
void vmm_destroy(struct vmm *vm);

/* cpuid.c: what KVM supports (once), then each vCPU's own (before it
 * runs). 0 or -TINYVMM_EXIT_ERROR (message printed). */
int vmm_cpuid_init(struct vmm *vm);
int vmm_cpuid_set(struct vmm *vm, struct vcpu *v);

/* linux.c, Linux mode. Each returns 0 or -TINYVMM_EXIT_ERROR (message
 * printed). open: read and check the kernel and the initrd (before KVM:
 * a bad file is an error anywhere); load: into guest RAM; pit: KVM's
 * PIT (after the irqchip); tables: the ACPI tables from the attached
 * devices and the hvm_start_info (after the devices); entry: vCPU 0's
 * PVH entry state (the others wait for INIT/SIPI). */
int vmm_linux_open(struct vmm *vm);
int vmm_linux_load(struct vmm *vm);
int vmm_linux_pit(struct vmm *vm);
int vmm_linux_tables(struct vmm *vm);
int vmm_linux_entry(struct vmm *vm, struct vcpu *v);
void vmm_linux_close(struct vmm *vm);

/* memory.c: guest RAM (0 or -TINYVMM_EXIT_ERROR); device @d's slot of it
 * (in its config, for --mem-for). */
int vmm_mem_create(struct vmm *vm);
void vmm_mem_give(struct vmm *vm, struct vmm_dev *d);
void vmm_mem_destroy(struct vmm *vm);

/* irq.c. parse: 0 or -1 (message printed); irqchip: 0 or
 * -TINYVMM_EXIT_ERROR; get_line: an ioregion_vmm_line_fn, data the
 * struct vmm_dev. */
int vmm_irq_parse(struct vmm *vm, const char *arg);
int vmm_irqchip_create(struct vmm *vm);
int vmm_irq_get_line(void *data, const char *device, unsigned int index,
		     const char *name, uint32_t trigger,
		     struct ioregion_vmm_line *line);
void vmm_irq_destroy(struct vmm *vm);

/* devices.c */
/* A device's name: the last part of its command's first word (--spawn
 * "/path/regbank --base 0x..." is regbank). 0, or -EINVAL if too long. */
int vmm_device_name(const char *cmdline, char name[VMM_NAME_MAX]);
/* Probe the kernel, start the devices, attach them (their regions go to
 * KVM and the bridge): 0 or -TINYVMM_EXIT_* (message printed). */
int vmm_start_devices(struct vmm *vm);
/* The region containing @addr in the given space, or NULL. */
const struct vmm_region *vmm_find_region(const struct vmm *vm, bool pio,
					 uint64_t addr);
/* Shut every device down (SHUTDOWN) and detach it. */
void vmm_stop_devices(struct vmm *vm);
void vmm_print_stats(struct vmm *vm);

/* control.c: during the run, on the main thread: watch the restartable
 * devices (and restart them), answer the guest's reset requests, end the
 * run at the deadline. Returns when no vCPU runs any more; *@timed_out
 * says whether the deadline ended it. */
void vmm_control(struct vmm *vm, const struct timespec *deadline,
		 bool *timed_out);
/* Wake the control thread up. */
void vmm_control_kick(struct vmm *vm);
/* Reset every device (the guest asked): 0 or the first error. */
int vmm_reset_devices(struct vmm *vm);

/* pm.c: in Linux mode, an I/O exit no device claimed that is the ACPI
 * PM1 block's (every repetition of it): 1 answered, 2 answered and the
 * guest powers off (S5), 0 not the block's. */
int vmm_pm_io(struct vmm *vm, struct kvm_run *run);

/* vcpu.c: start the vCPUs and wait for the end of the run; returns the
 * program's exit status. */
int vmm_run(struct vmm *vm);
/* Make every vCPU leave KVM_RUN and stop; called with vm->lock held. */
void vmm_stop_locked(struct vmm *vm);

/* inblk.c: the in-VMM virtio-blk of --in-vmm-blk (after guest RAM and the
 * irqchip; its line is --irq in-vmm-blk=GSI). start: 0 or
 * -TINYVMM_EXIT_ERROR (message printed), 0 without the option; exit:
 * whether it served the vCPU's exit; window: 1 with its MMIO window and
 * GSI in @w (an LNRO0005 device in the ACPI tables, as a --virtio
 * device's), 0 if there is none or it has no line; stop:
 * counters printed, everything closed. */
int vmm_inblk_start(struct vmm *vm);
bool vmm_inblk_exit(struct vmm *vm, struct kvm_run *run);
int vmm_inblk_window(struct vmm *vm, struct vmm_acpi_mmio *w);
void vmm_inblk_stop(struct vmm *vm);

#endif /* EXAMPLES_VMM_VMM_H */
