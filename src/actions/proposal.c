/*
 * proposal.c - owns the proposal's JSON: the form propose builds and the
 * incident state stores, read into the typed fb_proposal (action.h) and
 * written back here and nowhere else.  Pure functions; any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "firebreak/action.h"
#include "firebreak/buf.h"
#include "firebreak/json.h"

#define COPY(dst, s) fb_copy_utf8((dst), sizeof(dst), (s))

/* A number member, 0 when missing; within +-9e18, so that the integer
 * fields it fills can hold it (a stored 1e300 is no UB). */
static double num(const cJSON *o, const char *k)
{
	const cJSON *v = fb_json_get(o, k);
	double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	return d != d ? 0 : d > 9e18 ? 9e18 : d < -9e18 ? -9e18 : d;
}

static char *dup_str(const char *s)
{
	return strdup(s ? s : "");
}

static void put_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddStringToObject(o, k, v ? v : "");
}

/* A string that exists only when it says something. */
static void put_opt(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
}

void fb_proposal_clear(fb_proposal *p)
{
	for (size_t i = 0; i < p->n_changes; i++)
		free(p->changes[i].content);
	free(p->diff);
	memset(p, 0, sizeof(*p));
	p->capped = -1;
}

static void read_edits(fb_proposal *p, const cJSON *edits)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, edits)
	{
		fb_proposal_edit *x;
		if (p->n_edits == FB_PROPOSAL_EDITS_MAX)
			break;
		x = &p->edits[p->n_edits++];
		COPY(x->path, fb_json_str(e, "path"));
		COPY(x->old_value, fb_json_str(e, "old"));
		COPY(x->new_value, fb_json_str(e, "new"));
		x->line = (long)num(e, "line");
	}
}

static fb_err read_changes(fb_proposal *p, const cJSON *changes)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, changes)
	{
		const cJSON *content = fb_json_get(c, "content");
		fb_proposal_change *x;
		if (p->n_changes == FB_PROPOSAL_CHANGES_MAX)
			break;
		x = &p->changes[p->n_changes];
		COPY(x->path, fb_json_str(c, "path"));
		COPY(x->base_blob, fb_json_str(c, "base_blob"));
		x->content = NULL;
		if (cJSON_IsString(content) && !(x->content = dup_str(content->valuestring)))
			return fb_error_set(FB_ENOMEM, "out of memory");
		p->n_changes++;
	}
	return FB_OK;
}

/* Replaces *p; on failure *p is empty. */
fb_err fb_proposal_parse(fb_proposal *p, const cJSON *o, int strict)
{
	const cJSON *diff = fb_json_get(o, "diff"), *capped = fb_json_get(o, "capped");
	const cJSON *rv = fb_json_get(o, "revert");
	fb_err rc;

	if (strict && (cJSON_GetArraySize(fb_json_get(o, "edits")) > FB_PROPOSAL_EDITS_MAX ||
	               cJSON_GetArraySize(fb_json_get(o, "changes")) > FB_PROPOSAL_CHANGES_MAX))
		return fb_error_set(FB_ETOOBIG, "the proposal has more than %d edits or changes",
		                    FB_PROPOSAL_EDITS_MAX);
	fb_proposal_clear(p);
	p->present = 1;
	COPY(p->action, fb_json_str(o, "action"));
	COPY(p->kind, fb_json_str(o, "kind"));
	COPY(p->summary, fb_json_str(o, "summary"));
	const cJSON *sg;
	cJSON_ArrayForEach(sg, fb_json_get(o, "suggestions"))
	{
		if (cJSON_IsString(sg) && p->n_suggestions < FB_PROPOSAL_SUGGESTIONS_MAX)
			COPY(p->suggestions[p->n_suggestions++], sg->valuestring);
	}
	COPY(p->file, fb_json_str(o, "file"));
	COPY(p->found_by, fb_json_str(o, "found_by"));
	COPY(p->reason, fb_json_str(o, "reason"));
	fb_msg_parse(&p->summary_msg, fb_json_get(o, "summary_msg"));
	fb_msg_parse(&p->reason_msg, fb_json_get(o, "reason_msg"));
	if (cJSON_IsBool(capped))
		p->capped = cJSON_IsTrue(capped);
	COPY(p->revert_commit, fb_json_str(rv, "commit"));
	COPY(p->revert_subject, fb_json_str(rv, "subject"));
	COPY(p->values_limit, fb_json_str(fb_json_get(o, "limit"), "values"));
	COPY(p->running_limit, fb_json_str(fb_json_get(o, "limit"), "running"));
	read_edits(p, fb_json_get(o, "edits"));
	rc = read_changes(p, fb_json_get(o, "changes"));
	if (!rc && cJSON_IsString(diff) && !(p->diff = dup_str(diff->valuestring)))
		rc = fb_error_set(FB_ENOMEM, "out of memory");
	if (rc)
		fb_proposal_clear(p);
	return rc;
}

static void add_edits_changes(cJSON *o, const fb_proposal *p)
{
	cJSON *edits = cJSON_AddArrayToObject(o, "edits");
	cJSON *changes = cJSON_AddArrayToObject(o, "changes");

	for (size_t i = 0; i < p->n_edits; i++) {
		cJSON *e = cJSON_CreateObject();
		put_str(e, "path", p->edits[i].path);
		put_str(e, "old", p->edits[i].old_value);
		put_str(e, "new", p->edits[i].new_value);
		if (p->edits[i].line > 0)
			cJSON_AddNumberToObject(e, "line", (double)p->edits[i].line);
		cJSON_AddItemToArray(edits, e);
	}
	for (size_t i = 0; i < p->n_changes; i++) {
		cJSON *c = cJSON_CreateObject();
		put_str(c, "path", p->changes[i].path);
		put_str(c, "base_blob", p->changes[i].base_blob);
		if (p->changes[i].content)
			put_str(c, "content", p->changes[i].content);
		else
			cJSON_AddNullToObject(c, "content");
		cJSON_AddItemToArray(changes, c);
	}
}

cJSON *fb_proposal_json(const fb_proposal *p)
{
	cJSON *o = cJSON_CreateObject();

	put_str(o, "action", p->action);
	put_opt(o, "kind", p->kind);
	add_edits_changes(o, p);
	put_opt(o, "file", p->file);
	put_opt(o, "found_by", p->found_by);
	put_opt(o, "reason", p->reason);
	put_str(o, "summary", p->summary);
	if (*p->summary_msg.key)
		cJSON_AddItemToObject(o, "summary_msg", fb_msg_json(&p->summary_msg));
	if (*p->reason_msg.key)
		cJSON_AddItemToObject(o, "reason_msg", fb_msg_json(&p->reason_msg));
	if (p->capped >= 0)
		cJSON_AddBoolToObject(o, "capped", p->capped);
	if (*p->revert_commit) {
		cJSON *rv = cJSON_AddObjectToObject(o, "revert");
		put_str(rv, "commit", p->revert_commit);
		put_str(rv, "subject", p->revert_subject);
	}
	if (*p->values_limit) {
		cJSON *lim = cJSON_AddObjectToObject(o, "limit");
		put_str(lim, "values", p->values_limit);
		put_opt(lim, "running", p->running_limit);
	}
	if (p->diff)
		put_str(o, "diff", p->diff);
	if (p->n_suggestions) {
		cJSON *sg = cJSON_AddArrayToObject(o, "suggestions");
		for (size_t i = 0; i < p->n_suggestions; i++)
			cJSON_AddItemToArray(sg, cJSON_CreateString(p->suggestions[i]));
	}
	return o;
}
