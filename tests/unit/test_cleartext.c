/* Unit tests for "tokens never go over plain http, except to loopback"
 * (issue 10): the URL rule (mask.c), the outbound client's refusal
 * (httpc.c), the git credentials callback (remote.c) and check-config
 * (config_check.c).  No network: a refused request never connects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/config.h"
#include "firebreak/httpc.h"
#include "firebreak/mask.h"
#include "../../src/gitops/gitops_int.h" /* the credentials callback */

static void the_url_rule(void **s)
{
	static const struct {
		const char *url;
		int in_clear;
	} cases[] = {
	    {"http://loki.example.com:3100/loki/api/v1/query_range", 1},
	    {"HTTP://git.example.com/ops/gitops.git", 1},
	    {"http://u:p@10.0.0.5:8080/x", 1},
	    {"http://127.0.0.1.example.com/", 1},
	    {"http://[2001:db8::1]:80/", 1},
	    {"http://localhost:8080/", 0},
	    {"http://LOCALHOST/", 0},
	    {"http://127.0.0.1:3100/", 0},
	    {"http://127.9.9.9/", 0},
	    {"http://[::1]:9/x", 0},
	    {"http://user:pw@127.0.0.1:9/x", 0},
	    {"https://git.example.com/ops/gitops.git", 0},
	    {"git@github.com:ops/gitops.git", 0},
	    {"origin", 0},
	    {"", 0},
	};
	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (fb_mask_url_in_clear(cases[i].url) != cases[i].in_clear)
			fail_msg("%s: expected %d", cases[i].url, cases[i].in_clear);
	}
}

static fb_err get(const fb_httpc_opts *o, const char *url)
{
	fb_httpc *c = NULL;
	fb_httpc_result res;
	assert_int_equal(fb_httpc_new(o, &c), FB_OK);
	fb_err rc = fb_httpc_request(c, "GET", url, NULL, &res);
	fb_httpc_free(c);
	return rc;
}

static void the_client_refuses(void **s)
{
	fb_httpc_opts bearer = {.bearer = "tok-sekrit-1", .connect_timeout_ms = 500};
	fb_httpc_opts basic = {
	    .user = "loki", .password = "pw-sekrit-2", .connect_timeout_ms = 500};
	fb_httpc_opts header = {.headers = {"PRIVATE-TOKEN: glpat-sekrit-3"},
	                        .connect_timeout_ms = 500};
	fb_httpc_opts none = {.connect_timeout_ms = 500};
	(void)s;

	assert_int_equal(get(&bearer, "http://argocd.example.invalid/api/v1/applications"),
	                 FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "https://"));
	assert_non_null(
	    strstr(fb_error_last(), "http://argocd.example.invalid/api/v1/applications"));
	assert_null(strstr(fb_error_last(), "sekrit"));
	assert_int_equal(get(&basic, "http://loki.example.invalid:3100/ready"), FB_EINVAL);
	assert_null(strstr(fb_error_last(), "sekrit"));
	assert_int_equal(get(&header, "http://gitlab.example.invalid/api/v4/projects"), FB_EINVAL);
	/* credentials in the URL itself, shown without them */
	assert_int_equal(get(&none, "http://ci:pw-sekrit-4@forge.example.invalid/x?token=y"),
	                 FB_EINVAL);
	assert_null(strstr(fb_error_last(), "sekrit"));
	/* loopback is allowed: the request is made (and finds nobody there) */
	assert_int_equal(get(&bearer, "http://127.0.0.1:1/x"), FB_EIO);
	assert_int_equal(get(&basic, "http://localhost:1/x"), FB_EIO);
	/* a token given later (Kubernetes rotates it) counts too */
	fb_httpc *c = NULL;
	fb_httpc_result res;
	assert_int_equal(fb_httpc_new(&none, &c), FB_OK);
	assert_int_equal(fb_httpc_set_bearer(c, "tok-sekrit-5"), FB_OK);
	assert_int_equal(fb_httpc_request(c, "GET", "http://k8s.example.invalid/api", NULL, &res),
	                 FB_EINVAL);
	assert_int_equal(fb_httpc_set_bearer(c, NULL), FB_OK);
	assert_int_not_equal(fb_httpc_request(c, "GET", "http://127.0.0.1:1/api", NULL, &res),
	                     FB_EINVAL);
	fb_httpc_free(c);
}

static void the_git_callback_refuses(void **s)
{
	static fb_config cfg;
	char *errors = NULL;
	git_credential *cred = NULL;
	(void)s;

	git_libgit2_init();
	unsetenv("GITOPS_URL");
	setenv("GITOPS_TOKEN", "tok-sekrit-6", 1);
	assert_int_equal(fb_config_load(NULL, &cfg, &errors), FB_OK);
	fb_gitops_cred p = {.cfg = &cfg};
	int rc = fb_gitops_credentials_(&cred, "http://ci:x@git.example.com/ops/gitops.git", NULL,
	                                GIT_CREDENTIAL_USERPASS_PLAINTEXT, &p);
	assert_true(rc < 0);
	assert_null(cred);
	const git_error *e = git_error_last();
	assert_non_null(e);
	assert_non_null(strstr(e->message, "https://"));
	assert_non_null(strstr(e->message, "git.example.com"));
	assert_null(strstr(e->message, "sekrit"));
	/* https and loopback get the token */
	p.tries = 0;
	assert_int_equal(fb_gitops_credentials_(&cred, "https://git.example.com/ops/gitops.git",
	                                        NULL, GIT_CREDENTIAL_USERPASS_PLAINTEXT, &p),
	                 0);
	git_credential_free(cred);
	cred = NULL;
	assert_int_equal(fb_gitops_credentials_(&cred, "http://127.0.0.1:9418/gitops.git", NULL,
	                                        GIT_CREDENTIAL_USERPASS_PLAINTEXT, &p),
	                 0);
	git_credential_free(cred);
	unsetenv("GITOPS_TOKEN");
	free(errors);
	git_libgit2_shutdown();
}

/* check-config: an error naming the key, never the token. */
static void check_config_says_so(void **s)
{
	static fb_config cfg;
	char *errors = NULL;
	(void)s;

	setenv("LOKI_URL", "http://loki.example.com:3100", 1);
	setenv("LOKI_TOKEN", "tok-sekrit-7", 1);
	setenv("GITOPS_URL", "http://git.example.com/ops/gitops.git", 1);
	setenv("GITOPS_TOKEN", "tok-sekrit-8", 1);
	assert_int_equal(fb_config_load(NULL, &cfg, &errors), FB_EINVAL);
	assert_non_null(errors);
	assert_non_null(strstr(errors, "loki.url"));
	assert_non_null(strstr(errors, "gitops.url"));
	assert_non_null(strstr(errors, "https://"));
	assert_null(strstr(errors, "sekrit"));
	free(errors);
	errors = NULL;
	/* without a token, or to loopback, http is fine */
	unsetenv("GITOPS_TOKEN");
	setenv("LOKI_URL", "http://127.0.0.1:3100", 1);
	assert_int_equal(fb_config_load(NULL, &cfg, &errors), FB_OK);
	free(errors);
	unsetenv("LOKI_URL");
	unsetenv("LOKI_TOKEN");
	unsetenv("GITOPS_URL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(the_url_rule),
	    cmocka_unit_test(the_client_refuses),
	    cmocka_unit_test(the_git_callback_refuses),
	    cmocka_unit_test(check_config_says_so),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
