/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of the control session after the set-up: requests that the
 * device acknowledges (RESET, MEM_SLOT, MEM_REMOVE), SHUTDOWN, noticing
 * the device's end, the memory table kept for reconnects, getters and
 * teardown. No libev.
 */
#include "session-vmm-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioregion/irq.h"
#include "ioregion/kvm.h"

int
vmm_expect(struct ioregion_vmm_device *dev, int sock, int64_t deadline,
	   unsigned int type, struct session_msg *m)
{
	char want[16], got[16];
	int rc;

	rc = session_recv(sock, deadline, m, &dev->log);
	if (rc < 0)
		return rc;
	if (m->hdr.type == type)
		return 0;
	session_msg_close(m);
	if (m->hdr.type == IOREGION_SESSION_ERROR) {
		session_log_peer_error(&dev->log, m);
		return -ECONNREFUSED;
	}
	log_peer(&dev->log, "control session: device '%s' sent %s, expected "
		 "%s\n", dev->name,
		 session_type_name(m->hdr.type, got, sizeof(got)),
		 session_type_name(type, want, sizeof(want)));
	return -EPROTO;
}

void
vmm_close_session(struct ioregion_vmm_device *dev)
{
	if (dev->sock >= 0)
		close(dev->sock);
	dev->sock = -1;
}

int
vmm_accept_bounded(int listen_fd, unsigned int timeout_ms)
{
	int64_t deadline = session_deadline(timeout_ms);

	for (;;) {
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		int64_t left = deadline - session_now_ms();
		int sock, n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)MIN(left, 1000000));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (pfd.revents & POLLNVAL)
			return -EBADF;
		sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (sock >= 0)
			return sock;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			return -errno;
	}
}

/* Add a copy of @p slot and a duplicate of @p fd to the table, sorted by
 * gpa; checks what the device's table would refuse without looking. */
int
vmm_slot_insert(struct ioregion_vmm_device *dev,
		const struct ioregion_mem_slot *slot, int fd)
{
	unsigned int i;
	int dup;

	if (!slot || slot->size == 0 || (slot->flags & ~IOREGION_MEM_F_ALL) ||
	    slot->gpa + slot->size - 1 < slot->gpa ||
	    slot->offset + slot->size < slot->offset)
		return -EINVAL;
	if (dev->nslots >= IOREGION_MEM_SLOTS_MAX)
		return -ENOSPC;
	for (i = 0; i < dev->nslots; i++) {
		const struct ioregion_mem_slot *o = &dev->slots[i].slot;

		if (slot->gpa <= o->gpa + (o->size - 1) &&
		    o->gpa <= slot->gpa + (slot->size - 1))
			return -EEXIST;
	}
	if (fd < 0)
		return -EBADF;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	for (i = 0; i < dev->nslots && dev->slots[i].slot.gpa < slot->gpa; i++)
		;
	memmove(&dev->slots[i + 1], &dev->slots[i],
		sizeof(dev->slots[0]) * (dev->nslots - i));
	dev->slots[i].slot = *slot;
	dev->slots[i].fd = dup;
	dev->nslots++;
	return 0;
}

static int
slot_find(const struct ioregion_vmm_device *dev, uint64_t gpa)
{
	for (unsigned int i = 0; i < dev->nslots; i++)
		if (dev->slots[i].slot.gpa == gpa)
			return (int)i;
	return -ENOENT;
}

static void
slot_drop(struct ioregion_vmm_device *dev, unsigned int i)
{
	close(dev->slots[i].fd);
	memmove(&dev->slots[i], &dev->slots[i + 1],
		sizeof(dev->slots[0]) * (dev->nslots - i - 1));
	dev->nslots--;
}

void
vmm_free(struct ioregion_vmm_device *dev)
{
	for (unsigned int i = 0; i < dev->nregions; i++) {
		struct vmm_region *r = &dev->regions[i];

		if (r->in_kvm)
			(void)ioregion_kvm_unregister(dev->vm_fd, &r->desc);
		if (r->in_bridge)
			(void)ioregion_bridge_remove(dev->bridge, &r->desc);
		if (r->fd >= 0)
			close(r->fd);
		if (r->fallback_fd >= 0)
			close(r->fallback_fd);
	}
	for (unsigned int i = 0; i < dev->nlines; i++) {
		if (dev->lines[i].irqfd)
			(void)ioregion_irqfd_deassign(dev->vm_fd,
						      dev->lines[i].gsi,
						      dev->lines[i].fd);
		if (dev->lines[i].fd >= 0)
			close(dev->lines[i].fd);
		if (dev->lines[i].resample_fd >= 0)
			close(dev->lines[i].resample_fd);
	}
	for (unsigned int i = 0; i < dev->nslots; i++)
		close(dev->slots[i].fd);
	vmm_close_session(dev);
	ioregion_bridge_unref(dev->bridge);
	free(dev);
}

/* Send a request and wait (bounded) for its ACK. Any failure but the
 * device's own result closes the session: after a timeout a late answer
 * would be taken for the next request. */
static int
request(struct ioregion_vmm_device *dev, unsigned int type, const void *body,
	const int *fds, unsigned int nfds)
{
	int64_t deadline = session_deadline(dev->timeout_ms);
	struct session_msg m;
	int rc;

	if (dev->sock < 0)
		return -ENOTCONN;
	rc = session_send(dev->sock, deadline, type, body, fds, nfds);
	if (rc == 0)
		rc = vmm_expect(dev, dev->sock, deadline, IOREGION_SESSION_ACK,
				&m);
	if (rc == 0 && m.body.ack.type != type) {
		log_peer(&dev->log, "control session: device '%s' answered "
			 "another request\n", dev->name);
		rc = -EPROTO;
	}
	if (rc < 0) {
		log_error(&dev->log, "control session: device '%s': %s; "
			  "session closed\n", dev->name, strerror(-rc));
		vmm_close_session(dev);
		return rc;
	}
	return m.body.ack.result;
}

IOREGION_EXPORT int
ioregion_vmm_reset(struct ioregion_vmm_device *dev)
{
	struct ioregion_session_empty e = { { 0 } };

	if (!dev)
		return -EINVAL;
	return request(dev, IOREGION_SESSION_RESET, &e, NULL, 0);
}

static bool
has_memory(const struct ioregion_vmm_device *dev)
{
	return dev->memory;
}

IOREGION_EXPORT int
ioregion_vmm_mem_add(struct ioregion_vmm_device *dev,
		     const struct ioregion_mem_slot *slot, int fd)
{
	struct ioregion_session_mem_slot b;
	int rc, i;

	if (!dev || !slot)
		return -EINVAL;
	rc = vmm_slot_insert(dev, slot, fd);
	if (rc < 0 || !has_memory(dev))
		return rc;
	b = (struct ioregion_session_mem_slot){
		.gpa = slot->gpa, .size = slot->size, .offset = slot->offset,
		.flags = slot->flags,
	};
	i = slot_find(dev, slot->gpa);
	rc = request(dev, IOREGION_SESSION_MEM_SLOT, &b, &dev->slots[i].fd, 1);
	if (rc < 0)
		slot_drop(dev, (unsigned int)i);
	return rc;
}

IOREGION_EXPORT int
ioregion_vmm_mem_remove(struct ioregion_vmm_device *dev, uint64_t gpa)
{
	struct ioregion_session_mem_remove b = { .gpa = gpa };
	int i;

	if (!dev)
		return -EINVAL;
	i = slot_find(dev, gpa);
	if (i < 0)
		return i;
	slot_drop(dev, (unsigned int)i);
	if (!has_memory(dev))
		return 0;
	return request(dev, IOREGION_SESSION_MEM_REMOVE, &b, NULL, 0);
}

IOREGION_EXPORT int
ioregion_vmm_shutdown(struct ioregion_vmm_device *dev)
{
	struct ioregion_session_empty e = { { 0 } };
	int rc;

	if (!dev)
		return -EINVAL;
	if (dev->sock < 0)
		return -ENOTCONN;
	rc = session_send(dev->sock, session_deadline(dev->timeout_ms),
			  IOREGION_SESSION_SHUTDOWN, &e, NULL, 0);
	vmm_close_session(dev);
	return rc;
}

IOREGION_EXPORT int
ioregion_vmm_check(struct ioregion_vmm_device *dev)
{
	struct session_msg m;
	int rc;

	if (!dev)
		return -EINVAL;
	if (dev->sock < 0)
		return -ENOTCONN;
	rc = session_recv(dev->sock, -1, &m, &dev->log);
	if (rc == -EAGAIN)
		return 0;
	if (rc == 0) {
		session_msg_close(&m);
		if (m.hdr.type == IOREGION_SESSION_ERROR) {
			session_log_peer_error(&dev->log, &m);
			rc = -ECONNREFUSED;
		} else {
			log_peer(&dev->log, "control session: device '%s' "
				 "sent a message nobody asked for\n",
				 dev->name);
			rc = -EPROTO;
		}
	}
	if (rc == -ECONNRESET)
		log_info(&dev->log, "control session: device '%s' hung up\n",
			 dev->name);
	vmm_close_session(dev);
	return rc;
}

IOREGION_EXPORT int
ioregion_vmm_get_fd(struct ioregion_vmm_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->sock >= 0 ? dev->sock : -ENOTCONN;
}

IOREGION_EXPORT const char *
ioregion_vmm_get_name(struct ioregion_vmm_device *dev)
{
	return dev ? dev->name : "";
}

IOREGION_EXPORT int
ioregion_vmm_is_fast_path(struct ioregion_vmm_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->fast ? 1 : 0;
}

IOREGION_EXPORT int
ioregion_vmm_keeps_state(struct ioregion_vmm_device *dev)
{
	if (!dev)
		return -EINVAL;
	return (dev->hello_flags & IOREGION_SESSION_HELLO_F_KEEPS_STATE) ? 1 : 0;
}

IOREGION_EXPORT int
ioregion_vmm_get_dialect(struct ioregion_vmm_device *dev)
{
	return dev ? (int)dev->dialect : -EINVAL;
}

IOREGION_EXPORT unsigned int
ioregion_vmm_get_nregions(struct ioregion_vmm_device *dev)
{
	return dev ? dev->nregions : 0;
}

IOREGION_EXPORT int
ioregion_vmm_get_region(struct ioregion_vmm_device *dev, unsigned int index,
			struct ioregion_desc *desc, const char **name)
{
	if (!dev || !desc)
		return -EINVAL;
	if (index >= dev->nregions)
		return -ENOENT;
	*desc = dev->regions[index].desc;
	if (name)
		*name = dev->regions[index].name;
	return 0;
}

IOREGION_EXPORT void
ioregion_vmm_destroy(struct ioregion_vmm_device *dev)
{
	if (dev)
		vmm_free(dev);
}
