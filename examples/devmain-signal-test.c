/* SPDX-License-Identifier: MIT */
/*
 * devmain-signal-test: a device program ends on SIGTERM, whatever backend
 * serves it. This process plays the VMM for uart16550 (devtest.h: a
 * bridge, the control session), starts it with --backend BACKEND, checks
 * that it serves (its scratch register through the bridge) and, with
 * io_uring, that it holds a ring; then SIGTERMs it with its channel and
 * session still open and expects exit status 0 within a bound. Then a
 * second SIGTERM while the device sleeps longer, to see no race with the
 * first access either.
 * Usage: devmain-signal-test PATH-TO-uart16550 epoll|io_uring. Exit 0
 * pass, 1 fail, 77 io_uring asked but the kernel refuses it
 * (kernel.io_uring_disabled).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "ioregion/bridge.h"
#include "ioregion/vmm.h"

#include "devtest.h"

#define PROG "devmain-signal-test"
#define COM1 0x3f8
#define WAIT_MS 5000		/* generous: set-up and exit, under load */

static struct devtest t;

static int
port(bool write, unsigned int off, uint8_t *val)
{
	uint64_t v = *val;
	int rc = ioregion_bridge_access(t.bridge, true, COM1 + off, write, 1,
					&v);

	*val = (uint8_t)v;
	return rc;
}

/* Whether process @pid has an io_uring instance among its fds. */
static bool
has_ring(pid_t pid)
{
	char dir[64], path[PATH_MAX], link[128];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strstr(link, "io_uring") != NULL;
		}
	}
	closedir(d);
	return found;
}

static bool
io_uring_disabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* SIGTERM to the device; its exit status, -1 if it was not gone within
 * WAIT_MS (then it is left to devtest_finish()'s SIGKILL). */
static int
terminate(struct devhost_child *c, long *took_ms)
{
	long start = now_ms();
	int status;

	kill(c->pid, SIGTERM);
	while (now_ms() - start < WAIT_MS) {
		pid_t p = waitpid(c->pid, &status, WNOHANG);

		if (p == c->pid) {
			c->pid = 0;	/* reaped: devhost leaves it alone */
			*took_ms = now_ms() - start;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		}
		usleep(2000);
	}
	*took_ms = now_ms() - start;
	return -1;
}

static void
one_run(const char *uart, const char *backend, int sleep_ms)
{
	struct ioregion_vmm_config cfg = {
		.vm_fd = -1, .get_line = devhost_unwired_line_fn,
	};
	char cmd[512];
	uint8_t v = 0x5a;
	long took = 0;
	int st, rc;

	cfg.data = &t.host;
	snprintf(cmd, sizeof(cmd), "%s --no-stdin --quiet --backend %s", uart,
		 backend);
	if (devtest_start(&t, PROG, cmd, &cfg, WAIT_MS) < 0) {
		check(false, "%s: set-up", backend);
		return;
	}
	check(port(true, UART_SCR, &v) == 1, "%s: SCR written", backend);
	v = 0;
	rc = port(false, UART_SCR, &v);
	check(rc == 1 && v == 0x5a, "%s: SCR reads back 0x%02x (rc %d)",
	      backend, v, rc);
	if (!strcmp(backend, "io_uring"))
		check(has_ring(t.host.children[0].pid),
		      "io_uring: the device holds a ring");
	if (sleep_ms)
		usleep((useconds_t)sleep_ms * 1000);
	st = terminate(&t.host.children[0], &took);
	check(st == 0, "%s: SIGTERM %d ms after the last access: exit %d "
	      "after %ld ms (want 0 within %d ms)", backend, sleep_ms, st, took,
	      WAIT_MS);
	devtest_finish(&t);
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "epoll") && strcmp(argv[2], "io_uring"))) {
		fprintf(stderr, "usage: " PROG " PATH-TO-uart16550 epoll|io_uring\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[2], "io_uring") && io_uring_disabled()) {
		printf(PROG ": io_uring disabled here (kernel.io_uring_disabled)\n");
		return 77;
	}
	one_run(argv[1], argv[2], 0);
	one_run(argv[1], argv[2], 300);
	printf(PROG ": %s\n", devtest_failures ? "FAIL" : "PASS");
	return devtest_failures ? 1 : 0;
}
