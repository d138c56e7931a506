/* SPDX-License-Identifier: MIT */
/*
 * The path a test harness expects tinyvmm to take: the library's own
 * probe of KVM_SET_IOREGION on a scratch VM, and the verdict on what
 * tinyvmm said it took. Shared by example-test and tests/linux/linux-test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/kvm.h"

#include "example-test.h"

struct kernel_path kpath;
const char *expect_path;

/* Probe on a scratch VM, as tinyvmm does on its own. No KVM: bridge (the
 * run then skips anyway). */
void
probe_kernel(void)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	int kvm, vm;

	kpath.fast = false;
	kpath.dialect = IOREGION_WIRE_V3;
	kvm = open(dev && *dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm >= 0) {
		kpath.fast = ioregion_kvm_probe_dialect(vm, &kpath.dialect) > 0;
		close(vm);
	}
	close(kvm);
}

/* tinyvmm said the path the kernel offers (and --expect-path's). */
int
path_verdict(const struct run *r)
{
	const char *me = program_invocation_short_name;
	const char *err = r->err.data ? r->err.data : "";
	bool fast = strstr(err, "path: ioregionfd fast path") != NULL;

	if (!strstr(err, "path: ")) {
		fprintf(stderr, "%s: tinyvmm did not say its path\n", me);
		return 1;
	}
	if (fast != kpath.fast) {
		fprintf(stderr, "%s: tinyvmm took the %s, but this "
			"kernel %s KVM_SET_IOREGION\n", me,
			fast ? "fast path" : "bridge",
			kpath.fast ? "has" : "has no");
		return 1;
	}
	if (expect_path && strcmp(expect_path, fast ? "fast" : "bridge")) {
		fprintf(stderr, "%s: path %s, --expect-path %s\n", me,
			fast ? "fast" : "bridge", expect_path);
		return 1;
	}
	fprintf(stderr, "%s: path: %s\n", me, fast ? "fast" : "bridge");
	return 0;
}

const char *
kernel_dialect_name(void)
{
	return kpath.dialect == IOREGION_WIRE_INFO ? "info" : "v3";
}
