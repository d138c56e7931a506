/* SPDX-License-Identifier: MIT */
/*
 * tinyvmm's command line: the options, their checks against each other
 * (a device named by --mem-for, --restart, --irq or --virtio must be a
 * --spawn device), the defaults of Linux mode, and usage().
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioregion/wire.h"

#include "inblk.h"
#include "vmm.h"

enum {
	OPT_GUEST = 0x100,
	OPT_SOCKET,
	OPT_DEVICES,
	OPT_VCPUS,
	OPT_TIMEOUT,
	OPT_BRIDGE_TIMEOUT,
	OPT_NO_IOREGIONFD,
	OPT_SPAWN,
	OPT_MEM_FOR,
	OPT_IRQ,
	OPT_RESTART,
	OPT_DIALECT,
	OPT_IN_VMM_BLK,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_VIRTIO,
	OPT_HELP,
};

static void
usage(const char *prog, FILE *f)
{
	fprintf(f,
		"usage: %s --guest FILE.bin [options]\n"
		"       %s --kernel VMLINUX [--initrd FILE] [--cmdline STR]\n"
		"                [--mem MIB] [--virtio NAME]... [options]\n"
		"  --guest FILE        flat 64-bit guest image (see tinyvmm.h)\n"
		"Linux mode:\n"
		"  --kernel VMLINUX    an uncompressed ELF kernel with a PVH entry\n"
		"                      note (CONFIG_PVH=y), entered in 32-bit\n"
		"                      protected mode; KVM's irqchip and PIT, ACPI\n"
		"                      tables for the vCPUs and --virtio devices\n"
		"  --initrd FILE       the initramfs, at the top of RAM\n"
		"  --cmdline STR       the kernel's command line (default:\n"
		"                      \"%s\")\n"
		"  --mem MIB           guest RAM (%d..%d, default %d)\n"
		"  --virtio NAME       the --spawn device NAME is virtio-mmio: its\n"
		"                      first MMIO region and its first --irq GSI go\n"
		"                      into the ACPI tables (repeatable)\n"
		"  (the default --timeout-ms is %d in Linux mode)\n"
		"Options:\n"
		"  --socket PATH       listen here for device processes\n"
		"                      (default: a private temporary folder)\n"
		"  --spawn \"CMD ARGS\"  start a device process (repeatable); it\n"
		"                      gets --socket-path PATH (a socket of its\n"
		"                      own) appended\n"
		"  --devices N         device processes to wait for (default:\n"
		"                      the number of --spawn)\n"
		"  --vcpus K           vCPU threads (1..%d, default 1)\n"
		"  --timeout-ms T      bound on the whole run (default %d)\n"
		"  --bridge-timeout-ms T  bound on one device response\n"
		"  --no-ioregionfd     use the bridge even if KVM has ioregionfd\n"
		"  --dialect v3|info   the wire dialect on the bridge (default v3;\n"
		"                      the fast path speaks the kernel's)\n"
		"  --mem-for NAME      give the --spawn device NAME (its command's\n"
		"                      file name) guest RAM, one slot of the memfd,\n"
		"                      if it asks for memory (repeatable)\n"
		"  --irq NAME=GSI      wire the next interrupt line the --spawn\n"
		"                      device NAME asks for to GSI (in-kernel\n"
		"                      irqchip, KVM_IRQFD; repeatable); lines no\n"
		"                      --irq wires reach nothing\n"
		"  --restart NAME      when the --spawn device NAME dies, start it\n"
		"                      again and re-attach it while the guest runs\n"
		"                      (its accesses meanwhile: the bridge's error,\n"
		"                      reads all-ones), then reset it (repeatable)\n"
		"  --in-vmm-blk IMAGE  virtio-blk on IMAGE linked in, served in the\n"
		"                      vCPU threads at mmio 0xd0002000+0x200 (the\n"
		"                      in-VMM baseline); its line: --irq in-vmm-blk=GSI\n"
		"Debug ports (1-byte OUT): 0x%x exit with that status, 0x%x reset\n"
		"every device, 0x%x print a mark.\n"
		"Exit status: the guest's debug-exit byte; %d no KVM,\n"
		"%d timeout, %d error (also: a bad kernel or initrd, a guest that\n"
		"shut down: a triple fault, or a Linux guest's reboot or panic).\n"
		"IOREGION_KVM_DEV overrides /dev/kvm.\n",
		prog, prog, LINUX_DEFAULT_CMDLINE, LINUX_MEM_MIN_MIB,
		LINUX_MEM_MAX_MIB, LINUX_MEM_DEFAULT_MIB, LINUX_TIMEOUT_MS,
		TINYVMM_MAX_VCPUS, DEFAULT_TIMEOUT_MS,
		TINYVMM_DEBUG_EXIT_PORT, TINYVMM_RESET_PORT, TINYVMM_MARK_PORT,
		TINYVMM_EXIT_SKIP,
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

/* How many --spawn devices are called @name. */
static unsigned int
spawned_count(const struct vmm_opts *o, const char *name)
{
	char n[VMM_NAME_MAX];
	unsigned int count = 0;

	for (unsigned int i = 0; i < o->nspawn; i++)
		if (vmm_device_name(o->spawn[i], n) == 0 && !strcmp(n, name))
			count++;
	return count;
}

/* Linux mode's options, and their defaults. */
static int
parse_linux_args(struct vmm *vm)
{
	struct vmm_opts *o = &vm->opts;

	vm->linux_mode = o->kernel != NULL;
	if (!vm->linux_mode) {
		if (o->initrd || o->cmdline || o->mem_mib || o->nvirtio) {
			fprintf(stderr, "%s: --initrd, --cmdline, --mem and "
				"--virtio are for --kernel\n", vm->prog);
			return -1;
		}
		vm->mem_size = TINYVMM_RAM_SIZE;
		return 0;
	}
	if (!o->cmdline)
		o->cmdline = LINUX_DEFAULT_CMDLINE;
	if (!o->mem_mib)
		o->mem_mib = LINUX_MEM_DEFAULT_MIB;
	vm->mem_size = (size_t)o->mem_mib << 20;
	if (!o->timeout_set)
		o->timeout_ms = LINUX_TIMEOUT_MS;
	for (unsigned int i = 0; i < o->nvirtio; i++) {
		bool wired = false;

		if (spawned_count(o, o->virtio[i]) != 1) {
			fprintf(stderr, "%s: --virtio %s: want exactly one "
				"--spawn device of that name\n", vm->prog,
				o->virtio[i]);
			return -1;
		}
		for (unsigned int j = 0; j < vm->nirqs; j++)
			wired |= !strcmp(vm->irqs[j].device, o->virtio[i]);
		if (!wired) {
			fprintf(stderr, "%s: --virtio %s: its interrupt needs an "
				"--irq %s=GSI\n", vm->prog, o->virtio[i],
				o->virtio[i]);
			return -1;
		}
	}
	return 0;
}

int
vmm_parse_args(struct vmm *vm, int argc, char **argv)
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
		{ "mem-for", required_argument, NULL, OPT_MEM_FOR },
		{ "irq", required_argument, NULL, OPT_IRQ },
		{ "restart", required_argument, NULL, OPT_RESTART },
		{ "dialect", required_argument, NULL, OPT_DIALECT },
		{ "in-vmm-blk", required_argument, NULL, OPT_IN_VMM_BLK },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "virtio", required_argument, NULL, OPT_VIRTIO },
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
			o->timeout_set = true;
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
		case OPT_MEM_FOR:
			if (o->nmem_for >= MAX_SPAWN) {
				fprintf(stderr, "%s: at most %d --mem-for\n",
					vm->prog, MAX_SPAWN);
				return -1;
			}
			o->mem_for[o->nmem_for++] = optarg;
			break;
		case OPT_IRQ:
			if (vmm_irq_parse(vm, optarg) < 0)
				return -1;
			break;
		case OPT_RESTART:
			if (o->nrestart >= MAX_SPAWN) {
				fprintf(stderr, "%s: at most %d --restart\n",
					vm->prog, MAX_SPAWN);
				return -1;
			}
			o->restart[o->nrestart++] = optarg;
			break;
		case OPT_IN_VMM_BLK:
			o->in_vmm_blk = optarg;
			break;
		case OPT_DIALECT:
			if (!strcmp(optarg, "v3")) {
				o->dialect = IOREGION_WIRE_V3;
			} else if (!strcmp(optarg, "info")) {
				o->dialect = IOREGION_WIRE_INFO;
			} else {
				fprintf(stderr, "%s: --dialect is v3 or info, "
					"not '%s'\n", vm->prog, optarg);
				return -1;
			}
			break;
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_INITRD:
			o->initrd = optarg;
			break;
		case OPT_CMDLINE:
			o->cmdline = optarg;
			break;
		case OPT_MEM:
			if (parse_uint(vm->prog, "--mem", optarg,
				       LINUX_MEM_MIN_MIB, LINUX_MEM_MAX_MIB,
				       &o->mem_mib))
				return -1;
			break;
		case OPT_VIRTIO:
			if (o->nvirtio >= MAX_SPAWN) {
				fprintf(stderr, "%s: at most %d --virtio\n",
					vm->prog, MAX_SPAWN);
				return -1;
			}
			o->virtio[o->nvirtio++] = optarg;
			break;
		case OPT_HELP:
			usage(vm->prog, stdout);
			return 1;
		default:
			usage(vm->prog, stderr);
			return -1;
		}
	}
	if (optind < argc || !o->guest == !o->kernel) {
		usage(vm->prog, stderr);
		return -1;
	}
	if (parse_linux_args(vm) < 0)
		return -1;
	for (unsigned int i = 0; i < o->nmem_for; i++)
		if (spawned_count(o, o->mem_for[i]) == 0) {
			fprintf(stderr, "%s: --mem-for %s: no --spawn device "
				"of that name\n", vm->prog, o->mem_for[i]);
			return -1;
		}
	for (unsigned int i = 0; i < o->nrestart; i++)
		if (spawned_count(o, o->restart[i]) == 0) {
			fprintf(stderr, "%s: --restart %s: no --spawn device "
				"of that name\n", vm->prog, o->restart[i]);
			return -1;
		}
	for (unsigned int i = 0; i < vm->nirqs; i++)
		if (spawned_count(o, vm->irqs[i].device) != 1 &&
		    !(o->in_vmm_blk && !strcmp(vm->irqs[i].device, INBLK_NAME))) {
			fprintf(stderr, "%s: --irq %s=%u: want exactly one "
				"--spawn device of that name\n", vm->prog,
				vm->irqs[i].device, vm->irqs[i].gsi);
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
