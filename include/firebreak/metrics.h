/*
 * metrics.h - the daemon's counters, gauges and health, shared between
 * the engine (which writes them) and the io thread (which serves them at
 * /metrics and /health).  One mutex; every call is short.
 */
#ifndef FIREBREAK_METRICS_H
#define FIREBREAK_METRICS_H

#include <stdint.h>
#include "firebreak/buf.h"

typedef struct fb_metrics fb_metrics;

typedef enum {
	FB_M_ENVELOPES,
	FB_M_DUPLICATES,
	FB_M_ENVELOPES_REFUSED,
	FB_M_DECISIONS,
	FB_M_REFUSALS,
	FB_M_SLACK_SENT,
	FB_M_SLACK_FAILED,
	FB_M_SLACK_SUPERSEDED,
	FB_M_SLACK_RETRIED,
	FB_M_SLACK_RATE_LIMITED,
	FB_M_STEPS,
	FB_M_STEP_FAILURES,
	FB_M_COUNT
} fb_metric;

fb_metrics *fb_metrics_new(void);
void fb_metrics_free(fb_metrics *m);

void fb_metrics_add(fb_metrics *m, fb_metric which, long n);
void fb_metrics_ack_latency(fb_metrics *m, int64_t micros);
/* Gauges the engine refreshes: incidents by status and the outbox depth. */
void fb_metrics_set_incidents(fb_metrics *m, const char (*status)[16], const long *counts,
                              size_t n);
void fb_metrics_set_outbox(fb_metrics *m, long depth);
/* The engine's heartbeat and whether its last commit worked. */
void fb_metrics_engine_beat(fb_metrics *m, int db_ok);
/* The store's writer: failing (disk full, read-only, locked) with the
 * reason /health gives, or healthy (from fb_store_guard_health). */
void fb_metrics_store_health(fb_metrics *m, int ok, const char *why);
/* The Slack link: open connections and connects so far (from socket.c). */
void fb_metrics_slack_link(fb_metrics *m, int open, long connects);

/* The aggregates of fb_store_stats (store.h), by kind. */
void fb_metrics_set_stats(fb_metrics *m, int kind, const void *rows, size_t n);

/* A source (Loki) up or down, with the reason; down makes /health 503. */
void fb_metrics_source(fb_metrics *m, int up, const char *why);

/* 1 when healthy; else 0 and why (engine stalled, Slack link down too
 * long, database not writable). */
int fb_metrics_health(fb_metrics *m, char *why, size_t why_sz);
/* Prometheus text exposition format 0.0.4. */
void fb_metrics_render(fb_metrics *m, fb_buf *out);

#endif
