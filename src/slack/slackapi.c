/*
 * slackapi.c - owns the Slack Web API semantics on top of the one HTTP
 * client (httpc.c): JSON bodies to base URL + method, the bearer token,
 * bounded answers, and turning Slack's answers (200 + ok:false, 429 +
 * Retry-After, 5xx) into an fb_slack_result.  Runs on whichever thread
 * made the client: the sender thread, the Socket Mode URL fetcher, or the
 * main thread at start-up.
 *
 * The client is reused between calls so that keep-alive connections are
 * too; the token lives only in httpc's header list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/httpc.h"
#include "firebreak/slackapi.h"

#define RESPONSE_MAX (1024u * 1024u)

struct fb_slackapi {
	fb_httpc *http;
};

fb_err fb_slackapi_new(const char *base_url, const char *token, fb_slackapi **out)
{
	fb_slackapi *api;
	fb_err rc;
	size_t n = strlen(base_url);

	*out = NULL;
	if (n == 0 || n > 510)
		return fb_error_set(FB_EINVAL, "the Slack API URL is empty or too long");
	if (!token || !*token)
		return fb_error_set(FB_EINVAL, "no Slack token");
	if (strlen(token) > 500)
		return fb_error_set(FB_EINVAL, "the Slack token is too long");
	if (!(api = calloc(1, sizeof(*api))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_httpc_opts o = {
	    .base_url = base_url,
	    .connect_timeout_ms = 5000,
	    .timeout_ms = 20000,
	    .bearer = token,
	    .max_body = RESPONSE_MAX,
	};
	if ((rc = fb_httpc_new(&o, &api->http)) != FB_OK) {
		free(api);
		return rc;
	}
	*out = api;
	return FB_OK;
}

void fb_slackapi_free(fb_slackapi *api)
{
	if (!api)
		return;
	fb_httpc_free(api->http);
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

static fb_err interpret(const fb_httpc_result *r, const char *method, fb_slack_result *res)
{
	const cJSON *err;

	if (res->http_status == 429) {
		res->retry_after = r->retry_after > 0 && r->retry_after < 3600 ? r->retry_after : 1;
		snprintf(res->error, sizeof(res->error), "ratelimited");
		return fb_error_set(FB_EIO, "%s: rate limited, retry after %lds", method,
		                    res->retry_after);
	}
	if (res->http_status != 200) {
		snprintf(res->error, sizeof(res->error), "http_%ld", res->http_status);
		return fb_error_set(FB_EIO, "%s: HTTP %ld", method, res->http_status);
	}
	res->body = cJSON_ParseWithLength(r->body, r->body_len);
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
	fb_httpc_result r;
	fb_err rc;

	memset(res, 0, sizeof(*res));
	if ((rc = fb_httpc_request(api->http, "POST", method, json, &r)) != FB_OK) {
		snprintf(res->error, sizeof(res->error), "%s", fb_error_last());
		return fb_error_wrap(rc, "%s", method);
	}
	res->http_status = r.status;
	return interpret(&r, method, res);
}

fb_err fb_slackapi_get(fb_slackapi *api, const char *method, const char *query,
                       fb_slack_result *res)
{
	char target[2048];
	fb_httpc_result r;
	fb_err rc;

	memset(res, 0, sizeof(*res));
	if ((size_t)snprintf(target, sizeof(target), "%s?%s", method, query) >= sizeof(target)) {
		snprintf(res->error, sizeof(res->error), "query_too_long");
		return fb_error_set(FB_EINVAL, "%s: the query is too long", method);
	}
	if ((rc = fb_httpc_request(api->http, "GET", target, NULL, &r)) != FB_OK) {
		snprintf(res->error, sizeof(res->error), "%s", fb_error_last());
		return fb_error_wrap(rc, "%s", method);
	}
	res->http_status = r.status;
	return interpret(&r, method, res);
}
