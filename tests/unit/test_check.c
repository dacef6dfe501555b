/* Unit tests for the check family as plain logic (no network): the table
 * and lookup by name, the combining rule, and the runner (verify.c) over
 * fake checks: not configured, does not apply, skip, an error, the JSON
 * the card shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/check.h"
#include "firebreak/json.h"
#include "firebreak/verify.h"

static void the_table_has_the_three_checks(void **s)
{
	size_t n = 0;
	(void)s;
	assert_ptr_equal(fb_check_find("kubernetes"), &fb_check_kubernetes);
	assert_ptr_equal(fb_check_find("argocd"), &fb_check_argocd);
	assert_ptr_equal(fb_check_find("loki"), &fb_check_loki);
	assert_null(fb_check_find("nagios"));
	assert_null(fb_check_find(""));
	assert_null(fb_check_find(NULL));
	for (; fb_checks[n]; n++) {
		assert_int_equal(fb_checks[n]->version, FB_CHECK_OPS_VERSION);
		assert_non_null(fb_checks[n]->open); /* the "must" slots */
		assert_non_null(fb_checks[n]->check);
		assert_non_null(fb_checks[n]->close);
		assert_ptr_equal(fb_check_find(fb_checks[n]->name), fb_checks[n]);
	}
	assert_int_equal(n, 3);
}

static void unconfigured_checks_open_to_nothing(void **s)
{
	fb_config *cfg = calloc(1, sizeof(*cfg));
	fb_verifier *v = (fb_verifier *)1;
	(void)s;
	assert_non_null(cfg);
	assert_int_equal(fb_verifier_new(cfg, &v), FB_OK);
	assert_null(v);
	free(cfg);
}

static fb_check_result res(fb_check_verdict v, const char *detail)
{
	fb_check_result r = {.verdict = v};
	snprintf(r.detail, sizeof(r.detail), "%s", detail);
	return r;
}

static void combining_rules(void **s)
{
	size_t why = 99;
	(void)s;
	assert_int_equal(fb_check_combine(NULL, 0, &why), FB_CHECK_SKIP);
	assert_int_equal(why, 0);

	fb_check_result all_ok[] = {res(FB_CHECK_OK, "a"), res(FB_CHECK_OK, "b")};
	assert_int_equal(fb_check_combine(all_ok, 2, &why), FB_CHECK_OK);
	assert_int_equal(why, 0);

	fb_check_result one_pending[] = {res(FB_CHECK_OK, "a"), res(FB_CHECK_PENDING, "p1"),
	                                 res(FB_CHECK_PENDING, "p2")};
	assert_int_equal(fb_check_combine(one_pending, 3, &why), FB_CHECK_PENDING);
	assert_int_equal(why, 1);

	fb_check_result one_failed[] = {res(FB_CHECK_PENDING, "p"), res(FB_CHECK_FAILED, "f"),
	                                res(FB_CHECK_OK, "o")};
	assert_int_equal(fb_check_combine(one_failed, 3, &why), FB_CHECK_FAILED);
	assert_int_equal(why, 1);

	fb_check_result failed_first[] = {res(FB_CHECK_FAILED, "f1"), res(FB_CHECK_PENDING, "p"),
	                                  res(FB_CHECK_FAILED, "f2")};
	assert_int_equal(fb_check_combine(failed_first, 3, &why), FB_CHECK_FAILED);
	assert_int_equal(why, 0);

	fb_check_result skips[] = {res(FB_CHECK_SKIP, "s"), res(FB_CHECK_OK, "o")};
	assert_int_equal(fb_check_combine(skips, 2, NULL), FB_CHECK_OK);
	assert_int_equal(fb_check_combine(skips, 1, &why), FB_CHECK_SKIP);
	assert_int_equal(why, 1);

	assert_string_equal(fb_check_verdict_name(FB_CHECK_OK), "ok");
	assert_string_equal(fb_check_verdict_name(FB_CHECK_PENDING), "pending");
	assert_string_equal(fb_check_verdict_name(FB_CHECK_FAILED), "failed");
	assert_string_equal(fb_check_verdict_name(FB_CHECK_SKIP), "skip");
}

/* ---- fake checks: each answers what its name says ---- */

typedef struct {
	fb_check base;
	const char *answer;
	int *closed;
} fake;

static int closed_count;

static fb_err fake_open_as(const char *answer, fb_check **out)
{
	fake *f = calloc(1, sizeof(*f));
	if (!f)
		return FB_ENOMEM;
	f->answer = answer;
	f->closed = &closed_count;
	*out = &f->base;
	return FB_OK;
}

static void fake_close(fb_check *c)
{
	fake *f = (fake *)c;
	(*f->closed)++;
	free(f);
}

static fb_err fake_check(fb_check *c, const fb_verify_target *t, fb_check_result *r)
{
	fake *f = (fake *)c;
	if (!strcmp(f->answer, "error"))
		return fb_error_set(FB_EIO, "GET http://api/x: timed out after 20000 ms");
	if (!strcmp(f->answer, "ok"))
		return fb_check_say(r, FB_CHECK_OK, "%s is fine", t->app);
	if (!strcmp(f->answer, "pending"))
		return fb_check_say(r, FB_CHECK_PENDING, "waiting (ContainerCreating)");
	if (!strcmp(f->answer, "failed"))
		return fb_check_say(r, FB_CHECK_FAILED, "OOMKilled again after the fix");
	return fb_check_say(r, FB_CHECK_SKIP, "HTTP 403");
}

static int needs_signature(const fb_check *c, const fb_verify_target *t)
{
	(void)c;
	return *t->signature != '\0';
}

#define FAKE(id, ans)                                                                              \
	static fb_err open_##id(const fb_config *cfg, fb_check **out)                              \
	{                                                                                          \
		(void)cfg;                                                                         \
		return fake_open_as(ans, out);                                                     \
	}                                                                                          \
	static const fb_check_ops ops_##id = {FB_CHECK_OPS_VERSION, #id,       open_##id, NULL,    \
	                                      fake_check,           fake_close};

FAKE(good, "ok")
FAKE(slow, "pending")
FAKE(bad, "failed")
FAKE(refused, "skip")
FAKE(broken, "error")

static fb_err open_unconfigured(const fb_config *cfg, fb_check **out)
{
	(void)cfg;
	*out = NULL;
	return FB_OK;
}
static const fb_check_ops ops_unconfigured = {
    FB_CHECK_OPS_VERSION, "unconfigured", open_unconfigured, NULL, fake_check, fake_close};
static const fb_check_ops ops_picky = {FB_CHECK_OPS_VERSION, "picky",    open_bad,
                                       needs_signature,      fake_check, fake_close};
static const fb_check_ops ops_future = {
    FB_CHECK_OPS_VERSION + 1, "future", open_good, NULL, fake_check, fake_close};

static const fb_verify_target target = {.app = "grafana",
                                        .ns = "monitoring",
                                        .category = "oom",
                                        .signature = "",
                                        .commit = "0123456789abcdef",
                                        .applied_at_ms = 1};

static cJSON *run(const fb_check_ops *const *table, size_t n)
{
	fb_config *cfg = calloc(1, sizeof(*cfg));
	fb_verifier *v = NULL;
	cJSON *out = NULL;
	assert_int_equal(fb_verifier_new_from(table, n, cfg, &v), FB_OK);
	free(cfg);
	if (!v)
		return NULL;
	assert_int_equal(fb_verify_check(v, &target, &out), FB_OK);
	fb_verifier_free(v);
	return out;
}

static void assert_names(const cJSON *out, const char *joined)
{
	char got[256] = "";
	size_t o = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, fb_json_get(out, "checks"))
	{
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s:%s", o ? " " : "",
		                      fb_json_str(c, "name"), fb_json_str(c, "result"));
	}
	assert_string_equal(got, joined);
}

static void runner_ok_when_all_ok(void **s)
{
	const fb_check_ops *t[] = {&ops_good, &ops_unconfigured, &ops_good};
	cJSON *out;
	(void)s;
	closed_count = 0;
	out = run(t, 3);
	assert_string_equal(fb_json_str(out, "result"), "ok");
	assert_string_equal(fb_json_str(out, "reason"), "grafana is fine");
	assert_names(out, "good:ok good:ok");
	assert_string_equal(
	    fb_json_str(cJSON_GetArrayItem(fb_json_get(out, "checks"), 0), "detail"),
	    "grafana is fine");
	assert_int_equal(closed_count, 2); /* every opened check closed */
	cJSON_Delete(out);
}

static void runner_failed_when_any_failed(void **s)
{
	const fb_check_ops *t[] = {&ops_slow, &ops_good, &ops_bad};
	cJSON *out;
	(void)s;
	out = run(t, 3);
	assert_string_equal(fb_json_str(out, "result"), "failed");
	assert_string_equal(fb_json_str(out, "reason"), "OOMKilled again after the fix");
	assert_names(out, "slow:pending good:ok bad:failed");
	cJSON_Delete(out);
}

static void runner_pending_otherwise_and_errors_are_pending(void **s)
{
	const fb_check_ops *t[] = {&ops_good, &ops_broken};
	cJSON *out;
	(void)s;
	out = run(t, 2);
	assert_string_equal(fb_json_str(out, "result"), "pending");
	assert_string_equal(fb_json_str(out, "reason"),
	                    "GET http://api/x: timed out after 20000 ms");
	assert_names(out, "good:ok broken:pending");
	cJSON_Delete(out);
}

static void runner_leaves_out_what_cannot_answer(void **s)
{
	/* refused says skip (a 403); picky does not apply (no signature) */
	const fb_check_ops *t[] = {&ops_refused, &ops_picky, &ops_good};
	const fb_check_ops *only_refused[] = {&ops_refused, &ops_picky};
	cJSON *out;
	(void)s;
	out = run(t, 3);
	assert_string_equal(fb_json_str(out, "result"), "ok");
	assert_names(out, "good:ok");
	cJSON_Delete(out);
	out = run(only_refused, 2);
	assert_string_equal(fb_json_str(out, "result"), "skipped");
	assert_string_equal(fb_json_str(out, "reason"), "nothing could be checked");
	assert_int_equal(cJSON_GetArraySize(fb_json_get(out, "checks")), 0);
	cJSON_Delete(out);
}

static void runner_refuses_other_versions_and_opens_nothing_when_unconfigured(void **s)
{
	const fb_check_ops *t[] = {&ops_good, &ops_future};
	const fb_check_ops *none[] = {&ops_unconfigured};
	fb_config *cfg = calloc(1, sizeof(*cfg));
	fb_verifier *v = NULL;
	(void)s;
	closed_count = 0;
	assert_int_equal(fb_verifier_new_from(t, 2, cfg, &v), FB_EINVAL);
	assert_null(v);
	assert_non_null(strstr(fb_error_last(), "future"));
	assert_int_equal(closed_count, 1); /* the one opened before is closed */
	assert_int_equal(fb_verifier_new_from(none, 1, cfg, &v), FB_OK);
	assert_null(v);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(the_table_has_the_three_checks),
	    cmocka_unit_test(unconfigured_checks_open_to_nothing),
	    cmocka_unit_test(combining_rules),
	    cmocka_unit_test(runner_ok_when_all_ok),
	    cmocka_unit_test(runner_failed_when_any_failed),
	    cmocka_unit_test(runner_pending_otherwise_and_errors_are_pending),
	    cmocka_unit_test(runner_leaves_out_what_cannot_answer),
	    cmocka_unit_test(runner_refuses_other_versions_and_opens_nothing_when_unconfigured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
