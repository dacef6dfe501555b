/*
 * propose.c - owns the choice of fix for each category and the minimal
 * edit that expresses it: memory raise for OOM, image tag rollback for a
 * failed pull (or a crash loop right after an image change), revert of the
 * latest configuration commit, volume growth for a full disk, and manual
 * otherwise.  Runs on the thread that owns the fb_gitops handle (a worker
 * in the daemon, the main thread in the CLI).
 *
 * Edits go through yamledit, which splices scalars in place, so the diff
 * libgit2 prints shows only the changed lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/analyze.h"
#include "firebreak/buf.h"
#include "firebreak/propose.h"
#include "firebreak/quantity.h"
#include "firebreak/yamledit.h"

#define MAX_HISTORY 50

typedef struct {
	fb_gitops *g;
	const fb_config *cfg;
	const cJSON *state;
	const cJSON *cls;
	const cJSON *overrides;
	const char *app;
	cJSON *out;
	char file[512];
	char *text; /* the file at the tip, then edited */
	size_t len;
	char *orig;
	size_t orig_len;
	char blob[41];
} ctx;

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *fact(const ctx *c, const char *k)
{
	return str(cJSON_GetObjectItemCaseSensitive(c->cls, "facts"), k);
}

static void manual(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void manual(ctx *c, const char *fmt, ...)
{
	char reason[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cJSON_DeleteItemFromObject(c->out, "action");
	cJSON_AddStringToObject(c->out, "action", "manual");
	cJSON_DeleteItemFromObject(c->out, "reason");
	cJSON_AddStringToObject(c->out, "reason", reason);
}

/* Finds and reads the values file of the app. */
static int load_values(ctx *c)
{
	char how[600];
	fb_err rc;

	if (!c->g) {
		manual(c, "no GitOps repository configured");
		return 0;
	}
	if (!c->app || !*c->app) {
		manual(c, "the log does not name the app; rerun with --app NAME");
		return 0;
	}
	rc = fb_gitops_find_values(c->g, c->app, c->file, sizeof(c->file), how, sizeof(how));
	if (rc) {
		manual(c, "%s", fb_error_last());
		return 0;
	}
	rc = fb_gitops_read(c->g, c->file, &c->orig, &c->orig_len, c->blob);
	if (rc) {
		manual(c, "%s", fb_error_last());
		return 0;
	}
	c->text = malloc(c->orig_len + 1);
	if (!c->text) {
		manual(c, "out of memory");
		return 0;
	}
	memcpy(c->text, c->orig, c->orig_len + 1);
	c->len = c->orig_len;
	cJSON_AddStringToObject(c->out, "file", c->file);
	cJSON_AddStringToObject(c->out, "found_by", how);
	return 1;
}

/* Does any path component equal the app or container name? */
static int names_app(const ctx *c, const char *path)
{
	const char *container = fact(c, "container");
	char buf[512], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
		if ((c->app && !strcmp(t, c->app)) || (container && !strcmp(t, container)))
			return 1;
	return 0;
}

/* Chooses the block named key (resources, image, persistence) that belongs
 * to the app: the one whose path names the app or its container, else the
 * top-level one, else the only one.  Writes "" for "none, create at top
 * level"; returns 0 when several fit equally (ambiguous). */
static int pick_block(ctx *c, const fb_yaml_doc *doc, const char *key, const char *child, char *out,
                      size_t outsz)
{
	char **paths = NULL;
	size_t n = 0;
	int best = -1, best_score = -1, ties = 0;

	out[0] = '\0';
	if (fb_yaml_find_key(doc, key, &paths, &n) != FB_OK)
		return 1;
	for (size_t i = 0; i < n; i++) {
		char probe[600];
		int score = 0;
		snprintf(probe, sizeof(probe), "%s.%s", paths[i], child);
		if (child[0] && !fb_yaml_has(doc, probe) && !fb_yaml_is_mapping(doc, paths[i]) &&
		    fb_yaml_has(doc, paths[i])) {
			const char *v;
			if (fb_yaml_get_scalar(doc, paths[i], &v) != FB_OK || *v)
				continue; /* neither a mapping nor empty: not a block */
		}
		if (names_app(c, paths[i]))
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

static fb_err set_value(ctx *c, const char *path, const char *value)
{
	char *next = NULL;
	size_t nlen = 0;
	fb_err rc = fb_yaml_set(c->text, c->len, c->file, path, value, &next, &nlen);
	if (rc)
		return rc;
	free(c->text);
	c->text = next;
	c->len = nlen;
	return FB_OK;
}

static void add_edit(ctx *c, const char *path, const char *old, const char *new_value)
{
	cJSON *edits = cJSON_GetObjectItemCaseSensitive(c->out, "edits");
	cJSON *e = cJSON_CreateObject();
	fb_yaml_doc *doc = NULL;

	cJSON_AddStringToObject(e, "path", path);
	cJSON_AddStringToObject(e, "old", old ? old : "");
	cJSON_AddStringToObject(e, "new", new_value);
	if (fb_yaml_doc_parse(c->text, c->len, c->file, &doc) == FB_OK)
		cJSON_AddNumberToObject(e, "line", fb_yaml_line(doc, path));
	fb_yaml_doc_free(doc);
	cJSON_AddItemToArray(edits, e);
}

/* Applies one edit, honouring a person's override, and records it. */
static int edit(ctx *c, const char *path, const char *old, const char *proposed)
{
	const char *v = str(c->overrides, path);
	if (!v)
		v = proposed;
	if (old && !strcmp(old, v))
		return 1; /* nothing to change */
	if (set_value(c, path, v) != FB_OK) {
		manual(c, "cannot edit %s in %s: %s", path, c->file, fb_error_last());
		return 0;
	}
	add_edit(c, path, old, v);
	return 1;
}

static void join(char *out, size_t outsz, const char *base, const char *rest)
{
	snprintf(out, outsz, "%s%s%s", base, *base ? "." : "", rest);
}

static double qty_value(const char *s)
{
	fb_quantity q;
	return s && fb_quantity_parse(s, &q) == FB_OK ? q.value : -1;
}

/* ---- OOM: raise the memory limit (and request) ---- */

/* The kernel reports cgroup limits in kB; Kubernetes wants Ki. */
static void normalise_qty(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in);
	if (n > 2 && !strcmp(in + n - 2, "kB"))
		snprintf(out, outsz, "%.*sKi", (int)(n - 2), in);
	else
		snprintf(out, outsz, "%s", in);
}

static void propose_oom(ctx *c)
{
	fb_yaml_doc *doc = NULL;
	char block[512], lim_path[600], req_path[600], base[64] = "";
	char cur_lim[64] = "", cur_req[64] = "", new_lim[64], new_req[64];
	const char *v, *final_lim;
	int capped = 0, capped_req = 0;
	double factor = c->cfg->policy.memory_factor;
	const char *max = c->cfg->policy.max_memory;

	if (!load_values(c))
		return;
	if (fb_yaml_doc_parse(c->text, c->len, c->file, &doc) != FB_OK) {
		manual(c, "%s", fb_error_last());
		return;
	}
	if (!pick_block(c, doc, "resources", "limits", block, sizeof(block))) {
		fb_yaml_doc_free(doc);
		manual(c, "%s has several resources blocks and none is clearly %s's", c->file,
		       c->app);
		return;
	}
	if (!block[0])
		snprintf(block, sizeof(block), "resources");
	join(lim_path, sizeof(lim_path), block, "limits.memory");
	join(req_path, sizeof(req_path), block, "requests.memory");
	if (fb_yaml_get_scalar(doc, lim_path, &v) == FB_OK && *v)
		snprintf(cur_lim, sizeof(cur_lim), "%s", v);
	if (fb_yaml_get_scalar(doc, req_path, &v) == FB_OK && *v)
		snprintf(cur_req, sizeof(cur_req), "%s", v);
	fb_yaml_doc_free(doc);
	fb_error_clear();

	if (cur_lim[0])
		snprintf(base, sizeof(base), "%s", cur_lim);
	else if (fact(c, "limit"))
		normalise_qty(fact(c, "limit"), base, sizeof(base));
	else if (cur_req[0])
		snprintf(base, sizeof(base), "%s", cur_req);
	if (!base[0]) {
		manual(c, "neither %s nor the log shows a memory limit to raise", c->file);
		return;
	}
	fb_err rc = fb_quantity_raise(base, factor, max, new_lim, sizeof(new_lim), &capped);
	if (rc == FB_ECONFLICT) {
		manual(c, "the memory limit %s is already at policy.max_memory (%s)", base, max);
		return;
	} else if (rc) {
		manual(c, "cannot raise %s: %s", base, fb_error_last());
		return;
	}
	if (!edit(c, lim_path, cur_lim[0] ? cur_lim : NULL, new_lim))
		return;
	final_lim = str(c->overrides, lim_path) ? str(c->overrides, lim_path) : new_lim;
	if (cur_req[0] && fb_quantity_raise(cur_req, factor, max, new_req, sizeof(new_req),
	                                    &capped_req) == FB_OK) {
		if (qty_value(new_req) > qty_value(final_lim))
			snprintf(new_req, sizeof(new_req), "%s", final_lim);
		if (!edit(c, req_path, cur_req, new_req))
			return;
	}
	char summary[400];
	snprintf(summary, sizeof(summary), "Raise the memory limit of %s from %s to %s%s", c->app,
	         cur_lim[0] ? cur_lim : base, final_lim,
	         capped ? " (capped by policy.max_memory)" : "");
	cJSON_AddStringToObject(c->out, "summary", summary);
	cJSON_AddBoolToObject(c->out, "capped", capped);
}

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

static void propose_image(ctx *c, int after_change_only)
{
	fb_yaml_doc *doc = NULL;
	fb_file_version *hist = NULL;
	size_t n = 0;
	char block[512], tag_path[600], cur[256] = "", prev[256] = "", t[256];
	const char *prev_commit = NULL;

	if (!load_values(c))
		return;
	if (fb_yaml_doc_parse(c->text, c->len, c->file, &doc) != FB_OK) {
		manual(c, "%s", fb_error_last());
		return;
	}
	int ok = pick_block(c, doc, "image", "tag", block, sizeof(block)) && block[0];
	fb_yaml_doc_free(doc);
	join(tag_path, sizeof(tag_path), block, "tag");
	if (!ok || !tag_in(c->text, c->len, tag_path, cur, sizeof(cur))) {
		manual(c, "%s sets no image.tag to roll back", c->file);
		return;
	}
	if (fb_gitops_history(c->g, c->file, MAX_HISTORY, &hist, &n) != FB_OK) {
		manual(c, "%s", fb_error_last());
		return;
	}
	for (size_t i = 0; i < n && !prev[0]; i++)
		if (tag_in(hist[i].content, hist[i].len, tag_path, t, sizeof(t)) &&
		    strcmp(t, cur)) {
			snprintf(prev, sizeof(prev), "%s", t);
			prev_commit = hist[i].commit;
		}
	if (after_change_only && prev[0]) {
		/* only right after the tag changed: the newest change to the file
		 * must be the one that introduced the current tag, and recent */
		int recent = n > 0 && (int64_t)time(NULL) - hist[0].time <=
		                          c->cfg->policy.image_change_window;
		int newest = n > 1 &&
		             tag_in(hist[1].content, hist[1].len, tag_path, t, sizeof(t)) &&
		             strcmp(t, cur) != 0;
		if (!recent || !newest) {
			fb_file_versions_free(hist, n);
			manual(c, "the crash loop does not follow a recent image change in %s",
			       c->file);
			return;
		}
	}
	if (!prev[0]) {
		fb_file_versions_free(hist, n);
		manual(c, "git history of %s has no earlier image tag than %s", c->file, cur);
		return;
	}
	char summary[700];
	snprintf(summary, sizeof(summary),
	         "Roll the image tag of %s back from %s to %s (as of %.12s)", c->app, cur, prev,
	         prev_commit);
	fb_file_versions_free(hist, n);
	if (!edit(c, tag_path, cur, prev))
		return;
	cJSON_AddStringToObject(c->out, "summary", summary);
}

/* ---- disk: grow the volume ---- */

static void propose_disk(ctx *c)
{
	fb_yaml_doc *doc = NULL;
	char block[512], path[600], cur[64] = "", next[64];
	const char *v;
	int capped = 0;

	if (!load_values(c))
		return;
	if (fb_yaml_doc_parse(c->text, c->len, c->file, &doc) != FB_OK) {
		manual(c, "%s", fb_error_last());
		return;
	}
	int ok = pick_block(c, doc, "persistence", "size", block, sizeof(block)) && block[0];
	join(path, sizeof(path), block, "size");
	if (ok && fb_yaml_get_scalar(doc, path, &v) == FB_OK && *v)
		snprintf(cur, sizeof(cur), "%s", v);
	fb_yaml_doc_free(doc);
	fb_error_clear();
	if (!cur[0]) {
		manual(c, "%s sets no persistence.size to grow", c->file);
		return;
	}
	fb_err rc = fb_quantity_raise(cur, c->cfg->policy.disk_factor, c->cfg->policy.max_disk,
	                              next, sizeof(next), &capped);
	if (rc) {
		manual(c,
		       rc == FB_ECONFLICT ? "the volume (%s) is already at policy.max_disk"
		                          : "cannot grow the volume %s",
		       cur);
		return;
	}
	if (!edit(c, path, cur, next))
		return;
	char summary[300];
	snprintf(summary, sizeof(summary), "Grow the volume of %s from %s to %s", c->app, cur,
	         str(c->overrides, path) ? str(c->overrides, path) : next);
	cJSON_AddStringToObject(c->out, "summary", summary);
	cJSON_AddBoolToObject(c->out, "capped", capped);
}

/* ---- config error: revert the latest change to the app's files ---- */

static void add_change(cJSON *changes, const char *path, const char *blob, const char *content)
{
	cJSON *ch = cJSON_CreateObject();
	cJSON_AddStringToObject(ch, "path", path);
	cJSON_AddStringToObject(ch, "base_blob", blob);
	if (content)
		cJSON_AddStringToObject(ch, "content", content);
	else
		cJSON_AddNullToObject(ch, "content");
	cJSON_AddItemToArray(changes, ch);
}

static void propose_revert(ctx *c)
{
	char dir[512], hex[41], subject[256], *slash;
	fb_change *ch = NULL;
	size_t n = 0;

	if (!load_values(c))
		return;
	snprintf(dir, sizeof(dir), "%s", c->file);
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		snprintf(dir, sizeof(dir), "%s", c->file);
	if (fb_gitops_last_change(c->g, dir, hex, subject, sizeof(subject)) != FB_OK ||
	    fb_gitops_revert(c->g, hex, &ch, &n) != FB_OK) {
		manual(c, "%s", fb_error_last());
		fb_changes_free(ch, n);
		return;
	}
	cJSON *changes = cJSON_GetObjectItemCaseSensitive(c->out, "changes");
	fb_buf diffs;
	fb_buf_init(&diffs, 1024 * 1024);
	for (size_t i = 0; i < n; i++) {
		char *old = NULL, *d = NULL;
		size_t oldlen = 0;
		fb_gitops_read(c->g, ch[i].path, &old, &oldlen, NULL);
		if (fb_gitops_diff(ch[i].path, old ? old : "", oldlen,
		                   ch[i].content ? ch[i].content : "", ch[i].len, &d) == FB_OK)
			fb_buf_addstr(&diffs, d);
		free(d);
		free(old);
		add_change(changes, ch[i].path, ch[i].base_blob, ch[i].content);
	}
	fb_error_clear();
	fb_changes_free(ch, n);
	cJSON_DeleteItemFromObject(c->out, "action");
	cJSON_AddStringToObject(c->out, "action", "git_revert");
	cJSON *rv = cJSON_AddObjectToObject(c->out, "revert");
	cJSON_AddStringToObject(rv, "commit", hex);
	cJSON_AddStringToObject(rv, "subject", subject);
	char summary[400];
	snprintf(summary, sizeof(summary), "Revert %.12s \"%s\", the latest change to %s", hex,
	         subject, dir);
	cJSON_AddStringToObject(c->out, "summary", summary);
	cJSON_AddStringToObject(c->out, "diff", fb_buf_str(&diffs));
	fb_buf_free(&diffs);
}

/* ---- the entry point ---- */

static void finish_values_patch(ctx *c)
{
	cJSON *edits = cJSON_GetObjectItemCaseSensitive(c->out, "edits");
	char *d = NULL;

	if (strcmp(str(c->out, "action"), "values_patch") != 0)
		return;
	if (cJSON_GetArraySize(edits) == 0) {
		manual(c, "the proposed values are already in %s", c->file);
		return;
	}
	if (fb_gitops_diff(c->file, c->orig, c->orig_len, c->text, c->len, &d) != FB_OK) {
		manual(c, "%s", fb_error_last());
		return;
	}
	add_change(cJSON_GetObjectItemCaseSensitive(c->out, "changes"), c->file, c->blob, c->text);
	cJSON_AddStringToObject(c->out, "diff", d);
	free(d);
}

static const char *pick_app(const cJSON *state)
{
	const char *app = str(state, "app");
	return app && *app ? app : NULL;
}

fb_err fb_propose(fb_gitops *g, const fb_config *cfg, const cJSON *state, const cJSON *overrides,
                  cJSON **out)
{
	ctx c = {.g = g, .cfg = cfg, .state = state, .overrides = overrides};
	const char *cat;

	c.cls = cJSON_GetObjectItemCaseSensitive(state, "classification");
	c.app = pick_app(state);
	cat = str(c.cls, "category");
	c.out = cJSON_CreateObject();
	if (!c.out)
		return fb_error_set(FB_ENOMEM, "out of memory");
	cJSON_AddStringToObject(c.out, "action", "values_patch");
	cJSON_AddArrayToObject(c.out, "edits");
	cJSON_AddArrayToObject(c.out, "changes");
	if (!cat)
		cat = "unknown";
	if (!strcmp(cat, "oom"))
		propose_oom(&c);
	else if (!strcmp(cat, "image_pull_error"))
		propose_image(&c, 0);
	else if (!strcmp(cat, "crashloop"))
		propose_image(&c, 1);
	else if (!strcmp(cat, "config_error"))
		propose_revert(&c);
	else if (!strcmp(cat, "resource_exhausted") && fb_analyze_is_disk(c.cls))
		propose_disk(&c);
	else
		manual(&c, "no automatic fix for %s; see the suggested actions", cat);
	finish_values_patch(&c);
	if (!strcmp(str(c.out, "action"), "manual")) {
		cJSON_ReplaceItemInObject(c.out, "edits", cJSON_CreateArray());
		cJSON_ReplaceItemInObject(c.out, "changes", cJSON_CreateArray());
		cJSON_DeleteItemFromObject(c.out, "diff");
		if (!cJSON_GetObjectItemCaseSensitive(c.out, "summary"))
			cJSON_AddStringToObject(c.out, "summary",
			                        "No automatic fix: a person decides");
	}
	free(c.text);
	free(c.orig);
	*out = c.out;
	return FB_OK;
}

fb_err fb_propose_validate(const fb_config *cfg, const char *path, const char *value)
{
	size_t n = strlen(path);
	fb_quantity q, max;

	if (!*value)
		return fb_error_set(FB_EINVAL, "%s: a value is required", path);
	if (strlen(value) > 128 || strpbrk(value, "\n\r\t\"'#{}[],&*!|>%@`"))
		return fb_error_set(FB_EINVAL, "%s: \"%.40s\" is not a plain value", path, value);
	if ((n >= 6 && !strcmp(path + n - 6, "memory")) ||
	    (n >= 4 && !strcmp(path + n - 4, "size"))) {
		const char *cap = n >= 6 && !strcmp(path + n - 6, "memory") ? cfg->policy.max_memory
		                                                            : cfg->policy.max_disk;
		if (fb_quantity_parse(value, &q) != FB_OK || q.value <= 0)
			return fb_error_set(
			    FB_EINVAL, "%s: \"%s\" is not a Kubernetes quantity like 1Gi or 1536Mi",
			    path, value);
		if (fb_quantity_parse(cap, &max) == FB_OK && q.value > max.value)
			return fb_error_set(FB_EINVAL, "%s: %s is above the policy maximum %s",
			                    path, value, cap);
	}
	if (n >= 3 && !strcmp(path + n - 3, "tag")) {
		if (strspn(value,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		        strlen(value) ||
		    value[0] == '.' || value[0] == '-')
			return fb_error_set(FB_EINVAL, "%s: \"%s\" is not a valid image tag", path,
			                    value);
	}
	return FB_OK;
}
