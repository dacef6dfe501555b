/*
 * json.h - the two reads every module makes of cJSON state: a string
 * member ("" when missing or not a string) and any member.  Safe on a
 * NULL object, so a chain of lookups on hostile input never crashes.
 */
#ifndef FIREBREAK_JSON_H
#define FIREBREAK_JSON_H

#include <cjson/cJSON.h>

const char *fb_json_str(const cJSON *o, const char *key);
const cJSON *fb_json_get(const cJSON *o, const char *key);

#endif
