/*
 * remote.c - owns what talks to gitops.remote: the remote itself (a
 * remote's name or a URL), the credentials every fetch, push and clone
 * gives it (a token for https, an SSH key or the agent), the masking of
 * credentials out of every message, and the first clone of gitops.url.
 * Runs on the thread that owns the fb_gitops handle (or opens it).
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "firebreak/buf.h"
#include "firebreak/mask.h"
#include "gitops_int.h"

int fb_gitops_credentials_(git_credential **out, const char *url, const char *user_from_url,
                           unsigned int allowed, void *payload)
{
	fb_gitops_cred *p = payload;
	const fb_config *cfg = p->cfg;

	if (++p->tries > 3)
		return GIT_EUSER; /* wrong credentials: stop instead of looping */
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && cfg->gitops.token[0] &&
	    fb_mask_url_in_clear(url)) { /* never the token in clear (mask.h) */
		char *shown = fb_mask_str(url);
		char msg[1200];
		snprintf(msg, sizeof(msg),
		         "refusing to send GITOPS_TOKEN in clear to %.1000s: use an https:// URL "
		         "(plain http:// only to loopback: localhost, 127.0.0.1, ::1)",
		         shown ? shown : "an http:// remote");
		free(shown);
		git_error_set_str(GIT_ERROR_NET, msg);
		return GIT_EUSER;
	}
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

/* The URL of the remote called name (its pushurl when pushing and set). */
static fb_err remote_url(fb_gitops *g, const char *name, int push, git_buf *url)
{
	git_config *cfg = NULL;
	char key[600];
	int err = -1;

	if (git_repository_config_snapshot(&cfg, g->repo) < 0)
		return fb_gitops_fail_("reading the repository's config");
	if (push) {
		snprintf(key, sizeof(key), "remote.%s.pushurl", name);
		err = git_config_get_string_buf(url, cfg, key);
	}
	if (err < 0) {
		snprintf(key, sizeof(key), "remote.%s.url", name);
		err = git_config_get_string_buf(url, cfg, key);
	}
	git_config_free(cfg);
	git_error_clear();
	if (err < 0)
		return fb_error_set(FB_ENOTFOUND, "the GitOps repository has no remote called %s",
		                    name);
	return FB_OK;
}

/*
 * An in-memory remote for the URL, whether gitops.remote is a URL or a
 * remote's name (its configured url): the refspecs are always given, so
 * the remote's own are not needed, and url.*.insteadOf is not applied
 * (libgit2 1.5 leaks a PCRE2 match block on every regex config lookup
 * that git_remote_lookup and insteadOf make).
 */
fb_err fb_gitops_remote_(fb_gitops *g, int push, git_remote **out)
{
	git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
	const char *r = g->cfg->gitops.remote;
	git_buf url = GIT_BUF_INIT;
	char shown[FB_CFG_STR];
	fb_err rc = FB_OK;

	*out = NULL;
	if (!fb_gitops_is_url_(r) && (rc = remote_url(g, r, push, &url)))
		return rc;
	opts.repository = g->repo;
	opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(out, url.ptr ? url.ptr : r, &opts) < 0) {
		fb_gitops_mask_url(r, shown, sizeof(shown));
		rc = fb_gitops_remote_fail_(g->cfg, FB_EGIT, "finding the GitOps remote", shown);
	}
	git_buf_dispose(&url);
	return rc;
}

static const char *no_file_scheme(const char *u)
{
	return strncmp(u, "file://", 7) ? u : u + 7;
}

/* Is url the clone's origin (so its origin/<branch> is the tracking ref
 * `git status` compares with)? */
static int is_origin(fb_gitops *g, const char *url)
{
	git_buf o = GIT_BUF_INIT;
	int same = remote_url(g, "origin", 0, &o) == FB_OK &&
	           !strcmp(no_file_scheme(o.ptr), no_file_scheme(url));
	git_buf_dispose(&o);
	fb_error_clear();
	return same;
}

void fb_gitops_tracking_ref_(fb_gitops *g, char *out, size_t outsz)
{
	const char *r = g->cfg->gitops.remote;
	if (fb_gitops_is_url_(r) && !is_origin(g, r))
		snprintf(out, outsz, "refs/firebreak/upstream/%s", g->cfg->gitops.branch);
	else
		snprintf(out, outsz, "refs/remotes/%s/%s", fb_gitops_is_url_(r) ? "origin" : r,
		         g->cfg->gitops.branch);
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
	if (!colon && strstr(url, "ssh") && strstr(url, "ssh") < scheme)
		return; /* ssh://git@host: a user name, no secret */
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

/* The clone's "origin", created without insteadOf (see above). */
static int create_origin(git_remote **out, git_repository *repo, const char *name, const char *url,
                         void *payload)
{
	git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
	(void)payload;
	opts.repository = repo;
	opts.name = name;
	opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
	return git_remote_create_with_opts(out, url, &opts);
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
	opts.remote_cb = create_origin;
	opts.fetch_opts.callbacks.credentials = fb_gitops_credentials_;
	opts.fetch_opts.callbacks.payload = &cred;
	if (git_clone(&repo, cfg->gitops.url, cfg->gitops.repo, &opts) < 0)
		return fb_gitops_remote_fail_(cfg, FB_EIO, "cloning gitops.url", shown);
	git_repository_free(repo);
	return FB_OK;
}
