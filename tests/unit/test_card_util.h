/* Shared by the card's unit tests: rows, states analysed for real,
 * proposals with catalog keys, decisions, and block lookups. */
#ifndef TEST_CARD_UTIL_H
#define TEST_CARD_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/analyze.h"
#include "firebreak/card.h"
#include "firebreak/msg.h"
#include "firebreak/state.h"

static inline fb_incident_row waiting_row(void)
{
	fb_incident_row r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "incident-20261121000000-abcd");
	snprintf(r.status, sizeof(r.status), "waiting");
	snprintf(r.node, sizeof(r.node), "await_decision");
	snprintf(r.category, sizeof(r.category), "oom");
	snprintf(r.severity, sizeof(r.severity), "critical");
	snprintf(r.app, sizeof(r.app), "grafana");
	snprintf(r.ns, sizeof(r.ns), "monitoring");
	r.version = 1;
	return r;
}

static inline const cJSON *block_of_type(const cJSON *msg, const char *type)
{
	const cJSON *b;
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(msg, "blocks"))
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
		if (cJSON_IsString(t) && !strcmp(t->valuestring, type))
			return b;
	}
	return NULL;
}

/* ---- the whole story (issue 9) ---- */

/* A state from a classification with every fact, analysed for real. */
static inline fb_state *story_state(const char *category, const char *evidence, const char *app)
{
	fb_state *st = NULL;
	cJSON *an = NULL;
	static const char *const facts[][2] = {{"container", "sidecar"},
	                                       {"limit", "512Mi"},
	                                       {"exit_code", "137"},
	                                       {"restart_count", "6"},
	                                       {"image", "docker.io/grafana/grafana:10.4.2"},
	                                       {"key", "api-db-v2"},
	                                       {"path", "/var/lib/grafana"},
	                                       {"host", "db.internal:5432"}};
	assert_int_equal(fb_state_new(&st), FB_OK);
	snprintf(st->id, sizeof(st->id), "incident-20261121000000-abcd");
	fb_classification *c = &st->classification;
	c->present = 1;
	snprintf(c->category, sizeof(c->category), "%s", category);
	snprintf(c->severity, sizeof(c->severity), "%s",
	         strcmp(category, "none") ? "critical" : "info");
	snprintf(c->evidence, sizeof(c->evidence), "%s", evidence);
	snprintf(c->ns, sizeof(c->ns), "monitoring");
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		snprintf(c->facts[i].key, sizeof(c->facts[i].key), "%s", facts[i][0]);
		snprintf(c->facts[i].value, sizeof(c->facts[i].value), "%s", facts[i][1]);
	}
	c->n_facts = sizeof(facts) / sizeof(facts[0]);
	assert_int_equal(fb_analyze(c, app, &an), FB_OK);
	assert_int_equal(fb_state_set_analysis(st, an), FB_OK);
	cJSON_Delete(an);
	fb_state_set_excerpt(st, evidence);
	return st;
}

/* Gives st a proposal: action, summary (key) or reason (key), params. */
static inline void story_proposal(fb_state *st, const char *action, const char *field,
                                  const char *key, const char *const *params)
{
	cJSON *p = cJSON_CreateObject();
	char name[32];
	fb_msg m;
	fb_msg_init(&m, key);
	for (size_t i = 0; params && params[i]; i += 2)
		fb_msg_set(&m, params[i], params[i + 1]);
	cJSON_AddStringToObject(p, "action", action);
	cJSON_AddStringToObject(p, field, "english words that must not show");
	snprintf(name, sizeof(name), "%s_msg", field);
	cJSON_AddItemToObject(p, name, fb_msg_json(&m));
	if (!strcmp(action, "values_patch")) {
		cJSON_AddStringToObject(p, "file", "helm-values/grafana/values.yaml");
		cJSON_AddStringToObject(p, "diff",
		                        "diff --git a/helm-values/grafana/values.yaml "
		                        "b/helm-values/grafana/values.yaml\n"
		                        "index d2ac678..89829de 100644\n"
		                        "--- a/helm-values/grafana/values.yaml\n"
		                        "+++ b/helm-values/grafana/values.yaml\n"
		                        "@@ -13,3 +13,3 @@ resources:\n"
		                        "   limits:\n-    memory: 512Mi\n+    memory: 1024Mi\n");
	}
	assert_int_equal(fb_state_set_proposal(st, p), FB_OK);
	cJSON_Delete(p);
}

static inline fb_incident_row story_row(const char *status, const char *node, const fb_state *st)
{
	fb_incident_row r = waiting_row();
	snprintf(r.status, sizeof(r.status), "%s", status);
	snprintf(r.node, sizeof(r.node), "%s", node);
	snprintf(r.category, sizeof(r.category), "%s", st->classification.category);
	snprintf(r.severity, sizeof(r.severity), "%s", st->classification.severity);
	return r;
}

static inline void decide(fb_state *st, const char *action, const char *note)
{
	fb_state_decision d;
	memset(&d, 0, sizeof(d));
	d.present = 1;
	snprintf(d.action, sizeof(d.action), "%s", action);
	snprintf(d.user, sizeof(d.user), "U024BE7LH");
	snprintf(d.note, sizeof(d.note), "%s", note);
	d.at = 1796088522990;
	if (!strcmp(action, "edit")) {
		snprintf(d.set[0].key, sizeof(d.set[0].key), "resources.limits.memory");
		snprintf(d.set[0].value, sizeof(d.set[0].value), "2Gi");
		d.n_set = 1;
	}
	fb_state_decision_push(st, &d);
}

#endif
