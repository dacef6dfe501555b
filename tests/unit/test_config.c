/* Unit tests for config.c: defaults, the documented file, errors with
 * file:line, unknown keys, environment overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/config.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/fb-cfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void documented_file_equals_defaults(void **s)
{
	fb_config a, b;
	char *errors = NULL;
	(void)s;
	unsetenv("FIREBREAK_DB");
	unsetenv("GITOPS_REPO");
	assert_int_equal(fb_config_load(NULL, &a, &errors), FB_OK);
	assert_int_equal(fb_config_load("deploy/firebreak.yaml", &b, &errors), FB_OK);
	memset(b.path, 0, sizeof(b.path));
	assert_memory_equal(&a, &b, sizeof(a));
}

static void errors_have_lines_and_all_are_reported(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("store:\n  path: x.db\n  bogus: 1\npolicy:\n  memory_factor: -2\n"
	                    "  max_memory: lots\nnope: 3\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_EINVAL);
	assert_non_null(errors);
	assert_non_null(strstr(errors, ":3: unknown key \"store.bogus\""));
	assert_non_null(strstr(errors, ":5: policy.memory_factor: expected a positive number"));
	assert_non_null(strstr(errors, ":6: policy.max_memory: expected a Kubernetes quantity"));
	assert_non_null(strstr(errors, ":7: unknown key \"nope\""));
	free(errors);
	unlink(p);
}

static void malformed_yaml_is_an_error(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("store:\n  path: [unclosed\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, p));
	free(errors);
	unlink(p);
}

static void env_overrides_file(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("store:\n  path: file.db\ngitops:\n  repo: /srv/a\n"
	                    "policy:\n  image_change_window: 1h30m\n  four_eyes: true\n"
	                    "  auto_apply:\n    - {category: resource_exhausted}\n"
	                    "slack:\n  approvers: [U1, U2]\n");
	setenv("FIREBREAK_DB", "/var/lib/fb.db", 1);
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	unsetenv("FIREBREAK_DB");
	assert_string_equal(c.store.path, "/var/lib/fb.db");
	assert_string_equal(c.gitops.repo, "/srv/a");
	assert_int_equal(c.policy.image_change_window, 5400);
	assert_true(c.policy.four_eyes);
	assert_true(fb_config_auto_apply(&c, "resource_exhausted", "anything"));
	assert_false(fb_config_auto_apply(&c, "oom", "anything"));
	assert_true(fb_config_is_approver(&c, "U2"));
	assert_false(fb_config_is_approver(&c, "U3"));
	unlink(p);
}

static void ceilings_are_positive(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("policy:\n  max_memory: -4Gi\n  max_disk: 0\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, ":2: policy.max_memory: must be a positive quantity"));
	assert_non_null(strstr(errors, ":3: policy.max_disk: must be a positive quantity"));
	free(errors);
	unlink(p);
}

static void empty_listen_turns_http_off(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("http:\n  listen: 127.0.0.1:9090\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	assert_string_equal(c.http.listen, "127.0.0.1:9090");
	setenv("FIREBREAK_HTTP_LISTEN", "", 1);
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	unsetenv("FIREBREAK_HTTP_LISTEN");
	assert_string_equal(c.http.listen, "");
	unlink(p);
}

/* One bad file per rule: each message names the file and the line. */
static const struct {
	const char *yaml;
	int line;
	const char *msg;
} bad[] = {
    {"engine:\n  workers: 2\n  workers: 3\n", 3, "key \"workers\" given twice (first at line 2)"},
    {"slack:\n  locale: en\nlog_level: info\nslack:\n  channel: C1\n", 4,
     "key \"slack\" given twice (first at line 1)"},
    {"policy:\n  auto_apply:\n    - {category: oom, category: disk_full}\n", 3,
     "key \"category\" given twice"},
    {"policy:\n  memory_factor: 1\n", 2, "policy.memory_factor: must be above 1"},
    {"policy:\n  disk_factor: 0.5\n", 2, "policy.disk_factor: must be above 1"},
    {"policy:\n  memory_factor: -2\n", 2, "policy.memory_factor: expected a positive number"},
    {"policy:\n  max_memory: 0Gi\n", 2, "policy.max_memory: must be a positive quantity"},
    {"policy:\n  image_change_window: 0s\n", 2, "policy.image_change_window: must be at least 1s"},
    {"loki:\n  max_pages: 0\n", 2, "loki.max_pages: must be at least 1"},
    {"loki:\n  interval: 0s\n", 2, "loki.interval: at least 1s"},
    {"loki:\n  limit: 0\n", 2, "loki.limit: between 1 and 5000"},
    {"logfile:\n  interval: 0\n", 2, "logfile.interval: must be at least 1s"},
    {"engine:\n  retry_delay: 0s\n", 2, "engine.retry_delay: must be at least 1s"},
    {"engine:\n  verify_delay: 0s\n", 2, "engine.verify_delay: must be at least 1s"},
    {"engine:\n  verify_max_checks: 0\n", 2, "engine.verify_max_checks: must be at least 1"},
    {"engine:\n  repeat_note_interval: 0m\n", 2, "engine.repeat_note_interval: must be at least 1s"},
    {"engine:\n  repeat_note_interval: 0\n", 2, "engine.repeat_note_interval: must be at least 1s"},
    {"engine:\n  workers: 0\n", 2, "engine.workers: must be from 1 to 64"},
    {"engine:\n  max_attempts: 0\n", 2, "engine.max_attempts: must be at least 1"},
    {"engine:\n  workers: -1\n", 2, "engine.workers: expected a non-negative integer"},
    {"slack:\n  ping_interval: 0s\n", 2, "slack.dead_after: must be longer"},
    {"http:\n  listen: \"127.0.0.1:70000\"\n", 2, "http.listen: the port must be from 1 to 65535"},
    {"http:\n  listen: \"127.0.0.1:0\"\n", 2, "http.listen: the port must be from 1 to 65535"},
    {"http:\n  listen: \"127.0.0.1:http\"\n", 2, "http.listen: the port is not a number"},
    {"http:\n  listen: \"127.0.0.1\"\n", 2, "http.listen: expected ADDRESS:PORT"},
    {"slack:\n  api_url: \"https://slack.com:0/api/\"\n", 2,
     "slack.api_url: the port must be from 1 to 65535"},
    {"loki:\n  url: \"http://loki:99999\"\n", 2, "loki.url: the port must be from 1 to 65535"},
    {"loki:\n  url: \"http://:3100\"\n", 2, "loki.url: the URL has no host"},
    {"kubernetes:\n  url: \"ftp://k8s\"\n", 2, "kubernetes.url: must be an http:// or https://"},
    {"argocd:\n  url: \"https://[::1]:123456\"\n", 2,
     "argocd.url: the port must be from 1 to 65535"},
    {"gitops:\n  remote: \"ssh://git@host:0/repo.git\"\n", 2,
     "gitops.remote: the port must be from 1 to 65535"},
    {"slack:\n  approvers:\n    - U0123ABCD\n    - bob\n", 4,
     "slack.approvers: \"bob\" is not a Slack user id"},
    {"slack:\n  approvers: [W9, u123]\n", 2, "slack.approvers: \"u123\" is not a Slack user id"},
    {"slack:\n  approvers: [U12-3]\n", 2, "slack.approvers: \"U12-3\" is not a Slack user id"},
    {"state_dir: var/lib/fb\n", 1, "state_dir: must be an absolute path"},
    {"gitops:\n  values_path: values.yaml\n", 2, "gitops.values_path: must contain {app}"},
};

static void every_rule_says_file_and_line(void **s)
{
	(void)s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fb_config c;
		char *errors = NULL, want[512];
		char *p = write_tmp(bad[i].yaml);
		snprintf(want, sizeof(want), "%s:%d: %s", p, bad[i].line, bad[i].msg);
		if (fb_config_load(p, &c, &errors) != FB_EINVAL || !errors || !strstr(errors, want))
			fail_msg("case %zu: want \"%s\", got \"%s\"", i, want,
			         errors ? errors : "(ok)");
		free(errors);
		unlink(p);
	}
}

static void good_values_pass(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("slack:\n  approvers: [U0123ABCD, W42]\n"
	                    "  api_url: \"http://127.0.0.1:65535/api/\"\n"
	                    "http:\n  listen: \"[::1]:8080\"\n"
	                    "loki:\n  url: \"https://user@loki.example:3100/\"\n"
	                    "gitops:\n  remote: \"git@github.com:org/repo.git\"\n"
	                    "policy:\n  memory_factor: 1.5\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	assert_null(errors);
	setenv("GITOPS_REMOTE", "file:///srv/remote.git", 1); /* no host, no port */
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	unsetenv("GITOPS_REMOTE");
	assert_null(errors);
	unlink(p);
}

static void a_bad_environment_value_names_the_variable(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	setenv("LOKI_URL", "http://loki:0", 1);
	assert_int_equal(fb_config_load(NULL, &c, &errors), FB_EINVAL);
	unsetenv("LOKI_URL");
	assert_non_null(strstr(errors, "(defaults): loki.url: the port must be from 1 to 65535 "
	                               "(in \"loki:0\") (set by LOKI_URL)"));
	free(errors);
}

static void empty_variables_count_as_unset(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	char *p = write_tmp("slack:\n  channel: C9\ngitops:\n  repo: /srv/g\n  remote: origin\n"
	                    "loki:\n  url: http://loki:3100\n");
	setenv("SLACK_CHANNEL", "", 1);
	setenv("GITOPS_REPO", "", 1);
	setenv("GITOPS_REMOTE", "", 1);
	setenv("LOKI_URL", "", 1);
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	unsetenv("SLACK_CHANNEL");
	unsetenv("GITOPS_REPO");
	unsetenv("GITOPS_REMOTE");
	unsetenv("LOKI_URL");
	assert_string_equal(c.slack.channel, "C9");
	assert_string_equal(c.gitops.repo, "/srv/g");
	assert_string_equal(c.gitops.remote, "origin");
	assert_string_equal(c.loki.url, "http://loki:3100");
	unlink(p);
}

static void the_state_directory(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;
	unsetenv("FIREBREAK_DB");
	setenv("HOME", "/home/sre", 1);
	unsetenv("XDG_STATE_HOME");
	unsetenv("STATE_DIRECTORY");
	assert_int_equal(fb_config_load(NULL, &c, &errors), FB_OK);
	assert_string_equal(c.state_dir, "/home/sre/.local/state/firebreak");
	assert_string_equal(c.store.path, "/home/sre/.local/state/firebreak/firebreak.db");
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	assert_int_equal(fb_config_load(NULL, &c, &errors), FB_OK);
	assert_string_equal(c.state_dir, "/home/sre/.local/state/firebreak");
	setenv("XDG_STATE_HOME", "/x/state/", 1);
	assert_int_equal(fb_config_load(NULL, &c, &errors), FB_OK);
	assert_string_equal(c.state_dir, "/x/state//firebreak");
	setenv("STATE_DIRECTORY", "/var/lib/firebreak:/var/lib/other", 1);
	assert_int_equal(fb_config_load(NULL, &c, &errors), FB_OK);
	assert_string_equal(c.store.path, "/var/lib/firebreak/firebreak.db");
	unsetenv("STATE_DIRECTORY");
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	assert_int_equal(fb_config_load(NULL, &c, &errors), FB_OK);
	assert_string_equal(c.state_dir, "/var/lib/firebreak");
	/* the key wins; a relative store.path lies in it; FIREBREAK_DB is as given */
	char *p = write_tmp("state_dir: /srv/fb/\nstore:\n  path: db/incidents.db\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	assert_string_equal(c.state_dir, "/srv/fb");
	assert_string_equal(c.store.path, "/srv/fb/db/incidents.db");
	setenv("FIREBREAK_DB", "here.db", 1);
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	unsetenv("FIREBREAK_DB");
	assert_string_equal(c.store.path, "here.db");
	unlink(p);
}

static void the_state_directory_is_made_0700(void **s)
{
	fb_config c;
	char dir[256], out[512];
	struct stat st;
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/fb-state-XXXXXX");
	assert_non_null(mkdtemp(dir));
	fb_config_defaults(&c);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s/a/b", dir);
	snprintf(c.store.path, sizeof(c.store.path), "%s/elsewhere/x.db", dir);
	assert_int_equal(fb_config_prepare_store(&c), FB_OK);
	assert_int_not_equal(stat(c.state_dir, &st), 0); /* not ours: nothing made */
	snprintf(c.store.path, sizeof(c.store.path), "%s/a/b/db/x.db", dir);
	assert_int_equal(fb_config_prepare_store(&c), FB_OK);
	snprintf(out, sizeof(out), "%s/a/b/db", dir);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(fb_config_state_dir(&c, out, sizeof(out)), FB_OK);
	assert_string_equal(out, c.state_dir);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fb_config_state_dir(&c, out, 4), FB_ETOOBIG);
	snprintf(out, sizeof(out), "rm -rf %s", dir);
	assert_int_equal(system(out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(documented_file_equals_defaults),
	    cmocka_unit_test(errors_have_lines_and_all_are_reported),
	    cmocka_unit_test(malformed_yaml_is_an_error),
	    cmocka_unit_test(env_overrides_file),
	    cmocka_unit_test(ceilings_are_positive),
	    cmocka_unit_test(empty_listen_turns_http_off),
	    cmocka_unit_test(every_rule_says_file_and_line),
	    cmocka_unit_test(good_values_pass),
	    cmocka_unit_test(a_bad_environment_value_names_the_variable),
	    cmocka_unit_test(empty_variables_count_as_unset),
	    cmocka_unit_test(the_state_directory),
	    cmocka_unit_test(the_state_directory_is_made_0700),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
