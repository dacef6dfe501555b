/*
 * push.c - owns pushing the branch to gitops.remote (a remote's name or a
 * URL) with the configured credentials (a token for https, an SSH key or
 * the agent), and telling a rejected push from a failed one.  Runs on the
 * thread that owns the fb_gitops handle.
 */
#include <git2.h>
#include <stdio.h>
#include <string.h>

#include "gitops_int.h"

typedef struct {
	fb_gitops *g;
	int tries;
	char rejected[256];
} push_ctx;

static int credentials(git_credential **out, const char *url, const char *user_from_url,
                       unsigned int allowed, void *payload)
{
	push_ctx *p = payload;
	const fb_config *cfg = p->g->cfg;
	(void)url;

	if (++p->tries > 3)
		return GIT_EUSER; /* wrong credentials: stop instead of looping */
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && cfg->gitops.token[0])
		return git_credential_userpass_plaintext_new(
		    out, user_from_url ? user_from_url : "x-access-token", cfg->gitops.token);
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && cfg->gitops.ssh_key[0])
		return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", NULL,
		                                  cfg->gitops.ssh_key, NULL);
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out,
		                                         user_from_url ? user_from_url : "git");
	return GIT_PASSTHROUGH;
}

static int push_ref(const char *refname, const char *status, void *payload)
{
	push_ctx *p = payload;
	if (status)
		snprintf(p->rejected, sizeof(p->rejected), "%s: %s", refname, status);
	return 0;
}

static int is_url(const char *s)
{
	return strstr(s, "://") || s[0] == '/' || (strchr(s, '@') && strchr(s, ':'));
}

fb_err fb_gitops_push_(fb_gitops *g)
{
	git_remote *remote = NULL;
	git_push_options opts = GIT_PUSH_OPTIONS_INIT;
	push_ctx ctx = {.g = g};
	char spec[600];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};
	const char *r = g->cfg->gitops.remote;
	int err;

	snprintf(spec, sizeof(spec), "%s:%s", g->ref, g->ref);
	err = is_url(r) ? git_remote_create_anonymous(&remote, g->repo, r)
	                : git_remote_lookup(&remote, g->repo, r);
	if (err < 0)
		return fb_gitops_fail_("finding the GitOps remote");
	opts.callbacks.credentials = credentials;
	opts.callbacks.push_update_reference = push_ref;
	opts.callbacks.payload = &ctx;
	err = git_remote_push(remote, &arr, &opts);
	git_remote_free(remote);
	if (err < 0)
		return fb_gitops_fail_(ctx.tries > 3 ? "pushing (credentials refused)" : "pushing");
	if (ctx.rejected[0])
		return fb_error_set(FB_ECONFLICT,
		                    "the remote rejected the push (%s): it has commits this clone "
		                    "lacks; pull, then propose again",
		                    ctx.rejected);
	return FB_OK;
}
