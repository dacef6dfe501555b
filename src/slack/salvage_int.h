/*
 * salvage_int.h - private to src/slack: an envelope that cannot be read
 * whole (longer than the frame bound, or JSON that does not parse, such as
 * a lone surrogate escape) still gets its ack and, for a slash command,
 * a reply that says why (salvage.c, used by socket.c; dispatch.c answers
 * the stand-in envelope it makes).
 */
#ifndef FIREBREAK_SALVAGE_INT_H
#define FIREBREAK_SALVAGE_INT_H

#include <stddef.h>

/* The stand-in envelope's member naming why it stands in: "too_long" or
 * "bad_text". */
#define FB_SALVAGE_KEY "firebreak_unreadable"
#define FB_SALVAGE_TAIL 512 /* bytes of a frame's end kept past the bound */

/*
 * A stand-in envelope {"envelope_id", "type", FB_SALVAGE_KEY: why,
 * "payload": {"command", "user_id", "channel_id"}} from the raw bytes of
 * an unreadable one: head (its first bytes) and tail (its last; may be
 * NULL), searched for the envelope's members as JSON writes them (a key
 * in quotes cannot occur inside a string, where quotes are escaped).
 * NULL when no envelope_id is found (nothing to ack).  Caller frees.
 */
char *fb_salvage_envelope(const char *head, size_t head_n, const char *tail, size_t tail_n,
                          const char *why);

#endif
