/* SPDX-License-Identifier: MIT */
/*
 * libioregion hand-off: a device process passes a region description and
 * the fds that serve it to the VMM over a UNIX socket (SCM_RIGHTS). One
 * fixed-size, versioned message per region; an end marker after the last.
 * The receiver validates every field and closes any extra fds. No libev.
 */
#ifndef IOREGION_HANDOFF_H
#define IOREGION_HANDOFF_H

#include <stdint.h>
#include <sys/types.h>

#include "ioregion/desc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest region name, including the terminating NUL. */
#define IOREGION_HANDOFF_NAME_MAX 32

/**
 * The message, version 2: 96 bytes, host byte order (both ends are on one
 * host), no implicit padding. A region message carries one or two fds
 * (SCM_RIGHTS), as many as its nfds field says; the end marker carries
 * none and all its fields after type are zero.
 *
 *   offset size name       meaning
 *   0      4    magic      IOREGION_HANDOFF_MAGIC ("IORH" in memory)
 *   4      2    version    IOREGION_HANDOFF_VERSION
 *   6      2    type       IOREGION_HANDOFF_REGION or IOREGION_HANDOFF_END
 *   8      8    addr       struct ioregion_desc, field by field
 *   16     8    size
 *   24     8    user_data
 *   32     4    flags
 *   36     4    dialect
 *   40     32   name       NUL-terminated, zero after the NUL
 *   72     4    nfds       1: the main fd; 2: the main fd, then the
 *                          fallback fd (same regions, same user_data)
 *   76     20   reserved   zero
 *
 * The main fd is the one a VMM registers with KVM_SET_IOREGION on a
 * patched kernel (or gives its bridge on a stock one). The fallback fd,
 * a second channel of the device serving the same regions, is the one
 * the bridge gets on a patched kernel, for the accesses the kernel hands
 * back: the kernel and the bridge must never share an open file, or
 * their replies cross (there is no request id in the wire protocol).
 *
 * Both fds must be sockets (the receiver refuses anything else).
 * Sockets: SOCK_SEQPACKET (recommended: one message per packet) or
 * SOCK_STREAM (the receiver reads exactly 96 bytes per message).
 * Version 1 (one fd, no nfds field) is no longer spoken: the hand-off
 * has no stable ABI before libioregion 1.0.
 */
struct ioregion_handoff_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint64_t addr;
	uint64_t size;
	uint64_t user_data;
	uint32_t flags;
	uint32_t dialect;
	char name[IOREGION_HANDOFF_NAME_MAX];
	uint32_t nfds;
	uint8_t reserved[20];
};

#define IOREGION_HANDOFF_MAGIC 0x48524f49u	/* 'I' 'O' 'R' 'H' little-endian */
#define IOREGION_HANDOFF_VERSION 2
#define IOREGION_HANDOFF_MSG_SIZE 96

/** Message types; 0 is invalid. */
#define IOREGION_HANDOFF_REGION 1
#define IOREGION_HANDOFF_END 2

/**
 * Send one region and its fd (no fallback fd): the same as
 * ioregion_handoff_send_with_fallback() with @p fallback_fd -1.
 */
int ioregion_handoff_send(int sock, const struct ioregion_desc *desc, int fd,
			  const char *name);

/**
 * Send one region, its main fd and, if @p fallback_fd >= 0, the fallback
 * fd (another channel serving the same regions, for the VMM's bridge on a
 * patched kernel). @p name (may be NULL) labels it for the VMM's logs and
 * statistics; it is cut to IOREGION_HANDOFF_NAME_MAX - 1.
 *
 * @return 0
 * @retval -EINVAL invalid desc, fd < 0, or @p fallback_fd == @p fd
 * @retval -EPIPE, -ECONNRESET the receiver is gone
 * @retval -EBADF, -ENOTSOCK @p sock is not a socket (or an fd not open)
 * @retval -EAGAIN a non-blocking socket is full; other errno of sendmsg()
 */
int ioregion_handoff_send_with_fallback(int sock,
					const struct ioregion_desc *desc,
					int fd, int fallback_fd,
					const char *name);

/**
 * Send the end marker: no more regions from this sender.
 * @return 0
 * @retval -EPIPE, -ECONNRESET the receiver is gone
 * @retval -EBADF, -ENOTSOCK @p sock is not a socket; other errno of
 *         sendmsg()
 */
int ioregion_handoff_send_end(int sock);

/**
 * Receive one message, without its fallback fd: the same as
 * ioregion_handoff_recv_with_fallback() with a NULL @p fallback_fd (a
 * fallback fd that came with the region is closed).
 */
int ioregion_handoff_recv(int sock, struct ioregion_desc *desc, int *fd,
			  char *name);

/**
 * Receive one message. On a region the fds are new (close-on-exec) and
 * owned by the caller; *fallback_fd is -1 when the sender sent none, and
 * a fallback fd is closed here when @p fallback_fd is NULL. @p name, if
 * not NULL, receives the NUL-terminated label (IOREGION_HANDOFF_NAME_MAX
 * bytes). On any error no fd is left open (received fds are closed) and
 * *fd (and *fallback_fd) is -1. A signal during the bounded wait for the
 * rest of a stream message does not cut the message short.
 *
 * @return 1 a region (desc and fds filled), 0 the end marker
 * @retval -ECONNRESET EOF before the end marker
 * @retval -EBADMSG wrong length, magic, type, nonzero reserved bytes,
 *         invalid desc (ioregion_desc_validate), unterminated name, nfds
 *         not 1 or 2 or not the number of fds that came, fds lost to a
 *         truncated control buffer, or an fd with the end marker
 * @retval -ENOTSOCK a received fd is not a socket (a FIFO or a character
 *         device could loop the VMM's commands back or block it)
 * @retval -EPROTO a version this library does not speak
 * @retval -EAGAIN a non-blocking socket has no message yet
 * @retval -EINVAL NULL desc or fd
 * @retval -EBADF, -ENOTSOCK @p sock is not a socket; other errno of
 *         recvmsg()
 * @note On a blocking SOCK_STREAM socket, a sender that stops in the middle
 *       of a message blocks this call (the rest-of-message bound applies to
 *       non-blocking sockets only); use SOCK_SEQPACKET or a non-blocking
 *       socket when the sender is not trusted.
 */
int ioregion_handoff_recv_with_fallback(int sock, struct ioregion_desc *desc,
					int *fd, int *fallback_fd,
					char *name);

/**
 * Check the peer of a connected UNIX socket (SO_PEERCRED: the credentials
 * at connect() or socketpair() time).
 * @return 0 if the peer's uid is @p uid
 * @retval -EACCES another uid
 * @retval -ENOTSOCK, -EBADF not a socket; other negative errno
 */
int ioregion_handoff_check_peer(int sock, uid_t uid);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_HANDOFF_H */
