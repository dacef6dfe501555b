/*
 * serve.c - owns `firebreak serve`: start-up checks (tokens, auth.test,
 * the store), the engine loop on the main thread, signals, and an orderly
 * shutdown.  The engine thread is the only writer: it handles envelopes
 * from the io thread, results from the sender, and due graph jobs, and
 * after every commit hands new outbox rows to the sender.
 *
 *   io thread --envelope--> engine --ack--> io thread
 *                             |  \--outbox rows--> sender --results--> engine
 *                             \-- graph steps (nodes run here; see the README's gaps)
 *
 * SIGTERM and SIGINT drain: the loop stops taking work, acks already
 * committed are flushed, the threads are joined.  SIGHUP reloads the
 * configuration if the new file is valid; settings that need a restart
 * (tokens, the API URL, the store) are reported and kept.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/dispatch.h"
#include "firebreak/ingest.h"
#include "firebreak/http.h"
#include "firebreak/json.h"
#include "firebreak/metrics.h"
#include "firebreak/log.h"
#include "firebreak/queue.h"
#include "firebreak/sender.h"
#include "firebreak/verify.h"
#include "firebreak/serve.h"
#include "firebreak/slackapi.h"
#include "firebreak/socket.h"

#define IDLE_WAIT_MS 200 /* signals are noticed within this */

enum { M_ENVELOPE, M_RESULT, M_FATAL, M_TASK, M_HOOK, M_BATCH, M_SOURCE_STATUS };

typedef struct {
	int kind;
	int conn;
	long hook_id; /* M_HOOK: the HTTP request waiting for the answer */
	fb_http_kind hook_kind;
	char *json;
	size_t len;
	fb_send_result *res;
	fb_graph_task *task;
	fb_source_batch *batch;
	int up;
	char why[300];
	int64_t received; /* monotonic us, for the ack latency */
} emsg;

typedef struct {
	fb_config cfg;
	const char *config_path;
	fb_rules *rules;
	fb_store *store;
	fb_gitops *gitops;
	fb_tmpl *tmpl;
	fb_graph_env env;
	fb_dispatch disp;
	fb_queue *q;
	fb_socket *sock;
	fb_sender *sender;
	fb_ingest *ingest;     /* Loki and log files */
	fb_verifier *verifier; /* the worker's */
	int64_t outbox_seen;   /* highest outbox id handed to the sender */

	/* the worker: runs node functions with its own repository handle */
	fb_graph_env wenv;
	fb_queue *wq;
	pthread_t worker;
	int worker_started;
	int busy;         /* a task is on the worker */
	char next_id[64]; /* the incident whose next step is due at once */

	/* /health, /metrics, /api/v1 (served by the io thread) */
	fb_metrics *metrics;
	fb_http_opts http;
	struct lws_protocols http_proto;
	char http_iface[64];
	int http_port;
	int64_t last_refresh;
	long seen_dup, seen_dec, seen_ref;

	/* ack latency inside the daemon: envelope read -> ack handed back */
	int64_t *lat_us;
	size_t n_lat;
	int fatal;
	char bot_user[64];
} server;

static void handle_hook(server *s, emsg *m);
static void handle_batch(server *s, fb_source_batch *b);

static volatile sig_atomic_t got_term, got_hup;

#define LAT_MAX 200000

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Logged at shutdown: what the benchmark reads for firebreak's own share. */
static void log_latency(server *s)
{
	size_t n = s->n_lat;
	if (!n)
		return;
	qsort(s->lat_us, n, sizeof(int64_t), cmp_i64);
	fb_log(FB_LOG_WARN, "serve.ack_latency", "n=%zu p50_us=%lld p99_us=%lld max_us=%lld", n,
	       (long long)s->lat_us[n / 2], (long long)s->lat_us[(n * 99) / 100],
	       (long long)s->lat_us[n - 1]);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void emsg_free(void *p)
{
	emsg *m = p;
	if (!m)
		return;
	free(m->json);
	free(m->res);
	fb_graph_task_free(m->task);
	fb_source_batch_free(m->batch);
	free(m);
}

/* io thread */
static void on_envelope(void *ctx, const char *json, size_t len, int conn)
{
	server *s = ctx;
	emsg *m = calloc(1, sizeof(*m));
	if (!m || !(m->json = malloc(len + 1))) {
		free(m);
		return;
	}
	memcpy(m->json, json, len);
	m->json[len] = '\0';
	m->len = len;
	m->conn = conn;
	m->kind = M_ENVELOPE;
	m->received = mono_us();
	if (fb_queue_push(s->q, m) != FB_OK) {
		fb_log(FB_LOG_WARN, "engine.queue_full", "dropped=envelope");
		emsg_free(m);
	}
}

/* any thread */
static void on_fatal(void *ctx, const char *why)
{
	server *s = ctx;
	emsg *m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->kind = M_FATAL;
	snprintf(m->why, sizeof(m->why), "%s", why);
	if (fb_queue_push(s->q, m) != FB_OK)
		emsg_free(m);
}

/* sender thread */
static void on_result(void *ctx, fb_send_result *res)
{
	server *s = ctx;
	emsg *m = calloc(1, sizeof(*m));
	if (!m) {
		free(res);
		return;
	}
	m->kind = M_RESULT;
	m->res = res;
	if (fb_queue_push(s->q, m) != FB_OK)
		emsg_free(m);
}

/* ---- engine ---- */

/* Hands every outbox row committed since the last call to the sender. */
static void flush_outbox(server *s)
{
	fb_outbox_row *rows = NULL;
	size_t n = 0;
	if (!s->sender) /* shutting down: the rows stay pending for the next start */
		return;
	if (fb_store_outbox_pending(s->store, s->outbox_seen, &rows, &n) != FB_OK) {
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
		s->outbox_seen = one->id;
		fb_sender_submit(s->sender, one);
	}
	free(rows); /* the bodies went with the rows */
}

static void handle_result(server *s, fb_send_result *r)
{
	static const char *names[] = {"sent", "failed", "superseded", "retry"};
	fb_err rc;

	if (r->status == FB_SEND_RETRY) {
		rc = fb_store_outbox_attempt(s->store, r->id, r->error);
	} else {
		rc = fb_store_begin(s->store);
		if (!rc)
			rc = fb_store_outbox_done(s->store, r->id, names[r->status], r->error);
		if (!rc && r->status == FB_SENT && !strcmp(r->method, "card") &&
		    !strcmp(r->called, "chat.postMessage") && r->ts[0])
			rc = fb_store_card_set(s->store, r->incident_id, r->channel, r->ts);
		if (!rc)
			rc = fb_store_commit(s->store);
		if (rc)
			fb_store_rollback(s->store);
	}
	if (rc)
		fb_log(FB_LOG_ERROR, "outbox.update_failed", "id=%lld error=\"%s\"",
		       (long long)r->id, fb_error_last());
	static const fb_metric by_status[] = {FB_M_SLACK_SENT, FB_M_SLACK_FAILED,
	                                      FB_M_SLACK_SUPERSEDED, FB_M_SLACK_RETRIED};
	fb_metrics_add(s->metrics, by_status[r->status], 1);
	if (r->status == FB_SEND_RETRY && !strcmp(r->error, "ratelimited"))
		fb_metrics_add(s->metrics, FB_M_SLACK_RATE_LIMITED, 1);
	if (r->status == FB_SEND_FAILED && !strcmp(r->method, "views.open") && r->notify_user[0]) {
		fb_dispatch_notify(&s->disp, r->channel, r->notify_user, "modal_failed");
	}
	if (r->status != FB_SEND_RETRY)
		fb_log(FB_LOG_INFO, "slack.sent",
		       "outbox=%lld method=%s called=%s status=%s%s%s ms=%lld", (long long)r->id,
		       r->method, r->called, names[r->status], r->error[0] ? " error=" : "",
		       r->error, (long long)r->latency_ms);
}

static void handle_envelope(server *s, emsg *m)
{
	char *ack = NULL;
	if (fb_dispatch_envelope(&s->disp, m->json, m->len, &ack) != FB_OK) {
		/* nothing committed: not acked, so Slack may send it again */
		fb_log(FB_LOG_WARN, "slack.envelope_refused", "bytes=%zu error=\"%s\"", m->len,
		       fb_error_last());
		fb_metrics_add(s->metrics, FB_M_ENVELOPES_REFUSED, 1);
		return;
	}
	fb_metrics_add(s->metrics, FB_M_ENVELOPES, 1);
	fb_metrics_ack_latency(s->metrics, mono_us() - m->received);
	fb_socket_send(s->sock, m->conn, ack);
	if (s->lat_us && s->n_lat < LAT_MAX)
		s->lat_us[s->n_lat++] = mono_us() - m->received;
	flush_outbox(s); /* a views.open must leave at once */
}

/* ---- the worker ---- */

static void task_free(void *p)
{
	fb_graph_task_free(p);
}

static void *worker_main(void *arg)
{
	server *s = arg;
	fb_graph_task *t;

	while ((t = fb_queue_pop(s->wq, -1))) {
		emsg *m = calloc(1, sizeof(*m));
		fb_graph_task_run(&s->wenv, t);
		if (!m) { /* cannot report back: the job stays due and runs again */
			fb_graph_task_free(t);
			continue;
		}
		m->kind = M_TASK;
		m->task = t;
		if (fb_queue_push(s->q, m) != FB_OK)
			emsg_free(m);
	}
	return NULL; /* a poke without a task: stop */
}

/* Hands the next due step to the worker, if it is free. */
static void dispatch_due(server *s)
{
	char ids[1][64];
	size_t n = 0;
	fb_graph_task *t = NULL;
	const char *id = s->next_id;

	if (s->busy)
		return;
	if (!*id) {
		if (fb_store_jobs_due(s->store, fb_now_ms(), ids, 1, &n) != FB_OK || n == 0)
			return;
		id = ids[0];
	}
	if (fb_graph_task_take(&s->env, id, &t) != FB_OK)
		fb_log(FB_LOG_ERROR, "engine.take_failed", "id=%s error=\"%s\"", id,
		       fb_error_last());
	s->next_id[0] = '\0';
	if (!t)
		return;
	if (fb_queue_push(s->wq, t) != FB_OK) {
		fb_graph_task_free(t);
		return;
	}
	s->busy = 1;
}

static void task_done(server *s, fb_graph_task *t)
{
	int more = 0;
	s->busy = 0;
	fb_metrics_add(s->metrics, FB_M_STEPS, 1);
	if (fb_graph_task_finish(&s->env, t, &more) != FB_OK)
		fb_metrics_add(s->metrics, FB_M_STEP_FAILURES, 1),
		    fb_log(FB_LOG_ERROR, "engine.step_failed", "id=%s error=\"%s\"",
		           fb_graph_task_incident(t), fb_error_last());
	if (more) /* keep walking this incident before starting another */
		snprintf(s->next_id, sizeof(s->next_id), "%s", fb_graph_task_incident(t));
	flush_outbox(s);
}

static void reload(server *s)
{
	fb_config next;
	char *errors = NULL;
	fb_tmpl *t = NULL;

	if (fb_config_load(s->config_path, &next, &errors) != FB_OK) {
		fb_log(FB_LOG_ERROR, "config.reload_refused", "problems=\"%s\"",
		       errors ? errors : fb_error_last());
		free(errors);
		return;
	}
	if (strcmp(next.store.path, s->cfg.store.path) ||
	    strcmp(next.slack.api_url, s->cfg.slack.api_url) ||
	    strcmp(next.slack.app_token, s->cfg.slack.app_token) ||
	    strcmp(next.slack.bot_token, s->cfg.slack.bot_token) ||
	    strcmp(next.gitops.repo, s->cfg.gitops.repo))
		fb_log(FB_LOG_WARN, "config.reload_partial",
		       "reason=\"store, repository, API URL and tokens change only on restart\"");
	if (fb_tmpl_load(next.slack.locale, &t) != FB_OK) {
		fb_log(FB_LOG_ERROR, "config.reload_refused", "reason=\"%s\"", fb_error_last());
		return;
	}
	/* keep what cannot change under a running daemon */
	snprintf(next.store.path, sizeof(next.store.path), "%s", s->cfg.store.path);
	snprintf(next.gitops.repo, sizeof(next.gitops.repo), "%s", s->cfg.gitops.repo);
	s->cfg = next;
	fb_tmpl_free(s->tmpl);
	s->tmpl = t;
	s->disp.tmpl = t;
	fb_log(FB_LOG_INFO, "config.reloaded", "path=%s approvers=%zu",
	       s->config_path ? s->config_path : "-", s->cfg.slack.n_approvers);
}

#define BATCH_MAX 256

/*
 * One round: everything queued, envelopes first (a person is waiting for
 * the ack; each is its own transaction), then the worker's step, then the
 * sender's results together in one transaction (one fsync for many).
 */
static void engine_round(server *s, emsg *first)
{
	emsg *batch[BATCH_MAX];
	size_t n = 0;

	for (emsg *m = first; m && n < BATCH_MAX; m = n < BATCH_MAX ? fb_queue_pop(s->q, 0) : NULL)
		batch[n++] = m;
	for (size_t i = 0; i < n; i++) {
		if (batch[i]->kind == M_ENVELOPE)
			handle_envelope(s, batch[i]);
		else if (batch[i]->kind == M_HOOK)
			handle_hook(s, batch[i]);
		else if (batch[i]->kind == M_BATCH)
			handle_batch(s, batch[i]->batch);
		else if (batch[i]->kind == M_SOURCE_STATUS) {
			fb_metrics_source(s->metrics, batch[i]->up, batch[i]->why);
			fb_log(batch[i]->up ? FB_LOG_INFO : FB_LOG_WARN, "loki.status",
			       "up=%d why=\"%s\"", batch[i]->up, batch[i]->why);
		} else if (batch[i]->kind == M_FATAL) {
			fb_log(FB_LOG_ERROR, "slack.fatal", "reason=\"%s\"", batch[i]->why);
			fprintf(stderr, "firebreak: %s\n", batch[i]->why);
			s->fatal = 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (batch[i]->kind == M_TASK)
			task_done(s, batch[i]->task);
	int outer = fb_store_begin(s->store) == FB_OK;
	for (size_t i = 0; i < n; i++)
		if (batch[i]->kind == M_RESULT)
			handle_result(s, batch[i]->res);
	if (outer && fb_store_commit(s->store) != FB_OK) {
		fb_store_rollback(s->store);
		fb_log(FB_LOG_ERROR, "outbox.update_failed", "error=\"%s\"", fb_error_last());
	}
	flush_outbox(s);
	for (size_t i = 0; i < n; i++)
		emsg_free(batch[i]);
}

/* Once a second: the gauges, the dispatcher's counters, the link. */
static void refresh_metrics(server *s)
{
	char status[12][16];
	long counts[12], depth = 0;
	size_t n = 0;
	fb_socket_stats ss;
	int64_t now = fb_now_ms();
	int ok;

	if (now - s->last_refresh < 1000) /* the queries scan tables: once a second */
		return;
	s->last_refresh = now;
	ok = fb_store_incident_counts(s->store, status, counts, 12, &n) == FB_OK &&
	     fb_store_outbox_depth(s->store, &depth) == FB_OK;
	if (ok) {
		fb_metrics_set_incidents(s->metrics, (const char(*)[16])status, counts, n);
		fb_metrics_set_outbox(s->metrics, depth);
	}
	for (int k = 0; ok && k < FB_STAT_KINDS; k++) {
		fb_stat_row rows[16];
		size_t nr = 0;
		if (fb_store_stats(s->store, (fb_store_stat)k, rows, 16, &nr) == FB_OK)
			fb_metrics_set_stats(s->metrics, k, rows, nr);
	}
	fb_metrics_engine_beat(s->metrics, ok);
	fb_metrics_add(s->metrics, FB_M_DUPLICATES, s->disp.duplicates - s->seen_dup);
	fb_metrics_add(s->metrics, FB_M_DECISIONS, s->disp.decisions - s->seen_dec);
	fb_metrics_add(s->metrics, FB_M_REFUSALS, s->disp.refusals - s->seen_ref);
	s->seen_dup = s->disp.duplicates;
	s->seen_dec = s->disp.decisions;
	s->seen_ref = s->disp.refusals;
	if (s->sock) {
		fb_socket_stats_get(s->sock, &ss);
		fb_metrics_slack_link(s->metrics, ss.open, ss.connects);
	}
}

static void engine_loop(server *s)
{
	while (!got_term && !s->fatal) {
		/* an idle worker and a due step: do not sleep */
		emsg *m = fb_queue_pop(s->q, !s->busy && s->next_id[0] ? 0 : IDLE_WAIT_MS);
		if (got_hup && !s->busy) { /* the worker reads the config: swap it while idle */
			got_hup = 0;
			reload(s);
		}
		if (m)
			engine_round(s, m);
		if (!s->fatal)
			dispatch_due(s);
		refresh_metrics(s);
	}
	/* drain: envelopes already read are answered, the step in flight commits */
	for (emsg *m; (m = fb_queue_pop(s->q, s->busy ? 1000 : 0)) || s->busy;)
		if (m)
			engine_round(s, m);
}

/* ---- start-up ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int check_tokens(const fb_config *cfg)
{
	if (strncmp(cfg->slack.app_token, "xapp-", 5)) {
		fprintf(stderr,
		        "firebreak: SLACK_APP_TOKEN %s (an app-level token, xapp-..., with "
		        "connections:write)\n",
		        cfg->slack.app_token[0] ? "is not an xapp- token" : "is not set");
		return 0;
	}
	if (strncmp(cfg->slack.bot_token, "xoxb-", 5)) {
		fprintf(stderr, "firebreak: SLACK_BOT_TOKEN %s (the bot token, xoxb-...)\n",
		        cfg->slack.bot_token[0] ? "is not an xoxb- token" : "is not set");
		return 0;
	}
	return 1;
}

/* auth.test: learns who the bot is and fails fast on a bad token. */
static int auth_test(server *s)
{
	fb_slackapi *api = NULL;
	fb_slack_result res;
	int ok = 0;

	if (fb_slackapi_new(s->cfg.slack.api_url, s->cfg.slack.bot_token, &api) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	for (int attempt = 1; attempt <= 5 && !got_term; attempt++) {
		fb_err rc = fb_slackapi_call(api, "auth.test", "{}", &res);
		if (!rc && res.ok) {
			const cJSON *u = cJSON_GetObjectItemCaseSensitive(res.body, "user_id");
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(res.body, "team");
			snprintf(s->bot_user, sizeof(s->bot_user), "%s",
			         cJSON_IsString(u) ? u->valuestring : "");
			fb_log(FB_LOG_INFO, "slack.auth_ok", "bot_user=%s team=%s", s->bot_user,
			       cJSON_IsString(t) ? t->valuestring : "-");
			ok = 1;
		} else if (!rc) {
			fprintf(stderr,
			        "firebreak: Slack refused SLACK_BOT_TOKEN (auth.test: %s)\n",
			        res.error);
			fb_slack_result_free(&res);
			break;
		} else {
			fb_log(FB_LOG_WARN, "slack.auth_retry", "attempt=%d error=\"%s\"", attempt,
			       res.error);
			if (attempt == 5)
				fprintf(stderr, "firebreak: cannot reach Slack at %s: %s\n",
				        s->cfg.slack.api_url, res.error);
			else
				sleep_ms(1000L * attempt);
		}
		fb_slack_result_free(&res);
		if (ok)
			break;
	}
	fb_slackapi_free(api);
	return ok;
}

static int open_all(server *s)
{
	char *errors = NULL;

	if (fb_rules_load(s->cfg.rules.path, &s->rules, &errors) != FB_OK) {
		fprintf(stderr, "%sfirebreak: cannot load the rules: %s\n", errors ? errors : "",
		        fb_error_last());
		free(errors);
		return 0;
	}
	if (fb_store_open(s->cfg.store.path, 0, &s->store) != FB_OK) {
		fprintf(stderr, "firebreak: cannot open the store: %s\n", fb_error_last());
		return 0;
	}
	if (fb_gitops_open(&s->cfg, &s->gitops) != FB_OK) {
		fb_log(FB_LOG_WARN, "gitops.unavailable", "repo=%s reason=\"%s\" fixes=manual",
		       s->cfg.gitops.repo, fb_error_last());
		fb_error_clear();
	}
	if (fb_tmpl_load(s->cfg.slack.locale, &s->tmpl) != FB_OK ||
	    fb_queue_new(65536, &s->q) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	/* the engine commits; the worker runs nodes with the repository */
	s->env = (fb_graph_env){&s->cfg,
	                        s->rules,
	                        s->store,
	                        NULL,
	                        s->cfg.crash_after[0] ? s->cfg.crash_after : NULL,
	                        fb_dispatch_on_step,
	                        &s->disp};
	if (fb_verifier_new(&s->cfg, &s->verifier) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	s->wenv = (fb_graph_env){&s->cfg, s->rules, NULL, s->gitops, NULL, NULL, NULL, s->verifier};
	if (fb_queue_new(4, &s->wq) != FB_OK)
		return 0;
	s->disp.env = &s->env;
	s->disp.tmpl = s->tmpl;
	return 1;
}

/* io thread: a webhook body, answered once the engine has committed it */
static int hook_cb(void *ctx, long id, fb_http_kind kind, const char *arg, char *body, size_t len)
{
	server *s = ctx;
	emsg *m = calloc(1, sizeof(*m));
	if (!m) {
		free(body);
		return 0;
	}
	m->kind = M_HOOK;
	m->json = body;
	m->len = len;
	m->hook_id = id;
	m->hook_kind = kind;
	snprintf(m->why, sizeof(m->why), "%s", arg);
	if (fb_queue_push(s->q, m) != FB_OK) {
		m->json = NULL; /* the caller still answers; the body is freed below */
		free(body);
		emsg_free(m);
		return 0;
	}
	return 1;
}

static unsigned int http_status(fb_err rc)
{
	/* 5xx only when a retry can help: Alertmanager drops a 4xx */
	return rc == FB_EINVAL ? 400 : rc == FB_ENOTFOUND ? 404 : 500;
}

/* A webhook body: the source of its kind parses it, the one commit stores
 * it; feedback is the dispatcher's. */
static void handle_hook(server *s, emsg *m)
{
	const fb_source_ops *src =
	    fb_source_find(m->hook_kind == FB_HTTP_TRIGGER ? "manual" : "alertmanager");
	fb_source_batch *b = NULL;
	fb_ingest_result res;
	char msg[256];
	fb_err rc;

	if (m->hook_kind == FB_HTTP_FEEDBACK) {
		if ((rc = fb_dispatch_api_feedback(&s->disp, m->why, m->json, m->len)) == FB_OK)
			fb_http_complete(m->hook_id, 201, "status", "recorded");
	} else if (!(rc = src->parse(&s->cfg, m->json, m->len, &b)) &&
	           !(rc = fb_ingest_commit(&s->env, b, NULL, &res))) {
		if (m->hook_kind == FB_HTTP_TRIGGER) {
			fb_http_complete(m->hook_id, 201, "id", res.first_id);
		} else {
			snprintf(msg, sizeof(msg), "stored; %ld new incident%s", res.created,
			         res.created == 1 ? "" : "s");
			fb_http_complete(m->hook_id, 200, "status", msg);
			fb_log(FB_LOG_INFO, "alertmanager.received",
			       "bytes=%zu new=%ld repeats=%ld resolved=%ld", m->len, res.created,
			       res.repeats, res.resolved);
		}
	}
	fb_source_batch_free(b);
	if (rc) {
		fb_http_complete(m->hook_id, http_status(rc), "error", fb_error_last());
		fb_log(FB_LOG_WARN, "http.refused", "kind=%d error=\"%s\"", (int)m->hook_kind,
		       fb_error_last());
	}
	flush_outbox(s);
}

/* a poller's thread */
static void on_source_batch(void *ctx, fb_source_batch *b)
{
	server *s = ctx;
	emsg *m = calloc(1, sizeof(*m));
	if (!m) {
		fb_source_batch_free(b);
		return;
	}
	m->kind = M_BATCH;
	m->batch = b;
	if (fb_queue_push(s->q, m) != FB_OK)
		emsg_free(m);
}

static void on_source_status(void *ctx, int up, const char *why)
{
	server *s = ctx;
	emsg *m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->kind = M_SOURCE_STATUS;
	m->up = up;
	snprintf(m->why, sizeof(m->why), "%s", why);
	if (fb_queue_push(s->q, m) != FB_OK)
		emsg_free(m);
}

static void handle_batch(server *s, fb_source_batch *b)
{
	fb_ingest_result res;
	if (fb_ingest_commit(&s->env, b, NULL, &res) != FB_OK)
		fb_log(FB_LOG_ERROR, "source.store_failed",
		       "error=\"%s\" note=\"the lines are read again after a restart\"",
		       fb_error_last());
	else if (res.created)
		fb_log(FB_LOG_INFO, "source.signals", "source=%s cursor=%s incidents=%ld",
		       b->source, b->cursor_name, res.created);
}

static int health_cb(void *ctx, char *why, size_t why_sz)
{
	server *s = ctx;
	return fb_metrics_health(s->metrics, why, why_sz);
}

static void metrics_cb(void *ctx, fb_buf *out)
{
	server *s = ctx;
	fb_metrics_render(s->metrics, out);
}

static int start_threads(server *s)
{
	fb_sender_opts so = {s->cfg.slack.api_url, s->cfg.slack.bot_token,
	                     s->cfg.slack.post_interval_ms, on_result, s};
	fb_socket_opts ko = {s->cfg.slack.api_url,
	                     s->cfg.slack.app_token,
	                     s->cfg.slack.ping_interval,
	                     s->cfg.slack.dead_after,
	                     on_envelope,
	                     on_fatal,
	                     s};

	if (s->cfg.http.listen[0]) {
		if (fb_http_parse_listen(s->cfg.http.listen, s->http_iface, sizeof(s->http_iface),
		                         &s->http_port) != FB_OK) {
			fprintf(stderr, "firebreak: %s\n", fb_error_last());
			return 0;
		}
		s->http =
		    (fb_http_opts){s->cfg.store.path,         s->cfg.api.key, health_cb, metrics_cb,
		                   s->cfg.alertmanager.token, hook_cb,        s};
		s->http_proto = fb_http_protocol(&s->http);
		ko.http = &s->http_proto;
		ko.http_iface = s->http_iface;
		ko.http_port = s->http_port;
	}
	fb_ingest_opts io = {on_source_batch, on_source_status, s};
	if (fb_ingest_start(&s->env, &io, &s->ingest) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	if (pthread_create(&s->worker, NULL, worker_main, s) == 0)
		s->worker_started = 1;
	if (!s->worker_started || fb_sender_start(&so, &s->sender) != FB_OK ||
	    fb_socket_start(&ko, &s->sock) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	return 1;
}

static void close_all(server *s)
{
	if (s->worker_started) {
		fb_queue_poke(s->wq);
		pthread_join(s->worker, NULL);
	}
	fb_queue_free(s->wq, task_free);
	fb_verifier_free(s->verifier);
	fb_ingest_stop(s->ingest);
	fb_socket_stop(s->sock); /* flushes committed acks first */
	fb_sender_stop(s->sender);
	s->sender = NULL;
	/* what the sender finished must be recorded, or a posted card would
	 * be posted again after the restart */
	for (emsg *m; s->q && s->store && (m = fb_queue_pop(s->q, 0)); emsg_free(m))
		if (m->kind == M_RESULT)
			handle_result(s, m->res);
	fb_queue_free(s->q, emsg_free);
	fb_tmpl_free(s->tmpl);
	fb_gitops_free(s->gitops);
	fb_store_free(s->store);
	fb_rules_free(s->rules);
	explicit_bzero(s->cfg.slack.app_token, sizeof(s->cfg.slack.app_token));
	explicit_bzero(s->cfg.slack.bot_token, sizeof(s->cfg.slack.bot_token));
	explicit_bzero(s->cfg.gitops.token, sizeof(s->cfg.gitops.token));
	explicit_bzero(s->cfg.api.key, sizeof(s->cfg.api.key));
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int fb_serve_main(const char *config_path, int argc, char **argv)
{
	server *s = calloc(1, sizeof(*s));
	char *errors = NULL;
	int rc = 1;

	(void)argv;
	if (!s)
		return 1;
	if (argc > 0) {
		fprintf(stderr, "usage: firebreak [-c FILE] serve\n");
		free(s);
		return 2;
	}
	s->config_path = config_path;
	s->lat_us = malloc(LAT_MAX * sizeof(int64_t));
	s->metrics = fb_metrics_new();
	if (fb_config_load(config_path, &s->cfg, &errors) != FB_OK) {
		fprintf(stderr, "%sfirebreak: %s\n", errors ? errors : "", fb_error_last());
		free(errors);
		free(s);
		return 1;
	}
	int lvl = fb_log_level_parse(s->cfg.log_level);
	fb_log_set_level(lvl < 0 ? FB_LOG_INFO : (fb_log_level)lvl);
	install_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!check_tokens(&s->cfg) || !auth_test(s) || !open_all(s))
		goto out;
	if (s->cfg.slack.n_approvers == 0)
		fb_log(FB_LOG_WARN, "policy.open",
		       "reason=\"slack.approvers is empty: anyone in the channel may approve\"");
	if (!*s->cfg.slack.channel)
		fb_log(
		    FB_LOG_WARN, "slack.no_channel",
		    "reason=\"SLACK_CHANNEL is not set: cards go to the channel of the command\"");
	if (!start_threads(s))
		goto out;
	if (s->cfg.http.listen[0])
		fb_log(FB_LOG_INFO, "http.listening", "addr=%s api=%s", s->cfg.http.listen,
		       s->cfg.api.key[0] ? "on" : "off");
	fb_log(FB_LOG_INFO, "serve.started", "store=%s repo=%s channel=%s", s->cfg.store.path,
	       s->gitops ? s->cfg.gitops.repo : "-",
	       *s->cfg.slack.channel ? s->cfg.slack.channel : "-");
	flush_outbox(s); /* rows a previous run committed but did not send */
	engine_loop(s);
	rc = s->fatal ? 1 : 0;
	log_latency(s);
	fb_log(FB_LOG_INFO, "serve.stopping",
	       "envelopes=%ld duplicates=%ld decisions=%ld refusals=%ld", s->disp.envelopes,
	       s->disp.duplicates, s->disp.decisions, s->disp.refusals);
out:
	close_all(s);
	curl_global_cleanup();
	free(s->lat_us);
	fb_metrics_free(s->metrics);
	free(s);
	return rc;
}
