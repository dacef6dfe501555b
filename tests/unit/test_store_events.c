/* Unit tests for the store's typed timeline events and the aggregates
 * behind /metrics: they are read from columns, so rewording the prose a
 * person reads cannot change a metric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/store.h"
#include "test_store_util.h"

static fb_err step(fb_store *st, const char *node, const char *outcome, const char *detail)
{
	return fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                          .actor = "firebreak",
	                                          .kind = FB_EV_STEP,
	                                          .node = node,
	                                          .outcome = outcome,
	                                          .detail = detail});
}

static fb_err decision(fb_store *st, const char *action, double seconds, const char *note)
{
	return fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                          .actor = "U1",
	                                          .kind = FB_EV_DECISION,
	                                          .outcome = action,
	                                          .value = seconds,
	                                          .detail = note});
}

/* The row of one statistic with key, or NULL. */
static const fb_stat_row *stat(fb_store *st, fb_store_stat which, const char *key,
                               fb_stat_row *rows, size_t *n)
{
	assert_int_equal(fb_store_stats(st, which, rows, 16, n), FB_OK);
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(rows[i].key, key))
			return &rows[i];
	return NULL;
}

static long count(fb_store *st, fb_store_stat which, const char *key)
{
	fb_stat_row rows[16];
	size_t n = 0;
	const fb_stat_row *r = stat(st, which, key, rows, &n);
	return r ? r->count : 0;
}

static fb_store *open_with_incident(void)
{
	fb_store *st = NULL;
	fb_incident_row row;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	make_row(&row, "incident-1", fb_now_ms() - 10000);
	assert_int_equal(fb_store_incident_insert(st, &row), FB_OK);
	return st;
}

static void events_keep_their_typed_fields(void **s)
{
	fb_store *st = open_with_incident();
	fb_timeline_entry *tl = NULL;
	size_t n = 0;
	(void)s;
	assert_int_equal(step(st, "apply", "committed", "committed abc on main"), FB_OK);
	assert_int_equal(decision(st, "approve", 12.5, "looks right"), FB_OK);
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                                    .kind = FB_EV_NODE_ERROR,
	                                                    .node = "verify",
	                                                    .outcome = "retry",
	                                                    .value = 2}),
	                 FB_OK);
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                                    .actor = "alertmanager",
	                                                    .kind = FB_EV_SIGNAL_RESOLVED,
	                                                    .detail = "2026-01-01T00:00:00Z"}),
	                 FB_OK);
	assert_int_equal(fb_store_timeline_list(st, "incident-1", &tl, &n), FB_OK);
	assert_int_equal(n, 4);
	assert_int_equal(tl[0].kind, FB_EV_STEP);
	assert_string_equal(tl[0].event, "node.apply");
	assert_string_equal(tl[0].node, "apply");
	assert_string_equal(tl[0].outcome, "committed");
	assert_string_equal(tl[0].detail, "committed abc on main");
	assert_int_equal(tl[1].kind, FB_EV_DECISION);
	assert_string_equal(tl[1].event, "decision.approve");
	assert_string_equal(tl[1].actor, "U1");
	assert_true(tl[1].value > 12.49 && tl[1].value < 12.51);
	assert_string_equal(tl[2].event, "node.error");
	assert_string_equal(tl[2].node, "verify");
	assert_true(tl[2].value > 1.99 && tl[2].value < 2.01);
	assert_string_equal(tl[3].event, "signal.resolved");
	assert_string_equal(tl[3].outcome, "");
	assert_true(tl[0].ts > 0 && tl[0].ts <= tl[3].ts);
	fb_timeline_free(tl, n);
	fb_store_free(st);
}

static void events_are_checked(void **s)
{
	fb_store *st = open_with_incident();
	(void)s;
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1"}),
	                 FB_EINVAL); /* FB_EV_OTHER is only for rows from before schema 5 */
	assert_int_equal(
	    fb_store_event_add(st, &(fb_event){.incident_id = "incident-1", .kind = FB_EV_KINDS}),
	    FB_EINVAL);
	assert_int_equal(fb_store_event_add(st, &(fb_event){.kind = FB_EV_CREATED}), FB_EINVAL);
	assert_int_equal(step(st, "", "ok", ""), FB_EINVAL); /* a step names its node */
	assert_int_equal(decision(st, "", 1, ""), FB_EINVAL);
	assert_int_equal(step(st, "apply", "a-token-much-longer-than-a-token", ""), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "event outcome is longer"));
	fb_store_free(st);
}

static void names_follow_the_kind(void **s)
{
	char b[64];
	(void)s;
	fb_event_name(FB_EV_STEP, "verify", "ok", b, sizeof(b));
	assert_string_equal(b, "node.verify");
	fb_event_name(FB_EV_DECISION, "", "edit", b, sizeof(b));
	assert_string_equal(b, "decision.edit");
	fb_event_name(FB_EV_REFUSED, "", "approve", b, sizeof(b));
	assert_string_equal(b, "decision.refused");
	fb_event_name(FB_EV_CREATED, NULL, NULL, b, sizeof(b));
	assert_string_equal(b, "incident.created");
	fb_event_name(FB_EV_REPEAT, NULL, NULL, b, sizeof(b));
	assert_string_equal(b, "incident.repeat");
	fb_event_name(FB_EV_ALERT_REPEAT, NULL, NULL, b, sizeof(b));
	assert_string_equal(b, "alert.repeat");
	fb_event_name(FB_EV_FEEDBACK, NULL, "good", b, sizeof(b));
	assert_string_equal(b, "feedback");
	fb_event_name((fb_event_kind)99, NULL, NULL, b, sizeof(b));
	assert_string_equal(b, "event");
}

static void stats_read_columns(void **s)
{
	fb_store *st = open_with_incident();
	fb_stat_row rows[16];
	size_t n = 0;
	const fb_stat_row *r;
	(void)s;
	assert_int_equal(decision(st, "approve", 10, ""), FB_OK);
	assert_int_equal(decision(st, "approve", 20, "second"), FB_OK);
	assert_int_equal(decision(st, "reject", 4, ""), FB_OK);
	assert_int_equal(step(st, "apply", "committed", "committed abc on main"), FB_OK);
	assert_int_equal(step(st, "apply", "conflict", "values.yaml moved on"), FB_OK);
	assert_int_equal(step(st, "verify", "ok", "ok: pods ready (check 1)"), FB_OK);
	assert_int_equal(step(st, "verify", "pending", "pending: 1 of 2 ready (check 1)"), FB_OK);
	assert_int_equal(step(st, "verify", "pending", "pending: 1 of 2 ready (check 2)"), FB_OK);
	assert_int_equal(step(st, "report", "", "resolved"), FB_OK);
	/* a node error is not a step: no apply outcome */
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                                    .kind = FB_EV_NODE_ERROR,
	                                                    .node = "apply",
	                                                    .outcome = "retry",
	                                                    .detail = "committed nothing"}),
	                 FB_OK);

	r = stat(st, FB_STAT_DECISIONS, "approve", rows, &n);
	assert_int_equal(n, 2);
	assert_non_null(r);
	assert_int_equal(r->count, 2);
	assert_true(r->sum > 29.99 && r->sum < 30.01);
	r = stat(st, FB_STAT_DECISIONS, "reject", rows, &n);
	assert_non_null(r);
	assert_true(r->sum > 3.99 && r->sum < 4.01);
	assert_int_equal(count(st, FB_STAT_APPLY, "committed"), 1);
	assert_int_equal(count(st, FB_STAT_APPLY, "conflict"), 1);
	assert_int_equal(count(st, FB_STAT_APPLY, "retry"), 0);
	assert_int_equal(count(st, FB_STAT_VERIFY, "ok"), 1);
	assert_int_equal(count(st, FB_STAT_VERIFY, "pending"), 2);
	(void)stat(st, FB_STAT_VERIFY, "", rows, &n);
	assert_int_equal(n, 2); /* report's step has no outcome and no place here */
	assert_int_equal(count(st, FB_STAT_SOURCES, "cli"), 1);
	assert_int_equal(fb_store_stats(st, FB_STAT_KINDS, rows, 16, &n), FB_EINVAL);
	/* max bounds the rows written */
	assert_int_equal(fb_store_stats(st, FB_STAT_VERIFY, rows, 1, &n), FB_OK);
	assert_int_equal(n, 1);
	fb_store_free(st);
}

/* The metric follows the outcome, whatever the sentence says: a detail
 * reworded (or translated) leaves every count where it was, and a
 * detail that reads like another outcome does not move one. */
static void reworded_details_do_not_move_metrics(void **s)
{
	fb_store *st = open_with_incident();
	(void)s;
	assert_int_equal(step(st, "apply", "committed", "committed abc on main"), FB_OK);
	assert_int_equal(step(st, "verify", "failed", "failed: CrashLoopBackOff (check 1)"), FB_OK);
	assert_int_equal(count(st, FB_STAT_APPLY, "committed"), 1);
	assert_int_equal(count(st, FB_STAT_VERIFY, "failed"), 1);

	assert_int_equal(step(st, "apply", "committed", "Änderung abc auf main übernommen"), FB_OK);
	assert_int_equal(step(st, "verify", "failed", "the pods still crash, look again"), FB_OK);
	assert_int_equal(step(st, "apply", "refused", "committed: nothing, the tree was dirty"),
	                 FB_OK);
	assert_int_equal(step(st, "verify", "ok", "failed: no, all good now"), FB_OK);
	assert_int_equal(decision(st, "edit", 3, "approve: rather, an edit"), FB_OK);

	assert_int_equal(count(st, FB_STAT_APPLY, "committed"), 2);
	assert_int_equal(count(st, FB_STAT_APPLY, "refused"), 1);
	assert_int_equal(count(st, FB_STAT_VERIFY, "failed"), 2);
	assert_int_equal(count(st, FB_STAT_VERIFY, "ok"), 1);
	assert_int_equal(count(st, FB_STAT_DECISIONS, "edit"), 1);
	assert_int_equal(count(st, FB_STAT_DECISIONS, "approve"), 0);
	fb_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(events_keep_their_typed_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(events_are_checked, setup, teardown),
	    cmocka_unit_test(names_follow_the_kind),
	    cmocka_unit_test_setup_teardown(stats_read_columns, setup, teardown),
	    cmocka_unit_test_setup_teardown(reworded_details_do_not_move_metrics, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_events", tests, NULL, NULL);
}
