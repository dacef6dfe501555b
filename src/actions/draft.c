/*
 * draft.c - owns what the actions share: a proposal built against the
 * app's values file (finding and reading it, choosing the app's block,
 * minimal edits through yamledit, the change and its diff), the commit
 * that applies a repository action, and the plain-value check.  Runs on
 * the thread that owns the fb_gitops handle (a worker in the daemon, the
 * main thread in the CLI).
 *
 * Edits go through yamledit, which splices scalars in place, so the diff
 * libgit2 prints shows only the changed lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"

fb_err fb_action_draft_init(fb_action_draft *d, const fb_action_input *in, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->in = in;
	d->out = cJSON_CreateObject();
	if (!d->out || !cJSON_AddStringToObject(d->out, "action", name) ||
	    !cJSON_AddArrayToObject(d->out, "edits") ||
	    !cJSON_AddArrayToObject(d->out, "changes")) {
		cJSON_Delete(d->out);
		d->out = NULL;
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	return FB_OK;
}

int fb_action_draft_is_manual(const fb_action_draft *d)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(d->out, "action");
	return cJSON_IsString(a) && !strcmp(a->valuestring, "manual");
}

int fb_action_draft_load(fb_action_draft *d)
{
	const fb_action_input *in = d->in;
	char how[600];

	if (!in->gitops) {
		fb_action_draft_manual(d, "no GitOps repository configured");
		return 0;
	}
	if (!in->app || !*in->app) {
		fb_action_draft_manual(d, "the log does not name the app; rerun with --app NAME");
		return 0;
	}
	if (fb_gitops_find_values(in->gitops, in->app, d->file, sizeof(d->file), how,
	                          sizeof(how)) != FB_OK ||
	    fb_gitops_read(in->gitops, d->file, &d->orig, &d->orig_len, d->blob) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return 0;
	}
	d->text = malloc(d->orig_len + 1);
	if (!d->text) {
		fb_action_draft_manual(d, "out of memory");
		return 0;
	}
	memcpy(d->text, d->orig, d->orig_len + 1);
	d->len = d->orig_len;
	cJSON_AddStringToObject(d->out, "file", d->file);
	cJSON_AddStringToObject(d->out, "found_by", how);
	return 1;
}

/* Does any path component equal the app or container name? */
static int names_app(const fb_action_draft *d, const char *path)
{
	const char *app = d->in->app, *container = d->in->facts.container;
	const char *p = path;

	while (*p) {
		size_t n = strcspn(p, ".");
		if ((app && *app && strlen(app) == n && !strncmp(p, app, n)) ||
		    (container && strlen(container) == n && !strncmp(p, container, n)))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

/* Is paths[i] a block: a mapping, or empty, or missing the child? */
static int is_block(const fb_yaml_doc *doc, const char *path, const char *child)
{
	char probe[600];
	const char *v;

	snprintf(probe, sizeof(probe), "%s.%s", path, child);
	if (child[0] && !fb_yaml_has(doc, probe) && !fb_yaml_is_mapping(doc, path) &&
	    fb_yaml_has(doc, path))
		return fb_yaml_get_scalar(doc, path, &v) == FB_OK && !*v;
	return 1;
}

int fb_action_draft_block(const fb_action_draft *d, const fb_yaml_doc *doc, const char *key,
                          const char *child, char *out, size_t outsz)
{
	char **paths = NULL;
	size_t n = 0;
	int best = -1, best_score = -1, ties = 0;

	out[0] = '\0';
	if (fb_yaml_find_key(doc, key, &paths, &n) != FB_OK)
		return 1;
	for (size_t i = 0; i < n; i++) {
		int score;
		if (!is_block(doc, paths[i], child))
			continue;
		if (names_app(d, paths[i]))
			score = 3;
		else if (!strchr(paths[i], '.'))
			score = 2;
		else
			score = 1;
		if (score > best_score) {
			best = (int)i;
			best_score = score;
			ties = 0;
		} else if (score == best_score) {
			ties++;
		}
	}
	if (best >= 0)
		snprintf(out, outsz, "%s", paths[best]);
	fb_yaml_paths_free(paths);
	return !(best_score == 1 && ties > 0);
}

const char *fb_action_draft_value(const fb_action_draft *d, const char *path, const char *proposed)
{
	const char *v = fb_action_override_for(d->in, path);
	return v ? v : proposed;
}

static void add_edit(fb_action_draft *d, const char *path, const char *old, const char *value)
{
	cJSON *edits = cJSON_GetObjectItemCaseSensitive(d->out, "edits");
	cJSON *e = cJSON_CreateObject();
	fb_yaml_doc *doc = NULL;

	cJSON_AddStringToObject(e, "path", path);
	cJSON_AddStringToObject(e, "old", old ? old : "");
	cJSON_AddStringToObject(e, "new", value);
	if (fb_yaml_doc_parse(d->text, d->len, d->file, &doc) == FB_OK)
		cJSON_AddNumberToObject(e, "line", fb_yaml_line(doc, path));
	fb_yaml_doc_free(doc);
	cJSON_AddItemToArray(edits, e);
}

int fb_action_draft_edit(fb_action_draft *d, const char *path, const char *old,
                         const char *proposed)
{
	const char *v = fb_action_draft_value(d, path, proposed);
	char *next = NULL;
	size_t nlen = 0;

	if (old && !strcmp(old, v))
		return 1; /* nothing to change */
	if (fb_yaml_set(d->text, d->len, d->file, path, v, &next, &nlen) != FB_OK) {
		fb_action_draft_manual(d, "cannot edit %s in %s: %s", path, d->file,
		                       fb_error_last());
		return 0;
	}
	free(d->text);
	d->text = next;
	d->len = nlen;
	add_edit(d, path, old, v);
	return 1;
}

void fb_action_add_change(cJSON *proposal, const char *path, const char *blob, const char *content)
{
	cJSON *ch = cJSON_CreateObject();
	cJSON_AddStringToObject(ch, "path", path);
	cJSON_AddStringToObject(ch, "base_blob", blob);
	if (content)
		cJSON_AddStringToObject(ch, "content", content);
	else
		cJSON_AddNullToObject(ch, "content");
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(proposal, "changes"), ch);
}

/* A proposal made of edits to the values file gets its change and diff. */
static void finish_edits(fb_action_draft *d)
{
	char *diff = NULL;

	if (fb_action_draft_is_manual(d) || !d->text ||
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d->out, "changes")) > 0)
		return;
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d->out, "edits")) == 0) {
		fb_action_draft_manual(d, "the proposed values are already in %s", d->file);
		return;
	}
	if (fb_gitops_diff(d->file, d->orig, d->orig_len, d->text, d->len, &diff) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return;
	}
	fb_action_add_change(d->out, d->file, d->blob, d->text);
	cJSON_AddStringToObject(d->out, "diff", diff);
	free(diff);
}

fb_err fb_action_draft_finish(fb_action_draft *d, cJSON **out)
{
	finish_edits(d);
	if (fb_action_draft_is_manual(d))
		fb_action_manual_shape(d->out, d->in);
	free(d->text);
	free(d->orig);
	d->text = d->orig = NULL;
	*out = d->out;
	d->out = NULL;
	return FB_OK;
}

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

fb_err fb_action_commit(const fb_action_input *in, const fb_proposal *proposal,
                        const fb_commit_info *commit, fb_action_result *out)
{
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
	char branch[256];
	snprintf(branch, sizeof(branch), "%s", in->cfg->gitops.branch);
	if (!strcmp(in->cfg->gitops.mode, "pull_request")) /* on its own branch, for a PR */
		rc = fb_gitops_branch_apply(in->gitops, ch, n, commit, branch, out->commit,
		                            &out->pushed);
	else
		rc = fb_gitops_apply(in->gitops, ch, n, commit, out->commit, &out->pushed);
	free(ch);
	if (rc)
		return rc;
	snprintf(out->detail, sizeof(out->detail), "committed %.12s on %s%s", out->commit, branch,
	         out->pushed ? " and pushed" : "");
	return FB_OK;
}

void fb_action_describe_summary(const fb_proposal *proposal, char *out, size_t outsz)
{
	if (*proposal->summary)
		snprintf(out, outsz, "%s", proposal->summary);
	else if (*proposal->reason)
		snprintf(out, outsz, "%s", proposal->reason);
	else
		snprintf(out, outsz, "no change");
}

fb_err fb_action_check_plain(const char *path, const char *value)
{
	if (!*value)
		return fb_error_set(FB_EINVAL, "%s: a value is required", path);
	if (strlen(value) > 128 || strpbrk(value, "\n\r\t\"'#{}[],&*!|>%@`"))
		return fb_error_set(FB_EINVAL, "%s: \"%.40s\" is not a plain value", path, value);
	return FB_OK;
}

int fb_action_path_ends(const char *path, const char *name)
{
	size_t n = strlen(path), k = strlen(name);
	return n >= k && !strcmp(path + n - k, name);
}
