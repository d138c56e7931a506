/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: its device processes. Probe the kernel once, start the
 * devices, attach each with the library's control session
 * (ioregion_vmm_accept(), through ../devhost.c): it checks the peer's
 * uid, tells the device the wire dialect, registers its regions with
 * KVM_SET_IOREGION where the kernel has it (the bridge then gets the
 * fallback channels) and always with the bridge, and gives the device
 * its interrupt lines (--irq) and guest memory (--mem-for). At the end:
 * SHUTDOWN, and the bridge's per-region statistics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "logging.h"
#include "ioregion/bridge.h"
#include "ioregion/kvm.h"

#include "vmm.h"

int
vmm_device_name(const char *cmdline, char name[VMM_NAME_MAX])
{
	size_t start, end;

	cmdline += strspn(cmdline, " \t");
	end = strcspn(cmdline, " \t");
	for (start = end; start > 0 && cmdline[start - 1] != '/'; start--)
		;
	if (end - start >= VMM_NAME_MAX)
		return -EINVAL;
	memcpy(name, cmdline + start, end - start);
	name[end - start] = '\0';
	return 0;
}

static bool
named(const char *const *names, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static const char *
dialect_name(uint32_t dialect)
{
	return dialect == IOREGION_WIRE_INFO ? "info" : "v3";
}

/* Which path, in which dialect: only the VMM knows the kernel, and asks
 * it once. */
static int
vmm_choose_path(struct vmm *vm)
{
	enum ioregion_wire_dialect kd = IOREGION_WIRE_V3;
	int probe = 0;

	if (!vm->opts.no_ioregionfd)
		probe = ioregion_kvm_probe_dialect(vm->vm_fd, &kd);
	vm->fast_path = probe > 0;
	if (vm->fast_path && vm->opts.dialect && vm->opts.dialect != kd) {
		fprintf(stderr, "%s: --dialect %s, but this kernel's "
			"KVM_SET_IOREGION speaks %s: refused (the bridge "
			"speaks either: --no-ioregionfd)\n", vm->prog,
			dialect_name(vm->opts.dialect), dialect_name(kd));
		return -TINYVMM_EXIT_ERROR;
	}
	vm->dialect = vm->fast_path ? kd : vm->opts.dialect ?
		      (enum ioregion_wire_dialect)vm->opts.dialect :
		      IOREGION_WIRE_V3;
	if (vm->fast_path)
		fprintf(stderr, "%s: path: ioregionfd fast path "
			"(KVM_SET_IOREGION present, %s dialect; bridge on the "
			"fallback channels)\n", vm->prog, dialect_name(kd));
	else if (vm->opts.no_ioregionfd)
		fprintf(stderr, "%s: path: bridge (--no-ioregionfd, %s "
			"dialect)\n", vm->prog, dialect_name(vm->dialect));
	else if (probe < 0)
		fprintf(stderr, "%s: path: bridge (the KVM_SET_IOREGION "
			"probe failed: %s; the kernel answered neither as a "
			"stock nor as a patched kernel)\n", vm->prog,
			strerror(-probe));
	else
		fprintf(stderr, "%s: path: bridge (KVM_SET_IOREGION absent, "
			"%s dialect)\n", vm->prog, dialect_name(vm->dialect));
	return 0;
}

/* What every device gets: the bridge, and KVM on the fast path. */
static struct ioregion_vmm_config
vmm_base_config(struct vmm *vm)
{
	return (struct ioregion_vmm_config){
		.bridge = vm->bridge,
		.vm_fd = vm->fast_path ? vm->vm_fd : -1,
		.dialect = vm->dialect,
		.log_handler = log_to_stderr,
		.log_data = (void *)vm->prog,
	};
}

static const struct ioregion_vmm_config *
vmm_config_for(void *data, int which)
{
	struct vmm *vm = data;

	return which == DEVHOST_SHARED ? &vm->hand_cfg : &vm->devs[which].cfg;
}

/* Start the --spawn device @i with its config (least privilege: lines
 * and memory only where the options name it). */
static int
vmm_spawn(struct vmm *vm, unsigned int i)
{
	struct vmm_dev *d = &vm->devs[i];
	int rc;

	d->vm = vm;
	if (vmm_device_name(vm->opts.spawn[i], d->name) < 0)
		snprintf(d->name, sizeof(d->name), "device%u", i);
	d->cfg = vmm_base_config(vm);
	d->cfg.get_line = vmm_irq_get_line;
	d->cfg.data = d;
	d->restartable = named(vm->opts.restart, vm->opts.nrestart, d->name);
	if (named(vm->opts.mem_for, vm->opts.nmem_for, d->name))
		vmm_mem_give(vm, d);
	rc = devhost_spawn(&vm->host, vm->opts.spawn[i]);
	if (rc < 0)
		return rc;
	d->which = rc;
	return 0;
}

/* Note the regions of device @d for the vCPUs and the statistics. */
static int
vmm_note_regions(struct vmm *vm, struct vmm_dev *d)
{
	unsigned int n = ioregion_vmm_get_nregions(d->dev);

	for (unsigned int i = 0; i < n; i++) {
		struct vmm_region *r = &vm->regions[vm->nregions];
		const char *name;

		if (vm->nregions >= VMM_MAX_REGIONS) {
			fprintf(stderr, "%s: more than %d regions\n", vm->prog,
				VMM_MAX_REGIONS);
			return -TINYVMM_EXIT_ERROR;
		}
		if (ioregion_vmm_get_region(d->dev, i, &r->desc, &name) < 0)
			continue;
		snprintf(r->name, sizeof(r->name), "%s", *name ? name :
			 "unnamed");
		r->dev = d;
		vm->nregions++;
		fprintf(stderr,
			"%s: region %-12s %s 0x%" PRIx64 "+0x%" PRIx64 "%s%s\n",
			vm->prog, r->name,
			(r->desc.flags & IOREGION_F_PIO) ? "pio " : "mmio",
			r->desc.addr, r->desc.size,
			(r->desc.flags & IOREGION_F_POSTED_WRITES) ?
				" posted-writes" : "",
			ioregion_vmm_is_fast_path(d->dev) == 1 ?
				" +fallback" : "");
	}
	return 0;
}

int
vmm_start_devices(struct vmm *vm)
{
	struct ioregion_vmm_device *devs[DEVHOST_MAX_DEVICES] = { NULL };
	int rc;

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
	rc = vmm_choose_path(vm);
	if (rc < 0)
		return rc;
	/* Devices started by hand: no lines (wired to nothing), no memory. */
	vm->hand_cfg = vmm_base_config(vm);
	vm->hand_cfg.get_line = devhost_unwired_line_fn;
	vm->hand_cfg.data = &vm->host;

	rc = devhost_listen(&vm->host, vm->prog, vm->opts.socket_path);
	if (rc < 0)
		return -TINYVMM_EXIT_ERROR;
	vm->host_up = true;
	fprintf(stderr, "%s: listening on %s for %u device(s)\n", vm->prog,
		vm->host.socket_path, vm->opts.ndevices);
	for (unsigned int i = 0; i < vm->opts.nspawn; i++) {
		rc = vmm_spawn(vm, i);
		if (rc < 0)
			return -TINYVMM_EXIT_ERROR;
	}
	vm->ndevs = vm->opts.ndevices;
	for (unsigned int i = vm->opts.nspawn; i < vm->ndevs; i++)
		vm->devs[i] = (struct vmm_dev){ .vm = vm,
						.which = DEVHOST_SHARED };
	rc = devhost_attach_all(&vm->host, vm->ndevs - vm->opts.nspawn,
				vmm_config_for, vm, (int)vm->opts.timeout_ms,
				devs);
	for (unsigned int i = 0; i < vm->ndevs; i++)
		vm->devs[i].dev = devs[i];
	if (rc < 0)
		return -TINYVMM_EXIT_ERROR;
	for (unsigned int i = 0; i < vm->ndevs; i++) {
		struct vmm_dev *d = &vm->devs[i];

		if (d->which == DEVHOST_SHARED)
			snprintf(d->name, sizeof(d->name), "%s",
				 ioregion_vmm_get_name(d->dev));
		d->keeps_state = ioregion_vmm_keeps_state(d->dev) == 1;
		if (vmm_note_regions(vm, d) < 0)
			return -TINYVMM_EXIT_ERROR;
	}
	return 0;
}

const struct vmm_region *
vmm_find_region(const struct vmm *vm, bool pio, uint64_t addr)
{
	for (unsigned int i = 0; i < vm->nregions; i++) {
		const struct vmm_region *r = &vm->regions[i];

		if (!!(r->desc.flags & IOREGION_F_PIO) != pio)
			continue;
		if (addr >= r->desc.addr && addr - r->desc.addr < r->desc.size)
			return r;
		if (r->desc.size == 0 && addr == r->desc.addr)
			return r;
	}
	return NULL;
}

void
vmm_stop_devices(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->ndevs; i++) {
		struct vmm_dev *d = &vm->devs[i];

		/* SHUTDOWN ends the device's session: it exits. */
		if (d->dev && ioregion_vmm_get_fd(d->dev) >= 0)
			(void)ioregion_vmm_shutdown(d->dev);
		ioregion_vmm_destroy(d->dev);
		d->dev = NULL;
	}
}

void
vmm_print_stats(struct vmm *vm)
{
	for (unsigned int i = 0; i < vm->nregions; i++) {
		const struct vmm_region *r = &vm->regions[i];
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
	for (unsigned int i = 0; i < vm->ndevs; i++) {
		const struct vmm_dev *d = &vm->devs[i];

		if (d->restartable)
			fprintf(stderr, "%s: device %s: restarted %u time(s), "
				"%" PRIu64 " accesses answered all-ones while "
				"it was gone, %" PRIu64 " made again after its "
				"restart\n", vm->prog, d->name, d->restarts,
				(uint64_t)atomic_load(&d->gap_accesses),
				(uint64_t)atomic_load(&d->gap_waits));
	}
	if (atomic_load(&vm->unclaimed)) {
		fprintf(stderr, "%s: accesses to no device: %" PRIu64,
			vm->prog, (uint64_t)atomic_load(&vm->unclaimed));
		for (unsigned int i = 0; i < VMM_UNCLAIMED_SLOTS; i++) {
			const struct vmm_unclaimed *u = &vm->unclaimed_at[i];
			uint64_t key = atomic_load(&u->key) - 1;

			if (key == UINT64_MAX)
				break;
			fprintf(stderr, "%s %s 0x%" PRIx64 " x%" PRIu64,
				i ? "," : " (first addresses:",
				(key & 1) ? "pio" : "mmio", key >> 1,
				(uint64_t)atomic_load(&u->count));
		}
		fprintf(stderr, "%s\n", atomic_load(&vm->unclaimed_at[0].key) ?
			")" : "");
	}
}
