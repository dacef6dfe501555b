/*
 * log.h - one line per event on stderr, key=value, never a secret.
 *
 * fb_log(FB_LOG_INFO, "incident.created", "id=%s app=%s", id, app) prints
 *   ts=2026-11-21T17:16:14.123Z level=info event=incident.created id=... app=...
 * Callers pass values that were already masked; fb_log_value() quotes a
 * free-text value (spaces, quotes, newlines) for the key=value format.
 */
#ifndef FIREBREAK_LOG_H
#define FIREBREAK_LOG_H

#include <stddef.h>

typedef enum { FB_LOG_DEBUG, FB_LOG_INFO, FB_LOG_WARN, FB_LOG_ERROR } fb_log_level;

void fb_log_set_level(fb_log_level lvl);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int fb_log_level_parse(const char *s);
void fb_log(fb_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes s as a logfmt value into out (quoted and escaped when needed). */
const char *fb_log_value(const char *s, char *out, size_t outsz);

#endif
