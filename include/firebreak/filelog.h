/*
 * filelog.h - the log-file source (fb_source_logfile, "logfile" in the
 * source table), for hosts without Loki: a poller that follows each
 * configured file (through rotation by rename and by truncation) and
 * hands the lines matching logfile.pattern to the engine as a batch, with
 * a cursor (device, inode, offset) committed alongside, so a restart
 * resumes where the last committed batch ended.  Its incidents' source is
 * "file".
 */
#ifndef FIREBREAK_FILELOG_H
#define FIREBREAK_FILELOG_H

#include "firebreak/source.h"

/* The name of the cursor of path (for tests and tools). */
void fb_filelog_cursor_name(const char *path, char out[64]);

#endif
