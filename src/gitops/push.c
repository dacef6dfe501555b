/*
 * push.c - owns pushing the branch to gitops.remote (a remote's name or a
 * URL, with remote.c's credentials), and telling a refused push (not a
 * fast-forward, or refused by the remote) from one that could not reach
 * the remote.  Runs on the thread that owns the fb_gitops handle.
 */
#include <git2.h>
#include <stdio.h>
#include <string.h>

#include "gitops_int.h"

typedef struct {
	fb_gitops_cred cred; /* first: the credentials callback's payload */
	char rejected[256];
} push_ctx;

static int push_ref(const char *refname, const char *status, void *payload)
{
	push_ctx *p = payload;
	if (status)
		snprintf(p->rejected, sizeof(p->rejected), "%s: %s", refname, status);
	return 0;
}

fb_err fb_gitops_push_(fb_gitops *g)
{
	return fb_gitops_push_ref_(g, g->ref);
}

fb_err fb_gitops_push_ref_(fb_gitops *g, const char *ref)
{
	git_remote *remote = NULL;
	git_push_options opts = GIT_PUSH_OPTIONS_INIT;
	push_ctx ctx = {.cred = {.cfg = g->cfg}};
	char spec[600], shown[FB_CFG_STR];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};
	fb_err rc;
	int err;

	snprintf(spec, sizeof(spec), "%s:%s", ref, ref);
	if ((rc = fb_gitops_remote_(g, 1, &remote)))
		return rc;
	fb_gitops_mask_url(g->cfg->gitops.remote, shown, sizeof(shown));
	opts.callbacks.credentials = fb_gitops_credentials_;
	opts.callbacks.push_update_reference = push_ref;
	opts.callbacks.payload = &ctx;
	err = git_remote_push(remote, &arr, &opts);
	git_remote_free(remote);
	if (err == GIT_ENONFASTFORWARD)
		return fb_gitops_remote_fail_(g->cfg, FB_ECONFLICT, "not a fast-forward of", shown);
	if (err < 0)
		return fb_gitops_remote_fail_(
		    g->cfg, FB_EIO, ctx.cred.tries > 3 ? "credentials refused by" : "pushing to",
		    shown);
	if (ctx.rejected[0])
		return fb_error_set(FB_ECONFLICT, "%s refused the push (%s)", shown, ctx.rejected);
	return FB_OK;
}
