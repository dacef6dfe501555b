/*
 * loki_api.c - owns the Loki query_range request and the reading of its
 * answer: the URL with the escaped LogQL, start/end in nanoseconds, limit
 * and direction; Loki's plain-text errors and its JSON result.  Runs on
 * the thread that made the client (the Loki poller, a worker running the
 * loki check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/httpc.h"
#include "firebreak/json.h"
#include "firebreak/loki_api.h"

#define URL_MAX (64u * 1024u)

struct fb_loki_api {
	fb_httpc *http;
};

fb_err fb_loki_api_new(const fb_loki_api_opts *o, fb_loki_api **out)
{
	fb_loki_api *l;
	char tenant[200];
	fb_err rc;

	*out = NULL;
	if (!o->url || !*o->url)
		return fb_error_set(FB_EINVAL, "no Loki URL");
	if (!(l = calloc(1, sizeof(*l))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	snprintf(tenant, sizeof(tenant), "X-Scope-OrgID: %s", o->tenant ? o->tenant : "");
	fb_httpc_opts h = {
	    .base_url = o->url,
	    .timeout_ms = o->timeout_ms,
	    .ca_file = o->ca_file,
	    .user = o->username,
	    .password = o->password,
	    .bearer = o->username && *o->username ? NULL : o->token,
	    .headers = {o->tenant && *o->tenant ? tenant : NULL},
	    .max_body = o->max_body,
	    .stopper = o->stopper,
	};
	if ((rc = fb_httpc_new(&h, &l->http)) != FB_OK) {
		free(l);
		return rc;
	}
	*out = l;
	return FB_OK;
}

void fb_loki_api_free(fb_loki_api *l)
{
	if (!l)
		return;
	fb_httpc_free(l->http);
	free(l);
}

static fb_err range_path(const fb_loki_range *r, fb_buf *path)
{
	fb_err rc = fb_buf_addstr(path, "/loki/api/v1/query_range?query=");
	if (!rc)
		rc = fb_httpc_escape(path, r->query ? r->query : "");
	if (!rc)
		rc = fb_buf_printf(path, "&start=%lld&end=%lld", r->start_ns, r->end_ns);
	if (!rc && r->limit > 0)
		rc = fb_buf_printf(path, "&limit=%ld", r->limit);
	if (!rc)
		rc = fb_buf_addstr(path, r->direction == FB_LOKI_BACKWARD ? "&direction=backward"
		                                                          : "&direction=forward");
	return rc ? fb_error_set(rc, "Loki: the query is too long") : FB_OK;
}

fb_err fb_loki_api_query_range(fb_loki_api *l, const fb_loki_range *r, long *status, cJSON **out)
{
	fb_httpc_result res;
	fb_buf path;
	fb_err rc;

	*out = NULL;
	if (status)
		*status = 0;
	fb_buf_init(&path, URL_MAX);
	if (!(rc = range_path(r, &path)))
		rc = fb_httpc_request(l->http, "GET", fb_buf_str(&path), NULL, &res);
	fb_buf_free(&path);
	if (rc)
		return fb_error_wrap(rc, "Loki");
	if (status)
		*status = res.status;
	if (res.status != 200) /* Loki's errors are plain text */
		return fb_error_set(FB_EIO, "Loki: HTTP %ld: %.200s", res.status, res.body);
	*out = cJSON_ParseWithLength(res.body, res.body_len);
	if (!cJSON_IsObject(*out) || strcmp(fb_json_str(*out, "status"), "success") ||
	    !cJSON_IsArray(fb_json_get(fb_json_get(*out, "data"), "result"))) {
		cJSON_Delete(*out);
		*out = NULL;
		return fb_error_set(FB_EINVAL, "Loki: the answer is not a query_range result");
	}
	return FB_OK;
}
