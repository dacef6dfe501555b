/*
 * adopt_int.h - exactly-once posts (adopt.c): every card and thread post
 * carries Slack message metadata naming it (event type
 * "firebreak_incident", payload {incident_id, post_key}); a post that may
 * have gone out before a restart (Slack answered, the ts was never
 * committed) is looked for in the channel's history
 * (conversations.history, or conversations.replies for a thread) before
 * it is posted again, and the found message's ts is adopted.  Sender
 * thread only.
 */
#ifndef FIREBREAK_ADOPT_INT_H
#define FIREBREAK_ADOPT_INT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "firebreak/error.h"
#include "firebreak/slackapi.h"

#define FB_ADOPT_EVENT "firebreak_incident"
#define FB_ADOPT_CARD_KEY "card" /* the post_key of an incident's card */

typedef struct fb_adopt fb_adopt;

fb_err fb_adopt_new(fb_adopt **out);
void fb_adopt_free(fb_adopt *a);

/* Adds "metadata" naming the post to chat.postMessage arguments. */
void fb_adopt_tag(cJSON *args, const char *incident_id, const char *post_key);
/* The post_key of a thread post: "thread-<outbox id>". */
void fb_adopt_thread_key(int64_t outbox_id, char *out, size_t outsz);

/* The incident's card may have been posted before the restart (a card row
 * from then, no ts committed): since_ms is that row's creation (wall
 * clock).  unsure returns 1 and the earliest since_ms while it is so;
 * settle forgets it (the card was found, or is known to be absent). */
void fb_adopt_card_unsure(fb_adopt *a, const char *incident_id, int64_t since_ms);
int fb_adopt_card_is_unsure(const fb_adopt *a, const char *incident_id, int64_t *since_ms);
void fb_adopt_card_settle(fb_adopt *a, const char *incident_id);

/* A post may have gone out since the channel's (thread's) history was
 * read: the next find reads it again. */
void fb_adopt_forget(fb_adopt *a, const char *channel, const char *thread_ts);

typedef enum {
	FB_ADOPT_FOUND,  /* the post is there: ts set */
	FB_ADOPT_ABSENT, /* the history since since_ms was read; not there: post */
	FB_ADOPT_WAIT,   /* paced, Retry-After or a transient error: again in *wait_ms */
	FB_ADOPT_UNKNOWN /* the history cannot be read (scope, membership): post */
} fb_adopt_what;

typedef struct {
	const char *channel;
	const char *thread_ts; /* "" = a top-level post (conversations.history) */
	const char *incident_id;
	const char *post_key;
	int64_t since_ms; /* wall clock: the post cannot be older than this */
} fb_adopt_query;

/* Looks for the post, reading (more of) the history when needed, no
 * faster than conversations.history/.replies' tier (Tier 3) allows and
 * never before a Retry-After has passed.  now_ms: the monotonic clock. */
fb_adopt_what fb_adopt_find(fb_adopt *a, fb_slackapi *api, const fb_adopt_query *q, int64_t now_ms,
                            char ts[32], int64_t *wait_ms);

#endif
