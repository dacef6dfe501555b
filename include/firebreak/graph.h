/*
 * graph.h - the incident graph and its runner.
 *
 *   collect -> classify -> analyze -> propose -> await_decision -> apply
 *           -> verify -> report
 *
 * A node is a function that changes its own copy of the incident's typed
 * state (state.h) and names the next node.  After every node the runner
 * commits, in one transaction, the changed state, a checkpoint, a timeline entry and the
 * next job (or the pause); so a process that dies at any point resumes
 * from the last committed node.  await_decision pauses until
 * fb_graph_decide() records a decision: the CLI's `decide` and the Slack
 * dispatcher both come through it.
 */
#ifndef FIREBREAK_GRAPH_H
#define FIREBREAK_GRAPH_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/gitops.h"
#include "firebreak/rules.h"
#include "firebreak/state.h"
#include "firebreak/store.h"

typedef struct {
	const fb_config *cfg;
	const fb_rules *rules;
	fb_store *store;         /* the read-write connection */
	fb_gitops *gitops;       /* NULL when no repository is usable */
	const char *crash_after; /* test hook: _exit(137) after this node's commit */
	/*
	 * Called inside the transaction that commits a node's step, so what
	 * it writes (the Slack outbox rows for the card) commits with the
	 * state change or not at all.  NULL in the CLI.
	 */
	fb_err (*on_step)(void *ctx, fb_store *st, const fb_incident_row *row,
	                  const fb_state *state, const char *node, const char *detail);
	void *hook_ctx;
	const char *slack_url;        /* the workspace's URL (auth.test): thread permalinks */
	struct fb_verifier *verifier; /* the worker's; NULL: verify reports skipped */
} fb_graph_env;

/* What one node run produced. */
typedef struct {
	char next[32];     /* a node name, "pause" or "end" */
	int64_t delay_ms;  /* run next after this long (verify re-checks) */
	int fold_repeat;   /* the state now has its fingerprint: fold it into the
	                    * incident it repeats, if any (the one rule, graph.c) */
	char detail[1024]; /* the timeline line, for people */
	char outcome[24];  /* the step's result for metrics: apply committed, conflict,
	                    * refused; verify ok, pending, failed, skipped; "" when none */
} fb_step;

/* Changes st (the runner's copy: on failure it is thrown away). */
typedef fb_err (*fb_node_fn)(const fb_graph_env *env, fb_state *st, fb_step *out);

/* Where a node may run: pure nodes run on the engine thread; nodes that
 * do I/O run on a worker; nodes that use the git repository are, in
 * addition, serialised per repository. */
enum { FB_NODE_PURE = 0, FB_NODE_IO = 1, FB_NODE_GIT = 2 };

typedef struct {
	const char *name;
	fb_node_fn run;
	unsigned flags; /* FB_NODE_* */
} fb_node;

/* The node table (nodes.c). NULL for an unknown name. */
const fb_node *fb_nodes_find(const char *name);

typedef struct {
	const char *source; /* cli, slack, loki, alertmanager, api */
	const char *text;   /* the excerpt, raw: masked before it is stored */
	size_t len;
	const char *app;                   /* optional: the app, when the caller knows it */
	const char *triggered_by;          /* the person or source that raised it */
	const fb_state_decision *decision; /* optional: a decision given up front (--yes) */
	const fb_state_pair *overrides;    /* optional: values a person already chose (--set) */
	size_t n_overrides;
	const char *channel;     /* optional: the Slack channel for the card */
	const char *fingerprint; /* optional: what makes a repeat the same problem */
} fb_signal;

/* Creates an incident (masked excerpt, first job: collect). */
fb_err fb_graph_create(const fb_graph_env *env, const fb_signal *sig, char id[64]);

/*
 * The one repeat rule, for a signal that comes with its fingerprint (an
 * Alertmanager alert): when fp names an open incident, one finished
 * within engine.cooldown, or one closed as won't-fix, the signal is one
 * more sighting of it -- counted on it, in the caller's transaction, the
 * card told through on_step (quietly while it is snoozed) -- and into is
 * its id.  Otherwise into is "" and nothing changes.  classify applies
 * the same rule to the fingerprint it computes, and links a new incident
 * to the one it repeats when that one ended before the cooldown
 * (state.previous; lifecycle.h).
 */
fb_err fb_graph_fold_signal(const fb_graph_env *env, const char *fp, const char *by, char into[64]);

/* Runs the incident's due jobs until it pauses, ends, or waits on a timer. */
fb_err fb_graph_run(const fb_graph_env *env, const char *id);

/*
 * One step split for the daemon: take the due job (engine thread), run
 * the node (a worker thread, with its own repository handle; nodes do not
 * touch the store), finish by committing (engine thread).  take sets
 * *task to NULL when nothing is due.  finish sets *more when the next
 * step is due at once.  fb_graph_run() is the three in a row.
 */
typedef struct fb_graph_task fb_graph_task;
fb_err fb_graph_task_take(const fb_graph_env *env, const char *id, fb_graph_task **task);
void fb_graph_task_run(const fb_graph_env *env, fb_graph_task *task);
fb_err fb_graph_task_finish(const fb_graph_env *env, fb_graph_task *task, int *more);
const char *fb_graph_task_incident(const fb_graph_task *task);
/* The FB_NODE_* flags of the node the task runs. */
unsigned fb_graph_task_flags(const fb_graph_task *task);
void fb_graph_task_free(fb_graph_task *task);

/* Runs every incident with a due job; *ran counts them. */
fb_err fb_graph_resume_all(const fb_graph_env *env, size_t *ran);

typedef struct {
	const char *action; /* approve, reject, edit */
	const char *user;
	const char *note;
	const char *const *sets; /* "path=value" for edit */
	size_t n_sets;
	long version;    /* the card version the user saw; -1 = current (via "cli" only) */
	const char *via; /* cli, slack, api */
} fb_decision;

/*
 * Records a decision on a waiting incident and schedules its resumption
 * (call fb_graph_run next).  Refused, with the reason in fb_error_last()
 * and a timeline entry, when the incident is not waiting (FB_ESTATE), the
 * user may not decide (FB_ESTATE), the card is stale (FB_ECONFLICT), or an
 * edit is invalid (FB_EINVAL).  Nothing else changes on refusal.
 */
fb_err fb_graph_decide(const fb_graph_env *env, const char *id, const fb_decision *d);

/* Builds the decision stored in the state (also used for --yes), stamped now. */
void fb_graph_decision(const fb_decision *d, fb_state_decision *out);

#endif
