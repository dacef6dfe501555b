/*
 * http.h - the built-in HTTP server: GET /health, GET /metrics and the
 * JSON API under /api/v1.  It is a libwebsockets protocol served by the io
 * thread's context (socket.c creates the context with it and the listen
 * address), so it never blocks on the engine: health and metrics come
 * from callbacks that copy a snapshot under a mutex, and the API reads the
 * store through its own read-only connection.
 */
#ifndef FIREBREAK_HTTP_H
#define FIREBREAK_HTTP_H

#include <libwebsockets.h>
#include "firebreak/buf.h"
#include "firebreak/error.h"

typedef struct {
	const char *store_path; /* for the API's read-only connection */
	const char *api_key;    /* "" = the API is off (404) */
	/* any thread: 1 when healthy; else 0 and the reason in why */
	int (*health)(void *ctx, char *why, size_t why_sz);
	/* any thread: Prometheus text exposition appended to out */
	void (*metrics)(void *ctx, fb_buf *out);
	/* POST /hooks/alertmanager (on when hook_token is set): a JSON body
	 * that parsed, handed over (the callee owns it).  The answer is sent
	 * when fb_http_complete(id, ...) is called, after the engine commits.
	 * Returns 0 when the body could not be queued (503 at once). */
	const char *hook_token;
	int (*hook)(void *ctx, long id, char *body, size_t len);
	void *ctx;
} fb_http_opts;

/* Any thread: answers the deferred request id (see hook). */
void fb_http_complete(long id, unsigned int status, const char *message);

/* The protocol entry for the context's protocol list; opts must outlive
 * the context. */
struct lws_protocols fb_http_protocol(const fb_http_opts *opts);

/* "127.0.0.1:8080" -> iface and port; FB_EINVAL with a message otherwise. */
fb_err fb_http_parse_listen(const char *listen, char *iface, size_t iface_sz, int *port);

#endif
