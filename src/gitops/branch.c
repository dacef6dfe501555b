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

#include "firebreak/buf.h"
#include "gitops_int.h"

#define UPSTREAM "refs/firebreak/upstream/"

typedef struct {
	const fb_config *cfg;
	int tries;
	char rejected[256];
} remote_ctx;

/* The same credentials push.c gives: a token for https, a key or the
 * agent for ssh; wrong ones stop after three rounds. */
static int credentials(git_credential **out, const char *url, const char *user_from_url,
                       unsigned int allowed, void *payload)
{
	remote_ctx *p = payload;
	const fb_config *cfg = p->cfg;
	(void)url;

	if (++p->tries > 3)
		return GIT_EUSER;
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
	remote_ctx *p = payload;
	if (status)
		snprintf(p->rejected, sizeof(p->rejected), "%s: %s", refname, status);
	return 0;
}

static fb_err open_remote(fb_gitops *g, git_remote **out)
{
	const char *r = g->cfg->gitops.remote;
	int url = strstr(r, "://") || r[0] == '/' || (strchr(r, '@') && strchr(r, ':'));

	if (!*r)
		return fb_error_set(FB_ESTATE, "pull-request mode needs gitops.remote");
	if ((url ? git_remote_create_anonymous(out, g->repo, r)
	         : git_remote_lookup(out, g->repo, r)) < 0)
		return fb_gitops_fail_("finding the GitOps remote");
	return FB_OK;
}

void fb_gitops_pr_branch(const char *incident_id, int step, char *out, size_t outsz)
{
	if (step > 1)
		snprintf(out, outsz, "firebreak/%s-%d", incident_id, step);
	else
		snprintf(out, outsz, "firebreak/%s", incident_id);
}

/* Fetches gitops.branch and the fix's branch into refs/firebreak/upstream/. */
static fb_err fetch(fb_gitops *g, git_remote *remote, const char *topic)
{
	git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
	remote_ctx ctx = {.cfg = g->cfg};
	char a[600], b[600];
	char *specs[2] = {a, b};
	git_strarray arr = {specs, 2};

	snprintf(a, sizeof(a), "+refs/heads/%s:" UPSTREAM "%s", g->cfg->gitops.branch,
	         g->cfg->gitops.branch);
	snprintf(b, sizeof(b), "+refs/heads/%s:" UPSTREAM "%s", topic, topic);
	opts.callbacks.credentials = credentials;
	opts.callbacks.payload = &ctx;
	opts.update_fetchhead = 0;
	if (git_remote_fetch(remote, &arr, &opts, "firebreak: fetch") < 0)
		return fb_gitops_fail_(ctx.tries > 3 ? "fetching (credentials refused)"
		                                     : "fetching");
	return FB_OK;
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
	git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
	git_reference *ref = NULL;
	git_commit *c = NULL;
	git_oid local, up;
	char base_ref[600];

	snprintf(base_ref, sizeof(base_ref), UPSTREAM "%s", g->cfg->gitops.branch);
	if (git_reference_name_to_id(&up, g->repo, base_ref) < 0 ||
	    git_reference_name_to_id(&local, g->repo, g->ref) < 0 || git_oid_equal(&local, &up) ||
	    git_graph_descendant_of(g->repo, &up, &local) != 1) {
		git_error_clear();
		return;
	}
	opts.checkout_strategy = GIT_CHECKOUT_SAFE;
	if (git_commit_lookup(&c, g->repo, &up) < 0 ||
	    (fb_gitops_worktree_on_branch_(g) &&
	     git_checkout_tree(g->repo, (const git_object *)c, &opts) < 0) ||
	    git_reference_create(&ref, g->repo, g->ref, &up, 1, "firebreak: follow the remote") < 0)
		git_error_clear(); /* the next apply tries again */
	git_reference_free(ref);
	git_commit_free(c);
}

fb_err fb_gitops_branch_follow(fb_gitops *g)
{
	git_remote *remote = NULL;
	char topic[256];
	fb_err rc;

	snprintf(topic, sizeof(topic), "%s", g->cfg->gitops.branch);
	if ((rc = open_remote(g, &remote)))
		return rc;
	rc = fetch(g, remote, topic);
	git_remote_free(remote);
	if (!rc)
		follow(g);
	return rc;
}

/* Is the commit ref names the incident's fix of that step? */
static int ends_with_fix(fb_gitops *g, const char *ref, const fb_commit_info *info, git_oid *out)
{
	git_commit *c = NULL;
	git_message_trailer_array tr = {0};
	int id = 0, step = 1;

	if (git_reference_name_to_id(out, g->repo, ref) < 0 ||
	    git_commit_lookup(&c, g->repo, out) < 0) {
		git_error_clear();
		return 0;
	}
	if (git_message_trailers(&tr, git_commit_message(c)) == 0) {
		for (size_t i = 0; i < tr.count; i++) {
			if (!strcmp(tr.trailers[i].key, "Incident-Id"))
				id = !strcmp(tr.trailers[i].value, info->incident_id);
			if (!strcmp(tr.trailers[i].key, "Incident-Step"))
				step = (int)strtol(tr.trailers[i].value, NULL, 10);
		}
		git_message_trailer_array_free(&tr);
	}
	git_commit_free(c);
	return id && step == (info->step > 1 ? info->step : 1);
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

static void message(fb_buf *m, const fb_commit_info *info)
{
	fb_buf_printf(m, "%s\n\n", info->subject);
	if (info->body && *info->body)
		fb_buf_printf(m, "%s\n\n", info->body);
	fb_buf_printf(m, "Incident-Id: %s\n", info->incident_id);
	if (info->step > 1)
		fb_buf_printf(m, "Incident-Step: %d\n", info->step);
	fb_buf_printf(m, "Category: %s\n", info->category);
	fb_buf_printf(m, "Approved-By: %s\n", info->approved_by);
	if (info->slack_thread && *info->slack_thread)
		fb_buf_printf(m, "Slack-Thread: %s\n", info->slack_thread);
}

/* The base's tree with the changes, as a commit on top of base. */
static fb_err build(fb_gitops *g, git_commit *base, const fb_change *c, size_t n,
                    const fb_commit_info *info, git_oid *out)
{
	git_tree_update up[64];
	git_tree *tree = NULL, *next = NULL;
	git_signature *sig = NULL;
	const git_commit *parents[1] = {base};
	git_oid blobs[64], tree_id;
	fb_buf m;
	fb_err rc = FB_OK;

	if (n > 64)
		return fb_error_set(FB_ETOOBIG, "more than 64 files in one fix");
	if (git_commit_tree(&tree, base) < 0)
		return fb_gitops_fail_("reading the remote's tree");
	if ((rc = check_bases(g, tree, c, n)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		memset(&up[i], 0, sizeof(up[i]));
		up[i].path = c[i].path;
		up[i].action = c[i].content ? GIT_TREE_UPDATE_UPSERT : GIT_TREE_UPDATE_REMOVE;
		up[i].filemode = GIT_FILEMODE_BLOB;
		if (c[i].content &&
		    git_blob_create_from_buffer(&blobs[i], g->repo, c[i].content, c[i].len) < 0) {
			rc = fb_gitops_fail_("staging a file");
			goto out;
		}
		if (c[i].content)
			git_oid_cpy(&up[i].id, &blobs[i]);
	}
	if (git_tree_create_updated(&tree_id, g->repo, tree, n, up) < 0 ||
	    git_tree_lookup(&next, g->repo, &tree_id) < 0) {
		rc = fb_gitops_fail_("writing the tree");
		goto out;
	}
	fb_buf_init(&m, 64 * 1024);
	message(&m, info);
	if (git_signature_now(&sig, g->cfg->gitops.author_name, g->cfg->gitops.author_email) < 0 ||
	    git_commit_create(out, g->repo, NULL, sig, sig, "UTF-8", fb_buf_str(&m), next, 1,
	                      parents) < 0)
		rc = fb_gitops_fail_("committing");
	fb_buf_free(&m);
out:
	git_signature_free(sig);
	git_tree_free(next);
	git_tree_free(tree);
	return rc;
}

static fb_err push(fb_gitops *g, git_remote *remote, const char *topic)
{
	git_push_options opts = GIT_PUSH_OPTIONS_INIT;
	remote_ctx ctx = {.cfg = g->cfg};
	char spec[600];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};

	snprintf(spec, sizeof(spec), "refs/heads/%s:refs/heads/%s", topic, topic);
	opts.callbacks.credentials = credentials;
	opts.callbacks.push_update_reference = push_ref;
	opts.callbacks.payload = &ctx;
	if (git_remote_push(remote, &arr, &opts) < 0)
		return fb_gitops_fail_(ctx.tries > 3 ? "pushing the branch (credentials refused)"
		                                     : "pushing the branch");
	if (ctx.rejected[0])
		return fb_error_set(FB_ECONFLICT, "the remote rejected the branch (%s)",
		                    ctx.rejected);
	return FB_OK;
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
	git_remote *remote = NULL;
	git_oid id;
	fb_err rc;

	*pushed = 0;
	fb_gitops_pr_branch(info->incident_id, info->step, branch, 256);
	if ((rc = open_remote(g, &remote)))
		return rc;
	rc = fetch(g, remote, branch);
	if (!rc)
		follow(g);
	if (!rc)
		rc = fix_commit(g, branch, c, n, info, &id);
	if (!rc)
		rc = push(g, remote, branch);
	git_remote_free(remote);
	if (rc)
		return rc;
	git_oid_tostr(hex, 41, &id);
	*pushed = 1;
	return FB_OK;
}
