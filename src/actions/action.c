/*
 * action.c - owns the action table: every action found by name, the
 * category -> action choice (data: the rules file's `actions:` mapping),
 * and the entry points the engine and the CLI call (propose with the
 * chosen action -- every proposal checked before it is shown --, validate
 * a person's value).  Runs on any thread: the table is read-only.
 */
#include <stdio.h>
#include <string.h>

#include "action_int.h"

static const fb_action_ops *const table[] = {
    &fb_action_values_patch,
    &fb_action_git_revert,
    &fb_action_manual,
};

#define N_ACTIONS (sizeof(table) / sizeof(table[0]))

size_t fb_action_count(void)
{
	return N_ACTIONS;
}

const fb_action_ops *fb_action_at(size_t i)
{
	return i < N_ACTIONS ? table[i] : NULL;
}

const fb_action_ops *fb_action_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_ACTIONS; i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

const fb_action_ops *fb_action_for(const char *name)
{
	const fb_action_ops *a = name ? fb_action_find(name) : NULL;
	return a ? a : &fb_action_manual;
}

/* Checked before it is shown: a proposal whose values fail
 * fb_action_check becomes manual with the reason. */
static fb_err checked(const fb_action_input *in, cJSON *prop)
{
	fb_proposal p = {.capped = -1};
	char reason[600];
	fb_err rc = fb_proposal_parse(&p, prop, 0);

	if (rc)
		return rc;
	if (in->cfg && strcmp(p.action, "manual") &&
	    fb_action_check(in->cfg, &p, NULL, 0, NULL) != FB_OK) {
		snprintf(reason, sizeof(reason), "the proposed values were refused: %s",
		         fb_error_last());
		cJSON_ReplaceItemInObjectCaseSensitive(prop, "action",
		                                       cJSON_CreateString("manual"));
		cJSON_DeleteItemFromObjectCaseSensitive(prop, "reason");
		cJSON_AddStringToObject(prop, "reason", reason);
		cJSON_DeleteItemFromObjectCaseSensitive(prop, "summary");
		fb_action_manual_shape(prop, in);
		fb_error_clear();
	}
	fb_proposal_clear(&p);
	return FB_OK;
}

fb_err fb_action_propose(const char *name, const fb_action_input *in, cJSON **out)
{
	const fb_action_ops *a = fb_action_for(name);
	fb_err rc;

	*out = NULL;
	if (a->version != FB_ACTION_OPS_VERSION)
		return fb_error_set(FB_ESTATE, "action %s: ops version %d, expected %d", a->name,
		                    a->version, FB_ACTION_OPS_VERSION);
	rc = a->propose(in, out);
	if (!rc && *out && (rc = checked(in, *out))) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

fb_err fb_action_validate(const fb_config *cfg, const char *action, const char *path,
                          const char *value)
{
	if (action && *action) {
		const fb_action_ops *a = fb_action_find(action);
		if (!a)
			return fb_error_set(FB_EINVAL, "%s: no action called %s", path, action);
		return a->validate
		           ? a->validate(cfg, path, value)
		           : fb_error_set(FB_EINVAL, "%s: the %s action has no value to edit", path,
		                          a->name);
	}
	for (size_t i = 0; i < N_ACTIONS; i++) {
		fb_err rc = table[i]->validate ? table[i]->validate(cfg, path, value) : FB_OK;
		if (rc)
			return rc;
	}
	return FB_OK;
}

const char *fb_action_override_for(const fb_action_input *in, const char *path)
{
	for (size_t i = 0; i < in->n_overrides; i++)
		if (in->overrides[i].path && !strcmp(in->overrides[i].path, path))
			return in->overrides[i].value;
	return NULL;
}
