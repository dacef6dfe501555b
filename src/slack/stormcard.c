/*
 * stormcard.c - owns storm control's Slack side (stormcard.h): each
 * channel's storm record in the store (cursor "storm:<channel>"), the
 * group and digest cards rendered from it (blocks/storm.json) and their
 * outbox rows, and opening a held member's card in a storm card's
 * thread.  Engine thread only, inside the caller's transaction.
 *
 * Block Kit's limits (50 blocks, 3,000 characters a text, about 12,000
 * in all, 100 options in a menu): members are listed 20 lines to a
 * section while a budget of characters lasts, the rest as "and N more";
 * a member's card is opened from one static_select (not a button per
 * line: 100 buttons would not fit), whose choice posts the card in the
 * storm card's thread with its own buttons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/json.h"
#include "firebreak/pace.h"
#include "firebreak/storm.h"
#include "firebreak/stormcard.h"

#define LINES_PER_SECTION 20
#define LINES_BUDGET 7000   /* characters of member lines */
#define OPTIONS_BUDGET 3500 /* characters of menu options */
#define OPTIONS_MAX 100     /* Slack: a static_select has at most 100 options */
#define APP_MAX 30          /* characters of an app name in a line */
#define IDS_MAX 30000       /* the fallback text lists every member's id */

/* ---- the record ---- */

/* The channel a storm card's record is kept under: its id is
 * "storm-<channel>-<n>" (the channel as the incidents name it, which may
 * be a name where Slack's answers and clicks say an id). */
static int channel_of_card(const char *card_id, char out[128])
{
	const char *dash = strrchr(card_id, '-');
	if (strncmp(card_id, "storm-", 6) || !dash || dash - card_id <= 6 || dash - card_id > 126)
		return 0;
	snprintf(out, 128, "%.*s", (int)(dash - card_id - 6), card_id + 6);
	return 1;
}

static void cursor_name(const char *channel, char out[160])
{
	snprintf(out, 160, "storm:%.120s", channel);
}

static fb_err load(fb_store *st, const char *channel, cJSON **rec)
{
	char name[160], *v = NULL;
	fb_err rc;

	cursor_name(channel, name);
	*rec = NULL;
	rc = fb_store_cursor_get(st, name, &v);
	if (rc == FB_ENOTFOUND) {
		fb_error_clear();
		*rec = cJSON_CreateObject();
		return *rec ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
	}
	if (rc)
		return rc;
	*rec = cJSON_Parse(v);
	free(v);
	if (!cJSON_IsObject(*rec)) { /* unreadable: start again rather than stop the engine */
		cJSON_Delete(*rec);
		*rec = cJSON_CreateObject();
	}
	return *rec ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
}

static fb_err save(fb_store *st, const char *channel, const cJSON *rec)
{
	char name[160], *json = cJSON_PrintUnformatted(rec);
	fb_err rc;

	if (!json)
		return fb_error_set(FB_ENOMEM, "out of memory");
	cursor_name(channel, name);
	rc = fb_store_cursor_put(st, name, json);
	free(json);
	return rc;
}

/* ---- rendering ---- */

static const char *sev_icon(const char *sev)
{
	if (!strcmp(sev, "critical"))
		return "\xf0\x9f\x94\xb4"; /* red circle */
	if (!strcmp(sev, "warning"))
		return "\xf0\x9f\x9f\xa0"; /* orange circle */
	return "\xf0\x9f\x94\xb5";         /* blue circle */
}

static char *label(const fb_tmpl *t, const char *prefix, const char *name)
{
	char key[96];
	snprintf(key, sizeof(key), "%s_%s", prefix, *name ? name : "unknown");
	return fb_tmpl_has(t, key) ? fb_tmpl_format(t, key, NULL, 0) : strdup(name);
}

static void add_esc(fb_buf *b, const char *s, size_t max_chars)
{
	char part[512];
	size_t n = fb_utf8_prefix(s, max_chars);
	snprintf(part, sizeof(part), "%.*s%s", (int)n, s, s[n] ? "\xe2\x80\xa6" : "");
	fb_mrkdwn_escape(b, part);
}

/* One member's line (mrkdwn): icon, id, app, [category, severity,] status. */
static void line(const fb_tmpl *t, const cJSON *m, int digest, fb_buf *b)
{
	const char *app = fb_json_str(m, "app");
	char *status = label(t, "phase", fb_json_str(m, "status"));

	fb_buf_printf(b, "%s `%s` ", sev_icon(fb_json_str(m, "sev")), fb_json_str(m, "id"));
	add_esc(b, *app ? app : "-", APP_MAX);
	if (digest) {
		char *cat = label(t, "cat", fb_json_str(m, "cat"));
		fb_buf_addstr(b, " \xc2\xb7 ");
		add_esc(b, cat ? cat : "", 40);
		fb_buf_printf(b, " \xc2\xb7 %s",
		              *fb_json_str(m, "sev") ? fb_json_str(m, "sev") : "-");
		free(cat);
	}
	fb_buf_addstr(b, " \xc2\xb7 ");
	add_esc(b, status ? status : "", 40);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "open"))) {
		char *posted = fb_tmpl_format(t, "storm_card_posted", NULL, 1);
		fb_buf_printf(b, " \xc2\xb7 _%s_", posted ? posted : "");
		free(posted);
	}
	fb_buf_addc(b, '\n');
	free(status);
}

static void put(cJSON *o, const char *k, const char *v)
{
	cJSON_AddStringToObject(o, k, v ? v : "");
}

static void put_fmt(const fb_tmpl *t, cJSON *vars, const char *name, const char *key, int esc)
{
	char *s = fb_tmpl_format(t, key, vars, esc);
	put(vars, name, s);
	free(s);
}

/* A menu option for a member whose card is not out yet. */
static size_t option(cJSON *opts, const cJSON *m, const char *card_id)
{
	cJSON *o = cJSON_CreateObject();
	char text[160], value[160];
	const char *app = fb_json_str(m, "app");
	size_t n = fb_utf8_prefix(app, APP_MAX);

	snprintf(text, sizeof(text), "%s %.*s", fb_json_str(m, "id"), (int)n, app);
	snprintf(value, sizeof(value), "%s|0|%s", fb_json_str(m, "id"), card_id);
	put(o, "label", text);
	put(o, "value", value);
	cJSON_AddItemToArray(opts, o);
	return strlen(text);
}

/* The member lines (chunks of sections), the options and "and N more". */
static void members(const fb_tmpl *t, const cJSON *ms, int digest, const char *card_id, cJSON *vars)
{
	cJSON *chunks = cJSON_AddArrayToObject(vars, "chunks");
	cJSON *opts = cJSON_AddArrayToObject(vars, "options");
	fb_buf sec, ids;
	size_t used = 0, in_sec = 0, opt_chars = 0, n_opts = 0;
	int shown = 0, total = cJSON_GetArraySize(ms);
	const cJSON *m;

	fb_buf_init(&sec, 3000);
	fb_buf_init(&ids, IDS_MAX);
	cJSON_ArrayForEach(m, ms)
	{
		fb_buf one;
		fb_buf_init(&one, 1000);
		line(t, m, digest, &one);
		if (ids.len)
			fb_buf_addstr(&ids, ", ");
		fb_buf_addstr(&ids, fb_json_str(m, "id"));
		if (used + one.len <= LINES_BUDGET) {
			if (in_sec == LINES_PER_SECTION || sec.len + one.len > 2900) {
				cJSON *c = cJSON_CreateObject();
				put(c, "lines_md", fb_buf_str(&sec));
				cJSON_AddItemToArray(chunks, c);
				fb_buf_reset(&sec);
				in_sec = 0;
			}
			fb_buf_add(&sec, one.data, one.len);
			used += one.len;
			in_sec++;
			shown++;
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "open")) &&
			    n_opts < OPTIONS_MAX && opt_chars < OPTIONS_BUDGET)
				opt_chars += option(opts, m, card_id), n_opts++;
		}
		fb_buf_free(&one);
	}
	if (sec.len) {
		cJSON *c = cJSON_CreateObject();
		put(c, "lines_md", fb_buf_str(&sec));
		cJSON_AddItemToArray(chunks, c);
	}
	put(vars, "ids", fb_buf_str(&ids));
	put(vars, "has_options", n_opts ? "1" : "");
	if (shown < total) {
		cJSON *mv = cJSON_CreateObject();
		char num[24];
		snprintf(num, sizeof(num), "%d", total - shown);
		put(mv, "n", num);
		put_fmt(t, mv, "more", "storm_more", 0);
		put(vars, "more", fb_json_str(mv, "more"));
		cJSON_Delete(mv);
	}
	fb_buf_free(&sec);
	fb_buf_free(&ids);
}

/* "ns:payments" -> "namespace payments" style words for the title. */
static void cause_text(const fb_tmpl *t, const cJSON *keys, fb_buf *b)
{
	static const struct {
		const char *prefix, *key;
	} names[] = {{"ns:", "namespace"}, {"node:", ""}, {"app:", "app"}, {"sig:", ""}};
	const cJSON *k;
	cJSON_ArrayForEach(k, keys)
	{
		if (!cJSON_IsString(k))
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t n = strlen(names[i].prefix);
			if (strncmp(k->valuestring, names[i].prefix, n))
				continue;
			char *word = *names[i].key ? fb_tmpl_format(t, names[i].key, NULL, 0)
			                           : strdup(i == 1 ? "node" : "");
			if (b->len)
				fb_buf_addstr(b, ", ");
			if (word && *word)
				fb_buf_printf(b, "%s ", word);
			fb_buf_addstr(b, k->valuestring + n);
			free(word);
		}
	}
}

fb_err fb_stormcard_render(const fb_tmpl *t, const cJSON *card, cJSON **out)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(card, "members");
	int digest = !strcmp(fb_json_str(card, "kind"), "digest");
	cJSON *vars = cJSON_CreateObject();
	char num[24], *cat = label(t, "cat", fb_json_str(card, "cat"));
	fb_buf cause;
	fb_err rc;

	fb_buf_init(&cause, 600);
	cause_text(t, cJSON_GetObjectItemCaseSensitive(card, "keys"), &cause);
	snprintf(num, sizeof(num), "%d", cJSON_GetArraySize(ms));
	put(vars, "n", num);
	put(vars, "category", cat);
	put(vars, "cause", fb_buf_str(&cause));
	members(t, ms, digest, fb_json_str(card, "id"), vars);
	put_fmt(t, vars, "title_md", digest ? "storm_digest_title" : "storm_group_title", 1);
	put_fmt(t, vars, "fallback", digest ? "storm_digest_fallback" : "storm_group_fallback", 0);
	put_fmt(t, vars, "hint", digest ? "storm_hint_digest" : "storm_hint_group", 0);
	rc = fb_tmpl_render(t, "storm", vars, out);
	cJSON_Delete(vars);
	fb_buf_free(&cause);
	free(cat);
	return rc;
}

/* The storm card's outbox row: a post, or an update once its ts is known
 * (pending updates collapse into the newest: one chat.update per tick). */
static fb_err put_card(const fb_tmpl *t, fb_store *st, const cJSON *card, const char *channel)
{
	cJSON *msg = NULL;
	char *json;
	fb_err rc = fb_stormcard_render(t, card, &msg);

	if (rc)
		return rc;
	cJSON_AddStringToObject(msg, "channel", channel);
	cJSON_AddNumberToObject(msg, "_priority", FB_PACE_PRIO_PERSON);
	if (*fb_json_str(card, "ts"))
		cJSON_AddStringToObject(msg, "_card_ts", fb_json_str(card, "ts"));
	json = cJSON_PrintUnformatted(msg);
	cJSON_Delete(msg);
	if (!json)
		return fb_error_set(FB_ENOMEM, "out of memory");
	rc = fb_store_outbox_add(st, fb_json_str(card, "id"), "card", channel, json, NULL);
	free(json);
	return rc;
}

/* ---- the hooks ---- */

static fb_err put_both(const fb_tmpl *t, fb_store *st, const cJSON *rec, const char *channel,
                       const char *card, const char *also)
{
	fb_err rc = FB_OK;
	if (*card)
		rc = put_card(t, st, fb_storm_card(rec, card), channel);
	if (!rc && *also && fb_storm_card(rec, also))
		rc = put_card(t, st, fb_storm_card(rec, also), channel);
	return rc;
}

static int seen(const cJSON *rec, const char *id)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "recent"))
	{
		if (!strcmp(fb_json_str(e, "id"), id))
			return 1;
	}
	return 0;
}

fb_err fb_stormcard_step(const fb_config *cfg, const fb_tmpl *t, fb_store *st,
                         const fb_incident_row *row, const fb_state *state, const char *channel,
                         int first, int *held, char thread_ts[32])
{
	fb_storm_incident inc;
	cJSON *rec = NULL, *card;
	char joined[64], also[64];
	int open = 0;
	fb_err rc;

	*held = 0;
	thread_ts[0] = '\0';
	if (cfg->storm.rate <= 0) /* storm control is off */
		return FB_OK;
	if ((rc = load(st, channel, &rec)))
		return rc;
	fb_storm_incident_of(row, state, &inc);
	if ((card = fb_storm_card_of(rec, row->id, &open))) {
		const cJSON *m = NULL, *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(card, "members"))
		{
			if (!strcmp(fb_json_str(it, "id"), row->id))
				m = it;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "thread")))
			snprintf(thread_ts, 32, "%s", fb_json_str(card, "ts"));
		*held = !open;
		rc = FB_OK;
		if (fb_storm_member_update(card, &inc) && !(rc = save(st, channel, rec)))
			rc = put_card(t, st, card, channel);
		cJSON_Delete(rec);
		return rc;
	}
	if (!first || seen(rec, row->id) || row->card_ts[0]) {
		cJSON_Delete(rec);
		return FB_OK;
	}
	fb_storm_route r =
	    fb_storm_route_new(rec, channel, cfg->storm.rate, cfg->storm.window * 1000LL, &inc,
	                       fb_now_ms(), joined, also);
	*held = r != FB_STORM_OWN;
	rc = save(st, channel, rec);
	if (!rc)
		rc = put_both(t, st, rec, channel, joined, also);
	cJSON_Delete(rec);
	return rc;
}

fb_err fb_stormcard_open(fb_store *st, const char *card_id, const char *id, char thread_ts[32])
{
	cJSON *rec = NULL, *card, *m;
	char channel[128];
	int open = 0;
	fb_err rc;

	thread_ts[0] = '\0';
	if (!channel_of_card(card_id, channel))
		return fb_error_set(FB_ENOTFOUND, "no storm card %.80s", card_id);
	if ((rc = load(st, channel, &rec)))
		return rc;
	if (!(card = fb_storm_card_of(rec, id, &open))) {
		cJSON_Delete(rec);
		return fb_error_set(FB_ENOTFOUND, "%s is in no storm card of %s", id, channel);
	}
	if (open || !*fb_json_str(card, "ts")) {
		cJSON_Delete(rec);
		return open ? fb_error_set(FB_ESTATE, "the card of %s is out", id)
		            : fb_error_set(FB_ECONFLICT, "the storm card has no ts yet");
	}
	fb_storm_member_open(card, id);
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(card, "members"))
	{
		if (!strcmp(fb_json_str(m, "id"), id))
			cJSON_AddBoolToObject(m, "thread", 1);
	}
	snprintf(thread_ts, 32, "%s", fb_json_str(card, "ts"));
	rc = save(st, channel, rec);
	cJSON_Delete(rec);
	return rc;
}

fb_err fb_stormcard_sent(fb_store *st, const char *card_id, const char *ts)
{
	cJSON *rec = NULL, *card;
	char channel[128];
	fb_err rc = FB_OK;

	if (!channel_of_card(card_id, channel))
		return FB_OK; /* not one of ours */
	if ((rc = load(st, channel, &rec)))
		return rc;
	if ((card = fb_storm_card(rec, card_id))) {
		cJSON_DeleteItemFromObjectCaseSensitive(card, "ts");
		cJSON_AddStringToObject(card, "ts", ts);
		rc = save(st, channel, rec);
	}
	cJSON_Delete(rec);
	return rc;
}
