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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/http.h"
#include "firebreak/log.h"
#include "firebreak/store.h"

#define ANSWER_MAX (4u * 1024u * 1024u)

typedef struct {
	fb_buf body;
	const char *type;
	unsigned int status;
	size_t sent;
} session;

static const fb_http_opts *opts;
static fb_store *ro; /* io thread only */

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

static int authorised(struct lws *wsi)
{
	char hdr[600];
	const char *key = opts->api_key;
	size_t klen = strlen(key);

	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
		return 0;
	if (strncmp(hdr, "Bearer ", 7) || strlen(hdr + 7) != klen)
		return 0;
	return CRYPTO_memcmp(hdr + 7, key, klen) == 0;
}

static cJSON *incident_json(const fb_incident_row *r, int with_state)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "status", r->status);
	cJSON_AddStringToObject(o, "node", r->node);
	cJSON_AddStringToObject(o, "category", r->category);
	cJSON_AddStringToObject(o, "severity", r->severity);
	cJSON_AddStringToObject(o, "app", r->app);
	cJSON_AddStringToObject(o, "namespace", r->ns);
	cJSON_AddStringToObject(o, "source", r->source);
	cJSON_AddNumberToObject(o, "version", (double)r->version);
	cJSON_AddNumberToObject(o, "created_at", (double)r->created_at);
	cJSON_AddNumberToObject(o, "updated_at", (double)r->updated_at);
	if (with_state)
		cJSON_AddItemToObject(o, "state", cJSON_Parse(r->state));
	return o;
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
		cJSON_AddItemToArray(arr, incident_json(rows[i], 0));
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
	cJSON *o = incident_json(row, 1), *arr = cJSON_AddArrayToObject(o, "timeline");
	if (fb_store_timeline_list(ro, id, &tl, &n) == FB_OK) {
		for (size_t i = 0; i < n; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddNumberToObject(e, "ts", (double)tl[i].ts);
			cJSON_AddStringToObject(e, "actor", tl[i].actor);
			cJSON_AddStringToObject(e, "event", tl[i].event);
			cJSON_AddStringToObject(e, "detail", tl[i].detail);
			cJSON_AddItemToArray(arr, e);
		}
		fb_timeline_free(tl, n);
	}
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

static void route(struct lws *wsi, session *ss, const char *path, int is_get)
{
	char query[128] = "";

	lws_hdr_copy(wsi, query, sizeof(query), WSI_TOKEN_HTTP_URI_ARGS);
	if (!is_get) {
		answer_error(ss, 405, "only GET is served here");
		return;
	}
	if (!strcmp(path, "/health")) {
		char why[256] = "";
		int ok = opts->health(opts->ctx, why, sizeof(why));
		fb_buf_reset(&ss->body);
		fb_buf_printf(&ss->body, "%s\n", ok ? "ok" : why);
		ss->status = ok ? 200 : 503;
		ss->type = "text/plain; charset=utf-8";
	} else if (!strcmp(path, "/metrics")) {
		fb_buf_reset(&ss->body);
		opts->metrics(opts->ctx, &ss->body);
		ss->status = 200;
		ss->type = "text/plain; version=0.0.4; charset=utf-8";
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
	(void)len;

	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
		if (!ss->body.max) /* a keep-alive connection reuses its session */
			fb_buf_init(&ss->body, ANSWER_MAX);
		fb_buf_reset(&ss->body);
		ss->sent = 0;
		route(wsi, ss, in ? (const char *)in : "/", is_get);
		return send_headers(wsi, ss);
	}
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* a body on a GET-only server is ignored; POST got 405 */
	case LWS_CALLBACK_HTTP_WRITEABLE: return ss ? write_body(wsi, ss) : -1;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ss)
			fb_buf_free(&ss->body);
		break;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		fb_store_free(ro);
		ro = NULL;
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
