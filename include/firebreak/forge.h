/*
 * forge.h - the forge family: the web API of the server that hosts the
 * GitOps repository, for pull-request mode (gitops.mode: pull_request).
 * One `const fb_forge_ops` per forge: GitHub (and GitHub Enterprise
 * Server, through gitops.forge.api_url), GitLab (merge requests) and Gitea
 * (and Forgejo, the same /api/v1), found by the name in gitops.forge.kind
 * from one table (src/forges/forge.c).
 *
 * A forge is one file in src/forges/ with one `const fb_forge_ops`, a line
 * in the table, and nothing else: its config keys are the shared
 * gitops.forge ones.  Its state embeds `fb_forge` as its first member.  A
 * forge handle belongs to the thread that opened it (a worker running the
 * apply or await_merge node); every request goes through the one outbound
 * HTTP client (httpc.h); it never touches the store.
 *
 * Rate limits: when the forge says to wait (GitHub x-ratelimit-remaining:
 * 0 with x-ratelimit-reset, or 403/429 with retry-after; GitLab 429 with
 * Retry-After or RateLimit-Reset), a slot fails with FB_EIO and sets
 * f->retry_after to the seconds to wait; otherwise f->retry_after is -1.
 */
#ifndef FIREBREAK_FORGE_H
#define FIREBREAK_FORGE_H

#include <stddef.h>

#include "firebreak/config.h"
#include "firebreak/error.h"

/* Bumped whenever a slot is added, removed or changes meaning. */
#define FB_FORGE_OPS_VERSION 1

typedef enum {
	FB_PR_OPEN,   /* open (GitLab: opened, locked) */
	FB_PR_MERGED, /* merged: merge_commit is what landed on the base */
	FB_PR_CLOSED, /* closed without being merged */
} fb_pr_state;

/* A pull (merge) request as the forge described it. */
typedef struct {
	long number;           /* GitHub/Gitea: number; GitLab: iid */
	char url[512];         /* its web page (html_url / web_url) */
	fb_pr_state state;     /* after get: the state; after create/find: open */
	char merge_commit[41]; /* merged: the commit on the base; else "" */
	char closed_by[128];   /* merged or closed: who, when the API says; else "" */
	char head[256];        /* the head branch */
} fb_pr;

/* What to open.  Strings are borrowed for the call. */
typedef struct {
	const char *title;
	const char *body; /* markdown */
	const char *head; /* the branch with the fix (firebreak/<incident-id>) */
	const char *base; /* gitops.branch */
	const char *const *labels;
	size_t n_labels;
} fb_pr_request;

typedef struct fb_forge_ops fb_forge_ops;

typedef struct fb_forge {
	const fb_forge_ops *ops; /* set by fb_forge_open */
	long retry_after;        /* seconds the forge asked to wait; -1: none */
} fb_forge;

struct fb_forge_ops {
	int version;      /* must: FB_FORGE_OPS_VERSION */
	const char *name; /* must: gitops.forge.kind */

	/* must: a handle from cfg->gitops.forge (api_url, repo, token). */
	fb_err (*open)(const fb_config *cfg, fb_forge **out);

	/* must: the open pull request whose head is head (and base base), the
	 * newest when several; FB_ENOTFOUND when there is none. */
	fb_err (*find_open)(fb_forge *f, const char *head, const char *base, fb_pr *out);

	/* must: opens the pull request.  When the forge answers that one is
	 * already open for this head (GitHub 422 "A pull request already
	 * exists", GitLab 409, Gitea 409) it is looked up and returned with
	 * *created = 0, never a second one. */
	fb_err (*create)(fb_forge *f, const fb_pr_request *req, fb_pr *out, int *created);

	/* may (NULL: labels are given to create): adds labels by name to an
	 * open pull request. */
	fb_err (*add_labels)(fb_forge *f, long number, const char *const *labels, size_t n);

	/* must: the pull request's state now: open, merged (with the merge
	 * commit) or closed unmerged (with who closed it when the API says). */
	fb_err (*get)(fb_forge *f, long number, fb_pr *out);

	/* must: the web page of a commit and of a pull request is
	 * <web base>/<repo>/<prefix><sha or number> (fb_forge_commit_url). */
	const char *commit_prefix; /* "commit/" */
	const char *pr_prefix;     /* "pull/" */

	/* must: frees what open made. */
	void (*close)(fb_forge *f);
};

extern const fb_forge_ops fb_forge_github;
extern const fb_forge_ops fb_forge_gitlab;
extern const fb_forge_ops fb_forge_gitea;

/* The table, NULL-ended. */
extern const fb_forge_ops *const fb_forges[];

/* The forge of that kind ("github", "gitlab", "gitea"; "forgejo" is
 * another name of gitea), or NULL. */
const fb_forge_ops *fb_forge_find(const char *kind);

/* Opens the forge cfg->gitops.forge.kind names (FB_EINVAL when none). */
fb_err fb_forge_open(const fb_config *cfg, fb_forge **out);
void fb_forge_close(fb_forge *f);

/* The forge's web base URL: gitops.forge.web_url when set, else derived
 * from api_url (api.github.com -> github.com; .../api/v3, /api/v4 and
 * /api/v1 cut).  "" when neither is configured. */
void fb_forge_web_base(const fb_config *cfg, char *out, size_t outsz);

/* The web page of a commit and of a pull request, from the forge's
 * templates; "" when no forge is configured. */
void fb_forge_commit_url(const fb_config *cfg, const char *sha, char *out, size_t outsz);
void fb_forge_pr_url(const fb_config *cfg, long number, char *out, size_t outsz);

/* "open", "merged", "closed". */
const char *fb_pr_state_name(fb_pr_state s);

#endif
