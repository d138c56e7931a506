/* SPDX-License-Identifier: MIT */
/*
 * Control-session tests that play one side by hand: raw messages (any
 * header, any body, any fds), good bodies to start from, fds of every
 * kind, the log lines of a case, and what the side under test sent back.
 */
#ifndef IOREGION_SESSION_RAW_H
#define IOREGION_SESSION_RAW_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ioregion/log.h"
#include "ioregion/session.h"

/* Send @p len bytes of @p body after the header @p h (NULL: a correct one
 * for @p type, @p len and @p nfds) with @p nfds (<= 16) fds. */
void raw_send(int sock, const struct ioregion_session_hdr *h,
	      unsigned int type, const void *body, size_t len, const int *fds,
	      unsigned int nfds);
/* A correct header for @p type with a body of @p len bytes. */
struct ioregion_session_hdr raw_hdr(unsigned int type, size_t len,
				    unsigned int nfds);
/* Receive one message within @p timeout_ms into @p h and @p body (at most
 * @p max bytes); received fds are closed. The packet's length, 0 for
 * EOF, -1 on timeout. */
ssize_t raw_recv(int sock, struct ioregion_session_hdr *h, void *body,
		 size_t max, int timeout_ms);

/* The log lines of the current case (a handler: capture; clear it with
 * last_log[0] = '\0'); assert_logged() fails the test unless they say
 * @p what. */
extern char last_log[4096];
void capture(void *data, enum ioregion_log_priority prio, const char *fmt,
	     va_list ap) __attribute__((format(printf, 3, 0)));
void assert_logged(const char *what);

/* Fds of each kind, to send: a socket (its peer closed), the read end of
 * a pipe, a non-blocking eventfd, a blocking one, a memfd of @p size
 * bytes. */
int a_socket(void);
int a_pipe(void);
int an_eventfd(void);
int a_blocking_eventfd(void);
int a_memfd(size_t size);
/* raw_send(), then close our copies (the packet holds them). */
void send_fds(int s, const struct ioregion_session_hdr *h, unsigned int type,
	      const void *body, size_t len, int *fds, unsigned int nfds);

/* Good bodies and messages. */
struct ioregion_session_hello hello(void);
struct ioregion_session_region region(void);
void send_hello(int s);
void send_region(int s);
void send_done(int s, uint32_t n);
void send_ack(int s, uint32_t type, int32_t result);

/* A whole peer's script, written before the side under test runs. */
typedef void feed_fn(int s);
feed_fn hello_short, unknown_type, hang_up, error_instead;

/* Read everything the side under test sent: the errno of its ERROR, 0 if
 * it sent none. */
int drain(int s);

#endif /* IOREGION_SESSION_RAW_H */
