/*
 * loki.h - the Loki source: a thread that polls query_range (forward) for
 * each configured LogQL query and hands the new lines to the engine,
 * grouped by stream, together with the cursor that follows them.  The
 * engine commits the signals and the cursor in one transaction, so a
 * restart neither repeats nor skips a line: the cursor is the start
 * (inclusive, ns) plus the keys of the lines already taken at exactly that
 * nanosecond.
 */
#ifndef FIREBREAK_LOKI_H
#define FIREBREAK_LOKI_H

#include <cjson/cJSON.h>
#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/source.h"

typedef struct fb_loki fb_loki;

typedef struct {
	const fb_config *cfg; /* read at start only */
	/* the committed cursor of each query, in the order of loki.queries
	 * (NULL: none yet); read by the engine before the start, copied */
	const char *cursors[FB_LOKI_QUERIES];
	/* loki thread: hands over a batch (the callee owns it) */
	void (*on_batch)(void *ctx, fb_source_batch *b);
	/* loki thread: up = 0 with the reason after repeated failures, 1 again when it answers */
	void (*on_status)(void *ctx, int up, const char *why);
	void *ctx;
} fb_loki_opts;

/* NULL *out (and FB_OK) when loki.url is empty. */
fb_err fb_loki_start(const fb_loki_opts *o, fb_loki **out);
void fb_loki_stop(fb_loki *l);

/* The name of the cursor of query (for tests and the engine). */
void fb_loki_cursor_name(const char *query, char out[64]);

#endif
