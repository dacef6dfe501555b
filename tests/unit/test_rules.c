/* Unit tests for rules.c: pod names, signatures, priorities, rule-file
 * errors, and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/analyze.h"
#include "firebreak/json.h"
#include "firebreak/rules.h"

static void pod_names_reduce_to_workloads(void **s)
{
	static const char *cases[][2] = {
	    {"grafana-7d9f8b6c4-x2kqp", "grafana"},
	    {"postgres-0", "postgres"},
	    {"fluent-bit-x7k2p", "fluent-bit"},
	    {"nginx-proxy", "nginx-proxy"},
	    {"backup-28312345-bxz4k", "backup"},
	    {"kafka-broker-12", "kafka-broker"},
	    {"api", "api"},
	    {"checkout-api-5c9d7f8b96-qwz7m", "checkout-api"},
	};
	char out[128];
	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fb_rules_pod_to_app(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void signatures_ignore_what_varies(void **s)
{
	char a[256], b[256];
	const char *l1 =
	    "2026-11-21 10:00:01 pod grafana-7d9f8b6c4-x2kqp OOMKilled after 512 MiB id=9f8e7d6c5b";
	const char *l2 =
	    "2026-11-22 11:30:59 pod grafana-5b6c7d8f9-q9zrt OOMKilled after 768 MiB id=1a2b3c4d5e";
	(void)s;
	fb_rules_signature(l1, strlen(l1), a, sizeof(a));
	fb_rules_signature(l2, strlen(l2), b, sizeof(b));
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "OOMKilled"));
}

/* issue 10: a line that ends in digits, in a buffer without a NUL after
 * it (a slice of a bigger text), is read only up to len (ASan). */
static void signature_reads_only_len(void **s)
{
	static const char line[] = "retry 12345";
	char *exact = malloc(sizeof(line) - 1), out[64];
	(void)s;
	assert_non_null(exact);
	memcpy(exact, line, sizeof(line) - 1);
	fb_rules_signature(exact, sizeof(line) - 1, out, sizeof(out));
	assert_string_equal(out, "retry #");
	fb_rules_signature(exact, 8, out, sizeof(out)); /* "retry 12" */
	assert_string_equal(out, "retry #");
	free(exact);
}

static void root_cause_outranks_symptom(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL;
	fb_classification o;
	const char *log =
	    "Back-off restarting failed container api\n"
	    "  Last State: Terminated\n      Reason: OOMKilled\n      Exit Code: 137\n";
	(void)s;
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	assert_int_equal(fb_rules_classify(r, log, strlen(log), &o), FB_OK);
	assert_string_equal(o.category, "oom");
	assert_string_equal(o.evidence, "Reason: OOMKilled");
	assert_string_equal(fb_classification_fact(&o, "exit_code"), "137");
	const char *fine = "connection refused, retrying in 2s\nconnected to db after 3 attempts\n";
	assert_int_equal(fb_rules_classify(r, fine, strlen(fine), &o), FB_OK);
	assert_string_equal(o.category, "none");
	fb_rules_free(r);
}

/* A JVM's full heap is said to be the heap, not the container's limit;
 * Metaspace is said to be neither. */
static void jvm_heap_root_cause_names_the_heap(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL;
	fb_classification o;
	cJSON *an = NULL;
	const char *heap =
	    "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n"
	    "\tat com.acme.payments.Ledger.load(Ledger.java:88)\n";
	const char *meta = "java.lang.OutOfMemoryError: Metaspace\n";
	(void)s;
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	assert_int_equal(fb_rules_classify(r, heap, strlen(heap), &o), FB_OK);
	assert_string_equal(o.category, "oom");
	assert_int_equal(fb_analyze(&o, "payments", &an), FB_OK);
	assert_non_null(strstr(fb_json_str(an, "root_cause"), "heap is full"));
	assert_string_equal(fb_json_str(fb_json_get(an, "root_cause_msg"), "key"),
	                    "cause_oom_jvm_heap");
	cJSON_Delete(an);
	assert_int_equal(fb_rules_classify(r, meta, strlen(meta), &o), FB_OK);
	assert_int_equal(fb_analyze(&o, "payments", &an), FB_OK);
	assert_non_null(
	    strstr(fb_json_str(an, "root_cause"), "`Metaspace`, which is not the heap"));
	cJSON_Delete(an);
	fb_rules_free(r);
}

static void bad_rules_report_lines(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL;
	const char *y = "rules:\n  - name: a\n    category: nope\n    match: ['(unclosed']\n"
	                "  - name: b\n    category: oom\n    match: x\n    colour: red\n";
	(void)s;
	assert_int_equal(fb_rules_parse(y, strlen(y), "r.yaml", &r, &errors), FB_EINVAL);
	assert_null(r);
	assert_non_null(strstr(errors, "r.yaml:3: unknown category \"nope\""));
	assert_non_null(strstr(errors, "r.yaml:4: bad pattern"));
	assert_non_null(strstr(errors, "r.yaml:8: unknown rule key \"colour\""));
	free(errors);
}

static void rules_file_problems_say_where(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL;
	const char *y = "rules:\n  - name: a\n    category: oom\n    match: x\n    name: b\n";
	(void)s;
	assert_int_equal(fb_rules_parse(y, strlen(y), "r.yaml", &r, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, "r.yaml:5: key \"name\" given twice (first at line 2)"));
	free(errors);
	assert_int_equal(fb_rules_parse("", 0, "e.yaml", &r, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, "e.yaml: the top level must be a mapping"));
	assert_null(strstr(errors, ":0:"));
	free(errors);
	assert_int_not_equal(fb_rules_load("/nonexistent/rules.yaml", &r, &errors), FB_OK);
	assert_non_null(errors);
	assert_non_null(strstr(errors, "/nonexistent/rules.yaml: "));
	free(errors);
}

static void hostile_input_is_survived(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL;
	fb_classification o;
	size_t n = 1 << 20;
	char *junk = malloc(n);
	(void)s;
	for (size_t i = 0; i < n; i++)
		junk[i] = (char)((i * 7919u) & 0xff);
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	assert_int_equal(fb_rules_classify(r, junk, n, &o), FB_OK);
	assert_true(fb_category_valid(o.category) || !strcmp(o.category, "none"));
	assert_int_equal(fb_rules_classify(r, "", 0, &o), FB_OK);
	assert_string_equal(o.category, "none");
	free(junk);
	fb_rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pod_names_reduce_to_workloads),
	    cmocka_unit_test(rules_file_problems_say_where),
	    cmocka_unit_test(jvm_heap_root_cause_names_the_heap),
	    cmocka_unit_test(signatures_ignore_what_varies),
	    cmocka_unit_test(signature_reads_only_len),
	    cmocka_unit_test(root_cause_outranks_symptom),
	    cmocka_unit_test(bad_rules_report_lines),
	    cmocka_unit_test(hostile_input_is_survived),
	};
	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
