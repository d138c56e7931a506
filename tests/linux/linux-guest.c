/* SPDX-License-Identifier: MIT */
/* What linux-test and linux-bench share (linux-guest.h). */
#include "linux-guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
linux_kvm_usable(const char *prog)
{
	const char *kvm_dev = getenv("IOREGION_KVM_DEV");

	if (!kvm_dev || !*kvm_dev)
		kvm_dev = "/dev/kvm";
	if (access(kvm_dev, R_OK | W_OK)) {
		fprintf(stderr, "%s: SKIP: no usable %s: %s\n", prog, kvm_dev,
			strerror(errno));
		return SKIP;
	}
	return 0;
}

int
linux_tmpdir(const char *prog, char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prog);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: mkdtemp %s: %s\n", prog, dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

void
linux_args_boot(struct run *r, const char *tinyvmm, const char *kernel,
		const char *initrd, const char *cmdline, const char *uart)
{
	arg(r, tinyvmm);
	arg(r, "--kernel");
	arg(r, kernel);
	arg(r, "--initrd");
	arg(r, initrd);
	arg(r, "--cmdline");
	arg(r, cmdline);
	arg(r, "--mem");
	arg(r, "256");
	linux_args_spawn(r, uart, "--no-stdin");
	arg(r, "--irq");
	arg(r, "uart16550=4");
}

void
linux_args_spawn(struct run *r, const char *prog, const char *args)
{
	arg(r, "--spawn");
	arg_owned(r, cmd(prog, args));
}

void
linux_args_vblk(struct run *r, const char *irq)
{
	arg(r, "--mem-for");
	arg(r, "virtio-blk");
	arg(r, "--irq");
	arg(r, irq);
	arg(r, "--virtio");
	arg(r, "virtio-blk");
}
