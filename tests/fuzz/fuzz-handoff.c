/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the hand-off receiver, ioregion_handoff_recv_with_fallback()
 * and ioregion_handoff_recv(), fed by a sender that writes fuzzer bytes
 * with 0..3 fds attached per write.
 *
 * Input: byte 0 flags (bit 0 stream socket, bit 1 receiver non-blocking,
 * bit 2 receive without a fallback pointer); then chunks: a header byte
 * (bits 0-1: fds to attach; bit 2: attach /dev/null instead of a socket),
 * a length byte, that many bytes. On SEQPACKET each chunk is one packet,
 * received right away; on a stream the chunks are written back to back and
 * received after the sender shut down its side.
 *
 * Invariants: the return value is a documented one; on a region the fds
 * are open, close-on-exec sockets and the description valid, the fallback
 * fd -1 or another fd than the main one; on an error both are -1; after
 * closing what it returned no fd is left over (/proc/self/fd).
 */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioregion/handoff.h"

static bool
send_chunk(int sock, const uint8_t *p, size_t n, unsigned nfds, int fd)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *cm;
		int fds[3] = { fd, fd, fd };

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n;
}

static bool
rc_documented(int rc)
{
	return rc == 0 || rc == 1 || rc == -ECONNRESET || rc == -EBADMSG ||
	       rc == -EPROTO || rc == -EAGAIN || rc == -ENOTSOCK;
}

static void
check_received_fd(int fd)
{
	struct stat st;

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	FUZZ_CHECK(fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode));
}

static int
receive(int sock, bool no_fallback)
{
	struct ioregion_desc d;
	char name[IOREGION_HANDOFF_NAME_MAX];
	int fd = 12345, fallback = 12345, rc;

	if (no_fallback) {
		rc = ioregion_handoff_recv(sock, &d, &fd, name);
		fallback = -1;
	} else {
		rc = ioregion_handoff_recv_with_fallback(sock, &d, &fd,
							 &fallback, name);
	}
	FUZZ_CHECK(rc_documented(rc));
	if (rc == 1) {
		check_received_fd(fd);
		if (fallback != -1) {
			check_received_fd(fallback);
			FUZZ_CHECK(fallback != fd);
			close(fallback);
		}
		FUZZ_CHECK(ioregion_desc_validate(&d) == 0);
		FUZZ_CHECK(memchr(name, '\0', sizeof(name)) != NULL);
		close(fd);
	} else {
		FUZZ_CHECK(fd == -1);
		FUZZ_CHECK(fallback == -1);
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	int fds_before = fuzz_count_fds();
	uint8_t flags = fuzz_u8(&in);
	bool stream = flags & 1;
	bool no_fallback = flags & 4;
	int sv[2], payload[2], devnull, rc;
	unsigned chunks = 0;
	size_t total = 0;

	FUZZ_CHECK(socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) |
			      SOCK_CLOEXEC, 0, sv) == 0);
	if (flags & 2)
		FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	/* What the sender passes: a socket, or (header bit 2) not one. */
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			      payload) == 0);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	FUZZ_CHECK(devnull >= 0);

	while (fuzz_more(&in) && chunks++ < 64) {
		uint8_t hdr = fuzz_u8(&in);
		size_t n = fuzz_u8(&in);
		const uint8_t *p = fuzz_bytes(&in, n, &n);

		if (!send_chunk(sv[1], p, n, hdr & 3,
				(hdr & 4) ? devnull : payload[0]))
			continue;
		total += n;
		if (!stream) {
			/* one packet, one message; a zero-length one is EOF */
			rc = receive(sv[0], no_fallback);
			if (n == 0 && !(flags & 2))
				FUZZ_CHECK(rc == -ECONNRESET || rc == -EBADMSG);
		}
	}
	shutdown(sv[1], SHUT_WR);
	/* Whatever is left, then EOF: each call takes at least one byte. */
	for (size_t k = 0; k < total + 2; k++) {
		rc = receive(sv[0], no_fallback);
		if (rc == -ECONNRESET || rc == -EAGAIN)
			break;
	}
	close(sv[0]);
	close(sv[1]);
	close(payload[0]);
	close(payload[1]);
	close(devnull);
	FUZZ_CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
