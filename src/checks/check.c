/*
 * check.c - owns the table of verification checks (one line per check),
 * finding one by name, and the rule that combines their answers.  Pure;
 * any thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firebreak/check.h"

/* Adding a check: its file in src/checks/, and one line here. */
const fb_check_ops *const fb_checks[] = {
    &fb_check_kubernetes,
    &fb_check_argocd,
    &fb_check_loki,
    NULL,
};

const fb_check_ops *fb_check_find(const char *name)
{
	for (size_t i = 0; name && fb_checks[i]; i++)
		if (!strcmp(fb_checks[i]->name, name))
			return fb_checks[i];
	return NULL;
}

const char *fb_check_verdict_name(fb_check_verdict v)
{
	switch (v) {
	case FB_CHECK_OK: return "ok";
	case FB_CHECK_PENDING: return "pending";
	case FB_CHECK_FAILED: return "failed";
	case FB_CHECK_SKIP: break;
	}
	return "skip";
}

/* failed over pending over ok over skip; the first of the winning kind
 * gives the reason. */
static int rank(fb_check_verdict v)
{
	return v == FB_CHECK_FAILED ? 3 : v == FB_CHECK_PENDING ? 2 : v == FB_CHECK_OK ? 1 : 0;
}

fb_check_verdict fb_check_combine(const fb_check_result *r, size_t n, size_t *reason)
{
	fb_check_verdict best = FB_CHECK_SKIP;
	size_t at = n;

	for (size_t i = 0; i < n; i++) {
		if (rank(r[i].verdict) > rank(best)) {
			best = r[i].verdict;
			at = i;
		}
	}
	if (reason)
		*reason = at;
	return best;
}

fb_err fb_check_say(fb_check_result *res, fb_check_verdict v, const char *fmt, ...)
{
	va_list ap;

	res->verdict = v;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return FB_OK;
}
