/*
 * httpguard_int.h - private to src/net: the HTTP server's guard against
 * idle and slow connections (httpguard.c), used by http.c's callback on
 * the io thread.
 */
#ifndef FIREBREAK_HTTPGUARD_INT_H
#define FIREBREAK_HTTPGUARD_INT_H

#include <libwebsockets.h>
#include <stddef.h>

#include "firebreak/error.h"

#define FB_HTTPGUARD_REQUEST_S 10  /* connect (or answer) to a whole request head */
#define FB_HTTPGUARD_BODY_S 30     /* a request head to the end of its body */
#define FB_HTTPGUARD_ENGINE_S 120  /* a request handed to the engine to its answer */
#define FB_HTTPGUARD_KEEPALIVE_S 5 /* an answered connection kept for the next request */

typedef struct fb_httpguard fb_httpguard;

/* At most max connections, per_ip of them from one address. */
fb_err fb_httpguard_new(size_t max, size_t per_ip, fb_httpguard **out);
void fb_httpguard_free(fb_httpguard *g);

/* A connection accepted: 0 to keep it (its request timer starts), -1 to
 * refuse it.  When its address (or the server) is at its limit, the
 * oldest connection that has no request in progress is closed for it;
 * only when every one is busy is the new one refused. */
int fb_httpguard_open(fb_httpguard *g, struct lws *wsi);

/* A request head arrived (busy 1, with a body or not) or its answer was
 * written (busy 0): busy connections are never closed for another. */
void fb_httpguard_busy(fb_httpguard *g, struct lws *wsi, int busy);

/* The connection is gone. */
void fb_httpguard_closed(fb_httpguard *g, struct lws *wsi);

/* How many connections are open, and how many were closed or refused
 * for others since the start. */
void fb_httpguard_counts(const fb_httpguard *g, size_t *open, long *evicted, long *refused);

#endif
