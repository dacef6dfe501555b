/*
 * dispatch_feedback.c - owns feedback on an incident's triage: /feedback
 * ID good|bad [why] in Slack and POST /api/v1/incidents/ID/feedback, both
 * masked (mask.h), stored with a timeline entry and told in the card's
 * thread.  Engine thread only, inside the envelope's or the request's
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/card.h"
#include "firebreak/json.h"
#include "firebreak/mask.h"
#include "dispatch_int.h"

static cJSON *vars1(const char *k, const char *v)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, k, v ? v : "");
	return o;
}

/* Stores feedback, with a timeline entry and a line in the card's thread.
 * FB_ENOTFOUND for no such incident. */
static fb_err store_feedback(fb_dispatch *d, const char *id, const char *user, const char *verdict,
                             const char *why)
{
	fb_incident_row *row = NULL;
	fb_err rc;

	if (!fb_dispatch_valid_id(id) || fb_store_incident_get(d->env->store, id, &row) != FB_OK) {
		fb_incident_row_free(row);
		return fb_error_set(FB_ENOTFOUND, "no incident %.64s", id);
	}
	rc = fb_store_feedback_add(d->env->store, id, user, verdict, why);
	if (!rc)
		rc = fb_store_event_add(d->env->store, &(fb_event){.incident_id = id,
		                                                   .actor = user,
		                                                   .kind = FB_EV_FEEDBACK,
		                                                   .outcome = verdict,
		                                                   .detail = verdict});
	if (!rc && row->card_channel[0]) {
		cJSON *v = vars1("verdict", verdict), *line = NULL;
		char *who = fb_card_who(user), *text_line;
		char sep[8 + 1000];
		snprintf(sep, sizeof(sep), "%s%.1000s", *why ? ": " : "", why);
		cJSON_AddStringToObject(v, "who_md", who);
		cJSON_AddStringToObject(v, "reason", sep);
		text_line = fb_tmpl_format(d->tmpl, "feedback_line", v, 1); /* keeps who_md */
		if (fb_card_thread_md(d->tmpl, "feedback", text_line, &line) == FB_OK)
			rc = fb_dispatch_out_put(d, id, "thread", row->card_channel, line);
		free(text_line);
		free(who);
		cJSON_Delete(v);
	}
	fb_incident_row_free(row);
	return rc;
}

/* The one way feedback enters: what a person typed is masked first
 * (mask.h), for SQLite, the thread and the API alike. */
static fb_err record_feedback(fb_dispatch *d, const char *id, const char *user, const char *verdict,
                              const char *why)
{
	char *masked = fb_mask_str(why ? why : "");
	if (!masked)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_err rc = store_feedback(d, id, user, verdict, masked);
	free(masked);
	return rc;
}

fb_err fb_dispatch_feedback_slash(fb_dispatch *d, const cJSON *p, const char *text, cJSON **reply)
{
	char id[64] = "", verdict[16] = "";
	const char *reason = "";
	int used = 0;
	fb_err rc;

	if (sscanf(text, "%63s %15s %n", id, verdict, &used) < 2 ||
	    (strcmp(verdict, "good") && strcmp(verdict, "bad")))
		return fb_dispatch_reply(d, "feedback_usage", NULL, reply);
	if (used > 0 && (size_t)used <= strlen(text))
		reason = text + used;
	char *why = fb_dispatch_unescape(reason);
	rc = record_feedback(d, id, fb_json_str(p, "user_id"), verdict, why);
	free(why);
	if (rc == FB_ENOTFOUND) {
		fb_error_clear();
		return fb_dispatch_reply(d, "not_found", vars1("id", id), reply);
	}
	return rc ? rc : fb_dispatch_reply(d, "feedback_thanks", vars1("id", id), reply);
}

fb_err fb_dispatch_api_feedback(fb_dispatch *d, const char *id, const char *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const char *verdict = fb_json_str(j, "verdict"), *user = fb_json_str(j, "user");
	fb_err rc;

	if (strcmp(verdict, "good") && strcmp(verdict, "bad")) {
		cJSON_Delete(j);
		return fb_error_set(FB_EINVAL, "\"verdict\" must be \"good\" or \"bad\"");
	}
	rc = fb_store_begin(d->env->store);
	if (!rc)
		rc =
		    record_feedback(d, id, *user ? user : "api", verdict, fb_json_str(j, "reason"));
	if (!rc)
		rc = fb_store_commit(d->env->store);
	if (rc)
		fb_store_rollback(d->env->store);
	cJSON_Delete(j);
	return rc;
}
