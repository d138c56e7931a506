/* SPDX-License-Identifier: MIT */
/*
 * The bridge: the kernel's half of the ioregionfd protocol, in the VMM.
 * No libev. This file: lifecycle, settings and the table.
 *
 * Table: two sorted arrays of region pointers (MMIO, PIO), looked up by
 * binary search under a read lock; add/remove/replace take the write lock.
 * A doorbell (size 0) occupies its single address: it matches writes that
 * start there, and it overlaps any region that contains that address.
 */
#include "bridge-private.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct space *
bridge_space_of(struct ioregion_bridge *bridge, bool pio)
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
struct region *
bridge_lookup(const struct space *sp, uint64_t addr)
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
	pthread_mutex_init(&bridge->chans_lock, NULL);
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

/* Drop a reference; the last (the table's, or that of an access still
 * in flight after remove) frees the region and drops its channel's. */
void
bridge_region_unref(struct ioregion_bridge *bridge, struct region *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	bridge_chan_unref(bridge, r->chan);
	free(r);
}

static void
space_free(struct ioregion_bridge *bridge, struct space *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		bridge_region_unref(bridge, sp->v[i]);
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
	pthread_mutex_destroy(&bridge->chans_lock);
	log_fini(&bridge->log);
	pthread_mutex_destroy(&bridge->log_lock);
	free(bridge);
	return NULL;
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
ioregion_bridge_set_idle_check(struct ioregion_bridge *bridge, bool on)
{
	if (!bridge)
		return -EINVAL;
	__atomic_store_n(&bridge->idle_check, on, __ATOMIC_RELAXED);
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

/* The argument checks add and replace_fd share. */
static int
check_args(struct ioregion_bridge *bridge, const struct ioregion_desc *desc,
	   int fd)
{
	int rc;

	if (!bridge)
		return -EINVAL;
	rc = ioregion_desc_validate(desc);
	if (rc < 0)
		return rc;
	return fd < 0 ? -EBADF : 0;
}

IOREGION_EXPORT int
ioregion_bridge_add(struct ioregion_bridge *bridge,
		    const struct ioregion_desc *desc, int fd)
{
	struct space *sp;
	struct region *r;
	size_t i;
	int rc;

	rc = check_args(bridge, desc, fd);
	if (rc < 0)
		return rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->desc = *desc;
	r->end = region_end(desc);
	r->refs = 1;
	rc = bridge_chan_get(bridge, fd, &r->chan);
	if (rc < 0) {
		free(r);
		return rc;
	}

	pthread_rwlock_wrlock(&bridge->table_lock);
	sp = bridge_space_of(bridge, desc->flags & IOREGION_F_PIO);
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
	memmove(&sp->v[i + 1], &sp->v[i], (sp->n - i) * sizeof(*sp->v));
	sp->v[i] = r;
	sp->n++;
	pthread_rwlock_unlock(&bridge->table_lock);
	return 0;

fail:
	pthread_rwlock_unlock(&bridge->table_lock);
	bridge_region_unref(bridge, r);
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
	sp = bridge_space_of(bridge, desc->flags & IOREGION_F_PIO);
	i = find_exact(sp, desc);
	if (i < 0) {
		pthread_rwlock_unlock(&bridge->table_lock);
		return -ENOENT;
	}
	r = sp->v[i];
	memmove(&sp->v[i], &sp->v[i + 1],
		(sp->n - (size_t)i - 1) * sizeof(*sp->v));
	sp->n--;
	pthread_rwlock_unlock(&bridge->table_lock);
	bridge_region_unref(bridge, r);
	return 0;
}

IOREGION_EXPORT int
ioregion_bridge_replace_fd(struct ioregion_bridge *bridge,
			   const struct ioregion_desc *desc, int fd)
{
	struct chan *c, *old;
	struct space *sp;
	struct region *r;
	ssize_t i;
	int rc;

	rc = check_args(bridge, desc, fd);
	if (rc < 0)
		return rc;
	rc = bridge_chan_get(bridge, fd, &c);
	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&bridge->table_lock);
	sp = bridge_space_of(bridge, desc->flags & IOREGION_F_PIO);
	i = find_exact(sp, desc);
	if (i < 0) {
		pthread_rwlock_unlock(&bridge->table_lock);
		bridge_chan_unref(bridge, c);
		return -ENOENT;
	}
	r = sp->v[i];
	old = r->chan;
	r->chan = c;
	/* A restarted device may number its regions differently (another
	 * user_data), speak another dialect or post its writes or not: the
	 * region is what the new device says. Address, size and space are
	 * the same (find_exact). */
	r->desc.user_data = desc->user_data;
	r->desc.dialect = desc->dialect;
	r->desc.flags = desc->flags;
	pthread_rwlock_unlock(&bridge->table_lock);
	/* an access still on the old channel holds its own reference */
	bridge_chan_unref(bridge, old);
	return 0;
}

IOREGION_EXPORT int
ioregion_bridge_get_stats(struct ioregion_bridge *bridge, bool pio,
			  uint64_t addr, struct ioregion_bridge_stats *stats)
{
	struct region *r;

	if (!bridge || !stats)
		return -EINVAL;
	pthread_rwlock_rdlock(&bridge->table_lock);
	r = bridge_lookup(bridge_space_of(bridge, pio), addr);
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

