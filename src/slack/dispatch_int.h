/*
 * dispatch_int.h - what dispatch.c shares with dispatch_life.c (the
 * lifecycle's buttons, modals and /incidents sub-commands) and
 * dispatch_feedback.c (/feedback and the API's feedback).  Engine
 * thread only, inside the envelope's transaction.
 */
#ifndef FIREBREAK_DISPATCH_INT_H
#define FIREBREAK_DISPATCH_INT_H

#include "firebreak/dispatch.h"

/* An ephemeral catalog message to user in channel (takes vars). */
fb_err fb_dispatch_ephemeral(fb_dispatch *d, const char *channel, const char *user, const char *key,
                             cJSON *vars);
/* views.open through the outbox (takes view). */
fb_err fb_dispatch_open_view(fb_dispatch *d, const char *trigger, cJSON *view, const char *user,
                             const char *channel);
/* A reply from the catalog (takes vars). */
fb_err fb_dispatch_reply(fb_dispatch *d, const char *key, cJSON *vars, cJSON **reply);
/* "incident-…" of the right shape. */
int fb_dispatch_valid_id(const char *s);
/* Slack's &amp; &lt; &gt; back to characters (malloc'd). */
char *fb_dispatch_unescape(const char *s);

/* An outbox row (takes body; adds the channel). */
fb_err fb_dispatch_out_put(fb_dispatch *d, const char *incident, const char *method,
                           const char *channel, cJSON *body);

/* dispatch_feedback.c: /feedback ID good|bad [why]. */
fb_err fb_dispatch_feedback_slash(fb_dispatch *d, const cJSON *p, const char *text, cJSON **reply);

/* dispatch_life.c */
int fb_dispatch_life_word(const char *word);
fb_err fb_dispatch_life_slash(fb_dispatch *d, const cJSON *p, const char *word, const char *rest,
                              cJSON **reply);
fb_err fb_dispatch_life_click(fb_dispatch *d, const cJSON *p, const char *action, const char *id,
                              const char *channel, const char *user);
fb_err fb_dispatch_life_submit(fb_dispatch *d, const cJSON *view, const char *user, cJSON **ack);

#endif
