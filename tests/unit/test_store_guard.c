/* Unit tests for the guard of a failing store (src/store/guard.c): the
 * backoff doubles up to its cap, work waits until it is over, /health's
 * reason, the notification on each change of state, and the probe that
 * finds the store writable again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/error.h"
#include "firebreak/store.h"
#include "test_store_util.h"

static int told_ok = -1, told_n;

static void told(void *ctx, int ok, const char *why)
{
	(void)ctx;
	(void)why;
	told_ok = ok;
	told_n++;
}

static void backs_off_doubling_to_a_cap(void **s)
{
	fb_store *st = NULL;
	fb_store_guard g;
	char why[300];
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	g.notify = told;
	g.notify_ctx = NULL;
	fb_store_guard_init(&g);
	told_n = 0;
	assert_true(fb_store_guard_ready(&g, 0));
	assert_int_equal(fb_store_guard_health(&g, 0, why, sizeof(why)), 1);

	fb_error_set(FB_EDB, "COMMIT: database or disk is full");
	fb_store_guard_failed(&g, st, 1000);
	assert_int_equal(told_n, 1);
	assert_int_equal(told_ok, 0);
	assert_false(fb_store_guard_ready(&g, 1000));
	assert_false(fb_store_guard_ready(&g, 1249));
	assert_true(fb_store_guard_ready(&g, 1250));
	assert_int_equal(fb_store_guard_health(&g, 4000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "for 3 s"));
	assert_non_null(strstr(why, "disk is full"));

	long want = 500;
	for (int i = 0; i<12; i++, want = want * 2> 16000 ? 16000 : want * 2) {
		fb_store_guard_failed(&g, st, 2000);
		assert_false(fb_store_guard_ready(&g, 2000 + want - 1));
		assert_true(fb_store_guard_ready(&g, 2000 + want));
	}
	assert_int_equal(told_n, 1); /* one change of state, not one per attempt */
	fb_store_free(st);
}

static void a_probe_finds_the_recovery(void **s)
{
	fb_store *st = NULL;
	fb_store_guard g = {0};
	char *v = NULL, why[300];
	(void)s;
	assert_int_equal(fb_store_open(path, 0, &st), FB_OK);
	g.notify = told;
	told_n = 0;
	assert_int_equal(fb_store_guard_tick(&g, st, 0), 1); /* healthy: nothing to do */
	fb_error_set(FB_EDB, "BEGIN IMMEDIATE: the database is locked by another process");
	fb_store_guard_failed(&g, st, 100);
	assert_int_equal(fb_store_guard_tick(&g, st, 200), 0); /* still waiting */
	assert_int_equal(fb_store_cursor_get(st, "store.probe", &v), FB_ENOTFOUND);
	assert_int_equal(fb_store_guard_tick(&g, st, 350), 1); /* the probe wrote */
	assert_int_equal(told_n, 2);
	assert_int_equal(told_ok, 1);
	assert_int_equal(fb_store_guard_health(&g, 400, why, sizeof(why)), 1);
	assert_true(fb_store_guard_ready(&g, 400));
	assert_int_equal(fb_store_cursor_get(st, "store.probe", &v), FB_OK);
	assert_string_equal(v, "350");
	free(v);
	fb_store_free(st);
}

static void faults_have_words(void **s)
{
	(void)s;
	assert_string_equal(fb_store_fault_word(FB_STORE_FULL), "disk full");
	assert_string_equal(fb_store_fault_word(FB_STORE_LOCKED), FB_STORE_LOCKED_WORDS);
	assert_string_equal(fb_store_fault_word(FB_STORE_READONLY), "read-only");
	assert_string_equal(fb_store_fault_word((fb_store_fault)99), "write failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(backs_off_doubling_to_a_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_probe_finds_the_recovery, setup, teardown),
	    cmocka_unit_test(faults_have_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
