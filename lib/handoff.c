/* SPDX-License-Identifier: MIT */
/*
 * Hand-off: one fixed-size, versioned message per region (layout in
 * ioregion/handoff.h) with its fd in SCM_RIGHTS, then an end marker.
 *
 * The receiver trusts nothing: it takes every fd the kernel delivers
 * (MSG_CMSG_CLOEXEC, room for several so extras are seen and closed),
 * treats fds lost to a truncated control buffer as malformed, and checks
 * length, magic, version, type, reserved bytes, the desc and the name. On
 * any error every received fd is closed. No libev.
 */
#include "ioregion-private.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ioregion/handoff.h"

_Static_assert(sizeof(struct ioregion_handoff_msg) == IOREGION_HANDOFF_MSG_SIZE,
	       "hand-off message size");
_Static_assert(offsetof(struct ioregion_handoff_msg, addr) == 8 &&
	       offsetof(struct ioregion_handoff_msg, flags) == 32 &&
	       offsetof(struct ioregion_handoff_msg, name) == 40 &&
	       offsetof(struct ioregion_handoff_msg, nfds) == 72 &&
	       offsetof(struct ioregion_handoff_msg, reserved) == 76,
	       "hand-off message layout");

/* How many fds one receive can take in (extras are closed). */
#define MAX_FDS 16
/* Bound for the rest of a message on a stream socket once it started. */
#define STREAM_REST_TIMEOUT_MS 1000

static int
send_msg(int sock, const struct ioregion_handoff_msg *m, const int *fds,
	 unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} ctl;
	const char *p = (const char *)m;
	size_t done = 0;

	while (done < sizeof(*m)) {
		struct iovec iov = {
			.iov_base = (void *)(p + done),
			.iov_len = sizeof(*m) - done,
		};
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (nfds > 0 && done == 0) {
			struct cmsghdr *cm;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* Only a stream socket can take part of it: the rest
		 * follows without the fd, which went with the first byte. */
		done += (size_t)n;
	}
	return 0;
}

IOREGION_EXPORT int
ioregion_handoff_send(int sock, const struct ioregion_desc *desc, int fd,
		      const char *name)
{
	return ioregion_handoff_send_with_fallback(sock, desc, fd, -1, name);
}

IOREGION_EXPORT int
ioregion_handoff_send_with_fallback(int sock, const struct ioregion_desc *desc,
				    int fd, int fallback_fd, const char *name)
{
	struct ioregion_handoff_msg m;
	int fds[2] = { fd, fallback_fd };

	if (ioregion_desc_validate(desc) < 0 || fd < 0 || fallback_fd == fd)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.magic = IOREGION_HANDOFF_MAGIC;
	m.version = IOREGION_HANDOFF_VERSION;
	m.type = IOREGION_HANDOFF_REGION;
	m.addr = desc->addr;
	m.size = desc->size;
	m.user_data = desc->user_data;
	m.flags = desc->flags;
	m.dialect = desc->dialect;
	if (name)
		strncpy(m.name, name, sizeof(m.name) - 1);
	m.nfds = fallback_fd >= 0 ? 2 : 1;
	return send_msg(sock, &m, fds, m.nfds);
}

IOREGION_EXPORT int
ioregion_handoff_send_end(int sock)
{
	struct ioregion_handoff_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = IOREGION_HANDOFF_MAGIC;
	m.version = IOREGION_HANDOFF_VERSION;
	m.type = IOREGION_HANDOFF_END;
	return send_msg(sock, &m, NULL, 0);
}

/* Append the fds of every SCM_RIGHTS in @p mh to fds; the ones that do not
 * fit are closed and counted. Returns false if a truncation lost fds. */
static bool
collect_fds(struct msghdr *mh, int *fds, unsigned *nfds, unsigned *extra)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (*nfds < MAX_FDS)
				fds[(*nfds)++] = fd;
			else {
				close(fd);
				(*extra)++;
			}
		}
	}
	return !(mh->msg_flags & MSG_CTRUNC);
}

static void
close_fds(int *fds, unsigned nfds)
{
	unsigned i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

static bool
all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Check everything but the fd count; 1 region, 0 end, negative errno. */
static int
validate(const struct ioregion_handoff_msg *m, struct ioregion_desc *desc)
{
	const char *nul;

	if (m->magic != IOREGION_HANDOFF_MAGIC)
		return -EBADMSG;
	if (m->version != IOREGION_HANDOFF_VERSION)
		return -EPROTO;
	if (!all_zero(m->reserved, sizeof(m->reserved)))
		return -EBADMSG;
	if (m->type == IOREGION_HANDOFF_END)
		return all_zero(&m->addr, sizeof(*m) -
				offsetof(struct ioregion_handoff_msg, addr)) ?
		       0 : -EBADMSG;
	if (m->type != IOREGION_HANDOFF_REGION)
		return -EBADMSG;

	nul = memchr(m->name, '\0', sizeof(m->name));
	if (!nul || !all_zero(nul, sizeof(m->name) - (size_t)(nul - m->name)))
		return -EBADMSG;

	if (m->nfds != 1 && m->nfds != 2)
		return -EBADMSG;

	memset(desc, 0, sizeof(*desc));
	desc->addr = m->addr;
	desc->size = m->size;
	desc->user_data = m->user_data;
	desc->flags = m->flags;
	desc->dialect = m->dialect;
	if (ioregion_desc_validate(desc) < 0)
		return -EBADMSG;
	return 1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @p sock is readable or @p deadline (now_ms) passes; a signal
 * does not end the wait early. Returns true if readable. */
static bool
wait_readable(int sock, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return false;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
	}
}

/* Receive one message into @p m, collecting fds. Returns the number of
 * bytes (sizeof(*m) on success, another count for a malformed message),
 * 0 on EOF, or a negative errno. */
static ssize_t
recv_msg(int sock, struct ioregion_handoff_msg *m, int *fds, unsigned *nfds,
	 unsigned *extra, bool *lost)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	int type = 0;
	socklen_t tlen = sizeof(type);
	bool stream;
	size_t got = 0;
	int64_t deadline = 0;

	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
		return -errno;
	stream = type == SOCK_STREAM;

	while (got < sizeof(*m)) {
		struct iovec iov = {
			.iov_base = (char *)m + got,
			.iov_len = sizeof(*m) - got,
		};
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n;

		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC |
			    (stream ? 0 : MSG_TRUNC));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && stream && got > 0) {
				/* One bound for the whole rest. */
				if (!deadline)
					deadline = now_ms() +
						   STREAM_REST_TIMEOUT_MS;
				if (wait_readable(sock, deadline))
					continue;
				return (ssize_t)got;	/* truncated */
			}
			return -errno;
		}
		if (!collect_fds(&mh, fds, nfds, extra))
			*lost = true;
		if (!stream)
			return n;	/* real length, thanks to MSG_TRUNC */
		if (n == 0)
			return (ssize_t)got;	/* EOF (mid-message: short) */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static bool
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

IOREGION_EXPORT int
ioregion_handoff_recv(int sock, struct ioregion_desc *desc, int *fd,
		      char *name)
{
	return ioregion_handoff_recv_with_fallback(sock, desc, fd, NULL, name);
}

IOREGION_EXPORT int
ioregion_handoff_recv_with_fallback(int sock, struct ioregion_desc *desc,
				    int *fd, int *fallback_fd, char *name)
{
	struct ioregion_handoff_msg m;
	struct ioregion_desc d;
	int fds[MAX_FDS];
	unsigned nfds = 0, extra = 0, i;
	bool lost = false;
	ssize_t n;
	int rc;

	if (!desc || !fd)
		return -EINVAL;
	*fd = -1;
	if (fallback_fd)
		*fallback_fd = -1;
	memset(&m, 0, sizeof(m));
	n = recv_msg(sock, &m, fds, &nfds, &extra, &lost);
	if (n < 0) {
		rc = (int)n;
		goto fail;
	}
	if (n == 0 && nfds == 0 && extra == 0 && !lost)
		return -ECONNRESET;
	if ((size_t)n != sizeof(m) || lost || extra) {
		rc = -EBADMSG;
		goto fail;
	}
	rc = validate(&m, &d);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		if (nfds != 0) {
			rc = -EBADMSG;
			goto fail;
		}
		return 0;
	}
	if (nfds != m.nfds) {
		rc = -EBADMSG;
		goto fail;
	}
	for (i = 0; i < nfds; i++) {
		if (!is_socket(fds[i])) {
			rc = -ENOTSOCK;
			goto fail;
		}
	}
	*desc = d;
	*fd = fds[0];
	if (nfds == 2) {
		if (fallback_fd)
			*fallback_fd = fds[1];
		else
			close(fds[1]);
	}
	if (name)
		memcpy(name, m.name, sizeof(m.name));
	return 1;

fail:
	close_fds(fds, nfds);
	return rc;
}

IOREGION_EXPORT int
ioregion_handoff_check_peer(int sock, uid_t uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.uid == uid ? 0 : -EACCES;
}
