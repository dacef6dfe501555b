/*
 * loki.c - owns the Loki source (fb_source_loki, a poller): its Loki
 * client (the one in net/loki_api.c, shared with the loki check), the
 * in-memory cursor of each query and paging through
 * query_range.  Runs on the poller thread ingest.c starts for it (which
 * also backs off while Loki is down).  Each query's new lines go to the
 * engine as a batch, one signal per stream; the engine commits the
 * incidents and the cursor together (see loki.h).
 *
 * Paging follows logcli: direction=forward, start inclusive, end
 * exclusive (end = now - lag, so late lines still land).  A page shorter
 * than the limit means everything up to end was read: the next start is
 * end.  A full page may stop in the middle of lines that share a
 * nanosecond: the next start is that nanosecond, and the lines already
 * taken there are remembered by key (stream, time, text) and skipped.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/json.h"
#include "firebreak/log.h"
#include "firebreak/loki.h"
#include "firebreak/loki_api.h"
#include "source_int.h"

#define RESPONSE_MAX (8u * 1024u * 1024u)
#define SIGNAL_TEXT_MAX (64u * 1024u)
#define SEEN_MAX 5000

typedef struct {
	char key[17];
	long long ts;
	const cJSON *labels;
	const char *line;
} entry;

typedef struct {
	char name[64];
	long long start; /* ns; 0 = not started */
	cJSON *seen;     /* keys taken at exactly start */
} cursor;

typedef struct {
	char url[FB_CFG_STR], tenant[128], user[128], pass[FB_CFG_STR], token[FB_CFG_STR];
	long interval, lag, limit, max_pages;
	char queries[FB_LOKI_QUERIES][FB_CFG_STR];
	cursor cur[FB_LOKI_QUERIES];
	size_t n;

	fb_loki_api *api; /* the one Loki client (net/loki_api.c) */
} fb_loki;

static void hash_hex(const char *s, size_t len, char *out, size_t hexlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(s, len, md, &n, EVP_sha256(), NULL);
	for (size_t i = 0; i < hexlen / 2 && i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void fb_loki_cursor_name(const char *query, char out[64])
{
	char hex[25] = "";
	hash_hex(query, strlen(query), hex, 24);
	snprintf(out, 64, "loki:%s", hex);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- cursors ---- */

static void cursor_load(cursor *c, const char *json)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	c->start = strtoll(fb_json_str(j, "start"), NULL, 10);
	c->seen = cJSON_IsArray(fb_json_get(j, "seen")) ? cJSON_Duplicate(fb_json_get(j, "seen"), 1)
	                                                : cJSON_CreateArray();
	cJSON_Delete(j);
}

static char *cursor_json(const cursor *c)
{
	char start[32];
	cJSON *j = cJSON_CreateObject();
	snprintf(start, sizeof(start), "%lld", c->start);
	cJSON_AddStringToObject(j, "start", start);
	cJSON_AddItemToObject(j, "seen", cJSON_Duplicate(c->seen, 1));
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static int seen_has(const cJSON *seen, const char *key)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, seen)
	{
		if (cJSON_IsString(it) && !strcmp(it->valuestring, key))
			return 1;
	}
	return 0;
}

/* ---- one request ---- */

static fb_err get_page(fb_loki *l, const char *query, long long start, long long end, long limit,
                       cJSON **out)
{
	fb_loki_range r = {.query = query,
	                   .start_ns = start,
	                   .end_ns = end,
	                   .limit = limit,
	                   .direction = FB_LOKI_FORWARD};
	return fb_loki_api_query_range(l->api, &r, NULL, out);
}

static int by_time(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

/* The entries of a page, merged over its streams and sorted by time. */
static entry *page_entries(const cJSON *page, size_t *n)
{
	const cJSON *result = fb_json_get(fb_json_get(page, "data"), "result"), *st, *v;
	size_t cap = 0, len = 0;
	entry *e = NULL;

	cJSON_ArrayForEach(st, result) cap += (size_t)cJSON_GetArraySize(fb_json_get(st, "values"));
	if (cap && !(e = calloc(cap, sizeof(*e))))
		cap = 0;
	cJSON_ArrayForEach(st, result)
	{
		const cJSON *labels = fb_json_get(st, "stream");
		char *lj = cJSON_PrintUnformatted(labels);
		cJSON_ArrayForEach(v, fb_json_get(st, "values"))
		{
			const cJSON *ts = cJSON_GetArrayItem(v, 0),
			            *line = cJSON_GetArrayItem(v, 1);
			fb_buf k;
			if (len == cap || !cJSON_IsString(ts) || !cJSON_IsString(line))
				continue;
			e[len].ts = strtoll(ts->valuestring, NULL, 10); /* ns: an int64 string */
			e[len].labels = labels;
			e[len].line = line->valuestring;
			fb_buf_init(&k, SIGNAL_TEXT_MAX * 2);
			fb_buf_printf(&k, "%s\x1f%s\x1f%s", lj ? lj : "", ts->valuestring,
			              line->valuestring);
			hash_hex(fb_buf_str(&k) ? fb_buf_str(&k) : "", k.len, e[len].key, 16);
			fb_buf_free(&k);
			len++;
		}
		free(lj);
	}
	if (len)
		qsort(e, len, sizeof(*e), by_time);
	*n = len;
	return e;
}

/* Adds a taken line to the signal of its stream. */
static void add_line(cJSON *signals, const entry *e)
{
	cJSON *sig;
	cJSON_ArrayForEach(sig, signals)
	{
		if (cJSON_Compare(fb_json_get(sig, "labels"), e->labels, 1))
			break;
	}
	if (!sig) {
		sig = cJSON_CreateObject();
		cJSON_AddItemToObject(sig, "labels", cJSON_Duplicate(e->labels, 1));
		cJSON_AddStringToObject(sig, "text", "");
		cJSON_AddItemToArray(signals, sig);
	}
	cJSON *text = cJSON_GetObjectItemCaseSensitive(sig, "text");
	size_t have = strlen(text->valuestring), add = strlen(e->line);
	if (have + add + 2 > SIGNAL_TEXT_MAX)
		return;
	char *s = malloc(have + add + 2);
	if (!s)
		return;
	memcpy(s, text->valuestring, have);
	memcpy(s + have, e->line, add);
	s[have + add] = '\n';
	s[have + add + 1] = '\0';
	cJSON_SetValuestring(text, s);
	free(s);
}

/* The streams' signals and the cursor after them, as the engine takes
 * them (takes cursor). */
static fb_err to_batch(const cJSON *signals, const char *name, char *cur_json,
                       fb_source_batch **out)
{
	const cJSON *sig;
	fb_err rc = fb_source_batch_new("loki", out);

	if (rc) {
		free(cur_json);
		return rc;
	}
	fb_source_batch_set_cursor(*out, name, cur_json);
	cJSON_ArrayForEach(sig, signals)
	{
		const char *text = fb_json_str(sig, "text");
		fb_source_signal s = {.status = FB_SIGNAL_FIRING};
		snprintf(s.app, sizeof(s.app), "%s",
		         fb_source_app_from_labels(fb_json_get(sig, "labels")));
		snprintf(s.triggered_by, sizeof(s.triggered_by), "loki");
		if (*text && (rc = fb_source_batch_add(*out, &s, text, strlen(text), NULL)))
			break;
	}
	if (rc) {
		fb_source_batch_free(*out);
		*out = NULL;
	}
	return rc;
}

/* One poll of one query: pages until done or max_pages; *b when it read.
 * It works on a copy of the cursor, kept only when every page arrived, so
 * a failure half-way re-reads instead of skipping. */
static fb_err poll_query(fb_loki *l, size_t qi, fb_source_batch **b)
{
	cursor work = {.start = l->cur[qi].start, .seen = cJSON_Duplicate(l->cur[qi].seen, 1)};
	cursor *c = &work;
	long long end = now_ns() - l->lag * 1000000000LL;
	cJSON *signals = cJSON_CreateArray();
	fb_err rc = FB_OK;
	long limit = l->limit;

	*b = NULL;
	if (!c->start)
		c->start = end - l->interval * 1000000000LL;
	for (long p = 0; p < l->max_pages && c->start < end; p++) {
		cJSON *page = NULL;
		size_t n = 0;
		entry *e;
		long asked = limit;
		if ((rc = get_page(l, l->queries[qi], c->start, end, asked, &page)))
			break;
		e = page_entries(page, &n);
		for (size_t i = 0; i < n; i++)
			if (!(e[i].ts == c->start && seen_has(c->seen, e[i].key)))
				add_line(signals, &e[i]);
		if ((long)n < asked) { /* all read up to end (exclusive) */
			c->start = end;
			cJSON_Delete(c->seen);
			c->seen = cJSON_CreateArray();
		} else { /* cut inside the last nanosecond, maybe: remember what was taken */
			long long last = e[n - 1].ts;
			if (last == c->start &&
			    limit < 5000) /* a full page in one ns: ask for more */
				limit = limit * 2 < 5000 ? limit * 2 : 5000;
			if (last != c->start) {
				cJSON_Delete(c->seen);
				c->seen = cJSON_CreateArray();
			}
			for (size_t i = 0; i < n; i++)
				if (e[i].ts == last && !seen_has(c->seen, e[i].key) &&
				    cJSON_GetArraySize(c->seen) < SEEN_MAX)
					cJSON_AddItemToArray(c->seen, cJSON_CreateString(e[i].key));
			c->start = last;
		}
		free(e);
		cJSON_Delete(page);
		if ((long)n < asked)
			break;
	}
	if (!rc && !(rc = to_batch(signals, l->cur[qi].name, cursor_json(c), b))) {
		cJSON_Delete(l->cur[qi].seen);
		l->cur[qi].start = work.start;
		l->cur[qi].seen = work.seen;
		work.seen = NULL;
	}
	cJSON_Delete(work.seen);
	cJSON_Delete(signals);
	return rc;
}

/* One poll: every query in turn, each query's batch handed over as it
 * arrives; the first failure ends the poll (the next one retries). */
static fb_err loki_poll(void *inst, const fb_source_sink *sink, int64_t *next_wait_ms)
{
	fb_loki *l = inst;
	fb_err rc = FB_OK;

	*next_wait_ms = l->interval * 1000LL;
	for (size_t i = 0; i < l->n && !rc; i++) {
		fb_source_batch *b = NULL;
		if (!(rc = poll_query(l, i, &b)) && b)
			sink->put(sink->ctx, b);
	}
	return rc;
}

static void copy_opts(fb_loki *l, const fb_config *cfg)
{
	snprintf(l->url, sizeof(l->url), "%s", cfg->loki.url);
	size_t n = strlen(l->url);
	if (n && l->url[n - 1] == '/')
		l->url[n - 1] = '\0';
	snprintf(l->tenant, sizeof(l->tenant), "%s", cfg->loki.tenant);
	snprintf(l->user, sizeof(l->user), "%s", cfg->loki.username);
	snprintf(l->pass, sizeof(l->pass), "%s", cfg->loki.password);
	snprintf(l->token, sizeof(l->token), "%s", cfg->loki.token);
	l->interval = cfg->loki.interval;
	l->lag = cfg->loki.lag;
	l->limit = cfg->loki.limit;
	l->max_pages = cfg->loki.max_pages > 0 ? cfg->loki.max_pages : 1;
	l->n = cfg->loki.n_queries;
	for (size_t i = 0; i < l->n; i++)
		snprintf(l->queries[i], sizeof(l->queries[i]), "%s", cfg->loki.queries[i]);
}

static int loki_enabled(const fb_config *cfg)
{
	return cfg->loki.url[0] && cfg->loki.n_queries; /* verification may use the URL alone */
}

static size_t loki_cursor_names(const fb_config *cfg, char names[][FB_SOURCE_NAME_MAX])
{
	size_t n =
	    cfg->loki.n_queries < FB_SOURCE_CURSORS ? cfg->loki.n_queries : FB_SOURCE_CURSORS;
	for (size_t i = 0; i < n; i++)
		fb_loki_cursor_name(cfg->loki.queries[i], names[i]);
	return n;
}

static void loki_close(void *inst)
{
	fb_loki *l = inst;
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		cJSON_Delete(l->cur[i].seen);
	fb_loki_api_free(l->api);
	explicit_bzero(l->pass, sizeof(l->pass));
	explicit_bzero(l->token, sizeof(l->token));
	free(l);
}

static fb_err loki_open(const fb_config *cfg, const char *const *cursors, void **out)
{
	fb_loki *l;

	*out = NULL;
	if (!(l = calloc(1, sizeof(*l))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	copy_opts(l, cfg);
	fb_loki_api_opts ao = {.url = l->url,
	                       .tenant = l->tenant,
	                       .username = l->user,
	                       .password = l->pass,
	                       .token = l->token,
	                       .timeout_ms = 30000,
	                       .max_body = RESPONSE_MAX};
	fb_err rc = fb_loki_api_new(&ao, &l->api);
	if (rc) {
		free(l);
		return rc;
	}
	if (l->n > FB_SOURCE_CURSORS)
		l->n = FB_SOURCE_CURSORS;
	for (size_t i = 0; i < l->n; i++) {
		fb_loki_cursor_name(l->queries[i], l->cur[i].name);
		cursor_load(&l->cur[i], cursors ? cursors[i] : NULL);
	}
	fb_log(FB_LOG_INFO, "loki.started", "queries=%zu interval=%lds", l->n, l->interval);
	*out = l;
	return FB_OK;
}

const fb_source_ops fb_source_loki = {
    .version = FB_SOURCE_OPS_VERSION,
    .name = "loki",
    .enabled = loki_enabled,
    .cursor_names = loki_cursor_names,
    .open = loki_open,
    .poll = loki_poll,
    .close = loki_close,
};
