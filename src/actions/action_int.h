/*
 * action_int.h - what the actions share and nobody else sees: the
 * implementations behind the table, and the draft, a proposal being built
 * against one values file of the GitOps repository (draft.c).
 */
#ifndef FIREBREAK_ACTION_INT_H
#define FIREBREAK_ACTION_INT_H

#include <stddef.h>
#include "firebreak/action.h"
#include "firebreak/yamledit.h"

extern const fb_action_ops fb_action_values_patch;
extern const fb_action_ops fb_action_git_revert;
extern const fb_action_ops fb_action_manual;

/* A proposal under construction. */
typedef struct {
	const fb_action_input *in;
	cJSON *out;     /* the proposal */
	char file[512]; /* the values file, relative to the repository */
	char *text;     /* the file at the tip, then edited (owned) */
	size_t len;
	char *orig; /* the file at the tip (owned) */
	size_t orig_len;
	char blob[41];
} fb_action_draft;

/* Starts a proposal of action name with empty edits and changes. */
fb_err fb_action_draft_init(fb_action_draft *d, const fb_action_input *in, const char *name);

/* Turns the proposal into a manual one with the reason, the ranked
 * suggestions and no edits (implemented in manual.c). */
void fb_action_draft_manual(fb_action_draft *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fb_action_draft_is_manual(const fb_action_draft *d);
/* Gives the proposal's summary or reason (field "summary" or "reason")
 * its catalog key (msg.h), then name, value pairs ending with FB_SAY_END: the
 * card renders it in its locale.  fb_action_draft_manual sets the reason
 * key "manual_error" with the English as {{error}}; say replaces it. */
void fb_action_draft_say(fb_action_draft *d, const char *field, const char *key, ...);
#define FB_SAY_END ((const char *)NULL)
/* Gives a manual proposal its final shape: no edits, changes or diff, a
 * summary, the suggestions (manual.c). */
void fb_action_manual_shape(cJSON *proposal, const fb_action_input *in);

/* Finds and reads the app's values file; 0 (and manual) when it cannot. */
int fb_action_draft_load(fb_action_draft *d);

/* The block named key (resources, image, persistence) that belongs to the
 * app, into out ("" when there is none: create at top level); 0 when
 * several fit equally. */
int fb_action_draft_block(const fb_action_draft *d, const fb_yaml_doc *doc, const char *key,
                          const char *child, char *out, size_t outsz);

/* Sets path to proposed (or the person's override) in the draft's text and
 * records the edit; 0 (and manual) when the file cannot be edited. */
int fb_action_draft_edit(fb_action_draft *d, const char *path, const char *old,
                         const char *proposed);

/* The value path will have: the override, else proposed. */
const char *fb_action_draft_value(const fb_action_draft *d, const char *path, const char *proposed);

/* Appends one file change to the proposal. */
void fb_action_add_change(cJSON *proposal, const char *path, const char *blob, const char *content);

/* Ends the draft: a values edit gets its change and diff (or becomes
 * manual when nothing changes), a manual proposal loses its edits; hands
 * the proposal to *out and frees the rest. */
fb_err fb_action_draft_finish(fb_action_draft *d, cJSON **out);

/* values_patch's other kinds (scale.c): volume_grow grows the app's
 * volume size key, replicas_raise its autoscaler's maxReplicas, cpu_raise
 * its CPU limit; each ends manual with the reason when it cannot. */
void fb_action_volume_propose(fb_action_draft *d);
void fb_action_replicas_propose(fb_action_draft *d);
void fb_action_cpu_propose(fb_action_draft *d);
/* A person's value for a maxReplicas or limits.cpu path: 1 (and *rc)
 * when path is one. */
int fb_action_scale_validate(const fb_config *cfg, const char *path, const char *value, fb_err *rc);

/* apply for the repository actions: the proposal's changes in one commit
 * through fb_gitops_apply_synced, redone on the fetched tip by the
 * action's redo (commit.c). */
fb_err fb_action_commit(const fb_action_input *in, const fb_proposal *proposal,
                        const fb_commit_info *commit, fb_action_result *out);

/* redo for the repository actions (commit.c): each values edit
 * {path, old, new} spliced again into the file at the tip (FB_ECONFLICT
 * when the value there is no longer old); a revert made again on the
 * tip. */
fb_err fb_action_redo(const fb_action_input *in, const fb_proposal *proposal, fb_change **out,
                      size_t *n);

/* describe for every action: the summary, else the reason. */
void fb_action_describe_summary(const fb_proposal *proposal, char *out, size_t outsz);

/* A person's value is one plain YAML scalar: no quoting, flow or comment
 * characters, at most 128 bytes. */
fb_err fb_action_check_plain(const char *path, const char *value);

/* Does path end with the component name ("resources.limits.memory" ends
 * with "memory")? */
int fb_action_path_ends(const char *path, const char *name);

/* The kernel reports cgroup limits in kB; Kubernetes wants Ki. */
void fb_action_normalise_qty(const char *in, char *out, size_t outsz);

/* Records the memory limit the values set (values_limit), and the one the
 * log shows the Pod ran with when it differs (running_limit): a card note
 * that the values may not be deployed. */
void fb_action_note_limit(fb_action_draft *d, const char *values_limit);

/* ---- the JVM (jvm_options.c, jvm_heap.c) ---- */

/* The fix for a JVM out of memory (in->facts.jvm_oom): a heap raise with
 * the limit, or manual with the reason and suggestions. */
void fb_action_jvm_propose(fb_action_draft *d);
/* Does value set the heap (-Xmx, MaxRAMPercentage)? */
int fb_action_jvm_opts(const char *value);
/* A person's JVM options string (values_patch's validate hands it over). */
fb_err fb_action_jvm_validate(const fb_config *cfg, const char *path, const char *value);
/* A JVM size of n bytes of s ("1536m", "2g"): 1 with bytes and its unit
 * letter ('\0' for bytes); 0 when it is not one. */
int fb_action_jvm_size(const char *s, size_t n, double *bytes, char *unit);
/* The last -Xmx of opts: 1 with its bytes and unit, 0 none, -1 malformed. */
int fb_action_jvm_heap(const char *opts, double *bytes, char *unit);
/* The last -XX:MaxRAMPercentage of opts: 1 with it, 0 none, -1 malformed
 * or outside (0, 100]. */
int fb_action_jvm_ram_pct(const char *opts, double *pct);
/* bytes as the JVM writes them, in unit when whole in it, else smaller. */
void fb_action_jvm_format(double bytes, char unit, char *out, size_t outsz);
/* opts with the value after the last token starting with prefix replaced
 * by value, the rest byte for byte; 0 when none or out is too small. */
int fb_action_jvm_splice(const char *opts, const char *prefix, const char *value, char *out,
                         size_t outsz);

#endif
