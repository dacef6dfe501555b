/*
 * tmpl.h - Block Kit templates (the JSON files in blocks/, compiled in)
 * and the message catalogs (blocks/messages.<locale>.json).
 *
 * A template is JSON with "{{name}}" placeholders in its strings:
 *   {{x}}      the variable x from the vars object (missing: empty);
 *   {{t.key}}  the catalog's message key, itself expanded with the vars;
 *   an object with "$if": "x" is dropped when x is empty or false;
 *   an object with "$each": "list" in an array is repeated once per
 *   element of the array vars.list, each element's keys shadowing vars.
 * Escaping is decided by where a value lands, not by the caller: a value
 * in mrkdwn text (or a message's top-level text) has & < > escaped, a
 * value in plain_text or an attribute is left alone, and variables whose
 * names end in "_md" are trusted mrkdwn built by card.c.  After rendering,
 * every text is clipped (UTF-8 safe, with an ellipsis) to its Block Kit
 * limit, and an empty text becomes "-", so a long log line or a Korean
 * label can never make Slack refuse the message.
 */
#ifndef FIREBREAK_TMPL_H
#define FIREBREAK_TMPL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include "firebreak/buf.h"
#include "firebreak/error.h"

typedef struct fb_tmpl fb_tmpl;

/* locale: "en" or "ko"; missing keys fall back to English. */
fb_err fb_tmpl_load(const char *locale, fb_tmpl **out);
void fb_tmpl_free(fb_tmpl *t);

fb_err fb_tmpl_render(const fb_tmpl *t, const char *name, const cJSON *vars, cJSON **out);

/* The catalog message key expanded with vars; escape=1 for mrkdwn.
 * Returns a malloc'd string (never NULL unless out of memory). */
char *fb_tmpl_format(const fb_tmpl *t, const char *key, const cJSON *vars, int escape);
/* Whether the locale's catalog or the English one has key. */
int fb_tmpl_has(const fb_tmpl *t, const char *key);

/* Names of the embedded files, for tests: n is set to the count. */
const char *fb_tmpl_file(size_t i, size_t *len);
size_t fb_tmpl_file_count(void);
const char *fb_tmpl_file_name(size_t i);

/* Appends s to out with & < > escaped for mrkdwn. */
fb_err fb_mrkdwn_escape(fb_buf *out, const char *s);
/* The byte length of the longest prefix of s with at most max characters
 * (UTF-8 code points), never splitting one. */
size_t fb_utf8_prefix(const char *s, size_t max);
size_t fb_utf8_len(const char *s);

#endif
