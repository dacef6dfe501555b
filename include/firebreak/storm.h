/*
 * storm.h - storm control's decision (README "Storms"): when new
 * incidents reach one channel faster than storm.rate a minute, each new
 * one either joins a group of incidents with the same category and a
 * shared cause (namespace, node, deployment/app, an upstream error
 * signature) seen within storm.window, or goes into the channel's digest;
 * the storm lasts while the rate holds, and storm.window after its last
 * incident.  Below the rate every incident gets its own card.
 *
 * Pure logic over one channel's record, a cJSON object the caller keeps
 * durable (stormcard.c keeps it in the store's cursors, in the step's
 * transaction): no I/O, no clock (now is an argument, ms since the epoch).
 * Engine thread only.
 *
 * The record: {"seq": N, "recent": [entry...], "cards": [card...]} where
 * an entry is {"id","app","sev","cat","status","keys":[...],"t","in"} (in:
 * the storm card that holds it, "" for its own card) and a card is
 * {"id","kind":"group"|"digest","cat","keys":[...],"ts","last",
 * "members":[{"id","app","sev","cat","status","open"}...]} (open: the
 * member's own card exists, in the channel or in the card's thread).
 */
#ifndef FIREBREAK_STORM_H
#define FIREBREAK_STORM_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "firebreak/domain.h"
#include "firebreak/state.h"

#define FB_STORM_KEYS 4

/* One incident as storm control sees it. */
typedef struct {
	char id[64], app[128], severity[16], category[32], status[16];
	char keys[FB_STORM_KEYS][160]; /* "ns:…", "node:…", "app:…", "sig:…" */
	size_t n_keys;
} fb_storm_incident;

typedef enum {
	FB_STORM_OWN = 0, /* its own card, as outside a storm */
	FB_STORM_GROUP,   /* a member of a group card */
	FB_STORM_DIGEST   /* a line of the channel's digest */
} fb_storm_route;

/* The incident's category, severity, status and cause keys. */
void fb_storm_incident_of(const fb_incident_row *row, const fb_state *state,
                          fb_storm_incident *out);

/*
 * Routes a new incident (its first card) in a channel's record.  rate:
 * storm.rate (0: never a storm); window_ms: storm.window.  card: the
 * storm card it joined ("" for OWN); also: another storm card the step
 * changed (members moved from the digest into a new group), or "".
 */
fb_storm_route fb_storm_route_new(cJSON *rec, const char *channel, long rate, int64_t window_ms,
                                  const fb_storm_incident *inc, int64_t now, char card[64],
                                  char also[64]);

/* The storm card incident id is a member of (NULL: none); *open: its own
 * card exists. */
cJSON *fb_storm_card_of(const cJSON *rec, const char *id, int *open);
/* Finds a storm card by its id (NULL: none). */
cJSON *fb_storm_card(const cJSON *rec, const char *card_id);
/* A member's status or severity changed: updates it; 1 when it changed. */
int fb_storm_member_update(cJSON *card, const fb_storm_incident *inc);
/* Marks the member's own card as existing; 0 when it already did. */
int fb_storm_member_open(cJSON *card, const char *id);

#endif
