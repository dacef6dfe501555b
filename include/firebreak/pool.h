/*
 * pool.h - the worker pool: threads that run the graph's nodes that do
 * I/O (propose and apply with the git repository, verify with the
 * Kubernetes, Argo CD and Loki APIs), so that one slow node delays only
 * its own incident.  Each worker owns its verification clients; the
 * workers share one repository handle, used only under the lock that
 * serialises nodes that use the repository (FB_NODE_GIT); the others run
 * side by side.  Both are built from the configuration the task was taken
 * with (rebuilt when a reload hands over a new one).  Workers never touch the store: the engine takes the task
 * and commits its result.
 */
#ifndef FIREBREAK_POOL_H
#define FIREBREAK_POOL_H

#include <stddef.h>
#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/graph.h"
#include "firebreak/rules.h"

typedef struct fb_pool fb_pool;

typedef struct {
	size_t workers; /* engine.workers */
	const fb_rules *rules;
	/* worker thread: the task ran (the callee owns it) */
	void (*done)(void *ctx, fb_graph_task *task);
	void *ctx;
} fb_pool_opts;

fb_err fb_pool_start(const fb_pool_opts *o, fb_pool **out);

/*
 * Queues a task taken by the engine.  cfg is the configuration it runs
 * with and gen its generation: it must stay valid until the task comes
 * back through done.  FB_ETOOBIG when the queue is full (the task stays
 * the caller's).
 */
fb_err fb_pool_submit(fb_pool *p, fb_graph_task *task, const fb_config *cfg, unsigned long gen);

/* Lets the running tasks finish, stops and joins the workers; tasks
 * still queued are freed (their jobs stay due in the store). */
void fb_pool_stop(fb_pool *p);

#endif
