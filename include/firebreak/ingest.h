/*
 * ingest.h - the polling sources as the engine sees them: starting the
 * Loki and log-file threads from the cursors the store has committed, and
 * committing what they hand back (incidents and the cursor that follows
 * them, in one transaction).  Engine thread; the sources run on their own.
 */
#ifndef FIREBREAK_INGEST_H
#define FIREBREAK_INGEST_H

#include "firebreak/graph.h"
#include "firebreak/source.h"

typedef struct fb_ingest fb_ingest;

typedef struct {
	/* source threads: a batch to commit (the callee owns it) */
	void (*on_batch)(void *ctx, fb_source_batch *b);
	/* source threads: a source went down (up = 0, why) or came back */
	void (*on_status)(void *ctx, int up, const char *why);
	void *ctx;
} fb_ingest_opts;

/* Starts what the config names (nothing is fine); cursors from env->store. */
fb_err fb_ingest_start(const fb_graph_env *env, const fb_ingest_opts *o, fb_ingest **out);
void fb_ingest_stop(fb_ingest *in);

/* Engine: the batch's incidents and its cursor in one transaction; on
 * failure nothing is stored and the lines are read again after a restart. */
fb_err fb_ingest_commit(const fb_graph_env *env, const fb_source_batch *b, long *created);

#endif
