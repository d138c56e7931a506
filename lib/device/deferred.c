/* SPDX-License-Identifier: MIT */
/*
 * Deferred reads: a read callback that returns IOREGION_DEFERRED holds
 * its channel until ioregion_region_complete_read() or the context's
 * deferred timeout answers it; then the commands behind it resume.
 */
#include "server-private.h"

/* Hold the channel for @r's read of @size bytes, bounded by the timeout. */
void
channel_defer(struct ioregion_channel *ch, struct ioregion_region *r,
	      unsigned int size)
{
	struct ev_loop *loop = ch->ctx->loop;

	ch->pending = r;
	ch->pending_size = size;
	channel_reading_stop(ch);
	/* The loop's clock is from its last wake-up: adaptive polling (or a
	 * long batch) may have kept the channel busy since, and the timer
	 * would start in the past. A vDSO clock read, once per deferral. */
	ev_now_update(loop);
	ev_timer_set(&ch->deferred_timer, ch->ctx->deferred_timeout_ms / 1000.0,
		     0.);
	ev_timer_start(loop, &ch->deferred_timer);
}

void
channel_finish_deferred(struct ioregion_channel *ch, uint64_t val, bool ok)
{
	struct ioregion_region *r = ch->pending;

	if (!r)
		return;
	ch->pending = NULL;
	ev_timer_stop(ch->ctx->loop, &ch->deferred_timer);
	if (ok) {
		r->stats.reads++;
		val &= ioregion_wire_size_mask(ch->pending_size);
	} else {
		r->stats.errors++;
		val = ~0ull;
	}
	channel_respond(ch, val);
	if (ch->ctx->uring) {
		uring_channel_resume(ch);
		return;
	}
	/* Answer now, read again, and have the loop (or a get_fd caller)
	 * come back for the commands already buffered behind it, or for the
	 * peer's EOF seen behind them: they are in no fd, so nothing else
	 * would report them. */
	channel_enter(ch);
	if (channel_flush(ch) > 0 && ch->open) {
		channel_reading_start(ch);
		if (channel_input_buffered(ch) || ch->peer_eof) {
			ev_feed_event(ch->ctx->loop, &ch->rio, EV_CUSTOM);
			ctx_kick(ch->ctx);
		}
	}
	channel_leave(ch);
}

/*
 * Answer every read of @r deferred on its channel and on the channel's
 * fallbacks (one each at most), the primary first. Returns how many. The
 * caller holds the primary busy: answering may close a channel and run its
 * close handler, which may destroy fallbacks, so the list is searched
 * again after each answer.
 */
int
region_finish_deferred(struct ioregion_region *r, uint64_t val, bool ok)
{
	struct ioregion_channel *primary = r->ch, *c;
	int n = 0;

	for (;;) {
		c = primary->pending == r ? primary : NULL;
		for (struct ioregion_channel *fb = primary->fallbacks;
		     !c && fb; fb = fb->next_fallback)
			if (fb->pending == r)
				c = fb;
		if (!c)
			return n;
		channel_finish_deferred(c, val, ok);
		n++;
	}
}

void
channel_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ioregion_channel *ch = w->data;

	channel_enter(ch);
	if (ch->pending) {
		log_error(&ch->ctx->log,
			  "deferred read of region 0x%llx not completed within %u ms: answering all-ones\n",
			  (unsigned long long)ch->pending->addr,
			  ch->ctx->deferred_timeout_ms);
		channel_finish_deferred(ch, ~0ull, false);
	}
	channel_leave(ch);
}
