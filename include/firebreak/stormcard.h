/*
 * stormcard.h - storm control in Slack (README "Storms"): a group card
 * and the channel's digest, each one message updated in place, and the
 * member cards they hold back.  The decision is storm.h's; this keeps
 * each channel's record durable (the store's cursor "storm:<channel>",
 * written in the step's or envelope's transaction), renders the storm
 * cards (blocks/storm.json, within Block Kit's limits however many
 * members) and writes their outbox rows (incident id "storm-…",
 * priority above any incident's, so a storm card goes first).  Engine
 * thread only.
 */
#ifndef FIREBREAK_STORMCARD_H
#define FIREBREAK_STORMCARD_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "firebreak/config.h"
#include "firebreak/domain.h"
#include "firebreak/state.h"
#include "firebreak/store.h"
#include "firebreak/tmpl.h"

/*
 * A graph step of an incident with a card in channel.  first: the step
 * would write the incident's card (it has none yet).  *held = 1: the
 * incident is in a storm card and its own card is not posted (nothing
 * else to write for this step).  thread_ts: when its card was opened in
 * a storm card's thread, that thread's ts (its thread lines go there);
 * otherwise "".
 */
fb_err fb_stormcard_step(const fb_config *cfg, const fb_tmpl *t, fb_store *st,
                         const fb_incident_row *row, const fb_state *state, const char *channel,
                         int first, int *held, char thread_ts[32]);

/*
 * Someone picked incident id from storm card card_id (the menu's value
 * is "<id>|0|<card_id>"): marks its card open and *thread_ts is the storm
 * card's ts, under which the caller posts the incident's card.  FB_ENOTFOUND: no storm card holds it; FB_ESTATE:
 * its card is already out; FB_ECONFLICT: the storm card has no ts yet.
 */
fb_err fb_stormcard_open(fb_store *st, const char *card_id, const char *id, char thread_ts[32]);

/* The storm card card_id was posted as ts (the sender's answer). */
fb_err fb_stormcard_sent(fb_store *st, const char *card_id, const char *ts);

/* The storm card as a message ({"text", "blocks"}), for a test or a post. */
fb_err fb_stormcard_render(const fb_tmpl *t, const cJSON *card, cJSON **out);

#endif
