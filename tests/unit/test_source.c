/* Unit tests for the source family: the table, the Alertmanager parse
 * (firing, resolved, malformed and partial bodies), the manual source,
 * the log-file poller driven through its ops, and the engine's one commit
 * (new incident, repeat folded by the graph's rule, resolved shown
 * through on_step, cursor stored with the signals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/filelog.h"
#include "firebreak/ingest.h"
#include "firebreak/source.h"

static fb_config cfg;

static int setup(void **s)
{
	(void)s;
	fb_config_defaults(&cfg);
	return 0;
}

/* ---- the table ---- */

static void table_finds_every_source_by_name(void **s)
{
	static const char *names[] = {"loki", "logfile", "alertmanager", "manual"};
	(void)s;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const fb_source_ops *o = fb_source_find(names[i]);
		assert_non_null(o);
		assert_string_equal(o->name, names[i]);
	}
	assert_null(fb_source_find("airflow"));
	assert_null(fb_source_find(""));
	assert_null(fb_source_find(NULL));
}

static void table_rows_keep_the_contract(void **s)
{
	size_t n = 0;
	(void)s;
	for (const fb_source_ops *o; (o = fb_source_at(n)); n++) {
		assert_int_equal(o->version, FB_SOURCE_OPS_VERSION);
		assert_non_null(o->enabled);
		/* a poller or a webhook: one or the other, whole */
		int poller = o->poll != NULL;
		assert_true(poller != (o->parse != NULL));
		if (poller) {
			assert_non_null(o->open);
			assert_non_null(o->close);
		}
		for (size_t j = 0; j < n; j++)
			assert_string_not_equal(fb_source_at(j)->name, o->name);
		assert_ptr_equal(fb_source_find(o->name), o);
	}
	assert_int_equal(n, 4);
}

static void enabled_follows_the_config(void **s)
{
	fb_config c;
	(void)s;
	fb_config_defaults(&c);
	assert_false(fb_source_find("loki")->enabled(&c));
	assert_false(fb_source_find("logfile")->enabled(&c));
	assert_true(fb_source_find("manual")->enabled(&c));
	snprintf(c.loki.url, sizeof(c.loki.url), "http://loki:3100");
	snprintf(c.loki.queries[0], sizeof(c.loki.queries[0]), "{app=\"x\"}");
	c.loki.n_queries = 1;
	assert_true(fb_source_find("loki")->enabled(&c));
}

/* ---- alertmanager ---- */

static fb_err am(const char *body, fb_source_batch **b)
{
	return fb_source_find("alertmanager")->parse(&cfg, body, strlen(body), b);
}

static void am_firing_alert_is_a_signal_with_its_fingerprint(void **s)
{
	fb_source_batch *b = NULL;
	(void)s;
	assert_int_equal(
	    am("{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
	       "\"fingerprint\":\"0123abcd\",\"labels\":{\"alertname\":\"PodOOMKilled\","
	       "\"deployment\":\"grafana\",\"namespace\":\"monitoring\"},\"annotations\":"
	       "{\"summary\":\"grafana was OOMKilled\"}}]}",
	       &b),
	    FB_OK);
	assert_string_equal(b->source, "alertmanager");
	assert_string_equal(b->cursor_name, "");
	assert_null(b->cursor);
	assert_int_equal(b->n, 1);
	assert_int_equal(b->signals[0].status, FB_SIGNAL_FIRING);
	assert_string_equal(b->signals[0].fingerprint, "am:0123abcd");
	assert_string_equal(b->signals[0].app, "grafana");
	assert_string_equal(b->signals[0].triggered_by, "alertmanager");
	assert_non_null(strstr(b->signals[0].text, "Alertmanager alert PodOOMKilled\n"));
	assert_non_null(strstr(b->signals[0].text, "summary: grafana was OOMKilled\n"));
	assert_non_null(strstr(b->signals[0].text, "namespace=monitoring\n"));
	assert_int_equal(b->signals[0].len, strlen(b->signals[0].text));
	fb_source_batch_free(b);
}

static void am_resolved_alert_is_a_resolved_signal(void **s)
{
	fb_source_batch *b = NULL;
	(void)s;
	assert_int_equal(am("{\"version\":\"4\",\"alerts\":[{\"status\":\"resolved\","
	                    "\"fingerprint\":\"ff\",\"endsAt\":\"2026-12-01T01:00:00Z\","
	                    "\"labels\":{\"alertname\":\"X\"}}]}",
	                    &b),
	                 FB_OK);
	assert_int_equal(b->n, 1);
	assert_int_equal(b->signals[0].status, FB_SIGNAL_RESOLVED);
	assert_string_equal(b->signals[0].fingerprint, "am:ff");
	assert_string_equal(b->signals[0].ends_at, "2026-12-01T01:00:00Z");
	assert_string_equal(b->signals[0].text, "Alertmanager: the alert resolved");
	fb_source_batch_free(b);
}

static void am_refuses_what_is_not_a_payload(void **s)
{
	static const struct {
		const char *body, *says;
	} bad[] = {
	    {"not json", "not JSON"},
	    {"{\"alerts\": [", "not JSON"},
	    {"[1,2]", "not a JSON object"},
	    {"{}", "\"alerts\""},
	    {"{\"alerts\": 5}", "\"alerts\""},
	    {"{\"version\":\"3\",\"alerts\":[]}", "version 3 is not supported"},
	    {"{\"version\":4,\"alerts\":[]}", "not supported"},
	};
	(void)s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fb_source_batch *b = (fb_source_batch *)&cfg; /* must be reset */
		assert_int_equal(am(bad[i].body, &b), FB_EINVAL);
		assert_null(b);
		assert_non_null(strstr(fb_error_last(), bad[i].says));
	}
	fb_source_batch *b = NULL;
	assert_int_equal(fb_source_find("alertmanager")->parse(&cfg, NULL, 0, &b), FB_EINVAL);
	assert_null(b);
}

static void am_skips_alerts_it_cannot_tell_apart(void **s)
{
	fb_source_batch *b = NULL;
	(void)s;
	/* no fingerprint: skipped; not an object: skipped; no labels or
	 * annotations: still a signal, with no app */
	assert_int_equal(am("{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"}},"
	                    "7, {\"fingerprint\":\"\"}, {\"fingerprint\":\"bare\"}]}",
	                    &b),
	                 FB_OK);
	assert_int_equal(b->n, 1);
	assert_string_equal(b->signals[0].fingerprint, "am:bare");
	assert_string_equal(b->signals[0].app, "");
	assert_int_equal(b->signals[0].status, FB_SIGNAL_FIRING);
	assert_string_equal(b->signals[0].text, "Alertmanager alert \n");
	fb_source_batch_free(b);

	assert_int_equal(am("{\"version\":\"4\",\"alerts\":[]}", &b), FB_OK);
	assert_int_equal(b->n, 0);
	fb_source_batch_free(b);
}

static void labels_name_the_app_by_one_rule(void **s)
{
	cJSON *l = cJSON_Parse("{\"job\":\"j\",\"service\":\"svc\",\"container\":\"c\"}");
	(void)s;
	assert_string_equal(fb_source_app_from_labels(l), "c");
	cJSON_DeleteItemFromObject(l, "container");
	assert_string_equal(fb_source_app_from_labels(l), "svc");
	cJSON_AddStringToObject(l, "app", "first");
	assert_string_equal(fb_source_app_from_labels(l), "first");
	assert_string_equal(fb_source_app_from_labels(NULL), "");
	cJSON_Delete(l);
}

/* ---- manual ---- */

static void manual_trigger_builds_one_signal(void **s)
{
	fb_source_batch *b = NULL;
	fb_manual_trigger t = {.via = "slack", .text = "OOMKilled\n", .len = 10, .user = "U123"};
	(void)s;
	assert_int_equal(fb_source_manual_new(&t, &b), FB_OK);
	assert_string_equal(b->source, "slack");
	assert_int_equal(b->n, 1);
	assert_string_equal(b->signals[0].text, "OOMKilled\n");
	assert_string_equal(b->signals[0].triggered_by, "U123");
	assert_string_equal(b->signals[0].fingerprint, "");
	assert_null(b->cursor);
	fb_source_batch_free(b);

	t = (fb_manual_trigger){.via = "cli", .text = "x", .len = 0};
	b = NULL;
	assert_int_equal(fb_source_manual_new(&t, &b), FB_EINVAL);
	assert_null(b);
	assert_non_null(strstr(fb_error_last(), "empty"));
}

static void manual_parse_takes_the_api_body(void **s)
{
	const fb_source_ops *m = fb_source_find("manual");
	const char *ok = "{\"log\":\"disk full\",\"app\":\"db\"}";
	const char *no_log = "{\"user\":\"ann\"}";
	fb_source_batch *b = NULL;
	(void)s;
	assert_int_equal(m->parse(&cfg, ok, strlen(ok), &b), FB_OK);
	assert_string_equal(b->source, "api");
	assert_string_equal(b->signals[0].text, "disk full");
	assert_string_equal(b->signals[0].app, "db");
	assert_string_equal(b->signals[0].triggered_by, "api");
	fb_source_batch_free(b);
	assert_int_equal(m->parse(&cfg, no_log, strlen(no_log), &b), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "\"log\""));
	assert_int_equal(m->parse(&cfg, "{", 1, &b), FB_EINVAL);
	assert_null(b);
}

/* ---- a poller through its ops ---- */

static fb_source_batch *got;

static void keep(void *ctx, fb_source_batch *b)
{
	(void)ctx;
	fb_source_batch_free(got);
	got = b;
}

static void logfile_poller_hands_lines_and_cursor(void **s)
{
	const fb_source_ops *o = fb_source_find("logfile");
	char path[64], names[FB_SOURCE_CURSORS][FB_SOURCE_NAME_MAX], want[64];
	fb_source_sink sink = {keep, NULL};
	fb_config c;
	void *p = NULL;
	int64_t wait = 0;
	FILE *f;
	(void)s;
	fb_config_defaults(&c);
	snprintf(path, sizeof(path), "/tmp/fb-source-%d.log", (int)getpid());
	f = fopen(path, "w");
	fputs("ERROR old news\n", f);
	fclose(f);
	snprintf(c.logfile.paths[0], sizeof(c.logfile.paths[0]), "%s", path);
	c.logfile.n_paths = 1;
	snprintf(c.logfile.pattern, sizeof(c.logfile.pattern), "ERROR");
	c.logfile.interval = 2;
	assert_true(o->enabled(&c));
	assert_int_equal(o->cursor_names(&c, names), 1);
	fb_filelog_cursor_name(path, want);
	assert_string_equal(names[0], want);

	const char *none[FB_SOURCE_CURSORS] = {NULL};
	assert_int_equal(o->open(&c, none, &p), FB_OK);
	assert_int_equal(o->poll(p, &sink, &wait), FB_OK); /* first sight: from the end */
	assert_int_equal(wait, 2000);
	assert_null(got);
	f = fopen(path, "a");
	fputs("INFO fine\nERROR disk full\n", f);
	fclose(f);
	assert_int_equal(o->poll(p, &sink, &wait), FB_OK);
	assert_non_null(got);
	assert_string_equal(got->source, "file");
	assert_string_equal(got->cursor_name, want);
	assert_non_null(strstr(got->cursor, "\"off\""));
	assert_int_equal(got->n, 1);
	assert_string_equal(got->signals[0].text, "ERROR disk full\n");
	o->close(p);
	fb_source_batch_free(got);
	got = NULL;

	snprintf(c.logfile.pattern, sizeof(c.logfile.pattern), "(unclosed");
	assert_int_equal(o->open(&c, none, &p), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "logfile.pattern"));
	unlink(path);
}

/* ---- the one commit ---- */

static char steps[8][32], step_detail[8][128];
static int n_steps;

static fb_err on_step(void *ctx, fb_store *st, const fb_incident_row *row, const fb_state *state,
                      const char *node, const char *detail)
{
	(void)ctx, (void)st, (void)row, (void)state;
	if (n_steps < 8) {
		snprintf(steps[n_steps], sizeof(steps[0]), "%s", node);
		snprintf(step_detail[n_steps], sizeof(step_detail[0]), "%s", detail);
		n_steps++;
	}
	return FB_OK;
}

static int has_event(fb_store *st, const char *id, const char *event)
{
	fb_timeline_entry *e = NULL;
	size_t n = 0;
	int found = 0;
	assert_int_equal(fb_store_timeline_list(st, id, &e, &n), FB_OK);
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(e[i].event, event);
	fb_timeline_free(e, n);
	return found;
}

static void commit(const fb_graph_env *env, const char *body, fb_ingest_result *r)
{
	fb_source_batch *b = NULL;
	assert_int_equal(am(body, &b), FB_OK);
	assert_int_equal(fb_ingest_commit(env, b, NULL, r), FB_OK);
	fb_source_batch_free(b);
}

static void one_commit_creates_folds_resolves_and_keeps_cursors(void **s)
{
	static const char *firing = "{\"alerts\":[{\"status\":\"firing\",\"fingerprint\":\"f1\","
	                            "\"labels\":{\"alertname\":\"Down\",\"app\":\"web\"}}]}";
	static const char *resolved = "{\"alerts\":[{\"status\":\"resolved\",\"fingerprint\":"
	                              "\"f1\",\"endsAt\":\"2026-12-01T02:00:00Z\"}]}";
	char db[64], id[64], *cur = NULL;
	fb_store *st = NULL;
	fb_ingest_result r;
	fb_incident_row **rows = NULL;
	size_t n = 0;
	(void)s;
	snprintf(db, sizeof(db), "/tmp/fb-source-%d.db", (int)getpid());
	unlink(db);
	assert_int_equal(fb_store_open(db, 0, &st), FB_OK);
	fb_graph_env env = {.cfg = &cfg, .store = st, .on_step = on_step};

	commit(&env, firing, &r);
	assert_int_equal(r.created, 1);
	assert_int_equal(r.repeats, 0);
	snprintf(id, sizeof(id), "%s", r.first_id);
	assert_true(*id);

	commit(&env, firing, &r); /* the same alert again: the graph's rule folds it */
	assert_int_equal(r.created, 0);
	assert_int_equal(r.repeats, 1);
	assert_string_equal(r.first_id, id);
	assert_true(has_event(st, id, "incident.repeat"));
	assert_int_equal(n_steps, 1);
	assert_string_equal(steps[0], "repeat");
	assert_int_equal(fb_store_incident_list(st, 1, &rows, &n), FB_OK);
	assert_int_equal(n, 1); /* no second incident */
	assert_string_equal(rows[0]->source, "alertmanager");
	assert_string_equal(rows[0]->fingerprint, "am:f1");
	fb_incident_rows_free(rows, n);

	commit(&env, resolved, &r);
	assert_int_equal(r.resolved, 1);
	assert_int_equal(n_steps, 2);
	assert_string_equal(steps[1], "resolved");
	assert_string_equal(step_detail[1], "Alertmanager: the alert resolved");
	assert_true(has_event(st, id, "signal.resolved"));
	commit(&env, resolved, &r); /* told twice: shown once */
	assert_int_equal(r.resolved, 0);
	assert_int_equal(n_steps, 2);

	/* a poller's batch: its cursor commits with its signals */
	fb_source_batch *b = NULL;
	fb_source_signal sig = {.status = FB_SIGNAL_FIRING};
	assert_int_equal(fb_source_batch_new("loki", &b), FB_OK);
	assert_int_equal(fb_source_batch_add(b, &sig, "panic: x", 8, NULL), FB_OK);
	assert_int_equal(fb_source_batch_add(b, &sig, "", 0, NULL), FB_OK); /* nothing to say */
	fb_source_batch_set_cursor(b, "loki:test", strdup("{\"start\":\"5\"}"));
	assert_int_equal(fb_ingest_commit(&env, b, NULL, &r), FB_OK);
	assert_int_equal(r.created, 1);
	assert_int_equal(fb_store_cursor_get(st, "loki:test", &cur), FB_OK);
	assert_string_equal(cur, "{\"start\":\"5\"}");
	free(cur);
	fb_source_batch_free(b);

	fb_store_free(st);
	unlink(db);
	snprintf(id, sizeof(id), "%s-wal", db);
	unlink(id);
	snprintf(id, sizeof(id), "%s-shm", db);
	unlink(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_finds_every_source_by_name),
	    cmocka_unit_test(table_rows_keep_the_contract),
	    cmocka_unit_test(enabled_follows_the_config),
	    cmocka_unit_test(am_firing_alert_is_a_signal_with_its_fingerprint),
	    cmocka_unit_test(am_resolved_alert_is_a_resolved_signal),
	    cmocka_unit_test(am_refuses_what_is_not_a_payload),
	    cmocka_unit_test(am_skips_alerts_it_cannot_tell_apart),
	    cmocka_unit_test(labels_name_the_app_by_one_rule),
	    cmocka_unit_test(manual_trigger_builds_one_signal),
	    cmocka_unit_test(manual_parse_takes_the_api_body),
	    cmocka_unit_test(logfile_poller_hands_lines_and_cursor),
	    cmocka_unit_test(one_commit_creates_folds_resolves_and_keeps_cursors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
