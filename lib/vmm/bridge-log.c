/* SPDX-License-Identifier: MIT */
/* The bridge's log: messages noted during an access are given to the
 * handler after the access let go of every lock. */
#include "bridge-private.h"

#include <stdio.h>

void
bridge_note_peer(struct bridge_note *note, const char *fmt, ...)
{
	va_list args;

	if (note->msg[0])
		return;		/* the first failure of an access says it */
	va_start(args, fmt);
	vsnprintf(note->msg, sizeof(note->msg), fmt, args);
	va_end(args);
}

static void __attribute__((format(printf, 4, 5)))
call_handler(ioregion_log_handler_fn *handler, void *data,
	     enum ioregion_log_priority prio, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	handler(data, prio, fmt, args);
	va_end(args);
}

/*
 * The handler runs with no lock of the bridge held (the log mutex only
 * guards the handler, priority and rate-limit state while they are read),
 * so it may call any bridge function.
 */
void
bridge_log_note(struct ioregion_bridge *bridge, const struct bridge_note *note)
{
	ioregion_log_handler_fn *handler;
	unsigned suppressed;
	bool admit;
	void *data;

	if (!note->msg[0])
		return;
	pthread_mutex_lock(&bridge->log_lock);
	handler = bridge->log.priority <= IOREGION_LOG_ERROR ?
		  bridge->log.handler : NULL;
	data = bridge->log.data;
	admit = log_peer_admit(&bridge->log, &suppressed);
	pthread_mutex_unlock(&bridge->log_lock);
	if (!handler)
		return;
	if (suppressed)
		call_handler(handler, data, IOREGION_LOG_ERROR,
			     "%u similar messages suppressed\n", suppressed);
	if (admit)
		call_handler(handler, data, IOREGION_LOG_ERROR, "%s", note->msg);
}

IOREGION_EXPORT void
ioregion_bridge_set_log_handler(struct ioregion_bridge *bridge,
				ioregion_log_handler_fn *handler, void *data)
{
	if (!bridge)
		return;
	pthread_mutex_lock(&bridge->log_lock);
	bridge->log.handler = handler;
	bridge->log.data = data;
	pthread_mutex_unlock(&bridge->log_lock);
}

IOREGION_EXPORT void
ioregion_bridge_set_log_priority(struct ioregion_bridge *bridge,
				 enum ioregion_log_priority priority)
{
	if (!bridge)
		return;
	pthread_mutex_lock(&bridge->log_lock);
	bridge->log.priority = priority;
	pthread_mutex_unlock(&bridge->log_lock);
}

