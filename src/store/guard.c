/*
 * guard.c - owns the store's failure state on the writer's side: the
 * backoff after a failed write (exponential, capped), the log lines (one
 * per change of state and a reminder a minute, never one per attempt),
 * the probe that finds out the cause has gone, and the reason /health
 * gives.  Engine thread only (the writer's connection).
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/log.h"
#include "firebreak/store.h"

#define FIRST_DELAY_MS 250
#define MAX_DELAY_MS 16000
#define REMINDER_MS 60000

void fb_store_guard_init(fb_store_guard *g)
{
	void (*notify)(void *, int, const char *) = g->notify;
	void *ctx = g->notify_ctx;

	memset(g, 0, sizeof(*g));
	g->notify = notify;
	g->notify_ctx = ctx;
}

static void tell(const fb_store_guard *g, int64_t now)
{
	char why[300];

	if (!g->notify)
		return;
	fb_store_guard_health(g, now, why, sizeof(why));
	g->notify(g->notify_ctx, !g->failing, g->failing ? why : "");
}

void fb_store_guard_failed(fb_store_guard *g, const fb_store *st, int64_t now)
{
	fb_store_fault f = fb_store_fault_of(st);

	if (f == FB_STORE_OK)
		f = FB_STORE_OTHER;
	g->failures++;
	if (!g->failing || f != g->fault) {
		snprintf(g->why, sizeof(g->why), "%s", fb_error_last());
		fb_log(FB_LOG_ERROR, "store.failing",
		       "cause=\"%s\" error=\"%s\" note=\"writes wait and retry with backoff; "
		       "envelopes are not acked and webhooks get 503 until it recovers\"",
		       fb_store_fault_word(f), g->why);
		if (!g->failing) {
			g->since = now;
			g->last_reminder = now;
			g->delay_ms = FIRST_DELAY_MS;
		}
		g->failing = 1;
		g->fault = f;
		tell(g, now);
	} else {
		g->delay_ms = g->delay_ms * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : g->delay_ms * 2;
	}
	g->next_try = now + g->delay_ms;
	if (now - g->last_reminder >= REMINDER_MS) {
		g->last_reminder = now;
		fb_log(FB_LOG_WARN, "store.still_failing", "cause=\"%s\" for_s=%lld attempts=%ld",
		       fb_store_fault_word(g->fault), (long long)((now - g->since) / 1000),
		       g->failures);
	}
}

void fb_store_guard_ok(fb_store_guard *g, fb_store *st, int64_t now)
{
	(void)st;
	if (!g->failing)
		return;
	fb_log(FB_LOG_INFO, "store.recovered", "cause=\"%s\" after_s=%lld attempts=%ld",
	       fb_store_guard_cause(g), (long long)((now - g->since) / 1000), g->failures);
	fb_store_guard_init(g);
	tell(g, now);
}

const char *fb_store_guard_cause(const fb_store_guard *g)
{
	return fb_store_fault_word(g->fault);
}

int fb_store_guard_ready(const fb_store_guard *g, int64_t now)
{
	return !g->failing || now >= g->next_try;
}

/* One small write that needs a WAL frame: the cheapest proof of health. */
static fb_err probe(fb_store *st, int64_t now)
{
	char v[32];
	fb_err rc = fb_store_begin(st);

	snprintf(v, sizeof(v), "%lld", (long long)now);
	if (!rc)
		rc = fb_store_cursor_put(st, "store.probe", v);
	if (!rc)
		rc = fb_store_commit(st);
	if (rc)
		fb_store_rollback(st);
	return rc;
}

int fb_store_guard_tick(fb_store_guard *g, fb_store *st, int64_t now)
{
	if (!g->failing)
		return 1;
	if (now < g->next_try || fb_store_depth(st) > 0)
		return 0;
	if (fb_store_reclaim(st) != FB_OK || probe(st, now) != FB_OK) {
		fb_store_guard_failed(g, st, now);
		return 0;
	}
	fb_store_guard_ok(g, st, now);
	return 1;
}

int fb_store_guard_health(const fb_store_guard *g, int64_t now, char *why, size_t why_sz)
{
	if (!g->failing)
		return 1;
	snprintf(why, why_sz, "database %s for %lld s: %s", fb_store_guard_cause(g),
	         (long long)((now - g->since) / 1000), g->why);
	return 0;
}
