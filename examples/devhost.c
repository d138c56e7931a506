/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the example device programs: sockets, spawn, accept
 * (the library's control session), respawn, reap. See devhost.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devhost.h"

#define MAX_ARGS 32

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A listening SOCK_SEQPACKET socket at @path (a stale socket there is
 * replaced, never any other file). Returns the fd or a negative errno. */
static int
listen_at(const struct devhost *h, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", h->prog, path);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "%s: %s exists and is not a socket\n",
				h->prog, path);
			return -EEXIST;
		}
		unlink(path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, DEVHOST_MAX_DEVICES) < 0) {
		err = -errno;
		fprintf(stderr, "%s: listen on %s: %s\n", h->prog, path,
			strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int
devhost_listen(struct devhost *h, const char *prog, const char *path)
{
	const char *tmp = getenv("TMPDIR");
	int fd, err;

	memset(h, 0, sizeof(*h));
	h->prog = prog;
	h->listen_fd = -1;
	for (unsigned int i = 0; i < DEVHOST_MAX_DEVICES; i++)
		h->children[i].listen_fd = -1;

	snprintf(h->tmpdir, sizeof(h->tmpdir), "%s/ioregion-vmm-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 50 ? tmp : "/tmp");
	if (!mkdtemp(h->tmpdir)) {
		err = -errno;
		fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(errno));
		h->tmpdir[0] = '\0';
		return err;
	}
	if (path)
		snprintf(h->socket_path, sizeof(h->socket_path), "%s", path);
	else
		snprintf(h->socket_path, sizeof(h->socket_path), "%s/vmm.sock",
			 h->tmpdir);
	fd = listen_at(h, h->socket_path);
	if (fd < 0)
		return fd;
	h->listen_fd = fd;
	h->shared_made = true;
	return 0;
}

extern char **environ;

/* Our environment with IOREGION_SOCKET=@path instead of any other: made
 * before fork (the child of a threaded process must not allocate). */
static char **
device_env(const char *path, char **var)
{
	size_t n = 0, k = 0, len = strlen(IOREGION_SESSION_ENV);
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	*var = malloc(len + strlen(path) + 2);
	if (!env || !*var) {
		free(env);
		free(*var);
		return NULL;
	}
	sprintf(*var, "%s=%s", IOREGION_SESSION_ENV, path);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], IOREGION_SESSION_ENV, len) ||
		    environ[i][len] != '=')
			env[k++] = environ[i];
	env[k++] = *var;
	env[k] = NULL;
	return env;
}

static int
start(struct devhost *h, struct devhost_child *c)
{
	char *argv[MAX_ARGS + 3];
	char *copy, *tok, *save = NULL, *var = NULL, **env;
	int argc = 0;
	pid_t pid;

	copy = strdup(c->cmd);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	if (!argc || tok) {
		fprintf(stderr, "%s: bad --spawn command '%s'\n", h->prog,
			c->cmd);
		free(copy);
		return -EINVAL;
	}
	argv[argc++] = "--socket-path";
	argv[argc++] = c->socket_path;
	argv[argc] = NULL;
	env = device_env(c->socket_path, &var);
	if (!env) {
		free(copy);
		return -ENOMEM;
	}

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		free(copy);
		free(env);
		free(var);
		return err;
	}
	if (pid == 0) {
		execvpe(argv[0], argv, env);
		fprintf(stderr, "%s: exec %s: %s\n", h->prog, argv[0],
			strerror(errno));
		_exit(127);
	}
	free(copy);
	free(env);
	free(var);
	fprintf(stderr, "%s: spawned pid %d: %s\n", h->prog, (int)pid, c->cmd);
	c->pid = pid;
	return 0;
}

int
devhost_spawn(struct devhost *h, const char *cmdline)
{
	struct devhost_child *c;
	int rc;

	if (h->nspawned >= DEVHOST_MAX_DEVICES)
		return -ENOSPC;
	c = &h->children[h->nspawned];
	c->cmd = strdup(cmdline);
	if (!c->cmd)
		return -ENOMEM;
	snprintf(c->socket_path, sizeof(c->socket_path), "%s/device-%u.sock",
		 h->tmpdir, h->nspawned);
	rc = listen_at(h, c->socket_path);
	if (rc < 0) {
		free(c->cmd);
		c->cmd = NULL;
		c->socket_path[0] = '\0';
		return rc;
	}
	c->listen_fd = rc;
	h->nspawned++;
	rc = start(h, c);
	return rc < 0 ? rc : (int)(h->nspawned - 1);
}

/* Report how a child ended. Returns 1 if that is a failure. */
static int
report_child(const struct devhost *h, const struct devhost_child *c,
	     pid_t pid, int wstatus, bool we_killed)
{
	if (WIFEXITED(wstatus)) {
		if (WEXITSTATUS(wstatus) == 0)
			return 0;
		fprintf(stderr, "%s: device %s (pid %d) exited with status %d\n",
			h->prog, c->cmd, (int)pid, WEXITSTATUS(wstatus));
		return 1;
	}
	if (WIFSIGNALED(wstatus)) {
		fprintf(stderr, "%s: device %s (pid %d) killed by signal %d "
			"(%s)\n", h->prog, c->cmd, (int)pid, WTERMSIG(wstatus),
			strsignal(WTERMSIG(wstatus)));
		return we_killed ? 0 : 1;
	}
	return 0;
}

/* Reap child @c if it has ended; returns 1 if it had, and whether that
 * was a failure in *@failed. */
static int
try_reap(const struct devhost *h, struct devhost_child *c, bool we_killed,
	 int *failed)
{
	int wstatus;
	pid_t pid = c->pid;

	if (pid <= 0 || waitpid(pid, &wstatus, WNOHANG) != pid)
		return 0;
	*failed = report_child(h, c, pid, wstatus, we_killed);
	c->pid = -pid;
	return 1;
}

int
devhost_respawn(struct devhost *h, unsigned int i)
{
	struct devhost_child *c;
	int failed;

	if (i >= h->nspawned)
		return -EINVAL;
	c = &h->children[i];
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		/* SIGKILL ends it at once; bounded anyway. */
		for (int n = 0; n < 1000 && !try_reap(h, c, true, &failed); n++)
			usleep(2000);
		if (c->pid > 0)
			return -EBUSY;
	}
	return start(h, c);
}

int
devhost_restart(struct devhost *h, unsigned int i, int timeout_ms,
		struct ioregion_vmm_device **devp, int *reset_rc)
{
	int rc = devhost_respawn(h, i);

	*reset_rc = 1;
	if (rc == 0)
		rc = devhost_accept(h, (int)i, NULL, timeout_ms, true, devp);
	if (rc < 0)
		return rc;
	if (ioregion_vmm_keeps_state(*devp) != 1)
		*reset_rc = ioregion_vmm_reset(*devp);
	return 0;
}

int
devhost_wait(struct devhost *h, const bool pending[DEVHOST_SHARED + 1],
	     int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[DEVHOST_SHARED + 1];
		int64_t left = deadline - now_ms();
		int failed, rc;

		for (unsigned int i = 0; i <= DEVHOST_SHARED; i++) {
			int fd = i == DEVHOST_SHARED ? h->listen_fd :
				 h->children[i].listen_fd;

			pfd[i] = (struct pollfd){
				.fd = pending[i] ? fd : -1, .events = POLLIN,
			};
		}
		for (unsigned int i = 0; i < h->nspawned; i++) {
			struct devhost_child *c = &h->children[i];

			if (pending[i] && try_reap(h, c, false, &failed)) {
				fprintf(stderr, "%s: device %s ended before "
					"connecting\n", h->prog, c->cmd);
				return -ECHILD;
			}
		}
		rc = poll(pfd, DEVHOST_SHARED + 1,
			  left <= 0 ? 0 : left < 100 ? (int)left : 100);
		if (rc < 0 && errno != EINTR)
			return -errno;
		for (unsigned int i = 0; rc > 0 && i <= DEVHOST_SHARED; i++)
			if (pfd[i].revents & POLLIN)
				return (int)i;
		if (left <= 0) {
			fprintf(stderr, "%s: no device connected within %d "
				"ms\n", h->prog, timeout_ms);
			return -ETIMEDOUT;
		}
	}
}

int
devhost_accept(struct devhost *h, int which,
	       const struct ioregion_vmm_config *cfg, int timeout_ms, bool re,
	       struct ioregion_vmm_device **devp)
{
	bool pending[DEVHOST_SHARED + 1] = { false };
	int fd, rc;

	if (which < 0 || which > DEVHOST_SHARED ||
	    (which < DEVHOST_SHARED && (unsigned int)which >= h->nspawned))
		return -EINVAL;
	pending[which] = true;
	rc = devhost_wait(h, pending, timeout_ms);
	if (rc < 0)
		return rc;
	fd = which == DEVHOST_SHARED ? h->listen_fd :
	     h->children[which].listen_fd;
	/* A connection is waiting: the set-up is bounded by the session
	 * timeout from here. */
	rc = re ? ioregion_vmm_reaccept(*devp, fd) :
		  ioregion_vmm_accept(fd, cfg, devp);
	if (rc < 0)
		fprintf(stderr, "%s: control session with %s: %s\n", h->prog,
			which == DEVHOST_SHARED ? "a device" :
			h->children[which].cmd, strerror(-rc));
	return rc;
}

int
devhost_attach_all(struct devhost *h, unsigned int nhand,
		   devhost_config_fn *config, void *data, int timeout_ms,
		   struct ioregion_vmm_device **devs)
{
	bool pending[DEVHOST_SHARED + 1] = { false };
	int64_t deadline = now_ms() + timeout_ms;
	unsigned int left = h->nspawned + nhand, by_hand = 0;

	for (unsigned int i = 0; i < h->nspawned; i++)
		pending[i] = true;
	pending[DEVHOST_SHARED] = nhand > 0;
	while (left) {
		int64_t ms = deadline - now_ms();
		struct ioregion_vmm_device **slot;
		int which, rc;

		which = devhost_wait(h, pending, ms > 0 ? (int)ms : 0);
		if (which < 0) {
			fprintf(stderr, "%s: %u device(s) not attached\n",
				h->prog, left);
			return which;
		}
		slot = which == DEVHOST_SHARED ?
		       &devs[h->nspawned + by_hand] : &devs[which];
		rc = devhost_accept(h, which, config(data, which), 0, false,
				    slot);
		if (rc < 0)
			return rc;
		if (which == DEVHOST_SHARED)
			pending[which] = ++by_hand < nhand;
		else
			pending[which] = false;
		left--;
	}
	return 0;
}

int
devhost_unwired_line(struct devhost *h, uint32_t trigger,
		     struct ioregion_vmm_line *line)
{
	bool level = trigger == IOREGION_LINE_LEVEL;
	unsigned int need = level ? 2 : 1;

	if (h->nunwired + need > DEVHOST_MAX_UNWIRED)
		return -ENOSPC;
	*line = (struct ioregion_vmm_line){
		.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
		.resample_fd = -1,
		.gsi = UINT32_MAX,
	};
	if (line->fd < 0)
		return -errno;
	h->unwired[h->nunwired++] = line->fd;
	if (level) {
		line->resample_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (line->resample_fd < 0)
			return -errno;
		h->unwired[h->nunwired++] = line->resample_fd;
	}
	return 0;
}

int
devhost_unwired_line_fn(void *data, const char *device, unsigned int index,
			const char *name, uint32_t trigger,
			struct ioregion_vmm_line *line)
{
	(void)device;
	(void)index;
	(void)name;
	return devhost_unwired_line(data, trigger, line);
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
			int failed = 0;

			if (h->children[i].pid <= 0)
				continue;
			if (try_reap(h, &h->children[i], we_killed, &failed))
				failures += failed;
			else
				alive++;
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
		if (h->children[i].pid > 0)
			kill(h->children[i].pid, sig);
}

int
devhost_finish(struct devhost *h, int timeout_ms)
{
	int failures;

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
	signal_children(h, SIGKILL);
	reap(h, 1000, true);
	for (unsigned int i = 0; i < h->nspawned; i++) {
		struct devhost_child *c = &h->children[i];

		free(c->cmd);
		c->cmd = NULL;
		if (c->listen_fd >= 0)
			close(c->listen_fd);
		c->listen_fd = -1;
		if (c->socket_path[0])
			unlink(c->socket_path);
		c->socket_path[0] = '\0';
	}
	h->nspawned = 0;
	for (unsigned int i = 0; i < h->nunwired; i++)
		close(h->unwired[i]);
	h->nunwired = 0;
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
	if (h->shared_made)
		unlink(h->socket_path);
	if (h->tmpdir[0])
		rmdir(h->tmpdir);
	h->socket_path[0] = '\0';
	h->tmpdir[0] = '\0';
}
