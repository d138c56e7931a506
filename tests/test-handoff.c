/* SPDX-License-Identifier: MIT */
/*
 * Hand-off: round trips over socketpair(AF_UNIX) (SEQPACKET and STREAM),
 * and every class of malformed message, crafted by hand from the layout in
 * ioregion/handoff.h. No fd may leak: each test counts /proc/self/fd.
 */
#include "test-common.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioregion/handoff.h"
#include "ioregion/wire.h"

static void
pair(int type, int sv[2])
{
	ior_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
}

/* The fds a region is served on: one end of a socket pair. */
static void
served_pair(int sv[2])
{
	pair(SOCK_SEQPACKET, sv);
}

static void
close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static const struct ioregion_desc good_desc = {
	.addr = 0xd0000000, .size = 0x1000, .user_data = 0x42,
	.flags = IOREGION_F_POSTED_WRITES, .dialect = IOREGION_WIRE_V3,
};

static void
good_msg(struct ioregion_handoff_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->magic = IOREGION_HANDOFF_MAGIC;
	m->version = IOREGION_HANDOFF_VERSION;
	m->type = IOREGION_HANDOFF_REGION;
	m->addr = good_desc.addr;
	m->size = good_desc.size;
	m->user_data = good_desc.user_data;
	m->flags = good_desc.flags;
	m->dialect = good_desc.dialect;
	strcpy(m->name, "regbank");
	m->nfds = 1;
}

/* Send @p len bytes of @p buf with @p nfds fds (all the same @p fd). */
static void
raw_send(int sock, const void *buf, size_t len, int fd, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (unsigned i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd,
			       sizeof(int));
	}
	ior_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t)len);
}

/* Send @p m with @p nfds copies of a fresh socket end, expect @p want from
 * recv, and check that no fd is left over on the receiving side. */
static void
expect_recv(int type, const void *buf, size_t len, unsigned nfds, int want)
{
	struct ioregion_desc d;
	int sv[2], p[2], fd = 1234, before;

	pair(type, sv);
	served_pair(p);
	raw_send(sv[0], buf, len, p[0], nfds);
	close(p[0]);
	close(p[1]);
	before = ior_count_fds();
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, NULL), want);
	ior_assert_int_eq(fd, -1);
	ior_assert_int_eq(ior_count_fds(), before);
	close_pair(sv);
}

/* ---- good paths ----------------------------------------------------------- */

static void
round_trip(int type)
{
	struct ioregion_desc d;
	char name[IOREGION_HANDOFF_NAME_MAX];
	int sv[2], p[2], fd = -1;
	char c = 0;

	pair(type, sv);
	served_pair(p);
	ior_assert_int_eq(ioregion_handoff_send(sv[0], &good_desc, p[1],
						"regbank"), 0);
	ior_assert_int_eq(ioregion_handoff_send_end(sv[0]), 0);

	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, name), 1);
	ior_assert_mem_eq(&d, &good_desc, sizeof(d));
	ior_assert_str_eq(name, "regbank");
	ior_assert_int_ge(fd, 0);
	ior_assert_int_ne(fd, p[1]);
	ior_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* it is the same socket */
	ior_assert_int_eq(write(fd, "x", 1), 1);
	ior_assert_int_eq(read(p[0], &c, 1), 1);
	ior_assert_int_eq(c, 'x');
	close(fd);

	fd = 99;
	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, name), 0);
	ior_assert_int_eq(fd, -1);
	close(sv[0]);
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, name),
			 -ECONNRESET);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

START_TEST(test_handoff_seqpacket_round_trip_delivers_desc_fd_name)
{
	round_trip(SOCK_SEQPACKET);
}
END_TEST

START_TEST(test_handoff_stream_round_trip_delivers_desc_fd_name)
{
	round_trip(SOCK_STREAM);
}
END_TEST

START_TEST(test_handoff_stream_message_in_pieces_is_reassembled)
{
	struct ioregion_handoff_msg m;
	struct ioregion_desc d;
	int sv[2], p[2], fd = -1;

	good_msg(&m);
	pair(SOCK_STREAM, sv);
	served_pair(p);
	raw_send(sv[0], &m, 10, p[0], 1);
	raw_send(sv[0], (char *)&m + 10, sizeof(m) - 10, -1, 0);
	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, NULL), 1);
	ior_assert_int_ge(fd, 0);
	close(fd);
	close(p[0]);
	close(p[1]);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_long_name_is_cut_and_terminated)
{
	struct ioregion_desc d;
	char name[IOREGION_HANDOFF_NAME_MAX];
	const char *longname = "a-name-that-is-much-longer-than-thirty-one";
	int sv[2], p[2], fd = -1;

	pair(SOCK_SEQPACKET, sv);
	served_pair(p);
	ior_assert_int_eq(ioregion_handoff_send(sv[0], &good_desc, p[0],
						longname), 0);
	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, name), 1);
	ior_assert_int_eq(strlen(name), IOREGION_HANDOFF_NAME_MAX - 1);
	ior_assert_int_eq(memcmp(name, longname, IOREGION_HANDOFF_NAME_MAX - 1),
			  0);
	close(fd);
	/* NULL name: empty label */
	ior_assert_int_eq(ioregion_handoff_send(sv[0], &good_desc, p[0], NULL),
			  0);
	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, name), 1);
	ior_assert_str_eq(name, "");
	close(fd);
	close_pair(p);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_send_invalid_desc_or_fd_returns_einval)
{
	struct ioregion_desc bad = good_desc;
	int sv[2];

	pair(SOCK_SEQPACKET, sv);
	bad.flags = 0x40;
	ior_assert_errno(ioregion_handoff_send(sv[0], &bad, 0, "x"), -EINVAL);
	ior_assert_errno(ioregion_handoff_send(sv[0], NULL, 0, "x"), -EINVAL);
	ior_assert_errno(ioregion_handoff_send(sv[0], &good_desc, -1, "x"),
			 -EINVAL);
	/* the fallback fd must be another fd than the main one */
	ior_assert_errno(ioregion_handoff_send_with_fallback(sv[0], &good_desc,
							     0, 0, "x"),
			 -EINVAL);
	ior_assert_errno(ioregion_handoff_send_with_fallback(sv[0], &good_desc,
							     -1, 0, "x"),
			 -EINVAL);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_send_to_closed_peer_returns_epipe)
{
	int sv[2];

	pair(SOCK_SEQPACKET, sv);
	close(sv[1]);
	ior_assert_errno(ioregion_handoff_send(sv[0], &good_desc, 0, "x"),
			 -EPIPE);
	ior_assert_errno(ioregion_handoff_send_end(sv[0]), -EPIPE);
	close(sv[0]);
}
END_TEST

START_TEST(test_handoff_recv_nonblocking_empty_returns_eagain)
{
	struct ioregion_desc d;
	int sv[2], fd;

	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK,
				     0, sv), 0);
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, NULL), -EAGAIN);
	ior_assert_errno(ioregion_handoff_recv(sv[1], NULL, &fd, NULL),
			 -EINVAL);
	close_pair(sv);
}
END_TEST

/* ---- malformed ------------------------------------------------------------- */

START_TEST(test_handoff_recv_short_message_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m) - 1, 1, -EBADMSG);
	expect_recv(SOCK_SEQPACKET, &m, 4, 0, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_long_message_returns_ebadmsg)
{
	uint8_t buf[sizeof(struct ioregion_handoff_msg) + 8];

	memset(buf, 0, sizeof(buf));
	good_msg((struct ioregion_handoff_msg *)buf);
	expect_recv(SOCK_SEQPACKET, buf, sizeof(buf), 1, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_stream_eof_mid_message_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;
	struct ioregion_desc d;
	int sv[2], p[2], fd = 5, before;

	good_msg(&m);
	pair(SOCK_STREAM, sv);
	served_pair(p);
	raw_send(sv[0], &m, 40, p[0], 1);
	close(sv[0]);
	close(p[0]);
	close(p[1]);
	before = ior_count_fds();
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, NULL),
			 -EBADMSG);
	ior_assert_int_eq(ior_count_fds(), before);
	close(sv[1]);
}
END_TEST

START_TEST(test_handoff_recv_bad_magic_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	m.magic ^= 1;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_bad_version_returns_eproto)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	m.version = 1;		/* one fd, no nfds field: no longer spoken */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EPROTO);
	m.version = 3;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EPROTO);
	m.version = 0;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EPROTO);
}
END_TEST

START_TEST(test_handoff_recv_bad_type_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	m.type = 0;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	m.type = 3;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_nonzero_reserved_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	m.reserved[19] = 1;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	/* garbage after the name's NUL */
	good_msg(&m);
	m.name[20] = 'x';
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_unterminated_name_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	memset(m.name, 'n', sizeof(m.name));
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_invalid_desc_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	m.flags = 0x80;			/* unknown flag */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	good_msg(&m);
	m.dialect = 1;			/* unknown dialect */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	good_msg(&m);
	m.size = 0;
	m.flags = 0;			/* size 0 without posted writes */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	good_msg(&m);
	m.addr = ~0ull;			/* wraps around */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_region_without_fd_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 0, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_region_with_two_fds_closes_both)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 2, -EBADMSG);
	expect_recv(SOCK_STREAM, &m, sizeof(m), 2, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_more_fds_than_control_buffer_closes_all)
{
	struct ioregion_handoff_msg m;
	int sv[2], p[2], fd = 3, before;
	struct ioregion_desc d;

	/* 20 fds: more than the receiver's control buffer holds, so the
	 * kernel truncates it (MSG_CTRUNC) and the rest must be closed. */
	good_msg(&m);
	pair(SOCK_SEQPACKET, sv);
	served_pair(p);
	raw_send(sv[0], &m, sizeof(m), p[0], 20);
	close(p[0]);
	close(p[1]);
	before = ior_count_fds();
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, NULL),
			 -EBADMSG);
	ior_assert_int_eq(ior_count_fds(), before);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_recv_end_with_fd_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = IOREGION_HANDOFF_MAGIC;
	m.version = IOREGION_HANDOFF_VERSION;
	m.type = IOREGION_HANDOFF_END;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	/* an end marker with a desc in it */
	m.addr = 1;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 0, -EBADMSG);
}
END_TEST

START_TEST(test_handoff_recv_eof_returns_econnreset)
{
	struct ioregion_desc d;
	int sv[2], fd;

	pair(SOCK_SEQPACKET, sv);
	close(sv[0]);
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, NULL),
			 -ECONNRESET);
	close(sv[1]);
	pair(SOCK_STREAM, sv);
	close(sv[0]);
	ior_assert_errno(ioregion_handoff_recv(sv[1], &d, &fd, NULL),
			 -ECONNRESET);
	close(sv[1]);
}
END_TEST

/* ---- the fallback fd ---------------------------------------------------------- */

/* A region with a main and a fallback socket arrives with both, each the
 * sender's own socket (checked by sending through it). */
static void
fallback_round_trip(int type)
{
	struct ioregion_desc d;
	int sv[2], a[2], b[2], fd = -1, fb = -1;
	char c = 0;

	pair(type, sv);
	served_pair(a);
	served_pair(b);
	ior_assert_int_eq(ioregion_handoff_send_with_fallback(sv[0], &good_desc,
							      a[1], b[1],
							      "uart"), 0);
	ior_assert_int_eq(ioregion_handoff_recv_with_fallback(sv[1], &d, &fd,
							      &fb, NULL), 1);
	ior_assert_mem_eq(&d, &good_desc, sizeof(d));
	ior_assert_int_ge(fd, 0);
	ior_assert_int_ge(fb, 0);
	ior_assert_int_eq(write(fd, "m", 1), 1);
	ior_assert_int_eq(read(a[0], &c, 1), 1);
	ior_assert_int_eq(c, 'm');
	ior_assert_int_eq(write(fb, "f", 1), 1);
	ior_assert_int_eq(read(b[0], &c, 1), 1);
	ior_assert_int_eq(c, 'f');
	close(fd);
	close(fb);

	/* one fd only: *fallback_fd says -1 */
	fb = 7;
	ior_assert_int_eq(ioregion_handoff_send(sv[0], &good_desc, a[1], "x"),
			  0);
	ior_assert_int_eq(ioregion_handoff_recv_with_fallback(sv[1], &d, &fd,
							      &fb, NULL), 1);
	ior_assert_int_eq(fb, -1);
	close(fd);
	close_pair(a);
	close_pair(b);
	close_pair(sv);
}

START_TEST(test_handoff_seqpacket_fallback_fd_round_trip)
{
	fallback_round_trip(SOCK_SEQPACKET);
}
END_TEST

START_TEST(test_handoff_stream_fallback_fd_round_trip)
{
	fallback_round_trip(SOCK_STREAM);
}
END_TEST

START_TEST(test_handoff_recv_without_fallback_pointer_closes_fallback_fd)
{
	struct ioregion_desc d;
	int sv[2], a[2], b[2], fd = -1, before;

	pair(SOCK_SEQPACKET, sv);
	served_pair(a);
	served_pair(b);
	ior_assert_int_eq(ioregion_handoff_send_with_fallback(sv[0], &good_desc,
							      a[1], b[1],
							      NULL), 0);
	before = ior_count_fds();
	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, NULL), 1);
	ior_assert_int_eq(ior_count_fds(), before + 1);	/* the main fd only */
	close(fd);
	close_pair(a);
	close_pair(b);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_recv_nfds_not_matching_fds_returns_ebadmsg)
{
	struct ioregion_handoff_msg m;

	good_msg(&m);
	m.nfds = 2;			/* says two, one came */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 1, -EBADMSG);
	m.nfds = 1;			/* says one, two came */
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 2, -EBADMSG);
	m.nfds = 0;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 0, -EBADMSG);
	m.nfds = 3;
	expect_recv(SOCK_SEQPACKET, &m, sizeof(m), 3, -EBADMSG);
	m.nfds = 0x80000001u;
	expect_recv(SOCK_STREAM, &m, sizeof(m), 1, -EBADMSG);
}
END_TEST

/* ---- fds that are not sockets ----------------------------------------------------- */

/* Send a good message with @p fd (a FIFO, a pipe, a character device) as
 * the main fd or as the fallback fd: refused, nothing left open. */
static void
expect_not_socket(int fd, bool as_fallback)
{
	struct ioregion_handoff_msg m;
	struct ioregion_desc d;
	int sv[2], s[2], got = 5, fb = 6, before;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	int fds[2];

	good_msg(&m);
	m.nfds = 2;
	pair(SOCK_SEQPACKET, sv);
	served_pair(s);
	fds[0] = as_fallback ? s[1] : fd;
	fds[1] = as_fallback ? fd : s[1];
	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	ior_assert_int_eq(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof(m));
	before = ior_count_fds();
	ior_assert_errno(ioregion_handoff_recv_with_fallback(sv[1], &d, &got,
							     &fb, NULL),
			 -ENOTSOCK);
	ior_assert_int_eq(got, -1);
	ior_assert_int_eq(fb, -1);
	ior_assert_int_eq(ior_count_fds(), before);
	close_pair(s);
	close_pair(sv);
}

START_TEST(test_handoff_recv_fifo_pipe_or_chardev_returns_enotsock)
{
	char dir[] = "/tmp/ior-handoff-XXXXXX", path[64];
	int p[2], fifo, null;

	ior_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ior_assert_int_eq(mkfifo(path, 0600), 0);
	/* read-write: the open that would loop the VMM's commands back */
	fifo = open(path, O_RDWR | O_CLOEXEC);
	ior_assert_int_ge(fifo, 0);
	ior_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ior_assert_int_ge(null, 0);

	expect_not_socket(fifo, false);
	expect_not_socket(fifo, true);
	expect_not_socket(p[0], false);
	expect_not_socket(null, false);
	expect_not_socket(null, true);

	close(fifo);
	close(null);
	close(p[0]);
	close(p[1]);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* ---- signals ------------------------------------------------------------------ */

static void
on_sigusr1(int sig)
{
	(void)sig;
}

struct late_sender {
	pthread_t target;
	int sock;
	const struct ioregion_handoff_msg *m;
};

/* Interrupt the receiver twice while it waits for the rest of a stream
 * message, then send the rest. */
static void *
late_sender_main(void *arg)
{
	struct late_sender *ls = arg;

	usleep(50 * 1000);
	pthread_kill(ls->target, SIGUSR1);
	usleep(50 * 1000);
	pthread_kill(ls->target, SIGUSR1);
	usleep(50 * 1000);
	ior_write_all(ls->sock, (const char *)ls->m + 40, sizeof(*ls->m) - 40);
	return NULL;
}

START_TEST(test_handoff_recv_signal_while_waiting_for_rest_keeps_message)
{
	struct ioregion_handoff_msg m;
	struct ioregion_desc d;
	struct sigaction sa;
	struct late_sender ls;
	pthread_t t;
	int sv[2], s[2], fd = -1;

	/* no SA_RESTART: poll() returns EINTR */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	ior_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	good_msg(&m);
	ior_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				     sv), 0);
	ior_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	served_pair(s);
	raw_send(sv[0], &m, 40, s[1], 1);
	ls.target = pthread_self();
	ls.sock = sv[0];
	ls.m = &m;
	ior_assert_int_eq(pthread_create(&t, NULL, late_sender_main, &ls), 0);
	ior_assert_int_eq(ioregion_handoff_recv(sv[1], &d, &fd, NULL), 1);
	ior_assert_mem_eq(&d, &good_desc, sizeof(d));
	pthread_join(t, NULL);
	close(fd);
	close_pair(s);
	close_pair(sv);
}
END_TEST

/* ---- peer credentials ------------------------------------------------------- */

START_TEST(test_handoff_check_peer_same_uid_ok)
{
	int sv[2];

	pair(SOCK_SEQPACKET, sv);
	ior_assert_int_eq(ioregion_handoff_check_peer(sv[1], getuid()), 0);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_check_peer_other_uid_returns_eacces)
{
	int sv[2];

	pair(SOCK_SEQPACKET, sv);
	ior_assert_errno(ioregion_handoff_check_peer(sv[1], getuid() + 1),
			 -EACCES);
	close_pair(sv);
}
END_TEST

START_TEST(test_handoff_check_peer_not_socket_returns_enotsock)
{
	int p[2];

	ior_assert_int_eq(pipe(p), 0);
	ior_assert_errno(ioregion_handoff_check_peer(p[0], getuid()),
			 -ENOTSOCK);
	close(p[0]);
	close(p[1]);
	ior_assert_errno(ioregion_handoff_check_peer(-1, getuid()), -EBADF);
}
END_TEST

static Suite *
handoff_suite(void)
{
	Suite *s = suite_create("handoff");

	ior_add_test(s, test_handoff_seqpacket_round_trip_delivers_desc_fd_name);
	ior_add_test(s, test_handoff_stream_round_trip_delivers_desc_fd_name);
	ior_add_test(s, test_handoff_stream_message_in_pieces_is_reassembled);
	ior_add_test(s, test_handoff_long_name_is_cut_and_terminated);
	ior_add_test(s, test_handoff_send_invalid_desc_or_fd_returns_einval);
	ior_add_test(s, test_handoff_send_to_closed_peer_returns_epipe);
	ior_add_test(s, test_handoff_recv_nonblocking_empty_returns_eagain);
	ior_add_test(s, test_handoff_recv_short_message_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_long_message_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_stream_eof_mid_message_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_bad_magic_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_bad_version_returns_eproto);
	ior_add_test(s, test_handoff_recv_bad_type_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_nonzero_reserved_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_unterminated_name_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_invalid_desc_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_region_without_fd_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_region_with_two_fds_closes_both);
	ior_add_test(s, test_handoff_recv_more_fds_than_control_buffer_closes_all);
	ior_add_test(s, test_handoff_recv_end_with_fd_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_eof_returns_econnreset);
	ior_add_test(s, test_handoff_seqpacket_fallback_fd_round_trip);
	ior_add_test(s, test_handoff_stream_fallback_fd_round_trip);
	ior_add_test(s, test_handoff_recv_without_fallback_pointer_closes_fallback_fd);
	ior_add_test(s, test_handoff_recv_nfds_not_matching_fds_returns_ebadmsg);
	ior_add_test(s, test_handoff_recv_fifo_pipe_or_chardev_returns_enotsock);
	ior_add_test(s, test_handoff_recv_signal_while_waiting_for_rest_keeps_message);
	ior_add_test(s, test_handoff_check_peer_same_uid_ok);
	ior_add_test(s, test_handoff_check_peer_other_uid_returns_eacces);
	ior_add_test(s, test_handoff_check_peer_not_socket_returns_enotsock);
	return s;
}

IOR_TEST_MAIN(handoff_suite)
