/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the hand-off receiver, ioregion_handoff_recv(), fed by a
 * sender that writes fuzzer bytes with 0..3 fds attached per write.
 *
 * Input: byte 0 flags (bit 0 stream socket, bit 1 receiver non-blocking);
 * then chunks: a header byte (bits 0-1: fds to attach), a length byte,
 * that many bytes. On SEQPACKET each chunk is one packet, received right
 * away; on a stream the chunks are written back to back and received
 * after the sender shut down its side.
 *
 * Invariants: the return value is a documented one; on a region the fd is
 * open, close-on-exec and the description valid; on an error *fd is -1;
 * after closing what it returned no fd is left over (/proc/self/fd).
 */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
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
	       rc == -EPROTO || rc == -EAGAIN;
}

static int
receive(int sock)
{
	struct ioregion_desc d;
	char name[IOREGION_HANDOFF_NAME_MAX];
	int fd = 12345, rc;

	rc = ioregion_handoff_recv(sock, &d, &fd, name);
	FUZZ_CHECK(rc_documented(rc));
	if (rc == 1) {
		FUZZ_CHECK(fd >= 0);
		FUZZ_CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
		FUZZ_CHECK(ioregion_desc_validate(&d) == 0);
		FUZZ_CHECK(memchr(name, '\0', sizeof(name)) != NULL);
		close(fd);
	} else {
		FUZZ_CHECK(fd == -1);
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
	int sv[2], payload, rc;
	unsigned chunks = 0;
	size_t total = 0;

	FUZZ_CHECK(socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) |
			      SOCK_CLOEXEC, 0, sv) == 0);
	if (flags & 2)
		FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	payload = open("/dev/null", O_RDWR | O_CLOEXEC);
	FUZZ_CHECK(payload >= 0);

	while (fuzz_more(&in) && chunks++ < 64) {
		uint8_t hdr = fuzz_u8(&in);
		size_t n = fuzz_u8(&in);
		const uint8_t *p = fuzz_bytes(&in, n, &n);

		if (!send_chunk(sv[1], p, n, hdr & 3, payload))
			continue;
		total += n;
		if (!stream) {
			/* one packet, one message; a zero-length one is EOF */
			rc = receive(sv[0]);
			if (n == 0 && !(flags & 2))
				FUZZ_CHECK(rc == -ECONNRESET || rc == -EBADMSG);
		}
	}
	shutdown(sv[1], SHUT_WR);
	/* Whatever is left, then EOF: each call takes at least one byte. */
	for (size_t k = 0; k < total + 2; k++) {
		rc = receive(sv[0]);
		if (rc == -ECONNRESET || rc == -EAGAIN)
			break;
	}
	close(sv[0]);
	close(sv[1]);
	close(payload);
	FUZZ_CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
