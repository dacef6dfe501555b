/* Unit tests for tmpl.c and card.c: the catalogs, escaping by context,
 * Block Kit limits, the incident card and its long-diff handling, and
 * every card state in Korean without English words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/buf.h"
#include "firebreak/card.h"
#include "firebreak/card_text.h"
#include "firebreak/tmpl.h"
#include "test_card_util.h"

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
	cJSON_ArrayForEach(it, en)
	    assert_non_null(cJSON_GetObjectItemCaseSensitive(ko, it->string));
	cJSON_ArrayForEach(it, ko)
	    assert_non_null(cJSON_GetObjectItemCaseSensitive(en, it->string));
	cJSON_Delete(en);
	cJSON_Delete(ko);
}

/* Labels must fit where they go in both languages, before any clipping. */
static void labels_fit_their_limits(void **s)
{
	static const struct {
		const char *key;
		size_t max;
	} limits[] = {{"edit_title", 24},     {"reject_title", 24}, {"trigger_title", 24},
	              {"propose", 24},        {"cancel", 24},       {"reject", 24},
	              {"triage", 24},         {"approve", 30},      {"edit", 75},
	              {"confirm_title", 100}, {"confirm_text", 300}};
	const char *files[] = {"messages.en.json", "messages.ko.json"};
	(void)s;
	for (size_t f = 0; f < 2; f++) {
		cJSON *c = catalog(files[f]);
		for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, limits[i].key);
			assert_true(cJSON_IsString(v));
			if (fb_utf8_len(v->valuestring) > limits[i].max)
				fail_msg("%s: %s is %zu characters (max %zu)", files[f],
				         limits[i].key, fb_utf8_len(v->valuestring), limits[i].max);
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
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(actions, "elements")),
	                 4);
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

/* The evidence's code block: ``` in a log line cannot end it. */
static void backticks_stay_inside_the_evidence_block(void **s)
{
	fb_tmpl *t = NULL;
	fb_incident_row row = waiting_row();
	fb_state *st = oom_state("`OOMKilled ``` *bold* <!channel> ````", "+  memory: 1024Mi\n");
	cJSON *card = NULL;
	int cut = 0;
	(void)s;
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	const cJSON *b;
	const char *text = NULL;
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(card, "blocks"))
	{
		const cJSON *bid = cJSON_GetObjectItemCaseSensitive(b, "block_id");
		if (cJSON_IsString(bid) && bid->valuestring[0] == 'e')
			text = cJSON_GetObjectItemCaseSensitive(
			           cJSON_GetObjectItemCaseSensitive(b, "text"), "text")
			           ->valuestring;
	}
	assert_non_null(text);
	/* exactly two fences: the block's own, and no other run of two ticks */
	const char *open = strstr(text, "```"), *close = open ? strstr(open + 3, "```") : NULL;
	if (!close)
		fail_msg("no closing fence in %s", text);
	for (size_t i = (size_t)(close - text) + 3; text[i]; i++)
		assert_true(text[i] != '`');
	for (const char *p = open + 3; p < close; p++)
		assert_false(p[0] == '`' && p[1] == '`');
	assert_non_null(strstr(text, "OOMKilled"));
	cJSON_Delete(card);
	fb_state_free(st);
	fb_tmpl_free(t);
	char *c = fb_card_text_code("a```b");
	assert_string_equal(c, "a`\xe2\x80\x8b`\xe2\x80\x8b`b");
	free(c);
	c = fb_card_text_code("no ticks");
	assert_string_equal(c, "no ticks");
	free(c);
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
	const char *txt =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sec, "text"), "text")
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

/* ---- the Korean card has no English words a person reads ---- */

/* Terms a Korean SRE keeps in English, and the names the states below use. */
static const char *const ko_allowed[] = {
    "OOM", "OOMKilled", "SIGKILL", "Pod", "Kubernetes", "CrashLoopBackOff", "Helm", "values",
    "limit", "request", "JVM", "GC", "DNS", "TLS", "NetworkPolicy", "Secret", "ConfigMap", "GitOps",
    "Argo", "CD", "Application", "Alertmanager", "diff", "git", "liveness", "probe", "command/args",
    "firebreak", "Slack", "kubectl", "describe",
    /* kept by the alert categories' messages */
    "CPU", "Job", "PVC", "PersistentVolume", "StatefulSet", "StorageClass", "Prometheus", "kubelet",
    "readiness", "UTC", "PR", "Grafana",
    /* names */
    "grafana", "monitoring", "sidecar", "docker.io/grafana/grafana", "api-db-v2",
    "/var/lib/grafana", "db.internal", "helm-values/grafana/values.yaml", "helm-values/api", "main",
    NULL};

static int ko_word_ok(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] >= '0' && w[i] <= '9')
			return 1; /* a value: 512Mi, v1, 137 */
	for (size_t i = 0; ko_allowed[i]; i++)
		if (strlen(ko_allowed[i]) == n && !strncmp(ko_allowed[i], w, n))
			return 1;
	return 0;
}

/* Removes what is not prose: code, mentions and dates, emoji codes,
 * quoted names (a commit's subject). */
static void ko_strip(char *s)
{
	static const struct {
		const char *open, *close;
	} spans[] = {{"```", "```"}, {"`", "`"}, {"<", ">"}, {"\"", "\""}};
	for (size_t k = 0; k < sizeof(spans) / sizeof(spans[0]); k++) {
		char *p;
		while ((p = strstr(s, spans[k].open))) {
			char *q = strstr(p + strlen(spans[k].open), spans[k].close);
			if (!q)
				break;
			q += strlen(spans[k].close);
			memset(p, ' ', (size_t)(q - p));
		}
	}
	for (char *p = s; (p = strchr(p, ':'));) { /* :emoji_code: */
		char *q = p + 1;
		while ((*q >= 'a' && *q <= 'z') || *q == '_' || (*q >= '0' && *q <= '9'))
			q++;
		if (*q == ':' && q > p + 1) {
			memset(p, ' ', (size_t)(q - p + 1));
			p = q + 1;
		} else {
			p++;
		}
	}
}

static int ko_word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("_.-/", c));
}

static void ko_check_text(const char *where, const char *text)
{
	char *s = strdup(text);
	ko_strip(s);
	for (const char *p = s; *p;) {
		if (!ko_word_char(*p)) {
			p++;
			continue;
		}
		const char *q = p;
		int letters = 0;
		while (ko_word_char(*q))
			letters += (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'), q++;
		size_t n = (size_t)(q - p);
		while (n && strchr("._-/", p[n - 1]))
			n--;
		if (letters && !ko_word_ok(p, n)) {
			char word[128];
			snprintf(word, sizeof(word), "%.*s", (int)n, p);
			free(s);
			fail_msg("%s: English word \"%s\" in \"%s\"", where, word, text);
		}
		p = q;
	}
	free(s);
}

/* Every "text" a person reads in msg, but not the diff (a file's own
 * lines). */
static void ko_check(const char *where, const cJSON *node)
{
	const cJSON *it;
	const cJSON *ty = cJSON_GetObjectItemCaseSensitive(node, "type");
	if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "rich_text"))
		return;
	cJSON_ArrayForEach(it, node)
	{
		if (cJSON_IsString(it) && it->string && !strcmp(it->string, "text"))
			ko_check_text(where, it->valuestring);
		else if (cJSON_IsObject(it) || cJSON_IsArray(it))
			ko_check(where, it);
	}
}

static void ko_card(const fb_tmpl *t, const char *where, const fb_incident_row *row,
                    const fb_state *st)
{
	cJSON *card = NULL, *parts = NULL;
	int cut = 0;
	assert_int_equal(fb_card_incident(t, row, st, &card, &cut), FB_OK);
	ko_check(where, card);
	cJSON_Delete(card);
	assert_int_equal(fb_card_diff_parts(t, st, &parts), FB_OK);
	ko_check(where, parts);
	cJSON_Delete(parts);
}

/* Every manual reason and fix title the actions give. */
static void ko_manual_and_fixes(const fb_tmpl *t)
{
	static const struct {
		const char *action, *field, *key;
		const char *params[12];
	} props[] = {
	    {"manual", "reason", "manual_no_repo", {NULL}},
	    {"manual", "reason", "manual_no_app", {NULL}},
	    {"manual", "reason", "manual_category", {"category", "crashloop", NULL}},
	    {"manual",
	     "reason",
	     "manual_no_limit",
	     {"file", "helm-values/grafana/values.yaml", NULL}},
	    {"manual", "reason", "manual_max_memory", {"limit", "8Gi", "max", "8Gi", NULL}},
	    {"manual",
	     "reason",
	     "manual_no_volume",
	     {"file", "helm-values/grafana/values.yaml", NULL}},
	    {"manual", "reason", "manual_max_disk", {"size", "100Gi", NULL}},
	    {"manual",
	     "reason",
	     "manual_no_tag",
	     {"file", "helm-values/grafana/values.yaml", NULL}},
	    {"manual",
	     "reason",
	     "manual_no_image_change",
	     {"file", "helm-values/grafana/values.yaml", NULL}},
	    {"manual",
	     "reason",
	     "manual_no_earlier_tag",
	     {"file", "helm-values/grafana/values.yaml", "tag", "10.4.2", NULL}},
	    {"manual",
	     "reason",
	     "manual_no_change",
	     {"file", "helm-values/grafana/values.yaml", NULL}},
	    {"manual", "reason", "manual_no_values", {"app", "grafana", NULL}},
	    {"values_patch",
	     "summary",
	     "fix_memory_raise",
	     {"app", "grafana", "from", "512Mi", "to", "8Gi", "capped", "1", NULL}},
	    {"values_patch",
	     "summary",
	     "fix_volume_grow",
	     {"app", "grafana", "from", "10Gi", "to", "20Gi", NULL}},
	    {"git_revert",
	     "summary",
	     "fix_image_rollback",
	     {"app", "grafana", "from", "10.4.2", "to", "10.4.1", "commit", "5a381c320469", NULL}},
	    {"git_revert",
	     "summary",
	     "fix_config_revert",
	     {"commit", "5a381c320469", "subject", "Point api at the new database secret", "dir",
	      "helm-values/api", NULL}},
	};
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		fb_state *st = story_state("oom", "Reason: OOMKilled", "grafana");
		story_proposal(st, props[i].action, props[i].field, props[i].key, props[i].params);
		int manual = !strcmp(props[i].action, "manual");
		snprintf(st->result, sizeof(st->result), "%s", manual ? "manual" : "");
		fb_incident_row row = manual ? story_row("manual", "end", st)
		                             : story_row("waiting", "await_decision", st);
		ko_card(t, props[i].key, &row, st);
		fb_state_free(st);
	}
}

/* The states an incident goes through, and their thread lines. */
static void ko_lifecycle(const fb_tmpl *t)
{
	static const char *const p[] = {"app", "grafana", "from", "512Mi", "to", "1Gi", NULL};
	fb_state *st = story_state("oom", "Reason: OOMKilled", "grafana");
	cJSON *msg = NULL, *v;
	story_proposal(st, "values_patch", "summary", "fix_memory_raise", p);
	fb_incident_row row = story_row("waiting", "await_decision", st);
	ko_card(t, "waiting", &row, st);
	row = story_row("open", "propose", st);
	ko_card(t, "analysing", &row, st);
	static const char *const actions[] = {"edit", "reject", "approve"};
	for (size_t i = 0; i < 3; i++) {
		decide(st, actions[i], "메모리 누수가 아님");
		assert_int_equal(fb_card_decision_line(t, fb_state_last_decision(st), &msg), FB_OK);
		ko_check(actions[i], msg);
		cJSON_Delete(msg);
	}
	row = story_row("open", "propose", st);
	assert_int_equal(fb_card_step_line(t, &row, st, "propose", "x", &msg), FB_OK);
	ko_check("propose", msg);
	cJSON_Delete(msg);
	row = story_row("open", "apply", st);
	ko_card(t, "applying", &row, st);
	st->apply.present = 1;
	st->apply.pushed = 1;
	snprintf(st->apply.commit, sizeof(st->apply.commit), "83911b5aa");
	snprintf(st->apply.branch, sizeof(st->apply.branch), "main");
	row = story_row("open", "verify", st);
	ko_card(t, "verifying", &row, st);
	assert_int_equal(fb_card_step_line(t, &row, st, "apply", "x", &msg), FB_OK);
	ko_check("apply line", msg);
	cJSON_Delete(msg);
	static const char *const results[] = {"pending", "failed", "skipped", "ok"};
	for (size_t i = 0; i < 4; i++) {
		char j[64];
		snprintf(j, sizeof(j), "{\"result\":\"%s\",\"reason\":\"%s\"}", results[i],
		         strcmp(results[i], "skipped") ? "" : "no verifier configured");
		v = cJSON_Parse(j);
		fb_state_set_verify(st, v);
		cJSON_Delete(v);
		assert_int_equal(fb_card_step_line(t, &row, st, "verify", "x", &msg), FB_OK);
		ko_check(results[i], msg);
		cJSON_Delete(msg);
	}
	st->repeats = 2;
	st->last_seen = 1796088522990;
	snprintf(st->alert.status, sizeof(st->alert.status), "resolved");
	assert_int_equal(fb_card_step_line(t, &row, st, "repeat", "x", &msg), FB_OK);
	ko_check("repeat", msg);
	cJSON_Delete(msg);
	assert_int_equal(fb_card_step_line(t, &row, st, "resolved", "x", &msg), FB_OK);
	ko_check("alert resolved", msg);
	cJSON_Delete(msg);
	/* a node that gave up: the card names the step in Korean (the
	 * library's own message, when there is one, is shown as it is) */
	fb_msg_init(&st->error_msg, "error_node_failed");
	fb_msg_set(&st->error_msg, "node", "apply");
	fb_msg_set(&st->error_msg, "attempt", "3");
	fb_msg_set(&st->error_msg, "max", "3");
	snprintf(st->error, sizeof(st->error), "apply failed (attempt 3 of 3)");
	static const char *const ends[] = {"resolved", "failed", "rejected"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(st->result, sizeof(st->result), "%s", ends[i]);
		row = story_row(ends[i], "end", st);
		ko_card(t, ends[i], &row, st);
		assert_int_equal(fb_card_step_line(t, &row, st, "report", "x", &msg), FB_OK);
		ko_check(ends[i], msg);
		cJSON_Delete(msg);
	}
	fb_state_free(st);
}

static void korean_card_has_no_english_words(void **s)
{
	static const char *const cats[] = {
	    "oom",           "crashloop",        "config_error", "resource_exhausted",
	    "network_error", "image_pull_error", "task_failure", "unknown",
	    "none"};
	fb_tmpl *t = NULL;
	cJSON *msg = NULL;
	(void)s;
	assert_int_equal(fb_tmpl_load("ko", &t), FB_OK);
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		for (int disk = 0; disk < 2; disk++) {
			fb_state *st = story_state(cats[i], disk ? "No space left on device" : "x",
			                           i % 2 ? "" : "grafana");
			static const char *const p[] = {"category", "x", NULL};
			story_proposal(st, "manual", "reason", "manual_category", p);
			snprintf(st->result, sizeof(st->result), "%s",
			         strcmp(cats[i], "none") ? "manual" : "recorded");
			fb_incident_row row = story_row(st->result, "end", st);
			ko_card(t, cats[i], &row, st);
			fb_state_free(st);
		}
	}
	ko_manual_and_fixes(t);
	ko_lifecycle(t);
	assert_int_equal(fb_card_help(t, &msg), FB_OK);
	ko_check("help", msg);
	cJSON_Delete(msg);
	assert_int_equal(fb_card_modal_trigger(t, "C1", &msg), FB_OK);
	ko_check("trigger form", msg);
	cJSON_Delete(msg);
	assert_int_equal(fb_card_modal_reject(t, "incident-x", "m", &msg), FB_OK);
	ko_check("reject form", msg);
	cJSON_Delete(msg);
	fb_tmpl_free(t);
}

/* And every message of the Korean catalog, its placeholders taken as
 * values: nothing a locale renders later escapes the check above. */
static void korean_catalog_has_no_english_words(void **s)
{
	cJSON *ko = catalog("messages.ko.json"), *it;
	(void)s;
	assert_non_null(ko);
	cJSON_ArrayForEach(it, ko)
	{
		fb_buf b;
		fb_buf_init(&b, 1 << 16);
		for (const char *p = it->valuestring; *p;) {
			const char *close = !strncmp(p, "{{", 2) ? strstr(p, "}}") : NULL;
			if (close) {
				fb_buf_addstr(&b, "1"); /* a value */
				p = close + 2;
			} else {
				fb_buf_addc(&b, *p++);
			}
		}
		ko_check_text(it->string, fb_buf_str(&b));
		fb_buf_free(&b);
	}
	cJSON_Delete(ko);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(catalogs_have_the_same_keys),
	    cmocka_unit_test(labels_fit_their_limits),
	    cmocka_unit_test(card_has_buttons_diff_and_escapes),
	    cmocka_unit_test(backticks_stay_inside_the_evidence_block),
	    cmocka_unit_test(long_diff_is_cut_and_posted_whole),
	    cmocka_unit_test(long_text_is_clipped_utf8_safe),
	    cmocka_unit_test(modal_titles_fit_and_edit_lists_values),
	    cmocka_unit_test(who_is_a_mention_only_for_user_ids),
	    cmocka_unit_test(korean_card_has_no_english_words),
	    cmocka_unit_test(korean_catalog_has_no_english_words),
	};
	return cmocka_run_group_tests_name("card", tests, NULL, NULL);
}
