/*
 * sender.c - owns the sender thread and its Web API client: the card ts
 * it has learned, the calls themselves, what an answer means (sent, a
 * deleted card to post again, a 429, a backoff, a refusal) and the
 * results that go back to the engine through on_result.  Rows arrive
 * from the engine on a queue.
 *
 * What goes next, and when, is pace.c's: order per incident, Slack's
 * rate limits (or slack.post_interval_ms), Retry-After per method,
 * priority from the row's "_priority", and pending card updates
 * collapsed into the newest.  So a 429 on chat.update holds updates but
 * lets a post or a views.open through, inside its 3-second window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdatomic.h>
#include <unistd.h>

#include <pthread.h>

#include "firebreak/stopper.h"
#include "firebreak/log.h"
#include "firebreak/pace.h"
#include "firebreak/queue.h"
#include "firebreak/sender.h"
#include "firebreak/slackapi.h"
#include "firebreak/json.h"

#include "adopt_int.h"

#define MAX_TRIES 12
#define TRIGGER_WINDOW_MS 2500 /* views.open after this cannot succeed */

typedef struct {
	fb_outbox_row *row;
	int64_t submitted;
	int64_t maybe_sent_ms; /* a thread post that may be in Slack already: since */
	int adopted;           /* the card was found in the history (adopt.c) */
} item;

typedef struct {
	char incident_id[64], channel[64], ts[32];
} card_ref;

struct fb_sender {
	fb_sender_opts o;
	char api_url[512], token[512];
	fb_queue *in;
	pthread_t thread;
	int started;
	atomic_int stop; /* written by the stopping thread, read by the sender (TSan) */

	/* sender thread only */
	fb_slackapi *api;
	fb_pace *pace;
	card_ref *cards;
	size_t n_cards, cap_cards;
	fb_adopt *adopt;    /* exactly-once posts (adopt.c) */
	int64_t started_ms; /* wall clock: rows older than this may have been sent */
};

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

static const char *card_ts(fb_sender *s, const fb_outbox_row *r)
{
	card_ref *c = card_find(s, r->incident_id);
	if (c)
		return c->ts;
	return r->card_ts;
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
	res->adopted = it->adopted;
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

static void item_free(void *p)
{
	item *it = p;
	if (!it)
		return;
	fb_outbox_rows_free(it->row, 1);
	free(it);
}

/* The row leaves the queue: sent, failed or given up. */
static void finish(fb_sender *s, item *it)
{
	fb_pace_done(s->pace, it->row->id);
	item_free(it);
}

/* ---- exactly-once posts (adopt.c) ---- */

static int64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The metadata naming a card post (not an update) or a thread post. */
static void tag_post(const item *it, cJSON *args, int has_ts)
{
	char key[48];
	if (!it->row->incident_id[0])
		return;
	if (!strcmp(it->row->method, "card") && !has_ts) {
		fb_adopt_tag(args, it->row->incident_id, FB_ADOPT_CARD_KEY);
	} else if (!strcmp(it->row->method, "thread")) {
		fb_adopt_thread_key(it->row->id, key, sizeof(key));
		fb_adopt_tag(args, it->row->incident_id, key);
	}
}

/* A row written before this process started may have been sent by the
 * one before it (Slack answered, the ts was never committed). */
static void note_restart(fb_sender *s, item *it)
{
	const fb_outbox_row *r = it->row;
	if (r->created_ms > s->started_ms || !r->incident_id[0])
		return;
	if (!strcmp(r->method, "card") && !card_ts(s, r)[0])
		fb_adopt_card_unsure(s->adopt, r->incident_id, r->created_ms);
	else if (!strcmp(r->method, "thread"))
		it->maybe_sent_ms = r->created_ms;
}

/* What to look for before posting; 0: nothing (surely not sent). */
static int adopt_query(fb_sender *s, item *it, fb_adopt_query *q, char *key, size_t keysz)
{
	q->channel = it->row->channel;
	q->thread_ts = "";
	q->incident_id = it->row->incident_id;
	if (!strcmp(it->row->method, "card")) {
		q->post_key = FB_ADOPT_CARD_KEY;
		return fb_adopt_card_is_unsure(s->adopt, q->incident_id, &q->since_ms);
	}
	if (strcmp(it->row->method, "thread") || !it->maybe_sent_ms)
		return 0;
	fb_adopt_thread_key(it->row->id, key, keysz);
	q->thread_ts = card_ts(s, it->row);
	q->post_key = key;
	q->since_ms = it->maybe_sent_ms;
	return 1;
}

/* Before a post that may have gone out already: look for it in the
 * channel's history.  A card found becomes an update of that message; a
 * thread post found is done.  1 when the item was dealt with (or waits). */
static int adopt_first(fb_sender *s, item *it, const char **called)
{
	int card = !strcmp(it->row->method, "card");
	fb_adopt_query q;
	char key[48], ts[32] = "";
	int64_t wait = 0;

	if (strcmp(*called, "chat.postMessage") || !adopt_query(s, it, &q, key, sizeof(key)))
		return 0;
	fb_adopt_what w = fb_adopt_find(s->adopt, s->api, &q, fb_mono_ms(), ts, &wait);
	if (w == FB_ADOPT_WAIT) {
		fb_pace_later(s->pace, it->row->id, fb_mono_ms() + wait);
		return 1;
	}
	fb_log(FB_LOG_INFO, "slack.adopt", "outbox=%lld incident=%s key=%s found=%s%s",
	       (long long)it->row->id, q.incident_id, q.post_key,
	       w == FB_ADOPT_FOUND    ? "yes ts="
	       : w == FB_ADOPT_ABSENT ? "no"
	                              : "unknown",
	       ts);
	if (card)
		fb_adopt_card_settle(s->adopt, q.incident_id);
	it->maybe_sent_ms = 0;
	if (w != FB_ADOPT_FOUND)
		return 0;
	if (!card) {
		report(s, it, FB_SENT, "conversations.replies", ts, "");
		finish(s, it);
		return 1;
	}
	card_remember(s, q.incident_id, it->row->channel, ts);
	fb_pace_card(s->pace, q.incident_id, 1);
	it->adopted = 1; /* the newest card goes to the message found */
	*called = "chat.update";
	return 0;
}

/* After a card or thread chat.postMessage: the tests' crash hook; and a
 * post that failed in transport may have reached Slack all the same. */
static void after_post(fb_sender *s, item *it, const char *called, fb_err rc,
                       const fb_slack_result *res)
{
	int card = !strcmp(it->row->method, "card");
	if (strcmp(called, "chat.postMessage") || (!card && strcmp(it->row->method, "thread")))
		return;
	if (!rc && res->ok && s->o.crash_after &&
	    !strcmp(s->o.crash_after, card ? "slack.card" : "slack.thread")) {
		fb_log(FB_LOG_WARN, "test.crash", "after=%s outbox=%lld", s->o.crash_after,
		       (long long)it->row->id);
		_exit(137);
	}
	if (!rc || res->http_status == 429)
		return;
	int64_t since = wall_ms() - 60000; /* within the client's timeout */
	if (card) {
		fb_adopt_card_unsure(s->adopt, it->row->incident_id, since);
		fb_adopt_forget(s->adopt, it->row->channel, "");
	} else {
		it->maybe_sent_ms = since;
		fb_adopt_forget(s->adopt, it->row->channel, card_ts(s, it->row));
	}
}

/* Builds the arguments: the row's body without our "_" keys, plus the
 * card's ts (an update) or thread_ts (a thread line). */
static char *build_call(fb_sender *s, item *it)
{
	cJSON *args = cJSON_Parse(it->row->body);
	const char *ts = card_ts(s, it->row);
	char *json;

	if (!cJSON_IsObject(args)) {
		cJSON_Delete(args);
		return NULL;
	}
	for (cJSON *k = args->child, *next; k; k = next) { /* ours, not Slack's */
		next = k->next;
		if (k->string && k->string[0] == '_')
			cJSON_Delete(cJSON_DetachItemViaPointer(args, k));
	}
	if (!strcmp(it->row->method, "card") && ts[0])
		cJSON_AddStringToObject(args, "ts", ts);
	else if (!strcmp(it->row->method, "thread") && !fb_json_get(args, "thread_ts"))
		cJSON_AddStringToObject(args, "thread_ts", ts); /* storm.c may name another */
	tag_post(it, args, ts[0] != '\0');
	json = cJSON_PrintUnformatted(args);
	cJSON_Delete(args);
	return json;
}

static void answer_ok(fb_sender *s, item *it, const char *called, const fb_slack_result *res)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(res->body, "ts");
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(res->body, "channel");
	if (!strcmp(it->row->method, "card") && cJSON_IsString(ts)) {
		const char *chan = cJSON_IsString(ch) ? ch->valuestring : it->row->channel;
		snprintf(it->row->channel, sizeof(it->row->channel), "%s", chan);
		card_remember(s, it->row->incident_id, chan, ts->valuestring);
		fb_pace_card(s->pace, it->row->incident_id, 1);
	}
	report(s, it, FB_SENT, called, cJSON_IsString(ts) ? ts->valuestring : "", "");
	finish(s, it);
}

static void handle_answer(fb_sender *s, item *it, const char *called, fb_err rc,
                          fb_slack_result *res)
{
	int64_t now = fb_mono_ms();

	if (!rc && res->ok) {
		answer_ok(s, it, called, res);
		return;
	}
	if (!rc) { /* ok:false: Slack understood and said no; do not repeat blindly */
		fb_log(FB_LOG_WARN, "slack.call_failed", "method=%s error=%s messages=\"%.400s\"",
		       called, res->error, res->messages);
		if (!strcmp(it->row->method, "card") && !strcmp(res->error, "message_not_found")) {
			card_remember(s, it->row->incident_id, it->row->channel, "");
			it->row->card_ts[0] = '\0'; /* the card was deleted: post a new one */
			fb_pace_card(s->pace, it->row->incident_id, 0);
			return;
		}
		report(s, it, FB_SEND_FAILED, called, NULL, res->error);
		finish(s, it);
		return;
	}
	it->row->attempts++;
	if (res->http_status == 429) { /* this method (a post: this channel) waits */
		if (!strcmp(called, "chat.postMessage"))
			fb_pace_hold_channel(s->pace, called, it->row->channel,
			                     now + res->retry_after * 1000);
		else
			fb_pace_hold(s->pace, called, now + res->retry_after * 1000);
		fb_log(FB_LOG_INFO, "slack.rate_limited", "method=%s retry_after=%ld", called,
		       res->retry_after);
	} else {
		int64_t d = 500LL << (it->row->attempts < 7 ? it->row->attempts : 7);
		fb_pace_later(s->pace, it->row->id, now + d);
		fb_log(FB_LOG_WARN, "slack.call_retry",
		       "method=%s error=\"%s\" attempt=%ld in_ms=%lld", called, res->error,
		       it->row->attempts, (long long)d);
	}
	int trigger_gone =
	    !strcmp(it->row->method, "views.open") && now - it->submitted > TRIGGER_WINDOW_MS;
	/* Slack down (no answer, a 5xx) or busy (429) is waited out however
	 * long it lasts: cards coalesce, so a long outage costs no more calls
	 * afterwards.  Only refusals that repeat are given up on. */
	int transient = res->http_status == 0 || res->http_status >= 500 || res->http_status == 429;
	if ((it->row->attempts >= MAX_TRIES && !transient) || trigger_gone) {
		report(s, it, FB_SEND_FAILED, called, NULL,
		       trigger_gone ? "trigger_expired" : res->error);
		finish(s, it);
		return;
	}
	report(s, it, FB_SEND_RETRY, called, NULL, res->error);
}

static void send_one(fb_sender *s, item *it, const char *called)
{
	char *json;
	fb_slack_result res;
	fb_err rc;

	if (adopt_first(s, it, &called))
		return;
	if (!(json = build_call(s, it))) {
		report(s, it, FB_SEND_FAILED, it->row->method, NULL, "unreadable outbox body");
		finish(s, it);
		return;
	}
	rc = fb_slackapi_call(s->api, called, json, &res);
	free(json);
	after_post(s, it, called, rc, &res);
	handle_answer(s, it, called, rc, &res);
	fb_slack_result_free(&res);
}

/* Sends everything that may go now; returns ms until something might
 * (-1: nothing queued). */
static int64_t pump(fb_sender *s)
{
	while (!s->stop) {
		fb_pace_pick pk;
		switch (fb_pace_next(s->pace, fb_mono_ms(), &pk)) {
		case FB_PACE_IDLE: return -1;
		case FB_PACE_WAIT: return pk.wait_ms;
		case FB_PACE_DROP: /* a newer card carries everything */
			report(s, pk.data, FB_SUPERSEDED, "none", NULL, "");
			item_free(pk.data);
			break;
		case FB_PACE_SEND: send_one(s, pk.data, pk.called); break;
		}
	}
	return 0;
}

/* The row's "_priority" (from the incident's severity); an answer to a
 * person (no incident) goes before incident traffic. */
static int priority_of(const fb_outbox_row *row)
{
	cJSON *body;
	const cJSON *p;
	int v = FB_PACE_PRIO_LOW;

	if (!row->incident_id[0])
		return FB_PACE_PRIO_PERSON;
	if (!strstr(row->body, "\"_priority\"")) /* no need to parse */
		return v;
	body = cJSON_Parse(row->body);
	p = cJSON_GetObjectItemCaseSensitive(body, "_priority");
	if (cJSON_IsNumber(p) && p->valueint >= FB_PACE_PRIO_LOW &&
	    p->valueint <= FB_PACE_PRIO_PERSON) /* a storm card: PERSON (storm.c) */
		v = p->valueint;
	cJSON_Delete(body);
	return v;
}

/* A storm card (stormcard.c) is no incident's: its ts, once known, rides
 * in its body as "_card_ts", so an update after a restart is an update. */
static void storm_ts(fb_outbox_row *row)
{
	cJSON *body;
	const cJSON *ts;

	if (row->card_ts[0] || strncmp(row->incident_id, "storm-", 6))
		return;
	body = cJSON_Parse(row->body);
	ts = cJSON_GetObjectItemCaseSensitive(body, "_card_ts");
	if (cJSON_IsString(ts))
		snprintf(row->card_ts, sizeof(row->card_ts), "%s", ts->valuestring);
	cJSON_Delete(body);
}

static void append(fb_sender *s, fb_outbox_row *row)
{
	item *it = calloc(1, sizeof(*it));
	if (!it) {
		fb_outbox_rows_free(row, 1);
		return;
	}
	it->row = row;
	it->submitted = fb_mono_ms();
	storm_ts(row);
	note_restart(s, it);
	fb_pace_req req = {.id = row->id,
	                   .incident_id = row->incident_id,
	                   .method = row->method,
	                   .channel = row->channel,
	                   .priority = priority_of(row),
	                   .card_exists = card_ts(s, row)[0] != '\0',
	                   .data = it};
	if (fb_pace_add(s->pace, &req, 0) != FB_OK) {
		fb_log(FB_LOG_ERROR, "slack.queue_full", "outbox=%lld", (long long)row->id);
		item_free(it); /* still pending in the outbox: sent after restart */
	}
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
	    (rc = fb_pace_new(o->post_interval_ms, &s->pace)) || (rc = fb_adopt_new(&s->adopt)) ||
	    (rc = fb_slackapi_new(s->api_url, s->token, &s->api))) {
		fb_sender_stop(s);
		return rc;
	}
	explicit_bzero(s->token, sizeof(s->token));
	s->started_ms = wall_ms();
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
	/* what is still queued is pending in the outbox: sent after restart */
	fb_pace_free(s->pace, item_free);
	free(s->cards);
	fb_adopt_free(s->adopt);
	explicit_bzero(s->token, sizeof(s->token));
	free(s);
}
