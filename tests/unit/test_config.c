/* Unit tests for config.c: defaults, the documented file, errors with
 * file:line, unknown keys, environment overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(documented_file_equals_defaults),
	    cmocka_unit_test(errors_have_lines_and_all_are_reported),
	    cmocka_unit_test(malformed_yaml_is_an_error),
	    cmocka_unit_test(env_overrides_file),
	    cmocka_unit_test(ceilings_are_positive),
	    cmocka_unit_test(empty_listen_turns_http_off),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
