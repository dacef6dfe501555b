/*
 * ingest.h - the sources as the engine sees them.  fb_ingest_start runs
 * every enabled poller of the source table (source.h) on a thread of its
 * own -- one loop for all of them, with backoff and up/down reports --
 * from the cursors the store has committed.  fb_ingest_commit is the one
 * commit for every batch, whoever made it (a poller, a webhook's parse, a
 * person's trigger): new incidents through fb_graph_create, repeats
 * folded by the graph's one rule (fb_graph_fold_signal), resolved signals
 * shown on their incident through the graph's on_step hook, and the
 * batch's cursor -- all in one transaction.  Engine thread (or the CLI's
 * only thread); the pollers run on their own.
 */
#ifndef FIREBREAK_INGEST_H
#define FIREBREAK_INGEST_H

#include "firebreak/graph.h"
#include "firebreak/state.h"
#include "firebreak/source.h"

typedef struct fb_ingest fb_ingest;

typedef struct {
	/* poller threads: a batch to commit (the callee owns it) */
	void (*on_batch)(void *ctx, fb_source_batch *b);
	/* poller threads: a source went down (up = 0, why) or came back */
	void (*on_status)(void *ctx, int up, const char *why);
	void *ctx;
} fb_ingest_opts;

/* Starts what the config enables (nothing is fine); cursors from env->store. */
fb_err fb_ingest_start(const fb_graph_env *env, const fb_ingest_opts *o, fb_ingest **out);
void fb_ingest_stop(fb_ingest *in);

/* Where a batch's incidents go; NULL for the defaults. */
typedef struct {
	const char *channel; /* the cards' Slack channel: NULL = slack.channel, "" = none */
	const fb_state_decision *decision; /* optional: a decision given up front (--yes) */
	const fb_state_pair *overrides;    /* optional: values a person already chose (--set) */
	size_t n_overrides;
} fb_ingest_route;

typedef struct {
	long created;      /* new incidents */
	long repeats;      /* firing signals folded into an earlier incident */
	long resolved;     /* incidents told their signal resolved */
	char first_id[64]; /* the first incident created or folded into; "" none */
} fb_ingest_result;

/* The batch's signals and its cursor in one transaction (nested in the
 * caller's, if any); on failure nothing is stored, the error is the
 * first one met (FB_EINVAL for an empty excerpt), and a poller's lines
 * are read again after a restart. */
fb_err fb_ingest_commit(const fb_graph_env *env, const fb_source_batch *b,
                        const fb_ingest_route *route, fb_ingest_result *out);

#endif
