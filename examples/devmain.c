/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the example device programs: command line, the
 * connection to the VMM (one library call), signals, end of run and
 * statistics. See devmain.h.
 */
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logging.h"

#include "devmain.h"

enum {
	OPT_SOCKET_PATH = 0x10,
	OPT_IRQ_LEVEL,
	OPT_BASE,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_CPU,
	OPT_POLL_US,
	OPT_BACKEND,
	OPT_HELP,
};

static const struct option common_options[] = {
	{ "socket-path", required_argument, NULL, OPT_SOCKET_PATH },
	{ "irq-level", no_argument, NULL, OPT_IRQ_LEVEL },
	{ "base", required_argument, NULL, OPT_BASE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "help", no_argument, NULL, OPT_HELP },
};

#define N_COMMON (sizeof(common_options) / sizeof(common_options[0]))
#define MAX_OPTIONS 32

static void
usage(const struct devmain *dm, const struct devmain_extra *extra, FILE *f)
{
	fprintf(f,
		"usage: %s [--socket-path PATH] [options]\n"
		"  --socket-path PATH  the VMM's control session socket (default:\n"
		"                      $" IOREGION_SESSION_ENV ")\n"
		"  --irq-level         the device's interrupt lines are level lines\n"
		"                      (default: edge)\n"
		"  --base ADDR         guest address or base port of the main region\n"
		"  --quiet             no statistics on exit\n"
		"  --verbose           library debug messages to stderr\n"
		"  --cpu N             run on CPU N (put it on or next to the vCPU's)\n"
		"  --poll-us US        adaptive polling window (0 = off, default)\n"
		"  --backend NAME      the server's I/O: epoll (default) or io_uring\n"
		"                      (one syscall per answered access; the device's\n"
		"                      own timers and fds run only between accesses;\n"
		"                      default: $IOREGION_SERVER_BACKEND)\n"
		"  --help              this text\n",
		dm->prog);
	if (extra && extra->help)
		fputs(extra->help, f);
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	return 0;
}

int
devmain_parse(struct devmain *dm, int argc, char **argv,
	      const struct devmain_extra *extra)
{
	struct option options[MAX_OPTIONS];
	size_t n = 0;
	uint64_t v;

	memset(dm, 0, sizeof(*dm));
	dm->prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	dm->opts.cpu = -1;
	dm->opts.backend = -1;

	memcpy(options, common_options, sizeof(common_options));
	n = N_COMMON;
	for (size_t i = 0; extra && extra->options && extra->options[i].name;
	     i++) {
		if (n >= MAX_OPTIONS - 1)
			return -1;
		options[n++] = extra->options[i];
	}
	memset(&options[n], 0, sizeof(options[n]));

	for (;;) {
		int c = getopt_long(argc, argv, "", options, NULL);

		if (c == -1)
			break;
		switch (c) {
		case OPT_SOCKET_PATH:
			dm->opts.socket_path = optarg;
			break;
		case OPT_IRQ_LEVEL:
			dm->opts.irq_level = true;
			break;
		case OPT_BASE:
			if (parse_u64(optarg, &dm->opts.base)) {
				fprintf(stderr, "%s: bad --base '%s'\n",
					dm->prog, optarg);
				return -1;
			}
			dm->opts.base_set = true;
			break;
		case OPT_QUIET:
			dm->opts.quiet = true;
			break;
		case OPT_VERBOSE:
			dm->opts.verbose = true;
			break;
		case OPT_CPU:
			if (parse_u64(optarg, &v) || v >= CPU_SETSIZE) {
				fprintf(stderr, "%s: bad --cpu '%s'\n",
					dm->prog, optarg);
				return -1;
			}
			dm->opts.cpu = (int)v;
			break;
		case OPT_POLL_US:
			if (parse_u64(optarg, &v) || v > IOREGION_POLL_US_MAX) {
				fprintf(stderr, "%s: bad --poll-us '%s'\n",
					dm->prog, optarg);
				return -1;
			}
			dm->opts.poll_us = (unsigned int)v;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "epoll") == 0) {
				dm->opts.backend = IOREGION_BACKEND_EPOLL;
			} else if (strcmp(optarg, "io_uring") == 0) {
				dm->opts.backend = IOREGION_BACKEND_IO_URING;
			} else {
				fprintf(stderr, "%s: bad --backend '%s' (epoll or "
					"io_uring)\n", dm->prog, optarg);
				return -1;
			}
			break;
		case OPT_HELP:
			usage(dm, extra, stdout);
			return 1;
		case '?':
			usage(dm, extra, stderr);
			return -1;
		default:
			if (!extra || !extra->parse ||
			    extra->parse(extra->dev, c, optarg) < 0)
				return -1;
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", dm->prog,
			argv[optind]);
		return -1;
	}
	return 0;
}

/* The program's one devmain, for the signal handler. */
static struct devmain *signal_dm;

/* SIGTERM, SIGINT: the run ends (ioregion_ctx_stop() is
 * async-signal-safe). A plain handler rather than libev's watchers: on the
 * io_uring backend the run does not sleep in the loop that would see
 * them. */
static void
on_signal(int sig)
{
	(void)sig;
	if (!signal_dm)
		return;
	signal_dm->stopped_by_signal = 1;
	ioregion_ctx_stop(signal_dm->ctx);
}

int
devmain_init(struct devmain *dm)
{
	struct sigaction sa = { 0 };
	int rc;

	/* The default loop (the device models may add watchers to it). */
	dm->loop = ev_default_loop(EVFLAG_AUTO);
	if (!dm->loop)
		return -ENOMEM;
	rc = ioregion_ctx_new(dm->loop, &dm->ctx);
	if (rc < 0)
		return rc;
	ioregion_ctx_set_log_handler(dm->ctx, log_to_stderr, (void *)dm->prog);
	if (dm->opts.verbose)
		ioregion_ctx_set_log_priority(dm->ctx, IOREGION_LOG_DEBUG);
	rc = ioregion_ctx_set_poll_us(dm->ctx, dm->opts.poll_us);
	if (rc < 0)
		return rc;
	if (dm->opts.backend >= 0) {
		rc = ioregion_ctx_set_backend(dm->ctx, dm->opts.backend);
		if (rc < 0)
			return rc;
	}
	if (dm->opts.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(dm->opts.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			return -errno;
	}

	/* A SIGPIPE must not kill a device writing to a closed stdout. */
	signal(SIGPIPE, SIG_IGN);
	signal_dm = dm;
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int
devmain_add_region(struct devmain *dm, const char *name, uint64_t addr,
		   uint64_t size, uint32_t flags, uint32_t widths,
		   const struct ioregion_region_ops *ops, void *userdata)
{
	if (dm->nregions >= DEVMAIN_MAX_REGIONS)
		return -ENOSPC;
	dm->regions[dm->nregions++] = (struct ioregion_device_region){
		.name = name,
		.config = {
			.addr = addr,
			.size = size,
			.flags = flags,
			.widths = widths,
			.ops = ops,
			.userdata = userdata,
		},
	};
	return 0;
}

uint32_t
devmain_line_trigger(const struct devmain *dm)
{
	return dm->opts.irq_level ? IOREGION_LINE_LEVEL : IOREGION_LINE_EDGE;
}

/* The VMM ended the session (SHUTDOWN, its exit or a refusal): so do we. */
static void
on_gone(struct ioregion_device *dev, int error, void *data)
{
	struct devmain *dm = data;

	(void)dev;
	dm->gone_error = error;
	ioregion_ctx_stop(dm->ctx);
}

/* The VMM closed the device's channel (or it failed): nothing left to
 * serve, whatever the session says. */
static void
on_close(struct ioregion_channel *ch, int error, void *data)
{
	struct devmain *dm = data;

	(void)ch;
	dm->close_error = error;
	ioregion_ctx_stop(dm->ctx);
}

/* The VMM resets the device: the model's own callback, with its data. */
static int
on_reset(struct ioregion_device *dev, void *data)
{
	struct devmain *dm = data;

	fprintf(stderr, "%s: reset by the VMM\n", dm->prog);
	return dm->reset ? dm->reset(dev, dm->reset_data) : 0;
}

int
devmain_connect(struct devmain *dm, const struct ioregion_device_config *cfg)
{
	struct ioregion_device_config c = *cfg;
	int rc;

	dm->reset = cfg->reset;
	dm->reset_data = cfg->userdata;
	c.regions = dm->regions;
	c.nregions = dm->nregions;
	c.reset = on_reset;
	c.gone = on_gone;
	c.userdata = dm;
	rc = ioregion_device_connect(dm->ctx, dm->opts.socket_path, &c,
				     &dm->dev);
	if (rc < 0) {
		fprintf(stderr, "%s: connecting to the VMM%s%s: %s\n", dm->prog,
			dm->opts.socket_path ? " at " : "",
			dm->opts.socket_path ? dm->opts.socket_path : "",
			rc == -EDESTADDRREQ ? "no --socket-path and no $"
			IOREGION_SESSION_ENV : strerror(-rc));
		return rc;
	}
	ioregion_channel_set_close_handler(
		ioregion_region_get_channel(ioregion_device_get_region(dm->dev, 0)),
		on_close, dm);
	return 0;
}

int
devmain_run(struct devmain *dm)
{
	int rc = ioregion_ctx_run(dm->ctx);

	if (dm->stopped_by_signal)
		return 0;
	if (dm->gone_error < 0 && dm->gone_error != -ECONNRESET) {
		fprintf(stderr, "%s: control session failed: %s\n", dm->prog,
			strerror(-dm->gone_error));
		return 1;
	}
	if (dm->close_error < 0) {
		fprintf(stderr, "%s: device channel failed: %s\n", dm->prog,
			strerror(-dm->close_error));
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: serving: %s\n", dm->prog, strerror(-rc));
		return 1;
	}
	return 0;
}

void
devmain_print_stats(struct devmain *dm)
{
	struct ioregion_channel_stats cs;

	if (dm->opts.quiet || !dm->dev)
		return;
	for (unsigned int i = 0; i < dm->nregions; i++) {
		struct ioregion_region_stats rs;

		if (ioregion_region_get_stats(ioregion_device_get_region(dm->dev, i),
					      &rs) < 0)
			continue;
		fprintf(stderr,
			"%s: region %-12s reads %" PRIu64 " writes %" PRIu64
			" posted %" PRIu64 " errors %" PRIu64 "\n",
			dm->prog, dm->regions[i].name, rs.reads, rs.writes,
			rs.posted_writes, rs.errors);
	}
	if (ioregion_channel_get_stats(ioregion_region_get_channel(
			ioregion_device_get_region(dm->dev, 0)), &cs) == 0)
		fprintf(stderr,
			"%s: channel commands %" PRIu64 " responses %" PRIu64
			" batches %" PRIu64 " malformed %" PRIu64 " unknown %"
			PRIu64 "\n", dm->prog, cs.commands, cs.responses,
			cs.batches, cs.malformed, cs.unknown_region);
}

void
devmain_fini(struct devmain *dm)
{
	if (signal_dm == dm) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal_dm = NULL;
	}
	ioregion_device_destroy(dm->dev);
	dm->dev = NULL;
	dm->ctx = ioregion_ctx_unref(dm->ctx);
	dm->nregions = 0;
}
