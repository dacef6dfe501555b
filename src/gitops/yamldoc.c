/*
 * yamldoc.c - owns parsing a YAML values file into the flat node table
 * (yamldoc.h): libyaml events, their marks turned into byte offsets,
 * anchors and aliases, with bounds for hostile input.  Pure functions on
 * caller-owned data: any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamldoc.h"

#define is_blank fb_yaml_is_blank_
#define is_space fb_yaml_is_space_
#define utf8_width fb_yaml_utf8_width_

typedef struct {
	fb_yaml_doc *d;
	int stack[FB_YAML_MAX_DEPTH];
	int depth;
	size_t bom, chr, byte; /* mark cursor: libyaml counts characters */
	int anchors[MAX_ANCHORS];
	int nanchors;
} builder;

/* ---- parsing: events into nodes ---- */

size_t fb_yaml_utf8_width_(unsigned char c)
{
	return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* libyaml marks count characters, not bytes; events arrive nearly in text
 * order, so a cursor that walks from the previous mark stays linear. */
static size_t to_byte(builder *b, size_t chr)
{
	const unsigned char *t = (const unsigned char *)b->d->text;
	size_t len = b->d->len;

	while (b->chr < chr && b->byte < len) {
		b->byte += utf8_width(t[b->byte]);
		b->chr++;
	}
	while (b->chr > chr && b->byte > b->bom) {
		do
			b->byte--;
		while (b->byte > b->bom && (t[b->byte] & 0xC0) == 0x80);
		b->chr--;
	}
	return b->byte > len ? len : b->byte;
}

int fb_yaml_is_blank_(char c)
{
	return c == ' ' || c == '\t';
}

int fb_yaml_is_space_(char c)
{
	return is_blank(c) || c == '\n' || c == '\r';
}

/* Steps over "&anchor" and "!tag" (and the blanks, breaks and comments
 * after them) so that vstart points at the scalar's text or the '{'. */
static size_t skip_props(const char *t, size_t p, size_t end)
{
	while (p < end && (t[p] == '&' || t[p] == '!')) {
		while (p < end && !is_space(t[p]))
			p++;
		while (p < end && (is_space(t[p]) || t[p] == '#'))
			if (t[p] == '#')
				while (p < end && t[p] != '\n')
					p++;
			else
				p++;
	}
	return p;
}

static fb_err arena_add(fb_yaml_doc *d, const void *s, size_t n, size_t *off)
{
	fb_err rc;
	*off = d->arena.len;
	if ((rc = fb_buf_add(&d->arena, s, n)) != FB_OK)
		return rc;
	return fb_buf_addc(&d->arena, '\0');
}

static int find_anchor(const builder *b, const char *name)
{
	for (int i = b->nanchors - 1; i >= 0; i--)
		if (!strcmp(str_at(b->d, nd(b->d, b->anchors[i])->anchor), name))
			return b->anchors[i];
	return -1;
}

static fb_err set_anchor(builder *b, int i, const yaml_char_t *anchor, const yaml_mark_t *m)
{
	fb_err rc;
	if (!anchor)
		return FB_OK;
	if (b->nanchors == MAX_ANCHORS)
		return fb_error_set(FB_ETOOBIG, "%s:%zu: more than %d anchors", b->d->name,
		                    m->line + 1, MAX_ANCHORS);
	rc = arena_add(b->d, anchor, strlen((const char *)anchor), &b->d->nodes[i].anchor);
	if (rc == FB_OK)
		b->anchors[b->nanchors++] = i;
	return rc;
}

static void attach(builder *b, int i)
{
	fb_yaml_doc *d = b->d;
	ynode *n = &d->nodes[i];

	if (b->depth == 0) {
		if (d->root < 0)
			d->root = i;
		return;
	}
	ynode *p = &d->nodes[b->stack[b->depth - 1]];
	n->parent = b->stack[b->depth - 1];
	n->flow = p->flow;
	n->idx = p->nchild++;
	if (p->kind == N_MAP && n->idx % 2 == 1)
		n->keyn = p->last;
	if (p->last >= 0)
		d->nodes[p->last].next = i;
	else
		p->first = i;
	p->last = i;
}

static fb_err add_node(builder *b, int kind, const yaml_event_t *ev, int *out)
{
	fb_yaml_doc *d = b->d;
	ynode *n;

	if (d->n >= FB_YAML_MAX_NODES)
		return fb_error_set(FB_ETOOBIG, "%s: more than %d YAML nodes", d->name,
		                    FB_YAML_MAX_NODES);
	if (d->n == d->cap) {
		int ncap = d->cap ? d->cap * 2 : 64;
		ynode *p = realloc(d->nodes, (size_t)ncap * sizeof(*p));
		if (!p)
			return fb_error_set(FB_ENOMEM, "out of memory");
		d->nodes = p;
		d->cap = ncap;
	}
	*out = d->n++;
	n = &d->nodes[*out];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->parent = n->first = n->last = n->next = n->keyn = n->target = -1;
	n->anchor = NO_ANCHOR;
	n->start = to_byte(b, ev->start_mark.index);
	n->end = to_byte(b, ev->end_mark.index);
	n->vstart = skip_props(d->text, n->start, n->end);
	n->line = (unsigned)ev->start_mark.line;
	n->col = (unsigned)ev->start_mark.column;
	attach(b, *out);
	return FB_OK;
}

static fb_err on_scalar(builder *b, const yaml_event_t *ev)
{
	int i;
	fb_err rc = add_node(b, N_SCALAR, ev, &i);
	ynode *n;

	if (rc)
		return rc;
	n = &b->d->nodes[i];
	n->style = ev->data.scalar.style;
	n->tagged = ev->data.scalar.tag != NULL;
	n->vlen = ev->data.scalar.length;
	if ((rc = arena_add(b->d, ev->data.scalar.value, n->vlen, &n->value)) != FB_OK)
		return rc;
	return set_anchor(b, i, ev->data.scalar.anchor, &ev->start_mark);
}

static fb_err on_alias(builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	int i, t = find_anchor(b, name);
	fb_err rc;

	if (t < 0)
		return fb_error_set(FB_EINVAL, "%s:%zu:%zu: alias *%.100s refers to no anchor",
		                    b->d->name, ev->start_mark.line + 1, ev->start_mark.column + 1,
		                    name);
	if ((rc = add_node(b, N_ALIAS, ev, &i)) != FB_OK)
		return rc;
	b->d->nodes[t].anchor_used = 1;
	b->d->nodes[i].target = t;
	b->d->nodes[i].vlen = strlen(name);
	return arena_add(b->d, name, strlen(name), &b->d->nodes[i].value);
}

static fb_err on_start(builder *b, const yaml_event_t *ev, int kind)
{
	const yaml_char_t *anchor =
	    kind == N_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	int flow = kind == N_MAP ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
	                         : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
	int i;
	fb_err rc;

	if (b->depth == FB_YAML_MAX_DEPTH)
		return fb_error_set(FB_ETOOBIG, "%s:%zu: nesting deeper than %d levels", b->d->name,
		                    ev->start_mark.line + 1, FB_YAML_MAX_DEPTH);
	if ((rc = add_node(b, kind, ev, &i)) != FB_OK)
		return rc;
	b->d->nodes[i].style = flow;
	b->d->nodes[i].flow |= flow;
	b->stack[b->depth++] = i;
	return set_anchor(b, i, anchor, &ev->start_mark);
}

static fb_err on_event(builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT: return on_scalar(b, ev);
	case YAML_ALIAS_EVENT: return on_alias(b, ev);
	case YAML_MAPPING_START_EVENT: return on_start(b, ev, N_MAP);
	case YAML_SEQUENCE_START_EVENT: return on_start(b, ev, N_SEQ);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (b->depth > 0)
			b->d->nodes[b->stack[--b->depth]].end = to_byte(b, ev->end_mark.index);
		return FB_OK;
	default: return FB_OK;
	}
}

static fb_err parser_error(const fb_yaml_doc *d, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return fb_error_set(FB_ENOMEM, "%s: out of memory while parsing", d->name);
	if (p->error == YAML_READER_ERROR)
		return fb_error_set(FB_EINVAL, "%s: byte %zu: %s", d->name, p->problem_offset,
		                    problem);
	if (p->context)
		return fb_error_set(FB_EINVAL, "%s:%zu:%zu: %s (%s at line %zu)", d->name,
		                    p->problem_mark.line + 1, p->problem_mark.column + 1, problem,
		                    p->context, p->context_mark.line + 1);
	return fb_error_set(FB_EINVAL, "%s:%zu:%zu: %s", d->name, p->problem_mark.line + 1,
	                    p->problem_mark.column + 1, problem);
}

/* Feeds events to the builder up to the end of the first document. */
static fb_err build(builder *b)
{
	yaml_parser_t p;
	fb_err rc = FB_OK;

	if (!yaml_parser_initialize(&p))
		return fb_error_set(FB_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)b->d->text, b->d->len);
	for (int done = 0; !done && rc == FB_OK;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(b->d, &p);
			break;
		}
		rc = on_event(b, &ev);
		done = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

fb_err fb_yaml_doc_parse(const char *text, size_t len, const char *name, fb_yaml_doc **out)
{
	fb_yaml_doc *d;
	builder b;
	fb_err rc;

	*out = NULL;
	name = name ? name : "<yaml>";
	if (len > FB_YAML_MAX_LEN)
		return fb_error_set(FB_ETOOBIG, "%s: %zu bytes is over the %u byte limit", name,
		                    len, FB_YAML_MAX_LEN);
	if (len >= 2 &&
	    ((text[0] == '\xfe' && text[1] == '\xff') || (text[0] == '\xff' && text[1] == '\xfe')))
		return fb_error_set(FB_EINVAL, "%s: UTF-16 is not supported; use UTF-8", name);
	if (!(d = calloc(1, sizeof(*d))) || !(d->text = malloc(len + 1))) {
		free(d);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	if (len)
		memcpy(d->text, text, len);
	d->text[len] = '\0';
	d->len = len;
	d->root = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	fb_buf_init(&d->arena, 2 * (size_t)FB_YAML_MAX_LEN);
	memset(&b, 0, sizeof(b));
	b.d = d;
	b.bom = b.byte = len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;
	/* the empty string at the end keeps arena.data non-NULL */
	if ((rc = build(&b)) != FB_OK || (rc = arena_add(d, "", 0, &b.chr)) != FB_OK) {
		fb_yaml_doc_free(d);
		return rc;
	}
	*out = d;
	return FB_OK;
}

void fb_yaml_doc_free(fb_yaml_doc *doc)
{
	if (!doc)
		return;
	free(doc->text);
	free(doc->nodes);
	fb_buf_free(&doc->arena);
	free(doc);
}
