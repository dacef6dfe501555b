/*
 * gitea.c - owns the Gitea forge (and Forgejo, the same /api/v1): pull
 * requests.  The list has no head filter, so an open pull request for a
 * branch is found by paging through ?state=open (Link rel="next"); a 409
 * "pull request already exists for these targets [... issue_id: N ...]"
 * on create is answered with that pull request.  Labels are ids, not
 * names: they are looked up (and made when missing).  The 409's issue_id
 * is the index in current releases only, so it is the fallback.  Who closed an
 * unmerged pull request comes from the issue timeline's last "close"
 * event; who merged it from merged_by.  Runs on the worker that owns the
 * handle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "forge_int.h"

#define WHO "Gitea"
#define MAX_PAGES 20

typedef struct {
	fb_forge base;
	fb_httpc *http;
	char repo_path[600]; /* /repos/<owner>/<name>, encoded */
} gitea;

static fb_err gt_open(const fb_config *cfg, fb_forge **out)
{
	gitea *g = calloc(1, sizeof(*g));
	fb_buf p;
	fb_err rc;

	*out = NULL;
	if (!g)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&p, sizeof(g->repo_path) - 1);
	rc = fb_forge_repo_path_(&p, cfg->gitops.forge.repo);
	if (!rc)
		snprintf(g->repo_path, sizeof(g->repo_path), "%s", fb_buf_str(&p));
	fb_buf_free(&p);
	if (!rc)
		rc = fb_forge_http_new_(cfg, NULL, NULL, &g->http);
	if (rc) {
		free(g);
		return rc;
	}
	*out = &g->base;
	return FB_OK;
}

static void gt_close(fb_forge *f)
{
	gitea *g = (gitea *)f;
	fb_httpc_free(g->http);
	free(g);
}

static void read_pr(const cJSON *j, fb_pr *out)
{
	memset(out, 0, sizeof(*out));
	out->number = fb_forge_long_(j, "number");
	fb_forge_copy_(out->url, sizeof(out->url), j, "html_url");
	fb_forge_copy_(out->head, sizeof(out->head), fb_json_get(j, "head"), "ref");
	if (cJSON_IsTrue(fb_json_get(j, "merged"))) {
		out->state = FB_PR_MERGED;
		fb_forge_copy_(out->merge_commit, sizeof(out->merge_commit), j, "merge_commit_sha");
		fb_forge_copy_(out->closed_by, sizeof(out->closed_by), fb_json_get(j, "merged_by"),
		               "login");
	} else if (!strcmp(fb_json_str(j, "state"), "closed")) {
		out->state = FB_PR_CLOSED;
	}
}

/* The open pull request of head into base on one page; 1 when found. */
static int pick(const cJSON *list, const char *head, const char *base, fb_pr *out)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		if (strcmp(fb_json_str(fb_json_get(it, "head"), "ref"), head) ||
		    (base && *base && strcmp(fb_json_str(fb_json_get(it, "base"), "ref"), base)))
			continue;
		read_pr(it, out);
		return 1;
	}
	return 0;
}

static fb_err gt_find_open(fb_forge *f, const char *head, const char *base, fb_pr *out)
{
	gitea *g = (gitea *)f;
	char target[1024];
	fb_forge_answer a;
	fb_err rc = FB_OK;
	int found = 0;

	snprintf(target, sizeof(target), "%s/pulls?state=open&sort=newest&limit=50&page=1",
	         g->repo_path);
	for (int page = 0; page < MAX_PAGES && !found && *target; page++) {
		if ((rc = fb_forge_call_(f, g->http, WHO, "GET", target, NULL, &a)))
			return rc;
		if (a.status != 200 || !cJSON_IsArray(a.json)) {
			rc = fb_forge_fail_(WHO, "listing pull requests", &a);
			fb_forge_answer_free_(&a);
			return rc;
		}
		found = pick(a.json, head, base, out);
		snprintf(target, sizeof(target), "%s", a.next);
		fb_forge_answer_free_(&a);
	}
	return found ? FB_OK : fb_error_set(FB_ENOTFOUND, "no open pull request for %s", head);
}

/* The id of the label called name (made when missing); 0 on failure. */
static long label_id(gitea *g, const char *name)
{
	char target[1024];
	fb_forge_answer a;
	long id = 0;

	snprintf(target, sizeof(target), "%s/labels?limit=50&page=1", g->repo_path);
	for (int page = 0; page < MAX_PAGES && !id && *target; page++) {
		const cJSON *it, *list;
		if (fb_forge_call_(&g->base, g->http, WHO, "GET", target, NULL, &a))
			return 0;
		list = a.status == 200 ? a.json : NULL;
		cJSON_ArrayForEach(it, list)
		{
			if (!strcmp(fb_json_str(it, "name"), name))
				id = fb_forge_long_(it, "id");
		}
		snprintf(target, sizeof(target), "%s", a.status == 200 ? a.next : "");
		fb_forge_answer_free_(&a);
	}
	if (!id) {
		cJSON *body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "name", name);
		cJSON_AddStringToObject(body, "color", "#e11d48");
		snprintf(target, sizeof(target), "%s/labels", g->repo_path);
		if (!fb_forge_call_(&g->base, g->http, WHO, "POST", target, body, &a)) {
			if (a.status == 201)
				id = fb_forge_long_(a.json, "id");
			fb_forge_answer_free_(&a);
		}
		cJSON_Delete(body);
	}
	return id;
}

static fb_err gt_add_labels(fb_forge *f, long number, const char *const *labels, size_t n)
{
	gitea *g = (gitea *)f;
	cJSON *body = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(body, "labels");
	char target[1024];
	fb_forge_answer a;
	fb_err rc;

	for (size_t i = 0; i < n; i++) {
		long id = label_id(g, labels[i]);
		if (!id) {
			cJSON_Delete(body);
			return g->base.retry_after >= 0
			           ? FB_EIO
			           : fb_error_set(FB_EIO,
			                          "Gitea: no label %s (and it cannot be made)",
			                          labels[i]);
		}
		cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)id));
	}
	snprintf(target, sizeof(target), "%s/issues/%ld/labels", g->repo_path, number);
	rc = fb_forge_call_(f, g->http, WHO, "POST", target, body, &a);
	cJSON_Delete(body);
	if (rc)
		return rc;
	if (a.status != 200)
		rc = fb_forge_fail_(WHO, "adding labels", &a);
	fb_forge_answer_free_(&a);
	return rc;
}

/* The last "close" event of the timeline says who. */
static void closed_by(gitea *g, long number, fb_pr *out)
{
	char target[1024];
	fb_forge_answer a;
	const cJSON *it, *list;

	snprintf(target, sizeof(target), "%s/issues/%ld/timeline?limit=50", g->repo_path, number);
	if (fb_forge_call_(&g->base, g->http, WHO, "GET", target, NULL, &a) == FB_OK) {
		list = a.status == 200 ? a.json : NULL;
		cJSON_ArrayForEach(it, list)
		{
			if (!strcmp(fb_json_str(it, "type"), "close"))
				fb_forge_copy_(out->closed_by, sizeof(out->closed_by),
				               fb_json_get(it, "user"), "login");
		}
		fb_forge_answer_free_(&a);
	}
	fb_error_clear(); /* who is a nicety: the state is known */
}

static fb_err gt_get(fb_forge *f, long number, fb_pr *out)
{
	gitea *g = (gitea *)f;
	char target[1024];
	fb_forge_answer a;
	fb_err rc;

	snprintf(target, sizeof(target), "%s/pulls/%ld", g->repo_path, number);
	if ((rc = fb_forge_call_(f, g->http, WHO, "GET", target, NULL, &a)))
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

/* 409 "... [id: 890, issue_id: 2, ...]": issue_id is the index. */
static long existing_index(const fb_forge_answer *a)
{
	const char *m = fb_json_str(a->json, "message"), *p = strstr(m, "issue_id: ");
	return p ? strtol(p + 10, NULL, 10) : 0;
}

static fb_err gt_create(fb_forge *f, const fb_pr_request *req, fb_pr *out, int *created)
{
	gitea *g = (gitea *)f;
	cJSON *body = cJSON_CreateObject();
	char target[1024];
	fb_forge_answer a;
	long index;
	fb_err rc;

	*created = 0;
	cJSON_AddStringToObject(body, "head", req->head);
	cJSON_AddStringToObject(body, "base", req->base);
	cJSON_AddStringToObject(body, "title", req->title);
	cJSON_AddStringToObject(body, "body", req->body ? req->body : "");
	snprintf(target, sizeof(target), "%s/pulls", g->repo_path);
	rc = fb_forge_call_(f, g->http, WHO, "POST", target, body, &a);
	cJSON_Delete(body);
	if (rc)
		return rc;
	if (a.status == 201) {
		read_pr(a.json, out);
		*created = 1;
	} else if (a.status ==
	           409) { /* the list first: older releases put another id in the message */
		rc = gt_find_open(f, req->head, req->base, out);
		if (rc == FB_ENOTFOUND && (index = existing_index(&a)) > 0)
			rc = gt_get(f, index, out);
	} else {
		rc = fb_forge_fail_(WHO, "opening the pull request", &a);
	}
	fb_forge_answer_free_(&a);
	if (!rc && req->n_labels)
		rc = gt_add_labels(f, out->number, req->labels, req->n_labels);
	return rc;
}

const fb_forge_ops fb_forge_gitea = {
    .version = FB_FORGE_OPS_VERSION,
    .name = "gitea",
    .open = gt_open,
    .find_open = gt_find_open,
    .create = gt_create,
    .add_labels = gt_add_labels,
    .get = gt_get,
    .commit_prefix = "commit/",
    .pr_prefix = "pulls/",
    .close = gt_close,
};
