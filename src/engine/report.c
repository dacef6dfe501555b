/*
 * report.c - owns the terminal and JSON renderings of incidents for the
 * CLI (triage, incidents list/show).  Pure formatting, main thread.  Every
 * text printed here was masked before it was stored.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firebreak/report.h"

static void when(int64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void fb_report_classification(FILE *f, const fb_state_classification *cls)
{
	fprintf(f, "Category:    %s (%s, rule %s, confidence %.2f)\n", cls->category, cls->severity,
	        *cls->rule ? cls->rule : "-", cls->confidence);
	fprintf(f, "Apps:        ");
	if (cls->n_apps == 0)
		fprintf(f, "-");
	for (size_t i = 0; i < cls->n_apps; i++)
		fprintf(f, "%s%s", i ? ", " : "", cls->apps[i]);
	fprintf(f, "\nNamespace:   %s\n", *cls->ns ? cls->ns : "-");
	if (*cls->evidence)
		fprintf(f, "Evidence:    %s\n", cls->evidence);
	if (cls->n_facts > 0) {
		fprintf(f, "Facts:      ");
		for (size_t i = 0; i < cls->n_facts; i++)
			fprintf(f, " %s=%s", cls->facts[i].key, cls->facts[i].value);
		fprintf(f, "\n");
	}
}

static void report_proposal(FILE *f, const fb_state_proposal *prop)
{
	if (!prop->present)
		return;
	fprintf(f, "\nProposed fix: %s\n", prop->summary);
	fprintf(f, "  action:     %s\n", prop->action);
	if (*prop->reason)
		fprintf(f, "  why manual: %s\n", prop->reason);
	if (*prop->file)
		fprintf(f, "  file:       %s (found by %s)\n", prop->file, prop->found_by);
	for (size_t i = 0; i < prop->n_edits; i++) {
		const fb_state_edit *e = &prop->edits[i];
		fprintf(f, "  edit:       %s: %s -> %s (line %d)\n", e->path,
		        *e->old_value ? e->old_value : "(unset)", e->new_value, (int)e->line);
	}
	if (prop->diff && *prop->diff)
		fprintf(f, "\n%s", prop->diff);
}

void fb_report_incident(FILE *f, const fb_incident_row *row, const fb_state *state)
{
	const fb_state_analysis *an = &state->analysis;

	fprintf(f, "Incident:    %s\n", row->id);
	if (state->classification.present)
		fb_report_classification(f, &state->classification);
	if (*state->app)
		fprintf(f, "App:         %s\n", state->app);
	if (an->present) {
		fprintf(f, "\nRoot cause:  %s\n", an->root_cause);
		if (an->n_actions > 0)
			fprintf(f, "Suggested actions:\n");
		for (size_t i = 0; i < an->n_actions; i++)
			fprintf(f, "  %zu. %s\n", i + 1, an->actions[i]);
	}
	report_proposal(f, &state->proposal);
}

/* Who did what to the incident besides deciding (lifecycle.h). */
static void report_life(FILE *f, const fb_state *state)
{
	const fb_state_life *l = &state->life;
	char ts[32];

	if (*l->ack_by)
		fprintf(f, "On it:       %s\n", l->ack_by);
	if (*l->assignee)
		fprintf(f, "Assigned to: %s (by %s)\n", l->assignee, l->assigned_by);
	if (l->snoozed_until) {
		when(l->snoozed_until, ts, sizeof(ts));
		fprintf(f, "Snoozed:     until %s (by %s)\n", ts, l->snoozed_by);
	}
	if (*l->resolved_by)
		fprintf(f, "%s %s%s%s%s\n",
		        *l->closed_reason ? "Closed by:  " : "Resolved by:", l->resolved_by,
		        !strcmp(l->closed_reason, "wontfix") ? ", won't fix" : "",
		        *l->duplicate_of ? ", a duplicate of " : "", l->duplicate_of);
	if (*l->note)
		fprintf(f, "Note:        %s\n", l->note);
	if (*l->reopened_by && !*l->resolved_by)
		fprintf(f, "Reopened by: %s (it was %s)\n", l->reopened_by, l->prior_status);
	if (*state->previous)
		fprintf(f, "Previous:    %s (resolved; this is a new incident)\n", state->previous);
	if (*l->followed_by)
		fprintf(f, "Followed by: %s (it came back after it was resolved)\n",
		        l->followed_by);
}

void fb_report_result(FILE *f, const fb_incident_row *row, const fb_state *state)
{
	const fb_state_apply *ap = &state->apply;
	const fb_state_verify *v = &state->verify;

	fprintf(f, "\nResult:      %s\n", row->status);
	if (ap->present)
		fprintf(f, "Commit:      %s on %s%s (approved by %s)\n", ap->commit, ap->branch,
		        ap->pushed ? ", pushed" : "", state->approved_by);
	if (v->present)
		fprintf(f, "Verify:      %s%s%s\n", v->result, *v->reason ? " - " : "", v->reason);
	if (*state->apply_error)
		fprintf(f, "Apply:       %s\n", state->apply_error);
	if (*state->error)
		fprintf(f, "Error:       %s\n", state->error);
	report_life(f, state);
}

void fb_report_timeline(FILE *f, const fb_timeline_entry *t, size_t n)
{
	char ts[32];
	fprintf(f, "\nTimeline:\n");
	for (size_t i = 0; i < n; i++) {
		when(t[i].ts, ts, sizeof(ts));
		fprintf(f, "  %s  %-18s %-12s %s\n", ts, t[i].event, t[i].actor, t[i].detail);
	}
}

void fb_report_list(FILE *f, fb_incident_row *const *rows, size_t n)
{
	char ts[32];
	fprintf(f, "%-32s %-9s %-18s %-9s %-20s %s\n", "ID", "STATUS", "CATEGORY", "SEVERITY",
	        "APP", "CREATED");
	for (size_t i = 0; i < n; i++) {
		when(rows[i]->created_at, ts, sizeof(ts));
		fprintf(f, "%-32s %-9s %-18s %-9s %-20s %s\n", rows[i]->id, rows[i]->status,
		        *rows[i]->category ? rows[i]->category : "-",
		        *rows[i]->severity ? rows[i]->severity : "-",
		        *rows[i]->app ? rows[i]->app : "-", ts);
	}
	if (n == 0)
		fprintf(f, "(no incidents)\n");
}

cJSON *fb_report_json(const fb_incident_row *row, const fb_state *state, const fb_timeline_entry *t,
                      size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", row->id);
	cJSON_AddStringToObject(o, "status", row->status);
	cJSON_AddStringToObject(o, "node", row->node);
	cJSON_AddStringToObject(o, "category", row->category);
	cJSON_AddStringToObject(o, "severity", row->severity);
	cJSON_AddStringToObject(o, "app", row->app);
	cJSON_AddStringToObject(o, "namespace", row->ns);
	cJSON_AddStringToObject(o, "source", row->source);
	cJSON_AddNumberToObject(o, "version", (double)row->version);
	cJSON_AddNumberToObject(o, "created_at", (double)row->created_at);
	cJSON_AddNumberToObject(o, "updated_at", (double)row->updated_at);
	if (state)
		cJSON_AddItemToObject(o, "state", fb_state_to_cjson(state));
	if (t) {
		cJSON *tl = cJSON_AddArrayToObject(o, "timeline");
		for (size_t i = 0; i < n; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddNumberToObject(e, "ts", (double)t[i].ts);
			cJSON_AddStringToObject(e, "actor", t[i].actor);
			cJSON_AddStringToObject(e, "event", t[i].event);
			cJSON_AddStringToObject(e, "detail", t[i].detail);
			if (*t[i].node) /* the typed fields (schema 5), when the event has them */
				cJSON_AddStringToObject(e, "node", t[i].node);
			if (*t[i].outcome)
				cJSON_AddStringToObject(e, "outcome", t[i].outcome);
			if (t[i].value != 0)
				cJSON_AddNumberToObject(e, "value", t[i].value);
			cJSON_AddItemToArray(tl, e);
		}
	}
	return o;
}
