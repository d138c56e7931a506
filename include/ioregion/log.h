/* SPDX-License-Identifier: MIT */
/* libioregion logging: priorities and the handler type shared by every
 * object that logs (the device server context and the VMM-side bridge). */
#ifndef IOREGION_LOG_H
#define IOREGION_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Log priorities, spaced so that more can be added later. */
enum ioregion_log_priority {
	IOREGION_LOG_DEBUG = 10,
	IOREGION_LOG_INFO = 20,
	IOREGION_LOG_ERROR = 30,
};

/**
 * A log handler. @p data is the pointer given with the handler; the message
 * is @p format with @p args, and ends in a newline.
 */
typedef void ioregion_log_handler_fn(void *data,
				     enum ioregion_log_priority priority,
				     const char *format, va_list args)
	__attribute__((format(printf, 3, 0)));

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_LOG_H */
