/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the control session, set-up: HELLO, WELCOME, the
 * regions and their registration (KVM and the bridge), the lines, the
 * memory, READY and its ACK; and the same again for a restarted device
 * (reconnect), which replaces the channels of regions already in place.
 * Protocol in ioregion/session.h. No libev.
 */
#include "session-vmm-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ioregion/handoff.h"
#include "ioregion/irq.h"
#include "ioregion/kvm.h"
#include "ioregion/wire.h"

/* Give up on the set-up: log why, tell the peer (ERROR), return @p rc. */
static int __attribute__((format(printf, 4, 5)))
refuse(struct ioregion_vmm_device *dev, int sock, int rc, const char *fmt, ...)
{
	char reason[IOREGION_SESSION_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_error(&dev->log, "control session: device '%s' refused: %s (%s)\n",
		  dev->name, reason, strerror(-rc));
	session_send_error(sock, -rc, "%s", reason);
	return rc;
}

/* A receive failed: tell the peer, unless it is the one who left. */
static int
recv_failed(int sock, int rc)
{
	if (rc != -ECONNRESET && rc != -ECONNREFUSED)
		session_send_error(sock, -rc, "the VMM could not use a message");
	return rc;
}

static bool
same_lines(const struct ioregion_vmm_device *dev,
	   const struct ioregion_session_hello *h)
{
	if (h->nlines != dev->nlines)
		return false;
	for (unsigned int i = 0; i < h->nlines; i++)
		if (h->lines[i].trigger != dev->lines[i].trigger ||
		    strcmp(h->lines[i].name, dev->lines[i].name))
			return false;
	return true;
}

static int
take_hello(struct ioregion_vmm_device *dev, int sock, int64_t deadline,
	   bool reattach)
{
	struct session_msg m;
	const struct ioregion_session_hello *h = &m.body.hello;
	int rc;

	rc = vmm_expect(dev, sock, deadline, IOREGION_SESSION_HELLO, &m);
	if (rc < 0)
		return recv_failed(sock, rc);
	if (reattach) {
		if (strcmp(h->name, dev->name) || h->flags != dev->hello_flags ||
		    !same_lines(dev, h))
			return refuse(dev, sock, -EPROTO,
				      "not the device that was attached "
				      "(name, lines or flags differ)");
		return 0;
	}
	memcpy(dev->name, h->name, sizeof(dev->name));
	dev->hello_flags = h->flags;
	if (h->nlines && !dev->get_line && h->nlines > dev->ngsis)
		return refuse(dev, sock, -ENXIO, "this VMM gives %u interrupt "
			      "lines, not %u", dev->ngsis, h->nlines);
	dev->memory = h->flags & IOREGION_SESSION_HELLO_F_MEMORY;
	if (dev->memory && dev->grant_memory) {
		rc = dev->grant_memory(dev->data, dev->name);
		if (rc < 0)
			return refuse(dev, sock, rc, "no memory for this device");
		dev->memory = rc > 0;
	}
	for (unsigned int i = 0; i < h->nlines; i++) {
		struct vmm_line *l = &dev->lines[i];

		l->trigger = h->lines[i].trigger;
		memcpy(l->name, h->lines[i].name, sizeof(l->name));
		l->fd = l->resample_fd = -1;
	}
	dev->nlines = h->nlines;
	return 0;
}

/* Decide the path and the dialect: only the VMM knows the kernel. */
static int
choose_path(struct ioregion_vmm_device *dev, uint32_t cfg_dialect,
	    bool want_fallback)
{
	enum ioregion_wire_dialect kd = IOREGION_WIRE_V3;
	int rc;

	dev->fast = false;
	dev->dialect = cfg_dialect ? cfg_dialect : IOREGION_WIRE_V3;
	if (dev->vm_fd >= 0 && !dev->bridge_only) {
		if (cfg_dialect) {
			rc = 1;
		} else {
			rc = ioregion_kvm_probe_dialect(dev->vm_fd, &kd);
			if (rc < 0) {
				log_error(&dev->log, "control session: the "
					  "KVM_SET_IOREGION probe failed: %s\n",
					  strerror(-rc));
				return rc;
			}
			dev->dialect = kd;
		}
		dev->fast = rc > 0;
	}
	dev->fallback = dev->fast || want_fallback;
	return 0;
}

/* Receive the REGION messages and REGIONS_DONE into @p r. */
static int
take_regions(struct ioregion_vmm_device *dev, int sock, int64_t deadline,
	     struct vmm_region *r, unsigned int *nr)
{
	unsigned int want_fds = dev->fallback ? 2 : 1;
	struct session_msg m;
	int rc;

	*nr = 0;
	for (;;) {
		rc = session_recv(sock, deadline, &m, &dev->log);
		if (rc < 0)
			return recv_failed(sock, rc);
		if (m.hdr.type == IOREGION_SESSION_REGIONS_DONE)
			break;
		if (m.hdr.type != IOREGION_SESSION_REGION) {
			session_msg_close(&m);
			if (m.hdr.type == IOREGION_SESSION_ERROR) {
				session_log_peer_error(&dev->log, &m);
				return -ECONNREFUSED;
			}
			return refuse(dev, sock, -EPROTO,
				      "expected REGION or REGIONS_DONE");
		}
		if (*nr >= IOREGION_SESSION_REGIONS_MAX || m.nfds != want_fds ||
		    m.body.region.dialect != dev->dialect) {
			unsigned int got = m.nfds;

			session_msg_close(&m);
			if (*nr >= IOREGION_SESSION_REGIONS_MAX)
				return refuse(dev, sock, -EPROTO,
					      "more than %u regions",
					      IOREGION_SESSION_REGIONS_MAX);
			if (got != want_fds)
				return refuse(dev, sock, -EPROTO,
					      "a region with %u fds, not %u",
					      got, want_fds);
			return refuse(dev, sock, -EPROTO,
				      "a region in wire dialect %u, not %u",
				      m.body.region.dialect, dev->dialect);
		}
		r[*nr] = (struct vmm_region){
			.desc = {
				.addr = m.body.region.addr,
				.size = m.body.region.size,
				.user_data = m.body.region.user_data,
				.flags = m.body.region.flags,
				.dialect = m.body.region.dialect,
			},
			.fd = m.fds[0],
			.fallback_fd = m.nfds == 2 ? m.fds[1] : -1,
		};
		memcpy(r[*nr].name, m.body.region.name, sizeof(r[*nr].name));
		(*nr)++;
	}
	if (m.body.regions_done.nregions != *nr)
		return refuse(dev, sock, -EPROTO,
			      "REGIONS_DONE counts %u regions, %u came",
			      m.body.regions_done.nregions, *nr);
	return 0;
}

static void
close_regions(struct vmm_region *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (r[i].fd >= 0)
			close(r[i].fd);
		if (r[i].fallback_fd >= 0)
			close(r[i].fallback_fd);
		r[i].fd = r[i].fallback_fd = -1;
	}
}

static int
bridge_fd(const struct ioregion_vmm_device *dev, const struct vmm_region *r)
{
	return dev->fallback ? r->fallback_fd : r->fd;
}

/* First attach: the regions go into the table of @p dev (so that a
 * failure's vmm_free() undoes what was registered), then to the bridge
 * and, on the fast path, to KVM. */
static int
register_regions(struct ioregion_vmm_device *dev, int sock,
		 struct vmm_region *r, unsigned int nr)
{
	int rc;

	memcpy(dev->regions, r, sizeof(*r) * nr);
	dev->nregions = nr;
	for (unsigned int i = 0; i < nr; i++) {
		struct vmm_region *g = &dev->regions[i];

		rc = ioregion_bridge_add(dev->bridge, &g->desc,
					 bridge_fd(dev, g));
		if (rc < 0)
			return refuse(dev, sock, rc,
				      "region '%s' at 0x%" PRIx64
				      ": bridge refused it", g->name,
				      g->desc.addr);
		g->in_bridge = true;
		if (!dev->fast)
			continue;
		rc = ioregion_kvm_register_timeout(dev->vm_fd, &g->desc, g->fd,
						   dev->kvm_timeout_ms);
		if (rc < 0)
			return refuse(dev, sock, rc,
				      "region '%s' at 0x%" PRIx64
				      ": KVM refused it", g->name,
				      g->desc.addr);
		g->in_kvm = true;
	}
	return 0;
}

/* Reconnect: the same regions, new channels. The bridge first, so that
 * an access exiting between KVM's unregister and register finds the new
 * fallback channel. */
static int
replace_regions(struct ioregion_vmm_device *dev, int sock,
		struct vmm_region *r, unsigned int nr)
{
	int rc;

	if (nr != dev->nregions)
		return refuse(dev, sock, -EPROTO, "%u regions, %u before", nr,
			      dev->nregions);
	for (unsigned int i = 0; i < nr; i++) {
		const struct ioregion_desc *o = &dev->regions[i].desc;

		if (r[i].desc.addr != o->addr || r[i].desc.size != o->size ||
		    (r[i].desc.flags & IOREGION_F_PIO) !=
		    (o->flags & IOREGION_F_PIO))
			return refuse(dev, sock, -EPROTO,
				      "region %u is not the one before", i);
	}
	for (unsigned int i = 0; i < nr; i++) {
		struct vmm_region *g = &dev->regions[i];

		rc = ioregion_bridge_replace_fd(dev->bridge, &r[i].desc,
						bridge_fd(dev, &r[i]));
		if (rc < 0)
			return refuse(dev, sock, rc, "region '%s': the bridge "
				      "refused the new channel", g->name);
		if (dev->fast) {
			if (g->in_kvm)
				(void)ioregion_kvm_unregister(dev->vm_fd,
							      &g->desc);
			g->in_kvm = false;
			rc = ioregion_kvm_register_timeout(dev->vm_fd,
							   &r[i].desc, r[i].fd,
							   dev->kvm_timeout_ms);
			if (rc < 0) {
				/* The bridge serves it meanwhile. */
				g->desc = r[i].desc;
				return refuse(dev, sock, rc, "region '%s': KVM "
					      "refused the new channel",
					      g->name);
			}
			g->in_kvm = true;
		}
		g->desc = r[i].desc;
		close_regions(g, 1);
		g->fd = r[i].fd;
		g->fallback_fd = r[i].fallback_fd;
		r[i].fd = r[i].fallback_fd = -1;
		memcpy(g->name, r[i].name, sizeof(g->name));
	}
	return 0;
}

/* The session's own lines: eventfds registered for the VMM's GSIs. */
static int
assign_line(struct ioregion_vmm_device *dev, int sock, unsigned int i)
{
	struct vmm_line *l = &dev->lines[i];
	bool level = l->trigger == IOREGION_LINE_LEVEL;
	int rc;

	l->gsi = dev->gsis[i];
	rc = ioregion_irqfd_assign(dev->vm_fd, l->gsi,
				   level ? IOREGION_IRQ_LEVEL : 0, &l->fd,
				   &l->resample_fd);
	if (rc < 0)
		return refuse(dev, sock, rc, "KVM_IRQFD for line '%s' (GSI "
			      "%u)", l->name, l->gsi);
	l->irqfd = true;
	return 0;
}

/* Ask the VMM for the eventfds of every line (first attach only). */
static int
get_lines(struct ioregion_vmm_device *dev, int sock)
{
	for (unsigned int i = 0; i < dev->nlines; i++) {
		struct vmm_line *l = &dev->lines[i];
		struct ioregion_vmm_line got = { .fd = -1, .resample_fd = -1 };
		int rc;

		if (!dev->get_line) {
			rc = assign_line(dev, sock, i);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = dev->get_line(dev->data, dev->name, i, l->name,
				   l->trigger, &got);
		if (rc < 0)
			return refuse(dev, sock, rc,
				      "the VMM has no line '%s'", l->name);
		if (fcntl(got.fd, F_GETFD) < 0 ||
		    (l->trigger == IOREGION_LINE_LEVEL &&
		     fcntl(got.resample_fd, F_GETFD) < 0))
			return refuse(dev, sock, -EBADF,
				      "the VMM gave line '%s' no eventfd",
				      l->name);
		/* What the device's ioregion_irq_new() takes. */
		if (!fd_is_nonblocking_eventfd(got.fd) ||
		    (l->trigger == IOREGION_LINE_LEVEL &&
		     !fd_is_nonblocking_eventfd(got.resample_fd)))
			return refuse(dev, sock, -EINVAL, "the VMM's eventfds "
				      "for line '%s' are not non-blocking "
				      "eventfds", l->name);
		l->gsi = got.gsi;
		l->fd = fcntl(got.fd, F_DUPFD_CLOEXEC, 0);
		if (l->fd < 0)
			return refuse(dev, sock, -errno, "line '%s'", l->name);
		if (l->trigger == IOREGION_LINE_LEVEL) {
			l->resample_fd = fcntl(got.resample_fd,
					       F_DUPFD_CLOEXEC, 0);
			if (l->resample_fd < 0)
				return refuse(dev, sock, -errno, "line '%s'",
					      l->name);
		}
	}
	return 0;
}

/* The lines, the memory, READY, and the device's ACK of it. */
static int
send_rest(struct ioregion_vmm_device *dev, int sock, int64_t deadline)
{
	struct ioregion_session_ready ready = { .nlines = dev->nlines };
	struct session_msg m;
	int rc;

	for (unsigned int i = 0; i < dev->nlines; i++) {
		const struct vmm_line *l = &dev->lines[i];
		struct ioregion_session_irq q = {
			.index = i, .trigger = l->trigger, .gsi = l->gsi,
		};
		int fds[2] = { l->fd, l->resample_fd };

		rc = session_send(sock, deadline, IOREGION_SESSION_IRQ, &q, fds,
				  l->trigger == IOREGION_LINE_LEVEL ? 2 : 1);
		if (rc < 0)
			return rc;
	}
	if (dev->memory) {
		for (unsigned int i = 0; i < dev->nslots; i++) {
			const struct vmm_slot *s = &dev->slots[i];
			struct ioregion_session_mem_slot b = {
				.gpa = s->slot.gpa, .size = s->slot.size,
				.offset = s->slot.offset, .flags = s->slot.flags,
			};

			rc = session_send(sock, deadline,
					  IOREGION_SESSION_MEM_SLOT, &b, &s->fd,
					  1);
			if (rc < 0)
				return rc;
		}
		ready.nslots = dev->nslots;
	}
	rc = session_send(sock, deadline, IOREGION_SESSION_READY, &ready, NULL,
			  0);
	if (rc < 0)
		return rc;
	rc = vmm_expect(dev, sock, deadline, IOREGION_SESSION_ACK, &m);
	if (rc < 0)
		return recv_failed(sock, rc);
	if (m.body.ack.type != IOREGION_SESSION_READY)
		return refuse(dev, sock, -EPROTO, "expected the ACK of READY");
	if (m.body.ack.result < 0)
		return refuse(dev, sock, m.body.ack.result,
			      "the device could not start");
	return 0;
}

/* Everything after the checks of the socket: both attach and reattach. */
static int
run_setup(struct ioregion_vmm_device *dev, int sock, bool reattach,
	  uint32_t cfg_dialect, bool want_fallback)
{
	int64_t deadline = session_deadline(dev->timeout_ms);
	struct vmm_region r[IOREGION_SESSION_REGIONS_MAX];
	struct ioregion_session_welcome w = { 0 };
	unsigned int nr = 0;
	int rc;

	rc = ioregion_handoff_check_peer(sock, dev->peer_uid);
	if (rc < 0) {
		log_error(&dev->log, "control session: refusing a peer: %s\n",
			  strerror(-rc));
		return rc;
	}
	rc = take_hello(dev, sock, deadline, reattach);
	if (rc < 0)
		return rc;
	if (!reattach) {
		rc = choose_path(dev, cfg_dialect, want_fallback);
		if (rc < 0)
			return refuse(dev, sock, rc, "KVM probe failed");
	}
	w.dialect = dev->dialect;
	w.flags = dev->fallback ? IOREGION_SESSION_WELCOME_F_FALLBACK : 0;
	rc = session_send(sock, deadline, IOREGION_SESSION_WELCOME, &w, NULL, 0);
	if (rc < 0)
		return rc;
	rc = take_regions(dev, sock, deadline, r, &nr);
	if (rc < 0)
		goto out;
	if (reattach) {
		rc = replace_regions(dev, sock, r, nr);
	} else {
		rc = register_regions(dev, sock, r, nr);
		nr = 0;		/* dev owns them now, even on failure */
		if (rc == 0)
			rc = get_lines(dev, sock);
	}
	if (rc == 0)
		rc = send_rest(dev, sock, deadline);
	if (rc == 0)
		log_info(&dev->log, "control session: device '%s' %s: %u "
			 "regions (%s), %u lines, %u memory slots\n", dev->name,
			 reattach ? "re-attached" : "attached", dev->nregions,
			 dev->fast ? "KVM and the bridge" : "the bridge",
			 dev->nlines,
			 dev->memory ? dev->nslots : 0);
out:
	close_regions(r, nr);
	return rc;
}

static int
check_config(const struct ioregion_vmm_config *cfg)
{
	static const uint64_t zero[4];

	if (!cfg->bridge || (cfg->flags & ~IOREGION_VMM_F_ALL) ||
	    memcmp(cfg->reserved, zero, sizeof(zero)) ||
	    cfg->nslots > IOREGION_MEM_SLOTS_MAX ||
	    (cfg->nslots && !cfg->slots))
		return -EINVAL;
	if (cfg->dialect && !ioregion_wire_dialect_valid((int)cfg->dialect))
		return -EINVAL;
	if ((cfg->ngsis && (!cfg->gsis || cfg->get_line || cfg->vm_fd < 0)) ||
	    cfg->ngsis > IOREGION_SESSION_LINES_MAX)
		return -EINVAL;
	return 0;
}

IOREGION_EXPORT int
ioregion_vmm_attach(int sock, const struct ioregion_vmm_config *cfg,
		    struct ioregion_vmm_device **devp)
{
	struct ioregion_vmm_device *dev;
	int rc;

	if (devp)
		*devp = NULL;
	if (!cfg || !devp || check_config(cfg) < 0) {
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
	dev->sock = -1;
	log_init(&dev->log);
	if (cfg->log_handler) {
		dev->log.handler = cfg->log_handler;
		dev->log.data = cfg->log_data;
	}
	if (cfg->log_priority)
		dev->log.priority = cfg->log_priority;
	dev->bridge = ioregion_bridge_ref(cfg->bridge);
	dev->vm_fd = cfg->vm_fd;
	dev->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms :
			  IOREGION_SESSION_TIMEOUT_MS_DEFAULT;
	dev->kvm_timeout_ms = cfg->kvm_timeout_ms ? cfg->kvm_timeout_ms :
			      IOREGION_KVM_TIMEOUT_MS_DEFAULT;
	dev->peer_uid = (cfg->flags & IOREGION_VMM_F_PEER_UID) ?
			cfg->peer_uid : geteuid();
	dev->bridge_only = cfg->flags & IOREGION_VMM_F_BRIDGE_ONLY;
	dev->get_line = cfg->get_line;
	dev->grant_memory = cfg->grant_memory;
	dev->data = cfg->data;
	dev->ngsis = cfg->ngsis;
	if (cfg->ngsis)
		memcpy(dev->gsis, cfg->gsis, sizeof(uint32_t) * cfg->ngsis);
	for (unsigned int i = 0; i < cfg->nslots; i++) {
		rc = vmm_slot_insert(dev, &cfg->slots[i].slot,
				     cfg->slots[i].fd);
		if (rc < 0)
			goto fail_dev;
	}
	rc = run_setup(dev, sock, false, cfg->dialect,
		       cfg->flags & IOREGION_VMM_F_FALLBACK);
	if (rc < 0)
		goto fail_dev;
	dev->sock = sock;
	*devp = dev;
	return 0;

fail_dev:
	vmm_free(dev);
fail_sock:
	if (sock >= 0)
		close(sock);
	return rc;
}

IOREGION_EXPORT int
ioregion_vmm_accept(int listen_fd, const struct ioregion_vmm_config *cfg,
		    struct ioregion_vmm_device **devp)
{
	int sock;

	if (devp)
		*devp = NULL;
	if (!cfg || !devp)
		return -EINVAL;
	sock = vmm_accept_bounded(listen_fd, cfg->timeout_ms ?
				  cfg->timeout_ms :
				  IOREGION_SESSION_TIMEOUT_MS_DEFAULT);
	if (sock < 0)
		return sock;
	return ioregion_vmm_attach(sock, cfg, devp);
}

IOREGION_EXPORT int
ioregion_vmm_reattach(struct ioregion_vmm_device *dev, int sock)
{
	int rc;

	if (!dev) {
		rc = -EINVAL;
		goto fail;
	}
	vmm_close_session(dev);
	rc = session_check_socket(sock);
	if (rc < 0)
		goto fail;
	rc = run_setup(dev, sock, true, 0, false);
	if (rc < 0)
		goto fail;
	dev->sock = sock;
	return 0;

fail:
	if (sock >= 0)
		close(sock);
	return rc;
}

IOREGION_EXPORT int
ioregion_vmm_reaccept(struct ioregion_vmm_device *dev, int listen_fd)
{
	int sock;

	if (!dev)
		return -EINVAL;
	sock = vmm_accept_bounded(listen_fd, dev->timeout_ms);
	if (sock < 0)
		return sock;
	return ioregion_vmm_reattach(dev, sock);
}
