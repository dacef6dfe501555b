/*
 * github.c - owns the GitHub forge (github.com and GitHub Enterprise
 * Server, https://HOST/api/v3): pull requests through the REST API
 * (X-GitHub-Api-Version 2022-11-28).  An existing pull request for the
 * head is found with ?head=OWNER:BRANCH&state=open, and a 422 "A pull
 * request already exists" on create is answered with that lookup.  Who
 * closed an unmerged pull request comes from the issue endpoint
 * (closed_by); who merged it from merged_by.  Runs on the worker that
 * owns the handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "forge_int.h"

#define WHO "GitHub"

typedef struct {
	fb_forge base;
	fb_httpc *http;
	char repo[256];
	char owner[128];
} github;

static fb_err gh_open(const fb_config *cfg, fb_forge **out)
{
	static const char *const headers[] = {"Accept: application/vnd.github+json",
	                                      "X-GitHub-Api-Version: 2022-11-28", NULL};
	github *g = calloc(1, sizeof(*g));
	const char *slash = strchr(cfg->gitops.forge.repo, '/');
	fb_err rc;

	*out = NULL;
	if (!g)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (!slash || (size_t)(slash - cfg->gitops.forge.repo) >= sizeof(g->owner)) {
		free(g);
		return fb_error_set(FB_EINVAL, "gitops.forge.repo: expected owner/name");
	}
	snprintf(g->repo, sizeof(g->repo), "%s", cfg->gitops.forge.repo);
	snprintf(g->owner, sizeof(g->owner), "%.*s", (int)(slash - cfg->gitops.forge.repo),
	         cfg->gitops.forge.repo);
	if ((rc = fb_forge_http_new_(cfg, "https://api.github.com", headers, &g->http))) {
		free(g);
		return rc;
	}
	*out = &g->base;
	return FB_OK;
}

static void gh_close(fb_forge *f)
{
	github *g = (github *)f;
	fb_httpc_free(g->http);
	free(g);
}

static void read_pr(const cJSON *j, fb_pr *out)
{
	memset(out, 0, sizeof(*out));
	out->number = fb_forge_long_(j, "number");
	fb_forge_copy_(out->url, sizeof(out->url), j, "html_url");
	fb_forge_copy_(out->head, sizeof(out->head), fb_json_get(j, "head"), "ref");
	/* merged is on a single pull request; list items only have merged_at */
	if (cJSON_IsTrue(fb_json_get(j, "merged")) || *fb_json_str(j, "merged_at")) {
		out->state = FB_PR_MERGED;
		fb_forge_copy_(out->merge_commit, sizeof(out->merge_commit), j, "merge_commit_sha");
		fb_forge_copy_(out->closed_by, sizeof(out->closed_by), fb_json_get(j, "merged_by"),
		               "login");
	} else if (!strcmp(fb_json_str(j, "state"), "closed")) {
		out->state = FB_PR_CLOSED;
	}
}

/* path = /repos/{owner}/{repo}<suffix> */
static fb_err path_for(github *g, fb_buf *b, const char *fmt_suffix, long n)
{
	fb_err rc = fb_forge_repo_path_(b, g->repo);
	if (!rc && fmt_suffix)
		rc = fb_buf_printf(b, "/%s/%ld", fmt_suffix, n);
	return rc;
}

static fb_err gh_find_open(fb_forge *f, const char *head, const char *base, fb_pr *out)
{
	github *g = (github *)f;
	fb_buf p;
	fb_err rc;

	fb_buf_init(&p, 4096);
	rc = path_for(g, &p, NULL, 0);
	if (!rc)
		rc = fb_buf_addstr(&p, "/pulls?state=open&per_page=100&head=");
	if (!rc)
		rc = fb_httpc_escape(&p, g->owner);
	if (!rc)
		rc = fb_buf_addstr(&p, "%3A");
	if (!rc)
		rc = fb_httpc_escape(&p, head);
	if (!rc && base && *base)
		rc = fb_buf_addstr(&p, "&base=");
	if (!rc && base && *base)
		rc = fb_httpc_escape(&p, base);
	if (rc) {
		fb_buf_free(&p);
		return rc;
	}
	return fb_forge_first_(f, g->http, WHO, &p, "pull request", head, read_pr, out);
}

static fb_err gh_add_labels(fb_forge *f, long number, const char *const *labels, size_t n)
{
	github *g = (github *)f;
	cJSON *body = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(body, "labels");
	fb_forge_answer a;
	fb_buf p;
	fb_err rc;

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(labels[i]));
	fb_buf_init(&p, 4096);
	rc = path_for(g, &p, "issues", number); /* a pull request is an issue */
	if (!rc)
		rc = fb_buf_addstr(&p, "/labels");
	if (!rc)
		rc = fb_forge_call_(f, g->http, WHO, "POST", fb_buf_str(&p), body, &a);
	fb_buf_free(&p);
	cJSON_Delete(body);
	if (rc)
		return rc;
	if (a.status != 200)
		rc = fb_forge_fail_(WHO, "adding labels", &a);
	fb_forge_answer_free_(&a);
	return rc;
}

/* 422 with errors[].message "A pull request already exists for o:b." */
static int already_exists(const fb_forge_answer *a)
{
	const cJSON *e;
	if (a->status != 422)
		return 0;
	cJSON_ArrayForEach(e, fb_json_get(a->json, "errors"))
	{
		if (!strncmp(fb_json_str(e, "message"), "A pull request already exists", 29))
			return 1;
	}
	return 0;
}

static fb_err gh_create(fb_forge *f, const fb_pr_request *req, fb_pr *out, int *created)
{
	github *g = (github *)f;
	cJSON *body = cJSON_CreateObject();
	fb_forge_answer a;
	fb_buf p;
	fb_err rc;

	*created = 0;
	cJSON_AddStringToObject(body, "title", req->title);
	cJSON_AddStringToObject(body, "head", req->head);
	cJSON_AddStringToObject(body, "base", req->base);
	cJSON_AddStringToObject(body, "body", req->body ? req->body : "");
	cJSON_AddFalseToObject(body, "draft");
	fb_buf_init(&p, 4096);
	rc = path_for(g, &p, NULL, 0);
	if (!rc)
		rc = fb_buf_addstr(&p, "/pulls");
	if (!rc)
		rc = fb_forge_call_(f, g->http, WHO, "POST", fb_buf_str(&p), body, &a);
	fb_buf_free(&p);
	cJSON_Delete(body);
	if (rc)
		return rc;
	if (a.status == 201) {
		read_pr(a.json, out);
		*created = 1;
	} else if (already_exists(&a)) {
		rc = gh_find_open(f, req->head, req->base, out);
	} else {
		rc = fb_forge_fail_(WHO, "opening the pull request", &a);
	}
	fb_forge_answer_free_(&a);
	if (!rc && req->n_labels)
		rc = gh_add_labels(f, out->number, req->labels, req->n_labels);
	return rc;
}

/* closed_by is on the issue, not on the pull request. */
static void closed_by(github *g, long number, fb_pr *out)
{
	fb_forge_answer a;
	fb_buf p;

	fb_buf_init(&p, 4096);
	if (!path_for(g, &p, "issues", number) &&
	    !fb_forge_call_(&g->base, g->http, WHO, "GET", fb_buf_str(&p), NULL, &a)) {
		if (a.status == 200)
			fb_forge_copy_(out->closed_by, sizeof(out->closed_by),
			               fb_json_get(a.json, "closed_by"), "login");
		fb_forge_answer_free_(&a);
	}
	fb_buf_free(&p);
	fb_error_clear(); /* who is a nicety: the state is known */
}

static fb_err gh_get(fb_forge *f, long number, fb_pr *out)
{
	github *g = (github *)f;
	fb_forge_answer a;
	fb_buf p;
	fb_err rc;

	fb_buf_init(&p, 4096);
	rc = path_for(g, &p, "pulls", number);
	if (!rc)
		rc = fb_forge_call_(f, g->http, WHO, "GET", fb_buf_str(&p), NULL, &a);
	fb_buf_free(&p);
	if (rc)
		return rc;
	if (a.status == 200)
		read_pr(a.json, out);
	else
		rc = fb_forge_fail_(WHO, "reading the pull request", &a);
	fb_forge_answer_free_(&a);
	if (!rc && out->state == FB_PR_CLOSED)
		closed_by(g, number, out);
	return rc;
}

const fb_forge_ops fb_forge_github = {
    .version = FB_FORGE_OPS_VERSION,
    .name = "github",
    .open = gh_open,
    .find_open = gh_find_open,
    .create = gh_create,
    .add_labels = gh_add_labels,
    .get = gh_get,
    .commit_prefix = "commit/",
    .pr_prefix = "pull/",
    .close = gh_close,
};
