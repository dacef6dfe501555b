/*
 * log.c - owns the process-wide log level and the logfmt line writer.
 * Any thread may log; each line is written with a single fputs so lines
 * from different threads do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firebreak/log.h"

static volatile fb_log_level min_level = FB_LOG_INFO;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void fb_log_set_level(fb_log_level lvl)
{
	min_level = lvl;
}

int fb_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void fb_log(fb_log_level lvl, const char *event, const char *fmt, ...)
{
	char line[2048], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s event=%s ", ts,
	             now.tv_nsec / 1000000L, level_names[lvl], event);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, stderr);
}

const char *fb_log_value(const char *s, char *out, size_t outsz)
{
	size_t o = 0;
	int quote = (*s == '\0') || strpbrk(s, " \t\n\r\"=\\") != NULL;

	if (outsz < 3) {
		if (outsz)
			out[0] = '\0';
		return out;
	}
	if (quote)
		out[o++] = '"';
	for (; *s && o + 4 < outsz; s++) {
		char c = *s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if ((unsigned char)c < 0x20) {
			out[o++] = ' ';
		} else {
			out[o++] = c;
		}
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}
