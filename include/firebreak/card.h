/*
 * card.h - what firebreak shows in Slack: the incident card, its thread
 * lines, the full diff, replies to slash commands, and the modals.  Each
 * builder turns an incident (or a message key) into template variables
 * and renders a template from blocks/ (see tmpl.h).  Results are cJSON
 * objects the caller owns: messages are {"text", "blocks", ...} without
 * a channel; modals are views.
 */
#ifndef FIREBREAK_CARD_H
#define FIREBREAK_CARD_H

#include <cjson/cJSON.h>
#include "firebreak/error.h"
#include "firebreak/state.h"
#include "firebreak/domain.h"
#include "firebreak/card_text.h"
#include "firebreak/tmpl.h"

/* Diffs longer than this are cut on the card and posted whole in the thread. */
#define FB_CARD_DIFF_MAX 2500

/* *diff_cut is set when the card shows only the start of the diff. */
fb_err fb_card_incident(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                        cJSON **out, int *diff_cut);
/* The whole diff as thread messages (an array), for a diff the card cut. */
fb_err fb_card_diff_parts(const fb_tmpl *t, const fb_state *state, cJSON **out);
/* One progress line for the card's thread. */
fb_err fb_card_thread(const fb_tmpl *t, const char *node, const char *line, cJSON **out);
/* The same from a line that is already mrkdwn (mentions kept). */
fb_err fb_card_thread_md(const fb_tmpl *t, const char *node, const char *line_md, cJSON **out);
/* The thread line for a step the engine reports (apply, verify, report,
 * repeat, resolved, propose after an edit), said from the state in the
 * card's locale; other steps get detail as it is. */
fb_err fb_card_step_line(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                         const char *node, const char *detail, cJSON **out);
/* The thread line for a decision, a sentence (thread_decision_<action>):
 * who (a mention), what it does, the note. */
fb_err fb_card_decision_line(const fb_tmpl *t, const fb_state_decision *decision, cJSON **out);
fb_err fb_card_list(const fb_tmpl *t, fb_incident_row **rows, size_t n, int all, cJSON **out);
fb_err fb_card_help(const fb_tmpl *t, cJSON **out);
/* A reply from the catalog message key, expanded with vars (may be NULL). */
fb_err fb_card_reply(const fb_tmpl *t, const char *key, const cJSON *vars, cJSON **out);
/* One incident as a reply: a short form of the card. */
fb_err fb_card_modal_edit(const fb_tmpl *t, const fb_state *state, const char *meta, cJSON **out);
fb_err fb_card_modal_reject(const fb_tmpl *t, const char *id, const char *meta, cJSON **out);
fb_err fb_card_modal_trigger(const fb_tmpl *t, const char *meta, cJSON **out);

/* "<@U123>" for a Slack user id, else the name escaped for mrkdwn. */
char *fb_card_who(const char *user);

#endif
