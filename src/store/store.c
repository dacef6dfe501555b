/*
 * store.c - owns the SQLite database: schema migrations, the one
 * read-write connection's prepared statements, and the row types that
 * cross the module edge.  Runs on whichever thread opened the store (the
 * engine for the read-write connection; workers open read-only ones).
 *
 * Durability: WAL with synchronous=FULL, so a commit is on disk when
 * fb_store_commit() returns; that is what lets callers acknowledge only
 * after committing.  Every write happens inside BEGIN IMMEDIATE so the one
 * writer never meets SQLITE_BUSY half-way through a transaction.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/store.h"
#include "store_int.h"

/* The short names of the private helpers (store_int.h). */
#define stmt fb_store_stmt_
#define step_done fb_store_step_done_
#define db_error fb_store_db_error_
#define bind_text fb_store_bind_text_
#define col_copy fb_store_col_copy_
#define row_from fb_store_row_from_

#define INC_COLS                                                                                   \
	"id, status, node, category, severity, app, namespace, source, fingerprint, version, "     \
	"card_channel, card_ts, created_at, updated_at, state"

static const char *const sql_text[S_COUNT] = {
    [S_INC_INSERT] = "INSERT INTO incidents (" INC_COLS ") VALUES "
                     "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    [S_INC_UPDATE] = "UPDATE incidents SET status=?2, node=?3, category=?4, severity=?5, "
                     "app=?6, namespace=?7, source=?8, fingerprint=?9, version=?10, "
                     "updated_at=?14, state=?15 WHERE id=?1", /* the card: fb_store_card_set */
    [S_INC_GET] = "SELECT " INC_COLS " FROM incidents WHERE id=?1",
    [S_INC_LIST_OPEN] = "SELECT " INC_COLS " FROM incidents WHERE status IN "
                        "('open','waiting','manual') ORDER BY created_at DESC, id DESC",
    [S_INC_LIST_ALL] = "SELECT " INC_COLS " FROM incidents ORDER BY created_at DESC, id DESC",
    [S_CKPT_ADD] = "INSERT INTO checkpoints (incident_id, seq, node, next, state, created_at) "
                   "VALUES (?1, (SELECT COALESCE(MAX(seq),0)+1 FROM checkpoints WHERE "
                   "incident_id=?1), ?2, ?3, ?4, ?5)",
    [S_CKPT_COUNT] = "SELECT COUNT(*) FROM checkpoints WHERE incident_id=?1",
    [S_TL_ADD] = "INSERT INTO timeline (incident_id, ts, actor, event, detail) "
                 "VALUES (?1,?2,?3,?4,?5)",
    [S_TL_LIST] = "SELECT ts, actor, event, detail FROM timeline WHERE incident_id=?1 "
                  "ORDER BY id",
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
                      "COALESCE(i.card_ts,'') FROM outbox o LEFT JOIN incidents i "
                      "ON i.id=o.incident_id WHERE o.status='pending' AND o.id > ?1 ORDER BY o.id",
    [S_OUT_DONE] = "UPDATE outbox SET status=?2, result=?3, attempts=attempts+1, sent_at=?4 "
                   "WHERE id=?1",
    [S_OUT_RETRY] = "UPDATE outbox SET attempts=attempts+1, result=?2 WHERE id=?1",
    [S_CARD_SET] = "UPDATE incidents SET card_channel=?2, card_ts=?3 WHERE id=?1",
    [S_INC_BY_FP] = "SELECT " INC_COLS " FROM incidents WHERE fingerprint=?1 AND id<>?2 "
                    "AND status<>'grouped' "
                    "ORDER BY created_at DESC, id DESC LIMIT 1",
    [S_CURSOR_GET] = "SELECT value FROM cursors WHERE name=?1",
    [S_CURSOR_PUT] = "INSERT INTO cursors (name, value, updated_at) VALUES (?1,?2,?3) "
                     "ON CONFLICT(name) DO UPDATE SET value=?2, updated_at=?3",
    [S_STAT_SOURCES] = "SELECT source, COUNT(*), 0 FROM incidents GROUP BY source ORDER BY source",
    [S_STAT_DECISIONS] = "SELECT substr(t.event, 10), COUNT(*), SUM(t.ts - i.created_at) / 1000.0 "
                         "FROM timeline t JOIN incidents i ON i.id = t.incident_id "
                         "WHERE t.event IN ('decision.approve','decision.reject','decision.edit') "
                         "GROUP BY t.event ORDER BY t.event",
    [S_STAT_VERIFY] =
        "SELECT substr(detail, 1, instr(detail, ':') - 1), COUNT(*), 0 FROM timeline "
        "WHERE event = 'node.verify' AND instr(detail, ':') > 1 GROUP BY 1 ORDER BY 1",
    [S_STAT_APPLY] = "SELECT CASE WHEN detail LIKE 'committed%' THEN 'committed' ELSE 'other' END, "
                     "COUNT(*), 0 FROM timeline WHERE event = 'node.apply' GROUP BY 1 ORDER BY 1",
    [S_INC_COUNTS] = "SELECT status, COUNT(*) FROM incidents GROUP BY status ORDER BY status",
    [S_OUT_DEPTH] = "SELECT COUNT(*) FROM outbox WHERE status='pending'",
    [S_FEEDBACK_ADD] = "INSERT INTO feedback (incident_id, user, verdict, reason, created_at) "
                       "VALUES (?1,?2,?3,?4,?5)",
};

static const char *const migrations[] = {
    /* 1: the core */
    "CREATE TABLE incidents ("
    " id TEXT PRIMARY KEY,"
    " status TEXT NOT NULL,"
    " node TEXT NOT NULL,"
    " category TEXT NOT NULL DEFAULT '',"
    " severity TEXT NOT NULL DEFAULT '',"
    " app TEXT NOT NULL DEFAULT '',"
    " namespace TEXT NOT NULL DEFAULT '',"
    " source TEXT NOT NULL DEFAULT '',"
    " fingerprint TEXT NOT NULL DEFAULT '',"
    " version INTEGER NOT NULL DEFAULT 0,"
    " card_channel TEXT NOT NULL DEFAULT '',"
    " card_ts TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " state TEXT NOT NULL);"
    "CREATE INDEX incidents_status ON incidents(status);"
    "CREATE INDEX incidents_fingerprint ON incidents(fingerprint);"
    "CREATE TABLE checkpoints ("
    " id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL REFERENCES incidents(id),"
    " seq INTEGER NOT NULL,"
    " node TEXT NOT NULL,"
    " next TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (incident_id, seq));"
    "CREATE TABLE timeline ("
    " id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL REFERENCES incidents(id),"
    " ts INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX timeline_incident ON timeline(incident_id, id);"
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL UNIQUE REFERENCES incidents(id),"
    " node TEXT NOT NULL,"
    " run_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX jobs_due ON jobs(run_at);",
    /* 2: Slack - the envelope dedupe, the outbox, feedback */
    "CREATE TABLE inbox ("
    " id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " received_at INTEGER NOT NULL);"
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL DEFAULT '',"
    " method TEXT NOT NULL,"
    " channel TEXT NOT NULL DEFAULT '',"
    " body TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " result TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " sent_at INTEGER);"
    "CREATE INDEX outbox_pending ON outbox(status, id);"
    "CREATE TABLE feedback ("
    " id INTEGER PRIMARY KEY,"
    " incident_id TEXT NOT NULL REFERENCES incidents(id),"
    " user TEXT NOT NULL,"
    " verdict TEXT NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL);",
    /* 3: where each source has read up to */
    "CREATE TABLE cursors ("
    " name TEXT PRIMARY KEY,"
    " value TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);",
    /* 4: the metrics' aggregates read indexes, not the incidents' state */
    "CREATE INDEX timeline_event ON timeline(event);"
    "CREATE INDEX incidents_source ON incidents(source);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int64_t fb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

fb_err fb_store_db_error_(fb_store *st, const char *what)
{
	return fb_error_set(FB_EDB, "%s: %s", what, sqlite3_errmsg(st->db));
}

static fb_err exec(fb_store *st, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fb_err rc = fb_error_set(FB_EDB, "%s", msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return rc;
	}
	return FB_OK;
}

static int user_version(fb_store *st)
{
	sqlite3_stmt *s;
	int v = -1;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

int fb_store_schema_version(fb_store *st)
{
	return user_version(st);
}

/* Applies each missing migration in its own transaction, so a crash
 * half-way leaves the database at the last whole version. */
static fb_err migrate(fb_store *st)
{
	int v = user_version(st);
	char pragma[64];

	if (v < 0)
		return db_error(st, "reading schema version");
	if (v > N_MIGRATIONS)
		return fb_error_set(FB_EDB,
		                    "database schema version %d is newer than this firebreak (%d)",
		                    v, N_MIGRATIONS);
	for (; v < N_MIGRATIONS; v++) {
		fb_err rc = exec(st, "BEGIN IMMEDIATE");
		if (!rc)
			rc = exec(st, migrations[v]);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
		if (!rc)
			rc = exec(st, pragma);
		if (!rc)
			rc = exec(st, "COMMIT");
		if (rc) {
			exec(st, "ROLLBACK");
			return fb_error_wrap(rc, "migrating the database to version %d", v + 1);
		}
	}
	return FB_OK;
}

fb_err fb_store_open(const char *path, int readonly, fb_store **out)
{
	fb_store *st = calloc(1, sizeof(*st));
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	fb_err rc;

	*out = NULL;
	if (!st)
		return fb_error_set(FB_ENOMEM, "out of memory");
	st->readonly = readonly;
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = fb_error_set(FB_EDB, "opening %s: %s", path,
		                  st->db ? sqlite3_errmsg(st->db) : "out of memory");
		fb_store_free(st);
		return rc;
	}
	sqlite3_busy_timeout(st->db, 5000);
	rc = exec(st, "PRAGMA foreign_keys=ON");
	if (!rc && !readonly)
		rc = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
	if (!rc && !readonly)
		rc = migrate(st);
	if (!rc && readonly && user_version(st) != N_MIGRATIONS)
		rc = fb_error_set(FB_EDB, "%s: schema version %d, expected %d", path,
		                  user_version(st), N_MIGRATIONS);
	if (rc) {
		rc = fb_error_wrap(rc, "%s", path);
		fb_store_free(st);
		return rc;
	}
	*out = st;
	return FB_OK;
}

void fb_store_free(fb_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->prepared[i]);
	sqlite3_close(st->db);
	free(st);
}

/* Prepared once per connection, reset before each use. */
sqlite3_stmt *fb_store_stmt_(fb_store *st, int which)
{
	sqlite3_stmt *s = st->prepared[which];
	if (!s) {
		if (sqlite3_prepare_v3(st->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT,
		                       &st->prepared[which], NULL) != SQLITE_OK) {
			db_error(st, "preparing a statement");
			return NULL;
		}
		return st->prepared[which];
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

fb_err fb_store_step_done_(fb_store *st, sqlite3_stmt *s, const char *what)
{
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return db_error(st, what);
	return FB_OK;
}

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE, inner ones are
 * savepoints.  So the dispatcher can hold the envelope's dedupe row and
 * everything the envelope causes (a decision, its outbox rows) in one
 * transaction while fb_graph_decide() keeps its own begin/commit.
 */
fb_err fb_store_begin(fb_store *st)
{
	char sql[48];
	fb_err rc;

	if (st->depth == 0)
		rc = exec(st, "BEGIN IMMEDIATE");
	else {
		snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", st->depth);
		rc = exec(st, sql);
	}
	if (!rc)
		st->depth++;
	return rc;
}

fb_err fb_store_commit(fb_store *st)
{
	char sql[48];
	fb_err rc;

	if (st->depth <= 0)
		return fb_error_set(FB_EDB, "commit without a transaction");
	st->depth--;
	if (st->depth == 0)
		rc = exec(st, "COMMIT");
	else {
		snprintf(sql, sizeof(sql), "RELEASE sp%d", st->depth);
		rc = exec(st, sql);
	}
	if (rc)
		st->depth++; /* still open: the caller rolls back */
	return rc;
}

void fb_store_rollback(fb_store *st)
{
	char sql[64];

	if (st->depth <= 0)
		return;
	st->depth--;
	if (st->depth == 0) {
		if (!sqlite3_get_autocommit(st->db))
			exec(st, "ROLLBACK");
	} else {
		snprintf(sql, sizeof(sql), "ROLLBACK TO sp%d; RELEASE sp%d", st->depth, st->depth);
		exec(st, sql);
	}
}

void fb_store_bind_text_(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static void bind_incident(sqlite3_stmt *s, const fb_incident_row *r)
{
	bind_text(s, 1, r->id);
	bind_text(s, 2, r->status);
	bind_text(s, 3, r->node);
	bind_text(s, 4, r->category);
	bind_text(s, 5, r->severity);
	bind_text(s, 6, r->app);
	bind_text(s, 7, r->ns);
	bind_text(s, 8, r->source);
	bind_text(s, 9, r->fingerprint);
	sqlite3_bind_int64(s, 10, r->version);
	bind_text(s, 11, r->card_channel);
	bind_text(s, 12, r->card_ts);
	sqlite3_bind_int64(s, 13, r->created_at);
	sqlite3_bind_int64(s, 14, r->updated_at);
	bind_text(s, 15, r->state ? r->state : "{}");
}

fb_err fb_store_incident_insert(fb_store *st, const fb_incident_row *row)
{
	sqlite3_stmt *s = stmt(st, S_INC_INSERT);
	if (!s)
		return FB_EDB;
	bind_incident(s, row);
	return step_done(st, s, "inserting an incident");
}

fb_err fb_store_incident_update(fb_store *st, const fb_incident_row *row)
{
	sqlite3_stmt *s = stmt(st, S_INC_UPDATE);
	fb_err rc;
	if (!s)
		return FB_EDB;
	bind_incident(s, row);
	rc = step_done(st, s, "updating an incident");
	if (!rc && sqlite3_changes(st->db) != 1)
		return fb_error_set(FB_ENOTFOUND, "no incident %s", row->id);
	return rc;
}

void fb_store_col_copy_(sqlite3_stmt *s, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	snprintf(dst, size, "%s", v ? (const char *)v : "");
}

fb_incident_row *fb_store_row_from_(sqlite3_stmt *s)
{
	fb_incident_row *r = calloc(1, sizeof(*r));
	const unsigned char *state;

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
	state = sqlite3_column_text(s, 14);
	r->state = strdup(state ? (const char *)state : "{}");
	if (!r->state) {
		free(r);
		return NULL;
	}
	return r;
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

fb_err fb_store_incident_get(fb_store *st, const char *id, fb_incident_row **out)
{
	sqlite3_stmt *s = stmt(st, S_INC_GET);
	int r;

	*out = NULL;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*out = row_from(s);
		sqlite3_reset(s);
		return *out ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
	}
	sqlite3_reset(s);
	if (r == SQLITE_DONE)
		return fb_error_set(FB_ENOTFOUND, "no incident %s", id);
	return db_error(st, "reading an incident");
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

fb_err fb_store_incident_list(fb_store *st, int all, fb_incident_row ***rows, size_t *n)
{
	sqlite3_stmt *s = stmt(st, all ? S_INC_LIST_ALL : S_INC_LIST_OPEN);
	fb_incident_row **v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*rows = NULL;
	*n = 0;
	if (!s)
		return FB_EDB;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (!fb_store_grow_((void **)&v, &cap, len, sizeof(*v)))
			break;
		if (!(v[len] = row_from(s)))
			break;
		len++;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		fb_incident_rows_free(v, len);
		return r == SQLITE_ROW ? fb_error_set(FB_ENOMEM, "out of memory")
		                       : db_error(st, "listing incidents");
	}
	*rows = v;
	*n = len;
	return FB_OK;
}

fb_err fb_store_checkpoint_add(fb_store *st, const char *incident_id, const char *node,
                               const char *next, const char *state)
{
	sqlite3_stmt *s = stmt(st, S_CKPT_ADD);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	bind_text(s, 2, node);
	bind_text(s, 3, next);
	bind_text(s, 4, state);
	sqlite3_bind_int64(s, 5, fb_now_ms());
	return step_done(st, s, "writing a checkpoint");
}

fb_err fb_store_checkpoint_count(fb_store *st, const char *incident_id, long *n)
{
	sqlite3_stmt *s = stmt(st, S_CKPT_COUNT);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(st, "counting checkpoints");
	}
	*n = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return FB_OK;
}

fb_err fb_store_timeline_add(fb_store *st, const char *incident_id, const char *actor,
                             const char *event, const char *detail)
{
	sqlite3_stmt *s = stmt(st, S_TL_ADD);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	sqlite3_bind_int64(s, 2, fb_now_ms());
	bind_text(s, 3, actor);
	bind_text(s, 4, event);
	bind_text(s, 5, detail);
	return step_done(st, s, "writing the timeline");
}

fb_err fb_store_timeline_list(fb_store *st, const char *incident_id, fb_timeline_entry **out,
                              size_t *n)
{
	sqlite3_stmt *s = stmt(st, S_TL_LIST);
	fb_timeline_entry *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (!fb_store_grow_((void **)&v, &cap, len, sizeof(*v)))
			break;
		fb_timeline_entry *e = &v[len];
		e->ts = sqlite3_column_int64(s, 0);
		col_copy(s, 1, e->actor, sizeof(e->actor));
		col_copy(s, 2, e->event, sizeof(e->event));
		const unsigned char *d = sqlite3_column_text(s, 3);
		e->detail = strdup(d ? (const char *)d : "");
		if (!e->detail)
			break;
		len++;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		fb_timeline_free(v, len);
		return r == SQLITE_ROW ? fb_error_set(FB_ENOMEM, "out of memory")
		                       : db_error(st, "reading the timeline");
	}
	*out = v;
	*n = len;
	return FB_OK;
}

void fb_timeline_free(fb_timeline_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].detail);
	free(entries);
}

fb_err fb_store_job_clear(fb_store *st, const char *incident_id)
{
	sqlite3_stmt *s = stmt(st, S_JOB_CLEAR);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	return step_done(st, s, "clearing a job");
}

fb_err fb_store_job_put(fb_store *st, const char *incident_id, const char *node, int64_t run_at)
{
	sqlite3_stmt *s;
	fb_err rc = fb_store_job_clear(st, incident_id);
	if (rc)
		return rc;
	if (!(s = stmt(st, S_JOB_ADD)))
		return FB_EDB;
	bind_text(s, 1, incident_id);
	bind_text(s, 2, node);
	sqlite3_bind_int64(s, 3, run_at);
	sqlite3_bind_int64(s, 4, fb_now_ms());
	return step_done(st, s, "scheduling a job");
}

fb_err fb_store_job_get(fb_store *st, const char *incident_id, fb_job *out)
{
	sqlite3_stmt *s = stmt(st, S_JOB_GET);
	int r;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
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
	return db_error(st, "reading a job");
}

fb_err fb_store_job_retry(fb_store *st, int64_t job_id, int64_t run_at)
{
	sqlite3_stmt *s = stmt(st, S_JOB_RETRY);
	if (!s)
		return FB_EDB;
	sqlite3_bind_int64(s, 1, job_id);
	sqlite3_bind_int64(s, 2, run_at);
	return step_done(st, s, "rescheduling a job");
}

fb_err fb_store_jobs_due(fb_store *st, int64_t now, char (*ids)[64], size_t max, size_t *n)
{
	sqlite3_stmt *s = stmt(st, S_JOBS_DUE);
	int r;

	*n = 0;
	if (!s)
		return FB_EDB;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		col_copy(s, 0, ids[(*n)++], 64);
	sqlite3_reset(s);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return db_error(st, "listing due jobs");
	return FB_OK;
}

/* ---- Slack: envelope dedupe, outbox, card, feedback ---- */
