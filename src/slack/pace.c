/*
 * pace.c - owns the sender's scheduling: the queue of Web API calls not
 * yet sent, their order per incident, the token buckets (per channel for
 * chat.postMessage, per method by tier), the Retry-After holds, priority
 * and the collapsing of pending card updates.  Pure logic, no clock: the
 * sender thread calls it with the time (see pace.h for the rules).
 *
 * Each bucket is a GCRA: a call may go at now when now >= tat - (burst -
 * 1) * interval, and then tat = max(tat, now) + interval.  A choice scans
 * the queue once; a small table keyed by incident (rebuilt per scan)
 * says what of that incident is queued ahead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/pace.h"

#define MAX_CHANNELS 64
#define MAX_METHODS 16
#define MAX_HOLDS (MAX_METHODS + MAX_CHANNELS) /* per method, and per channel for posts */
#define POST_INTERVAL_MS 1000 /* chat.postMessage: about one a second per channel */

typedef struct {
	int64_t id;
	char incident[64], method[40], channel[64];
	int priority, card_exists, dropped;
	int64_t not_before;
	void *data;
} entry;

typedef struct {
	char key[64];
	int64_t tat; /* 0: never used */
} bucket;

typedef struct {
	char method[108]; /* a method, or "chat.postMessage#<channel>" */
	int64_t until;
} hold;

/* What of one incident the scan has met so far. */
enum {
	SEEN_CARD = 1,          /* a card entry */
	SEEN_CARD_UNPOSTED = 2, /* a card entry that will post (no ts yet) */
	SEEN_THREAD = 4,        /* a thread entry */
	SEEN_OTHER = 8,         /* an entry of another method */
	HAS_CARD = 16           /* the queue holds a card entry (anywhere) */
};

typedef struct {
	const char *key;
	unsigned flags;
} seen;

struct fb_pace {
	long post_interval_ms;
	entry *v;
	size_t n, cap;
	bucket chans[MAX_CHANNELS], methods[MAX_METHODS];
	hold holds[MAX_HOLDS];
	seen *seen;
	size_t seen_cap; /* a power of two, at least twice n */
};

/* ---- limits ---- */

static const struct {
	const char *method;
	int tier;
} tiers[] = {
    {"apps.connections.open", 1}, {"chat.delete", 3},        {"chat.update", 3},
    {"conversations.info", 3},    {"chat.postEphemeral", 4}, {"views.open", 4},
    {"views.update", 4},          {"views.push", 4},         {"views.publish", 4},
};

static const struct {
	int per_minute, burst;
} tier_rate[] = {{0, 0}, {1, 1}, {20, 3}, {50, 5}, {100, 10}};

int fb_pace_tier(const char *method)
{
	if (!strcmp(method, "chat.postMessage"))
		return 0;
	for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++)
		if (!strcmp(tiers[i].method, method))
			return tiers[i].tier;
	return 3; /* not in the table: the common tier of write methods */
}

int fb_pace_priority(const char *severity)
{
	if (severity && !strcmp(severity, "critical"))
		return FB_PACE_PRIO_CRITICAL;
	if (severity && !strcmp(severity, "warning"))
		return FB_PACE_PRIO_WARNING;
	return FB_PACE_PRIO_LOW;
}

/* The bucket's interval and burst for a call; 0 when it is not paced. */
static int64_t rule(const fb_pace *p, const char *called, int *burst)
{
	*burst = 1;
	if (p->post_interval_ms == 0)
		return 0;
	if (!strcmp(called, "chat.postMessage")) {
		if (p->post_interval_ms > 0)
			return p->post_interval_ms;
		*burst = FB_PACE_POST_BURST;
		return POST_INTERVAL_MS;
	}
	if (p->post_interval_ms > 0)
		return 0;
	int t = fb_pace_tier(called);
	*burst = tier_rate[t].burst;
	return 60000 / tier_rate[t].per_minute;
}

static bucket *bucket_find(bucket *v, size_t n, const char *key, int create)
{
	bucket *oldest = &v[0];
	for (size_t i = 0; i < n; i++) {
		if (v[i].tat && !strcmp(v[i].key, key))
			return &v[i];
		if (v[i].tat < oldest->tat)
			oldest = &v[i];
	}
	if (!create)
		return NULL;
	/* the least recent: its limit is the first to have run out */
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	oldest->tat = 0;
	return oldest;
}

static bucket *bucket_of(fb_pace *p, const entry *e, const char *called, int create)
{
	if (!strcmp(called, "chat.postMessage"))
		return bucket_find(p->chans, MAX_CHANNELS, e->channel, create);
	return bucket_find(p->methods, MAX_METHODS, called, create);
}

static hold *hold_find(fb_pace *p, const char *method, int create)
{
	hold *oldest = &p->holds[0];
	for (size_t i = 0; i < MAX_HOLDS; i++) {
		if (p->holds[i].method[0] && !strcmp(p->holds[i].method, method))
			return &p->holds[i];
		if (p->holds[i].until < oldest->until)
			oldest = &p->holds[i];
	}
	if (!create)
		return NULL;
	snprintf(oldest->method, sizeof(oldest->method), "%s", method);
	oldest->until = 0;
	return oldest;
}

static const char *called_of(const entry *e)
{
	if (!strcmp(e->method, "card"))
		return e->card_exists ? "chat.update" : "chat.postMessage";
	if (!strcmp(e->method, "thread"))
		return "chat.postMessage";
	return e->method;
}

/* The earliest time the entry's call may go, as far as limits go. */
static int64_t ready_at(fb_pace *p, const entry *e)
{
	const char *called = called_of(e);
	int64_t t = e->not_before;
	int burst;
	int64_t interval = rule(p, called, &burst);
	const hold *h = hold_find(p, called, 0);
	const bucket *b = interval ? bucket_of(p, e, called, 0) : NULL;
	char key[sizeof(h->method)];

	if (h && h->until > t)
		t = h->until;
	snprintf(key, sizeof(key), "%s#%s", called, e->channel);
	if (!strcmp(called, "chat.postMessage") && (h = hold_find(p, key, 0)) && h->until > t)
		t = h->until; /* a 429 on this channel's posts */
	if (b && b->tat - (burst - 1) * interval > t)
		t = b->tat - (burst - 1) * interval;
	return t;
}

static void spend(fb_pace *p, const entry *e, int64_t now)
{
	const char *called = called_of(e);
	int burst;
	int64_t interval = rule(p, called, &burst);
	bucket *b;

	if (!interval || !(b = bucket_of(p, e, called, 1)))
		return;
	b->tat = (b->tat > now ? b->tat : now) + interval;
}

/* ---- the queue ---- */

fb_err fb_pace_new(long post_interval_ms, fb_pace **out)
{
	fb_pace *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p)
		return fb_error_set(FB_ENOMEM, "out of memory");
	p->post_interval_ms = post_interval_ms;
	*out = p;
	return FB_OK;
}

void fb_pace_free(fb_pace *p, void (*free_data)(void *))
{
	if (!p)
		return;
	for (size_t i = 0; free_data && i < p->n; i++)
		free_data(p->v[i].data);
	free(p->v);
	free(p->seen);
	free(p);
}

size_t fb_pace_len(const fb_pace *p)
{
	return p->n;
}

fb_err fb_pace_add(fb_pace *p, const fb_pace_req *r, int64_t not_before)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		entry *nv = realloc(p->v, ncap * sizeof(*nv));
		if (!nv)
			return fb_error_set(FB_ENOMEM, "out of memory");
		p->v = nv;
		p->cap = ncap;
	}
	entry *e = &p->v[p->n++];
	memset(e, 0, sizeof(*e));
	e->id = r->id;
	snprintf(e->incident, sizeof(e->incident), "%s", r->incident_id ? r->incident_id : "");
	snprintf(e->method, sizeof(e->method), "%s", r->method);
	snprintf(e->channel, sizeof(e->channel), "%s", r->channel ? r->channel : "");
	e->priority = r->priority;
	e->card_exists = r->card_exists;
	e->not_before = not_before;
	e->data = r->data;
	return FB_OK;
}

static entry *find(fb_pace *p, int64_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].id == id)
			return &p->v[i];
	return NULL;
}

static void remove_at(fb_pace *p, size_t i)
{
	memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(p->v[0]));
	p->n--;
}

void fb_pace_done(fb_pace *p, int64_t id)
{
	entry *e = find(p, id);
	if (e)
		remove_at(p, (size_t)(e - p->v));
}

void fb_pace_later(fb_pace *p, int64_t id, int64_t not_before)
{
	entry *e = find(p, id);
	if (e)
		e->not_before = not_before;
}

void fb_pace_hold(fb_pace *p, const char *method, int64_t until)
{
	hold *h = hold_find(p, method, 1);
	if (h->until < until)
		h->until = until;
}

void fb_pace_hold_channel(fb_pace *p, const char *method, const char *channel, int64_t until)
{
	char key[sizeof(p->holds[0].method)];

	if (!channel || !*channel) {
		fb_pace_hold(p, method, until);
		return;
	}
	snprintf(key, sizeof(key), "%s#%s", method, channel);
	fb_pace_hold(p, key, until);
}

void fb_pace_card(fb_pace *p, const char *incident_id, int exists)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].incident, incident_id))
			p->v[i].card_exists = exists;
}

/* ---- choosing ---- */

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int seen_reset(fb_pace *p)
{
	size_t want = 16;
	while (want < 2 * p->n)
		want *= 2;
	if (want > p->seen_cap) {
		seen *nv = realloc(p->seen, want * sizeof(*nv));
		if (!nv)
			return -1;
		p->seen = nv;
		p->seen_cap = want;
	}
	memset(p->seen, 0, p->seen_cap * sizeof(*p->seen));
	return 0;
}

static seen *seen_get(fb_pace *p, const char *key)
{
	size_t mask = p->seen_cap - 1, i = (size_t)hash(key) & mask;
	while (p->seen[i].key && strcmp(p->seen[i].key, key))
		i = (i + 1) & mask;
	p->seen[i].key = key;
	return &p->seen[i];
}

/* Must e wait for what of its incident is queued ahead of it? */
static int blocked(const entry *e, unsigned ahead)
{
	if (!strcmp(e->method, "card"))
		return (ahead & SEEN_CARD) != 0;
	if (!strcmp(e->method, "thread"))
		return (ahead & (SEEN_CARD_UNPOSTED | SEEN_THREAD)) ||
		       (!e->card_exists && (ahead & HAS_CARD)); /* its card is behind it */
	return (ahead & (SEEN_CARD_UNPOSTED | SEEN_OTHER)) != 0;
}

static unsigned flags_of(const entry *e)
{
	if (!strcmp(e->method, "card"))
		return SEEN_CARD | (e->card_exists ? 0 : SEEN_CARD_UNPOSTED);
	return !strcmp(e->method, "thread") ? SEEN_THREAD : SEEN_OTHER;
}

/* The entry that may go now with the highest priority (the oldest of
 * those), or NULL and *wait: the least time until one might. */
static entry *choose(fb_pace *p, int64_t now, int64_t *wait)
{
	entry *best = NULL;
	int ordered = seen_reset(p) == 0;

	*wait = -1;
	for (size_t i = 0; ordered && i < p->n; i++)
		if (p->v[i].incident[0] && !strcmp(p->v[i].method, "card"))
			seen_get(p, p->v[i].incident)->flags |= HAS_CARD;
	for (size_t i = 0; i < p->n; i++) {
		entry *e = &p->v[i];
		if (e->incident[0] && ordered) {
			seen *s = seen_get(p, e->incident);
			int stop = blocked(e, s->flags);
			s->flags |= flags_of(e);
			if (stop)
				continue;
		}
		int64_t t = ready_at(p, e);
		if (t > now) {
			if (*wait < 0 || t - now < *wait)
				*wait = t - now;
			continue;
		}
		if (!best || e->priority > best->priority)
			best = e;
	}
	return best;
}

/* The picked card takes the newest pending card of its incident; the
 * ones it replaces are marked for DROP. */
static void collapse(fb_pace *p, entry *e)
{
	if (strcmp(e->method, "card") || !e->incident[0])
		return;
	for (size_t i = (size_t)(e - p->v) + 1; i < p->n; i++) {
		entry *l = &p->v[i];
		if (strcmp(l->method, "card") || strcmp(l->incident, e->incident))
			continue;
		int64_t id = e->id;
		void *data = e->data;
		e->id = l->id;
		e->data = l->data;
		e->priority = l->priority > e->priority ? l->priority : e->priority;
		l->id = id;
		l->data = data;
		l->dropped = 1;
	}
}

fb_pace_what fb_pace_next(fb_pace *p, int64_t now, fb_pace_pick *out)
{
	entry *e;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].dropped) {
			out->id = p->v[i].id;
			out->data = p->v[i].data;
			remove_at(p, i);
			return FB_PACE_DROP;
		}
	}
	if (p->n == 0)
		return FB_PACE_IDLE;
	if (!(e = choose(p, now, &out->wait_ms))) {
		if (out->wait_ms < 0) /* cannot happen: the oldest of a chain is never blocked */
			out->wait_ms = 100;
		return FB_PACE_WAIT;
	}
	collapse(p, e);
	spend(p, e, now);
	out->id = e->id;
	out->data = e->data;
	snprintf(out->called, sizeof(out->called), "%s", called_of(e));
	return FB_PACE_SEND;
}
