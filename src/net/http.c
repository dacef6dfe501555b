/*
 * http.c - owns the HTTP server's routes: /health, /metrics and the
 * read-only JSON API (/api/v1/incidents, /api/v1/incidents/{id},
 * /api/v1/status).  Runs on the io thread, inside the libwebsockets
 * context that socket.c owns; its read-only store connection is opened
 * there on first use and belongs to that thread.
 *
 * Every answer is built whole into a bounded buffer, then written when
 * the socket is writable.  Unknown routes, methods, a missing or wrong
 * API key, and request bodies get clear 4xx answers; the token in an
 * Authorization header is compared in constant time and never logged.
 */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/http.h"
#include "firebreak/log.h"
#include "firebreak/report.h"
#include "firebreak/store.h"

#define ANSWER_MAX (4u * 1024u * 1024u)

#define HOOK_BODY_MAX (1024u * 1024u)
#define PENDING_MAX 256

typedef struct {
	fb_buf body;
	const char *type;
	unsigned int status;
	size_t sent;
	int headers_sent, ready;
	int hook; /* a body to hand to the engine is arriving */
	fb_http_kind kind;
	char arg[64]; /* the incident id of a feedback */
	int too_big;
	long id;   /* the deferred request's id, 0 = none */
	fb_buf in; /* the request body */
} session;

static const fb_http_opts *opts;
static fb_store *ro; /* io thread only */
static struct lws_context *context;

/* Deferred answers: the io thread keeps id -> wsi; other threads hand
 * completions over under the mutex and wake the io loop. */
typedef struct done {
	struct done *next;
	long id;
	unsigned int status;
	char key[16];
	char value[256];
} done;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static done *completions;
static struct {
	long id;
	struct lws *wsi;
} pending[PENDING_MAX];
static long next_id;

void fb_http_complete(long id, unsigned int status, const char *key, const char *value)
{
	done *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->id = id;
	d->status = status;
	snprintf(d->key, sizeof(d->key), "%s", key);
	snprintf(d->value, sizeof(d->value), "%s", value);
	pthread_mutex_lock(&mu);
	d->next = completions;
	completions = d;
	pthread_mutex_unlock(&mu);
	if (context)
		lws_cancel_service(context);
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

static int bearer_is(struct lws *wsi, const char *key)
{
	char hdr[600];
	size_t klen = strlen(key);
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
		return 0;
	if (strncmp(hdr, "Bearer ", 7) || strlen(hdr + 7) != klen)
		return 0;
	return CRYPTO_memcmp(hdr + 7, key, klen) == 0;
}

static int authorised(struct lws *wsi)
{
	return bearer_is(wsi, opts->api_key);
}

static int open_ro(session *ss)
{
	if (!ro && fb_store_open(opts->store_path, 1, &ro) != FB_OK) {
		fb_log(FB_LOG_WARN, "http.store_unavailable", "error=\"%s\"", fb_error_last());
		answer_error(ss, 503, "the store cannot be read");
		return 0;
	}
	return 1;
}

static void api_list(session *ss, const char *query)
{
	fb_incident_row **rows = NULL;
	size_t n = 0;
	int all = query && strstr(query, "all=1") != NULL;
	cJSON *arr;

	if (!open_ro(ss))
		return;
	if (fb_store_incident_list(ro, all, &rows, &n) != FB_OK) {
		answer_error(ss, 500, fb_error_last());
		return;
	}
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n && i < 1000; i++)
		cJSON_AddItemToArray(arr, fb_report_json(rows[i], NULL, NULL, 0));
	fb_incident_rows_free(rows, n);
	answer_json(ss, 200, arr);
}

static void api_show(session *ss, const char *id)
{
	fb_incident_row *row = NULL;
	fb_timeline_entry *tl = NULL;
	size_t n = 0;

	if (!open_ro(ss))
		return;
	if (fb_store_incident_get(ro, id, &row) != FB_OK) {
		fb_error_clear();
		answer_error(ss, 404, "no such incident");
		return;
	}
	fb_state *state = NULL;
	if (fb_state_parse(row->state, &state) != FB_OK)
		fb_error_clear();
	if (fb_store_timeline_list(ro, id, &tl, &n) != FB_OK)
		fb_error_clear();
	cJSON *o = fb_report_json(row, state, tl, n);
	fb_timeline_free(tl, n);
	fb_state_free(state);
	fb_incident_row_free(row);
	answer_json(ss, 200, o);
}

static void api(struct lws *wsi, session *ss, const char *path, const char *query)
{
	if (!opts->api_key[0]) {
		answer_error(ss, 404, "the API is off: set api.key (FIREBREAK_API_KEY)");
		return;
	}
	if (!authorised(wsi)) {
		answer_error(ss, 401, "missing or wrong API key (Authorization: Bearer KEY)");
		return;
	}
	if (!strcmp(path, "/api/v1/incidents"))
		api_list(ss, query);
	else if (!strncmp(path, "/api/v1/incidents/", 18) && strlen(path + 18) < 64 &&
	         !strchr(path + 18, '/'))
		api_show(ss, path + 18);
	else if (!strcmp(path, "/api/v1/status")) {
		char why[256] = "";
		cJSON *o = cJSON_CreateObject();
		int ok = opts->health(opts->ctx, why, sizeof(why));
		cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
		if (!ok)
			cJSON_AddStringToObject(o, "reason", why);
		answer_json(ss, 200, o);
	} else
		answer_error(ss, 404, "no such route");
}

/* POST /hooks/alertmanager: authorised now, answered after the commit. */
static void hook_begin(struct lws *wsi, session *ss)
{
	if (!opts->hook_token || !opts->hook_token[0]) {
		answer_error(ss, 404, "the Alertmanager hook is off: set ALERTMANAGER_TOKEN");
		return;
	}
	if (!bearer_is(wsi, opts->hook_token)) {
		answer_error(ss, 401, "missing or wrong bearer token");
		return;
	}
	ss->hook = 1;
	ss->kind = FB_HTTP_ALERTMANAGER;
	ss->ready = 0;
	fb_buf_init(&ss->in, HOOK_BODY_MAX);
}

/* POST /api/v1/incidents and /api/v1/incidents/{id}/feedback (authorised). */
static void api_post(session *ss, const char *path)
{
	const char *id = path + 18, *slash;
	if (!strcmp(path, "/api/v1/incidents")) {
		ss->kind = FB_HTTP_TRIGGER;
	} else if (!strncmp(path, "/api/v1/incidents/", 18) && (slash = strchr(id, '/')) &&
	           !strcmp(slash, "/feedback") && slash - id < 64) {
		ss->kind = FB_HTTP_FEEDBACK;
		snprintf(ss->arg, sizeof(ss->arg), "%.*s", (int)(slash - id), id);
	} else {
		answer_error(ss, 404, "no such route");
		return;
	}
	ss->hook = 1;
	ss->ready = 0;
	fb_buf_init(&ss->in, HOOK_BODY_MAX);
}

static void hook_body_done(struct lws *wsi, session *ss)
{
	cJSON *j;
	size_t slot = PENDING_MAX;

	if (ss->too_big) {
		answer_error(ss, 413, "the body is larger than 1 MiB");
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
	for (size_t i = 0; i < PENDING_MAX && slot == PENDING_MAX; i++)
		if (!pending[i].wsi)
			slot = i;
	if (slot == PENDING_MAX) {
		answer_error(ss, 503, "too many requests in flight");
		return;
	}
	ss->id = ++next_id;
	pending[slot].id = ss->id;
	pending[slot].wsi = wsi;
	size_t len = ss->in.len;
	if (!opts->hook(opts->ctx, ss->id, ss->kind, ss->arg, fb_buf_take(&ss->in), len)) {
		pending[slot].wsi = NULL;
		ss->id = 0;
		answer_error(ss, 503, "the engine is busy");
	}
}

/* io thread: completions from the engine become answers. */
static void drain_completions(void)
{
	done *d;
	pthread_mutex_lock(&mu);
	d = completions;
	completions = NULL;
	pthread_mutex_unlock(&mu);
	while (d) {
		done *next = d->next;
		for (size_t i = 0; i < PENDING_MAX; i++) {
			if (pending[i].wsi && pending[i].id == d->id) {
				session *ss = lws_wsi_user(pending[i].wsi);
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, d->key, d->value);
				answer_json(ss, d->status, o);
				lws_callback_on_writable(pending[i].wsi);
				pending[i].wsi = NULL;
			}
		}
		free(d);
		d = next;
	}
}

static void route(struct lws *wsi, session *ss, const char *path, int is_get)
{
	char query[128] = "";

	lws_hdr_copy(wsi, query, sizeof(query), WSI_TOKEN_HTTP_URI_ARGS);
	int is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	if (is_post && !strcmp(path, "/hooks/alertmanager")) {
		hook_begin(wsi, ss);
		return;
	}
	if (is_post && !strncmp(path, "/api/", 5)) {
		if (!opts->api_key[0])
			answer_error(ss, 404, "the API is off: set api.key (FIREBREAK_API_KEY)");
		else if (!authorised(wsi))
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
		int ok = opts->health(opts->ctx, why, sizeof(why));
		fb_buf_reset(&ss->body);
		fb_buf_printf(&ss->body, "%s\n", ok ? "ok" : why);
		ss->status = ok ? 200 : 503;
		ss->type = "text/plain; charset=utf-8";
		ss->ready = 1;
	} else if (!strcmp(path, "/metrics")) {
		fb_buf_reset(&ss->body);
		opts->metrics(opts->ctx, &ss->body);
		ss->status = 200;
		ss->type = "text/plain; version=0.0.4; charset=utf-8";
		ss->ready = 1;
	} else if (!strncmp(path, "/api/", 5)) {
		api(wsi, ss, path, query);
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
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	ss->headers_sent = 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(struct lws *wsi, session *ss)
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
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	session *ss = user;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT: context = lws_get_context(wsi); break;
	case LWS_CALLBACK_HTTP: {
		int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
		if (!ss->body.max) /* a keep-alive connection reuses its session */
			fb_buf_init(&ss->body, ANSWER_MAX);
		fb_buf_reset(&ss->body);
		ss->sent = 0;
		ss->headers_sent = ss->ready = ss->hook = ss->too_big = 0;
		ss->arg[0] = '\0';
		route(wsi, ss, in ? (const char *)in : "/", is_get);
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
			hook_body_done(wsi, ss);
			fb_buf_free(&ss->in);
			if (ss->ready)
				lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!ss || !ss->ready)
			return 0;
		return ss->headers_sent ? write_body(wsi, ss) : send_headers(wsi, ss);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ss) {
			for (size_t i = 0; i < PENDING_MAX; i++)
				if (pending[i].wsi == wsi)
					pending[i].wsi = NULL;
			fb_buf_free(&ss->body);
			fb_buf_free(&ss->in);
		}
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain_completions(); break;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		fb_store_free(ro);
		ro = NULL;
		context = NULL;
		break;
	default: break;
	}
	return 0;
}

struct lws_protocols fb_http_protocol(const fb_http_opts *o)
{
	struct lws_protocols p = {"http", callback, sizeof(session), 4096, 0, NULL, 0};
	opts = o;
	return p;
}
