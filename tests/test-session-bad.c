/* SPDX-License-Identifier: MIT */
/*
 * Control session: every class of malformed message, written by hand from
 * the layout in ioregion/session.h, against the VMM side and the device
 * side, during the set-up and after it. Each gets its exact errno, the
 * peer is told (ERROR with that errno) where it is not the one who left,
 * a log line says what was wrong, and no fd stays open (every case counts
 * /proc/self/fd: the raw peer is this process too, so a received fd that
 * was not closed shows).
 */
#include "test-common.h"
#include "session-fixture.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/device.h"
#include "ioregion/handoff.h"
#include "ioregion/vmm.h"
#include "ioregion/wire.h"

#define BOUND_MS 300
#define ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the log lines of one case --------------------------------------------- */

static char last_log[4096];

static void __attribute__((format(printf, 3, 0)))
capture(void *data, enum ioregion_log_priority prio, const char *fmt,
	va_list ap)
{
	size_t len = strlen(last_log);

	vsnprintf(last_log + len, sizeof(last_log) - len, fmt, ap);
}

static void
assert_logged(const char *what)
{
	if (!strstr(last_log, what))
		ior_abort("log line '%s' does not say '%s'", last_log, what);
}

/* ---- fds to send ----------------------------------------------------- */

static int
a_socket(void)
{
	int sv[2];

	tvmm_pair(sv);
	close(sv[1]);
	return sv[0];
}

static int
a_pipe(void)
{
	int p[2];

	ior_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	return p[0];
}

static int
an_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	ior_assert_int_ge(fd, 0);
	return fd;
}

static int
a_memfd(size_t size)
{
	int fd = memfd_create("ram", MFD_CLOEXEC);

	ior_assert_int_ge(fd, 0);
	ior_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Send and close our copies: the packet holds them. */
static void
send_fds(int s, const struct ioregion_session_hdr *h, unsigned int type,
	 const void *body, size_t len, int *fds, unsigned int nfds)
{
	raw_send(s, h, type, body, len, fds, nfds);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* ---- good bodies --------------------------------------------------------- */

static struct ioregion_session_hello
hello(void)
{
	return (struct ioregion_session_hello){ .name = "bad" };
}

static struct ioregion_session_region
region(void)
{
	return (struct ioregion_session_region){
		.addr = 0xd0000000, .size = 0x100, .user_data = 1,
		.dialect = IOREGION_WIRE_V3, .name = "r",
	};
}

static void
send_hello(int s)
{
	struct ioregion_session_hello h = hello();

	raw_send(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h), NULL, 0);
}

static void
send_region(int s)
{
	struct ioregion_session_region r = region();
	int fd = a_socket();

	send_fds(s, NULL, IOREGION_SESSION_REGION, &r, sizeof(r), &fd, 1);
}

static void
send_done(int s, uint32_t n)
{
	struct ioregion_session_regions_done d = { .nregions = n };

	raw_send(s, NULL, IOREGION_SESSION_REGIONS_DONE, &d, sizeof(d), NULL, 0);
}

static void
send_ack(int s, uint32_t type, int32_t result)
{
	struct ioregion_session_ack a = { .type = type, .result = result };

	raw_send(s, NULL, IOREGION_SESSION_ACK, &a, sizeof(a), NULL, 0);
}

/* ---- the VMM side under test ---------------------------------------------- */

typedef void feed_fn(int s);

/* Drain what the side under test sent to the raw peer: the errno of its
 * ERROR, or 0 if it sent none. */
static int
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

static void
vmm_init(struct tvmm *v)
{
	tvmm_init(v);
	v->cfg.timeout_ms = BOUND_MS;
	v->cfg.log_handler = capture;
}

/* Attach with @p feed already in the queue; returns its rc, asserts that
 * nothing leaked and that the peer was told (unless it left). */
static int
vmm_case(struct tvmm *v, feed_fn *feed)
{
	struct ioregion_vmm_device *dev = NULL;
	int sv[2], fds = ior_count_fds(), rc, told;

	last_log[0] = '\0';
	tvmm_pair(sv);
	feed(sv[1]);
	rc = ioregion_vmm_attach(sv[0], &v->cfg, &dev);
	told = drain(sv[1]);
	close(sv[1]);
	if (rc == 0) {
		ioregion_vmm_destroy(dev);
	} else {
		ior_assert_ptr_null(dev);
		if (rc != -ECONNRESET && rc != -ECONNREFUSED)
			ior_assert_int_eq(told, -rc);
	}
	ior_assert_int_eq(ior_count_fds(), fds);
	return rc;
}

/* Header faults on HELLO. */
static void
hello_short(int s)
{
	struct ioregion_session_hello h = hello();

	raw_send(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h) - 1, NULL, 0);
}

static void
hello_long(int s)
{
	uint8_t b[sizeof(struct ioregion_session_hello) + 1] = { 0 };

	raw_send(s, NULL, IOREGION_SESSION_HELLO, b, sizeof(b), NULL, 0);
}

static void
hello_length_lies(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(IOREGION_SESSION_HELLO,
						  sizeof(h) + 8, 0);

	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

static void
header_only_half(int s)
{
	struct ioregion_session_hdr hdr = raw_hdr(IOREGION_SESSION_HELLO, 0, 0);

	ior_assert_int_eq(send(s, &hdr, 8, 0), 8);
}

static void
oversized(int s)
{
	static uint8_t b[4096];

	raw_send(s, NULL, IOREGION_SESSION_HELLO, b, sizeof(b), NULL, 0);
}

static void
unknown_type(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(99, sizeof(h), 0);

	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

static void
type_zero(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(0, sizeof(h), 0);

	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

static void
version_two(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(IOREGION_SESSION_HELLO,
						  sizeof(h), 0);

	hdr.version = 2;
	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

static void
bad_magic(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(IOREGION_SESSION_HELLO,
						  sizeof(h), 0);

	hdr.magic = IOREGION_HANDOFF_MAGIC;	/* a hand-off message */
	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

static void
header_reserved(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(IOREGION_SESSION_HELLO,
						  sizeof(h), 0);

	hdr.reserved = 1;
	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

static void
hello_with_fd(int s)
{
	struct ioregion_session_hello h = hello();
	int fd = a_socket();

	send_fds(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h), &fd, 1);
}

/* More fds than the receiver has room for: the rest are lost to a short
 * control buffer, and still none may stay open. */
static void
hello_many_fds(int s)
{
	struct ioregion_session_hello h = hello();
	int fds[12];

	for (unsigned int i = 0; i < 12; i++)
		fds[i] = a_socket();
	send_fds(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h), fds, 12);
}

static void
hello_nfds_lies(int s)
{
	struct ioregion_session_hello h = hello();
	struct ioregion_session_hdr hdr = raw_hdr(IOREGION_SESSION_HELLO,
						  sizeof(h), 1);

	raw_send(s, &hdr, 0, &h, sizeof(h), NULL, 0);
}

/* Body faults on HELLO. */
#define HELLO_MUT(fn, stmt)						\
	static void fn(int s)						\
	{								\
		struct ioregion_session_hello h = hello();		\
		stmt;							\
		raw_send(s, NULL, IOREGION_SESSION_HELLO, &h, sizeof(h), \
			 NULL, 0);					\
	}

HELLO_MUT(hello_reserved, h.reserved[3] = 1)
HELLO_MUT(hello_flags, h.flags = 1u << 5)
HELLO_MUT(hello_name_open, memset(h.name, 'x', sizeof(h.name)))
HELLO_MUT(hello_name_tail, h.name[20] = 'x')
HELLO_MUT(hello_too_many_lines, h.nlines = IOREGION_SESSION_LINES_MAX + 1)
HELLO_MUT(hello_line_past_n, h.lines[2].trigger = IOREGION_LINE_EDGE)
HELLO_MUT(hello_line_trigger, (h.nlines = 1, h.lines[0].trigger = 3))
HELLO_MUT(hello_line_reserved, (h.nlines = 1,
				h.lines[0].trigger = IOREGION_LINE_EDGE,
				h.lines[0].reserved = 1))

static void
empty_packet(int s)
{
	ior_assert_int_eq(send(s, "", 0, 0), 0);
}

static void
hang_up(int s)
{
	shutdown(s, SHUT_WR);
}

static void
error_instead(int s)
{
	struct ioregion_session_error e = { .error = EPERM, .reason = "no" };

	raw_send(s, NULL, IOREGION_SESSION_ERROR, &e, sizeof(e), NULL, 0);
}

static void
region_first(int s)
{
	send_region(s);
}

static void
ack_first(int s)
{
	send_ack(s, IOREGION_SESSION_RESET, 0);
}

START_TEST(test_vmm_header)
{
	struct tvmm v;

	vmm_init(&v);
	ior_assert_int_eq(vmm_case(&v, hello_short), -EBADMSG);
	assert_logged("HELLO: 575 bytes");
	ior_assert_int_eq(vmm_case(&v, hello_long), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_length_lies), -EBADMSG);
	assert_logged("length field 584");
	ior_assert_int_eq(vmm_case(&v, header_only_half), -EBADMSG);
	assert_logged("shorter than a header");
	ior_assert_int_eq(vmm_case(&v, oversized), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, unknown_type), -ENOMSG);
	assert_logged("unknown message type 99");
	ior_assert_int_eq(vmm_case(&v, type_zero), -ENOMSG);
	ior_assert_int_eq(vmm_case(&v, version_two), -EPROTONOSUPPORT);
	assert_logged("protocol version 2, this library speaks 1");
	ior_assert_int_eq(vmm_case(&v, bad_magic), -EBADMSG);
	assert_logged("bad magic");
	ior_assert_int_eq(vmm_case(&v, header_reserved), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_with_fd), -EBADMSG);
	assert_logged("1 fds came");
	ior_assert_int_eq(vmm_case(&v, hello_many_fds), -EBADMSG);
	assert_logged("8 fds came (and more, lost)");
	ior_assert_int_eq(vmm_case(&v, hello_nfds_lies), -EBADMSG);
	tvmm_fini(&v);
}
END_TEST

START_TEST(test_vmm_hello)
{
	struct tvmm v;

	vmm_init(&v);
	ior_assert_int_eq(vmm_case(&v, hello_reserved), -EBADMSG);
	assert_logged("HELLO: reserved bytes not zero");
	ior_assert_int_eq(vmm_case(&v, hello_flags), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_name_open), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_name_tail), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_too_many_lines), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_line_past_n), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_line_trigger), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, hello_line_reserved), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, empty_packet), -ECONNRESET);
	ior_assert_int_eq(vmm_case(&v, hang_up), -ECONNRESET);
	ior_assert_int_eq(vmm_case(&v, error_instead), -ECONNREFUSED);
	assert_logged("the peer gave up: no");
	ior_assert_int_eq(vmm_case(&v, region_first), -EPROTO);
	assert_logged("sent REGION, expected HELLO");
	ior_assert_int_eq(vmm_case(&v, ack_first), -EPROTO);
	tvmm_fini(&v);
}
END_TEST

/* Region faults, after a good HELLO. */
#define REGION_CASE(fn, nfds_, make_fd, stmt, hdr_stmt)			\
	static void fn(int s)						\
	{								\
		struct ioregion_session_region r = region();		\
		struct ioregion_session_hdr hdr =			\
			raw_hdr(IOREGION_SESSION_REGION, sizeof(r), nfds_); \
		unsigned int nfds = (nfds_);				\
		int fds[3];						\
		for (unsigned int i = 0; i < nfds; i++)			\
			fds[i] = make_fd;				\
		stmt;							\
		hdr_stmt;						\
		send_hello(s);						\
		send_fds(s, &hdr, 0, &r, sizeof(r), fds, nfds);		\
		send_done(s, 1);					\
	}

REGION_CASE(region_no_fd, 0, a_socket(), (void)0, (void)0)
REGION_CASE(region_three_fds, 3, a_socket(), (void)0, (void)0)
REGION_CASE(region_two_fds, 2, a_socket(), (void)0, (void)0)
REGION_CASE(region_nfds_lies, 1, a_socket(), (void)0, hdr.nfds = 2)
REGION_CASE(region_pipe, 1, a_pipe(), (void)0, (void)0)
REGION_CASE(region_memfd, 1, a_memfd(4096), (void)0, (void)0)
REGION_CASE(region_reserved, 1, a_socket(), r.reserved[7] = 1, (void)0)
REGION_CASE(region_name_open, 1, a_socket(),
	    memset(r.name, 'r', sizeof(r.name)), (void)0)
REGION_CASE(region_invalid, 1, a_socket(), r.size = 0, (void)0)
REGION_CASE(region_wraps, 1, a_socket(), r.addr = ~0ull - 8, (void)0)
REGION_CASE(region_dialect, 1, a_socket(), r.dialect = IOREGION_WIRE_INFO,
	    (void)0)
REGION_CASE(region_truncated, 1, a_socket(), (void)0,
	    hdr.length = IOREGION_SESSION_HDR_SIZE + 40)

static void
region_truncated_packet(int s)
{
	struct ioregion_session_region r = region();
	int fd = a_socket();

	send_hello(s);
	send_fds(s, NULL, IOREGION_SESSION_REGION, &r, 40, &fd, 1);
}

static void
done_count(int s)
{
	send_hello(s);
	send_region(s);
	send_done(s, 2);
}

static void
done_zero(int s)
{
	send_hello(s);
	send_done(s, 0);
}

static void
too_many_regions(int s)
{
	send_hello(s);
	for (unsigned int i = 0; i <= IOREGION_SESSION_REGIONS_MAX; i++) {
		struct ioregion_session_region r = region();
		int fd = a_socket();

		r.addr += 0x1000 * i;
		send_fds(s, NULL, IOREGION_SESSION_REGION, &r, sizeof(r), &fd,
			 1);
	}
	send_done(s, IOREGION_SESSION_REGIONS_MAX);
}

static void
irq_from_device(int s)
{
	struct ioregion_session_irq q = { .trigger = IOREGION_LINE_EDGE };
	int fd = an_eventfd();

	send_hello(s);
	send_fds(s, NULL, IOREGION_SESSION_IRQ, &q, sizeof(q), &fd, 1);
}

START_TEST(test_vmm_regions)
{
	struct tvmm v;

	vmm_init(&v);
	ior_assert_int_eq(vmm_case(&v, region_no_fd), -EBADMSG);
	assert_logged("REGION: 0 fds came");
	ior_assert_int_eq(vmm_case(&v, region_three_fds), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, region_two_fds), -EPROTO);
	assert_logged("a region with 2 fds, not 1");
	ior_assert_int_eq(vmm_case(&v, region_nfds_lies), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, region_pipe), -ENOTSOCK);
	assert_logged("REGION: fd 0 is not a socket");
	ior_assert_int_eq(vmm_case(&v, region_memfd), -ENOTSOCK);
	ior_assert_int_eq(vmm_case(&v, region_reserved), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, region_name_open), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, region_invalid), -EBADMSG);
	assert_logged("invalid region");
	ior_assert_int_eq(vmm_case(&v, region_wraps), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, region_dialect), -EPROTO);
	assert_logged("wire dialect 5, not 3");
	ior_assert_int_eq(vmm_case(&v, region_truncated), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, region_truncated_packet), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, done_count), -EPROTO);
	assert_logged("REGIONS_DONE counts 2 regions, 1 came");
	ior_assert_int_eq(vmm_case(&v, done_zero), -EBADMSG);
	ior_assert_int_eq(vmm_case(&v, too_many_regions), -EPROTO);
	ior_assert_int_eq(vmm_case(&v, irq_from_device), -EPROTO);
	tvmm_fini(&v);
}
END_TEST

/* The end of the set-up: the device's answer to READY. */
static void
good_setup(int s)
{
	send_hello(s);
	send_region(s);
	send_done(s, 1);
}

static void
ack_ok(int s)
{
	good_setup(s);
	send_ack(s, IOREGION_SESSION_READY, 0);
}

static void
ack_wrong(int s)
{
	good_setup(s);
	send_ack(s, IOREGION_SESSION_RESET, 0);
}

static void
ack_positive(int s)
{
	good_setup(s);
	send_ack(s, IOREGION_SESSION_READY, 5);
}

static void
ack_failed(int s)
{
	good_setup(s);
	send_ack(s, IOREGION_SESSION_READY, -EIO);
}

static void
ack_unknown_type(int s)
{
	good_setup(s);
	send_ack(s, 77, 0);
}

START_TEST(test_vmm_ready)
{
	struct tvmm v;

	vmm_init(&v);
	ior_assert_int_eq(vmm_case(&v, ack_ok), 0);
	ior_assert_int_eq(vmm_case(&v, ack_wrong), -EPROTO);
	ior_assert_int_eq(vmm_case(&v, ack_positive), -EBADMSG);
	assert_logged("a positive result");
	ior_assert_int_eq(vmm_case(&v, ack_failed), -EIO);
	assert_logged("could not start");
	ior_assert_int_eq(vmm_case(&v, ack_unknown_type), -EBADMSG);
	/* Nothing of the failed ones stayed in the bridge. */
	ior_assert_int_eq(tvmm_access(&v, 0, false, &(uint64_t){ 0 }), 0);
	tvmm_fini(&v);
}
END_TEST

/* After READY: what ioregion_vmm_check() and a request make of a device
 * that sends garbage. */
START_TEST(test_vmm_after_ready)
{
	struct ioregion_vmm_device *dev;
	struct tvmm v;
	int sv[2], fds;

	vmm_init(&v);
	fds = ior_count_fds();
	for (int round = 0; round < 4; round++) {
		tvmm_pair(sv);
		ack_ok(sv[1]);
		ior_assert_int_eq(ioregion_vmm_attach(sv[0], &v.cfg, &dev), 0);
		ior_assert_int_eq(ioregion_vmm_check(dev), 0);
		switch (round) {
		case 0:		/* a message nobody asked for */
			send_region(sv[1]);
			ior_assert_int_eq(ioregion_vmm_check(dev), -EPROTO);
			break;
		case 1:
			error_instead(sv[1]);
			ior_assert_int_eq(ioregion_vmm_check(dev),
					  -ECONNREFUSED);
			break;
		case 2:		/* an answer to another request */
			send_ack(sv[1], IOREGION_SESSION_MEM_REMOVE, 0);
			ior_assert_int_eq(ioregion_vmm_reset(dev), -EPROTO);
			break;
		case 3:
			unknown_type(sv[1]);
			ior_assert_int_eq(ioregion_vmm_reset(dev), -ENOMSG);
			break;
		}
		/* Each closed the session. */
		ior_assert_int_eq(ioregion_vmm_get_fd(dev), -ENOTCONN);
		ioregion_vmm_destroy(dev);
		drain(sv[1]);
		close(sv[1]);
		ior_assert_int_eq(ior_count_fds(), fds);
	}
	tvmm_fini(&v);
}
END_TEST

/* ---- the device side under test -------------------------------------------- */

static int
dummy_read(struct ioregion_region *r, uint64_t off, unsigned size,
	   uint64_t *val)
{
	*val = 0;
	return 0;
}

static const struct ioregion_region_ops dummy_ops = { dummy_read, NULL };
static const struct ioregion_device_line two_lines[] = {
	{ "edge", IOREGION_LINE_EDGE },
	{ "level", IOREGION_LINE_LEVEL },
};

struct dcase {
	struct ioregion_ctx *ctx;
	struct ioregion_device_region region;
	struct ioregion_device_config cfg;
	int gone_error;
	bool gone;
};

static void
dev_gone(struct ioregion_device *dev, int error, void *userdata)
{
	struct dcase *d = userdata;

	d->gone = true;
	d->gone_error = error;
}

static void
dcase_init(struct dcase *d, bool memory)
{
	memset(d, 0, sizeof(*d));
	ior_assert_int_eq(ioregion_ctx_new(NULL, &d->ctx), 0);
	ioregion_ctx_set_log_handler(d->ctx, capture, NULL);
	d->region = (struct ioregion_device_region){
		"r", { .addr = 0x1000, .size = 0x10, .ops = &dummy_ops },
	};
	d->cfg = (struct ioregion_device_config){
		.name = "d", .regions = &d->region, .nregions = 1,
		.lines = two_lines, .nlines = 2,
		.flags = memory ? IOREGION_DEVICE_F_MEMORY : 0,
		.timeout_ms = BOUND_MS, .gone = dev_gone, .userdata = d,
	};
}

/* The device's attach with @p feed (the VMM's messages) in the queue. */
static int
dev_case(struct dcase *d, feed_fn *feed)
{
	struct ioregion_device *dev = NULL;
	int sv[2], fds = ior_count_fds(), rc, told;

	last_log[0] = '\0';
	tvmm_pair(sv);
	feed(sv[1]);
	rc = ioregion_device_attach(d->ctx, sv[0], &d->cfg, &dev);
	told = drain(sv[1]);
	close(sv[1]);
	if (rc == 0) {
		ioregion_device_destroy(dev);
	} else {
		ior_assert_ptr_null(dev);
		if (rc != -ECONNRESET && rc != -ECONNREFUSED)
			ior_assert_int_eq(told, -rc);
	}
	ior_assert_int_eq(ior_count_fds(), fds);
	return rc;
}

static void
send_welcome(int s)
{
	struct ioregion_session_welcome w = { .dialect = IOREGION_WIRE_V3 };

	raw_send(s, NULL, IOREGION_SESSION_WELCOME, &w, sizeof(w), NULL, 0);
}

static void
send_irq(int s, uint32_t index, uint32_t trigger, unsigned int nfds,
	 int (*make)(void))
{
	struct ioregion_session_irq q = { .index = index, .trigger = trigger };
	int fds[2];

	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = make();
	send_fds(s, NULL, IOREGION_SESSION_IRQ, &q, sizeof(q), fds, nfds);
}

static void
send_lines(int s)
{
	send_irq(s, 0, IOREGION_LINE_EDGE, 1, an_eventfd);
	send_irq(s, 1, IOREGION_LINE_LEVEL, 2, an_eventfd);
}

static void
send_slot(int s, uint64_t size, uint32_t flags, int fd)
{
	struct ioregion_session_mem_slot m = {
		.gpa = 0x100000, .size = size, .flags = flags,
	};

	send_fds(s, NULL, IOREGION_SESSION_MEM_SLOT, &m, sizeof(m), &fd, 1);
}

static void
send_ready(int s, uint32_t nlines, uint32_t nslots)
{
	struct ioregion_session_ready r = { .nlines = nlines, .nslots = nslots };

	raw_send(s, NULL, IOREGION_SESSION_READY, &r, sizeof(r), NULL, 0);
}

#define DEV_FEED(fn, ...) static void fn(int s) { __VA_ARGS__; }

static int small_ram(void) { return a_memfd(0x1000); }

static int
readonly_ram(void)
{
	char path[64];
	int fd = a_memfd(0x2000), ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	close(fd);
	ior_assert_int_ge(ro, 0);
	return ro;
}

DEV_FEED(d_ok, send_welcome(s); send_lines(s); send_ready(s, 2, 0))
DEV_FEED(d_ok_mem, send_welcome(s); send_lines(s);
	 send_slot(s, 0x2000, 0, a_memfd(0x2000)); send_ready(s, 2, 1))
DEV_FEED(d_welcome_dialect,
	 struct ioregion_session_welcome w = { .dialect = 4 };
	 raw_send(s, NULL, IOREGION_SESSION_WELCOME, &w, sizeof(w), NULL, 0))
DEV_FEED(d_welcome_flags,
	 struct ioregion_session_welcome w = { .dialect = IOREGION_WIRE_V3,
					       .flags = 1u << 3 };
	 raw_send(s, NULL, IOREGION_SESSION_WELCOME, &w, sizeof(w), NULL, 0))
DEV_FEED(d_welcome_fd,
	 struct ioregion_session_welcome w = { .dialect = IOREGION_WIRE_V3 };
	 int fd = an_eventfd();
	 send_fds(s, NULL, IOREGION_SESSION_WELCOME, &w, sizeof(w), &fd, 1))
DEV_FEED(d_welcome_version,
	 struct ioregion_session_welcome w = { .dialect = IOREGION_WIRE_V3 };
	 struct ioregion_session_hdr h = raw_hdr(IOREGION_SESSION_WELCOME,
						 sizeof(w), 0);
	 h.version = 7;
	 raw_send(s, &h, 0, &w, sizeof(w), NULL, 0))
DEV_FEED(d_unknown, unknown_type(s))
DEV_FEED(d_irq_first, send_lines(s))
DEV_FEED(d_error, error_instead(s))
DEV_FEED(d_hang_up, hang_up(s))
DEV_FEED(d_irq_pipe, send_welcome(s);
	 send_irq(s, 0, IOREGION_LINE_EDGE, 1, a_pipe))
DEV_FEED(d_irq_memfd, send_welcome(s);
	 send_irq(s, 0, IOREGION_LINE_EDGE, 1, small_ram))
DEV_FEED(d_irq_edge_two, send_welcome(s);
	 send_irq(s, 0, IOREGION_LINE_EDGE, 2, an_eventfd))
DEV_FEED(d_irq_level_one, send_welcome(s);
	 send_irq(s, 1, IOREGION_LINE_LEVEL, 1, an_eventfd))
DEV_FEED(d_irq_order, send_welcome(s);
	 send_irq(s, 1, IOREGION_LINE_LEVEL, 2, an_eventfd))
DEV_FEED(d_irq_trigger, send_welcome(s);
	 send_irq(s, 0, IOREGION_LINE_LEVEL, 2, an_eventfd))
DEV_FEED(d_ready_early, send_welcome(s);
	 send_irq(s, 0, IOREGION_LINE_EDGE, 1, an_eventfd);
	 send_ready(s, 2, 0))
DEV_FEED(d_ready_slots, send_welcome(s); send_lines(s); send_ready(s, 2, 1))
DEV_FEED(d_slot_unasked, send_welcome(s); send_lines(s);
	 send_slot(s, 0x1000, 0, a_memfd(0x1000)); send_ready(s, 2, 1))
DEV_FEED(d_slot_small, send_welcome(s); send_lines(s);
	 send_slot(s, 0x2000, 0, small_ram()); send_ready(s, 2, 1))
DEV_FEED(d_slot_readonly_fd, send_welcome(s); send_lines(s);
	 send_slot(s, 0x2000, 0, readonly_ram()); send_ready(s, 2, 1))
DEV_FEED(d_slot_flags, send_welcome(s); send_lines(s);
	 send_slot(s, 0x1000, 1u << 4, a_memfd(0x1000)))
DEV_FEED(d_slot_no_fd, send_welcome(s); send_lines(s);
	 struct ioregion_session_mem_slot m = { .size = 0x1000 };
	 raw_send(s, NULL, IOREGION_SESSION_MEM_SLOT, &m, sizeof(m), NULL, 0))
DEV_FEED(d_region_to_device, send_welcome(s); send_region(s))

START_TEST(test_device_setup)
{
	struct dcase d;

	dcase_init(&d, false);
	ior_assert_int_eq(dev_case(&d, d_ok), 0);
	ior_assert_int_eq(dev_case(&d, d_welcome_dialect), -EBADMSG);
	assert_logged("WELCOME: unknown wire dialect");
	ior_assert_int_eq(dev_case(&d, d_welcome_flags), -EBADMSG);
	ior_assert_int_eq(dev_case(&d, d_welcome_fd), -EBADMSG);
	ior_assert_int_eq(dev_case(&d, d_welcome_version), -EPROTONOSUPPORT);
	ior_assert_int_eq(dev_case(&d, d_unknown), -ENOMSG);
	ior_assert_int_eq(dev_case(&d, d_irq_first), -EPROTO);
	ior_assert_int_eq(dev_case(&d, d_error), -ECONNREFUSED);
	ior_assert_int_eq(dev_case(&d, d_hang_up), -ECONNRESET);
	ior_assert_int_eq(dev_case(&d, d_irq_pipe), -EBADFD);
	assert_logged("IRQ: fd 0 is not an eventfd");
	ior_assert_int_eq(dev_case(&d, d_irq_memfd), -EBADFD);
	ior_assert_int_eq(dev_case(&d, d_irq_edge_two), -EBADMSG);
	assert_logged("fd count not 1 for an edge line");
	ior_assert_int_eq(dev_case(&d, d_irq_level_one), -EBADMSG);
	ior_assert_int_eq(dev_case(&d, d_irq_order), -EPROTO);
	ior_assert_int_eq(dev_case(&d, d_irq_trigger), -EPROTO);
	ior_assert_int_eq(dev_case(&d, d_ready_early), -EPROTO);
	ior_assert_int_eq(dev_case(&d, d_ready_slots), -EPROTO);
	ior_assert_int_eq(dev_case(&d, d_slot_unasked), -EPROTO);
	ior_assert_int_eq(dev_case(&d, d_region_to_device), -EPROTO);
	ioregion_ctx_unref(d.ctx);
}
END_TEST

START_TEST(test_device_memory)
{
	struct dcase d;

	dcase_init(&d, true);
	ior_assert_int_eq(dev_case(&d, d_ok_mem), 0);
	ior_assert_int_eq(dev_case(&d, d_slot_small), -EINVAL);
	assert_logged("memory slot at 0x100000");
	ior_assert_int_eq(dev_case(&d, d_slot_readonly_fd), -EACCES);
	ior_assert_int_eq(dev_case(&d, d_slot_flags), -EBADMSG);
	ior_assert_int_eq(dev_case(&d, d_slot_no_fd), -EBADMSG);
	ior_assert_int_eq(dev_case(&d, d_ready_slots), -EPROTO);
	ioregion_ctx_unref(d.ctx);
}
END_TEST

/* After READY, in the device's loop: each message below ends the session
 * with its error through the gone callback (or answers, for the good
 * ones), and leaks nothing. */
START_TEST(test_device_after_ready)
{
	static feed_fn *const bad[] = {
		unknown_type, hello_short, send_hello, send_region, hang_up,
		error_instead,
	};
	static const int want[] = {
		-ENOMSG, -EBADMSG, -EPROTO, -EPROTO, -ECONNRESET, -ECONNREFUSED,
	};
	struct ioregion_session_empty e = { { 0 } };
	struct ioregion_session_hdr h;
	struct ioregion_device *dev;
	struct dcase d;
	uint8_t body[64];
	int sv[2], fds;

	dcase_init(&d, false);
	fds = ior_count_fds();
	for (unsigned int i = 0; i <= ARRAY_SIZE_(bad); i++) {
		d.gone = false;
		tvmm_pair(sv);
		d_ok(sv[1]);
		ior_assert_int_eq(ioregion_device_attach(d.ctx, sv[0], &d.cfg,
							 &dev), 0);
		drain(sv[1]);
		if (i < ARRAY_SIZE_(bad)) {
			bad[i](sv[1]);
		} else {
			/* RESET is answered, MEM_SLOT to a device without
			 * memory ends it, SHUTDOWN ends it with 0. */
			raw_send(sv[1], NULL, IOREGION_SESSION_RESET, &e,
				 sizeof(e), NULL, 0);
			for (int n = 0; n < 100 && !ior_readable(sv[1], 0); n++)
				ioregion_ctx_dispatch(d.ctx), usleep(1000);
			ior_assert_int_eq(raw_recv(sv[1], &h, body,
						   sizeof(body), 1000),
					  IOREGION_SESSION_HDR_SIZE + 16);
			ior_assert_uint_eq(h.type, IOREGION_SESSION_ACK);
			raw_send(sv[1], NULL, IOREGION_SESSION_SHUTDOWN, &e,
				 sizeof(e), NULL, 0);
		}
		for (int n = 0; n < 1000 && !d.gone; n++) {
			ioregion_ctx_dispatch(d.ctx);
			if (!d.gone)
				usleep(1000);
		}
		ior_assert(d.gone);
		ior_assert_int_eq(d.gone_error,
				  i < ARRAY_SIZE_(bad) ? want[i] : 0);
		ior_assert_int_eq(ioregion_device_get_fd(dev), -ENOTCONN);
		ioregion_device_destroy(dev);
		drain(sv[1]);
		close(sv[1]);
		ior_assert_int_eq(ior_count_fds(), fds);
	}
	/* A memory update to a device that asked for none. */
	d.gone = false;
	tvmm_pair(sv);
	d_ok(sv[1]);
	ior_assert_int_eq(ioregion_device_attach(d.ctx, sv[0], &d.cfg, &dev), 0);
	send_slot(sv[1], 0x1000, 0, a_memfd(0x1000));
	for (int n = 0; n < 1000 && !d.gone; n++)
		ioregion_ctx_dispatch(d.ctx), usleep(d.gone ? 0 : 1000);
	ior_assert_int_eq(d.gone_error, -EPROTO);
	ioregion_device_destroy(dev);
	drain(sv[1]);
	close(sv[1]);
	ior_assert_int_eq(ior_count_fds(), fds);
	ioregion_ctx_unref(d.ctx);
}
END_TEST

static Suite *
bad_suite(void)
{
	Suite *s = suite_create("session-bad");

	ior_add_test_timeout(s, test_vmm_header, 60);
	ior_add_test_timeout(s, test_vmm_hello, 60);
	ior_add_test_timeout(s, test_vmm_regions, 60);
	ior_add_test_timeout(s, test_vmm_ready, 60);
	ior_add_test_timeout(s, test_vmm_after_ready, 60);
	ior_add_test_timeout(s, test_device_setup, 60);
	ior_add_test_timeout(s, test_device_memory, 60);
	ior_add_test_timeout(s, test_device_after_ready, 60);
	return s;
}

IOR_TEST_MAIN(bad_suite)
