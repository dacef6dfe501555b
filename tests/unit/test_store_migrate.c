/* Unit tests for the store's migrations: a database made at every earlier
 * schema version (1 to 4, their SQL copied from the git history of
 * src/store.c) opens with the current code, keeps its data, types its old
 * timeline rows, and ends at FB_STORE_SCHEMA_VERSION; a database that is
 * too new, damaged, or not a database is refused with a clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "firebreak/store.h"
#include "test_store_util.h"

/* Migration v as the code of that time applied it. */
static const char *const old_migrations[] = {
    /* 1: as first written in commit 80b06c7 (src/store.c) */
    "CREATE TABLE incidents ( id TEXT PRIMARY KEY, status TEXT NOT NULL,"
    " node TEXT NOT NULL, category TEXT NOT NULL DEFAULT '',"
    " severity TEXT NOT NULL DEFAULT '', app TEXT NOT NULL DEFAULT '',"
    " namespace TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
    " fingerprint TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0,"
    " card_channel TEXT NOT NULL DEFAULT '', card_ts TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " state TEXT NOT NULL);CREATE INDEX incidents_status ON incidents(status);"
    "CREATE INDEX incidents_fingerprint ON incidents(fingerprint);"
    "CREATE TABLE checkpoints ( id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL REFERENCES incidents(id), seq INTEGER NOT NULL,"
    " node TEXT NOT NULL, next TEXT NOT NULL, state TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, UNIQUE (incident_id, seq));"
    "CREATE TABLE timeline ( id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL REFERENCES incidents(id), ts INTEGER NOT NULL,"
    " actor TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX timeline_incident ON timeline(incident_id, id);"
    "CREATE TABLE jobs ( id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL UNIQUE REFERENCES incidents(id),"
    " node TEXT NOT NULL, run_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE INDEX jobs_due ON jobs(run_at);",
    /* 2: as first written in commit a124fb3 (src/store.c) */
    "CREATE TABLE inbox ( id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    " received_at INTEGER NOT NULL);CREATE TABLE outbox ( id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL DEFAULT '', method TEXT NOT NULL,"
    " channel TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    " result TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
    " sent_at INTEGER);CREATE INDEX outbox_pending ON outbox(status, id);"
    "CREATE TABLE feedback ( id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL REFERENCES incidents(id), user TEXT NOT NULL,"
    " verdict TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL);",
    /* 3: as first written in commit 9c03264 (src/store.c) */
    "CREATE TABLE cursors ( name TEXT PRIMARY KEY, value TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);",
    /* 4: as first written in commit 630ecfd (src/store.c) */
    "CREATE INDEX timeline_event ON timeline(event);"
    "CREATE INDEX incidents_source ON incidents(source);",
};

#define CREATED 1700000000000LL

/* The rows the code of each version wrote (its event names and prose). */
static const char *const rows_v1 =
    "INSERT INTO incidents (id, status, node, category, source, fingerprint, version, "
    "created_at, updated_at, state) VALUES ('incident-1', 'waiting', 'await_decision', 'oom', "
    "'loki', 'fp-1', 2, 1700000000000, 1700000005000, '{\"id\":\"incident-1\"}');"
    "INSERT INTO checkpoints (incident_id, seq, node, next, state, created_at) VALUES "
    "('incident-1', 1, 'collect', 'classify', '{}', 1700000000100);"
    "INSERT INTO jobs (incident_id, node, run_at, attempts, created_at) VALUES "
    "('incident-1', 'verify', 1700000009000, 1, 1700000000000);"
    "INSERT INTO timeline (incident_id, ts, actor, event, detail) VALUES "
    "('incident-1', 1700000000000, 'U1', 'incident.created', 'loki'),"
    "('incident-1', 1700000001000, 'firebreak', 'node.classify', 'category=oom severity=high'),"
    "('incident-1', 1700000002000, 'U2', 'decision.refused', 'approve refused: U2 is not in "
    "slack.approvers'),"
    "('incident-1', 1700000007000, 'U1', 'decision.approve', 'ship it'),"
    "('incident-1', 1700000008000, 'firebreak', 'node.error', 'apply failed (attempt 1 of 3): "
    "push: timeout'),"
    "('incident-1', 1700000008500, 'firebreak', 'node.apply', 'refused: the tree is dirty'),"
    "('incident-1', 1700000009000, 'firebreak', 'node.apply', 'committed 0123456789ab on main'),"
    "('incident-1', 1700000010000, 'firebreak', 'node.verify', 'pending: 1 of 2 ready (check "
    "1)'),"
    "('incident-1', 1700000011000, 'firebreak', 'node.verify', 'verify failed (attempt 3 of 3): "
    "timeout'),"
    "('incident-1', 1700000012000, 'U1', 'feedback', 'good'),"
    "('incident-1', 1700000013000, 'someone', 'something.else', 'free text');";

static const char *const rows_v2 =
    "INSERT INTO inbox (id, kind, received_at) VALUES ('env-1', 'interactive', 1700000000000);"
    "INSERT INTO outbox (incident_id, method, channel, body, created_at) VALUES "
    "('incident-1', 'card', 'C1', '{\"text\":\"hi\"}', 1700000000000);"
    "INSERT INTO feedback (incident_id, user, verdict, reason, created_at) VALUES "
    "('incident-1', 'U1', 'good', '', 1700000012000);";

static const char *const rows_v3 =
    "INSERT INTO cursors (name, value, updated_at) VALUES ('loki', '1700000000000000001', 1);";

/* A database at schema version v, as that version's code left it. */
static void make_old(int v)
{
	sqlite3 *db = NULL;
	char pragma[40];
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; i < v; i++)
		assert_int_equal(sqlite3_exec(db, old_migrations[i], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, rows_v1, NULL, NULL, NULL), SQLITE_OK);
	if (v >= 2)
		assert_int_equal(sqlite3_exec(db, rows_v2, NULL, NULL, NULL), SQLITE_OK);
	if (v >= 3)
		assert_int_equal(sqlite3_exec(db, rows_v3, NULL, NULL, NULL), SQLITE_OK);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v);
	assert_int_equal(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static long count(fb_store *st, fb_store_stat which, const char *key, double *sum)
{
	fb_stat_row rows[16];
	size_t n = 0;
	assert_int_equal(fb_store_stats(st, which, rows, 16, &n), FB_OK);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].key, key)) {
			if (sum)
				*sum = rows[i].sum;
			return rows[i].count;
		}
	return 0;
}

/* The core rows every version had survive, and the timeline is typed. */
static void check_core(fb_store *st)
{
	fb_incident_row *row = NULL;
	fb_timeline_entry *tl = NULL;
	fb_job job;
	size_t n = 0;
	long ckpts = 0;
	double sum = 0;

	assert_int_equal(fb_store_incident_get(st, "incident-1", &row), FB_OK);
	assert_string_equal(row->status, "waiting");
	assert_string_equal(row->fingerprint, "fp-1");
	assert_int_equal(row->version, 2);
	assert_int_equal(row->created_at, CREATED);
	assert_string_equal(row->state, "{\"id\":\"incident-1\"}");
	fb_incident_row_free(row);
	assert_int_equal(fb_store_checkpoint_count(st, "incident-1", &ckpts), FB_OK);
	assert_int_equal(ckpts, 1);
	assert_int_equal(fb_store_job_get(st, "incident-1", &job), FB_OK);
	assert_string_equal(job.node, "verify");
	assert_int_equal(job.attempts, 1);

	assert_int_equal(fb_store_timeline_list(st, "incident-1", &tl, &n), FB_OK);
	assert_int_equal(n, 11);
	assert_int_equal(tl[0].kind, FB_EV_CREATED);
	assert_int_equal(tl[1].kind, FB_EV_STEP);
	assert_string_equal(tl[1].node, "classify");
	assert_string_equal(tl[1].outcome, "");
	assert_int_equal(tl[2].kind, FB_EV_REFUSED);
	assert_string_equal(tl[2].outcome, "approve");
	assert_int_equal(tl[3].kind, FB_EV_DECISION);
	assert_string_equal(tl[3].outcome, "approve");
	assert_true(tl[3].value > 6.99 && tl[3].value < 7.01); /* 7 s after creation */
	assert_string_equal(tl[3].detail, "ship it");          /* the prose stays */
	assert_int_equal(tl[4].kind, FB_EV_NODE_ERROR);
	assert_string_equal(tl[4].node, "apply");
	assert_string_equal(tl[5].outcome, "refused");
	assert_string_equal(tl[6].outcome, "committed");
	assert_string_equal(tl[7].outcome, "pending");
	assert_string_equal(tl[8].node, "verify");
	assert_string_equal(tl[8].outcome, "error");
	assert_int_equal(tl[9].kind, FB_EV_FEEDBACK);
	assert_string_equal(tl[9].outcome, "good");
	assert_int_equal(tl[10].kind, FB_EV_OTHER);
	assert_string_equal(tl[10].event, "something.else");
	fb_timeline_free(tl, n);

	assert_int_equal(count(st, FB_STAT_DECISIONS, "approve", &sum), 1);
	assert_true(sum > 6.99 && sum < 7.01);
	assert_int_equal(count(st, FB_STAT_APPLY, "committed", NULL), 1);
	assert_int_equal(count(st, FB_STAT_APPLY, "refused", NULL), 1);
	assert_int_equal(count(st, FB_STAT_VERIFY, "pending", NULL), 1);
	assert_int_equal(count(st, FB_STAT_VERIFY, "error", NULL), 1);
	assert_int_equal(count(st, FB_STAT_SOURCES, "loki", NULL), 1);
}

static void migrates_from(int v)
{
	fb_store *st = NULL;
	fb_outbox_row *o = NULL;
	size_t n = 0;
	char *cur = NULL;
	int dup = 0;

	make_old(v);
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_schema_version(st), FB_STORE_SCHEMA_VERSION);
	check_core(st);
	assert_int_equal(fb_store_inbox_add(st, "env-1", "interactive", &dup), FB_OK);
	assert_int_equal(dup, v >= 2); /* seen before the upgrade */
	assert_int_equal(fb_store_outbox_pending(st, 0, &o, &n), FB_OK);
	assert_int_equal(n, v >= 2 ? 1 : 0);
	if (n)
		assert_string_equal(o[0].body, "{\"text\":\"hi\"}");
	fb_outbox_rows_free(o, n);
	assert_int_equal(fb_store_cursor_get(st, "loki", &cur), v >= 3 ? FB_OK : FB_ENOTFOUND);
	if (v >= 3)
		assert_string_equal(cur, "1700000000000000001");
	free(cur);
	/* and the upgraded database takes new typed events */
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1",
	                                                    .kind = FB_EV_STEP,
	                                                    .node = "apply",
	                                                    .outcome = "committed"}),
	                 FB_OK);
	assert_int_equal(count(st, FB_STAT_APPLY, "committed", NULL), 2);
	fb_store_free(st);
	/* opening again changes nothing */
	assert_int_equal(fb_store_open(path, 1, &st), FB_OK);
	assert_int_equal(fb_store_schema_version(st), FB_STORE_SCHEMA_VERSION);
	assert_int_equal(count(st, FB_STAT_APPLY, "committed", NULL), 2);
	fb_store_free(st);
}

static void migrates_from_1(void **s)
{
	(void)s;
	migrates_from(1);
}

static void migrates_from_2(void **s)
{
	(void)s;
	migrates_from(2);
}

static void migrates_from_3(void **s)
{
	(void)s;
	migrates_from(3);
}

static void migrates_from_4(void **s)
{
	(void)s;
	migrates_from(4);
}

/* A read-only connection never migrates: it asks for the writer first. */
static void readonly_open_of_an_old_schema_is_refused(void **s)
{
	fb_store *st = NULL;
	(void)s;
	make_old(4);
	assert_int_equal(fb_store_open(path, 1, &st), FB_EDB);
	assert_null(st);
	assert_non_null(strstr(fb_error_last(), "schema version 4, expected 5"));
}

/* A migration that fails leaves the database at the last whole version. */
static void a_failed_migration_changes_nothing(void **s)
{
	fb_store *st = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	(void)s;
	make_old(4);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* a column in the way of schema 5's */
	assert_int_equal(
	    sqlite3_exec(db, "ALTER TABLE timeline ADD COLUMN outcome TEXT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(fb_store_open(path, 0, &st), FB_EDB);
	assert_null(st);
	assert_non_null(strstr(fb_error_last(), "migrating the database to version 5"));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 4);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM timeline", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 11);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void too_new_is_refused(void **s)
{
	fb_store *st = NULL;
	sqlite3 *db = NULL;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	fb_store_free(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=6", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(fb_store_open(path, 0, &st), FB_EDB);
	assert_null(st);
	assert_non_null(
	    strstr(fb_error_last(), "database schema version 6 is newer than this firebreak (5)"));
	assert_non_null(strstr(fb_error_last(), path));
}

static void write_file(const char *bytes, size_t len, long at)
{
	FILE *f = fopen(path, at < 0 ? "wb" : "r+b");
	assert_non_null(f);
	if (at > 0)
		assert_int_equal(fseek(f, at, SEEK_SET), 0);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
}

static void not_a_database_is_refused(void **s)
{
	fb_store *st = NULL;
	char junk[8192];
	(void)s;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)("firebreak? no, a log file\n"[i % 26]);
	write_file(junk, sizeof(junk), -1);
	assert_int_equal(fb_store_open(path, 0, &st), FB_EDB);
	assert_null(st);
	assert_non_null(strstr(fb_error_last(), "is not a firebreak database, or it is damaged"));
	assert_non_null(strstr(fb_error_last(), path));
	assert_int_equal(fb_store_open(path, 1, &st), FB_EDB);
	assert_non_null(strstr(fb_error_last(), "is not a firebreak database, or it is damaged"));
}

static void damaged_database_is_refused(void **s)
{
	fb_store *st = NULL;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	fb_store_free(st); /* checkpointed into the main file on close */
	/* the header's page size and the first page's b-tree header, gone */
	write_file("\xff\xff\xff\xff\xff\xff\xff\xff", 8, 16);
	write_file("\x77\x77\x77\x77\x77\x77\x77\x77", 8, 100);
	assert_int_equal(fb_store_open(path, 0, &st), FB_EDB);
	assert_null(st);
	assert_non_null(strstr(fb_error_last(), "is not a firebreak database, or it is damaged"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(migrates_from_1, setup, teardown),
	    cmocka_unit_test_setup_teardown(migrates_from_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(migrates_from_3, setup, teardown),
	    cmocka_unit_test_setup_teardown(migrates_from_4, setup, teardown),
	    cmocka_unit_test_setup_teardown(readonly_open_of_an_old_schema_is_refused, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_failed_migration_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(too_new_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_a_database_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_database_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_migrate", tests, NULL, NULL);
}
