/*
 * verify.c - owns the runner of the verification checks: opening every
 * configured check of the table, one look at a target with each that
 * applies, and the JSON the card shows ({"result", "reason", "checks"}).
 * Runs on the worker thread, inside the verify node; it never touches
 * the store.  What each check looks at is in its own file (check.h).
 */
#include <stdlib.h>
#include <string.h>

#include "firebreak/log.h"
#include "firebreak/verify.h"

#define MAX_CHECKS 16

struct fb_verifier {
	fb_check *open[MAX_CHECKS];
	size_t n;
};

void fb_verifier_free(fb_verifier *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		v->open[i]->ops->close(v->open[i]);
	free(v);
}

fb_err fb_verifier_new_from(const fb_check_ops *const *table, size_t n, const fb_config *cfg,
                            fb_verifier **out)
{
	fb_verifier *v;
	fb_check *c;
	fb_err rc;

	*out = NULL;
	if (!(v = calloc(1, sizeof(*v))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && v->n < MAX_CHECKS; i++) {
		const fb_check_ops *ops = table[i];
		if (ops->version != FB_CHECK_OPS_VERSION) {
			fb_verifier_free(v);
			return fb_error_set(FB_EINVAL, "check %s: ops version %d, expected %d",
			                    ops->name, ops->version, FB_CHECK_OPS_VERSION);
		}
		if ((rc = ops->open(cfg, &c)) != FB_OK) {
			fb_verifier_free(v);
			return fb_error_wrap(rc, "check %s", ops->name);
		}
		if (!c)
			continue; /* not configured */
		c->ops = ops;
		v->open[v->n++] = c;
	}
	if (!v->n) {
		free(v);
		return FB_OK;
	}
	*out = v;
	return FB_OK;
}

fb_err fb_verifier_new(const fb_config *cfg, fb_verifier **out)
{
	size_t n = 0;
	while (fb_checks[n])
		n++;
	return fb_verifier_new_from(fb_checks, n, cfg, out);
}

/* One check's look; an error is pending with the error as its detail. */
static void look(fb_check *c, const fb_verify_target *t, fb_check_result *r)
{
	memset(r, 0, sizeof(*r));
	if (c->ops->applies && !c->ops->applies(c, t)) {
		r->verdict = FB_CHECK_SKIP;
		return;
	}
	if (c->ops->check(c, t, r) != FB_OK)
		fb_check_say(r, FB_CHECK_PENDING, "%s", fb_error_last());
	if (r->verdict == FB_CHECK_SKIP)
		fb_log(FB_LOG_INFO, "verify.skipped", "check=%s app=%s detail=\"%.200s\"",
		       c->ops->name, t->app, r->detail);
}

fb_err fb_verify_check(fb_verifier *v, const fb_verify_target *t, cJSON **out)
{
	fb_check_result r[MAX_CHECKS], kept[MAX_CHECKS];
	const char *names[MAX_CHECKS];
	cJSON *o = cJSON_CreateObject(), *checks = cJSON_AddArrayToObject(o, "checks");
	size_t n = 0, why;
	fb_check_verdict verdict;

	for (size_t i = 0; i < v->n; i++) {
		look(v->open[i], t, &r[i]);
		if (r[i].verdict == FB_CHECK_SKIP)
			continue; /* cannot judge: left out, not failed */
		kept[n] = r[i];
		names[n++] = v->open[i]->ops->name;
	}
	verdict = fb_check_combine(kept, n, &why);
	for (size_t i = 0; i < n; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", names[i]);
		cJSON_AddStringToObject(c, "result", fb_check_verdict_name(kept[i].verdict));
		cJSON_AddStringToObject(c, "detail", kept[i].detail);
		cJSON_AddItemToArray(checks, c);
	}
	cJSON_AddStringToObject(
	    o, "result", verdict == FB_CHECK_SKIP ? "skipped" : fb_check_verdict_name(verdict));
	cJSON_AddStringToObject(o, "reason",
	                        why < n ? kept[why].detail : "nothing could be checked");
	*out = o;
	return FB_OK;
}
