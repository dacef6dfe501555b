/* Unit tests for storm control: the decision (engine/storm.c) with a
 * fake clock -- own cards below the rate, the digest beyond it, groups by
 * category and shared cause (moving members out of the digest), the storm
 * passing after the window -- the storm cards' rendering within Block
 * Kit's limits for 150 members in both locales, and the channel's record
 * surviving a reopen of the store (stormcard.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/json.h"
#include "firebreak/storm.h"
#include "firebreak/stormcard.h"
#include "test_store_util.h"

#define WINDOW 120000

static fb_storm_incident inc(const char *id, const char *cat, const char *ns, const char *app)
{
	fb_storm_incident x = {0};
	snprintf(x.id, sizeof(x.id), "%s", id);
	snprintf(x.category, sizeof(x.category), "%s", cat);
	snprintf(x.app, sizeof(x.app), "%s", app);
	snprintf(x.severity, sizeof(x.severity), "critical");
	snprintf(x.status, sizeof(x.status), "open");
	snprintf(x.keys[x.n_keys++], sizeof(x.keys[0]), "ns:%s", ns);
	snprintf(x.keys[x.n_keys++], sizeof(x.keys[0]), "app:%s", app);
	return x;
}

static fb_storm_route route(cJSON *rec, const fb_storm_incident *x, int64_t now, char card[64],
                            char also[64])
{
	return fb_storm_route_new(rec, "C1", 3, WINDOW, x, now, card, also);
}

static int members(const cJSON *rec, const char *card)
{
	return cJSON_GetArraySize(fb_json_get(fb_storm_card(rec, card), "members"));
}

static void below_the_rate_each_has_its_own_card(void **s)
{
	cJSON *rec = cJSON_CreateObject();
	char card[64], also[64], id[16];
	(void)s;
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "incident-%d", i);
		fb_storm_incident x = inc(id, "crashloop", "payments", "checkout");
		assert_int_equal(route(rec, &x, 1000 * i, card, also), FB_STORM_OWN);
		assert_string_equal(card, "");
	}
	/* 3 a minute is the rate: the fourth is beyond it; not correlated
	 * (another category) -> the digest */
	fb_storm_incident y = inc("incident-9", "oom", "search", "search");
	assert_int_equal(route(rec, &y, 4000, card, also), FB_STORM_DIGEST);
	assert_string_equal(card, "storm-C1-1");
	/* rate 0: never a storm */
	cJSON *off = cJSON_CreateObject();
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "incident-%d", i);
		fb_storm_incident x = inc(id, "oom", "a", "b");
		assert_int_equal(fb_storm_route_new(off, "C1", 0, WINDOW, &x, i, card, also),
		                 FB_STORM_OWN);
	}
	cJSON_Delete(off);
	cJSON_Delete(rec);
}

static void correlated_incidents_form_one_group(void **s)
{
	cJSON *rec = cJSON_CreateObject();
	char card[64], also[64], group[64], digest[64];
	int open;
	(void)s;
	fb_storm_incident a = inc("incident-a", "crashloop", "payments", "checkout");
	fb_storm_incident b = inc("incident-b", "oom", "search", "search");
	fb_storm_incident c = inc("incident-c", "network_error", "edge", "gateway");
	fb_storm_incident d = inc("incident-d", "network_error", "edge", "router");
	fb_storm_incident e = inc("incident-e", "crashloop", "payments", "cart");
	fb_storm_incident f = inc("incident-f", "crashloop", "billing", "cart2");
	fb_storm_incident g = inc("incident-g", "oom", "payments", "ledger");
	assert_int_equal(route(rec, &a, 0, card, also), FB_STORM_OWN);
	assert_int_equal(route(rec, &b, 10, card, also), FB_STORM_OWN);
	assert_int_equal(route(rec, &g, 15, card, also), FB_STORM_OWN);
	/* beyond the rate, c shares nothing yet: the digest */
	assert_int_equal(route(rec, &c, 20, card, also), FB_STORM_DIGEST);
	snprintf(digest, sizeof(digest), "%s", card);
	/* d: same category and namespace as c: a group, and c leaves the digest */
	assert_int_equal(route(rec, &d, 30, card, also), FB_STORM_GROUP);
	snprintf(group, sizeof(group), "%s", card);
	assert_string_equal(also, digest);
	assert_int_equal(members(rec, group), 2);
	/* its cause: what c and d share (not d's app) */
	const cJSON *keys = fb_json_get(fb_storm_card(rec, group), "keys");
	assert_int_equal(cJSON_GetArraySize(keys), 1);
	assert_string_equal(cJSON_GetArrayItem(keys, 0)->valuestring, "ns:edge");
	assert_int_equal(members(rec, digest), 0);
	assert_ptr_equal(fb_storm_card_of(rec, "incident-c", &open), fb_storm_card(rec, group));
	assert_false(open); /* c's card was held in the digest: still held */
	/* e: a crash loop in payments like a (which has its own card) */
	assert_int_equal(route(rec, &e, 40, card, also), FB_STORM_GROUP);
	assert_string_not_equal(card, group);
	assert_non_null(fb_storm_card_of(rec, "incident-a", &open));
	assert_true(open); /* listed, its card already out */
	assert_int_equal(members(rec, card), 2);
	/* f: same category, no shared cause: the digest; g (oom in payments)
	 * is not a crash loop: not in e's group */
	assert_int_equal(route(rec, &f, 50, card, also), FB_STORM_DIGEST);
	assert_string_equal(card, digest);
	assert_null(fb_storm_card_of(rec, "incident-g", &open));
	/* a member's status and the card open */
	snprintf(c.status, sizeof(c.status), "waiting");
	assert_int_equal(fb_storm_member_update(fb_storm_card(rec, group), &c), 1);
	assert_int_equal(fb_storm_member_update(fb_storm_card(rec, group), &c), 0);
	assert_int_equal(fb_storm_member_open(fb_storm_card(rec, group), "incident-c"), 1);
	assert_int_equal(fb_storm_member_open(fb_storm_card(rec, group), "incident-c"), 0);
	cJSON_Delete(rec);
}

static void the_storm_passes_after_the_window(void **s)
{
	cJSON *rec = cJSON_CreateObject();
	char card[64], also[64], id[16];
	(void)s;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "incident-%d", i);
		fb_storm_incident x = inc(id, "oom", id, id);
		route(rec, &x, i * 100, card, also);
	}
	fb_storm_incident late = inc("incident-late", "oom", "x", "y");
	/* the digest is active until WINDOW after its last member */
	assert_int_equal(route(rec, &late, 900 + WINDOW - 1, card, also), FB_STORM_DIGEST);
	fb_storm_incident later = inc("incident-later", "oom", "x2", "y2");
	assert_int_equal(route(rec, &later, 900 + 3 * WINDOW, card, also), FB_STORM_OWN);
	/* a new storm gets a new digest */
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "incident-n%d", i);
		fb_storm_incident x = inc(id, "oom", id, id);
		route(rec, &x, 900 + 3 * WINDOW + i, card, also);
	}
	assert_string_equal(card, "storm-C1-2");
	cJSON_Delete(rec);
}

static cJSON *big_card(int n)
{
	cJSON *card = cJSON_CreateObject(), *ms = cJSON_CreateArray();
	char id[64], app[200];
	cJSON_AddStringToObject(card, "id", "storm-C1-1");
	cJSON_AddStringToObject(card, "kind", n % 2 ? "digest" : "group");
	cJSON_AddStringToObject(card, "cat", "crashloop");
	cJSON *keys = cJSON_AddArrayToObject(card, "keys");
	cJSON_AddItemToArray(keys, cJSON_CreateString("ns:payments"));
	for (int i = 0; i < n; i++) {
		cJSON *m = cJSON_CreateObject();
		snprintf(id, sizeof(id), "incident-20261201T033000-%04x", i);
		memset(app, 'a' + i % 26, 150); /* longer than any line may show */
		app[150] = '\0';
		cJSON_AddStringToObject(m, "id", id);
		cJSON_AddStringToObject(m, "app", i % 7 ? app : "<b>&amp;");
		cJSON_AddStringToObject(m, "sev", i % 3 ? "critical" : "warning");
		cJSON_AddStringToObject(m, "cat", "oom");
		cJSON_AddStringToObject(m, "status", "waiting");
		cJSON_AddBoolToObject(m, "open", i % 5 == 0);
		cJSON_AddItemToArray(ms, m);
	}
	cJSON_AddItemToObject(card, "members", ms);
	return card;
}

/* Sum of the text a Block Kit message carries (as Slack counts it, about). */
static size_t texts(const cJSON *o, size_t *longest)
{
	size_t n = 0;
	const cJSON *it;
	if (cJSON_IsString(o))
		return 0;
	cJSON_ArrayForEach(it, o)
	{
		if (cJSON_IsString(it) && it->string && !strcmp(it->string, "text")) {
			size_t l = fb_utf8_len(it->valuestring);
			n += l;
			*longest = l > *longest ? l : *longest;
		}
		n += texts(it, longest);
	}
	return n;
}

static void a_storm_card_of_150_fits_block_kit(void **s)
{
	static const char *locales[] = {"en", "ko"};
	(void)s;
	for (size_t l = 0; l < 2; l++) {
		fb_tmpl *t = NULL;
		assert_int_equal(fb_tmpl_load(locales[l], &t), FB_OK);
		for (int kind = 0; kind < 2; kind++) {
			cJSON *card = big_card(150 + kind), *msg = NULL;
			size_t longest = 0;
			assert_int_equal(fb_stormcard_render(t, card, &msg), FB_OK);
			const cJSON *blocks = fb_json_get(msg, "blocks"), *b;
			assert_true(cJSON_GetArraySize(blocks) <= 50);
			size_t total = texts(blocks, &longest);
			assert_true(longest <= 3000);
			assert_true(total <= 11000);
			int options = 0, more = 0;
			cJSON_ArrayForEach(b, blocks)
			{
				const cJSON *el = cJSON_GetArrayItem(fb_json_get(b, "elements"), 0);
				if (!strcmp(fb_json_str(el, "type"), "static_select"))
					options = cJSON_GetArraySize(fb_json_get(el, "options"));
				/* mrkdwn is escaped (plain_text options need not be) */
				assert_null(
				    strstr(fb_json_str(fb_json_get(b, "text"), "text"), "<b>"));
			}
			char *all = cJSON_PrintUnformatted(blocks);
			more =
			    strstr(all, l ? "\xec\x99\xb8" : "and ") != NULL; /* 외 / and N more */
			assert_true(options > 0 && options <= 100);
			assert_true(more);
			free(all);
			/* the fallback text (a notification) names members, within its limit */
			const char *text = fb_json_str(msg, "text");
			assert_non_null(strstr(text, "incident-20261201T033000-0000"));
			assert_true(fb_utf8_len(text) <= 3000);
			cJSON_Delete(msg);
			cJSON_Delete(card);
		}
		fb_tmpl_free(t);
	}
}

static void the_record_survives_a_reopen(void **s)
{
	fb_store *st = NULL;
	fb_config cfg;
	fb_tmpl *t = NULL;
	fb_state *state = NULL;
	fb_incident_row row;
	int held = 0;
	char thread_ts[32], id[32];
	(void)s;
	fb_config_defaults(&cfg);
	cfg.storm.rate = 2;
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_state_new(&state), FB_OK);
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "incident-%d", i);
		make_row(&row, id, 0);
		snprintf(row.category, sizeof(row.category), "crashloop");
		snprintf(row.ns, sizeof(row.ns), "payments");
		assert_int_equal(
		    fb_stormcard_step(&cfg, t, st, &row, state, "#sre-alerts", 1, &held, thread_ts),
		    FB_OK);
		assert_int_equal(held, i >= 2); /* the third joins a group with the first two */
	}
	/* the group card's row is in the outbox; Slack answers with its ts (a
	 * channel configured by name: the card's id says which record) */
	assert_int_equal(fb_stormcard_sent(st, "storm-#sre-alerts-1", "1700000000.000100"), FB_OK);
	fb_store_free(st);

	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	make_row(&row, "incident-3", 0);
	snprintf(row.status, sizeof(row.status), "waiting");
	/* still held after the reopen; its new status updates the group card */
	assert_int_equal(
	    fb_stormcard_step(&cfg, t, st, &row, state, "#sre-alerts", 0, &held, thread_ts), FB_OK);
	assert_int_equal(held, 1);
	assert_int_equal(fb_stormcard_open(st, "storm-#sre-alerts-1", "incident-3", thread_ts),
	                 FB_OK);
	assert_string_equal(thread_ts, "1700000000.000100");
	assert_int_equal(fb_stormcard_open(st, "storm-#sre-alerts-1", "incident-3", thread_ts),
	                 FB_ESTATE);
	assert_int_equal(fb_stormcard_open(st, "storm-#sre-alerts-1", "incident-99", thread_ts),
	                 FB_ENOTFOUND);
	/* opened in the thread: not held, and its thread lines go there */
	assert_int_equal(
	    fb_stormcard_step(&cfg, t, st, &row, state, "#sre-alerts", 0, &held, thread_ts), FB_OK);
	assert_int_equal(held, 0);
	assert_string_equal(thread_ts, "1700000000.000100");
	fb_outbox_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(fb_store_outbox_pending(st, 0, &rows, &n), FB_OK);
	assert_true(n >= 2);
	assert_string_equal(rows[n - 1].incident_id, "storm-#sre-alerts-1");
	assert_non_null(strstr(rows[n - 1].body, "\"_card_ts\":\"1700000000.000100\""));
	fb_outbox_rows_free(rows, n);
	fb_store_free(st);
	fb_state_free(state);
	fb_tmpl_free(t);
	fb_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(below_the_rate_each_has_its_own_card),
	    cmocka_unit_test(correlated_incidents_form_one_group),
	    cmocka_unit_test(the_storm_passes_after_the_window),
	    cmocka_unit_test(a_storm_card_of_150_fits_block_kit),
	    cmocka_unit_test_setup_teardown(the_record_survives_a_reopen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
