/*
 * git_revert.c - owns the git_revert action: going back to what ran
 * before, as git history tells it.  For a failed image pull (or a crash
 * loop right after an image change) it sets image.tag back to the previous
 * tag in the values file's history; for a configuration error, and any
 * other category the rules give it, it reverts the latest commit that
 * touched the app's values directory.  Applies by one commit through
 * fb_gitops_apply.  Runs on the thread that owns the fb_gitops handle (a
 * worker in the daemon, the main thread in the CLI).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "action_int.h"
#include "firebreak/buf.h"

#define MAX_HISTORY 50

/* ---- image tag rollback ---- */

static int tag_in(const char *text, size_t len, const char *path, char *out, size_t outsz)
{
	fb_yaml_doc *doc = NULL;
	const char *v;
	int ok = 0;
	if (text && fb_yaml_doc_parse(text, len, "history", &doc) == FB_OK &&
	    fb_yaml_get_scalar(doc, path, &v) == FB_OK) {
		snprintf(out, outsz, "%s", v);
		ok = 1;
	}
	fb_yaml_doc_free(doc);
	fb_error_clear();
	return ok;
}

/* The app's image.tag path and its value at the tip. */
static int find_tag(fb_action_draft *d, char *path, size_t pathsz, char *cur, size_t cursz)
{
	fb_yaml_doc *doc = NULL;
	char block[512];

	if (fb_yaml_doc_parse(d->text, d->len, d->file, &doc) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return 0;
	}
	int ok = fb_action_draft_block(d, doc, "image", "tag", block, sizeof(block)) && block[0];
	fb_yaml_doc_free(doc);
	snprintf(path, pathsz, "%s%stag", block, *block ? "." : "");
	if (!ok || !tag_in(d->text, d->len, path, cur, cursz)) {
		fb_action_draft_manual(d, "%s sets no image.tag to roll back", d->file);
		fb_action_draft_say(d, "reason", "manual_no_tag", "file", d->file, FB_SAY_END);
		return 0;
	}
	return 1;
}

/* Only right after the tag changed: the newest change to the file must be
 * the one that introduced the current tag, and recent. */
static int follows_change(const fb_action_draft *d, const fb_file_version *hist, size_t n,
                          const char *tag_path, const char *cur)
{
	char t[256];
	int recent =
	    n > 0 && (int64_t)time(NULL) - hist[0].time <= d->in->cfg->policy.image_change_window;
	int newest = n > 1 && tag_in(hist[1].content, hist[1].len, tag_path, t, sizeof(t)) &&
	             strcmp(t, cur) != 0;
	return recent && newest;
}

static void propose_image(fb_action_draft *d, int after_change_only)
{
	fb_file_version *hist = NULL;
	size_t n = 0;
	char tag_path[600], cur[256] = "", prev[256] = "", t[256], summary[700];
	const char *prev_commit = NULL;

	if (!fb_action_draft_load(d) || !find_tag(d, tag_path, sizeof(tag_path), cur, sizeof(cur)))
		return;
	if (fb_gitops_history(d->in->gitops, d->file, MAX_HISTORY, &hist, &n) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return;
	}
	for (size_t i = 0; i < n && !prev[0]; i++)
		if (tag_in(hist[i].content, hist[i].len, tag_path, t, sizeof(t)) &&
		    strcmp(t, cur)) {
			snprintf(prev, sizeof(prev), "%s", t);
			prev_commit = hist[i].commit;
		}
	if (after_change_only && prev[0] && !follows_change(d, hist, n, tag_path, cur)) {
		fb_file_versions_free(hist, n);
		fb_action_draft_manual(
		    d, "the crash loop does not follow a recent image change in %s", d->file);
		fb_action_draft_say(d, "reason", "manual_no_image_change", "file", d->file,
		                    FB_SAY_END);
		return;
	}
	if (!prev[0]) {
		fb_file_versions_free(hist, n);
		fb_action_draft_manual(d, "git history of %s has no earlier image tag than %s",
		                       d->file, cur);
		fb_action_draft_say(d, "reason", "manual_no_earlier_tag", "file", d->file, "tag",
		                    cur, FB_SAY_END);
		return;
	}
	snprintf(summary, sizeof(summary),
	         "Roll the image tag of %s back from %s to %s (as of %.12s)", d->in->app, cur, prev,
	         prev_commit);
	snprintf(t, sizeof(t), "%.12s", prev_commit);
	fb_file_versions_free(hist, n);
	if (!fb_action_draft_edit(d, tag_path, cur, prev))
		return;
	cJSON_AddStringToObject(d->out, "summary", summary);
	fb_action_draft_say(d, "summary", "fix_image_rollback", "app", d->in->app, "from", cur,
	                    "to", prev, "commit", t, FB_SAY_END);
	cJSON_AddStringToObject(d->out, "kind", "image_rollback");
}

/* ---- revert of the latest change to the app's files ---- */

/* Adds the revert's changes and their diffs to the proposal. */
static void add_revert(fb_action_draft *d, fb_change *ch, size_t n)
{
	fb_buf diffs;

	fb_buf_init(&diffs, 1024 * 1024);
	for (size_t i = 0; i < n; i++) {
		char *old = NULL, *diff = NULL;
		size_t oldlen = 0;
		fb_gitops_read(d->in->gitops, ch[i].path, &old, &oldlen, NULL);
		if (fb_gitops_diff(ch[i].path, old ? old : "", oldlen,
		                   ch[i].content ? ch[i].content : "", ch[i].len, &diff) == FB_OK)
			fb_buf_addstr(&diffs, diff);
		free(diff);
		free(old);
		fb_action_add_change(d->out, ch[i].path, ch[i].base_blob, ch[i].content);
	}
	fb_error_clear();
	cJSON_AddStringToObject(d->out, "diff", fb_buf_str(&diffs) ? fb_buf_str(&diffs) : "");
	fb_buf_free(&diffs);
}

static void propose_revert(fb_action_draft *d)
{
	char dir[512], hex[41], subject[256], summary[400], *slash;
	fb_change *ch = NULL;
	size_t n = 0;

	if (!fb_action_draft_load(d))
		return;
	snprintf(dir, sizeof(dir), "%s", d->file);
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	if (fb_gitops_last_change(d->in->gitops, dir, hex, subject, sizeof(subject)) != FB_OK ||
	    fb_gitops_revert(d->in->gitops, hex, &ch, &n) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		fb_changes_free(ch, n);
		return;
	}
	add_revert(d, ch, n);
	fb_changes_free(ch, n);
	cJSON *rv = cJSON_AddObjectToObject(d->out, "revert");
	cJSON_AddStringToObject(rv, "commit", hex);
	cJSON_AddStringToObject(rv, "subject", subject);
	snprintf(summary, sizeof(summary), "Revert %.12s \"%s\", the latest change to %s", hex,
	         subject, dir);
	cJSON_AddStringToObject(d->out, "summary", summary);
	snprintf(summary, sizeof(summary), "%.12s", hex);
	fb_action_draft_say(d, "summary", "fix_config_revert", "commit", summary, "subject",
	                    subject, "dir", dir, FB_SAY_END);
	cJSON_AddStringToObject(d->out, "kind", "config_revert");
}

static fb_err propose(const fb_action_input *in, cJSON **out)
{
	fb_action_draft d;
	fb_err rc = fb_action_draft_init(&d, in, "git_revert");

	if (rc)
		return rc;
	if (!strcmp(in->category, "image_pull_error"))
		propose_image(&d, 0);
	else if (!strcmp(in->category, "crashloop"))
		propose_image(&d, 1);
	else
		propose_revert(&d);
	return fb_action_draft_finish(&d, out);
}

/* An image tag a person chose: the characters a registry accepts. */
static fb_err validate(const fb_config *cfg, const char *path, const char *value)
{
	static const char tag_chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	fb_err rc;
	(void)cfg;

	if (fb_action_jvm_opts(value) && !fb_action_path_ends(path, "tag"))
		return FB_OK; /* JVM options: values_patch's to check */
	if ((rc = fb_action_check_plain(path, value)))
		return rc;
	if (fb_action_path_ends(path, "tag") &&
	    (strspn(value, tag_chars) != strlen(value) || value[0] == '.' || value[0] == '-'))
		return fb_error_set(FB_EINVAL, "%s: \"%s\" is not a valid image tag", path, value);
	return FB_OK;
}

const fb_action_ops fb_action_git_revert = {
    .version = FB_ACTION_OPS_VERSION,
    .name = "git_revert",
    .needs_repo = 1,
    .propose = propose,
    .validate = validate,
    .apply = fb_action_commit,
    .describe = fb_action_describe_summary,
    .redo = fb_action_redo,
};
