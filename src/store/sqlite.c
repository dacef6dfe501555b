/*
 * sqlite.c - the SQLite store backend (fb_store_sqlite): every SQL text
 * and every sqlite3 call of the store, with sqlite_schema.c (the schema's
 * migrations).  Statements are prepared once per connection.  Runs on
 * whichever thread opened the connection (the engine for the read-write
 * one; other threads open read-only ones).
 *
 * Durability: WAL with synchronous=FULL, so a commit is on disk when it
 * returns; that is what lets callers acknowledge only after committing.
 * Every write transaction is BEGIN IMMEDIATE so the one writer never
 * meets SQLITE_BUSY half-way through.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/store.h"
#include "firebreak/store_backend.h"
#include "sqlite_int.h"
#include "store_int.h"

enum {
	S_INC_INSERT,
	S_INC_UPDATE,
	S_INC_GET,
	S_INC_LIST_OPEN,
	S_INC_LIST_ALL,
	S_INC_BY_FP,
	S_CARD_SET,
	S_CKPT_ADD,
	S_CKPT_COUNT,
	S_TL_ADD,
	S_TL_LIST,
	S_JOB_CLEAR,
	S_JOB_ADD,
	S_JOB_GET,
	S_JOB_RETRY,
	S_JOBS_DUE,
	S_INBOX_ADD,
	S_INBOX_PRUNE,
	S_OUT_ADD,
	S_OUT_PENDING,
	S_OUT_DONE,
	S_OUT_RETRY,
	S_OUT_DEPTH,
	S_FEEDBACK_ADD,
	S_CURSOR_GET,
	S_CURSOR_PUT,
	S_INC_COUNTS,
	S_STAT_SOURCES,
	S_STAT_DECISIONS,
	S_STAT_STEPS,
	S_COUNT
};

struct fb_store_conn {
	sqlite3 *db;
	sqlite3_stmt *prepared[S_COUNT];
	fb_store_fault fault; /* why the last failed call failed */
};

#define FB_SQLITE_WAL_LIMIT "262144" /* bytes of WAL kept after a checkpoint */

#define INC_COLS                                                                                   \
	"id, status, node, category, severity, app, namespace, source, fingerprint, version, "     \
	"card_channel, card_ts, created_at, updated_at, state"

static const char *const sql_text[S_COUNT] = {
    [S_INC_INSERT] = "INSERT INTO incidents (" INC_COLS ") VALUES "
                     "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    [S_INC_UPDATE] = "UPDATE incidents SET status=?2, node=?3, category=?4, severity=?5, "
                     "app=?6, namespace=?7, source=?8, fingerprint=?9, version=?10, "
                     "updated_at=?14, state=?15 WHERE id=?1", /* the card: card_set */
    [S_INC_GET] = "SELECT " INC_COLS " FROM incidents WHERE id=?1",
    [S_INC_LIST_OPEN] = "SELECT " INC_COLS " FROM incidents WHERE status IN "
                        "('open','waiting','manual') ORDER BY created_at DESC, id DESC",
    [S_INC_LIST_ALL] = "SELECT " INC_COLS " FROM incidents ORDER BY created_at DESC, id DESC",
    [S_INC_BY_FP] = "SELECT " INC_COLS " FROM incidents WHERE fingerprint=?1 AND id<>?2 "
                    "AND status<>'grouped' ORDER BY created_at DESC, id DESC LIMIT 1",
    [S_CARD_SET] = "UPDATE incidents SET card_channel=?2, card_ts=?3 WHERE id=?1",
    [S_CKPT_ADD] = "INSERT INTO checkpoints (incident_id, seq, node, next, state, created_at) "
                   "VALUES (?1, (SELECT COALESCE(MAX(seq),0)+1 FROM checkpoints WHERE "
                   "incident_id=?1), ?2, ?3, ?4, ?5)",
    [S_CKPT_COUNT] = "SELECT COUNT(*) FROM checkpoints WHERE incident_id=?1",
    [S_TL_ADD] = "INSERT INTO timeline (incident_id, ts, actor, event, detail, kind, node, "
                 "outcome, value) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [S_TL_LIST] = "SELECT ts, actor, event, detail, kind, node, outcome, value FROM timeline "
                  "WHERE incident_id=?1 ORDER BY id",
    [S_JOB_CLEAR] = "DELETE FROM jobs WHERE incident_id=?1",
    [S_JOB_ADD] = "INSERT INTO jobs (incident_id, node, run_at, attempts, created_at) "
                  "VALUES (?1,?2,?3,0,?4)",
    [S_JOB_GET] = "SELECT id, incident_id, node, run_at, attempts FROM jobs "
                  "WHERE incident_id=?1",
    [S_JOB_RETRY] = "UPDATE jobs SET attempts=attempts+1, run_at=?2 WHERE id=?1",
    [S_JOBS_DUE] = "SELECT incident_id FROM jobs WHERE run_at <= ?1 ORDER BY run_at, id "
                   "LIMIT ?2",
    [S_INBOX_ADD] = "INSERT OR IGNORE INTO inbox (id, kind, received_at) VALUES (?1,?2,?3)",
    [S_INBOX_PRUNE] = "DELETE FROM inbox WHERE received_at < ?1",
    [S_OUT_ADD] = "INSERT INTO outbox (incident_id, method, channel, body, created_at) "
                  "VALUES (?1,?2,?3,?4,?5)",
    [S_OUT_PENDING] = "SELECT o.id, o.incident_id, o.method, o.channel, o.body, o.attempts, "
                      "COALESCE(i.card_ts,''), o.created_at FROM outbox o LEFT JOIN incidents i "
                      "ON i.id=o.incident_id WHERE o.status='pending' AND o.id > ?1 ORDER BY o.id",
    [S_OUT_DONE] = "UPDATE outbox SET status=?2, result=?3, attempts=attempts+1, sent_at=?4 "
                   "WHERE id=?1",
    [S_OUT_RETRY] = "UPDATE outbox SET attempts=attempts+1, result=?2 WHERE id=?1",
    [S_OUT_DEPTH] = "SELECT COUNT(*) FROM outbox WHERE status='pending'",
    [S_FEEDBACK_ADD] = "INSERT INTO feedback (incident_id, user, verdict, reason, created_at) "
                       "VALUES (?1,?2,?3,?4,?5)",
    [S_CURSOR_GET] = "SELECT value FROM cursors WHERE name=?1",
    [S_CURSOR_PUT] = "INSERT INTO cursors (name, value, updated_at) VALUES (?1,?2,?3) "
                     "ON CONFLICT(name) DO UPDATE SET value=?2, updated_at=?3",
    [S_INC_COUNTS] = "SELECT status, COUNT(*) FROM incidents GROUP BY status ORDER BY status",
    /* the aggregates read columns only (timeline_kind covers them) */
    [S_STAT_SOURCES] = "SELECT source, COUNT(*), 0 FROM incidents GROUP BY source ORDER BY source",
    [S_STAT_DECISIONS] = "SELECT outcome, COUNT(*), SUM(value) FROM timeline WHERE kind=?1 "
                         "GROUP BY outcome ORDER BY outcome",
    [S_STAT_STEPS] = "SELECT outcome, COUNT(*), 0 FROM timeline WHERE kind=?1 AND node=?2 "
                     "AND outcome<>'' GROUP BY outcome ORDER BY outcome",
};

/* ---- helpers ---- */

/* What the last failure means for an operator: the disk, the file's
 * mode, another process's lock, damage, or something else. */
static fb_store_fault classify(int code)
{
	switch (code & 0xff) {
	case SQLITE_FULL: return FB_STORE_FULL;
	case SQLITE_READONLY:
	case SQLITE_PERM: return FB_STORE_READONLY;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return FB_STORE_LOCKED;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return FB_STORE_CORRUPT;
	case SQLITE_IOERR: return FB_STORE_IO;
	default: return FB_STORE_OTHER;
	}
}

static fb_err failed(fb_store_conn *c, int code, const char *what, const char *msg)
{
	c->fault = classify(code);
	if (c->fault == FB_STORE_LOCKED)
		return fb_error_set(FB_EDB, "%s: the database is " FB_STORE_LOCKED_WORDS, what);
	return fb_error_set(FB_EDB, "%s: %s", what, msg);
}

static fb_err db_error(fb_store_conn *c, const char *what)
{
	return failed(c, sqlite3_extended_errcode(c->db), what, sqlite3_errmsg(c->db));
}

static fb_err exec(fb_store_conn *c, const char *sql)
{
	char *msg = NULL;
	int r = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (r != SQLITE_OK) {
		fb_err rc = failed(c, sqlite3_extended_errcode(c->db), sql,
		                   msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		return rc;
	}
	return FB_OK;
}

/* The statement, prepared once per connection and reset, with its
 * parameters bound in order from types: t text, i int64_t, d double. */
static sqlite3_stmt *prep(fb_store_conn *c, int which, const char *types, ...)
{
	sqlite3_stmt *s = c->prepared[which];
	va_list ap;

	if (!s) {
		if (sqlite3_prepare_v3(c->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, &s,
		                       NULL) != SQLITE_OK) {
			db_error(c, "preparing a statement");
			return NULL;
		}
		c->prepared[which] = s;
	} else {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	va_start(ap, types);
	for (int i = 1; *types; types++, i++) {
		if (*types == 't') {
			const char *v = va_arg(ap, const char *);
			sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
		} else if (*types == 'i') {
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		} else {
			sqlite3_bind_double(s, i, va_arg(ap, double));
		}
	}
	va_end(ap);
	return s;
}

static fb_err step_done(fb_store_conn *c, sqlite3_stmt *s, const char *what)
{
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r == SQLITE_DONE ? FB_OK : db_error(c, what);
}

/* A one-row, one-integer query. */
static fb_err step_int(fb_store_conn *c, sqlite3_stmt *s, const char *what, long *out)
{
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(c, what);
	}
	*out = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return FB_OK;
}

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	snprintf(dst, size, "%s", v ? (const char *)v : "");
}

static char *col_dup(sqlite3_stmt *s, int i, const char *empty)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	return strdup(v ? (const char *)v : empty);
}

/* Ends a loop over rows: r is the last sqlite3_step() answer. */
static fb_err rows_end(fb_store_conn *c, sqlite3_stmt *s, int r, const char *what)
{
	sqlite3_reset(s);
	if (r == SQLITE_DONE)
		return FB_OK;
	return r == SQLITE_ROW ? fb_error_set(FB_ENOMEM, "out of memory") : db_error(c, what);
}

static int sq_schema_version(fb_store_conn *c)
{
	return fb_sqlite_user_version_(c->db);
}

static void sq_close(fb_store_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->prepared[i]);
	sqlite3_close(c->db);
	free(c);
}

/* The first read of the file: a damaged header or another kind of file
 * says so here, in words an operator can act on. */
static fb_err readable(fb_store_conn *c, const char *path)
{
	int r = sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (r == SQLITE_NOTADB || r == SQLITE_CORRUPT)
		return fb_error_set(FB_EDB,
		                    "%s is not a firebreak database, or it is damaged (%s); "
		                    "move it aside or restore it from a backup",
		                    path, sqlite3_errmsg(c->db));
	return r == SQLITE_OK ? FB_OK : db_error(c, "reading the database");
}

/* A file SQLite opened read-only behind our back (mode 0444, a
 * read-only mount, a directory where -wal/-shm cannot be written) is
 * refused here rather than failing at the first commit. */
static fb_err writable_file(fb_store_conn *c, const char *path)
{
	if (sqlite3_db_readonly(c->db, "main") != 1)
		return FB_OK;
	c->fault = FB_STORE_READONLY;
	(void)path; /* the caller names the file */
	return fb_error_set(FB_EDB, "the database is read-only (its mode, its directory or a "
	                            "read-only mount): firebreak must write it; fix the "
	                            "permissions or the mount");
}

static fb_err sq_open(const char *path, int readonly, fb_store_conn **out)
{
	fb_store_conn *c = calloc(1, sizeof(*c));
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	fb_err rc;

	*out = NULL;
	if (!c)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = fb_error_set(FB_EDB, "opening %s: %s", path,
		                  c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sq_close(c);
		return rc;
	}
	sqlite3_busy_timeout(c->db, 5000);
	rc = readable(c, path);
	if (!rc && !readonly)
		rc = writable_file(c, path);
	if (!rc)
		rc = exec(c, "PRAGMA foreign_keys=ON");
	if (!rc && !readonly) /* the WAL shrinks back after a checkpoint (see reclaim) */
		rc = exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
		             "PRAGMA journal_size_limit=" FB_SQLITE_WAL_LIMIT);
	if (!rc && !readonly)
		rc = fb_sqlite_migrate_(c->db);
	if (!rc && readonly && fb_sqlite_user_version_(c->db) != FB_STORE_SCHEMA_VERSION)
		rc = fb_error_set(FB_EDB, "schema version %d, expected %d",
		                  fb_sqlite_user_version_(c->db), FB_STORE_SCHEMA_VERSION);
	if (rc) {
		rc = fb_error_wrap(rc, "%s", path);
		sq_close(c);
		return rc;
	}
	*out = c;
	return FB_OK;
}

/* ---- transactions: depth 0 the transaction, d > 0 savepoint sp<d> ---- */

static fb_err sq_begin(fb_store_conn *c, int depth)
{
	char sql[48];
	if (depth == 0)
		return exec(c, "BEGIN IMMEDIATE");
	snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", depth);
	return exec(c, sql);
}

static fb_err sq_commit(fb_store_conn *c, int depth)
{
	char sql[48];
	if (depth == 0)
		return exec(c, "COMMIT");
	snprintf(sql, sizeof(sql), "RELEASE sp%d", depth);
	return exec(c, sql);
}

static void sq_rollback(fb_store_conn *c, int depth)
{
	char sql[64];
	if (depth == 0) {
		if (!sqlite3_get_autocommit(c->db))
			exec(c, "ROLLBACK");
		return;
	}
	snprintf(sql, sizeof(sql), "ROLLBACK TO sp%d; RELEASE sp%d", depth, depth);
	exec(c, sql);
}

/* ---- incidents, checkpoints ---- */

static sqlite3_stmt *prep_incident(fb_store_conn *c, int which, const fb_incident_row *r)
{
	return prep(c, which, "tttttttttittiit", r->id, r->status, r->node, r->category,
	            r->severity, r->app, r->ns, r->source, r->fingerprint, (int64_t)r->version,
	            r->card_channel, r->card_ts, r->created_at, r->updated_at,
	            r->state ? r->state : "{}");
}

static fb_err sq_incident_insert(fb_store_conn *c, const fb_incident_row *row)
{
	sqlite3_stmt *s = prep_incident(c, S_INC_INSERT, row);
	return s ? step_done(c, s, "inserting an incident") : FB_EDB;
}

static fb_err sq_incident_update(fb_store_conn *c, const fb_incident_row *row)
{
	sqlite3_stmt *s = prep_incident(c, S_INC_UPDATE, row);
	fb_err rc = s ? step_done(c, s, "updating an incident") : FB_EDB;
	if (!rc && sqlite3_changes(c->db) != 1)
		return fb_error_set(FB_ENOTFOUND, "no incident %s", row->id);
	return rc;
}

static fb_incident_row *row_from(sqlite3_stmt *s)
{
	fb_incident_row *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	col_copy(s, 0, r->id, sizeof(r->id));
	col_copy(s, 1, r->status, sizeof(r->status));
	col_copy(s, 2, r->node, sizeof(r->node));
	col_copy(s, 3, r->category, sizeof(r->category));
	col_copy(s, 4, r->severity, sizeof(r->severity));
	col_copy(s, 5, r->app, sizeof(r->app));
	col_copy(s, 6, r->ns, sizeof(r->ns));
	col_copy(s, 7, r->source, sizeof(r->source));
	col_copy(s, 8, r->fingerprint, sizeof(r->fingerprint));
	r->version = (long)sqlite3_column_int64(s, 9);
	col_copy(s, 10, r->card_channel, sizeof(r->card_channel));
	col_copy(s, 11, r->card_ts, sizeof(r->card_ts));
	r->created_at = sqlite3_column_int64(s, 12);
	r->updated_at = sqlite3_column_int64(s, 13);
	if (!(r->state = col_dup(s, 14, "{}"))) {
		free(r);
		return NULL;
	}
	return r;
}

/* One incident row from s (bound): FB_ENOTFOUND with why when none. */
static fb_err one_incident(fb_store_conn *c, sqlite3_stmt *s, fb_incident_row **out,
                           const char *why)
{
	int r = SQLITE_DONE;
	if (!s)
		return FB_EDB;
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*out = row_from(s);
	sqlite3_reset(s);
	if (r == SQLITE_ROW)
		return *out ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
	if (r == SQLITE_DONE)
		return fb_error_set(FB_ENOTFOUND, "%s", why);
	return db_error(c, "reading an incident");
}

static fb_err sq_incident_get(fb_store_conn *c, const char *id, fb_incident_row **out)
{
	char why[100];
	snprintf(why, sizeof(why), "no incident %s", id);
	return one_incident(c, prep(c, S_INC_GET, "t", id), out, why);
}

static fb_err sq_incident_by_fingerprint(fb_store_conn *c, const char *fp, const char *not_id,
                                         fb_incident_row **out)
{
	char why[160];
	snprintf(why, sizeof(why), "no incident with fingerprint %.100s", fp);
	return one_incident(c, prep(c, S_INC_BY_FP, "tt", fp, not_id), out, why);
}

static fb_err sq_incident_list(fb_store_conn *c, int all, fb_incident_row ***rows, size_t *n)
{
	sqlite3_stmt *s = prep(c, all ? S_INC_LIST_ALL : S_INC_LIST_OPEN, "");
	fb_incident_row **v = NULL;
	size_t len = 0, cap = 0;
	fb_err rc;
	int r = SQLITE_DONE;

	if (!s)
		return FB_EDB;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (!fb_store_grow_((void **)&v, &cap, len, sizeof(*v)) || !(v[len] = row_from(s)))
			break;
		len++;
	}
	if ((rc = rows_end(c, s, r, "listing incidents"))) {
		fb_incident_rows_free(v, len);
		return rc;
	}
	*rows = v;
	*n = len;
	return FB_OK;
}

static fb_err sq_card_set(fb_store_conn *c, const char *incident_id, const char *channel,
                          const char *ts)
{
	sqlite3_stmt *s = prep(c, S_CARD_SET, "ttt", incident_id, channel, ts);
	return s ? step_done(c, s, "storing the card") : FB_EDB;
}

static fb_err sq_checkpoint_add(fb_store_conn *c, const char *incident_id, const char *node,
                                const char *next, const char *state)
{
	sqlite3_stmt *s = prep(c, S_CKPT_ADD, "tttti", incident_id, node, next, state, fb_now_ms());
	return s ? step_done(c, s, "writing a checkpoint") : FB_EDB;
}

static fb_err sq_checkpoint_count(fb_store_conn *c, const char *incident_id, long *n)
{
	sqlite3_stmt *s = prep(c, S_CKPT_COUNT, "t", incident_id);
	return s ? step_int(c, s, "counting checkpoints", n) : FB_EDB;
}

/* ---- the timeline ---- */

static fb_err sq_event_add(fb_store_conn *c, const fb_event *ev, const char *name, int64_t ts)
{
	sqlite3_stmt *s = prep(c, S_TL_ADD, "titttittd", ev->incident_id, ts, ev->actor, name,
	                       ev->detail, (int64_t)ev->kind, ev->node, ev->outcome, ev->value);
	return s ? step_done(c, s, "writing the timeline") : FB_EDB;
}

static fb_err sq_event_list(fb_store_conn *c, const char *incident_id, fb_timeline_entry **out,
                            size_t *n)
{
	sqlite3_stmt *s = prep(c, S_TL_LIST, "t", incident_id);
	fb_timeline_entry *v = NULL;
	size_t len = 0, cap = 0;
	fb_err rc;
	int r = SQLITE_DONE;

	if (!s)
		return FB_EDB;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (!fb_store_grow_((void **)&v, &cap, len, sizeof(*v)))
			break;
		fb_timeline_entry *e = &v[len];
		memset(e, 0, sizeof(*e));
		e->ts = sqlite3_column_int64(s, 0);
		col_copy(s, 1, e->actor, sizeof(e->actor));
		col_copy(s, 2, e->event, sizeof(e->event));
		e->kind = (fb_event_kind)sqlite3_column_int(s, 4);
		if (e->kind < FB_EV_OTHER || e->kind >= FB_EV_KINDS) /* from a newer build */
			e->kind = FB_EV_OTHER;
		col_copy(s, 5, e->node, sizeof(e->node));
		col_copy(s, 6, e->outcome, sizeof(e->outcome));
		e->value = sqlite3_column_double(s, 7);
		if (!(e->detail = col_dup(s, 3, "")))
			break;
		len++;
	}
	if ((rc = rows_end(c, s, r, "reading the timeline"))) {
		fb_timeline_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return FB_OK;
}

/* ---- jobs ---- */

static fb_err sq_job_clear(fb_store_conn *c, const char *incident_id)
{
	sqlite3_stmt *s = prep(c, S_JOB_CLEAR, "t", incident_id);
	return s ? step_done(c, s, "clearing a job") : FB_EDB;
}

static fb_err sq_job_put(fb_store_conn *c, const char *incident_id, const char *node,
                         int64_t run_at)
{
	sqlite3_stmt *s;
	fb_err rc = sq_job_clear(c, incident_id);
	if (rc)
		return rc;
	if (!(s = prep(c, S_JOB_ADD, "ttii", incident_id, node, run_at, fb_now_ms())))
		return FB_EDB;
	return step_done(c, s, "scheduling a job");
}

static fb_err sq_job_get(fb_store_conn *c, const char *incident_id, fb_job *out)
{
	sqlite3_stmt *s = prep(c, S_JOB_GET, "t", incident_id);
	int r = SQLITE_DONE;
	if (!s)
		return FB_EDB;
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, out->incident_id, sizeof(out->incident_id));
		col_copy(s, 2, out->node, sizeof(out->node));
		out->run_at = sqlite3_column_int64(s, 3);
		out->attempts = (long)sqlite3_column_int64(s, 4);
	}
	sqlite3_reset(s);
	if (r == SQLITE_ROW)
		return FB_OK;
	if (r == SQLITE_DONE)
		return fb_error_set(FB_ENOTFOUND, "incident %s has no pending job", incident_id);
	return db_error(c, "reading a job");
}

static fb_err sq_job_retry(fb_store_conn *c, int64_t job_id, int64_t run_at)
{
	sqlite3_stmt *s = prep(c, S_JOB_RETRY, "ii", job_id, run_at);
	return s ? step_done(c, s, "rescheduling a job") : FB_EDB;
}

static fb_err sq_jobs_due(fb_store_conn *c, int64_t now, char (*ids)[64], size_t max, size_t *n)
{
	sqlite3_stmt *s = prep(c, S_JOBS_DUE, "ii", now, (int64_t)max);
	int r = SQLITE_DONE;

	if (!s)
		return FB_EDB;
	while (*n < max && (r = sqlite3_step(s)) == SQLITE_ROW)
		col_copy(s, 0, ids[(*n)++], 64);
	sqlite3_reset(s);
	if (*n < max && r != SQLITE_DONE)
		return db_error(c, "listing due jobs");
	return FB_OK;
}

/* ---- inbox, outbox, feedback, cursors ---- */

static fb_err sq_inbox_add(fb_store_conn *c, const char *id, const char *kind, int *dup)
{
	sqlite3_stmt *s = prep(c, S_INBOX_ADD, "tti", id, kind, fb_now_ms());
	fb_err rc = s ? step_done(c, s, "recording an envelope") : FB_EDB;
	*dup = !rc && sqlite3_changes(c->db) == 0;
	return rc;
}

static fb_err sq_inbox_prune(fb_store_conn *c, int64_t before)
{
	sqlite3_stmt *s = prep(c, S_INBOX_PRUNE, "i", before);
	return s ? step_done(c, s, "pruning the inbox") : FB_EDB;
}

static fb_err sq_outbox_add(fb_store_conn *c, const char *incident_id, const char *method,
                            const char *channel, const char *body, int64_t *id)
{
	sqlite3_stmt *s =
	    prep(c, S_OUT_ADD, "tttti", incident_id, method, channel, body, fb_now_ms());
	fb_err rc = s ? step_done(c, s, "writing the outbox") : FB_EDB;
	if (!rc)
		*id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

static fb_err sq_outbox_pending(fb_store_conn *c, int64_t after, fb_outbox_row **out, size_t *n)
{
	sqlite3_stmt *s = prep(c, S_OUT_PENDING, "i", after);
	fb_outbox_row *v = NULL;
	size_t len = 0, cap = 0;
	fb_err rc;
	int r = SQLITE_DONE;

	if (!s)
		return FB_EDB;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (!fb_store_grow_((void **)&v, &cap, len, sizeof(*v)))
			break;
		fb_outbox_row *o = &v[len];
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, o->incident_id, sizeof(o->incident_id));
		col_copy(s, 2, o->method, sizeof(o->method));
		col_copy(s, 3, o->channel, sizeof(o->channel));
		o->attempts = (long)sqlite3_column_int64(s, 5);
		col_copy(s, 6, o->card_ts, sizeof(o->card_ts));
		o->created_ms = sqlite3_column_int64(s, 7);
		if (!(o->body = col_dup(s, 4, "{}")))
			break;
		len++;
	}
	if ((rc = rows_end(c, s, r, "reading the outbox"))) {
		fb_outbox_rows_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return FB_OK;
}

static fb_err sq_outbox_done(fb_store_conn *c, int64_t id, const char *status, const char *result)
{
	sqlite3_stmt *s = prep(c, S_OUT_DONE, "itti", id, status, result, fb_now_ms());
	return s ? step_done(c, s, "updating the outbox") : FB_EDB;
}

static fb_err sq_outbox_attempt(fb_store_conn *c, int64_t id, const char *result)
{
	sqlite3_stmt *s = prep(c, S_OUT_RETRY, "it", id, result);
	return s ? step_done(c, s, "updating the outbox") : FB_EDB;
}

static fb_err sq_outbox_depth(fb_store_conn *c, long *depth)
{
	sqlite3_stmt *s = prep(c, S_OUT_DEPTH, "");
	return s ? step_int(c, s, "counting the outbox", depth) : FB_EDB;
}

static fb_err sq_feedback_add(fb_store_conn *c, const char *incident_id, const char *user,
                              const char *verdict, const char *reason)
{
	sqlite3_stmt *s =
	    prep(c, S_FEEDBACK_ADD, "tttti", incident_id, user, verdict, reason, fb_now_ms());
	return s ? step_done(c, s, "storing feedback") : FB_EDB;
}

static fb_err sq_cursor_get(fb_store_conn *c, const char *name, char **value)
{
	sqlite3_stmt *s = prep(c, S_CURSOR_GET, "t", name);
	int r = SQLITE_DONE;
	if (!s)
		return FB_EDB;
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*value = col_dup(s, 0, "");
	sqlite3_reset(s);
	if (r == SQLITE_DONE)
		return fb_error_set(FB_ENOTFOUND, "no cursor %s", name);
	if (r != SQLITE_ROW)
		return db_error(c, "reading a cursor");
	return *value ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
}

static fb_err sq_cursor_put(fb_store_conn *c, const char *name, const char *value)
{
	sqlite3_stmt *s = prep(c, S_CURSOR_PUT, "tti", name, value, fb_now_ms());
	return s ? step_done(c, s, "writing a cursor") : FB_EDB;
}

/* ---- aggregates: columns only ---- */

static fb_err sq_stats(fb_store_conn *c, fb_store_stat which, fb_stat_row *rows, size_t max,
                       size_t *n)
{
	sqlite3_stmt *s;
	int r = SQLITE_DONE;

	if (which == FB_STAT_SOURCES)
		s = prep(c, S_STAT_SOURCES, "");
	else if (which == FB_STAT_DECISIONS)
		s = prep(c, S_STAT_DECISIONS, "i", (int64_t)FB_EV_DECISION);
	else
		s = prep(c, S_STAT_STEPS, "it", (int64_t)FB_EV_STEP,
		         which == FB_STAT_VERIFY ? "verify" : "apply");
	if (!s)
		return FB_EDB;
	while (*n < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		col_copy(s, 0, rows[*n].key, sizeof(rows[*n].key));
		rows[*n].count = (long)sqlite3_column_int64(s, 1);
		rows[*n].sum = sqlite3_column_double(s, 2);
		(*n)++;
	}
	sqlite3_reset(s);
	return *n == max || r == SQLITE_DONE ? FB_OK : db_error(c, "reading statistics");
}

static fb_err sq_incident_counts(fb_store_conn *c, char (*status)[16], long *counts, size_t max,
                                 size_t *n)
{
	sqlite3_stmt *s = prep(c, S_INC_COUNTS, "");
	int r = SQLITE_DONE;
	if (!s)
		return FB_EDB;
	while (*n < max && (r = sqlite3_step(s)) == SQLITE_ROW) {
		col_copy(s, 0, status[*n], 16);
		counts[(*n)++] = (long)sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return *n == max || r == SQLITE_DONE ? FB_OK : db_error(c, "counting incidents");
}

/* The engine's connection never checkpoints: a checkpoint inside a
 * commit is an fsync of the database file while an ack waits. */
static fb_err sq_defer_maintenance(fb_store_conn *c)
{
	return exec(c, "PRAGMA wal_autocheckpoint=0");
}

static fb_err sq_maintain(fb_store_conn *c, long *pending)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	*pending = 0;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return db_error(c, "checkpoint");
	*pending = log > done ? log - done : 0;
	return FB_OK;
}

/* After a failed write: a TRUNCATE checkpoint copies the WAL into the
 * database and cuts the WAL to nothing, giving its space back before the
 * next attempt (a full disk refilled by the WAL never recovers). */
static fb_err sq_reclaim(fb_store_conn *c)
{
	int r = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (r != SQLITE_OK && r != SQLITE_BUSY)
		return db_error(c, "checkpoint");
	return FB_OK;
}

static fb_store_fault sq_fault(fb_store_conn *c)
{
	return c->fault;
}

static void sq_fault_clear(fb_store_conn *c)
{
	c->fault = FB_STORE_OK;
}

const fb_store_backend fb_store_sqlite = {
    .version = FB_STORE_BACKEND_VERSION,
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .incident_insert = sq_incident_insert,
    .incident_update = sq_incident_update,
    .incident_get = sq_incident_get,
    .incident_list = sq_incident_list,
    .incident_by_fingerprint = sq_incident_by_fingerprint,
    .card_set = sq_card_set,
    .checkpoint_add = sq_checkpoint_add,
    .checkpoint_count = sq_checkpoint_count,
    .event_add = sq_event_add,
    .event_list = sq_event_list,
    .job_put = sq_job_put,
    .job_clear = sq_job_clear,
    .job_get = sq_job_get,
    .job_retry = sq_job_retry,
    .jobs_due = sq_jobs_due,
    .inbox_add = sq_inbox_add,
    .inbox_prune = sq_inbox_prune,
    .outbox_add = sq_outbox_add,
    .outbox_pending = sq_outbox_pending,
    .outbox_done = sq_outbox_done,
    .outbox_attempt = sq_outbox_attempt,
    .feedback_add = sq_feedback_add,
    .cursor_get = sq_cursor_get,
    .cursor_put = sq_cursor_put,
    .stats = sq_stats,
    .incident_counts = sq_incident_counts,
    .defer_maintenance = sq_defer_maintenance,
    .maintain = sq_maintain,
    .outbox_depth = sq_outbox_depth,
    .reclaim = sq_reclaim,
    .fault = sq_fault,
    .fault_clear = sq_fault_clear,
};
