/*
 * httpguard.c - owns the HTTP server's defence against idle and slow
 * connections (httpguard_int.h): the table of open connections with
 * their peer address and whether a request is in progress, the limits
 * (per address and in all), and which connection gives way for a new
 * one.  Runs on the io thread only (http.c's callback), so no lock.
 *
 * The policy: every connection must send a whole request head within
 * FB_HTTPGUARD_REQUEST_S seconds of connecting (slowloris and silent
 * sockets are closed by libwebsockets' timer); an address over its share,
 * or the server at its maximum, makes the oldest connection without a
 * request in progress close (of that address first), so that a flood of
 * idle sockets can never keep /health, /metrics, the API or the webhook
 * from being served: a new request always finds room unless every
 * connection is busy with a request, and then it is refused at once.
 */
#include <stdlib.h>
#include <string.h>

#include "firebreak/log.h"
#include "firebreak/stopper.h"
#include "httpguard_int.h"

typedef struct {
	struct lws *wsi; /* NULL: a free slot */
	char ip[64];
	int64_t since; /* when it connected or last went idle */
	int busy;
} conn;

struct fb_httpguard {
	conn *c;
	size_t max, per_ip, open;
	long evicted, refused;
	int64_t logged_at; /* the last http.evicted line */
};

fb_err fb_httpguard_new(size_t max, size_t per_ip, fb_httpguard **out)
{
	fb_httpguard *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g || !(g->c = calloc(max ? max : 1, sizeof(*g->c)))) {
		free(g);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	g->max = max;
	g->per_ip = per_ip;
	*out = g;
	return FB_OK;
}

void fb_httpguard_free(fb_httpguard *g)
{
	if (!g)
		return;
	free(g->c);
	free(g);
}

static conn *find(fb_httpguard *g, const struct lws *wsi)
{
	for (size_t i = 0; i < g->max; i++)
		if (g->c[i].wsi == wsi)
			return &g->c[i];
	return NULL;
}

/* The oldest idle connection (of ip when given); NULL when none. */
static conn *oldest_idle(fb_httpguard *g, const char *ip)
{
	conn *best = NULL;
	for (size_t i = 0; i < g->max; i++) {
		conn *c = &g->c[i];
		if (c->wsi && !c->busy && (!ip || !strcmp(c->ip, ip)) &&
		    (!best || c->since < best->since))
			best = c;
	}
	return best;
}

/* Closes c for a newcomer (asynchronously: lws closes it on its next
 * service pass) and forgets it now. */
static void evict(fb_httpguard *g, conn *c)
{
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	c->wsi = NULL;
	g->open--;
	g->evicted++;
	if (fb_mono_ms() - g->logged_at > 10000) { /* a flood: one line per 10 s */
		g->logged_at = fb_mono_ms();
		fb_log(FB_LOG_WARN, "http.evicted",
		       "peer=%s evicted=%ld refused=%ld note=\"idle connections closed to make "
		       "room for new ones\"",
		       c->ip, g->evicted, g->refused);
	}
}

int fb_httpguard_open(fb_httpguard *g, struct lws *wsi)
{
	char ip[64] = "";
	size_t same = 0;
	conn *slot = NULL;

	if (find(g, wsi))
		return 0;
	lws_get_peer_simple(wsi, ip, sizeof(ip));
	for (size_t i = 0; i < g->max; i++)
		same += g->c[i].wsi && !strcmp(g->c[i].ip, ip);
	if (same >= g->per_ip) {
		conn *old = oldest_idle(g, ip);
		if (!old) {
			g->refused++;
			return -1;
		}
		evict(g, old);
	}
	if (g->open >= g->max) {
		conn *old = oldest_idle(g, NULL);
		if (!old) {
			g->refused++;
			return -1;
		}
		evict(g, old);
	}
	for (size_t i = 0; i < g->max && !slot; i++)
		if (!g->c[i].wsi)
			slot = &g->c[i];
	if (!slot) {
		g->refused++;
		return -1;
	}
	*slot = (conn){.wsi = wsi, .since = fb_mono_ms()};
	memcpy(slot->ip, ip, sizeof(ip));
	g->open++;
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, FB_HTTPGUARD_REQUEST_S);
	return 0;
}

void fb_httpguard_busy(fb_httpguard *g, struct lws *wsi, int busy)
{
	conn *c = find(g, wsi);
	if (!c)
		return;
	c->busy = busy;
	c->since = fb_mono_ms();
}

void fb_httpguard_closed(fb_httpguard *g, struct lws *wsi)
{
	conn *c = find(g, wsi);
	if (c) {
		c->wsi = NULL;
		g->open--;
	}
}

void fb_httpguard_counts(const fb_httpguard *g, size_t *open, long *evicted, long *refused)
{
	*open = g->open;
	*evicted = g->evicted;
	*refused = g->refused;
}
