/*
 * httpc.c - owns the outbound HTTP client: one libcurl easy handle per
 * client (so connections are kept alive between requests), its header
 * lists (the bearer token lives only there), the bounded answer buffer,
 * Retry-After parsing, and error texts that never show a secret.  Runs on
 * whichever thread made the client: the sender, the Socket Mode URL
 * fetcher, a worker running checks, the Loki poller, start-up.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firebreak/httpc.h"
#include "firebreak/mask.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TIMEOUT_MS 20000L
#define DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define DEFAULT_AGENT "firebreak/0.1 (+libcurl)"
#define URL_MAX (64u * 1024u)

struct fb_httpc {
	CURL *curl;
	struct curl_slist *plain; /* auth + extra headers */
	struct curl_slist *json;  /* the same + Content-Type */
	char *base;               /* without a trailing '/'; NULL = none */
	char *extra[FB_HTTPC_HEADERS];
	long timeout_ms;
	fb_buf rx;
	int over; /* the answer went past rx.max */
	long retry_after;
	fb_stopper *stopper;
	char errbuf[CURL_ERROR_SIZE];
	int creds_headers; /* a bearer token or a credential header is set */
	int creds_basic;   /* basic auth is set */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	fb_httpc *c = ud;
	if (fb_buf_add(&c->rx, p, size * n) != FB_OK) {
		c->over = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	fb_httpc *c = ud;
	size_t len = size * n;
	char v[128];

	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		snprintf(v, sizeof(v), "%.*s",
		         (int)(len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1), p + 12);
		c->retry_after = fb_httpc_retry_after(v, time(NULL));
	}
	return len;
}

/* Called by curl about once a second or more: non-zero aborts. */
static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	fb_httpc *c = ud;
	(void)dlt, (void)dln, (void)ult, (void)uln;
	return fb_stopper_stopped(c->stopper);
}

long fb_httpc_retry_after(const char *value, time_t now)
{
	char v[128], *end;
	size_t a = 0, b;
	long s;
	time_t when;

	if (!value)
		return -1;
	while (value[a] == ' ' || value[a] == '\t')
		a++;
	b = strlen(value + a);
	while (b && strchr(" \t\r\n", value[a + b - 1]))
		b--;
	if (!b || b >= sizeof(v))
		return -1;
	memcpy(v, value + a, b);
	v[b] = '\0';
	if (v[0] >= '0' && v[0] <= '9') {
		s = strtol(v, &end, 10);
		return *end || s < 0 ? -1 : s;
	}
	when = curl_getdate(v, NULL);
	if (when == (time_t)-1)
		return -1;
	return when > now ? (long)(when - now) : 0;
}

void fb_httpc_redact_url(const char *url, char *out, size_t outsz)
{
	const char *scheme = strstr(url, "://"), *host = scheme ? scheme + 3 : url;
	size_t hostlen = strcspn(host, "/?#"), cut;
	const char *at = memchr(host, '@', hostlen);
	const char *rest = at ? at + 1 : host;

	cut = strcspn(rest, "?#");
	snprintf(out, outsz, "%.*s%.*s", (int)(host - url), url, (int)cut, rest);
}

fb_err fb_httpc_escape(fb_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	fb_err rc = FB_OK;

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == FB_OK; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			rc = fb_buf_addc(out, (char)*p);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = fb_buf_add(out, e, 3);
		}
	}
	return rc;
}

/* (Re)builds both header lists from the token and the extra headers. */
static fb_err build_headers(fb_httpc *c, const char *token)
{
	struct curl_slist *lists[2] = {NULL, NULL};
	char auth[4200];
	int ok = 1;

	if (token && strlen(token) > sizeof(auth) - 64)
		return fb_error_set(FB_EINVAL, "the bearer token is too long");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	for (int i = 0; i < 2; i++) {
		struct curl_slist *l = NULL, *t;
		if (token && *token)
			ok = ok && (t = curl_slist_append(l, auth)) && (l = t);
		for (int k = 0; k < FB_HTTPC_HEADERS && c->extra[k]; k++)
			ok = ok && (t = curl_slist_append(l, c->extra[k])) && (l = t);
		if (i == 1)
			ok = ok &&
			     (t = curl_slist_append(
			          l, "Content-Type: application/json; charset=utf-8")) &&
			     (l = t);
		lists[i] = l;
	}
	explicit_bzero(auth, sizeof(auth));
	if (!ok) {
		curl_slist_free_all(lists[0]);
		curl_slist_free_all(lists[1]);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	c->creds_headers = token && *token;
	for (int k = 0; k < FB_HTTPC_HEADERS && c->extra[k]; k++) /* PRIVATE-TOKEN: ... */
		c->creds_headers |= fb_mask_finds(c->extra[k], strlen(c->extra[k]));
	curl_slist_free_all(c->plain); /* the old token goes with them */
	curl_slist_free_all(c->json);
	c->plain = lists[0];
	c->json = lists[1];
	return FB_OK;
}

static void set_options(fb_httpc *c, const fb_httpc_opts *o)
{
	long conn = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;

	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, conn);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : DEFAULT_AGENT);
	if ((c->stopper = o->stopper)) {
		curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
		curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	}
	if (o->ca_file && *o->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->ca_file);
	if (o->user && *o->user) {
		c->creds_basic = 1;
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERNAME, o->user);
		curl_easy_setopt(c->curl, CURLOPT_PASSWORD, o->password ? o->password : "");
	}
}

fb_err fb_httpc_new(const fb_httpc_opts *o, fb_httpc **out)
{
	fb_httpc *c;
	fb_err rc = FB_ENOMEM;
	int k;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))) || !(c->curl = curl_easy_init()))
		goto fail;
	if (o->base_url && *o->base_url) {
		if (!(c->base = strdup(o->base_url)))
			goto fail;
		for (size_t n = strlen(c->base); n && c->base[n - 1] == '/'; n--)
			c->base[n - 1] = '\0';
	}
	for (k = 0; k < FB_HTTPC_HEADERS && o->headers[k] && *o->headers[k]; k++)
		if (!(c->extra[k] = strdup(o->headers[k])))
			goto fail;
	if ((rc = build_headers(c, o->bearer)) != FB_OK)
		goto fail;
	fb_buf_init(&c->rx, o->max_body ? o->max_body : DEFAULT_MAX_BODY);
	set_options(c, o);
	*out = c;
	return FB_OK;
fail:
	fb_httpc_free(c);
	return rc == FB_ENOMEM ? fb_error_set(FB_ENOMEM, "out of memory") : rc;
}

void fb_httpc_free(fb_httpc *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl); /* wipes nothing, but holds no token */
	curl_slist_free_all(c->plain);
	curl_slist_free_all(c->json);
	for (int k = 0; k < FB_HTTPC_HEADERS; k++)
		free(c->extra[k]);
	free(c->base);
	fb_buf_free(&c->rx);
	free(c);
}

fb_err fb_httpc_set_bearer(fb_httpc *c, const char *token)
{
	return build_headers(c, token);
}

const char *fb_httpc_base(const fb_httpc *c)
{
	return c->base;
}

static fb_err join_url(const fb_httpc *c, const char *target, fb_buf *url)
{
	if (!strncmp(target, "http://", 7) || !strncmp(target, "https://", 8))
		return fb_buf_addstr(url, target);
	if (!c->base)
		return fb_error_set(FB_EINVAL, "no base URL for the path %.100s", target);
	return fb_buf_printf(url, "%s%s%s", c->base, target[0] == '/' ? "" : "/", target);
}

static void set_method(fb_httpc *c, const char *method, const char *json)
{
	int body = strcmp(method, "GET") && strcmp(method, "DELETE") && strcmp(method, "HEAD");

	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c->curl, CURLOPT_NOBODY, 0L);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "DELETE")) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json ? json : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)(json ? strlen(json) : 0));
		if (strcmp(method, "POST"))
			curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, body ? c->json : c->plain);
}

/* The error of a failed transfer, with the URL redacted and masked. */
static fb_err transfer_error(fb_httpc *c, CURLcode cc, const char *method, const char *url)
{
	char where[512];
	char *masked;
	fb_err rc;

	fb_httpc_redact_url(url, where, sizeof(where));
	if (c->over)
		return fb_error_set(FB_ETOOBIG, "%s %s: the answer is over %zu bytes", method,
		                    where, c->rx.max);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return fb_error_set(FB_ESTATE, "%s %s: stopped", method, where);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return fb_error_set(FB_EIO, "%s %s: timed out after %ld ms", method, where,
		                    c->timeout_ms);
	masked = fb_mask_str(c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
	rc = fb_error_set(FB_EIO, "%s %s: %s", method, where,
	                  masked ? masked : curl_easy_strerror(cc));
	free(masked);
	return rc;
}

/* Credentials never go over plain http, except to loopback (mask.h):
 * the token, the basic auth password or a user:password@ in the URL. */
static fb_err refuse_in_clear(const fb_httpc *c, const char *url)
{
	const char *auth = strstr(url, "://");
	size_t n = auth ? strcspn(auth + 3, "/?#") : 0;
	int userinfo = auth && memchr(auth + 3, '@', n) != NULL;
	char where[512];

	if (!(c->creds_headers || c->creds_basic || userinfo) || !fb_mask_url_in_clear(url))
		return FB_OK;
	fb_httpc_redact_url(url, where, sizeof(where));
	return fb_error_set(FB_EINVAL,
	                    "refusing to send credentials in clear to %s: use https:// (plain "
	                    "http:// only to loopback: localhost, 127.0.0.1, ::1)",
	                    where);
}

fb_err fb_httpc_request(fb_httpc *c, const char *method, const char *target, const char *json,
                        fb_httpc_result *res)
{
	fb_buf url;
	CURLcode cc;
	fb_err rc;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	res->body = "";
	fb_buf_init(&url, URL_MAX);
	if ((rc = join_url(c, target, &url)) != FB_OK) {
		fb_buf_free(&url);
		return rc == FB_ETOOBIG ? fb_error_set(rc, "the URL is too long") : rc;
	}
	if ((rc = refuse_in_clear(c, fb_buf_str(&url))) != FB_OK) {
		fb_buf_free(&url);
		return rc;
	}
	fb_buf_reset(&c->rx);
	c->over = 0;
	c->retry_after = -1;
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, fb_buf_str(&url));
	set_method(c, method, json);
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		rc = transfer_error(c, cc, method, fb_buf_str(&url));
		fb_buf_free(&url);
		return rc;
	}
	fb_buf_free(&url);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->status);
	res->retry_after = c->retry_after;
	res->body = fb_buf_str(&c->rx);
	res->body_len = c->rx.len;
	return FB_OK;
}

const char *fb_httpc_header(fb_httpc *c, const char *name, char *out, size_t outsz)
{
	struct curl_header *h = NULL;

	if (curl_easy_header(c->curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
		return NULL;
	snprintf(out, outsz, "%s", h->value);
	return out;
}
