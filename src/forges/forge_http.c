/*
 * forge_http.c - owns what every forge's API call shares: the client
 * (api_url, the token as a bearer, the forge's headers), telling a rate
 * limit from other answers by the forge's headers (GitHub
 * x-ratelimit-remaining/-reset and retry-after on 403/429; GitLab
 * RateLimit-Remaining/-Reset and Retry-After on 429), the Link header's
 * next page, and error texts with the forge's own message (masked; the
 * token is never in them).  Runs on the worker that owns the handle.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "firebreak/json.h"
#include "firebreak/mask.h"
#include "forge_int.h"

#define FORGE_MAX_BODY (4u * 1024u * 1024u)
#define SECONDARY_WAIT 60 /* GitHub: "wait at least one minute" */

fb_err fb_forge_http_new_(const fb_config *cfg, const char *fallback, const char *const *headers,
                          fb_httpc **out)
{
	const char *api = cfg->gitops.forge.api_url[0] ? cfg->gitops.forge.api_url : fallback;
	fb_httpc_opts o = {
	    .base_url = api,
	    .ca_file = cfg->gitops.forge.ca_file,
	    .bearer = cfg->gitops.forge.token,
	    .max_body = FORGE_MAX_BODY,
	    .timeout_ms = 20000,
	};

	*out = NULL;
	if (!api || !*api)
		return fb_error_set(FB_EINVAL, "gitops.forge.api_url is required for %s",
		                    cfg->gitops.forge.kind);
	for (size_t i = 0; headers && headers[i] && i < FB_HTTPC_HEADERS; i++)
		o.headers[i] = headers[i];
	return fb_httpc_new(&o, out);
}

static long header_long(fb_httpc *h, const char *name)
{
	char v[64], *end;
	long n;

	if (!fb_httpc_header(h, name, v, sizeof(v)))
		return -1;
	n = strtol(v, &end, 10);
	return end == v || n < 0 ? -1 : n;
}

/* Seconds to wait before the next call, or -1 when this is no limit. */
static long rate_limited(fb_httpc *h, const fb_httpc_result *r, const cJSON *j)
{
	long now = (long)time(NULL), reset;
	char msg[256];

	if (r->status != 403 && r->status != 429)
		return -1;
	if (r->retry_after >= 0)
		return r->retry_after;
	if (header_long(h, "x-ratelimit-remaining") == 0 &&
	    (reset = header_long(h, "x-ratelimit-reset")) >= 0)
		return reset > now ? reset - now : 0;
	if (header_long(h, "ratelimit-remaining") == 0 &&
	    (reset = header_long(h, "ratelimit-reset")) >= 0)
		return reset > now ? reset - now : 0;
	fb_forge_message_(j, msg, sizeof(msg));
	for (char *c = msg; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (r->status == 429 || strstr(msg, "rate limit"))
		return SECONDARY_WAIT;
	return -1; /* a 403 about permissions */
}

/* The length of url's scheme://host[:port]. */
static size_t origin_len(const char *url)
{
	const char *p = strstr(url, "://");
	return p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : 0;
}

/* Does url go where the forge's base URL goes?  A next page elsewhere
 * would carry the token to another host. */
static int same_origin(fb_httpc *h, const char *url, size_t len)
{
	const char *base = fb_httpc_base(h);
	size_t n = origin_len(base);
	return n && len > n && !strncasecmp(url, base, n) && strchr("/?#", url[n]);
}

/* <URL>; rel="next" out of a Link header, when it stays on the forge. */
static void next_link(fb_httpc *h, char *out, size_t outsz)
{
	char link[2048];
	const char *p;

	out[0] = '\0';
	if (!fb_httpc_header(h, "link", link, sizeof(link)))
		return;
	for (p = link; (p = strchr(p, '<'));) {
		const char *end = strchr(p, '>');
		if (!end)
			return;
		const char *params = end + 1, *comma = strchr(params, ',');
		size_t plen = comma ? (size_t)(comma - params) : strlen(params);
		char pbuf[256];
		snprintf(pbuf, sizeof(pbuf), "%.*s", (int)plen, params);
		if (strstr(pbuf, "rel=\"next\"") || strstr(pbuf, "rel=next")) {
			if (same_origin(h, p + 1, (size_t)(end - p - 1)))
				snprintf(out, outsz, "%.*s", (int)(end - p - 1), p + 1);
			return;
		}
		p = end;
	}
}

fb_err fb_forge_call_(fb_forge *f, fb_httpc *h, const char *who, const char *method,
                      const char *path, const cJSON *body, fb_forge_answer *ans)
{
	fb_httpc_result r;
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	long wait;
	fb_err rc;

	memset(ans, 0, sizeof(*ans));
	f->retry_after = -1;
	if (body && !json)
		return fb_error_set(FB_ENOMEM, "out of memory");
	rc = fb_httpc_request(h, method, path, json, &r);
	free(json);
	if (rc)
		return fb_error_wrap(rc, "%s", who);
	ans->status = r.status;
	ans->json = cJSON_ParseWithLength(r.body, r.body_len);
	next_link(h, ans->next, sizeof(ans->next));
	if ((wait = rate_limited(h, &r, ans->json)) >= 0) {
		f->retry_after = wait;
		fb_forge_answer_free_(ans);
		return fb_error_set(FB_EIO, "%s: rate limited (HTTP %ld); retry in %ld s", who,
		                    r.status, wait);
	}
	return FB_OK;
}

void fb_forge_answer_free_(fb_forge_answer *ans)
{
	cJSON_Delete(ans->json);
	ans->json = NULL;
}

void fb_forge_message_(const cJSON *j, char *out, size_t outsz)
{
	const cJSON *m = fb_json_get(j, "message"), *it;
	size_t n;

	out[0] = '\0';
	if (cJSON_IsString(m)) {
		snprintf(out, outsz, "%s", m->valuestring);
	} else if (cJSON_IsArray(m)) { /* GitLab: ["Another open merge request ..."] */
		cJSON_ArrayForEach(it, m) if (cJSON_IsString(it))
		{
			n = strlen(out);
			snprintf(out + n, outsz - n, "%s%s", n ? "; " : "", it->valuestring);
		}
	} else if (cJSON_IsObject(m)) { /* GitLab 400: {"field": ["why"]} */
		char *s = cJSON_PrintUnformatted(m);
		snprintf(out, outsz, "%s", s ? s : "");
		free(s);
	}
	cJSON_ArrayForEach(it, fb_json_get(j, "errors")) /* GitHub 422 */
	{
		const char *e = fb_json_str(it, "message");
		n = strlen(out);
		if (*e)
			snprintf(out + n, outsz - n, "%s%s", n ? ": " : "", e);
	}
}

fb_err fb_forge_fail_(const char *who, const char *what, const fb_forge_answer *ans)
{
	char msg[400];
	char *masked;
	fb_err code = ans->status == 401 || ans->status == 403 ? FB_ESTATE : FB_EIO;
	fb_err rc;

	fb_forge_message_(ans->json, msg, sizeof(msg));
	masked = fb_mask_str(msg);
	rc = fb_error_set(code, "%s: %s: HTTP %ld%s%s%s", who, what, ans->status,
	                  masked && *masked ? ": " : "", masked ? masked : "",
	                  ans->status == 401 ? " (check gitops.forge.token)" : "");
	free(masked);
	return rc;
}

fb_err fb_forge_repo_path_(fb_buf *b, const char *repo)
{
	const char *slash = strchr(repo, '/');
	char owner[256];
	fb_err rc;

	if (!slash || slash == repo || !slash[1] || (size_t)(slash - repo) >= sizeof(owner))
		return fb_error_set(FB_EINVAL, "gitops.forge.repo \"%s\" is not owner/name", repo);
	snprintf(owner, sizeof(owner), "%.*s", (int)(slash - repo), repo);
	rc = fb_buf_addstr(b, "/repos/");
	if (!rc)
		rc = fb_httpc_escape(b, owner);
	if (!rc)
		rc = fb_buf_addc(b, '/');
	if (!rc)
		rc = fb_httpc_escape(b, slash + 1);
	return rc;
}

void fb_forge_copy_(char *dst, size_t dstsz, const cJSON *o, const char *key)
{
	snprintf(dst, dstsz, "%s", fb_json_str(o, key));
}

long fb_forge_long_(const cJSON *o, const char *key)
{
	const cJSON *v = fb_json_get(o, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	/* a forge's 1e300 or NaN is 0, not undefined behaviour */
	return d == d && d > -9e18 && d < 9e18 ? (long)d : 0;
}

fb_err fb_forge_first_(fb_forge *f, fb_httpc *h, const char *who, fb_buf *path, const char *what,
                       const char *head, fb_forge_read_fn read, fb_pr *out)
{
	fb_forge_answer a;
	char listing[64];
	fb_err rc;

	snprintf(listing, sizeof(listing), "listing %ss", what);
	rc = fb_buf_str(path) ? fb_forge_call_(f, h, who, "GET", fb_buf_str(path), NULL, &a)
	                      : fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_free(path);
	if (rc)
		return rc;
	if (a.status != 200 || !cJSON_IsArray(a.json))
		rc = fb_forge_fail_(who, listing, &a);
	else if (cJSON_GetArraySize(a.json) == 0)
		rc = fb_error_set(FB_ENOTFOUND, "no open %s for %s", what, head);
	else
		read(cJSON_GetArrayItem(a.json, 0), out); /* newest first */
	fb_forge_answer_free_(&a);
	return rc;
}
