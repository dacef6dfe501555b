/*
 * store_backend.h - the face a store backend implements (like libgit2's
 * sys/odb_backend.h): one const fb_store_backend per backend, found by
 * name from the table in src/store/store.c.  Adding a backend (PostgreSQL)
 * is one new file in src/store/ and one line in that table.
 *
 * The facade (store.c) has already checked every argument (non-NULL
 * pointers, ids that fit the row types, a writable connection for writes,
 * the transaction depth), so a backend only stores and fetches.  Slots
 * marked "must" are required; "may" slots can be NULL and the facade
 * answers for them as documented.  Every slot returns an fb_err and sets
 * fb_error_set() on failure; FB_ENOTFOUND where the domain API says so.
 * Backends read the clock with fb_now_ms() for the created_at/sent_at
 * columns; event timestamps come from the facade.
 */
#ifndef FIREBREAK_STORE_BACKEND_H
#define FIREBREAK_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "firebreak/domain.h"
#include "firebreak/error.h"
#include "firebreak/store.h"

#define FB_STORE_BACKEND_VERSION 1

/* A backend's connection: its own type, opaque to the facade. */
typedef struct fb_store_conn fb_store_conn;

typedef struct fb_store_backend {
	int version;      /* FB_STORE_BACKEND_VERSION */
	const char *name; /* "sqlite" */

	/* must: open path, creating and migrating the schema to
	 * FB_STORE_SCHEMA_VERSION when writable; refuse (FB_EDB) a schema
	 * newer than this build, a read-only one at another version, and
	 * anything that is not this backend's database, with a clear reason. */
	fb_err (*open)(const char *path, int readonly, fb_store_conn **out);
	/* must: close and free; NULL is a no-op. */
	void (*close)(fb_store_conn *c);
	/* must: the schema version, -1 when unreadable. */
	int (*schema_version)(fb_store_conn *c);

	/* must: depth 0 is the outermost transaction (begin, commit,
	 * rollback); depth d > 0 is savepoint number d inside it (create,
	 * release, roll back to and release).  rollback must not fail. */
	fb_err (*begin)(fb_store_conn *c, int depth);
	fb_err (*commit)(fb_store_conn *c, int depth);
	void (*rollback)(fb_store_conn *c, int depth);

	/* must: the incidents.  update leaves the card columns alone and
	 * answers FB_ENOTFOUND when no row has the id; list is newest first,
	 * all = 0 only the unfinished (open, waiting, manual). */
	fb_err (*incident_insert)(fb_store_conn *c, const fb_incident_row *row);
	fb_err (*incident_update)(fb_store_conn *c, const fb_incident_row *row);
	fb_err (*incident_get)(fb_store_conn *c, const char *id, fb_incident_row **out);
	fb_err (*incident_list)(fb_store_conn *c, int all, fb_incident_row ***rows, size_t *n);
	fb_err (*incident_by_fingerprint)(fb_store_conn *c, const char *fp, const char *not_id,
	                                  fb_incident_row **out);
	fb_err (*card_set)(fb_store_conn *c, const char *incident_id, const char *channel,
	                   const char *ts);

	/* must: checkpoints, numbered 1, 2, ... per incident. */
	fb_err (*checkpoint_add)(fb_store_conn *c, const char *incident_id, const char *node,
	                         const char *next, const char *state);
	fb_err (*checkpoint_count)(fb_store_conn *c, const char *incident_id, long *n);

	/* must: the timeline.  name is the event's shown name (fb_event_name);
	 * every typed field of ev is stored in a column of its own. */
	fb_err (*event_add)(fb_store_conn *c, const fb_event *ev, const char *name, int64_t ts);
	fb_err (*event_list)(fb_store_conn *c, const char *incident_id, fb_timeline_entry **out,
	                     size_t *n);

	/* must: one pending job per incident (put replaces it). */
	fb_err (*job_put)(fb_store_conn *c, const char *incident_id, const char *node,
	                  int64_t run_at);
	fb_err (*job_clear)(fb_store_conn *c, const char *incident_id);
	fb_err (*job_get)(fb_store_conn *c, const char *incident_id, fb_job *out);
	fb_err (*job_retry)(fb_store_conn *c, int64_t job_id, int64_t run_at);
	fb_err (*jobs_due)(fb_store_conn *c, int64_t now, char (*ids)[64], size_t max, size_t *n);

	/* must: envelope dedupe (*dup = 1 when the id was there already). */
	fb_err (*inbox_add)(fb_store_conn *c, const char *id, const char *kind, int *dup);
	/* may: forget ids received before a time (NULL: the inbox grows). */
	fb_err (*inbox_prune)(fb_store_conn *c, int64_t before);

	/* must: the outbox.  pending: status pending, id above after, oldest
	 * first, card_ts joined from the incident. */
	fb_err (*outbox_add)(fb_store_conn *c, const char *incident_id, const char *method,
	                     const char *channel, const char *body, int64_t *id);
	fb_err (*outbox_pending)(fb_store_conn *c, int64_t after, fb_outbox_row **out, size_t *n);
	fb_err (*outbox_done)(fb_store_conn *c, int64_t id, const char *status, const char *result);
	fb_err (*outbox_attempt)(fb_store_conn *c, int64_t id, const char *result);

	/* must: feedback and source cursors (get: FB_ENOTFOUND when none). */
	fb_err (*feedback_add)(fb_store_conn *c, const char *incident_id, const char *user,
	                       const char *verdict, const char *reason);
	fb_err (*cursor_get)(fb_store_conn *c, const char *name, char **value);
	fb_err (*cursor_put)(fb_store_conn *c, const char *name, const char *value);

	/* may: the metrics' aggregates, from columns only: SOURCES groups
	 * incidents by source; DECISIONS groups FB_EV_DECISION events by
	 * outcome with the sum of value; VERIFY and APPLY group the
	 * FB_EV_STEP events of node verify / apply with an outcome by
	 * outcome.  NULL: the facade reports no rows. */
	fb_err (*stats)(fb_store_conn *c, fb_store_stat which, fb_stat_row *rows, size_t max,
	                size_t *n);
	/* may: incidents per status and the outbox's pending rows (NULL:
	 * none and 0). */
	fb_err (*incident_counts)(fb_store_conn *c, char (*status)[16], long *counts, size_t max,
	                          size_t *n);
	fb_err (*outbox_depth)(fb_store_conn *c, long *depth);

	/* may: the writer leaves housekeeping that would stall a commit
	 * (SQLite: WAL checkpoints) to maintain() on another connection. */
	fb_err (*defer_maintenance)(fb_store_conn *c);
	/* may: one round of that housekeeping, from a connection of its own
	 * on its own thread; never blocks the writer (SQLite: a PASSIVE
	 * checkpoint).  *pending: work left (WAL frames not yet copied). */
	fb_err (*maintain)(fb_store_conn *c, long *pending);

	/* may: after a failed write, give space back (SQLite: a TRUNCATE
	 * checkpoint of the WAL) so the next attempt can succeed. */
	fb_err (*reclaim)(fb_store_conn *c);
	/* may: why the last failed call on this connection failed
	 * (FB_STORE_OTHER when the backend cannot tell; NULL: always that). */
	fb_store_fault (*fault)(fb_store_conn *c);
	/* may (with fault): forget the last failure after a good commit. */
	void (*fault_clear)(fb_store_conn *c);
} fb_store_backend;

/* The backends built in (the table lives in store.c). */
extern const fb_store_backend fb_store_sqlite;

/* The backend with this name; NULL when none. */
const fb_store_backend *fb_store_backend_find(const char *name);

#endif
