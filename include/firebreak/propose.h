/*
 * propose.h - turning an analysed incident into a concrete fix: which
 * file, which minimal edit, and its diff.  The result is plain JSON so it
 * can be checkpointed, shown on a card and applied later by another
 * process.
 */
#ifndef FIREBREAK_PROPOSE_H
#define FIREBREAK_PROPOSE_H

#include <cjson/cJSON.h>
#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/gitops.h"

/*
 * Builds {"action","summary","file","found_by","edits":[{path,old,new,line}],
 * "changes":[{path,base_blob,content}],"diff","reason"} for the incident
 * state (classification, app, analysis).  overrides maps an edit path to
 * the value a person chose (Edit); NULL for none.  g may be NULL (no
 * repository): the proposal is then manual.  Never fails for want of a
 * fix: it answers "manual" with the reason.
 */
fb_err fb_propose(fb_gitops *g, const fb_config *cfg, const cJSON *state, const cJSON *overrides,
                  cJSON **out);

/* Checks a person's value for an edit path ("resources.limits.memory" must
 * be a quantity within policy; "image.tag" a valid tag).  On failure
 * returns FB_EINVAL with a message fit to show the person. */
fb_err fb_propose_validate(const fb_config *cfg, const char *path, const char *value);

#endif
