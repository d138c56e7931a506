/* SPDX-License-Identifier: MIT */
/* The examples' libioregion log handler: messages on stderr, labelled with
 * the program they come from (the handler's data is the program name). */
#ifndef EXAMPLES_LOGGING_H
#define EXAMPLES_LOGGING_H

#include <stdarg.h>
#include <stdio.h>

#include <ioregion/log.h>

static inline void __attribute__((format(printf, 3, 0)))
log_to_stderr(void *data, enum ioregion_log_priority priority,
	      const char *format, va_list args)
{
	fprintf(stderr, "%s: ioregion %s: ", (const char *)data,
		priority >= IOREGION_LOG_ERROR ? "error" :
		priority >= IOREGION_LOG_INFO ? "info" : "debug");
	vfprintf(stderr, format, args);
}

#endif /* EXAMPLES_LOGGING_H */
