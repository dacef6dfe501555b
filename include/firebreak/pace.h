/*
 * pace.h - what the Slack sender sends next, and when: the queue of
 * Web API calls waiting to go, ordered per incident, paced by Slack's
 * published rate limits, with critical incidents first when a queue
 * forms and pending updates of one card collapsed into the newest.
 * Plain logic: no I/O, no threads, no clock reads (time is an argument,
 * in milliseconds of any monotonic clock), so it is tested with a fake
 * clock (tests/unit/test_pace.c).  One fb_pace belongs to one thread.
 *
 * Pacing (slack.md 2.5, https://api.slack.com/apis/rate-limits):
 *   chat.postMessage  about one per second per channel, with a short
 *                     burst (FB_PACE_POST_BURST), thread replies included;
 *   other methods     by their tier, per method: Tier 1 1/min, Tier 2
 *                     20/min, Tier 3 50/min (chat.update and methods not
 *                     in the table), Tier 4 100/min (views.*,
 *                     chat.postEphemeral), each with a short burst;
 *   Retry-After       a 429 holds that method only, in every mode; a 429
 *                     on chat.postMessage holds that channel's posts only
 *                     (its limit is per channel: fb_pace_hold_channel).
 * A token bucket per channel and per method (as a GCRA: one "theoretical
 * arrival time" per bucket).
 *
 * Order: a card is created before anything refers to it; cards stay in
 * order; thread lines stay in order and wait for their card; a card
 * update need not wait behind thread lines.  Among the calls that may go
 * now the one with the highest priority goes first, then the oldest.
 */
#ifndef FIREBREAK_PACE_H
#define FIREBREAK_PACE_H

#include <stdint.h>
#include "firebreak/error.h"

#define FB_PACE_POST_BURST 3 /* chat.postMessage in one channel at once */

/* Priorities: higher goes first when several calls may go. */
enum {
	FB_PACE_PRIO_LOW = 0,      /* info, none, not yet classified */
	FB_PACE_PRIO_WARNING = 1,  /* a warning-level incident */
	FB_PACE_PRIO_CRITICAL = 2, /* a critical incident */
	FB_PACE_PRIO_PERSON = 3    /* an answer to a person (a form, an ephemeral) */
};

/* The priority of an incident's calls, from its severity. */
int fb_pace_priority(const char *severity);
/* The method's tier (1-4), or 0 for chat.postMessage (per channel). */
int fb_pace_tier(const char *method);

typedef struct fb_pace fb_pace;

/*
 * post_interval_ms: < 0 follows Slack's limits (above); 0 paces nothing
 * (tests, the benchmark); > 0 is the old flat rule: one chat.postMessage
 * per channel per that many ms, other methods unpaced.
 */
fb_err fb_pace_new(long post_interval_ms, fb_pace **out);
/* Frees the queue; free_data (may be NULL) gets every entry still in it. */
void fb_pace_free(fb_pace *p, void (*free_data)(void *));

/* A call to queue. */
typedef struct {
	int64_t id;              /* the caller's, unique (the outbox row id) */
	const char *incident_id; /* "" for none: ordered with nothing */
	const char *method;      /* "card", "thread" or a Web API method */
	const char *channel;
	int priority;    /* FB_PACE_PRIO_* */
	int card_exists; /* the incident's card has a ts: "card" is an update */
	void *data;      /* the caller's, handed back by fb_pace_next */
} fb_pace_req;

fb_err fb_pace_add(fb_pace *p, const fb_pace_req *r, int64_t not_before);

typedef enum {
	FB_PACE_IDLE, /* nothing queued */
	FB_PACE_WAIT, /* nothing may go before wait_ms */
	FB_PACE_SEND, /* call `called` for entry id now; then fb_pace_done or keep it */
	FB_PACE_DROP  /* entry id was superseded by a newer card: it left the queue */
} fb_pace_what;

typedef struct {
	int64_t id;
	void *data;
	char called[40]; /* SEND: the Web API method (card -> chat.postMessage/chat.update) */
	int64_t wait_ms; /* WAIT */
} fb_pace_pick;

/*
 * The next thing to do at time now.  SEND counts the call against its
 * limits; the entry stays queued until fb_pace_done (sent or given up)
 * and meanwhile may be delayed (fb_pace_later, fb_pace_hold).  When the
 * picked entry is a card with newer card entries of its incident queued,
 * it takes the newest one's id and data (keeping its own place in the
 * order) and the older ones come back as DROP on the following calls.
 */
fb_pace_what fb_pace_next(fb_pace *p, int64_t now, fb_pace_pick *out);

/* Removes entry id (sent, failed, or given up); its data is the caller's. */
void fb_pace_done(fb_pace *p, int64_t id);
/* Entry id may not go again before not_before (its own backoff). */
void fb_pace_later(fb_pace *p, int64_t id, int64_t not_before);
/* A 429 on method: nothing calls it before until (Retry-After). */
void fb_pace_hold(fb_pace *p, const char *method, int64_t until);
/* A 429 on method in one channel (chat.postMessage's per-channel limit):
 * no call of method to that channel before until; other channels go on.
 * An empty channel holds the method everywhere (fb_pace_hold). */
void fb_pace_hold_channel(fb_pace *p, const char *method, const char *channel, int64_t until);
/* The incident's card now exists (a ts is known) or is gone (deleted). */
void fb_pace_card(fb_pace *p, const char *incident_id, int exists);
/* Entries queued. */
size_t fb_pace_len(const fb_pace *p);

#endif
