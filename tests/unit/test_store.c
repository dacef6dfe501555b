/* Unit tests for store.c: migration, durability across reopen, jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/store.h"

static char path[64];

static int setup(void **s)
{
	(void)s;
	snprintf(path, sizeof(path), "/tmp/fb-store-%d.db", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **s)
{
	char p[80];
	(void)s;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

static void incident_survives_reopen(void **s)
{
	fb_store *st = NULL;
	fb_incident_row row = {0}, *got = NULL;
	fb_job job;
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	assert_int_equal(fb_store_schema_version(st), FB_STORE_SCHEMA_VERSION);
	snprintf(row.id, sizeof(row.id), "incident-1");
	snprintf(row.status, sizeof(row.status), "waiting");
	snprintf(row.node, sizeof(row.node), "await_decision");
	row.state = "{\"a\":1}";
	row.created_at = row.updated_at = 5;
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_incident_insert(st, &row), FB_OK);
	assert_int_equal(fb_store_job_put(st, "incident-1", "verify", 10), FB_OK);
	assert_int_equal(fb_store_job_put(st, "incident-1", "report", 20), FB_OK);
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1", .actor = "me", .kind = FB_EV_CREATED, .detail = "y"}), FB_OK);
	assert_int_equal(fb_store_commit(st), FB_OK);
	/* a rolled-back transaction leaves nothing */
	assert_int_equal(fb_store_begin(st), FB_OK);
	assert_int_equal(fb_store_event_add(st, &(fb_event){.incident_id = "incident-1", .kind = FB_EV_FEEDBACK}), FB_OK);
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
	fb_timeline_free(tl, n);
	char ids[4][64];
	assert_int_equal(fb_store_jobs_due(st, 15, ids, 4, &n), FB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fb_store_jobs_due(st, 25, ids, 4, &n), FB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fb_store_incident_get(st, "nope", &got), FB_ENOTFOUND);
	fb_store_free(st);
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
	assert_non_null(strstr(fb_error_last(), "newer than this firebreak"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(incident_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
