/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the example device programs, shared by tinyvmm and
 * tools/ioregion-drive: listen on a UNIX socket, optionally start the device
 * processes (--spawn), accept them, check their uid and receive their
 * regions (hand-off) until each sends its end marker; at the end, wait
 * for the devices to exit. No libev here.
 */
#ifndef EXAMPLES_DEVHOST_H
#define EXAMPLES_DEVHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioregion/desc.h"
#include "ioregion/handoff.h"

#define DEVHOST_MAX_DEVICES 8
#define DEVHOST_MAX_REGIONS 32
#define DEVHOST_MAX_EXTRA_ARGS 24

struct ioregion_bridge;

struct devhost_region {
	struct ioregion_desc desc;
	int fd;				/* main fd, owned by the devhost */
	int fallback_fd;		/* the bridge's on a patched kernel,
					 * or -1; owned by the devhost */
	char name[IOREGION_HANDOFF_NAME_MAX];
	unsigned int device;		/* index of the connection it came on */
};

struct devhost {
	const char *prog;
	char socket_path[108];
	char tmpdir[80];		/* made by us when no path was given */
	int listen_fd;
	pid_t pids[DEVHOST_MAX_DEVICES];
	char *cmds[DEVHOST_MAX_DEVICES];
	unsigned int nspawned;
	struct devhost_region regions[DEVHOST_MAX_REGIONS];
	unsigned int nregions;
};

/* Listen on @path (NULL: a socket in a new private temporary folder).
 * A stale socket at @path is replaced. Returns 0 or a negative errno. */
int devhost_listen(struct devhost *h, const char *prog, const char *path);

/* Start "@cmdline --socket-path <socket>" (split on blanks, no shell);
 * stdin/stdout/stderr are inherited. Returns 0 or a negative errno. */
int devhost_spawn(struct devhost *h, const char *cmdline);

/* The same with @nargs more arguments (at most DEVHOST_MAX_EXTRA_ARGS)
 * before --socket-path, and @fds (close-on-exec in this process) left
 * open across the device's exec: the device finds them at the same
 * numbers, which @args tell it. */
int devhost_spawn_with(struct devhost *h, const char *cmdline,
		       const char *const *args, unsigned int nargs,
		       const int *fds, unsigned int nfds);

/* Accept @ndevices device processes and receive their regions, giving up
 * after @timeout_ms in all (or when a spawned device exits first).
 * Returns 0 or a negative errno (message printed). */
int devhost_accept(struct devhost *h, unsigned int ndevices, int timeout_ms);

/* The region containing @addr in the given space, or NULL. */
const struct devhost_region *devhost_find(const struct devhost *h, bool pio,
					  uint64_t addr);

/* Close the region fds (so that the devices see EOF once every other copy
 * is closed), wait up to @timeout_ms for spawned devices to exit, then
 * SIGTERM, then SIGKILL. Returns the number of devices that failed
 * (non-zero exit or killed by a signal we did not send). */
int devhost_finish(struct devhost *h, int timeout_ms);

/* Free everything; removes the socket (and our temporary folder). */
void devhost_fini(struct devhost *h);

#endif /* EXAMPLES_DEVHOST_H */
