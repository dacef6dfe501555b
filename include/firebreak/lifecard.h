/*
 * lifecard.h - what the card and its thread say about an incident's
 * lifecycle (lifecycle.h): who is on it, to whom it is assigned, the
 * snooze, who resolved, closed or reopened it, the incident it follows;
 * which lifecycle buttons the card shows; the Resolve, Snooze and Assign
 * modals.  Pure functions of their inputs over the message catalogs
 * (tmpl.h); the engine thread calls them while it commits.
 */
#ifndef FIREBREAK_LIFECARD_H
#define FIREBREAK_LIFECARD_H

#include <cjson/cJSON.h>
#include "firebreak/buf.h"
#include "firebreak/domain.h"
#include "firebreak/state.h"
#include "firebreak/tmpl.h"

/* Appends the lifecycle's status lines (mrkdwn) to b, one per line. */
void fb_lifecard_status(const fb_tmpl *t, const fb_state *state, int64_t now_ms, fb_buf *b);

/*
 * Sets the card's button flags in vars: "actions" when the card has any
 * button; "buttons" (approve, reject) and "editable" stay the card's;
 * "ack_button" on a waiting or manual card nobody acknowledged,
 * "manual_buttons" (Resolve, Snooze, Assign) on a card that needs a
 * person, "reopen_button" on an ended one.
 */
void fb_lifecard_buttons(const fb_incident_row *row, const fb_state *state, cJSON *vars);

/* The thread line for a lifecycle op (lifecycle.h's names, or
 * "followed"); *out is NULL when the op has no line. */
fb_err fb_lifecard_thread(const fb_tmpl *t, const fb_state *state, const char *op, cJSON **out);

/* The modal for a card button: op is resolve, snooze or assign; meta is
 * the view's private_metadata.  FB_EINVAL for another op. */
fb_err fb_lifecard_modal(const fb_tmpl *t, const char *op, const char *id, const char *meta,
                         cJSON **out);

#endif
