/* Unit tests for state.c: the typed incident state and its JSON.  Stored
 * states from real runs (tests/data/state, written by the build before
 * the state was typed) must load and be written back key for key; a
 * state must survive parse -> to_json -> parse unchanged; unreadable JSON
 * is refused; over-long fields and too many items never overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/graph.h"
#include "firebreak/state.h"

#define DATA "tests/data/state/"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static char *json_of(const fb_state *st)
{
	char *out = NULL;
	assert_int_equal(fb_state_to_json(st, &out), FB_OK);
	assert_non_null(out);
	return out;
}

/* Every typed field of a and b is the same. */
static void assert_same_state(const fb_state *a, const fb_state *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->source, b->source);
	assert_string_equal(a->triggered_by, b->triggered_by);
	assert_string_equal(a->excerpt, b->excerpt);
	assert_int_equal(a->truncated, b->truncated);
	assert_int_equal(a->excerpt_lines, b->excerpt_lines);
	assert_string_equal(a->app_hint, b->app_hint);
	assert_string_equal(a->app, b->app);
	assert_string_equal(a->ns, b->ns);
	assert_string_equal(a->fingerprint, b->fingerprint);
	assert_string_equal(a->slack_channel, b->slack_channel);
	assert_string_equal(a->slack_thread, b->slack_thread);
	assert_memory_equal(&a->classification, &b->classification, sizeof(a->classification));
	assert_memory_equal(&a->analysis, &b->analysis, sizeof(a->analysis));
	assert_int_equal(a->n_overrides, b->n_overrides);
	assert_memory_equal(a->overrides, b->overrides, sizeof(a->overrides));
	assert_memory_equal(&a->decision, &b->decision, sizeof(a->decision));
	assert_int_equal(a->n_decisions, b->n_decisions);
	assert_memory_equal(a->decisions, b->decisions, sizeof(a->decisions));
	assert_string_equal(a->approved_by, b->approved_by);
	assert_memory_equal(&a->apply, &b->apply, sizeof(a->apply));
	assert_string_equal(a->apply_error, b->apply_error);
	assert_memory_equal(&a->verify, &b->verify, sizeof(a->verify));
	assert_int_equal(a->verify_retried, b->verify_retried);
	assert_string_equal(a->result, b->result);
	assert_string_equal(a->error, b->error);
	assert_string_equal(a->grouped_into, b->grouped_into);
	assert_int_equal(a->repeats, b->repeats);
	assert_int_equal(a->last_seen, b->last_seen);
	assert_int_equal(a->repeat_noted_at, b->repeat_noted_at);
	assert_memory_equal(&a->alert, &b->alert, sizeof(a->alert));
	/* the proposal owns heap strings: field by field */
	const fb_state_proposal *p = &a->proposal, *q = &b->proposal;
	assert_int_equal(p->present, q->present);
	assert_string_equal(p->action, q->action);
	assert_string_equal(p->summary, q->summary);
	assert_string_equal(p->file, q->file);
	assert_string_equal(p->found_by, q->found_by);
	assert_string_equal(p->reason, q->reason);
	assert_int_equal(p->diff == NULL, q->diff == NULL);
	if (p->diff)
		assert_string_equal(p->diff, q->diff);
	assert_int_equal(p->capped, q->capped);
	assert_string_equal(p->revert_commit, q->revert_commit);
	assert_string_equal(p->revert_subject, q->revert_subject);
	assert_int_equal(p->n_edits, q->n_edits);
	assert_memory_equal(p->edits, q->edits, sizeof(p->edits));
	assert_int_equal(p->n_changes, q->n_changes);
	for (size_t i = 0; i < p->n_changes; i++) {
		assert_string_equal(p->changes[i].path, q->changes[i].path);
		assert_string_equal(p->changes[i].base_blob, q->changes[i].base_blob);
		assert_int_equal(p->changes[i].content == NULL, q->changes[i].content == NULL);
		if (p->changes[i].content)
			assert_string_equal(p->changes[i].content, q->changes[i].content);
	}
}

/* A stored state loads, and is written back with the same keys and
 * values (cJSON_Compare: object member order aside, exactly equal). */
static void stored_state_is_kept_key_for_key(const char *file)
{
	char *text = slurp(file), *out, *again;
	fb_state *st = NULL, *st2 = NULL;
	cJSON *want = cJSON_Parse(text), *got;

	assert_non_null(want);
	assert_int_equal(fb_state_parse(text, &st), FB_OK);
	out = json_of(st);
	got = cJSON_Parse(out);
	if (!cJSON_Compare(want, got, 1))
		fail_msg("%s changed:\nwas %s\nnow %s", file, text, out);
	/* parse -> to_json -> parse: the same struct, the same text */
	assert_int_equal(fb_state_parse(out, &st2), FB_OK);
	assert_same_state(st, st2);
	again = json_of(st2);
	assert_string_equal(out, again);
	free(again);
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(out);
	free(text);
	fb_state_free(st2);
	fb_state_free(st);
}

/* issue 10 (fuzz_card): bytes that are not UTF-8 in a stored state (a
 * Latin-1 log line, a hostile row) become U+FFFD when read, so the card
 * holds only text Slack accepts; valid text, cut or not, is unchanged. */
static void text_that_is_not_utf8_is_replaced(void **s)
{
	fb_state *st = NULL;
	char small[5];
	(void)s;
	assert_int_equal(fb_state_parse("{\"excerpt\":\"caf\xe9 \xc3\xa9t\xc3\xa9\","
	                                 "\"analysis\":{\"actions\":[\"s\xa0\x85x\"]},"
	                                 "\"proposal\":{\"summary\":\"from 512Mi t\x9a\xdf\"}}",
	                                 &st),
	                 FB_OK);
	assert_string_equal(st->excerpt, "caf\xef\xbf\xbd \xc3\xa9t\xc3\xa9");
	assert_int_equal(st->analysis.n_actions, 1);
	assert_string_equal(st->analysis.actions[0], "s\xef\xbf\xbd\xef\xbf\xbdx");
	assert_string_equal(st->proposal.summary, "from 512Mi t\xef\xbf\xbd\xef\xbf\xbd");
	fb_state_set_excerpt(st, "\xed\xa0\x80 \xf0\x9f\x94\xa5");
	assert_string_equal(st->excerpt, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x94\xa5");
	fb_state_copy(small, sizeof(small), "ab\xc3\xa9\xc3\xa9");
	assert_string_equal(small, "ab\xc3\xa9");
	fb_state_copy(small, sizeof(small), "abc\xc3\xa9");
	assert_string_equal(small, "abc");
	fb_state_free(st);
}

/* issue 10 (fuzz_card): a number too big for its integer field is held
 * at +-9e18 (converting 1e300 to an integer is undefined behaviour). */
static void numbers_beyond_their_fields_are_held(void **s)
{
	fb_state *st = NULL;
	(void)s;
	assert_int_equal(fb_state_parse("{\"repeats\":1e300,\"last_seen\":-1e300,"
	                                 "\"decisions\":[{\"action\":\"approve\",\"at\":1.8e86}]}",
	                                 &st),
	                 FB_OK);
	assert_true(st->repeats == (long)9e18);
	assert_true(st->last_seen == (int64_t)-9e18);
	fb_state_free(st);
}

static void real_states_round_trip(void **s)
{
	(void)s;
	stored_state_is_kept_key_for_key(DATA "oom-edited.json");
	stored_state_is_kept_key_for_key(DATA "config-revert.json");
	stored_state_is_kept_key_for_key(DATA "recorded.json");
}

static void stored_fields_are_typed(void **s)
{
	char *text = slurp(DATA "oom-edited.json");
	fb_state *st = NULL;
	(void)s;
	assert_int_equal(fb_state_parse(text, &st), FB_OK);
	assert_string_equal(st->classification.category, "oom");
	assert_string_equal(st->app, "grafana");
	assert_string_equal(st->proposal.action, "values_patch");
	assert_true(st->proposal.n_edits >= 1);
	assert_string_equal(st->proposal.edits[0].path, "resources.limits.memory");
	assert_string_equal(st->proposal.edits[0].new_value, "1536Mi");
	assert_int_equal(st->proposal.n_changes, 1);
	assert_non_null(st->proposal.changes[0].content);
	assert_non_null(st->proposal.diff);
	assert_string_equal(st->overrides[0].key, "resources.limits.memory");
	assert_string_equal(st->overrides[0].value, "1536Mi");
	assert_true(st->n_decisions >= 2);
	assert_string_equal(fb_state_last_decision(st)->action, "approve");
	assert_true(st->apply.present);
	assert_int_equal(strlen(st->apply.commit), 40);
	assert_string_equal(st->result, "resolved");
	fb_state_free(st);
	free(text);
}

/* Every key a state can hold, the ones no stored sample above has too:
 * the Slack fields, the alert, repeats, errors, a deleted file, and a key
 * this build does not know (kept). */
static const char every_key[] =
    "{\"id\":\"incident-20261121000000-abcd\",\"source\":\"alertmanager\","
    "\"triggered_by\":\"alertmanager\",\"excerpt\":\"OOMKilled \\u00e9\\n2\",\"truncated\":true,"
    "\"app_hint\":\"grafana\",\"slack_channel\":\"C024BE91L\","
    "\"slack_thread\":\"C024BE91L/1700000000.000100\",\"fingerprint\":\"am:abc\","
    "\"decision\":{\"action\":\"edit\",\"user\":\"U1\",\"note\":\"n\",\"via\":\"slack\","
    "\"at\":1700000000000,\"set\":{\"image.tag\":\"1.2.3\"}},"
    "\"overrides\":{\"image.tag\":\"1.2.2\"},\"excerpt_lines\":2,\"app\":\"grafana\","
    "\"namespace\":\"\",\"classification\":{\"category\":\"crashloop\",\"severity\":\"critical\","
    "\"apps\":[\"grafana\",\"loki\"],\"namespace\":null,\"signature\":\"sig\",\"rule\":\"r\","
    "\"confidence\":0.75,\"evidence\":\"ev\",\"facts\":{\"container\":\"grafana\",\"exit\":\"1\"}},"
    "\"analysis\":{\"root_cause\":\"rc\",\"actions\":[\"a\",\"b\"],\"disk\":false},"
    "\"proposal\":{\"action\":\"git_revert\",\"edits\":[{\"path\":\"p\",\"old\":\"\",\"new\":\"n\"}"
    "],"
    "\"changes\":[{\"path\":\"gone.yaml\",\"base_blob\":\"0123\",\"content\":null}],"
    "\"file\":\"f\",\"found_by\":\"fb\",\"reason\":\"why\",\"summary\":\"s\",\"capped\":true,"
    "\"revert\":{\"commit\":\"abc\",\"subject\":\"subj\"},\"diff\":\"d\"},"
    "\"decisions\":[{\"action\":\"approve\",\"user\":\"policy.auto_apply\",\"note\":\"\"}],"
    "\"approved_by\":\"policy.auto_apply\","
    "\"apply\":{\"commit\":\"c\",\"pushed\":false,\"branch\":\"main\",\"at\":1700000000001},"
    "\"apply_error\":\"dirty tree\",\"verify\":{\"result\":\"failed\",\"reason\":\"again\","
    "\"checks\":[{\"name\":\"kubernetes\",\"result\":\"failed\",\"detail\":\"OOMKilled\"}],"
    "\"checks_done\":3},\"verify_retried\":true,\"result\":\"grouped\",\"error\":\"e\","
    "\"grouped_into\":\"incident-20261120000000-0000\",\"repeats\":4,"
    "\"last_seen\":1700000000002,\"repeat_noted_at\":1700000000003,"
    "\"alert\":{\"status\":\"resolved\",\"ends_at\":\"2026-11-21T10:00:00Z\",\"at\":1700000000004},"
    "\"from_a_newer_build\":{\"x\":[1,2]}}";

static void every_key_round_trips(void **s)
{
	fb_state *st = NULL, *st2 = NULL;
	cJSON *want = cJSON_Parse(every_key), *got;
	char *out;
	(void)s;
	assert_non_null(want);
	assert_int_equal(fb_state_parse(every_key, &st), FB_OK);
	assert_string_equal(st->slack_thread, "C024BE91L/1700000000.000100");
	assert_string_equal(st->alert.status, "resolved");
	assert_int_equal(st->repeats, 4);
	assert_string_equal(st->classification.ns, "");
	assert_int_equal(st->classification.n_facts, 2);
	assert_null(st->proposal.changes[0].content);
	assert_int_equal(st->proposal.capped, 1);
	assert_true(st->decision.present);
	assert_int_equal(st->decision.n_set, 1);
	out = json_of(st);
	got = cJSON_Parse(out);
	if (!cJSON_Compare(want, got, 1))
		fail_msg("changed:\nwas %s\nnow %s", every_key, out);
	assert_int_equal(fb_state_parse(out, &st2), FB_OK);
	assert_same_state(st, st2);
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(out);
	fb_state_free(st2);
	fb_state_free(st);
}

static void unreadable_json_is_refused(void **s)
{
	static const char *bad[] = {"", "{", "not json", "[1,2]", "\"a string\"", "null", "42"};
	fb_state *st = (fb_state *)1;
	(void)s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fb_state_parse(bad[i], &st), FB_EDB);
		assert_null(st);
		assert_non_null(strstr(fb_error_last(), "not a JSON object"));
	}
	assert_int_equal(fb_state_parse(NULL, &st), FB_EDB);
	/* the wrong types under known keys read as missing, not as a crash */
	assert_int_equal(fb_state_parse("{\"id\":7,\"classification\":\"oom\",\"decisions\":{},"
	                                "\"proposal\":{\"edits\":\"x\",\"diff\":3}}",
	                                &st),
	                 FB_OK);
	assert_string_equal(st->id, "");
	assert_false(st->classification.present);
	assert_int_equal(st->n_decisions, 0);
	assert_int_equal(st->proposal.n_edits, 0);
	assert_null(st->proposal.diff);
	fb_state_free(st);
}

/* Over-long strings are cut at a character boundary inside their field. */
static void long_fields_are_cut_safely(void **s)
{
	size_t n = 5000;
	char *big = malloc(3 * n + 1), *json = malloc(9 * n + 200);
	fb_state *st = NULL;
	(void)s;
	for (size_t i = 0; i < n; i++)
		memcpy(big + 3 * i, "\xea\xb0\x80", 3); /* 가 */
	big[3 * n] = '\0';
	snprintf(json, 9 * n + 200, "{\"id\":\"%s\",\"app\":\"%s\",\"excerpt\":\"%s\"}", big, big,
	         big);
	assert_int_equal(fb_state_parse(json, &st), FB_OK);
	assert_true(strlen(st->id) < sizeof(st->id));
	assert_int_equal(strlen(st->id) % 3, 0); /* whole characters only */
	assert_int_equal(strlen(st->app) % 3, 0);
	assert_true(strlen(st->app) > sizeof(st->app) - 4);
	assert_string_equal(st->excerpt, big); /* the excerpt is on the heap: whole */
	fb_state_free(st);

	char small[8];
	fb_state_copy(small, sizeof(small), "abcdefghij");
	assert_string_equal(small, "abcdefg");
	fb_state_copy(small, sizeof(small), NULL);
	assert_string_equal(small, "");
	free(json);
	free(big);
}

/* Too many items: a stored state keeps what fits; a converter refuses and
 * leaves the state as it was. */
static void too_many_items_are_bounded(void **s)
{
	cJSON *prop = cJSON_CreateObject(), *edits = cJSON_AddArrayToObject(prop, "edits");
	cJSON *st_json = cJSON_CreateObject(), *hist = cJSON_AddArrayToObject(st_json, "decisions");
	fb_state *st = NULL;
	char *text, want[32];
	(void)s;
	cJSON_AddStringToObject(prop, "action", "values_patch");
	for (int i = 0; i < FB_STATE_EDITS_MAX + 5; i++) {
		cJSON *e = cJSON_CreateObject();
		char path[32];
		snprintf(path, sizeof(path), "p%d", i);
		cJSON_AddStringToObject(e, "path", path);
		cJSON_AddItemToArray(edits, e);
	}
	for (int i = 0; i < FB_STATE_DECISIONS_MAX + 3; i++) {
		cJSON *d = cJSON_CreateObject();
		char user[32];
		snprintf(user, sizeof(user), "u%d", i);
		cJSON_AddStringToObject(d, "action", "edit");
		cJSON_AddStringToObject(d, "user", user);
		cJSON_AddItemToArray(hist, d);
	}
	cJSON_AddItemToObject(st_json, "proposal", cJSON_Duplicate(prop, 1));
	text = cJSON_PrintUnformatted(st_json);
	assert_int_equal(fb_state_parse(text, &st), FB_OK);
	assert_int_equal(st->proposal.n_edits, FB_STATE_EDITS_MAX);
	snprintf(want, sizeof(want), "p%d", FB_STATE_EDITS_MAX - 1);
	assert_string_equal(st->proposal.edits[FB_STATE_EDITS_MAX - 1].path, want);
	/* the history keeps the newest */
	assert_int_equal(st->n_decisions, FB_STATE_DECISIONS_MAX);
	snprintf(want, sizeof(want), "u%d", FB_STATE_DECISIONS_MAX + 2);
	assert_string_equal(fb_state_last_decision(st)->user, want);
	assert_string_equal(st->decisions[0].user, "u3");

	/* the converter refuses a proposal it cannot carry whole */
	assert_int_equal(fb_state_set_proposal(st, prop), FB_ETOOBIG);
	assert_int_equal(st->proposal.n_edits, FB_STATE_EDITS_MAX);
	for (int i = 0; i < FB_STATE_SETS_MAX; i++) {
		char path[32];
		snprintf(path, sizeof(path), "o%d", i);
		assert_int_equal(fb_state_override_set(st, path, "v"), FB_OK);
	}
	assert_int_equal(fb_state_override_set(st, "one.more", "v"), FB_ETOOBIG);
	assert_int_equal(fb_state_override_set(st, "o0", "w"), FB_OK); /* replaces */
	assert_string_equal(st->overrides[0].value, "w");
	assert_int_equal(st->n_overrides, FB_STATE_SETS_MAX);
	free(text);
	fb_state_free(st);
	cJSON_Delete(st_json);
	cJSON_Delete(prop);
}

/* The converters read what the other modules produce. */
static void converters_read_module_output(void **s)
{
	fb_state *st = NULL;
	cJSON *cls =
	    cJSON_Parse("{\"category\":\"oom\",\"severity\":\"critical\",\"apps\":[\"a\"],"
	                "\"namespace\":\"monitoring\",\"signature\":\"s\",\"rule\":\"r\","
	                "\"confidence\":0.9,\"evidence\":\"e\",\"facts\":{\"limit\":\"1Gi\"}}");
	cJSON *v = cJSON_Parse("{\"result\":\"pending\",\"reason\":\"r\",\"checks\":"
	                       "[{\"name\":\"argocd\",\"result\":\"pending\",\"detail\":\"d\"}]}");
	cJSON *back;
	(void)s;
	assert_int_equal(fb_state_new(&st), FB_OK);
	assert_int_equal(fb_classification_parse(&st->classification, cls), FB_OK);
	assert_string_equal(st->classification.ns, "monitoring");
	assert_string_equal(st->classification.facts[0].value, "1Gi");
	back = fb_classification_json(&st->classification);
	assert_true(cJSON_Compare(cls, back, 1));
	cJSON_Delete(back);
	assert_int_equal(fb_state_set_verify(st, v), FB_OK);
	assert_int_equal(st->verify.n_checks, 1);
	assert_string_equal(st->verify.checks[0].name, "argocd");
	fb_state_free(st);
	cJSON_Delete(v);
	cJSON_Delete(cls);
}

static fb_step run_node(const fb_graph_env *env, const char *name, fb_state *st)
{
	fb_step step;
	memset(&step, 0, sizeof(step));
	assert_non_null(fb_nodes_find(name));
	assert_int_equal(fb_nodes_find(name)->run(env, st, &step), FB_OK);
	return step;
}

/* The pure nodes change the typed state they are given. */
static void nodes_change_the_typed_state(void **s)
{
	static fb_config cfg;
	fb_rules *rules = NULL;
	char *errors = NULL, *oom = slurp("tests/data/demo/oom.log");
	fb_state *st = NULL;
	fb_step step;
	(void)s;
	fb_config_defaults(&cfg);
	assert_int_equal(fb_rules_load(NULL, &rules, &errors), FB_OK);
	fb_graph_env env = {.cfg = &cfg, .rules = rules};
	assert_int_equal(fb_state_new(&st), FB_OK);
	assert_int_equal(fb_state_set_excerpt(st, oom), FB_OK);
	fb_state_copy(st->source, sizeof(st->source), "cli");

	step = run_node(&env, "collect", st);
	assert_string_equal(step.next, "classify");
	assert_true(st->excerpt_lines > 1);
	step = run_node(&env, "classify", st);
	assert_string_equal(step.next, "analyze");
	assert_true(st->classification.present);
	assert_string_equal(st->classification.category, "oom");
	assert_string_equal(st->app, "grafana");
	assert_memory_equal(st->fingerprint, "fp:", 3);
	step = run_node(&env, "analyze", st);
	assert_string_equal(step.next, "propose");
	assert_true(st->analysis.present && *st->analysis.root_cause);

	/* an edit: its values become overrides, the decision goes to the history */
	st->proposal.present = 1;
	st->proposal.n_edits = 1;
	fb_state_copy(st->proposal.edits[0].path, sizeof(st->proposal.edits[0].path),
	              "resources.limits.memory");
	const char *sets[] = {"resources.limits.memory=3Gi"};
	fb_decision d = {.action = "edit", .user = "erin", .sets = sets, .n_sets = 1, .via = "cli"};
	fb_graph_decision(&d, &st->decision);
	step = run_node(&env, "await_decision", st);
	assert_string_equal(step.next, "propose");
	assert_false(st->decision.present);
	assert_int_equal(st->n_decisions, 1);
	assert_int_equal(st->n_overrides, 1);
	assert_string_equal(st->overrides[0].value, "3Gi");
	/* no decision: pause */
	step = run_node(&env, "await_decision", st);
	assert_string_equal(step.next, "pause");
	/* approve */
	d = (fb_decision){.action = "approve", .user = "carol", .note = "ok", .via = "slack"};
	fb_graph_decision(&d, &st->decision);
	step = run_node(&env, "await_decision", st);
	assert_string_equal(step.next, "apply");
	assert_string_equal(st->approved_by, "carol");
	assert_string_equal(fb_state_last_decision(st)->note, "ok");
	/* report: applied and no result yet is resolved; an error fails it */
	st->apply.present = 1;
	step = run_node(&env, "report", st);
	assert_string_equal(st->result, "resolved");
	fb_state_copy(st->error, sizeof(st->error), "boom");
	step = run_node(&env, "report", st);
	assert_string_equal(step.next, "end");
	assert_string_equal(st->result, "failed");
	fb_state_free(st);
	fb_rules_free(rules);
	free(errors);
	free(oom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(real_states_round_trip),
	    cmocka_unit_test(stored_fields_are_typed),
	    cmocka_unit_test(every_key_round_trips),
	    cmocka_unit_test(unreadable_json_is_refused),
	    cmocka_unit_test(long_fields_are_cut_safely),
	    cmocka_unit_test(too_many_items_are_bounded),
	    cmocka_unit_test(converters_read_module_output),
	    cmocka_unit_test(nodes_change_the_typed_state),
	    cmocka_unit_test(text_that_is_not_utf8_is_replaced),
	    cmocka_unit_test(numbers_beyond_their_fields_are_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
