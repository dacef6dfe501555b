/*
 * json.c - owns the null-safe member lookups over cJSON (json.h).  Pure
 * functions; any thread.
 */
#include "firebreak/json.h"

const char *fb_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

const cJSON *fb_json_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}
