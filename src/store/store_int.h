/*
 * store_int.h - private to the store family (store.c, legacy.c and the
 * backends): helpers a backend may share.  Not a public header: nothing
 * outside src/store/ includes it.
 */
#ifndef FIREBREAK_STORE_INT_H
#define FIREBREAK_STORE_INT_H

#include <stddef.h>
#include "firebreak/domain.h"

/*
 * The typed fields of a timeline row written before schema 5, read back
 * once from its name and prose by a migration (never by a metric).
 * node is 32 bytes and outcome FB_OUTCOME_MAX; both "" when unknown;
 * kind FB_EV_OTHER when the name is not one firebreak wrote.
 */
void fb_store_legacy_event_(const char *event, const char *detail, fb_event_kind *kind, char *node,
                            char *outcome);

/* Makes room for one more element of size elem in *v (len used of *cap);
 * 0 when out of memory (the array is unchanged). */
int fb_store_grow_(void **v, size_t *cap, size_t len, size_t elem);

#endif
