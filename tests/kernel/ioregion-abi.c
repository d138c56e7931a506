/* SPDX-License-Identifier: MIT */
/*
 * ioregion-abi: kernel tests of KVM_SET_IOREGION (kernel/ patch), in the
 * style of the KVM selftests: the ioctl's argument checks, and real-mode
 * guests whose MMIO and PIO accesses KVM carries over a socket to a device
 * thread (or child process) of this program.
 *
 * Every guest access to a region must arrive as the exact 32-byte command
 * (wire v3, docs/wire-protocol.md) and must NOT reach this program as a
 * KVM_EXIT_MMIO/KVM_EXIT_IO, except where the patch falls back on purpose
 * (non-blocking fd, hang-up, device killed or too slow, a failed file).
 *
 * The groups: abi-args.c, abi-guest.c, abi-fallback.c, abi-vcpus.c; the
 * shared helpers (VM, device thread, vCPU loop) in abi-common.c.
 *
 * Usage: ioregion-abi [TEST...]   (default: all; --list names them)
 * Exit status: 0 pass, 1 a check failed, 77 no /dev/kvm or no
 * KVM_SET_IOREGION (ENOTTY: stock kvm modules).
 * Environment: IOREGION_KVM_DEV (default /dev/kvm).
 */
#include "abi.h"

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "args", test_args },
	{ "release", test_release },
	{ "guest", test_guest },
	{ "signal", test_signal },
	{ "string-signal", test_string_signal },
	{ "nonblock", test_nonblock },
	{ "closed", test_closed },
	{ "killed", test_killed },
	{ "stall", test_stall },
	{ "two-vcpus", test_two_vcpus },
	{ "remove-waiting", test_remove_waiting },
	{ "remove-late", test_remove_late },
};
#define NTESTS (sizeof(tests) / sizeof(tests[0]))

int main(int argc, char **argv)
{
	const char *dev = getenv("IOREGION_KVM_DEV");
	struct ioregion_kvm_ioregion probe;
	struct sigaction sa;
	int vm, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < NTESTS; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (!dev || !*dev)
		dev = "/dev/kvm";
	kvm_dev_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm_dev_fd < 0) {
		printf("ioregion-abi: SKIP: cannot open %s: %s\n", dev, strerror(errno));
		return EXIT_SKIP;
	}
	vm = ioctl(kvm_dev_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	memset(&probe, 0, sizeof(probe));
	probe.read_fd = probe.write_fd = -2;
	rc = ioctl(vm, IOREGION_KVM_SET_IOREGION, &probe) < 0 ? errno : 0;
	if (rc == ENOTTY) {
		enum ioregion_wire_dialect d;
		int lib = ioregion_kvm_probe_dialect(vm, &d);

		close(vm);
		if (lib != 0) {
			printf("ioregion-abi: FAIL: no KVM_SET_IOREGION (ENOTTY), but "
			       "ioregion_kvm_probe_dialect() = %d (want 0, absent)\n", lib);
			return EXIT_FAILURE;
		}
		printf("ioregion-abi: SKIP: this kernel has no KVM_SET_IOREGION (ENOTTY): "
		       "stock kvm modules, not the kernel/ patch (the library's probe "
		       "agrees: absent)\n");
		return EXIT_SKIP;
	}
	close(vm);
	if (rc != EINVAL) {
		printf("ioregion-abi: FAIL: KVM_SET_IOREGION probe gave %s, want EINVAL\n",
		       strerror(rc));
		return EXIT_FAILURE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* interrupts KVM_RUN, no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);	/* a stray SIGPIPE must kill: shows up */

	for (size_t i = 0; i < NTESTS; i++) {
		int run = argc == 1;

		for (int j = 1; j < argc; j++)
			run |= strcmp(argv[j], tests[i].name) == 0;
		if (!run)
			continue;
		cur_test = tests[i].name;
		tests[i].fn();
	}
	printf("ioregion-abi: %s: %d checks, %d failed\n", failures ? "FAIL" : "PASS",
	       checks, failures);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

