/*
 * mask.h - secrets masking.  Every excerpt goes through fb_mask() before
 * it is stored, shown, logged or sent anywhere.  A secret's value is
 * replaced by [MASKED:<kind>]; the context around it (the key name, the
 * URL's user and host) is kept because it is evidence.  Idempotent.
 * The text is bytes: it need not be valid UTF-8 (a PEM block with a
 * Latin-1 byte is masked whole).
 */
#ifndef FIREBREAK_MASK_H
#define FIREBREAK_MASK_H

#include <stddef.h>
#include "firebreak/error.h"

/* A newly allocated masked copy of text[0..len) in *out.  Thread-safe. */
fb_err fb_mask(const char *text, size_t len, char **out);
/* The same for a C string; NULL only when out of memory. */
char *fb_mask_str(const char *s);
/* 1 when text[0..len) holds something the masker would mask (or the
 * masker failed), 0 when it is clean: for refusing a value outright. */
int fb_mask_finds(const char *text, size_t len);
/* 1 when url would carry credentials in clear over the network: an
 * http:// URL whose host is not loopback (localhost, 127.0.0.0/8, ::1).
 * Whatever sends a token, a password or basic auth refuses such a URL
 * (httpc.c, the git credentials callback, check-config). */
int fb_mask_url_in_clear(const char *url);

#endif
