/*
 * loki_api.h - a Loki HTTP API client on the one HTTP client (httpc.h):
 * query_range with start, end, limit and direction, for the Loki source
 * (paging forward by start) and the loki verification check.  Tenant
 * (X-Scope-OrgID), basic auth or a bearer token.  A client belongs to the
 * thread that made it.
 */
#ifndef FIREBREAK_LOKI_API_H
#define FIREBREAK_LOKI_API_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "firebreak/error.h"
#include "firebreak/stopper.h"

typedef struct fb_loki_api fb_loki_api;

typedef struct {
	const char *url;      /* Loki's base URL, e.g. http://loki:3100 */
	const char *tenant;   /* X-Scope-OrgID; NULL or "" = none */
	const char *username; /* basic auth when set, with password */
	const char *password;
	const char *token;   /* bearer token when there is no username */
	const char *ca_file; /* NULL or "" = the system's CAs */
	long timeout_ms;     /* per request; 0 = 20000 */
	size_t max_body;     /* the largest answer; 0 = 8 MiB */
	fb_stopper *stopper; /* may be NULL: see httpc.h */
} fb_loki_api_opts;

typedef enum { FB_LOKI_FORWARD, FB_LOKI_BACKWARD } fb_loki_direction;

typedef struct {
	const char *query;  /* LogQL */
	long long start_ns; /* inclusive, ns since the epoch */
	long long end_ns;   /* exclusive */
	long limit;         /* most entries; 0 = Loki's default (100) */
	fb_loki_direction direction;
} fb_loki_range;

fb_err fb_loki_api_new(const fb_loki_api_opts *opts, fb_loki_api **out);
void fb_loki_api_free(fb_loki_api *l);

/*
 * GET /loki/api/v1/query_range.  FB_OK with *out the whole answer
 * ({"status":"success","data":{"resultType","result":[...]}}; the caller
 * deletes it).  Otherwise *out is NULL and the error says why: FB_EIO
 * for a network error or a status other than 200 (with Loki's plain-text
 * error body, cut short), FB_EINVAL for an answer that is not a
 * query_range result, FB_ETOOBIG for one over max_body, FB_ESTATE when
 * stopped.  *status (may be
 * NULL) is the HTTP status, 0 when none.
 */
fb_err fb_loki_api_query_range(fb_loki_api *l, const fb_loki_range *r, long *status, cJSON **out);

#endif
