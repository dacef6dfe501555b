/*
 * store.h - the durable record: incidents, checkpoints, timeline, jobs.
 *
 * SQLite in WAL mode with synchronous=FULL; the schema is migrated by
 * PRAGMA user_version.  One read-write connection (the engine's) does all
 * writing, inside fb_store_begin()/fb_store_commit() (BEGIN IMMEDIATE);
 * other threads open their own read-only connections.  Statements are
 * prepared once per connection.  An fb_store belongs to one thread.
 */
#ifndef FIREBREAK_STORE_H
#define FIREBREAK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "firebreak/error.h"

typedef struct fb_store fb_store;

typedef struct {
	char id[64];
	char status[16];
	char node[32];
	char category[32];
	char severity[16];
	char app[128];
	char ns[128];
	char source[32];
	char fingerprint[80];
	long version; /* bumped whenever a new proposal is shown */
	char card_channel[64];
	char card_ts[32];
	int64_t created_at; /* ms since the epoch */
	int64_t updated_at;
	char *state; /* the incident's state as JSON (owned) */
} fb_incident_row;

typedef struct {
	int64_t id;
	char incident_id[64];
	char node[32];
	int64_t run_at;
	long attempts;
} fb_job;

typedef struct {
	int64_t ts;
	char actor[128];
	char event[64];
	char *detail; /* owned */
} fb_timeline_entry;

#define FB_STORE_SCHEMA_VERSION 4

fb_err fb_store_open(const char *path, int readonly, fb_store **out);
void fb_store_free(fb_store *st);
int fb_store_schema_version(fb_store *st);

fb_err fb_store_begin(fb_store *st);
fb_err fb_store_commit(fb_store *st);
void fb_store_rollback(fb_store *st);

fb_err fb_store_incident_insert(fb_store *st, const fb_incident_row *row);
/* Everything but the card columns, which only fb_store_card_set() writes:
 * a row read before the card was posted must not erase its ts. */
fb_err fb_store_incident_update(fb_store *st, const fb_incident_row *row);
/* FB_ENOTFOUND when there is no such incident. */
fb_err fb_store_incident_get(fb_store *st, const char *id, fb_incident_row **out);
/* all = 0 lists only incidents that are not finished. Newest first. */
fb_err fb_store_incident_list(fb_store *st, int all, fb_incident_row ***rows, size_t *n);
void fb_incident_row_free(fb_incident_row *row);
void fb_incident_rows_free(fb_incident_row **rows, size_t n);

fb_err fb_store_checkpoint_add(fb_store *st, const char *incident_id, const char *node,
                               const char *next, const char *state);
fb_err fb_store_checkpoint_count(fb_store *st, const char *incident_id, long *n);

fb_err fb_store_timeline_add(fb_store *st, const char *incident_id, const char *actor,
                             const char *event, const char *detail);
fb_err fb_store_timeline_list(fb_store *st, const char *incident_id, fb_timeline_entry **out,
                              size_t *n);
void fb_timeline_free(fb_timeline_entry *entries, size_t n);

/* One pending job per incident: adding replaces any pending one. */
fb_err fb_store_job_put(fb_store *st, const char *incident_id, const char *node, int64_t run_at);
fb_err fb_store_job_clear(fb_store *st, const char *incident_id);
/* The pending job of an incident (FB_ENOTFOUND when none). */
fb_err fb_store_job_get(fb_store *st, const char *incident_id, fb_job *out);
fb_err fb_store_job_retry(fb_store *st, int64_t job_id, int64_t run_at);
/* Up to max incident ids with a job due at or before now, oldest first. */
fb_err fb_store_jobs_due(fb_store *st, int64_t now, char (*ids)[64], size_t max, size_t *n);

/* ---- Slack (schema 2) ---- */

/* A Web API call waiting to be sent; card_ts is the incident's card. */
typedef struct {
	int64_t id;
	char incident_id[64];
	char method[40]; /* a Web API method, or "card" (post or update) */
	char channel[64];
	char card_ts[32];
	long attempts;
	char *body; /* owned: the JSON arguments */
} fb_outbox_row;

/* Records an envelope or event id; *dup = 1 when it was already seen. */
fb_err fb_store_inbox_add(fb_store *st, const char *id, const char *kind, int *dup);
fb_err fb_store_inbox_prune(fb_store *st, int64_t before);
fb_err fb_store_outbox_add(fb_store *st, const char *incident_id, const char *method,
                           const char *channel, const char *body, int64_t *id);
/* Every pending row with an id above after, oldest first. */
fb_err fb_store_outbox_pending(fb_store *st, int64_t after, fb_outbox_row **out, size_t *n);
void fb_outbox_rows_free(fb_outbox_row *rows, size_t n);
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

/* Where a source has read up to (schema 3): an opaque string per name. */
fb_err fb_store_cursor_get(fb_store *st, const char *name, char **value);
fb_err fb_store_cursor_put(fb_store *st, const char *name, const char *value);

/* Aggregates for /metrics, computed from the record itself. */
typedef enum {
	FB_STAT_SOURCES,   /* incidents by source */
	FB_STAT_DECISIONS, /* decisions by action; sum = seconds from creation */
	FB_STAT_VERIFY,    /* verification checks by result */
	FB_STAT_APPLY,     /* apply steps: committed or other */
	FB_STAT_KINDS
} fb_store_stat;

typedef struct {
	char key[32];
	long count;
	double sum;
} fb_stat_row;

fb_err fb_store_stats(fb_store *st, fb_store_stat which, fb_stat_row *rows, size_t max, size_t *n);

/* For the metrics: incidents per status, and rows waiting in the outbox. */
fb_err fb_store_incident_counts(fb_store *st, char (*status)[16], long *counts, size_t max,
                                size_t *n);
fb_err fb_store_outbox_depth(fb_store *st, long *depth);

int64_t fb_now_ms(void);

#endif
