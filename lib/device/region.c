/* SPDX-License-Identifier: MIT */
/*
 * Regions of a channel: the table user_data indexes, validation, counters
 * and deferred-read completion.
 *
 * user_data = generation << 32 | slot. It is only ever an index checked
 * against the table (never a pointer); the generation makes a stale
 * user_data of a destroyed region miss instead of hitting its successor.
 */
#include "server-private.h"

#include <errno.h>
#include <stdlib.h>

#define SLOT_BITS 32

struct ioregion_region *
region_lookup(struct ioregion_channel *ch, uint64_t user_data)
{
	uint64_t idx = user_data & 0xffffffffull;
	uint32_t gen = (uint32_t)(user_data >> SLOT_BITS);

	ch = channel_table(ch);

	if (idx >= ch->nslots || ch->slots[idx].gen != gen)
		return NULL;
	return ch->slots[idx].region;
}

static bool
ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	/* A doorbell (length 0) occupies its address. */
	uint64_t aend = a + (alen ? alen : 1);
	uint64_t bend = b + (blen ? blen : 1);

	return a < bend && b < aend;
}

static bool
reserved_zero(const struct ioregion_region_config *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->reserved); i++)
		if (c->reserved[i])
			return false;
	return true;
}

static int
slot_alloc(struct ioregion_channel *ch, uint32_t *idxp)
{
	struct region_slot *slots;
	uint32_t n;

	for (uint32_t i = 0; i < ch->nslots; i++) {
		if (!ch->slots[i].region) {
			*idxp = i;
			return 0;
		}
	}
	if (ch->nslots >= UINT32_MAX / 2)
		return -ENOSPC;
	n = ch->nslots ? ch->nslots * 2 : 8;
	slots = realloc(ch->slots, n * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t i = ch->nslots; i < n; i++)
		slots[i] = (struct region_slot){ NULL, 0 };
	*idxp = ch->nslots;
	ch->slots = slots;
	ch->nslots = n;
	return 0;
}

IOREGION_EXPORT int
ioregion_region_new(struct ioregion_channel *ch,
		    const struct ioregion_region_config *config,
		    struct ioregion_region **regionp)
{
	struct ioregion_desc d;
	struct ioregion_region *r;
	uint32_t idx;
	int rc;

	if (!ch || !config || !regionp)
		return -EINVAL;
	*regionp = NULL;
	if (ch->primary)
		return -EINVAL;	/* regions live on the primary */
	d = (struct ioregion_desc){
		.addr = config->addr, .size = config->size,
		.flags = config->flags, .dialect = (uint32_t)ch->dialect,
	};
	if (ioregion_desc_validate(&d) < 0 ||
	    (config->widths & ~IOREGION_WIDTH_ALL) || !reserved_zero(config))
		return -EINVAL;
	if (!ch->open || ch->destroy_requested)
		return -ENOTCONN;
	for (uint32_t i = 0; i < ch->nslots; i++) {
		struct ioregion_region *o = ch->slots[i].region;

		if (o && (o->flags & IOREGION_F_PIO) ==
			 (config->flags & IOREGION_F_PIO) &&
		    ranges_overlap(o->addr, o->size, config->addr, config->size))
			return -EEXIST;
	}

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = slot_alloc(ch, &idx);
	if (rc < 0) {
		free(r);
		return rc;
	}
	ch->slots[idx].gen++;
	if (ch->slots[idx].gen == 0)	/* generation 0 is never valid */
		ch->slots[idx].gen = 1;
	ch->slots[idx].region = r;

	r->ch = ch;
	r->addr = config->addr;
	r->size = config->size;
	r->flags = config->flags;
	r->widths = config->widths ? config->widths : IOREGION_WIDTH_ALL;
	r->ops = config->ops;
	r->userdata = config->userdata;
	r->user_data = (uint64_t)ch->slots[idx].gen << SLOT_BITS | idx;
	*regionp = r;
	return 0;
}

static void
slot_release(struct ioregion_region *r)
{
	struct ioregion_channel *ch = r->ch;
	uint64_t idx = r->user_data & 0xffffffffull;

	if (idx < ch->nslots && ch->slots[idx].region == r)
		ch->slots[idx].region = NULL;
}

IOREGION_EXPORT void
ioregion_region_destroy(struct ioregion_region *r)
{
	struct ioregion_channel *ch;

	if (!r)
		return;
	ch = r->ch;
	/* Answering a deferred read may close the channel and call its close
	 * handler, which may destroy the channel: hold it busy meanwhile and
	 * let channel_leave() free the region (and the channel if asked). */
	channel_enter(ch);
	slot_release(r);
	if (region_finish_deferred(r, ~0ull, false))
		log_error(&ch->ctx->log,
			  "region 0x%llx destroyed with a read deferred: answered all-ones\n",
			  (unsigned long long)r->addr);
	r->next_zombie = ch->zombies;
	ch->zombies = r;
	channel_leave(ch);
}

void
region_reap(struct ioregion_channel *ch)
{
	while (ch->zombies) {
		struct ioregion_region *r = ch->zombies;

		ch->zombies = r->next_zombie;
		free(r);
	}
}

void
region_free_all(struct ioregion_channel *ch)
{
	for (uint32_t i = 0; i < ch->nslots; i++) {
		free(ch->slots[i].region);
		ch->slots[i].region = NULL;
	}
	region_reap(ch);
	free(ch->slots);
	ch->slots = NULL;
	ch->nslots = 0;
}

IOREGION_EXPORT void *
ioregion_region_get_userdata(struct ioregion_region *r)
{
	return r ? r->userdata : NULL;
}

IOREGION_EXPORT struct ioregion_channel *
ioregion_region_get_channel(struct ioregion_region *r)
{
	return r ? r->ch : NULL;
}

IOREGION_EXPORT int
ioregion_region_get_desc(struct ioregion_region *r, struct ioregion_desc *d)
{
	if (!r || !d)
		return -EINVAL;
	*d = (struct ioregion_desc){
		.addr = r->addr, .size = r->size, .user_data = r->user_data,
		.flags = r->flags, .dialect = (uint32_t)r->ch->dialect,
	};
	return 0;
}

IOREGION_EXPORT int
ioregion_region_get_stats(struct ioregion_region *r,
			  struct ioregion_region_stats *stats)
{
	if (!r || !stats)
		return -EINVAL;
	*stats = r->stats;
	return 0;
}

/* Whether the region's channel or one of its fallbacks is open. */
static bool
region_reachable(const struct ioregion_region *r)
{
	const struct ioregion_channel *fb;

	if (r->ch->open)
		return true;
	for (fb = r->ch->fallbacks; fb; fb = fb->next_fallback)
		if (fb->open)
			return true;
	return false;
}

IOREGION_EXPORT int
ioregion_region_complete_read(struct ioregion_region *r, uint64_t val)
{
	struct ioregion_channel *ch;
	int rc = 0;

	if (!r)
		return -EINVAL;
	ch = r->ch;
	/* Answering may close a channel, whose close handler may destroy
	 * it or the primary: hold the primary meanwhile. */
	channel_enter(ch);
	if (!region_finish_deferred(r, val, true))
		rc = region_reachable(r) ? -ENOENT : -ENOTCONN;
	channel_leave(ch);
	return rc;
}
