/*
 * store_aux.c - the store's tables around the incidents: the envelope
 * dedupe (inbox), the Slack outbox and the card, feedback, source cursors,
 * fingerprint lookups and the aggregates behind /metrics.  Same module and
 * same rules as store.c (one writer, statements prepared once); split out
 * so that each file holds one idea.  The engine thread calls these.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The short names of the private helpers (store_int.h). */
#define stmt fb_store_stmt_
#define step_done fb_store_step_done_
#define db_error fb_store_db_error_
#define bind_text fb_store_bind_text_
#define col_copy fb_store_col_copy_
#define row_from fb_store_row_from_

fb_err fb_store_inbox_add(fb_store *st, const char *id, const char *kind, int *dup)
{
	sqlite3_stmt *s = stmt(st, S_INBOX_ADD);
	fb_err rc;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, id);
	bind_text(s, 2, kind);
	sqlite3_bind_int64(s, 3, fb_now_ms());
	rc = step_done(st, s, "recording an envelope");
	*dup = !rc && sqlite3_changes(st->db) == 0;
	return rc;
}

fb_err fb_store_inbox_prune(fb_store *st, int64_t before)
{
	sqlite3_stmt *s = stmt(st, S_INBOX_PRUNE);
	if (!s)
		return FB_EDB;
	sqlite3_bind_int64(s, 1, before);
	return step_done(st, s, "pruning the inbox");
}

fb_err fb_store_outbox_add(fb_store *st, const char *incident_id, const char *method,
                           const char *channel, const char *body, int64_t *id)
{
	sqlite3_stmt *s = stmt(st, S_OUT_ADD);
	fb_err rc;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	bind_text(s, 2, method);
	bind_text(s, 3, channel);
	bind_text(s, 4, body);
	sqlite3_bind_int64(s, 5, fb_now_ms());
	rc = step_done(st, s, "writing the outbox");
	if (!rc && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

void fb_outbox_rows_free(fb_outbox_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].body);
	free(rows);
}

fb_err fb_store_outbox_pending(fb_store *st, int64_t after, fb_outbox_row **out, size_t *n)
{
	sqlite3_stmt *s = stmt(st, S_OUT_PENDING);
	fb_outbox_row *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (!s)
		return FB_EDB;
	sqlite3_bind_int64(s, 1, after);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (!fb_store_grow_((void **)&v, &cap, len, sizeof(*v)))
			break;
		fb_outbox_row *o = &v[len];
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, o->incident_id, sizeof(o->incident_id));
		col_copy(s, 2, o->method, sizeof(o->method));
		col_copy(s, 3, o->channel, sizeof(o->channel));
		const unsigned char *b = sqlite3_column_text(s, 4);
		if (!(o->body = strdup(b ? (const char *)b : "{}")))
			break;
		o->attempts = (long)sqlite3_column_int64(s, 5);
		col_copy(s, 6, o->card_ts, sizeof(o->card_ts));
		len++;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE) {
		fb_outbox_rows_free(v, len);
		return r == SQLITE_ROW ? fb_error_set(FB_ENOMEM, "out of memory")
		                       : db_error(st, "reading the outbox");
	}
	*out = v;
	*n = len;
	return FB_OK;
}

fb_err fb_store_outbox_done(fb_store *st, int64_t id, const char *status, const char *result)
{
	sqlite3_stmt *s = stmt(st, S_OUT_DONE);
	if (!s)
		return FB_EDB;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, status);
	bind_text(s, 3, result);
	sqlite3_bind_int64(s, 4, fb_now_ms());
	return step_done(st, s, "updating the outbox");
}

fb_err fb_store_outbox_attempt(fb_store *st, int64_t id, const char *result)
{
	sqlite3_stmt *s = stmt(st, S_OUT_RETRY);
	if (!s)
		return FB_EDB;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, result);
	return step_done(st, s, "updating the outbox");
}

fb_err fb_store_card_set(fb_store *st, const char *incident_id, const char *channel, const char *ts)
{
	sqlite3_stmt *s = stmt(st, S_CARD_SET);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	bind_text(s, 2, channel);
	bind_text(s, 3, ts);
	return step_done(st, s, "storing the card");
}

fb_err fb_store_feedback_add(fb_store *st, const char *incident_id, const char *user,
                             const char *verdict, const char *reason)
{
	sqlite3_stmt *s = stmt(st, S_FEEDBACK_ADD);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, incident_id);
	bind_text(s, 2, user);
	bind_text(s, 3, verdict);
	bind_text(s, 4, reason);
	sqlite3_bind_int64(s, 5, fb_now_ms());
	return step_done(st, s, "storing feedback");
}

fb_err fb_store_incident_counts(fb_store *st, char (*status)[16], long *counts, size_t max,
                                size_t *n)
{
	sqlite3_stmt *s = stmt(st, S_INC_COUNTS);
	int r;
	*n = 0;
	if (!s)
		return FB_EDB;
	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		col_copy(s, 0, status[*n], 16);
		counts[(*n)++] = (long)sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE || r == SQLITE_ROW ? FB_OK : db_error(st, "counting incidents");
}

fb_err fb_store_outbox_depth(fb_store *st, long *depth)
{
	sqlite3_stmt *s = stmt(st, S_OUT_DEPTH);
	if (!s)
		return FB_EDB;
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(st, "counting the outbox");
	}
	*depth = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return FB_OK;
}

fb_err fb_store_incident_by_fingerprint(fb_store *st, const char *fp, const char *not_id,
                                        fb_incident_row **out)
{
	sqlite3_stmt *s = stmt(st, S_INC_BY_FP);
	int r;

	*out = NULL;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, fp);
	bind_text(s, 2, not_id ? not_id : "");
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*out = row_from(s);
	sqlite3_reset(s);
	if (r == SQLITE_ROW)
		return *out ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
	if (r == SQLITE_DONE)
		return fb_error_set(FB_ENOTFOUND, "no incident with fingerprint %s", fp);
	return db_error(st, "finding an incident");
}

fb_err fb_store_cursor_get(fb_store *st, const char *name, char **value)
{
	sqlite3_stmt *s = stmt(st, S_CURSOR_GET);
	int r;
	*value = NULL;
	if (!s)
		return FB_EDB;
	bind_text(s, 1, name);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(s, 0);
		*value = strdup(v ? (const char *)v : "");
	}
	sqlite3_reset(s);
	if (r == SQLITE_DONE)
		return fb_error_set(FB_ENOTFOUND, "no cursor %s", name);
	if (r != SQLITE_ROW)
		return db_error(st, "reading a cursor");
	return *value ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
}

fb_err fb_store_cursor_put(fb_store *st, const char *name, const char *value)
{
	sqlite3_stmt *s = stmt(st, S_CURSOR_PUT);
	if (!s)
		return FB_EDB;
	bind_text(s, 1, name);
	bind_text(s, 2, value);
	sqlite3_bind_int64(s, 3, fb_now_ms());
	return step_done(st, s, "writing a cursor");
}

fb_err fb_store_stats(fb_store *st, fb_store_stat which, fb_stat_row *rows, size_t max, size_t *n)
{
	static const int stmt_of[] = {S_STAT_SOURCES, S_STAT_DECISIONS, S_STAT_VERIFY,
	                              S_STAT_APPLY};
	sqlite3_stmt *s = stmt(st, stmt_of[which]);
	int r;
	*n = 0;
	if (!s)
		return FB_EDB;
	while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		col_copy(s, 0, rows[*n].key, sizeof(rows[*n].key));
		rows[*n].count = (long)sqlite3_column_int64(s, 1);
		rows[*n].sum = sqlite3_column_double(s, 2);
		(*n)++;
	}
	sqlite3_reset(s);
	return r == SQLITE_DONE || r == SQLITE_ROW ? FB_OK : db_error(st, "reading statistics");
}
