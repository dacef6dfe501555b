/*
 * gitops.h - the GitOps repository: finding an app's values file, reading
 * files and their history at the branch tip, diffs, reverts, and applying
 * an approved change as one commit (then pushing it).  Everything goes
 * through libgit2; an fb_gitops handle belongs to one thread.
 */
#ifndef FIREBREAK_GITOPS_H
#define FIREBREAK_GITOPS_H

#include <stddef.h>
#include <stdint.h>
#include "firebreak/config.h"
#include "firebreak/error.h"

typedef struct fb_gitops fb_gitops;

typedef struct {
	char commit[41];
	int64_t time;  /* committer time, seconds */
	char *content; /* the file at that commit, NULL when absent (owned) */
	size_t len;
} fb_file_version;

typedef struct {
	char path[512];
	char base_blob[41];  /* blob at the tip when proposed; "" = new file */
	const char *content; /* the new content; NULL deletes the file */
	size_t len;
} fb_change;

typedef struct {
	const char *incident_id;
	const char *subject; /* first line of the commit message */
	const char *body;    /* what and why */
	const char *category;
	const char *approved_by;
	const char *slack_thread; /* optional trailer */
	int step;                 /* 1 = the first fix; 2.. = further fixes (Incident-Step) */
} fb_commit_info;

/* Call once per process, before and after everything else. */
void fb_gitops_global_init(void);
void fb_gitops_global_shutdown(void);

/* Opens gitops.repo.  When gitops.url is set and there is no repository
 * at gitops.repo yet, clones gitops.url there first (the branch, with the
 * same credentials as fetch and push; config.c points gitops.repo at
 * <state dir>/repo when only the URL is given). */
fb_err fb_gitops_open(const fb_config *cfg, fb_gitops **out);
void fb_gitops_free(fb_gitops *g);

/* The app's values file, relative to the repo root.  how says which rule
 * found it: an Argo CD Application manifest, the values_path template, or
 * a unique <app>/values.yaml.  FB_ENOTFOUND when none applies. */
fb_err fb_gitops_find_values(fb_gitops *g, const char *app, char *path, size_t pathsz, char *how,
                             size_t howsz);

/* The branch tip's commit id. */
fb_err fb_gitops_tip(fb_gitops *g, char hex[41]);
/* A file at the branch tip: content (malloc'd) and blob id. */
fb_err fb_gitops_read(fb_gitops *g, const char *path, char **content, size_t *len, char blob[41]);
/* The versions of path in the commits that changed it, newest first. */
fb_err fb_gitops_history(fb_gitops *g, const char *path, size_t max, fb_file_version **out,
                         size_t *n);
void fb_file_versions_free(fb_file_version *v, size_t n);

/* The newest non-merge commit that touched anything under prefix. */
fb_err fb_gitops_last_change(fb_gitops *g, const char *prefix, char hex[41], char *summary,
                             size_t summarysz);
/* The file changes that revert commit hex on top of the tip (cleanly, or
 * FB_ECONFLICT).  Each change's content is malloc'd: free with
 * fb_changes_free. */
fb_err fb_gitops_revert(fb_gitops *g, const char *hex, fb_change **out, size_t *n);
void fb_changes_free(fb_change *c, size_t n);

/* A unified diff of one file, made by libgit2. */
fb_err fb_gitops_diff(const char *path, const char *old, size_t oldlen, const char *new_text,
                      size_t newlen, char **diff);

/* The commit of an incident's fix number step (1 = the first) on the
 * branch: the newest of at most 2,000 commits (first parents, newest
 * first) whose message has "Incident-Id: id" (and Incident-Step: step). */
fb_err fb_gitops_find_incident_commit(fb_gitops *g, const char *incident_id, int step,
                                      char hex[41]);

/* The most commits fb_gitops_find_applied looks at. */
#define FB_GITOPS_APPLIED_WALK 64

/*
 * The commit that already applied this fix (info->incident_id and
 * info->step), which can only come after the changes' base: walks first
 * parents from the tip while some changed file differs from its base_blob,
 * at most FB_GITOPS_APPLIED_WALK commits; no sort, no walk of history.
 * FB_ENOTFOUND when there is none.  walked (may be NULL) is set to the
 * number of commits looked at.
 */
fb_err fb_gitops_find_applied(fb_gitops *g, const fb_change *changes, size_t n,
                              const fb_commit_info *info, char hex[41], unsigned *walked);

/* The index of Argo CD Applications and values files behind
 * fb_gitops_find_values: the tree it describes and how it got there. */
typedef struct {
	char tree[41];       /* "" before the first lookup */
	unsigned builds;     /* walks of the whole tree */
	unsigned updates;    /* diffs followed after the branch moved */
	unsigned loads;      /* read from the cache file in the git directory */
	size_t manifests;    /* Application manifests */
	size_t values_files; /* files named values.yaml */
} fb_gitops_index_stats;

void fb_gitops_index_stats_get(fb_gitops *g, fb_gitops_index_stats *out);

/*
 * Commits the changes on the configured branch, then pushes when a remote
 * is configured.  Idempotent: when the branch already has a commit for the
 * incident (fb_gitops_find_applied), nothing new is committed (only the
 * push is retried).  Refuses with FB_ESTATE when the files it changes have
 * uncommitted edits in the working tree or the index, or when other files
 * are staged or unmerged (files edited but not staged elsewhere are left
 * alone: the commit is built from the branch tip, never from the working
 * tree), and with FB_ECONFLICT when a file changed since it was proposed.
 */
fb_err fb_gitops_apply(fb_gitops *g, const fb_change *changes, size_t n, const fb_commit_info *info,
                       char hex[41], int *pushed);

/* ---- living beside people: fetch, redo, push (sync.c, remote.c) ---- */

/*
 * The repository the handle opened, as an absolute path (its working
 * tree, or the git directory of a bare repository): what an incident
 * records so that a later `decide` opens the same one.
 */
const char *fb_gitops_path(const fb_gitops *g);

/* Opens the repository at path with cfg's other gitops settings (branch,
 * remote, credentials): the repository an incident recorded. */
fb_err fb_gitops_open_at(const fb_config *cfg, const char *path, fb_gitops **out);

/*
 * Fetches gitops.branch from gitops.remote (a remote's name or a URL;
 * https with gitops.token, ssh with gitops.ssh_key or the agent) into its
 * tracking ref: refs/remotes/<name>/<branch> for a named remote,
 * refs/firebreak/upstream/<branch> for a URL (refs/remotes/origin/<branch>
 * when the URL is the clone's origin).  tip = the fetched commit,
 * "" when the remote has no such branch yet.  FB_EIO when the remote
 * cannot be reached or refuses the credentials (the message names the
 * remote with any credentials in its URL masked).  Does not move the
 * local branch.  With no gitops.remote configured: FB_OK and tip = the
 * local branch's tip.
 */
fb_err fb_gitops_fetch(fb_gitops *g, char tip[41]);

/*
 * Moves the local branch to tip (a commit fb_gitops_fetch brought) when
 * the branch has no commits of its own beyond it: a fast-forward.  Local
 * commits that are only this incident's unpushed fixes (info's
 * Incident-Id and Incident-Step; info may be NULL) are dropped, since the
 * fix is redone on tip.  Any other local commit: FB_ESTATE (a person's
 * work, left alone).  When the working tree is checked out on the branch,
 * the files that differ between the two commits follow (FB_ESTATE when a
 * person's edits are in their way).
 */
fb_err fb_gitops_follow(fb_gitops *g, const char tip[41], const fb_commit_info *info);

/*
 * Puts the local branch back at tip (a commit already on the remote),
 * whatever is on it: a commit the remote refused is undone, so the clone
 * is never left ahead or diverged.  The working tree, when checked out on
 * the branch, follows for the files that differ (files a person edited
 * are left alone).
 */
fb_err fb_gitops_reset_to(fb_gitops *g, const char tip[41]);

/*
 * The redo: rebuilds a fix's file changes on the handle's current branch
 * tip (after fb_gitops_follow moved it to what a teammate pushed).  Fills
 * *out with n changes whose base_blob is the file's blob at that tip and
 * whose content is malloc'd (fb_changes_free).  FB_ECONFLICT when the fix
 * no longer holds there (the value it changes changed upstream; a revert
 * no longer reverts cleanly): the incident proposes again.  ctx is the
 * caller's.  The actions provide it (fb_action_ops.redo): a values edit
 * {path, old, new} is spliced again into the file as it is now (never a
 * text rebase), a git_revert reverts the same commit on the new tip.
 */
typedef fb_err (*fb_gitops_redo_fn)(void *ctx, fb_gitops *g, fb_change **out, size_t *n);

/* How many times a push refused as not a fast-forward (or by the remote)
 * is fetched and redone before apply gives up. */
#define FB_GITOPS_PUSH_TRIES 3

typedef struct {
	char commit[41];     /* the fix's commit; "" when none was made */
	char remote_tip[41]; /* the remote's branch tip as last fetched */
	int pushed;          /* the commit is on the remote */
	int tries;           /* pushes attempted */
	int refused;         /* the remote refused every try; the branch was reset */
} fb_gitops_outcome;

/*
 * The approved fix, beside people: fetch, follow, redo on the fetched tip,
 * commit (Incident-Id trailers), push; a push refused is fetched and
 * redone again, at most FB_GITOPS_PUSH_TRIES times.  proposed are the
 * changes as proposed (their base_blob bounds the idempotency walk): when
 * the fetched tip already has the incident's commit
 * (fb_gitops_find_applied), nothing new is committed.  redo builds the
 * changes on each fetched tip (NULL: proposed as they are, FB_ECONFLICT
 * when a file moved).  On any failure after its own commit, the local
 * branch is reset to the remote tip (fb_gitops_reset_to) before
 * returning, and the message says why.  FB_ECONFLICT from redo (propose
 * again); FB_ESTATE when a person must act (local commits, edits in the
 * working tree); FB_EGIT with out->refused when the remote refused every
 * try; FB_EIO when it cannot be reached (retry later).  With no
 * gitops.remote: the same on the local branch, without fetch and push.
 */
fb_err fb_gitops_apply_synced(fb_gitops *g, const fb_change *proposed, size_t n,
                              fb_gitops_redo_fn redo, void *ctx, const fb_commit_info *info,
                              fb_gitops_outcome *out);

/* url with any password or token in it replaced by "***" (for messages). */
void fb_gitops_mask_url(const char *url, char *out, size_t outsz);
/* pull-request mode (branch.c): the fix's branch, firebreak/<incident-id>
 * (firebreak/<incident-id>-<step> for a further fix). */
void fb_gitops_pr_branch(const char *incident_id, int step, char *out, size_t outsz);

/*
 * pull-request mode: fetches gitops.branch from gitops.remote, commits the
 * changes on the fix's branch (named into branch) on top of the remote's
 * tip, and pushes that branch.  gitops.branch only follows the remote
 * (fb_gitops_branch_follow).  Idempotent: a branch that already ends with the incident's
 * commit (trailers) is pushed again as it is.  FB_ECONFLICT when a file
 * changed on the remote since it was proposed, or the remote rejected the
 * branch; FB_ESTATE without gitops.remote.
 */
/* pull-request mode: fetches gitops.branch and fast-forwards the local
 * branch to it when it has no commits of its own (after a merge), the
 * checked-out working tree following unless a person's edits are in the
 * way.  FB_EIO/FB_EGIT when the remote cannot be fetched. */
fb_err fb_gitops_branch_follow(fb_gitops *g);

fb_err fb_gitops_branch_apply(fb_gitops *g, const fb_change *changes, size_t n,
                              const fb_commit_info *info, char branch[256], char hex[41],
                              int *pushed);

#endif
