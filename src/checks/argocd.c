/*
 * argocd.c - owns the Argo CD check: the app's Application is synced to
 * the fix's revision (not an earlier one) and healthy.  Runs on the
 * worker thread that runs the verify node.  403 or 404 (not an Argo CD
 * app, or no access) cannot judge: skip, not failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/check.h"
#include "firebreak/httpc.h"
#include "firebreak/json.h"

typedef struct {
	fb_check base;
	fb_httpc *http;
} argo_check;

static fb_err argo_open(const fb_config *cfg, fb_check **out)
{
	argo_check *a;
	fb_err rc;

	*out = NULL;
	if (!cfg->argocd.url[0])
		return FB_OK;
	if (!(a = calloc(1, sizeof(*a))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_httpc_opts o = {
	    .base_url = cfg->argocd.url,
	    .ca_file = cfg->argocd.ca_file,
	    .bearer = cfg->argocd.token,
	    .max_body = 8u * 1024u * 1024u,
	};
	if ((rc = fb_httpc_new(&o, &a->http)) != FB_OK) {
		free(a);
		return rc;
	}
	*out = &a->base;
	return FB_OK;
}

static void argo_close(fb_check *c)
{
	argo_check *a = (argo_check *)c;
	fb_httpc_free(a->http);
	free(a);
}

static int argo_applies(const fb_check *c, const fb_verify_target *t)
{
	(void)c;
	return *t->app != '\0';
}

static void judge_app(const cJSON *app, const char *commit, fb_check_result *res)
{
	const cJSON *st = fb_json_get(app, "status");
	const char *sync = fb_json_str(fb_json_get(st, "sync"), "status");
	const char *health = fb_json_str(fb_json_get(st, "health"), "status");
	const char *rev = fb_json_str(fb_json_get(st, "sync"), "revision");
	size_t k = strlen(rev) < strlen(commit) ? strlen(rev) : strlen(commit);
	int ours = k >= 7 && !strncmp(rev, commit, k); /* synced to the fix, not before it */

	fb_check_say(res,
	             !strcmp(sync, "Synced") && !strcmp(health, "Healthy") && ours
	                 ? FB_CHECK_OK
	                 : FB_CHECK_PENDING,
	             "%s, %s, revision %.12s", sync, health, rev);
}

static fb_err argo_check_once(fb_check *c, const fb_verify_target *t, fb_check_result *res)
{
	argo_check *a = (argo_check *)c;
	fb_httpc_result r;
	cJSON *app;
	fb_buf path;
	fb_err rc;

	fb_buf_init(&path, 2048);
	rc = fb_buf_addstr(&path, "/api/v1/applications/");
	if (!rc)
		rc = fb_httpc_escape(&path, t->app);
	if (!rc)
		rc = fb_httpc_request(a->http, "GET", fb_buf_str(&path), NULL, &r);
	fb_buf_free(&path);
	if (rc)
		return fb_error_wrap(rc, "Argo CD");
	app = cJSON_ParseWithLength(r.body, r.body_len);
	if (r.status == 403 || r.status == 404) { /* not ours to judge */
		fb_check_say(res, FB_CHECK_SKIP, "HTTP %ld", r.status);
	} else if (r.status != 200) {
		const char *m = fb_json_str(app, "message");
		if (*m)
			fb_check_say(res, FB_CHECK_PENDING, "%s", m);
		else
			fb_check_say(res, FB_CHECK_PENDING, "HTTP %ld", r.status);
	} else {
		judge_app(app, t->commit, res);
	}
	cJSON_Delete(app);
	return FB_OK;
}

const fb_check_ops fb_check_argocd = {
    .version = FB_CHECK_OPS_VERSION,
    .name = "argocd",
    .open = argo_open,
    .applies = argo_applies,
    .check = argo_check_once,
    .close = argo_close,
};
