/*
 * http.c - owns the HTTP server's routes: /health, /metrics and the
 * read-only JSON API (/api/v1/incidents, /api/v1/incidents/{id},
 * /api/v1/status) and the requests the engine answers.  Runs on the io
 * thread, inside the libwebsockets context that socket.c owns.  It never
 * touches the store: API reads and webhooks are handed to the engine
 * (opts.hook) and answered when the engine completes them, from any
 * thread, through the handle's mutex and lws_cancel_service().
 *
 * Every answer is built whole into a bounded buffer, then written when
 * the socket is writable.  Unknown routes, methods, a missing or wrong
 * API key, and request bodies get clear 4xx answers; the token in an
 * Authorization header is compared as an HMAC (keycmp.c) and never logged.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firebreak/http.h"
#include "firebreak/keycmp.h"
#include "httpguard_int.h"
#include "firebreak/log.h"

#define ANSWER_MAX (4u * 1024u * 1024u)

#define HOOK_BODY_MAX (1024u * 1024u)
/* Alertmanager sends every alert of a group in one body (5,000 alerts are
 * about 2 MiB): the hook takes them all or answers 413 */
#define AM_BODY_MAX (8u * 1024u * 1024u)
#define PENDING_MAX 256
#define RETRY_AFTER_S "5" /* the Retry-After of a 503 */
#define CONN_MAX 256      /* HTTP connections at once (the fd limit leaves room) */
#define PER_IP_MAX 32     /* of them from one address */
#define FD_LIMIT 1024     /* the io thread's fds: HTTP, Socket Mode, headroom */

typedef struct {
	fb_buf body;
	const char *type;
	unsigned int status;
	size_t sent;
	int headers_sent, ready;
	int hook; /* a body to hand to the engine is arriving */
	fb_http_kind kind;
	char arg[96]; /* the incident id of a feedback; "ID/OP" for a lifecycle step */
	int too_big;
	long id;   /* the deferred request's id, 0 = none */
	fb_buf in; /* the request body */
} session;

/* A deferred answer, handed from any thread to the io thread. */
typedef struct done {
	struct done *next;
	long id;
	unsigned int status;
	char *json; /* owned */
} done;

struct fb_http {
	fb_http_opts o;
	char api_key[256];
	char hook_token[256];
	fb_keycmp api_cmp, hook_cmp; /* what a presented bearer is compared with */
	fb_httpguard *guard;         /* io thread only */
	struct lws_context *context; /* set by the protocol's init */
	pthread_mutex_t mu;          /* guards completions and context */
	done *completions;
	struct {
		long id;
		struct lws *wsi;
	} pending[PENDING_MAX]; /* io thread only */
	long next_id;           /* io thread only */
};

static fb_http *handle_of(struct lws *wsi)
{
	const struct lws_protocols *p = lws_get_protocol(wsi);
	return p ? p->user : NULL;
}

fb_err fb_http_new(const fb_http_opts *opts, fb_http **out)
{
	fb_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return fb_error_set(FB_ENOMEM, "out of memory");
	h->o = *opts;
	snprintf(h->api_key, sizeof(h->api_key), "%s", opts->api_key ? opts->api_key : "");
	snprintf(h->hook_token, sizeof(h->hook_token), "%s",
	         opts->hook_token ? opts->hook_token : "");
	h->o.api_key = h->api_key;
	h->o.hook_token = h->hook_token;
	if (fb_keycmp_init(&h->api_cmp, h->api_key) ||
	    fb_keycmp_init(&h->hook_cmp, h->hook_token) ||
	    fb_httpguard_new(CONN_MAX, PER_IP_MAX, &h->guard)) {
		free(h);
		return FB_ERR;
	}
	pthread_mutex_init(&h->mu, NULL);
	*out = h;
	return FB_OK;
}

void fb_http_free(fb_http *h)
{
	if (!h)
		return;
	for (done *d = h->completions, *next; d; d = next) {
		next = d->next;
		free(d->json);
		free(d);
	}
	pthread_mutex_destroy(&h->mu);
	explicit_bzero(h->api_key, sizeof(h->api_key));
	explicit_bzero(h->hook_token, sizeof(h->hook_token));
	fb_keycmp_clear(&h->api_cmp);
	fb_keycmp_clear(&h->hook_cmp);
	fb_httpguard_free(h->guard);
	free(h);
}

void fb_http_complete_json(fb_http *h, long id, unsigned int status, char *json)
{
	done *d = calloc(1, sizeof(*d));
	if (!d) {
		free(json);
		return;
	}
	d->id = id;
	d->status = status;
	d->json = json;
	pthread_mutex_lock(&h->mu);
	d->next = h->completions;
	h->completions = d;
	if (h->context)
		lws_cancel_service(h->context);
	pthread_mutex_unlock(&h->mu);
}

void fb_http_complete(fb_http *h, long id, unsigned int status, const char *key, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	char *json;
	cJSON_AddStringToObject(o, key, value);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	fb_http_complete_json(h, id, status, json);
}

fb_err fb_http_parse_listen(const char *listen, char *iface, size_t iface_sz, int *port)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long p;

	if (!colon || colon == listen || (size_t)(colon - listen) >= iface_sz)
		return fb_error_set(FB_EINVAL, "http.listen \"%s\": expected ADDRESS:PORT", listen);
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535)
		return fb_error_set(FB_EINVAL, "http.listen \"%s\": bad port", listen);
	snprintf(iface, iface_sz, "%.*s", (int)(colon - listen), listen);
	*port = (int)p;
	return FB_OK;
}

static void answer(session *ss, unsigned int status, const char *type, const char *body)
{
	fb_buf_reset(&ss->body);
	fb_buf_addstr(&ss->body, body);
	ss->status = status;
	ss->type = type;
	ss->ready = 1;
}

static void answer_json(session *ss, unsigned int status, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	answer(ss, status, "application/json", s ? s : "{}");
	free(s);
	cJSON_Delete(o);
}

static void answer_error(session *ss, unsigned int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	answer_json(ss, status, o);
}

/* "Authorization: Bearer KEY" compared as HMACs (keycmp.c): the time
 * says nothing of the key's length or content. */
static int bearer_is(struct lws *wsi, const fb_keycmp *key)
{
	char hdr[600];
	int n = lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
	int ok =
	    n > 7 && !strncmp(hdr, "Bearer ", 7) && fb_keycmp_matches(key, hdr + 7, (size_t)n - 7);
	explicit_bzero(hdr, sizeof(hdr));
	return ok;
}

static int authorised(fb_http *h, struct lws *wsi)
{
	return bearer_is(wsi, &h->api_cmp);
}

/* Hands the request to the engine; the answer comes through a completion. */
static void defer(fb_http *h, struct lws *wsi, session *ss, char *body, size_t len)
{
	size_t slot = PENDING_MAX;

	for (size_t i = 0; i < PENDING_MAX && slot == PENDING_MAX; i++)
		if (!h->pending[i].wsi)
			slot = i;
	if (slot == PENDING_MAX) {
		free(body);
		answer_error(ss, 503, "too many requests in flight");
		return;
	}
	ss->id = ++h->next_id;
	h->pending[slot].id = ss->id;
	h->pending[slot].wsi = wsi;
	ss->ready = 0;
	if (!h->o.hook(h->o.ctx, ss->id, ss->kind, ss->arg, body, len)) {
		h->pending[slot].wsi = NULL;
		ss->id = 0;
		answer_error(ss, 503, "the engine is busy");
	}
}

/* GET /api/v1/incidents and /api/v1/incidents/{id}: read by the engine. */
static void api_read(fb_http *h, struct lws *wsi, session *ss, fb_http_kind kind, const char *arg)
{
	ss->kind = kind;
	snprintf(ss->arg, sizeof(ss->arg), "%s", arg);
	defer(h, wsi, ss, NULL, 0);
}

static void api(fb_http *h, struct lws *wsi, session *ss, const char *path, const char *query)
{
	if (!h->api_key[0]) {
		answer_error(ss, 404, "the API is off: set api.key (FIREBREAK_API_KEY)");
		return;
	}
	if (!authorised(h, wsi)) {
		answer_error(ss, 401, "missing or wrong API key (Authorization: Bearer KEY)");
		return;
	}
	if (!strcmp(path, "/api/v1/incidents"))
		api_read(h, wsi, ss, FB_HTTP_LIST, query && strstr(query, "all=1") ? "all" : "");
	else if (!strncmp(path, "/api/v1/incidents/", 18) && strlen(path + 18) < 64 &&
	         !strchr(path + 18, '/'))
		api_read(h, wsi, ss, FB_HTTP_SHOW, path + 18);
	else if (!strcmp(path, "/api/v1/status")) {
		char why[256] = "";
		cJSON *o = cJSON_CreateObject();
		int ok = h->o.health(h->o.ctx, why, sizeof(why));
		cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
		if (!ok)
			cJSON_AddStringToObject(o, "reason", why);
		answer_json(ss, 200, o);
	} else
		answer_error(ss, 404, "no such route");
}

/* POST /hooks/alertmanager: authorised now, answered after the commit. */
static void hook_begin(fb_http *h, struct lws *wsi, session *ss)
{
	if (!h->hook_token[0]) {
		answer_error(ss, 404, "the Alertmanager hook is off: set ALERTMANAGER_TOKEN");
		return;
	}
	if (!bearer_is(wsi, &h->hook_cmp)) {
		answer_error(ss, 401, "missing or wrong bearer token");
		return;
	}
	ss->hook = 1;
	ss->kind = FB_HTTP_ALERTMANAGER;
	ss->ready = 0;
	fb_buf_init(&ss->in, AM_BODY_MAX);
}

/* A lifecycle step's name (lifecycle.h): the last part of its route. */
static int life_route(const char *s)
{
	static const char *const ops[] = {"/ack",     "/assign", "/snooze",
	                                  "/resolve", "/reopen", "/close"};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(s, ops[i]))
			return 1;
	return 0;
}

/* POST /api/v1/incidents, /api/v1/incidents/{id}/feedback and
 * /api/v1/incidents/{id}/{ack,assign,snooze,resolve,reopen,close} (authorised). */
static void api_post(session *ss, const char *path)
{
	const char *id = path + 18, *slash;
	if (!strcmp(path, "/api/v1/incidents")) {
		ss->kind = FB_HTTP_TRIGGER;
	} else if (!strncmp(path, "/api/v1/incidents/", 18) && (slash = strchr(id, '/')) &&
	           !strcmp(slash, "/feedback") && slash - id < 64) {
		ss->kind = FB_HTTP_FEEDBACK;
		snprintf(ss->arg, sizeof(ss->arg), "%.*s", (int)(slash - id), id);
	} else if (!strncmp(path, "/api/v1/incidents/", 18) && (slash = strchr(id, '/')) &&
	           life_route(slash) && slash - id < 64) {
		ss->kind = FB_HTTP_LIFECYCLE;
		snprintf(ss->arg, sizeof(ss->arg), "%s", id); /* ID/OP */
	} else {
		answer_error(ss, 404, "no such route");
		return;
	}
	ss->hook = 1;
	ss->ready = 0;
	fb_buf_init(&ss->in, HOOK_BODY_MAX);
}

static void hook_body_done(fb_http *h, struct lws *wsi, session *ss)
{
	cJSON *j;

	if (ss->too_big) {
		answer_error(ss, 413,
		             ss->kind == FB_HTTP_ALERTMANAGER
		                 ? "the body is larger than 8 MiB; set max_alerts in "
		                   "Alertmanager's webhook_config"
		                 : "the body is larger than 1 MiB");
		return;
	}
	j = cJSON_ParseWithLength(fb_buf_str(&ss->in) ? fb_buf_str(&ss->in) : "", ss->in.len);
	if (!cJSON_IsObject(j) || (ss->kind == FB_HTTP_ALERTMANAGER &&
	                           !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "alerts")))) {
		cJSON_Delete(j);
		answer_error(ss, 400,
		             ss->kind == FB_HTTP_ALERTMANAGER
		                 ? "not an Alertmanager webhook payload (version 4)"
		                 : "the body must be a JSON object");
		return;
	}
	cJSON_Delete(j);
	size_t len = ss->in.len;
	defer(h, wsi, ss, fb_buf_take(&ss->in), len);
}

/* io thread: completions from the engine become answers. */
static void drain_completions(fb_http *h)
{
	done *d;
	pthread_mutex_lock(&h->mu);
	d = h->completions;
	h->completions = NULL;
	pthread_mutex_unlock(&h->mu);
	while (d) {
		done *next = d->next;
		for (size_t i = 0; i < PENDING_MAX; i++) {
			if (h->pending[i].wsi && h->pending[i].id == d->id) {
				session *ss = lws_wsi_user(h->pending[i].wsi);
				answer(ss, d->status, "application/json", d->json ? d->json : "{}");
				lws_callback_on_writable(h->pending[i].wsi);
				h->pending[i].wsi = NULL;
			}
		}
		free(d->json);
		free(d);
		d = next;
	}
}

/* The guard's counts, after the engine's metrics. */
static void guard_metrics(const fb_http *h, fb_buf *out)
{
	size_t open;
	long evicted, refused;
	fb_httpguard_counts(h->guard, &open, &evicted, &refused);
	fb_buf_printf(out,
	              "# HELP firebreak_http_connections HTTP connections open.\n"
	              "# TYPE firebreak_http_connections gauge\n"
	              "firebreak_http_connections %zu\n"
	              "# HELP firebreak_http_connections_closed_total Idle HTTP connections closed "
	              "to make room (evicted) or new ones refused (refused).\n"
	              "# TYPE firebreak_http_connections_closed_total counter\n"
	              "firebreak_http_connections_closed_total{why=\"evicted\"} %ld\n"
	              "firebreak_http_connections_closed_total{why=\"refused\"} %ld\n",
	              open, evicted, refused);
}

static void route(fb_http *h, struct lws *wsi, session *ss, const char *path, int is_get)
{
	char query[128] = "";

	lws_hdr_copy(wsi, query, sizeof(query), WSI_TOKEN_HTTP_URI_ARGS);
	int is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	if (is_post && !strcmp(path, "/hooks/alertmanager")) {
		hook_begin(h, wsi, ss);
		return;
	}
	if (is_post && !strncmp(path, "/api/", 5)) {
		if (!h->api_key[0])
			answer_error(ss, 404, "the API is off: set api.key (FIREBREAK_API_KEY)");
		else if (!authorised(h, wsi))
			answer_error(ss, 401,
			             "missing or wrong API key (Authorization: Bearer KEY)");
		else
			api_post(ss, path);
		return;
	}
	if (!is_get) {
		answer_error(ss, 405, "this route takes GET");
		return;
	}
	if (!strcmp(path, "/health")) {
		char why[256] = "";
		int ok = h->o.health(h->o.ctx, why, sizeof(why));
		fb_buf_reset(&ss->body);
		fb_buf_printf(&ss->body, "%s\n", ok ? "ok" : why);
		ss->status = ok ? 200 : 503;
		ss->type = "text/plain; charset=utf-8";
		ss->ready = 1;
	} else if (!strcmp(path, "/metrics")) {
		fb_buf_reset(&ss->body);
		h->o.metrics(h->o.ctx, &ss->body);
		guard_metrics(h, &ss->body);
		ss->status = 200;
		ss->type = "text/plain; version=0.0.4; charset=utf-8";
		ss->ready = 1;
	} else if (!strncmp(path, "/api/", 5)) {
		api(h, wsi, ss, path, query);
	} else {
		answer_error(ss, 404, "no such route");
	}
}

static int send_headers(struct lws *wsi, session *ss)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
	                                  *end = buf + sizeof(buf) - 1;
	if (lws_add_http_common_headers(wsi, ss->status, ss->type, (lws_filepos_t)ss->body.len, &p,
	                                end) ||
	    (ss->status == 503 && /* every 503 of ours passes: say when to ask again */
	     lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER,
	                                  (const unsigned char *)RETRY_AFTER_S,
	                                  (int)strlen(RETRY_AFTER_S), &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	ss->headers_sent = 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(fb_http *h, struct lws *wsi, session *ss)
{
	size_t left = ss->body.len - ss->sent, chunk = left > 16384 ? 16384 : left;
	unsigned char *buf = malloc(LWS_PRE + chunk + 1);
	int final = chunk == left, n;

	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, fb_buf_str(&ss->body) ? fb_buf_str(&ss->body) + ss->sent : "", chunk);
	n = lws_write(wsi, buf + LWS_PRE, chunk, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
	free(buf);
	if (n < 0)
		return -1;
	ss->sent += chunk;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	fb_httpguard_busy(h->guard, wsi, 0);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	session *ss = user;
	fb_http *h = handle_of(wsi);

	if (!h)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		pthread_mutex_lock(&h->mu);
		h->context = lws_get_context(wsi);
		pthread_mutex_unlock(&h->mu);
		break;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: return fb_httpguard_open(h->guard, wsi);
	case LWS_CALLBACK_HTTP: {
		int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
		fb_httpguard_busy(h->guard, wsi, 1);
		if (!ss->body.max) /* a keep-alive connection reuses its session */
			fb_buf_init(&ss->body, ANSWER_MAX);
		fb_buf_reset(&ss->body);
		ss->sent = 0;
		ss->headers_sent = ss->ready = ss->hook = ss->too_big = 0;
		ss->arg[0] = '\0';
		route(h, wsi, ss, in ? (const char *)in : "/", is_get);
		/* a body has FB_HTTPGUARD_BODY_S to arrive; the engine's answer
		 * FB_HTTPGUARD_ENGINE_S */
		lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
		                ss->hook ? FB_HTTPGUARD_BODY_S : FB_HTTPGUARD_ENGINE_S);
		if (ss->ready)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (ss->hook && !ss->too_big && fb_buf_add(&ss->in, in, len) != FB_OK)
			ss->too_big = 1;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ss->hook) {
			lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, FB_HTTPGUARD_ENGINE_S);
			hook_body_done(h, wsi, ss);
			fb_buf_free(&ss->in);
			if (ss->ready)
				lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!ss || !ss->ready)
			return 0;
		return ss->headers_sent ? write_body(h, wsi, ss) : send_headers(wsi, ss);
	case LWS_CALLBACK_WSI_DESTROY: fb_httpguard_closed(h->guard, wsi); break;
	case LWS_CALLBACK_CLOSED_HTTP:
		fb_httpguard_closed(h->guard, wsi);
		if (ss) {
			for (size_t i = 0; i < PENDING_MAX; i++)
				if (h->pending[i].wsi == wsi)
					h->pending[i].wsi = NULL;
			fb_buf_free(&ss->body);
			fb_buf_free(&ss->in);
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain_completions(h); break;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		pthread_mutex_lock(&h->mu);
		h->context = NULL;
		pthread_mutex_unlock(&h->mu);
		break;
	default: break;
	}
	return 0;
}

void fb_http_context_info(struct lws_context_creation_info *info)
{
	long fds = sysconf(_SC_OPEN_MAX);

	/* room for CONN_MAX connections, Socket Mode's and the listener; not
	 * ulimit -n itself, to keep the idle RSS small */
	info->fd_limit_per_thread = fds > 0 && fds < FD_LIMIT ? (unsigned int)fds : FD_LIMIT;
	info->timeout_secs = FB_HTTPGUARD_BODY_S;
	info->timeout_secs_ah_idle = FB_HTTPGUARD_REQUEST_S;
	info->keepalive_timeout = FB_HTTPGUARD_KEEPALIVE_S;
	info->max_http_header_pool = CONN_MAX; /* a slow head holds one header table */
}

struct lws_protocols fb_http_protocol(fb_http *h)
{
	struct lws_protocols p = {"http", callback, sizeof(session), 4096, 0, h, 0};
	return p;
}
