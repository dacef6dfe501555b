/*
 * slackapi.c - owns the Slack Web API transport: one libcurl easy handle
 * per client, JSON bodies, the bearer token header, bounded responses, and
 * turning Slack's answers (200 + ok:false, 429 + Retry-After, 5xx) into an
 * fb_slack_result.  Runs on whichever thread made the client: the sender
 * thread, the Socket Mode URL fetcher, or the main thread at start-up.
 *
 * The handle is reused between calls so that keep-alive connections are
 * too; the token lives only in the header list, built once.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/log.h"
#include "firebreak/slackapi.h"

#define RESPONSE_MAX (1024u * 1024u)

struct fb_slackapi {
	CURL *curl;
	struct curl_slist *headers;
	char base[512];
	fb_buf rx;
	long retry_after;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	fb_slackapi *api = ud;
	return fb_buf_add(&api->rx, p, size * n) == FB_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	fb_slackapi *api = ud;
	size_t len = size * n;
	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		char v[32];
		snprintf(v, sizeof(v), "%.*s", (int)(len - 12 < 31 ? len - 12 : 31), p + 12);
		long s = strtol(v, NULL, 10);
		api->retry_after = s > 0 && s < 3600 ? s : 1;
	}
	return len;
}

fb_err fb_slackapi_new(const char *base_url, const char *token, fb_slackapi **out)
{
	fb_slackapi *api;
	char auth[600];
	size_t n = strlen(base_url);

	*out = NULL;
	if (n == 0 || n > sizeof(api->base) - 2)
		return fb_error_set(FB_EINVAL, "the Slack API URL is empty or too long");
	if (!token || !*token)
		return fb_error_set(FB_EINVAL, "no Slack token");
	if (strlen(token) > 500)
		return fb_error_set(FB_EINVAL, "the Slack token is too long");
	if (!(api = calloc(1, sizeof(*api))) || !(api->curl = curl_easy_init())) {
		free(api);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	snprintf(api->base, sizeof(api->base), "%s%s", base_url, base_url[n - 1] == '/' ? "" : "/");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	api->headers = curl_slist_append(NULL, auth);
	api->headers =
	    curl_slist_append(api->headers, "Content-Type: application/json; charset=utf-8");
	explicit_bzero(auth, sizeof(auth));
	fb_buf_init(&api->rx, RESPONSE_MAX);
	curl_easy_setopt(api->curl, CURLOPT_HTTPHEADER, api->headers);
	curl_easy_setopt(api->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(api->curl, CURLOPT_WRITEDATA, api);
	curl_easy_setopt(api->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(api->curl, CURLOPT_HEADERDATA, api);
	curl_easy_setopt(api->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(api->curl, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(api->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(api->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(api->curl, CURLOPT_USERAGENT, "firebreak/0.1 (+libcurl)");
	*out = api;
	return FB_OK;
}

void fb_slackapi_free(fb_slackapi *api)
{
	if (!api)
		return;
	curl_easy_cleanup(api->curl);
	curl_slist_free_all(api->headers); /* holds the token: freed, not logged */
	fb_buf_free(&api->rx);
	free(api);
}

void fb_slack_result_free(fb_slack_result *res)
{
	cJSON_Delete(res->body);
	res->body = NULL;
}

int fb_slackapi_fatal_error(const char *e)
{
	static const char *fatal[] = {
	    "invalid_auth",  "not_authed",       "token_revoked",
	    "token_expired", "account_inactive", "not_allowed_token_type",
	    "missing_scope", "team_disabled",    "user_removed_from_team"};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (!strcmp(e, fatal[i]))
			return 1;
	return 0;
}

/* Joins response_metadata.messages so ok:false is logged with Slack's why. */
static void collect_messages(fb_slack_result *res)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(res->body, "response_metadata"), "messages");
	const cJSON *it;
	size_t o = 0;
	cJSON_ArrayForEach(it, m)
	{
		if (!cJSON_IsString(it))
			continue;
		int w = snprintf(res->messages + o, sizeof(res->messages) - o, "%s%s",
		                 o ? " | " : "", it->valuestring);
		if (w < 0 || (size_t)w >= sizeof(res->messages) - o)
			break;
		o += (size_t)w;
	}
}

static fb_err interpret(fb_slackapi *api, const char *method, fb_slack_result *res)
{
	const cJSON *err;

	if (res->http_status == 429) {
		res->retry_after = api->retry_after ? api->retry_after : 1;
		snprintf(res->error, sizeof(res->error), "ratelimited");
		return fb_error_set(FB_EIO, "%s: rate limited, retry after %lds", method,
		                    res->retry_after);
	}
	if (res->http_status >= 500 || res->http_status != 200) {
		snprintf(res->error, sizeof(res->error), "http_%ld", res->http_status);
		return fb_error_set(FB_EIO, "%s: HTTP %ld", method, res->http_status);
	}
	res->body = cJSON_ParseWithLength(fb_buf_str(&api->rx), api->rx.len);
	if (!cJSON_IsObject(res->body)) {
		snprintf(res->error, sizeof(res->error), "not_json");
		return fb_error_set(FB_EINVAL, "%s: the answer is not a JSON object", method);
	}
	res->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res->body, "ok"));
	err = cJSON_GetObjectItemCaseSensitive(res->body, "error");
	if (!res->ok)
		snprintf(res->error, sizeof(res->error), "%s",
		         cJSON_IsString(err) ? err->valuestring : "unknown_error");
	collect_messages(res);
	return FB_OK;
}

fb_err fb_slackapi_call(fb_slackapi *api, const char *method, const char *json,
                        fb_slack_result *res)
{
	char url[640];
	CURLcode cc;

	memset(res, 0, sizeof(*res));
	snprintf(url, sizeof(url), "%s%s", api->base, method);
	fb_buf_reset(&api->rx);
	api->retry_after = 0;
	curl_easy_setopt(api->curl, CURLOPT_URL, url);
	curl_easy_setopt(api->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(api->curl, CURLOPT_POSTFIELDS, json ? json : "");
	curl_easy_setopt(api->curl, CURLOPT_POSTFIELDSIZE, (long)(json ? strlen(json) : 0));
	cc = curl_easy_perform(api->curl);
	if (cc != CURLE_OK) {
		snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(cc));
		return fb_error_set(FB_EIO, "%s: %s", method, curl_easy_strerror(cc));
	}
	curl_easy_getinfo(api->curl, CURLINFO_RESPONSE_CODE, &res->http_status);
	return interpret(api, method, res);
}
