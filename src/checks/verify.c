/*
 * verify.c - owns the recovery checks after a fix: one libcurl handle, the
 * Kubernetes API (pods of the app: ready, waiting reasons, terminated
 * again since the fix) and the Argo CD API (the Application synced to the
 * fix's revision and healthy).  Runs on the worker thread, inside the
 * verify node; it never touches the store.
 *
 * In a cluster, config.c fills the URL, token file and CA from the
 * service account.  The token is read from its file at every check, since
 * the kubelet rotates it (about hourly).  An answer that cannot judge
 * (403 from either API: no RBAC, or not an Argo CD app) leaves that check
 * out rather than failing the fix.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/json.h"
#include "firebreak/log.h"
#include "firebreak/verify.h"

#define RESPONSE_MAX (8u * 1024u * 1024u)

struct fb_verifier {
	CURL *curl;
	fb_buf rx;
	char k8s_url[FB_CFG_STR], token_file[FB_CFG_STR], k8s_ca[FB_CFG_STR], label[128];
	char argo_url[FB_CFG_STR], argo_token[FB_CFG_STR], argo_ca[FB_CFG_STR];
	char loki_url[FB_CFG_STR], loki_tenant[128], loki_user[128], loki_pass[FB_CFG_STR];
	char loki_token[FB_CFG_STR];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	fb_verifier *v = ud;
	return fb_buf_add(&v->rx, p, size * n) == FB_OK ? size * n : 0;
}

static void trim_slash(char *s)
{
	size_t n = strlen(s);
	if (n && s[n - 1] == '/')
		s[n - 1] = '\0';
}

fb_err fb_verifier_new(const fb_config *cfg, fb_verifier **out)
{
	fb_verifier *v;

	*out = NULL;
	if (!cfg->kubernetes.url[0] && !cfg->argocd.url[0] && !cfg->loki.url[0])
		return FB_OK;
	if (!(v = calloc(1, sizeof(*v))) || !(v->curl = curl_easy_init())) {
		free(v);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	snprintf(v->k8s_url, sizeof(v->k8s_url), "%s", cfg->kubernetes.url);
	snprintf(v->token_file, sizeof(v->token_file), "%s", cfg->kubernetes.token_file);
	snprintf(v->k8s_ca, sizeof(v->k8s_ca), "%s", cfg->kubernetes.ca_file);
	snprintf(v->label, sizeof(v->label), "%s", cfg->kubernetes.label);
	snprintf(v->argo_url, sizeof(v->argo_url), "%s", cfg->argocd.url);
	snprintf(v->argo_token, sizeof(v->argo_token), "%s", cfg->argocd.token);
	snprintf(v->argo_ca, sizeof(v->argo_ca), "%s", cfg->argocd.ca_file);
	snprintf(v->loki_url, sizeof(v->loki_url), "%s", cfg->loki.url);
	snprintf(v->loki_tenant, sizeof(v->loki_tenant), "%s", cfg->loki.tenant);
	snprintf(v->loki_user, sizeof(v->loki_user), "%s", cfg->loki.username);
	snprintf(v->loki_pass, sizeof(v->loki_pass), "%s", cfg->loki.password);
	snprintf(v->loki_token, sizeof(v->loki_token), "%s", cfg->loki.token);
	trim_slash(v->k8s_url);
	trim_slash(v->argo_url);
	trim_slash(v->loki_url);
	fb_buf_init(&v->rx, RESPONSE_MAX);
	curl_easy_setopt(v->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(v->curl, CURLOPT_WRITEDATA, v);
	curl_easy_setopt(v->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(v->curl, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(v->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(v->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	*out = v;
	return FB_OK;
}

void fb_verifier_free(fb_verifier *v)
{
	if (!v)
		return;
	curl_easy_cleanup(v->curl);
	fb_buf_free(&v->rx);
	explicit_bzero(v->argo_token, sizeof(v->argo_token));
	explicit_bzero(v->loki_pass, sizeof(v->loki_pass));
	explicit_bzero(v->loki_token, sizeof(v->loki_token));
	free(v);
}

/* GET url with a bearer token; *status is the HTTP status, *json the body. */
static fb_err get_json(fb_verifier *v, const char *url, const char *token, const char *ca,
                       long *status, cJSON **json)
{
	struct curl_slist *h = NULL;
	char auth[4200];
	CURLcode cc;

	*json = NULL;
	*status = 0;
	if (token && *token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	fb_buf_reset(&v->rx);
	curl_easy_setopt(v->curl, CURLOPT_URL, url);
	curl_easy_setopt(v->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(v->curl, CURLOPT_CAINFO, ca && *ca ? ca : NULL);
	cc = curl_easy_perform(v->curl);
	curl_easy_setopt(v->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (cc != CURLE_OK)
		return fb_error_set(FB_EIO, "%s", curl_easy_strerror(cc));
	curl_easy_getinfo(v->curl, CURLINFO_RESPONSE_CODE, status);
	*json = cJSON_ParseWithLength(fb_buf_str(&v->rx) ? fb_buf_str(&v->rx) : "", v->rx.len);
	return FB_OK;
}

static void add_check(cJSON *checks, const char *name, const char *result, const char *detail)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "result", result);
	cJSON_AddStringToObject(c, "detail", detail);
	cJSON_AddItemToArray(checks, c);
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

static void check_kubernetes(fb_verifier *v, const cJSON *state, cJSON *checks)
{
	const char *ns = fb_json_str(state, "namespace"), *app = fb_json_str(state, "app");
	long long applied =
	    (long long)cJSON_GetNumberValue(fb_json_get(fb_json_get(state, "apply"), "at"));
	char token[4096] = "", url[2048], sel[400], why[300] = "";
	char *esc;
	cJSON *list = NULL;
	long status;
	int bad = 0, n = 0;
	FILE *f;

	if (!v->k8s_url[0] || !*ns || !*app)
		return;
	if ((f = fopen(v->token_file, "r"))) { /* re-read: the kubelet rotates it */
		size_t r = fread(token, 1, sizeof(token) - 1, f);
		token[r] = '\0';
		token[strcspn(token, "\r\n")] = '\0';
		fclose(f);
	}
	snprintf(sel, sizeof(sel), "%s=%s", v->label, app);
	esc = curl_easy_escape(v->curl, sel, 0);
	snprintf(url, sizeof(url), "%s/api/v1/namespaces/%s/pods?labelSelector=%s&limit=100",
	         v->k8s_url, ns, esc ? esc : "");
	curl_free(esc);
	if (get_json(v, url, token, v->k8s_ca, &status, &list) != FB_OK) {
		add_check(checks, "kubernetes", "pending", fb_error_last());
	} else if (status == 401 || status == 403) {
		fb_log(FB_LOG_WARN, "verify.kubernetes_refused", "status=%ld message=\"%.200s\"",
		       status, fb_json_str(list, "message"));
	} else if (status != 200) {
		add_check(checks, "kubernetes", "pending", fb_json_str(list, "message"));
	} else {
		const cJSON *pod;
		cJSON_ArrayForEach(pod, fb_json_get(list, "items"))
		{
			n++;
			if (!why[0])
				judge_pod(pod, applied, why, sizeof(why), &bad);
		}
		if (!n)
			add_check(checks, "kubernetes", "pending", "no pods yet");
		else
			add_check(checks, "kubernetes",
			          bad      ? "failed"
			          : why[0] ? "pending"
			                   : "ok",
			          why[0] ? why : "all pods ready");
	}
	explicit_bzero(token, sizeof(token));
	cJSON_Delete(list);
}

static void check_argocd(fb_verifier *v, const cJSON *state, cJSON *checks)
{
	const char *app = fb_json_str(state, "app");
	const char *commit = fb_json_str(fb_json_get(state, "apply"), "commit");
	char url[1024], detail[300];
	cJSON *a = NULL;
	long status;

	if (!v->argo_url[0] || !*app)
		return;
	snprintf(url, sizeof(url), "%s/api/v1/applications/%s", v->argo_url, app);
	if (get_json(v, url, v->argo_token, v->argo_ca, &status, &a) != FB_OK) {
		add_check(checks, "argocd", "pending", fb_error_last());
	} else if (status == 403 || status == 404) { /* not ours to judge */
		fb_log(FB_LOG_INFO, "verify.argocd_skipped", "app=%s status=%ld", app, status);
	} else if (status != 200) {
		add_check(checks, "argocd", "pending", fb_json_str(a, "message"));
	} else {
		const cJSON *st = fb_json_get(a, "status");
		const char *sync = fb_json_str(fb_json_get(st, "sync"), "status");
		const char *health = fb_json_str(fb_json_get(st, "health"), "status");
		const char *rev = fb_json_str(fb_json_get(st, "sync"), "revision");
		size_t k = strlen(rev) < strlen(commit) ? strlen(rev) : strlen(commit);
		int ours =
		    k >= 7 && !strncmp(rev, commit, k); /* synced to the fix, not before it */
		snprintf(detail, sizeof(detail), "%s, %s, revision %.12s", sync, health, rev);
		add_check(checks, "argocd",
		          !strcmp(sync, "Synced") && !strcmp(health, "Healthy") && ours ? "ok"
		                                                                        : "pending",
		          detail);
	}
	cJSON_Delete(a);
}

/* The normalised signature as a regex: numbers and ids match any. */
static void signature_regex(const char *sig, fb_buf *re)
{
	for (const char *p = sig; *p && re->len < 300; p++) {
		if (*p == '#')
			fb_buf_addstr(re, "[0-9]+");
		else if (!strncmp(p, "<id>", 4)) {
			fb_buf_addstr(re, "\\S+");
			p += 3;
		} else if (*p == ' ')
			fb_buf_addstr(re, "\\s+");
		else if (*p == '`')
			fb_buf_addc(re, '.');
		else {
			if (strchr("\\.+*?()|[]{}^$", *p))
				fb_buf_addc(re, '\\');
			fb_buf_addc(re, *p);
		}
	}
}

/* The same signature logged again since the fix: the fix did not hold. */
static void check_loki(fb_verifier *v, const cJSON *state, cJSON *checks)
{
	const char *ns = fb_json_str(state, "namespace");
	const char *sig = fb_json_str(fb_json_get(state, "classification"), "signature");
	long long applied =
	    (long long)cJSON_GetNumberValue(fb_json_get(fb_json_get(state, "apply"), "at"));
	struct curl_slist *h = NULL;
	char hdr[700];
	fb_buf q, url, re;
	char *esc;
	long status = 0;
	cJSON *r = NULL;

	if (!v->loki_url[0] || !*ns || !*sig || applied <= 0)
		return;
	fb_buf_init(&re, 4096);
	signature_regex(sig, &re);
	fb_buf_init(&q, 8192);
	fb_buf_printf(&q, "{namespace=\"%s\"} |~ `%s`", ns, fb_buf_str(&re) ? fb_buf_str(&re) : "");
	esc = curl_easy_escape(v->curl, fb_buf_str(&q), 0);
	fb_buf_init(&url, 16384);
	fb_buf_printf(&url,
	              "%s/loki/api/v1/query_range?query=%s&start=%lld000000&end=%lld000000&limit=1"
	              "&direction=forward",
	              v->loki_url, esc ? esc : "", applied, (long long)time(NULL) * 1000 + 1);
	curl_free(esc);
	if (v->loki_tenant[0]) {
		snprintf(hdr, sizeof(hdr), "X-Scope-OrgID: %s", v->loki_tenant);
		h = curl_slist_append(h, hdr);
	}
	if (v->loki_user[0]) {
		curl_easy_setopt(v->curl, CURLOPT_USERNAME, v->loki_user);
		curl_easy_setopt(v->curl, CURLOPT_PASSWORD, v->loki_pass);
	}
	fb_buf_reset(&v->rx);
	curl_easy_setopt(v->curl, CURLOPT_URL, fb_buf_str(&url));
	curl_easy_setopt(v->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(v->curl, CURLOPT_CAINFO, NULL);
	if (curl_easy_perform(v->curl) == CURLE_OK)
		curl_easy_getinfo(v->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(v->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(v->curl, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(v->curl, CURLOPT_PASSWORD, NULL);
	curl_slist_free_all(h);
	if (status == 200)
		r = cJSON_ParseWithLength(fb_buf_str(&v->rx) ? fb_buf_str(&v->rx) : "", v->rx.len);
	if (!r) {
		add_check(checks, "loki", "pending", "Loki did not answer");
	} else {
		const cJSON *first =
		    cJSON_GetArrayItem(fb_json_get(fb_json_get(r, "data"), "result"), 0);
		const cJSON *line =
		    cJSON_GetArrayItem(cJSON_GetArrayItem(fb_json_get(first, "values"), 0), 1);
		const char *text = cJSON_IsString(line) ? line->valuestring : NULL;
		char detail[300];
		snprintf(detail, sizeof(detail), "still logged since the fix: %.200s",
		         text ? text : "");
		add_check(checks, "loki", text ? "failed" : "ok",
		          text ? detail : "not logged again since the fix");
	}
	cJSON_Delete(r);
	fb_buf_free(&q);
	fb_buf_free(&url);
	fb_buf_free(&re);
}

fb_err fb_verify_check(fb_verifier *v, const cJSON *state, cJSON **out)
{
	cJSON *o = cJSON_CreateObject(), *checks = cJSON_AddArrayToObject(o, "checks"), *c;
	const char *result = "skipped", *reason = "nothing could be checked";

	check_kubernetes(v, state, checks);
	check_argocd(v, state, checks);
	check_loki(v, state, checks);
	cJSON_ArrayForEach(c, checks)
	{
		const char *r = fb_json_str(c, "result");
		if (!strcmp(r, "failed") || (!strcmp(r, "pending") && strcmp(result, "failed")) ||
		    (!strcmp(r, "ok") && !strcmp(result, "skipped"))) {
			result = r;
			reason = fb_json_str(c, "detail");
		}
	}
	cJSON_AddStringToObject(o, "result", result);
	cJSON_AddStringToObject(o, "reason", reason);
	*out = o;
	return FB_OK;
}
