/* SPDX-License-Identifier: MIT */
/* Control session messages: encode, send, receive and check (session-wire.c,
 * built into both libraries like log.c: each side has its own copy, none
 * of it exported). The layouts are in ioregion/session.h. */
#ifndef IOREGION_SESSION_PRIVATE_H
#define IOREGION_SESSION_PRIVATE_H

#include "ioregion-private.h"

#include <stddef.h>
#include <stdint.h>

#include "ioregion/session.h"

/* The largest body of any type (HELLO). */
#define SESSION_BODY_MAX sizeof(struct ioregion_session_hello)
/* Most fds of one message. */
#define SESSION_FDS_MAX 2

/* One received message: the header, its body, and the fds that came with
 * it (owned by whoever holds the message: session_msg_close()). */
struct session_msg {
	struct ioregion_session_hdr hdr;
	union {
		struct ioregion_session_hello hello;
		struct ioregion_session_welcome welcome;
		struct ioregion_session_region region;
		struct ioregion_session_regions_done regions_done;
		struct ioregion_session_irq irq;
		struct ioregion_session_mem_slot mem_slot;
		struct ioregion_session_ready ready;
		struct ioregion_session_mem_remove mem_remove;
		struct ioregion_session_empty empty;
		struct ioregion_session_ack ack;
		struct ioregion_session_error error;
		uint8_t raw[SESSION_BODY_MAX];
	} body;
	int fds[SESSION_FDS_MAX];
	unsigned int nfds;
};

/* Monotonic milliseconds, and the deadline @p timeout_ms from now. */
int64_t session_now_ms(void);
int64_t session_deadline(unsigned int timeout_ms);

/* The socket must be a connected AF_UNIX SOCK_SEQPACKET socket:
 * 0, -ENOTSOCK (not a socket, or not AF_UNIX), -EPROTOTYPE (another
 * type), -EBADF. */
int session_check_socket(int sock);

/* The name of a message type for log lines ("type 99" for unknown). */
const char *session_type_name(unsigned int type, char *buf, size_t size);

/*
 * Receive and check one message (every check of ioregion/session.h that
 * needs no session state). Waits until @p deadline (session_now_ms()
 * time; negative: do not wait, -EAGAIN when nothing is there). On success
 * the fds are in @p m (close-on-exec). On error no fd is left open and
 * the reason is logged through @p log (rate-limited: a peer triggers it).
 */
int session_recv(int sock, int64_t deadline, struct session_msg *m,
		 struct ioregion_log *log);

/* Send one message of @p type with @p body (its type's size) and @p nfds
 * fds, waiting for room until @p deadline (negative: not at all).
 * 0, -ETIMEDOUT, -EAGAIN (no wait), -ECONNRESET (the peer closed, EPIPE
 * included), other errno. */
int session_send(int sock, int64_t deadline, unsigned int type,
		 const void *body, const int *fds, unsigned int nfds);

/* Tell the peer why we give up (ERROR with positive @p err and a reason),
 * without waiting; failures are ignored: the peer may be gone. */
void session_send_error(int sock, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Close the fds of @p m (and forget them). */
void session_msg_close(struct session_msg *m);

/* Copy @p src into a fixed name field of @p size bytes: cut to size - 1,
 * zero-padded. NULL is the empty name. */
void session_put_name(char *dst, size_t size, const char *src);

/* Log that the peer sent ERROR (its errno and reason). */
void session_log_peer_error(struct ioregion_log *log,
			    const struct session_msg *m);

#endif /* IOREGION_SESSION_PRIVATE_H */
