/*
 * store.h - the durable record: incidents, checkpoints, timeline, jobs,
 * and the tables around them (inbox, outbox, feedback, cursors).
 *
 * The domain API callers use.  Behind it: a facade (store.c: transactions
 * and savepoints, argument checks) over a backend found by name
 * (store_backend.h; "sqlite" is the default and the only one today: WAL,
 * synchronous=FULL, the schema migrated by PRAGMA user_version).  One
 * read-write connection (the engine's) does all writing, inside
 * fb_store_begin()/fb_store_commit(); other threads open their own
 * read-only connections.  An fb_store belongs to one thread.
 */
#ifndef FIREBREAK_STORE_H
#define FIREBREAK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "firebreak/domain.h"
#include "firebreak/error.h"

typedef struct fb_store fb_store;

/* Every error about another process's lock says this (the CLI's one line). */
#define FB_STORE_LOCKED_WORDS "locked by another process"

/* Why a store call failed, in the terms an operator acts on. */
typedef enum {
	FB_STORE_OK,
	FB_STORE_FULL,     /* the disk (or quota) is full */
	FB_STORE_READONLY, /* the file, its directory or the mount is read-only */
	FB_STORE_LOCKED,   /* another process holds the database's lock */
	FB_STORE_CORRUPT,  /* the file is damaged or not a database */
	FB_STORE_IO,       /* another I/O error */
	FB_STORE_OTHER
} fb_store_fault;

#define FB_STORE_SCHEMA_VERSION 5

/* Opens (creating and migrating when writable) with the default backend.
 * A database too new for this build, or not a database, is refused
 * (FB_EDB) with the reason in fb_error_last(). */
fb_err fb_store_open(const char *path, int readonly, fb_store **out);
/* Read-write, waiting up to wait_ms (one log line) while another process
 * holds the database's lock; the daemon's start. */
fb_err fb_store_open_patient(const char *path, long wait_ms, fb_store **out);
/* The same with a backend by name (store_backend.h); FB_ENOTFOUND when
 * no backend has that name. */
fb_err fb_store_open_with(const char *backend, const char *path, int readonly, fb_store **out);
void fb_store_free(fb_store *st);
int fb_store_schema_version(fb_store *st);
/* The backend's name, e.g. "sqlite". */
const char *fb_store_backend_name(const fb_store *st);

/*
 * Transactions nest: the outermost begin starts a transaction, inner ones
 * are savepoints.  An inner commit keeps its writes for the outer one to
 * decide; an inner rollback drops only what was written since its begin.
 * Writes on a read-only store are refused (FB_ESTATE).
 */
fb_err fb_store_begin(fb_store *st);
fb_err fb_store_commit(fb_store *st);
void fb_store_rollback(fb_store *st);
/* 0 outside a transaction, 1 in one, >1 inside savepoints. */
int fb_store_depth(const fb_store *st);

fb_err fb_store_incident_insert(fb_store *st, const fb_incident_row *row);
/* Everything but the card columns, which only fb_store_card_set() writes:
 * a row read before the card was posted must not erase its ts. */
fb_err fb_store_incident_update(fb_store *st, const fb_incident_row *row);
/* FB_ENOTFOUND when there is no such incident. */
fb_err fb_store_incident_get(fb_store *st, const char *id, fb_incident_row **out);
/* all = 0 lists only incidents that are not finished. Newest first. */
fb_err fb_store_incident_list(fb_store *st, int all, fb_incident_row ***rows, size_t *n);

fb_err fb_store_checkpoint_add(fb_store *st, const char *incident_id, const char *node,
                               const char *next, const char *state);
fb_err fb_store_checkpoint_count(fb_store *st, const char *incident_id, long *n);

/* Records a typed event (domain.h), stamped now; its name (event column)
 * follows from the kind.  FB_EINVAL for an unknown kind, a missing
 * incident id, or a node or outcome too long for the row. */
fb_err fb_store_event_add(fb_store *st, const fb_event *ev);
/* The name an event of this kind is shown under: "node.apply", ... */
void fb_event_name(fb_event_kind kind, const char *node, const char *outcome, char *out,
                   size_t size);
fb_err fb_store_timeline_list(fb_store *st, const char *incident_id, fb_timeline_entry **out,
                              size_t *n);

/* One pending job per incident: adding replaces any pending one. */
fb_err fb_store_job_put(fb_store *st, const char *incident_id, const char *node, int64_t run_at);
fb_err fb_store_job_clear(fb_store *st, const char *incident_id);
/* The pending job of an incident (FB_ENOTFOUND when none). */
fb_err fb_store_job_get(fb_store *st, const char *incident_id, fb_job *out);
fb_err fb_store_job_retry(fb_store *st, int64_t job_id, int64_t run_at);
/* Up to max incident ids with a job due at or before now, oldest first. */
fb_err fb_store_jobs_due(fb_store *st, int64_t now, char (*ids)[64], size_t max, size_t *n);

/* ---- Slack (schema 2) ---- */

/* Records an envelope or event id; *dup = 1 when it was already seen. */
fb_err fb_store_inbox_add(fb_store *st, const char *id, const char *kind, int *dup);
fb_err fb_store_inbox_prune(fb_store *st, int64_t before);
fb_err fb_store_outbox_add(fb_store *st, const char *incident_id, const char *method,
                           const char *channel, const char *body, int64_t *id);
/* Every pending row with an id above after, oldest first. */
fb_err fb_store_outbox_pending(fb_store *st, int64_t after, fb_outbox_row **out, size_t *n);
/* status: sent, failed or superseded. */
fb_err fb_store_outbox_done(fb_store *st, int64_t id, const char *status, const char *result);
fb_err fb_store_outbox_attempt(fb_store *st, int64_t id, const char *result);
fb_err fb_store_card_set(fb_store *st, const char *incident_id, const char *channel,
                         const char *ts);
fb_err fb_store_feedback_add(fb_store *st, const char *incident_id, const char *user,
                             const char *verdict, const char *reason);

/* The newest incident with this fingerprint other than not_id, leaving
 * out those folded into another ("grouped"); FB_ENOTFOUND when none. */
fb_err fb_store_incident_by_fingerprint(fb_store *st, const char *fp, const char *not_id,
                                        fb_incident_row **out);

/* Where a source has read up to (schema 3): an opaque string per name;
 * FB_ENOTFOUND when the source has none yet. */
fb_err fb_store_cursor_get(fb_store *st, const char *name, char **value);
fb_err fb_store_cursor_put(fb_store *st, const char *name, const char *value);

/* Aggregates for /metrics (domain.h), from columns only, never from the
 * events' prose. */
fb_err fb_store_stats(fb_store *st, fb_store_stat which, fb_stat_row *rows, size_t max, size_t *n);

/* For the metrics: incidents per status, and rows waiting in the outbox. */
fb_err fb_store_incident_counts(fb_store *st, char (*status)[16], long *counts, size_t max,
                                size_t *n);
fb_err fb_store_outbox_depth(fb_store *st, long *depth);

/*
 * Housekeeping off the writer's path: the writer defers it
 * (fb_store_defer_maintenance on its connection) and a thread of its own
 * runs it (fb_store_maint_start, maint.c) on another connection, so a
 * WAL checkpoint never runs inside a commit an ack waits for.
 */
fb_err fb_store_defer_maintenance(fb_store *st);
fb_err fb_store_maintain(fb_store *st, long *pending);
typedef struct fb_store_maint fb_store_maint;
fb_err fb_store_maint_start(const char *path, long interval_ms, fb_store_maint **out);
void fb_store_maint_stop(fb_store_maint *m);

/* Why the last failed call on this connection failed (FB_STORE_OK when
 * the last commit worked), and that in a few words ("disk full"). */
fb_store_fault fb_store_fault_of(const fb_store *st);
const char *fb_store_fault_word(fb_store_fault f);
/* After a failed write: give space back (a WAL checkpoint that truncates). */
fb_err fb_store_reclaim(fb_store *st);

/*
 * A failing store, on the writer's thread (guard.c): after a failed write
 * the work that writes waits, exponentially longer up to a cap, instead
 * of being retried at once; one log line when the store starts failing,
 * one when it recovers, and a reminder every minute in between.  Each
 * time the wait is over, fb_store_guard_tick() reclaims space and probes
 * with a small write, so the store recovers by itself when the cause goes
 * (space freed, lock released) even with no traffic.
 */
typedef struct fb_store_guard {
	int failing;
	fb_store_fault fault;
	long delay_ms;
	int64_t since, next_try, last_reminder;
	long failures;
	char why[256];
	/* may be set: told at once when the store starts failing or recovers
	 * (the daemon's /health), on the writer's thread */
	void (*notify)(void *ctx, int ok, const char *why);
	void *notify_ctx;
} fb_store_guard;

void fb_store_guard_init(fb_store_guard *g);
/* A write failed (fb_error_last() says why): wait before the next one. */
void fb_store_guard_failed(fb_store_guard *g, const fb_store *st, int64_t now);
/* A write worked: a failing store has recovered. */
void fb_store_guard_ok(fb_store_guard *g, fb_store *st, int64_t now);
/* 1 when work that writes may run now. */
int fb_store_guard_ready(const fb_store_guard *g, int64_t now);
/* When failing and the wait is over: reclaim, probe; 1 when healthy. */
int fb_store_guard_tick(fb_store_guard *g, fb_store *st, int64_t now);
/* The cause in a few words ("disk full"). */
const char *fb_store_guard_cause(const fb_store_guard *g);
/* 1 when healthy; else 0 and the reason for /health. */
int fb_store_guard_health(const fb_store_guard *g, int64_t now, char *why, size_t why_sz);

int64_t fb_now_ms(void);

#endif
