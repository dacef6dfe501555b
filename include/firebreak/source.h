/*
 * source.h - what a polling source (Loki, a log file) hands the engine:
 * the signals of one poll and the cursor that follows them, committed
 * together so that a restart neither repeats nor skips a line.
 */
#ifndef FIREBREAK_SOURCE_H
#define FIREBREAK_SOURCE_H

#include <cjson/cJSON.h>

typedef struct {
	char source[16];      /* "loki", "file": the incidents' source */
	char cursor_name[64]; /* the key in the cursors table */
	char *cursor;         /* the source's own JSON */
	cJSON *signals;       /* [{"labels": {...}, "text": "..."}] */
} fb_source_batch;

void fb_source_batch_free(fb_source_batch *b);

#endif
