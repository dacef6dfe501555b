/*
 * rules.h - rule-based triage: log text in, category and facts out.
 *
 * A rule set (deploy/rules.yaml, or the copy compiled into the binary) maps
 * log signatures (PCRE2, compiled once at load) to a category, a severity
 * and a priority; extractors pull the affected app, namespace and the facts
 * the analysis needs (container, limit, exit code, image...).  A loaded
 * rule set is immutable, so any thread may classify with it concurrently.
 */
#ifndef FIREBREAK_RULES_H
#define FIREBREAK_RULES_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "firebreak/error.h"

typedef struct fb_rules fb_rules;

#define FB_CLASS_APPS_MAX 8
#define FB_CLASS_FACTS_MAX 32

/* A name and its value (a fact the extractors found). */
typedef struct {
	char key[256];
	char value[256];
} fb_fact;

/* What the rules say about a text.  Strings are bounded and cut at a
 * character boundary; ns "" means not known (JSON null). */
typedef struct {
	int present;
	char category[32];
	char severity[16];
	char rule[64];
	double confidence;
	char signature[256];
	char evidence[512];
	char ns[128];
	char apps[FB_CLASS_APPS_MAX][128]; /* most likely first */
	size_t n_apps;
	fb_fact facts[FB_CLASS_FACTS_MAX]; /* container, limit, exit_code, image, ... */
	size_t n_facts;
} fb_classification;

/* The categories, in the order reports list them. */
extern const char *const fb_categories[];
extern const size_t fb_n_categories;
int fb_category_valid(const char *s);
int fb_severity_valid(const char *s);

/* Loads path, or the embedded rules when path is NULL or "". On failure
 * *errors lists every problem as file:line: message (free it). */
fb_err fb_rules_load(const char *path, fb_rules **out, char **errors);
fb_err fb_rules_parse(const char *text, size_t len, const char *name, fb_rules **out,
                      char **errors);
void fb_rules_free(fb_rules *rules);
size_t fb_rules_count(const fb_rules *rules);

/*
 * The action (see action.h) that fixes category, from the rules file's
 * top-level `actions:` mapping (category: action name); "manual" for a
 * category it does not map.  A file without the mapping keeps the one of
 * the embedded rules.  An unknown category or action name in the mapping
 * is a load error with file:line.  Never NULL.
 */
const char *fb_rules_action_for(const fb_rules *rules, const char *category);

/*
 * Classifies text (already masked) into *out.  Never fails on odd input:
 * text with no error at all is category "none".
 */
fb_err fb_rules_classify(const fb_rules *rules, const char *text, size_t len,
                         fb_classification *out);

/* The fact called name; NULL when it was not found (or is empty). */
const char *fb_classification_fact(const fb_classification *c, const char *name);

/*
 * Its JSON form (the incident state's "classification", `classify
 * --json`):  {"category","severity","apps":[...],"namespace" (null when
 * unknown),"signature","rule","confidence","evidence","facts":{...}}.
 * parse reads it back (more apps or facts than fit are left out).
 */
cJSON *fb_classification_json(const fb_classification *c);
fb_err fb_classification_parse(fb_classification *c, const cJSON *o);

/* Reduces a pod name to its workload: grafana-7d9f8b6c4-x2kqp -> grafana,
 * postgres-0 -> postgres, fluent-bit-x7k2p -> fluent-bit.  out gets the
 * input unchanged when no controller suffix is recognised. */
void fb_rules_pod_to_app(const char *pod, char *out, size_t outsz);

/* Normalises a log line into a stable signature: timestamps, numbers,
 * hex ids, pod hashes and IPs replaced, whitespace collapsed. */
void fb_rules_signature(const char *line, size_t len, char *out, size_t outsz);

#endif
