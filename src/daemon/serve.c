/*
 * serve.c - owns `firebreak serve` as a composition root: start-up checks
 * (tokens, auth.test, the store), building the engine and wiring the
 * threads to it (Socket Mode and HTTP on the io thread, the sender, the
 * pollers, the worker pool), signals, and an orderly shutdown.  Runs on
 * the main thread, which then becomes the engine thread (engine.c).
 *
 * SIGTERM and SIGINT drain: the loop stops taking work, acks already
 * committed are flushed, the steps in flight commit, the threads are
 * joined.  SIGHUP reloads the configuration if the new file is valid
 * (engine.c); settings that need a restart are reported and kept.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"
#include "firebreak/gitops.h"
#include "firebreak/json.h"
#include "firebreak/log.h"
#include "firebreak/serve.h"
#include "firebreak/slackapi.h"
#include "firebreak/startup.h"

#define LAT_MAX 200000
#define STORE_MAINT_MS 500       /* WAL checkpoints, from their own thread */
#define STORE_LOCK_WAIT_MS 60000 /* another process's lock at start: wait this long */

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

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
static int auth_test(fb_engine *s)
{
	fb_slackapi *api = NULL;
	fb_slack_result res;
	int ok = 0;

	if (fb_slackapi_new(s->cfg->cfg.slack.api_url, s->cfg->cfg.slack.bot_token, &api) !=
	    FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	for (int attempt = 1; attempt <= 5 && !got_term; attempt++) {
		fb_err rc = fb_slackapi_call(api, "auth.test", "{}", &res);
		if (!rc && res.ok) {
			const cJSON *u = cJSON_GetObjectItemCaseSensitive(res.body, "user_id");
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(res.body, "team");
			const cJSON *url = cJSON_GetObjectItemCaseSensitive(res.body, "url");
			if (cJSON_IsString(url) && !strncmp(url->valuestring, "https://", 8))
				snprintf(s->slack_url, sizeof(s->slack_url), "%s",
				         url->valuestring);
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
				        s->cfg->cfg.slack.api_url, res.error);
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

static int open_all(fb_engine *s)
{
	const fb_config *cfg = &s->cfg->cfg;
	char *errors = NULL;

	if (fb_rules_load(cfg->rules.path, &s->rules, &errors) != FB_OK) {
		fprintf(stderr, "%sfirebreak: cannot load the rules: %s\n", errors ? errors : "",
		        fb_error_last());
		free(errors);
		return 0;
	}
	if (fb_store_open_patient(cfg->store.path, STORE_LOCK_WAIT_MS, &s->store) != FB_OK ||
	    fb_store_defer_maintenance(s->store) != FB_OK ||
	    fb_store_maint_start(cfg->store.path, STORE_MAINT_MS, &s->maint) != FB_OK) {
		fprintf(stderr, "firebreak: cannot open the store: %s\n", fb_error_last());
		return 0;
	}
	if (fb_tmpl_load(cfg->slack.locale, &s->tmpl) != FB_OK ||
	    fb_queue_new(65536, &s->q) != FB_OK || fb_queue_new(65536, &s->urgent) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	/* the engine commits and runs pure nodes; the pool runs the rest */
	s->env = (fb_graph_env){
	    .cfg = cfg,
	    .rules = s->rules,
	    .store = s->store,
	    .crash_after = cfg->crash_after[0] ? cfg->crash_after : NULL,
	    .on_step = fb_dispatch_on_step,
	    .hook_ctx = &s->disp,
	    .slack_url = s->slack_url,
	};
	s->disp.env = &s->env;
	s->disp.tmpl = s->tmpl;
	return 1;
}

static int health_cb(void *ctx, char *why, size_t why_sz)
{
	fb_engine *s = ctx;
	return fb_metrics_health(s->metrics, why, why_sz);
}

static void store_health_cb(void *ctx, int ok, const char *why)
{
	fb_metrics_store_health(ctx, ok, why);
}

static void metrics_cb(void *ctx, fb_buf *out)
{
	fb_engine *s = ctx;
	fb_metrics_render(s->metrics, out);
}

/* The HTTP server, served by the Socket Mode context (io thread). */
static int wire_http(fb_engine *s, fb_socket_opts *ko)
{
	const fb_config *cfg = &s->cfg->cfg;
	fb_http_opts ho = {
	    .api_key = cfg->api.key,
	    .health = health_cb,
	    .metrics = metrics_cb,
	    .hook_token = cfg->alertmanager.token,
	    .hook = fb_engine_on_http,
	    .ctx = s,
	};

	if (!cfg->http.listen[0])
		return 1;
	if (fb_http_parse_listen(cfg->http.listen, s->http_iface, sizeof(s->http_iface),
	                         &s->http_port) != FB_OK ||
	    fb_http_new(&ho, &s->http) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	s->http_proto = fb_http_protocol(s->http);
	ko->http = &s->http_proto;
	ko->http_iface = s->http_iface;
	ko->http_port = s->http_port;
	return 1;
}

static int start_threads(fb_engine *s)
{
	const fb_config *cfg = &s->cfg->cfg;
	fb_sender_opts so = {cfg->slack.api_url, cfg->slack.bot_token, cfg->slack.post_interval_ms,
	                     fb_engine_on_result, s};
	so.crash_after = cfg->crash_after[0] ? cfg->crash_after : NULL;
	fb_socket_opts ko = {
	    .api_url = cfg->slack.api_url,
	    .app_token = cfg->slack.app_token,
	    .ping_interval = cfg->slack.ping_interval,
	    .dead_after = cfg->slack.dead_after,
	    .on_envelope = fb_engine_on_envelope,
	    .on_fatal = fb_engine_on_fatal,
	    .ctx = s,
	};
	fb_pool_opts po = {
	    .workers = (size_t)cfg->engine.workers,
	    .rules = s->rules,
	    .done = fb_engine_on_step,
	    .ctx = s,
	};
	fb_ingest_opts io = {fb_engine_on_batch, fb_engine_on_status, s};

	if (!wire_http(s, &ko))
		return 0;
	if (fb_ingest_start(&s->env, &io, &s->ingest) != FB_OK ||
	    fb_pool_start(&po, &s->pool) != FB_OK || fb_sender_start(&so, &s->sender) != FB_OK ||
	    fb_socket_start(&ko, &s->sock) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	return 1;
}

static void close_all(fb_engine *s)
{
	fb_config *cfg = &s->cfg->cfg;

	fb_pool_stop(s->pool); /* running steps finish; their results stay queued */
	fb_ingest_stop(s->ingest);
	fb_socket_stop(s->sock); /* flushes committed acks first */
	fb_http_free(s->http);   /* the lws context that served it is gone */
	fb_sender_stop(s->sender);
	s->sender = NULL;
	/* what the sender finished must be recorded, or a posted card would
	 * be posted again after the restart */
	fb_engine_drain_results(s);
	fb_engine_queue_free(s);
	fb_tmpl_free(s->tmpl);
	fb_store_maint_stop(s->maint);
	fb_store_free(s->store);
	fb_rules_free(s->rules);
	explicit_bzero(cfg->slack.app_token, sizeof(cfg->slack.app_token));
	explicit_bzero(cfg->slack.bot_token, sizeof(cfg->slack.bot_token));
	explicit_bzero(cfg->gitops.token, sizeof(cfg->gitops.token));
	explicit_bzero(cfg->api.key, sizeof(cfg->api.key));
	for (cfg_gen *g = s->retired, *next; g; g = next) {
		next = g->next;
		explicit_bzero(&g->cfg, sizeof(g->cfg));
		free(g);
	}
	free(s->cfg);
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

static void announce(const fb_engine *s)
{
	const fb_config *cfg = &s->cfg->cfg;

	if (cfg->slack.n_approvers == 0)
		fb_log(FB_LOG_WARN, "policy.open",
		       "reason=\"slack.approvers is empty: anyone in the channel may approve\"");
	if (!*cfg->slack.channel)
		fb_log(
		    FB_LOG_WARN, "slack.no_channel",
		    "reason=\"SLACK_CHANNEL is not set: cards go to the channel of the command\"");
	if (cfg->http.listen[0])
		fb_log(FB_LOG_INFO, "http.listening", "addr=%s api=%s", cfg->http.listen,
		       cfg->api.key[0] ? "on" : "off");
	fb_log(FB_LOG_INFO, "serve.started", "store=%s repo=%s channel=%s workers=%ld",
	       cfg->store.path, cfg->gitops.repo, *cfg->slack.channel ? cfg->slack.channel : "-",
	       cfg->engine.workers);
}

/* The refusals before anything starts: a source whose incidents would
 * reach no one, missing tokens, another serve on the database. */
static int preflight(const fb_config *cfg, int *lock_fd)
{
	char why[512];

	if (fb_startup_source_without_channel(cfg, why, sizeof(why))) {
		fprintf(stderr, "firebreak: %s\n", why);
		return 0;
	}
	if (!check_tokens(cfg))
		return 0;
	if (fb_config_prepare_store(cfg) != FB_OK ||
	    fb_startup_lock(cfg->store.path, lock_fd) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 0;
	}
	return 1;
}

/* The boot configuration: pinned, the threads keep its settings. */
static int load_config(fb_engine *s, const char *config_path)
{
	char *errors = NULL;

	s->config_path = config_path;
	if (!(s->cfg = calloc(1, sizeof(*s->cfg))))
		return 0;
	s->cfg->pinned = 1;
	s->cfg->gen = s->next_gen = 1;
	if (fb_config_load(config_path, &s->cfg->cfg, &errors) != FB_OK) {
		fprintf(stderr, "%sfirebreak: %s\n", errors ? errors : "", fb_error_last());
		free(errors);
		return 0;
	}
	int lvl = fb_log_level_parse(s->cfg->cfg.log_level);
	fb_log_set_level(lvl < 0 ? FB_LOG_INFO : (fb_log_level)lvl);
	return 1;
}

int fb_serve_main(const char *config_path, int argc, char **argv)
{
	fb_engine *s = calloc(1, sizeof(*s));
	int rc = 1, lock_fd = -1;

	(void)argv;
	if (!s)
		return 1;
	if (argc > 0) {
		fprintf(stderr, "usage: firebreak [-c FILE] serve\n");
		free(s);
		return 2;
	}
	s->lat_us = malloc(LAT_MAX * sizeof(int64_t));
	s->metrics = fb_metrics_new();
	s->guard.notify = store_health_cb; /* a failing store turns /health at once */
	s->guard.notify_ctx = s->metrics;
	if (!load_config(s, config_path)) {
		free(s->cfg);
		goto done;
	}
	install_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!preflight(&s->cfg->cfg, &lock_fd) || !auth_test(s) || !open_all(s) ||
	    !start_threads(s))
		goto out;
	announce(s);
	fb_engine_flush_outbox(s); /* rows a previous run committed but did not send */
	fb_engine_run(s, &got_term, &got_hup);
	rc = s->fatal ? 1 : 0;
	fb_engine_log_latency(s);
	fb_log(FB_LOG_INFO, "serve.stopping",
	       "envelopes=%ld duplicates=%ld decisions=%ld refusals=%ld", s->disp.envelopes,
	       s->disp.duplicates, s->disp.decisions, s->disp.refusals);
out:
	close_all(s);
	curl_global_cleanup();
done:
	fb_startup_unlock(lock_fd);
	free(s->lat_us);
	fb_metrics_free(s->metrics);
	free(s);
	return rc;
}
