/*
 * lifecycle.h - what people do to an incident besides deciding on a fix:
 * acknowledge it, assign it, snooze it, resolve it, reopen it, close it as
 * a duplicate or won't-fix.  One entry point for the CLI, Slack (buttons,
 * modals, /incidents sub-commands) and the HTTP API.
 *
 * Each step is one transaction on the read-write store: the typed state
 * (state.h, "lifecycle"), the status column, a timeline entry (who, when,
 * the note) and the card through the graph's on_step hook, so the Slack
 * outbox rows commit with the change or not at all.  A refusal (unknown
 * id, a step that does not apply to the status, a snooze in the past, a
 * duplicate of itself) changes nothing and says why in fb_error_last().
 *
 * Statuses: open, waiting, manual (need people), resolved, closed
 * (duplicate or won't-fix), and the graph's rejected, recorded, failed,
 * grouped.  A reopened incident is "open" at node end: it waits for a
 * person to resolve or close it again.
 */
#ifndef FIREBREAK_LIFECYCLE_H
#define FIREBREAK_LIFECYCLE_H

#include <stdint.h>
#include "firebreak/error.h"
#include "firebreak/graph.h"

typedef enum {
	FB_LIFE_ACK = 1, /* who is on it */
	FB_LIFE_ASSIGN,  /* to a Slack user (other_id: U… or W…) */
	FB_LIFE_SNOOZE,  /* until (ms since the epoch, in the future) */
	FB_LIFE_RESOLVE, /* with a note; a waiting incident's decision is dropped */
	FB_LIFE_REOPEN,  /* a resolved, closed, rejected or failed one: open again */
	FB_LIFE_CLOSE,   /* as a duplicate of other_id, or won't-fix when other_id is "" */
	FB_LIFE_WAKE,    /* the snooze ended (the durable timer; not a person's step) */
} fb_life_kind;

typedef struct {
	fb_life_kind op;
	const char *id;       /* the incident */
	const char *user;     /* who does it (a Slack user id, or a name from the CLI) */
	const char *note;     /* optional */
	int64_t until;        /* SNOOZE: ms since the epoch */
	const char *other_id; /* ASSIGN: the assignee; CLOSE: the original ("" = won't-fix) */
	const char *via;      /* cli, slack, api */
} fb_life_op;

/* The op's name (ack, assign, ...) and back: 0 for an unknown name. */
const char *fb_lifecycle_name(fb_life_kind op);
fb_life_kind fb_lifecycle_parse(const char *name);

/*
 * Does the op, in one transaction (a savepoint when the caller holds
 * one, as the Slack dispatcher does).  FB_ENOTFOUND for an unknown id,
 * FB_ESTATE when the op does not apply to the incident's status,
 * FB_EINVAL for bad arguments; nothing is changed then.
 */
fb_err fb_lifecycle_do(const fb_graph_env *env, const fb_life_op *op);

/*
 * "4h", "30m", "2d", "1h30m" (from now), "monday" (the next Monday 09:00
 * UTC), or an ISO 8601 time "2026-12-01T09:00:00Z" -> ms since the
 * epoch.  FB_EINVAL otherwise.
 */
fb_err fb_lifecycle_parse_until(const char *s, int64_t now_ms, int64_t *out);

/* The snooze job's node name: fb_graph runs it as FB_LIFE_WAKE. */
#define FB_LIFECYCLE_WAKE_NODE "snooze_end"

/* The newer incident's side of "a repeat after resolution": links both
 * (state.previous on the new one, followed_by on the old one) and writes
 * a timeline line on each, in the caller's transaction. */
fb_err fb_lifecycle_link_repeat(const fb_graph_env *env, fb_incident_row *old_row,
                                fb_state *new_state);

#endif
