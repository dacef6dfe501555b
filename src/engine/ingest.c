/*
 * ingest.c - owns the sources' life as seen from the engine: one poller
 * thread per enabled polling source of the table, all running the same
 * loop (poll, hand over, sleep on a stopper, back off while failing), and
 * the one commit of every batch.  fb_ingest_start/stop and
 * fb_ingest_commit run on the engine thread (the CLI's for a triage);
 * poller_main on each poller's thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/ingest.h"
#include "firebreak/json.h"
#include "firebreak/log.h"
#include "firebreak/mask.h"
#include "firebreak/stopper.h"

#define DOWN_AFTER 3          /* failed polls in a row before /health says so */
#define BACKOFF_MAX_MS 300000 /* the longest wait while a source fails */

typedef struct {
	const fb_source_ops *ops;
	void *poller;
	fb_ingest_opts o;
	fb_stopper stopper;
	pthread_t thread;
	int started, failures, down;
} runner;

struct fb_ingest {
	runner *r;
	size_t n;
};

/* ---- the poller loop ---- */

static void sink_put(void *ctx, fb_source_batch *b)
{
	runner *r = ctx;
	r->o.on_batch(r->o.ctx, b);
}

static void counted(runner *r, fb_err rc)
{
	char event[64];

	if (!rc) {
		if (r->down && r->o.on_status)
			r->o.on_status(r->o.ctx, 1, "");
		r->down = 0;
		r->failures = 0;
		return;
	}
	r->failures++;
	snprintf(event, sizeof(event), "%s.poll_failed", r->ops->name);
	fb_log(FB_LOG_WARN, event, "attempt=%d error=\"%s\"", r->failures, fb_error_last());
	if (r->failures >= DOWN_AFTER && !r->down) {
		r->down = 1;
		if (r->o.on_status)
			r->o.on_status(r->o.ctx, 0, fb_error_last());
	}
}

static void *poller_main(void *arg)
{
	runner *r = arg;
	const fb_source_sink sink = {sink_put, r};

	while (!fb_stopper_stopped(&r->stopper)) {
		int64_t wait = 1000;
		fb_error_clear();
		counted(r, r->ops->poll(r->poller, &sink, &wait));
		for (int i = 1; i < r->failures && wait < BACKOFF_MAX_MS; i++)
			wait *= 2; /* back off while the source fails */
		if (wait < 1)
			wait = 1;
		if (fb_stopper_sleep(&r->stopper, wait < BACKOFF_MAX_MS ? wait : BACKOFF_MAX_MS))
			break;
	}
	return NULL;
}

/* ---- start and stop ---- */

/* Opens the poller from the committed cursors of the names it gives. */
static fb_err open_poller(const fb_graph_env *env, runner *r)
{
	char names[FB_SOURCE_CURSORS][FB_SOURCE_NAME_MAX];
	char *values[FB_SOURCE_CURSORS] = {NULL};
	size_t n = r->ops->cursor_names ? r->ops->cursor_names(env->cfg, names) : 0;
	fb_err rc;

	for (size_t i = 0; i < n && i < FB_SOURCE_CURSORS; i++)
		if (fb_store_cursor_get(env->store, names[i], &values[i]) != FB_OK)
			fb_error_clear(); /* none yet */
	rc = r->ops->open(env->cfg, (const char *const *)values, &r->poller);
	for (size_t i = 0; i < FB_SOURCE_CURSORS; i++)
		free(values[i]);
	return rc;
}

static fb_err start_one(const fb_graph_env *env, const fb_source_ops *ops, const fb_ingest_opts *o,
                        runner *r)
{
	fb_err rc;

	if (ops->version != FB_SOURCE_OPS_VERSION || !ops->open || !ops->close)
		return fb_error_set(FB_EINVAL, "source %s: ops version %d, or no open/close",
		                    ops->name, ops->version);
	r->ops = ops;
	r->o = *o;
	if ((rc = open_poller(env, r)))
		return rc;
	fb_stopper_init(&r->stopper);
	if (pthread_create(&r->thread, NULL, poller_main, r) != 0)
		return fb_error_set(FB_ERR, "cannot start the %s thread", ops->name);
	r->started = 1;
	return FB_OK;
}

fb_err fb_ingest_start(const fb_graph_env *env, const fb_ingest_opts *o, fb_ingest **out)
{
	fb_ingest *in = calloc(1, sizeof(*in));
	const fb_source_ops *ops;
	size_t max = 0;
	fb_err rc = FB_OK;

	*out = NULL;
	while (fb_source_at(max))
		max++;
	if (!in || !(in->r = calloc(max ? max : 1, sizeof(*in->r)))) {
		free(in);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; !rc && (ops = fb_source_at(i)); i++) {
		if (!ops->poll || !ops->enabled || !ops->enabled(env->cfg))
			continue; /* a webhook, or off */
		rc = start_one(env, ops, o, &in->r[in->n]);
		in->n += in->r[in->n].poller != NULL;
	}
	if (rc) {
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
	for (size_t i = 0; i < in->n; i++) /* every thread hears it at once */
		if (in->r[i].started)
			fb_stopper_stop(&in->r[i].stopper);
	for (size_t i = 0; i < in->n; i++) {
		runner *r = &in->r[i];
		if (r->started) {
			pthread_join(r->thread, NULL);
			fb_stopper_destroy(&r->stopper);
		}
		r->ops->close(r->poller);
	}
	free(in->r);
	free(in);
}

/* ---- the one commit ---- */

/* A resolved signal, shown on the incident with its fingerprint: the
 * state says so ("alert", which the card reads), the timeline records
 * it, and the graph's on_step hook tells the card. Told twice: once. */
static fb_err resolve(const fb_graph_env *env, const char *source, const fb_source_signal *s,
                      fb_ingest_result *res)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	char *json = NULL;
	fb_err rc = FB_OK;

	if (!*s->fingerprint ||
	    fb_store_incident_by_fingerprint(env->store, s->fingerprint, NULL, &row) != FB_OK) {
		fb_error_clear(); /* nothing to resolve: we never saw it fire */
		return FB_OK;
	}
	if ((rc = fb_state_parse(row->state, &state)) || !strcmp(state->alert.status, "resolved"))
		goto out;
	state->alert = (fb_state_alert){.present = 1, .status = "resolved", .at = fb_now_ms()};
	fb_state_copy(state->alert.ends_at, sizeof(state->alert.ends_at), s->ends_at);
	if ((rc = fb_state_to_json(state, &json)))
		goto out;
	free(row->state);
	row->state = json;
	row->updated_at = fb_now_ms();
	rc = fb_store_incident_update(env->store, row);
	if (!rc)
		rc = fb_store_event_add(env->store, &(fb_event){.incident_id = row->id,
		                                                .actor = source,
		                                                .kind = FB_EV_SIGNAL_RESOLVED,
		                                                .detail = s->ends_at});
	if (!rc && env->on_step) { /* the alert's text may quote a log: masked */
		char *masked = NULL;
		rc = fb_mask(s->text ? s->text : "", s->text ? s->len : 0, &masked);
		if (!rc)
			rc =
			    env->on_step(env->hook_ctx, env->store, row, state, "resolved", masked);
		free(masked);
	}
	res->resolved += !rc;
out:
	fb_state_free(state);
	fb_incident_row_free(row);
	return rc;
}

/* A firing signal: one more sighting of an earlier incident (the graph's
 * rule), or a new incident. */
static fb_err fire(const fb_graph_env *env, const char *source, const fb_source_signal *s,
                   const fb_ingest_route *route, fb_ingest_result *res)
{
	char id[64];
	fb_err rc;

	if (*s->fingerprint) {
		if ((rc = fb_graph_fold_signal(env, s->fingerprint, source, id)))
			return rc;
		if (*id) {
			res->repeats++;
			goto done;
		}
	}
	fb_signal sig = {.source = source,
	                 .text = s->text,
	                 .len = s->len,
	                 .app = s->app,
	                 .triggered_by = s->triggered_by,
	                 .decision = route ? route->decision : NULL,
	                 .overrides = route ? route->overrides : NULL,
	                 .n_overrides = route ? route->n_overrides : 0,
	                 .channel =
	                     route && route->channel ? route->channel : env->cfg->slack.channel,
	                 .fingerprint = s->fingerprint};
	if ((rc = fb_graph_create(env, &sig, id)))
		return rc;
	res->created++;
done:
	if (!res->first_id[0])
		snprintf(res->first_id, sizeof(res->first_id), "%s", id);
	return FB_OK;
}

fb_err fb_ingest_commit(const fb_graph_env *env, const fb_source_batch *b,
                        const fb_ingest_route *route, fb_ingest_result *out)
{
	fb_err rc = fb_store_begin(env->store);

	*out = (fb_ingest_result){0};
	for (size_t i = 0; !rc && i < b->n; i++) {
		const fb_source_signal *s = &b->signals[i];
		if (s->status == FB_SIGNAL_RESOLVED)
			rc = resolve(env, b->source, s, out);
		else if (s->len) /* an empty excerpt tells nothing */
			rc = fire(env, b->source, s, route, out);
	}
	if (!rc && b->cursor_name[0] && b->cursor)
		rc = fb_store_cursor_put(env->store, b->cursor_name, b->cursor);
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc) {
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", fb_error_last());
		fb_store_rollback(env->store);
		fb_error_set(rc, "%s", keep);
		*out = (fb_ingest_result){0};
	}
	return rc;
}
