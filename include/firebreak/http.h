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

typedef enum {
	FB_HTTP_ALERTMANAGER, /* POST /hooks/alertmanager */
	FB_HTTP_TRIGGER,      /* POST /api/v1/incidents {"log", "app"?, "user"?} */
	FB_HTTP_FEEDBACK, /* POST /api/v1/incidents/{id}/feedback {"verdict", "reason"?, "user"?} */
} fb_http_kind;

typedef struct {
	const char *store_path; /* for the API's read-only connection */
	const char *api_key;    /* "" = the API is off (404) */
	/* any thread: 1 when healthy; else 0 and the reason in why */
	int (*health)(void *ctx, char *why, size_t why_sz);
	/* any thread: Prometheus text exposition appended to out */
	void (*metrics)(void *ctx, fb_buf *out);
	/*
	 * Requests that change state are answered only after the engine has
	 * committed them: the JSON body that parsed is handed over (the
	 * callee owns it) with its kind and argument (an incident id), and
	 * the answer is sent when fb_http_complete(id, ...) is called.
	 * Returns 0 when it could not be queued (503 at once).  The
	 * Alertmanager hook is on when hook_token is set.
	 */
	const char *hook_token;
	int (*hook)(void *ctx, long id, fb_http_kind kind, const char *arg, char *body, size_t len);
	void *ctx;
} fb_http_opts;

/* Any thread: answers the deferred request id with {"<key>": "<value>"}. */
void fb_http_complete(long id, unsigned int status, const char *key, const char *value);

/* The protocol entry for the context's protocol list; opts must outlive
 * the context. */
struct lws_protocols fb_http_protocol(const fb_http_opts *opts);

/* "127.0.0.1:8080" -> iface and port; FB_EINVAL with a message otherwise. */
fb_err fb_http_parse_listen(const char *listen, char *iface, size_t iface_sz, int *port);

#endif
