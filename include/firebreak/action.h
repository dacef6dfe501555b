/*
 * action.h - the action family: what a fix does.  One const fb_action_ops
 * per action (values_patch, git_revert, manual), found by name from one
 * table (src/actions/action.c); which action answers which category is
 * data, the `actions:` mapping of the rules file (see rules.h).
 *
 * An action never reads the incident state: the engine's propose and
 * apply nodes build an fb_action_input from it.  A proposal is plain JSON
 * so that it can be checkpointed, shown on a card and applied later by
 * another process:
 *
 *   {"action","summary","file","found_by","edits":[{path,old,new,line}],
 *    "changes":[{path,base_blob,content}],"diff","reason", ...}
 *
 * "action" names the action that will apply it: an action whose fix is not
 * possible here answers a "manual" proposal with the reason.
 */
#ifndef FIREBREAK_ACTION_H
#define FIREBREAK_ACTION_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/gitops.h"
#include "firebreak/msg.h"

/* Bumped whenever a slot is added, removed or changes meaning. */
#define FB_ACTION_OPS_VERSION 2

/* A value a person chose for an edit path (Edit on the card, --set). */
typedef struct {
	const char *path;
	const char *value;
} fb_action_override;

/*
 * What an action may know of an incident.  Strings are never NULL ("" when
 * unknown) except the facts, which are NULL when the rules did not find
 * them.  Everything is borrowed from the caller for the call's duration.
 */
typedef struct fb_action_input {
	const char *incident_id;
	const char *category; /* one of fb_categories */
	const char *severity; /* critical, warning, info */
	const char *app;      /* "" when the log does not name it */
	const char *ns;       /* namespace */
	const char *evidence; /* the line that matched */
	const char *root_cause;
	struct {
		const char *container;
		const char *limit;   /* memory limit, as the log spells it (kB, Mi...) */
		const char *request; /* memory request */
		const char *image;
		const char *missing_key; /* the configuration key or secret not found */
		const char *path;        /* a file system path (disk full) */
		const char *exit_code;
		const char *jvm_oom;    /* a JVM OutOfMemoryError's kind ("Metaspace") */
		const char *claim;      /* persistentvolumeclaim (a volume alert) */
		const char *autoscaler; /* horizontalpodautoscaler (an HPA alert) */
	} facts;
	int disk;                       /* resource_exhausted is about disk space */
	const char *const *suggestions; /* the analysis' ranked actions, best first */
	size_t n_suggestions;
	int step; /* 1 = the first fix; 2 = the next one after a failed verification */
	const fb_action_override *overrides;
	size_t n_overrides;
	const fb_config *cfg;
	fb_gitops *gitops; /* the caller thread's handle; NULL: no repository */
} fb_action_input;

/*
 * A proposal, typed: what propose builds (as JSON, the stored form) and
 * apply and describe read.  The diff and each change's content live on
 * the heap and belong to the proposal (fb_proposal_clear).
 */
#define FB_PROPOSAL_EDITS_MAX 16
#define FB_PROPOSAL_CHANGES_MAX 16
#define FB_PROPOSAL_SUGGESTIONS_MAX 8

typedef struct {
	char path[256];
	char old_value[256]; /* "" when unset */
	char new_value[256];
	long line; /* 0 when not known */
} fb_proposal_edit;

typedef struct {
	char path[512];
	char base_blob[41]; /* "" for a new file */
	char *content;      /* owned; NULL deletes the file */
} fb_proposal_change;

typedef struct {
	int present;
	char action[32]; /* values_patch, git_revert, manual */
	char kind[32];   /* the action's own variant: memory_raise, image_rollback, ... */
	char summary[768];
	char file[512];
	char found_by[600];
	char reason[600]; /* why a person must act (manual) */
	char *diff;       /* owned; NULL when there is none */
	int capped;       /* -1: not said; 0 or 1 */
	char revert_commit[41];
	char revert_subject[256];
	fb_proposal_edit edits[FB_PROPOSAL_EDITS_MAX];
	size_t n_edits;
	fb_proposal_change changes[FB_PROPOSAL_CHANGES_MAX];
	size_t n_changes;
	char suggestions[FB_PROPOSAL_SUGGESTIONS_MAX][512]; /* manual: what a person may try */
	size_t n_suggestions;
	/* A memory fix: the limit the values set, and the one the log shows the
	 * Pod ran with when it differs ("" otherwise: nothing to note). */
	char values_limit[64];
	char running_limit[64];
	/* summary and reason as catalog keys (msg.h: fix_<kind>, manual_<why>)
	 * for a card in another locale; key "" when the action set none */
	fb_msg summary_msg;
	fb_msg reason_msg;
} fb_proposal;

/* Reads the JSON form into *p (replacing it; on failure *p is empty).
 * strict: FB_ETOOBIG when the edits or changes do not fit (a proposal
 * being made); otherwise they are cut (a proposal stored earlier). */
fb_err fb_proposal_parse(fb_proposal *p, const cJSON *o, int strict);
/* The JSON form (NULL when out of memory). */
cJSON *fb_proposal_json(const fb_proposal *p);
/* Frees what *p owns and leaves it empty. */
void fb_proposal_clear(fb_proposal *p);

/*
 * The values of p, with a person's sets over them, taken together: a
 * request (x.requests.memory, .cpu) never above its limit
 * (x.limits.memory), and a memory raise never below the limit it started
 * from.  FB_EINVAL with a message fit for a person.  Checked when a
 * person edits and again before apply.
 */
fb_err fb_action_coherent(const fb_proposal *p, const fb_action_override *sets, size_t n);

/*
 * Everything a proposal's values must pass before it is shown and again
 * before it is applied: each value (with a person's sets over it) through
 * the validate slot of the proposal's action (a valid quantity, within
 * the policy ceiling, a plain value), then fb_action_coherent (which, for
 * a Java heap raise, also keeps -Xmx within the memory limit and never
 * lowers it).  FB_EINVAL with a message fit for a person; *bad_path (may
 * be NULL) then names the path at fault, borrowed from p or sets.
 */
fb_err fb_action_check(const fb_config *cfg, const fb_proposal *p, const fb_action_override *sets,
                       size_t n, const char **bad_path);

/* What apply did. */
typedef struct {
	char commit[41];  /* the fix's commit; "" when nothing was committed */
	int pushed;       /* the commit reached gitops.remote */
	char detail[512]; /* one line for the timeline */
	int refused;      /* the remote refused every push (the clone was reset to its
	                   * tip): the incident fails with apply's message */
} fb_action_result;

typedef struct fb_action_ops {
	int version;      /* must: FB_ACTION_OPS_VERSION */
	const char *name; /* must: the name the rules file and the proposal use */
	int needs_repo;   /* must: 1 when apply works in the GitOps repository,
	                   * so the engine serialises it per repository */

	/* must: builds the proposal (see above) into *out.  Never fails for
	 * want of a fix: it answers a "manual" proposal with the reason.
	 * Fails only on out of memory or broken input. */
	fb_err (*propose)(const fb_action_input *in, cJSON **out);

	/* may: checks a person's value for one of the edit paths this action
	 * proposes.  FB_EINVAL with a message fit to show the person.  NULL
	 * when the action has nothing a person can edit. */
	fb_err (*validate)(const fb_config *cfg, const char *path, const char *value);

	/* must: carries out an approved proposal.  Idempotent: running it again
	 * after a crash does nothing twice (the repository actions commit
	 * through fb_gitops_apply, which skips a commit when one with the
	 * incident's Incident-Id trailer exists).  FB_ECONFLICT when the files
	 * moved on since the proposal (propose again), FB_ESTATE when a person
	 * must act first (the working tree has unrelated changes). */
	fb_err (*apply)(const fb_action_input *in, const fb_proposal *proposal,
	                const fb_commit_info *commit, fb_action_result *out);

	/* must: one line saying what the proposal does, for the card and the
	 * commit subject. */
	void (*describe)(const fb_proposal *proposal, char *out, size_t outsz);

	/* may: the proposal's file changes made again on in->gitops' branch
	 * tip, after a fetch brought what people pushed since it was proposed
	 * (an fb_gitops_redo_fn, see gitops.h): *out holds n changes against
	 * that tip (fb_changes_free).  FB_ECONFLICT when the fix no longer
	 * holds there (propose again).  NULL: the changes are committed as
	 * proposed and any file that moved is a conflict. */
	fb_err (*redo)(const fb_action_input *in, const fb_proposal *proposal, fb_change **out,
	               size_t *n);
} fb_action_ops;

/* The action called name; NULL when there is none. */
const fb_action_ops *fb_action_find(const char *name);
/* The table, in order: for listings and the rules loader's message. */
size_t fb_action_count(void);
const fb_action_ops *fb_action_at(size_t i);

/* The action called name, manual when there is none: category -> name
 * is data, the rules file's mapping (fb_rules_action_for). */
const fb_action_ops *fb_action_for(const char *name);

/* The proposal for in: the action called name runs its propose, and the
 * result passes fb_action_check before anyone sees it (one that fails is
 * manual, with the reason).  Never NULL on FB_OK. */
fb_err fb_action_propose(const char *name, const fb_action_input *in, cJSON **out);

/* Checks a person's value for an edit path with the validate slot of the
 * named action; with action NULL or "", with every action that has one
 * (for values given before there is a proposal, like `triage --set`). */
fb_err fb_action_validate(const fb_config *cfg, const char *action, const char *path,
                          const char *value);

/* The override a person chose for path in in, or NULL. */
const char *fb_action_override_for(const fb_action_input *in, const char *path);

#endif
