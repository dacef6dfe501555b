/*
 * source.h - the source family's face: where signals come from.  A source
 * is one `const fb_source_ops` (loki, logfile, alertmanager, manual),
 * found by name in one table (source.c).  A poller runs on a thread of
 * its own that the engine starts (ingest.c): open from the config and the
 * committed cursors, poll until stopped, close.  A webhook has no thread:
 * the engine hands it a request body to parse.  Either way the source
 * hands over a batch -- signals plus the cursor that follows them -- and
 * the engine commits the two in one transaction (fb_ingest_commit), so a
 * restart neither repeats nor skips a line.  Sources never touch the
 * store and never render anything.
 *
 * Adding one: a file in src/sources/ defining `const fb_source_ops
 * fb_source_<name>`, its row in source.c, its config keys in config.c.
 */
#ifndef FIREBREAK_SOURCE_H
#define FIREBREAK_SOURCE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "firebreak/config.h"
#include "firebreak/error.h"

#define FB_SOURCE_OPS_VERSION 1
#define FB_SOURCE_CURSORS 8   /* cursors one poller may commit */
#define FB_SOURCE_NAME_MAX 64 /* a cursor's name, with its NUL */

typedef enum {
	FB_SIGNAL_FIRING = 0, /* a problem: an incident, or a repeat of one */
	FB_SIGNAL_RESOLVED    /* the problem with this fingerprint went away */
} fb_signal_status;

/* One thing observed.  Strings are the batch's own. */
typedef struct {
	char *text; /* firing: the excerpt, raw (masked before it is stored);
	             * resolved: the line the incident's thread shows */
	size_t len;
	char app[128];          /* "" when the source cannot tell */
	char fingerprint[80];   /* "" : classify makes one from the content */
	char triggered_by[128]; /* the person or source that raised it */
	fb_signal_status status;
	char ends_at[40]; /* resolved: when, as the source said ("" unknown) */
} fb_source_signal;

/* What one poll (or one webhook body) produced, handed over whole. */
typedef struct {
	char source[16];                      /* the incidents' source: loki, file, ... */
	char cursor_name[FB_SOURCE_NAME_MAX]; /* "" for a webhook or a person */
	char *cursor;                         /* the source's own text; NULL: none */
	fb_source_signal *signals;
	size_t n, cap;
} fb_source_batch;

/* FB_EINVAL for a source name that does not fit. */
fb_err fb_source_batch_new(const char *source, fb_source_batch **out);
/* Appends a signal: fields copied from sig (its text ignored), text[0..len)
 * copied; *added (may be NULL) points at it until the next add. */
fb_err fb_source_batch_add(fb_source_batch *b, const fb_source_signal *sig, const char *text,
                           size_t len, fb_source_signal **added);
/* Takes cursor (may be NULL). */
void fb_source_batch_set_cursor(fb_source_batch *b, const char *name, char *cursor);
void fb_source_batch_free(fb_source_batch *b);

/* The app a set of labels names (app, app.kubernetes.io/name, container,
 * deployment, statefulset, service, job: the first present); "" if none.
 * The one rule for every source. */
const char *fb_source_app_from_labels(const cJSON *labels);

/* Where a poller puts its batches (called on the poller's thread). */
typedef struct {
	void (*put)(void *ctx, fb_source_batch *b); /* the callee owns b */
	void *ctx;
} fb_source_sink;

typedef struct fb_source_ops {
	int version;      /* must: FB_SOURCE_OPS_VERSION */
	const char *name; /* must: the table's key (config, logs) */

	/* must: 1 when the config turns this source on */
	int (*enabled)(const fb_config *cfg);

	/* -- pollers -- */

	/* may: the names of the cursors the poller commits, in its own order;
	 * returns how many (at most FB_SOURCE_CURSORS).  Absent: none. */
	size_t (*cursor_names)(const fb_config *cfg, char names[][FB_SOURCE_NAME_MAX]);
	/* must: a poller from the config; cursors[i] is the committed value of
	 * the i-th cursor name, or NULL (the engine read them; copy what you
	 * keep).  Runs on the engine thread. */
	fb_err (*open)(const fb_config *cfg, const char *const *cursors, void **out);
	/* must: one poll, on the poller's thread; hands what it read to sink
	 * and sets *next_wait_ms (the engine backs off after failures).  An
	 * error (the message in fb_error_last) counts as one failure. */
	fb_err (*poll)(void *poller, const fb_source_sink *sink, int64_t *next_wait_ms);
	/* must: frees what open made (the poller's thread has ended) */
	void (*close)(void *poller);

	/* -- webhooks -- */

	/* must: a request body to a batch; FB_EINVAL with a message a sender
	 * can act on when the body is not what this source takes. */
	fb_err (*parse)(const fb_config *cfg, const char *body, size_t len, fb_source_batch **out);
} fb_source_ops;

/* The table: NULL for an unknown name; fb_source_at(i) for i = 0, 1, ...
 * until NULL. */
const fb_source_ops *fb_source_find(const char *name);
const fb_source_ops *fb_source_at(size_t i);

/*
 * The manual source: a person's trigger (Slack's /incidents trigger and
 * form, the CLI's triage, the API's POST /api/v1/incidents).  Its parse
 * takes the API body {"log": "...", "user": "...", "app": "..."}; the
 * others call this constructor.  FB_EINVAL for an empty excerpt.
 */
typedef struct {
	const char *via;  /* slack, cli, api: the incident's source */
	const char *text; /* the excerpt as the person gave it */
	size_t len;
	const char *user; /* who; NULL or "": via */
	const char *app;  /* optional */
} fb_manual_trigger;

fb_err fb_source_manual_new(const fb_manual_trigger *t, fb_source_batch **out);

#endif
