/*
 * legacy.c - reads the typed fields (kind, node, outcome) back out of a
 * timeline row written before schema 5, when events were a name and a
 * line of prose.  Used once, by the migration to schema 5; nothing else
 * parses an event's text.  Pure: runs on whichever thread migrates (the
 * engine, at start-up).
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int one_of(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && !strncmp(s, *words, len))
			return 1;
	return 0;
}

static const char *const actions[] = {"approve", "reject", "edit", NULL};
static const char *const checks[] = {"ok", "pending", "failed", "skipped", NULL};

/* "<node> failed (attempt N of M): why" was a node that gave up. */
static int gave_up(const char *node, const char *detail)
{
	size_t n = strlen(node);
	return !strncmp(detail, node, n) && starts(detail + n, " failed (attempt ");
}

/* A step of the node: apply and verify are the ones metrics count. */
static void step_outcome(const char *node, const char *detail, char *outcome)
{
	const char *colon = strchr(detail, ':');

	if (gave_up(node, detail))
		snprintf(outcome, FB_OUTCOME_MAX, "error");
	else if (!strcmp(node, "apply") && starts(detail, "committed"))
		snprintf(outcome, FB_OUTCOME_MAX, "committed");
	else if (!strcmp(node, "apply") && starts(detail, "refused: "))
		snprintf(outcome, FB_OUTCOME_MAX, "refused");
	else if (!strcmp(node, "apply")) /* the only other apply step: a moved file */
		snprintf(outcome, FB_OUTCOME_MAX, "conflict");
	else if (!strcmp(node, "verify") && colon &&
	         one_of(detail, (size_t)(colon - detail), checks))
		snprintf(outcome, FB_OUTCOME_MAX, "%.*s", (int)(colon - detail), detail);
}

void fb_store_legacy_event_(const char *event, const char *detail, fb_event_kind *kind, char *node,
                            char *outcome)
{
	static const struct {
		const char *name;
		fb_event_kind kind;
	} fixed[] = {
	    {"incident.created", FB_EV_CREATED},        {"incident.repeat", FB_EV_REPEAT},
	    {"alert.repeat", FB_EV_ALERT_REPEAT},       {"alert.resolved", FB_EV_SIGNAL_RESOLVED},
	    {"signal.resolved", FB_EV_SIGNAL_RESOLVED}, {"feedback", FB_EV_FEEDBACK},
	};
	const char *sp;

	*kind = FB_EV_OTHER;
	node[0] = outcome[0] = '\0';
	event = event ? event : "";
	detail = detail ? detail : "";
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(event, fixed[i].name))
			*kind = fixed[i].kind;
	if (*kind == FB_EV_FEEDBACK && strlen(detail) < FB_OUTCOME_MAX)
		snprintf(outcome, FB_OUTCOME_MAX, "%s", detail);
	if (*kind != FB_EV_OTHER)
		return;
	if (!strcmp(event, "node.error")) {
		*kind = FB_EV_NODE_ERROR;
		sp = strstr(detail, " failed (attempt ");
		if (sp && sp - detail < 32)
			snprintf(node, 32, "%.*s", (int)(sp - detail), detail);
		snprintf(outcome, FB_OUTCOME_MAX, "retry");
	} else if (!strcmp(event, "decision.refused")) {
		*kind = FB_EV_REFUSED;
		sp = strchr(detail, ' ');
		if (sp && one_of(detail, (size_t)(sp - detail), actions))
			snprintf(outcome, FB_OUTCOME_MAX, "%.*s", (int)(sp - detail), detail);
	} else if (starts(event, "decision.") && one_of(event + 9, strlen(event + 9), actions)) {
		*kind = FB_EV_DECISION;
		snprintf(outcome, FB_OUTCOME_MAX, "%s", event + 9);
	} else if (starts(event, "node.") && event[5] && strlen(event + 5) < 32) {
		*kind = FB_EV_STEP;
		snprintf(node, 32, "%s", event + 5);
		step_outcome(node, detail, outcome);
	}
}
