/* Unit tests for the action family: the table, category -> action from a
 * rules file (an unknown action name refused with file:line), validating a
 * person's value, and propose/apply on a scratch git repository made from
 * tests/data/demo/gitops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/action.h"
#include "firebreak/rules.h"
#include "firebreak/config.h"
#include "firebreak/gitops.h"
#include "firebreak/rules.h"

static char repo[64];

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void table_finds_by_name(void **s)
{
	static const char *names[] = {"values_patch", "git_revert", "manual"};
	(void)s;
	assert_int_equal(fb_action_count(), 3);
	for (size_t i = 0; i < 3; i++) {
		const fb_action_ops *a = fb_action_find(names[i]);
		assert_non_null(a);
		assert_string_equal(a->name, names[i]);
		assert_int_equal(a->version, FB_ACTION_OPS_VERSION);
		assert_non_null(a->propose);
		assert_non_null(a->apply);
		assert_non_null(a->describe);
		assert_ptr_equal(fb_action_at(i), a);
	}
	assert_true(fb_action_find("values_patch")->needs_repo);
	assert_true(fb_action_find("git_revert")->needs_repo);
	assert_false(fb_action_find("manual")->needs_repo);
	assert_null(fb_action_find("restart_pod"));
	assert_null(fb_action_find(NULL));
	assert_null(fb_action_at(3));
}

static const char rules_head[] = "version: 1\n"
                                 "rules:\n"
                                 "  - name: oom\n"
                                 "    category: oom\n"
                                 "    match: OOMKilled\n";

static fb_err parse(const char *actions, fb_rules **r, char **errors)
{
	char text[1024];
	snprintf(text, sizeof(text), "%s%s", rules_head, actions);
	return fb_rules_parse(text, strlen(text), "r.yaml", r, errors);
}

static void category_to_action_is_data(void **s)
{
	fb_rules *r = NULL;
	char *errors = NULL;
	(void)s;
	assert_int_equal(
	    parse("actions:\n  oom: manual\n  network_error: git_revert\n", &r, &errors), FB_OK);
	assert_string_equal(fb_rules_action_for(r, "oom"), "manual");
	assert_string_equal(fb_rules_action_for(r, "network_error"), "git_revert");
	assert_string_equal(fb_rules_action_for(r, "image_pull_error"), "manual");
	assert_string_equal(fb_action_for(fb_rules_action_for(r, "network_error"))->name,
	                    "git_revert");
	assert_string_equal(fb_action_for(fb_rules_action_for(r, "task_failure"))->name, "manual");
	fb_rules_free(r);

	/* the embedded rules: the shipped mapping */
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	assert_string_equal(fb_rules_action_for(r, "oom"), "values_patch");
	assert_string_equal(fb_rules_action_for(r, "image_pull_error"), "git_revert");
	assert_string_equal(fb_rules_action_for(r, "crashloop"), "git_revert");
	assert_string_equal(fb_rules_action_for(r, "config_error"), "git_revert");
	assert_string_equal(fb_rules_action_for(r, "resource_exhausted"), "values_patch");
	assert_string_equal(fb_rules_action_for(r, "network_error"), "manual");
	fb_rules_free(r);

	/* a file written before the mapping existed keeps the shipped one */
	assert_int_equal(parse("", &r, &errors), FB_OK);
	assert_string_equal(fb_rules_action_for(r, "oom"), "values_patch");
	assert_string_equal(fb_rules_action_for(r, "unknown"), "manual");
	fb_rules_free(r);
}

static void unknown_action_is_a_load_error(void **s)
{
	char path[] = "/tmp/fb-rules-XXXXXX";
	fb_rules *r = NULL;
	char *errors = NULL;
	int fd = mkstemp(path);
	FILE *f;
	(void)s;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "%sactions:\n  oom: values_patch\n  crashloop: restart_pod\n  bogus: manual\n",
	        rules_head);
	fclose(f);
	assert_int_equal(fb_rules_load(path, &r, &errors), FB_EINVAL);
	assert_null(r);
	assert_non_null(errors);
	char want[256];
	snprintf(want, sizeof(want), "%s:8: actions: crashloop: unknown action \"restart_pod\"",
	         path);
	assert_non_null(strstr(errors, want));
	snprintf(want, sizeof(want), "%s:9: actions: unknown category \"bogus\"", path);
	assert_non_null(strstr(errors, want));
	free(errors);
	unlink(path);

	assert_int_equal(parse("actions: [oom]\n", &r, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, "r.yaml:6: actions: expected a mapping"));
	free(errors);
	assert_int_equal(parse("actions:\n  oom: manual\n  oom: git_revert\n", &r, &errors),
	                 FB_EINVAL);
	assert_non_null(strstr(errors, "r.yaml:8: actions: oom is mapped twice"));
	free(errors);
}

static void validate_checks_a_persons_value(void **s)
{
	fb_config cfg;
	(void)s;
	fb_config_defaults(&cfg);
	/* a good value */
	assert_int_equal(fb_action_validate(&cfg, NULL, "resources.limits.memory", "1536Mi"),
	                 FB_OK);
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "resources.limits.memory", "2Gi"),
	                 FB_OK);
	assert_int_equal(fb_action_validate(&cfg, "git_revert", "image.tag", "10.4.2"), FB_OK);
	/* a bad quantity */
	assert_int_equal(fb_action_validate(&cfg, NULL, "resources.limits.memory", "lots"),
	                 FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "not a Kubernetes quantity"));
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "persistence.size", "-5Gi"),
	                 FB_EINVAL);
	/* over the policy ceiling */
	assert_int_equal(fb_action_validate(&cfg, NULL, "resources.limits.memory", "12Gi"),
	                 FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "above the policy maximum 8Gi"));
	assert_int_equal(fb_action_validate(&cfg, NULL, "persistence.size", "1Ti"), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "above the policy maximum 500Gi"));
	/* not a plain value, not a tag */
	assert_int_equal(fb_action_validate(&cfg, NULL, "image.tag", "1.0 # x"), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "not a plain value"));
	assert_int_equal(fb_action_validate(&cfg, "git_revert", "image.tag", "-rc1"), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "not a valid image tag"));
	assert_int_equal(fb_action_validate(&cfg, NULL, "image.tag", ""), FB_EINVAL);
	/* an action with nothing to edit, and no such action */
	assert_int_equal(fb_action_validate(&cfg, "manual", "image.tag", "1.0"), FB_EINVAL);
	assert_int_equal(fb_action_validate(&cfg, "restart_pod", "image.tag", "1.0"), FB_EINVAL);
}

/* ---- propose and apply on a scratch repository ---- */

static int make_repo(void **state)
{
	char cmd[512];
	char tmpl[] = "/tmp/fb-action-XXXXXX";
	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(repo, sizeof(repo), "%s/r", tmpl);
	snprintf(cmd, sizeof(cmd),
	         "cp -R tests/data/demo/gitops %s && cd %s && git init -q -b main && git add -A && "
	         "git -c user.name=t -c user.email=t@example.com commit -q -m init",
	         repo, repo);
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

static const char *const suggestions[] = {"Look at the peer", "Check the network policy"};

static fb_action_input input(const fb_config *cfg, fb_gitops *g, const char *category)
{
	fb_action_input in = {
	    .incident_id = "incident-test-1",
	    .category = category,
	    .severity = "critical",
	    .app = "grafana",
	    .ns = "monitoring",
	    .evidence = "Reason: OOMKilled",
	    .root_cause = "",
	    .suggestions = suggestions,
	    .n_suggestions = 2,
	    .step = 1,
	    .cfg = cfg,
	    .gitops = g,
	};
	return in;
}

static void values_together_are_coherent(void **s)
{
	fb_proposal p = {.capped = -1, .n_edits = 2};
	(void)s;
	snprintf(p.kind, sizeof(p.kind), "memory_raise");
	snprintf(p.edits[0].path, sizeof(p.edits[0].path), "resources.limits.memory");
	snprintf(p.edits[0].old_value, sizeof(p.edits[0].old_value), "512Mi");
	snprintf(p.edits[0].new_value, sizeof(p.edits[0].new_value), "1Gi");
	snprintf(p.edits[1].path, sizeof(p.edits[1].path), "resources.requests.memory");
	snprintf(p.edits[1].old_value, sizeof(p.edits[1].old_value), "256Mi");
	snprintf(p.edits[1].new_value, sizeof(p.edits[1].new_value), "512Mi");
	assert_int_equal(fb_action_coherent(&p, NULL, 0), FB_OK);
	fb_action_override up = {"resources.requests.memory", "2Gi"};
	assert_int_equal(fb_action_coherent(&p, &up, 1), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "would be above resources.limits.memory (1Gi)"));
	fb_action_override both[2] = {{"resources.limits.memory", "4Gi"},
	                              {"resources.requests.memory", "2Gi"}};
	assert_int_equal(fb_action_coherent(&p, both, 2), FB_OK);
	fb_action_override low = {"resources.limits.memory", "384Mi"};
	assert_int_equal(fb_action_coherent(&p, &low, 1),
	                 FB_EINVAL); /* below 512Mi, and the request */
	fb_action_override lower[2] = {{"resources.limits.memory", "384Mi"},
	                               {"resources.requests.memory", "128Mi"}};
	assert_int_equal(fb_action_coherent(&p, lower, 2), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "never lowers the limit"));
	snprintf(p.kind, sizeof(p.kind), "volume_grow"); /* not a memory raise */
	assert_int_equal(fb_action_coherent(&p, lower, 2), FB_OK);
}

static void values_patch_raises_memory(void **s)
{
	fb_config cfg;
	fb_gitops *g = NULL;
	fb_rules *r = NULL;
	char *errors = NULL;
	cJSON *p = NULL;
	(void)s;
	fb_config_defaults(&cfg);
	snprintf(cfg.gitops.repo, sizeof(cfg.gitops.repo), "%s", repo);
	assert_int_equal(fb_gitops_open(&cfg, &g), FB_OK);
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	fb_action_input in = input(&cfg, g, "oom");

	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	assert_string_equal(str(p, "action"), "values_patch");
	assert_string_equal(str(p, "file"), "helm-values/grafana/values.yaml");
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "edits"), 0);
	assert_string_equal(str(e, "path"), "resources.limits.memory");
	assert_string_equal(str(e, "old"), "512Mi");
	assert_string_equal(str(e, "new"), "1024Mi");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "edits")), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "changes")), 1);
	assert_non_null(strstr(str(p, "diff"), "+    memory: 1024Mi   # raised from 384Mi"));
	assert_string_equal(str(p, "summary"),
	                    "Raise the memory limit of grafana from 512Mi to 1024Mi");

	/* apply commits once, however often it runs */
	char line[400];
	fb_action_result res, again;
	const fb_action_ops *a = fb_action_find(str(p, "action"));
	fb_proposal typed = {.capped = -1};
	assert_int_equal(fb_proposal_parse(&typed, p, 1), FB_OK);
	a->describe(&typed, line, sizeof(line));
	assert_string_equal(line, str(p, "summary"));
	fb_commit_info info = {.incident_id = in.incident_id,
	                       .subject = line,
	                       .body = "test",
	                       .category = "oom",
	                       .approved_by = "alice",
	                       .step = 1};
	assert_int_equal(a->apply(&in, &typed, &info, &res), FB_OK);
	assert_int_equal(strlen(res.commit), 40);
	assert_non_null(strstr(res.detail, "committed"));
	assert_int_equal(a->apply(&in, &typed, &info, &again), FB_OK);
	assert_string_equal(again.commit, res.commit);
	fb_proposal_clear(&typed);
	cJSON_Delete(p);

	/* a person's override wins; the request stays below the limit */
	fb_action_override ov = {"resources.limits.memory", "3Gi"};
	in.overrides = &ov;
	in.n_overrides = 1;
	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "edits"), 0);
	assert_string_equal(str(e, "old"), "1024Mi");
	assert_string_equal(str(e, "new"), "3Gi");
	cJSON_Delete(p);

	/* a full disk grows the volume */
	in = input(&cfg, g, "resource_exhausted");
	in.disk = 1;
	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "edits"), 0);
	assert_string_equal(str(p, "action"), "values_patch");
	assert_string_equal(str(e, "path"), "persistence.size");
	assert_string_equal(str(e, "new"), "15Gi");
	cJSON_Delete(p);
	fb_rules_free(r);
	fb_gitops_free(g);
}

/* Runs cmd in the scratch repository; GIT is git with an identity. */
#define GIT "git -c user.name=t -c user.email=t@example.com "
static int in_repo(const char *cmd)
{
	char line[1024];
	snprintf(line, sizeof(line), "cd %s && %s >/dev/null", repo, cmd);
	return system(line);
}

static void git_revert_rolls_back_and_reverts(void **s)
{
	fb_config cfg;
	fb_gitops *g = NULL;
	fb_rules *r = NULL;
	char *errors = NULL;
	cJSON *p = NULL;
	(void)s;
	fb_config_defaults(&cfg);
	snprintf(cfg.gitops.repo, sizeof(cfg.gitops.repo), "%s", repo);
	assert_int_equal(
	    in_repo(GIT "checkout -q -- . && sed -i 's/tag: \"10.4.2\"/tag: \"10.4.3\"/' "
	                "helm-values/grafana/values.yaml && " GIT "commit -qam 'Bump grafana'"),
	    0);
	assert_int_equal(fb_gitops_open(&cfg, &g), FB_OK);
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);

	/* a failed pull: image.tag back to the previous one in history */
	fb_action_input in = input(&cfg, g, "image_pull_error");
	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	assert_string_equal(str(p, "action"), "git_revert");
	assert_string_equal(str(p, "kind"), "image_rollback");
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "edits"), 0);
	assert_string_equal(str(e, "path"), "image.tag");
	assert_string_equal(str(e, "old"), "10.4.3");
	assert_string_equal(str(e, "new"), "10.4.2");
	assert_non_null(strstr(str(p, "diff"), "+  tag: \"10.4.2\""));
	cJSON_Delete(p);

	/* a configuration error: revert the latest change to the app's files */
	assert_int_equal(in_repo("sed -i 's/api-db$/api-db-v2/' helm-values/api/values.yaml && " GIT
	                         "commit -qam 'Point api at the new secret'"),
	                 0);
	in = input(&cfg, g, "config_error");
	in.app = "api";
	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	assert_string_equal(str(p, "action"), "git_revert");
	assert_string_equal(str(p, "kind"), "config_revert");
	assert_string_equal(str(cJSON_GetObjectItem(p, "revert"), "subject"),
	                    "Point api at the new secret");
	const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "changes"), 0);
	assert_string_equal(str(ch, "path"), "helm-values/api/values.yaml");
	assert_non_null(strstr(str(ch, "content"), "DATABASE_URL_SECRET: api-db\n"));
	assert_non_null(strstr(str(p, "diff"), "-  DATABASE_URL_SECRET: api-db-v2"));
	cJSON_Delete(p);
	fb_rules_free(r);
	fb_gitops_free(g);
}

static void manual_gives_reason_and_suggestions(void **s)
{
	fb_config cfg;
	fb_gitops *g = NULL;
	fb_rules *r = NULL;
	char *errors = NULL;
	cJSON *p = NULL;
	fb_action_result res;
	(void)s;
	fb_config_defaults(&cfg);
	snprintf(cfg.gitops.repo, sizeof(cfg.gitops.repo), "%s", repo);
	assert_int_equal(fb_gitops_open(&cfg, &g), FB_OK);
	assert_int_equal(fb_rules_load(NULL, &r, &errors), FB_OK);
	fb_action_input in = input(&cfg, g, "network_error");

	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	assert_string_equal(str(p, "action"), "manual");
	assert_string_equal(str(p, "reason"),
	                    "no automatic fix for network_error; see the suggested actions");
	assert_string_equal(str(p, "summary"), "No automatic fix: a person decides");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "edits")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "changes")), 0);
	assert_null(cJSON_GetObjectItem(p, "diff"));
	const cJSON *sg = cJSON_GetObjectItem(p, "suggestions");
	assert_int_equal(cJSON_GetArraySize(sg), 2);
	assert_string_equal(cJSON_GetArrayItem(sg, 0)->valuestring, "Look at the peer");
	/* apply does nothing and says so */
	fb_proposal manual = {.capped = -1};
	assert_int_equal(fb_proposal_parse(&manual, p, 1), FB_OK);
	assert_int_equal(manual.n_suggestions, 2); /* the typed form keeps them */
	assert_int_equal(fb_action_find("manual")->apply(&in, &manual, NULL, &res), FB_OK);
	assert_string_equal(res.commit, "");
	assert_non_null(strstr(res.detail, "nothing applied"));
	fb_proposal_clear(&manual);
	cJSON_Delete(p);

	/* values_patch without a repository falls back to manual */
	in = input(&cfg, NULL, "oom");
	assert_int_equal(fb_action_propose(fb_rules_action_for(r, in.category), &in, &p), FB_OK);
	assert_string_equal(str(p, "action"), "manual");
	assert_string_equal(str(p, "reason"), "no GitOps repository configured");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "suggestions")), 2);
	cJSON_Delete(p);
	fb_rules_free(r);
	fb_gitops_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_finds_by_name),
	    cmocka_unit_test(category_to_action_is_data),
	    cmocka_unit_test(unknown_action_is_a_load_error),
	    cmocka_unit_test(validate_checks_a_persons_value),
	    cmocka_unit_test(values_together_are_coherent),
	    cmocka_unit_test(values_patch_raises_memory),
	    cmocka_unit_test(git_revert_rolls_back_and_reverts),
	    cmocka_unit_test(manual_gives_reason_and_suggestions),
	};
	return cmocka_run_group_tests_name("action", tests, make_repo, drop_repo);
}
