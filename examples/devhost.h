/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the example device programs, shared by tinyvmm,
 * tools/ioregion-drive and uart-line-test: where the devices connect,
 * starting them, accepting them (the control session is the library's,
 * ioregion_vmm_accept()), starting one again after it died, and waiting
 * for them at the end. No libev here.
 *
 * Sockets: each spawned device gets a listening socket of its own in a
 * private folder (so the VMM knows which device is on a connection, and
 * gives each only what the options name it for; a restarted device
 * connects to the same one), and devices started by hand connect to the
 * shared socket (--socket PATH, or one in the same folder).
 */
#ifndef EXAMPLES_DEVHOST_H
#define EXAMPLES_DEVHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioregion/vmm.h"

#define DEVHOST_MAX_DEVICES 8
#define DEVHOST_MAX_UNWIRED 16

struct devhost_child {
	pid_t pid;			/* > 0 running; <= 0 reaped or none */
	char *cmd;			/* the command line, owned */
	char socket_path[108];		/* its own listening socket */
	int listen_fd;
};

struct devhost {
	const char *prog;
	char socket_path[108];		/* the shared socket */
	char tmpdir[80];		/* our private folder */
	bool shared_made;		/* socket_path is ours to remove */
	int listen_fd;
	struct devhost_child children[DEVHOST_MAX_DEVICES];
	unsigned int nspawned;
	int unwired[DEVHOST_MAX_UNWIRED];	/* eventfds of unwired lines */
	unsigned int nunwired;
};

/* Make the private folder and listen on @path (NULL: a socket in that
 * folder) for devices started by hand. A stale socket at @path is
 * replaced. Returns 0 or a negative errno (message printed). */
int devhost_listen(struct devhost *h, const char *prog, const char *path);

/* Start "@cmdline --socket-path <its own socket>" (split on blanks, no
 * shell), with $IOREGION_SOCKET set to the same path (for a device that
 * takes no options); stdin/stdout/stderr are inherited. Returns the device's index
 * (0, 1, ...: the order of the calls) or a negative errno. */
int devhost_spawn(struct devhost *h, const char *cmdline);

/* Start spawned device @i again, on the same socket: the old process is
 * killed if it still runs, and reaped (its end is reported, never counted
 * as a failure). Returns 0 or a negative errno. */
int devhost_respawn(struct devhost *h, unsigned int i);

/* Index of the shared socket in devhost_wait()'s @pending. */
#define DEVHOST_SHARED DEVHOST_MAX_DEVICES

/*
 * Wait until a connection is waiting on one of the sockets @pending says
 * (@pending[i] for spawned device i, @pending[DEVHOST_SHARED] for the
 * shared socket), for up to @timeout_ms. Returns that index, -ECHILD when
 * a pending spawned device ended first, -ETIMEDOUT (message printed).
 */
int devhost_wait(struct devhost *h, const bool pending[DEVHOST_SHARED + 1],
		 int timeout_ms);

/*
 * Accept a device and run the control session's set-up with @cfg: from
 * spawned device @which's socket, or from the shared one (DEVHOST_SHARED).
 * Waits as devhost_wait() for that socket alone.
 * @re: ioregion_vmm_reaccept() of *@devp instead (a restarted device).
 * Returns 0 or a negative errno (message printed).
 */
int devhost_accept(struct devhost *h, int which,
		   const struct ioregion_vmm_config *cfg, int timeout_ms,
		   bool re, struct ioregion_vmm_device **devp);

/* Start spawned device @i again (devhost_respawn()) and re-attach it
 * (ioregion_vmm_reaccept() of *@devp, within @timeout_ms), then reset it
 * (RESET) unless it said it keeps its state across restarts
 * (ioregion_vmm_keeps_state(): a reset would throw that state away).
 * Returns 0 or a negative errno of the restart or the re-attach (message
 * printed); *@reset_rc is the reset's result, or 1 when it was not
 * reset. */
int devhost_restart(struct devhost *h, unsigned int i, int timeout_ms,
		    struct ioregion_vmm_device **devp, int *reset_rc);

/* The config a VMM attaches device @which with (a spawned device's index,
 * or DEVHOST_SHARED for one started by hand). */
typedef const struct ioregion_vmm_config *
devhost_config_fn(void *data, int which);

/*
 * Attach every spawned device and @nhand devices started by hand, in the
 * order they connect, all within @timeout_ms: devs[i] for spawned device
 * i, devs[nspawned + k] for the k-th by hand. Returns 0 or a negative
 * errno (message printed; the devices attached so far stay in @devs).
 */
int devhost_attach_all(struct devhost *h, unsigned int nhand,
		       devhost_config_fn *config, void *data, int timeout_ms,
		       struct ioregion_vmm_device **devs);

/* An interrupt line wired to nothing, for a device that declares one the
 * VMM does not connect: fresh non-blocking eventfds (the devhost closes
 * them at the end). Returns 0 or a negative errno. */
int devhost_unwired_line(struct devhost *h, uint32_t trigger,
			 struct ioregion_vmm_line *line);

/* An ioregion_vmm_line_fn that gives every line an unwired one (the data
 * is the struct devhost). */
int devhost_unwired_line_fn(void *data, const char *device,
			    unsigned int index, const char *name,
			    uint32_t trigger, struct ioregion_vmm_line *line);

/* Wait up to @timeout_ms for spawned devices to exit, then SIGTERM, then
 * SIGKILL. Returns the number of devices that failed (non-zero exit or
 * killed by a signal we did not send). */
int devhost_finish(struct devhost *h, int timeout_ms);

/* Free everything; removes the sockets and the private folder. */
void devhost_fini(struct devhost *h);

#endif /* EXAMPLES_DEVHOST_H */
