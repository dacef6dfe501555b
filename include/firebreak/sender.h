/*
 * sender.h - the outbox sender: one thread that sends the Slack Web API
 * calls the engine committed to the outbox, in order per incident, paced
 * by Slack's published limits (pace.h), critical incidents first when a
 * queue forms, waiting out a 429's Retry-After for that method only,
 * backing off on 5xx and network errors, and never retrying an ok:false
 * blindly.  Results go back to the engine, the only writer, which marks
 * the row and stores a card's ts.
 *
 * Row methods: any Web API method (its body sent as is), plus
 *   "card"   - the incident's card: chat.update when its ts is known,
 *              else chat.postMessage (the ts comes back in the result);
 *              pending card rows of one incident collapse into the
 *              newest (the older ones come back FB_SUPERSEDED);
 *   "thread" - chat.postMessage in the card's thread (thread_ts added).
 * Card and thread posts carry Slack message metadata naming them; a post
 * that may have gone out before a restart is looked for in the channel's
 * history first and its ts adopted (adopt.c): posted exactly once.
 * Keys of a body that start with "_" are for firebreak, not Slack: they
 * are stripped before sending ("_notify_user", "_notify_channel": whom to
 * tell when the call fails, e.g. a form that could not be opened;
 * "_priority": a number from fb_pace_priority(), the incident's severity).
 */
#ifndef FIREBREAK_SENDER_H
#define FIREBREAK_SENDER_H

#include <stdint.h>
#include "firebreak/error.h"
#include "firebreak/domain.h"

typedef enum { FB_SENT, FB_SEND_FAILED, FB_SUPERSEDED, FB_SEND_RETRY } fb_send_status;

typedef struct {
	int64_t id;
	char incident_id[64];
	char method[40]; /* the row's method */
	char called[40]; /* the Web API method actually called */
	fb_send_status status;
	char channel[64]; /* for a card: where it is */
	char ts[32];      /* for a card post: its ts (a string, never a float) */
	char error[160];
	char notify_user[32]; /* from the row's "_notify_user": who to tell on failure */
	int64_t latency_ms;   /* from submit to Slack's answer */
	int adopted;          /* a card post found in the channel's history (posted
	                       * before a restart): ts is the card's, to be stored */
} fb_send_result;

typedef struct {
	const char *api_url;
	const char *bot_token; /* copied into the client's header, never logged */
	long post_interval_ms; /* < 0: Slack's limits; 0: no pacing; > 0: flat (pace.h) */
	/* sender thread: hands over a heap result (the callee frees it) */
	void (*on_result)(void *ctx, fb_send_result *res);
	void *ctx;
	/* test hook (FIREBREAK_CRASH_AFTER): "slack.card" or "slack.thread"
	 * _exit(137)s right after Slack answered such a chat.postMessage, before
	 * the engine could commit its ts; NULL = none */
	const char *crash_after;
} fb_sender_opts;

typedef struct fb_sender fb_sender;

fb_err fb_sender_start(const fb_sender_opts *o, fb_sender **out);
/* Takes a heap row (from the outbox) and its body. */
fb_err fb_sender_submit(fb_sender *s, fb_outbox_row *row);
void fb_sender_stop(fb_sender *s);

#endif
