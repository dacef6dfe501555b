/*
 * engine_int.h - private to the daemon's engine (engine.c, its message
 * table and loop; serve.c, the composition root that builds and wires
 * it; steps.c, the due-job scheduler).  Not a public header.
 *
 * The engine thread owns everything in struct fb_engine; other threads
 * reach it only through messages pushed on e->q (engine.c's fb_engine_post_*
 * producers), never by touching these fields.
 */
#ifndef FIREBREAK_ENGINE_INT_H
#define FIREBREAK_ENGINE_INT_H

#include <signal.h>
#include <stdint.h>
#include "firebreak/config.h"
#include "firebreak/dispatch.h"
#include "firebreak/graph.h"
#include "firebreak/http.h"
#include "firebreak/ingest.h"
#include "firebreak/metrics.h"
#include "firebreak/pool.h"
#include "firebreak/queue.h"
#include "firebreak/rules.h"
#include "firebreak/sender.h"
#include "firebreak/socket.h"
#include "firebreak/store.h"
#include "firebreak/tmpl.h"

#define ENGINE_INFLIGHT_MAX 32 /* tasks on the pool at once */

/*
 * A configuration and its generation.  SIGHUP builds a new one and the
 * engine swaps its pointer; a generation still used by a task on the pool
 * is retired, and freed when its last task comes back.  The boot
 * generation is pinned: the threads started from it (Socket Mode, the
 * sender, the sources, HTTP) keep its restart-only settings.
 */
typedef struct cfg_gen {
	fb_config cfg;
	unsigned long gen;
	int refs;
	int pinned;
	struct cfg_gen *next; /* the retired list */
} cfg_gen;

typedef struct {
	char id[64];
	cfg_gen *cfg;
} inflight;

typedef struct fb_engine {
	const char *config_path;
	cfg_gen *cfg;     /* the current configuration */
	cfg_gen *retired; /* older ones, still used by tasks in flight */
	unsigned long next_gen;

	fb_rules *rules;
	fb_store *store;       /* the only read-write connection */
	fb_store_maint *maint; /* WAL checkpoints, off the writer's path */
	fb_tmpl *tmpl;
	fb_graph_env env; /* the engine's: store, no repository */
	fb_dispatch disp;
	fb_metrics *metrics;

	fb_queue *q;      /* the engine's inbox: struct em messages */
	fb_queue *urgent; /* envelopes (a person waits for the ack), served first */
	fb_socket *sock;
	fb_sender *sender;
	fb_ingest *ingest;
	fb_pool *pool;
	fb_http *http;
	struct lws_protocols http_proto;
	char http_iface[64];
	int http_port;

	int64_t outbox_seen; /* highest outbox id handed to the sender */
	inflight flight[ENGINE_INFLIGHT_MAX];
	size_t n_flight;
	int more_due;         /* a step may be due at once: do not sleep */
	fb_store_guard guard; /* a failing store: backoff, probe, /health */

	int64_t last_refresh;
	long seen_dup, seen_dec, seen_ref;
	int64_t *lat_us; /* ack latency inside the daemon, for the benchmark */
	size_t n_lat;
	int fatal;
	char bot_user[64];
	char slack_url[256]; /* the workspace's URL, from auth.test */
} fb_engine;

/* engine.c: the producers, any thread (they copy what they are given). */
void fb_engine_on_envelope(void *ctx, const char *json, size_t len, int conn);
void fb_engine_on_fatal(void *ctx, const char *why);
void fb_engine_on_result(void *ctx, fb_send_result *res);
int fb_engine_on_http(void *ctx, long id, fb_http_kind kind, const char *arg, char *body,
                      size_t len);
void fb_engine_on_batch(void *ctx, fb_source_batch *b);
void fb_engine_on_status(void *ctx, int up, const char *why);
void fb_engine_on_step(void *ctx, fb_graph_task *task);

/* engine.c: the loop, until SIGTERM/SIGINT (*term) or a fatal error. */
void fb_engine_run(fb_engine *e, volatile sig_atomic_t *term, volatile sig_atomic_t *hup);
void fb_engine_flush_outbox(fb_engine *e);
/* At shutdown: what the sender finished is recorded. */
void fb_engine_drain_results(fb_engine *e);
void fb_engine_log_latency(fb_engine *e);
void fb_engine_queue_free(fb_engine *e);
/* Envelopes waiting: committed together (one fsync) and acked; called
 * between any two units of the engine's work. */
void fb_engine_urgent(fb_engine *e);

/* steps.c: due jobs, pure nodes here, the others on the pool. */
void fb_engine_dispatch_due(fb_engine *e);
void fb_engine_step_done(fb_engine *e, fb_graph_task *task);
void fb_engine_cfg_release(fb_engine *e, cfg_gen *g);
size_t fb_engine_in_flight(const fb_engine *e);

#endif
