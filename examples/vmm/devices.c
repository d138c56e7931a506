/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm: its device processes. Start them, receive their regions
 * (hand-off, ../devhost.c), register the regions with KVM_SET_IOREGION
 * where the kernel has it and always with the bridge, and print the
 * bridge's per-region statistics at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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

int
vmm_grant_arg(struct vmm_grant *g, const char *opt, const char *fmt, ...)
{
	va_list ap;

	if (g->nargs + 2 > DEVHOST_MAX_EXTRA_ARGS ||
	    g->nbufs >= sizeof(g->bufs) / sizeof(g->bufs[0]))
		return -ENOSPC;
	va_start(ap, fmt);
	vsnprintf(g->bufs[g->nbufs], sizeof(g->bufs[0]), fmt, ap);
	va_end(ap);
	g->args[g->nargs++] = opt;
	g->args[g->nargs++] = g->bufs[g->nbufs++];
	return 0;
}

int
vmm_grant_fd(struct vmm_grant *g, int fd)
{
	if (g->nfds >= VMM_GRANT_FDS)
		return -ENOSPC;
	g->fds[g->nfds++] = fd;
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

/* Start one --spawn device with what it was given (least privilege:
 * only what the options name it for). */
static int
vmm_spawn(struct vmm *vm, const char *cmdline)
{
	struct vmm_grant g = { .nargs = 0 };
	char name[VMM_NAME_MAX];

	if (vmm_device_name(cmdline, name) < 0)
		return devhost_spawn(&vm->host, cmdline);
	if (named(vm->opts.mem_for, vm->opts.nmem_for, name) &&
	    vmm_mem_grant(vm, &g) < 0)
		return -ENOSPC;
	if (vmm_irq_grant(vm, name, &g) < 0)
		return -ENOSPC;
	return devhost_spawn_with(&vm->host, cmdline, g.args, g.nargs, g.fds,
				  g.nfds);
}

/* Listen, start the --spawn devices, accept every device's hand-off. */
int
vmm_start_devices(struct vmm *vm)
{
	int rc;

	rc = devhost_listen(&vm->host, vm->prog, vm->opts.socket_path);
	if (rc < 0)
		return rc;
	vm->host_up = true;
	fprintf(stderr, "%s: listening on %s for %u device(s)\n", vm->prog,
		vm->host.socket_path, vm->opts.ndevices);
	for (unsigned int i = 0; i < vm->opts.nspawn; i++) {
		rc = vmm_spawn(vm, vm->opts.spawn[i]);
		if (rc < 0)
			return rc;
	}
	return devhost_accept(&vm->host, vm->opts.ndevices,
			      (int)vm->opts.timeout_ms);
}

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

int
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

void
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

