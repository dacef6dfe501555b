/*
 * gitops.c - owns the GitOps repository handle and its libgit2 calls:
 * opening it, reading files and history at the branch tip, finding an
 * app's values file (through appindex.c), diffs, reverts, and the
 * approved commit (guarded by worktree.c) and push.  A handle belongs to
 * the thread that opened it (the CLI's main thread, or one worker in the
 * daemon).
 *
 * The branch tip, not the working tree, is the truth for proposals: the
 * daemon may run against a clone that people never touch.  Every step
 * costs what the change costs, not what the repository or its history
 * holds: the tip's commit and tree stay in the handle until the branch
 * moves, the commit's tree is built along the changed paths only, and the
 * idempotency walk stops at the changes' base.  When the repo has a
 * working tree checked out on the branch, apply keeps it in step (writes
 * the files, stages them) and refuses when a person's edits are in the
 * way.
 */
#include <git2.h>
#include <git2/sys/repository.h> /* git_repository_set_config */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "gitops_int.h"

#define MAX_FILE_BYTES FB_GITOPS_MAX_FILE_BYTES
#define MAX_WALK 2000 /* commits looked at when searching history */

void fb_gitops_global_init(void)
{
	git_libgit2_init();
	/* libgit2's object cache (small trees and commits) bounded at 1 MB
	 * instead of 256 MB: measured with make bench, caching big trees too
	 * cost more RSS than the inflating it saved. */
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)1024 * 1024);
}

void fb_gitops_global_shutdown(void)
{
	git_libgit2_shutdown();
}

fb_err fb_gitops_fail_(const char *what)
{
	const git_error *e = git_error_last();
	return fb_error_set(FB_EGIT, "%s: %s", what, e && e->message ? e->message : "git error");
}

/* libgit2 stats every config file (repository, global, system) on every
 * lookup to see whether it changed; a read-only snapshot does not.  Taken
 * when the handle opens and again before each apply (so an edited remote
 * or a new identity is seen by the next commit). */
void fb_gitops_snapshot_config_(fb_gitops *g)
{
	git_config *live = NULL, *snap = NULL;

	if (!g->live_config && git_repository_config(&live, g->repo) == 0)
		g->live_config = live;
	if (g->live_config && git_config_snapshot(&snap, g->live_config) == 0)
		git_repository_set_config(g->repo, snap);
	git_config_free(snap);
	git_error_clear();
}

fb_err fb_gitops_open(const fb_config *cfg, fb_gitops **out)
{
	fb_err rc = fb_gitops_clone_(cfg);

	*out = NULL;
	return rc ? rc : fb_gitops_open_at(cfg, cfg->gitops.repo, out);
}

fb_err fb_gitops_open_at(const fb_config *cfg, const char *path, fb_gitops **out)
{
	fb_gitops *g = calloc(1, sizeof(*g));
	char cache[1100];
	fb_err rc;

	*out = NULL;
	if (!g)
		return fb_error_set(FB_ENOMEM, "out of memory");
	g->cfg = cfg;
	snprintf(g->ref, sizeof(g->ref), "refs/heads/%s", cfg->gitops.branch);
	if (git_repository_open_ext(&g->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		rc = fb_gitops_fail_("opening the GitOps repository");
		fb_error_wrap(rc, "%s", path);
		free(g);
		return rc;
	}
	fb_gitops_snapshot_config_(g);
	snprintf(cache, sizeof(cache), "%sfirebreak-appindex", git_repository_path(g->repo));
	if ((rc = fb_appindex_new(cache, &g->index))) {
		fb_gitops_free(g);
		return rc;
	}
	*out = g;
	return FB_OK;
}

const char *fb_gitops_path(const fb_gitops *g)
{
	const char *wd = git_repository_workdir(g->repo);
	return wd ? wd : git_repository_path(g->repo);
}

void fb_gitops_free(fb_gitops *g)
{
	if (!g)
		return;
	if (g->index) {
		fb_appindex_save(g->index);
		fb_appindex_free(g->index);
	}
	fb_gitops_save_clean_(g);
	git_tree_free(g->tip_tree);
	git_commit_free(g->tip);
	git_config_free(g->live_config);
	git_repository_free(g->repo);
	free(g);
}

/* Resolves the branch tip (one read of the ref); the commit and its tree
 * stay in the handle until the branch moves. */
static fb_err tip(fb_gitops *g)
{
	git_oid oid;
	git_commit *c = NULL;
	git_tree *t = NULL;

	if (git_reference_name_to_id(&oid, g->repo, g->ref) < 0)
		return fb_error_set(FB_ENOTFOUND, "branch %s not found in the GitOps repository",
		                    g->cfg->gitops.branch);
	if (g->tip && git_oid_equal(&oid, &g->tip_id))
		return FB_OK;
	if (git_commit_lookup(&c, g->repo, &oid) < 0 || git_commit_tree(&t, c) < 0) {
		git_commit_free(c);
		return fb_gitops_fail_("reading the branch tip");
	}
	git_tree_free(g->tip_tree);
	git_commit_free(g->tip);
	g->tip = c;
	g->tip_tree = t;
	git_oid_cpy(&g->tip_id, &oid);
	return FB_OK;
}

fb_err fb_gitops_tip(fb_gitops *g, char hex[41])
{
	fb_err rc = tip(g);
	if (rc)
		return rc;
	git_oid_tostr(hex, 41, &g->tip_id);
	return FB_OK;
}

/* The blob id of path in tree; 0 when it is not a file there. */
static int entry_in(git_tree *tree, const char *path, git_oid *out)
{
	git_tree_entry *e = NULL;
	int ok =
	    git_tree_entry_bypath(&e, tree, path) == 0 && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
	if (ok)
		git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return ok;
}

/* The blob of path in tree, or FB_ENOTFOUND. */
static fb_err blob_in(fb_gitops *g, git_tree *tree, const char *path, git_blob **out)
{
	git_oid id;
	*out = NULL;
	if (!entry_in(tree, path, &id)) {
		git_error_clear();
		return fb_error_set(FB_ENOTFOUND, "%s not found at the branch tip", path);
	}
	if (git_blob_lookup(out, g->repo, &id) < 0)
		return fb_gitops_fail_("reading a file");
	return FB_OK;
}

/* The blob of path in commit c, or FB_ENOTFOUND. */
static fb_err blob_at(fb_gitops *g, git_commit *c, const char *path, git_blob **out)
{
	git_tree *tree = NULL;
	fb_err rc;

	*out = NULL;
	if (git_commit_tree(&tree, c) < 0)
		return fb_gitops_fail_("reading a tree");
	rc = blob_in(g, tree, path, out);
	git_tree_free(tree);
	return rc;
}

static fb_err blob_copy(git_blob *b, char **content, size_t *len)
{
	git_object_size_t n = git_blob_rawsize(b);
	if (n > MAX_FILE_BYTES)
		return fb_error_set(FB_ETOOBIG, "file larger than %u bytes", MAX_FILE_BYTES);
	*content = malloc((size_t)n + 1);
	if (!*content)
		return fb_error_set(FB_ENOMEM, "out of memory");
	memcpy(*content, git_blob_rawcontent(b), (size_t)n);
	(*content)[n] = '\0';
	*len = (size_t)n;
	return FB_OK;
}

fb_err fb_gitops_read(fb_gitops *g, const char *path, char **content, size_t *len, char blob[41])
{
	git_blob *b;
	fb_err rc;

	*content = NULL;
	*len = 0;
	if ((rc = tip(g)) || (rc = blob_in(g, g->tip_tree, path, &b)))
		return rc;
	if (blob)
		git_oid_tostr(blob, 41, git_blob_id(b));
	rc = blob_copy(b, content, len);
	git_blob_free(b);
	return rc;
}

/* ---- finding the values file ---- */

static int exists_at_tip(fb_gitops *g, const char *path)
{
	git_oid id;
	int ok = entry_in(g->tip_tree, path, &id);
	git_error_clear();
	return ok;
}

static void expand_template(const char *tpl, const char *app, char *out, size_t outsz)
{
	fb_buf b;
	fb_buf_init(&b, outsz - 1);
	for (const char *p = tpl; *p; p++) {
		if (!strncmp(p, "{app}", 5)) {
			fb_buf_addstr(&b, app);
			p += 4;
		} else {
			fb_buf_addc(&b, *p);
		}
	}
	snprintf(out, outsz, "%s", fb_buf_str(&b));
	fb_buf_free(&b);
}

/* The last existing values file of the Application wins: it has the
 * highest precedence in Helm, so that is where a value must change. */
static int pick_argocd(fb_gitops *g, const fb_argocd_values *found, char *path, size_t pathsz)
{
	for (size_t i = found->n; i-- > 0;) {
		if (exists_at_tip(g, found->files[i])) {
			snprintf(path, pathsz, "%s", found->files[i]);
			return 1;
		}
	}
	return 0;
}

fb_err fb_gitops_find_values(fb_gitops *g, const char *app, char *path, size_t pathsz, char *how,
                             size_t howsz)
{
	fb_appindex_hit s;
	char tpl[512];
	fb_err rc;

	if (!app || !*app || strchr(app, '/') || strstr(app, ".."))
		return fb_error_set(FB_EINVAL, "no usable app name to look up");
	if ((rc = tip(g)) || (rc = fb_appindex_sync(g->index, g->repo, g->tip_tree)))
		return rc;
	fb_appindex_lookup(g->index, app, &s);
	if (pick_argocd(g, &s.argocd, path, pathsz)) {
		snprintf(how, howsz, "Argo CD Application in %s", s.manifest);
		return FB_OK;
	}
	expand_template(g->cfg->gitops.values_path, app, tpl, sizeof(tpl));
	if (exists_at_tip(g, tpl)) {
		snprintf(path, pathsz, "%s", tpl);
		snprintf(how, howsz, "gitops.values_path %s", g->cfg->gitops.values_path);
		return FB_OK;
	}
	if (s.nmatch == 1) {
		snprintf(path, pathsz, "%s", s.match);
		snprintf(how, howsz, "the only %s/values.yaml in the repository", app);
		return FB_OK;
	}
	if (s.nmatch > 1)
		return fb_error_set(FB_ENOTFOUND,
		                    "%d files named %s/values.yaml and no Argo CD Application "
		                    "for %s: set gitops.values_path",
		                    s.nmatch, app, app);
	return fb_error_set(FB_ENOTFOUND,
	                    "no values file for app %s (looked for an Argo CD "
	                    "Application, %s, and */%s/values.yaml)",
	                    app, tpl, app);
}

void fb_gitops_index_stats_get(fb_gitops *g, fb_gitops_index_stats *out)
{
	fb_appindex_stats(g->index, out);
}

/* ---- history ---- */

static fb_err walker(fb_gitops *g, git_revwalk **w)
{
	git_oid oid;
	if (git_reference_name_to_id(&oid, g->repo, g->ref) < 0)
		return fb_error_set(FB_ENOTFOUND, "branch %s not found", g->cfg->gitops.branch);
	if (git_revwalk_new(w, g->repo) < 0)
		return fb_gitops_fail_("walking history");
	/* newest first, incrementally: a topological sort would read the
	 * whole history before the first commit comes out */
	git_revwalk_sorting(*w, GIT_SORT_TIME);
	if (git_revwalk_push(*w, &oid) < 0) {
		git_revwalk_free(*w);
		return fb_gitops_fail_("walking history");
	}
	return FB_OK;
}

/* The id of the entry at path in c (zero oid when absent). */
static void entry_id(git_commit *c, const char *path, git_oid *out)
{
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	memset(out, 0, sizeof(*out));
	if (git_commit_tree(&t, c) == 0 && git_tree_entry_bypath(&e, t, path) == 0)
		git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
	git_tree_free(t);
}

/* Did commit c change path (compared with its first parent)? */
static int changed(git_commit *c, const char *path)
{
	git_oid mine, theirs;
	git_commit *parent = NULL;

	entry_id(c, path, &mine);
	if (git_commit_parentcount(c) == 0)
		return !git_oid_is_zero(&mine);
	if (git_commit_parent(&parent, c, 0) < 0)
		return 0;
	entry_id(parent, path, &theirs);
	git_commit_free(parent);
	return !git_oid_equal(&mine, &theirs);
}

fb_err fb_gitops_history(fb_gitops *g, const char *path, size_t max, fb_file_version **out,
                         size_t *n)
{
	git_revwalk *w;
	git_oid oid;
	fb_file_version *v = calloc(max ? max : 1, sizeof(*v));
	size_t len = 0;
	fb_err rc;

	*out = NULL;
	*n = 0;
	if (!v)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if ((rc = walker(g, &w))) {
		free(v);
		return rc;
	}
	for (int seen = 0; len < max && seen < MAX_WALK && git_revwalk_next(&oid, w) == 0; seen++) {
		git_commit *c;
		git_blob *b;
		if (git_commit_lookup(&c, g->repo, &oid) < 0)
			continue;
		if (changed(c, path)) {
			git_oid_tostr(v[len].commit, 41, &oid);
			v[len].time = (int64_t)git_commit_time(c);
			if (blob_at(g, c, path, &b) == FB_OK) {
				blob_copy(b, &v[len].content, &v[len].len);
				git_blob_free(b);
			}
			len++;
		}
		git_commit_free(c);
	}
	git_revwalk_free(w);
	fb_error_clear();
	*out = v;
	*n = len;
	return FB_OK;
}

void fb_file_versions_free(fb_file_version *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].content);
	free(v);
}

/* Does c (against its first parent) touch anything under prefix? */
static int touches_prefix(fb_gitops *g, git_commit *c, const char *prefix)
{
	git_tree *t = NULL, *pt = NULL;
	git_commit *parent = NULL;
	git_diff *d = NULL;
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	char *spec[1] = {(char *)prefix};
	int hit = 0;

	opts.pathspec.strings = spec;
	opts.pathspec.count = 1;
	if (git_commit_tree(&t, c) < 0)
		return 0;
	if (git_commit_parentcount(c) && git_commit_parent(&parent, c, 0) == 0)
		git_commit_tree(&pt, parent);
	if (git_diff_tree_to_tree(&d, g->repo, pt, t, &opts) == 0)
		hit = git_diff_num_deltas(d) > 0;
	git_diff_free(d);
	git_tree_free(pt);
	git_tree_free(t);
	git_commit_free(parent);
	return hit;
}

fb_err fb_gitops_last_change(fb_gitops *g, const char *prefix, char hex[41], char *summary,
                             size_t summarysz)
{
	git_revwalk *w;
	git_oid oid;
	fb_err rc = walker(g, &w);

	if (rc)
		return rc;
	for (int seen = 0; seen < MAX_WALK && git_revwalk_next(&oid, w) == 0; seen++) {
		git_commit *c;
		if (git_commit_lookup(&c, g->repo, &oid) < 0)
			continue;
		/* the root commit created the files: nothing to revert to */
		int ok = git_commit_parentcount(c) == 1 && touches_prefix(g, c, prefix);
		if (ok) {
			git_oid_tostr(hex, 41, &oid);
			snprintf(summary, summarysz, "%s", git_commit_summary(c));
		}
		git_commit_free(c);
		if (ok) {
			git_revwalk_free(w);
			return FB_OK;
		}
	}
	git_revwalk_free(w);
	return fb_error_set(FB_ENOTFOUND, "no revertable commit touches %s", prefix);
}

static int atoi_safe(const char *s)
{
	long v = strtol(s, NULL, 10);
	return v > 0 && v < 1000 ? (int)v : 1;
}

/* Is c the commit of the incident's fix number step? */
int fb_gitops_is_fix_commit_(git_commit *c, const char *incident_id, int step)
{
	git_message_trailer_array tr = {0};
	int hit = 0, its_step = 1;

	if (git_message_trailers(&tr, git_commit_message(c)) != 0)
		return 0;
	for (size_t i = 0; i < tr.count; i++) {
		if (!strcmp(tr.trailers[i].key, "Incident-Id") &&
		    !strcmp(tr.trailers[i].value, incident_id))
			hit = 1;
		if (!strcmp(tr.trailers[i].key, "Incident-Step"))
			its_step = atoi_safe(tr.trailers[i].value);
	}
	git_message_trailer_array_free(&tr);
	return hit && its_step == (step > 1 ? step : 1);
}

fb_err fb_gitops_find_incident_commit(fb_gitops *g, const char *incident_id, int step, char hex[41])
{
	git_revwalk *w;
	git_oid oid;
	fb_err rc = walker(g, &w);

	if (rc)
		return rc;
	git_revwalk_simplify_first_parent(w);
	for (int seen = 0; seen < MAX_WALK && git_revwalk_next(&oid, w) == 0; seen++) {
		git_commit *c;
		if (git_commit_lookup(&c, g->repo, &oid) < 0)
			continue;
		int hit = fb_gitops_is_fix_commit_(c, incident_id, step);
		git_commit_free(c);
		if (hit) {
			git_oid_tostr(hex, 41, &oid);
			git_revwalk_free(w);
			return FB_OK;
		}
	}
	git_revwalk_free(w);
	return fb_error_set(FB_ENOTFOUND, "no commit for %s", incident_id);
}

/* Is every changed file in c's tree still at its base (so that a fix made
 * on that base can only be a descendant of c)? */
static int at_base(git_commit *c, const fb_change *ch, size_t n)
{
	git_tree *t = NULL;
	int all = 1;

	if (git_commit_tree(&t, c) < 0)
		return 1; /* unreadable: stop the walk */
	for (size_t i = 0; all && i < n; i++) {
		git_oid id;
		char hex[41] = "";
		if (entry_in(t, ch[i].path, &id))
			git_oid_tostr(hex, sizeof(hex), &id);
		all = !strcmp(hex, ch[i].base_blob);
	}
	git_error_clear();
	git_tree_free(t);
	return all;
}

fb_err fb_gitops_find_applied(fb_gitops *g, const fb_change *changes, size_t n,
                              const fb_commit_info *info, char hex[41], unsigned *walked)
{
	git_commit *c = NULL;
	unsigned seen = 0;
	fb_err rc = tip(g);

	if (walked)
		*walked = 0;
	if (rc)
		return rc;
	git_commit_dup(&c, g->tip);
	while (c && seen < FB_GITOPS_APPLIED_WALK) {
		git_commit *parent = NULL;
		seen++;
		if (fb_gitops_is_fix_commit_(c, info->incident_id, info->step)) {
			git_oid_tostr(hex, 41, git_commit_id(c));
			git_commit_free(c);
			if (walked)
				*walked = seen;
			return FB_OK;
		}
		if (at_base(c, changes, n) || git_commit_parentcount(c) == 0 ||
		    git_commit_parent(&parent, c, 0) < 0)
			parent = NULL;
		git_commit_free(c);
		c = parent;
	}
	git_commit_free(c);
	git_error_clear();
	if (walked)
		*walked = seen;
	return fb_error_set(FB_ENOTFOUND, "no commit for %s since its base", info->incident_id);
}

/* ---- diff and revert ---- */

fb_err fb_gitops_diff(const char *path, const char *old, size_t oldlen, const char *new_text,
                      size_t newlen, char **diff)
{
	git_patch *patch = NULL;
	git_buf buf = {0};
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;

	*diff = NULL;
	opts.context_lines = 3;
	if (git_patch_from_buffers(&patch, old, oldlen, path, new_text, newlen, path, &opts) < 0)
		return fb_gitops_fail_("making the diff");
	if (git_patch_to_buf(&buf, patch) < 0) {
		git_patch_free(patch);
		return fb_gitops_fail_("printing the diff");
	}
	*diff = strdup(buf.ptr ? buf.ptr : "");
	git_buf_dispose(&buf);
	git_patch_free(patch);
	return *diff ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
}

void fb_changes_free(fb_change *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++)
		free((char *)c[i].content);
	free(c);
}

static fb_err change_from_delta(fb_gitops *g, const git_diff_delta *d, git_tree *tip_tree,
                                fb_change *c)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	size_t len = 0;
	char *content = NULL;

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", d->new_file.path);
	if (git_tree_entry_bypath(&e, tip_tree, d->new_file.path) == 0)
		git_oid_tostr(c->base_blob, 41, git_tree_entry_id(e));
	git_tree_entry_free(e);
	if (d->status == GIT_DELTA_DELETED)
		return FB_OK;
	if (git_blob_lookup(&b, g->repo, &d->new_file.id) < 0)
		return fb_gitops_fail_("reading a reverted file");
	fb_err rc = blob_copy(b, &content, &len);
	git_blob_free(b);
	c->content = content;
	c->len = len;
	return rc;
}

fb_err fb_gitops_revert(fb_gitops *g, const char *hex, fb_change **out, size_t *n)
{
	git_commit *tip_c = NULL, *target = NULL;
	git_index *idx = NULL;
	git_tree *tip_tree = NULL, *new_tree = NULL;
	git_diff *d = NULL;
	git_oid oid, tree_oid;
	fb_err rc;

	*out = NULL;
	*n = 0;
	if ((rc = tip(g)))
		return rc;
	git_commit_dup(&tip_c, g->tip);
	if (git_oid_fromstr(&oid, hex) < 0 || git_commit_lookup(&target, g->repo, &oid) < 0) {
		rc = fb_gitops_fail_("finding the commit to revert");
	} else if (git_revert_commit(&idx, g->repo, target, tip_c, 0, NULL) < 0) {
		rc = fb_gitops_fail_("reverting");
	} else if (git_index_has_conflicts(idx)) {
		rc = fb_error_set(FB_ECONFLICT, "commit %.12s does not revert cleanly on %s", hex,
		                  g->cfg->gitops.branch);
	} else if (git_index_write_tree_to(&tree_oid, idx, g->repo) < 0 ||
	           git_tree_lookup(&new_tree, g->repo, &tree_oid) < 0 ||
	           git_commit_tree(&tip_tree, tip_c) < 0 ||
	           git_diff_tree_to_tree(&d, g->repo, tip_tree, new_tree, NULL) < 0) {
		rc = fb_gitops_fail_("computing the revert");
	} else {
		size_t nd = git_diff_num_deltas(d);
		fb_change *c = calloc(nd ? nd : 1, sizeof(*c));
		if (!c)
			rc = fb_error_set(FB_ENOMEM, "out of memory");
		for (size_t i = 0; c && i < nd && !rc; i++, (*n)++)
			rc = change_from_delta(g, git_diff_get_delta(d, i), tip_tree, &c[i]);
		*out = c;
	}
	git_diff_free(d);
	git_tree_free(new_tree);
	git_tree_free(tip_tree);
	git_index_free(idx);
	git_commit_free(target);
	git_commit_free(tip_c);
	return rc;
}

/* ---- apply ---- */

static fb_err check_base(fb_gitops *g, const fb_change *c)
{
	git_oid id;
	char now[41] = "";

	if (entry_in(g->tip_tree, c->path, &id))
		git_oid_tostr(now, sizeof(now), &id);
	git_error_clear();
	if (strcmp(now, c->base_blob) != 0)
		return fb_error_set(FB_ECONFLICT,
		                    "%s changed on %s since the fix was proposed (blob %.12s, "
		                    "proposed against %.12s): proposing again",
		                    c->path, g->cfg->gitops.branch, now[0] ? now : "none",
		                    c->base_blob[0] ? c->base_blob : "none");
	return FB_OK;
}

/* Writes tree (NULL: empty) with path set to blob (removed when blob is
 * NULL) as *out: only the trees along the path are read and written.
 * *empty when nothing is left (a directory git does not keep). */
static fb_err tree_with(fb_gitops *g, git_tree *tree, const char *path, const git_oid *blob,
                        git_oid *out, int *empty)
{
	git_treebuilder *tb = NULL;
	const char *slash = strchr(path, '/');
	size_t nl = slash ? (size_t)(slash - path) : strlen(path);
	char name[256];
	fb_err rc = FB_OK;

	*empty = 0;
	if (!nl || nl >= sizeof(name))
		return fb_error_set(FB_EINVAL, "bad path %s", path);
	memcpy(name, path, nl);
	name[nl] = '\0';
	if (git_treebuilder_new(&tb, g->repo, tree) < 0)
		return fb_gitops_fail_("preparing the commit");
	const git_tree_entry *e = tree ? git_tree_entry_byname(tree, name) : NULL;
	if (slash) {
		git_tree *sub = NULL;
		git_oid id;
		int gone = 0;
		if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
		    git_tree_lookup(&sub, g->repo, git_tree_entry_id(e)) < 0)
			rc = fb_gitops_fail_("reading a tree");
		if (!rc)
			rc = tree_with(g, sub, slash + 1, blob, &id, &gone);
		git_tree_free(sub);
		if (!rc && gone && e)
			git_treebuilder_remove(tb, name);
		else if (!rc && !gone &&
		         git_treebuilder_insert(NULL, tb, name, &id, GIT_FILEMODE_TREE) < 0)
			rc = fb_gitops_fail_("staging a file");
	} else if (!blob) {
		if (e)
			git_treebuilder_remove(tb, name);
	} else if (git_treebuilder_insert(NULL, tb, name, blob,
	                                  e && git_tree_entry_filemode(e) ==
	                                              GIT_FILEMODE_BLOB_EXECUTABLE
	                                      ? GIT_FILEMODE_BLOB_EXECUTABLE
	                                      : GIT_FILEMODE_BLOB) < 0) {
		rc = fb_gitops_fail_("staging a file");
	}
	*empty = git_treebuilder_entrycount(tb) == 0;
	if (!rc && git_treebuilder_write(out, tb) < 0)
		rc = fb_gitops_fail_("writing the tree");
	git_treebuilder_free(tb);
	return rc;
}

/* The tip's tree with the changes: a tree builder per directory on the
 * changed paths, instead of an index of the whole tree. */
static fb_err build_tree(fb_gitops *g, git_tree *base, const fb_change *c, size_t n,
                         git_oid *tree_oid)
{
	git_tree *cur = NULL;
	fb_err rc = FB_OK;

	if (git_tree_dup(&cur, base) < 0)
		return fb_gitops_fail_("preparing the commit");
	for (size_t i = 0; !rc && i < n; i++) {
		git_oid blob, next;
		int empty;
		if (c[i].content &&
		    git_blob_create_from_buffer(&blob, g->repo, c[i].content, c[i].len) < 0) {
			rc = fb_gitops_fail_("staging a file");
			break;
		}
		rc = tree_with(g, cur, c[i].path, c[i].content ? &blob : NULL, &next, &empty);
		git_tree_free(cur);
		cur = NULL;
		if (!rc && git_tree_lookup(&cur, g->repo, &next) < 0)
			rc = fb_gitops_fail_("writing the tree");
	}
	if (!rc)
		git_oid_cpy(tree_oid, git_tree_id(cur));
	git_tree_free(cur);
	return rc;
}

static void message(fb_buf *m, const fb_commit_info *info)
{
	fb_buf_printf(m, "%s\n\n", info->subject);
	if (info->body && *info->body)
		fb_buf_printf(m, "%s\n\n", info->body);
	fb_buf_printf(m, "Incident-Id: %s\n", info->incident_id);
	if (info->step > 1) /* a further fix after verification failed */
		fb_buf_printf(m, "Incident-Step: %d\n", info->step);
	fb_buf_printf(m, "Category: %s\n", info->category);
	fb_buf_printf(m, "Approved-By: %s\n", info->approved_by);
	if (info->slack_thread && *info->slack_thread)
		fb_buf_printf(m, "Slack-Thread: %s\n", info->slack_thread);
}

static fb_err commit(fb_gitops *g, git_commit *tip, const git_oid *tree_oid,
                     const fb_commit_info *info, const char *ref, git_oid *out)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	const git_commit *parents[1] = {tip};
	fb_buf m;
	fb_err rc = FB_OK;

	fb_buf_init(&m, 64 * 1024);
	message(&m, info);
	if (git_signature_now(&sig, g->cfg->gitops.author_name, g->cfg->gitops.author_email) < 0 ||
	    git_tree_lookup(&tree, g->repo, tree_oid) < 0 ||
	    git_commit_create(out, g->repo, ref, sig, sig, "UTF-8", fb_buf_str(&m), tree, 1,
	                      parents) < 0)
		rc = fb_gitops_fail_("committing");
	git_tree_free(tree);
	git_signature_free(sig);
	fb_buf_free(&m);
	return rc;
}

/* Brings the checked-out files (and the index) in step with the new
 * commit, for the changed paths only. */
fb_err fb_gitops_sync_worktree_(fb_gitops *g, const fb_change *c, size_t n)
{
	git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
	char *paths[64];
	size_t np = n < 64 ? n : 64;

	for (size_t i = 0; i < np; i++)
		paths[i] = (char *)c[i].path;
	opts.checkout_strategy = GIT_CHECKOUT_FORCE;
	opts.paths.strings = paths;
	opts.paths.count = np;
	if (git_checkout_head(g->repo, &opts) < 0)
		return fb_gitops_fail_("updating the working tree");
	return FB_OK;
}

fb_err fb_gitops_commit_(fb_gitops *g, const fb_change *changes, size_t n,
                         const fb_commit_info *info, char hex[41])
{
	git_oid tree_oid, oid;
	int wt = fb_gitops_worktree_on_branch_(g), checked = 0;
	fb_err rc;

	if ((rc = tip(g)))
		return rc;
	for (size_t i = 0; !rc && i < n; i++)
		rc = check_base(g, &changes[i]);
	if (!rc && wt)
		checked = (rc = fb_gitops_check_worktree_(g, changes, n)) == FB_OK;
	if (!rc)
		rc = build_tree(g, g->tip_tree, changes, n, &tree_oid);
	if (!rc)
		rc = commit(g, g->tip, &tree_oid, info, g->ref, &oid);
	if (rc)
		return rc;
	git_oid_tostr(hex, 41, &oid);
	if (wt && (rc = fb_gitops_sync_worktree_(g, changes, n)))
		return rc;
	if (checked)
		fb_gitops_committed_clean_(g, &tree_oid);
	return FB_OK;
}

fb_err fb_gitops_commit_onto_(fb_gitops *g, git_commit *base, const fb_change *changes, size_t n,
                              const fb_commit_info *info, git_oid *out)
{
	git_tree *tree = NULL;
	git_oid tree_oid;
	fb_err rc;

	if (git_commit_tree(&tree, base) < 0)
		return fb_gitops_fail_("reading the base's tree");
	rc = build_tree(g, tree, changes, n, &tree_oid);
	git_tree_free(tree);
	return rc ? rc : commit(g, base, &tree_oid, info, NULL, out);
}

fb_err fb_gitops_apply(fb_gitops *g, const fb_change *changes, size_t n, const fb_commit_info *info,
                       char hex[41], int *pushed)
{
	fb_err rc;

	*pushed = 0;
	fb_gitops_snapshot_config_(g);
	if ((rc = tip(g)))
		return rc;
	if (fb_gitops_find_applied(g, changes, n, info, hex, NULL) != FB_OK) {
		fb_error_clear();
		if ((rc = fb_gitops_commit_(g, changes, n, info, hex)))
			return rc;
	} else if (fb_gitops_worktree_on_branch_(g) &&
	           (rc = fb_gitops_sync_worktree_(g, changes, n))) {
		return rc;
	}
	if (g->cfg->gitops.remote[0]) {
		if ((rc = fb_gitops_push_(g)))
			return rc;
		*pushed = 1;
	}
	return FB_OK;
}
