/* SPDX-License-Identifier: MIT */
/*
 * A plain hand-written ioregionfd responder and client, the benchmarks'
 * independent baseline: written from the RFC's wire protocol as posted
 * to the kvm list (RFC v3, February 2021, include/uapi/linux/ioregion.h,
 * "Wire protocol"), not from libioregion. It includes no project header
 * and shares no code with the library, so the library's reading of the
 * ABI is not also the baseline's: the includes below are libc and kernel
 * types only, and must stay so.
 */
#include <linux/types.h>	/* __u8, __u64 as the posting spells them */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "responder.h"

/*
 * The posting's command, as it gives it: cmd, then a byte of bitfields
 * (size exponent in 4 bits, then the response bit), padding to 8, then
 * three 64-bit fields; bitfields on purpose, so the compiler's layout is
 * checked against the library's shifts whenever the two talk.
 */
struct ioregionfd_cmd {
	__u8 cmd;
	__u8 size_exponent : 4;
	__u8 resp : 1;
	__u8 padding[6];
	__u64 user_data;
	__u64 offset;
	__u64 data;
};

/* The posting's response: the data, padded to 32 bytes. */
struct ioregionfd_resp {
	__u64 data;
	__u8 pad[24];
};

/* The posting's constants: cmd values, and size exponents 0-3 for
 * 8, 16, 32 and 64-bit accesses. */
#define IOREGIONFD_CMD_READ	0
#define IOREGIONFD_CMD_WRITE	1
#define IOREGIONFD_SIZE_32BIT	2
#define IOREGIONFD_SIZE_64BIT	3

_Static_assert(sizeof(struct ioregionfd_cmd) == 32, "cmd is 32 bytes");
_Static_assert(offsetof(struct ioregionfd_cmd, user_data) == 8, "user_data at 8");
_Static_assert(offsetof(struct ioregionfd_cmd, data) == 24, "data at 24");
_Static_assert(sizeof(struct ioregionfd_resp) == 32, "resp is 32 bytes");

/* Whole transfers: a packet socket moves one message per call, a stream
 * socket may move less. Returns 0, or -1 on EOF or an error. */
static int
read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

void
indep_serve(int fd)
{
	struct ioregionfd_cmd cmd;
	struct ioregionfd_resp resp;
	uint64_t count = 0;

	memset(&resp, 0, sizeof(resp));
	while (read_all(fd, &cmd, sizeof(cmd)) == 0) {
		count++;
		/* a read's value in the low 2^size_exponent bytes */
		resp.data = 0;
		if (cmd.cmd == IOREGIONFD_CMD_READ)
			resp.data = cmd.size_exponent >= IOREGIONFD_SIZE_64BIT ? count :
				count & ((1ull << (8u << cmd.size_exponent)) - 1);
		/* the kernel waits for an answer only when it set resp (reads
		 * always, writes unless posted) */
		if (cmd.resp && write_all(fd, &resp, sizeof(resp)) < 0)
			return;
	}
}

int
indep_round_trips(int fd, uint64_t user_data, int n)
{
	struct ioregionfd_cmd cmd;
	struct ioregionfd_resp resp;
	uint32_t prev = 0;

	memset(&cmd, 0, sizeof(cmd));
	cmd.cmd = IOREGIONFD_CMD_READ;
	cmd.size_exponent = IOREGIONFD_SIZE_32BIT;
	cmd.resp = 1;
	cmd.user_data = user_data;
	for (int i = 0; i < n; i++) {
		if (write(fd, &cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd) ||
		    read_all(fd, &resp, sizeof(resp)) < 0)
			return -1;
		if (i > 0 && (uint32_t)resp.data != prev + 1)
			return -1;
		prev = (uint32_t)resp.data;
	}
	return 0;
}
