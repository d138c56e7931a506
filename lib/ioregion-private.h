/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by the library's components. Not installed. */
#ifndef IOREGION_PRIVATE_H
#define IOREGION_PRIVATE_H

#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/log.h"

#define IOREGION_EXPORT __attribute__((visibility("default")))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define unlikely(x) __builtin_expect(!!(x), 0)
#define likely(x) __builtin_expect(!!(x), 1)

static inline uint64_t
load_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
load_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
store_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void
store_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Monotonic time in nanoseconds (vDSO, no syscall on x86-64). */
static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Busy-wait hint for adaptive polling. */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Whether @p fd is an eventfd: an anonymous inode (no file type bits) that
 * /proc names "anon_inode:[eventfd]". Where /proc cannot be read (not
 * mounted, a sandbox) the kind cannot be told further and an anonymous
 * inode is trusted: only an fd known to be something else is refused. */
static inline bool
fd_is_eventfd(int fd)
{
	char path[40], link[32];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return true;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

/* An eventfd that is non-blocking (O_NONBLOCK): the kind a device's loop
 * can take (ioregion_irq_new()). */
static inline bool
fd_is_nonblocking_eventfd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK) && fd_is_eventfd(fd);
}

/* Logging sink embedded in every object that logs (context, bridge). */
struct ioregion_log {
	ioregion_log_handler_fn *handler;
	void *data;
	enum ioregion_log_priority priority;
	/* rate limit for messages a peer or guest can trigger */
	uint64_t window_start_ns;
	unsigned window_count;
	unsigned suppressed;
};

void log_init(struct ioregion_log *log);
/* At teardown: say how many rate-limited messages were never reported. */
void log_fini(struct ioregion_log *log);
void log_msg(struct ioregion_log *log, enum ioregion_log_priority prio,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like log_msg at ERROR, but at most a burst per second: use for anything a
 * peer (guest, kernel, VMM, fuzzer) can trigger at will. */
void log_peer(struct ioregion_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* log_peer's rate limit alone, for callers that call the handler later
 * (outside their locks): whether a message may go out now; *suppressed is
 * how many were dropped since the last window (report them first). */
bool log_peer_admit(struct ioregion_log *log, unsigned *suppressed);

#define log_debug(l, ...) log_msg((l), IOREGION_LOG_DEBUG, __VA_ARGS__)
#define log_info(l, ...) log_msg((l), IOREGION_LOG_INFO, __VA_ARGS__)
#define log_error(l, ...) log_msg((l), IOREGION_LOG_ERROR, __VA_ARGS__)
#define log_bug_client(l, ...) log_msg((l), IOREGION_LOG_ERROR, "client bug: " __VA_ARGS__)

#endif /* IOREGION_PRIVATE_H */
