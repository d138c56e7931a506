/* SPDX-License-Identifier: MIT */
/*
 * The bridge's access path: KVM_EXIT_MMIO / KVM_EXIT_IO (string PIO too)
 * and scripted accesses become wire commands on the region's channel.
 *
 * Lock order: table rwlock (read) -> channel mutex. The read lock is held
 * for the whole access, so a writer waits at most one timeout. What went
 * wrong is noted (struct bridge_note) and logged after both are released.
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

/*
 * One access, with the read lock held. Returns 1, 0 (not ours) or a
 * negative errno; *val is the value read (all-ones on error).
 */
static int
access_locked(struct ioregion_bridge *bridge, bool pio, uint64_t addr,
	      bool is_write, unsigned size, uint64_t *val,
	      struct bridge_note *note)
{
	struct ioregion_wire_cmd cmd;
	uint8_t buf[IOREGION_WIRE_MSG_SIZE];
	struct region *r;
	struct chan *c;
	uint64_t deadline;
	const char *why = NULL;
	int rc;

	r = bridge_lookup(bridge_space_of(bridge, pio), addr);
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
		bridge_note_peer(note, "%s access of %u bytes at 0x%llx "
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

		rc = cmd.resp ? bridge_check_idle(c) : 0;
		if (rc == -EBADMSG)
			why = "data nobody asked for waits in the fd";
		if (rc == 0)
			rc = bridge_send_cmd(c, buf, deadline);
		if (rc == 0 && cmd.resp)
			rc = bridge_recv_resp(c, buf, deadline,
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
			bridge_note_peer(note,
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

IOREGION_EXPORT int
ioregion_bridge_access(struct ioregion_bridge *bridge, bool pio,
		       uint64_t addr, bool is_write, unsigned size,
		       uint64_t *val)
{
	struct bridge_note note;
	int rc;

	if (!bridge || !val || !valid_size(size))
		return -EINVAL;
	note.msg[0] = '\0';
	pthread_rwlock_rdlock(&bridge->table_lock);
	rc = access_locked(bridge, pio, addr, is_write, size, val, &note);
	pthread_rwlock_unlock(&bridge->table_lock);
	bridge_log_note(bridge, &note);
	return rc;
}

static int
handle_mmio(struct ioregion_bridge *bridge, struct kvm_run *run,
	    struct bridge_note *note)
{
	unsigned len = run->mmio.len;
	uint64_t val = 0;
	int rc;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data) + 1;	/* refused below */
	if (run->mmio.is_write && len <= sizeof(run->mmio.data))
		val = bytes_to_val(run->mmio.data, len);
	rc = access_locked(bridge, false, run->mmio.phys_addr,
			   run->mmio.is_write, len, &val, note);
	if (rc != 0 && !run->mmio.is_write &&
	    len <= sizeof(run->mmio.data))
		val_to_bytes(run->mmio.data, len, val);
	return rc;
}

static int
handle_io(struct ioregion_bridge *bridge, struct kvm_run *run,
	  struct bridge_note *note)
{
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i, count = run->io.count;
	int rc = 0;

	if (count == 0)
		return 0;
	if ((uint64_t)count * size > PIO_DATA_MAX) {
		bridge_note_peer(note, "pio exit with %u x %u bytes\n",
				count, size);
		return -EINVAL;
	}
	for (i = 0; i < count; i++) {
		uint8_t *p = data + (size_t)i * size;
		uint64_t val = 0;

		if (is_write)
			val = bytes_to_val(p, size);
		rc = access_locked(bridge, true, run->io.port, is_write,
				   size, &val, note);
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
	struct bridge_note note;
	int rc;

	if (!bridge || !run)
		return -EINVAL;
	if (run->exit_reason != KVM_EXIT_MMIO &&
	    run->exit_reason != KVM_EXIT_IO)
		return 0;
	note.msg[0] = '\0';
	pthread_rwlock_rdlock(&bridge->table_lock);
	if (run->exit_reason == KVM_EXIT_MMIO)
		rc = handle_mmio(bridge, run, &note);
	else
		rc = handle_io(bridge, run, &note);
	pthread_rwlock_unlock(&bridge->table_lock);
	bridge_log_note(bridge, &note);
	return rc;
}

