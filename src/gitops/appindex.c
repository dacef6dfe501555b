/*
 * appindex.c - owns the index of the GitOps repository's Argo CD
 * Application manifests (which app names they declare, and each name's
 * values files) and of its <dir>/values.yaml files, for one tree: the
 * branch tip's.  Built once by walking the tree; when the branch moves it
 * follows a tree-to-tree diff, so the cost grows with the change, not with
 * the repository.  Kept in the git directory between processes
 * (firebreak-appindex, a cache: rebuilt when missing or unreadable).
 * Runs on the thread that owns the fb_gitops handle.
 */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "firebreak/buf.h"
#include "gitops_int.h"

#define MAX_MANIFEST_BYTES (1024u * 1024u)
#define MAX_CACHE_BYTES (64u * 1024u * 1024u)
#define CACHE_MAGIC "firebreak-appindex 1"

/* One Application manifest: recs holds, per app name it declares, the
 * name then its values files, each NUL-terminated, an empty string ending
 * the record; an empty name ends the list. */
typedef struct {
	char *path;
	char *recs;
	size_t len;
} manifest;

struct fb_appindex {
	char *cache;
	git_oid tree;
	int have; /* tree is meaningful */
	int loaded, dirty;
	manifest *m; /* sorted by path (strcmp: the order of a tree walk) */
	size_t nm, capm;
	char **values; /* sorted paths whose last component is values.yaml */
	size_t nv, capv;
	fb_gitops_index_stats st;
};

fb_err fb_appindex_new(const char *cache, fb_appindex **out)
{
	fb_appindex *ix = calloc(1, sizeof(*ix));
	*out = NULL;
	if (!ix || (cache && !(ix->cache = strdup(cache)))) {
		free(ix);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	*out = ix;
	return FB_OK;
}

static void clear(fb_appindex *ix)
{
	for (size_t i = 0; i < ix->nm; i++) {
		free(ix->m[i].path);
		free(ix->m[i].recs);
	}
	for (size_t i = 0; i < ix->nv; i++)
		free(ix->values[i]);
	ix->nm = ix->nv = 0;
	ix->have = 0;
}

void fb_appindex_free(fb_appindex *ix)
{
	if (!ix)
		return;
	clear(ix);
	free(ix->m);
	free(ix->values);
	free(ix->cache);
	free(ix);
}

/* ---- the sorted lists ---- */

static size_t find_manifest(const fb_appindex *ix, const char *path, int *hit)
{
	size_t lo = 0, hi = ix->nm;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ix->m[mid].path, path);
		if (!c) {
			*hit = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*hit = 0;
	return lo;
}

static size_t find_values(const fb_appindex *ix, const char *path, int *hit)
{
	size_t lo = 0, hi = ix->nv;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ix->values[mid], path);
		if (!c) {
			*hit = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*hit = 0;
	return lo;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Takes recs (malloc'd) on success. */
static fb_err put_manifest(fb_appindex *ix, const char *path, char *recs, size_t len)
{
	int hit;
	size_t at = find_manifest(ix, path, &hit);
	char *p;
	if (hit) {
		free(ix->m[at].recs);
		ix->m[at].recs = recs;
		ix->m[at].len = len;
		return FB_OK;
	}
	if (grow((void **)&ix->m, &ix->capm, ix->nm + 1, sizeof(*ix->m)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (!(p = strdup(path)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	memmove(&ix->m[at + 1], &ix->m[at], (ix->nm - at) * sizeof(*ix->m));
	ix->m[at].path = p;
	ix->m[at].recs = recs;
	ix->m[at].len = len;
	ix->nm++;
	return FB_OK;
}

static fb_err put_values(fb_appindex *ix, const char *path)
{
	int hit;
	size_t at = find_values(ix, path, &hit);
	char *p;
	if (hit)
		return FB_OK;
	if (grow((void **)&ix->values, &ix->capv, ix->nv + 1, sizeof(*ix->values)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (!(p = strdup(path)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	memmove(&ix->values[at + 1], &ix->values[at], (ix->nv - at) * sizeof(*ix->values));
	ix->values[at] = p;
	ix->nv++;
	return FB_OK;
}

static void drop(fb_appindex *ix, const char *path)
{
	int hit;
	size_t at = find_manifest(ix, path, &hit);
	if (hit) {
		free(ix->m[at].path);
		free(ix->m[at].recs);
		memmove(&ix->m[at], &ix->m[at + 1], (ix->nm - at - 1) * sizeof(*ix->m));
		ix->nm--;
	}
	at = find_values(ix, path, &hit);
	if (hit) {
		free(ix->values[at]);
		memmove(&ix->values[at], &ix->values[at + 1],
		        (ix->nv - at - 1) * sizeof(*ix->values));
		ix->nv--;
	}
}

/* ---- reading one file ---- */

static int is_yaml(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int is_values(const char *path)
{
	const char *base = strrchr(path, '/');
	return !strcmp(base ? base + 1 : path, "values.yaml");
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *sval(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length
	           ? (const char *)n->data.scalar.value
	           : NULL;
}

static void add_name(fb_buf *names, const char *name)
{
	if (!name || strlen(name) >= 256)
		return;
	for (size_t o = 0; o < names->len; o += strlen(names->data + o) + 1)
		if (!strcmp(names->data + o, name))
			return;
	fb_buf_add(names, name, strlen(name) + 1);
}

/* The names (metadata.name, spec.source.helm.releaseName) of the
 * Applications in text, each NUL-terminated, the way fb_argocd_scan
 * matches them. */
static void app_names(const char *text, size_t len, fb_buf *names)
{
	yaml_parser_t parser;
	yaml_document_t doc;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (int ndoc = 0; ndoc < 256 && yaml_parser_load(&parser, &doc); ndoc++) {
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		const char *kind = sval(get(&doc, root, "kind"));
		const char *api = sval(get(&doc, root, "apiVersion"));
		if (kind && !strcmp(kind, "Application") && api && strstr(api, "argoproj.io")) {
			yaml_node_t *spec = get(&doc, root, "spec");
			add_name(names, sval(get(&doc, get(&doc, root, "metadata"), "name")));
			add_name(names, sval(get(&doc, get(&doc, get(&doc, spec, "source"), "helm"),
			                         "releaseName")));
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
}

/* Indexes the file at path (blob id): a values.yaml, an Application
 * manifest, both or neither. */
static fb_err index_file(fb_appindex *ix, git_repository *repo, const char *path, const git_oid *id)
{
	git_blob *b = NULL;
	fb_buf names, recs;
	fb_err rc = FB_OK;

	if (!is_yaml(path))
		return FB_OK;
	if (is_values(path) && (rc = put_values(ix, path)))
		return rc;
	if (git_blob_lookup(&b, repo, id) < 0)
		return FB_OK; /* unreadable: not an Application, as before */
	const char *text = git_blob_rawcontent(b);
	size_t len = (size_t)git_blob_rawsize(b);
	if (len >= MAX_MANIFEST_BYTES || !memmem(text, len, "argoproj.io", 11)) {
		git_blob_free(b);
		return FB_OK;
	}
	fb_buf_init(&names, 64 * 1024);
	fb_buf_init(&recs, 256 * 1024);
	app_names(text, len, &names);
	for (size_t o = 0; !rc && o < names.len; o += strlen(names.data + o) + 1) {
		fb_argocd_values v = {0};
		const char *name = names.data + o;
		if (fb_argocd_scan(text, len, name, &v) != 1)
			continue;
		rc = fb_buf_add(&recs, name, strlen(name) + 1);
		for (size_t i = 0; !rc && i < v.n; i++)
			rc = fb_buf_add(&recs, v.files[i], strlen(v.files[i]) + 1);
		rc = rc ? rc : fb_buf_addc(&recs, '\0');
	}
	git_blob_free(b);
	fb_buf_free(&names);
	if (!rc && recs.len && !(rc = fb_buf_addc(&recs, '\0'))) {
		char *copy = malloc(recs.len);
		if (!copy)
			rc = fb_error_set(FB_ENOMEM, "out of memory");
		else
			memcpy(copy, recs.data, recs.len);
		if (!rc && (rc = put_manifest(ix, path, copy, recs.len)))
			free(copy);
	}
	fb_buf_free(&recs);
	return rc;
}

/* ---- building and following the branch ---- */

typedef struct {
	fb_appindex *ix;
	git_repository *repo;
	fb_err rc;
} walk_ctx;

static int walk_entry(const char *root, const git_tree_entry *e, void *payload)
{
	walk_ctx *w = payload;
	char path[1024];

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e)) >=
	    sizeof(path))
		return 0;
	w->rc = index_file(w->ix, w->repo, path, git_tree_entry_id(e));
	return w->rc ? -1 : 0;
}

static fb_err build(fb_appindex *ix, git_repository *repo, git_tree *tree)
{
	walk_ctx w = {ix, repo, FB_OK};
	clear(ix);
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_entry, &w) < 0 && !w.rc)
		w.rc = fb_gitops_fail_("walking the tree");
	if (w.rc) {
		clear(ix);
		return w.rc;
	}
	ix->st.builds++;
	return FB_OK;
}

/* Drops everything under the directory prefix ("a/b/"). */
static void drop_dir(fb_appindex *ix, const char *prefix)
{
	size_t pl = strlen(prefix), i = 0, j;
	int hit;

	i = find_manifest(ix, prefix, &hit);
	for (j = i; j < ix->nm && !strncmp(ix->m[j].path, prefix, pl); j++) {
		free(ix->m[j].path);
		free(ix->m[j].recs);
	}
	memmove(&ix->m[i], &ix->m[j], (ix->nm - j) * sizeof(*ix->m));
	ix->nm -= j - i;
	i = find_values(ix, prefix, &hit);
	for (j = i; j < ix->nv && !strncmp(ix->values[j], prefix, pl); j++)
		free(ix->values[j]);
	memmove(&ix->values[i], &ix->values[j], (ix->nv - j) * sizeof(*ix->values));
	ix->nv -= j - i;
}

/* Git's order of tree entries: a tree's name sorts as if it ended in '/'. */
static int entry_cmp(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *x = git_tree_entry_name(a), *y = git_tree_entry_name(b);
	size_t lx = strlen(x), ly = strlen(y), l = lx < ly ? lx : ly;
	int c = memcmp(x, y, l);
	if (c)
		return c;
	unsigned char cx = lx > l                                      ? (unsigned char)x[l]
	                   : git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/'
	                                                               : 0;
	unsigned char cy = ly > l                                      ? (unsigned char)y[l]
	                   : git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/'
	                                                               : 0;
	return (int)cx - (int)cy;
}

static fb_err follow(fb_appindex *ix, git_repository *repo, git_tree *old, git_tree *cur,
                     const char *prefix, int depth);

/* One side of a difference: e (under prefix) left (gone) or arrived. */
static fb_err side(fb_appindex *ix, git_repository *repo, const git_tree_entry *e,
                   const char *prefix, int gone, int depth)
{
	char path[1024];
	git_tree *t = NULL;
	fb_err rc = FB_OK;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, git_tree_entry_name(e),
	                     git_tree_entry_type(e) == GIT_OBJECT_TREE ? "/" : "") >= sizeof(path))
		return FB_OK;
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
		if (gone)
			drop(ix, path);
		else
			rc = index_file(ix, repo, path, git_tree_entry_id(e));
	} else if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		if (gone)
			drop_dir(ix, path);
		else if (git_tree_lookup(&t, repo, git_tree_entry_id(e)) < 0)
			rc = fb_gitops_fail_("reading a tree");
		else
			rc = follow(ix, repo, NULL, t, path, depth + 1);
		git_tree_free(t);
	}
	return rc;
}

/* Brings the index from old (NULL: nothing) to cur under prefix, reading
 * only the trees whose ids differ. */
static fb_err follow(fb_appindex *ix, git_repository *repo, git_tree *old, git_tree *cur,
                     const char *prefix, int depth)
{
	size_t i = 0, j = 0, no = old ? git_tree_entrycount(old) : 0, nc = git_tree_entrycount(cur);
	fb_err rc = FB_OK;

	if (depth > 64)
		return fb_error_set(FB_EINVAL, "trees nested too deep at %s", prefix);
	while (!rc && (i < no || j < nc)) {
		const git_tree_entry *a = i < no ? git_tree_entry_byindex(old, i) : NULL;
		const git_tree_entry *b = j < nc ? git_tree_entry_byindex(cur, j) : NULL;
		int c = !a ? 1 : !b ? -1 : entry_cmp(a, b);
		if (c == 0 && git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b))) {
			i++, j++;
		} else if (c == 0 && git_tree_entry_type(a) == GIT_OBJECT_TREE) {
			git_tree *ta = NULL, *tb = NULL;
			char path[1024];
			snprintf(path, sizeof(path), "%s%s/", prefix, git_tree_entry_name(a));
			if (git_tree_lookup(&ta, repo, git_tree_entry_id(a)) < 0 ||
			    git_tree_lookup(&tb, repo, git_tree_entry_id(b)) < 0)
				rc = fb_gitops_fail_("reading a tree");
			else
				rc = follow(ix, repo, ta, tb, path, depth + 1);
			git_tree_free(ta);
			git_tree_free(tb);
			i++, j++;
		} else {
			if (c <= 0)
				rc = side(ix, repo, a, prefix, 1, depth);
			if (!rc && c >= 0)
				rc = side(ix, repo, b, prefix, 0, depth);
			i += c <= 0;
			j += c >= 0;
		}
	}
	return rc;
}

/* Follows the change from the tree the index describes to tree; returns
 * FB_ENOTFOUND when the old tree is gone (then the caller builds). */
static fb_err update(fb_appindex *ix, git_repository *repo, git_tree *tree)
{
	git_tree *old = NULL;
	fb_err rc;

	if (git_tree_lookup(&old, repo, &ix->tree) < 0) {
		git_error_clear();
		return FB_ENOTFOUND;
	}
	rc = follow(ix, repo, old, tree, "", 0);
	git_tree_free(old);
	if (rc)
		clear(ix);
	else
		ix->st.updates++;
	return rc;
}

static void load(fb_appindex *ix);

fb_err fb_appindex_sync(fb_appindex *ix, git_repository *repo, git_tree *tree)
{
	const git_oid *want = git_tree_id(tree);
	fb_err rc = FB_ENOTFOUND;

	if (!ix->loaded) {
		ix->loaded = 1;
		load(ix);
	}
	if (ix->have && git_oid_equal(&ix->tree, want))
		return FB_OK;
	if (ix->have)
		rc = update(ix, repo, tree);
	if (rc == FB_ENOTFOUND)
		rc = build(ix, repo, tree);
	if (rc)
		return rc;
	git_oid_cpy(&ix->tree, want);
	ix->have = 1;
	ix->dirty = 1;
	return FB_OK;
}

/* ---- lookups ---- */

static void add_file(fb_argocd_values *out, const char *path)
{
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(out->files[i], path))
			return;
	if (out->n < FB_ARGOCD_MAX_FILES)
		snprintf(out->files[out->n++], sizeof(out->files[0]), "%s", path);
}

void fb_appindex_lookup(const fb_appindex *ix, const char *app, fb_appindex_hit *hit)
{
	char suffix[300];
	size_t sl;

	memset(hit, 0, sizeof(*hit));
	for (size_t i = 0; i < ix->nm; i++) {
		const char *r = ix->m[i].recs;
		size_t before = hit->argocd.n;
		while (*r) { /* one record: name, files, "" */
			int mine = !strcmp(r, app);
			for (r += strlen(r) + 1; *r; r += strlen(r) + 1)
				if (mine)
					add_file(&hit->argocd, r);
			r++;
		}
		if (hit->argocd.n > before && !hit->manifest[0])
			snprintf(hit->manifest, sizeof(hit->manifest), "%s", ix->m[i].path);
	}
	snprintf(suffix, sizeof(suffix), "/%s/values.yaml", app);
	sl = strlen(suffix);
	for (size_t i = 0; i < ix->nv; i++) {
		const char *p = ix->values[i];
		size_t pl = strlen(p);
		if ((pl > sl && !strcmp(p + pl - sl, suffix)) || !strcmp(p, suffix + 1)) {
			snprintf(hit->match, sizeof(hit->match), "%s", p);
			hit->nmatch++;
		}
	}
}

void fb_appindex_stats(const fb_appindex *ix, fb_gitops_index_stats *out)
{
	*out = ix->st;
	out->tree[0] = '\0';
	if (ix->have)
		git_oid_tostr(out->tree, sizeof(out->tree), &ix->tree);
	out->manifests = ix->nm;
	out->values_files = ix->nv;
}

/* ---- the cache file ----
 *
 *   firebreak-appindex 1 <tree>\n
 *   M <path>\n  R <name>\n  F <file>\n ...   (a manifest, its names, their files)
 *   V <path>\n                               (a values.yaml)
 *
 * Paths with a newline are not indexed in the file: the index is then
 * kept in memory only. */

static int has_nl(const char *s, size_t n)
{
	return memchr(s, '\n', n) != NULL;
}

/* One "<tag> <text>\n" line. */
static fb_err line(fb_buf *b, char tag, const char *text)
{
	char head[2] = {tag, ' '};
	fb_err rc = fb_buf_add(b, head, 2);
	if (!rc)
		rc = fb_buf_add(b, text, strlen(text));
	return rc ? rc : fb_buf_addc(b, '\n');
}

static int serialize(const fb_appindex *ix, fb_buf *b)
{
	char hex[41];
	fb_err rc;
	git_oid_tostr(hex, sizeof(hex), &ix->tree);
	rc = fb_buf_printf(b, "%s %s\n", CACHE_MAGIC, hex);
	for (size_t i = 0; !rc && i < ix->nm; i++) {
		const char *r = ix->m[i].recs;
		if (has_nl(ix->m[i].path, strlen(ix->m[i].path)) || has_nl(r, ix->m[i].len))
			return -1;
		rc = line(b, 'M', ix->m[i].path);
		while (!rc && *r) {
			rc = line(b, 'R', r);
			for (r += strlen(r) + 1; !rc && *r; r += strlen(r) + 1)
				rc = line(b, 'F', r);
			r++;
		}
	}
	for (size_t i = 0; !rc && i < ix->nv; i++) {
		if (strchr(ix->values[i], '\n'))
			return -1;
		rc = line(b, 'V', ix->values[i]);
	}
	return rc ? -1 : 0;
}

void fb_appindex_save(fb_appindex *ix)
{
	char tmp[1100];
	fb_buf b;
	int fd;

	if (!ix->cache || !ix->dirty || !ix->have)
		return;
	fb_buf_init(&b, MAX_CACHE_BYTES);
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", ix->cache, (long)getpid());
	if (serialize(ix, &b) == 0 && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		size_t off = 0;
		while (off < b.len) {
			ssize_t w = write(fd, b.data + off, b.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (close(fd) == 0 && off == b.len && rename(tmp, ix->cache) == 0)
			ix->dirty = 0;
		else
			unlink(tmp);
	}
	fb_buf_free(&b);
}

/* Ends the manifest being read: its records go into the index. */
static int flush(fb_appindex *ix, fb_buf *recs, char *mpath)
{
	int bad = 0;
	if (mpath[0] && recs->len) {
		char *copy = NULL;
		bad = fb_buf_addc(recs, '\0') || fb_buf_addc(recs, '\0') || /* record, list */
		      !(copy = malloc(recs->len));
		if (!bad) {
			memcpy(copy, recs->data, recs->len);
			bad = put_manifest(ix, mpath, copy, recs->len) != FB_OK;
		}
		if (bad)
			free(copy);
	}
	fb_buf_reset(recs);
	mpath[0] = '\0';
	return bad;
}

/* One line of the cache file; nonzero when it is malformed. */
static int load_line(fb_appindex *ix, const char *line, fb_buf *recs, char *mpath, size_t mpathsz)
{
	if (!line[0] || line[1] != ' ' || !line[2])
		return -1;
	switch (line[0]) {
	case 'M':
		if (flush(ix, recs, mpath))
			return -1;
		snprintf(mpath, mpathsz, "%s", line + 2);
		return 0;
	case 'V': return flush(ix, recs, mpath) || put_values(ix, line + 2);
	case 'R':
		if (!mpath[0] || (recs->len && fb_buf_addc(recs, '\0')))
			return -1;
		return fb_buf_add(recs, line + 2, strlen(line + 2) + 1) != FB_OK;
	case 'F': return !recs->len || fb_buf_add(recs, line + 2, strlen(line + 2) + 1) != FB_OK;
	}
	return -1;
}

static void load(fb_appindex *ix)
{
	fb_buf f, recs;
	char mpath[1024] = "";
	size_t ml = strlen(CACHE_MAGIC);
	int bad = 0;

	if (!ix->cache)
		return;
	fb_buf_init(&f, MAX_CACHE_BYTES);
	if (fb_buf_read_file(&f, ix->cache) != FB_OK || !f.len) {
		fb_error_clear();
		fb_buf_free(&f);
		return;
	}
	fb_buf_init(&recs, 1024 * 1024);
	char *s = f.data, *end = f.data + f.len;
	char *nl = memchr(s, '\n', f.len);
	if (!nl || (size_t)(nl - s) != ml + 41 || strncmp(s, CACHE_MAGIC " ", ml + 1) ||
	    git_oid_fromstrn(&ix->tree, s + ml + 1, 40) < 0)
		bad = 1;
	s = bad ? end : nl + 1;
	while (!bad && s < end) {
		char *eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol) {
			bad = 1;
			break;
		}
		*eol = '\0';
		bad = load_line(ix, s, &recs, mpath, sizeof(mpath)) != 0;
		s = eol + 1;
	}
	bad = bad || flush(ix, &recs, mpath);
	fb_buf_free(&recs);
	fb_buf_free(&f);
	fb_error_clear();
	if (bad) {
		clear(ix);
		return;
	}
	ix->have = 1;
	ix->st.loads++;
}
