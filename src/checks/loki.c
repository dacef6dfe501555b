/*
 * loki.c - owns the Loki check: the incident's signature logged again in
 * its namespace since the fix means the fix did not hold.  One
 * query_range (loki_api.h) from the fix's time to now, limit 1.  Runs on
 * the worker thread that runs the verify node.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/check.h"
#include "firebreak/json.h"
#include "firebreak/loki_api.h"

typedef struct {
	fb_check base;
	fb_loki_api *api;
} loki_check;

static fb_err loki_open(const fb_config *cfg, fb_check **out)
{
	loki_check *l;
	fb_err rc;

	*out = NULL;
	if (!cfg->loki.url[0])
		return FB_OK;
	if (!(l = calloc(1, sizeof(*l))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_loki_api_opts o = {
	    .url = cfg->loki.url,
	    .tenant = cfg->loki.tenant,
	    .username = cfg->loki.username,
	    .password = cfg->loki.password,
	    .token = cfg->loki.token,
	};
	if ((rc = fb_loki_api_new(&o, &l->api)) != FB_OK) {
		free(l);
		return rc;
	}
	*out = &l->base;
	return FB_OK;
}

static void loki_close(fb_check *c)
{
	loki_check *l = (loki_check *)c;
	fb_loki_api_free(l->api);
	free(l);
}

static int loki_applies(const fb_check *c, const fb_verify_target *t)
{
	(void)c;
	return *t->ns && *t->signature && t->applied_at_ms > 0;
}

/* The normalised signature as a regex: numbers and ids match any. */
static void signature_regex(const char *sig, fb_buf *re)
{
	for (const char *p = sig; *p && re->len < 300; p++) {
		if (*p == '#')
			fb_buf_addstr(re, "[0-9]+");
		else if (!strncmp(p, "<id>", 4)) {
			fb_buf_addstr(re, "\\S+");
			p += 3;
		} else if (*p == ' ')
			fb_buf_addstr(re, "\\s+");
		else if (*p == '`')
			fb_buf_addc(re, '.');
		else {
			if (strchr("\\.+*?()|[]{}^$", *p))
				fb_buf_addc(re, '\\');
			fb_buf_addc(re, *p);
		}
	}
}

/* The first line of the answer, or NULL. */
static const char *first_line(const cJSON *answer)
{
	const cJSON *first =
	    cJSON_GetArrayItem(fb_json_get(fb_json_get(answer, "data"), "result"), 0);
	const cJSON *line =
	    cJSON_GetArrayItem(cJSON_GetArrayItem(fb_json_get(first, "values"), 0), 1);
	return cJSON_IsString(line) ? line->valuestring : NULL;
}

static fb_err loki_check_once(fb_check *c, const fb_verify_target *t, fb_check_result *res)
{
	loki_check *l = (loki_check *)c;
	fb_buf q, re;
	cJSON *answer = NULL;
	const char *text;
	fb_err rc;

	fb_buf_init(&re, 4096);
	signature_regex(t->signature, &re);
	fb_buf_init(&q, 8192);
	fb_buf_printf(&q, "{namespace=\"%s\"} |~ `%s`", t->ns, fb_buf_str(&re));
	fb_loki_range r = {
	    .query = fb_buf_str(&q),
	    .start_ns = (long long)t->applied_at_ms * 1000000LL,
	    .end_ns = ((long long)time(NULL) * 1000 + 1) * 1000000LL,
	    .limit = 1,
	    .direction = FB_LOKI_FORWARD,
	};
	rc = fb_loki_api_query_range(l->api, &r, NULL, &answer);
	fb_buf_free(&q);
	fb_buf_free(&re);
	if (rc)
		return rc;
	if ((text = first_line(answer)))
		fb_check_say(res, FB_CHECK_FAILED, "still logged since the fix: %.200s", text);
	else
		fb_check_say(res, FB_CHECK_OK, "not logged again since the fix");
	cJSON_Delete(answer);
	return FB_OK;
}

const fb_check_ops fb_check_loki = {
    .version = FB_CHECK_OPS_VERSION,
    .name = "loki",
    .open = loki_open,
    .applies = loki_applies,
    .check = loki_check_once,
    .close = loki_close,
};
