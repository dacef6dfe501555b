/*
 * verify.h - the runner of the verification checks (check.h): opens every
 * configured check in the table, looks at one target with each, and
 * combines their answers into the JSON the card shows.  A verifier
 * belongs to the worker thread that runs the verify node.
 */
#ifndef FIREBREAK_VERIFY_H
#define FIREBREAK_VERIFY_H

#include <cjson/cJSON.h>
#include "firebreak/check.h"
#include "firebreak/config.h"
#include "firebreak/error.h"

typedef struct fb_verifier fb_verifier;

/* Opens every check of fb_checks[]; *out is NULL (FB_OK) when none is
 * configured. */
fb_err fb_verifier_new(const fb_config *cfg, fb_verifier **out);

/* The same over another table (n entries), for tests. */
fb_err fb_verifier_new_from(const fb_check_ops *const *table, size_t n, const fb_config *cfg,
                            fb_verifier **out);
void fb_verifier_free(fb_verifier *v);

/*
 * One look at the target with every check that applies.  *out:
 * {"result": "ok"|"pending"|"failed"|"skipped", "reason": "...",
 * "checks": [{"name", "result", "detail"}]}.  A check that cannot answer
 * (skip: 403, not an Argo CD app) is left out, not failed.
 */
fb_err fb_verify_check(fb_verifier *v, const fb_verify_target *t, cJSON **out);

#endif
