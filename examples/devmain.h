/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the example device programs (uart16550, regbank):
 * vhost-user style command line (--socket-path PATH | --fd N, --dialect),
 * hand-off of the device's regions to the VMM, SIGTERM/SIGINT handling,
 * exit when the VMM hangs up, statistics on exit. The device model itself
 * stays in its own file.
 */
#ifndef EXAMPLES_DEVMAIN_H
#define EXAMPLES_DEVMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <getopt.h>

#include <ev.h>

#include "ioregion/server.h"

#define DEVMAIN_MAX_REGIONS 4

/* What the common options asked for. */
struct devmain_opts {
	const char *socket_path;	/* connect here and hand off */
	int fd;				/* or: an already connected socket, -1 */
	enum ioregion_wire_dialect dialect;
	uint64_t base;			/* --base, or the device's default */
	bool base_set;
	bool quiet;			/* --quiet: no statistics on exit */
	bool verbose;			/* --verbose: library debug log */
	int cpu;			/* --cpu: pin the loop there, -1 = no */
	unsigned int poll_us;		/* --poll-us: adaptive polling */
};

/* One program run: the loop, the library context and the channel that
 * carries all of the device's regions (one fd, so their commands stay in
 * order with respect to each other), plus its fallback channel (the same
 * regions, for the VMM's bridge when KVM has the main one). */
struct devmain {
	const char *prog;
	struct devmain_opts opts;
	struct ev_loop *loop;
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch;
	struct ioregion_channel *fallback;	/* same regions, for the bridge */
	struct ioregion_region *regions[DEVMAIN_MAX_REGIONS];
	const char *names[DEVMAIN_MAX_REGIONS];
	unsigned int nregions;
	ev_signal sigterm;
	ev_signal sigint;
	int close_error;		/* why the channel closed (0 = EOF) */
	bool stopped_by_signal;
};

/* A device's own options: getopt_long entries (val >= 0x100) and the
 * function that takes them (return 0, or -1 after printing why). */
struct devmain_extra {
	const struct option *options;	/* terminated by a zero entry */
	const char *help;		/* lines printed after the common usage */
	int (*parse)(void *dev, int opt, const char *arg);
	void *dev;
};

/*
 * Parse the common options and the device's own (@extra may be NULL).
 * Returns 0, 1 for --help (usage printed: exit 0), -1 on a usage error
 * (message printed).
 */
int devmain_parse(struct devmain *dm, int argc, char **argv,
		  const struct devmain_extra *extra);

/* Create the loop, context and channel. Returns 0 or a negative errno. */
int devmain_init(struct devmain *dm);

/* Add a region on the device channel. Returns 0 or a negative errno. */
int devmain_add_region(struct devmain *dm, const char *name, uint64_t addr,
		       uint64_t size, uint32_t flags, uint32_t widths,
		       const struct ioregion_region_ops *ops, void *userdata,
		       struct ioregion_region **regionp);

/* Connect (or use --fd), hand off every region, close the local copy of
 * the peer fd. Returns 0 or a negative errno. */
int devmain_handoff(struct devmain *dm);

/* Run the loop until the VMM hangs up or a signal arrives. Returns the
 * program's exit status (0 clean, 1 channel error). */
int devmain_run(struct devmain *dm);

/* Print the region and channel counters to stderr (unless --quiet). */
void devmain_print_stats(struct devmain *dm);

/* Free everything. */
void devmain_fini(struct devmain *dm);

/*
 * Parse an interrupt line given as inherited fds, "--irq-fd N[,R]": N the
 * trigger eventfd, R the resample eventfd of a level line (@resample -1
 * for an edge line). For ioregion_irq_new(). Returns 0, or -1 after
 * printing why. (Until a control session carries the fds.)
 */
int devmain_parse_irq_fd(const char *prog, const char *arg, int *trigger,
			 int *resample);

#endif /* EXAMPLES_DEVMAIN_H */
