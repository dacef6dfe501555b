/*
 * keycmp.h - comparing a presented secret (an API key, a bearer token)
 * with the configured one without telling its length or content through
 * timing: both sides are HMAC-SHA256'd with a random key made once per
 * process, and the digests compared with CRYPTO_memcmp (keycmp.c).
 */
#ifndef FIREBREAK_KEYCMP_H
#define FIREBREAK_KEYCMP_H

#include <stddef.h>

#include "firebreak/error.h"

typedef struct {
	unsigned char digest[32]; /* HMAC-SHA256 of the configured key */
	int set;                  /* 0: no key configured, nothing matches */
} fb_keycmp;

/* Keeps the digest of key (NUL-terminated; "" or NULL = none set). */
fb_err fb_keycmp_init(fb_keycmp *k, const char *key);

/* 1 when given[0..len) is the configured key; 0 otherwise, and always 0
 * when no key is set.  Time does not depend on where they differ or on
 * the configured key's length. */
int fb_keycmp_matches(const fb_keycmp *k, const char *given, size_t len);

/* Forgets the digest. */
void fb_keycmp_clear(fb_keycmp *k);

#endif
