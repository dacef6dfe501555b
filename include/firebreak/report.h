/*
 * report.h - what a person reads in a terminal: an incident's
 * classification, evidence, root cause, proposal and diff, its result and
 * its timeline; and the same as JSON for scripts.
 */
#ifndef FIREBREAK_REPORT_H
#define FIREBREAK_REPORT_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include "firebreak/state.h"
#include "firebreak/domain.h"

void fb_report_classification(FILE *f, const fb_state_classification *cls);
/* The body of an incident: analysis and proposal (with the diff). */
void fb_report_incident(FILE *f, const fb_incident_row *row, const fb_state *state);
void fb_report_result(FILE *f, const fb_incident_row *row, const fb_state *state);
void fb_report_timeline(FILE *f, const fb_timeline_entry *t, size_t n);
void fb_report_list(FILE *f, fb_incident_row *const *rows, size_t n);

/* {"id","status","node",...,"state":{...},"timeline":[...]} */
cJSON *fb_report_json(const fb_incident_row *row, const fb_state *state, const fb_timeline_entry *t,
                      size_t n);

#endif
