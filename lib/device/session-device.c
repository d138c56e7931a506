/* SPDX-License-Identifier: MIT */
/*
 * The device side of the control session (protocol in ioregion/session.h):
 * the set-up in one call, then the session socket on the context's loop
 * for the VMM's later requests (RESET, memory updates, SHUTDOWN).
 */
#include "server-private.h"
#include "session-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ioregion/device.h"
#include "ioregion/irq.h"

struct ioregion_device {
	struct ioregion_ctx *ctx;	/* a reference */
	struct ioregion_log *log;	/* the context's */
	int sock;			/* -1 once the session ended */
	ev_io sio;
	struct ctx_watch sw;		/* sock in the context's get_fd set */
	unsigned int busy;		/* inside a callback of ours */
	bool dead;			/* destroyed while busy */

	ioregion_device_reset_fn *reset;
	ioregion_device_gone_fn *gone;
	void *userdata;

	enum ioregion_wire_dialect dialect;
	bool fallback;
	struct ioregion_channel *ch, *fb;
	unsigned int nregions;
	struct ioregion_region *regions[IOREGION_SESSION_REGIONS_MAX];
	unsigned int nlines;
	struct ioregion_irq *lines[IOREGION_SESSION_LINES_MAX];
	struct ioregion_mem *mem;	/* NULL: no memory wanted */
};

static void
free_now(struct ioregion_device *dev)
{
	if (dev->sock >= 0) {
		ev_io_stop(dev->ctx->loop, &dev->sio);
		ctx_watch_del(dev->ctx, &dev->sw);
		close(dev->sock);
	}
	/* Its regions and its fallback go with it. */
	ioregion_channel_destroy(dev->ch);
	for (unsigned int i = 0; i < dev->nlines; i++)
		ioregion_irq_destroy(dev->lines[i]);
	ioregion_mem_unref(dev->mem);
	ioregion_ctx_unref(dev->ctx);
	free(dev);
}

IOREGION_EXPORT void
ioregion_device_destroy(struct ioregion_device *dev)
{
	if (!dev)
		return;
	if (dev->busy)
		dev->dead = true;
	else
		free_now(dev);
}

/* The session ends: stop watching, tell the device. */
static void
end_session(struct ioregion_device *dev, int error)
{
	if (dev->sock < 0)
		return;
	ev_io_stop(dev->ctx->loop, &dev->sio);
	ctx_watch_del(dev->ctx, &dev->sw);
	close(dev->sock);
	dev->sock = -1;
	if (error && error != -ECONNRESET)
		log_error(dev->log, "control session ended: %s\n",
			  strerror(-error));
	else
		log_info(dev->log, "control session ended: %s\n",
			 error ? "the VMM went away" : "SHUTDOWN");
	if (dev->gone)
		dev->gone(dev, error, dev->userdata);
}

static int
ack(struct ioregion_device *dev, unsigned int type, int result)
{
	struct ioregion_session_ack a = { .type = type, .result = result };

	/* The VMM waits for it, so there is room: never wait here. */
	return session_send(dev->sock, -1, IOREGION_SESSION_ACK, &a, NULL, 0);
}

static int
add_slot(struct ioregion_device *dev, struct session_msg *m)
{
	const struct ioregion_session_mem_slot *b = &m->body.mem_slot;
	struct ioregion_mem_slot slot = {
		.gpa = b->gpa, .size = b->size, .offset = b->offset,
		.flags = b->flags,
	};
	int rc = ioregion_mem_add_slot(dev->mem, &slot, m->fds[0]);

	session_msg_close(m);	/* the mapping stays */
	if (rc < 0)
		log_error(dev->log, "control session: memory slot at 0x%llx "
			  "(0x%llx bytes): %s\n", (unsigned long long)slot.gpa,
			  (unsigned long long)slot.size, strerror(-rc));
	return rc;
}

/* One request after READY; a negative return ends the session. */
static int
handle(struct ioregion_device *dev, struct session_msg *m)
{
	char tbuf[16];
	int rc;

	switch (m->hdr.type) {
	case IOREGION_SESSION_RESET:
		rc = dev->reset ? dev->reset(dev, dev->userdata) : 0;
		if (dev->dead || dev->sock < 0)
			return 0;
		return ack(dev, IOREGION_SESSION_RESET, rc < 0 ? rc : 0);
	case IOREGION_SESSION_MEM_SLOT:
		if (!dev->mem)
			break;
		return ack(dev, IOREGION_SESSION_MEM_SLOT, add_slot(dev, m));
	case IOREGION_SESSION_MEM_REMOVE:
		if (!dev->mem)
			break;
		return ack(dev, IOREGION_SESSION_MEM_REMOVE,
			   ioregion_mem_remove_slot(dev->mem,
						    m->body.mem_remove.gpa));
	case IOREGION_SESSION_SHUTDOWN:
		end_session(dev, 0);
		return 0;
	case IOREGION_SESSION_ERROR:
		session_log_peer_error(dev->log, m);
		return -ECONNREFUSED;
	default:
		break;
	}
	session_msg_close(m);
	log_peer(dev->log, "control session: the VMM sent %s, which this "
		 "device cannot take now\n",
		 session_type_name(m->hdr.type, tbuf, sizeof(tbuf)));
	session_send_error(dev->sock, EPROTO, "unexpected %s",
			   session_type_name(m->hdr.type, tbuf, sizeof(tbuf)));
	return -EPROTO;
}

static void
session_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ioregion_device *dev = w->data;

	(void)loop;
	(void)revents;
	dev->busy++;
	while (dev->sock >= 0 && !dev->dead) {
		struct session_msg m;
		int rc = session_recv(dev->sock, -1, &m, dev->log);

		if (rc == -EAGAIN)
			break;
		if (rc == 0)
			rc = handle(dev, &m);
		else if (rc != -ECONNRESET)
			session_send_error(dev->sock, -rc,
					   "the device could not use a message");
		if (rc < 0 && !dev->dead)
			end_session(dev, rc);
	}
	if (--dev->busy == 0 && dev->dead)
		free_now(dev);
}

static int
check_config(const struct ioregion_device_config *cfg)
{
	static const uint64_t zero[4];

	if (!cfg->nregions || cfg->nregions > IOREGION_SESSION_REGIONS_MAX ||
	    !cfg->regions || cfg->nlines > IOREGION_SESSION_LINES_MAX ||
	    (cfg->nlines && !cfg->lines) ||
	    (cfg->flags & ~IOREGION_DEVICE_F_ALL) ||
	    memcmp(cfg->reserved, zero, sizeof(zero)))
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nlines; i++)
		if (cfg->lines[i].trigger != IOREGION_LINE_EDGE &&
		    cfg->lines[i].trigger != IOREGION_LINE_LEVEL)
			return -EINVAL;
	return 0;
}

/* Give up on the set-up: tell the VMM why (unless it is the one who
 * left), return @p rc. */
static int
give_up(struct ioregion_device *dev, int rc, const char *what)
{
	log_error(dev->log, "control session: %s: %s\n", what, strerror(-rc));
	if (rc != -ECONNRESET && rc != -ECONNREFUSED)
		session_send_error(dev->sock, -rc, "device: %s", what);
	return rc;
}

/* Receive a message during the set-up: ERROR is -ECONNREFUSED. */
static int
expect(struct ioregion_device *dev, int64_t deadline, struct session_msg *m)
{
	int rc = session_recv(dev->sock, deadline, m, dev->log);

	if (rc == 0 && m->hdr.type == IOREGION_SESSION_ERROR) {
		session_log_peer_error(dev->log, m);
		return -ECONNREFUSED;
	}
	return rc;
}

static int
send_hello(struct ioregion_device *dev, const struct ioregion_device_config *cfg,
	   int64_t deadline)
{
	struct ioregion_session_hello h;

	memset(&h, 0, sizeof(h));
	session_put_name(h.name, sizeof(h.name), cfg->name);
	h.flags = ((cfg->flags & IOREGION_DEVICE_F_MEMORY) ?
		   IOREGION_SESSION_HELLO_F_MEMORY : 0) |
		  ((cfg->flags & IOREGION_DEVICE_F_KEEPS_STATE) ?
		   IOREGION_SESSION_HELLO_F_KEEPS_STATE : 0);
	h.nlines = cfg->nlines;
	for (unsigned int i = 0; i < cfg->nlines; i++) {
		h.lines[i].trigger = cfg->lines[i].trigger;
		session_put_name(h.lines[i].name, sizeof(h.lines[i].name),
				 cfg->lines[i].name);
	}
	return session_send(dev->sock, deadline, IOREGION_SESSION_HELLO, &h,
			    NULL, 0);
}

static int
take_welcome(struct ioregion_device *dev, int64_t deadline)
{
	struct session_msg m;
	int rc = expect(dev, deadline, &m);

	if (rc < 0)
		return give_up(dev, rc, "waiting for WELCOME");
	if (m.hdr.type != IOREGION_SESSION_WELCOME) {
		session_msg_close(&m);
		return give_up(dev, -EPROTO, "expected WELCOME");
	}
	dev->dialect = (enum ioregion_wire_dialect)m.body.welcome.dialect;
	dev->fallback = m.body.welcome.flags &
			IOREGION_SESSION_WELCOME_F_FALLBACK;
	return 0;
}

/* The channels in the VMM's dialect, the regions on them, handed over. */
static int
send_regions(struct ioregion_device *dev,
	     const struct ioregion_device_config *cfg, int64_t deadline)
{
	struct ioregion_session_regions_done done = { .nregions = cfg->nregions };
	int fds[2], rc;

	rc = ioregion_channel_new(dev->ctx, dev->dialect, &dev->ch);
	if (rc == 0 && dev->fallback)
		rc = ioregion_channel_new_fallback(dev->ch, &dev->fb);
	if (rc < 0)
		return give_up(dev, rc, "channel");
	for (unsigned int i = 0; i < cfg->nregions; i++) {
		rc = ioregion_region_new(dev->ch, &cfg->regions[i].config,
					 &dev->regions[i]);
		if (rc < 0)
			return give_up(dev, rc, "region config");
		dev->nregions++;
	}
	fds[0] = ioregion_channel_peer_fd(dev->ch);
	fds[1] = dev->fb ? ioregion_channel_peer_fd(dev->fb) : -1;
	for (unsigned int i = 0; i < cfg->nregions; i++) {
		struct ioregion_session_region r;
		struct ioregion_desc d;

		(void)ioregion_region_get_desc(dev->regions[i], &d);
		memset(&r, 0, sizeof(r));
		r.addr = d.addr;
		r.size = d.size;
		r.user_data = d.user_data;
		r.flags = d.flags;
		r.dialect = d.dialect;
		session_put_name(r.name, sizeof(r.name), cfg->regions[i].name);
		rc = session_send(dev->sock, deadline, IOREGION_SESSION_REGION,
				  &r, fds, dev->fb ? 2 : 1);
		if (rc < 0)
			return give_up(dev, rc, "sending REGION");
	}
	rc = session_send(dev->sock, deadline, IOREGION_SESSION_REGIONS_DONE,
			  &done, NULL, 0);
	if (rc < 0)
		return give_up(dev, rc, "sending REGIONS_DONE");
	/* The VMM holds the peer ends now (in flight or received): ours
	 * would keep the channels from seeing the VMM's end. */
	close(ioregion_channel_take_peer_fd(dev->ch));
	if (dev->fb)
		close(ioregion_channel_take_peer_fd(dev->fb));
	return 0;
}

static int
take_irq(struct ioregion_device *dev, const struct ioregion_device_config *cfg,
	 struct session_msg *m)
{
	const struct ioregion_session_irq *q = &m->body.irq;
	int rc;

	if (q->index != dev->nlines || q->index >= cfg->nlines ||
	    q->trigger != cfg->lines[q->index].trigger) {
		session_msg_close(m);
		return give_up(dev, -EPROTO, "an IRQ for another line");
	}
	/* The line takes duplicates: ours go. A level line's resample fd
	 * is watched in the context's loop from now on. */
	rc = ioregion_irq_new(dev->ctx, m->fds[0], m->nfds == 2 ? m->fds[1] : -1,
			      &dev->lines[dev->nlines]);
	session_msg_close(m);
	if (rc < 0)
		return give_up(dev, rc, "an IRQ's eventfds (non-blocking?)");
	dev->nlines++;
	return 0;
}

/* IRQ and MEM_SLOT messages until READY; then the answer. */
static int
take_resources(struct ioregion_device *dev,
	       const struct ioregion_device_config *cfg, int64_t deadline)
{
	unsigned int nslots = 0;
	struct session_msg m;
	int rc;

	for (;;) {
		rc = expect(dev, deadline, &m);
		if (rc < 0)
			return give_up(dev, rc, "waiting for READY");
		switch (m.hdr.type) {
		case IOREGION_SESSION_IRQ:
			rc = take_irq(dev, cfg, &m);
			break;
		case IOREGION_SESSION_MEM_SLOT:
			if (!dev->mem) {
				session_msg_close(&m);
				return give_up(dev, -EPROTO,
					       "memory it did not ask for");
			}
			rc = add_slot(dev, &m);
			if (rc < 0)
				return give_up(dev, rc, "mapping a slot");
			nslots++;
			break;
		case IOREGION_SESSION_READY:
			if (m.body.ready.nlines != cfg->nlines ||
			    dev->nlines != cfg->nlines ||
			    m.body.ready.nslots != nslots)
				return give_up(dev, -EPROTO,
					       "READY before every line, or "
					       "counts that disagree");
			return ack(dev, IOREGION_SESSION_READY, 0);
		default:
			session_msg_close(&m);
			return give_up(dev, -EPROTO, "expected IRQ, MEM_SLOT "
				       "or READY");
		}
		if (rc < 0)
			return rc;
	}
}

IOREGION_EXPORT int
ioregion_device_attach(struct ioregion_ctx *ctx, int sock,
		       const struct ioregion_device_config *cfg,
		       struct ioregion_device **devp)
{
	struct ioregion_device *dev;
	int64_t deadline;
	int rc;

	if (devp)
		*devp = NULL;
	if (!ctx || !cfg || !devp || check_config(cfg) < 0) {
		rc = -EINVAL;
		goto fail_sock;
	}
	rc = session_check_socket(sock);
	if (rc < 0)
		goto fail_sock;
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		rc = -ENOMEM;
		goto fail_sock;
	}
	dev->ctx = ioregion_ctx_ref(ctx);
	dev->log = &ctx->log;
	dev->sock = sock;
	dev->reset = cfg->reset;
	dev->gone = cfg->gone;
	dev->userdata = cfg->userdata;
	if (cfg->flags & IOREGION_DEVICE_F_MEMORY) {
		rc = ioregion_mem_new(&dev->mem);
		if (rc < 0)
			goto fail_dev;
	}
	deadline = session_deadline(cfg->timeout_ms ? cfg->timeout_ms :
				    IOREGION_SESSION_TIMEOUT_MS_DEFAULT);
	rc = send_hello(dev, cfg, deadline);
	if (rc < 0)
		rc = give_up(dev, rc, "sending HELLO");
	if (rc == 0)
		rc = take_welcome(dev, deadline);
	if (rc == 0)
		rc = send_regions(dev, cfg, deadline);
	if (rc == 0)
		rc = take_resources(dev, cfg, deadline);
	if (rc < 0)
		goto fail_dev;
	ev_io_init(&dev->sio, session_cb, sock, EV_READ);
	dev->sio.data = dev;
	ev_io_start(ctx->loop, &dev->sio);
	ctx_watch_add(ctx, &dev->sw, sock);
	*devp = dev;
	return 0;

fail_dev:
	free_now(dev);	/* closes sock */
	return rc;
fail_sock:
	if (sock >= 0)
		close(sock);
	return rc;
}

/* A connected SOCK_SEQPACKET socket to @p path, bounded by @p deadline
 * (a full backlog answers EAGAIN: try again a little later). */
static int
connect_path(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		rc = -errno;
		if (rc != -EAGAIN && rc != -EINTR)
			break;
		if (session_now_ms() >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		nanosleep(&ts, NULL);
	}
	close(fd);
	return rc;
}

IOREGION_EXPORT int
ioregion_device_connect(struct ioregion_ctx *ctx, const char *path,
			const struct ioregion_device_config *cfg,
			struct ioregion_device **devp)
{
	int sock;

	if (devp)
		*devp = NULL;
	if (!ctx || !cfg || !devp)
		return -EINVAL;
	if (!path)
		path = secure_getenv(IOREGION_SESSION_ENV);
	if (!path || !*path)
		return -EDESTADDRREQ;
	sock = connect_path(path, session_deadline(cfg->timeout_ms ?
				cfg->timeout_ms :
				IOREGION_SESSION_TIMEOUT_MS_DEFAULT));
	if (sock < 0) {
		log_error(&ctx->log, "control session: connect %s: %s\n", path,
			  strerror(-sock));
		return sock;
	}
	return ioregion_device_attach(ctx, sock, cfg, devp);
}

IOREGION_EXPORT struct ioregion_region *
ioregion_device_get_region(struct ioregion_device *dev, unsigned int index)
{
	return dev && index < dev->nregions ? dev->regions[index] : NULL;
}

IOREGION_EXPORT struct ioregion_irq *
ioregion_device_get_irq(struct ioregion_device *dev, unsigned int index)
{
	return dev && index < dev->nlines ? dev->lines[index] : NULL;
}

IOREGION_EXPORT struct ioregion_mem *
ioregion_device_get_mem(struct ioregion_device *dev)
{
	return dev ? dev->mem : NULL;
}

IOREGION_EXPORT enum ioregion_wire_dialect
ioregion_device_get_dialect(struct ioregion_device *dev)
{
	return dev ? dev->dialect : IOREGION_WIRE_V3;
}

IOREGION_EXPORT int
ioregion_device_get_fd(struct ioregion_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->sock >= 0 ? dev->sock : -ENOTCONN;
}

IOREGION_EXPORT void *
ioregion_device_get_userdata(struct ioregion_device *dev)
{
	return dev ? dev->userdata : NULL;
}
