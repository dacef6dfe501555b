/* Unit tests for the card telling the whole story (issue 9): ranked
 * suggestions, the evidence window, header and colour per status, the
 * diff without git's headers, thread sentences, the app hint, and
 * messages as catalog keys. */
#include "firebreak/buf.h"
#include "firebreak/rules.h"
#include "firebreak/tmpl.h"
#include "test_card_util.h"

static const char *header_text(const cJSON *card)
{
	const cJSON *h = block_of_type(card, "header");
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, "text"), "text")
	    ->valuestring;
}

static const char *bar_colour(const cJSON *card)
{
	const cJSON *a =
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(card, "attachments"), 0);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "color");
	return cJSON_IsString(c) ? c->valuestring : "";
}

static const char *section_text(const cJSON *card, const char *block_prefix)
{
	const cJSON *b;
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(card, "blocks"))
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(b, "block_id");
		if (cJSON_IsString(id) && id->valuestring[0] == block_prefix[0])
			return cJSON_GetObjectItemCaseSensitive(
			           cJSON_GetObjectItemCaseSensitive(b, "text"), "text")
			    ->valuestring;
	}
	return NULL;
}

static void manual_card_shows_the_ranked_suggestions(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = story_state("crashloop", "Back-off restarting failed container", "grafana");
	static const char *const p[] = {"category", "crashloop", NULL};
	cJSON *card = NULL;
	int cut = 0;
	(void)s;
	story_proposal(st, "manual", "reason", "manual_category", p);
	snprintf(st->result, sizeof(st->result), "manual");
	fb_incident_row row = story_row("manual", "end", st);
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	const char *g = section_text(card, "g");
	assert_non_null(g);
	const char *one = strstr(g, "1. Read the previous container's log");
	const char *two = strstr(g, "2. If it began right after a deploy");
	const char *three = strstr(g, "3. Check the liveness probe");
	assert_true(one && two && three && one < two && two < three);
	/* the status says why, and no longer points at a list it does not show */
	const char *status = section_text(card, "s");
	assert_non_null(strstr(status, "No automatic fix for Crash loop"));
	assert_null(strstr(status, "see the suggested actions"));
	cJSON_Delete(card);
	fb_state_free(st);
	fb_tmpl_free(t);
}

static void evidence_keeps_the_decisive_line_whole(void **s)
{
	fb_buf log;
	char line[2400];
	(void)s;
	fb_buf_init(&log, 1 << 20);
	for (int i = 0; i < 300; i++)
		fb_buf_printf(&log, "2026-11-21T10:%02d:00Z level=info msg=\"request %d served\"\n",
		              i % 60, i);
	/* a long JSON line whose decisive words are at its end */
	snprintf(line, sizeof(line),
	         "{\"level\":\"error\",\"pad\":\"%0900d\",\"msg\":\"java.lang.OutOfMemoryError: "
	         "Java heap space\"}",
	         0);
	fb_buf_printf(&log, "%s\n", line);
	for (int i = 0; i < 300; i++)
		fb_buf_printf(&log, "2026-11-21T11:%02d:00Z level=info msg=\"after %d\"\n", i % 60,
		              i);
	char ev[512];
	snprintf(ev, sizeof(ev), "%.500s...", line); /* as rules.c cuts it */
	char *w = fb_card_text_evidence(fb_buf_str(&log), ev, 1500);
	assert_non_null(strstr(w, "Java heap space\"}")); /* the line is whole */
	assert_non_null(strstr(w, "request 299 served")); /* context before */
	assert_non_null(strstr(w, "after 0\""));          /* and after */
	assert_null(strstr(w, "request 0 served"));       /* not the start */
	assert_true(strlen(w) <= 1500);
	free(w);
	/* a short line with context fits whole; no excerpt: the evidence */
	w = fb_card_text_evidence("a\nb\n  Reason: OOMKilled\nc\n", "Reason: OOMKilled", 1500);
	assert_string_equal(w, "  a\n  b\n\xe2\x96\xb6   Reason: OOMKilled\n  c");
	free(w);
	w = fb_card_text_evidence("", "Reason: OOMKilled", 1500);
	assert_string_equal(w, "Reason: OOMKilled");
	free(w);
	fb_buf_free(&log);
}

/* A line longer than the card allows, its decisive words far in: the
 * rules keep those words in the evidence, and the card shows them. */
static void a_long_line_keeps_its_decisive_words(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL, *w;
	fb_classification c;
	fb_buf log;
	(void)s;
	fb_buf_init(&log, 1 << 16);
	fb_buf_addstr(&log, "{\"level\":\"info\",\"msg\":\"starting\"}\n{\"level\":\"error\",\"ctx\":\"");
	for (int i = 0; i < 300; i++)
		fb_buf_printf(&log, "k%03d=v%03d ", i, i);
	fb_buf_addstr(&log, "\",\"msg\":\"java.lang.OutOfMemoryError: Java heap space\",\"tail\":\"");
	for (int i = 0; i < 100; i++)
		fb_buf_printf(&log, "t%03d ", i);
	fb_buf_addstr(&log, "\"}\n");
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	assert_int_equal(fb_rules_classify(r, fb_buf_str(&log), log.len, &c), FB_OK);
	assert_string_equal(c.category, "oom");
	assert_non_null(strstr(c.evidence, "OutOfMemoryError"));
	assert_true(!strncmp(c.evidence, "...", 3));
	w = fb_card_text_evidence(fb_buf_str(&log), c.evidence, 1500);
	assert_non_null(strstr(w, "java.lang.OutOfMemoryError: Java heap space"));
	assert_true(strlen(w) <= 1500);
	assert_non_null(strstr(w, "\xe2\x80\xa6")); /* says where it was cut */
	free(w);
	fb_rules_free(r);
	free(errors);
	fb_buf_free(&log);
}

static void header_and_colour_follow_the_status(void **s)
{
	static const struct {
		const char *status, *node, *result, *word, *colour;
		int applied;
	} cases[] = {
	    {"waiting", "await_decision", "", "Waiting for a decision", "#ECB22E", 0},
	    {"open", "apply", "", "Applying the fix", "#1264A3", 0},
	    {"open", "verify", "", "Verifying", "#1264A3", 1},
	    {"resolved", "end", "resolved", "Resolved", "#2EB67D", 1},
	    {"failed", "end", "failed", "Failed", "#E01E5A", 0},
	    {"rejected", "end", "rejected", "Rejected", "#9E9E9E", 0},
	    {"manual", "end", "manual", "Needs a person", "#E8912D", 0},
	    {"closed", "end", "closed", "Closed", "#9E9E9E", 0},
	};
	fb_tmpl *t = NULL;
	(void)s;
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fb_state *st = story_state("oom", "Reason: OOMKilled", "grafana");
		static const char *const p[] = {"app", "grafana", "from", "512Mi",
		                                "to",  "1Gi",     NULL};
		cJSON *card = NULL;
		int cut = 0;
		story_proposal(st, "values_patch", "summary", "fix_memory_raise", p);
		snprintf(st->result, sizeof(st->result), "%s", cases[i].result);
		st->apply.present = cases[i].applied;
		fb_incident_row row = story_row(cases[i].status, cases[i].node, st);
		assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
		if (!strstr(header_text(card), cases[i].word))
			fail_msg("%s: header \"%s\"", cases[i].status, header_text(card));
		assert_string_equal(bar_colour(card), cases[i].colour);
		assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(card, "text")->valuestring,
		                       cases[i].word));
		cJSON_Delete(card);
		fb_state_free(st);
	}
	fb_tmpl_free(t);
}

static void diff_loses_git_header_lines(void **s)
{
	const char *two = "diff --git a/x/a.yaml b/x/a.yaml\nindex 1..2 100644\n--- a/x/a.yaml\n"
	                  "+++ b/x/a.yaml\n@@ -1 +1 @@\n-a: 1\n+a: 2\n"
	                  "diff --git a/x/b.yaml b/x/b.yaml\nnew file mode 100644\nindex 0..3\n"
	                  "--- /dev/null\n+++ b/x/b.yaml\n@@ -0,0 +1 @@\n+b: 1\n";
	char *c = fb_card_text_diff(two);
	(void)s;
	assert_string_equal(c, "\xe2\x94\x80\xe2\x94\x80 x/a.yaml\n@@ -1 +1 @@\n-a: 1\n+a: 2\n"
	                       "\xe2\x94\x80\xe2\x94\x80 x/b.yaml\n@@ -0,0 +1 @@\n+b: 1\n");
	free(c);
	c = fb_card_text_diff(
	    "diff --git a/v.yaml b/v.yaml\nindex 1..2\n--- a/v.yaml\n+++ b/v.yaml\n"
	    "@@ -3 +3 @@ x:\n-  m: 1\n+  m: 2\n");
	assert_string_equal(c, "@@ -3 +3 @@ x:\n-  m: 1\n+  m: 2\n"); /* the card names the file */
	free(c);
	/* issue 10 (fuzz_card): a Latin-1 comment in the values file */
	c = fb_card_text_diff("@@ -1 +1 @@\n # caf\xe9\n-m: 1\n+m: 2\n");
	assert_string_equal(c, "@@ -1 +1 @@\n # caf\xef\xbf\xbd\n-m: 1\n+m: 2\n");
	free(c);

	/* on the card */
	fb_tmpl *t = NULL;
	fb_state *st = story_state("oom", "Reason: OOMKilled", "grafana");
	static const char *const p[] = {"app", "grafana", "from", "512Mi", "to", "1Gi", NULL};
	cJSON *card = NULL;
	int cut = 0;
	story_proposal(st, "values_patch", "summary", "fix_memory_raise", p);
	fb_incident_row row = story_row("waiting", "await_decision", st);
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	char *json = cJSON_PrintUnformatted(card);
	assert_null(strstr(json, "diff --git"));
	assert_null(strstr(json, "index d2ac678"));
	assert_null(strstr(json, "+++ b/"));
	assert_non_null(strstr(json, "+    memory: 1024Mi"));
	assert_non_null(strstr(json, "Raise the memory limit of grafana from 512Mi to 1Gi"));
	free(json);
	cJSON_Delete(card);
	fb_state_free(st);
	fb_tmpl_free(t);
}

static const char *thread_fallback(const cJSON *msg)
{
	return cJSON_GetObjectItemCaseSensitive(msg, "text")->valuestring;
}

static void thread_lines_read_as_sentences(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = story_state("oom", "Reason: OOMKilled", "grafana");
	static const char *const p[] = {"app", "grafana", "from", "512Mi", "to", "1Gi", NULL};
	cJSON *msg = NULL;
	(void)s;
	story_proposal(st, "values_patch", "summary", "fix_memory_raise", p);
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	decide(st, "approve", "");
	assert_int_equal(fb_card_decision_line(t, fb_state_last_decision(st), &msg), FB_OK);
	assert_string_equal(thread_fallback(msg), "Approved by <@U024BE7LH>: applying the fix.");
	cJSON_Delete(msg);
	decide(st, "reject", "not a leak");
	assert_int_equal(fb_card_decision_line(t, fb_state_last_decision(st), &msg), FB_OK);
	assert_string_equal(thread_fallback(msg),
	                    "Rejected by <@U024BE7LH>: not a leak. Nothing will be changed.");
	cJSON_Delete(msg);
	/* the steps, said from the state */
	st->apply.present = 1;
	snprintf(st->apply.commit, sizeof(st->apply.commit), "83911b5aa");
	snprintf(st->apply.branch, sizeof(st->apply.branch), "main");
	fb_incident_row row = story_row("open", "verify", st);
	assert_int_equal(fb_card_step_line(t, &row, st, "apply", "committed 83911b5 on main", &msg),
	                 FB_OK);
	assert_non_null(strstr(thread_fallback(msg), "Committed `83911b5` to `main`."));
	cJSON_Delete(msg);
	cJSON *v = cJSON_Parse("{\"result\":\"ok\",\"reason\":\"\"}");
	fb_state_set_verify(st, v);
	cJSON_Delete(v);
	assert_int_equal(fb_card_step_line(t, &row, st, "verify", "ok", &msg), FB_OK);
	assert_non_null(strstr(thread_fallback(msg), "Verification: ok."));
	cJSON_Delete(msg);
	snprintf(st->result, sizeof(st->result), "resolved");
	row = story_row("resolved", "end", st);
	assert_int_equal(fb_card_step_line(t, &row, st, "report", "resolved", &msg), FB_OK);
	assert_non_null(strstr(thread_fallback(msg), "Resolved."));
	cJSON_Delete(msg);
	/* a step that gave up, in Korean: the step's name is Korean too */
	fb_tmpl *ko = NULL;
	assert_int_equal(fb_tmpl_load("ko", &ko), FB_OK);
	fb_msg_init(&st->error_msg, "error_node_failed");
	fb_msg_set(&st->error_msg, "node", "apply");
	fb_msg_set(&st->error_msg, "attempt", "3");
	fb_msg_set(&st->error_msg, "max", "3");
	fb_msg_set(&st->error_msg, "error", "push rejected");
	snprintf(st->result, sizeof(st->result), "failed");
	row = story_row("failed", "end", st);
	assert_int_equal(fb_card_step_line(ko, &row, st, "report", "x", &msg), FB_OK);
	assert_non_null(strstr(thread_fallback(msg), "적용 단계 실패 (3/3회 시도): push rejected"));
	cJSON_Delete(msg);
	fb_tmpl_free(ko);
	/* a step without a sentence of its own keeps its detail, escaped */
	assert_int_equal(fb_card_step_line(t, &row, st, "feedback", "a <b>", &msg), FB_OK);
	assert_non_null(strstr(thread_fallback(msg), "a &lt;b&gt;"));
	cJSON_Delete(msg);
	fb_state_free(st);
	fb_tmpl_free(t);
}

/* issue 10 (fuzz_card): the short commit on the card is 7 bytes cut at a
 * character boundary, not in the middle of one (a hostile stored state). */
static void short_commit_is_never_half_a_character(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = story_state("oom", "Reason: OOMKilled", "grafana");
	cJSON *card = NULL;
	int cut = 0;
	(void)s;
	decide(st, "approve", "");
	st->apply.present = 1;
	snprintf(st->apply.commit, sizeof(st->apply.commit), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	snprintf(st->apply.branch, sizeof(st->apply.branch), "main");
	fb_incident_row row = story_row("running", "verify", st);
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	char *json = cJSON_PrintUnformatted(card);
	assert_non_null(strstr(json, "`\xc3\xa9\xc3\xa9\xc3\xa9`"));
	free(json);
	cJSON_Delete(card);
	fb_state_free(st);
	fb_tmpl_free(t);
}

/* issue 10 (fuzz_card): an edit whose path would make a block_id over
 * Block Kit's 255 characters is left out of the edit form. */
static void edit_form_leaves_out_paths_too_long_to_name(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = NULL;
	cJSON *view = NULL;
	(void)s;
	assert_int_equal(fb_state_new(&st), FB_OK);
	st->proposal.n_edits = 2;
	memset(st->proposal.edits[0].path, 'a', 252);
	st->proposal.edits[0].path[252] = '\0';
	snprintf(st->proposal.edits[1].path, sizeof(st->proposal.edits[1].path), "%s",
	         "resources.limits.memory");
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_modal_edit(t, st, "incident-20261121000000-abcd|1|C1", &view), FB_OK);
	char *json = cJSON_PrintUnformatted(view);
	assert_non_null(strstr(json, "\"set:resources.limits.memory\""));
	assert_null(strstr(json, "set:aaaa"));
	free(json);
	cJSON_Delete(view);
	fb_state_free(st);
	fb_tmpl_free(t);
}

static void unknown_app_is_told_how_to_name_it_in_slack(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = story_state("oom", "Reason: OOMKilled", "");
	cJSON *card = NULL;
	int cut = 0;
	(void)s;
	story_proposal(st, "manual", "reason", "manual_no_app", NULL);
	snprintf(st->result, sizeof(st->result), "manual");
	fb_incident_row row = story_row("manual", "end", st);
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	char *json = cJSON_PrintUnformatted(card);
	assert_null(strstr(json, "--app"));
	assert_non_null(strstr(json, "app=NAME"));
	free(json);
	cJSON_Delete(card);
	fb_state_free(st);
	fb_tmpl_free(t);
}

static void messages_have_sections_and_english_for_the_cli(void **s)
{
	fb_msg m;
	char out[1024];
	(void)s;
	fb_msg_init(&m, "cause_oom");
	fb_msg_set(&m, "app", "grafana");
	fb_msg_set(&m, "ns", "monitoring");
	fb_msg_set(&m, "limit", "512Mi");
	fb_msg_set(&m, "sigkill", "1");
	fb_msg_set(&m, "restarts", "6");
	fb_msg_english(&m, out, sizeof(out));
	assert_string_equal(out, "grafana (namespace monitoring) ran out of memory at its limit of "
	                         "512Mi and was killed by the OOM killer (exit code 137, SIGKILL). "
	                         "It has restarted 6 times. The memory limit is too low for its "
	                         "working set, or it leaks.");
	fb_msg_set(&m, "sigkill", NULL);
	fb_msg_set(&m, "restarts", "");
	fb_msg_set(&m, "exit_code", "1");
	fb_msg_set(&m, "container", "sidecar");
	fb_msg_english(&m, out, sizeof(out));
	assert_string_equal(out, "Container sidecar of grafana (namespace monitoring) ran out of "
	                         "memory at its limit of 512Mi (exit code 1). The memory limit is "
	                         "too low for its working set, or it leaks.");
	/* every fact at once still fits (the restarts come last) */
	fb_state *full = story_state("oom", "Reason: OOMKilled", "grafana");
	assert_non_null(strstr(full->analysis.root_cause, "It has restarted 6 times."));
	fb_state_free(full);
	/* a category the catalogs do not know: the fallback, and its list */
	fb_state *st = story_state("made_up_category", "x", "grafana");
	assert_string_equal(st->analysis.root_cause_msg.key, "cause_other");
	assert_int_equal(st->analysis.n_actions, 2);
	assert_string_equal(st->analysis.actions_msg[1].key, "suggest_other_2");
	fb_state_free(st);
	/* a round trip through the stored JSON keeps the keys */
	st = story_state("oom", "Reason: OOMKilled", "grafana");
	char *json = NULL;
	fb_state *back = NULL;
	assert_int_equal(fb_state_to_json(st, &json), FB_OK);
	assert_int_equal(fb_state_parse(json, &back), FB_OK);
	assert_string_equal(back->analysis.root_cause_msg.key, "cause_oom");
	assert_string_equal(fb_msg_get(&back->analysis.root_cause_msg, "limit"), "512Mi");
	assert_string_equal(back->analysis.actions_msg[2].key, "suggest_oom_3");
	free(json);
	fb_state_free(back);
	fb_state_free(st);
}


/* What Slack counts against msg_blocks_too_long: every text's characters. */
static size_t text_chars(const cJSON *node)
{
	const cJSON *it;
	size_t n = 0;
	cJSON_ArrayForEach(it, node)
	{
		if (cJSON_IsString(it) && it->string && !strcmp(it->string, "text")) {
			assert_true(fb_utf8_len(it->valuestring) <= 3000);
			n += fb_utf8_len(it->valuestring);
		} else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			n += text_chars(it);
		}
	}
	return n;
}

static void the_fullest_card_fits_block_kit(void **s)
{
	const char *locales[] = {"en", "ko"};
	fb_buf big, line;
	(void)s;
	fb_buf_init(&big, 1 << 20);
	fb_buf_init(&line, 1 << 16);
	for (int i = 0; i < 1400; i++)
		fb_buf_addc(&line, (char)('a' + i % 26));
	for (int i = 0; i < 50; i++)
		fb_buf_printf(&big, "%s %d\n", fb_buf_str(&line), i);
	for (size_t l = 0; l < 2; l++) {
		fb_tmpl *t = NULL;
		fb_state *st = story_state("oom", fb_buf_str(&line), "grafana");
		cJSON *card = NULL, *v;
		int cut = 0;
		fb_state_set_excerpt(st, fb_buf_str(&big));
		/* a stored state without keys: the English, as long as it gets */
		memset(st->analysis.root_cause, 'r', sizeof(st->analysis.root_cause) - 1);
		st->analysis.root_cause_msg.key[0] = '\0';
		st->analysis.n_actions = FB_STATE_ACTIONS_MAX;
		for (size_t i = 0; i < FB_STATE_ACTIONS_MAX; i++) {
			memset(st->analysis.actions[i], 's', sizeof(st->analysis.actions[i]) - 1);
			st->analysis.actions_msg[i].key[0] = '\0';
		}
		story_proposal(st, "values_patch", "summary", "fix_memory_raise", NULL);
		free(st->proposal.diff);
		st->proposal.diff = strdup(fb_buf_str(&big));
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "result", "failed");
		cJSON_AddStringToObject(v, "reason", fb_buf_str(&line));
		fb_state_set_verify(st, v);
		cJSON_Delete(v);
		memset(st->apply_error, 'e', sizeof(st->apply_error) - 1);
		decide(st, "reject", fb_buf_str(&line));
		st->repeats = 12;
		fb_incident_row row = story_row("waiting", "await_decision", st);
		assert_int_equal(fb_tmpl_load(locales[l], &t), FB_OK);
		assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
		assert_int_equal(cut, 1);
		size_t n = text_chars(card);
		if (n >= 12000 || n < 8000) /* full, and within the limit */
			fail_msg("%s: %zu characters of text", locales[l], n);
		cJSON_Delete(card);
		fb_state_free(st);
		fb_tmpl_free(t);
	}
	fb_buf_free(&line);
	fb_buf_free(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(manual_card_shows_the_ranked_suggestions),
	    cmocka_unit_test(evidence_keeps_the_decisive_line_whole),
	    cmocka_unit_test(a_long_line_keeps_its_decisive_words),
	    cmocka_unit_test(header_and_colour_follow_the_status),
	    cmocka_unit_test(diff_loses_git_header_lines),
	    cmocka_unit_test(thread_lines_read_as_sentences),
	    cmocka_unit_test(unknown_app_is_told_how_to_name_it_in_slack),
	    cmocka_unit_test(short_commit_is_never_half_a_character),
	    cmocka_unit_test(edit_form_leaves_out_paths_too_long_to_name),
	    cmocka_unit_test(messages_have_sections_and_english_for_the_cli),
		cmocka_unit_test(the_fullest_card_fits_block_kit),
	};
	return cmocka_run_group_tests_name("card_story", tests, NULL, NULL);
}
