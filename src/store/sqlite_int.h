/*
 * sqlite_int.h - private to the SQLite backend (sqlite.c and
 * sqlite_schema.c): the schema's migrations.
 */
#ifndef FIREBREAK_SQLITE_INT_H
#define FIREBREAK_SQLITE_INT_H

#include <sqlite3.h>
#include "firebreak/error.h"

/* PRAGMA user_version; -1 when unreadable. */
int fb_sqlite_user_version_(sqlite3 *db);
/* Brings the schema to FB_STORE_SCHEMA_VERSION; refuses a newer one. */
fb_err fb_sqlite_migrate_(sqlite3 *db);

#endif
