/*
 * adopt.c - owns exactly-once posting's memory and its history reads:
 * the metadata that names a card or thread post, the incidents whose card
 * may have been posted before a restart, and, per channel (or thread),
 * what a bounded read of conversations.history (conversations.replies)
 * found: post key -> ts.  Sender thread only.
 *
 * A read goes back to the earliest post it is asked about minus a margin
 * for clock skew (oldest=, inclusive), newest first, 200 messages a page,
 * following response_metadata.next_cursor for at most MAX_PAGES pages; it
 * is paced by the methods' tier (Tier 3, as pace.c) and a 429 holds the
 * method until its Retry-After has passed.  One read serves every post of
 * its channel, so a restart with a hundred unsent rows costs a few pages.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/httpc.h"
#include "firebreak/log.h"
#include "firebreak/pace.h"

#include "adopt_int.h"

#define MARGIN_MS 120000 /* our clock against Slack's ts */
#define PAGE_LIMIT 200
#define MAX_PAGES 20
#define MAX_ERRORS 5
#define NONE INT64_MAX

typedef struct {
	char incident_id[64], key[48], ts[32];
} found;

typedef struct {
	char channel[64], thread_ts[32];
	int64_t covered_ms; /* a finished read covers posts from here on (NONE: no read) */
	int64_t target_ms;  /* the read under way goes back to here */
	int running, pages, errors;
	char cursor[512];
	char failed[64]; /* why the history cannot be read ("" = it can) */
	found *v;
	size_t n, cap;
} scan;

typedef struct {
	char incident_id[64];
	int64_t since_ms;
} unsure;

typedef struct {
	int64_t tat, hold_until; /* GCRA theoretical arrival time; Retry-After */
} bucket;

struct fb_adopt {
	scan *scans;
	size_t n_scans, cap_scans;
	unsure *u;
	size_t n_u, cap_u;
	bucket b[2]; /* conversations.history, conversations.replies */
};

static const char *const methods[2] = {"conversations.history", "conversations.replies"};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 1;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, ncap * size);
	if (!nv)
		return 0;
	*v = nv;
	*cap = ncap;
	return 1;
}

fb_err fb_adopt_new(fb_adopt **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
}

void fb_adopt_free(fb_adopt *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_scans; i++)
		free(a->scans[i].v);
	free(a->scans);
	free(a->u);
	free(a);
}

void fb_adopt_tag(cJSON *args, const char *incident_id, const char *post_key)
{
	cJSON *md = cJSON_CreateObject(), *pl = cJSON_CreateObject();
	if (!md || !pl) {
		cJSON_Delete(md);
		cJSON_Delete(pl);
		return;
	}
	cJSON_AddStringToObject(md, "event_type", FB_ADOPT_EVENT);
	cJSON_AddStringToObject(pl, "incident_id", incident_id);
	cJSON_AddStringToObject(pl, "post_key", post_key);
	cJSON_AddItemToObject(md, "event_payload", pl);
	cJSON_DeleteItemFromObjectCaseSensitive(args, "metadata");
	cJSON_AddItemToObject(args, "metadata", md);
}

void fb_adopt_thread_key(int64_t outbox_id, char *out, size_t outsz)
{
	snprintf(out, outsz, "thread-%" PRId64, outbox_id);
}

/* ---- the cards that may exist ---- */

static unsure *unsure_find(const fb_adopt *a, const char *incident_id)
{
	for (size_t i = 0; i < a->n_u; i++)
		if (!strcmp(a->u[i].incident_id, incident_id))
			return &a->u[i];
	return NULL;
}

void fb_adopt_card_unsure(fb_adopt *a, const char *incident_id, int64_t since_ms)
{
	unsure *u = unsure_find(a, incident_id);
	if (u) {
		if (since_ms < u->since_ms)
			u->since_ms = since_ms;
		return;
	}
	if (!grow((void **)&a->u, &a->cap_u, a->n_u, sizeof(*a->u)))
		return;
	u = &a->u[a->n_u++];
	snprintf(u->incident_id, sizeof(u->incident_id), "%s", incident_id);
	u->since_ms = since_ms;
}

int fb_adopt_card_is_unsure(const fb_adopt *a, const char *incident_id, int64_t *since_ms)
{
	const unsure *u = unsure_find(a, incident_id);
	if (u && since_ms)
		*since_ms = u->since_ms;
	return u != NULL;
}

void fb_adopt_card_settle(fb_adopt *a, const char *incident_id)
{
	unsure *u = unsure_find(a, incident_id);
	if (u)
		*u = a->u[--a->n_u];
}

/* ---- one channel's (or thread's) read ---- */

static scan *scan_get(fb_adopt *a, const char *channel, const char *thread_ts)
{
	for (size_t i = 0; i < a->n_scans; i++)
		if (!strcmp(a->scans[i].channel, channel) &&
		    !strcmp(a->scans[i].thread_ts, thread_ts))
			return &a->scans[i];
	if (!grow((void **)&a->scans, &a->cap_scans, a->n_scans, sizeof(*a->scans)))
		return NULL;
	scan *s = &a->scans[a->n_scans++];
	memset(s, 0, sizeof(*s));
	snprintf(s->channel, sizeof(s->channel), "%s", channel);
	snprintf(s->thread_ts, sizeof(s->thread_ts), "%s", thread_ts);
	s->covered_ms = NONE;
	return s;
}

void fb_adopt_forget(fb_adopt *a, const char *channel, const char *thread_ts)
{
	for (size_t i = 0; i < a->n_scans; i++)
		if (!strcmp(a->scans[i].channel, channel) &&
		    !strcmp(a->scans[i].thread_ts, thread_ts)) {
			a->scans[i].covered_ms = NONE;
			a->scans[i].running = 0;
		}
}

/* The earliest matching post (a post doubled before this fix: the first). */
static const char *scan_lookup(const scan *s, const char *incident_id, const char *key)
{
	const char *best = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].incident_id, incident_id) && !strcmp(s->v[i].key, key) &&
		    (!best || strcmp(s->v[i].ts, best) < 0))
			best = s->v[i].ts;
	return best;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Keeps the page's messages that carry our metadata. */
static void scan_take(scan *s, const cJSON *messages)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, messages)
	{
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(m, "metadata");
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(md, "event_payload");
		const char *et = str_of(md, "event_type"), *ts = str_of(m, "ts");
		const char *id = str_of(pl, "incident_id"), *key = str_of(pl, "post_key");
		const char *th = str_of(m, "thread_ts");
		if (!et || strcmp(et, FB_ADOPT_EVENT) || !ts || !id || !key)
			continue;
		if (!s->thread_ts[0] && th && strcmp(th, ts)) /* a reply shown in the channel */
			continue;
		if (s->thread_ts[0] && !strcmp(ts, s->thread_ts)) /* the thread's parent */
			continue;
		if (scan_lookup(s, id, key) && !strcmp(scan_lookup(s, id, key), ts))
			continue;
		if (!grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
			return;
		found *f = &s->v[s->n++];
		snprintf(f->incident_id, sizeof(f->incident_id), "%s", id);
		snprintf(f->key, sizeof(f->key), "%s", key);
		snprintf(f->ts, sizeof(f->ts), "%s", ts);
	}
}

/* GCRA with pace.c's Tier 3 figures: 0 when a call may go now (counted). */
static int64_t bucket_take(bucket *b, int64_t now)
{
	const int64_t interval = 60000 / 50, burst = 5;
	if (now < b->hold_until)
		return b->hold_until - now;
	int64_t allowed_at = b->tat - (burst - 1) * interval;
	if (now < allowed_at)
		return allowed_at - now;
	b->tat = (b->tat > now ? b->tat : now) + interval;
	return 0;
}

static fb_err build_query(const scan *s, fb_buf *q)
{
	int64_t oldest = s->target_ms > 0 ? s->target_ms : 0;
	fb_err rc = fb_buf_addstr(q, "channel=");
	if (!rc)
		rc = fb_httpc_escape(q, s->channel);
	if (!rc && s->thread_ts[0] && !(rc = fb_buf_addstr(q, "&ts=")))
		rc = fb_httpc_escape(q, s->thread_ts);
	if (!rc)
		rc = fb_buf_printf(q,
		                   "&limit=%d&include_all_metadata=true&inclusive=true"
		                   "&oldest=%" PRId64 ".%06" PRId64,
		                   PAGE_LIMIT, oldest / 1000, (oldest % 1000) * 1000);
	if (!rc && s->cursor[0] && !(rc = fb_buf_addstr(q, "&cursor=")))
		rc = fb_httpc_escape(q, s->cursor);
	return rc;
}

/* The answer to one page: 1 when the read is finished. */
static int page_done(scan *s, const cJSON *body)
{
	const cJSON *rm = cJSON_GetObjectItemCaseSensitive(body, "response_metadata");
	const char *next = str_of(rm, "next_cursor");
	int more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "has_more"));

	scan_take(s, cJSON_GetObjectItemCaseSensitive(body, "messages"));
	s->pages++;
	s->errors = 0;
	if (next && next[0] && s->pages < MAX_PAGES && strlen(next) < sizeof(s->cursor)) {
		snprintf(s->cursor, sizeof(s->cursor), "%s", next);
		return 0;
	}
	if (more || (next && next[0]))
		fb_log(FB_LOG_WARN, "slack.adopt_truncated", "channel=%s pages=%d", s->channel,
		       s->pages);
	return 1;
}

/* One page.  FB_ADOPT_ABSENT here means "read on"; WAIT sets *wait_ms. */
static fb_adopt_what read_page(fb_adopt *a, fb_slackapi *api, scan *s, int64_t now,
                               int64_t *wait_ms)
{
	int which = s->thread_ts[0] ? 1 : 0;
	fb_slack_result res;
	fb_buf q;
	fb_err rc;

	if ((*wait_ms = bucket_take(&a->b[which], now)) > 0)
		return FB_ADOPT_WAIT;
	fb_buf_init(&q, 2048);
	rc = build_query(s, &q);
	if (rc) {
		fb_buf_free(&q);
		snprintf(s->failed, sizeof(s->failed), "query_too_long");
		return FB_ADOPT_UNKNOWN;
	}
	rc = fb_slackapi_get(api, methods[which], fb_buf_str(&q), &res);
	fb_buf_free(&q);
	fb_adopt_what w = FB_ADOPT_ABSENT;
	if (!rc && res.ok) {
		if (page_done(s, res.body)) {
			s->running = 0;
			s->covered_ms = s->target_ms;
		}
	} else if (!rc) { /* Slack said no: a scope, a membership, a channel */
		snprintf(s->failed, sizeof(s->failed), "%s", res.error);
		fb_log(FB_LOG_WARN, "slack.adopt_unavailable",
		       "method=%s channel=%s error=%s (posting without looking: add the "
		       "channels:history and groups:history scopes)",
		       methods[which], s->channel, res.error);
		w = FB_ADOPT_UNKNOWN;
	} else if (res.http_status == 429) {
		a->b[which].hold_until = now + res.retry_after * 1000;
		*wait_ms = res.retry_after * 1000;
		w = FB_ADOPT_WAIT;
	} else if (++s->errors >= MAX_ERRORS) {
		snprintf(s->failed, sizeof(s->failed), "%s", res.error);
		fb_log(FB_LOG_WARN, "slack.adopt_unavailable", "method=%s channel=%s error=\"%s\"",
		       methods[which], s->channel, res.error);
		w = FB_ADOPT_UNKNOWN;
	} else {
		*wait_ms = 500LL << s->errors;
		w = FB_ADOPT_WAIT;
	}
	fb_slack_result_free(&res);
	return w;
}

fb_adopt_what fb_adopt_find(fb_adopt *a, fb_slackapi *api, const fb_adopt_query *q, int64_t now_ms,
                            char ts[32], int64_t *wait_ms)
{
	int64_t want = q->since_ms - MARGIN_MS;
	scan *s = scan_get(a, q->channel, q->thread_ts);

	*wait_ms = 0;
	if (!s)
		return FB_ADOPT_UNKNOWN;
	for (;;) {
		const char *hit = scan_lookup(s, q->incident_id, q->post_key);
		if (hit) {
			snprintf(ts, 32, "%s", hit);
			return FB_ADOPT_FOUND;
		}
		if (s->failed[0])
			return FB_ADOPT_UNKNOWN;
		if (s->covered_ms <= want)
			return FB_ADOPT_ABSENT;
		if (!s->running) { /* a new read, back far enough for this post */
			s->running = 1;
			s->target_ms = want;
			s->pages = 0;
			s->cursor[0] = '\0';
		}
		fb_adopt_what w = read_page(a, api, s, now_ms, wait_ms);
		if (w != FB_ADOPT_ABSENT)
			return w;
	}
}
