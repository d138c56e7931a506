/* SPDX-License-Identifier: MIT */
/*
 * Control session, VMM side: every class of malformed message a device
 * can send, written by hand from the layout in ioregion/session.h, during
 * the set-up and after it. Each gets its exact errno, the device is told
 * (ERROR with that errno) unless it is the one who left, a log line says
 * what was wrong, and no fd stays open (every case counts /proc/self/fd:
 * the raw peer is this process too, so a received fd that was not closed
 * shows). The device side: test-session-bad-device.c.
 */
#include "test-common.h"
#include "session-fixture.h"
#include "session-raw.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "ioregion/device.h"
#include "ioregion/handoff.h"
#include "ioregion/vmm.h"
#include "ioregion/wire.h"

#define BOUND_MS 300
#define ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))

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

static Suite *
bad_vmm_suite(void)
{
	Suite *s = suite_create("session-bad-vmm");

	ior_add_test_timeout(s, test_vmm_header, 60);
	ior_add_test_timeout(s, test_vmm_hello, 60);
	ior_add_test_timeout(s, test_vmm_regions, 60);
	ior_add_test_timeout(s, test_vmm_ready, 60);
	ior_add_test_timeout(s, test_vmm_after_ready, 60);
	return s;
}

IOR_TEST_MAIN(bad_vmm_suite)
