/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the example device programs: command line, hand-off
 * to the VMM, signals, end of run and statistics. See devmain.h.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logging.h"
#include "ioregion/handoff.h"

#include "devmain.h"

enum {
	OPT_SOCKET_PATH = 0x10,
	OPT_FD,
	OPT_DIALECT,
	OPT_BASE,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_CPU,
	OPT_POLL_US,
	OPT_HELP,
};

static const struct option common_options[] = {
	{ "socket-path", required_argument, NULL, OPT_SOCKET_PATH },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "dialect", required_argument, NULL, OPT_DIALECT },
	{ "base", required_argument, NULL, OPT_BASE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "help", no_argument, NULL, OPT_HELP },
};

#define N_COMMON (sizeof(common_options) / sizeof(common_options[0]))
#define MAX_OPTIONS 32

static void
usage(const struct devmain *dm, const struct devmain_extra *extra, FILE *f)
{
	fprintf(f,
		"usage: %s (--socket-path PATH | --fd N) [options]\n"
		"  --socket-path PATH  connect to the VMM's UNIX socket and hand off\n"
		"  --fd N              hand off over an already connected socket\n"
		"  --dialect v3|info   wire dialect of the device channel (default v3)\n"
		"  --base ADDR         guest address or base port of the main region\n"
		"  --quiet             no statistics on exit\n"
		"  --verbose           library debug messages to stderr\n"
		"  --cpu N             run on CPU N (put it on or next to the vCPU's)\n"
		"  --poll-us US        adaptive polling window (0 = off, default)\n"
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
	dm->opts.fd = -1;
	dm->opts.cpu = -1;
	dm->opts.dialect = IOREGION_WIRE_V3;

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
		case OPT_FD:
			if (parse_u64(optarg, &v) || v > INT_MAX) {
				fprintf(stderr, "%s: bad --fd '%s'\n",
					dm->prog, optarg);
				return -1;
			}
			dm->opts.fd = (int)v;
			break;
		case OPT_DIALECT:
			if (!strcmp(optarg, "v3")) {
				dm->opts.dialect = IOREGION_WIRE_V3;
			} else if (!strcmp(optarg, "info")) {
				dm->opts.dialect = IOREGION_WIRE_INFO;
			} else {
				fprintf(stderr,
					"%s: --dialect is v3 or info, not '%s'\n",
					dm->prog, optarg);
				return -1;
			}
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
	if (!!dm->opts.socket_path == (dm->opts.fd >= 0)) {
		fprintf(stderr, "%s: give exactly one of --socket-path or --fd\n",
			dm->prog);
		usage(dm, extra, stderr);
		return -1;
	}
	return 0;
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct devmain *dm = w->data;

	dm->stopped_by_signal = true;
	ev_break(loop, EVBREAK_ALL);
}

static void
on_close(struct ioregion_channel *ch, int error, void *data)
{
	struct devmain *dm = data;

	dm->close_error = error;
	ev_break(dm->loop, EVBREAK_ALL);
}

int
devmain_init(struct devmain *dm)
{
	int rc;

	/* The default loop: it is the one that can take signal watchers. */
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
	if (dm->opts.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(dm->opts.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			return -errno;
	}
	rc = ioregion_channel_new(dm->ctx, dm->opts.dialect, &dm->ch);
	if (rc < 0)
		return rc;
	ioregion_channel_set_close_handler(dm->ch, on_close, dm);
	/* The same regions on a second channel, for the VMM's bridge on a
	 * patched kernel (KVM gets the main one): the two must never share
	 * an open file. Its EOF closes only itself. */
	rc = ioregion_channel_new_fallback(dm->ch, &dm->fallback);
	if (rc < 0)
		return rc;

	/* A SIGPIPE must not kill a device writing to a closed stdout. */
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&dm->sigterm, on_signal, SIGTERM);
	dm->sigterm.data = dm;
	ev_signal_start(dm->loop, &dm->sigterm);
	ev_signal_init(&dm->sigint, on_signal, SIGINT);
	dm->sigint.data = dm;
	ev_signal_start(dm->loop, &dm->sigint);
	return 0;
}

int
devmain_add_region(struct devmain *dm, const char *name, uint64_t addr,
		   uint64_t size, uint32_t flags, uint32_t widths,
		   const struct ioregion_region_ops *ops, void *userdata,
		   struct ioregion_region **regionp)
{
	struct ioregion_region_config config = {
		.addr = addr,
		.size = size,
		.flags = flags,
		.widths = widths,
		.ops = ops,
		.userdata = userdata,
	};
	int rc;

	if (dm->nregions >= DEVMAIN_MAX_REGIONS)
		return -ENOSPC;
	rc = ioregion_region_new(dm->ch, &config, regionp);
	if (rc < 0) {
		fprintf(stderr, "%s: region %s at 0x%" PRIx64 ": %s\n",
			dm->prog, name, addr, strerror(-rc));
		return rc;
	}
	dm->regions[dm->nregions] = *regionp;
	dm->names[dm->nregions] = name;
	dm->nregions++;
	return 0;
}

static int
connect_socket(const char *prog, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", prog, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		fprintf(stderr, "%s: connect %s: %s\n", prog, path,
			strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int
devmain_handoff(struct devmain *dm)
{
	int sock, peer, fallback, rc = 0;

	if (dm->opts.socket_path) {
		sock = connect_socket(dm->prog, dm->opts.socket_path);
		if (sock < 0)
			return sock;
	} else {
		sock = dm->opts.fd;
	}

	peer = ioregion_channel_peer_fd(dm->ch);
	fallback = ioregion_channel_peer_fd(dm->fallback);
	if (peer < 0 || fallback < 0) {
		rc = peer < 0 ? peer : fallback;
		goto out;
	}
	for (unsigned int i = 0; i < dm->nregions; i++) {
		struct ioregion_desc desc;

		rc = ioregion_region_get_desc(dm->regions[i], &desc);
		if (rc < 0)
			goto out;
		rc = ioregion_handoff_send_with_fallback(sock, &desc, peer,
							 fallback,
							 dm->names[i]);
		if (rc < 0) {
			fprintf(stderr, "%s: hand-off of %s: %s\n", dm->prog,
				dm->names[i], strerror(-rc));
			goto out;
		}
	}
	rc = ioregion_handoff_send_end(sock);
	if (rc < 0) {
		fprintf(stderr, "%s: hand-off end: %s\n", dm->prog,
			strerror(-rc));
		goto out;
	}
	/* The VMM holds the peer end now; dropping ours makes its exit (or
	 * crash) show up here as EOF, which ends this program. */
	peer = ioregion_channel_take_peer_fd(dm->ch);
	if (peer >= 0)
		close(peer);
	fallback = ioregion_channel_take_peer_fd(dm->fallback);
	if (fallback >= 0)
		close(fallback);
out:
	close(sock);
	if (dm->opts.fd == sock)
		dm->opts.fd = -1;
	return rc;
}

int
devmain_run(struct devmain *dm)
{
	ev_run(dm->loop, 0);
	if (dm->stopped_by_signal)
		return 0;
	if (dm->close_error < 0) {
		fprintf(stderr, "%s: device channel failed: %s\n", dm->prog,
			strerror(-dm->close_error));
		return 1;
	}
	return 0;
}

static void
print_channel_stats(struct devmain *dm, const char *which,
		    struct ioregion_channel *ch)
{
	struct ioregion_channel_stats cs;

	if (!ch || ioregion_channel_get_stats(ch, &cs) < 0)
		return;
	fprintf(stderr,
		"%s: %s commands %" PRIu64 " responses %" PRIu64
		" batches %" PRIu64 " malformed %" PRIu64 " unknown %" PRIu64
		"\n", dm->prog, which, cs.commands, cs.responses, cs.batches,
		cs.malformed, cs.unknown_region);
}

void
devmain_print_stats(struct devmain *dm)
{
	if (dm->opts.quiet)
		return;
	for (unsigned int i = 0; i < dm->nregions; i++) {
		struct ioregion_region_stats rs;

		if (ioregion_region_get_stats(dm->regions[i], &rs) < 0)
			continue;
		fprintf(stderr,
			"%s: region %-12s reads %" PRIu64 " writes %" PRIu64
			" posted %" PRIu64 " errors %" PRIu64 "\n",
			dm->prog, dm->names[i], rs.reads, rs.writes,
			rs.posted_writes, rs.errors);
	}
	print_channel_stats(dm, "channel", dm->ch);
	print_channel_stats(dm, "fallback channel", dm->fallback);
}

void
devmain_fini(struct devmain *dm)
{
	if (dm->loop) {
		ev_signal_stop(dm->loop, &dm->sigterm);
		ev_signal_stop(dm->loop, &dm->sigint);
	}
	/* Destroys the channel and its regions too. */
	dm->ctx = ioregion_ctx_unref(dm->ctx);
	dm->ch = NULL;
	dm->fallback = NULL;
	dm->nregions = 0;
	if (dm->opts.fd >= 0) {
		close(dm->opts.fd);
		dm->opts.fd = -1;
	}
}

int
devmain_parse_irq_fd(const char *prog, const char *arg, int *trigger,
		     int *resample)
{
	char *end;
	unsigned long t, r = 0;

	errno = 0;
	t = strtoul(arg, &end, 10);
	if (!errno && end != arg && *end == ',') {
		const char *rs = end + 1;

		r = strtoul(rs, &end, 10);
		if (end == rs)
			errno = EINVAL;
	} else {
		r = ULONG_MAX;		/* edge */
	}
	if (errno || end == arg || *end || strchr(arg, '-') || t > INT_MAX ||
	    (r != ULONG_MAX && (r > INT_MAX || r == t))) {
		fprintf(stderr, "%s: --irq-fd wants N or N,RESAMPLE (two "
			"different fds), not '%s'\n", prog, arg);
		return -1;
	}
	*trigger = (int)t;
	*resample = r == ULONG_MAX ? -1 : (int)r;
	return 0;
}
