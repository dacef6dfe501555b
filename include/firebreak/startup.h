/*
 * startup.h - what `firebreak serve` makes sure of before it starts (see
 * startup.c): one serve per database, and no source whose incidents would
 * reach no one.  check-config asks the same question.
 */
#ifndef FIREBREAK_STARTUP_H
#define FIREBREAK_STARTUP_H

#include <stddef.h>
#include "firebreak/config.h"
#include "firebreak/error.h"

/*
 * 1 when a source is on (Loki, the Alertmanager hook, log files) and no
 * channel is set for its incidents; why gets one line naming the source,
 * the keys that turned it on and the key to set.  0 otherwise.
 */
int fb_startup_source_without_channel(const fb_config *cfg, char *why, size_t whysz);

/*
 * Takes the lock of the database at db_path: an fcntl write lock on
 * "<db_path>.lock" (created 0600), with this process's pid written in it,
 * held until fb_startup_unlock or the process ends.  FB_ECONFLICT when
 * another process holds it ("another serve (pid N) holds DB; stop it
 * first"), FB_EIO when the file cannot be opened.  Only serve takes it:
 * CLI commands on the same database keep working.
 */
fb_err fb_startup_lock(const char *db_path, int *fd_out);
void fb_startup_unlock(int fd); /* -1: nothing */

#endif
