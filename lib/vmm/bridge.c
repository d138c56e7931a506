/* SPDX-License-Identifier: MIT */
/*
 * The bridge: the kernel's half of the ioregionfd protocol, in the VMM
 * (DESIGN section 7). No libev.
 *
 * Table: two sorted arrays of region pointers (MMIO, PIO), looked up by
 * binary search under a read lock; add/remove/replace take the write lock.
 * A doorbell (size 0) occupies its single address: it matches writes that
 * start there, and it overlaps any region that contains that address.
 *
 * Channels: one per open file (identified by st_dev/st_ino of the fd), each
 * with the bridge's own F_DUPFD_CLOEXEC duplicate and a mutex that
 * serializes accesses as the kernel serializes them per fd. A channel that
 * timed out, hung up or sent a malformed response is marked failed: a late
 * answer would be taken for the next one, so every later access on it
 * returns -ENOTCONN until its regions get a new fd (replace_fd). Before a
 * command that expects an answer the fd must be empty (check_idle): data
 * already there is an answer nobody asked for and fails the channel too.
 *
 * Lock order: table rwlock (read) -> channel mutex -> log mutex. The read
 * lock is held for the whole access, so a writer waits at most one timeout.
 *
 * I/O: sockets are driven with MSG_DONTWAIT and poll(), so the fd may be
 * blocking or not (O_NONBLOCK is shared with the caller's fd and may change
 * at any time); other fds are polled before each read/write. Every wait is
 * bounded by the access's deadline. No allocation on the access path.
 *
 * Values: kvm_run carries guest memory bytes; the guest is x86, so the low
 * size bytes of a value are its first bytes (little-endian).
 */
#include "ioregion-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "ioregion/bridge.h"
#include "ioregion/wire.h"

#define DEFAULT_TIMEOUT_MS 1000u
/* The PIO data area of kvm_run is one page (KVM_PIO_PAGE_OFFSET). */
#define PIO_DATA_MAX 4096u

struct chan {
	struct chan *next;
	int fd;			/* the bridge's own duplicate */
	dev_t dev;
	ino_t ino;
	bool is_socket;
	bool is_message;	/* SEQPACKET/DGRAM: one response per packet */
	unsigned int refs;	/* regions using it; under the write lock */
	pthread_mutex_t lock;	/* serializes accesses; protects failed */
	bool failed;
};

struct region {
	struct ioregion_desc desc;
	uint64_t end;		/* exclusive; addr + 1 for a doorbell */
	struct chan *chan;
	/* updated with relaxed atomics: readers hold only the read lock */
	struct ioregion_bridge_stats stats;
};

struct space {
	struct region **v;	/* sorted by desc.addr, non-overlapping */
	size_t n, cap;
};

struct ioregion_bridge {
	unsigned int refcount;
	unsigned int timeout_ms;	/* atomic */
	uint64_t poll_ns;		/* atomic; adaptive polling, 0 = off */
	pthread_rwlock_t table_lock;
	struct space mmio, pio;
	struct chan *chans;
	pthread_mutex_t log_lock;	/* log_peer keeps rate-limit state */
	struct ioregion_log log;
};

/* ---- helpers ---------------------------------------------------------- */

static uint64_t
bytes_to_val(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
val_to_bytes(uint8_t *p, unsigned size, uint64_t v)
{
	unsigned i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool
valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static struct space *
space_of(struct ioregion_bridge *bridge, bool pio)
{
	return pio ? &bridge->pio : &bridge->mmio;
}

static uint64_t
region_end(const struct ioregion_desc *desc)
{
	return desc->size ? desc->addr + desc->size : desc->addr + 1;
}

/* Index of the first region whose start is > addr. */
static size_t
upper_bound(const struct space *sp, uint64_t addr)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->v[mid]->desc.addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The region containing addr, or NULL. No allocation. */
static struct region *
lookup(const struct space *sp, uint64_t addr)
{
	size_t i = upper_bound(sp, addr);
	struct region *r;

	if (i == 0)
		return NULL;
	r = sp->v[i - 1];
	return addr < r->end ? r : NULL;
}

/* Index of the region with exactly this start, size and space, or -1. */
static ssize_t
find_exact(const struct space *sp, const struct ioregion_desc *desc)
{
	size_t i = upper_bound(sp, desc->addr);

	if (i == 0)
		return -1;
	i--;
	if (sp->v[i]->desc.addr != desc->addr ||
	    sp->v[i]->desc.size != desc->size)
		return -1;
	return (ssize_t)i;
}

static void
bridge_log_peer(struct ioregion_bridge *bridge, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
bridge_log_peer(struct ioregion_bridge *bridge, const char *fmt, ...)
{
	char msg[256];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	pthread_mutex_lock(&bridge->log_lock);
	log_peer(&bridge->log, "%s", msg);
	pthread_mutex_unlock(&bridge->log_lock);
}

/* ---- channels ---------------------------------------------------------- */

static void
chan_put(struct ioregion_bridge *bridge, struct chan *c)
{
	struct chan **pp;

	if (--c->refs > 0)
		return;
	for (pp = &bridge->chans; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Find the channel of fd's open file, or create one with a duplicate of
 * fd; called under the write lock. Takes a reference. */
static int
chan_get(struct ioregion_bridge *bridge, int fd, struct chan **out)
{
	struct stat st;
	struct chan *c;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	for (c = bridge->chans; c; c = c->next) {
		if (c->dev == st.st_dev && c->ino == st.st_ino) {
			c->refs++;
			*out = c;
			return 0;
		}
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->fd < 0) {
		int err = errno == EBADF ? -EBADF : -errno;

		free(c);
		return err;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (getsockopt(c->fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
		c->is_socket = true;
		c->is_message = type == SOCK_SEQPACKET || type == SOCK_DGRAM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->refs = 1;
	c->next = bridge->chans;
	bridge->chans = c;
	*out = c;
	return 0;
}

/* ---- I/O with a deadline ------------------------------------------------ */

/* Wait for @p events until @p deadline (ns). 0 ready, -ETIMEDOUT, or
 * -ECONNRESET when the fd reports an error without the wanted event. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		uint64_t now = now_ns();
		int ms, rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		/* clamp: a huge timeout must not turn into poll()'s -1 */
		ms = (int)MIN((deadline - now + 999999) / 1000000,
			      (uint64_t)INT_MAX);
		rc = poll(&pfd, 1, ms);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -ECONNRESET;
		}
		if (rc == 0)
			continue;	/* the loop head decides */
		if (pfd.revents & (events | POLLHUP | POLLERR))
			return 0;	/* let the read/write tell */
		if (pfd.revents & POLLNVAL)
			return -ECONNRESET;
	}
}

static int
send_cmd(struct chan *c, const uint8_t *buf, uint64_t deadline)
{
	size_t done = 0;

	while (done < IOREGION_WIRE_MSG_SIZE) {
		ssize_t n;
		int rc;

		if (c->is_socket) {
			n = send(c->fd, buf + done,
				 IOREGION_WIRE_MSG_SIZE - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			n = write(c->fd, buf + done,
				  IOREGION_WIRE_MSG_SIZE - done);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rc = wait_fd(c->fd, POLLOUT, deadline);
				if (rc < 0)
					return rc;
				continue;
			}
			return -ECONNRESET;
		}
		if (c->is_message && n != IOREGION_WIRE_MSG_SIZE)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Before a command that expects an answer, nothing may be waiting in the
 * fd. The wire has no request id: an answer nobody asked for (a buggy or
 * hostile device, or the bytes after a too-long answer on a stream) would
 * be taken for this command's, and every later answer would be one behind,
 * silently. One non-blocking peek finds it: -EBADMSG (the caller marks the
 * fd failed). EOF seen here is -ECONNRESET before anything is sent. Posted
 * writes skip this (they read nothing); the next read finds what came in
 * meanwhile. Data that arrives between this check and the answer cannot
 * be told apart from the answer: only the device can cause that.
 */
static int
check_idle(struct chan *c)
{
	uint8_t b;
	ssize_t n;

	if (!c->is_socket) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN))
			return -EBADMSG;
		return 0;	/* a hang-up shows in the send or receive */
	}
	for (;;) {
		n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n > 0)
			return -EBADMSG;
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -ECONNRESET;
	}
}

/*
 * Until @p spin_until (adaptive polling) the socket is retried without
 * sleeping; after it, each try first waits in poll() up to @p deadline.
 */
static int
recv_resp(struct chan *c, uint8_t *buf, uint64_t deadline, uint64_t spin_until)
{
	size_t got = 0;

	while (got < IOREGION_WIRE_MSG_SIZE) {
		ssize_t n;
		int rc;

		/* Spin only where the try cannot block: sockets are read
		 * with MSG_DONTWAIT, a pipe's read() may be blocking. */
		if (spin_until && c->is_socket && now_ns() < spin_until) {
			cpu_relax();
		} else {
			rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc < 0)
				return rc;
		}
		if (c->is_message)
			/* MSG_TRUNC: the packet's real length */
			n = recv(c->fd, buf, IOREGION_WIRE_MSG_SIZE,
				 MSG_DONTWAIT | MSG_TRUNC);
		else if (c->is_socket)
			n = recv(c->fd, buf + got,
				 IOREGION_WIRE_MSG_SIZE - got, MSG_DONTWAIT);
		else
			n = read(c->fd, buf + got,
				 IOREGION_WIRE_MSG_SIZE - got);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -ECONNRESET;
		}
		if (n == 0)
			return -ECONNRESET;
		if (c->is_message)
			return n == IOREGION_WIRE_MSG_SIZE ? 0 : -EBADMSG;
		got += (size_t)n;
	}
	return 0;
}

/* ---- the access path ------------------------------------------------------ */

static const char *
space_name(bool pio)
{
	return pio ? "pio" : "mmio";
}

static void
stat_inc(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/*
 * One access, with the read lock held. Returns 1, 0 (not ours) or a
 * negative errno; *val is the value read (all-ones on error).
 */
static int
access_locked(struct ioregion_bridge *bridge, bool pio, uint64_t addr,
	      bool is_write, unsigned size, uint64_t *val)
{
	struct ioregion_wire_cmd cmd;
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];
	struct region *r;
	struct chan *c;
	uint64_t deadline;
	const char *why = NULL;
	int rc;

	r = lookup(space_of(bridge, pio), addr);
	if (!r)
		return 0;
	if (r->desc.size == 0) {
		/* A doorbell: writes at its address only, as ioeventfd. */
		if (!is_write || addr != r->desc.addr)
			return 0;
	} else if (addr + size > r->end || addr + size < addr) {
		return 0;	/* straddles the end: not an access of ours */
	} else if (!valid_size(size)) {
		if (!is_write)
			*val = ~0ull;
		stat_inc(&r->stats.errors);
		bridge_log_peer(bridge, "%s access of %u bytes at 0x%llx "
				"cannot be sent\n", space_name(pio), size,
				(unsigned long long)addr);
		return -EOPNOTSUPP;
	}

	memset(&cmd, 0, sizeof(cmd));
	cmd.user_data = r->desc.user_data;
	if (r->desc.size == 0) {
		cmd.cmd = IOREGION_CMD_WRITE;
		cmd.size = 1;
		cmd.resp = false;
		cmd.offset = 0;
		cmd.data = 0;
	} else {
		cmd.cmd = is_write ? IOREGION_CMD_WRITE : IOREGION_CMD_READ;
		cmd.size = (uint8_t)size;
		cmd.resp = !is_write ||
			   !(r->desc.flags & IOREGION_F_POSTED_WRITES);
		cmd.offset = addr - r->desc.addr;
		cmd.data = is_write ? *val : 0;
	}
	rc = ioregion_wire_encode_cmd((int)r->desc.dialect, &cmd, buf);
	if (rc < 0)
		return rc;	/* cannot happen: desc and size were checked */

	c = r->chan;
	pthread_mutex_lock(&c->lock);
	if (c->failed) {
		rc = -ENOTCONN;
	} else {
		deadline = now_ns() +
			   (uint64_t)__atomic_load_n(&bridge->timeout_ms,
						     __ATOMIC_RELAXED) *
			   1000000ull;
		uint64_t spin = __atomic_load_n(&bridge->poll_ns, __ATOMIC_RELAXED);

		rc = cmd.resp ? check_idle(c) : 0;
		if (rc == -EBADMSG)
			why = "data nobody asked for waits in the fd";
		if (rc == 0)
			rc = send_cmd(c, buf, deadline);
		if (rc == 0 && cmd.resp)
			rc = recv_resp(c, buf, deadline,
				       spin ? now_ns() + spin : 0);
		if (rc < 0)
			c->failed = true;
	}
	pthread_mutex_unlock(&c->lock);

	if (rc < 0) {
		stat_inc(&r->stats.errors);
		if (!is_write)
			*val = ioregion_wire_size_mask(size);
		if (rc != -ENOTCONN)
			bridge_log_peer(bridge,
					"%s region 0x%llx: %s at offset 0x%llx "
					"failed: %s; fd marked failed\n",
					space_name(pio),
					(unsigned long long)r->desc.addr,
					is_write ? "write" : "read",
					(unsigned long long)cmd.offset,
					why ? why : strerror(-rc));
		return rc;
	}

	if (!is_write) {
		*val = ioregion_wire_decode_resp(buf) &
		       ioregion_wire_size_mask(size);
		stat_inc(&r->stats.reads);
	} else if (cmd.resp) {
		stat_inc(&r->stats.writes);
	} else {
		stat_inc(&r->stats.posted_writes);
	}
	return 1;
}

/* ---- public API ------------------------------------------------------------ */

IOREGION_EXPORT int
ioregion_bridge_new(struct ioregion_bridge **bridgep)
{
	struct ioregion_bridge *bridge;
	pthread_rwlockattr_t attr;

	if (!bridgep)
		return -EINVAL;
	bridge = calloc(1, sizeof(*bridge));
	if (!bridge)
		return -ENOMEM;
	bridge->refcount = 1;
	bridge->timeout_ms = DEFAULT_TIMEOUT_MS;
	pthread_rwlockattr_init(&attr);
	/* add/remove must not starve behind busy vCPUs */
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&bridge->table_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&bridge->log_lock, NULL);
	log_init(&bridge->log);
	*bridgep = bridge;
	return 0;
}

IOREGION_EXPORT struct ioregion_bridge *
ioregion_bridge_ref(struct ioregion_bridge *bridge)
{
	if (bridge)
		__atomic_fetch_add(&bridge->refcount, 1, __ATOMIC_RELAXED);
	return bridge;
}

static void
space_free(struct ioregion_bridge *bridge, struct space *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		chan_put(bridge, sp->v[i]->chan);
		free(sp->v[i]);
	}
	free(sp->v);
	memset(sp, 0, sizeof(*sp));
}

IOREGION_EXPORT struct ioregion_bridge *
ioregion_bridge_unref(struct ioregion_bridge *bridge)
{
	if (!bridge)
		return NULL;
	if (__atomic_sub_fetch(&bridge->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return NULL;
	space_free(bridge, &bridge->mmio);
	space_free(bridge, &bridge->pio);
	pthread_rwlock_destroy(&bridge->table_lock);
	pthread_mutex_destroy(&bridge->log_lock);
	free(bridge);
	return NULL;
}

IOREGION_EXPORT void
ioregion_bridge_set_log_handler(struct ioregion_bridge *bridge,
				ioregion_log_handler_fn *handler, void *data)
{
	if (!bridge)
		return;
	pthread_mutex_lock(&bridge->log_lock);
	bridge->log.handler = handler;
	bridge->log.data = data;
	pthread_mutex_unlock(&bridge->log_lock);
}

IOREGION_EXPORT void
ioregion_bridge_set_log_priority(struct ioregion_bridge *bridge,
				 enum ioregion_log_priority priority)
{
	if (!bridge)
		return;
	pthread_mutex_lock(&bridge->log_lock);
	bridge->log.priority = priority;
	pthread_mutex_unlock(&bridge->log_lock);
}

IOREGION_EXPORT int
ioregion_bridge_set_timeout(struct ioregion_bridge *bridge, unsigned int ms)
{
	if (!bridge || ms == 0)
		return -EINVAL;
	__atomic_store_n(&bridge->timeout_ms, ms, __ATOMIC_RELAXED);
	return 0;
}

IOREGION_EXPORT int
ioregion_bridge_set_poll_us(struct ioregion_bridge *bridge, unsigned int us)
{
	if (!bridge || us > IOREGION_BRIDGE_POLL_US_MAX)
		return -EINVAL;
	__atomic_store_n(&bridge->poll_ns, (uint64_t)us * 1000, __ATOMIC_RELAXED);
	return 0;
}

IOREGION_EXPORT int
ioregion_bridge_add(struct ioregion_bridge *bridge,
		    const struct ioregion_desc *desc, int fd)
{
	struct space *sp;
	struct region *r;
	size_t i;
	int rc;

	if (!bridge)
		return -EINVAL;
	rc = ioregion_desc_validate(desc);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return -EBADF;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->desc = *desc;
	r->end = region_end(desc);

	pthread_rwlock_wrlock(&bridge->table_lock);
	sp = space_of(bridge, desc->flags & IOREGION_F_PIO);
	i = upper_bound(sp, desc->addr);
	if ((i > 0 && sp->v[i - 1]->end > desc->addr) ||
	    (i < sp->n && sp->v[i]->desc.addr < r->end)) {
		rc = -EEXIST;
		goto fail;
	}
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 8;
		struct region **v = realloc(sp->v, cap * sizeof(*v));

		if (!v) {
			rc = -ENOMEM;
			goto fail;
		}
		sp->v = v;
		sp->cap = cap;
	}
	rc = chan_get(bridge, fd, &r->chan);
	if (rc < 0)
		goto fail;
	memmove(&sp->v[i + 1], &sp->v[i], (sp->n - i) * sizeof(*sp->v));
	sp->v[i] = r;
	sp->n++;
	pthread_rwlock_unlock(&bridge->table_lock);
	return 0;

fail:
	pthread_rwlock_unlock(&bridge->table_lock);
	free(r);
	return rc;
}

IOREGION_EXPORT int
ioregion_bridge_remove(struct ioregion_bridge *bridge,
		       const struct ioregion_desc *desc)
{
	struct space *sp;
	struct region *r;
	ssize_t i;

	if (!bridge || !desc)
		return -EINVAL;
	pthread_rwlock_wrlock(&bridge->table_lock);
	sp = space_of(bridge, desc->flags & IOREGION_F_PIO);
	i = find_exact(sp, desc);
	if (i < 0) {
		pthread_rwlock_unlock(&bridge->table_lock);
		return -ENOENT;
	}
	r = sp->v[i];
	memmove(&sp->v[i], &sp->v[i + 1],
		(sp->n - (size_t)i - 1) * sizeof(*sp->v));
	sp->n--;
	chan_put(bridge, r->chan);
	pthread_rwlock_unlock(&bridge->table_lock);
	free(r);
	return 0;
}

IOREGION_EXPORT int
ioregion_bridge_replace_fd(struct ioregion_bridge *bridge,
			   const struct ioregion_desc *desc, int fd)
{
	struct space *sp;
	struct region *r;
	struct chan *c;
	ssize_t i;
	int rc;

	if (!bridge || !desc)
		return -EINVAL;
	rc = ioregion_desc_validate(desc);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return -EBADF;
	pthread_rwlock_wrlock(&bridge->table_lock);
	sp = space_of(bridge, desc->flags & IOREGION_F_PIO);
	i = find_exact(sp, desc);
	if (i < 0) {
		rc = -ENOENT;
		goto out;
	}
	r = sp->v[i];
	rc = chan_get(bridge, fd, &c);
	if (rc < 0)
		goto out;
	/* No access is in flight (write lock): plain stores are safe. */
	c->failed = false;
	chan_put(bridge, r->chan);
	r->chan = c;
	/* A restarted device may number its regions differently (another
	 * user_data), speak another dialect or post its writes or not: the
	 * region is what the new device says. Address, size and space are
	 * the same (find_exact). */
	r->desc.user_data = desc->user_data;
	r->desc.dialect = desc->dialect;
	r->desc.flags = desc->flags;
out:
	pthread_rwlock_unlock(&bridge->table_lock);
	return rc;
}

IOREGION_EXPORT int
ioregion_bridge_access(struct ioregion_bridge *bridge, bool pio,
		       uint64_t addr, bool is_write, unsigned size,
		       uint64_t *val)
{
	int rc;

	if (!bridge || !val || !valid_size(size))
		return -EINVAL;
	pthread_rwlock_rdlock(&bridge->table_lock);
	rc = access_locked(bridge, pio, addr, is_write, size, val);
	pthread_rwlock_unlock(&bridge->table_lock);
	return rc;
}

static int
handle_mmio(struct ioregion_bridge *bridge, struct kvm_run *run)
{
	unsigned len = run->mmio.len;
	uint64_t val = 0;
	int rc;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data) + 1;	/* refused below */
	if (run->mmio.is_write && len <= sizeof(run->mmio.data))
		val = bytes_to_val(run->mmio.data, len);
	rc = access_locked(bridge, false, run->mmio.phys_addr,
			   run->mmio.is_write, len, &val);
	if (rc != 0 && !run->mmio.is_write &&
	    len <= sizeof(run->mmio.data))
		val_to_bytes(run->mmio.data, len, val);
	return rc;
}

static int
handle_io(struct ioregion_bridge *bridge, struct kvm_run *run)
{
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i, count = run->io.count;
	int rc = 0;

	if (count == 0)
		return 0;
	if ((uint64_t)count * size > PIO_DATA_MAX) {
		bridge_log_peer(bridge, "pio exit with %u x %u bytes\n",
				count, size);
		return -EINVAL;
	}
	for (i = 0; i < count; i++) {
		uint8_t *p = data + (size_t)i * size;
		uint64_t val = 0;

		if (is_write)
			val = bytes_to_val(p, size);
		rc = access_locked(bridge, true, run->io.port, is_write,
				   size, &val);
		if (rc == 0)
			return 0;	/* not ours: first element decides */
		if (!is_write)
			val_to_bytes(p, size, val);
		if (rc < 0)
			break;
	}
	/* On error the remaining elements of a string read read all-ones. */
	if (rc < 0 && !is_write) {
		for (i = i + 1; i < count; i++)
			memset(data + (size_t)i * size, 0xff, size);
	}
	return rc;
}

IOREGION_EXPORT int
ioregion_bridge_handle_exit(struct ioregion_bridge *bridge,
			    struct kvm_run *run)
{
	int rc;

	if (!bridge || !run)
		return -EINVAL;
	if (run->exit_reason != KVM_EXIT_MMIO &&
	    run->exit_reason != KVM_EXIT_IO)
		return 0;
	pthread_rwlock_rdlock(&bridge->table_lock);
	if (run->exit_reason == KVM_EXIT_MMIO)
		rc = handle_mmio(bridge, run);
	else
		rc = handle_io(bridge, run);
	pthread_rwlock_unlock(&bridge->table_lock);
	return rc;
}

IOREGION_EXPORT int
ioregion_bridge_get_stats(struct ioregion_bridge *bridge, bool pio,
			  uint64_t addr, struct ioregion_bridge_stats *stats)
{
	struct region *r;

	if (!bridge || !stats)
		return -EINVAL;
	pthread_rwlock_rdlock(&bridge->table_lock);
	r = lookup(space_of(bridge, pio), addr);
	if (r) {
		stats->reads = __atomic_load_n(&r->stats.reads,
					       __ATOMIC_RELAXED);
		stats->writes = __atomic_load_n(&r->stats.writes,
						__ATOMIC_RELAXED);
		stats->posted_writes = __atomic_load_n(&r->stats.posted_writes,
						       __ATOMIC_RELAXED);
		stats->errors = __atomic_load_n(&r->stats.errors,
						__ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&bridge->table_lock);
	return r ? 0 : -ENOENT;
}
