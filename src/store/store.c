/*
 * store.c - the store's facade: finds the backend by name, keeps the
 * transaction depth (the outermost begin is a transaction, inner ones are
 * savepoints), checks every argument before a backend sees it, and owns
 * the typed events' names.  No SQL here: the backends (sqlite.c) hold
 * their own text.  Runs on whichever thread opened the store (the engine
 * for the read-write connection; other threads open read-only ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/log.h"
#include "firebreak/stopper.h"
#include "firebreak/store.h"
#include "firebreak/store_backend.h"
#include "store_int.h"

struct fb_store {
	const fb_store_backend *be;
	fb_store_conn *conn;
	int readonly;
	int depth; /* transaction nesting: 0 = none, >1 = savepoints */
};

/* The backends, found by name; the first is the default. */
static const fb_store_backend *const backends[] = {
    &fb_store_sqlite,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

int64_t fb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const fb_store_backend *fb_store_backend_find(const char *name)
{
	for (size_t i = 0; name && i < N_BACKENDS; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

/* ---- argument checks ---- */

/* A required string that must fit a column of size bytes (NUL included). */
static fb_err need(const char *what, const char *v, size_t size)
{
	if (!v || !*v)
		return fb_error_set(FB_EINVAL, "store: %s is missing", what);
	if (strlen(v) >= size)
		return fb_error_set(FB_EINVAL, "store: %s is longer than %zu bytes", what,
		                    size - 1);
	return FB_OK;
}

/* An optional string (NULL or "" allowed) that must fit size bytes. */
static fb_err fits(const char *what, const char *v, size_t size)
{
	if (v && strlen(v) >= size)
		return fb_error_set(FB_EINVAL, "store: %s is longer than %zu bytes", what,
		                    size - 1);
	return FB_OK;
}

static fb_err writable(const fb_store *st)
{
	if (st->readonly)
		return fb_error_set(FB_ESTATE, "store: the connection is read-only");
	return FB_OK;
}

static fb_err check_row(const fb_store *st, const fb_incident_row *row)
{
	fb_err rc = writable(st);
	if (!rc && !row)
		rc = fb_error_set(FB_EINVAL, "store: no incident row");
	if (!rc)
		rc = need("incident id", row->id, sizeof(row->id));
	if (!rc)
		rc = need("incident status", row->status, sizeof(row->status));
	if (!rc)
		rc = need("incident node", row->node, sizeof(row->node));
	return rc;
}

/* ---- opening, transactions ---- */

fb_err fb_store_open_with(const char *backend, const char *path, int readonly, fb_store **out)
{
	const fb_store_backend *be = fb_store_backend_find(backend);
	fb_store *st;
	fb_err rc;

	*out = NULL;
	if (!be)
		return fb_error_set(FB_ENOTFOUND, "store: no backend named \"%s\"",
		                    backend ? backend : "");
	if (be->version != FB_STORE_BACKEND_VERSION)
		return fb_error_set(FB_EINVAL, "store: backend %s has version %d, expected %d",
		                    be->name, be->version, FB_STORE_BACKEND_VERSION);
	if ((rc = need("database path", path, 4096)))
		return rc;
	if (!(st = calloc(1, sizeof(*st))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	st->be = be;
	st->readonly = readonly;
	if ((rc = be->open(path, readonly, &st->conn))) {
		free(st);
		return rc;
	}
	*out = st;
	return FB_OK;
}

fb_err fb_store_open(const char *path, int readonly, fb_store **out)
{
	return fb_store_open_with(backends[0]->name, path, readonly, out);
}

fb_err fb_store_open_patient(const char *path, long wait_ms, fb_store **out)
{
	int64_t until = fb_mono_ms() + wait_ms;
	int said = 0;
	fb_err rc;

	while ((rc = fb_store_open(path, 0, out)) == FB_EDB &&
	       strstr(fb_error_last(), FB_STORE_LOCKED_WORDS) && fb_mono_ms() < until) {
		if (!said++)
			fb_log(FB_LOG_WARN, "store.locked",
			       "path=%s note=\"another process holds the database; waiting up to "
			       "%ld s\"",
			       path, wait_ms / 1000);
		struct timespec ts = {1, 0};
		nanosleep(&ts, NULL);
	}
	if (!rc && said)
		fb_log(FB_LOG_INFO, "store.unlocked", "path=%s", path);
	return rc;
}

void fb_store_free(fb_store *st)
{
	if (!st)
		return;
	while (st->depth > 0) /* an open transaction is not committed by accident */
		fb_store_rollback(st);
	st->be->close(st->conn);
	free(st);
}

int fb_store_schema_version(fb_store *st)
{
	return st->be->schema_version(st->conn);
}

const char *fb_store_backend_name(const fb_store *st)
{
	return st->be->name;
}

int fb_store_depth(const fb_store *st)
{
	return st->depth;
}

fb_err fb_store_begin(fb_store *st)
{
	fb_err rc = writable(st);
	if (!rc)
		rc = st->be->begin(st->conn, st->depth);
	if (!rc)
		st->depth++;
	return rc;
}

fb_err fb_store_commit(fb_store *st)
{
	fb_err rc;

	if (st->depth <= 0)
		return fb_error_set(FB_ESTATE, "store: commit without a transaction");
	rc = st->be->commit(st->conn, st->depth - 1);
	if (!rc)
		st->depth--; /* on failure still open: the caller rolls back */
	if (!rc && st->depth == 0 && st->be->fault_clear)
		st->be->fault_clear(st->conn);
	return rc;
}

void fb_store_rollback(fb_store *st)
{
	if (st->depth <= 0)
		return;
	st->depth--;
	st->be->rollback(st->conn, st->depth);
}

/* ---- incidents, checkpoints ---- */

fb_err fb_store_incident_insert(fb_store *st, const fb_incident_row *row)
{
	fb_err rc = check_row(st, row);
	return rc ? rc : st->be->incident_insert(st->conn, row);
}

fb_err fb_store_incident_update(fb_store *st, const fb_incident_row *row)
{
	fb_err rc = check_row(st, row);
	return rc ? rc : st->be->incident_update(st->conn, row);
}

fb_err fb_store_incident_get(fb_store *st, const char *id, fb_incident_row **out)
{
	*out = NULL;
	if (!id || !*id || strlen(id) >= sizeof((*out)->id))
		return fb_error_set(FB_ENOTFOUND, "no incident %.64s", id ? id : "");
	return st->be->incident_get(st->conn, id, out);
}

fb_err fb_store_incident_list(fb_store *st, int all, fb_incident_row ***rows, size_t *n)
{
	*rows = NULL;
	*n = 0;
	return st->be->incident_list(st->conn, all, rows, n);
}

void fb_incident_row_free(fb_incident_row *row)
{
	if (!row)
		return;
	free(row->state);
	free(row);
}

void fb_incident_rows_free(fb_incident_row **rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		fb_incident_row_free(rows[i]);
	free(rows);
}

fb_err fb_store_incident_by_fingerprint(fb_store *st, const char *fp, const char *not_id,
                                        fb_incident_row **out)
{
	*out = NULL;
	if (!fp || !*fp)
		return fb_error_set(FB_ENOTFOUND, "no incident without a fingerprint");
	return st->be->incident_by_fingerprint(st->conn, fp, not_id ? not_id : "", out);
}

fb_err fb_store_card_set(fb_store *st, const char *incident_id, const char *channel, const char *ts)
{
	fb_incident_row *r = NULL;
	fb_err rc = writable(st);
	if (!rc)
		rc = need("incident id", incident_id, sizeof(r->id));
	if (!rc)
		rc = fits("card channel", channel, sizeof(r->card_channel));
	if (!rc)
		rc = fits("card ts", ts, sizeof(r->card_ts));
	return rc ? rc
	          : st->be->card_set(st->conn, incident_id, channel ? channel : "", ts ? ts : "");
}

fb_err fb_store_checkpoint_add(fb_store *st, const char *incident_id, const char *node,
                               const char *next, const char *state)
{
	fb_err rc = writable(st);
	if (!rc)
		rc = need("incident id", incident_id, 64);
	if (!rc)
		rc = need("checkpoint node", node, 32);
	if (!rc)
		rc = need("checkpoint next", next, 32);
	return rc ? rc
	          : st->be->checkpoint_add(st->conn, incident_id, node, next, state ? state : "{}");
}

fb_err fb_store_checkpoint_count(fb_store *st, const char *incident_id, long *n)
{
	fb_err rc = need("incident id", incident_id, 64);
	*n = 0;
	return rc ? rc : st->be->checkpoint_count(st->conn, incident_id, n);
}

/* ---- typed events ---- */

void fb_event_name(fb_event_kind kind, const char *node, const char *outcome, char *out,
                   size_t size)
{
	static const char *const fixed[FB_EV_KINDS] = {
	    [FB_EV_OTHER] = "event",
	    [FB_EV_CREATED] = "incident.created",
	    [FB_EV_NODE_ERROR] = "node.error",
	    [FB_EV_REFUSED] = "decision.refused",
	    [FB_EV_REPEAT] = "incident.repeat",
	    [FB_EV_ALERT_REPEAT] = "alert.repeat",
	    [FB_EV_SIGNAL_RESOLVED] = "signal.resolved",
	    [FB_EV_FEEDBACK] = "feedback",
	    [FB_EV_LINKED] = "incident.linked",
	};
	if (kind == FB_EV_STEP)
		snprintf(out, size, "node.%s", node ? node : "");
	else if (kind == FB_EV_DECISION)
		snprintf(out, size, "decision.%s", outcome ? outcome : "");
	else if (kind == FB_EV_LIFECYCLE)
		snprintf(out, size, "incident.%s", outcome ? outcome : "");
	else if (kind > FB_EV_OTHER && kind < FB_EV_KINDS)
		snprintf(out, size, "%s", fixed[kind]);
	else
		snprintf(out, size, "%s", fixed[FB_EV_OTHER]);
}

static fb_err check_event(const fb_event *ev)
{
	fb_err rc;

	if (!ev)
		return fb_error_set(FB_EINVAL, "store: no event");
	if (ev->kind <= FB_EV_OTHER || ev->kind >= FB_EV_KINDS)
		return fb_error_set(FB_EINVAL, "store: unknown event kind %d", (int)ev->kind);
	if ((rc = need("event incident id", ev->incident_id, 64)) ||
	    (rc = fits("event node", ev->node, 32)) ||
	    (rc = fits("event outcome", ev->outcome, FB_OUTCOME_MAX)))
		return rc;
	if ((ev->kind == FB_EV_STEP || ev->kind == FB_EV_NODE_ERROR) && (!ev->node || !*ev->node))
		return fb_error_set(FB_EINVAL, "store: a node event needs its node");
	if ((ev->kind == FB_EV_DECISION || ev->kind == FB_EV_LIFECYCLE) &&
	    (!ev->outcome || !*ev->outcome))
		return fb_error_set(FB_EINVAL, "store: a decision event needs its action");
	return FB_OK;
}

fb_err fb_store_event_add(fb_store *st, const fb_event *ev)
{
	char name[64], actor[128];
	fb_event e;
	fb_err rc = writable(st);

	if (!rc)
		rc = check_event(ev);
	if (rc)
		return rc;
	e = *ev;
	snprintf(actor, sizeof(actor), "%s", e.actor ? e.actor : ""); /* shown, not matched */
	e.actor = actor;
	e.node = e.node ? e.node : "";
	e.outcome = e.outcome ? e.outcome : "";
	e.detail = e.detail ? e.detail : "";
	fb_event_name(e.kind, e.node, e.outcome, name, sizeof(name));
	return st->be->event_add(st->conn, &e, name, fb_now_ms());
}

fb_err fb_store_timeline_list(fb_store *st, const char *incident_id, fb_timeline_entry **out,
                              size_t *n)
{
	*out = NULL;
	*n = 0;
	fb_err rc = need("incident id", incident_id, 64);
	return rc ? rc : st->be->event_list(st->conn, incident_id, out, n);
}

void fb_timeline_free(fb_timeline_entry *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++)
		free(entries[i].detail);
	free(entries);
}

/* ---- jobs ---- */

fb_err fb_store_job_put(fb_store *st, const char *incident_id, const char *node, int64_t run_at)
{
	fb_err rc = writable(st);
	if (!rc)
		rc = need("incident id", incident_id, 64);
	if (!rc)
		rc = need("job node", node, 32);
	return rc ? rc : st->be->job_put(st->conn, incident_id, node, run_at);
}

fb_err fb_store_job_clear(fb_store *st, const char *incident_id)
{
	fb_err rc = writable(st);
	if (!rc)
		rc = need("incident id", incident_id, 64);
	return rc ? rc : st->be->job_clear(st->conn, incident_id);
}

fb_err fb_store_job_get(fb_store *st, const char *incident_id, fb_job *out)
{
	fb_err rc = need("incident id", incident_id, 64);
	memset(out, 0, sizeof(*out));
	return rc ? rc : st->be->job_get(st->conn, incident_id, out);
}

fb_err fb_store_job_retry(fb_store *st, int64_t job_id, int64_t run_at)
{
	fb_err rc = writable(st);
	return rc ? rc : st->be->job_retry(st->conn, job_id, run_at);
}

fb_err fb_store_jobs_due(fb_store *st, int64_t now, char (*ids)[64], size_t max, size_t *n)
{
	*n = 0;
	if (max == 0)
		return FB_OK;
	return st->be->jobs_due(st->conn, now, ids, max, n);
}

/* ---- inbox, outbox, card, feedback, cursors ---- */

fb_err fb_store_inbox_add(fb_store *st, const char *id, const char *kind, int *dup)
{
	fb_err rc = writable(st);
	*dup = 0;
	if (!rc)
		rc = need("envelope id", id, 256);
	if (!rc)
		rc = need("envelope kind", kind, 64);
	return rc ? rc : st->be->inbox_add(st->conn, id, kind, dup);
}

fb_err fb_store_inbox_prune(fb_store *st, int64_t before)
{
	fb_err rc = writable(st);
	if (rc || !st->be->inbox_prune)
		return rc;
	return st->be->inbox_prune(st->conn, before);
}

fb_err fb_store_outbox_add(fb_store *st, const char *incident_id, const char *method,
                           const char *channel, const char *body, int64_t *id)
{
	fb_outbox_row *o = NULL;
	int64_t ignored;
	fb_err rc = writable(st);
	if (!rc)
		rc = fits("outbox incident id", incident_id, sizeof(o->incident_id));
	if (!rc)
		rc = need("outbox method", method, sizeof(o->method));
	if (!rc)
		rc = fits("outbox channel", channel, sizeof(o->channel));
	if (!rc && !body)
		rc = fb_error_set(FB_EINVAL, "store: an outbox row needs its body");
	if (rc)
		return rc;
	return st->be->outbox_add(st->conn, incident_id ? incident_id : "", method,
	                          channel ? channel : "", body, id ? id : &ignored);
}

fb_err fb_store_outbox_pending(fb_store *st, int64_t after, fb_outbox_row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->be->outbox_pending(st->conn, after, out, n);
}

void fb_outbox_rows_free(fb_outbox_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].body);
	free(rows);
}

fb_err fb_store_outbox_done(fb_store *st, int64_t id, const char *status, const char *result)
{
	fb_err rc = writable(st);
	if (rc)
		return rc;
	if (!status ||
	    (strcmp(status, "sent") && strcmp(status, "failed") && strcmp(status, "superseded")))
		return fb_error_set(FB_EINVAL,
		                    "store: outbox status \"%s\" (sent, failed, superseded)",
		                    status ? status : "");
	return st->be->outbox_done(st->conn, id, status, result ? result : "");
}

fb_err fb_store_outbox_attempt(fb_store *st, int64_t id, const char *result)
{
	fb_err rc = writable(st);
	return rc ? rc : st->be->outbox_attempt(st->conn, id, result ? result : "");
}

fb_err fb_store_feedback_add(fb_store *st, const char *incident_id, const char *user,
                             const char *verdict, const char *reason)
{
	fb_err rc = writable(st);
	if (!rc)
		rc = need("incident id", incident_id, 64);
	if (!rc)
		rc = need("feedback verdict", verdict, 64);
	return rc ? rc
	          : st->be->feedback_add(st->conn, incident_id, user ? user : "", verdict,
	                                 reason ? reason : "");
}

fb_err fb_store_cursor_get(fb_store *st, const char *name, char **value)
{
	fb_err rc = need("cursor name", name, 256);
	*value = NULL;
	return rc ? rc : st->be->cursor_get(st->conn, name, value);
}

fb_err fb_store_cursor_put(fb_store *st, const char *name, const char *value)
{
	fb_err rc = writable(st);
	if (!rc)
		rc = need("cursor name", name, 256);
	return rc ? rc : st->be->cursor_put(st->conn, name, value ? value : "");
}

/* ---- aggregates ---- */

fb_err fb_store_stats(fb_store *st, fb_store_stat which, fb_stat_row *rows, size_t max, size_t *n)
{
	*n = 0;
	if ((int)which < 0 || which >= FB_STAT_KINDS)
		return fb_error_set(FB_EINVAL, "store: unknown statistic %d", (int)which);
	if (!st->be->stats || max == 0)
		return FB_OK;
	return st->be->stats(st->conn, which, rows, max, n);
}

fb_err fb_store_incident_counts(fb_store *st, char (*status)[16], long *counts, size_t max,
                                size_t *n)
{
	*n = 0;
	if (!st->be->incident_counts || max == 0)
		return FB_OK;
	return st->be->incident_counts(st->conn, status, counts, max, n);
}

fb_err fb_store_outbox_depth(fb_store *st, long *depth)
{
	*depth = 0;
	return st->be->outbox_depth ? st->be->outbox_depth(st->conn, depth) : FB_OK;
}

fb_err fb_store_defer_maintenance(fb_store *st)
{
	return st->be->defer_maintenance ? st->be->defer_maintenance(st->conn) : FB_OK;
}

fb_err fb_store_maintain(fb_store *st, long *pending)
{
	*pending = 0;
	return st->be->maintain ? st->be->maintain(st->conn, pending) : FB_OK;
}

fb_store_fault fb_store_fault_of(const fb_store *st)
{
	return st->be->fault ? st->be->fault(st->conn) : FB_STORE_OTHER;
}

const char *fb_store_fault_word(fb_store_fault f)
{
	static const char *const words[] = {
	    [FB_STORE_OK] = "ok",
	    [FB_STORE_FULL] = "disk full",
	    [FB_STORE_READONLY] = "read-only",
	    [FB_STORE_LOCKED] = FB_STORE_LOCKED_WORDS,
	    [FB_STORE_CORRUPT] = "damaged",
	    [FB_STORE_IO] = "I/O error",
	    [FB_STORE_OTHER] = "write failed",
	};
	return (unsigned)f <= FB_STORE_OTHER ? words[f] : "write failed";
}

fb_err fb_store_reclaim(fb_store *st)
{
	if (st->depth > 0)
		return fb_error_set(FB_ESTATE, "store: reclaim inside a transaction");
	return st->be->reclaim ? st->be->reclaim(st->conn) : FB_OK;
}

int fb_store_grow_(void **v, size_t *cap, size_t len, size_t elem)
{
	if (len < *cap)
		return 1;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return 0;
	*v = nv;
	*cap = ncap;
	return 1;
}
