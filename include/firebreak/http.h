/*
 * http.h - the built-in HTTP server: GET /health, GET /metrics and the
 * JSON API under /api/v1.  It is a libwebsockets protocol served by the io
 * thread's context (socket.c creates the context with it and the listen
 * address), so it never blocks on the engine: health and metrics come
 * from callbacks that copy a snapshot under a mutex.  The io thread never
 * touches the store: API reads, like the requests that change state, are
 * handed to the engine and answered through fb_http_complete_json().
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
	FB_HTTP_LIST,     /* GET /api/v1/incidents[?all=1]: arg "all" or "" */
	FB_HTTP_SHOW,     /* GET /api/v1/incidents/{id}: arg the id */
	FB_HTTP_LIFECYCLE, /* POST /api/v1/incidents/{id}/{ack,assign,snooze,resolve,reopen,close}:
	                    * arg "ID/OP" (lifecycle.h) */
} fb_http_kind;

typedef struct {
	const char *api_key; /* "" = the API is off (404); copied at fb_http_new */
	/* any thread: 1 when healthy; else 0 and the reason in why */
	int (*health)(void *ctx, char *why, size_t why_sz);
	/* any thread: Prometheus text exposition appended to out */
	void (*metrics)(void *ctx, fb_buf *out);
	/*
	 * Requests the engine answers: those that change state, answered
	 * only after the engine has committed them, and API reads.  The
	 * JSON body that parsed (NULL for a read) is handed over (the callee
	 * owns it) with its kind and argument (an incident id), and the
	 * answer is sent when fb_http_complete*(h, id, ...) is called.
	 * Returns 0 when it could not be queued (503 at once).  The
	 * Alertmanager hook is on when hook_token is set (copied).
	 */
	const char *hook_token;
	int (*hook)(void *ctx, long id, fb_http_kind kind, const char *arg, char *body, size_t len);
	void *ctx;
} fb_http_opts;

typedef struct fb_http fb_http;

/* The server's state: the deferred requests, their answers, the copied
 * credentials.  Free it only after the lws context is destroyed. */
fb_err fb_http_new(const fb_http_opts *opts, fb_http **out);
void fb_http_free(fb_http *h);

/* Any thread: answers the deferred request id with {"<key>": "<value>"}. */
void fb_http_complete(fb_http *h, long id, unsigned int status, const char *key, const char *value);
/* Any thread: answers the deferred request id with a JSON body (taken). */
void fb_http_complete_json(fb_http *h, long id, unsigned int status, char *json);

/* Sets the context's limits the server needs (socket.c calls it when it
 * serves HTTP): file descriptors for every connection the server keeps,
 * the timeouts for a request head, a body and a kept-alive connection,
 * a header table for each connection. */
void fb_http_context_info(struct lws_context_creation_info *info);

/* The protocol entry for the context's protocol list (h outlives it). */
struct lws_protocols fb_http_protocol(fb_http *h);

/* "127.0.0.1:8080" -> iface and port; FB_EINVAL with a message otherwise. */
fb_err fb_http_parse_listen(const char *listen, char *iface, size_t iface_sz, int *port);

#endif
