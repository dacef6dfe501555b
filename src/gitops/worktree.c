/*
 * worktree.c - owns apply's guard over the GitOps working tree and index:
 * the files a fix writes must hold no one's edits, and nothing may be
 * staged or unmerged.  Costs what the change costs: a status of the fix's
 * own paths, and a compare of the whole index with the tip only when the
 * index file or the tip moved since it was last found clean (remembered in
 * the handle and, between processes, in the git directory as
 * firebreak-staged).  Runs on the thread that owns the fb_gitops handle.
 */
#include <git2.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "firebreak/buf.h"
#include "gitops_int.h"

#define MAX_FILE_BYTES FB_GITOPS_MAX_FILE_BYTES

/* Is the working tree checked out on our branch (so apply must keep it
 * in step)? */
int fb_gitops_worktree_on_branch_(fb_gitops *g)
{
	git_reference *head = NULL;
	int on = 0;
	if (git_repository_is_bare(g->repo))
		return 0;
	if (git_repository_head(&head, g->repo) == 0)
		on = !strcmp(git_reference_name(head), g->ref);
	git_reference_free(head);
	return on;
}

/* A dirty path is ours when the file on disk already holds the proposed
 * content (a crash between writing and committing); anything else is a
 * person's edit that the commit would overwrite or leave half-staged. */
static int dirty_is_ours(fb_gitops *g, const char *path, const fb_change *c, size_t n)
{
	char full[1024];
	fb_buf b;
	int same = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].path, path) != 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", git_repository_workdir(g->repo), path);
		fb_buf_init(&b, MAX_FILE_BYTES);
		if (fb_buf_read_file(&b, full) == FB_OK && c[i].content && b.len == c[i].len &&
		    memcmp(b.data, c[i].content, b.len) == 0)
			same = 1;
		fb_buf_free(&b);
		fb_error_clear();
	}
	return same;
}

static int index_stamp(fb_gitops *g, struct stat *st)
{
	char p[1100];
	snprintf(p, sizeof(p), "%sindex", git_repository_path(g->repo));
	return stat(p, st) == 0;
}

/* Nothing staged or unmerged as of the index file's stamp st and the tip
 * (our own commits keep that true: they move the tip and the index of
 * their paths together). */
static void remember_clean(fb_gitops *g, const struct stat *st, const git_oid *tree)
{
	g->staged_clean = 1;
	g->staged_dirty = 1;
	g->staged_mtime = st->st_mtim;
	g->staged_ctime = st->st_ctim;
	g->staged_size = st->st_size;
	g->staged_ino = st->st_ino;
	git_oid_cpy(&g->staged_tree, tree);
}

static int still_clean(const fb_gitops *g, const struct stat *st)
{
	return g->staged_clean && g->staged_mtime.tv_sec == st->st_mtim.tv_sec &&
	       g->staged_mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       g->staged_ctime.tv_sec == st->st_ctim.tv_sec &&
	       g->staged_ctime.tv_nsec == st->st_ctim.tv_nsec && g->staged_size == st->st_size &&
	       g->staged_ino == st->st_ino &&
	       git_oid_equal(&g->staged_tree, git_tree_id(g->tip_tree));
}

/* Paths staged (the index against the tip) or unmerged, anywhere: a
 * compare of the index with the tip's tree in memory, made only when the
 * index file or the tip moved since it was last found clean. */
static void load_clean(fb_gitops *g);

static fb_err staged_paths(fb_gitops *g, const fb_change *c, size_t n, fb_buf *dirty)
{
	git_index *idx = NULL;
	git_diff *d = NULL;
	struct stat st;
	int have = index_stamp(g, &st);
	fb_err rc = FB_OK;

	if (!g->staged_loaded)
		load_clean(g);
	if (have && still_clean(g, &st))
		return FB_OK;
	g->staged_clean = 0;
	if (git_repository_index(&idx, g->repo) < 0 || git_index_read(idx, 0) < 0) {
		git_index_free(idx);
		return fb_gitops_fail_("reading the git index");
	}
	if (git_index_has_conflicts(idx))
		fb_buf_printf(dirty, "unmerged paths");
	else if (git_diff_tree_to_index(&d, g->repo, g->tip_tree, idx, NULL) < 0)
		rc = fb_gitops_fail_("reading the git index");
	for (size_t i = 0; !rc && i < git_diff_num_deltas(d); i++) {
		const char *p = git_diff_get_delta(d, i)->new_file.path;
		if (!dirty_is_ours(g, p, c, n))
			fb_buf_printf(dirty, "%s%s", dirty->len ? ", " : "", p);
	}
	if (!rc && !dirty->len && have)
		remember_clean(g, &st, git_tree_id(g->tip_tree));
	git_diff_free(d);
	git_index_free(idx);
	return rc;
}

/* The files the fix writes, in the working tree: untouched since the tip
 * (or holding the fix already), else a person's edit would be lost. */
static fb_err edited_paths(fb_gitops *g, const fb_change *c, size_t n, fb_buf *dirty)
{
	git_status_list *sl = NULL;
	git_status_options opts = GIT_STATUS_OPTIONS_INIT;
	char *paths[64];
	size_t np = n < 64 ? n : 64;

	for (size_t i = 0; i < np; i++)
		paths[i] = (char *)c[i].path;
	opts.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_INCLUDE_UNTRACKED |
	             GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	opts.pathspec.strings = paths;
	opts.pathspec.count = np;
	if (git_status_list_new(&sl, g->repo, &opts) < 0)
		return fb_gitops_fail_("reading the working tree status");
	for (size_t i = 0; i < git_status_list_entrycount(sl); i++) {
		const git_status_entry *e = git_status_byindex(sl, i);
		const git_diff_delta *d = e->index_to_workdir;
		if (!d || dirty_is_ours(g, d->new_file.path, c, n))
			continue;
		fb_buf_printf(dirty, "%s%s", dirty->len ? ", " : "", d->new_file.path);
	}
	git_status_list_free(sl);
	return FB_OK;
}

fb_err fb_gitops_check_worktree_(fb_gitops *g, const fb_change *c, size_t n)
{
	fb_buf dirty;
	fb_err rc;

	fb_buf_init(&dirty, 1024);
	rc = staged_paths(g, c, n, &dirty);
	if (!rc)
		rc = edited_paths(g, c, n, &dirty);
	if (!rc && dirty.len)
		rc = fb_error_set(
		    FB_ESTATE,
		    "the GitOps working tree %s has unrelated uncommitted changes (%s): "
		    "commit or stash them, then approve again",
		    g->cfg->gitops.repo, fb_buf_str(&dirty));
	fb_buf_free(&dirty);
	return rc;
}

/* ---- the clean state between processes ---- */

static void memo_path(fb_gitops *g, char *out, size_t outsz)
{
	snprintf(out, outsz, "%sfirebreak-staged", git_repository_path(g->repo));
}

static void load_clean(fb_gitops *g)
{
	char p[1100], hex[41];
	long long ms, mns, cs, cns, size;
	unsigned long long ino;
	FILE *f;

	g->staged_loaded = 1;
	memo_path(g, p, sizeof(p));
	if (!(f = fopen(p, "r")))
		return;
	if (fscanf(f, "%lld %lld %lld %lld %lld %llu %40s", &ms, &mns, &cs, &cns, &size, &ino,
	           hex) == 7 &&
	    git_oid_fromstrn(&g->staged_tree, hex, 40) == 0) {
		g->staged_mtime = (struct timespec){(time_t)ms, (long)mns};
		g->staged_ctime = (struct timespec){(time_t)cs, (long)cns};
		g->staged_size = (off_t)size;
		g->staged_ino = (ino_t)ino;
		g->staged_clean = 1;
	}
	fclose(f);
}

void fb_gitops_save_clean_(fb_gitops *g)
{
	char p[1100], tmp[1200], hex[41];
	FILE *f;

	if (!g->staged_dirty || !g->staged_clean || !g->repo)
		return;
	memo_path(g, p, sizeof(p));
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	git_oid_tostr(hex, sizeof(hex), &g->staged_tree);
	if (!(f = fopen(tmp, "w")))
		return;
	fprintf(f, "%lld %lld %lld %lld %lld %llu %s\n", (long long)g->staged_mtime.tv_sec,
	        (long long)g->staged_mtime.tv_nsec, (long long)g->staged_ctime.tv_sec,
	        (long long)g->staged_ctime.tv_nsec, (long long)g->staged_size,
	        (unsigned long long)g->staged_ino, hex);
	if (fclose(f) == 0 && rename(tmp, p) == 0)
		g->staged_dirty = 0;
	else
		remove(tmp);
}

void fb_gitops_committed_clean_(fb_gitops *g, const git_oid *tree)
{
	struct stat st;
	if (g->staged_clean && index_stamp(g, &st))
		remember_clean(g, &st, tree);
}
