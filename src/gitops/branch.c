/*
 * branch.c - owns the commit of a fix in pull-request mode: the branch
 * firebreak/<incident-id> (firebreak/<incident-id>-<step> for a further
 * fix), built on the remote's tip of gitops.branch (fetched first, into
 * refs/firebreak/upstream/), and pushed to gitops.remote; the pull request
 * itself is the forge's (forge.h, the await_merge node).  The configured
 * branch only ever fast-forwards to what the remote has (follow), with
 * the working tree when it is checked out.  Runs on the thread that owns
 * the fb_gitops handle (a worker running the apply node, or the CLI).
 *
 * Idempotent: when the branch (here, or on the remote) already ends with
 * the incident's commit (its Incident-Id trailer and step), that commit
 * is pushed again instead of a new one being made.
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitops_int.h"

#define UPSTREAM "refs/firebreak/upstream/"

/* pull-request mode pushes a branch: it needs somewhere to push it. */
static fb_err need_remote(fb_gitops *g)
{
	if (!g->cfg->gitops.remote[0])
		return fb_error_set(FB_ESTATE, "pull-request mode needs gitops.remote");
	return FB_OK;
}

void fb_gitops_pr_branch(const char *incident_id, int step, char *out, size_t outsz)
{
	if (step > 1)
		snprintf(out, outsz, "firebreak/%s-%d", incident_id, step);
	else
		snprintf(out, outsz, "firebreak/%s", incident_id);
}

/* Fetches gitops.branch and the fix's branch into refs/firebreak/upstream/,
 * with remote.c's remote and credentials (masked in every message). */
static fb_err fetch(fb_gitops *g, const char *topic)
{
	git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
	fb_gitops_cred cred = {.cfg = g->cfg};
	git_remote *remote = NULL;
	char a[600], b[600], shown[FB_CFG_STR];
	char *specs[2] = {a, b};
	git_strarray arr = {specs, 2};
	fb_err rc;

	if ((rc = need_remote(g)) || (rc = fb_gitops_remote_(g, 0, &remote)))
		return rc;
	snprintf(a, sizeof(a), "+refs/heads/%s:" UPSTREAM "%s", g->cfg->gitops.branch,
	         g->cfg->gitops.branch);
	snprintf(b, sizeof(b), "+refs/heads/%s:" UPSTREAM "%s", topic, topic);
	opts.callbacks.credentials = fb_gitops_credentials_;
	opts.callbacks.payload = &cred;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.update_fetchhead = 0;
	if (git_remote_fetch(remote, &arr, &opts, "firebreak: fetch") < 0) {
		fb_gitops_mask_url(g->cfg->gitops.remote, shown, sizeof(shown));
		rc = fb_gitops_remote_fail_(
		    g->cfg, FB_EIO, cred.tries > 3 ? "credentials refused by" : "fetching from",
		    shown);
	}
	git_remote_free(remote);
	return rc;
}

/*
 * Fast-forwards gitops.branch to the fetched tip when it has no commits of
 * its own (a merged pull request, a teammate's push), so that the next
 * proposal is made on what the remote has; the working tree, when it is
 * checked out on the branch, follows safely (a person's edits in the way:
 * the branch stays where it is).  Commits of its own: left alone.
 */
static void follow(fb_gitops *g)
{
	char ref[600], tip[41];
	git_oid up;

	snprintf(ref, sizeof(ref), UPSTREAM "%s", g->cfg->gitops.branch);
	if (git_reference_name_to_id(&up, g->repo, ref) < 0) {
		git_error_clear();
		return;
	}
	git_oid_tostr(tip, sizeof(tip), &up);
	if (fb_gitops_follow(g, tip, NULL) != FB_OK)
		fb_error_clear(); /* a person's commits or edits: the next apply tries again */
}

fb_err fb_gitops_branch_follow(fb_gitops *g)
{
	fb_err rc = fetch(g, g->cfg->gitops.branch);

	if (!rc)
		follow(g);
	return rc;
}

/* Is the commit ref names the incident's fix of that step? */
static int ends_with_fix(fb_gitops *g, const char *ref, const fb_commit_info *info, git_oid *out)
{
	git_commit *c = NULL;
	int yes;

	if (git_reference_name_to_id(out, g->repo, ref) < 0 ||
	    git_commit_lookup(&c, g->repo, out) < 0) {
		git_error_clear();
		return 0;
	}
	yes = fb_gitops_is_fix_commit_(c, info->incident_id, info->step);
	git_commit_free(c);
	return yes;
}

/* Each change's file on the base is the one it was proposed against. */
static fb_err check_bases(fb_gitops *g, git_tree *tree, const fb_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		git_tree_entry *e = NULL;
		char now[41] = "";
		if (git_tree_entry_bypath(&e, tree, c[i].path) == 0)
			git_oid_tostr(now, sizeof(now), git_tree_entry_id(e));
		git_tree_entry_free(e);
		git_error_clear();
		if (strcmp(now, c[i].base_blob))
			return fb_error_set(
			    FB_ECONFLICT,
			    "%s changed on the remote's %s since the fix was proposed "
			    "(blob %.12s, proposed against %.12s): proposing again",
			    c[i].path, g->cfg->gitops.branch, now[0] ? now : "none",
			    c[i].base_blob[0] ? c[i].base_blob : "none");
	}
	return FB_OK;
}

/* The changes as a commit on top of base (the remote's tip), after
 * checking each file is still the one proposed against. */
static fb_err build(fb_gitops *g, git_commit *base, const fb_change *c, size_t n,
                    const fb_commit_info *info, git_oid *out)
{
	git_tree *tree = NULL;
	fb_err rc;

	if (git_commit_tree(&tree, base) < 0)
		return fb_gitops_fail_("reading the remote's tree");
	rc = check_bases(g, tree, c, n);
	git_tree_free(tree);
	return rc ? rc : fb_gitops_commit_onto_(g, base, c, n, info, out);
}

/* The fix's commit: the one the branch (local, else the remote's) ends
 * with, or a new one on the remote's tip of gitops.branch. */
static fb_err fix_commit(fb_gitops *g, const char *topic, const fb_change *c, size_t n,
                         const fb_commit_info *info, git_oid *id)
{
	char local[600], theirs[600], base_ref[600];
	git_commit *base = NULL;
	git_reference *ref = NULL;
	git_oid base_id;
	fb_err rc;

	snprintf(local, sizeof(local), "refs/heads/%s", topic);
	snprintf(theirs, sizeof(theirs), UPSTREAM "%s", topic);
	snprintf(base_ref, sizeof(base_ref), UPSTREAM "%s", g->cfg->gitops.branch);
	if (ends_with_fix(g, local, info, id))
		return FB_OK;
	if (!ends_with_fix(g, theirs, info, id)) {
		if (git_reference_name_to_id(&base_id, g->repo, base_ref) < 0 ||
		    git_commit_lookup(&base, g->repo, &base_id) < 0)
			return fb_gitops_fail_("finding the remote's branch");
		rc = build(g, base, c, n, info, id);
		git_commit_free(base);
		if (rc)
			return rc;
	}
	if (git_reference_create(&ref, g->repo, local, id, 1, "firebreak: the fix's branch") < 0)
		return fb_gitops_fail_("making the fix's branch");
	git_reference_free(ref);
	return FB_OK;
}

fb_err fb_gitops_branch_apply(fb_gitops *g, const fb_change *c, size_t n,
                              const fb_commit_info *info, char branch[256], char hex[41],
                              int *pushed)
{
	char ref[300];
	git_oid id;
	fb_err rc;

	*pushed = 0;
	fb_gitops_pr_branch(info->incident_id, info->step, branch, 256);
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	rc = fetch(g, branch);
	if (!rc)
		follow(g);
	if (!rc)
		rc = fix_commit(g, branch, c, n, info, &id);
	if (!rc)
		rc = fb_gitops_push_ref_(g, ref);
	if (rc)
		return rc;
	git_oid_tostr(hex, 41, &id);
	*pushed = 1;
	return FB_OK;
}
