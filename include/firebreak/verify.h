/*
 * verify.h - checks that an applied fix worked: the app's pods in the
 * Kubernetes API (ready, waiting reasons, OOMKilled again since the fix)
 * and its Argo CD Application (synced to the fix's commit, healthy).
 * A verifier belongs to the worker thread that runs the verify node.
 */
#ifndef FIREBREAK_VERIFY_H
#define FIREBREAK_VERIFY_H

#include <cjson/cJSON.h>
#include "firebreak/config.h"
#include "firebreak/error.h"

typedef struct fb_verifier fb_verifier;

/* *out is NULL (FB_OK) when neither Kubernetes nor Argo CD is configured. */
fb_err fb_verifier_new(const fb_config *cfg, fb_verifier **out);
void fb_verifier_free(fb_verifier *v);

/*
 * One look at the app of this incident's state (app, namespace,
 * apply.commit, apply.at).  *out: {"result": "ok"|"pending"|"failed",
 * "reason": "...", "checks": [{"name", "result", "detail"}]}.  A check that
 * cannot answer (403, not an Argo CD app) is left out, not failed.
 */
fb_err fb_verify_check(fb_verifier *v, const cJSON *state, cJSON **out);

#endif
