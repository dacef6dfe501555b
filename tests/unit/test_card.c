/* Unit tests for tmpl.c and card.c: the catalogs, escaping by context,
 * Block Kit limits, the incident card and its long-diff handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/card.h"
#include "firebreak/tmpl.h"

static cJSON *catalog(const char *name)
{
	for (size_t i = 0; i < fb_tmpl_file_count(); i++) {
		size_t len = 0;
		if (!strcmp(fb_tmpl_file_name(i), name)) {
			const char *data = fb_tmpl_file(i, &len);
			return cJSON_ParseWithLength(data, len);
		}
	}
	return NULL;
}

static void catalogs_have_the_same_keys(void **s)
{
	cJSON *en = catalog("messages.en.json"), *ko = catalog("messages.ko.json"), *it;
	(void)s;
	assert_non_null(en);
	assert_non_null(ko);
	cJSON_ArrayForEach(it, en) assert_non_null(cJSON_GetObjectItemCaseSensitive(ko, it->string));
	cJSON_ArrayForEach(it, ko) assert_non_null(cJSON_GetObjectItemCaseSensitive(en, it->string));
	cJSON_Delete(en);
	cJSON_Delete(ko);
}

/* Labels must fit where they go in both languages, before any clipping. */
static void labels_fit_their_limits(void **s)
{
	static const struct {
		const char *key;
		size_t max;
	} limits[] = {{"edit_title", 24}, {"reject_title", 24}, {"trigger_title", 24},
		      {"propose", 24},	  {"cancel", 24},	{"reject", 24},
		      {"triage", 24},	  {"approve", 30},	{"edit", 75},
		      {"confirm_title", 100}, {"confirm_text", 300}};
	const char *files[] = {"messages.en.json", "messages.ko.json"};
	(void)s;
	for (size_t f = 0; f < 2; f++) {
		cJSON *c = catalog(files[f]);
		for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, limits[i].key);
			assert_true(cJSON_IsString(v));
			if (fb_utf8_len(v->valuestring) > limits[i].max)
				fail_msg("%s: %s is %zu characters (max %zu)", files[f], limits[i].key,
					 fb_utf8_len(v->valuestring), limits[i].max);
		}
		cJSON_Delete(c);
	}
}

static cJSON *oom_json(const char *evidence, const char *diff)
{
	cJSON *st = cJSON_CreateObject();
	cJSON *cls = cJSON_AddObjectToObject(st, "classification");
	cJSON *prop = cJSON_AddObjectToObject(st, "proposal");
	cJSON *edits = cJSON_AddArrayToObject(prop, "edits");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "id", "incident-20261121000000-abcd");
	cJSON_AddStringToObject(cls, "evidence", evidence);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(st, "analysis"), "root_cause",
				"grafana ran out of memory");
	cJSON_AddStringToObject(prop, "action", "values_patch");
	cJSON_AddStringToObject(prop, "summary", "Raise the memory limit");
	cJSON_AddStringToObject(prop, "file", "helm-values/grafana/values.yaml");
	cJSON_AddStringToObject(prop, "diff", diff);
	cJSON_AddStringToObject(e, "path", "resources.limits.memory");
	cJSON_AddStringToObject(e, "old", "512Mi");
	cJSON_AddStringToObject(e, "new", "1024Mi");
	cJSON_AddItemToArray(edits, e);
	return st;
}

/* The card reads the typed state: the same through its stored JSON. */
static fb_state *oom_state(const char *evidence, const char *diff)
{
	cJSON *j = oom_json(evidence, diff);
	char *text = cJSON_PrintUnformatted(j);
	fb_state *st = NULL;
	assert_int_equal(fb_state_parse(text, &st), FB_OK);
	free(text);
	cJSON_Delete(j);
	return st;
}

static fb_incident_row waiting_row(void)
{
	fb_incident_row r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "incident-20261121000000-abcd");
	snprintf(r.status, sizeof(r.status), "waiting");
	snprintf(r.node, sizeof(r.node), "await_decision");
	snprintf(r.category, sizeof(r.category), "oom");
	snprintf(r.severity, sizeof(r.severity), "critical");
	snprintf(r.app, sizeof(r.app), "grafana");
	snprintf(r.ns, sizeof(r.ns), "monitoring");
	r.version = 1;
	return r;
}

static const cJSON *block_of_type(const cJSON *msg, const char *type)
{
	const cJSON *b;
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(msg, "blocks"))
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
		if (cJSON_IsString(t) && !strcmp(t->valuestring, type))
			return b;
	}
	return NULL;
}

static void card_has_buttons_diff_and_escapes(void **s)
{
	fb_tmpl *t = NULL;
	fb_incident_row row = waiting_row();
	fb_state *st = oom_state("<script>&boom", "-  memory: 512Mi\n+  memory: 1024Mi\n");
	cJSON *card = NULL;
	int cut = 1;
	(void)s;
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	assert_int_equal(cut, 0);
	char *json = cJSON_PrintUnformatted(card);
	assert_non_null(strstr(json, "&lt;script&gt;&amp;boom"));
	assert_null(strstr(json, "<script>"));
	assert_non_null(strstr(json, "+  memory: 1024Mi"));
	const cJSON *actions = block_of_type(card, "actions");
	assert_non_null(actions);
	/* approve, reject, edit, and the lifecycle's acknowledge */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(actions, "elements")), 4);
	assert_non_null(strstr(json, "\"value\":\"incident-20261121000000-abcd|1\""));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(card, "text")));
	free(json);
	cJSON_Delete(card);

	/* decided: the buttons go */
	snprintf(row.status, sizeof(row.status), "open");
	snprintf(row.node, sizeof(row.node), "apply");
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	assert_null(block_of_type(card, "actions"));
	cJSON_Delete(card);
	fb_state_free(st);
	fb_tmpl_free(t);
}

static void long_diff_is_cut_and_posted_whole(void **s)
{
	fb_tmpl *t = NULL;
	fb_incident_row row = waiting_row();
	char *diff = malloc(20000), *p = diff;
	cJSON *card = NULL, *parts = NULL, *part;
	int cut = 0;
	size_t total = 0;
	(void)s;
	for (int i = 0; i < 400; i++)
		p += sprintf(p, "+  key%03d: value-%03d\n", i, i);
	fb_state *st = oom_state("OOMKilled", diff);
	assert_int_equal(fb_tmpl_load("ko", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	assert_int_equal(cut, 1);
	char *json = cJSON_PrintUnformatted(card);
	assert_true(strlen(json) < 12000);
	assert_non_null(strstr(json, "400")); /* the note says how long it is */
	free(json);
	assert_int_equal(fb_card_diff_parts(t, st, &parts), FB_OK);
	assert_true(cJSON_GetArraySize(parts) >= 3);
	cJSON_ArrayForEach(part, parts)
	{
		const cJSON *rt = block_of_type(part, "rich_text");
		const cJSON *txt = cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rt, "elements"), 0),
				"elements"),
			0);
		const char *v = cJSON_GetObjectItemCaseSensitive(txt, "text")->valuestring;
		assert_true(strlen(v) <= 3000);
		total += strlen(v);
	}
	assert_int_equal(total, strlen(diff));
	cJSON_Delete(parts);
	cJSON_Delete(card);
	fb_state_free(st);
	free(diff);
	fb_tmpl_free(t);
}

static void long_text_is_clipped_utf8_safe(void **s)
{
	fb_tmpl *t = NULL;
	cJSON *vars = cJSON_CreateObject(), *msg = NULL;
	char *big = malloc(4 * 4000 + 1), *p = big;
	(void)s;
	for (int i = 0; i < 4000; i++)
		p += sprintf(p, "%s", "\xea\xb0\x80"); /* 가 */
	cJSON_AddStringToObject(vars, "message_md", big);
	assert_int_equal(fb_tmpl_load("ko", &t), FB_OK);
	assert_int_equal(fb_tmpl_render(t, "reply", vars, &msg), FB_OK);
	const cJSON *sec = block_of_type(msg, "section");
	const char *txt = cJSON_GetObjectItemCaseSensitive(
				  cJSON_GetObjectItemCaseSensitive(sec, "text"), "text")
				  ->valuestring;
	assert_int_equal(fb_utf8_len(txt), 3000);
	assert_non_null(strstr(txt, "\xe2\x80\xa6"));
	cJSON_Delete(msg);
	cJSON_Delete(vars);
	free(big);
	fb_tmpl_free(t);
}

static void modal_titles_fit_and_edit_lists_values(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = oom_state("x", "y");
	cJSON *view = NULL;
	(void)s;
	assert_int_equal(fb_tmpl_load("ko", &t), FB_OK);
	assert_int_equal(fb_card_modal_edit(t, st, "incident-x|1|C1", &view), FB_OK);
	const char *title = cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(view, "title"), "text")
				    ->valuestring;
	assert_true(fb_utf8_len(title) <= 24);
	char *json = cJSON_PrintUnformatted(view);
	assert_non_null(strstr(json, "\"block_id\":\"set:resources.limits.memory\""));
	assert_non_null(strstr(json, "\"initial_value\":\"1024Mi\""));
	assert_non_null(strstr(json, "\"private_metadata\":\"incident-x|1|C1\""));
	free(json);
	cJSON_Delete(view);
	fb_state_free(st);
	fb_tmpl_free(t);
}

static void who_is_a_mention_only_for_user_ids(void **s)
{
	char *a = fb_card_who("U024BE7LH"), *b = fb_card_who("<!channel>");
	(void)s;
	assert_string_equal(a, "<@U024BE7LH>");
	assert_string_equal(b, "&lt;!channel&gt;");
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(catalogs_have_the_same_keys),
		cmocka_unit_test(labels_fit_their_limits),
		cmocka_unit_test(card_has_buttons_diff_and_escapes),
		cmocka_unit_test(long_diff_is_cut_and_posted_whole),
		cmocka_unit_test(long_text_is_clipped_utf8_safe),
		cmocka_unit_test(modal_titles_fit_and_edit_lists_values),
		cmocka_unit_test(who_is_a_mention_only_for_user_ids),
	};
	return cmocka_run_group_tests_name("card", tests, NULL, NULL);
}
