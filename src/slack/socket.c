/*
 * socket.c - owns the Slack Socket Mode connections: the io thread (the
 * libwebsockets context, every wsi, frame reassembly, acks on the wire,
 * reconnect timers) and the URL fetcher thread (apps.connections.open over
 * libcurl, with backoff).  Nothing but lws_cancel_service() touches lws
 * from another thread: other threads hand frames over through `sendq`
 * under the mutex and wake the io loop.
 *
 * Connection life: CONNECTING (TCP/TLS/upgrade) -> WAITING (upgraded, no
 * hello yet) -> OPEN (hello seen; envelopes may arrive) -> RETIRING (Slack
 * said disconnect; a replacement is on its way) -> closed.  A retiring
 * connection stays up until a newer one is OPEN, so an envelope sent to
 * either is read and acked: no gap at a routine refresh.
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/http.h"
#include "firebreak/log.h"
#include "firebreak/slackapi.h"
#include "firebreak/socket.h"
#include "firebreak/stopper.h"
#include "salvage_int.h"

#define MAX_CONNS 4
#define FRAME_MAX (1024u * 1024u) /* the largest message we accept */
#define HELD_MAX 1000             /* acks kept while no connection is open */
#define SLACK_PROTOCOL "firebreak-slack"

enum { C_FREE, C_CONNECTING, C_WAITING, C_OPEN, C_RETIRING };

typedef struct out {
	struct out *next;
	int conn;
	size_t len;
	unsigned char *buf; /* LWS_PRE bytes of headroom, then the frame */
} out;

typedef struct {
	struct lws *wsi;
	int id, state, close_me, overflow;
	fb_buf rx;
	char tail[FB_SALVAGE_TAIL]; /* the frame's last bytes, for an overflow */
	size_t tail_n;
	out *q, *qtail;
} conn;

struct fb_socket {
	fb_socket_opts o;
	char api_url[512], token[512];
	struct lws_context *ctx;
	pthread_t io_thread, fetch_thread;
	int io_started, fetch_started;

	pthread_mutex_t mu; /* guards everything down to the io-only part */
	pthread_cond_t cv;
	int stop, want_url, fatal;
	int64_t url_not_before;
	char *url;  /* a fresh URL waiting for the io thread */
	out *sendq; /* frames from other threads */
	fb_socket_stats stats;

	/* io thread only */
	conn conns[MAX_CONNS];
	int next_id, failures, url_pending;
	out *held;
	size_t n_held;
	lws_sorted_usec_list_t sul;
	lws_retry_bo_t policy;
	struct lws_protocols protocols[3]; /* [http,] slack, end */
	char iface[64];
};

static const uint32_t unused_table[] = {1000};

/* delay * [0.5, 1.5): spreads reconnects from many instances apart. */
static int64_t jitter(int64_t delay)
{
	unsigned int r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned int)fb_mono_ms();
	return delay / 2 + (int64_t)(r % (unsigned int)(delay > 0 ? delay : 1));
}

static int64_t backoff(int failures, int64_t base, int64_t cap)
{
	int64_t d = base;
	for (int i = 1; i < failures && d < cap; i++)
		d *= 2;
	return jitter(d < cap ? d : cap);
}

/* ---- the URL fetcher thread ---- */

/* Wakes the io thread from any thread; its context is read under the
 * mutex because the io thread takes it away when it ends (TSan). */
static void wake_io(fb_socket *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->ctx)
		lws_cancel_service(s->ctx);
	pthread_mutex_unlock(&s->mu);
}

static void fetch_wait(fb_socket *s, int64_t ms)
{
	struct timespec until;
	fb_deadline(&until, ms);
	pthread_mutex_lock(&s->mu);
	while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
		;
	pthread_mutex_unlock(&s->mu);
}

/* One apps.connections.open; returns the delay before the next try when
 * it failed (0 = got a URL, <0 = fatal). */
static int64_t fetch_once(fb_socket *s, fb_slackapi *api, int *failures)
{
	fb_slack_result res;
	const cJSON *url;
	fb_err rc = fb_slackapi_call(api, "apps.connections.open", NULL, &res);
	int64_t delay;

	url = cJSON_GetObjectItemCaseSensitive(res.body, "url");
	if (!rc && res.ok && cJSON_IsString(url)) {
		pthread_mutex_lock(&s->mu);
		free(s->url);
		s->url = strdup(url->valuestring);
		s->stats.url_fetches++;
		pthread_mutex_unlock(&s->mu);
		fb_slack_result_free(&res);
		*failures = 0;
		wake_io(s);
		return 0;
	}
	if (!rc && fb_slackapi_fatal_error(res.error)) {
		char why[256];
		snprintf(
		    why, sizeof(why),
		    "apps.connections.open refused the app token: %s (check SLACK_APP_TOKEN: an "
		    "xapp- token with connections:write)",
		    res.error);
		fb_slack_result_free(&res);
		s->o.on_fatal(s->o.ctx, why);
		return -1;
	}
	(*failures)++;
	/* Tier 1: never hot-loop; a 429 says exactly how long to wait */
	delay = res.retry_after > 0 ? res.retry_after * 1000 : backoff(*failures, 1000, 60000);
	fb_log(FB_LOG_WARN, "socket.url_failed", "error=%s retry_in_ms=%lld",
	       res.error[0] ? res.error : "unknown", (long long)delay);
	fb_slack_result_free(&res);
	return delay;
}

static void *fetch_main(void *arg)
{
	fb_socket *s = arg;
	fb_slackapi *api = NULL;
	int failures = 0;

	if (fb_slackapi_new(s->api_url, s->token, &api) != FB_OK) {
		s->o.on_fatal(s->o.ctx, fb_error_last());
		return NULL;
	}
	for (;;) {
		int64_t wait;
		pthread_mutex_lock(&s->mu);
		while (!s->stop && !s->want_url)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		wait = s->url_not_before - fb_mono_ms();
		pthread_mutex_unlock(&s->mu);
		if (wait > 0) {
			fetch_wait(s, wait);
			continue; /* re-check stop and the time */
		}
		int64_t next = fetch_once(s, api, &failures);
		pthread_mutex_lock(&s->mu);
		if (next == 0 || next < 0)
			s->want_url = 0;
		else
			s->url_not_before = fb_mono_ms() + next;
		if (next < 0)
			s->fatal = 1;
		pthread_mutex_unlock(&s->mu);
		if (next < 0)
			break;
	}
	fb_slackapi_free(api);
	return NULL;
}

/* ---- the io thread ---- */

static void request_url(fb_socket *s, int64_t delay_ms)
{
	if (s->url_pending)
		return;
	s->url_pending = 1;
	pthread_mutex_lock(&s->mu);
	s->want_url = 1;
	s->url_not_before = fb_mono_ms() + delay_ms;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static int live_conns(fb_socket *s)
{
	int n = 0;
	for (int i = 0; i < MAX_CONNS; i++)
		n += s->conns[i].state == C_CONNECTING || s->conns[i].state == C_WAITING ||
		     s->conns[i].state == C_OPEN;
	return n;
}

/* The connection acks go to when theirs has gone: the newest OPEN one,
 * else the newest RETIRING one (still readable and writable). */
static conn *newest_open(fb_socket *s)
{
	conn *best = NULL;
	for (int i = 0; i < MAX_CONNS; i++) {
		conn *c = &s->conns[i];
		if ((c->state != C_OPEN && c->state != C_RETIRING) || c->close_me)
			continue;
		if (!best || (c->state == C_OPEN && best->state != C_OPEN) ||
		    (c->state == best->state && c->id > best->id))
			best = c;
	}
	return best;
}

static conn *conn_by_id(fb_socket *s, int id)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].state >= C_OPEN && s->conns[i].id == id && !s->conns[i].close_me)
			return &s->conns[i];
	return NULL;
}

static void out_free_all(out *o)
{
	while (o) {
		out *n = o->next;
		free(o->buf);
		free(o);
		o = n;
	}
}

static void conn_enqueue(conn *c, out *o)
{
	o->next = NULL;
	if (c->qtail)
		c->qtail->next = o;
	else
		c->q = o;
	c->qtail = o;
	lws_callback_on_writable(c->wsi);
}

/* Routes a frame to its connection, or the newest open one, or holds it
 * until a connection says hello. */
static void route(fb_socket *s, out *o)
{
	conn *c = conn_by_id(s, o->conn);
	if (!c)
		c = newest_open(s);
	if (c) {
		conn_enqueue(c, o);
		return;
	}
	if (s->n_held >= HELD_MAX) {
		fb_log(FB_LOG_WARN, "socket.ack_dropped", "reason=\"no connection, %d held\"",
		       HELD_MAX);
		out_free_all((o->next = NULL, o));
		return;
	}
	o->next = s->held;
	s->held = o;
	s->n_held++;
}

static void reconnect_cb(lws_sorted_usec_list_t *sul)
{
	fb_socket *s = lws_container_of(sul, fb_socket, sul);
	if (live_conns(s) == 0)
		request_url(s, 0);
}

/* No live connection is left: get a new URL after a backoff. */
static void schedule_reconnect(fb_socket *s, int64_t min_ms)
{
	int64_t d;
	if (s->stop || s->fatal || live_conns(s) > 0)
		return;
	s->failures++;
	d = backoff(s->failures, 250, 30000);
	if (d < min_ms)
		d = jitter(min_ms);
	if (s->failures == 1 && min_ms == 0)
		d = 0; /* the first drop reconnects at once */
	fb_log(FB_LOG_INFO, "socket.reconnect", "in_ms=%lld failures=%d", (long long)d,
	       s->failures);
	lws_sul_schedule(s->ctx, 0, &s->sul, reconnect_cb, d * 1000);
}

static int is_loopback(const char *host)
{
	return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1") ||
	       !strcmp(host, "[::1]");
}

static void connect_url(fb_socket *s, char *url)
{
	const char *prot, *host, *path;
	char path_buf[1024];
	int port, slot = -1;
	struct lws_client_connect_info ci;

	for (int i = 0; i < MAX_CONNS && slot < 0; i++)
		if (s->conns[i].state == C_FREE)
			slot = i;
	if (slot < 0 || lws_parse_uri(url, &prot, &host, &port, &path)) {
		fb_log(FB_LOG_ERROR, "socket.bad_url", "reason=\"%s\"",
		       slot < 0 ? "too many connections" : "unparseable URL");
		schedule_reconnect(s, 1000);
		return;
	}
	if (strcmp(prot, "wss") && !(strcmp(prot, "ws") == 0 && is_loopback(host))) {
		fb_log(FB_LOG_ERROR, "socket.bad_url",
		       "reason=\"only wss:// (or ws:// to a loopback test server) is accepted\"");
		schedule_reconnect(s, 5000);
		return;
	}
	snprintf(path_buf, sizeof(path_buf), "/%s", path);
	conn *c = &s->conns[slot];
	memset(c, 0, sizeof(*c));
	c->id = ++s->next_id;
	c->state = C_CONNECTING;
	fb_buf_init(&c->rx, FRAME_MAX);
	memset(&ci, 0, sizeof(ci));
	ci.context = s->ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path_buf;
	ci.host = host;
	ci.origin = host;
	ci.protocol = NULL;
	ci.ssl_connection = strcmp(prot, "wss") ? 0 : LCCSCF_USE_SSL;
	ci.retry_and_idle_policy = &s->policy;
	ci.local_protocol_name = SLACK_PROTOCOL;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	fb_log(FB_LOG_INFO, "socket.connecting", "conn=%d scheme=%s host=%s", c->id, prot, host);
	if (!lws_client_connect_via_info(&ci)) {
		/* lws has already reported CONNECTION_ERROR, or will not */
		if (c->state == C_CONNECTING) {
			fb_buf_free(&c->rx);
			c->state = C_FREE;
			schedule_reconnect(s, 0);
		}
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->stats.connects++;
	pthread_mutex_unlock(&s->mu);
}

static void conn_closed(fb_socket *s, conn *c, const char *how)
{
	out *q = c->q;
	int was = c->state;

	fb_log(FB_LOG_INFO, "socket.closed", "conn=%d how=%s", c->id, how);
	c->q = c->qtail = NULL;
	c->state = C_FREE;
	c->wsi = NULL;
	fb_buf_free(&c->rx);
	while (q) { /* unsent acks move to another connection */
		out *n = q->next;
		route(s, q);
		q = n;
	}
	pthread_mutex_lock(&s->mu);
	s->stats.open = 0;
	for (int i = 0; i < MAX_CONNS; i++)
		s->stats.open += s->conns[i].state == C_OPEN;
	pthread_mutex_unlock(&s->mu);
	if (live_conns(s) == 0 && !s->url_pending)
		schedule_reconnect(s, was == C_RETIRING ? 0 : 0);
}

static void on_hello(fb_socket *s, conn *c, const cJSON *msg)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(msg, "num_connections");

	c->state = C_OPEN;
	s->failures = 0;
	fb_log(FB_LOG_INFO, "socket.hello", "conn=%d num_connections=%d", c->id,
	       cJSON_IsNumber(n) ? n->valueint : -1);
	/* make-before-break: the new one is up, the old ones may go */
	for (int i = 0; i < MAX_CONNS; i++) {
		conn *o = &s->conns[i];
		if (o != c && o->state == C_RETIRING && !o->close_me) {
			o->close_me = 1;
			lws_callback_on_writable(o->wsi);
		}
	}
	while (s->held) {
		out *h = s->held;
		s->held = h->next;
		s->n_held--;
		conn_enqueue(c, h);
	}
	pthread_mutex_lock(&s->mu);
	s->stats.open = 0;
	for (int i = 0; i < MAX_CONNS; i++)
		s->stats.open += s->conns[i].state == C_OPEN;
	pthread_mutex_unlock(&s->mu);
}

static void on_disconnect(fb_socket *s, conn *c, const char *reason)
{
	fb_log(FB_LOG_INFO, "socket.disconnect", "conn=%d reason=%s", c->id, reason);
	if (!strcmp(reason, "link_disabled")) {
		s->o.on_fatal(s->o.ctx, "Slack disabled Socket Mode for this app (link_disabled): "
		                        "turn it on again under Settings > Socket Mode");
		pthread_mutex_lock(&s->mu);
		s->fatal = 1;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (!strcmp(reason, "too_many_websockets")) {
		/* this connection is one too many: drop it and do not add another
		 * unless it was the last, and then only after a long pause */
		c->state = C_RETIRING;
		c->close_me = 1;
		lws_callback_on_writable(c->wsi);
		if (live_conns(s) == 0)
			schedule_reconnect(s, 30000);
		return;
	}
	/* warning, refresh_requested, anything new: replace, then close */
	if (c->state != C_RETIRING) {
		c->state = C_RETIRING;
		request_url(s, 0);
	}
}

/* An envelope that cannot be read whole still gets its ack (and a slash
 * command its reply): a stand-in made from what was kept (salvage.c). */
static void stand_in(fb_socket *s, conn *c, const char *why)
{
	char *json = fb_salvage_envelope(fb_buf_str(&c->rx), c->rx.len, c->tail, c->tail_n, why);
	if (!json)
		return;
	pthread_mutex_lock(&s->mu);
	s->stats.envelopes++;
	pthread_mutex_unlock(&s->mu);
	s->o.on_envelope(s->o.ctx, json, strlen(json), c->id);
	free(json);
}

/* The last FB_SALVAGE_TAIL bytes of the frame so far. */
static void keep_tail(conn *c, const void *in, size_t len)
{
	const char *p = in;
	if (len >= sizeof(c->tail)) {
		memcpy(c->tail, p + len - sizeof(c->tail), sizeof(c->tail));
		c->tail_n = sizeof(c->tail);
		return;
	}
	if (c->tail_n + len > sizeof(c->tail)) {
		size_t drop = c->tail_n + len - sizeof(c->tail);
		memmove(c->tail, c->tail + drop, c->tail_n - drop);
		c->tail_n -= drop;
	}
	memcpy(c->tail + c->tail_n, p, len);
	c->tail_n += len;
}

static void on_message(fb_socket *s, conn *c)
{
	const char *text = fb_buf_str(&c->rx);
	cJSON *msg = cJSON_ParseWithLength(text, c->rx.len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	const cJSON *eid = cJSON_GetObjectItemCaseSensitive(msg, "envelope_id");

	if (!cJSON_IsObject(msg)) {
		fb_log(FB_LOG_WARN, "socket.bad_frame", "conn=%d bytes=%zu", c->id, c->rx.len);
		stand_in(s, c, "bad_text");
	} else if (cJSON_IsString(eid)) {
		pthread_mutex_lock(&s->mu);
		s->stats.envelopes++;
		pthread_mutex_unlock(&s->mu);
		s->o.on_envelope(s->o.ctx, text, c->rx.len, c->id);
	} else if (cJSON_IsString(type) && !strcmp(type->valuestring, "hello")) {
		on_hello(s, c, msg);
	} else if (cJSON_IsString(type) && !strcmp(type->valuestring, "disconnect")) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "reason");
		on_disconnect(s, c, cJSON_IsString(r) ? r->valuestring : "unknown");
	} else {
		fb_log(FB_LOG_DEBUG, "socket.ignored", "conn=%d type=%s", c->id,
		       cJSON_IsString(type) ? type->valuestring : "-");
	}
	cJSON_Delete(msg);
}

static void on_receive(fb_socket *s, conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		fb_buf_reset(&c->rx);
		c->overflow = 0;
		c->tail_n = 0;
	}
	if (!c->overflow && fb_buf_add(&c->rx, in, len) != FB_OK)
		c->overflow = 1;
	if (c->overflow)
		keep_tail(c, in, len);
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	if (c->overflow) {
		fb_log(FB_LOG_WARN, "socket.frame_too_big", "conn=%d max=%u", c->id, FRAME_MAX);
		stand_in(s, c, "too_long");
	} else
		on_message(s, c);
	fb_buf_reset(&c->rx);
}

static int on_writable(fb_socket *s, conn *c)
{
	out *o = c->q;
	(void)s;
	if (o) {
		c->q = o->next;
		if (!c->q)
			c->qtail = NULL;
		int n = lws_write(c->wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
		free(o->buf);
		free(o);
		if (n < 0)
			return -1;
		if (c->q)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->close_me) {
		lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"refreshed", 9);
		return -1;
	}
	return 0;
}

/* Another thread pushed a frame, a URL arrived, or we are stopping. */
static void on_wake(fb_socket *s)
{
	char *url;
	out *q;

	pthread_mutex_lock(&s->mu);
	url = s->url;
	s->url = NULL;
	q = s->sendq;
	s->sendq = NULL;
	pthread_mutex_unlock(&s->mu);
	if (url) {
		s->url_pending = 0;
		if (!s->stop)
			connect_url(s, url);
		explicit_bzero(url, strlen(url)); /* the ticket is a credential */
		free(url);
	}
	/* sendq is newest first: reverse to keep the order of acks */
	out *rev = NULL;
	while (q) {
		out *n = q->next;
		q->next = rev;
		rev = q;
		q = n;
	}
	while (rev) {
		out *n = rev->next;
		route(s, rev);
		rev = n;
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	fb_socket *s = lws_context_user(ctx);
	conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	(void)user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fb_log(FB_LOG_WARN, "socket.connect_failed", "conn=%d error=\"%.200s\"",
		       c ? c->id : -1, in ? (const char *)in : "unknown");
		if (c)
			conn_closed(s, c, "connect_failed");
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c)
			c->state = C_WAITING;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c)
			on_receive(s, c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c)
			return on_writable(s, c);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c && c->state != C_FREE)
			conn_closed(s, c, c->close_me ? "replaced" : "peer_or_timeout");
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: on_wake(s); break;
	default: break;
	}
	return 0;
}

static const struct lws_protocols slack_protocol = {SLACK_PROTOCOL, callback, 0, 16384, 0, NULL, 0};

static void lws_to_log(int level, const char *line)
{
	char msg[300];
	size_t n = strlen(line);
	snprintf(msg, sizeof(msg), "%.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
	fb_log(level == LLL_ERR ? FB_LOG_WARN : FB_LOG_DEBUG, "lws", "msg=\"%s\"", msg);
}

static int outstanding(fb_socket *s)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].state >= C_OPEN && s->conns[i].q)
			return 1;
	return 0;
}

static void *io_main(void *arg)
{
	fb_socket *s = arg;
	int64_t drain_until = 0;

	request_url(s, 0);
	for (;;) {
		int stop;
		pthread_mutex_lock(&s->mu);
		stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop && !drain_until)
			drain_until = fb_mono_ms() + 1000;
		if (stop && (!outstanding(s) || fb_mono_ms() > drain_until))
			break;
		if (lws_service(s->ctx, 0) < 0)
			break;
	}
	lws_sul_cancel(&s->sul);
	for (int i = 0; i < MAX_CONNS; i++) /* keep the callbacks away from them */
		if (s->conns[i].state != C_FREE)
			s->conns[i].close_me = 1;
	pthread_mutex_lock(&s->mu); /* wake_io() on other threads sees it gone */
	struct lws_context *ctx = s->ctx;
	s->ctx = NULL;
	pthread_mutex_unlock(&s->mu);
	lws_context_destroy(ctx);
	for (int i = 0; i < MAX_CONNS; i++) {
		fb_buf_free(&s->conns[i].rx);
		out_free_all(s->conns[i].q);
	}
	out_free_all(s->held);
	return NULL;
}

fb_err fb_socket_start(const fb_socket_opts *o, fb_socket **out_s)
{
	struct lws_context_creation_info info;
	fb_socket *s = calloc(1, sizeof(*s));

	*out_s = NULL;
	if (!s)
		return fb_error_set(FB_ENOMEM, "out of memory");
	s->o = *o;
	snprintf(s->api_url, sizeof(s->api_url), "%s", o->api_url);
	snprintf(s->token, sizeof(s->token), "%s", o->app_token);
	s->o.api_url = s->api_url;
	s->o.app_token = NULL;
	pthread_mutex_init(&s->mu, NULL);
	fb_cond_init_monotonic(&s->cv); /* fetch_wait measures CLOCK_MONOTONIC */
	s->policy = (lws_retry_bo_t){.retry_ms_table = unused_table,
	                             .retry_ms_table_count = 1,
	                             .conceal_count = 0,
	                             .secs_since_valid_ping = (uint16_t)o->ping_interval,
	                             .secs_since_valid_hangup = (uint16_t)o->dead_after,
	                             .jitter_percent = 0};
	lws_set_log_level(LLL_ERR, lws_to_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	if (o->http) { /* the server's protocol first: it serves plain HTTP */
		s->protocols[0] = *o->http;
		s->protocols[1] = slack_protocol;
		snprintf(s->iface, sizeof(s->iface), "%s", o->http_iface);
		info.port = o->http_port;
		info.iface = s->iface;
	} else {
		s->protocols[0] = slack_protocol;
	}
	info.protocols = s->protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.fd_limit_per_thread = 64; /* not ulimit -n: keeps the idle RSS small */
	if (o->http)                   /* the HTTP server's fds and timeouts (http.c) */
		fb_http_context_info(&info);
	info.user = s;
	if (!(s->ctx = lws_create_context(&info))) {
		fb_socket_stop(s);
		if (o->http)
			return fb_error_set(
			    FB_EIO, "cannot listen on %s:%d (in use, or not an address here?)",
			    o->http_iface, o->http_port);
		return fb_error_set(FB_EIO, "cannot create the libwebsockets context");
	}
	if (pthread_create(&s->fetch_thread, NULL, fetch_main, s) == 0)
		s->fetch_started = 1;
	if (s->fetch_started && pthread_create(&s->io_thread, NULL, io_main, s) == 0)
		s->io_started = 1;
	if (!s->io_started) {
		fb_socket_stop(s);
		return fb_error_set(FB_ERR, "cannot start the Socket Mode threads");
	}
	*out_s = s;
	return FB_OK;
}

fb_err fb_socket_send(fb_socket *s, int conn_id, char *json)
{
	size_t len = strlen(json);
	out *o = calloc(1, sizeof(*o));
	unsigned char *buf = malloc(LWS_PRE + len + 1);

	if (!o || !buf) {
		free(o);
		free(buf);
		free(json);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	memcpy(buf + LWS_PRE, json, len + 1);
	free(json);
	o->buf = buf;
	o->len = len;
	o->conn = conn_id;
	pthread_mutex_lock(&s->mu);
	o->next = s->sendq;
	s->sendq = o;
	pthread_mutex_unlock(&s->mu);
	wake_io(s);
	return FB_OK;
}

void fb_socket_stats_get(fb_socket *s, fb_socket_stats *out_stats)
{
	pthread_mutex_lock(&s->mu);
	*out_stats = s->stats;
	pthread_mutex_unlock(&s->mu);
}

void fb_socket_stop(fb_socket *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	wake_io(s);
	if (s->io_started)
		pthread_join(s->io_thread, NULL);
	if (s->fetch_started)
		pthread_join(s->fetch_thread, NULL);
	if (s->ctx)
		lws_context_destroy(s->ctx);
	pthread_mutex_lock(&s->mu);
	free(s->url);
	out_free_all(s->sendq);
	pthread_mutex_unlock(&s->mu);
	explicit_bzero(s->token, sizeof(s->token));
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
