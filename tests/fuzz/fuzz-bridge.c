/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the bridge's response path (docs/design.md, "The bridge").
 *
 * A bridge with four regions (MMIO, MMIO posted, PIO, doorbell) on one
 * socket (SEQPACKET or STREAM). A device thread on the other end reads
 * each command and, when it expects an answer, plays the next item of a
 * fuzzer-chosen script: a proper 32-byte response, raw bytes of any
 * length (short, long, garbage, several pieces), no answer, a hang-up, or
 * a proper answer followed by one nobody asked for. The accesses come from
 * the input too: ioregion_bridge_access() and handle_exit() on a fake
 * kvm_run page (MMIO of any length, string PIO of any count). A failed fd
 * is replaced with a new connection (ioregion_bridge_replace_fd), at most
 * three times per input. Timeouts are short (2 ms).
 *
 * Input: byte 0 flags (bit 0 stream, bit 1 info dialect, bit 2 adaptive
 * polling), byte 1 the number of accesses (12 bytes each, below); the
 * rest is the device's script.
 *
 * Invariants: return values are the documented ones; a failed read reads
 * all-ones; a read answered by a proper response on a clean connection
 * reads exactly that response's value; no crash, leak or fd leak.
 */
#include "fuzz-common.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/bridge.h"
#include "ioregion/wire.h"

#define TIMEOUT_MS 2
#define MAX_CONNS 3
#define OP_SIZE 12

static const struct ioregion_desc descs[] = {
	{ .addr = 0x1000, .size = 0x100 },
	{ .addr = 0x2000, .size = 0x40, .flags = IOREGION_F_POSTED_WRITES },
	{ .addr = 0x60, .size = 8, .flags = IOREGION_F_PIO },
	{ .addr = 0x3000, .size = 0, .flags = IOREGION_F_POSTED_WRITES },
};
#define NDESC (sizeof(descs) / sizeof(descs[0]))
/* Access bases: the regions and an address nobody has. */
static const uint64_t bases[] = { 0x1000, 0x2000, 0x60, 0x3000, 0x9000 };

struct device {
	int fd;
	bool stream;
	int dialect;
	struct fuzz_in *script;		/* shared, used by one thread at a time */
	pthread_t thread;
	/* Set by the thread before it writes, read by the harness after the
	 * access returns (the socket orders them). */
	uint64_t last_value;		/* value of the last proper answer */
	bool last_proper;		/* the last answer was a proper one */
	bool dirty;			/* raw or extra bytes were sent */
};

static bool
read_cmd(struct device *d, uint8_t *buf)
{
	size_t got = 0;

	while (got < 32) {
		ssize_t n = d->stream ? read(d->fd, buf + got, 32 - got)
				      : recv(d->fd, buf, 64, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		if (!d->stream)
			return n == 32;
		got += (size_t)n;
	}
	return true;
}

static void
put(struct device *d, const uint8_t *p, size_t n, size_t split)
{
	if (d->stream && split && split < n) {
		send(d->fd, p, split, MSG_NOSIGNAL);
		send(d->fd, p + split, n - split, MSG_NOSIGNAL);
	} else {
		send(d->fd, p, n, MSG_NOSIGNAL);
	}
}

static void *
device_main(void *arg)
{
	struct device *d = arg;
	uint8_t cmd[64];

	while (read_cmd(d, cmd)) {
		uint8_t resp[256] = { 0 };
		struct fuzz_in *s = d->script;
		bool want;
		uint8_t t;
		size_t n;
		const uint8_t *p;

		/* docs/wire-protocol.md's tables, decoded by hand */
		if (d->dialect == IOREGION_WIRE_V3)
			want = cmd[0] == 0 || (cmd[1] & 0x10);
		else
			want = (cmd[0] & 0xf) == 0 || (cmd[0] & 0x40);
		if (!want)
			continue;	/* posted write */
		t = fuzz_more(s) ? fuzz_u8(s) : 0;
		switch (t & 3) {
		case 0: {		/* a proper answer */
			uint64_t v = fuzz_u64(s);

			for (int k = 0; k < 8; k++)
				resp[k] = (uint8_t)(v >> (8 * k));
			__atomic_store_n(&d->last_value, v, __ATOMIC_RELAXED);
			__atomic_store_n(&d->last_proper, true, __ATOMIC_RELAXED);
			if (t & 8)	/* and one nobody asked for */
				__atomic_store_n(&d->dirty, true, __ATOMIC_RELAXED);
			put(d, resp, 32, (t & 4) ? fuzz_u8(s) % 32 : 0);
			if (t & 8)
				put(d, resp, 32, 0);
			break;
		}
		case 1:			/* raw bytes, any length */
			n = fuzz_u8(s);
			p = fuzz_bytes(s, n, &n);
			memcpy(resp, p, n);
			__atomic_store_n(&d->last_proper, false, __ATOMIC_RELAXED);
			__atomic_store_n(&d->dirty, true, __ATOMIC_RELAXED);
			if (n == 0 && !d->stream)
				send(d->fd, resp, 0, MSG_NOSIGNAL);
			else if (n)
				put(d, resp, n, (t & 4) ? fuzz_u8(s) % n : 0);
			break;
		case 2:			/* never answers */
			__atomic_store_n(&d->last_proper, false, __ATOMIC_RELAXED);
			break;
		case 3:			/* hangs up */
			__atomic_store_n(&d->last_proper, false, __ATOMIC_RELAXED);
			shutdown(d->fd, SHUT_RDWR);
			return NULL;
		}
	}
	return NULL;
}

static struct device devs[MAX_CONNS];

/* The thread ends when the bridge's end closes (or it hung up itself). */
static void
finish_device(int i)
{
	pthread_join(devs[i].thread, NULL);
	close(devs[i].fd);
}

static int
connect_device(struct ioregion_bridge *b, int i, bool stream, int dialect,
	       struct fuzz_in *script, bool replace)
{
	struct device *d = &devs[i];
	int sv[2];

	memset(d, 0, sizeof(*d));
	FUZZ_CHECK(socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) |
			      SOCK_CLOEXEC, 0, sv) == 0);
	d->fd = sv[1];
	d->stream = stream;
	d->dialect = dialect;
	d->script = script;
	for (size_t k = 0; k < NDESC; k++) {
		struct ioregion_desc desc = descs[k];

		desc.dialect = (uint32_t)dialect;
		desc.user_data = 0x100 + k;
		if (replace)
			FUZZ_CHECK(ioregion_bridge_replace_fd(b, &desc, sv[0]) == 0);
		else
			FUZZ_CHECK(ioregion_bridge_add(b, &desc, sv[0]) == 0);
	}
	close(sv[0]);	/* the bridge has its own duplicate */
	/* The old device's fd is closed by the bridge now: it ends, and
	 * only then may the new one read the shared script. */
	if (replace)
		finish_device(i - 1);
	FUZZ_CHECK(pthread_create(&d->thread, NULL, device_main, d) == 0);
	return 0;
}


static bool
rc_documented(int rc)
{
	return rc == 0 || rc == 1 || rc == -ETIMEDOUT || rc == -ECONNRESET ||
	       rc == -EBADMSG || rc == -ENOTCONN || rc == -EOPNOTSUPP ||
	       rc == -EINVAL;
}

static bool
fd_failed(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EBADMSG ||
	       rc == -ENOTCONN;
}

static uint64_t
mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static _Alignas(4096) uint8_t run_page[2 * 4096];

static int
do_access(struct ioregion_bridge *b, const uint8_t *op, struct device *d)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	bool is_write = op[0] & 8;
	uint64_t addr = bases[op[1] % 5] + (uint64_t)(int64_t)(int8_t)op[2];
	uint64_t val = 0;
	struct kvm_run *run = (struct kvm_run *)run_page;
	int rc;

	for (int k = 0; k < 7; k++)
		val |= (uint64_t)op[5 + k] << (8 * k);
	switch (op[0] & 3) {
	case 0:
	case 1: {
		unsigned size = sizes[op[3] & 3];
		uint64_t in = val;

		rc = ioregion_bridge_access(b, op[0] & 1, addr, is_write, size,
					    &val);
		FUZZ_CHECK(rc_documented(rc));
		if (is_write)
			FUZZ_CHECK(val == in);	/* a write leaves it alone */
		else if (rc < 0)
			FUZZ_CHECK(val == mask(size));
		else if (rc == 1 && __atomic_load_n(&d->last_proper, __ATOMIC_RELAXED) &&
			 !__atomic_load_n(&d->dirty, __ATOMIC_RELAXED))
			FUZZ_CHECK(val == (__atomic_load_n(&d->last_value,
							   __ATOMIC_RELAXED) &
					   mask(size)));
		return rc;
	}
	case 2:
		memset(run_page, 0, sizeof(run_page));
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = addr;
		run->mmio.len = op[3] % 10;
		run->mmio.is_write = is_write;
		memcpy(run->mmio.data, op + 4, 8);
		rc = ioregion_bridge_handle_exit(b, run);
		FUZZ_CHECK(rc_documented(rc));
		return rc;
	default: {
		static const unsigned io_sizes[] = { 1, 2, 4, 4 };
		unsigned size = io_sizes[op[3] & 3];
		uint32_t count = op[4] | ((op[3] & 0x80) ? 0x400u : 0);

		memset(run_page, 0, sizeof(run_page));
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = is_write ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
		run->io.size = (uint8_t)size;
		run->io.port = (uint16_t)addr;
		run->io.count = count;
		run->io.data_offset = 4096;
		if ((uint64_t)count * size <= 4096)
			memset(run_page + 4096, op[5], (size_t)count * size);
		rc = ioregion_bridge_handle_exit(b, run);
		FUZZ_CHECK(rc_documented(rc));
		if (rc < 0 && rc != -EINVAL && !is_write && count)
			/* the failed element and every one after it */
			FUZZ_CHECK(run_page[4096 + (size_t)count * size - 1] == 0xff);
		return rc;
	}
	}
}

static void __attribute__((format(printf, 3, 0)))
quiet_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	  va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, args);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 }, script;
	struct ioregion_bridge *b;
	struct ioregion_bridge_stats st;
	int fds_before = fuzz_count_fds();
	uint8_t flags = fuzz_u8(&in), nops = fuzz_u8(&in) % 64;
	bool stream = flags & 1;
	int dialect = (flags & 2) ? IOREGION_WIRE_INFO : IOREGION_WIRE_V3;
	const uint8_t *ops;
	size_t opslen;
	int conn = 0;

	ops = fuzz_bytes(&in, (size_t)nops * OP_SIZE, &opslen);
	nops = (uint8_t)(opslen / OP_SIZE);
	script = (struct fuzz_in){ in.p + in.off, in.len - in.off, 0 };

	FUZZ_CHECK(ioregion_bridge_new(&b) == 0);
	ioregion_bridge_set_log_handler(b, quiet_log, NULL);
	FUZZ_CHECK(ioregion_bridge_set_timeout(b, TIMEOUT_MS) == 0);
	if (flags & 4)
		FUZZ_CHECK(ioregion_bridge_set_poll_us(b, 20) == 0);
	connect_device(b, 0, stream, dialect, &script, false);

	for (unsigned i = 0; i < nops; i++) {
		int rc = do_access(b, ops + (size_t)i * OP_SIZE, &devs[conn]);

		if (!fd_failed(rc))
			continue;
		/* The fd failed: every later access says so until a new
		 * device is attached. */
		{
			uint64_t v = 0;

			FUZZ_CHECK(ioregion_bridge_access(b, false, 0x1000, false,
							  4, &v) == -ENOTCONN);
			FUZZ_CHECK(v == 0xffffffffull);
		}
		if (conn + 1 == MAX_CONNS)
			break;
		connect_device(b, conn + 1, stream, dialect, &script, true);
		conn++;
	}
	FUZZ_CHECK(ioregion_bridge_get_stats(b, false, 0x1000, &st) == 0);
	FUZZ_CHECK(ioregion_bridge_get_stats(b, false, 0x9000, &st) == -ENOENT);
	b = ioregion_bridge_unref(b);
	finish_device(conn);
	FUZZ_CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
