/* SPDX-License-Identifier: MIT */
/*
 * vm-misbehave: test programs for the VM runner's self-test (tests/vm/selftest).
 * Each mode prints a line first, so the runner's output capture is checked too.
 *
 *   pass              exit 0
 *   fail              exit 1
 *   skip              exit 77
 *   segv              die of SIGSEGV (a real NULL store, not a raise())
 *   hang              sleep forever (the guest-side per-test timeout must fire)
 *   env NAME VALUE    exit 0 iff getenv(NAME) equals VALUE
 *   file PATH         exit 0 iff PATH is a readable regular file
 *   kmsg TEXT         write TEXT into the kernel log (/dev/kmsg), exit 0: the
 *                     runner must notice a "WARNING:" there
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	printf("vm-misbehave: mode '%s' (pid %d)\n", mode, (int)getpid());
	fflush(stdout);
	if (strcmp(mode, "pass") == 0)
		return 0;
	if (strcmp(mode, "fail") == 0) {
		printf("vm-misbehave: failing on purpose\n");
		return 1;
	}
	if (strcmp(mode, "skip") == 0)
		return 77;
	if (strcmp(mode, "segv") == 0) {
		volatile int *volatile p = NULL;

		*p = 42;
		return 3; /* not reached */
	}
	if (strcmp(mode, "hang") == 0) {
		for (;;)
			pause();
	}
	if (strcmp(mode, "env") == 0 && argc == 4) {
		const char *v = getenv(argv[2]);

		printf("vm-misbehave: %s=%s (want %s)\n", argv[2], v ? v : "(unset)", argv[3]);
		return v && strcmp(v, argv[3]) == 0 ? 0 : 1;
	}
	if (strcmp(mode, "file") == 0 && argc == 3) {
		struct stat st;
		int ok = stat(argv[2], &st) == 0 && S_ISREG(st.st_mode) &&
			 access(argv[2], R_OK) == 0;

		printf("vm-misbehave: %s: %s\n", argv[2], ok ? "present" : "missing");
		return ok ? 0 : 1;
	}
	if (strcmp(mode, "kmsg") == 0 && argc == 3) {
		char rec[512];
		int n = snprintf(rec, sizeof(rec), "<4>%s\n", argv[2]);
		/* one write() per record; dprintf() fails: /dev/kmsg cannot lseek */
		int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		int ok = fd >= 0 && n > 0 && (size_t)n < sizeof(rec) &&
			 write(fd, rec, (size_t)n) == n;

		printf("vm-misbehave: kernel log <- '%s': %s\n", argv[2],
		       ok ? "written" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return ok ? 0 : 1;
	}
	fprintf(stderr, "usage: %s pass|fail|skip|segv|hang|env NAME VALUE|file PATH|kmsg TEXT\n",
		argv[0]);
	return 2;
}
