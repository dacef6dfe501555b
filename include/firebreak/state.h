/*
 * state.h - the incident state, typed.  One struct holds everything the
 * graph knows about an incident (what the source said, the
 * classification, the analysis, the proposal, the decisions, what was
 * applied and verified, how it ended); state.c alone knows the JSON keys
 * it is stored under (incidents.state, checkpoints) and printed as (the
 * HTTP API, `incidents show --json`).
 *
 * Strings have a fixed bound where one is natural and are cut there at a
 * character boundary; the excerpt, the diff and a change's new content
 * live on the heap (they can be large) and belong to the state.  Arrays
 * have a count and a maximum.  A sub-object exists in the JSON when its
 * `present` is set; a top-level string or number exists when it is not
 * empty or zero (the readers never told the two apart).
 */
#ifndef FIREBREAK_STATE_H
#define FIREBREAK_STATE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "firebreak/error.h"
#include "firebreak/action.h"
#include "firebreak/msg.h"
#include "firebreak/rules.h"

#define FB_STATE_APPS_MAX FB_CLASS_APPS_MAX
#define FB_STATE_FACTS_MAX FB_CLASS_FACTS_MAX
#define FB_STATE_ACTIONS_MAX 8
#define FB_STATE_EDITS_MAX FB_PROPOSAL_EDITS_MAX
#define FB_STATE_CHANGES_MAX FB_PROPOSAL_CHANGES_MAX
#define FB_STATE_CHECKS_MAX 16
#define FB_STATE_SETS_MAX 8
#define FB_STATE_DECISIONS_MAX 8 /* the oldest are dropped beyond this */

/* A name and its value: a fact, an override, an edited value. */
typedef fb_fact fb_state_pair;

/* The classification is the triage's (rules.h): typed there, its JSON
 * read and written there. */
typedef fb_classification fb_state_classification;

typedef struct {
	int present;
	char root_cause[4104]; /* analyze.c builds at most 4096 bytes */
	char actions[FB_STATE_ACTIONS_MAX][512];
	size_t n_actions;
	int disk;
	/* the same as catalog keys (msg.h), for a card in another locale;
	 * key "" in a state stored before they existed */
	fb_msg root_cause_msg;
	fb_msg actions_msg[FB_STATE_ACTIONS_MAX]; /* n_actions of them */
} fb_state_analysis;

/* The proposal is the action family's (action.h): typed there, its JSON
 * read and written there. */
typedef fb_proposal_edit fb_state_edit;
typedef fb_proposal_change fb_state_change;
typedef fb_proposal fb_state_proposal;

typedef struct {
	int present;
	char action[16]; /* approve, reject, edit */
	char user[128];
	char note[4096];                      /* Slack allows 1,000 characters */
	char via[16];                         /* cli, slack, api; "" for policy */
	int64_t at;                           /* ms; 0 when not stamped */
	fb_state_pair set[FB_STATE_SETS_MAX]; /* edit: path = value */
	size_t n_set;
} fb_state_decision;

typedef struct {
	int present;
	char commit[41];
	int pushed;
	char branch[128];
	int64_t at; /* ms */
} fb_state_apply;

typedef struct {
	char name[32];
	char result[16];
	char detail[512];
} fb_state_check;

typedef struct {
	int present;
	char result[16]; /* ok, pending, failed, skipped */
	char reason[512];
	long checks_done;
	fb_state_check checks[FB_STATE_CHECKS_MAX];
	size_t n_checks;
} fb_state_verify;

typedef struct {
	int present;
	char status[16]; /* resolved */
	char ends_at[64];
	int64_t at;
} fb_state_alert;

/* What people did to the incident outside the graph (lifecycle.h).  JSON
 * "lifecycle"; times in ms, 0 when not set. */
typedef struct {
	int present;
	char ack_by[128];
	int64_t ack_at;
	char assignee[32]; /* a Slack user id */
	char assigned_by[128];
	int64_t snoozed_until; /* repeats fold quietly until then */
	char snoozed_by[128];
	char resolved_by[128]; /* resolve or close */
	int64_t resolved_at;
	char note[1024];        /* the note of the last resolve, close or reopen */
	char closed_reason[16]; /* duplicate, wontfix */
	char duplicate_of[64];  /* closed as a duplicate of this incident */
	char reopened_by[128];
	int64_t reopened_at;
	char prior_status[16]; /* the status a reopen restores from */
	char followed_by[64];  /* the newer incident a later repeat opened */
} fb_state_life;

/* pull-request mode: the fix's pull (merge) request and what became of it. */
typedef struct {
	int present;
	long number; /* GitHub/Gitea number, GitLab iid */
	char url[512];
	char branch[256]; /* firebreak/<incident-id> */
	char state[16];   /* open, merged, closed */
	char merge_commit[41];
	char closed_by[128]; /* who merged or closed it, when the forge says */
	long checks_done;    /* looks at it while open */
} fb_state_pr;

/* A link on the card (links.c): commit, pull_request, argocd, grafana,
 * runbook. */
#define FB_STATE_LINKS_MAX 6
typedef struct {
	char kind[16];
	char url[1024];
} fb_state_link;

typedef struct fb_state {
	char id[64];
	char source[32];
	char triggered_by[128];
	char *excerpt; /* owned, masked; never NULL after parse */
	int truncated;
	long excerpt_lines;
	char app_hint[128];
	char app[128];
	char ns[128]; /* JSON "namespace" */
	char fingerprint[80];
	char slack_channel[64];
	char slack_thread[256]; /* a permalink or channel/ts of the card's thread */
	fb_state_classification classification;
	fb_state_analysis analysis;
	fb_state_proposal proposal;
	char repo[1024]; /* the GitOps repository proposed against (absolute) */
	fb_state_pair overrides[FB_STATE_SETS_MAX];
	size_t n_overrides;
	fb_state_decision decision; /* waiting to be acted on */
	fb_state_decision decisions[FB_STATE_DECISIONS_MAX];
	size_t n_decisions;
	char approved_by[128];
	fb_state_apply apply;
	char apply_error[1024];
	fb_state_verify verify;
	int verify_retried;
	char result[16]; /* resolved, rejected, manual, recorded, failed, grouped */
	char error[1200];
	fb_msg error_msg; /* the same as a catalog key (error_node_failed), for the card */
	char grouped_into[64];
	long repeats;
	int64_t last_seen;       /* ms */
	int64_t repeat_noted_at; /* ms */
	fb_state_alert alert;
	fb_state_life life;
	char previous[64];     /* the resolved incident this one repeats (after the cooldown) */
	fb_state_pr pr;        /* JSON "pull_request" */
	char runbook_url[512]; /* an alert's runbook_url annotation */
	fb_state_link links[FB_STATE_LINKS_MAX];
	size_t n_links;
	cJSON *extra; /* top-level keys this version does not know, kept as read */
} fb_state;

/* An empty state (excerpt ""). */
fb_err fb_state_new(fb_state **out);
/* FB_EDB when json is not a JSON object. */
fb_err fb_state_parse(const char *json, fb_state **out);
/* The stored form: the same keys as ever. */
fb_err fb_state_to_json(const fb_state *st, char **out);
/* The same as a cJSON object (NULL when out of memory). */
cJSON *fb_state_to_cjson(const fb_state *st);
void fb_state_free(fb_state *st);

/* Replaces the excerpt with a copy of text. */
fb_err fb_state_set_excerpt(fb_state *st, const char *text);
/* Copies s into a bounded field, cut at a character boundary. */
void fb_state_copy(char *dst, size_t dstsz, const char *s);

/*
 * The sub-objects other modules still produce as cJSON: the analysis, an
 * action's proposal, a verification.  Each replaces the state's
 * sub-object (and sets present).  FB_ETOOBIG when an array does not fit
 * (nothing is changed then); strings are cut.  (The classification comes
 * typed from the rules.)
 */
fb_err fb_state_set_analysis(fb_state *st, const cJSON *an);
fb_err fb_state_set_proposal(fb_state *st, const cJSON *prop);
fb_err fb_state_set_verify(fb_state *st, const cJSON *v);

/* Sets (or replaces) an override; FB_ETOOBIG when full. */
fb_err fb_state_override_set(fb_state *st, const char *path, const char *value);
/* Appends to the decision history, dropping the oldest when full. */
void fb_state_decision_push(fb_state *st, const fb_state_decision *d);
/* The latest decision in the history, NULL when none. */
const fb_state_decision *fb_state_last_decision(const fb_state *st);

#endif
