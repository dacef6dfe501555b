/*
 * slackapi.h - one Slack Web API client: a libcurl easy handle, a token and
 * the base URL.  A client belongs to the thread that made it (the sender,
 * the Socket Mode URL fetcher, start-up); it is never shared.
 *
 * A call returns FB_OK whenever Slack answered with JSON, whether ok was
 * true or not: the caller looks at res->ok and res->error, because
 * "ok:false" must not be retried blindly while a 429 or a 5xx must.  The
 * token goes in the Authorization header and never into a log line, an
 * error message or a result.
 */
#ifndef FIREBREAK_SLACKAPI_H
#define FIREBREAK_SLACKAPI_H

#include <cjson/cJSON.h>
#include "firebreak/error.h"

typedef struct fb_slackapi fb_slackapi;

typedef struct {
	long http_status;   /* 0 = no response at all (network error) */
	long retry_after;   /* seconds, from Retry-After on a 429; 0 = none */
	int ok;             /* the body said "ok": true */
	char error[160];    /* Slack's error code, or what went wrong in transport */
	char messages[512]; /* response_metadata.messages, joined, for the log */
	cJSON *body;        /* the parsed body (owned), NULL when not JSON */
} fb_slack_result;

/* base_url like "https://slack.com/api/" (a missing trailing / is added). */
fb_err fb_slackapi_new(const char *base_url, const char *token, fb_slackapi **out);
void fb_slackapi_free(fb_slackapi *api);

/*
 * POSTs json (NULL: no body) to base_url + method.  FB_OK when Slack
 * answered 200 with JSON (see res->ok); FB_EIO for a network error, a
 * 429 (res->retry_after) or a 5xx; FB_EINVAL for a body that is not JSON.
 * res is always filled and must be released with fb_slack_result_free().
 */
fb_err fb_slackapi_call(fb_slackapi *api, const char *method, const char *json,
                        fb_slack_result *res);
/*
 * GETs base_url + method + "?" + query (already percent-encoded; never the
 * token) for the read methods that take no JSON body
 * (conversations.history, conversations.replies).  Answers as
 * fb_slackapi_call.
 */
fb_err fb_slackapi_get(fb_slackapi *api, const char *method, const char *query,
                       fb_slack_result *res);
void fb_slack_result_free(fb_slack_result *res);

/* True for the error codes that mean the token itself is bad: retrying
 * cannot help and the daemon should stop with one clear line. */
int fb_slackapi_fatal_error(const char *error);

#endif
