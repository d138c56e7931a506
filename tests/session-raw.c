/* SPDX-License-Identifier: MIT */
/* Raw control-session messages for tests that play one side by hand: see
 * session-raw.h. */
#include "test-common.h"
#include "session-raw.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioregion/wire.h"
#include "session-fixture.h"

struct ioregion_session_hdr
raw_hdr(unsigned int type, size_t len, unsigned int nfds)
{
	return (struct ioregion_session_hdr){
		.magic = IOREGION_SESSION_MAGIC,
		.version = IOREGION_SESSION_VERSION,
		.type = (uint16_t)type,
		.length = (uint32_t)(IOREGION_SESSION_HDR_SIZE + len),
		.nfds = (uint16_t)nfds,
	};
}

void
raw_send(int sock, const struct ioregion_session_hdr *h, unsigned int type,
	 const void *body, size_t len, const int *fds, unsigned int nfds)
{
	struct ioregion_session_hdr hdr = h ? *h : raw_hdr(type, len, nfds);
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)body, len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = body ? 2 : 1 };

	ior_assert(nfds <= 16);
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
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		ior_abort("raw_send of type %u: %s", hdr.type, strerror(errno));
}

ssize_t
raw_recv(int sock, struct ioregion_session_hdr *h, void *body, size_t max,
	 int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = { { h, sizeof(*h) }, { body, max } };
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = 2,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	if (!ior_readable(sock, timeout_ms))
		return -1;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	/* The peer closed with our messages unread: reported once, then the
	 * queue reads on. */
	if (n < 0 && errno == ECONNRESET)
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return -1;
	if (n < 0)
		ior_abort("raw_recv: %s", strerror(errno));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		     i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
	return n;
}

/* ---- the log lines of one case --------------------------------------------- */

char last_log[4096];

void
capture(void *data, enum ioregion_log_priority prio, const char *fmt,
	va_list ap)
{
	size_t len = strlen(last_log);

	vsnprintf(last_log + len, sizeof(last_log) - len, fmt, ap);
}

void
assert_logged(const char *what)
{
	if (!strstr(last_log, what))
		ior_abort("log line '%s' does not say '%s'", last_log, what);
}

/* ---- fds to send ----------------------------------------------------- */

int
a_socket(void)
{
	int sv[2];

	tvmm_pair(sv);
	close(sv[1]);
	return sv[0];
}

int
a_pipe(void)
{
	int p[2];

	ior_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	return p[0];
}

int
an_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ior_assert_int_ge(fd, 0);
	return fd;
}

int
a_blocking_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	ior_assert_int_ge(fd, 0);
	return fd;
}

int
a_memfd(size_t size)
{
	int fd = memfd_create("ram", MFD_CLOEXEC);

	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Send and close our copies: the packet holds them. */
void
send_fds(int s, const struct ioregion_session_hdr *h, unsigned int type,
	 const void *body, size_t len, int *fds, unsigned int nfds)
{
	raw_send(s, h, type, body, len, fds, nfds);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* ---- good bodies --------------------------------------------------------- */

struct ioregion_session_hello
hello(void)
{
	return (struct ioregion_session_hello){ .name = "bad" };
}

struct ioregion_session_region
region(void)
{
	return (struct ioregion_session_region){
		.addr = 0xd0000000, .size = 0x100, .user_data = 1,
		.dialect = IOREGION_WIRE_V3, .name = "r",
	};
}

void
send_hello(int s)
{
	struct ioregion_session_hello h = hello();

	raw_send(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h), NULL, 0);
}

void
send_region(int s)
{
	struct ioregion_session_region r = region();
	int fd = a_socket();

	send_fds(s, NULL, IOREGION_SESSION_REGION, &r, sizeof(r), &fd, 1);
}

void
send_done(int s, uint32_t n)
{
	struct ioregion_session_regions_done d = { .nregions = n };

	raw_send(s, NULL, IOREGION_SESSION_REGIONS_DONE, &d, sizeof(d), NULL, 0);
}

void
send_ack(int s, uint32_t type, int32_t result)
{
	struct ioregion_session_ack a = { .type = type, .result = result };

	raw_send(s, NULL, IOREGION_SESSION_ACK, &a, sizeof(a), NULL, 0);
}

/* ---- feeds both sides take -------------------------------------------- */

void
hello_short(int s)
{
	struct ioregion_session_hello h = hello();

	raw_send(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h) - 1, NULL, 0);
}

void
unknown_type(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(99, sizeof(h), 0);

	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

void
hang_up(int s)
{
	shutdown(s, SHUT_WR);
}

void
error_instead(int s)
{
	struct ioregion_session_error e = { .error = EPERM, .reason = "no" };

	raw_send(s, NULL, IOREGION_SESSION_ERROR, &e, sizeof(e), NULL, 0);
}

/* Drain what the side under test sent to the raw peer: the errno of its
 * ERROR, or 0 if it sent none. */
int
drain(int s)
{
	struct ioregion_session_hdr h;
	uint8_t body[1024];
	int told = 0;
	ssize_t n;

	while ((n = raw_recv(s, &h, body, sizeof(body), 0)) > 0) {
		if (h.type == IOREGION_SESSION_ERROR) {
			struct ioregion_session_error e;

			memcpy(&e, body, sizeof(e));
			told = e.error;
		}
	}
	return told;
}
