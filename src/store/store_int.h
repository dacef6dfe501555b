/*
 * store_int.h - private to the store module (store.c, store_aux.c): the
 * connection, its prepared statements, and the helpers both files use.
 * Not a public header: nothing outside the store includes it.
 */
#ifndef FIREBREAK_STORE_INT_H
#define FIREBREAK_STORE_INT_H

#include <sqlite3.h>
#include "firebreak/store.h"

enum {
	S_INC_INSERT,
	S_INC_UPDATE,
	S_INC_GET,
	S_INC_LIST_OPEN,
	S_INC_LIST_ALL,
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
	S_CARD_SET,
	S_FEEDBACK_ADD,
	S_INC_COUNTS,
	S_STAT_SOURCES,
	S_STAT_DECISIONS,
	S_STAT_VERIFY,
	S_STAT_APPLY,
	S_INC_BY_FP,
	S_CURSOR_GET,
	S_CURSOR_PUT,
	S_OUT_DEPTH,
	S_COUNT
};

struct fb_store {
	sqlite3 *db;
	int readonly;
	int depth; /* transaction nesting: 0 = none, >1 = savepoints */
	sqlite3_stmt *prepared[S_COUNT];
};

/* Prepared once per connection, reset before each use (NULL on failure). */
sqlite3_stmt *fb_store_stmt_(fb_store *st, int which);
fb_err fb_store_step_done_(fb_store *st, sqlite3_stmt *s, const char *what);
fb_err fb_store_db_error_(fb_store *st, const char *what);
void fb_store_bind_text_(sqlite3_stmt *s, int i, const char *v);
void fb_store_col_copy_(sqlite3_stmt *s, int i, char *dst, size_t size);
fb_incident_row *fb_store_row_from_(sqlite3_stmt *s);
/* Makes room for one more element of size elem in *v (len used of *cap);
 * 0 when out of memory (the array is unchanged). */
int fb_store_grow_(void **v, size_t *cap, size_t len, size_t elem);

#endif
