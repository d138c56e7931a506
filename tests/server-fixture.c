/* SPDX-License-Identifier: MIT */
/* The device-server test fixture: see server-fixture.h. */
#include "server-fixture.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

struct ioregion_ctx *ctx;
struct ioregion_channel *ch;
int peer = -1;
struct dev dev;
int log_errors;
bool expect_errors;

void
test_log(void *data, enum ioregion_log_priority prio, const char *fmt,
	 va_list args)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, args);
	if (prio >= IOREGION_LOG_ERROR) {
		log_errors++;
		if (!expect_errors)
			ior_abort("unexpected error log: %s", buf);
	}
}

static int
dev_read(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	struct dev *d = ioregion_region_get_userdata(r);

	d->reads++;
	d->last_off = off;
	d->last_size = size;
	if (d->destroy_region_in_cb)
		ioregion_region_destroy(r);
	if (d->destroy_channel_in_cb)
		ioregion_channel_destroy(ioregion_region_get_channel(r));
	if (d->read_rc)
		return d->read_rc;
	if (off == 0xf8) {
		*val = d->counter++;
		return 0;
	}
	*val = 0;
	memcpy(val, d->mem + off, size);
	return 0;
}

static int
dev_write(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t val)
{
	struct dev *d = ioregion_region_get_userdata(r);

	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = val;
	if (d->write_rc)
		return d->write_rc;
	memcpy(d->mem + off, &val, size);
	return 0;
}

const struct ioregion_region_ops dev_ops = {
	.read = dev_read,
	.write = dev_write,
};

void
setup(void)
{
	memset(&dev, 0, sizeof(dev));
	log_errors = 0;
	expect_errors = false;
	ior_assert_int_eq(ioregion_ctx_new(NULL, &ctx), 0);
	ioregion_ctx_set_log_handler(ctx, test_log, NULL);
	ior_assert_int_eq(ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch), 0);
	peer = ioregion_channel_take_peer_fd(ch);
	ior_assert_int_ge(peer, 0);
}

void
teardown(void)
{
	ctx = ioregion_ctx_unref(ctx);
	if (peer >= 0)
		close(peer);
	peer = -1;
}

struct ioregion_region *
add_region(struct ioregion_channel *c, uint64_t addr, uint64_t size,
	   uint32_t flags, uint32_t widths)
{
	struct ioregion_region_config cfg = {
		.addr = addr, .size = size, .flags = flags, .widths = widths,
		.ops = &dev_ops, .userdata = &dev,
	};
	struct ioregion_region *r = NULL;

	ior_assert_int_eq(ioregion_region_new(c, &cfg, &r), 0);
	return r;
}

uint64_t
ud(struct ioregion_region *r)
{
	struct ioregion_desc d;

	ior_assert_int_eq(ioregion_region_get_desc(r, &d), 0);
	return d.user_data;
}

void
v3_cmd(uint8_t buf[32], uint8_t cmd, unsigned exp, bool resp, uint64_t user,
       uint64_t off, uint64_t data)
{
	memset(buf, 0, 32);
	buf[0] = cmd;
	buf[1] = (uint8_t)(exp | (resp ? 0x10 : 0));
	memcpy(buf + 8, &user, 8);
	memcpy(buf + 16, &off, 8);
	memcpy(buf + 24, &data, 8);
}

void
send_cmd(int fd, uint8_t cmd, unsigned exp, bool resp, uint64_t user,
	 uint64_t off, uint64_t data)
{
	uint8_t buf[32];

	v3_cmd(buf, cmd, exp, resp, user, off, data);
	ior_write_all(fd, buf, 32);
}

void
pump(void)
{
	for (int i = 0; i < 4; i++)
		ioregion_ctx_dispatch(ctx);
}

uint64_t
response(int fd)
{
	uint8_t buf[33];
	ssize_t n;

	int type = 0;
	socklen_t len = sizeof(type);

	pump();
	ior_assert(ior_readable(fd, 1000));
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_SEQPACKET)
		n = read(fd, buf, sizeof(buf));	/* 33: would show a long one */
	else
		n = (ssize_t)ior_read_timeout(fd, buf, 32, 1000);
	ior_assert_int_eq(n, 32);
	for (int i = 8; i < 32; i++)
		ior_assert_uint_eq(buf[i], 0);	/* padding is zero */
	return ioregion_wire_decode_resp(buf);
}

void
no_response(int fd)
{
	pump();
	ior_assert(!ior_readable(fd, 20));
}

void
stream_channel(int type, struct ioregion_channel **c, int *p)
{
	int sv[2];

	ior_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	ior_assert_int_eq(ioregion_channel_new_from_fds(ctx, sv[0], sv[0],
							IOREGION_WIRE_V3, c), 0);
	*p = sv[1];
}

int
deferring_read(struct ioregion_region *r, uint64_t off, unsigned size,
	       uint64_t *val)
{
	struct dev *d = ioregion_region_get_userdata(r);

	d->reads++;
	if (off == 0)
		return IOREGION_DEFERRED;
	*val = off;
	return 0;
}

const struct ioregion_region_ops deferring_ops = {
	.read = deferring_read,
	.write = dev_write,
};

struct ioregion_region *
add_deferring(void)
{
	struct ioregion_region_config cfg = {
		.addr = 0x1000, .size = 0x100, .ops = &deferring_ops,
		.userdata = &dev,
	};
	struct ioregion_region *r;

	ior_assert_int_eq(ioregion_region_new(ch, &cfg, &r), 0);
	return r;
}
