/*
 * storm.c - owns storm control's decision (storm.h): whether a channel
 * is in a storm, and where a new incident's first card goes then -- a
 * group of incidents with the same category and a shared cause, the
 * channel's digest, or its own card.  Pure logic over one channel's
 * record (cJSON); the engine thread runs it inside a step's commit.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/json.h"
#include "firebreak/storm.h"

#define RATE_SPAN_MS 60000 /* storm.rate is per minute */
#define MAX_RECENT 512     /* entries kept for correlation */
#define MAX_CARDS 64       /* storm cards kept per channel (the oldest go) */

static void key_add(fb_storm_incident *o, const char *kind, const char *v)
{
	if (!v || !*v || o->n_keys >= FB_STORM_KEYS)
		return;
	snprintf(o->keys[o->n_keys++], sizeof(o->keys[0]), "%s:%s", kind, v);
}

static const char *fact(const fb_state *s, const char *k)
{
	for (size_t i = 0; i < s->classification.n_facts; i++)
		if (!strcmp(s->classification.facts[i].key, k))
			return s->classification.facts[i].value;
	return NULL;
}

void fb_storm_incident_of(const fb_incident_row *row, const fb_state *state, fb_storm_incident *out)
{
	const fb_classification *c = &state->classification;
	const char *app = *row->app     ? row->app
	                  : *state->app ? state->app
	                  : c->n_apps   ? c->apps[0]
	                                : "";
	const char *ns = *row->ns ? row->ns : *state->ns ? state->ns : c->ns;
	const char *dep = fact(state, "deployment");

	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", row->id);
	snprintf(out->app, sizeof(out->app), "%s", app);
	snprintf(out->severity, sizeof(out->severity), "%s", row->severity);
	snprintf(out->category, sizeof(out->category), "%s",
	         *row->category ? row->category : c->category);
	snprintf(out->status, sizeof(out->status), "%s", row->status);
	key_add(out, "ns", ns);
	key_add(out, "node", fact(state, "node"));
	key_add(out, "app", dep ? dep : app);
	/* a log's normalised error line names a common upstream cause; an
	 * alert's signature is its rule's, shared by unrelated alerts */
	if (strcmp(row->source, "alertmanager"))
		key_add(out, "sig", c->signature);
}

/* ---- the record ---- */

static cJSON *arr(cJSON *rec, const char *name)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, name);
	if (!cJSON_IsArray(a)) {
		cJSON_DeleteItemFromObjectCaseSensitive(rec, name);
		a = cJSON_AddArrayToObject(rec, name);
	}
	return a;
}

static int64_t num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddStringToObject(o, k, v ? v : "");
}

static void set_num(cJSON *o, const char *k, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddNumberToObject(o, k, v);
}

static cJSON *keys_json(const fb_storm_incident *inc)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < inc->n_keys; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(inc->keys[i]));
	return a;
}

/* Whether the JSON array of keys shares one with inc. */
static int shares(const cJSON *keys, const fb_storm_incident *inc)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, keys)
	{
		for (size_t i = 0; cJSON_IsString(k) && i < inc->n_keys; i++)
			if (!strcmp(k->valuestring, inc->keys[i]))
				return 1;
	}
	return 0;
}

/* The keys of the JSON array that inc has too: a group's cause is what
 * its first two members share. */
static cJSON *shared_keys(const cJSON *keys, const fb_storm_incident *inc)
{
	cJSON *a = cJSON_CreateArray();
	const cJSON *k;
	cJSON_ArrayForEach(k, keys)
	{
		for (size_t i = 0; a && cJSON_IsString(k) && i < inc->n_keys; i++)
			if (!strcmp(k->valuestring, inc->keys[i]))
				cJSON_AddItemToArray(a, cJSON_CreateString(inc->keys[i]));
	}
	return a;
}

static cJSON *member_json(const fb_storm_incident *inc, int open)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "id", inc->id);
	cJSON_AddStringToObject(m, "app", inc->app);
	cJSON_AddStringToObject(m, "sev", inc->severity);
	cJSON_AddStringToObject(m, "cat", inc->category);
	cJSON_AddStringToObject(m, "status", inc->status);
	cJSON_AddBoolToObject(m, "open", open);
	return m;
}

/* Drops entries older than the longer of a minute and the window, keeps
 * at most MAX_RECENT entries and MAX_CARDS cards. */
static void prune(cJSON *rec, int64_t window_ms, int64_t now)
{
	cJSON *recent = arr(rec, "recent"), *cards = arr(rec, "cards");
	int64_t keep = window_ms > RATE_SPAN_MS ? window_ms : RATE_SPAN_MS;

	while (cJSON_GetArraySize(recent) > 0 &&
	       (num(cJSON_GetArrayItem(recent, 0), "t") < now - keep ||
	        cJSON_GetArraySize(recent) > MAX_RECENT))
		cJSON_DeleteItemFromArray(recent, 0);
	while (cJSON_GetArraySize(cards) > MAX_CARDS)
		cJSON_DeleteItemFromArray(cards, 0);
}

static int active(const cJSON *card, int64_t window_ms, int64_t now)
{
	return now - num(card, "last") <= window_ms;
}

static const char *kind_of(const cJSON *card)
{
	return fb_json_str(card, "kind");
}

static cJSON *new_card(cJSON *rec, const char *channel, const char *kind, const char *cat,
                       cJSON *keys, int64_t now)
{
	cJSON *c = cJSON_CreateObject();
	char id[64];
	int64_t seq = num(rec, "seq") + 1;

	set_num(rec, "seq", (double)seq);
	snprintf(id, sizeof(id), "storm-%.40s-%lld", channel, (long long)seq);
	cJSON_AddStringToObject(c, "id", id);
	cJSON_AddStringToObject(c, "kind", kind);
	cJSON_AddStringToObject(c, "cat", cat);
	cJSON_AddItemToObject(c, "keys", keys ? keys : cJSON_CreateArray());
	cJSON_AddStringToObject(c, "ts", "");
	cJSON_AddNumberToObject(c, "last", (double)now);
	cJSON_AddArrayToObject(c, "members");
	cJSON_AddItemToArray(arr(rec, "cards"), c);
	return c;
}

/* Takes an entry out of the digest it is in (it moves to a group). */
static void leave(cJSON *rec, const char *in, const char *id, char also[64])
{
	cJSON *card = fb_storm_card(rec, in),
	      *ms = cJSON_GetObjectItemCaseSensitive(card, "members");
	int i = 0;
	const cJSON *m;

	cJSON_ArrayForEach(m, ms)
	{
		if (!strcmp(fb_json_str(m, "id"), id)) {
			cJSON_DeleteItemFromArray(ms, i);
			snprintf(also, 64, "%s", in);
			return;
		}
		i++;
	}
}

/* A new group from the earlier entries that share a cause with inc
 * (they move into it); NULL when none does. */
static cJSON *group_from_recent(cJSON *rec, const char *channel, const fb_storm_incident *inc,
                                int64_t window_ms, int64_t now, char also[64])
{
	cJSON *recent = arr(rec, "recent"), *e, *g = NULL;

	cJSON_ArrayForEach(e, recent)
	{
		const char *in = fb_json_str(e, "in");
		cJSON *holder = *in ? fb_storm_card(rec, in) : NULL;
		if (num(e, "t") < now - window_ms || strcmp(fb_json_str(e, "cat"), inc->category) ||
		    !strcmp(fb_json_str(e, "id"), inc->id) ||
		    (holder && !strcmp(kind_of(holder), "group")) ||
		    !shares(fb_json_get(e, "keys"), inc))
			continue;
		if (!g)
			g = new_card(rec, channel, "group", inc->category,
			             shared_keys(fb_json_get(e, "keys"), inc), now);
		fb_storm_incident x = {0};
		snprintf(x.id, sizeof(x.id), "%s", fb_json_str(e, "id"));
		snprintf(x.app, sizeof(x.app), "%s", fb_json_str(e, "app"));
		snprintf(x.severity, sizeof(x.severity), "%s", fb_json_str(e, "sev"));
		snprintf(x.category, sizeof(x.category), "%s", fb_json_str(e, "cat"));
		snprintf(x.status, sizeof(x.status), "%s", fb_json_str(e, "status"));
		int open = !holder; /* its own card is in the channel */
		if (holder) {
			int was_open = 0;
			fb_storm_card_of(rec, x.id, &was_open);
			open = was_open;
			leave(rec, in, x.id, also);
		}
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(g, "members"),
		                     member_json(&x, open));
		set_str(e, "in", fb_json_str(g, "id"));
	}
	return g;
}

static cJSON *find_active(cJSON *rec, const char *kind, const fb_storm_incident *inc,
                          int64_t window_ms, int64_t now)
{
	cJSON *c;
	cJSON_ArrayForEach(c, arr(rec, "cards"))
	{
		if (strcmp(kind_of(c), kind) || !active(c, window_ms, now))
			continue;
		if (!inc || (!strcmp(fb_json_str(c, "cat"), inc->category) &&
		             shares(fb_json_get(c, "keys"), inc)))
			return c;
	}
	return NULL;
}

static int storming(cJSON *rec, long rate, int64_t window_ms, int64_t now)
{
	long n = 0;
	const cJSON *e;

	if (rate <= 0)
		return 0;
	cJSON_ArrayForEach(e, arr(rec, "recent")) n += num(e, "t") >= now - RATE_SPAN_MS;
	if (n >= rate)
		return 1;
	const cJSON *c;
	cJSON_ArrayForEach(c, arr(rec, "cards"))
	{
		if (active(c, window_ms, now))
			return 1;
	}
	return 0;
}

fb_storm_route fb_storm_route_new(cJSON *rec, const char *channel, long rate, int64_t window_ms,
                                  const fb_storm_incident *inc, int64_t now, char card[64],
                                  char also[64])
{
	cJSON *e, *c;
	int storm;

	card[0] = also[0] = '\0';
	prune(rec, window_ms, now);
	storm = storming(rec, rate, window_ms, now);
	e = member_json(inc, 0);
	cJSON_DeleteItemFromObjectCaseSensitive(e, "open");
	cJSON_AddItemToObject(e, "keys", keys_json(inc));
	cJSON_AddNumberToObject(e, "t", (double)now);
	cJSON_AddStringToObject(e, "in", "");
	cJSON_AddItemToArray(arr(rec, "recent"), e);
	if (!storm)
		return FB_STORM_OWN;
	fb_storm_route r = FB_STORM_GROUP;
	if (!(c = find_active(rec, "group", inc, window_ms, now)) &&
	    !(c = group_from_recent(rec, channel, inc, window_ms, now, also))) {
		r = FB_STORM_DIGEST;
		if (!(c = find_active(rec, "digest", NULL, window_ms, now)))
			c = new_card(rec, channel, "digest", "", NULL, now);
	}
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(c, "members"), member_json(inc, 0));
	set_num(c, "last", (double)now);
	set_str(e, "in", fb_json_str(c, "id"));
	snprintf(card, 64, "%s", fb_json_str(c, "id"));
	if (!strcmp(also, card))
		also[0] = '\0';
	return r;
}

cJSON *fb_storm_card(const cJSON *rec, const char *card_id)
{
	cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rec, "cards"))
	{
		if (!strcmp(fb_json_str(c, "id"), card_id))
			return c;
	}
	return NULL;
}

static cJSON *member(const cJSON *card, const char *id)
{
	cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(card, "members"))
	{
		if (!strcmp(fb_json_str(m, "id"), id))
			return m;
	}
	return NULL;
}

cJSON *fb_storm_card_of(const cJSON *rec, const char *id, int *open)
{
	cJSON *c, *m;
	*open = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rec, "cards"))
	{
		if ((m = member(c, id))) {
			*open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "open"));
			return c;
		}
	}
	return NULL;
}

int fb_storm_member_update(cJSON *card, const fb_storm_incident *inc)
{
	cJSON *m = member(card, inc->id);
	int changed = 0;

	if (!m)
		return 0;
	if (strcmp(fb_json_str(m, "status"), inc->status))
		set_str(m, "status", inc->status), changed = 1;
	if (*inc->severity && strcmp(fb_json_str(m, "sev"), inc->severity))
		set_str(m, "sev", inc->severity), changed = 1;
	if (*inc->app && strcmp(fb_json_str(m, "app"), inc->app))
		set_str(m, "app", inc->app), changed = 1;
	return changed;
}

int fb_storm_member_open(cJSON *card, const char *id)
{
	cJSON *m = member(card, id);
	if (!m || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "open")))
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(m, "open");
	cJSON_AddBoolToObject(m, "open", 1);
	return 1;
}
