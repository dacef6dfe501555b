/*
 * httpc.h - the one outbound HTTP client (libcurl) behind every client
 * firebreak has: the Slack Web API, Loki, Kubernetes, Argo CD, and every
 * later one.  A client is one curl easy handle, so keep-alive connections
 * are reused between its requests; it belongs to the thread that made it
 * and is never shared.
 *
 * Bounded: the answer's body is kept in an fb_buf with a maximum, and an
 * answer over it is an error (FB_ETOOBIG), not a truncated success.
 * Secrets: the bearer token lives only in the header list and the basic
 * auth password only in curl; error texts show the URL without its
 * user:password@ and without its query, and are masked.
 */
#ifndef FIREBREAK_HTTPC_H
#define FIREBREAK_HTTPC_H

#include <stddef.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/error.h"
#include "firebreak/stopper.h"

typedef struct fb_httpc fb_httpc;

#define FB_HTTPC_HEADERS 8

typedef struct {
	const char *base_url;    /* prefix for relative paths; NULL = full URLs only */
	long connect_timeout_ms; /* 0 = 5000 */
	long timeout_ms;         /* the whole request; 0 = 20000 */
	const char *ca_file;     /* NULL or "" = the system's CAs */
	const char *bearer;      /* Authorization: Bearer; NULL or "" = none */
	const char *user;        /* basic auth when set (with password) */
	const char *password;    /* may be "" */
	const char *headers[FB_HTTPC_HEADERS]; /* "Name: value", ended by NULL or "" */
	size_t max_body;                       /* the largest answer kept; 0 = 8 MiB */
	const char *user_agent;                /* NULL = "firebreak/0.1 (+libcurl)" */
	fb_stopper *stopper; /* may be NULL; when it is stopped, a request under way
	                     * ends within about a second (FB_ESTATE) */
} fb_httpc_opts;

typedef struct {
	long status;      /* HTTP status; 0 = no answer (network error) */
	long retry_after; /* seconds from Retry-After (delta or HTTP date); -1 = none */
	const char *body; /* the answer, NUL-terminated; owned by the client and
	                   * valid until its next request */
	size_t body_len;
} fb_httpc_result;

/* opts is copied: the caller may wipe its strings afterwards. */
fb_err fb_httpc_new(const fb_httpc_opts *opts, fb_httpc **out);
void fb_httpc_free(fb_httpc *c);

/* Replaces the bearer token (Kubernetes rotates its service account
 * token); NULL or "" removes it. */
fb_err fb_httpc_set_bearer(fb_httpc *c, const char *token);

/*
 * One request.  method: "GET", "POST", "PUT", "PATCH", "DELETE".  target:
 * a full http(s) URL, or a path joined to base_url with one '/'.  json:
 * the request body, sent with Content-Type: application/json (POST, PUT
 * and PATCH send "" when NULL).  FB_OK whenever the server answered,
 * whatever the status (see res->status); FB_EIO for a network error or a
 * timeout, FB_ETOOBIG for an answer over max_body, FB_ESTATE when the
 * stopper was stopped.  res is always filled.
 */
fb_err fb_httpc_request(fb_httpc *c, const char *method, const char *target, const char *json,
                        fb_httpc_result *res);

/* The base URL relative targets are joined to ("" when none). */
const char *fb_httpc_base(const fb_httpc *c);

/* Copies the last answer's header name (case-insensitive) into out;
 * returns out, or NULL when the answer had no such header. */
const char *fb_httpc_header(fb_httpc *c, const char *name, char *out, size_t outsz);

/* Appends s percent-encoded (RFC 3986 unreserved characters kept), for a
 * query string or a path segment. */
fb_err fb_httpc_escape(fb_buf *out, const char *s);

/* Seconds to wait from a Retry-After value: delta-seconds, or an HTTP date
 * (RFC 9110: IMF-fixdate, RFC 850 or asctime) measured from now; -1 when
 * unreadable; a date in the past is 0. */
long fb_httpc_retry_after(const char *value, time_t now);

/* Copies url into out without "user:password@" and without the query or
 * fragment, for error texts and logs. */
void fb_httpc_redact_url(const char *url, char *out, size_t outsz);

#endif
