/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the example device programs: listen, spawn, accept,
 * receive regions (hand-off), reap. See devhost.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/handoff.h"

#include "devhost.h"

#define MAX_ARGS 32

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
devhost_listen(struct devhost *h, const char *prog, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	memset(h, 0, sizeof(*h));
	h->prog = prog;
	h->listen_fd = -1;

	if (!path) {
		const char *tmp = getenv("TMPDIR");

		snprintf(h->tmpdir, sizeof(h->tmpdir), "%s/tinyvmm-XXXXXX",
			 tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
		if (!mkdtemp(h->tmpdir)) {
			err = -errno;
			fprintf(stderr, "%s: mkdtemp: %s\n", prog,
				strerror(errno));
			h->tmpdir[0] = '\0';
			return err;
		}
		snprintf(h->socket_path, sizeof(h->socket_path), "%s/vmm.sock",
			 h->tmpdir);
	} else {
		if (strlen(path) >= sizeof(sa.sun_path)) {
			fprintf(stderr, "%s: socket path too long: %s\n", prog,
				path);
			return -ENAMETOOLONG;
		}
		snprintf(h->socket_path, sizeof(h->socket_path), "%s", path);
		/* Replace a stale socket, never any other file. */
		if (lstat(path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				fprintf(stderr, "%s: %s exists and is not a socket\n",
					prog, path);
				h->socket_path[0] = '\0';
				return -EEXIST;
			}
			unlink(path);
		}
	}
	strcpy(sa.sun_path, h->socket_path);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, DEVHOST_MAX_DEVICES) < 0) {
		err = -errno;
		fprintf(stderr, "%s: listen on %s: %s\n", prog, h->socket_path,
			strerror(errno));
		close(fd);
		h->socket_path[0] = '\0';
		return err;
	}
	h->listen_fd = fd;
	return 0;
}

int
devhost_spawn(struct devhost *h, const char *cmdline)
{
	return devhost_spawn_with(h, cmdline, NULL, 0, NULL, 0);
}

int
devhost_spawn_with(struct devhost *h, const char *cmdline,
		   const char *const *args, unsigned int nargs,
		   const int *fds, unsigned int nfds)
{
	char *argv[MAX_ARGS + DEVHOST_MAX_EXTRA_ARGS + 3];
	char *copy, *tok, *save = NULL;
	int argc = 0;
	pid_t pid;

	if (h->nspawned >= DEVHOST_MAX_DEVICES)
		return -ENOSPC;
	copy = strdup(cmdline);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	if (!argc || tok) {
		fprintf(stderr, "%s: bad --spawn command '%s'\n", h->prog,
			cmdline);
		free(copy);
		return -EINVAL;
	}
	if (nargs > DEVHOST_MAX_EXTRA_ARGS) {
		free(copy);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < nargs; i++)
		argv[argc++] = (char *)args[i];
	argv[argc++] = "--socket-path";
	argv[argc++] = h->socket_path;
	argv[argc] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		free(copy);
		return err;
	}
	if (pid == 0) {
		/* The fds given to this device only: inherited across exec. */
		for (unsigned int i = 0; i < nfds; i++)
			if (fcntl(fds[i], F_SETFD, 0) < 0)
				_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: exec %s: %s\n", h->prog, argv[0],
			strerror(errno));
		_exit(127);
	}
	fprintf(stderr, "%s: spawned pid %d: %s\n", h->prog, (int)pid,
		cmdline);
	h->pids[h->nspawned] = pid;
	h->cmds[h->nspawned] = copy;	/* argv[0] is its first word */
	h->nspawned++;
	return 0;
}

/* Report how a child ended. Returns 1 if that is a failure. */
static int
report_child(const struct devhost *h, unsigned int i, int wstatus,
	     bool we_killed)
{
	if (WIFEXITED(wstatus)) {
		if (WEXITSTATUS(wstatus) == 0)
			return 0;
		fprintf(stderr, "%s: device %s (pid %d) exited with status %d\n",
			h->prog, h->cmds[i], (int)h->pids[i],
			WEXITSTATUS(wstatus));
		return 1;
	}
	if (WIFSIGNALED(wstatus)) {
		fprintf(stderr, "%s: device %s (pid %d) killed by signal %d "
			"(%s)\n", h->prog, h->cmds[i], (int)h->pids[i],
			WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
		return we_killed ? 0 : 1;
	}
	return 0;
}

/* Has a spawned device ended before the hand-off? */
static int
check_children(struct devhost *h)
{
	for (unsigned int i = 0; i < h->nspawned; i++) {
		int wstatus;

		if (h->pids[i] <= 0)
			continue;
		if (waitpid(h->pids[i], &wstatus, WNOHANG) == h->pids[i]) {
			fprintf(stderr,
				"%s: device %s ended before its hand-off\n",
				h->prog, h->cmds[i]);
			report_child(h, i, wstatus, false);
			h->pids[i] = -h->pids[i];
			return -ECHILD;
		}
	}
	return 0;
}

static int
receive_regions(struct devhost *h, int sock, unsigned int device)
{
	for (;;) {
		struct devhost_region *r = &h->regions[h->nregions];
		struct ioregion_desc desc;
		char name[IOREGION_HANDOFF_NAME_MAX];
		int fd = -1, fallback_fd = -1, rc;

		rc = ioregion_handoff_recv_with_fallback(sock, &desc, &fd,
							 &fallback_fd, name);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			fprintf(stderr, "%s: hand-off from device %u: %s\n",
				h->prog, device, strerror(-rc));
			return rc;
		}
		if (h->nregions >= DEVHOST_MAX_REGIONS) {
			close(fd);
			if (fallback_fd >= 0)
				close(fallback_fd);
			fprintf(stderr, "%s: too many regions\n", h->prog);
			return -ENOSPC;
		}
		r->desc = desc;
		r->fd = fd;
		r->fallback_fd = fallback_fd;
		snprintf(r->name, sizeof(r->name), "%s",
			 name[0] ? name : "unnamed");
		r->device = device;
		h->nregions++;
		fprintf(stderr,
			"%s: region %-12s %s 0x%" PRIx64 "+0x%" PRIx64 "%s%s\n",
			h->prog, r->name,
			(desc.flags & IOREGION_F_PIO) ? "pio " : "mmio",
			desc.addr, desc.size,
			(desc.flags & IOREGION_F_POSTED_WRITES) ?
				" posted-writes" : "",
			fallback_fd >= 0 ? " +fallback" : "");
	}
}

int
devhost_accept(struct devhost *h, unsigned int ndevices, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (unsigned int n = 0; n < ndevices;) {
		struct pollfd pfd = { .fd = h->listen_fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		struct timeval tv;
		int sock, rc;

		if (left <= 0) {
			fprintf(stderr,
				"%s: %u of %u devices connected within %d ms\n",
				h->prog, n, ndevices, timeout_ms);
			return -ETIMEDOUT;
		}
		rc = check_children(h);
		if (rc < 0)
			return rc;
		rc = poll(&pfd, 1, left < 100 ? (int)left : 100);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		sock = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (sock < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return -errno;
		}
		/* A device that connects and then says nothing must not
		 * stall us past the deadline. */
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		rc = ioregion_handoff_check_peer(sock, getuid());
		if (rc < 0) {
			fprintf(stderr, "%s: refusing a device of another user: %s\n",
				h->prog, strerror(-rc));
			close(sock);
			continue;
		}
		rc = receive_regions(h, sock, n);
		close(sock);
		if (rc < 0)
			return rc;
		n++;
	}
	return 0;
}

const struct devhost_region *
devhost_find(const struct devhost *h, bool pio, uint64_t addr)
{
	for (unsigned int i = 0; i < h->nregions; i++) {
		const struct devhost_region *r = &h->regions[i];

		if (!!(r->desc.flags & IOREGION_F_PIO) != pio)
			continue;
		if (addr >= r->desc.addr && addr - r->desc.addr < r->desc.size)
			return r;
		if (r->desc.size == 0 && addr == r->desc.addr)
			return r;
	}
	return NULL;
}

/* Wait until every spawned child has ended or @timeout_ms passed.
 * Returns the number of failures seen. */
static int
reap(struct devhost *h, int timeout_ms, bool we_killed)
{
	int64_t deadline = now_ms() + timeout_ms;
	int failures = 0;

	for (;;) {
		unsigned int alive = 0;

		for (unsigned int i = 0; i < h->nspawned; i++) {
			int wstatus;
			pid_t pid = h->pids[i];

			if (pid <= 0)
				continue;
			if (waitpid(pid, &wstatus, WNOHANG) == pid) {
				failures += report_child(h, i, wstatus,
							 we_killed);
				h->pids[i] = -pid;
			} else {
				alive++;
			}
		}
		if (!alive || now_ms() >= deadline)
			return failures;
		usleep(5000);
	}
}

static void
signal_children(struct devhost *h, int sig)
{
	for (unsigned int i = 0; i < h->nspawned; i++)
		if (h->pids[i] > 0)
			kill(h->pids[i], sig);
}

/* Close our copies of every region fd. */
static void
close_region_fds(struct devhost *h)
{
	for (unsigned int i = 0; i < h->nregions; i++) {
		struct devhost_region *r = &h->regions[i];

		if (r->fd >= 0)
			close(r->fd);
		if (r->fallback_fd >= 0)
			close(r->fallback_fd);
		r->fd = r->fallback_fd = -1;
	}
}

int
devhost_finish(struct devhost *h, int timeout_ms)
{
	int failures;

	close_region_fds(h);
	failures = reap(h, timeout_ms, false);
	signal_children(h, SIGTERM);
	signal_children(h, SIGCONT);	/* a stopped device must see it */
	failures += reap(h, 1000, true);
	signal_children(h, SIGKILL);
	failures += reap(h, 1000, true);
	return failures;
}

void
devhost_fini(struct devhost *h)
{
	close_region_fds(h);
	h->nregions = 0;
	signal_children(h, SIGKILL);
	reap(h, 1000, true);
	for (unsigned int i = 0; i < h->nspawned; i++)
		free(h->cmds[i]);
	h->nspawned = 0;
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
	if (h->socket_path[0])
		unlink(h->socket_path);
	if (h->tmpdir[0])
		rmdir(h->tmpdir);
	h->socket_path[0] = '\0';
	h->tmpdir[0] = '\0';
}
