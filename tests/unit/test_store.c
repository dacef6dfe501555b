/* Unit tests for the store's facade and its SQLite backend: durability
 * across reopen, jobs, nested transactions (savepoints), the inbox's
 * dedupe, the outbox, cursors, argument checks and read-only connections.
 * Typed events: test_store_events.c; migrations: test_store_migrate.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/store.h"
#include "firebreak/store_backend.h"
#include "test_store_util.h"

static void incident_survives_reopen(void **s)
{
	fb_store *st = NULL;
	fb_incident_row row = {0}, *got = NULL;
	fb_job job;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_schema_version(st), FB_STORE_SCHEMA_VERSION);
	assert_string_equal(fb_store_backend_name(st), "sqlite");
	snprintf(row.id, sizeof(row.id), "incident-1");
	snprintf(row.status, sizeof(row.status), "waiting");
	snprintf(row.node, sizeof(row.node), "await_decision");
	row.state = "{\"a\":1}";
	row.created_at = row.updated_at = 5;
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_incident_insert(st, &row), FB_OK);
	assert_int_equal(fb_store_job_put(st, "incident-1", "verify", 10), FB_OK);
	assert_int_equal(fb_store_job_put(st, "incident-1", "report", 20), FB_OK);
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                                    .actor = "me",
	                                                    .kind = FB_EV_CREATED,
	                                                    .detail = "y"}),
	                 FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	/* a rolled-back transaction leaves nothing */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_event_add(
	                     st, &(fb_event){.incident_id = "incident-1", .kind = FB_EV_FEEDBACK}),
	                 FB_OK);
	fb_store_rollback(st);
	fb_store_free(st);

	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_incident_get(st, "incident-1", &got), FB_OK);
	assert_string_equal(got->status, "waiting");
	assert_string_equal(got->state, "{\"a\":1}");
	fb_incident_row_free(got);
	assert_int_equal(fb_store_job_get(st, "incident-1", &job), FB_OK);
	assert_string_equal(job.node, "report"); /* one pending job per incident */
	fb_timeline_entry *tl = NULL;
	size_t n = 0;
	assert_int_equal(fb_store_timeline_list(st, "incident-1", &tl, &n), FB_OK);
	assert_int_equal(n, 1);
	assert_string_equal(tl[0].event, "incident.created");
	assert_string_equal(tl[0].actor, "me");
	fb_timeline_free(tl, n);
	char ids[4][64];
	assert_int_equal(fb_store_jobs_due(st, 15, ids, 4, &n), FB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fb_store_jobs_due(st, 25, ids, 4, &n), FB_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "incident-1");
	assert_int_equal(fb_store_job_retry(st, job.id, 30), FB_OK);
	assert_int_equal(fb_store_job_get(st, "incident-1", &job), FB_OK);
	assert_int_equal(job.attempts, 1);
	assert_int_equal(job.run_at, 30);
	assert_int_equal(fb_store_job_clear(st, "incident-1"), FB_OK);
	assert_int_equal(fb_store_job_get(st, "incident-1", &job), FB_ENOTFOUND);
	assert_int_equal(fb_store_incident_get(st, "nope", &got), FB_ENOTFOUND);
	assert_null(got);
	fb_store_free(st);
}

/* The cursor's value, or "-" when there is none. */
static const char *cursor(fb_store *st, const char *name, char *buf, size_t size)
{
	char *v = NULL;
	fb_err rc = fb_store_cursor_get(st, name, &v);
	snprintf(buf, size, "%s", rc == FB_OK ? v : rc == FB_ENOTFOUND ? "-" : "error");
	free(v);
	return buf;
}

static void savepoints_keep_or_drop_what_they_should(void **s)
{
	fb_store *st = NULL;
	char b[32];
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_depth(st), 0);
	assert_int_equal(fb_store_commit(st), FB_ESTATE); /* nothing to commit */

	/* an inner commit keeps its write for the outer one; an inner
	 * rollback drops only its own */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "a", "1"), FB_OK);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_depth(st), 2);
	assert_int_equal(fb_store_cursor_put(st, "b", "2"), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "c", "3"), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "a", "overwritten"), FB_OK);
	assert_string_equal(cursor(st, "c", b, sizeof(b)), "3"); /* visible inside */
	fb_store_rollback(st);
	assert_int_equal(fb_store_depth(st), 1);
	assert_string_equal(cursor(st, "c", b, sizeof(b)), "-");
	assert_string_equal(cursor(st, "a", b, sizeof(b)), "1");
	/* three deep: the innermost dropped, the middle kept */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "d", "4"), FB_OK);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_depth(st), 3);
	assert_int_equal(fb_store_cursor_put(st, "e", "5"), FB_OK);
	fb_store_rollback(st);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_int_equal(fb_store_depth(st), 0);
	fb_store_free(st);

	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_string_equal(cursor(st, "a", b, sizeof(b)), "1");
	assert_string_equal(cursor(st, "b", b, sizeof(b)), "2");
	assert_string_equal(cursor(st, "c", b, sizeof(b)), "-");
	assert_string_equal(cursor(st, "d", b, sizeof(b)), "4");
	assert_string_equal(cursor(st, "e", b, sizeof(b)), "-");

	/* an outer rollback drops what the inner ones committed */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "f", "6"), FB_OK);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "g", "7"), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	fb_store_rollback(st);
	assert_int_equal(fb_store_depth(st), 0);
	assert_string_equal(cursor(st, "f", b, sizeof(b)), "-");
	assert_string_equal(cursor(st, "g", b, sizeof(b)), "-");
	fb_store_rollback(st); /* no transaction: nothing happens */
	assert_int_equal(fb_store_depth(st), 0);

	/* freeing with a transaction open commits nothing */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "h", "8"), FB_OK);
	fb_store_free(st);
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_string_equal(cursor(st, "h", b, sizeof(b)), "-");
	fb_store_free(st);
}

static void inbox_dedupes_envelopes(void **s)
{
	fb_store *st = NULL;
	int dup = -1;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_inbox_add(st, "env-1", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 0);
	assert_int_equal(fb_store_inbox_add(st, "env-1", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 1);
	assert_int_equal(fb_store_inbox_add(st, "env-1", "events_api", &dup), FB_OK);
	assert_int_equal(dup, 1); /* the id alone decides */
	assert_int_equal(fb_store_inbox_add(st, "env-2", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 0);
	/* an envelope whose transaction rolled back was never seen */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_inbox_add(st, "env-3", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 0);
	fb_store_rollback(st);
	assert_int_equal(fb_store_inbox_add(st, "env-3", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 0);
	/* the dedupe survives a restart */
	fb_store_free(st);
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_inbox_add(st, "env-2", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 1);
	/* pruning forgets what came before the cut, and nothing after */
	assert_int_equal(fb_store_inbox_prune(st, fb_now_ms() - 60000), FB_OK);
	assert_int_equal(fb_store_inbox_add(st, "env-2", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 1);
	assert_int_equal(fb_store_inbox_prune(st, fb_now_ms() + 1000), FB_OK);
	assert_int_equal(fb_store_inbox_add(st, "env-2", "interactive", &dup), FB_OK);
	assert_int_equal(dup, 0);
	assert_int_equal(fb_store_inbox_add(st, "", "interactive", &dup), FB_EINVAL);
	fb_store_free(st);
}

static void outbox_add_pending_done_attempt_depth(void **s)
{
	fb_store *st = NULL;
	fb_incident_row row;
	fb_outbox_row *o = NULL;
	int64_t id1 = 0, id2 = 0, id3 = 0;
	size_t n = 0;
	long depth = -1;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	make_row(&row, "incident-1", 1);
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_incident_insert(st, &row), FB_OK);
	assert_int_equal(fb_store_card_set(st, "incident-1", "C1", "111.222"), FB_OK);
	assert_int_equal(fb_store_outbox_add(st, "incident-1", "card", "C1", "{\"a\":1}", &id1),
	                 FB_OK);
	assert_int_equal(fb_store_outbox_add(st, "", "chat.postEphemeral", "C2", "{}", &id2),
	                 FB_OK);
	assert_int_equal(fb_store_outbox_add(st, "incident-1", "thread", "C1", "{\"b\":2}", &id3),
	                 FB_OK);
	assert_int_equal(fb_store_outbox_add(st, "incident-1", "", "C1", "{}", NULL), FB_EINVAL);
	assert_int_equal(fb_store_commit(st), FB_OK);
	assert_true(id1 < id2 && id2 < id3);

	assert_int_equal(fb_store_outbox_pending(st, 0, &o, &n), FB_OK);
	assert_int_equal(n, 3);
	assert_int_equal(o[0].id, id1);
	assert_string_equal(o[0].method, "card");
	assert_string_equal(o[0].channel, "C1");
	assert_string_equal(o[0].card_ts, "111.222"); /* joined from the incident */
	assert_string_equal(o[0].body, "{\"a\":1}");
	assert_string_equal(o[1].card_ts, "");
	assert_int_equal(o[2].id, id3);
	fb_outbox_rows_free(o, n);
	assert_int_equal(fb_store_outbox_pending(st, id1, &o, &n), FB_OK); /* after an id */
	assert_int_equal(n, 2);
	assert_int_equal(o[0].id, id2);
	fb_outbox_rows_free(o, n);
	assert_int_equal(fb_store_outbox_depth(st, &depth), FB_OK);
	assert_int_equal(depth, 3);

	assert_int_equal(fb_store_outbox_done(st, id1, "sent", "ok"), FB_OK);
	assert_int_equal(fb_store_outbox_attempt(st, id2, "ratelimited"), FB_OK);
	assert_int_equal(fb_store_outbox_attempt(st, id2, "ratelimited"), FB_OK);
	assert_int_equal(fb_store_outbox_done(st, id3, "lost", ""), FB_EINVAL);
	assert_int_equal(fb_store_outbox_pending(st, 0, &o, &n), FB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(o[0].id, id2);
	assert_int_equal(o[0].attempts, 2);
	assert_int_equal(o[1].attempts, 0);
	fb_outbox_rows_free(o, n);
	assert_int_equal(fb_store_outbox_depth(st, &depth), FB_OK);
	assert_int_equal(depth, 2);
	assert_int_equal(fb_store_outbox_done(st, id2, "failed", "channel_not_found"), FB_OK);
	assert_int_equal(fb_store_outbox_done(st, id3, "superseded", ""), FB_OK);
	assert_int_equal(fb_store_outbox_depth(st, &depth), FB_OK);
	assert_int_equal(depth, 0);
	assert_int_equal(fb_store_outbox_pending(st, 0, &o, &n), FB_OK);
	assert_int_equal(n, 0);
	fb_outbox_rows_free(o, n);
	fb_store_free(st);
}

static void cursors_get_put_overwrite(void **s)
{
	fb_store *st = NULL;
	char *v = (char *)"untouched", b[64];
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_cursor_get(st, "loki", &v), FB_ENOTFOUND);
	assert_null(v);
	assert_int_equal(fb_store_cursor_put(st, "loki", "1700000000000000001"), FB_OK);
	assert_int_equal(fb_store_cursor_put(st, "logfile:/var/log/app.log", "ino=7 off=42"),
	                 FB_OK);
	assert_string_equal(cursor(st, "loki", b, sizeof(b)), "1700000000000000001");
	assert_int_equal(fb_store_cursor_put(st, "loki", "1700000000000000099"), FB_OK);
	assert_string_equal(cursor(st, "loki", b, sizeof(b)), "1700000000000000099");
	assert_int_equal(fb_store_cursor_put(st, "empty", ""), FB_OK);
	assert_string_equal(cursor(st, "empty", b, sizeof(b)), "");
	assert_int_equal(fb_store_cursor_put(st, "", "x"), FB_EINVAL);
	fb_store_free(st);
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_string_equal(cursor(st, "loki", b, sizeof(b)), "1700000000000000099");
	assert_string_equal(cursor(st, "logfile:/var/log/app.log", b, sizeof(b)), "ino=7 off=42");
	fb_store_free(st);
}

static void arguments_are_checked(void **s)
{
	fb_store *st = NULL;
	fb_incident_row row;
	char long_id[100];
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	make_row(&row, "", 1);
	assert_int_equal(fb_store_incident_insert(st, &row), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "incident id is missing"));
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(fb_store_job_put(st, long_id, "collect", 1), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "longer than 63 bytes"));
	assert_int_equal(fb_store_checkpoint_add(st, "incident-1", "", "next", "{}"), FB_EINVAL);
	fb_store *other = (fb_store *)1;
	assert_int_equal(fb_store_open_with("postgres", path, 0, &other), FB_ENOTFOUND);
	assert_null(other);
	assert_non_null(strstr(fb_error_last(), "no backend named \"postgres\""));
	fb_store_free(st);
	assert_null(fb_store_backend_find("nope"));
}

static void readonly_connections_refuse_writes(void **s)
{
	fb_store *rw = NULL, *ro = NULL;
	fb_incident_row row, *got = NULL;
	int dup = 0;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &rw), FB_OK);
	make_row(&row, "incident-1", 1);
	assert_int_equal(fb_store_incident_insert(rw, &row), FB_OK);
	assert_int_equal(fb_store_open(path, 1, &ro), FB_OK);
	assert_int_equal(fb_store_incident_get(ro, "incident-1", &got), FB_OK);
	fb_incident_row_free(got);
	assert_int_equal(fb_store_begin(ro), FB_ESTATE);
	assert_non_null(strstr(fb_error_last(), "read-only"));
	assert_int_equal(fb_store_incident_update(ro, &row), FB_ESTATE);
	assert_int_equal(fb_store_inbox_add(ro, "env", "x", &dup), FB_ESTATE);
	assert_int_equal(fb_store_cursor_put(ro, "loki", "1"), FB_ESTATE);
	fb_store_free(ro);
	fb_store_free(rw);
}

static void newer_schema_is_refused(void **s)
{
	fb_store *st = NULL;
	char cmd[160];
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	fb_store_free(st);
	snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA user_version=99'", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(fb_store_open(path, 0, &st), FB_EDB);
	assert_null(st);
	assert_non_null(strstr(fb_error_last(), "newer than this firebreak"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(incident_survives_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(savepoints_keep_or_drop_what_they_should, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(inbox_dedupes_envelopes, setup, teardown),
	    cmocka_unit_test_setup_teardown(outbox_add_pending_done_attempt_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(cursors_get_put_overwrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(arguments_are_checked, setup, teardown),
	    cmocka_unit_test_setup_teardown(readonly_connections_refuse_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
