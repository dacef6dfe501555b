/*
 * filelog.h - the log-file source, for hosts without Loki: a thread that
 * follows each configured file (through rotation by rename and by
 * truncation) and hands the lines matching logfile.pattern to the engine
 * as a source batch, with a cursor (device, inode, offset) committed
 * alongside, so a restart resumes where the last committed batch ended.
 */
#ifndef FIREBREAK_FILELOG_H
#define FIREBREAK_FILELOG_H

#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/source.h"

typedef struct fb_filelog fb_filelog;

typedef struct {
	const fb_config *cfg;
	/* the committed cursor of each path, in the order of logfile.paths */
	const char *cursors[FB_LOGFILE_PATHS];
	/* filelog thread: hands over a batch (the callee owns it) */
	void (*on_batch)(void *ctx, fb_source_batch *b);
	void *ctx;
} fb_filelog_opts;

/* NULL *out (and FB_OK) when no path is configured; FB_EINVAL for a bad
 * logfile.pattern. */
fb_err fb_filelog_start(const fb_filelog_opts *o, fb_filelog **out);
void fb_filelog_stop(fb_filelog *f);
void fb_filelog_cursor_name(const char *path, char out[64]);

#endif
