/*
 * manual.c - owns the manual source (fb_source_manual, "manual"): a
 * person's trigger -- Slack's /incidents trigger and its form, the CLI's
 * triage, the API's POST /api/v1/incidents -- as a batch of one signal,
 * so that all three reach the engine the way every other source does.
 * Runs on the caller's thread (the engine's, or the CLI's); no store.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/json.h"
#include "source_int.h"

fb_err fb_source_manual_new(const fb_manual_trigger *t, fb_source_batch **out)
{
	fb_source_signal s = {.status = FB_SIGNAL_FIRING};
	const char *via = t->via && *t->via ? t->via : "manual";
	fb_err rc;

	*out = NULL;
	if (!t->text || t->len == 0)
		return fb_error_set(FB_EINVAL, "the log excerpt is empty");
	snprintf(s.triggered_by, sizeof(s.triggered_by), "%s", t->user && *t->user ? t->user : via);
	snprintf(s.app, sizeof(s.app), "%s", t->app ? t->app : "");
	if ((rc = fb_source_batch_new(via, out)))
		return rc;
	if ((rc = fb_source_batch_add(*out, &s, t->text, t->len, NULL))) {
		fb_source_batch_free(*out);
		*out = NULL;
	}
	return rc;
}

/* The API's body: {"log": "...", "user": "...", "app": "..."}. */
static fb_err manual_parse(const fb_config *cfg, const char *body, size_t len,
                           fb_source_batch **out)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	const cJSON *log = fb_json_get(j, "log");
	fb_err rc;

	(void)cfg;
	*out = NULL;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return fb_error_set(FB_EINVAL, "the body is not a JSON object");
	}
	if (!cJSON_IsString(log) || !*log->valuestring) {
		cJSON_Delete(j);
		return fb_error_set(FB_EINVAL, "\"log\" (the excerpt, a string) is required");
	}
	fb_manual_trigger t = {.via = "api",
	                       .text = log->valuestring,
	                       .len = strlen(log->valuestring),
	                       .user = fb_json_str(j, "user"),
	                       .app = fb_json_str(j, "app")};
	rc = fb_source_manual_new(&t, out);
	cJSON_Delete(j);
	return rc;
}

static int manual_enabled(const fb_config *cfg)
{
	(void)cfg;
	return 1; /* a person can always raise an incident */
}

const fb_source_ops fb_source_manual = {
    .version = FB_SOURCE_OPS_VERSION,
    .name = "manual",
    .enabled = manual_enabled,
    .parse = manual_parse,
};
