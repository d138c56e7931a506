/* SPDX-License-Identifier: MIT */
/*
 * Control session messages (layout in ioregion/session.h): a table of the
 * types with their body sizes, fd counts and checks, a bounded send, and a
 * receiver that trusts nothing. Shared by the device's and the VMM's
 * session code; no libev.
 *
 * The receiver takes every fd the kernel delivers (MSG_CMSG_CLOEXEC, room
 * for more than any type carries, so extras are seen and closed), reads
 * with MSG_TRUNC so an oversized packet shows its real length, and checks
 * the header, then the body of the type. Any failure closes every fd of
 * the packet and logs what was wrong.
 */
#include "session-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioregion/desc.h"
#include "ioregion/memory.h"
#include "ioregion/wire.h"

_Static_assert(sizeof(struct ioregion_session_hdr) == IOREGION_SESSION_HDR_SIZE,
	       "session header");
_Static_assert(sizeof(struct ioregion_session_line) == 32, "line");
_Static_assert(sizeof(struct ioregion_session_hello) == 560, "HELLO");
_Static_assert(sizeof(struct ioregion_session_welcome) == 16, "WELCOME");
_Static_assert(sizeof(struct ioregion_session_region) == 72, "REGION");
_Static_assert(offsetof(struct ioregion_session_region, name) == 32,
	       "REGION name");
_Static_assert(sizeof(struct ioregion_session_regions_done) == 8,
	       "REGIONS_DONE");
_Static_assert(sizeof(struct ioregion_session_irq) == 16, "IRQ");
_Static_assert(sizeof(struct ioregion_session_mem_slot) == 32, "MEM_SLOT");
_Static_assert(sizeof(struct ioregion_session_ready) == 16, "READY");
_Static_assert(sizeof(struct ioregion_session_mem_remove) == 16, "MEM_REMOVE");
_Static_assert(sizeof(struct ioregion_session_empty) == 8, "RESET");
_Static_assert(sizeof(struct ioregion_session_ack) == 16, "ACK");
_Static_assert(sizeof(struct ioregion_session_error) == 64, "ERROR");

/* Room for more fds than any type carries: extras are seen, closed and
 * make the message malformed. */
#define RECV_FDS_MAX 8
/* Larger than any message, so that MSG_TRUNC tells an oversized one. */
#define RECV_BUF (IOREGION_SESSION_HDR_SIZE + SESSION_BODY_MAX + 64)

/* What the body check of a type found wrong, for the log line; NULL: ok. */
typedef const char *check_fn(const struct session_msg *m);

struct type_info {
	const char *name;
	uint32_t body;		/* exact body size */
	uint8_t min_fds, max_fds;
	check_fn *check;
};

static bool
all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* NUL-terminated inside the field, and zero after the NUL. */
static bool
name_ok(const char *name, size_t size)
{
	const char *nul = memchr(name, '\0', size);

	return nul && all_zero(nul, size - (size_t)(nul - name));
}

static const char *
check_hello(const struct session_msg *m)
{
	const struct ioregion_session_hello *h = &m->body.hello;

	if (!name_ok(h->name, sizeof(h->name)))
		return "device name not NUL-terminated and zero-padded";
	if (h->flags & ~IOREGION_SESSION_HELLO_F_ALL)
		return "unknown flags";
	if (!all_zero(h->reserved, sizeof(h->reserved)))
		return "reserved bytes not zero";
	if (h->nlines > IOREGION_SESSION_LINES_MAX)
		return "more interrupt lines than IOREGION_SESSION_LINES_MAX";
	for (uint32_t i = 0; i < IOREGION_SESSION_LINES_MAX; i++) {
		const struct ioregion_session_line *l = &h->lines[i];

		if (i >= h->nlines) {
			if (!all_zero(l, sizeof(*l)))
				return "a line entry past nlines not zero";
			continue;
		}
		if (l->trigger != IOREGION_LINE_EDGE &&
		    l->trigger != IOREGION_LINE_LEVEL)
			return "a line neither edge nor level";
		if (l->reserved)
			return "reserved bytes of a line not zero";
		if (!name_ok(l->name, sizeof(l->name)))
			return "line name not NUL-terminated and zero-padded";
	}
	return NULL;
}

static const char *
check_welcome(const struct session_msg *m)
{
	const struct ioregion_session_welcome *w = &m->body.welcome;

	if (!ioregion_wire_dialect_valid(w->dialect))
		return "unknown wire dialect";
	if (w->flags & ~IOREGION_SESSION_WELCOME_F_ALL)
		return "unknown flags";
	if (!all_zero(w->reserved, sizeof(w->reserved)))
		return "reserved bytes not zero";
	return NULL;
}

static const char *
check_region(const struct session_msg *m)
{
	const struct ioregion_session_region *r = &m->body.region;
	struct ioregion_desc d = {
		.addr = r->addr, .size = r->size, .user_data = r->user_data,
		.flags = r->flags, .dialect = r->dialect,
	};

	if (!name_ok(r->name, sizeof(r->name)))
		return "region name not NUL-terminated and zero-padded";
	if (!all_zero(r->reserved, sizeof(r->reserved)))
		return "reserved bytes not zero";
	if (ioregion_desc_validate(&d) < 0)
		return "invalid region (flags, dialect, size or range)";
	return NULL;
}

static const char *
check_regions_done(const struct session_msg *m)
{
	const struct ioregion_session_regions_done *d = &m->body.regions_done;

	if (d->reserved)
		return "reserved bytes not zero";
	if (d->nregions == 0 || d->nregions > IOREGION_SESSION_REGIONS_MAX)
		return "region count 0 or above IOREGION_SESSION_REGIONS_MAX";
	return NULL;
}

static const char *
check_irq(const struct session_msg *m)
{
	const struct ioregion_session_irq *q = &m->body.irq;

	if (q->reserved)
		return "reserved bytes not zero";
	if (q->index >= IOREGION_SESSION_LINES_MAX)
		return "line index above IOREGION_SESSION_LINES_MAX";
	if (q->trigger != IOREGION_LINE_EDGE &&
	    q->trigger != IOREGION_LINE_LEVEL)
		return "a line neither edge nor level";
	/* An edge line has its trigger eventfd, a level line a resample
	 * eventfd too. */
	if (m->nfds != q->trigger)
		return "fd count not 1 for an edge line, 2 for a level line";
	return NULL;
}

static const char *
check_mem_slot(const struct session_msg *m)
{
	const struct ioregion_session_mem_slot *s = &m->body.mem_slot;

	if (s->reserved)
		return "reserved bytes not zero";
	if (s->flags & ~IOREGION_MEM_F_ALL)
		return "unknown slot flags";
	if (s->size == 0)
		return "slot size 0";
	return NULL;
}

static const char *
check_ready(const struct session_msg *m)
{
	const struct ioregion_session_ready *r = &m->body.ready;

	if (!all_zero(r->reserved, sizeof(r->reserved)))
		return "reserved bytes not zero";
	if (r->nlines > IOREGION_SESSION_LINES_MAX ||
	    r->nslots > IOREGION_MEM_SLOTS_MAX)
		return "line or slot count above its maximum";
	return NULL;
}

static const char *
check_mem_remove(const struct session_msg *m)
{
	return m->body.mem_remove.reserved ? "reserved bytes not zero" : NULL;
}

static const char *
check_empty(const struct session_msg *m)
{
	return all_zero(&m->body.empty, sizeof(m->body.empty)) ? NULL :
	       "reserved bytes not zero";
}

static const char *
check_ack(const struct session_msg *m)
{
	const struct ioregion_session_ack *a = &m->body.ack;

	if (!all_zero(a->reserved, sizeof(a->reserved)))
		return "reserved bytes not zero";
	if (a->type != IOREGION_SESSION_READY &&
	    a->type != IOREGION_SESSION_MEM_SLOT &&
	    a->type != IOREGION_SESSION_MEM_REMOVE &&
	    a->type != IOREGION_SESSION_RESET)
		return "acknowledges a type that takes no answer";
	if (a->result > 0)
		return "a positive result";
	return NULL;
}

static const char *
check_error(const struct session_msg *m)
{
	const struct ioregion_session_error *e = &m->body.error;

	if (e->reserved)
		return "reserved bytes not zero";
	if (e->error <= 0)
		return "errno not positive";
	if (!name_ok(e->reason, sizeof(e->reason)))
		return "reason not NUL-terminated and zero-padded";
	return NULL;
}

#define T(type, sname, min, max, fn) \
	[IOREGION_SESSION_##type] = { #type, sizeof(sname), min, max, fn }

static const struct type_info types[] = {
	T(HELLO, struct ioregion_session_hello, 0, 0, check_hello),
	T(WELCOME, struct ioregion_session_welcome, 0, 0, check_welcome),
	T(REGION, struct ioregion_session_region, 1, 2, check_region),
	T(REGIONS_DONE, struct ioregion_session_regions_done, 0, 0,
	  check_regions_done),
	T(IRQ, struct ioregion_session_irq, 1, 2, check_irq),
	T(MEM_SLOT, struct ioregion_session_mem_slot, 1, 1, check_mem_slot),
	T(READY, struct ioregion_session_ready, 0, 0, check_ready),
	T(MEM_REMOVE, struct ioregion_session_mem_remove, 0, 0,
	  check_mem_remove),
	T(RESET, struct ioregion_session_empty, 0, 0, check_empty),
	T(SHUTDOWN, struct ioregion_session_empty, 0, 0, check_empty),
	T(ACK, struct ioregion_session_ack, 0, 0, check_ack),
	T(ERROR, struct ioregion_session_error, 0, 0, check_error),
};

static const struct type_info *
type_info(unsigned int type)
{
	if (type >= ARRAY_SIZE(types) || !types[type].name)
		return NULL;
	return &types[type];
}

const char *
session_type_name(unsigned int type, char *buf, size_t size)
{
	const struct type_info *t = type_info(type);

	if (t)
		return t->name;
	snprintf(buf, size, "type %u", type);
	return buf;
}

int64_t
session_now_ms(void)
{
	return (int64_t)(now_ns() / 1000000u);
}

int64_t
session_deadline(unsigned int timeout_ms)
{
	return session_now_ms() + (int64_t)timeout_ms;
}

/* Wait for @p events on @p sock until @p deadline; a signal does not end
 * the wait early. 0 ready, -ETIMEDOUT, -EAGAIN (no wait asked). */
static int
wait_for(int sock, short events, int64_t deadline)
{
	if (deadline < 0)
		return -EAGAIN;
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = events };
		int64_t left = deadline - session_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;	/* ready, or an error the call reports */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int
session_check_socket(int sock)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);
	struct stat st;

	if (fstat(sock, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(domain);
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	if (domain != AF_UNIX)
		return -ENOTSOCK;
	return type == SOCK_SEQPACKET ? 0 : -EPROTOTYPE;
}

int
session_send(int sock, int64_t deadline, unsigned int type, const void *body,
	     const int *fds, unsigned int nfds)
{
	const struct type_info *t = type_info(type);
	struct ioregion_session_hdr hdr = {
		.magic = IOREGION_SESSION_MAGIC,
		.version = IOREGION_SESSION_VERSION,
		.type = (uint16_t)type,
		.nfds = (uint16_t)nfds,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SESSION_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (!t || nfds > SESSION_FDS_MAX)
		return -EINVAL;
	hdr.length = IOREGION_SESSION_HDR_SIZE + t->body;
	iov[0] = (struct iovec){ .iov_base = &hdr, .iov_len = sizeof(hdr) };
	iov[1] = (struct iovec){ .iov_base = (void *)body, .iov_len = t->body };
	if (nfds) {
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
	for (;;) {
		int rc;

		if (sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;	/* SEQPACKET: the whole packet */
		if (errno == EINTR)
			continue;
		if (errno == EPIPE)
			return -ECONNRESET;	/* the peer closed: one errno */
		if (errno != EAGAIN)
			return -errno;
		rc = wait_for(sock, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
}

void
session_put_name(char *dst, size_t size, const char *src)
{
	memset(dst, 0, size);
	if (src)
		strncpy(dst, src, size - 1);
}

void
session_send_error(int sock, int err, const char *fmt, ...)
{
	struct ioregion_session_error e;
	va_list ap;

	memset(&e, 0, sizeof(e));
	e.error = err > 0 ? err : EPROTO;
	va_start(ap, fmt);
	vsnprintf(e.reason, sizeof(e.reason), fmt, ap);
	va_end(ap);
	/* vsnprintf leaves the rest as it was: zero from the memset. */
	(void)session_send(sock, -1, IOREGION_SESSION_ERROR, &e, NULL, 0);
}

void
session_msg_close(struct session_msg *m)
{
	for (unsigned int i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

void
session_log_peer_error(struct ioregion_log *log, const struct session_msg *m)
{
	log_error(log, "control session: the peer gave up: %s (%s)\n",
		  m->body.error.reason, strerror(m->body.error.error));
}

static bool
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Take the fds of every SCM_RIGHTS in @p mh: the first RECV_FDS_MAX into
 * @p fds (*kept of them), the rest closed at once; *nfds counts them all. */
static void
take_fds(struct msghdr *mh, int *fds, unsigned int *nfds, unsigned int *kept)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (*kept < RECV_FDS_MAX)
				fds[(*kept)++] = fd;
			else
				close(fd);
			(*nfds)++;
		}
	}
}

#define BAD(rc_, ...) do { rc = (rc_); \
	log_peer(log, "control session: " __VA_ARGS__); goto fail; } while (0)

int
session_recv(int sock, int64_t deadline, struct session_msg *m,
	     struct ioregion_log *log)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * RECV_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	uint8_t buf[RECV_BUF];
	int fds[RECV_FDS_MAX];
	unsigned int nfds = 0, kept = 0;
	const struct type_info *t;
	const char *why;
	ssize_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};

		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC |
			    MSG_DONTWAIT);
		if (n >= 0) {
			take_fds(&mh, fds, &nfds, &kept);
			if (mh.msg_flags & MSG_CTRUNC)
				nfds = UINT16_MAX + 1u;	/* fds lost: never right */
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		rc = wait_for(sock, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}

	if (n == 0 && nfds == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof(m->hdr))
		BAD(-EBADMSG, "a %zd-byte packet, shorter than a header\n", n);
	memcpy(&m->hdr, buf, sizeof(m->hdr));
	if (m->hdr.magic != IOREGION_SESSION_MAGIC)
		BAD(-EBADMSG, "bad magic 0x%08x\n", m->hdr.magic);
	if (m->hdr.version != IOREGION_SESSION_VERSION)
		BAD(-EPROTONOSUPPORT,
		    "protocol version %u, this library speaks %u\n",
		    m->hdr.version, IOREGION_SESSION_VERSION);
	t = type_info(m->hdr.type);
	if (!t)
		BAD(-ENOMSG, "unknown message type %u\n", m->hdr.type);
	if (m->hdr.reserved)
		BAD(-EBADMSG, "%s: reserved header bytes not zero\n", t->name);
	if ((size_t)n > sizeof(buf) || (uint64_t)n != m->hdr.length ||
	    m->hdr.length != IOREGION_SESSION_HDR_SIZE + t->body)
		BAD(-EBADMSG, "%s: %zd bytes, length field %u, the type has "
		    "%u\n", t->name, n, m->hdr.length,
		    IOREGION_SESSION_HDR_SIZE + t->body);
	if (nfds != m->hdr.nfds || nfds < t->min_fds || nfds > t->max_fds)
		BAD(-EBADMSG, "%s: %u fds came%s, nfds field %u, the type "
		    "takes %u to %u\n", t->name, kept,
		    nfds > kept ? " (and more, lost)" : "", m->hdr.nfds,
		    t->min_fds, t->max_fds);
	memcpy(&m->body, buf + sizeof(m->hdr), t->body);
	m->nfds = nfds;
	memcpy(m->fds, fds, sizeof(int) * nfds);
	why = t->check(m);
	m->nfds = 0;
	if (why)
		BAD(-EBADMSG, "%s: %s\n", t->name, why);
	for (unsigned int i = 0; i < nfds; i++) {
		if (m->hdr.type == IOREGION_SESSION_REGION && !is_socket(fds[i]))
			BAD(-ENOTSOCK, "%s: fd %u is not a socket\n", t->name,
			    i);
		if (m->hdr.type == IOREGION_SESSION_IRQ && !fd_is_eventfd(fds[i]))
			BAD(-EBADFD, "%s: fd %u is not an eventfd\n", t->name,
			    i);
	}
	m->nfds = nfds;
	memcpy(m->fds, fds, sizeof(int) * nfds);
	return 0;

fail:
	for (unsigned int i = 0; i < kept; i++)
		close(fds[i]);
	return rc;
}
