/* SPDX-License-Identifier: MIT */
/* Logging: a per-object handler and priority, stderr at ERROR by default,
 * and a rate limit for messages a peer can trigger. */
#include "ioregion-private.h"

#include <stdio.h>

#define RATELIMIT_INTERVAL_NS 1000000000ull
#define RATELIMIT_BURST 10

static void __attribute__((format(printf, 3, 0)))
log_stderr(void *data, enum ioregion_log_priority prio, const char *fmt,
	   va_list args)
{
	const char *tag = prio >= IOREGION_LOG_ERROR ? "error" :
			  prio >= IOREGION_LOG_INFO ? "info" : "debug";

	fprintf(stderr, "ioregion %s: ", tag);
	vfprintf(stderr, fmt, args);
}

void
log_init(struct ioregion_log *log)
{
	memset(log, 0, sizeof(*log));
	log->handler = log_stderr;
	log->priority = IOREGION_LOG_ERROR;
}

void
log_fini(struct ioregion_log *log)
{
	if (log->suppressed)
		log_msg(log, IOREGION_LOG_ERROR,
			"%u similar messages suppressed\n", log->suppressed);
	log->suppressed = 0;
}

static void __attribute__((format(printf, 3, 0)))
log_va(struct ioregion_log *log, enum ioregion_log_priority prio,
       const char *fmt, va_list args)
{
	if (log->handler && prio >= log->priority)
		log->handler(log->data, prio, fmt, args);
}

void
log_msg(struct ioregion_log *log, enum ioregion_log_priority prio,
	const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_va(log, prio, fmt, args);
	va_end(args);
}

bool
log_peer_admit(struct ioregion_log *log, unsigned *suppressed)
{
	uint64_t now = now_ns();

	*suppressed = 0;
	if (now - log->window_start_ns >= RATELIMIT_INTERVAL_NS) {
		*suppressed = log->suppressed;
		log->window_start_ns = now;
		log->window_count = 0;
		log->suppressed = 0;
	}
	if (log->window_count >= RATELIMIT_BURST) {
		log->suppressed++;
		return false;
	}
	log->window_count++;
	return true;
}

void
log_peer(struct ioregion_log *log, const char *fmt, ...)
{
	unsigned suppressed;
	bool admit = log_peer_admit(log, &suppressed);
	va_list args;

	if (suppressed)
		log_msg(log, IOREGION_LOG_ERROR,
			"%u similar messages suppressed\n", suppressed);
	if (!admit)
		return;
	va_start(args, fmt);
	log_va(log, IOREGION_LOG_ERROR, fmt, args);
	va_end(args);
}
