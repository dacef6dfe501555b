/*
 * commit.c - owns applying a repository action beside people: the
 * proposal's changes go through fb_gitops_apply_synced (fetch, redo on
 * the fetched tip, commit, push), and the redo itself -- a values edit
 * {path, old, new} spliced again into the file as it is now (never a text
 * rebase; FB_ECONFLICT when the value changed upstream), a revert made
 * again on the new tip.  Runs on the thread that owns the fb_gitops
 * handle (a worker in the daemon, the main thread in the CLI).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"

/* The proposal's changes, borrowing their content from it. */
static fb_err collect_changes(const fb_proposal *p, fb_change **out, size_t *n)
{
	fb_change *v = calloc(p->n_changes ? p->n_changes : 1, sizeof(*v));

	if (!v)
		return fb_error_set(FB_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->n_changes; i++) {
		snprintf(v[i].path, sizeof(v[i].path), "%s", p->changes[i].path);
		snprintf(v[i].base_blob, sizeof(v[i].base_blob), "%s", p->changes[i].base_blob);
		v[i].content = p->changes[i].content;
		v[i].len = v[i].content ? strlen(v[i].content) : 0;
	}
	*out = v;
	*n = p->n_changes;
	return FB_OK;
}

/* A copy of the proposal's changes, content owned. */
static fb_err as_proposed(const fb_proposal *p, fb_change **out, size_t *n)
{
	fb_change *v = NULL;
	size_t k = 0;
	fb_err rc = collect_changes(p, &v, &k);

	*out = NULL;
	*n = 0;
	for (size_t i = 0; !rc && i < k; i++)
		if (v[i].content && !(v[i].content = strdup(v[i].content))) {
			fb_changes_free(v, i);
			return fb_error_set(FB_ENOMEM, "out of memory");
		}
	if (rc)
		return rc;
	*out = v;
	*n = k;
	return FB_OK;
}

/* The scalar at path in text, "" when it is not set. */
static fb_err value_at(const char *file, const char *text, size_t len, const char *path, char *out,
                       size_t outsz)
{
	fb_yaml_doc *doc = NULL;
	const char *v = NULL;

	out[0] = '\0';
	if (fb_yaml_doc_parse(text, len, file, &doc) != FB_OK)
		return fb_error_wrap(FB_ECONFLICT, "%s no longer parses on the branch", file);
	if (fb_yaml_get_scalar(doc, path, &v) == FB_OK && v)
		snprintf(out, outsz, "%s", v);
	fb_yaml_doc_free(doc);
	fb_error_clear();
	return FB_OK;
}

/* Each edit spliced into text (the file at the tip), after checking that
 * the value it replaces is still the one proposed against. */
static fb_err splice_edits(const fb_proposal *p, char **text, size_t *len)
{
	char cur[256];
	fb_err rc = FB_OK;

	for (size_t i = 0; !rc && i < p->n_edits; i++) {
		const fb_proposal_edit *e = &p->edits[i];
		char *next = NULL;
		size_t nlen = 0;
		if ((rc = value_at(p->file, *text, *len, e->path, cur, sizeof(cur))))
			break;
		if (strcmp(cur, e->old_value) != 0)
			return fb_error_set(FB_ECONFLICT,
			                    "%s in %s changed upstream since the fix was proposed "
			                    "(%s, proposed from %s): proposing again",
			                    e->path, p->file, *cur ? cur : "unset",
			                    *e->old_value ? e->old_value : "unset");
		if (fb_yaml_set(*text, *len, p->file, e->path, e->new_value, &next, &nlen) != FB_OK)
			return fb_error_wrap(FB_ECONFLICT, "cannot edit %s in %s any more", e->path,
			                     p->file);
		free(*text);
		*text = next;
		*len = nlen;
	}
	return rc;
}

/* A values edit redone: the file as it is at the tip, the edits again. */
static fb_err redo_edits(const fb_action_input *in, const fb_proposal *p, fb_change **out,
                         size_t *n)
{
	fb_change *c;
	char *text = NULL, blob[41] = "";
	size_t len = 0;
	fb_err rc;

	if (p->n_changes != 1 || strcmp(p->changes[0].path, p->file) != 0)
		return as_proposed(p, out, n);
	if ((rc = fb_gitops_read(in->gitops, p->file, &text, &len, blob)))
		return rc == FB_ENOTFOUND
		           ? fb_error_set(FB_ECONFLICT, "%s was removed upstream: proposing again",
		                          p->file)
		           : rc;
	if (!strcmp(blob, p->changes[0].base_blob)) { /* untouched upstream */
		free(text);
		return as_proposed(p, out, n);
	}
	if ((rc = splice_edits(p, &text, &len)) || !(c = calloc(1, sizeof(*c)))) {
		free(text);
		return rc ? rc : fb_error_set(FB_ENOMEM, "out of memory");
	}
	snprintf(c->path, sizeof(c->path), "%s", p->file);
	snprintf(c->base_blob, sizeof(c->base_blob), "%s", blob);
	c->content = text;
	c->len = len;
	*out = c;
	*n = 1;
	return FB_OK;
}

/* Does every changed file still have the blob it was proposed against? */
static int untouched(const fb_action_input *in, const fb_proposal *p)
{
	for (size_t i = 0; i < p->n_changes; i++) {
		char *text = NULL, blob[41] = "";
		size_t len = 0;
		fb_gitops_read(in->gitops, p->changes[i].path, &text, &len, blob);
		free(text);
		if (strcmp(blob, p->changes[i].base_blob) != 0) {
			fb_error_clear();
			return 0;
		}
	}
	fb_error_clear();
	return 1;
}

fb_err fb_action_redo(const fb_action_input *in, const fb_proposal *p, fb_change **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!p->revert_commit[0])
		return p->n_edits ? redo_edits(in, p, out, n) : as_proposed(p, out, n);
	if (untouched(in, p))
		return as_proposed(p, out, n);
	fb_err rc = fb_gitops_revert(in->gitops, p->revert_commit, out, n);
	if (rc == FB_OK && *n == 0)
		rc = fb_error_set(FB_ECONFLICT,
		                  "%.12s is already reverted upstream: proposing again",
		                  p->revert_commit);
	if (rc) {
		fb_changes_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc == FB_ECONFLICT ? rc
		                          : fb_error_wrap(rc, "reverting again on the new tip");
	}
	return FB_OK;
}

typedef struct {
	const fb_action_input *in;
	const fb_proposal *proposal;
	const fb_action_ops *ops;
} redo_ctx;

static fb_err redo_cb(void *ctx, fb_gitops *g, fb_change **out, size_t *n)
{
	redo_ctx *r = ctx;
	fb_action_input in = *r->in;
	in.gitops = g;
	return r->ops->redo(&in, r->proposal, out, n);
}

/* pull-request mode: the fix on firebreak/<incident-id>, pushed (branch.c);
 * takes ch. */
static fb_err commit_branch(const fb_action_input *in, fb_change *ch, size_t n,
                            const fb_commit_info *commit, fb_action_result *out)
{
	char branch[256];
	fb_err rc =
	    fb_gitops_branch_apply(in->gitops, ch, n, commit, branch, out->commit, &out->pushed);

	free(ch);
	if (rc)
		return rc;
	snprintf(out->detail, sizeof(out->detail), "committed %.12s on %s%s", out->commit, branch,
	         out->pushed ? " and pushed" : "");
	return FB_OK;
}

fb_err fb_action_commit(const fb_action_input *in, const fb_proposal *proposal,
                        const fb_commit_info *commit, fb_action_result *out)
{
	const fb_action_ops *a = fb_action_find(proposal->action);
	redo_ctx ctx = {.in = in, .proposal = proposal, .ops = a};
	fb_gitops_outcome got;
	fb_change *ch = NULL;
	size_t n = 0;
	fb_err rc;

	memset(out, 0, sizeof(*out));
	if (!in->gitops)
		return fb_error_set(FB_ESTATE, "no GitOps repository to apply to");
	if ((rc = collect_changes(proposal, &ch, &n)))
		return rc;
	if (n == 0) {
		free(ch);
		return fb_error_set(FB_EINVAL, "the proposal has no change to commit");
	}
	if (!strcmp(in->cfg->gitops.mode, "pull_request")) /* on its own branch, for a PR */
		return commit_branch(in, ch, n, commit, out);
	rc = fb_gitops_apply_synced(in->gitops, ch, n, a && a->redo ? redo_cb : NULL, &ctx, commit,
	                            &got);
	free(ch);
	snprintf(out->commit, sizeof(out->commit), "%s", got.commit);
	out->pushed = got.pushed;
	out->refused = got.refused;
	if (rc)
		return rc;
	snprintf(out->detail, sizeof(out->detail), "committed %.12s on %s%s%s", out->commit,
	         in->cfg->gitops.branch, out->pushed ? " and pushed" : "",
	         got.tries > 1 ? " (after the remote moved on)" : "");
	return FB_OK;
}
