/* Unit tests for the safe fixes of issue 9: a JVM heap exhaustion raises
 * the heap setting in the values (-Xmx in an env entry, jvmOptions,
 * MaxRAMPercentage) with the memory limit, as one exact minimal diff; no
 * heap setting, or Metaspace, is manual with the reason and suggestions;
 * the policy ceiling caps; a proposal whose values fail the checks is
 * manual; fb_action_check names the field at fault; the running limit
 * the log shows is noted when it differs from the values.  Real-shaped
 * values files in a scratch git repository. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/action.h"
#include "firebreak/card.h"
#include "firebreak/state.h"
#include "firebreak/tmpl.h"
#include "firebreak/config.h"
#include "firebreak/gitops.h"
#include "../../src/actions/action_int.h" /* the JVM option helpers */

static char repo[64];

/* A Spring Boot chart: JAVA_OPTS in the env list. */
static const char payments[] = "# payments: Spring Boot\n"
                               "replicaCount: 3\n"
                               "image:\n"
                               "  repository: registry.example.com/pay/payments\n"
                               "  tag: \"2.14.1\"\n"
                               "env:\n"
                               "  - name: SPRING_PROFILES_ACTIVE\n"
                               "    value: prod\n"
                               "  - name: JAVA_OPTS\n"
                               "    value: \"-Xms512m -Xmx1g -XX:+UseG1GC\"  # sized in PAY-88\n"
                               "resources:\n"
                               "  limits:\n"
                               "    cpu: \"2\"\n"
                               "    memory: 1536Mi\n"
                               "  requests:\n"
                               "    cpu: 500m\n"
                               "    memory: 1Gi\n";

/* A broker chart with jvmOptions beside its resources. */
static const char kafka[] = "broker:\n"
                            "  replicas: 3\n"
                            "  jvmOptions: -Xms2g -Xmx2g -XX:+ExitOnOutOfMemoryError\n"
                            "  resources:\n"
                            "    limits:\n"
                            "      memory: 4Gi\n"
                            "    requests:\n"
                            "      memory: 4Gi\n";

/* The heap as a share of the limit. */
static const char search[] = "env:\n"
                             "  JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=50.0 -XX:+UseZGC'\n"
                             "resources:\n"
                             "  limits: {memory: 2Gi}\n";

/* No heap setting at all. */
static const char legacy[] = "env:\n"
                             "  - name: JAVA_OPTS\n"
                             "    value: -XX:+UseG1GC -Dfile.encoding=UTF-8\n"
                             "resources:\n"
                             "  limits:\n"
                             "    memory: 1Gi\n";

static int write_file(const char *app, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof(path), "mkdir -p %s/helm-values/%s", repo, app);
	if (system(path) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/helm-values/%s/values.yaml", repo, app);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int make_repo(void **state)
{
	char cmd[512];
	char tmpl[] = "/tmp/fb-jvm-XXXXXX";
	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(repo, sizeof(repo), "%s/r", tmpl);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", repo);
	if (system(cmd) != 0 || write_file("payments", payments) || write_file("kafka", kafka) ||
	    write_file("search", search) || write_file("legacy", legacy))
		return -1;
	snprintf(cmd, sizeof(cmd),
	         "cd %s && git init -q -b main && git add -A && "
	         "git -c user.name=t -c user.email=t@example.com commit -q -m init",
	         repo);
	fb_gitops_global_init();
	return system(cmd) == 0 ? 0 : -1;
}

static int drop_repo(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %.*s", (int)(strlen(repo) - 2), repo);
	fb_gitops_global_shutdown();
	return system(cmd) == 0 ? 0 : -1;
}

static const char *const analysis[] = {"Raise the memory limit and request."};

typedef struct {
	fb_config cfg;
	fb_gitops *g;
	fb_action_input in;
} fixture;

static void setup(fixture *f, const char *app, const char *jvm_oom)
{
	memset(f, 0, sizeof(*f));
	fb_config_defaults(&f->cfg);
	f->cfg.policy.memory_factor = 1.5;
	snprintf(f->cfg.gitops.repo, sizeof(f->cfg.gitops.repo), "%s", repo);
	assert_int_equal(fb_gitops_open(&f->cfg, &f->g), FB_OK);
	f->in = (fb_action_input){.incident_id = "incident-jvm-1",
	                          .category = "oom",
	                          .severity = "critical",
	                          .app = app,
	                          .ns = "prod",
	                          .evidence = "java.lang.OutOfMemoryError: Java heap space",
	                          .root_cause = "",
	                          .suggestions = analysis,
	                          .n_suggestions = 1,
	                          .step = 1,
	                          .cfg = &f->cfg,
	                          .gitops = f->g};
	f->in.facts.jvm_oom = jvm_oom;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The diff from its first hunk: what a reviewer reads. */
static const char *hunks(const cJSON *p)
{
	const char *d = strstr(str(p, "diff"), "@@ ");
	return d ? d : "";
}

static cJSON *propose(fixture *f)
{
	cJSON *p = NULL;
	assert_int_equal(fb_action_propose("values_patch", &f->in, &p), FB_OK);
	assert_non_null(p);
	return p;
}

static void spring_boot_env_java_opts(void **s)
{
	fixture f;
	(void)s;
	setup(&f, "payments", "Java heap space");
	cJSON *p = propose(&f);
	assert_string_equal(str(p, "action"), "values_patch");
	assert_string_equal(str(p, "kind"), "heap_raise");
	assert_string_equal(str(p, "summary"), "Raise the Java heap of payments from -Xmx1g to "
	                                       "-Xmx1536m and the memory limit from 1536Mi to "
	                                       "2048Mi");
	assert_string_equal(hunks(p),
	                    "@@ -7,11 +7,11 @@ env:\n"
	                    "   - name: SPRING_PROFILES_ACTIVE\n"
	                    "     value: prod\n"
	                    "   - name: JAVA_OPTS\n"
	                    "-    value: \"-Xms512m -Xmx1g -XX:+UseG1GC\"  # sized in PAY-88\n"
	                    "+    value: \"-Xms512m -Xmx1536m -XX:+UseG1GC\"  # sized in PAY-88\n"
	                    " resources:\n"
	                    "   limits:\n"
	                    "     cpu: \"2\"\n"
	                    "-    memory: 1536Mi\n"
	                    "+    memory: 2048Mi\n"
	                    "   requests:\n"
	                    "     cpu: 500m\n"
	                    "     memory: 1Gi\n");
	cJSON_Delete(p);

	/* the person's heap: the limit follows it */
	fb_action_override ov = {"env[1].value", "-Xms512m -Xmx2304m -XX:+UseG1GC"};
	f.in.overrides = &ov;
	f.in.n_overrides = 1;
	p = propose(&f);
	assert_string_equal(str(p, "summary"), "Raise the Java heap of payments from -Xmx1g to "
	                                       "-Xmx2304m and the memory limit from 1536Mi to "
	                                       "3072Mi");
	cJSON_Delete(p);
	fb_gitops_free(f.g);
}

static void jvm_options_key_limit_still_fits(void **s)
{
	fixture f;
	(void)s;
	setup(&f, "kafka", "GC overhead limit exceeded");
	cJSON *p = propose(&f);
	assert_string_equal(str(p, "kind"), "heap_raise");
	assert_string_equal(str(p, "summary"),
	                    "Raise the Java heap of kafka from -Xmx2g to -Xmx3g");
	assert_string_equal(hunks(p), "@@ -1,6 +1,6 @@\n"
	                              " broker:\n"
	                              "   replicas: 3\n"
	                              "-  jvmOptions: -Xms2g -Xmx2g -XX:+ExitOnOutOfMemoryError\n"
	                              "+  jvmOptions: -Xms2g -Xmx3g -XX:+ExitOnOutOfMemoryError\n"
	                              "   resources:\n"
	                              "     limits:\n"
	                              "       memory: 4Gi\n");
	cJSON_Delete(p);
	fb_gitops_free(f.g);
}

static void max_ram_percentage(void **s)
{
	fixture f;
	(void)s;
	setup(&f, "search", "Java heap space");
	cJSON *p = propose(&f);
	assert_string_equal(str(p, "kind"), "heap_raise");
	assert_string_equal(str(p, "summary"), "Raise the Java heap of search from 50% to 75% of "
	                                       "the memory limit (MaxRAMPercentage)");
	assert_string_equal(hunks(p),
	                    "@@ -1,4 +1,4 @@\n"
	                    " env:\n"
	                    "-  JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=50.0 -XX:+UseZGC'\n"
	                    "+  JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=75.0 -XX:+UseZGC'\n"
	                    " resources:\n"
	                    "   limits: {memory: 2Gi}\n");
	cJSON_Delete(p);
	fb_gitops_free(f.g);
}

static void no_heap_setting_is_manual(void **s)
{
	fixture f;
	(void)s;
	setup(&f, "legacy", "Java heap space");
	cJSON *p = propose(&f);
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "env[0].value in helm-values/legacy/values.yaml "
	                                         "sets no -Xmx or -XX:MaxRAMPercentage"));
	const cJSON *sg = cJSON_GetObjectItem(p, "suggestions");
	assert_int_equal(cJSON_GetArraySize(sg), 4); /* its own three, then the analysis' */
	assert_non_null(strstr(cJSON_GetArrayItem(sg, 0)->valuestring, "MaxRAMPercentage=75"));
	assert_non_null(strstr(cJSON_GetArrayItem(sg, 1)->valuestring, "heap dump"));
	assert_string_equal(cJSON_GetArrayItem(sg, 3)->valuestring, analysis[0]);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "edits")), 0);
	cJSON_Delete(p);
	fb_gitops_free(f.g);

	/* Metaspace: not the heap, whatever the values say */
	setup(&f, "payments", "Metaspace");
	fb_gitops_free(f.g);
	f.in.gitops = NULL;
	p = propose(&f);
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "ran out of Metaspace"));
	assert_non_null(
	    strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "suggestions"), 0)->valuestring,
	           "class loader leak"));
	cJSON_Delete(p);
}

static void policy_ceiling_caps(void **s)
{
	fixture f;
	(void)s;
	setup(&f, "payments", "Java heap space");
	snprintf(f.cfg.policy.max_memory, sizeof(f.cfg.policy.max_memory), "1792Mi");
	cJSON *p = propose(&f);
	assert_string_equal(
	    str(p, "summary"),
	    "Raise the Java heap of payments from -Xmx1g to -Xmx1344m and the memory "
	    "limit from 1536Mi to 1792Mi (capped by policy.max_memory)");
	cJSON_Delete(p);
	/* at the ceiling already: manual, and says why */
	snprintf(f.cfg.policy.max_memory, sizeof(f.cfg.policy.max_memory), "1Gi");
	p = propose(&f);
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "policy.max_memory (1Gi)"));
	cJSON_Delete(p);
	fb_gitops_free(f.g);
}

/* A proposal whose values fail the checks is never shown as a fix. */
static void failing_proposal_is_manual(void **s)
{
	fixture f;
	(void)s;
	setup(&f, "payments", NULL); /* a container OOM: the memory raise */
	fb_action_override ov = {"resources.requests.memory", "3Gi"};
	f.in.overrides = &ov;
	f.in.n_overrides = 1;
	cJSON *p = propose(&f);
	assert_string_equal(str(p, "action"), "manual");
	assert_string_equal(str(p, "reason"),
	                    "the proposed values were refused: resources.requests.memory (3Gi) "
	                    "would be above resources.limits.memory (2304Mi)");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "changes")), 0);
	cJSON_Delete(p);
	fb_gitops_free(f.g);
}

static void check_names_the_field(void **s)
{
	fb_config cfg;
	fb_proposal p = {.capped = -1, .n_edits = 2};
	const char *bad = NULL;
	(void)s;
	fb_config_defaults(&cfg);
	snprintf(p.action, sizeof(p.action), "values_patch");
	snprintf(p.kind, sizeof(p.kind), "memory_raise");
	snprintf(p.edits[0].path, sizeof(p.edits[0].path), "resources.limits.memory");
	snprintf(p.edits[0].old_value, sizeof(p.edits[0].old_value), "1536Mi");
	snprintf(p.edits[0].new_value, sizeof(p.edits[0].new_value), "3Gi");
	snprintf(p.edits[1].path, sizeof(p.edits[1].path), "resources.requests.memory");
	snprintf(p.edits[1].old_value, sizeof(p.edits[1].old_value), "1Gi");
	snprintf(p.edits[1].new_value, sizeof(p.edits[1].new_value), "2Gi");
	assert_int_equal(fb_action_check(&cfg, &p, NULL, 0, &bad), FB_OK);
	assert_null(bad);
	/* the edit of the issue: a lowering request above its limit */
	fb_action_override both[2] = {{"resources.limits.memory", "1Gi"},
	                              {"resources.requests.memory", "2Gi"}};
	assert_int_equal(fb_action_check(&cfg, &p, both, 2, &bad), FB_EINVAL);
	assert_string_equal(bad, "resources.requests.memory");
	assert_string_equal(fb_error_last(), "resources.requests.memory (2Gi) would be above "
	                                     "resources.limits.memory (1Gi)");
	both[1].value = "512Mi";
	assert_int_equal(fb_action_check(&cfg, &p, both, 2, &bad), FB_EINVAL);
	assert_string_equal(bad, "resources.limits.memory");
	assert_non_null(strstr(fb_error_last(), "never lowers the limit"));
	/* the policy ceiling, and a quantity that is not one */
	fb_action_override high = {"resources.limits.memory", "9Gi"};
	assert_int_equal(fb_action_check(&cfg, &p, &high, 1, &bad), FB_EINVAL);
	assert_string_equal(bad, "resources.limits.memory");
	assert_non_null(strstr(fb_error_last(), "above the policy maximum 8Gi"));
	snprintf(p.edits[1].new_value, sizeof(p.edits[1].new_value), "2 Gi");
	assert_int_equal(fb_action_check(&cfg, &p, NULL, 0, &bad), FB_EINVAL);
	assert_string_equal(bad, "resources.requests.memory");

	/* a heap raise: -Xmx within the limit, never lower, well formed */
	p.n_edits = 1;
	snprintf(p.kind, sizeof(p.kind), "heap_raise");
	snprintf(p.values_limit, sizeof(p.values_limit), "2Gi");
	snprintf(p.edits[0].path, sizeof(p.edits[0].path), "env[1].value");
	snprintf(p.edits[0].old_value, sizeof(p.edits[0].old_value), "-Xms512m -Xmx1g");
	snprintf(p.edits[0].new_value, sizeof(p.edits[0].new_value), "-Xms512m -Xmx1536m");
	assert_int_equal(fb_action_check(&cfg, &p, NULL, 0, &bad), FB_OK);
	fb_action_override big = {"env[1].value", "-Xms512m -Xmx2g"};
	assert_int_equal(fb_action_check(&cfg, &p, &big, 1, &bad), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "less than a tenth of the memory limit (2Gi)"));
	fb_action_override low = {"env[1].value", "-Xmx768m"};
	assert_int_equal(fb_action_check(&cfg, &p, &low, 1, &bad), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "never lowers it"));
	fb_action_override junk = {"env[1].value", "-Xms512m -Xmx1.5g"};
	assert_int_equal(fb_action_check(&cfg, &p, &junk, 1, &bad), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "-Xmx needs a size"));
	fb_action_override pct = {"env[1].value", "-XX:MaxRAMPercentage=120"};
	assert_int_equal(fb_action_check(&cfg, &p, &pct, 1, &bad), FB_EINVAL);
	assert_string_equal(bad, "env[1].value");
}

static void running_limit_noted(void **s)
{
	fixture f;
	fb_proposal typed = {.capped = -1};
	(void)s;
	setup(&f, "payments", NULL);
	f.in.facts.limit = "524288kB"; /* the kernel's words: 512Mi */
	cJSON *p = propose(&f);
	const cJSON *lim = cJSON_GetObjectItem(p, "limit");
	assert_string_equal(str(lim, "values"), "1536Mi");
	assert_string_equal(str(lim, "running"), "524288Ki");
	assert_int_equal(fb_proposal_parse(&typed, p, 1), FB_OK);
	assert_string_equal(typed.running_limit, "524288Ki");
	cJSON *back = fb_proposal_json(&typed);
	assert_string_equal(str(cJSON_GetObjectItem(back, "limit"), "running"), "524288Ki");
	cJSON_Delete(back);
	fb_proposal_clear(&typed);
	cJSON_Delete(p);
	/* the same limit in other words: nothing to note */
	f.in.facts.limit = "1572864kB";
	p = propose(&f);
	assert_string_equal(str(cJSON_GetObjectItem(p, "limit"), "running"), "");
	cJSON_Delete(p);
	fb_gitops_free(f.g);
}

/* The card says when the Pod ran with another limit than the values. */
static void card_notes_the_running_limit(void **s)
{
	static const char state_json[] =
	    "{\"id\":\"incident-20261201000000-abcd\",\"proposal\":{\"action\":\"values_patch\","
	    "\"summary\":\"Raise the memory limit of payments from 1Gi to 2Gi\","
	    "\"file\":\"helm-values/payments/values.yaml\","
	    "\"limit\":{\"values\":\"1Gi\",\"running\":\"512Mi\"}}}";
	static const char *const want[][2] = {
	    {"en",
	     "The Pod ran with a memory limit of 512Mi but `helm-values/payments/values.yaml` "
	     "says 1Gi: the values may not be deployed."},
	    {"ko",
	     "실행 중인 Pod의 메모리 limit은 512Mi인데 `helm-values/payments/values.yaml`에는 "
	     "1Gi로 되어 있습니다."}};
	fb_incident_row row;
	fb_state *st = NULL;
	(void)s;
	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "incident-20261201000000-abcd");
	snprintf(row.status, sizeof(row.status), "waiting");
	snprintf(row.node, sizeof(row.node), "await_decision");
	row.version = 1;
	assert_int_equal(fb_state_parse(state_json, &st), FB_OK);
	for (size_t i = 0; i < 2; i++) {
		fb_tmpl *t = NULL;
		cJSON *card = NULL;
		int cut = 0;
		assert_int_equal(fb_tmpl_load(want[i][0], &t), FB_OK);
		assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
		char *json = cJSON_PrintUnformatted(card);
		assert_non_null(strstr(json, want[i][1]));
		free(json);
		cJSON_Delete(card);
		fb_tmpl_free(t);
	}
	/* the same limit: no note */
	fb_state_free(st);
	assert_int_equal(fb_state_parse("{\"proposal\":{\"action\":\"values_patch\","
	                                "\"limit\":{\"values\":\"1Gi\"}}}",
	                                &st),
	                 FB_OK);
	fb_tmpl *t = NULL;
	cJSON *card = NULL;
	int cut = 0;
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	char *json = cJSON_PrintUnformatted(card);
	assert_null(strstr(json, "may not be deployed"));
	free(json);
	cJSON_Delete(card);
	fb_tmpl_free(t);
	fb_state_free(st);
}

static void jvm_option_strings(void **s)
{
	double b = 0, pct = 0;
	char unit = 0, out[64];
	(void)s;
	assert_int_equal(fb_action_jvm_heap("-Xmx1g -Xms1g -Xmx2048m", &b, &unit), 1); /* last */
	assert_true(b == 2048.0 * 1024 * 1024 && unit == 'm');
	assert_int_equal(fb_action_jvm_heap("-Xms1g", &b, &unit), 0);
	assert_int_equal(fb_action_jvm_heap("-Xmx", &b, &unit), -1);
	assert_int_equal(fb_action_jvm_ram_pct("-XX:MaxRAMPercentage=75.0", &pct), 1);
	assert_true(pct == 75.0);
	assert_int_equal(fb_action_jvm_ram_pct("-XX:MaxRAMPercentage=0", &pct), -1);
	fb_action_jvm_format(1.5 * 1024 * 1024 * 1024, 'G', out, sizeof(out));
	assert_string_equal(out, "1536M");
	fb_action_jvm_format(3.0 * 1024 * 1024 * 1024, 'g', out, sizeof(out));
	assert_string_equal(out, "3g");
	assert_int_equal(
	    fb_action_jvm_splice("-Xms1g -Xmx1g -Dx=1", "-Xmx", "2g", out, sizeof(out)), 1);
	assert_string_equal(out, "-Xms1g -Xmx2g -Dx=1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jvm_option_strings),
	    cmocka_unit_test(check_names_the_field),
	    cmocka_unit_test(spring_boot_env_java_opts),
	    cmocka_unit_test(jvm_options_key_limit_still_fits),
	    cmocka_unit_test(max_ram_percentage),
	    cmocka_unit_test(no_heap_setting_is_manual),
	    cmocka_unit_test(policy_ceiling_caps),
	    cmocka_unit_test(failing_proposal_is_manual),
	    cmocka_unit_test(running_limit_noted),
	    cmocka_unit_test(card_notes_the_running_limit),
	};
	return cmocka_run_group_tests(tests, make_repo, drop_repo);
}
