/*
 * yamledit.c - owns looking up and editing YAML values files parsed into
 * the node table of yamldoc.c, which remembers where each node sits in
 * the original bytes; edits are minimal byte splices of that text.
 * The document is never re-serialised; every edit is re-parsed and checked
 * before it is handed back.  Pure functions on caller-owned data, no shared
 * state: any thread may call them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "firebreak/buf.h"
#include "firebreak/yamledit.h"
#include "yamldoc.h"
#include "yamlquote.h"

#define is_blank fb_yaml_is_blank_
#define is_space fb_yaml_is_space_
#define utf8_width fb_yaml_utf8_width_

/* ---- paths and lookup ---- */

static fb_err bad_path(const char *path, const char *why)
{
	return fb_error_set(FB_EINVAL, "bad path \"%.200s\": %s", path, why);
}

static fb_err add_step(const char *path, step *steps, size_t *n, char *key, size_t klen, long index)
{
	if (*n == FB_YAML_MAX_DEPTH)
		return bad_path(path, "too deep");
	steps[(*n)++] = (step){key, klen, index};
	return FB_OK;
}

/* "a.b[0].c" -> key a, key b, index 0, key c.  path is a writable copy
 * (see copy_path) so that keys can later be NUL-terminated in place. */
static fb_err parse_path(char *path, step *steps, size_t *n)
{
	char *p = path, *end;

	*n = 0;
	if (!*p)
		return bad_path(path, "empty");
	for (;;) {
		size_t k = strcspn(p, ".[]");
		fb_err rc;
		if (k == 0 && !(p == path && *p == '['))
			return bad_path(path, "empty key");
		if (k && (rc = add_step(path, steps, n, p, k, -1)) != FB_OK)
			return rc;
		for (p += k; *p == '['; p = end + 1) {
			long v = p[1] >= '0' && p[1] <= '9' ? strtol(p + 1, &end, 10) : -1;
			if (v < 0 || *end != ']' || v > FB_YAML_MAX_NODES)
				return bad_path(path, "an index is [N] with N >= 0");
			if ((rc = add_step(path, steps, n, NULL, 0, v)) != FB_OK)
				return rc;
		}
		if (*p == '\0')
			return FB_OK;
		if (*p != '.')
			return bad_path(path, "expected '.' or '[' after a key or index");
		p++;
	}
}

static fb_err copy_path(const char *path, char *buf)
{
	if (!path)
		return bad_path("", "none given");
	if (strlen(path) >= PATH_MAX_LEN)
		return bad_path(path, "too long");
	memcpy(buf, path, strlen(path) + 1);
	return FB_OK;
}

static int scalar_is(const fb_yaml_doc *d, int i, const char *s, size_t n)
{
	const ynode *x = nd(d, i);
	return x->kind == N_SCALAR && x->vlen == n && !memcmp(str_at(d, x->value), s, n);
}

static int is_merge_key(const fb_yaml_doc *d, int k)
{
	return nd(d, k)->style == YAML_PLAIN_SCALAR_STYLE && scalar_is(d, k, "<<", 2);
}

static int deref(const fb_yaml_doc *d, int i, int *alias)
{
	if (i >= 0 && nd(d, i)->kind == N_ALIAS) {
		if (alias && *alias < 0)
			*alias = i;
		i = nd(d, i)->target;
	}
	return i;
}

static fb_err map_find(const fb_yaml_doc *d, int m, const step *s, int depth, int *val, int *via);

/* Looks the key up in what a merge value (*x, [*x, *y] or an inline
 * mapping) brings in; *via becomes the alias it came through. */
static fb_err merge_find(const fb_yaml_doc *d, int v, const step *s, int depth, int *val, int *via)
{
	int seq = nd(d, v)->kind == N_SEQ;

	for (int it = seq ? nd(d, v)->first : v; it >= 0; it = seq ? nd(d, it)->next : -1) {
		int alias = -1, t = deref(d, it, &alias);
		if (nd(d, t)->kind != N_MAP || map_find(d, t, s, depth + 1, val, via) != FB_OK)
			continue;
		if (alias >= 0 && *via < 0)
			*via = alias;
		return FB_OK;
	}
	return FB_ENOTFOUND;
}

/* Finds key s in mapping m: its own keys first, then merge keys. */
static fb_err map_find(const fb_yaml_doc *d, int m, const step *s, int depth, int *val, int *via)
{
	int found = -1;

	for (int k = nd(d, m)->first; k >= 0 && nd(d, k)->next >= 0;
	     k = nd(d, nd(d, k)->next)->next)
		if (scalar_is(d, k, s->key, s->klen) && !is_merge_key(d, k)) {
			if (found >= 0)
				return fb_error_set(FB_ECONFLICT,
				                    "%s:%u: key \"%.*s\" appears twice", d->name,
				                    nd(d, k)->line + 1, (int)s->klen, s->key);
			found = k;
		}
	if (found >= 0) {
		*val = nd(d, found)->next;
		return FB_OK;
	}
	if (depth >= MAX_MERGE_DEPTH)
		return FB_ENOTFOUND;
	for (int k = nd(d, m)->first; k >= 0 && nd(d, k)->next >= 0;
	     k = nd(d, nd(d, k)->next)->next)
		if (is_merge_key(d, k) &&
		    merge_find(d, nd(d, k)->next, s, depth, val, via) == FB_OK)
			return FB_OK;
	return FB_ENOTFOUND;
}

static fb_err take_step(const fb_yaml_doc *d, int cur, const step *s, int *next, int *via)
{
	const ynode *c = nd(d, cur);

	if (s->key)
		return c->kind == N_MAP ? map_find(d, cur, s, 0, next, via) : FB_ENOTFOUND;
	if (c->kind != N_SEQ || s->index >= c->nchild)
		return FB_ENOTFOUND;
	*next = c->first;
	for (long i = 0; i < s->index; i++)
		*next = nd(d, *next)->next;
	return FB_OK;
}

/* Walks steps from the root as far as they go.  FB_OK when the whole path
 * exists (w->node), FB_ENOTFOUND when it stops early (w->last, w->done). */
static fb_err resolve(const fb_yaml_doc *d, const step *steps, size_t n, walk *w)
{
	int cur = d->root;

	memset(w, 0, sizeof(*w));
	w->node = w->last = w->alias = -1;
	for (size_t i = 0; cur >= 0 && i < n; i++) {
		int next = -1;
		fb_err rc;
		cur = deref(d, cur, &w->alias);
		w->last = cur;
		w->chain[w->nchain++] = cur;
		if ((rc = take_step(d, cur, &steps[i], &next, &w->alias)) != FB_OK)
			return rc;
		cur = next;
		w->done = i + 1;
	}
	if (cur < 0)
		return FB_ENOTFOUND;
	w->node = cur;
	w->chain[w->nchain++] = cur;
	return FB_OK;
}

static fb_err lookup(const fb_yaml_doc *d, const char *path, walk *w)
{
	step steps[FB_YAML_MAX_DEPTH];
	char buf[PATH_MAX_LEN];
	size_t n;
	fb_err rc = copy_path(path, buf);

	if (rc || (rc = parse_path(buf, steps, &n)) != FB_OK)
		return rc;
	rc = resolve(d, steps, n, w);
	if (rc == FB_ENOTFOUND)
		fb_error_set(rc, "%s: %.200s not found", d->name, path);
	return rc;
}

static int is_null(const fb_yaml_doc *d, int i)
{
	const ynode *x = nd(d, i);
	return x->kind == N_SCALAR && x->style == YAML_PLAIN_SCALAR_STYLE && !x->tagged &&
	       fb_yamlquote_type(str_at(d, x->value)) == FB_YQ_NULL;
}

static const char *kind_name(int kind)
{
	return kind == N_MAP ? "a mapping" : kind == N_SEQ ? "a sequence" : "a scalar";
}

fb_err fb_yaml_get_scalar(const fb_yaml_doc *doc, const char *path, const char **value)
{
	walk w;
	fb_err rc = lookup(doc, path, &w);
	int i;

	*value = NULL;
	if (rc)
		return rc;
	i = deref(doc, w.node, NULL);
	if (nd(doc, i)->kind != N_SCALAR)
		return fb_error_set(FB_EINVAL, "%s:%u: %.200s is %s, not a scalar", doc->name,
		                    nd(doc, i)->line + 1, path, kind_name(nd(doc, i)->kind));
	*value = is_null(doc, i) ? "" : str_at(doc, nd(doc, i)->value);
	return FB_OK;
}

int fb_yaml_has(const fb_yaml_doc *doc, const char *path)
{
	walk w;
	return lookup(doc, path, &w) == FB_OK;
}

int fb_yaml_is_mapping(const fb_yaml_doc *doc, const char *path)
{
	walk w;
	return lookup(doc, path, &w) == FB_OK && nd(doc, deref(doc, w.node, NULL))->kind == N_MAP;
}

unsigned fb_yaml_line(const fb_yaml_doc *doc, const char *path)
{
	walk w;
	if (lookup(doc, path, &w) != FB_OK)
		return 0;
	return nd(doc, nd(doc, w.node)->keyn >= 0 ? nd(doc, w.node)->keyn : w.node)->line + 1;
}

/* ---- paths of nodes ---- */

/* Appends the path component that names node i in its parent (a key node
 * stands for its value); 0 when it cannot be written as a path. */
static int add_component(const fb_yaml_doc *d, int i, fb_buf *b)
{
	const ynode *x = nd(d, i), *p = nd(d, x->parent);
	const char *k;

	if (p->kind == N_SEQ)
		return fb_buf_printf(b, "[%d]", x->idx) == FB_OK;
	i = x->idx % 2 ? x->keyn : i;
	k = str_at(d, nd(d, i)->value);
	if (nd(d, i)->kind != N_SCALAR || !*k || strpbrk(k, ".[]"))
		return 0;
	return (b->len == 0 || fb_buf_addc(b, '.') == FB_OK) && fb_buf_addstr(b, k) == FB_OK;
}

static int node_path(const fb_yaml_doc *d, int i, fb_buf *b)
{
	int chain[FB_YAML_MAX_DEPTH + 1];
	size_t n = 0;

	fb_buf_reset(b);
	for (; i >= 0 && nd(d, i)->parent >= 0 && n < FB_YAML_MAX_DEPTH + 1; i = nd(d, i)->parent)
		chain[n++] = i;
	while (n > 0)
		if (!add_component(d, chain[--n], b))
			return 0;
	return 1;
}

void fb_yaml_paths_free(char **paths)
{
	if (!paths)
		return;
	for (char **p = paths; *p; p++)
		free(*p);
	free(paths);
}

static fb_err push_path(char ***paths, size_t *n, size_t *cap, const char *s)
{
	if (*n + 1 >= *cap) {
		size_t ncap = *cap * 2;
		char **p = realloc(*paths, ncap * sizeof(*p));
		if (!p)
			return fb_error_set(FB_ENOMEM, "out of memory");
		*paths = p;
		*cap = ncap;
	}
	if (!((*paths)[*n] = strdup(s)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	(*paths)[++*n] = NULL;
	return FB_OK;
}

fb_err fb_yaml_find_key(const fb_yaml_doc *doc, const char *key, char ***paths, size_t *n)
{
	size_t cap = 8, klen = strlen(key);
	fb_buf b;
	fb_err rc = FB_OK;

	*n = 0;
	if (!(*paths = calloc(cap, sizeof(**paths))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&b, 0);
	for (int i = 0; i < doc->n && rc == FB_OK; i++) {
		const ynode *x = nd(doc, i);
		if (x->parent < 0 || nd(doc, x->parent)->kind != N_MAP || x->idx % 2 ||
		    !scalar_is(doc, i, key, klen))
			continue;
		if (node_path(doc, i, &b))
			rc = push_path(paths, n, &cap, fb_buf_str(&b));
	}
	fb_buf_free(&b);
	if (rc) {
		fb_yaml_paths_free(*paths);
		*paths = NULL;
		*n = 0;
	}
	return rc;
}

/* Writes value in the style of the scalar it replaces. */
static fb_err put_like(const fb_yaml_doc *d, int i, fb_buf *b, const char *v)
{
	const ynode *x = nd(d, i);
	int t;

	if (x->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		return fb_yamlquote_double(b, v);
	if (x->style == YAML_SINGLE_QUOTED_SCALAR_STYLE)
		return fb_yamlquote_single(b, v);
	if (is_null(d, i))
		return fb_yamlquote_new(b, v, x->flow);
	t = fb_yamlquote_type(v);
	if (!fb_yamlquote_plain_safe(v, x->flow) ||
	    (t != FB_YQ_STR && t != fb_yamlquote_type(str_at(d, x->value))))
		return fb_yamlquote_double(b, v);
	return fb_buf_addstr(b, v);
}

/* ---- planning an edit ---- */

typedef struct {
	const fb_yaml_doc *d;
	const char *path, *value;
	const step *rest; /* the keys to create */
	size_t nrest;
	splice sp[2];
	const char *nl;
	unsigned step;
} plan;

static fb_err conflict(const fb_yaml_doc *d, int at, const char *path, const char *what,
                       const char *name)
{
	return fb_error_set(FB_ECONFLICT,
	                    "%s:%u: %.200s %s %.100s; editing it would change other places",
	                    d->name, nd(d, at)->line + 1, path, what, name);
}

/* Refuses edits that would show up elsewhere through an alias. */
static fb_err check_shared(const fb_yaml_doc *d, const walk *w, const char *path)
{
	char name[128];

	if (w->alias >= 0 || (w->node >= 0 && nd(d, w->node)->kind == N_ALIAS)) {
		int a = w->alias >= 0 ? w->alias : w->node;
		snprintf(name, sizeof(name), "*%s", str_at(d, nd(d, a)->value));
		return conflict(d, a, path, "comes from alias", name);
	}
	for (size_t i = 0; i < w->nchain; i++) {
		const ynode *x = nd(d, w->chain[i]);
		if (x->anchor != NO_ANCHOR && x->anchor_used) {
			snprintf(name, sizeof(name), "&%.50s, which *%.50s uses elsewhere",
			         str_at(d, x->anchor), str_at(d, x->anchor));
			return conflict(
			    d, w->chain[i], path,
			    w->chain[i] == w->node ? "carries anchor" : "is under anchor", name);
		}
	}
	return FB_OK;
}

static fb_err replace_scalar(plan *p, int i)
{
	const ynode *x = nd(p->d, i);

	if (x->kind != N_SCALAR)
		return fb_error_set(FB_EINVAL, "%s:%u: %.200s is %s, not a scalar", p->d->name,
		                    x->line + 1, p->path, kind_name(x->kind));
	if (x->style == YAML_LITERAL_SCALAR_STYLE || x->style == YAML_FOLDED_SCALAR_STYLE)
		return fb_error_set(FB_EINVAL,
		                    "%s:%u: %.200s is a block scalar (| or >); edit it by hand",
		                    p->d->name, x->line + 1, p->path);
	p->sp[0].at = x->vstart;
	p->sp[0].del = x->end - x->vstart;
	/* an empty value sits right after "key:" or "&anchor" */
	if (x->vstart == x->end && x->vstart > 0 && !is_space(p->d->text[x->vstart - 1])) {
		fb_err rc = fb_buf_addc(&p->sp[0].ins, ' ');
		if (rc)
			return rc;
	}
	return put_like(p->d, i, &p->sp[0].ins, p->value);
}

/* "k1: {k2: v}" for the keys still to create, as flow text. */
static fb_err put_flow(plan *p, fb_buf *b)
{
	fb_err rc = FB_OK;
	for (size_t i = 0; i < p->nrest && rc == FB_OK; i++) {
		if ((rc = fb_yamlquote_new(b, p->rest[i].key, 1)) == FB_OK)
			rc = fb_buf_addstr(b, i + 1 < p->nrest ? ": {" : ": ");
	}
	if (rc == FB_OK)
		rc = fb_yamlquote_new(b, p->value, 1);
	for (size_t i = 1; i < p->nrest && rc == FB_OK; i++)
		rc = fb_buf_addc(b, '}');
	return rc;
}

/* Indented lines for the keys still to create, one level per key. */
static fb_err put_lines(plan *p, fb_buf *b, unsigned indent, int lead_nl, int trail_nl)
{
	fb_err rc = lead_nl ? fb_buf_addstr(b, p->nl) : FB_OK;
	for (size_t i = 0; i < p->nrest && rc == FB_OK; i++) {
		rc = fb_buf_printf(b, "%*s", (int)(indent + i * p->step), "");
		if (rc == FB_OK)
			rc = fb_yamlquote_new(b, p->rest[i].key, 0);
		if (rc == FB_OK)
			rc = fb_buf_addstr(b, i + 1 < p->nrest ? ":" : ": ");
		if (rc == FB_OK && i + 1 == p->nrest)
			rc = fb_yamlquote_new(b, p->value, 0);
		if (rc == FB_OK && (i + 1 < p->nrest || trail_nl))
			rc = fb_buf_addstr(b, p->nl);
	}
	return rc;
}

/* Where new lines go after content ending at e: the start of the next
 * line, so that a trailing comment stays on its line. */
static size_t line_after(const fb_yaml_doc *d, size_t e, int *need_nl)
{
	size_t b = e;
	const char *nl;

	*need_nl = 0;
	while (b > 0 && is_blank(d->text[b - 1]))
		b--;
	if (b == 0 || d->text[b - 1] == '\n')
		return b;
	if ((nl = memchr(d->text + e, '\n', d->len - e)) != NULL)
		return (size_t)(nl - d->text) + 1;
	*need_nl = 1;
	return d->len;
}

/* Where a block collection's content really ends: libyaml ends a block at
 * the next token, past any comments and blank lines that follow it. */
static size_t content_end(const fb_yaml_doc *d, int i)
{
	while ((nd(d, i)->kind == N_MAP || nd(d, i)->kind == N_SEQ) && !nd(d, i)->style &&
	       nd(d, i)->last >= 0)
		i = nd(d, i)->last;
	return nd(d, i)->end;
}

static fb_err insert_lines(plan *p, size_t e, unsigned indent)
{
	int need_nl;
	p->sp[1].at = line_after(p->d, e, &need_nl);
	return put_lines(p, &p->sp[1].ins, indent, need_nl, !need_nl);
}

/* `key: {}`, `key:` or `key: ~` in a block mapping: the value text goes
 * and the new keys follow as an indented block. */
static fb_err to_block(plan *p, int i)
{
	const ynode *x = nd(p->d, i);
	size_t from = x->vstart;
	unsigned indent = x->keyn >= 0 ? nd(p->d, x->keyn)->col + p->step : 0;

	/* drop the blanks before the value too, but keep an &anchor */
	while (from > 0 && (from > x->start || x->start == x->vstart) &&
	       is_blank(p->d->text[from - 1]))
		from--;
	p->sp[0].at = from;
	p->sp[0].del = x->end - from;
	fb_err rc = insert_lines(p, x->end, indent);
	/* a null document ends after trailing blanks that the deletion took */
	if (p->sp[1].at < x->end)
		p->sp[1].at = x->end;
	return rc;
}

static fb_err add_to_flow(plan *p, int m)
{
	const ynode *x = nd(p->d, m);
	fb_err rc;

	if (x->nchild == 0) { /* {} -> {k: v} */
		p->sp[0].at = x->vstart + 1;
		p->sp[0].del = x->end - 1 - p->sp[0].at;
		return put_flow(p, &p->sp[0].ins);
	}
	p->sp[0].at = nd(p->d, x->last)->end;
	rc = fb_buf_addstr(&p->sp[0].ins, ", ");
	return rc ? rc : put_flow(p, &p->sp[0].ins);
}

/* A value of a block mapping, or a null document: may become a block. */
static int blockable(const fb_yaml_doc *d, int i)
{
	const ynode *x = nd(d, i);
	if (x->parent < 0)
		return x->kind == N_SCALAR;
	return x->keyn >= 0 && !nd(d, x->parent)->style;
}

static fb_err create(plan *p, const walk *w)
{
	const fb_yaml_doc *d = p->d;
	int l = w->last;

	for (size_t i = 0; i < p->nrest; i++)
		if (!p->rest[i].key)
			return fb_error_set(FB_ENOTFOUND,
			                    "%s: %.200s: sequence items are not created", d->name,
			                    p->path);
	for (size_t i = 0; i < p->nrest; i++)
		p->rest[i].key[p->rest[i].klen] = '\0'; /* parsing is done */
	/* an empty or comment-only text gets the path at the end */
	if (l < 0)
		return insert_lines(p, d->len, 0);
	if (nd(d, l)->kind == N_MAP && !nd(d, l)->style)
		return insert_lines(p, content_end(d, l), nd(d, nd(d, l)->first)->col);
	if (nd(d, l)->kind == N_MAP && (nd(d, l)->nchild || !blockable(d, l)))
		return add_to_flow(p, l);
	if ((nd(d, l)->kind == N_MAP || is_null(d, l)) && blockable(d, l))
		return to_block(p, l);
	if (is_null(d, l)) {
		p->sp[0].at = nd(d, l)->vstart;
		p->sp[0].del = nd(d, l)->end - nd(d, l)->vstart;
		fb_err rc = fb_buf_addstr(&p->sp[0].ins, p->sp[0].del ? "{" : " {");
		rc = rc ? rc : put_flow(p, &p->sp[0].ins);
		return rc ? rc : fb_buf_addc(&p->sp[0].ins, '}');
	}
	return fb_error_set(FB_EINVAL, "%s:%u: %.200s cannot be added: the value there is %s",
	                    d->name, nd(d, l)->line + 1, p->path, kind_name(nd(d, l)->kind));
}

/* The most common step between a key and its nested block keys. */
static unsigned indent_step(const fb_yaml_doc *d)
{
	unsigned count[9] = {0}, best = 2;

	for (int i = 0; i < d->n; i++) {
		const ynode *x = nd(d, i);
		if (x->kind != N_MAP || x->style || x->keyn < 0 || x->first < 0 ||
		    nd(d, x->parent)->style)
			continue;
		unsigned a = nd(d, x->first)->col, k = nd(d, x->keyn)->col;
		if (a > k && a - k < 9)
			count[a - k]++;
	}
	for (unsigned s = 1; s < 9; s++)
		if (count[s] > count[best])
			best = s;
	return best;
}

static fb_err apply(const plan *p, fb_buf *out)
{
	const char *t = p->d->text;
	size_t pos = 0;
	fb_err rc = FB_OK;

	for (int i = 0; i < 2 && rc == FB_OK; i++) {
		const splice *s = &p->sp[i];
		if (s->del == 0 && s->ins.len == 0)
			continue;
		if (s->at < pos)
			return fb_error_set(FB_ERR, "%s: overlapping edits", p->d->name);
		if ((rc = fb_buf_add(out, t + pos, s->at - pos)) == FB_OK)
			rc = fb_buf_add(out, fb_buf_str(&s->ins), s->ins.len);
		pos = s->at + s->del;
	}
	return rc ? rc : fb_buf_add(out, t + pos, p->d->len - pos);
}

/* ---- checking the result ---- */

static int on_the_way(const char *p, size_t n, const char *target)
{
	return n == 0 || (!strncmp(p, target, n) && target[n] && strchr(".[", target[n]));
}

/* One line per leaf (and per anchor), except for the edited path and the
 * nodes on the way to it: two texts whose signatures match differ only
 * there. */
static fb_err sign(const fb_yaml_doc *d, int i, fb_buf *path, const char *target, fb_buf *out)
{
	const ynode *x = nd(d, i);
	size_t n = path->len;
	fb_err rc = FB_OK;
	int skip = (n == strlen(target) && !strcmp(fb_buf_str(path), target)) ||
	           on_the_way(fb_buf_str(path), n, target);

	if (!skip && x->anchor != NO_ANCHOR)
		rc = fb_buf_printf(out, "%s\t&%s\n", fb_buf_str(path), str_at(d, x->anchor));
	if (!skip && rc == FB_OK && (x->kind == N_SCALAR || x->kind == N_ALIAS || !x->nchild))
		rc = fb_buf_printf(out, "%s\t%d:%zu:%s\n", fb_buf_str(path), x->kind, x->vlen,
		                   x->kind == N_SCALAR || x->kind == N_ALIAS ? str_at(d, x->value)
		                                                             : "");
	for (int c = x->first; c >= 0 && rc == FB_OK; c = nd(d, c)->next) {
		if (x->kind == N_MAP && nd(d, c)->idx % 2 == 0)
			continue;
		if (!add_component(d, c, path) && fb_buf_addstr(path, ".?") != FB_OK)
			rc = FB_ENOMEM;
		rc = rc ? rc : sign(d, c, path, target, out);
		path->len = n;
		path->data[n] = '\0';
	}
	return rc;
}

static fb_err signature(const fb_yaml_doc *d, const char *target, fb_buf *out)
{
	fb_buf path;
	fb_err rc = FB_OK;

	fb_buf_init(&path, 0);
	if (d->root >= 0 && (rc = fb_buf_addstr(&path, "")) == FB_OK)
		rc = sign(d, d->root, &path, target, out);
	fb_buf_free(&path);
	return rc;
}

static fb_err same_elsewhere(const fb_yaml_doc *a, const fb_yaml_doc *b, const char *path)
{
	fb_buf sa, sb;
	fb_err rc;

	fb_buf_init(&sa, 0);
	fb_buf_init(&sb, 0);
	rc = signature(a, path, &sa);
	if (rc == FB_OK)
		rc = signature(b, path, &sb);
	if (rc == FB_OK && (sa.len != sb.len || memcmp(fb_buf_str(&sa), fb_buf_str(&sb), sa.len)))
		rc = fb_error_set(FB_ERR, "%s: editing %.200s would change other values", a->name,
		                  path);
	fb_buf_free(&sa);
	fb_buf_free(&sb);
	return rc;
}

static fb_err verify(const fb_yaml_doc *old, const fb_buf *text, const char *path,
                     const char *value)
{
	fb_yaml_doc *d = NULL;
	const char *got;
	fb_err rc = fb_yaml_doc_parse(fb_buf_str(text), text->len, old->name, &d);

	if (rc)
		return fb_error_wrap(FB_ERR, "editing %.200s would break the file", path);
	if (fb_yaml_get_scalar(d, path, &got) != FB_OK || strcmp(got, value))
		rc = fb_error_set(FB_ERR, "%s: the edit did not set %.200s as asked", old->name,
		                  path);
	else
		rc = same_elsewhere(old, d, path);
	fb_yaml_doc_free(d);
	return rc;
}

/* ---- fb_yaml_set ---- */

static int utf8_valid(const unsigned char *s)
{
	while (*s) {
		size_t w = utf8_width(*s);
		if ((*s >= 0x80 && *s < 0xC2) || *s > 0xF4)
			return 0;
		for (size_t k = 1; k < w; k++)
			if ((s[k] & 0xC0) != 0x80)
				return 0;
		s += w;
	}
	return 1;
}

static int first_break_is_crlf(const fb_yaml_doc *d)
{
	const char *nl = memchr(d->text, '\n', d->len);
	return nl && nl > d->text && nl[-1] == '\r';
}

static fb_err plan_edit(plan *p, const char *path)
{
	step steps[FB_YAML_MAX_DEPTH];
	char buf[PATH_MAX_LEN];
	size_t n;
	walk w;
	fb_err rc = copy_path(path, buf);

	if (rc || (rc = parse_path(buf, steps, &n)) != FB_OK)
		return rc;
	rc = resolve(p->d, steps, n, &w);
	if (rc != FB_OK && rc != FB_ENOTFOUND)
		return rc;
	fb_err shared = check_shared(p->d, &w, path);
	if (shared)
		return shared;
	if (rc == FB_OK)
		return replace_scalar(p, w.node);
	p->rest = steps + w.done;
	p->nrest = n - w.done;
	p->step = indent_step(p->d);
	return create(p, &w);
}

fb_err fb_yaml_set(const char *text, size_t len, const char *name, const char *path,
                   const char *value, char **out, size_t *outlen)
{
	plan p;
	fb_buf res;
	fb_yaml_doc *d = NULL;
	fb_err rc;

	*out = NULL;
	*outlen = 0;
	if (!value || !utf8_valid((const unsigned char *)value))
		return fb_error_set(FB_EINVAL, "%.200s: the new value is not UTF-8 text",
		                    path ? path : "");
	if ((rc = fb_yaml_doc_parse(text, len, name, &d)) != FB_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	p.d = d;
	p.path = path;
	p.value = value;
	p.nl = first_break_is_crlf(d) ? "\r\n" : "\n";
	fb_buf_init(&p.sp[0].ins, 0);
	fb_buf_init(&p.sp[1].ins, 0);
	fb_buf_init(&res, FB_YAML_MAX_LEN);
	rc = plan_edit(&p, path);
	if (rc == FB_OK)
		rc = apply(&p, &res);
	if (rc == FB_OK)
		rc = verify(d, &res, path, value);
	if (rc == FB_OK) {
		*outlen = res.len;
		if (!(*out = fb_buf_take(&res)))
			rc = fb_error_set(FB_ENOMEM, "out of memory");
	}
	fb_buf_free(&res);
	fb_buf_free(&p.sp[0].ins);
	fb_buf_free(&p.sp[1].ins);
	fb_yaml_doc_free(d);
	return rc;
}
