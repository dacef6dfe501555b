/*
 * dispatch.h - turns Socket Mode envelopes into decisions, incidents and
 * replies, and incident steps into Slack outbox rows.  Engine thread only:
 * it writes through the engine's store connection.
 *
 * fb_dispatch_envelope() holds, in one transaction, the envelope's dedupe
 * row, what the envelope causes (a decision, a new incident, feedback) and
 * the outbox rows that tell Slack about it; only then does it return the
 * ack, which the caller sends.  A duplicate envelope changes nothing and
 * is acked again.
 */
#ifndef FIREBREAK_DISPATCH_H
#define FIREBREAK_DISPATCH_H

#include <stddef.h>
#include "firebreak/config.h"
#include "firebreak/graph.h"
#include "firebreak/tmpl.h"

typedef struct {
	fb_graph_env *env; /* its store is the engine's read-write connection */
	const fb_tmpl *tmpl;
	long envelopes, duplicates, decisions, refusals;
} fb_dispatch;

/*
 * Handles one envelope.  On success *ack is the JSON to send back
 * (malloc'd).  On failure nothing was committed and no ack should be
 * sent, so that Slack may deliver it again.
 */
fb_err fb_dispatch_envelope(fb_dispatch *d, const char *json, size_t len, char **ack);

/* POST /api/v1/incidents/{id}/feedback: {"verdict": good|bad, "reason"?, "user"?}. */
fb_err fb_dispatch_api_feedback(fb_dispatch *d, const char *id, const char *body, size_t len);

/*
 * POST /api/v1/incidents/{id}/{ack,assign,snooze,resolve,reopen,close}
 * (dispatch_life.c): {"user"?, "note"?, "until"? (snooze: 4h, monday, an
 * ISO time), "to"? (assign: U…), "duplicate_of"? | "wontfix": true
 * (close)}.  The caller's transaction; the lifecycle's errors (FB_EINVAL,
 * FB_ENOTFOUND, FB_ESTATE) say what was refused.
 */
fb_err fb_dispatch_api_life(fb_dispatch *d, const char *id, const char *op, const char *body,
                            size_t len);

/* Tells a user, ephemerally, the catalog message key (its own transaction). */
fb_err fb_dispatch_notify(fb_dispatch *d, const char *channel, const char *user, const char *key);

/* The graph's on_step hook: the card and its thread (fb_graph_env). */
fb_err fb_dispatch_on_step(void *ctx, fb_store *st, const fb_incident_row *row,
                           const fb_state *state, const char *node, const char *detail);

#endif
