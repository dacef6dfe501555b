/*
 * sqlite_schema.c - the SQLite backend's schema and its history: one
 * migration per version, applied by PRAGMA user_version, each in its own
 * transaction; schema 5 types the older timeline rows (legacy.c).  Part
 * of the SQLite backend (sqlite.c); runs on the thread that opens a
 * read-write connection (the engine, at start-up).
 */
#include <sqlite3.h>
#include <stdio.h>

#include "firebreak/store.h"
#include "sqlite_int.h"
#include "store_int.h"

static fb_err backfill_events(sqlite3 *db);

static const struct {
	const char *sql;
	fb_err (*then)(sqlite3 *db); /* a step in C after the SQL, or NULL */
} migrations[] = {
    /* 1: the core */
    {"CREATE TABLE incidents ("
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
     NULL},
    /* 2: Slack - the envelope dedupe, the outbox, feedback */
    {"CREATE TABLE inbox ("
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
     NULL},
    /* 3: where each source has read up to */
    {"CREATE TABLE cursors ("
     " name TEXT PRIMARY KEY,"
     " value TEXT NOT NULL,"
     " updated_at INTEGER NOT NULL);",
     NULL},
    /* 4: the metrics' aggregates read indexes, not the incidents' state */
    {"CREATE INDEX timeline_event ON timeline(event);"
     "CREATE INDEX incidents_source ON incidents(source);",
     NULL},
    /* 5: typed events: the metrics read these columns, never the detail;
     * the older rows get theirs from backfill_events() */
    {"ALTER TABLE timeline ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE timeline ADD COLUMN node TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE timeline ADD COLUMN outcome TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE timeline ADD COLUMN value REAL NOT NULL DEFAULT 0;"
     "DROP INDEX timeline_event;"
     "CREATE INDEX timeline_kind ON timeline(kind, node, outcome, value);",
     backfill_events},
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(N_MIGRATIONS == FB_STORE_SCHEMA_VERSION, "one migration per schema version");

static fb_err db_error(sqlite3 *db, const char *what)
{
	return fb_error_set(FB_EDB, "%s: %s", what, sqlite3_errmsg(db));
}

static fb_err exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fb_err rc = fb_error_set(FB_EDB, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return rc;
	}
	return FB_OK;
}

int fb_sqlite_user_version_(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Schema 5: the typed columns of the rows written before, read back from
 * their names and prose once (legacy.c), and a decision's seconds from
 * its incident's creation. */
static fb_err backfill_events(sqlite3 *db)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	char node[32], outcome[FB_OUTCOME_MAX], sql[200];
	fb_event_kind kind;
	fb_err rc = FB_OK;
	int r = SQLITE_DONE;

	if (sqlite3_prepare_v2(db, "SELECT id, event, detail FROM timeline", -1, &sel, NULL) ||
	    sqlite3_prepare_v2(db, "UPDATE timeline SET kind=?2, node=?3, outcome=?4 WHERE id=?1",
	                       -1, &upd, NULL))
		rc = db_error(db, "reading the timeline");
	while (!rc && (r = sqlite3_step(sel)) == SQLITE_ROW) {
		fb_store_legacy_event_((const char *)sqlite3_column_text(sel, 1),
		                       (const char *)sqlite3_column_text(sel, 2), &kind, node,
		                       outcome);
		sqlite3_reset(upd);
		sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_int(upd, 2, (int)kind);
		sqlite3_bind_text(upd, 3, node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(upd, 4, outcome, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(upd) != SQLITE_DONE)
			rc = db_error(db, "typing the timeline");
	}
	if (!rc && r != SQLITE_DONE)
		rc = db_error(db, "reading the timeline");
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	snprintf(sql, sizeof(sql),
	         "UPDATE timeline SET value = (ts - COALESCE((SELECT created_at FROM incidents i "
	         "WHERE i.id = timeline.incident_id), ts)) / 1000.0 WHERE kind = %d",
	         (int)FB_EV_DECISION);
	return rc ? rc : exec(db, sql);
}

/* Applies each missing migration in its own transaction, so a crash
 * half-way leaves the database at the last whole version. */
fb_err fb_sqlite_migrate_(sqlite3 *db)
{
	int v = fb_sqlite_user_version_(db);
	char pragma[64];

	if (v < 0)
		return db_error(db, "reading the schema version");
	if (v > N_MIGRATIONS)
		return fb_error_set(FB_EDB,
		                    "database schema version %d is newer than this firebreak (%d)",
		                    v, N_MIGRATIONS);
	for (; v < N_MIGRATIONS; v++) {
		fb_err rc = exec(db, "BEGIN IMMEDIATE");
		if (!rc)
			rc = exec(db, migrations[v].sql);
		if (!rc && migrations[v].then)
			rc = migrations[v].then(db);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
		if (!rc)
			rc = exec(db, pragma);
		if (!rc)
			rc = exec(db, "COMMIT");
		if (rc) {
			exec(db, "ROLLBACK");
			return fb_error_wrap(rc, "migrating the database to version %d", v + 1);
		}
	}
	return FB_OK;
}
