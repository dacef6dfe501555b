/*
 * gitops_int.h - private to the gitops family (gitops.c, appindex.c,
 * worktree.c, push.c, remote.c, sync.c): the repository handle, the index of Argo CD
 * Applications and values files, and the helpers the files share.
 */
#ifndef FIREBREAK_GITOPS_INT_H
#define FIREBREAK_GITOPS_INT_H

#include <git2.h>
#include <sys/types.h>
#include "firebreak/argocd_apps.h"
#include "firebreak/gitops.h"

#define FB_GITOPS_MAX_FILE_BYTES (4u * 1024u * 1024u)

/* The index of Argo CD Applications and values files at one tree. */
typedef struct fb_appindex fb_appindex;

/* What the last lookup of an app found in the index. */
typedef struct {
	fb_argocd_values argocd; /* values files of its Applications, tree order */
	char manifest[512];      /* the first Application manifest naming it */
	char match[512];         /* a <app>/values.yaml, when nmatch > 0 */
	int nmatch;              /* how many <app>/values.yaml files there are */
} fb_appindex_hit;

/* cache: where the index is kept between processes (NULL: memory only). */
fb_err fb_appindex_new(const char *cache, fb_appindex **out);
void fb_appindex_free(fb_appindex *ix);
/* Brings the index to tree: nothing when it already describes tree, else
 * from the saved copy, a diff from the tree it describes, or a walk of the
 * whole tree (the first time only). */
fb_err fb_appindex_sync(fb_appindex *ix, git_repository *repo, git_tree *tree);
void fb_appindex_lookup(const fb_appindex *ix, const char *app, fb_appindex_hit *hit);
/* Writes the index to its cache file when it changed since it was read. */
void fb_appindex_save(fb_appindex *ix);
void fb_appindex_stats(const fb_appindex *ix, fb_gitops_index_stats *out);

/* The handle: the repository, and the branch tip as last resolved. */
struct fb_gitops {
	git_repository *repo;
	const fb_config *cfg;
	char ref[256]; /* refs/heads/<branch> */
	git_oid tip_id;
	git_commit *tip; /* NULL until resolved */
	git_tree *tip_tree;
	git_config *live_config; /* the repository's own; a snapshot is in use */
	fb_appindex *index;
	/* the staged state found clean: the index file's stamp and the tree */
	int staged_clean, staged_loaded, staged_dirty;
	struct timespec staged_mtime, staged_ctime;
	off_t staged_size;
	ino_t staged_ino;
	git_oid staged_tree;
};

fb_err fb_gitops_fail_(const char *what);

/* worktree.c: is the working tree checked out on the branch; may the fix
 * be committed (FB_ESTATE when a person's edits are in the way); after
 * the commit of tree (checked first), the index is still clean; keep that
 * for the next process. */
int fb_gitops_worktree_on_branch_(fb_gitops *g);
fb_err fb_gitops_check_worktree_(fb_gitops *g, const fb_change *c, size_t n);
void fb_gitops_committed_clean_(fb_gitops *g, const git_oid *tree);
void fb_gitops_save_clean_(fb_gitops *g);

/* gitops.c: the tip's commit with the changes (checked against their
 * base_blob, the working tree guarded and kept in step), on the branch:
 * no push.  The commit of the incident's fix? */
fb_err fb_gitops_commit_(fb_gitops *g, const fb_change *changes, size_t n,
                         const fb_commit_info *info, char hex[41]);
int fb_gitops_is_fix_commit_(git_commit *c, const char *incident_id, int step);
/* A commit of the changes on top of base, with the incident's message and
 * trailers, that no ref points to yet (pull-request mode's branch). */
fb_err fb_gitops_commit_onto_(fb_gitops *g, git_commit *base, const fb_change *changes, size_t n,
                              const fb_commit_info *info, git_oid *out);
/* The checked-out files of the changes' paths made the branch tip's. */
fb_err fb_gitops_sync_worktree_(fb_gitops *g, const fb_change *c, size_t n);
/* Takes a fresh snapshot of the repository's config. */
void fb_gitops_snapshot_config_(fb_gitops *g);

/* remote.c: the credentials callback (payload: fb_gitops_cred), the
 * remote (named or a URL), its tracking ref, a libgit2 failure with the
 * credentials masked out of its message, the clone of gitops.url. */
typedef struct {
	const fb_config *cfg;
	int tries;
} fb_gitops_cred;
int fb_gitops_credentials_(git_credential **out, const char *url, const char *user_from_url,
                           unsigned int allowed, void *payload);
int fb_gitops_is_url_(const char *s);
fb_err fb_gitops_remote_(fb_gitops *g, int push, git_remote **out);
void fb_gitops_tracking_ref_(fb_gitops *g, char *out, size_t outsz);
fb_err fb_gitops_remote_fail_(const fb_config *cfg, fb_err code, const char *what,
                              const char *remote);
fb_err fb_gitops_clone_(const fb_config *cfg);

/* push.c: pushes the branch to gitops.remote: FB_ECONFLICT when the
 * remote refused it (not a fast-forward, or a hook), FB_EIO when it could
 * not be reached. */
fb_err fb_gitops_push_(fb_gitops *g);
/* The same for any local ref (refs/heads/...), pushed to the same name. */
fb_err fb_gitops_push_ref_(fb_gitops *g, const char *ref);

#endif
