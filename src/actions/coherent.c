/*
 * coherent.c - owns the checks a proposal's values must pass together,
 * beyond each value on its own (an action's validate slot): a request
 * never above its limit, and a memory raise that never lowers the limit.
 * Run when a person edits a proposal and again before it is applied.
 * Pure functions; any thread.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/action.h"
#include "firebreak/quantity.h"

/* The value path will have: the person's, else the proposal's. */
static const char *effective(const fb_proposal *p, const fb_action_override *sets, size_t n,
                             const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sets[i].path, path))
			return sets[i].value;
	for (size_t i = 0; i < p->n_edits; i++)
		if (!strcmp(p->edits[i].path, path))
			return p->edits[i].new_value;
	return NULL;
}

/* "x.limits.memory" -> "x.requests.memory"; 0 when path names no limit. */
static int request_of(const char *limit, char *out, size_t outsz)
{
	const char *at = strstr(limit, "limits.");
	if (!at || (at != limit && at[-1] != '.'))
		return 0;
	snprintf(out, outsz, "%.*srequests.%s", (int)(at - limit), limit, at + 7);
	return 1;
}

static fb_err request_within_limit(const fb_proposal *p, const fb_action_override *sets, size_t n,
                                   const char *limit_path)
{
	char req_path[300];
	fb_quantity lim, req;
	const char *l = effective(p, sets, n, limit_path), *r;

	if (!l || !request_of(limit_path, req_path, sizeof(req_path)) ||
	    !(r = effective(p, sets, n, req_path)))
		return FB_OK;
	if (fb_quantity_parse(l, &lim) != FB_OK || fb_quantity_parse(r, &req) != FB_OK)
		return FB_OK; /* each value's own validation says why */
	if (req.value > lim.value)
		return fb_error_set(FB_EINVAL, "%s (%s) would be above %s (%s)", req_path, r,
		                    limit_path, l);
	return FB_OK;
}

/* A memory raise (an OOM fix) that ends below where it started helps no
 * one and would be titled a raise. */
static fb_err never_lower(const fb_proposal *p, const fb_action_override *sets, size_t n,
                          const fb_proposal_edit *e)
{
	fb_quantity was, now;
	const char *v = effective(p, sets, n, e->path);

	if (strcmp(p->kind, "memory_raise") || !strstr(e->path, "limits.memory") ||
	    !*e->old_value || !v || fb_quantity_parse(e->old_value, &was) != FB_OK ||
	    fb_quantity_parse(v, &now) != FB_OK)
		return FB_OK;
	if (now.value < was.value)
		return fb_error_set(FB_EINVAL,
		                    "%s: %s is below the current %s; a memory fix never lowers "
		                    "the limit",
		                    e->path, v, e->old_value);
	return FB_OK;
}

fb_err fb_action_coherent(const fb_proposal *p, const fb_action_override *sets, size_t n)
{
	fb_err rc = FB_OK;

	for (size_t i = 0; i < p->n_edits && !rc; i++) {
		rc = request_within_limit(p, sets, n, p->edits[i].path);
		if (!rc)
			rc = never_lower(p, sets, n, &p->edits[i]);
	}
	return rc;
}
