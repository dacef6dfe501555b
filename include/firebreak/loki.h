/*
 * loki.h - the Loki source (fb_source_loki in the source table): a poller
 * that reads query_range (forward) for each configured LogQL query and
 * hands the new lines to the engine, one signal per stream, together with
 * the cursor that follows them.  The engine commits the signals and the
 * cursor in one transaction, so a restart neither repeats nor skips a
 * line: the cursor is the start (inclusive, ns) plus the keys of the
 * lines already taken at exactly that nanosecond.  Find it with
 * fb_source_find("loki").
 */
#ifndef FIREBREAK_LOKI_H
#define FIREBREAK_LOKI_H

#include "firebreak/source.h"

/* The name of the cursor of query (for tests and tools). */
void fb_loki_cursor_name(const char *query, char out[64]);

#endif
