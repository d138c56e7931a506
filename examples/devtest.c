/* SPDX-License-Identifier: MIT */
/* The examples' device-process test harness (devtest.h). */
#include "devtest.h"

#include <stdarg.h>
#include <stdio.h>

int devtest_failures;

void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		devtest_failures++;
}

int
devtest_start(struct devtest *t, const char *prog, const char *cmdline,
	      struct ioregion_vmm_config *cfg, int wait_ms)
{
	*t = (struct devtest){ .prog = prog, .host = { .listen_fd = -1 } };
	if (ioregion_bridge_new(&t->bridge) < 0 ||
	    devhost_listen(&t->host, prog, NULL) < 0)
		return -1;
	t->host_up = true;
	cfg->bridge = t->bridge;
	if (devhost_spawn(&t->host, cmdline) < 0 ||
	    devhost_accept(&t->host, 0, cfg, wait_ms, false, &t->dev) < 0)
		return -1;
	return 0;
}

int
devtest_finish(struct devtest *t)
{
	if (!t->dev)
		check(false, "set-up failed");
	else
		ioregion_vmm_shutdown(t->dev);
	ioregion_vmm_destroy(t->dev);
	t->dev = NULL;
	t->bridge = ioregion_bridge_unref(t->bridge);
	if (t->host_up) {
		if (devhost_finish(&t->host, 2000))
			check(false, "the device program failed");
		devhost_fini(&t->host);
		t->host_up = false;
	}
	printf("%s: %s\n", t->prog, devtest_failures ? "FAIL" : "PASS");
	return devtest_failures ? 1 : 0;
}
