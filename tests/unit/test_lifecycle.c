/*
 * test_lifecycle.c - the incident lifecycle (lifecycle.h) on a real store
 * in a scratch file: each op's state, status, timeline entry and card
 * hook; the refusals that change nothing; the snooze's timer; and the
 * repeat rule around a resolved or snoozed incident.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "firebreak/card.h"
#include "firebreak/graph.h"
#include "firebreak/lifecard.h"
#include "firebreak/lifecycle.h"
#include "test_store_util.h"

static fb_config cfg;
static fb_store *st;
static fb_graph_env env;
static char steps[16][32], details[16][64];
static int n_steps;

static fb_err on_step(void *ctx, fb_store *s, const fb_incident_row *row, const fb_state *state,
                      const char *node, const char *detail)
{
	(void)ctx, (void)s, (void)row, (void)state;
	if (n_steps < 16) {
		snprintf(steps[n_steps], sizeof(steps[0]), "%s", node);
		snprintf(details[n_steps], sizeof(details[0]), "%s", detail);
	}
	n_steps++;
	return FB_OK;
}

static int up(void **s)
{
	setup(s);
	fb_config_defaults(&cfg);
	n_steps = 0;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	env = (fb_graph_env){.cfg = &cfg, .store = st, .on_step = on_step};
	return 0;
}

static int down(void **s)
{
	fb_store_free(st);
	return teardown(s);
}

/* An incident as the graph leaves it: status, node, result, fingerprint. */
static void put(const char *id, const char *status, const char *node, const char *state_json,
                int64_t updated_at)
{
	fb_incident_row row;
	make_row(&row, id, updated_at);
	snprintf(row.status, sizeof(row.status), "%s", status);
	snprintf(row.node, sizeof(row.node), "%s", node);
	snprintf(row.fingerprint, sizeof(row.fingerprint), "fp1");
	row.state = (char *)state_json;
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_incident_insert(st, &row), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
}

static fb_err op(fb_life_kind k, const char *id, const char *other, int64_t until)
{
	return fb_lifecycle_do(&env, &(fb_life_op){.op = k,
	                                           .id = id,
	                                           .user = "U1",
	                                           .note = "a note",
	                                           .until = until,
	                                           .other_id = other,
	                                           .via = "cli"});
}

static fb_incident_row *get(const char *id, fb_state **state)
{
	fb_incident_row *row = NULL;
	assert_int_equal(fb_store_incident_get(st, id, &row), FB_OK);
	if (state)
		assert_int_equal(fb_state_parse(row->state, state), FB_OK);
	return row;
}

static size_t events(const char *id, const char *name)
{
	fb_timeline_entry *tl = NULL;
	size_t n = 0, hits = 0;
	assert_int_equal(fb_store_timeline_list(st, id, &tl, &n), FB_OK);
	for (size_t i = 0; i < n; i++)
		hits += !name || !strcmp(tl[i].event, name);
	fb_timeline_free(tl, n);
	return hits;
}

#define MANUAL "{\"id\":\"incident-a\",\"result\":\"manual\",\"fingerprint\":\"fp1\"}"

static void resolve_a_manual_incident_then_refuse_again(void **s)
{
	fb_state *state = NULL;
	(void)s;
	put("incident-a", "manual", "end", MANUAL, fb_now_ms());
	assert_int_equal(op(FB_LIFE_RESOLVE, "incident-a", NULL, 0), FB_OK);
	fb_incident_row *row = get("incident-a", &state);
	assert_string_equal(row->status, "resolved");
	assert_string_equal(state->result, "resolved");
	assert_string_equal(state->life.resolved_by, "U1");
	assert_string_equal(state->life.note, "a note");
	assert_true(state->life.resolved_at > 0);
	assert_int_equal(events("incident-a", "incident.resolve"), 1);
	assert_int_equal(n_steps, 1);
	assert_string_equal(steps[0], "lifecycle");
	assert_string_equal(details[0], "resolve");
	fb_state_free(state);
	fb_incident_row_free(row);

	/* refusals: nothing written, no card */
	size_t before = events("incident-a", NULL);
	assert_int_equal(op(FB_LIFE_RESOLVE, "incident-a", NULL, 0), FB_ESTATE);
	assert_non_null(strstr(fb_error_last(), "already resolved"));
	assert_int_equal(op(FB_LIFE_ACK, "incident-a", NULL, 0), FB_ESTATE);
	assert_int_equal(op(FB_LIFE_RESOLVE, "incident-nope", NULL, 0), FB_ENOTFOUND);
	assert_int_equal(events("incident-a", NULL), before);
	assert_int_equal(n_steps, 1);

	/* reopen: open again, its card told */
	assert_int_equal(op(FB_LIFE_REOPEN, "incident-a", NULL, 0), FB_OK);
	row = get("incident-a", &state);
	assert_string_equal(row->status, "open");
	assert_string_equal(state->life.prior_status, "resolved");
	assert_string_equal(state->result, "");
	assert_string_equal(state->life.resolved_by, "");
	assert_string_equal(details[1], "reopen");
	assert_int_equal(op(FB_LIFE_REOPEN, "incident-a", NULL, 0), FB_ESTATE);
	fb_state_free(state);
	fb_incident_row_free(row);
}

static void resolving_a_waiting_incident_drops_its_decision(void **s)
{
	fb_state *state = NULL;
	(void)s;
	put("incident-w", "waiting", "await_decision",
	    "{\"id\":\"incident-w\",\"decision\":{\"action\":\"approve\",\"user\":\"U2\"}}",
	    fb_now_ms());
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_job_put(st, "incident-w", "await_decision", fb_now_ms()), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_int_equal(op(FB_LIFE_RESOLVE, "incident-w", NULL, 0), FB_OK);
	fb_incident_row *row = get("incident-w", &state);
	assert_string_equal(row->status, "resolved");
	assert_string_equal(row->node, "end");
	assert_false(state->decision.present);
	fb_job job;
	assert_int_equal(fb_store_job_get(st, "incident-w", &job), FB_ENOTFOUND);
	fb_error_clear();
	fb_decision d = {.action = "approve", .user = "U2", .version = -1, .via = "cli"};
	assert_int_equal(fb_graph_decide(&env, "incident-w", &d), FB_ESTATE);
	fb_state_free(state);
	fb_incident_row_free(row);
}

static void close_as_duplicate_links_both_and_refuses_itself(void **s)
{
	fb_state *state = NULL;
	(void)s;
	put("incident-a", "manual", "end", MANUAL, fb_now_ms());
	put("incident-b", "manual", "end", "{\"id\":\"incident-b\"}", fb_now_ms());
	assert_int_equal(op(FB_LIFE_CLOSE, "incident-b", "incident-b", 0), FB_EINVAL);
	assert_int_equal(op(FB_LIFE_CLOSE, "incident-b", "incident-zz", 0), FB_ENOTFOUND);
	assert_int_equal(n_steps, 0);
	assert_int_equal(op(FB_LIFE_CLOSE, "incident-b", "incident-a", 0), FB_OK);
	fb_incident_row *row = get("incident-b", &state);
	assert_string_equal(row->status, "closed");
	assert_string_equal(state->life.closed_reason, "duplicate");
	assert_string_equal(state->life.duplicate_of, "incident-a");
	assert_int_equal(events("incident-a", "incident.linked"), 1);
	assert_int_equal(events("incident-b", "incident.linked"), 1);
	assert_int_equal(op(FB_LIFE_CLOSE, "incident-b", "", 0), FB_ESTATE);
	fb_state_free(state);
	fb_incident_row_free(row);
	/* won't fix */
	assert_int_equal(op(FB_LIFE_CLOSE, "incident-a", "", 0), FB_OK);
	row = get("incident-a", &state);
	assert_string_equal(state->life.closed_reason, "wontfix");
	fb_state_free(state);
	fb_incident_row_free(row);
}

static void ack_and_assign(void **s)
{
	fb_state *state = NULL;
	(void)s;
	put("incident-a", "manual", "end", MANUAL, fb_now_ms());
	assert_int_equal(op(FB_LIFE_ASSIGN, "incident-a", "bob", 0), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "Slack user id"));
	assert_int_equal(op(FB_LIFE_ACK, "incident-a", NULL, 0), FB_OK);
	assert_int_equal(op(FB_LIFE_ASSIGN, "incident-a", "U0ABC", 0), FB_OK);
	fb_incident_row *row = get("incident-a", &state);
	assert_string_equal(row->status, "manual"); /* still needs a person */
	assert_string_equal(state->life.ack_by, "U1");
	assert_string_equal(state->life.assignee, "U0ABC");
	assert_int_equal(events("incident-a", "incident.ack"), 1);
	assert_int_equal(events("incident-a", "incident.assign"), 1);
	fb_state_free(state);
	fb_incident_row_free(row);
}

static void snooze_folds_quietly_then_the_timer_says_it_ended(void **s)
{
	char into[64];
	fb_state *state = NULL;
	fb_job job;
	(void)s;
	put("incident-a", "manual", "end", MANUAL, fb_now_ms());
	assert_int_equal(op(FB_LIFE_SNOOZE, "incident-a", NULL, fb_now_ms() - 1000), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "past"));
	assert_int_equal(op(FB_LIFE_SNOOZE, "incident-a", NULL, fb_now_ms() + 150), FB_OK);
	assert_int_equal(fb_store_job_get(st, "incident-a", &job), FB_OK);
	assert_string_equal(job.node, FB_LIFECYCLE_WAKE_NODE);

	/* a repeat while snoozed: counted, the card told, no thread line */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_graph_fold_signal(&env, "fp1", "am:1", into), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_string_equal(into, "incident-a");
	assert_string_equal(steps[n_steps - 1], "repeat");
	assert_string_equal(details[n_steps - 1], "");

	struct timespec ts = {0, 250 * 1000000L};
	nanosleep(&ts, NULL);
	assert_int_equal(fb_graph_run(&env, "incident-a"), FB_OK);
	assert_string_equal(steps[n_steps - 1], "lifecycle");
	assert_string_equal(details[n_steps - 1], "snooze_end");
	assert_int_equal(fb_store_job_get(st, "incident-a", &job), FB_ENOTFOUND);
	fb_error_clear();
	assert_int_equal(events("incident-a", "incident.snooze_end"), 1);
	fb_incident_row *row = get("incident-a", &state);
	assert_int_equal(state->repeats, 1);
	fb_state_free(state);
	fb_incident_row_free(row);
}

static void a_repeat_after_resolution_stands_alone_outside_the_cooldown(void **s)
{
	char into[64];
	(void)s;
	cfg.engine.cooldown = 60;
	/* resolved two minutes ago: a new incident, not a fold */
	put("incident-a", "resolved", "end", MANUAL, fb_now_ms() - 120 * 1000);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_graph_fold_signal(&env, "fp1", "am:1", into), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_string_equal(into, "");
	assert_int_equal(n_steps, 0);

	/* resolved just now: inside the cooldown it still folds */
	put("incident-b", "resolved", "end", "{\"id\":\"incident-b\"}", fb_now_ms());
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_graph_fold_signal(&env, "fp1", "am:2", into), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_string_equal(into, "incident-b");

	/* the link, as classify makes it */
	fb_state *ns = NULL, *os = NULL;
	assert_int_equal(fb_state_new(&ns), FB_OK);
	snprintf(ns->id, sizeof(ns->id), "incident-c");
	put("incident-c", "open", "classify", "{\"id\":\"incident-c\"}", fb_now_ms());
	fb_incident_row *old = get("incident-a", NULL);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_lifecycle_link_repeat(&env, old, ns), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_string_equal(ns->previous, "incident-a");
	fb_incident_row_free(old);
	old = get("incident-a", &os);
	assert_string_equal(os->life.followed_by, "incident-c");
	assert_int_equal(events("incident-a", "incident.linked"), 1);
	assert_int_equal(events("incident-c", "incident.linked"), 1);
	fb_state_free(os);
	fb_state_free(ns);
	fb_incident_row_free(old);
}

static void until_parses_durations_monday_and_iso(void **s)
{
	int64_t now = 1796000000000LL, t; /* a Monday, 00:53 UTC */
	(void)s;
	assert_int_equal(fb_lifecycle_parse_until("4h", now, &t), FB_OK);
	assert_true(t == now + 4 * 3600 * 1000LL);
	assert_int_equal(fb_lifecycle_parse_until("1h30m", now, &t), FB_OK);
	assert_true(t == now + 90 * 60 * 1000LL);
	assert_int_equal(fb_lifecycle_parse_until("monday", now, &t), FB_OK);
	time_t secs = (time_t)(t / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	assert_int_equal(tm.tm_wday, 1);
	assert_int_equal(tm.tm_hour, 9);
	assert_true(t > now && t - now <= 7 * 86400 * 1000LL);
	assert_int_equal(fb_lifecycle_parse_until("2026-12-24T09:30:00Z", now, &t), FB_OK);
	assert_true(t == 1798104600000LL);
	assert_int_equal(fb_lifecycle_parse_until("soon", now, &t), FB_EINVAL);
	assert_int_equal(fb_lifecycle_parse_until("4x", now, &t), FB_EINVAL);
	assert_int_equal(fb_lifecycle_parse_until("", now, &t), FB_EINVAL);
	assert_int_equal(fb_lifecycle_parse_until("2026-13-01T00:00Z", now, &t), FB_EINVAL);
	assert_int_equal(fb_lifecycle_parse("resolve"), FB_LIFE_RESOLVE);
	assert_int_equal(fb_lifecycle_parse("nap"), 0);
}

/* The action_ids of a card's buttons, joined by spaces. */
static void card_buttons(const fb_incident_row *row, const char *state_json, const char *locale,
                         char *ids, size_t n, char **text)
{
	fb_tmpl *t = NULL;
	fb_state *state = NULL;
	cJSON *card = NULL, *b, *e;
	int cut = 0;

	assert_int_equal(fb_tmpl_load(locale, &t), FB_OK);
	assert_int_equal(fb_state_parse(state_json, &state), FB_OK);
	assert_int_equal(fb_card_incident(t, row, state, &card, &cut), FB_OK);
	ids[0] = '\0';
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(card, "blocks")){
	    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "elements")){
	        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "action_id");
	if (cJSON_IsString(a))
		snprintf(ids + strlen(ids), n - strlen(ids), "%s%s", *ids ? " " : "",
		         a->valuestring);
}
}
*text = cJSON_PrintUnformatted(card);
cJSON_Delete(card);
fb_state_free(state);
fb_tmpl_free(t);
}

static void the_card_offers_what_the_status_allows(void **s)
{
	fb_incident_row row;
	char ids[200], *text = NULL;
	(void)s;
	make_row(&row, "incident-20261201000000-abcd", 1);
	snprintf(row.status, sizeof(row.status), "manual");
	snprintf(row.node, sizeof(row.node), "end");
	card_buttons(&row, MANUAL, "en", ids, sizeof(ids), &text);
	assert_string_equal(ids, "life_resolve life_ack life_snooze life_assign");
	free(text);

	snprintf(row.status, sizeof(row.status), "resolved");
	card_buttons(&row,
	             "{\"result\":\"resolved\",\"lifecycle\":{\"resolved_by\":\"U7\","
	             "\"resolved_at\":1796000000000,\"note\":\"restarted by hand\"}}",
	             "en", ids, sizeof(ids), &text);
	assert_string_equal(ids, "life_reopen");
	assert_non_null(strstr(text, "Resolved by <@U7>"));
	assert_non_null(strstr(text, "restarted by hand"));
	free(text);

	/* Korean: the lifecycle's words too */
	card_buttons(&row,
	             "{\"result\":\"resolved\",\"lifecycle\":{\"resolved_by\":\"U7\","
	             "\"resolved_at\":1796000000000}}",
	             "ko", ids, sizeof(ids), &text);
	assert_non_null(
	    strstr(text, "\xeb\x8b\xa4\xec\x8b\x9c \xec\x97\xb4\xea\xb8\xb0")); /* 다시 열기 */
	assert_null(strstr(text, "Resolved by"));
	free(text);

	snprintf(row.status, sizeof(row.status), "grouped");
	card_buttons(&row, "{}", "en", ids, sizeof(ids), &text);
	assert_string_equal(ids, "");
	free(text);
}

static void the_modals_render_in_both_languages(void **s)
{
	const char *locales[] = {"en", "ko"}, *ops[] = {"resolve", "snooze", "assign"};
	(void)s;
	for (size_t l = 0; l < 2; l++) {
		fb_tmpl *t = NULL;
		assert_int_equal(fb_tmpl_load(locales[l], &t), FB_OK);
		for (size_t i = 0; i < 3; i++) {
			cJSON *v = NULL;
			assert_int_equal(
			    fb_lifecard_modal(t, ops[i], "incident-x", "incident-x|0|C1", &v),
			    FB_OK);
			const cJSON *title = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(v, "title"), "text");
			assert_true(cJSON_IsString(title));
			assert_true(fb_utf8_len(title->valuestring) <= 24);
			char *json = cJSON_PrintUnformatted(v);
			assert_null(strstr(json, "{{"));
			assert_non_null(strstr(json, "life_"));
			free(json);
			cJSON_Delete(v);
		}
		cJSON *v = NULL;
		assert_int_equal(fb_lifecard_modal(t, "reopen", "incident-x", "m", &v), FB_EINVAL);
		fb_tmpl_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(resolve_a_manual_incident_then_refuse_again, up, down),
	    cmocka_unit_test_setup_teardown(resolving_a_waiting_incident_drops_its_decision, up,
	                                    down),
	    cmocka_unit_test_setup_teardown(close_as_duplicate_links_both_and_refuses_itself, up,
	                                    down),
	    cmocka_unit_test_setup_teardown(ack_and_assign, up, down),
	    cmocka_unit_test_setup_teardown(snooze_folds_quietly_then_the_timer_says_it_ended, up,
	                                    down),
	    cmocka_unit_test_setup_teardown(
	        a_repeat_after_resolution_stands_alone_outside_the_cooldown, up, down),
	    cmocka_unit_test(until_parses_durations_monday_and_iso),
	    cmocka_unit_test(the_card_offers_what_the_status_allows),
	    cmocka_unit_test(the_modals_render_in_both_languages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
