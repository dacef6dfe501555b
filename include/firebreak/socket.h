/*
 * socket.h - the Slack Socket Mode client.
 *
 * Two threads: the io thread owns the libwebsockets context and every
 * connection; a URL fetcher calls apps.connections.open (libcurl, with the
 * app token) so that a slow or failing Slack API never blocks the io loop.
 * Every (re)connect uses a fresh URL.  On `disconnect` (warning,
 * refresh_requested) the new connection is opened first and the old one
 * closed only when the new one has said hello (make-before-break).  Client
 * pings and a dead-link timeout come from the lws retry/idle policy;
 * reconnects back off with jitter.
 *
 * Envelopes are handed to on_envelope on the io thread; the callee copies
 * what it needs and returns at once.  Acks come back through
 * fb_socket_send() from any thread, after what the envelope carried is
 * committed (durable before acknowledged).
 */
#ifndef FIREBREAK_SOCKET_H
#define FIREBREAK_SOCKET_H

#include <stddef.h>
#include <libwebsockets.h>
#include "firebreak/error.h"

typedef struct fb_socket fb_socket;

typedef struct {
	const char *api_url;
	const char *app_token; /* xapp-: copied, never logged */
	long ping_interval;    /* seconds */
	long dead_after;       /* seconds without a pong */
	/* io thread: one whole message that carries an envelope_id. */
	void (*on_envelope)(void *ctx, const char *json, size_t len, int conn);
	/* any thread: Socket Mode cannot continue (bad token, link disabled). */
	void (*on_fatal)(void *ctx, const char *why);
	void *ctx;
	/* optional: the HTTP server served by the same context (http.h) */
	const struct lws_protocols *http;
	const char *http_iface;
	int http_port;
} fb_socket_opts;

typedef struct {
	int open;         /* connections that said hello */
	long connects;    /* connections opened since start */
	long url_fetches; /* apps.connections.open calls that succeeded */
	long envelopes;
} fb_socket_stats;

fb_err fb_socket_start(const fb_socket_opts *o, fb_socket **out);
/* Queues a text frame (an ack) for connection conn, or the newest open
 * connection when conn has gone.  Takes ownership of json (malloc'd). */
fb_err fb_socket_send(fb_socket *s, int conn, char *json);
void fb_socket_stats_get(fb_socket *s, fb_socket_stats *out);
/* Flushes queued frames (up to about a second), closes, joins, frees. */
void fb_socket_stop(fb_socket *s);

#endif
