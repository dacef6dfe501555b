/*
 * msg.h - a message a person reads, as a catalog key and its parameters,
 * so that each surface renders it in its own locale.
 *
 * Root causes, suggested actions, fix titles and manual reasons are built
 * by the triage and the actions, far from Slack.  They store the English
 * text (for the CLI, the API and commit subjects) and, beside it, an
 * fb_msg: {"key": "cause_oom", "params": {"app": "checkout", ...}}.  The
 * card renders the key from the locale's catalog (blocks/messages.<locale>
 * .json) with the params, so `slack.locale: ko` shows Korean.
 *
 * Templates are "{{name}}" placeholders plus sections: "{{#name}}...{{/name}}"
 * is kept only when the parameter is set and not empty, "{{^name}}...
 * {{/name}}" only when it is not; "{{t.key}}" includes another catalog
 * message.  Key families: cause_<category>, suggest_<category>_<n>,
 * fix_<kind>, manual_<why>; see README "The card".
 */
#ifndef FIREBREAK_MSG_H
#define FIREBREAK_MSG_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "firebreak/buf.h"
#include "firebreak/error.h"

#define FB_MSG_PARAMS_MAX 16

typedef struct {
	char name[32];
	char value[256];
} fb_msg_param;

typedef struct {
	char key[64]; /* "" when the text has no key (shown as stored) */
	fb_msg_param params[FB_MSG_PARAMS_MAX];
	size_t n_params;
} fb_msg;

/* Empties m and sets its key. */
void fb_msg_init(fb_msg *m, const char *key);
/* Sets (or replaces) a parameter; value NULL or "" leaves it unset, so a
 * section on it drops.  Values are cut at 255 bytes; beyond
 * FB_MSG_PARAMS_MAX parameters the call is ignored. */
void fb_msg_set(fb_msg *m, const char *name, const char *value);
/* The parameter's value, NULL when unset. */
const char *fb_msg_get(const fb_msg *m, const char *name);

/* {"key": ..., "params": {...}}; NULL when m has no key. */
cJSON *fb_msg_json(const fb_msg *m);
/* Reads the JSON form (anything else leaves m empty). */
void fb_msg_parse(fb_msg *m, const cJSON *o);
/* The params as an object of strings, for a renderer (caller frees). */
cJSON *fb_msg_vars(const fb_msg *m);

/*
 * The template engine's text layer, shared with tmpl.c: expands s into
 * out.  put writes the value of a placeholder (escaped as the caller
 * wishes); set says whether a section's parameter is set.  depth guards
 * "{{t.key}}" inclusion in put.
 */
typedef struct {
	fb_err (*put)(void *ctx, const char *name, int depth, fb_buf *out);
	int (*set)(void *ctx, const char *name);
	void *ctx;
} fb_msg_env;
fb_err fb_msg_expand(const fb_msg_env *env, const char *s, int depth, fb_buf *out);

/* m rendered with the English catalog (the CLI's and the commit's words),
 * into out; "" when the key is not in the catalog. */
void fb_msg_english(const fb_msg *m, char *out, size_t outsz);

#endif
