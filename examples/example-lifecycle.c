/* SPDX-License-Identifier: MIT */
/*
 * example-test modes on a device process's life: killed or stopped
 * mid-run (device-killed, device-stopped: tinyvmm ends the run in time),
 * killed and restarted (reconnect: the guest keeps running). See
 * example-test.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "example-test.h"

#define KILL_BOUND_MS 5000	/* signal to tinyvmm's exit */
/* Signal to "device error": the bridge's bound (500 ms here), plus on the
 * fast path the kernel socket's receive bound (1000 ms by default) after
 * which KVM hands the access to the bridge; generous for emulation. */
#define REPORT_BOUND_MS 2000
#define REPORT_BOUND_FAST_MS 4000

/* A device that dies (SIGKILL: EOF) or stops answering (SIGSTOP: the
 * bridge's bound) mid-run: tinyvmm reports it and exits 125 in time. */
int
test_device_fails(const struct paths *p, struct run *r, int sig,
		  const char *why)
{
	int v;

	base_run(r, p, "spin");
	arg(r, "--bridge-timeout-ms");
	arg(r, "500");
	arg(r, "--spawn");
	arg(r, p->regbank);
	r->kill_device = sig;
	if (run_vmm(r) < 0)
		return 1;
	int bound = kpath.fast ? REPORT_BOUND_FAST_MS : REPORT_BOUND_MS;

	v = status_verdict(r, VMM_EXIT_ERROR);
	if (v >= 0)
		return v;
	if (path_verdict(r))
		return 1;
	if (r->kill_to_report_ms < 0 || r->kill_to_report_ms > bound ||
	    r->kill_to_exit_ms < 0 || r->kill_to_exit_ms > KILL_BOUND_MS) {
		fprintf(stderr, "example-test: after the signal tinyvmm took "
			"%ld ms to report (bound %d), %ld ms to exit (bound "
			"%d)\n", r->kill_to_report_ms, bound,
			r->kill_to_exit_ms, KILL_BOUND_MS);
		return 1;
	}
	if (!strstr(r->err.data, "device error") ||
	    !strstr(r->err.data, why)) {
		fprintf(stderr, "example-test: no 'device error ... %s'\n",
			why);
		return 1;
	}
	fprintf(stderr, "example-test: tinyvmm reported the device %ld ms "
		"and exited %ld ms after the signal\n", r->kill_to_report_ms,
		r->kill_to_exit_ms);
	return 0;
}


/* The guest's failed step (examples/guest/reconnect.S). */
static const char *
reconnect_step(int status)
{
	switch (status) {
	case 1: return "the device was not there";
	case 2: return "SCRATCH32 survived the reset";
	case 4: return "SCRATCH32 changed before the device went";
	case 5: return "the restarted device read neither all-ones nor its ID";
	case 6: return "the restarted device was not in its reset state";
	}
	return NULL;
}

/* How many accesses tinyvmm says it answered while regbank was gone. */
static unsigned long long
gap_accesses(const char *err)
{
	const char *s = strstr(err, "device regbank: restarted 1 time(s), ");
	unsigned long long n = 0;

	if (s && sscanf(s, "device regbank: restarted 1 time(s), %llu", &n) != 1)
		n = 0;
	return n;
}

/*
 * The reconnect guest: regbank reset through tinyvmm's reset port, then
 * its process killed (SIGKILL) when the guest says so (mark 1); tinyvmm
 * (--restart regbank) keeps the guest running, answers the gap with
 * all-ones, starts the device again, re-attaches and resets it; the
 * guest sees the gap (mark 2), then the new device (mark 3), in its reset
 * state. On the fast path the new channel is registered with KVM again.
 */
int
test_reconnect(const struct paths *p, struct run *r)
{
	static const char *const want[] = {
		"guest mark 1", "guest mark 2", "guest mark 3",
		"reset regbank: done",
		/* its session ended, or a vCPU saw the channel fail first */
		"device regbank gone (", "): restarting it (1)\n",
		"regbank: reset by the VMM",
	};
	unsigned long long gap;
	const char *s;
	int v;

	base_run(r, p, "reconnect");
	arg(r, "--spawn");
	arg(r, p->regbank);
	arg(r, "--restart");
	arg(r, "regbank");
	r->kill_device = SIGKILL;
	r->kill_after = "guest mark 1";
	r->kill_delay_ms = -1;
	if (run_vmm(r) < 0)
		return 1;
	v = status_verdict(r, 0);
	if (v >= 0) {
		if (reconnect_step(r->status))
			fprintf(stderr, "example-test: the guest says %s\n",
				reconnect_step(r->status));
		return v;
	}
	if (path_verdict(r))
		return 1;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(r->err.data, want[i])) {
			fprintf(stderr, "example-test: tinyvmm's log lacks "
				"'%s'\n", want[i]);
			return 1;
		}
	s = strstr(r->err.data, "device regbank re-attached (");
	if (!s || strncmp(s + strlen("device regbank re-attached ("),
			  kpath.fast ? "KVM and the bridge), reset: done" :
			  "the bridge), reset: done",
			  kpath.fast ? 32 : 24)) {
		fprintf(stderr, "example-test: want 'device regbank re-attached "
			"(%s), reset: done'\n",
			kpath.fast ? "KVM and the bridge" : "the bridge");
		return 1;
	}
	gap = gap_accesses(r->err.data);
	if (!gap) {
		fprintf(stderr, "example-test: want tinyvmm to count the "
			"accesses it answered while the device was gone\n");
		return 1;
	}
	fprintf(stderr, "example-test: the guest ran through the restart; %llu "
		"accesses answered all-ones in the gap\n", gap);
	return 0;
}
