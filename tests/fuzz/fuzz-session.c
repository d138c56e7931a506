/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the control session (ioregion/session.h), either side. The
 * fuzzer's bytes are the peer's packets: the VMM helper's set-up
 * (ioregion_vmm_attach(), then a check and a RESET) or the device
 * helper's (ioregion_device_attach(), then its loop), all written before
 * the side under test runs and followed by EOF, so no wait is ever due.
 *
 * Input: byte 0 flags (bit 0: the device side is under test, else the
 * VMM side; bit 1: VMM: fallback channels, device: wants memory; bit 2:
 * device: wants an edge and a level line); then chunks: a header byte
 * (bits 0-1: fds to attach; bits 2-3: their kind: 0 a socket, 1 a
 * non-blocking eventfd, 2 an 8 KiB memfd, 3 /dev/null), a 16-bit
 * little-endian length (cut to 1200), that many bytes: one packet.
 *
 * Invariants: every call returns 0 or a negative errno; the device's gone
 * callback gets 0 or a negative errno; after the side under test is
 * destroyed and the peer's end closed, no fd is left over
 * (/proc/self/fd); nothing stays in the bridge.
 */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioregion/device.h"
#include "ioregion/vmm.h"
#include "ioregion/wire.h"

#define CHUNKS_MAX 64
#define PACKET_MAX 1200

static void __attribute__((format(printf, 3, 0)))
quiet(void *data, enum ioregion_log_priority prio, const char *fmt,
      va_list ap)
{
}

static int
make_fd(unsigned int kind)
{
	int sv[2], fd = -1;

	switch (kind) {
	case 0:
		FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				      sv) == 0);
		close(sv[1]);
		return sv[0];
	case 1:
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		break;
	case 2:
		fd = memfd_create("ram", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, 8192) < 0) {
			close(fd);
			fd = -1;
		}
		break;
	default:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	}
	FUZZ_CHECK(fd >= 0);
	return fd;
}

static void
send_packet(int sock, const uint8_t *p, size_t n, unsigned int nfds,
	    unsigned int kind)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[3];

	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = make_fd(kind);
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	(void)sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* ---- the VMM side ------------------------------------------------------ */

struct lines {
	int edge, level, resample;
};

static int
get_line(void *data, const char *device, unsigned int index, const char *name,
	 uint32_t trigger, struct ioregion_vmm_line *line)
{
	struct lines *l = data;

	if (index > 1)
		return -ENXIO;
	line->fd = index ? l->level : l->edge;
	line->resample_fd = l->resample;
	line->gsi = index;
	return 0;
}

static void
run_vmm(int sock, bool fallback)
{
	struct lines l = {
		eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	};
	int ram = make_fd(2);
	struct ioregion_vmm_slot slot = {
		.slot = { .gpa = 0x100000, .size = 8192 }, .fd = ram,
	};
	struct ioregion_vmm_config cfg = {
		.vm_fd = -1, .timeout_ms = 1000,
		.flags = fallback ? IOREGION_VMM_F_FALLBACK : 0,
		.get_line = get_line, .data = &l,
		.slots = &slot, .nslots = 1, .log_handler = quiet,
	};
	struct ioregion_vmm_device *dev;
	uint64_t val = 0;
	int rc;

	FUZZ_CHECK(l.edge >= 0 && l.level >= 0 && l.resample >= 0);
	FUZZ_CHECK(ioregion_bridge_new(&cfg.bridge) == 0);
	ioregion_bridge_set_log_handler(cfg.bridge, NULL, NULL);
	rc = ioregion_vmm_attach(sock, &cfg, &dev);
	FUZZ_CHECK(rc <= 0);
	if (rc == 0) {
		FUZZ_CHECK(ioregion_vmm_check(dev) <= 0);
		FUZZ_CHECK(ioregion_vmm_reset(dev) <= 0);
		ioregion_vmm_destroy(dev);
	}
	/* Attached or not, nothing of it stays routed. */
	FUZZ_CHECK(ioregion_bridge_access(cfg.bridge, false, 0xd0000000, false,
					  4, &val) == 0);
	ioregion_bridge_unref(cfg.bridge);
	close(l.edge);
	close(l.level);
	close(l.resample);
	close(ram);
}

/* ---- the device side ----------------------------------------------------- */

static int
dev_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	*val = 0;
	return 0;
}

static const struct ioregion_region_ops dev_ops = { dev_read, NULL };

struct gone {
	bool gone;
	int error;
};

static void
on_gone(struct ioregion_device *dev, int error, void *userdata)
{
	struct gone *g = userdata;

	FUZZ_CHECK(error <= 0);
	g->gone = true;
	g->error = error;
}

static int
on_reset(struct ioregion_device *dev, void *userdata)
{
	return 0;
}

static void
run_device(int sock, bool memory, bool lines)
{
	static const struct ioregion_device_line two[] = {
		{ "edge", IOREGION_LINE_EDGE }, { "level", IOREGION_LINE_LEVEL },
	};
	struct ioregion_device_region region = {
		"r", { .addr = 0xd0000000, .size = 0x100, .ops = &dev_ops },
	};
	struct gone g = { false, 0 };
	struct ioregion_device_config cfg = {
		.name = "fuzz", .regions = &region, .nregions = 1,
		.lines = two, .nlines = lines ? 2 : 0,
		.flags = memory ? IOREGION_DEVICE_F_MEMORY : 0,
		.timeout_ms = 1000, .reset = on_reset, .gone = on_gone,
		.userdata = &g,
	};
	struct ioregion_device *dev;
	struct ioregion_ctx *ctx;
	int rc;

	FUZZ_CHECK(ioregion_ctx_new(NULL, &ctx) == 0);
	ioregion_ctx_set_log_handler(ctx, NULL, NULL);
	rc = ioregion_device_attach(ctx, sock, &cfg, &dev);
	FUZZ_CHECK(rc <= 0);
	if (rc == 0) {
		/* The rest of the input, then EOF: the session ends. */
		for (int i = 0; i < 8 && !g.gone; i++)
			FUZZ_CHECK(ioregion_ctx_dispatch(ctx) == 0);
		FUZZ_CHECK(g.gone);
		FUZZ_CHECK(ioregion_device_get_fd(dev) == -ENOTCONN);
		ioregion_device_destroy(dev);
	}
	ioregion_ctx_unref(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	int fds_before = fuzz_count_fds();
	uint8_t flags = fuzz_u8(&in);
	unsigned int chunks = 0;
	int sv[2];

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			      sv) == 0);
	while (fuzz_more(&in) && chunks++ < CHUNKS_MAX) {
		uint8_t hdr = fuzz_u8(&in);
		size_t n = fuzz_u8(&in);
		const uint8_t *p;

		n |= (size_t)fuzz_u8(&in) << 8;
		if (n > PACKET_MAX)
			n = PACKET_MAX;
		p = fuzz_bytes(&in, n, &n);
		send_packet(sv[1], p, n, hdr & 3, (hdr >> 2) & 3);
	}
	shutdown(sv[1], SHUT_WR);
	if (flags & 1)
		run_device(sv[0], flags & 2, flags & 4);
	else
		run_vmm(sv[0], flags & 2);
	close(sv[1]);
	FUZZ_CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
