/*
 * yamlquote.h - private to yamledit: how a YAML scalar must be written
 * (plain, 'single' or "double") and what type a plain scalar reads as to
 * Helm (go-yaml with YAML 1.1 booleans).  Pure functions; any thread.
 */
#ifndef FIREBREAK_YAMLQUOTE_H
#define FIREBREAK_YAMLQUOTE_H

#include "firebreak/buf.h"

enum { FB_YQ_STR, FB_YQ_NULL, FB_YQ_BOOL, FB_YQ_INT, FB_YQ_FLOAT };

/* The type a plain scalar s reads as. */
int fb_yamlquote_type(const char *s);
/* Whether s can be written plain (in a flow collection when flow). */
int fb_yamlquote_plain_safe(const char *s, int flow);
fb_err fb_yamlquote_double(fb_buf *b, const char *v);
/* Single-quoted, or double when v holds control characters. */
fb_err fb_yamlquote_single(fb_buf *b, const char *v);
/* A new value or key: quoted only when plain it would differ or read as a
 * boolean or null. */
fb_err fb_yamlquote_new(fb_buf *b, const char *v, int flow);

#endif
