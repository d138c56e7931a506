/* SPDX-License-Identifier: MIT */
/*
 * libioregion hand-off: a device process passes a region description and
 * the fd that serves it to the VMM over a UNIX socket (SCM_RIGHTS). One
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
 * Send one region and its fd. @p name (may be NULL) labels it for the
 * VMM's logs and statistics; it is cut to IOREGION_HANDOFF_NAME_MAX - 1.
 *
 * @return 0
 * @retval -EINVAL invalid desc or fd < 0
 * @retval -EPIPE, -ECONNRESET the receiver is gone
 */
int ioregion_handoff_send(int sock, const struct ioregion_desc *desc, int fd,
			  const char *name);

/** Send the end marker: no more regions from this sender. */
int ioregion_handoff_send_end(int sock);

/**
 * Receive one message. On a region the fd is new (close-on-exec) and
 * owned by the caller; @p name, if not NULL, receives the NUL-terminated
 * label (IOREGION_HANDOFF_NAME_MAX bytes).
 *
 * @return 1 a region (desc and fd filled), 0 the end marker
 * @retval -ECONNRESET EOF before the end marker
 * @retval -EBADMSG wrong length, magic, flags, desc, no fd or too many
 *         fds with a region (all received fds are closed), or an fd with
 *         the end marker
 * @retval -EPROTO a version this library does not speak
 */
int ioregion_handoff_recv(int sock, struct ioregion_desc *desc, int *fd,
			  char *name);

/**
 * Check the peer of a connected UNIX socket (SO_PEERCRED).
 * @return 0 if the peer's uid is @p uid
 * @retval -EACCES another uid
 */
int ioregion_handoff_check_peer(int sock, uid_t uid);

#ifdef __cplusplus
}
#endif

#endif /* IOREGION_HANDOFF_H */
