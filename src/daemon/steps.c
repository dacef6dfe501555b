/*
 * steps.c - owns the scheduling of graph steps in the daemon: which due
 * jobs are taken, which run here (pure nodes: collect, classify,
 * analyze, the decision gate, report) and which go to the worker pool
 * (nodes that do I/O), the set of incidents in flight (an incident never
 * runs two steps at once), and the configuration generations those tasks
 * hold.  Engine thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "firebreak/log.h"
#include "firebreak/stopper.h"

#define PURE_STEPS_PER_ROUND 16 /* then envelopes get their turn again */

static int is_in_flight(const fb_engine *e, const char *id)
{
	for (size_t i = 0; i < e->n_flight; i++)
		if (!strcmp(e->flight[i].id, id))
			return 1;
	return 0;
}

size_t fb_engine_in_flight(const fb_engine *e)
{
	return e->n_flight;
}

/* Frees a retired generation once nothing uses it. */
void fb_engine_cfg_release(fb_engine *e, cfg_gen *g)
{
	if (--g->refs > 0 || g->pinned || g == e->cfg)
		return;
	for (cfg_gen **p = &e->retired; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			explicit_bzero(&g->cfg, sizeof(g->cfg));
			free(g);
			return;
		}
	}
}

/* The commit of a step, on the engine, wherever the node ran. */
static void finish(fb_engine *e, fb_graph_task *t)
{
	int more = 0;
	fb_err rc;

	fb_metrics_add(e->metrics, FB_M_STEPS, 1);
	if ((rc = fb_graph_task_finish(&e->env, t, &more)) != FB_OK) {
		fb_metrics_add(e->metrics, FB_M_STEP_FAILURES, 1);
		if (rc == FB_EDB) /* the guard logs it once and holds the steps back */
			fb_store_guard_failed(&e->guard, e->store, fb_mono_ms());
		else
			fb_log(FB_LOG_ERROR, "engine.step_failed", "id=%s error=\"%s\"",
			       fb_graph_task_incident(t), fb_error_last());
	} else {
		fb_store_guard_ok(&e->guard, e->store, fb_mono_ms());
	}
	if (more)
		e->more_due = 1;
}

void fb_engine_step_done(fb_engine *e, fb_graph_task *t)
{
	const char *id = fb_graph_task_incident(t);

	for (size_t i = 0; i < e->n_flight; i++) {
		if (strcmp(e->flight[i].id, id))
			continue;
		cfg_gen *g = e->flight[i].cfg;
		e->flight[i] = e->flight[--e->n_flight];
		finish(e, t);
		fb_engine_cfg_release(e, g);
		break;
	}
	fb_graph_task_free(t);
	fb_engine_flush_outbox(e);
}

/* Hands an I/O step to the pool with the configuration of the moment. */
static int submit(fb_engine *e, fb_graph_task *t)
{
	inflight *f = &e->flight[e->n_flight];

	if (fb_pool_submit(e->pool, t, &e->cfg->cfg, e->cfg->gen) != FB_OK) {
		fb_log(FB_LOG_WARN, "engine.pool_full", "id=%s", fb_graph_task_incident(t));
		fb_graph_task_free(t); /* the job stays due */
		return 0;
	}
	snprintf(f->id, sizeof(f->id), "%s", fb_graph_task_incident(t));
	f->cfg = e->cfg;
	e->cfg->refs++;
	e->n_flight++;
	return 1;
}

/* Takes one due incident's step: runs it here, or hands it over.
 * Returns 1 when a pure step ran (another may be due at once). */
static int take(fb_engine *e, const char *id)
{
	fb_graph_task *t = NULL;

	fb_err rc = fb_graph_task_take(&e->env, id, &t);

	if (rc == FB_EDB) {
		fb_store_guard_failed(&e->guard, e->store, fb_mono_ms());
		return 0;
	} else if (rc) {
		fb_log(FB_LOG_ERROR, "engine.take_failed", "id=%s error=\"%s\"", id,
		       fb_error_last());
		return 0;
	}
	if (!t)
		return 0;
	if (fb_graph_task_flags(t) & FB_NODE_IO) {
		submit(e, t);
		return 0;
	}
	fb_graph_task_run(&e->env, t);
	finish(e, t);
	fb_graph_task_free(t);
	return 1;
}

/*
 * Due jobs, oldest first, skipping incidents already in flight.  A pool
 * full of slow steps (a verification waiting on an API) does not hold up
 * pure steps or other incidents' steps: they are taken here as long as
 * there is room in flight.
 */
void fb_engine_dispatch_due(fb_engine *e)
{
	char ids[ENGINE_INFLIGHT_MAX + 16][64];
	size_t n = 0, ran = 0;

	e->more_due = 0;
	/* a failing store: nothing until the backoff is over and a probe worked */
	if (!fb_store_guard_tick(&e->guard, e->store, fb_mono_ms()))
		return;
	if (fb_store_jobs_due(e->store, fb_now_ms(), ids, ENGINE_INFLIGHT_MAX + 16, &n) != FB_OK) {
		fb_log(FB_LOG_ERROR, "engine.jobs_failed", "error=\"%s\"", fb_error_last());
		return;
	}
	for (size_t i = 0; i < n && fb_store_guard_ready(&e->guard, fb_mono_ms()); i++) {
		if (is_in_flight(e, ids[i]))
			continue;
		if (e->n_flight >= ENGINE_INFLIGHT_MAX)
			break;
		if (ran >= PURE_STEPS_PER_ROUND) {
			e->more_due = 1;
			break;
		}
		fb_engine_urgent(e); /* an envelope waiting goes before the next step */
		ran += (size_t)take(e, ids[i]);
	}
	if (ran)
		e->more_due = 1;
	fb_engine_flush_outbox(e);
}
