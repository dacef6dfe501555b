/*
 * report.c - owns the terminal and JSON renderings of incidents for the
 * CLI (triage, incidents list/show).  Pure formatting, main thread.  Every
 * text printed here was masked before it was stored.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firebreak/json.h"
#include "firebreak/report.h"

static void when(int64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void fb_report_classification(FILE *f, const cJSON *cls)
{
	const cJSON *apps = fb_json_get(cls, "apps"), *a, *facts = fb_json_get(cls, "facts"), *it;
	const cJSON *ns = fb_json_get(cls, "namespace");

	fprintf(f, "Category:    %s (%s, rule %s, confidence %.2f)\n", fb_json_str(cls, "category"),
	        fb_json_str(cls, "severity"),
	        *fb_json_str(cls, "rule") ? fb_json_str(cls, "rule") : "-",
	        cJSON_GetNumberValue(fb_json_get(cls, "confidence")));
	fprintf(f, "Apps:        ");
	if (cJSON_GetArraySize(apps) == 0)
		fprintf(f, "-");
	cJSON_ArrayForEach(a, apps)
	{
		fprintf(f, "%s%s", a == apps->child ? "" : ", ", a->valuestring);
	}
	fprintf(f, "\nNamespace:   %s\n", cJSON_IsString(ns) ? ns->valuestring : "-");
	if (*fb_json_str(cls, "evidence"))
		fprintf(f, "Evidence:    %s\n", fb_json_str(cls, "evidence"));
	if (cJSON_GetArraySize(facts) > 0) {
		fprintf(f, "Facts:      ");
		cJSON_ArrayForEach(it, facts) fprintf(f, " %s=%s", it->string, it->valuestring);
		fprintf(f, "\n");
	}
}

static void report_proposal(FILE *f, const cJSON *prop)
{
	const cJSON *e;
	if (!prop)
		return;
	fprintf(f, "\nProposed fix: %s\n", fb_json_str(prop, "summary"));
	fprintf(f, "  action:     %s\n", fb_json_str(prop, "action"));
	if (*fb_json_str(prop, "reason"))
		fprintf(f, "  why manual: %s\n", fb_json_str(prop, "reason"));
	if (*fb_json_str(prop, "file"))
		fprintf(f, "  file:       %s (found by %s)\n", fb_json_str(prop, "file"),
		        fb_json_str(prop, "found_by"));
	cJSON_ArrayForEach(e, fb_json_get(prop, "edits"))
	    fprintf(f, "  edit:       %s: %s -> %s (line %d)\n", fb_json_str(e, "path"),
	            *fb_json_str(e, "old") ? fb_json_str(e, "old") : "(unset)",
	            fb_json_str(e, "new"), (int)cJSON_GetNumberValue(fb_json_get(e, "line")));
	if (*fb_json_str(prop, "diff"))
		fprintf(f, "\n%s", fb_json_str(prop, "diff"));
}

void fb_report_incident(FILE *f, const fb_incident_row *row, const cJSON *state)
{
	const cJSON *an = fb_json_get(state, "analysis"), *a;
	int i = 1;

	fprintf(f, "Incident:    %s\n", row->id);
	if (fb_json_get(state, "classification"))
		fb_report_classification(f, fb_json_get(state, "classification"));
	if (*fb_json_str(state, "app"))
		fprintf(f, "App:         %s\n", fb_json_str(state, "app"));
	if (an) {
		fprintf(f, "\nRoot cause:  %s\n", fb_json_str(an, "root_cause"));
		if (cJSON_GetArraySize(fb_json_get(an, "actions")) > 0)
			fprintf(f, "Suggested actions:\n");
		cJSON_ArrayForEach(a, fb_json_get(an, "actions"))
		    fprintf(f, "  %d. %s\n", i++, a->valuestring);
	}
	report_proposal(f, fb_json_get(state, "proposal"));
}

void fb_report_result(FILE *f, const fb_incident_row *row, const cJSON *state)
{
	const cJSON *ap = fb_json_get(state, "apply"), *v = fb_json_get(state, "verify");

	fprintf(f, "\nResult:      %s\n", row->status);
	if (ap)
		fprintf(f, "Commit:      %s on %s%s (approved by %s)\n", fb_json_str(ap, "commit"),
		        fb_json_str(ap, "branch"),
		        cJSON_IsTrue(fb_json_get(ap, "pushed")) ? ", pushed" : "",
		        fb_json_str(state, "approved_by"));
	if (v)
		fprintf(f, "Verify:      %s%s%s\n", fb_json_str(v, "result"),
		        *fb_json_str(v, "reason") ? " - " : "", fb_json_str(v, "reason"));
	if (*fb_json_str(state, "apply_error"))
		fprintf(f, "Apply:       %s\n", fb_json_str(state, "apply_error"));
	if (*fb_json_str(state, "error"))
		fprintf(f, "Error:       %s\n", fb_json_str(state, "error"));
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

cJSON *fb_report_json(const fb_incident_row *row, const cJSON *state, const fb_timeline_entry *t,
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
		cJSON_AddItemToObject(o, "state", cJSON_Duplicate(state, 1));
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
