/*
 * engine.c - owns the engine's inbox and loop: a typed message table
 * (kind -> priority, handler, free), the producers other threads call to
 * post messages, the rounds (envelopes first: a person is waiting for
 * the ack), the sender's results committed together, configuration
 * reloads handed over by pointer, and the once-a-second metrics.  The
 * producers run on any thread; everything else on the engine thread.
 *
 *   io thread --envelope, http--> engine --ack, answer--> io thread
 *   pollers   --batch, status---> engine
 *   workers   --step done-------> engine --task--> workers (steps.c)
 *   sender    --result----------> engine --outbox rows--> sender
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"
#include "firebreak/log.h"
#include "firebreak/report.h"
#include "firebreak/source.h"
#include "firebreak/stopper.h"
#include "firebreak/stormcard.h"

#define IDLE_WAIT_MS 200 /* signals and timers are noticed within this */
#define BATCH_MAX 256
#define URGENT_MAX 64 /* envelopes committed together */
#define LAT_MAX 200000
#define DRAIN_US (30LL * 1000000) /* steps in flight at shutdown */

typedef enum {
	EM_ENVELOPE,
	EM_HTTP,
	EM_BATCH,
	EM_SOURCE_STATUS,
	EM_STEP,
	EM_RESULT,
	EM_FATAL,
	EM_KINDS
} em_kind;

typedef struct em {
	em_kind kind;
	int64_t received; /* monotonic us, for the ack latency */
	union {
		struct {
			char *json;
			size_t len;
			int conn;
		} env;
		struct {
			long id;
			fb_http_kind kind;
			char arg[96];
			char *body; /* NULL for a read */
			size_t len;
		} http;
		fb_source_batch *batch;
		struct {
			int up;
			char why[300];
		} status;
		fb_graph_task *task;
		fb_send_result *res;
		char why[300];
	} u;
} em;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the handlers ---- */

static void handle_fatal(fb_engine *e, em *m);
static void free_em(em *m);

/* One envelope inside the group's transaction; its ack waits for the
 * group's commit.  0 when it was refused (not acked: Slack sends it
 * again). */
static int dispatch_one(fb_engine *e, em *m, char **ack)
{
	if (fb_dispatch_envelope(&e->disp, m->u.env.json, m->u.env.len, ack) != FB_OK) {
		fb_log(FB_LOG_WARN, "slack.envelope_refused", "bytes=%zu error=\"%s\"",
		       m->u.env.len, fb_error_last());
		fb_metrics_add(e->metrics, FB_M_ENVELOPES_REFUSED, 1);
		return 0;
	}
	return 1;
}

static void ack_one(fb_engine *e, em *m, char *ack)
{
	int64_t lat = mono_us() - m->received;
	fb_metrics_add(e->metrics, FB_M_ENVELOPES, 1);
	fb_metrics_ack_latency(e->metrics, lat);
	fb_socket_send(e->sock, m->u.env.conn, ack);
	if (e->lat_us && e->n_lat < LAT_MAX)
		e->lat_us[e->n_lat++] = lat;
}

/*
 * Every envelope waiting, in one transaction: each is its own savepoint
 * (a refused one rolls back alone), one commit -- one fsync -- makes them
 * all durable, and only then are they acked.  If that commit fails,
 * none is acked and Slack delivers them again.
 */
static void envelopes(fb_engine *e, em **v, size_t n)
{
	char *acks[URGENT_MAX] = {0};
	int outer;

	if (!fb_store_guard_ready(&e->guard, fb_mono_ms())) { /* not acked: Slack sends again */
		fb_metrics_add(e->metrics, FB_M_ENVELOPES_REFUSED, (long)n);
		return;
	}
	outer = fb_store_begin(e->store) == FB_OK;

	for (size_t i = 0; i < n; i++)
		if (!dispatch_one(e, v[i], &acks[i]))
			acks[i] = NULL;
	if (!outer || fb_store_commit(e->store) != FB_OK) {
		if (!e->guard.failing)
			fb_log(FB_LOG_ERROR, "slack.envelopes_not_stored", "n=%zu error=\"%s\"", n,
			       fb_error_last());
		fb_store_guard_failed(&e->guard, e->store, fb_mono_ms());
		fb_store_rollback(e->store);
		for (size_t i = 0; i < n; i++)
			free(acks[i]);
		return;
	}
	fb_store_guard_ok(&e->guard, e->store, fb_mono_ms());
	for (size_t i = 0; i < n; i++)
		if (acks[i])
			ack_one(e, v[i], acks[i]);
	fb_engine_flush_outbox(e); /* a views.open must leave at once */
}

void fb_engine_urgent(fb_engine *e)
{
	em *v[URGENT_MAX];
	size_t n = 0;

	for (em *m; n < URGENT_MAX && (m = fb_queue_pop(e->urgent, 0));) {
		if (m->kind == EM_FATAL) {
			handle_fatal(e, m);
			free_em(m);
		} else {
			v[n++] = m;
		}
	}
	if (n)
		envelopes(e, v, n);
	for (size_t i = 0; i < n; i++)
		free_em(v[i]);
}

static unsigned int http_status(fb_err rc)
{
	/* 5xx only when a retry can help: Alertmanager drops a 4xx */
	return rc == FB_EINVAL                         ? 400
	       : rc == FB_ENOTFOUND                    ? 404
	       : rc == FB_ESTATE || rc == FB_ECONFLICT ? 409
	       : rc == FB_ETOOBIG                      ? 413
	                                               : 500;
}

/* A lock another process holds on the database (SQLITE_BUSY after the
 * busy timeout): the request can succeed later, so 503 and Retry-After
 * (http.c adds it to every 503), with the cause named. */
static int db_locked(fb_err rc)
{
	const char *m = fb_error_last();
	return rc == FB_EDB && (strstr(m, "database is locked") || strstr(m, "database is busy") ||
	                        strstr(m, "database table is locked"));
}

static char *print_take(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* GET /api/v1/incidents: the engine's connection reads, the io thread sends. */
static fb_err http_list(fb_engine *e, const em *m)
{
	fb_incident_row **rows = NULL;
	size_t n = 0;
	fb_err rc = fb_store_incident_list(e->store, !strcmp(m->u.http.arg, "all"), &rows, &n);
	cJSON *arr;

	if (rc)
		return rc;
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n && i < 1000; i++)
		cJSON_AddItemToArray(arr, fb_report_json(rows[i], NULL, NULL, 0));
	fb_incident_rows_free(rows, n);
	fb_http_complete_json(e->http, m->u.http.id, 200, print_take(arr));
	return FB_OK;
}

static fb_err http_show(fb_engine *e, const em *m)
{
	fb_incident_row *row = NULL;
	fb_timeline_entry *tl = NULL;
	size_t n = 0;
	fb_state *state = NULL;

	if (fb_store_incident_get(e->store, m->u.http.arg, &row) != FB_OK)
		return fb_error_set(FB_ENOTFOUND, "no such incident");
	if (fb_state_parse(row->state, &state) != FB_OK)
		fb_error_clear(); /* the row and the timeline are still worth showing */
	if (fb_store_timeline_list(e->store, m->u.http.arg, &tl, &n) != FB_OK)
		fb_error_clear();
	cJSON *o = fb_report_json(row, state, tl, n);
	fb_timeline_free(tl, n);
	fb_state_free(state);
	fb_incident_row_free(row);
	fb_http_complete_json(e->http, m->u.http.id, 200, print_take(o));
	return FB_OK;
}

/* A webhook body or an API trigger: the source of its kind parses it, the
 * one commit (ingest.c) stores it. */
static fb_err http_signal(fb_engine *e, const em *m)
{
	int trigger = m->u.http.kind == FB_HTTP_TRIGGER;
	const fb_source_ops *src = fb_source_find(trigger ? "manual" : "alertmanager");
	fb_source_batch *b = NULL;
	fb_ingest_result res;
	char msg[256];
	fb_err rc = src->parse(&e->cfg->cfg, m->u.http.body, m->u.http.len, &b);

	if (!rc)
		rc = fb_ingest_commit(&e->env, b, NULL, &res);
	fb_source_batch_free(b);
	if (rc)
		return rc;
	if (trigger) {
		fb_http_complete(e->http, m->u.http.id, 201, "id", res.first_id);
		return FB_OK;
	}
	snprintf(msg, sizeof(msg), "stored; %ld new incident%s", res.created,
	         res.created == 1 ? "" : "s");
	fb_http_complete(e->http, m->u.http.id, 200, "status", msg);
	fb_log(FB_LOG_INFO, "alertmanager.received", "bytes=%zu new=%ld repeats=%ld resolved=%ld",
	       m->u.http.len, res.created, res.repeats, res.resolved);
	return FB_OK;
}

/* POST /api/v1/incidents/{id}/{op}: answered after the commit, with the
 * incident's new status. */
static fb_err http_life(fb_engine *e, const em *m)
{
	char id[64];
	const char *slash = strchr(m->u.http.arg, '/');
	fb_incident_row *row = NULL;
	fb_err rc;

	if (!slash || slash - m->u.http.arg >= 64)
		return fb_error_set(FB_ENOTFOUND, "no such route");
	snprintf(id, sizeof(id), "%.*s", (int)(slash - m->u.http.arg), m->u.http.arg);
	rc = fb_store_begin(e->store);
	if (!rc)
		rc = fb_dispatch_api_life(&e->disp, id, slash + 1, m->u.http.body, m->u.http.len);
	if (!rc)
		rc = fb_store_commit(e->store);
	if (rc) {
		fb_store_rollback(e->store);
		return rc;
	}
	if (fb_store_incident_get(e->store, id, &row) != FB_OK)
		return fb_error_set(FB_EDB, "incident %s vanished", id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", row->status);
	cJSON_AddStringToObject(o, "done", slash + 1);
	fb_incident_row_free(row);
	fb_http_complete_json(e->http, m->u.http.id, 200, print_take(o));
	return FB_OK;
}

static void handle_http(fb_engine *e, em *m)
{
	fb_err rc;
	unsigned int status;

	if (m->u.http.kind != FB_HTTP_LIST && m->u.http.kind != FB_HTTP_SHOW &&
	    !fb_store_guard_ready(&e->guard, fb_mono_ms())) { /* a retry later can work */
		fb_http_complete(e->http, m->u.http.id, 503, "error",
		                 "the database cannot be written; retry later");
		return;
	}
	switch (m->u.http.kind) {
	case FB_HTTP_FEEDBACK:
		rc = fb_dispatch_api_feedback(&e->disp, m->u.http.arg, m->u.http.body,
		                              m->u.http.len);
		if (!rc)
			fb_http_complete(e->http, m->u.http.id, 201, "status", "recorded");
		break;
	case FB_HTTP_LIFECYCLE: rc = http_life(e, m); break;
	case FB_HTTP_LIST: rc = http_list(e, m); break;
	case FB_HTTP_SHOW: rc = http_show(e, m); break;
	default: rc = http_signal(e, m); break; /* a trigger or Alertmanager */
	}
	if (rc == FB_EDB && fb_store_fault_of(e->store) != FB_STORE_OK &&
	    m->u.http.kind != FB_HTTP_LIST && m->u.http.kind != FB_HTTP_SHOW)
		fb_store_guard_failed(&e->guard, e->store, fb_mono_ms());
	status = rc == FB_EDB && e->guard.failing ? 503 : http_status(rc);
	if (rc && db_locked(rc)) {
		fb_http_complete(e->http, m->u.http.id, 503, "error",
		                 "the database is locked by another process; retry in a few "
		                 "seconds");
		fb_log(FB_LOG_WARN, "http.db_locked", "kind=%d error=\"%s\"", (int)m->u.http.kind,
		       fb_error_last());
	} else if (rc) {
		fb_http_complete(e->http, m->u.http.id, status, "error",
		                 *fb_error_last() ? fb_error_last() : "the request failed");
		fb_log(FB_LOG_WARN, "http.refused", "kind=%d error=\"%s\"", (int)m->u.http.kind,
		       fb_error_last());
	}
	fb_engine_flush_outbox(e);
}

static void handle_batch(fb_engine *e, em *m)
{
	fb_source_batch *b = m->u.batch;
	fb_ingest_result res;
	if (fb_ingest_commit(&e->env, b, NULL, &res) != FB_OK)
		fb_log(FB_LOG_ERROR, "source.store_failed",
		       "error=\"%s\" note=\"the lines are read again after a restart\"",
		       fb_error_last());
	else if (res.created)
		fb_log(FB_LOG_INFO, "source.signals", "source=%s cursor=%s incidents=%ld",
		       b->source, b->cursor_name, res.created);
}

static void handle_status(fb_engine *e, em *m)
{
	fb_metrics_source(e->metrics, m->u.status.up, m->u.status.why);
	fb_log(m->u.status.up ? FB_LOG_INFO : FB_LOG_WARN, "source.status", "up=%d why=\"%s\"",
	       m->u.status.up, m->u.status.why);
}

static void handle_step(fb_engine *e, em *m)
{
	fb_engine_step_done(e, m->u.task);
	m->u.task = NULL; /* freed there */
}

static void handle_fatal(fb_engine *e, em *m)
{
	fb_log(FB_LOG_ERROR, "slack.fatal", "reason=\"%s\"", m->u.why);
	fprintf(stderr, "firebreak: %s\n", m->u.why);
	e->fatal = 1;
}

static void record_result(fb_engine *e, const fb_send_result *r)
{
	static const char *names[] = {"sent", "failed", "superseded", "retry"};
	fb_err rc;

	if (r->status == FB_SEND_RETRY) {
		rc = fb_store_outbox_attempt(e->store, r->id, r->error);
	} else {
		rc = fb_store_outbox_done(e->store, r->id, names[r->status], r->error);
		if (!rc && r->status == FB_SENT && !strcmp(r->method, "card") &&
		    (!strcmp(r->called, "chat.postMessage") || r->adopted) && r->ts[0])
			rc = strncmp(r->incident_id, "storm-", 6) /* a storm card: stormcard.h */
			         ? fb_store_card_set(e->store, r->incident_id, r->channel, r->ts)
			         : fb_stormcard_sent(e->store, r->incident_id, r->ts);
	}
	if (rc)
		fb_log(FB_LOG_ERROR, "outbox.update_failed", "id=%lld error=\"%s\"",
		       (long long)r->id, fb_error_last());
	static const fb_metric by_status[] = {FB_M_SLACK_SENT, FB_M_SLACK_FAILED,
	                                      FB_M_SLACK_SUPERSEDED, FB_M_SLACK_RETRIED};
	fb_metrics_add(e->metrics, by_status[r->status], 1);
	if (r->status == FB_SEND_RETRY && !strcmp(r->error, "ratelimited"))
		fb_metrics_add(e->metrics, FB_M_SLACK_RATE_LIMITED, 1);
	if (r->status != FB_SEND_RETRY)
		fb_log(FB_LOG_INFO, "slack.sent",
		       "outbox=%lld method=%s called=%s status=%s%s%s ms=%lld", (long long)r->id,
		       r->method, r->called, names[r->status], r->error[0] ? " error=" : "",
		       r->error, (long long)r->latency_ms);
}

/* Inside the round's one transaction for every result (one fsync). */
static void handle_result(fb_engine *e, em *m)
{
	const fb_send_result *r = m->u.res;
	record_result(e, r);
	if (r->status == FB_SEND_FAILED && !strcmp(r->method, "views.open") && r->notify_user[0])
		fb_dispatch_notify(&e->disp, r->channel, r->notify_user, "modal_failed");
}

static void free_em(em *m)
{
	if (!m)
		return;
	switch (m->kind) {
	case EM_ENVELOPE: free(m->u.env.json); break;
	case EM_HTTP: free(m->u.http.body); break;
	case EM_BATCH: fb_source_batch_free(m->u.batch); break;
	case EM_STEP: fb_graph_task_free(m->u.task); break;
	case EM_RESULT: free(m->u.res); break;
	default: break;
	}
	free(m);
}

static void free_em_void(void *p)
{
	free_em(p);
}

/*
 * The message table: a new kind is one row.  Lower passes run first in a
 * round; pass 2 runs inside one transaction for the whole round.
 */
static const struct {
	int pass;
	void (*handle)(fb_engine *e, em *m);
} kinds[EM_KINDS] = {
    [EM_ENVELOPE] = {0, NULL}, /* e->urgent: fb_engine_urgent */
    [EM_FATAL] = {0, NULL},         [EM_HTTP] = {1, handle_http},
    [EM_BATCH] = {1, handle_batch}, [EM_SOURCE_STATUS] = {1, handle_status},
    [EM_STEP] = {1, handle_step},   [EM_RESULT] = {2, handle_result},
};

/* ---- producers (any thread) ---- */

static em *em_new(em_kind kind)
{
	em *m = calloc(1, sizeof(*m));
	if (m) {
		m->kind = kind;
		m->received = mono_us();
	}
	return m;
}

static int post(fb_engine *e, em *m, const char *what)
{
	if (fb_queue_push(e->q, m) == FB_OK)
		return 1;
	fb_log(FB_LOG_WARN, "engine.queue_full", "dropped=%s", what);
	free_em(m);
	return 0;
}

/* The urgent inbox, and a poke so that the loop wakes to serve it. */
static void post_urgent(fb_engine *e, em *m, const char *what)
{
	if (fb_queue_push(e->urgent, m) != FB_OK) {
		fb_log(FB_LOG_WARN, "engine.queue_full", "dropped=%s", what);
		free_em(m);
		return;
	}
	fb_queue_poke(e->q);
}

void fb_engine_on_envelope(void *ctx, const char *json, size_t len, int conn)
{
	em *m = em_new(EM_ENVELOPE);
	if (!m || !(m->u.env.json = malloc(len + 1))) {
		free(m);
		return;
	}
	memcpy(m->u.env.json, json, len);
	m->u.env.json[len] = '\0';
	m->u.env.len = len;
	m->u.env.conn = conn;
	post_urgent(ctx, m, "envelope");
}

void fb_engine_on_fatal(void *ctx, const char *why)
{
	em *m = em_new(EM_FATAL);
	if (!m)
		return;
	snprintf(m->u.why, sizeof(m->u.why), "%s", why);
	post_urgent(ctx, m, "fatal");
}

void fb_engine_on_result(void *ctx, fb_send_result *res)
{
	em *m = em_new(EM_RESULT);
	if (!m) {
		free(res);
		return;
	}
	m->u.res = res;
	post(ctx, m, "result");
}

int fb_engine_on_http(void *ctx, long id, fb_http_kind kind, const char *arg, char *body,
                      size_t len)
{
	em *m = em_new(EM_HTTP);
	if (!m) {
		free(body);
		return 0;
	}
	m->u.http.id = id;
	m->u.http.kind = kind;
	snprintf(m->u.http.arg, sizeof(m->u.http.arg), "%s", arg ? arg : "");
	m->u.http.body = body;
	m->u.http.len = len;
	return post(ctx, m, "http");
}

void fb_engine_on_batch(void *ctx, fb_source_batch *b)
{
	em *m = em_new(EM_BATCH);
	if (!m) {
		fb_source_batch_free(b);
		return;
	}
	m->u.batch = b;
	post(ctx, m, "batch");
}

void fb_engine_on_status(void *ctx, int up, const char *why)
{
	em *m = em_new(EM_SOURCE_STATUS);
	if (!m)
		return;
	m->u.status.up = up;
	snprintf(m->u.status.why, sizeof(m->u.status.why), "%s", why);
	post(ctx, m, "status");
}

/* A worker's finished task must reach the engine, or its incident would
 * stay in flight: a full inbox is waited out, not dropped. */
void fb_engine_on_step(void *ctx, fb_graph_task *task)
{
	fb_engine *e = ctx;
	em *m;
	while (!(m = em_new(EM_STEP))) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	m->u.task = task;
	while (fb_queue_push(e->q, m) != FB_OK) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* ---- the loop ---- */

/* Hands every outbox row committed since the last call to the sender. */
void fb_engine_flush_outbox(fb_engine *e)
{
	fb_outbox_row *rows = NULL;
	size_t n = 0;
	if (!e->sender) /* shutting down: the rows stay pending for the next start */
		return;
	if (fb_store_outbox_pending(e->store, e->outbox_seen, &rows, &n) != FB_OK) {
		fb_log(FB_LOG_ERROR, "outbox.read_failed", "error=\"%s\"", fb_error_last());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		fb_outbox_row *one = malloc(sizeof(*one));
		if (!one) {
			free(rows[i].body);
			continue;
		}
		*one = rows[i];
		e->outbox_seen = one->id;
		fb_sender_submit(e->sender, one);
	}
	free(rows); /* the bodies went with the rows */
}

static void round_pass(fb_engine *e, em **batch, size_t n, int pass)
{
	for (size_t i = 0; i < n; i++) {
		if (kinds[batch[i]->kind].pass != pass || !kinds[batch[i]->kind].handle)
			continue;
		if (pass < 2)
			fb_engine_urgent(e); /* not inside the results' transaction */
		kinds[batch[i]->kind].handle(e, batch[i]);
	}
}

/* One round: everything queued, by pass; the results in one transaction. */
static void engine_round(fb_engine *e, em *first)
{
	em *batch[BATCH_MAX];
	size_t n = 0;

	for (em *m = first; m && n < BATCH_MAX; m = n < BATCH_MAX ? fb_queue_pop(e->q, 0) : NULL)
		batch[n++] = m;
	round_pass(e, batch, n, 1);
	int outer = fb_store_begin(e->store) == FB_OK;
	round_pass(e, batch, n, 2);
	if (outer && fb_store_commit(e->store) != FB_OK) {
		fb_store_rollback(e->store);
		if (!e->guard.failing)
			fb_log(FB_LOG_ERROR, "outbox.update_failed", "error=\"%s\"",
			       fb_error_last());
		fb_store_guard_failed(&e->guard, e->store, fb_mono_ms());
	}
	fb_engine_flush_outbox(e);
	for (size_t i = 0; i < n; i++)
		free_em(batch[i]);
}

/* SIGHUP: a new generation, handed over by pointer; the old one is
 * retired until the tasks that hold it come back. */
static void reload(fb_engine *e)
{
	cfg_gen *next = calloc(1, sizeof(*next)), *old = e->cfg;
	char *errors = NULL;
	fb_tmpl *t = NULL;

	if (!next || fb_config_load(e->config_path, &next->cfg, &errors) != FB_OK) {
		fb_log(FB_LOG_ERROR, "config.reload_refused", "problems=\"%s\"",
		       errors ? errors : fb_error_last());
		free(errors);
		free(next);
		return;
	}
	const fb_config *a = &old->cfg, *b = &next->cfg;
	if (strcmp(a->store.path, b->store.path) || strcmp(a->slack.api_url, b->slack.api_url) ||
	    strcmp(a->slack.app_token, b->slack.app_token) ||
	    strcmp(a->slack.bot_token, b->slack.bot_token) ||
	    strcmp(a->gitops.repo, b->gitops.repo) || strcmp(a->api.key, b->api.key) ||
	    a->engine.workers != b->engine.workers)
		fb_log(FB_LOG_WARN, "config.reload_partial",
		       "reason=\"store, repository, API URL, tokens, api.key and engine.workers "
		       "change only on restart\"");
	if (fb_tmpl_load(b->slack.locale, &t) != FB_OK) {
		fb_log(FB_LOG_ERROR, "config.reload_refused", "reason=\"%s\"", fb_error_last());
		free(next);
		return;
	}
	/* keep what cannot change under a running daemon */
	snprintf(next->cfg.store.path, sizeof(next->cfg.store.path), "%s", a->store.path);
	snprintf(next->cfg.gitops.repo, sizeof(next->cfg.gitops.repo), "%s", a->gitops.repo);
	next->gen = ++e->next_gen;
	next->refs = 0;
	e->cfg = next;
	e->env.cfg = &next->cfg;
	old->next = e->retired;
	e->retired = old;
	old->refs++; /* released just below: freed now unless a task holds it */
	fb_engine_cfg_release(e, old);
	fb_tmpl_free(e->tmpl);
	e->tmpl = t;
	e->disp.tmpl = t;
	fb_log(FB_LOG_INFO, "config.reloaded", "path=%s approvers=%zu generation=%lu",
	       e->config_path ? e->config_path : "-", next->cfg.slack.n_approvers, next->gen);
}

/* Once a second: the gauges, the dispatcher's counters, the link. */
static void refresh_metrics(fb_engine *e)
{
	char status[12][16];
	long counts[12], depth = 0;
	size_t n = 0;
	fb_socket_stats ss;
	int64_t now = fb_now_ms();
	int ok;

	{ /* the store's health, from its guard, at once: one place decides it */
		char why[300] = "";
		int wok = fb_store_guard_health(&e->guard, fb_mono_ms(), why, sizeof(why));
		fb_metrics_store_health(e->metrics, wok, why);
	}
	if (now - e->last_refresh < 1000) /* the queries scan tables: once a second */
		return;
	e->last_refresh = now;
	ok = fb_store_incident_counts(e->store, status, counts, 12, &n) == FB_OK &&
	     fb_store_outbox_depth(e->store, &depth) == FB_OK;
	if (ok) {
		fb_metrics_set_incidents(e->metrics, (const char(*)[16])status, counts, n);
		fb_metrics_set_outbox(e->metrics, depth);
	}
	for (int k = 0; ok && k < FB_STAT_KINDS; k++) {
		fb_stat_row rows[16];
		size_t nr = 0;
		if (fb_store_stats(e->store, (fb_store_stat)k, rows, 16, &nr) == FB_OK)
			fb_metrics_set_stats(e->metrics, k, rows, nr);
	}
	fb_metrics_engine_beat(e->metrics, ok);
	fb_metrics_add(e->metrics, FB_M_DUPLICATES, e->disp.duplicates - e->seen_dup);
	fb_metrics_add(e->metrics, FB_M_DECISIONS, e->disp.decisions - e->seen_dec);
	fb_metrics_add(e->metrics, FB_M_REFUSALS, e->disp.refusals - e->seen_ref);
	e->seen_dup = e->disp.duplicates;
	e->seen_dec = e->disp.decisions;
	e->seen_ref = e->disp.refusals;
	if (e->sock) {
		fb_socket_stats_get(e->sock, &ss);
		fb_metrics_slack_link(e->metrics, ss.open, ss.connects);
	}
}

void fb_engine_run(fb_engine *e, volatile sig_atomic_t *term, volatile sig_atomic_t *hup)
{
	e->more_due = 1;
	while (!*term && !e->fatal) {
		em *m = fb_queue_pop(e->q, e->more_due ? 0 : IDLE_WAIT_MS);
		fb_engine_urgent(e);
		if (*hup) {
			*hup = 0;
			reload(e);
		}
		if (m)
			engine_round(e, m);
		if (!e->fatal)
			fb_engine_dispatch_due(e);
		refresh_metrics(e);
	}
	/* drain: envelopes already read are answered, the steps in flight
	 * commit; one that does not come back in time stays due */
	int64_t deadline = mono_us() + DRAIN_US;
	for (;;) {
		int busy = fb_engine_in_flight(e) > 0;
		em *m = fb_queue_pop(e->q, busy ? IDLE_WAIT_MS : 0);
		fb_engine_urgent(e);
		if (m)
			engine_round(e, m);
		else if (!busy || mono_us() > deadline)
			break;
	}
}

void fb_engine_drain_results(fb_engine *e)
{
	for (em *m; e->q && e->store && (m = fb_queue_pop(e->q, 0)); free_em(m))
		if (m->kind == EM_RESULT)
			record_result(e, m->u.res);
}

void fb_engine_queue_free(fb_engine *e)
{
	fb_queue_free(e->q, free_em_void);
	fb_queue_free(e->urgent, free_em_void);
	e->q = NULL;
	e->urgent = NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Logged at shutdown: what the benchmark reads for firebreak's own share. */
void fb_engine_log_latency(fb_engine *e)
{
	size_t n = e->n_lat;
	if (!n)
		return;
	qsort(e->lat_us, n, sizeof(int64_t), cmp_i64);
	fb_log(FB_LOG_WARN, "serve.ack_latency", "n=%zu p50_us=%lld p99_us=%lld max_us=%lld", n,
	       (long long)e->lat_us[n / 2], (long long)e->lat_us[(n * 99) / 100],
	       (long long)e->lat_us[n - 1]);
}
