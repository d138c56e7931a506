/* SPDX-License-Identifier: MIT */
/* An outside program built only with `pkg-config --cflags --libs
 * libioregion-server`: one read through a real device server. */
#include <ioregion/ioregion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
rd(struct ioregion_region *r, uint64_t off, unsigned size, uint64_t *val)
{
	(void)r;
	(void)size;
	*val = 0x1234 + off;
	return 0;
}

int
main(void)
{
	static const struct ioregion_region_ops ops = { .read = rd };
	struct ioregion_region_config cfg = { .addr = 0x1000, .size = 0x10, .ops = &ops };
	struct ioregion_ctx *ctx;
	struct ioregion_channel *ch;
	struct ioregion_region *r;
	struct ioregion_desc d;
	struct ioregion_wire_cmd c = { .cmd = IOREGION_CMD_READ, .size = 2, .offset = 2 };
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];
	int peer;

	if (ioregion_ctx_new(NULL, &ctx) < 0 ||
	    ioregion_channel_new(ctx, IOREGION_WIRE_V3, &ch) < 0 ||
	    ioregion_region_new(ch, &cfg, &r) < 0 ||
	    ioregion_region_get_desc(r, &d) < 0)
		return 1;
	peer = ioregion_channel_peer_fd(ch);
	c.user_data = d.user_data;
	ioregion_wire_encode_cmd(IOREGION_WIRE_V3, &c, buf);
	if (write(peer, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	ioregion_ctx_dispatch(ctx);
	if (read(peer, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	if (ioregion_wire_decode_resp(buf) != 0x1236) {
		fprintf(stderr, "wrong value\n");
		return 1;
	}
	ioregion_ctx_unref(ctx);
	printf("ok: consumer read 0x1236 through the installed library\n");
	return 0;
}
