/*
 * forge.c - owns the table of forges (one line per forge), finding one
 * by the configured kind, and the web URLs of commits and pull requests
 * (each forge's path templates under one web base URL).  The URL
 * builders are pure and run on any thread; open and close run on the
 * worker that uses the handle.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/forge.h"

/* Adding a forge: its file in src/forges/, and one line here. */
const fb_forge_ops *const fb_forges[] = {
    &fb_forge_github,
    &fb_forge_gitlab,
    &fb_forge_gitea,
    NULL,
};

const fb_forge_ops *fb_forge_find(const char *kind)
{
	if (kind && !strcmp(kind, "forgejo")) /* the same /api/v1 */
		kind = "gitea";
	for (size_t i = 0; kind && fb_forges[i]; i++)
		if (!strcmp(fb_forges[i]->name, kind))
			return fb_forges[i];
	return NULL;
}

fb_err fb_forge_open(const fb_config *cfg, fb_forge **out)
{
	const fb_forge_ops *ops = fb_forge_find(cfg->gitops.forge.kind);
	fb_err rc;

	*out = NULL;
	if (!ops)
		return fb_error_set(FB_EINVAL, "gitops.forge.kind \"%s\" is not a known forge",
		                    cfg->gitops.forge.kind);
	if (ops->version != FB_FORGE_OPS_VERSION)
		return fb_error_set(FB_EINVAL, "forge %s: ops version %d, expected %d", ops->name,
		                    ops->version, FB_FORGE_OPS_VERSION);
	if ((rc = ops->open(cfg, out)))
		return rc;
	(*out)->ops = ops;
	(*out)->retry_after = -1;
	return FB_OK;
}

void fb_forge_close(fb_forge *f)
{
	if (f)
		f->ops->close(f);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !strncmp(s + n - k, suffix, k);
}

void fb_forge_web_base(const fb_config *cfg, char *out, size_t outsz)
{
	const char *api = cfg->gitops.forge.api_url, *kind = cfg->gitops.forge.kind;
	const fb_forge_ops *ops = fb_forge_find(kind);
	size_t n;

	out[0] = '\0';
	if (cfg->gitops.forge.web_url[0])
		snprintf(out, outsz, "%s", cfg->gitops.forge.web_url);
	else if (!ops)
		return;
	else if (!*api && ops == &fb_forge_github)
		snprintf(out, outsz, "https://github.com");
	else if (!*api && ops == &fb_forge_gitlab)
		snprintf(out, outsz, "https://gitlab.com");
	else if (!strncmp(api, "https://api.github.com", 22) && (!api[22] || api[22] == '/'))
		snprintf(out, outsz, "https://github.com");
	else
		snprintf(out, outsz, "%s", api);
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	if (!cfg->gitops.forge.web_url[0] &&
	    (ends_with(out, n, "/api/v3") || ends_with(out, n, "/api/v4") ||
	     ends_with(out, n, "/api/v1")))
		out[n - 7] = '\0';
}

/* <web base>/<repo>/<prefix><what>, or "" when a part is unknown. */
static void web_url(const fb_config *cfg, const char *prefix, const char *what, char *out,
                    size_t outsz)
{
	char base[FB_CFG_STR];

	fb_forge_web_base(cfg, base, sizeof(base));
	if (!*base || !cfg->gitops.forge.repo[0])
		out[0] = '\0';
	else
		snprintf(out, outsz, "%s/%s/%s%s", base, cfg->gitops.forge.repo, prefix, what);
}

void fb_forge_commit_url(const fb_config *cfg, const char *sha, char *out, size_t outsz)
{
	const fb_forge_ops *ops = fb_forge_find(cfg->gitops.forge.kind);
	out[0] = '\0';
	if (ops && sha && *sha)
		web_url(cfg, ops->commit_prefix, sha, out, outsz);
}

void fb_forge_pr_url(const fb_config *cfg, long number, char *out, size_t outsz)
{
	const fb_forge_ops *ops = fb_forge_find(cfg->gitops.forge.kind);
	char n[32];

	out[0] = '\0';
	snprintf(n, sizeof(n), "%ld", number);
	if (ops && number > 0)
		web_url(cfg, ops->pr_prefix, n, out, outsz);
}

const char *fb_pr_state_name(fb_pr_state s)
{
	switch (s) {
	case FB_PR_MERGED: return "merged";
	case FB_PR_CLOSED: return "closed";
	case FB_PR_OPEN: break;
	}
	return "open";
}
