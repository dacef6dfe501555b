/*
 * ingest.c - owns the polling sources' life as seen from the engine: the
 * Loki and log-file threads started from the committed cursors (read here,
 * on the engine thread, then copied by each source), and the commit of
 * each batch they return.  Engine thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/filelog.h"
#include "firebreak/ingest.h"
#include "firebreak/json.h"
#include "firebreak/log.h"
#include "firebreak/loki.h"

struct fb_ingest {
	fb_loki *loki;
	fb_filelog *filelog;
};

/* The committed cursor of each name, or NULL; the caller frees them. */
static void read_cursors(fb_store *st, char names[][64], size_t n, char **values)
{
	for (size_t i = 0; i < n; i++)
		if (fb_store_cursor_get(st, names[i], &values[i]) != FB_OK)
			fb_error_clear();
}

static fb_err start_loki(const fb_graph_env *env, const fb_ingest_opts *o, fb_ingest *in)
{
	const fb_config *cfg = env->cfg;
	fb_loki_opts lo = {
	    .cfg = cfg, .on_batch = o->on_batch, .on_status = o->on_status, .ctx = o->ctx};
	char names[FB_LOKI_QUERIES][64];
	char *values[FB_LOKI_QUERIES] = {NULL};
	fb_err rc;

	for (size_t i = 0; i < cfg->loki.n_queries; i++)
		fb_loki_cursor_name(cfg->loki.queries[i], names[i]);
	read_cursors(env->store, names, cfg->loki.n_queries, values);
	for (size_t i = 0; i < cfg->loki.n_queries; i++)
		lo.cursors[i] = values[i];
	rc = fb_loki_start(&lo, &in->loki);
	for (size_t i = 0; i < FB_LOKI_QUERIES; i++)
		free(values[i]);
	if (!rc && in->loki)
		fb_log(FB_LOG_INFO, "loki.started", "queries=%zu interval=%lds",
		       cfg->loki.n_queries, cfg->loki.interval);
	return rc;
}

static fb_err start_filelog(const fb_graph_env *env, const fb_ingest_opts *o, fb_ingest *in)
{
	const fb_config *cfg = env->cfg;
	fb_filelog_opts fo = {.cfg = cfg, .on_batch = o->on_batch, .ctx = o->ctx};
	char names[FB_LOGFILE_PATHS][64];
	char *values[FB_LOGFILE_PATHS] = {NULL};
	fb_err rc;

	for (size_t i = 0; i < cfg->logfile.n_paths; i++)
		fb_filelog_cursor_name(cfg->logfile.paths[i], names[i]);
	read_cursors(env->store, names, cfg->logfile.n_paths, values);
	for (size_t i = 0; i < cfg->logfile.n_paths; i++)
		fo.cursors[i] = values[i];
	rc = fb_filelog_start(&fo, &in->filelog);
	for (size_t i = 0; i < FB_LOGFILE_PATHS; i++)
		free(values[i]);
	if (!rc && in->filelog)
		fb_log(FB_LOG_INFO, "logfile.started", "files=%zu", cfg->logfile.n_paths);
	return rc;
}

fb_err fb_ingest_start(const fb_graph_env *env, const fb_ingest_opts *o, fb_ingest **out)
{
	fb_ingest *in = calloc(1, sizeof(*in));
	fb_err rc;

	*out = NULL;
	if (!in)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if ((rc = start_loki(env, o, in)) || (rc = start_filelog(env, o, in))) {
		fb_ingest_stop(in);
		return rc;
	}
	*out = in;
	return FB_OK;
}

void fb_ingest_stop(fb_ingest *in)
{
	if (!in)
		return;
	fb_loki_stop(in->loki);
	fb_filelog_stop(in->filelog);
	free(in);
}

/* A stream's labels name the app when they can. */
static const char *label_app(const cJSON *labels)
{
	static const char *keys[] = {"app", "app_kubernetes_io_name", "container"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (*fb_json_str(labels, keys[i]))
			return fb_json_str(labels, keys[i]);
	return "";
}

fb_err fb_ingest_commit(const fb_graph_env *env, const fb_source_batch *b, long *created)
{
	const cJSON *sig;
	fb_err rc = fb_store_begin(env->store);

	*created = 0;
	cJSON_ArrayForEach(sig, b->signals)
	{
		const char *text = fb_json_str(sig, "text");
		char id[64];
		if (rc || !*text)
			continue;
		fb_signal sg = {.source = b->source,
		                .text = text,
		                .len = strlen(text),
		                .app = label_app(fb_json_get(sig, "labels")),
		                .triggered_by = b->source,
		                .channel = env->cfg->slack.channel};
		rc = fb_graph_create(env, &sg, id);
		*created += !rc;
	}
	if (!rc)
		rc = fb_store_cursor_put(env->store, b->cursor_name, b->cursor);
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	return rc;
}
