/*
 * alerts.h - private to the triage family: the rules file's `alerts:`
 * section (alertname -> category), loaded by rules.c with the rest of the
 * file, and the classification of an Alertmanager alert from its labels.
 */
#ifndef FIREBREAK_TRIAGE_ALERTS_H
#define FIREBREAK_TRIAGE_ALERTS_H

#include <stddef.h>
#include <yaml.h>

#include "firebreak/buf.h"
#include "firebreak/rules.h"

typedef struct fb_alerts fb_alerts;

/* Reads the alerts: mapping n of doc.  Every problem is appended to
 * errors as "file:line: message" and counted in *nerr.  NULL only when
 * out of memory (counted as a problem too). */
fb_alerts *fb_alerts_load(yaml_document_t *doc, yaml_node_t *n, const char *file, fb_buf *errors,
                          int *nerr);
void fb_alerts_free(fb_alerts *a);

/*
 * When text is an alert as the Alertmanager source writes it (a first line
 * "Alertmanager alert NAME", then "annotation: value" and "label=value"
 * lines) and NAME is in a: fills out's category, severity (the alert's
 * severity label, else the entry's default), rule ("alert:NAME"),
 * confidence, evidence, signature, namespace, apps and the label and
 * annotation facts, and returns 1.  Otherwise 0 and out is untouched.
 */
int fb_alerts_classify(const fb_alerts *a, const char *text, size_t len, fb_classification *out);

#endif
