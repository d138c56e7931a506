/* SPDX-License-Identifier: MIT */
/*
 * Control session, device side: every class of malformed message a VMM
 * can send, during the set-up and after it (then through the gone
 * callback). Exact errnos, the VMM is told, log lines, no fd left open;
 * as test-session-bad-vmm.c for the VMM side.
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
DEV_FEED(d_irq_blocking, send_welcome(s);
	 send_irq(s, 0, IOREGION_LINE_EDGE, 1, a_blocking_eventfd))
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
	ior_assert_int_eq(dev_case(&d, d_irq_blocking), -EINVAL);
	assert_logged("non-blocking");
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
bad_device_suite(void)
{
	Suite *s = suite_create("session-bad-device");

	ior_add_test_timeout(s, test_device_setup, 60);
	ior_add_test_timeout(s, test_device_memory, 60);
	ior_add_test_timeout(s, test_device_after_ready, 60);
	return s;
}

IOR_TEST_MAIN(bad_device_suite)
