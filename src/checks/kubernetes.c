/*
 * kubernetes.c - owns the Kubernetes check: the pods of the app (by its
 * label) are ready, none waiting, none terminated again since the fix.
 * Runs on the worker thread that runs the verify node.
 *
 * In a cluster, config.c fills the URL, token file and CA from the
 * service account.  The token is read from its file at every check,
 * since the kubelet rotates it (about hourly).  401 or 403 (no RBAC)
 * cannot judge: skip, not failed.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/check.h"
#include "firebreak/httpc.h"
#include "firebreak/json.h"
#include "firebreak/log.h"

typedef struct {
	fb_check base;
	fb_httpc *http;
	char token_file[FB_CFG_STR];
	char label[128];
} kube_check;

static fb_err kube_open(const fb_config *cfg, fb_check **out)
{
	kube_check *k;
	fb_err rc;

	*out = NULL;
	if (!cfg->kubernetes.url[0])
		return FB_OK;
	if (!(k = calloc(1, sizeof(*k))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_httpc_opts o = {
	    .base_url = cfg->kubernetes.url,
	    .ca_file = cfg->kubernetes.ca_file,
	    .max_body = 8u * 1024u * 1024u,
	};
	if ((rc = fb_httpc_new(&o, &k->http)) != FB_OK) {
		free(k);
		return rc;
	}
	snprintf(k->token_file, sizeof(k->token_file), "%s", cfg->kubernetes.token_file);
	snprintf(k->label, sizeof(k->label), "%s", cfg->kubernetes.label);
	*out = &k->base;
	return FB_OK;
}

static void kube_close(fb_check *c)
{
	kube_check *k = (kube_check *)c;
	fb_httpc_free(k->http);
	free(k);
}

static int kube_applies(const fb_check *c, const fb_verify_target *t)
{
	(void)c;
	return *t->app && *t->ns;
}

/* RFC 3339 UTC to ms since the epoch; 0 when unreadable. */
static long long rfc3339_ms(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (long long)timegm(&tm) * 1000;
}

/* One pod: "" when recovered, else the reason; *bad when it failed again. */
static void judge_pod(const cJSON *pod, long long applied, char *why, size_t wsz, int *bad)
{
	const cJSON *cs;
	cJSON_ArrayForEach(cs, fb_json_get(fb_json_get(pod, "status"), "containerStatuses"))
	{
		const cJSON *waiting = fb_json_get(fb_json_get(cs, "state"), "waiting");
		const cJSON *last = fb_json_get(fb_json_get(cs, "lastState"), "terminated");
		const char *name = fb_json_str(fb_json_get(pod, "metadata"), "name");
		if (last && rfc3339_ms(fb_json_str(last, "finishedAt")) > applied) {
			snprintf(why, wsz, "%s: %s again after the fix", name,
			         fb_json_str(last, "reason"));
			*bad = 1;
			return;
		}
		if (waiting) {
			snprintf(why, wsz, "%s: waiting (%s)", name,
			         fb_json_str(waiting, "reason"));
			return;
		}
		if (!cJSON_IsTrue(fb_json_get(cs, "ready"))) {
			snprintf(why, wsz, "%s: not ready", name);
			return;
		}
	}
}

static void judge_pods(const cJSON *list, long long applied, fb_check_result *res)
{
	const cJSON *pod;
	char why[300] = "";
	int bad = 0, n = 0;

	cJSON_ArrayForEach(pod, fb_json_get(list, "items"))
	{
		n++;
		if (!why[0])
			judge_pod(pod, applied, why, sizeof(why), &bad);
	}
	if (!n)
		fb_check_say(res, FB_CHECK_PENDING, "no pods yet");
	else if (why[0])
		fb_check_say(res, bad ? FB_CHECK_FAILED : FB_CHECK_PENDING, "%s", why);
	else
		fb_check_say(res, FB_CHECK_OK, "all pods ready");
}

/* The rotating token from its file into the client's header. */
static fb_err load_token(kube_check *k)
{
	char token[4096] = "";
	FILE *f = k->token_file[0] ? fopen(k->token_file, "r") : NULL;
	fb_err rc;

	if (f) {
		size_t r = fread(token, 1, sizeof(token) - 1, f);
		token[r] = '\0';
		token[strcspn(token, "\r\n")] = '\0';
		fclose(f);
	}
	rc = fb_httpc_set_bearer(k->http, token);
	explicit_bzero(token, sizeof(token));
	return rc;
}

static fb_err kube_check_once(fb_check *c, const fb_verify_target *t, fb_check_result *res)
{
	kube_check *k = (kube_check *)c;
	fb_httpc_result r;
	cJSON *list = NULL;
	fb_buf path, sel;
	fb_err rc;

	if ((rc = load_token(k)) != FB_OK)
		return rc;
	fb_buf_init(&sel, 1024);
	fb_buf_init(&path, 4096);
	fb_buf_printf(&sel, "%s=%s", k->label, t->app);
	fb_buf_addstr(&path, "/api/v1/namespaces/");
	fb_httpc_escape(&path, t->ns);
	fb_buf_addstr(&path, "/pods?labelSelector=");
	fb_httpc_escape(&path, fb_buf_str(&sel));
	rc = fb_buf_addstr(&path, "&limit=100");
	if (!rc)
		rc = fb_httpc_request(k->http, "GET", fb_buf_str(&path), NULL, &r);
	fb_buf_free(&sel);
	fb_buf_free(&path);
	if (rc)
		return fb_error_wrap(rc, "Kubernetes");
	list = cJSON_ParseWithLength(r.body, r.body_len);
	if (r.status == 401 || r.status == 403) {
		fb_log(FB_LOG_WARN, "verify.kubernetes_refused", "status=%ld message=\"%.200s\"",
		       r.status, fb_json_str(list, "message"));
		fb_check_say(res, FB_CHECK_SKIP, "refused (HTTP %ld)", r.status);
	} else if (r.status != 200) {
		const char *m = fb_json_str(list, "message");
		if (*m)
			fb_check_say(res, FB_CHECK_PENDING, "%s", m);
		else
			fb_check_say(res, FB_CHECK_PENDING, "HTTP %ld", r.status);
	} else {
		judge_pods(list, (long long)t->applied_at_ms, res);
	}
	cJSON_Delete(list);
	return FB_OK;
}

const fb_check_ops fb_check_kubernetes = {
    .version = FB_CHECK_OPS_VERSION,
    .name = "kubernetes",
    .open = kube_open,
    .applies = kube_applies,
    .check = kube_check_once,
    .close = kube_close,
};
