/* SPDX-License-Identifier: MIT */
/*
 * example-test: one run of tinyvmm, its output collected, a device killed
 * at the point the run says. See example-test.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "example-test.h"

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
buf_append(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *d = realloc(b->data, cap);

		if (!d) {
			fprintf(stderr, "example-test: out of memory\n");
			exit(1);
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
arg(struct run *r, const char *a)
{
	if (r->argc < (int)(sizeof(r->argv) / sizeof(r->argv[0])) - 1)
		r->argv[r->argc++] = a;
}

void
arg_owned(struct run *r, char *a)
{
	if (r->nowned < (int)(sizeof(r->owned) / sizeof(r->owned[0])))
		r->owned[r->nowned++] = a;
	else
		exit(1);
	arg(r, a);
}

void
run_free(struct run *r)
{
	for (int i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->out.data);
	free(r->err.data);
	memset(r, 0, sizeof(*r));
}

/* The pid tinyvmm printed for its first spawned device, or 0. */
static pid_t
spawned_pid(const struct buf *err)
{
	const char *p = err->data ? strstr(err->data, "spawned pid ") : NULL;

	return p ? (pid_t)atoi(p + strlen("spawned pid ")) : 0;
}

/* The pid tinyvmm printed last for a spawned device whose command holds
 * @match (a restarted device is spawned again), or 0. */
static pid_t
latest_pid(const struct buf *err, const char *match)
{
	const char *p = err->data, *key = "spawned pid ";
	pid_t pid = 0;

	while (p && (p = strstr(p, key))) {
		const char *eol = strchr(p, '\n'), *m = strstr(p, match);

		p += strlen(key);
		if (eol && m && m < eol)
			pid = (pid_t)atoi(p);
	}
	return pid;
}

static int
count_of(const char *s, const char *what)
{
	int n = 0;

	while (s && (s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* Whether process @pid is running on a CPU now ('R' in /proc/PID/stat):
 * for a device process, most likely in the middle of a request. */
static bool
running_now(pid_t pid)
{
	char path[64], buf[128], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'R';
}

/* linux-test's repeated kills: see struct run. */
static void
repeated_kill(struct run *r, long *last)
{
	const char *out = r->out.data ? r->out.data : "";
	pid_t dev;

	if (!r->kill_out || r->kills >= r->kill_max || !strstr(out, r->kill_out) ||
	    (r->kill_stop_out && strstr(out, r->kill_stop_out)) ||
	    (*last >= 0 && now_ms() - *last < r->kill_every_ms) ||
	    count_of(r->err.data, r->kill_ready) < r->kills)
		return;
	dev = latest_pid(&r->err, r->kill_match);
	/* aim for the middle of a request: wait (up to 500 ms) until the
	 * test's condition holds, or the device runs */
	for (long t = now_ms(); dev > 0 && now_ms() - t < 500;)
		if (r->kill_when ? r->kill_when(r->kill_data, dev)
				 : running_now(dev))
			break;
	if (dev > 0 && kill(dev, SIGKILL) == 0) {
		*last = now_ms();
		r->kills++;
		fprintf(stderr, "example-test: SIGKILL %d to device pid %d\n",
			r->kills, (int)dev);
	}
}

int
run_vmm(struct run *r)
{
	int out[2], err[2], in[2];
	long start = now_ms(), killed_at = -1, last_kill = -1;
	long limit = r->limit_ms > 0 ? r->limit_ms : HARNESS_LIMIT_MS;
	bool out_open = true, err_open = true, exited = false;
	pid_t pid;
	int wstatus;

	r->status = -1;
	r->kills = 0;
	r->kill_to_exit_ms = -1;
	r->kill_to_report_ms = -1;
	r->mark_ms = -1;
	r->argv[r->argc] = NULL;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
	    pipe2(in, O_CLOEXEC)) {
		perror("example-test: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("example-test: fork");
		return -1;
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		if (r->env)
			putenv((char *)r->env);
		execv(r->argv[0], (char **)r->argv);
		fprintf(stderr, "exec %s: %s\n", r->argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (r->stdin_data &&
	    write(in[1], r->stdin_data, strlen(r->stdin_data)) < 0)
		perror("example-test: write stdin");
	close(in[1]);

	while (out_open || err_open || !exited) {
		struct pollfd pfd[2] = {
			{ .fd = out_open ? out[0] : -1, .events = POLLIN },
			{ .fd = err_open ? err[0] : -1, .events = POLLIN },
		};
		char tmp[4096];
		ssize_t n;

		if (now_ms() - start > limit) {
			fprintf(stderr, "example-test: tinyvmm still running "
				"after %ld ms: killing it\n", limit);
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			r->status = -1;
			exited = true;
			break;
		}
		if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
			exited = true;
			if (killed_at >= 0)
				r->kill_to_exit_ms = now_ms() - killed_at;
			r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
						       : -1;
		}
		if (killed_at >= 0 && r->kill_to_report_ms < 0 &&
		    strstr(r->err.data ? r->err.data : "", "device error"))
			r->kill_to_report_ms = now_ms() - killed_at;
		if (r->kill_device && killed_at < 0 && err_open &&
		    strstr(r->err.data ? r->err.data : "",
			   r->kill_after ? r->kill_after : "running ")) {
			pid_t dev = spawned_pid(&r->err);

			/* let the guest get going */
			if (r->kill_delay_ms >= 0)
				usleep((useconds_t)(r->kill_delay_ms ?
						    r->kill_delay_ms : 300) * 1000);
			if (dev > 0 && kill(dev, r->kill_device) == 0) {
				killed_at = now_ms();
				fprintf(stderr, "example-test: sent %s to "
					"device pid %d\n",
					strsignal(r->kill_device), (int)dev);
			}
		}
		repeated_kill(r, &last_kill);
		if (poll(pfd, 2, 20) <= 0)
			continue;
		if (pfd[0].revents) {
			n = read(out[0], tmp, sizeof(tmp));
			if (n > 0) {
				buf_append(&r->out, tmp, (size_t)n);
				if (r->tee && write(STDOUT_FILENO, tmp,
						    (size_t)n) < 0)
					r->tee = false;
				if (r->mark && r->mark_ms < 0 &&
				    strstr(r->out.data, r->mark))
					r->mark_ms = now_ms() - start;
			} else {
				out_open = false;
			}
		}
		if (pfd[1].revents) {
			n = read(err[0], tmp, sizeof(tmp));
			if (n > 0)
				buf_append(&r->err, tmp, (size_t)n);
			else
				err_open = false;
		}
	}
	close(out[0]);
	close(err[0]);
	r->run_ms = now_ms() - start;
	/* Show what the VMM said, for the test log. */
	fprintf(stderr, "---- tinyvmm stderr ----\n%s---- (exit %d) ----\n",
		r->err.data ? r->err.data : "", r->status);
	return 0;
}

char *
guest(const struct paths *p, const char *name)
{
	size_t n = strlen(p->guests) + strlen(name) + 8;
	char *s = malloc(n);

	if (!s)
		exit(1);
	snprintf(s, n, "%s/%s.bin", p->guests, name);
	return s;
}

char *
cmd(const char *prog, const char *args)
{
	size_t n = strlen(prog) + strlen(args) + 2;
	char *s = malloc(n);

	if (!s)
		exit(1);
	snprintf(s, n, "%s%s%s", prog, *args ? " " : "", args);
	return s;
}

