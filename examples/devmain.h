/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the example device programs (uart16550, regbank):
 * the command line (--socket-path PATH or $IOREGION_SOCKET, --base, ...),
 * SIGTERM/SIGINT, the end of the run and statistics. Connecting to the
 * VMM is one library call, ioregion_device_connect(): the control session
 * gives the device its wire dialect, channels, interrupt lines and guest
 * memory. The device model itself stays in its own file.
 */
#ifndef EXAMPLES_DEVMAIN_H
#define EXAMPLES_DEVMAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <getopt.h>

#include <ev.h>

#include "ioregion/device.h"

#define DEVMAIN_MAX_REGIONS 4

/* What the common options asked for. */
struct devmain_opts {
	const char *socket_path;	/* NULL: $IOREGION_SOCKET */
	uint64_t base;			/* --base, or the device's default */
	bool base_set;
	bool irq_level;			/* --irq-level: level lines */
	bool quiet;			/* --quiet: no statistics on exit */
	bool verbose;			/* --verbose: library debug log */
	int cpu;			/* --cpu: pin the loop there, -1 = no */
	unsigned int poll_us;		/* --poll-us: adaptive polling */
	int backend;			/* --backend: an ioregion_backend,
					 * -1 = the context's default */
};

/* One program run: the loop, the library context, the regions to serve
 * and, once connected, the device the session made of them. */
struct devmain {
	const char *prog;
	struct devmain_opts opts;
	struct ev_loop *loop;
	struct ioregion_ctx *ctx;
	struct ioregion_device *dev;
	struct ioregion_device_region regions[DEVMAIN_MAX_REGIONS];
	unsigned int nregions;
	ioregion_device_reset_fn *reset;	/* the model's, from the config */
	void *reset_data;			/* the config's userdata */
	int gone_error;			/* why the session ended (0 SHUTDOWN) */
	int close_error;		/* why the channel closed (0 = EOF) */
	volatile sig_atomic_t stopped_by_signal;
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

/* Create the loop and the context. Returns 0 or a negative errno. */
int devmain_init(struct devmain *dm);

/* Declare a region (served once connected). Returns 0 or -ENOSPC. */
int devmain_add_region(struct devmain *dm, const char *name, uint64_t addr,
		       uint64_t size, uint32_t flags, uint32_t widths,
		       const struct ioregion_region_ops *ops, void *userdata);

/*
 * Connect to the VMM with the regions declared and what @cfg adds (name,
 * lines, flags, and the reset callback, which gets @cfg's userdata; the
 * regions and the gone callback are devmain's). Returns 0 (dm->dev is ready: its lines and memory are
 * there) or a negative errno (message printed).
 */
int devmain_connect(struct devmain *dm, const struct ioregion_device_config *cfg);

/* The trigger of the device's lines: level with --irq-level, else edge. */
uint32_t devmain_line_trigger(const struct devmain *dm);

/* Serve until the VMM ends the session or closes the channel, or a
 * signal arrives: ioregion_ctx_run() on the context's backend (--backend,
 * or $IOREGION_SERVER_BACKEND). Returns the program's exit status (0
 * clean, 1 error). */
int devmain_run(struct devmain *dm);

/* Print the region and channel counters to stderr (unless --quiet). */
void devmain_print_stats(struct devmain *dm);

/* Free everything. */
void devmain_fini(struct devmain *dm);

#endif /* EXAMPLES_DEVMAIN_H */
