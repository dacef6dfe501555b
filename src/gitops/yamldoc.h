/*
 * yamldoc.h - private to the YAML module (yamldoc.c parses, yamledit.c
 * looks up and edits): the flat node table and the small helpers both use.
 */
#ifndef FIREBREAK_YAMLDOC_H
#define FIREBREAK_YAMLDOC_H

#include <yaml.h>
#include "firebreak/buf.h"
#include "firebreak/yamledit.h"

enum { N_SCALAR, N_MAP, N_SEQ, N_ALIAS };

#define NO_ANCHOR ((size_t)-1)
/* Values files use a handful of anchors; the bound keeps alias lookup
 * (a linear scan) cheap on hostile input. */
#define MAX_ANCHORS 512
/* Merge keys may chain (<<: *a where a merges *b); cycles stop here. */
#define MAX_MERGE_DEPTH 8
#define PATH_MAX_LEN 1024

typedef struct {
	int kind;
	int parent, first, last, next; /* tree links, -1 for none */
	int idx;                       /* position among the parent's children */
	int keyn;                      /* for a mapping value: its key node */
	int nchild;
	size_t start;  /* bytes: where the node begins, properties included */
	size_t vstart; /* where its content begins (after &anchor and !tag) */
	size_t end;
	unsigned line, col; /* 0-based, from the start mark */
	int style;          /* scalar: yaml_scalar_style_t; collection: 1 when flow */
	int flow;           /* inside a flow collection, or one itself */
	int tagged;
	size_t value, vlen; /* arena offset: scalar text, or an alias's name */
	size_t anchor;      /* arena offset or NO_ANCHOR */
	int anchor_used;    /* some alias refers to this node */
	int target;         /* alias: the anchored node */
} ynode;

struct fb_yaml_doc {
	char *text;
	size_t len;
	char name[256];
	ynode *nodes;
	int n, cap;
	fb_buf arena; /* NUL-terminated scalar values and anchor names */
	int root;
};

typedef struct {
	char *key; /* into a copy of the path; NULL for an index step */
	size_t klen;
	long index;
} step;

typedef struct {
	int node;    /* the node the whole path names, or -1 */
	int last;    /* deepest node reached, aliases followed; -1 without a root */
	size_t done; /* steps matched */
	int alias;   /* first alias (or merge alias) passed through, or -1 */
	int chain[FB_YAML_MAX_DEPTH + 2];
	size_t nchain;
} walk;

typedef struct {
	size_t at, del;
	fb_buf ins;
} splice;

static inline const char *str_at(const fb_yaml_doc *d, size_t off)
{
	return d->arena.data + off;
}

static inline const ynode *nd(const fb_yaml_doc *d, int i)
{
	return &d->nodes[i];
}

int fb_yaml_is_blank_(char c);
int fb_yaml_is_space_(char c);
size_t fb_yaml_utf8_width_(unsigned char c);

#endif
