/* SPDX-License-Identifier: MIT */
/*
 * The bridge's access path: KVM_EXIT_MMIO / KVM_EXIT_IO (string PIO too)
 * and scripted accesses become wire commands on the region's channel.
 *
 * Locks: the table's read lock only for the lookup (xfer_begin takes
 * references to the region and its channel); then the channel's mutex for
 * the whole exit, every element of a string under one deadline. No wait
 * on a device holds the table lock, so add/remove/replace_fd and accesses
 * to other devices go on meanwhile. What went wrong is noted (struct
 * bridge_note) and logged after every lock and reference is dropped.
 *
 * Values: kvm_run carries guest memory bytes; the guest is x86, so the low
 * size bytes of a value are its first bytes (little-endian).
 */
#include "bridge-private.h"

#include <errno.h>
#include <linux/kvm.h>

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

/* One exit's (or scripted access's) hold on its region and channel. */
struct xfer {
	struct ioregion_bridge *bridge;
	struct region *r;
	struct chan *c;
	struct ioregion_desc desc;	/* as of the lookup */
	uint64_t end;
	uint64_t timeout_ns;	/* the bridge's timeout as of the access */
	/* the exchange, under the channel's lock */
	/* A command is out whose answer is not in. Volatile: it changes
	 * after pthread_cleanup_push()'s setjmp, and the cancel handler
	 * reads it after the longjmp (clang kept it in a register). */
	volatile bool sent;
	uint32_t done;		/* elements done */
	int rc;
	const char *why;	/* what went wrong, if strerror(-rc) is not */
};

/* Look @p addr up and take references to its region and channel; false:
 * no region there. The table's read lock is held only for this. */
static bool
xfer_begin(struct xfer *x, struct ioregion_bridge *bridge, bool pio,
	   uint64_t addr)
{
	struct region *r;

	pthread_rwlock_rdlock(&bridge->table_lock);
	r = bridge_lookup(bridge_space_of(bridge, pio), addr);
	if (r) {
		__atomic_fetch_add(&r->refs, 1, __ATOMIC_RELAXED);
		x->bridge = bridge;
		x->r = r;
		x->c = r->chan;
		bridge_chan_ref(x->c);
		x->desc = r->desc;
		x->end = r->end;
		x->sent = false;
		x->done = 0;
		x->rc = 0;
		x->why = NULL;
	}
	pthread_rwlock_unlock(&bridge->table_lock);
	return r != NULL;
}

static void
xfer_end(struct xfer *x)
{
	bridge_chan_unref(x->bridge, x->c);
	bridge_region_unref(x->bridge, x->r);
}

/*
 * One element on the channel, its lock held: command out, answer in
 * (unless posted) by @p deadline. @p p holds the value to write or gets
 * the value read (size bytes, little-endian). 0 or a negative errno.
 */
static int
xfer_one(struct xfer *x, uint64_t addr, bool is_write, unsigned size,
	 uint8_t *p, uint64_t deadline)
{
	const struct ioregion_desc *d = &x->desc;
	struct ioregion_wire_cmd cmd;
	uint8_t buf[BRIDGE_RESP_BUF];
	uint64_t spin;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.user_data = d->user_data;
	if (d->size == 0) {
		cmd.cmd = IOREGION_CMD_WRITE;	/* a doorbell: 1 byte of 0 */
		cmd.size = 1;
	} else {
		cmd.cmd = is_write ? IOREGION_CMD_WRITE : IOREGION_CMD_READ;
		cmd.size = (uint8_t)size;
		cmd.resp = !is_write || !(d->flags & IOREGION_F_POSTED_WRITES);
		cmd.offset = addr - d->addr;
		cmd.data = is_write ? bytes_to_val(p, size) : 0;
	}
	rc = ioregion_wire_encode_cmd((int)d->dialect, &cmd, buf);
	if (rc < 0)
		return rc;	/* cannot happen: desc and size were checked */

	rc = cmd.resp && __atomic_load_n(&x->bridge->idle_check,
					   __ATOMIC_RELAXED) ?
		bridge_check_idle(x->c) : 0;
	if (rc == -EBADMSG)
		x->why = "data nobody asked for waits in the fd";
	if (rc < 0)
		return rc;
	x->sent = true;
	rc = bridge_send_cmd(x->c, buf, deadline);
	if (rc == 0 && cmd.resp) {
		spin = __atomic_load_n(&x->bridge->poll_ns, __ATOMIC_RELAXED);
		rc = bridge_recv_resp(x->c, buf, deadline,
				      spin ? now_ns() + spin : 0, x->timeout_ns);
		if (rc == -EBADMSG)
			x->why = "an answer of the wrong size, or data "
				 "nobody asked for with it";
	}
	if (rc < 0)
		return rc;
	x->sent = false;
	if (!is_write) {
		val_to_bytes(p, size, ioregion_wire_decode_resp(buf));
		stat_inc(&x->r->stats.reads);
	} else if (cmd.resp) {
		stat_inc(&x->r->stats.writes);
	} else {
		stat_inc(&x->r->stats.posted_writes);
	}
	return 0;
}

/* The elements of do_access(), the channel's lock held; the outcome in
 * x->rc and x->done. */
static void
xfer_locked(struct xfer *x, uint64_t addr, bool is_write, unsigned size,
	    uint8_t *data, uint32_t count, uint64_t deadline)
{
	if (x->c->failed) {
		x->rc = -ENOTCONN;
		return;
	}
	for (; x->done < count; x->done++) {
		x->rc = xfer_one(x, addr, is_write, size,
				 data + (size_t)x->done * size, deadline);
		if (x->rc < 0) {
			x->c->failed = true;
			return;
		}
	}
}

/*
 * pthread_cancel() of a thread waiting in xfer_locked() (poll, send and
 * recv are cancellation points): the thread goes at once, and leaves the
 * bridge as a timeout would. The channel's lock is released; the channel
 * is failed if a command went out unanswered (its answer may still come
 * and would be taken for the next access's); the references are dropped.
 */
static void
xfer_cancelled(void *arg)
{
	struct xfer *x = arg;

	if (x->sent)
		x->c->failed = true;
	pthread_mutex_unlock(&x->c->lock);
	stat_inc(&x->r->stats.errors);
	xfer_end(x);
}

/*
 * @p count accesses of @p size bytes at @p addr (string PIO: count > 1, all
 * at one port), values at @p data (count * size bytes, little-endian), in
 * order, under one deadline and one hold of the channel's lock. Returns 1,
 * 0 (not ours: nothing done) or a negative errno; a failed read fills its
 * element and all after it with all-ones.
 */
static int
do_access(struct ioregion_bridge *bridge, bool pio, uint64_t addr,
	  bool is_write, unsigned size, uint8_t *data, uint32_t count,
	  struct bridge_note *note)
{
	uint64_t deadline;
	struct xfer x;

	if (!xfer_begin(&x, bridge, pio, addr))
		return 0;
	if (x.desc.size == 0) {
		/* A doorbell: writes at its address only, as ioeventfd. */
		if (!is_write || addr != x.desc.addr)
			goto not_ours;
	} else if (addr + size > x.end || addr + size < addr) {
		goto not_ours;	/* straddles the end: not an access of ours */
	} else if (!valid_size(size)) {
		if (!is_write)
			memset(data, 0xff, (size_t)size * count);
		stat_inc(&x.r->stats.errors);
		xfer_end(&x);
		bridge_note_peer(note, "%s access of %u bytes at 0x%llx cannot be "
			  "sent\n", space_name(pio), size,
			  (unsigned long long)addr);
		return -EOPNOTSUPP;
	}

	x.timeout_ns = (uint64_t)__atomic_load_n(&bridge->timeout_ms,
						 __ATOMIC_RELAXED) * 1000000ull;
	deadline = now_ns() + x.timeout_ns;
	pthread_mutex_lock(&x.c->lock);
	pthread_cleanup_push(xfer_cancelled, &x);
	xfer_locked(&x, addr, is_write, size, data, count, deadline);
	pthread_cleanup_pop(0);
	pthread_mutex_unlock(&x.c->lock);

	if (x.rc < 0) {
		stat_inc(&x.r->stats.errors);
		if (!is_write)
			memset(data + (size_t)x.done * size, 0xff,
			       (size_t)(count - x.done) * size);
		if (x.rc != -ENOTCONN)
			bridge_note_peer(note, "%s region 0x%llx: %s at offset 0x%llx "
				  "failed: %s; fd marked failed\n",
				  space_name(pio),
				  (unsigned long long)x.desc.addr,
				  is_write ? "write" : "read",
				  (unsigned long long)(addr - x.desc.addr),
				  x.why ? x.why : strerror(-x.rc));
	}
	xfer_end(&x);
	return x.rc < 0 ? x.rc : 1;

not_ours:
	xfer_end(&x);
	return 0;
}

IOREGION_EXPORT int
ioregion_bridge_access(struct ioregion_bridge *bridge, bool pio,
		       uint64_t addr, bool is_write, unsigned size,
		       uint64_t *val)
{
	struct bridge_note note;
	uint8_t buf[8];
	int rc;

	if (!bridge || !val || !valid_size(size))
		return -EINVAL;
	note.msg[0] = '\0';
	val_to_bytes(buf, size, is_write ? *val : 0);
	rc = do_access(bridge, pio, addr, is_write, size, buf, 1, &note);
	if (rc != 0 && !is_write)
		*val = bytes_to_val(buf, size);
	bridge_log_note(bridge, &note);
	return rc;
}

static int
handle_mmio(struct ioregion_bridge *bridge, struct kvm_run *run,
	    struct bridge_note *note)
{
	unsigned len = run->mmio.len;
	uint8_t buf[sizeof(run->mmio.data) + 1] = { 0 };
	int rc;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data) + 1;	/* refused below */
	else if (run->mmio.is_write)
		memcpy(buf, run->mmio.data, len);
	rc = do_access(bridge, false, run->mmio.phys_addr, run->mmio.is_write,
		       len, buf, 1, note);
	if (rc != 0 && !run->mmio.is_write && len <= sizeof(run->mmio.data))
		memcpy(run->mmio.data, buf, len);
	return rc;
}

static int
handle_io(struct ioregion_bridge *bridge, struct kvm_run *run,
	  struct bridge_note *note)
{
	uint32_t count = run->io.count;
	unsigned size = run->io.size;

	if (count == 0)
		return 0;
	if ((uint64_t)count * size > PIO_DATA_MAX) {
		bridge_note_peer(note, "pio exit with %u x %u bytes\n", count, size);
		return -EINVAL;
	}
	return do_access(bridge, true, run->io.port,
			 run->io.direction == KVM_EXIT_IO_OUT, size,
			 (uint8_t *)run + run->io.data_offset, count, note);
}

IOREGION_EXPORT int
ioregion_bridge_handle_exit(struct ioregion_bridge *bridge,
			    struct kvm_run *run)
{
	struct bridge_note note;
	int rc;

	if (!bridge || !run)
		return -EINVAL;
	if (run->exit_reason != KVM_EXIT_MMIO &&
	    run->exit_reason != KVM_EXIT_IO)
		return 0;
	note.msg[0] = '\0';
	if (run->exit_reason == KVM_EXIT_MMIO)
		rc = handle_mmio(bridge, run, &note);
	else
		rc = handle_io(bridge, run, &note);
	bridge_log_note(bridge, &note);
	return rc;
}
