/*
 * remote.c - owns what talks to gitops.remote: the remote itself (a
 * remote's name or a URL), the credentials every fetch, push and clone
 * gives it (a token for https, an SSH key or the agent), the masking of
 * credentials out of every message, and the first clone of gitops.url.
 * Runs on the thread that owns the fb_gitops handle (or opens it).
 */
#include <git2.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "firebreak/buf.h"
#include "gitops_int.h"

int fb_gitops_credentials_(git_credential **out, const char *url, const char *user_from_url,
                           unsigned int allowed, void *payload)
{
	fb_gitops_cred *p = payload;
	const fb_config *cfg = p->cfg;
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

int fb_gitops_is_url_(const char *s)
{
	return strstr(s, "://") || s[0] == '/' || (strchr(s, '@') && strchr(s, ':'));
}

fb_err fb_gitops_remote_(fb_gitops *g, git_remote **out)
{
	const char *r = g->cfg->gitops.remote;
	char shown[FB_CFG_STR];
	int err = fb_gitops_is_url_(r) ? git_remote_create_anonymous(out, g->repo, r)
	                               : git_remote_lookup(out, g->repo, r);
	if (err < 0) {
		fb_gitops_mask_url(r, shown, sizeof(shown));
		return fb_gitops_remote_fail_(g->cfg, FB_EGIT, "finding the GitOps remote", shown);
	}
	return FB_OK;
}

void fb_gitops_tracking_ref_(const fb_gitops *g, char *out, size_t outsz)
{
	const char *r = g->cfg->gitops.remote;
	if (fb_gitops_is_url_(r))
		snprintf(out, outsz, "refs/firebreak/upstream/%s", g->cfg->gitops.branch);
	else
		snprintf(out, outsz, "refs/remotes/%s/%s", r, g->cfg->gitops.branch);
}

void fb_gitops_mask_url(const char *url, char *out, size_t outsz)
{
	const char *scheme = strstr(url, "://");
	const char *at, *colon, *slash;

	snprintf(out, outsz, "%s", url);
	if (!scheme)
		return;
	slash = strchr(scheme + 3, '/');
	at = strchr(scheme + 3, '@');
	if (!at || (slash && slash < at))
		return; /* no user information */
	colon = memchr(scheme + 3, ':', (size_t)(at - (scheme + 3)));
	/* user:secret@ -> user:***@; a lone token@ (GitHub's form) -> ***@ */
	snprintf(out, outsz, "%.*s***%s", (int)((colon ? colon + 1 : scheme + 3) - url), url, at);
}

/* text with the token and every URL's credentials masked, into b. */
static void scrub(const fb_config *cfg, const char *text, fb_buf *b)
{
	const char *tok = cfg->gitops.token;
	size_t tl = strlen(tok);

	for (const char *p = text; *p;) {
		const char *u = strstr(p, "://");
		const char *t = tl ? strstr(p, tok) : NULL;
		if (t && (!u || t < u)) {
			fb_buf_add(b, p, (size_t)(t - p));
			fb_buf_addstr(b, "***");
			p = t + tl;
			continue;
		}
		if (!u) {
			fb_buf_addstr(b, p);
			break;
		}
		const char *start = u;
		while (start > p && (start[-1] >= 'a' && start[-1] <= 'z'))
			start--;
		size_t ulen = strcspn(start, " \t\n'\"");
		char url[FB_CFG_STR * 2], masked[FB_CFG_STR * 2];
		fb_buf_add(b, p, (size_t)(start - p));
		snprintf(url, sizeof(url), "%.*s", (int)ulen, start);
		fb_gitops_mask_url(url, masked, sizeof(masked));
		fb_buf_addstr(b, masked);
		p = start + ulen;
	}
}

fb_err fb_gitops_remote_fail_(const fb_config *cfg, fb_err code, const char *what,
                              const char *remote)
{
	const git_error *e = git_error_last();
	fb_buf b;
	char msg[1024];

	fb_buf_init(&b, 1024);
	scrub(cfg, e && e->message ? e->message : "git error", &b);
	snprintf(msg, sizeof(msg), "%s", fb_buf_str(&b) ? fb_buf_str(&b) : "");
	fb_buf_free(&b);
	git_error_clear();
	return fb_error_set(code, "%s %s: %s", what, remote, msg);
}

static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)) != NULL)
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* Is there nothing at path yet (no entry, or an empty directory)? */
static int absent(const char *path)
{
	struct stat st;
	git_repository *r = NULL;

	if (stat(path, &st) != 0)
		return 1;
	if (git_repository_open_ext(&r, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		git_repository_free(r);
		return 0;
	}
	git_error_clear();
	return S_ISDIR(st.st_mode) && dir_empty(path);
}

fb_err fb_gitops_clone_(const fb_config *cfg)
{
	git_clone_options opts = GIT_CLONE_OPTIONS_INIT;
	fb_gitops_cred cred = {.cfg = cfg};
	git_repository *repo = NULL;
	char shown[FB_CFG_STR];

	if (!cfg->gitops.url[0] || !absent(cfg->gitops.repo))
		return FB_OK;
	fb_gitops_mask_url(cfg->gitops.url, shown, sizeof(shown));
	opts.checkout_branch = cfg->gitops.branch;
	opts.fetch_opts.callbacks.credentials = fb_gitops_credentials_;
	opts.fetch_opts.callbacks.payload = &cred;
	if (git_clone(&repo, cfg->gitops.url, cfg->gitops.repo, &opts) < 0)
		return fb_gitops_remote_fail_(cfg, FB_EIO, "cloning gitops.url", shown);
	git_repository_free(repo);
	return FB_OK;
}
