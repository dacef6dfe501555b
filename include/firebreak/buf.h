/*
 * buf.h - bounded growable byte buffer (in the spirit of curl's dynbuf).
 *
 * A buffer always has a maximum size set at init; appending past it fails
 * with FB_ETOOBIG instead of growing without bound.  The data is kept
 * NUL-terminated so it can be used as a C string at any time.
 */
#ifndef FIREBREAK_BUF_H
#define FIREBREAK_BUF_H

#include <stddef.h>
#include "firebreak/error.h"

typedef struct {
	char *data; /* NUL-terminated, or NULL while empty */
	size_t len;
	size_t cap;
	size_t max; /* the most bytes this buffer may ever hold */
} fb_buf;

#define FB_BUF_MAX_DEFAULT (16u * 1024u * 1024u)

void fb_buf_init(fb_buf *b, size_t max);
fb_err fb_buf_add(fb_buf *b, const void *p, size_t n);
fb_err fb_buf_addstr(fb_buf *b, const char *s);
fb_err fb_buf_addc(fb_buf *b, char c);
fb_err fb_buf_printf(fb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fb_buf_reset(fb_buf *b);
/* The contents as a string; "" when empty. Valid until the next change. */
const char *fb_buf_str(const fb_buf *b);
/* Hands the NUL-terminated data to the caller (free() it) and resets b.
 * Returns an empty allocated string when b is empty; NULL only on OOM. */
char *fb_buf_take(fb_buf *b);
void fb_buf_free(fb_buf *b);

/* Reads a whole file or stream into b (bounded by b->max). */
fb_err fb_buf_read_file(fb_buf *b, const char *path);
fb_err fb_buf_read_fd(fb_buf *b, int fd);

/* Copies s into a bounded field (dstsz bytes with the NUL), cut at a
 * character boundary when too long; s NULL copies "".  A byte that is not
 * part of valid UTF-8 (Latin-1, a cut sequence, a surrogate) becomes
 * U+FFFD, so what is copied is text Slack and JSON readers accept. */
void fb_copy_utf8(char *dst, size_t dstsz, const char *s);
/* The same, whole: a malloc'd copy of s (NULL: "") with U+FFFD for each
 * byte that is not valid UTF-8; NULL when out of memory. */
char *fb_utf8_clean(const char *s);

#endif
