/*
 * sync.c - owns living beside people in the GitOps repository: before
 * every apply, fetch the branch from gitops.remote, follow it (a
 * fast-forward of the local branch, and of the working tree's files when
 * it is checked out), redo the fix on the fetched tip (the caller's redo:
 * a scalar splice or a revert, never a text rebase), commit, push; a push
 * refused is fetched and redone again, a bounded number of times; on
 * failure the local branch goes back to the remote's tip, so the clone is
 * never left ahead or diverged.  Runs on the thread that owns the
 * fb_gitops handle.
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/log.h"
#include "gitops_int.h"

#define MAX_OWN 64   /* local commits looked at beyond the remote tip */
#define MAX_PATHS 64 /* files checked out by name when the branch moves */

fb_err fb_gitops_fetch(fb_gitops *g, char tip[41])
{
	git_remote *remote = NULL;
	git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
	fb_gitops_cred cred = {.cfg = g->cfg};
	const git_remote_head **heads = NULL;
	size_t nheads = 0;
	char spec[700], track[600], want[300], shown[FB_CFG_STR];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};
	fb_err rc;

	tip[0] = '\0';
	if (!g->cfg->gitops.remote[0])
		return fb_gitops_tip(g, tip);
	if ((rc = fb_gitops_remote_(g, 0, &remote)))
		return rc;
	fb_gitops_tracking_ref_(g, track, sizeof(track));
	snprintf(want, sizeof(want), "refs/heads/%s", g->cfg->gitops.branch);
	snprintf(spec, sizeof(spec), "+%s:%s", want, track);
	fb_gitops_mask_url(g->cfg->gitops.remote, shown, sizeof(shown));
	opts.callbacks.credentials = fb_gitops_credentials_;
	opts.callbacks.payload = &cred;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.update_fetchhead = 0;
	if (git_remote_fetch(remote, &arr, &opts, "firebreak: fetch") < 0) {
		rc = fb_gitops_remote_fail_(
		    g->cfg, FB_EIO, cred.tries > 3 ? "credentials refused by" : "fetching from",
		    shown);
		git_remote_free(remote);
		return rc;
	}
	if (git_remote_ls(&heads, &nheads, remote) == 0)
		for (size_t i = 0; i < nheads; i++)
			if (!strcmp(heads[i]->name, want))
				git_oid_tostr(tip, 41, &heads[i]->oid);
	git_remote_free(remote);
	git_error_clear();
	return FB_OK;
}

/* The paths that differ between the trees of commits a and b, at most
 * MAX_PATHS (*all = 0 beyond that: check out everything). */
static fb_err changed_paths(fb_gitops *g, git_commit *a, git_commit *b, char **paths, size_t *n,
                            int *all)
{
	git_tree *ta = NULL, *tb = NULL;
	git_diff *d = NULL;
	fb_err rc = FB_OK;

	*n = 0;
	*all = 0;
	if (git_commit_tree(&ta, a) < 0 || git_commit_tree(&tb, b) < 0 ||
	    git_diff_tree_to_tree(&d, g->repo, ta, tb, NULL) < 0) {
		rc = fb_gitops_fail_("comparing the branch with the remote");
	} else if (git_diff_num_deltas(d) > MAX_PATHS) {
		*all = 1;
	} else {
		for (size_t i = 0; i < git_diff_num_deltas(d) && !rc; i++) {
			const git_diff_delta *dd = git_diff_get_delta(d, i);
			const char *p = dd->new_file.path ? dd->new_file.path : dd->old_file.path;
			if (!(paths[(*n)++] = strdup(p)))
				rc = fb_error_set(FB_ENOMEM, "out of memory");
		}
	}
	git_diff_free(d);
	git_tree_free(ta);
	git_tree_free(tb);
	return rc;
}

/* The working tree's files that differ between HEAD and c become c's
 * (and the index with them).  force: a file a person edited is left
 * alone instead of refusing. */
static fb_err checkout_to(fb_gitops *g, git_commit *from, git_commit *c, int force)
{
	git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
	char *paths[MAX_PATHS];
	size_t n = 0;
	int all = 0, err;
	fb_err rc = changed_paths(g, from, c, paths, &n, &all);

	if (!rc && (n || all)) {
		opts.checkout_strategy = GIT_CHECKOUT_SAFE;
		opts.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT;
		if (!all) {
			opts.paths.strings = paths;
			opts.paths.count = n;
			opts.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
		}
		if (force) /* keep going past a person's edit: it stays as it is */
			opts.checkout_strategy |= GIT_CHECKOUT_ALLOW_CONFLICTS;
		err = git_checkout_tree(g->repo, (const git_object *)c, &opts);
		if (err == GIT_ECONFLICT)
			rc = fb_error_set(
			    FB_ESTATE,
			    "the GitOps working tree %s has uncommitted edits to files "
			    "the remote changed: commit or stash them, then approve again",
			    fb_gitops_path(g));
		else if (err < 0)
			rc = fb_gitops_fail_("updating the working tree");
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	return rc;
}

/* Points the branch at to; the working tree follows when it is checked
 * out on the branch. */
static fb_err move_branch(fb_gitops *g, const git_oid *to, int force, const char *why)
{
	git_commit *from = NULL, *c = NULL;
	git_reference *ref = NULL;
	git_oid cur;
	fb_err rc = FB_OK;

	if (git_commit_lookup(&c, g->repo, to) < 0)
		return fb_gitops_fail_("reading the remote's tip");
	if (git_reference_name_to_id(&cur, g->repo, g->ref) == 0 &&
	    fb_gitops_worktree_on_branch_(g) && git_commit_lookup(&from, g->repo, &cur) == 0)
		rc = checkout_to(g, from, c, force);
	git_error_clear();
	if (!rc && git_reference_create(&ref, g->repo, g->ref, to, 1, why) < 0)
		rc = fb_gitops_fail_("moving the branch");
	git_reference_free(ref);
	git_commit_free(from);
	git_commit_free(c);
	return rc;
}

/* Are the local commits beyond remote all this incident's fixes (never
 * pushed: safe to drop and redo)?  *count = how many there are. */
static int only_ours(fb_gitops *g, const git_oid *local, const git_oid *remote,
                     const fb_commit_info *info, size_t *count, char first[80])
{
	git_revwalk *w = NULL;
	git_oid oid;
	int ours = 1;

	*count = 0;
	first[0] = '\0';
	if (git_revwalk_new(&w, g->repo) < 0 || git_revwalk_push(w, local) < 0 ||
	    git_revwalk_hide(w, remote) < 0) {
		git_revwalk_free(w);
		return 0;
	}
	while (*count < MAX_OWN && git_revwalk_next(&oid, w) == 0) {
		git_commit *c = NULL;
		(*count)++;
		if (git_commit_lookup(&c, g->repo, &oid) < 0) {
			ours = 0;
			break;
		}
		if (!info || !fb_gitops_is_fix_commit_(c, info->incident_id, info->step)) {
			ours = 0;
			snprintf(first, 80, "%.12s \"%.50s\"", git_oid_tostr_s(&oid),
			         git_commit_summary(c));
		}
		git_commit_free(c);
	}
	git_revwalk_free(w);
	return ours;
}

fb_err fb_gitops_follow(fb_gitops *g, const char tip[41], const fb_commit_info *info)
{
	git_oid remote, local;
	git_reference *ref = NULL;
	size_t count;
	char first[80];

	if (!tip[0])
		return FB_OK; /* the remote has no such branch yet: the push creates it */
	if (git_oid_fromstr(&remote, tip) < 0)
		return fb_error_set(FB_EINVAL, "bad commit id %s", tip);
	if (git_reference_name_to_id(&local, g->repo, g->ref) < 0) {
		git_error_clear();
		if (git_reference_create(&ref, g->repo, g->ref, &remote, 0, "firebreak: follow") <
		    0)
			return fb_gitops_fail_("creating the branch");
		git_reference_free(ref);
		return FB_OK;
	}
	if (git_oid_equal(&local, &remote))
		return FB_OK;
	if (git_graph_descendant_of(g->repo, &remote, &local) == 1)
		return move_branch(g, &remote, 0, "firebreak: fast-forward to the remote");
	if (only_ours(g, &local, &remote, info, &count, first))
		return move_branch(g, &remote, 1, "firebreak: drop an unpushed fix, redo it");
	return fb_error_set(FB_ESTATE,
	                    "the local branch %s has %zu%s commit%s the remote lacks (%s): "
	                    "push or drop them, then approve again",
	                    g->cfg->gitops.branch, count, count >= MAX_OWN ? " or more" : "",
	                    count == 1 ? "" : "s", first);
}

fb_err fb_gitops_reset_to(fb_gitops *g, const char tip[41])
{
	git_oid to;

	if (!tip[0]) /* nothing on the remote to go back to */
		return FB_OK;
	if (git_oid_fromstr(&to, tip) < 0)
		return fb_error_set(FB_EINVAL, "bad commit id %s", tip);
	return move_branch(g, &to, 1, "firebreak: back to the remote's tip");
}

/* No redo: the changes as proposed (a file that moved is a conflict when
 * they are committed). */
static fb_err as_proposed(const fb_change *p, size_t n, fb_change **out, size_t *nout)
{
	fb_change *c = calloc(n ? n : 1, sizeof(*c));

	*out = NULL;
	*nout = 0;
	if (!c)
		return fb_error_set(FB_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		c[i] = p[i];
		c[i].content = NULL;
		if (p[i].content && !(c[i].content = strndup(p[i].content, p[i].len))) {
			fb_changes_free(c, i);
			return fb_error_set(FB_ENOMEM, "out of memory");
		}
	}
	*out = c;
	*nout = n;
	return FB_OK;
}

/* The tracking ref says what the remote now has: our commit. */
static void track(fb_gitops *g, const char hex[41])
{
	git_reference *ref = NULL;
	git_oid oid;
	char name[600];

	fb_gitops_tracking_ref_(g, name, sizeof(name));
	if (git_oid_fromstr(&oid, hex) == 0)
		git_reference_create(&ref, g->repo, name, &oid, 1, "firebreak: pushed");
	git_reference_free(ref);
	git_error_clear();
}

/* Back to the remote's tip after a failure; the message says why and
 * where the branch is now. */
static fb_err undo(fb_gitops *g, fb_err rc, const char *remote_tip)
{
	char why[1024];

	snprintf(why, sizeof(why), "%s", fb_error_last());
	if (!remote_tip[0])
		return rc;
	if (fb_gitops_reset_to(g, remote_tip) != FB_OK) {
		char also[512];
		snprintf(also, sizeof(also), "%s", fb_error_last());
		return fb_error_set(rc, "%s; resetting %s to the remote's %.12s failed too: %s",
		                    why, g->cfg->gitops.branch, remote_tip, also);
	}
	return fb_error_set(rc, "%s; %s was reset to the remote's %.12s", why,
	                    g->cfg->gitops.branch, remote_tip);
}

/* One try: follow the fetched tip, find or redo and commit, push. */
static fb_err try_once(fb_gitops *g, const fb_change *proposed, size_t n, fb_gitops_redo_fn redo,
                       void *ctx, const fb_commit_info *info, fb_gitops_outcome *out)
{
	int remote = g->cfg->gitops.remote[0] != '\0';
	fb_change *ch = NULL;
	size_t nch = 0;
	fb_err rc;

	if ((rc = fb_gitops_fetch(g, out->remote_tip)))
		return rc;
	if (remote && (rc = fb_gitops_follow(g, out->remote_tip, info)))
		return rc;
	if (fb_gitops_find_applied(g, proposed, n, info, out->commit, NULL) == FB_OK) {
		out->pushed = remote; /* the branch is the remote's tip: it is there */
		/* a crash may have come between the commit and its files */
		return fb_gitops_worktree_on_branch_(g) ? fb_gitops_sync_worktree_(g, proposed, n)
		                                        : FB_OK;
	}
	fb_error_clear();
	rc = redo ? redo(ctx, g, &ch, &nch) : as_proposed(proposed, n, &ch, &nch);
	if (!rc)
		rc = fb_gitops_commit_(g, ch, nch, info, out->commit);
	fb_changes_free(ch, nch);
	if (rc || !remote)
		return rc;
	out->tries++;
	if ((rc = fb_gitops_push_(g)) == FB_OK) {
		out->pushed = 1;
		track(g, out->commit);
	}
	return rc;
}

fb_err fb_gitops_apply_synced(fb_gitops *g, const fb_change *proposed, size_t n,
                              fb_gitops_redo_fn redo, void *ctx, const fb_commit_info *info,
                              fb_gitops_outcome *out)
{
	int remote = g->cfg->gitops.remote[0] != '\0';
	fb_err rc;

	memset(out, 0, sizeof(*out));
	fb_gitops_snapshot_config_(g);
	for (;;) {
		int before = out->tries;
		out->commit[0] = '\0';
		if ((rc = try_once(g, proposed, n, redo, ctx, info, out)) == FB_OK)
			return FB_OK;
		if (!remote || !out->commit[0])
			return rc; /* stopped before its own commit: nothing to undo */
		if (out->tries == before || rc != FB_ECONFLICT)
			return undo(g, rc, out->remote_tip);
		if (out->tries >= FB_GITOPS_PUSH_TRIES) {
			char last[700];
			snprintf(last, sizeof(last), "%s", fb_error_last());
			out->refused = 1;
			fb_error_set(FB_EGIT, "the remote refused the push %d times (last: %s)",
			             out->tries, last);
			return undo(g, FB_EGIT, out->remote_tip);
		}
		fb_log(FB_LOG_INFO, "gitops.push_refused", "try=%d error=\"%s\"", out->tries,
		       fb_error_last());
		if (out->remote_tip[0] && (rc = fb_gitops_reset_to(g, out->remote_tip)))
			return rc;
	}
}
