/*
 * gitlab.c - owns the GitLab forge (gitlab.com and self-managed,
 * https://HOST/api/v4): merge requests.  The project is addressed by its
 * URL-encoded path (group%2Fsub%2Fproject); a merge request by its iid.
 * An open one for the source branch is found with
 * ?state=opened&source_branch=..&target_branch=..; a 409 "Another open
 * merge request already exists" on create is answered with that lookup.
 * Labels go with create as a comma-separated string (GitLab creates
 * missing ones) and through add_labels on a reused one.  Runs on the
 * worker that owns the handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "forge_int.h"

#define WHO "GitLab"

typedef struct {
	fb_forge base;
	fb_httpc *http;
	char project[768]; /* "/projects/<url-encoded path>" */
} gitlab;

static fb_err gl_open(const fb_config *cfg, fb_forge **out)
{
	gitlab *g = calloc(1, sizeof(*g));
	fb_buf p;
	fb_err rc;

	*out = NULL;
	if (!g)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&p, sizeof(g->project) - 1);
	rc = fb_buf_addstr(&p, "/projects/");
	if (!rc)
		rc = fb_httpc_escape(&p, cfg->gitops.forge.repo); /* '/' becomes %2F */
	if (!rc)
		snprintf(g->project, sizeof(g->project), "%s", fb_buf_str(&p));
	fb_buf_free(&p);
	if (!rc)
		rc = fb_forge_http_new_(cfg, "https://gitlab.com/api/v4", NULL, &g->http);
	if (rc) {
		free(g);
		return rc;
	}
	*out = &g->base;
	return FB_OK;
}

static void gl_close(fb_forge *f)
{
	gitlab *g = (gitlab *)f;
	fb_httpc_free(g->http);
	free(g);
}

static void read_mr(const cJSON *j, fb_pr *out)
{
	const char *state = fb_json_str(j, "state");

	memset(out, 0, sizeof(*out));
	out->number = fb_forge_long_(j, "iid");
	fb_forge_copy_(out->url, sizeof(out->url), j, "web_url");
	fb_forge_copy_(out->head, sizeof(out->head), j, "source_branch");
	if (!strcmp(state, "merged")) {
		out->state = FB_PR_MERGED;
		/* the merge commit; a squash without one: the squash commit; a
		 * fast-forward: the head itself */
		fb_forge_copy_(out->merge_commit, sizeof(out->merge_commit), j, "merge_commit_sha");
		if (!out->merge_commit[0])
			fb_forge_copy_(out->merge_commit, sizeof(out->merge_commit), j,
			               "squash_commit_sha");
		if (!out->merge_commit[0])
			fb_forge_copy_(out->merge_commit, sizeof(out->merge_commit), j, "sha");
		fb_forge_copy_(out->closed_by, sizeof(out->closed_by), fb_json_get(j, "merge_user"),
		               "username");
		if (!out->closed_by[0])
			fb_forge_copy_(out->closed_by, sizeof(out->closed_by),
			               fb_json_get(j, "merged_by"), "username");
	} else if (!strcmp(state, "closed")) {
		out->state = FB_PR_CLOSED;
		fb_forge_copy_(out->closed_by, sizeof(out->closed_by), fb_json_get(j, "closed_by"),
		               "username");
	}
}

static fb_err gl_find_open(fb_forge *f, const char *head, const char *base, fb_pr *out)
{
	gitlab *g = (gitlab *)f;
	fb_buf p;
	fb_err rc;

	fb_buf_init(&p, 4096);
	rc = fb_buf_printf(
	    &p, "%s/merge_requests?state=opened&per_page=100&source_branch=", g->project);
	if (!rc)
		rc = fb_httpc_escape(&p, head);
	if (!rc && base && *base)
		rc = fb_buf_addstr(&p, "&target_branch=");
	if (!rc && base && *base)
		rc = fb_httpc_escape(&p, base);
	if (rc) {
		fb_buf_free(&p);
		return rc;
	}
	return fb_forge_first_(f, g->http, WHO, &p, "merge request", head, read_mr, out);
}

static char *joined(const char *const *labels, size_t n)
{
	fb_buf b;
	fb_buf_init(&b, 8192);
	for (size_t i = 0; i < n; i++)
		fb_buf_printf(&b, "%s%s", i ? "," : "", labels[i]);
	return fb_buf_take(&b);
}

static fb_err gl_add_labels(fb_forge *f, long number, const char *const *labels, size_t n)
{
	gitlab *g = (gitlab *)f;
	cJSON *body = cJSON_CreateObject();
	char *list = joined(labels, n), path[1024];
	fb_forge_answer a;
	fb_err rc;

	cJSON_AddStringToObject(body, "add_labels", list ? list : "");
	free(list);
	snprintf(path, sizeof(path), "%s/merge_requests/%ld", g->project, number);
	rc = fb_forge_call_(f, g->http, WHO, "PUT", path, body, &a);
	cJSON_Delete(body);
	if (rc)
		return rc;
	if (a.status != 200)
		rc = fb_forge_fail_(WHO, "adding labels", &a);
	fb_forge_answer_free_(&a);
	return rc;
}

static fb_err gl_get(fb_forge *f, long number, fb_pr *out)
{
	gitlab *g = (gitlab *)f;
	fb_forge_answer a;
	char path[1024];
	fb_err rc;

	snprintf(path, sizeof(path), "%s/merge_requests/%ld", g->project, number);
	if ((rc = fb_forge_call_(f, g->http, WHO, "GET", path, NULL, &a)))
		return rc;
	if (a.status == 200)
		read_mr(a.json, out);
	else
		rc = fb_forge_fail_(WHO, "reading the merge request", &a);
	fb_forge_answer_free_(&a);
	return rc;
}

/* 409 {"message":["Another open merge request already exists for this
 * source branch: !12"]}: the iid after the '!'. */
static long existing_iid(const fb_forge_answer *a)
{
	char msg[512];
	const char *bang;

	fb_forge_message_(a->json, msg, sizeof(msg));
	bang = strstr(msg, "already exists") ? strrchr(msg, '!') : NULL;
	return bang ? strtol(bang + 1, NULL, 10) : 0;
}

static fb_err gl_create(fb_forge *f, const fb_pr_request *req, fb_pr *out, int *created)
{
	gitlab *g = (gitlab *)f;
	cJSON *body = cJSON_CreateObject();
	char *labels = joined(req->labels, req->n_labels), path[1024];
	fb_forge_answer a;
	long iid;
	fb_err rc;

	*created = 0;
	cJSON_AddStringToObject(body, "source_branch", req->head);
	cJSON_AddStringToObject(body, "target_branch", req->base);
	cJSON_AddStringToObject(body, "title", req->title);
	cJSON_AddStringToObject(body, "description", req->body ? req->body : "");
	if (labels && *labels)
		cJSON_AddStringToObject(body, "labels", labels);
	cJSON_AddTrueToObject(body, "remove_source_branch");
	free(labels);
	snprintf(path, sizeof(path), "%s/merge_requests", g->project);
	rc = fb_forge_call_(f, g->http, WHO, "POST", path, body, &a);
	cJSON_Delete(body);
	if (rc)
		return rc;
	if (a.status == 201) {
		read_mr(a.json, out);
		*created = 1;
	} else if (a.status == 409) {
		rc = gl_find_open(f, req->head, req->base, out);
		if (rc == FB_ENOTFOUND && (iid = existing_iid(&a)) > 0)
			rc = gl_get(f, iid, out);
		if (!rc && req->n_labels)
			rc = gl_add_labels(f, out->number, req->labels, req->n_labels);
	} else {
		rc = fb_forge_fail_(WHO, "opening the merge request", &a);
	}
	fb_forge_answer_free_(&a);
	return rc;
}

const fb_forge_ops fb_forge_gitlab = {
    .version = FB_FORGE_OPS_VERSION,
    .name = "gitlab",
    .open = gl_open,
    .find_open = gl_find_open,
    .create = gl_create,
    .add_labels = gl_add_labels,
    .get = gl_get,
    .commit_prefix = "-/commit/",
    .pr_prefix = "-/merge_requests/",
    .close = gl_close,
};
