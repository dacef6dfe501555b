/*
 * analyze.c - owns the deterministic root-cause analysis: a root cause
 * per category assembled from the facts that were actually found
 * (container, limit, exit code, restart count, image, missing key,
 * refusing host), and the suggested actions in the order an SRE would try
 * them.  Pure function of its input; runs on any thread.
 *
 * The words live in the message catalogs, not here (msg.h): the root
 * cause is the catalog key "cause_<category>" and the suggestions are
 * "suggest_<category>_1", "_2", ... (a resource_exhausted excerpt about
 * disk space uses "<category>_disk", a JVM's OutOfMemoryError
 * "oom_jvm_heap" or "oom_jvm"), rendered with the facts below as
 * parameters.  The analysis stores the English rendering (the CLI, the
 * API, commit bodies) and the key with its parameters (the card renders
 * them in the locale's catalog).
 *
 * A new category needs no code here: add "cause_<category>" and its
 * "suggest_<category>_<n>" to blocks/messages.en.json AND
 * blocks/messages.ko.json (test_card checks both have the same keys and
 * that the Korean card has no English words).  The parameters every
 * cause may use: app, container (only when it differs from app), ns,
 * limit, exit_code, sigkill ("1" when the exit code is 137), restarts
 * (when not 0), image, key, path, host, and {{t.subject}} ("Container X
 * of app (namespace N)") and {{t.cause_restarts}}.  A category without a
 * cause_ key falls back to cause_other and suggest_other_<n>.  Add a fact
 * to the table `params` when a new template needs one.
 *
 * An alert classified by name (rules.yaml alerts:, rule "alert:NAME")
 * uses "cause_<category>_alert" when the catalogs have it (the alert, not
 * a log, is the evidence), and gets more parameters: alert (its name),
 * says (its description), claim, pv, phase, hpa, mountpoint, node, reason,
 * and for target_down job and service; {{t.alert_says}} quotes the
 * description.  Its runbook_url becomes the last suggestion
 * ("suggest_runbook", {{url}}).
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/analyze.h"
#include "firebreak/msg.h"

static const char *fact(const fb_classification *cls, const char *name)
{
	return fb_classification_fact(cls, name);
}

/* A resource_exhausted excerpt about disk space (a bigger volume, not a
 * manual look). */
static int is_disk(const fb_classification *cls)
{
	static const char *words[] = {"space", "ENOSPC", "disk",      "Disk", "ephemeral-storage",
	                              "inode", "volume", "filesystem"};
	const char *ev = cls->evidence;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(ev, words[i]))
			return 1;
	return 0;
}

/* An alert's own parameters (see the comment at the top); the labels an
 * alert does not carry stay unset, so a template's sections drop. */
static void alert_params(fb_msg *m, const fb_classification *cls)
{
	static const char *const labels[][2] = {{"claim", "persistentvolumeclaim"},
	                                        {"pv", "persistentvolume"},
	                                        {"phase", "phase"},
	                                        {"hpa", "horizontalpodautoscaler"},
	                                        {"mountpoint", "mountpoint"},
	                                        {"node", "node"},
	                                        {"reason", "reason"}};
	const char *says = fact(cls, "description");

	if (strncmp(cls->rule, "alert:", 6) != 0)
		return;
	fb_msg_set(m, "alert", cls->rule + 6);
	fb_msg_set(m, "says", says ? says : fact(cls, "message"));
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		fb_msg_set(m, labels[i][0], fact(cls, labels[i][1]));
	if (!strcmp(cls->category, "target_down")) {
		fb_msg_set(m, "job", fact(cls, "job"));
		fb_msg_set(m, "service", fact(cls, "service"));
	}
}

/* The facts every template may use (see the comment at the top). */
static void params(fb_msg *m, const fb_classification *cls, const char *app)
{
	static const char *const facts[] = {"limit", "image",     "key",    "path",
	                                    "host",  "exit_code", "jvm_oom"};
	const char *container = fact(cls, "container"), *rc = fact(cls, "restart_count");
	const char *code = fact(cls, "exit_code");

	fb_msg_set(m, "app", app);
	if (container && (!app || strcmp(container, app) != 0))
		fb_msg_set(m, "container", container);
	fb_msg_set(m, "ns", cls->ns);
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++)
		fb_msg_set(m, facts[i], fact(cls, facts[i]));
	fb_msg_set(m, "sigkill", code && !strcmp(code, "137") ? "1" : NULL);
	fb_msg_set(m, "restarts", rc && strcmp(rc, "0") != 0 ? rc : NULL);
	alert_params(m, cls);
}

/* An OOM that a JVM reported: "_jvm_heap" when its heap filled (a heap
 * raise), "_jvm" for what a bigger heap does not help (Metaspace, direct
 * buffers, native threads); "" otherwise (the container's limit). */
static const char *jvm_family(const fb_classification *cls)
{
	const char *what = fb_classification_fact(cls, "jvm_oom");

	if (strcmp(cls->category, "oom") != 0 || !what)
		return "";
	return !strcmp(what, "Java heap space") || !strcmp(what, "GC overhead limit exceeded")
	           ? "_jvm_heap"
	           : "_jvm";
}

/* m's English; "" when the catalog has no such key. */
static void english(const fb_msg *m, char *out, size_t n)
{
	fb_msg_english(m, out, n);
}

fb_err fb_analyze(const fb_classification *cls, const char *app, cJSON **out)
{
	const char *cat = cls->category;
	int disk = !strcmp(cat, "resource_exhausted") && is_disk(cls);
	char family[64], key[96], text[4096];
	cJSON *o = cJSON_CreateObject(), *acts, *acts_msg;
	fb_msg m;

	if (!o)
		return fb_error_set(FB_ENOMEM, "out of memory");
	snprintf(family, sizeof(family), "%s%s", cat, disk ? "_disk" : jvm_family(cls));
	snprintf(key, sizeof(key), "cause_%s_alert", family);
	fb_msg_init(&m, key);
	params(&m, cls, app);
	english(&m, text, sizeof(text));
	if (!*text || strncmp(cls->rule, "alert:", 6) != 0) {
		snprintf(key, sizeof(key), "cause_%s", family);
		fb_msg_init(&m, key);
		params(&m, cls, app);
		english(&m, text, sizeof(text));
	}
	if (!*text) { /* a category the catalogs do not know yet */
		snprintf(family, sizeof(family), "other");
		fb_msg_init(&m, "cause_other");
		params(&m, cls, app);
		english(&m, text, sizeof(text));
	}
	cJSON_AddStringToObject(o, "root_cause", text);
	cJSON_AddItemToObject(o, "root_cause_msg", fb_msg_json(&m));
	acts = cJSON_AddArrayToObject(o, "actions");
	acts_msg = cJSON_AddArrayToObject(o, "actions_msg");
	for (int i = 1; i <= 8; i++) {
		snprintf(key, sizeof(key), "suggest_%s_%d", family, i);
		fb_msg_init(&m, key);
		params(&m, cls, app);
		english(&m, text, sizeof(text));
		if (!*text)
			break;
		cJSON_AddItemToArray(acts, cJSON_CreateString(text));
		cJSON_AddItemToArray(acts_msg, fb_msg_json(&m));
	}
	if (fact(cls, "runbook_url") && strcmp(cat, "none") != 0) {
		fb_msg_init(&m, "suggest_runbook");
		fb_msg_set(&m, "url", fact(cls, "runbook_url"));
		english(&m, text, sizeof(text));
		cJSON_AddItemToArray(acts, cJSON_CreateString(text));
		cJSON_AddItemToArray(acts_msg, fb_msg_json(&m));
	}
	cJSON_AddBoolToObject(o, "disk", is_disk(cls));
	*out = o;
	return FB_OK;
}
