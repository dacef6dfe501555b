/*
 * domain.h - the record's row types: what crosses the store's edge in
 * either direction, whichever backend holds the data.  Plain structs with
 * bounded fields; the few owned pointers are named in their comments and
 * freed by the matching fb_*_free() below.
 */
#ifndef FIREBREAK_DOMAIN_H
#define FIREBREAK_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * What happened to an incident, typed.  The values are stored in the
 * record: append new kinds at the end, never renumber.  FB_EV_OTHER is a
 * row written before schema 5 whose prose could not be read back.
 */
typedef enum {
	FB_EV_OTHER = 0,
	FB_EV_CREATED = 1,         /* incident.created; detail: the source */
	FB_EV_STEP = 2,            /* node.<node>: a node's step committed; outcome per node */
	FB_EV_NODE_ERROR = 3,      /* node.error: a node failed, retried later; value: attempt */
	FB_EV_DECISION = 4,        /* decision.<outcome>: approve, reject or edit;
	                           * value: seconds from the incident's creation */
	FB_EV_REFUSED = 5,         /* decision.refused; outcome: the action refused */
	FB_EV_REPEAT = 6,          /* incident.repeat; detail: the repeat's id; value: count */
	FB_EV_ALERT_REPEAT = 7,    /* alert.repeat; detail: the alert's name */
	FB_EV_SIGNAL_RESOLVED = 8, /* signal.resolved (any source); detail: when it ended */
	FB_EV_FEEDBACK = 9,        /* feedback; outcome: the verdict */
	FB_EV_LIFECYCLE = 10,      /* incident.<op>: a person's lifecycle step (lifecycle.h);
	                           * outcome: ack, assign, snooze, snooze_end, resolve, reopen,
	                           * close; detail: the note */
	FB_EV_LINKED = 11,         /* incident.linked; outcome: previous, next, duplicate,
	                           * duplicated_by; detail: the other incident's id */
	FB_EV_KINDS
} fb_event_kind;

/* Short tokens, the only words metrics read (fb_event.outcome). */
#define FB_OUTCOME_MAX 24

/* An event to record (the writer's view: borrowed strings, NULL = ""). */
typedef struct {
	const char *incident_id;
	const char *actor;
	fb_event_kind kind;
	const char *node;    /* STEP and NODE_ERROR: the node */
	const char *outcome; /* a short token: committed, conflict, refused, error;
	                      * ok, pending, failed, skipped; approve, reject, edit */
	double value;        /* the number the kind means (see fb_event_kind) */
	const char *detail;  /* prose for people; never read by a metric */
} fb_event;

/* An event as stored (the reader's view). */
typedef struct {
	int64_t ts;
	char actor[128];
	char event[64]; /* the event's name: node.apply, decision.approve, ... */
	fb_event_kind kind;
	char node[32];
	char outcome[FB_OUTCOME_MAX];
	double value;
	char *detail; /* owned */
} fb_timeline_entry;

/* A Web API call waiting to be sent; card_ts is the incident's card. */
typedef struct {
	int64_t id;
	char incident_id[64];
	char method[40]; /* a Web API method, or "card" (post or update) */
	char channel[64];
	char card_ts[32];
	long attempts;
	int64_t created_ms; /* when the row was written (wall clock, ms) */
	char *body;         /* owned: the JSON arguments */
} fb_outbox_row;

/* Aggregates for /metrics, computed from the record's columns. */
typedef enum {
	FB_STAT_SOURCES,   /* incidents by source */
	FB_STAT_DECISIONS, /* decisions by action; sum = seconds from creation */
	FB_STAT_VERIFY,    /* verification checks by outcome (ok, pending, failed, ...) */
	FB_STAT_APPLY,     /* apply steps by outcome (committed, conflict, refused, error) */
	FB_STAT_KINDS
} fb_store_stat;

typedef struct {
	char key[32];
	long count;
	double sum;
} fb_stat_row;

/* Free what the store handed out (whoever holds the rows calls them). */
void fb_incident_row_free(fb_incident_row *row);
void fb_incident_rows_free(fb_incident_row **rows, size_t n);
void fb_timeline_free(fb_timeline_entry *entries, size_t n);
void fb_outbox_rows_free(fb_outbox_row *rows, size_t n);

#endif
