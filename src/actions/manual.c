/*
 * manual.c - owns the manual action: no automatic fix, so the proposal
 * carries the reason and the ranked suggestions (the action's own advice,
 * then the analysis'), and a person acts.  Every other action falls back
 * to this shape when its fix is not possible here.  apply changes nothing
 * and says so.  Runs on any thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "action_int.h"

void fb_action_draft_manual(fb_action_draft *d, const char *fmt, ...)
{
	char reason[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cJSON_DeleteItemFromObjectCaseSensitive(d->out, "action");
	cJSON_AddStringToObject(d->out, "action", "manual");
	cJSON_DeleteItemFromObjectCaseSensitive(d->out, "reason");
	cJSON_AddStringToObject(d->out, "reason", reason);
	fb_action_draft_say(d, "reason", "manual_error", "error", reason, FB_SAY_END);
}

void fb_action_manual_shape(cJSON *prop, const fb_action_input *in)
{
	cJSON *sugg = cJSON_CreateArray();

	cJSON_ReplaceItemInObjectCaseSensitive(prop, "edits", cJSON_CreateArray());
	cJSON_ReplaceItemInObjectCaseSensitive(prop, "changes", cJSON_CreateArray());
	cJSON_DeleteItemFromObjectCaseSensitive(prop, "diff");
	cJSON_DeleteItemFromObjectCaseSensitive(prop, "kind");
	if (!cJSON_GetObjectItemCaseSensitive(prop, "summary")) {
		fb_msg m;
		fb_msg_init(&m, "fix_manual");
		cJSON_AddStringToObject(prop, "summary", "No automatic fix: a person decides");
		cJSON_DeleteItemFromObjectCaseSensitive(prop, "summary_msg");
		cJSON_AddItemToObject(prop, "summary_msg", fb_msg_json(&m));
	}
	const cJSON *own, *own_list = cJSON_GetObjectItemCaseSensitive(prop, "suggestions");
	cJSON_ArrayForEach(own, own_list) /* the action's own advice comes first */
	{
		if (cJSON_IsString(own))
			cJSON_AddItemToArray(sugg, cJSON_CreateString(own->valuestring));
	}
	for (size_t i = 0; i < in->n_suggestions; i++)
		cJSON_AddItemToArray(sugg, cJSON_CreateString(in->suggestions[i]));
	cJSON_DeleteItemFromObjectCaseSensitive(prop, "suggestions");
	cJSON_AddItemToObject(prop, "suggestions", sugg);
}

static fb_err propose(const fb_action_input *in, cJSON **out)
{
	fb_action_draft d;
	fb_err rc = fb_action_draft_init(&d, in, "manual");

	if (rc)
		return rc;
	fb_action_draft_manual(&d, "no automatic fix for %s; see the suggested actions",
	                       *in->category ? in->category : "unknown");
	fb_action_draft_say(&d, "reason", "manual_category", "category", in->category, FB_SAY_END);
	return fb_action_draft_finish(&d, out);
}

static fb_err apply(const fb_action_input *in, const fb_proposal *proposal,
                    const fb_commit_info *commit, fb_action_result *out)
{
	(void)in;
	(void)commit;
	memset(out, 0, sizeof(*out));
	snprintf(out->detail, sizeof(out->detail), "manual: nothing applied, a person acts (%s)",
	         *proposal->reason ? proposal->reason : "no automatic fix");
	return FB_OK;
}

const fb_action_ops fb_action_manual = {
    .version = FB_ACTION_OPS_VERSION,
    .name = "manual",
    .needs_repo = 0,
    .propose = propose,
    .validate = NULL,
    .apply = apply,
    .describe = fb_action_describe_summary,
};
