/*
 * coherent.c - owns the checks a proposal's values must pass, each on its
 * own (the action's validate slot) and together: a request never above
 * its limit, a memory or heap raise that never lowers the limit, a Java
 * heap that fits its limit.  Run on every proposal before it is shown,
 * when a person edits one, and again before it is applied.  Pure
 * functions; any thread.
 */
#include <stdio.h>
#include <string.h>

#include "action_int.h"
#include "firebreak/quantity.h"

#define MI (1024.0 * 1024.0)
#define HEAP_MAX_SHARE 0.9 /* of the limit: the rest is the JVM's own memory */

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

/* The stored spelling of path (a set's or an edit's), for *bad_path. */
static const char *stored(const fb_proposal *p, const fb_action_override *sets, size_t n,
                          const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sets[i].path, path))
			return sets[i].path;
	for (size_t i = 0; i < p->n_edits; i++)
		if (!strcmp(p->edits[i].path, path))
			return p->edits[i].path;
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
                                   const char *limit_path, const char **bad)
{
	char req_path[300];
	fb_quantity lim, req;
	const char *l = effective(p, sets, n, limit_path), *r;

	if (!l || !request_of(limit_path, req_path, sizeof(req_path)) ||
	    !(r = effective(p, sets, n, req_path)))
		return FB_OK;
	if (fb_quantity_parse(l, &lim) != FB_OK || fb_quantity_parse(r, &req) != FB_OK)
		return FB_OK; /* each value's own validation says why */
	if (req.value > lim.value) {
		*bad = stored(p, sets, n, req_path);
		return fb_error_set(FB_EINVAL, "%s (%s) would be above %s (%s)", req_path, r,
		                    limit_path, l);
	}
	return FB_OK;
}

/* A memory raise (an OOM fix) that ends below where it started helps no
 * one and would be titled a raise. */
static fb_err never_lower(const fb_proposal *p, const fb_action_override *sets, size_t n,
                          const fb_proposal_edit *e)
{
	fb_quantity was, now;
	const char *v = effective(p, sets, n, e->path);

	if ((strcmp(p->kind, "memory_raise") && strcmp(p->kind, "heap_raise")) ||
	    !strstr(e->path, "limits.memory") || !*e->old_value || !v ||
	    fb_quantity_parse(e->old_value, &was) != FB_OK || fb_quantity_parse(v, &now) != FB_OK)
		return FB_OK;
	if (now.value < was.value)
		return fb_error_set(FB_EINVAL,
		                    "%s: %s is below the current %s; a memory fix never lowers "
		                    "the limit",
		                    e->path, v, e->old_value);
	return FB_OK;
}

/* A Java heap raise: -Xmx never below where it started, and within
 * HEAP_MAX_SHARE of the memory limit (the one edited, else the values'). */
static fb_err heap_fits(const fb_proposal *p, const fb_action_override *sets, size_t n,
                        const fb_proposal_edit *e)
{
	double heap, was;
	char unit;
	fb_quantity lim = {0};
	const char *v = effective(p, sets, n, e->path), *l = p->values_limit;

	if (strcmp(p->kind, "heap_raise") || !v || fb_action_jvm_heap(v, &heap, &unit) <= 0)
		return FB_OK;
	if (fb_action_jvm_heap(e->old_value, &was, &unit) > 0 && heap < was)
		return fb_error_set(FB_EINVAL,
		                    "%s: the heap (%.0fMi) is below the current %.0fMi; a "
		                    "heap fix never lowers it",
		                    e->path, heap / MI, was / MI);
	for (size_t i = 0; i < p->n_edits; i++)
		if (strstr(p->edits[i].path, "limits.memory"))
			l = effective(p, sets, n, p->edits[i].path);
	if (!l || fb_quantity_parse(l, &lim) != FB_OK || heap <= lim.value * HEAP_MAX_SHARE)
		return FB_OK;
	return fb_error_set(FB_EINVAL,
	                    "%s: the heap (%.0fMi) would leave less than a tenth of the "
	                    "memory limit (%s) for the JVM's own memory; raise the limit too",
	                    e->path, heap / MI, l);
}

static fb_err coherent(const fb_proposal *p, const fb_action_override *sets, size_t n,
                       const char **bad)
{
	fb_err rc = FB_OK;

	for (size_t i = 0; i < p->n_edits && !rc; i++) {
		*bad = stored(p, sets, n, p->edits[i].path);
		rc = request_within_limit(p, sets, n, p->edits[i].path, bad);
		if (!rc)
			rc = never_lower(p, sets, n, &p->edits[i]);
	}
	for (size_t i = 0; i < p->n_edits && !rc; i++) { /* the limits are sound: the heap */
		*bad = stored(p, sets, n, p->edits[i].path);
		rc = heap_fits(p, sets, n, &p->edits[i]);
	}
	return rc;
}

fb_err fb_action_coherent(const fb_proposal *p, const fb_action_override *sets, size_t n)
{
	const char *bad = NULL;
	return coherent(p, sets, n, &bad);
}

fb_err fb_action_check(const fb_config *cfg, const fb_proposal *p, const fb_action_override *sets,
                       size_t n, const char **bad_path)
{
	const fb_action_ops *a = fb_action_find(p->action);
	const char *bad = NULL;
	fb_err rc = FB_OK;

	for (size_t i = 0; a && a->validate && i < p->n_edits && !rc; i++) {
		const char *v = effective(p, sets, n, p->edits[i].path);
		bad = stored(p, sets, n, p->edits[i].path);
		rc = a->validate(cfg, p->edits[i].path, v ? v : "");
	}
	for (size_t i = 0; a && a->validate && i < n && !rc; i++) {
		bad = sets[i].path; /* a value for a path the proposal does not edit */
		rc = a->validate(cfg, sets[i].path, sets[i].value);
	}
	if (!rc)
		rc = coherent(p, sets, n, &bad);
	if (bad_path)
		*bad_path = rc ? bad : NULL;
	return rc;
}
