/*
 * config_check.c - owns the checks of a loaded configuration that look at
 * values rather than at the YAML's shape: numbers that must be positive,
 * ports in listen addresses and URLs, absolute paths, Slack user ids; and
 * the duplicate-key scan of a parsed YAML document (libyaml keeps both
 * pairs of a repeated key).  Runs wherever fb_config_load runs (start-up,
 * SIGHUP on the engine thread); no state of its own.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"

int fb_config_slack_user_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 32 || (s[0] != 'U' && s[0] != 'W'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* NULL when port (n characters) is a number from 1 to 65535. */
static const char *port_problem(const char *port, size_t n)
{
	long v = 0;

	if (n == 0)
		return "the port is empty";
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)port[i]))
			return "the port is not a number";
		if (v <= 65535)
			v = v * 10 + (port[i] - '0');
	}
	return v >= 1 && v <= 65535 ? NULL : "the port must be from 1 to 65535";
}

/* ADDRESS:PORT or [V6]:PORT. */
static void check_listen(fb_config_loader *ld, const char *key, const char *v)
{
	const char *colon = strrchr(v, ':');
	const char *why;

	if (!v[0] || !colon || colon == v)
		return; /* empty is "off"; a missing colon is validate()'s */
	if ((why = port_problem(colon + 1, strlen(colon + 1))) != NULL)
		fb_config_problem_key(ld, key, "%s (in \"%s\")", why, v);
}

/* scheme://[user@]host[:port][/path]: http(s) only when web is set. */
static void check_url(fb_config_loader *ld, const char *key, const char *url, int web)
{
	const char *auth = strstr(url, "://"), *end, *at, *host, *colon;
	const char *why;

	if (!url[0])
		return;
	if (web && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return; /* validate() says so for the keys it knows; others below */
	if (!auth || !strncmp(url, "file://", 7))
		return; /* a remote name, scp-like user@host:path, a local path */
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	host = at ? at + 1 : auth;
	if (host == end || *host == ':') {
		fb_config_problem_key(ld, key, "the URL has no host"); /* never echo user:secret@ */
		return;
	}
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		colon = close && close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
	}
	if (colon && (why = port_problem(colon + 1, (size_t)(end - colon - 1))) != NULL)
		fb_config_problem_key(ld, key, "%s (in \"%.*s\")", why, (int)(end - host), host);
}

static void check_web_url(fb_config_loader *ld, const char *key, const char *url)
{
	if (url[0] && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		fb_config_problem_key(ld, key, "must be an http:// or https:// URL");
	check_url(ld, key, url, 1);
}

#define L(field) offsetof(fb_config, field)

/* Numbers that must be at least 1 (seconds for durations). */
static const struct {
	const char *key;
	size_t off;
	const char *unit;
} positive[] = {
    {"policy.image_change_window", L(policy.image_change_window), "1s"},
    {"loki.max_pages", L(loki.max_pages), "1"},
    {"logfile.interval", L(logfile.interval), "1s"},
    {"engine.retry_delay", L(engine.retry_delay), "1s"},
    {"engine.verify_delay", L(engine.verify_delay), "1s"},
    {"engine.verify_max_checks", L(engine.verify_max_checks), "1"},
    {"engine.repeat_note_interval", L(engine.repeat_note_interval), "1s"},
};

static void check_numbers(fb_config_loader *ld, const fb_config *cfg)
{
	for (size_t i = 0; i < sizeof(positive) / sizeof(positive[0]); i++) {
		long v = *(const long *)(const void *)((const char *)cfg + positive[i].off);
		if (v < 1)
			fb_config_problem_key(ld, positive[i].key, "must be at least %s",
			                      positive[i].unit);
	}
	if (cfg->engine.cooldown < 0) /* 0 is fine: repeats fold only into open incidents */
		fb_config_problem_key(ld, "engine.cooldown", "must not be negative");
	/* a fix multiplies a limit by the factor: 1 or less would not raise it */
	if (cfg->policy.memory_factor <= 1.0)
		fb_config_problem_key(ld, "policy.memory_factor",
		                      "must be above 1 (a fix raises the limit by it)");
	if (cfg->policy.disk_factor <= 1.0)
		fb_config_problem_key(ld, "policy.disk_factor",
		                      "must be above 1 (a fix grows the volume by it)");
}

void fb_config_check(fb_config_loader *ld, const fb_config *cfg)
{
	if (cfg->state_dir[0] != '/')
		fb_config_problem_key(ld, "state_dir", "must be an absolute path");
	if (!cfg->store.path[0])
		fb_config_problem_key(ld, "store.path", "must not be empty");
	check_numbers(ld, cfg);
	check_listen(ld, "http.listen", cfg->http.listen);
	check_url(ld, "slack.api_url", cfg->slack.api_url, 1);
	check_url(ld, "loki.url", cfg->loki.url, 1);
	check_web_url(ld, "kubernetes.url", cfg->kubernetes.url);
	check_web_url(ld, "argocd.url", cfg->argocd.url);
	check_url(ld, "gitops.remote", cfg->gitops.remote, 0);
	check_url(ld, "gitops.url", cfg->gitops.url, 0);
	check_url(ld, "gitops.forge", cfg->gitops.forge.api_url, 1);
	check_url(ld, "gitops.forge", cfg->gitops.forge.web_url, 1);
	check_web_url(ld, "links.grafana", cfg->links.grafana);
}

/* --- duplicate keys --- */

static const char *key_text(yaml_document_t *doc, int id)
{
	yaml_node_t *k = yaml_document_get_node(doc, id);
	return k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
}

static unsigned long key_line(yaml_document_t *doc, int id)
{
	return (unsigned long)yaml_document_get_node(doc, id)->start_mark.line + 1;
}

int fb_config_yaml_duplicates(yaml_document_t *doc, fb_config_dup_fn dup, void *ctx)
{
	int found = 0;

	for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
		if (n->type != YAML_MAPPING_NODE)
			continue;
		yaml_node_pair_t *first = n->data.mapping.pairs.start;
		yaml_node_pair_t *top = n->data.mapping.pairs.top;
		for (yaml_node_pair_t *p = first; p < top; p++) {
			const char *k = key_text(doc, p->key);
			for (yaml_node_pair_t *q = first; k && q < p; q++) {
				const char *earlier = key_text(doc, q->key);
				if (!earlier || strcmp(earlier, k) != 0)
					continue;
				dup(ctx, k, key_line(doc, q->key), key_line(doc, p->key));
				found++;
				break;
			}
		}
	}
	return found;
}
