/* SPDX-License-Identifier: MIT */
/* The bridge's log handler and priority. */
#include "bridge-private.h"

#include <stdio.h>

void
bridge_log_peer(struct ioregion_bridge *bridge, const char *fmt, ...)
{
	char msg[256];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	pthread_mutex_lock(&bridge->log_lock);
	log_peer(&bridge->log, "%s", msg);
	pthread_mutex_unlock(&bridge->log_lock);
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

