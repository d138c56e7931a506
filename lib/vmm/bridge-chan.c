/* SPDX-License-Identifier: MIT */
/*
 * The bridge's channels: one per open file (kcmp, see same_file()), each
 * with the bridge's own F_DUPFD_CLOEXEC duplicate and a mutex
 * that serializes accesses as the kernel serializes them per fd. A channel
 * that timed out, hung up or sent a malformed response is marked failed: a
 * late answer would be taken for the next one, so every later access on it
 * returns -ENOTCONN until its regions get a new fd (replace_fd). The
 * receive of an answer takes room for two (recv_try): more than one
 * answer in hand is data nobody asked for and fails the channel too; the
 * strict mode also looks before each command (check_idle).
 *
 * I/O: sockets only, driven with MSG_DONTWAIT and poll(), so the fd may
 * be blocking or not (O_NONBLOCK is shared with the caller's fd and may
 * change at any time); the answer is waited for by a blocking recv()
 * bounded by SO_RCVTIMEO where that cannot outlast the deadline (see
 * may_block()). Every wait is bounded by the access's deadline. No
 * allocation.
 */
#include "bridge-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/kcmp.h>

void
bridge_chan_ref(struct chan *c)
{
	__atomic_fetch_add(&c->refs, 1, __ATOMIC_RELAXED);
}

/* Drop a reference. Above 1 that is one atomic step; the last is taken
 * under chans_lock, so chan_get never finds a channel on its way out. */
void
bridge_chan_unref(struct ioregion_bridge *bridge, struct chan *c)
{
	unsigned int refs = __atomic_load_n(&c->refs, __ATOMIC_RELAXED);
	struct chan **pp;
	bool last;

	while (refs > 1) {
		if (__atomic_compare_exchange_n(&c->refs, &refs, refs - 1,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
	pthread_mutex_lock(&bridge->chans_lock);
	last = __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0;
	if (last) {
		for (pp = &bridge->chans; *pp; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&bridge->chans_lock);
	if (!last)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The socket's cookie: 64 bits, unique per socket while the system runs
 * (SO_COOKIE, since Linux 4.12); 0 if the kernel has none. */
static uint64_t
socket_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) < 0 ||
	    len != sizeof(cookie))
		return 0;
	return cookie;
}

/*
 * Whether @p fd is the open file of channel @p c. An equal st_dev/st_ino
 * is necessary but not enough: socket inode numbers are 32 bits and wrap,
 * and two opens of one device node are two open files. kcmp(KCMP_FILE)
 * answers exactly; where it is refused (seccomp, or a kernel built without
 * it) the socket cookie does, as a socket has one open file. Without
 * either, no merge: a merge of two sockets would send one device's
 * commands to another (bridge.h tells the caller what to do there).
 */
static bool
same_file(const struct chan *c, int fd, const struct stat *st,
	  uint64_t cookie)
{
	long rc = -1;

	if (c->dev != st->st_dev || c->ino != st->st_ino)
		return false;
#ifdef SYS_kcmp
	rc = syscall(SYS_kcmp, (long)getpid(), (long)getpid(), (long)KCMP_FILE,
		     (long)c->fd, (long)fd);
#endif
	if (rc >= 0)
		return rc == 0;
	return cookie && cookie == c->cookie;
}

/* Find the channel of fd's open file, or create one with a duplicate of
 * fd. Takes a reference. Sockets only: a FIFO opened read-write reads the
 * bridge's own command back as the answer, and a read() after poll() on a
 * FIFO or a character device that someone else also reads can block
 * forever. */
int
bridge_chan_get(struct ioregion_bridge *bridge, int fd, struct chan **out)
{
	struct stat st;
	struct chan *c;
	uint64_t cookie;
	int type = 0, rc = 0;
	socklen_t len = sizeof(type);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return errno == EBADF ? -EBADF : -ENOTSOCK;
	cookie = socket_cookie(fd);
	pthread_mutex_lock(&bridge->chans_lock);
	for (c = bridge->chans; c; c = c->next) {
		if (same_file(c, fd, &st, cookie)) {
			bridge_chan_ref(c);
			goto out;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = -ENOMEM;
		goto out;
	}
	c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = errno == EBADF ? -EBADF : -errno;
		free(c);
		c = NULL;
		goto out;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->cookie = cookie;
	c->is_message = type == SOCK_SEQPACKET || type == SOCK_DGRAM;
	pthread_mutex_init(&c->lock, NULL);
	c->refs = 1;
	c->next = bridge->chans;
	bridge->chans = c;
out:
	pthread_mutex_unlock(&bridge->chans_lock);
	*out = c;
	return rc;
}

/* ---- I/O with a deadline ------------------------------------------------ */

/* Wait for @p events until @p deadline (ns). 0 ready, -ETIMEDOUT, or
 * -ECONNRESET when the fd reports an error without the wanted event. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		uint64_t now = now_ns();
		int ms, rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		/* clamp: a huge timeout must not turn into poll()'s -1 */
		ms = (int)MIN((deadline - now + 999999) / 1000000,
			      (uint64_t)INT_MAX);
		rc = poll(&pfd, 1, ms);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -ECONNRESET;
		}
		if (rc == 0)
			continue;	/* the loop head decides */
		if (pfd.revents & (events | POLLHUP | POLLERR))
			return 0;	/* let the read/write tell */
		if (pfd.revents & POLLNVAL)
			return -ECONNRESET;
	}
}

int
bridge_send_cmd(struct chan *c, const uint8_t *buf, uint64_t deadline)
{
	size_t done = 0;

	while (done < IOREGION_WIRE_MSG_SIZE) {
		ssize_t n;
		int rc;

		n = send(c->fd, buf + done, IOREGION_WIRE_MSG_SIZE - done,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rc = wait_fd(c->fd, POLLOUT, deadline);
				if (rc < 0)
					return rc;
				continue;
			}
			return -ECONNRESET;
		}
		if (c->is_message && n != IOREGION_WIRE_MSG_SIZE)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

/*
 * The strict mode (ioregion_bridge_set_idle_check()), before a command
 * that expects an answer: nothing may be waiting in the fd. The wire has
 * no request id: an answer nobody asked for that came while the fd was
 * idle would be taken for this command's, and every later answer would
 * be one behind (the receive finds it only once a second answer comes
 * with it). One non-blocking peek finds it: -EBADMSG (the caller marks
 * the fd failed). EOF seen here is -ECONNRESET before anything is sent.
 * Posted writes skip this (they read nothing). Data that arrives between
 * this check and the answer cannot be told apart from the answer: only
 * the device can cause that.
 */
int
bridge_check_idle(struct chan *c)
{
	uint8_t b;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n > 0)
			return -EBADMSG;
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -ECONNRESET;
	}
}

/* Slack for SO_RCVTIMEO: the kernel rounds it up to whole jiffies, at
 * most 10 ms (HZ=100). */
#define RCVTIMEO_SLACK_NS 10000000ull

/*
 * Whether the answer may be waited for by a blocking recv() bounded by
 * SO_RCVTIMEO instead of poll() + recv(): one syscall less per access.
 * SO_RCVTIMEO is half the bridge's timeout, set on the socket once and
 * again only when the timeout changes (the socket is the bridge's alone).
 * A blocking recv() starts only while at least that much plus the
 * kernel's rounding is left, so it never outlasts @p deadline; past that
 * (late elements of a string access, a slow device, timeouts under 2 ms)
 * poll() bounds the rest exactly. A fd made O_NONBLOCK makes recv()
 * return at once and the wait falls back to poll() too.
 */
static bool
may_block(struct chan *c, uint64_t deadline, uint64_t timeout_ns)
{
	uint64_t want = timeout_ns / 2, now = now_ns();

	if (c->rcvtimeo_refused || want < 1000000ull || now >= deadline)
		return false;
	if (c->rcvtimeo_ns != want) {
		struct timeval tv = {
			.tv_sec = (time_t)(want / 1000000000ull),
			.tv_usec = (suseconds_t)(want % 1000000000ull / 1000),
		};

		if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			       sizeof(tv)) < 0) {
			c->rcvtimeo_refused = true;
			c->rcvtimeo_ns = 0;
			return false;
		}
		c->rcvtimeo_ns = want;
	}
	return deadline - now >= want + RCVTIMEO_SLACK_NS;
}

/*
 * One try at the answer, with the check for data nobody asked for folded
 * in: SEQPACKET takes up to two packets in one recvmmsg() (MSG_WAITFORONE:
 * only the first may wait; MSG_TRUNC: each packet's real length), a stream
 * up to BRIDGE_RESP_BUF bytes. A second packet, or more than one answer's
 * bytes on a stream, is -EBADMSG. A stream answer may come in pieces:
 * @p got counts what is in @p buf so far. 1: the answer is in @p buf; 0:
 * not all of it yet; -EAGAIN: nothing there; -EINTR; or the error.
 */
static int
recv_try(struct chan *c, uint8_t *buf, size_t *got, int flags)
{
	if (c->is_message) {
		struct iovec iov[2] = {
			{ .iov_base = buf, .iov_len = IOREGION_WIRE_MSG_SIZE },
			{ .iov_base = buf + IOREGION_WIRE_MSG_SIZE,
			  .iov_len = BRIDGE_RESP_BUF - IOREGION_WIRE_MSG_SIZE },
		};
		struct mmsghdr m[2] = {
			{ .msg_hdr = { .msg_iov = &iov[0], .msg_iovlen = 1 } },
			{ .msg_hdr = { .msg_iov = &iov[1], .msg_iovlen = 1 } },
		};
		int k = recvmmsg(c->fd, m, 2,
				 flags | MSG_TRUNC | MSG_WAITFORONE, NULL);

		if (k >= 0) {
			if (m[0].msg_len == 0)
				return -ECONNRESET;	/* EOF */
			if (m[0].msg_len != IOREGION_WIRE_MSG_SIZE)
				return -EBADMSG;
			/* a second read of 0 is EOF after the answer */
			return k == 2 && m[1].msg_len != 0 ? -EBADMSG : 1;
		}
	} else {
		ssize_t n = recv(c->fd, buf + *got, BRIDGE_RESP_BUF - *got,
				 flags);

		if (n == 0)
			return -ECONNRESET;
		if (n > 0) {
			*got += (size_t)n;
			if (*got < IOREGION_WIRE_MSG_SIZE)
				return 0;
			return *got == IOREGION_WIRE_MSG_SIZE ? 1 : -EBADMSG;
		}
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return -EAGAIN;
	return errno == EINTR ? -EINTR : -ECONNRESET;
}

/*
 * At the deadline, one last non-blocking look: a thread held up past it
 * (the VMM stopped or starved, a long signal handler) may find the answer
 * already there, and failing the fd of a device that was not late would
 * be wrong. Only on the timeout path: one syscall there, none per access.
 */
static int
last_try(struct chan *c, uint8_t *buf, size_t *got)
{
	int rc = recv_try(c, buf, got, MSG_DONTWAIT);

	if (rc == 1)
		return 0;
	return rc == 0 || rc == -EAGAIN || rc == -EINTR ? -ETIMEDOUT : rc;
}

/*
 * Until @p spin_until (adaptive polling) the socket is retried without
 * sleeping (one receive per turn); after it, a blocking receive where
 * may_block() allows, else each try first waits in poll() up to
 * @p deadline. The spin ends at the deadline too: a poll window longer
 * than the timeout must not stretch it. @p timeout_ns is the bridge's
 * timeout (SO_RCVTIMEO follows it).
 */
int
bridge_recv_resp(struct chan *c, uint8_t *buf, uint64_t deadline,
		 uint64_t spin_until, uint64_t timeout_ns)
{
	size_t got = 0;
	bool block = true;	/* until a blocking receive came back empty */

	spin_until = MIN(spin_until, deadline);

	for (;;) {
		int flags = MSG_DONTWAIT, rc;

		if (spin_until && now_ns() < spin_until) {
			cpu_relax();
		} else if (block && may_block(c, deadline, timeout_ns)) {
			flags = 0;
		} else {
			block = false;
			rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc == -ETIMEDOUT)
				return last_try(c, buf, &got);
			if (rc < 0)
				return rc;
		}
		rc = recv_try(c, buf, &got, flags);
		if (rc == -EAGAIN && !flags)
			block = false;
		if (rc == 1)
			return 0;
		if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
			return rc;
	}
}
