/* SPDX-License-Identifier: MIT */
/*
 * ioregion-drive: a scripted driver for any ioregion device program, no
 * KVM and no guest. It plays the VMM's part: listens on a UNIX socket,
 * starts the device programs (--spawn) or waits for ones started by hand
 * (--socket-path, --devices), attaches each with the library's control
 * session (ioregion_vmm_accept(): its regions go to a bridge, its
 * interrupt lines are wired to nothing) and runs a script of accesses through
 * ioregion_bridge_access(), the path a KVM exit takes. It prints a report
 * and exits non-zero on any mismatch, failed access, failed device, or a
 * script without a single check. Syntax: drive-script.h, --help, README.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioregion/bridge.h"
#include "ioregion/version.h"
#include "ioregion/vmm.h"

#include "devhost.h"
#include "drive-script.h"
#include "logging.h"

#define PROG "ioregion-drive"
#define EXIT_FAIL 1
#define EXIT_NO_CHECKS 2
#define EXIT_ERROR 125

struct drive {
	struct ioregion_bridge *bridge;
	struct ioregion_vmm_device *devs[DEVHOST_MAX_DEVICES];
	unsigned int ndevs;
	struct ioregion_vmm_config cfg;
	bool verbose;
	unsigned long accesses, checks, failed;
	bool stopped;		/* an access failed: the rest is skipped */
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options] SCRIPT\n"
		"Drive device programs through the bridge (no KVM, no guest):\n"
		"attach them (control session), run SCRIPT ('-': stdin),\n"
		"print a report.\n"
		"  --spawn \"CMD ARGS\"    start a device program (repeatable, split\n"
		"                        on blanks, no shell); it gets\n"
		"                        --socket-path PATH appended\n"
		"  --socket-path PATH    listen here (default: a private temporary\n"
		"                        folder); device programs started by hand\n"
		"                        connect with their own --socket-path PATH,\n"
		"                        after " PROG " has started\n"
		"  --devices N           device programs to wait for (default: the\n"
		"                        number of --spawn)\n"
		"  --wait-ms T           how long to wait for them (default 10000)\n"
		"  --timeout-ms T        bound on one device answer (default 1000)\n"
		"  --verbose             print every access\n"
		"  --version, --help\n"
		"\n" DRIVE_SCRIPT_SYNTAX
		"\n"
		"Exit status: 0 every check passed; 1 a check or an access failed,\n"
		"or a device program failed; 2 the script has no check; 125 usage,\n"
		"script or set-up error.\n");
}

static const char *
space(bool pio)
{
	return pio ? "pio" : "mmio";
}

/* The region called @name, in @desc; 0 or -ENOENT. */
static int
find_region(struct drive *d, const char *name, struct ioregion_desc *desc)
{
	for (unsigned int i = 0; i < d->ndevs; i++) {
		unsigned int n = ioregion_vmm_get_nregions(d->devs[i]);

		for (unsigned int j = 0; j < n; j++) {
			const char *rn;

			if (ioregion_vmm_get_region(d->devs[i], j, desc,
						    &rn) == 0 &&
			    !strcmp(rn, name))
				return 0;
		}
	}
	return -ENOENT;
}

/* Resolve REGION+OFFSET addresses. Returns 0 or -1 (message printed). */
static int
resolve(struct drive_script *sc, struct drive *d)
{
	for (size_t i = 0; i < sc->nsteps; i++) {
		struct drive_step *s = &sc->steps[i];
		struct ioregion_desc desc, *r = &desc;

		if (s->op == DRIVE_SAY || !s->region[0])
			continue;
		if (find_region(d, s->region, &desc) < 0) {
			fprintf(stderr, PROG ": line %u: no region named '%s'\n",
				s->line, s->region);
			return -1;
		}
		if (!!(r->flags & IOREGION_F_PIO) != s->pio) {
			fprintf(stderr, PROG ": line %u: region '%s' is %s, "
				"not %s\n", s->line, s->region,
				space(!s->pio), space(s->pio));
			return -1;
		}
		s->addr += r->addr;
	}
	return 0;
}

static uint64_t
posted_count(struct drive *d, bool pio, uint64_t addr)
{
	struct ioregion_bridge_stats st;

	if (ioregion_bridge_get_stats(d->bridge, pio, addr, &st) < 0)
		return 0;
	return st.posted_writes;
}

static void __attribute__((format(printf, 3, 4)))
check_failed(struct drive *d, const struct drive_step *s, const char *fmt,
	     ...)
{
	va_list ap;

	d->failed++;
	printf("line %u: FAIL: ", s->line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* One access of step @s (value @v for writes). */
static void
access1(struct drive *d, const struct drive_step *s, uint64_t v)
{
	bool write = s->op != DRIVE_READ;
	uint64_t posted = 0;
	int rc;

	if (s->op == DRIVE_POSTED)
		posted = posted_count(d, s->pio, s->addr);
	d->accesses++;
	rc = ioregion_bridge_access(d->bridge, s->pio, s->addr, write, s->size,
				    &v);
	if (rc < 0) {
		d->failed++;
		d->stopped = true;
		printf("line %u: FAIL: %s %s 0x%" PRIx64 " (%u bytes): %s "
		       "(stopping here)\n", s->line, write ? "write" : "read",
		       space(s->pio), s->addr, s->size, strerror(-rc));
		return;
	}
	if (s->expect == EXPECT_NONE) {
		d->checks++;
		if (rc)
			check_failed(d, s, "%s 0x%" PRIx64 " is claimed by a "
				     "region, expected none", space(s->pio),
				     s->addr);
		else if (d->verbose)
			printf("line %u: %s 0x%" PRIx64 ": no region, ok\n",
			       s->line, space(s->pio), s->addr);
		return;
	}
	if (rc == 0) {
		d->checks++;
		check_failed(d, s, "no region claims %s 0x%" PRIx64,
			     space(s->pio), s->addr);
		return;
	}
	if (s->op == DRIVE_POSTED) {
		d->checks++;
		if (posted_count(d, s->pio, s->addr) != posted + 1)
			check_failed(d, s, "write to %s 0x%" PRIx64 " was not "
				     "posted (the region answers writes)",
				     space(s->pio), s->addr);
	} else if (s->op == DRIVE_READ && s->expect == EXPECT_VALUE) {
		d->checks++;
		if (v != s->expected) {
			check_failed(d, s, "read %s 0x%" PRIx64 " (%u bytes): "
				     "0x%" PRIx64 ", expected 0x%" PRIx64,
				     space(s->pio), s->addr, s->size, v,
				     s->expected);
			return;
		}
	}
	if (d->verbose)
		printf("line %u: %s %s 0x%" PRIx64 " %u %s 0x%" PRIx64 "%s\n",
		       s->line, write ? (s->op == DRIVE_POSTED ? "p" : "w") : "r",
		       space(s->pio), s->addr, s->size, write ? "<-" : "->", v,
		       s->expect == EXPECT_VALUE ? " ok" : "");
}

static void
run(struct drive *d, const struct drive_script *sc)
{
	for (size_t i = 0; i < sc->nsteps && !d->stopped; i++) {
		const struct drive_step *s = &sc->steps[i];

		if (s->op == DRIVE_SAY) {
			printf("%s\n", s->text);
			fflush(stdout);
			continue;
		}
		for (unsigned long n = 0; n < s->repeat && !d->stopped; n++) {
			if (!s->bytes) {
				access1(d, s, s->value);
				continue;
			}
			for (size_t b = 0; b < s->nbytes && !d->stopped; b++)
				access1(d, s, (uint8_t)s->bytes[b]);
		}
	}
}

static void
print_stats(struct drive *d)
{
	for (unsigned int i = 0; i < d->ndevs; i++) {
		unsigned int n = ioregion_vmm_get_nregions(d->devs[i]);

		for (unsigned int j = 0; j < n; j++) {
			struct ioregion_bridge_stats st;
			struct ioregion_desc r;
			const char *name;
			bool pio;

			if (ioregion_vmm_get_region(d->devs[i], j, &r, &name) < 0)
				continue;
			pio = r.flags & IOREGION_F_PIO;
			if (ioregion_bridge_get_stats(d->bridge, pio, r.addr,
						      &st) < 0)
				continue;
			printf(PROG ": region %-12s %-4s 0x%" PRIx64 "+0x%"
			       PRIx64 ": reads %" PRIu64 " writes %" PRIu64
			       " posted %" PRIu64 " errors %" PRIu64 "\n", name,
			       space(pio), r.addr, r.size, st.reads, st.writes,
			       st.posted_writes, st.errors);
		}
	}
}

/* Every device gets the same: the bridge alone (no KVM here), its lines
 * wired to nothing. */
static const struct ioregion_vmm_config *
drive_config(void *data, int which)
{
	(void)which;
	return &((struct drive *)data)->cfg;
}

static int
parse_uint(const char *opt, const char *s, unsigned long max,
	   unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, PROG ": %s wants 0..%lu, not '%s'\n", opt, max,
			s);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int
load_script(const char *path, struct drive_script *sc)
{
	char err[256];
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int rc;

	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = drive_script_parse(f, strcmp(path, "-") ? path : "stdin", sc,
				err, sizeof(err));
	if (f != stdin)
		fclose(f);
	if (rc < 0)
		fprintf(stderr, PROG ": %s\n", err);
	return rc;
}

int
main(int argc, char **argv)
{
	enum { OPT_SPAWN = 1, OPT_SOCKET, OPT_DEVICES, OPT_WAIT, OPT_TIMEOUT,
	       OPT_VERBOSE, OPT_VERSION, OPT_HELP };
	static const struct option options[] = {
		{ "spawn", required_argument, NULL, OPT_SPAWN },
		{ "socket-path", required_argument, NULL, OPT_SOCKET },
		{ "devices", required_argument, NULL, OPT_DEVICES },
		{ "wait-ms", required_argument, NULL, OPT_WAIT },
		{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *spawn[DEVHOST_MAX_DEVICES], *socket_path = NULL;
	unsigned int nspawn = 0, ndevices = 0, wait_ms = 10000;
	unsigned int timeout_ms = 1000;
	bool ndevices_set = false, host_up = false;
	struct drive d = { 0 };
	struct drive_script sc = { 0 };
	struct devhost host = { .listen_fd = -1 };
	int c, rc, status = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_SPAWN:
			if (nspawn >= DEVHOST_MAX_DEVICES) {
				fprintf(stderr, PROG ": at most %d devices\n",
					DEVHOST_MAX_DEVICES);
				return EXIT_ERROR;
			}
			spawn[nspawn++] = optarg;
			break;
		case OPT_SOCKET:
			socket_path = optarg;
			break;
		case OPT_DEVICES:
			if (parse_uint("--devices", optarg, DEVHOST_MAX_DEVICES,
				       &ndevices) < 0)
				return EXIT_ERROR;
			ndevices_set = true;
			break;
		case OPT_WAIT:
			if (parse_uint("--wait-ms", optarg, 3600000, &wait_ms) < 0)
				return EXIT_ERROR;
			break;
		case OPT_TIMEOUT:
			if (parse_uint("--timeout-ms", optarg, 3600000,
				       &timeout_ms) < 0)
				return EXIT_ERROR;
			break;
		case OPT_VERBOSE:
			d.verbose = true;
			break;
		case OPT_VERSION:
			printf(PROG " (libioregion %s)\n", ioregion_version());
			return 0;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_ERROR;
		}
	}
	if (!ndevices_set)
		ndevices = nspawn;
	if (optind != argc - 1 || ndevices == 0 || ndevices < nspawn) {
		fprintf(stderr, PROG ": give a SCRIPT and --spawn or --devices "
			"(try --help)\n");
		return EXIT_ERROR;
	}
	if (load_script(argv[optind], &sc) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);

	rc = ioregion_bridge_new(&d.bridge);
	if (rc < 0) {
		fprintf(stderr, PROG ": bridge: %s\n", strerror(-rc));
		goto out;
	}
	ioregion_bridge_set_log_handler(d.bridge, log_to_stderr, (void *)PROG);
	rc = ioregion_bridge_set_timeout(d.bridge, timeout_ms);
	if (rc < 0) {
		fprintf(stderr, PROG ": --timeout-ms: %s\n", strerror(-rc));
		goto out;
	}
	if (devhost_listen(&host, PROG, socket_path) < 0)
		goto out;
	host_up = true;
	if (!nspawn)
		fprintf(stderr, PROG ": waiting for %u device(s) on %s\n",
			ndevices, host.socket_path);
	for (unsigned int i = 0; i < nspawn; i++)
		if (devhost_spawn(&host, spawn[i]) < 0)
			goto out;
	d.cfg = (struct ioregion_vmm_config){
		.bridge = d.bridge,
		.vm_fd = -1,
		.get_line = devhost_unwired_line_fn,
		.data = &host,
		.log_handler = log_to_stderr,
		.log_data = (void *)PROG,
	};
	d.ndevs = ndevices;
	rc = devhost_attach_all(&host, ndevices - nspawn, drive_config, &d,
				(int)wait_ms, d.devs);
	if (rc < 0)
		goto out;
	if (resolve(&sc, &d) < 0)
		goto out;
	fprintf(stderr, PROG ": path: bridge, driven by a script (no KVM)\n");

	run(&d, &sc);
	print_stats(&d);
	printf(PROG ": %lu accesses, %lu checks, %lu failed\n", d.accesses,
	       d.checks, d.failed);
	status = d.failed ? EXIT_FAIL : d.checks ? 0 : EXIT_NO_CHECKS;
out:
	/* SHUTDOWN: each device ends its session and exits. */
	for (unsigned int i = 0; i < d.ndevs; i++) {
		if (d.devs[i])
			ioregion_vmm_shutdown(d.devs[i]);
		ioregion_vmm_destroy(d.devs[i]);
	}
	d.bridge = ioregion_bridge_unref(d.bridge);
	if (host_up) {
		int bad = devhost_finish(&host, 2000);

		if (bad) {
			printf(PROG ": %d device program(s) failed\n", bad);
			if (status == 0 || status == EXIT_NO_CHECKS)
				status = EXIT_FAIL;
		}
		devhost_fini(&host);
	}
	drive_script_free(&sc);
	if (status != EXIT_ERROR)
		printf(PROG ": %s\n", status == 0 ? "PASS" :
		       status == EXIT_NO_CHECKS ? "FAIL: no checks in the script" :
		       "FAIL");
	return status;
}
