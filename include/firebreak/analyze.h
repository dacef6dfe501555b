/*
 * analyze.h - deterministic root-cause text and ranked suggested actions
 * built from a classification and the facts its extractors found.
 */
#ifndef FIREBREAK_ANALYZE_H
#define FIREBREAK_ANALYZE_H

#include <cjson/cJSON.h>
#include "firebreak/error.h"
#include "firebreak/rules.h"

/* Given the classification (rules.h) and the chosen app, returns
 * {"root_cause": "...", "actions": ["...", ...], "disk": bool,
 *  "root_cause_msg": {"key","params"}, "actions_msg": [{"key","params"}...]}:
 * the English and the same as catalog keys (msg.h, analyze.c). */
fb_err fb_analyze(const fb_classification *classification, const char *app, cJSON **out);

#endif
