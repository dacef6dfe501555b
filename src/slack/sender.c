/*
 * sender.c - owns the sender thread and its Web API client: the list of
 * outbox rows not yet sent, the card ts it has learned, per-channel post
 * pacing, per-method Retry-After and per-row backoff.  Rows arrive from
 * the engine on a queue; results go back through on_result.
 *
 * Choosing what to send next: the oldest row that is allowed now.  A row
 * waits while an older row of the same incident must go first (the card
 * must exist before its thread; see must_follow), while its method is
 * rate limited, while its
 * channel was posted to less than post_interval_ms ago, or while its own
 * backoff runs.  So a 429 on chat.postMessage holds posts but lets a
 * views.open through, inside its 3-second trigger window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "firebreak/stopper.h"
#include "firebreak/log.h"
#include "firebreak/queue.h"
#include "firebreak/sender.h"
#include "firebreak/slackapi.h"

#define MAX_TRIES 12
#define TRIGGER_WINDOW_MS 2500 /* views.open after this cannot succeed */
#define MAX_LIMITS 16

typedef struct item {
	struct item *next;
	fb_outbox_row *row;
	int64_t not_before, submitted;
} item;

typedef struct {
	char key[64];
	int64_t until;
} limit;

typedef struct {
	char incident_id[64], channel[64], ts[32];
} card_ref;

struct fb_sender {
	fb_sender_opts o;
	char api_url[512], token[512];
	fb_queue *in;
	pthread_t thread;
	int started;
	volatile int stop;

	/* sender thread only */
	fb_slackapi *api;
	item *head;
	limit methods[MAX_LIMITS], channels[MAX_LIMITS * 4];
	card_ref *cards;
	size_t n_cards, cap_cards;
};

static limit *limit_slot(limit *v, size_t n, const char *key, int create)
{
	limit *oldest = &v[0];
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].key, key))
			return &v[i];
		if (v[i].until < oldest->until)
			oldest = &v[i];
	}
	if (!create)
		return NULL;
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	oldest->until = 0;
	return oldest;
}

static card_ref *card_find(fb_sender *s, const char *id)
{
	for (size_t i = 0; i < s->n_cards; i++)
		if (!strcmp(s->cards[i].incident_id, id))
			return &s->cards[i];
	return NULL;
}

static void card_remember(fb_sender *s, const char *id, const char *channel, const char *ts)
{
	card_ref *c = card_find(s, id);
	if (!c) {
		if (s->n_cards == s->cap_cards) {
			size_t ncap = s->cap_cards ? s->cap_cards * 2 : 64;
			card_ref *nv = realloc(s->cards, ncap * sizeof(*nv));
			if (!nv)
				return;
			s->cards = nv;
			s->cap_cards = ncap;
		}
		c = &s->cards[s->n_cards++];
		snprintf(c->incident_id, sizeof(c->incident_id), "%s", id);
	}
	snprintf(c->channel, sizeof(c->channel), "%s", channel);
	snprintf(c->ts, sizeof(c->ts), "%s", ts);
}

static const char *card_ts(fb_sender *s, const item *it)
{
	card_ref *c = card_find(s, it->row->incident_id);
	if (c && c->ts[0])
		return c->ts;
	return it->row->card_ts;
}

/* The Web API method a row will call: rate limits are per method. */
static const char *called_method(fb_sender *s, const item *it)
{
	const char *m = it->row->method;
	if (!strcmp(m, "card"))
		return card_ts(s, it)[0] ? "chat.update" : "chat.postMessage";
	if (!strcmp(m, "thread"))
		return "chat.postMessage";
	return m;
}

static int is_post(fb_sender *s, const item *it)
{
	return !strcmp(called_method(s, it), "chat.postMessage");
}

/* Within one incident: the card must exist before anything refers to
 * it, cards stay in order, thread lines stay in order; but a card update
 * need not wait behind thread lines paced at one a second. */
static int must_follow(fb_sender *s, const item *it, const item *older)
{
	const char *m = it->row->method, *o = older->row->method;
	if (!strcmp(o, "card"))
		return !card_ts(s, older)[0] || !strcmp(m, "card");
	return !strcmp(m, o);
}

/* May this row go now?  *wait gets the time until it might. */
static int eligible(fb_sender *s, const item *it, int64_t now, int64_t *wait)
{
	const fb_outbox_row *r = it->row;
	int64_t until = it->not_before;
	limit *m = limit_slot(s->methods, MAX_LIMITS, called_method(s, it), 0);
	limit *c = is_post(s, it) ? limit_slot(s->channels, MAX_LIMITS * 4, r->channel, 0) : NULL;

	for (const item *p = s->head; p != it; p = p->next)
		if (r->incident_id[0] && !strcmp(p->row->incident_id, r->incident_id) &&
		    must_follow(s, it, p))
			return 0;
	if (m && m->until > until)
		until = m->until;
	if (c && c->until > until)
		until = c->until;
	if (until > now) {
		if (*wait < 0 || until - now < *wait)
			*wait = until - now;
		return 0;
	}
	return 1;
}

static void report(fb_sender *s, item *it, fb_send_status st, const char *called, const char *ts,
                   const char *error)
{
	fb_send_result *res = calloc(1, sizeof(*res));
	if (!res)
		return;
	res->id = it->row->id;
	snprintf(res->incident_id, sizeof(res->incident_id), "%s", it->row->incident_id);
	snprintf(res->method, sizeof(res->method), "%s", it->row->method);
	snprintf(res->called, sizeof(res->called), "%s", called);
	res->status = st;
	snprintf(res->channel, sizeof(res->channel), "%s", it->row->channel);
	snprintf(res->ts, sizeof(res->ts), "%s", ts ? ts : "");
	snprintf(res->error, sizeof(res->error), "%s", error ? error : "");
	res->latency_ms = fb_mono_ms() - it->submitted;
	cJSON *body = cJSON_Parse(it->row->body);
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(body, "_notify_user");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "_notify_channel");
	if (cJSON_IsString(u) && cJSON_IsString(c)) {
		snprintf(res->notify_user, sizeof(res->notify_user), "%s", u->valuestring);
		snprintf(res->channel, sizeof(res->channel), "%s", c->valuestring);
	}
	cJSON_Delete(body);
	s->o.on_result(s->o.ctx, res);
}

static void unlink_item(fb_sender *s, item *it)
{
	item **pp = &s->head;
	while (*pp && *pp != it)
		pp = &(*pp)->next;
	if (*pp)
		*pp = it->next;
	fb_outbox_rows_free(it->row, 1);
	free(it);
}

/* A card row with a newer card row behind it is not worth sending once
 * the card exists: the newer one carries everything. */
static int superseded(fb_sender *s, item *it)
{
	if (strcmp(it->row->method, "card") || !card_ts(s, it)[0])
		return 0;
	for (item *p = it->next; p; p = p->next)
		if (!strcmp(p->row->method, "card") &&
		    !strcmp(p->row->incident_id, it->row->incident_id))
			return 1;
	return 0;
}

/* The first post of a card carries the newest state: a card that
 * changed three times before it could be posted is posted once. */
static void take_newest_card(fb_sender *s, item *it)
{
	item *p = it->next, *next;
	if (strcmp(it->row->method, "card") || card_ts(s, it)[0])
		return;
	for (; p; p = next) {
		next = p->next;
		if (strcmp(p->row->method, "card") ||
		    strcmp(p->row->incident_id, it->row->incident_id))
			continue;
		char *body = it->row->body;
		it->row->body = p->row->body;
		p->row->body = body;
		report(s, p, FB_SUPERSEDED, "none", NULL, "");
		unlink_item(s, p);
	}
}

/* Builds the arguments and picks the method actually called. */
static char *build_call(fb_sender *s, item *it, char called[40])
{
	cJSON *args = cJSON_Parse(it->row->body);
	const char *ts = card_ts(s, it);
	char *json;

	if (!cJSON_IsObject(args)) {
		cJSON_Delete(args);
		return NULL;
	}
	snprintf(called, 40, "%s", called_method(s, it));
	for (cJSON *k = args->child, *next; k; k = next) { /* ours, not Slack's */
		next = k->next;
		if (k->string && k->string[0] == '_')
			cJSON_Delete(cJSON_DetachItemViaPointer(args, k));
	}
	if (!strcmp(it->row->method, "card") && ts[0])
		cJSON_AddStringToObject(args, "ts", ts);
	else if (!strcmp(it->row->method, "thread"))
		cJSON_AddStringToObject(args, "thread_ts", ts);
	json = cJSON_PrintUnformatted(args);
	cJSON_Delete(args);
	return json;
}

static void handle_answer(fb_sender *s, item *it, const char *called, fb_err rc,
                          fb_slack_result *res)
{
	int64_t now = fb_mono_ms();

	if (!rc && res->ok) {
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(res->body, "ts");
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(res->body, "channel");
		if (!strcmp(it->row->method, "card") && cJSON_IsString(ts)) {
			const char *chan = cJSON_IsString(ch) ? ch->valuestring : it->row->channel;
			snprintf(it->row->channel, sizeof(it->row->channel), "%s", chan);
			card_remember(s, it->row->incident_id, chan, ts->valuestring);
		}
		report(s, it, FB_SENT, called, cJSON_IsString(ts) ? ts->valuestring : "", "");
		unlink_item(s, it);
		return;
	}
	if (!rc) { /* ok:false: Slack understood and said no; do not repeat blindly */
		fb_log(FB_LOG_WARN, "slack.call_failed", "method=%s error=%s messages=\"%.400s\"",
		       called, res->error, res->messages);
		if (!strcmp(it->row->method, "card") && !strcmp(res->error, "message_not_found")) {
			card_remember(s, it->row->incident_id, it->row->channel, "");
			it->row->card_ts[0] = '\0'; /* the card was deleted: post a new one */
			return;
		}
		report(s, it, FB_SEND_FAILED, called, NULL, res->error);
		unlink_item(s, it);
		return;
	}
	it->row->attempts++;
	if (res->http_status == 429) { /* this method waits; the others go on */
		limit *m = limit_slot(s->methods, MAX_LIMITS, called, 1);
		m->until = now + res->retry_after * 1000;
		fb_log(FB_LOG_INFO, "slack.rate_limited", "method=%s retry_after=%ld", called,
		       res->retry_after);
	} else {
		int64_t d = 500LL << (it->row->attempts < 7 ? it->row->attempts : 7);
		it->not_before = now + d;
		fb_log(FB_LOG_WARN, "slack.call_retry",
		       "method=%s error=\"%s\" attempt=%ld in_ms=%lld", called, res->error,
		       it->row->attempts, (long long)d);
	}
	int trigger_gone =
	    !strcmp(it->row->method, "views.open") && now - it->submitted > TRIGGER_WINDOW_MS;
	if (it->row->attempts >= MAX_TRIES || trigger_gone) {
		report(s, it, FB_SEND_FAILED, called, NULL,
		       trigger_gone ? "trigger_expired" : res->error);
		unlink_item(s, it);
		return;
	}
	report(s, it, FB_SEND_RETRY, called, NULL, res->error);
}

static void send_one(fb_sender *s, item *it)
{
	char called[40];
	char *json;

	take_newest_card(s, it);
	json = build_call(s, it, called);
	fb_slack_result res;
	fb_err rc;

	if (!json) {
		report(s, it, FB_SEND_FAILED, it->row->method, NULL, "unreadable outbox body");
		unlink_item(s, it);
		return;
	}
	if (is_post(s, it)) {
		limit *c = limit_slot(s->channels, MAX_LIMITS * 4, it->row->channel, 1);
		c->until = fb_mono_ms() + s->o.post_interval_ms;
	}
	rc = fb_slackapi_call(s->api, called, json, &res);
	free(json);
	handle_answer(s, it, called, rc, &res);
	fb_slack_result_free(&res);
}

/* Sends everything that may go now; returns ms until something might. */
static int64_t pump(fb_sender *s)
{
	for (;;) {
		int64_t now = fb_mono_ms(), wait = -1;
		item *pick = NULL;
		for (item *it = s->head; it; it = it->next) {
			if (superseded(s, it)) {
				report(s, it, FB_SUPERSEDED, "none", NULL, "");
				unlink_item(s, it);
				pick = NULL;
				wait = 0;
				break;
			}
			if (eligible(s, it, now, &wait)) {
				pick = it;
				break;
			}
		}
		if (pick)
			send_one(s, pick);
		else if (wait != 0)
			return wait;
		if (s->stop)
			return 0;
	}
}

static void append(fb_sender *s, fb_outbox_row *row)
{
	item *it = calloc(1, sizeof(*it)), **pp = &s->head;
	if (!it) {
		fb_outbox_rows_free(row, 1);
		return;
	}
	it->row = row;
	it->submitted = fb_mono_ms();
	while (*pp)
		pp = &(*pp)->next;
	*pp = it;
}

static void *sender_main(void *arg)
{
	fb_sender *s = arg;
	int64_t wait = -1;

	while (!s->stop) {
		fb_outbox_row *row = fb_queue_pop(s->in, wait);
		if (row)
			append(s, row);
		while ((row = fb_queue_pop(s->in, 0)))
			append(s, row);
		if (s->stop)
			break;
		wait = pump(s);
	}
	while (s->head)
		unlink_item(s, s->head); /* still pending in the outbox: sent after restart */
	return NULL;
}

fb_err fb_sender_start(const fb_sender_opts *o, fb_sender **out)
{
	fb_sender *s = calloc(1, sizeof(*s));
	fb_err rc;

	*out = NULL;
	if (!s)
		return fb_error_set(FB_ENOMEM, "out of memory");
	s->o = *o;
	snprintf(s->api_url, sizeof(s->api_url), "%s", o->api_url);
	snprintf(s->token, sizeof(s->token), "%s", o->bot_token);
	if ((rc = fb_queue_new(65536, &s->in)) ||
	    (rc = fb_slackapi_new(s->api_url, s->token, &s->api))) {
		fb_sender_stop(s);
		return rc;
	}
	explicit_bzero(s->token, sizeof(s->token));
	if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		fb_sender_stop(s);
		return fb_error_set(FB_ERR, "cannot start the sender thread");
	}
	s->started = 1;
	*out = s;
	return FB_OK;
}

fb_err fb_sender_submit(fb_sender *s, fb_outbox_row *row)
{
	fb_err rc = fb_queue_push(s->in, row);
	if (rc)
		fb_outbox_rows_free(row, 1);
	return rc;
}

static void free_row(void *p)
{
	fb_outbox_rows_free(p, 1);
}

void fb_sender_stop(fb_sender *s)
{
	if (!s)
		return;
	s->stop = 1;
	if (s->in)
		fb_queue_poke(s->in);
	if (s->started)
		pthread_join(s->thread, NULL);
	fb_queue_free(s->in, free_row);
	fb_slackapi_free(s->api);
	free(s->cards);
	explicit_bzero(s->token, sizeof(s->token));
	free(s);
}
