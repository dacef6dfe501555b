/*
 * classification.c - owns the classification's JSON: the form it takes in
 * the incident state ("classification") and in `classify --json`, written
 * and read back here and nowhere else, and the lookup of one fact.  Pure
 * functions; any thread.
 */
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/json.h"
#include "firebreak/rules.h"

#define COPY(dst, s) fb_copy_utf8((dst), sizeof(dst), (s))

const char *fb_classification_fact(const fb_classification *c, const char *name)
{
	for (size_t i = 0; i < c->n_facts; i++)
		if (!strcmp(c->facts[i].key, name))
			return c->facts[i].value[0] ? c->facts[i].value : NULL;
	return NULL;
}

cJSON *fb_classification_json(const fb_classification *c)
{
	cJSON *o = cJSON_CreateObject(), *apps, *facts;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "category", c->category);
	cJSON_AddStringToObject(o, "severity", c->severity);
	apps = cJSON_AddArrayToObject(o, "apps");
	for (size_t i = 0; i < c->n_apps; i++)
		cJSON_AddItemToArray(apps, cJSON_CreateString(c->apps[i]));
	if (*c->ns)
		cJSON_AddStringToObject(o, "namespace", c->ns);
	else
		cJSON_AddNullToObject(o, "namespace");
	cJSON_AddStringToObject(o, "signature", c->signature);
	cJSON_AddStringToObject(o, "rule", c->rule);
	cJSON_AddNumberToObject(o, "confidence", c->confidence);
	cJSON_AddStringToObject(o, "evidence", c->evidence);
	facts = cJSON_AddObjectToObject(o, "facts");
	for (size_t i = 0; i < c->n_facts; i++)
		cJSON_AddStringToObject(facts, c->facts[i].key, c->facts[i].value);
	return o;
}

fb_err fb_classification_parse(fb_classification *c, const cJSON *o)
{
	const cJSON *it, *conf = fb_json_get(o, "confidence");

	memset(c, 0, sizeof(*c));
	c->present = 1;
	COPY(c->category, fb_json_str(o, "category"));
	COPY(c->severity, fb_json_str(o, "severity"));
	COPY(c->rule, fb_json_str(o, "rule"));
	c->confidence = cJSON_IsNumber(conf) ? conf->valuedouble : 0;
	COPY(c->signature, fb_json_str(o, "signature"));
	COPY(c->evidence, fb_json_str(o, "evidence"));
	COPY(c->ns, fb_json_str(o, "namespace"));
	cJSON_ArrayForEach(it, fb_json_get(o, "apps"))
	{
		if (cJSON_IsString(it) && c->n_apps < FB_CLASS_APPS_MAX)
			COPY(c->apps[c->n_apps++], it->valuestring);
	}
	cJSON_ArrayForEach(it, fb_json_get(o, "facts"))
	{
		if (!cJSON_IsString(it) || !it->string || c->n_facts >= FB_CLASS_FACTS_MAX)
			continue;
		COPY(c->facts[c->n_facts].key, it->string);
		COPY(c->facts[c->n_facts].value, it->valuestring);
		c->n_facts++;
	}
	return FB_OK;
}
