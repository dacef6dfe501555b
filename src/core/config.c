/*
 * config.c - owns parsing and validating the YAML configuration file and
 * the environment into an fb_config.  Runs once at start-up (and on SIGHUP
 * in the daemon, into a fresh struct that replaces the old one only when
 * valid); no other module reads YAML config or the environment.
 *
 * The schema is a table: each known key names its type and where it lands
 * in the struct, so "unknown key" and "bad value" errors come for free and
 * every problem in the file is reported, not just the first.
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"
#include "firebreak/buf.h"
#include "firebreak/config.h"
#include "firebreak/log.h"
#include "firebreak/quantity.h"

typedef enum {
	K_STR,
	K_DOUBLE,
	K_LONG,
	K_BOOL,
	K_DURATION,
	K_QTY,
	K_LEVEL,
	K_LOCALE,
	K_APPROVERS,
	K_QUERIES,
	K_PATHS,
	K_AUTO_APPLY,
	K_GITOPS_MODE,
	K_FORGE
} key_type;

typedef struct {
	const char *section; /* NULL for top-level keys */
	const char *name;
	key_type type;
	size_t off;
	size_t size;
} key_def;

#define F(field) offsetof(fb_config, field), sizeof(((fb_config *)0)->field)

static const key_def keys[] = {
    {NULL, "log_level", K_LEVEL, F(log_level)},
    {NULL, "state_dir", K_STR, F(state_dir)},
    {"store", "path", K_STR, F(store.path)},
    {"rules", "path", K_STR, F(rules.path)},
    {"gitops", "repo", K_STR, F(gitops.repo)},
    {"gitops", "branch", K_STR, F(gitops.branch)},
    {"gitops", "remote", K_STR, F(gitops.remote)},
    {"gitops", "values_path", K_STR, F(gitops.values_path)},
    {"gitops", "author_name", K_STR, F(gitops.author_name)},
    {"gitops", "author_email", K_STR, F(gitops.author_email)},
    {"gitops", "ssh_key", K_STR, F(gitops.ssh_key)},
    {"gitops", "url", K_STR, F(gitops.url)},
    {"gitops", "mode", K_GITOPS_MODE, F(gitops.mode)},
    {"gitops", "forge", K_FORGE, F(gitops.forge)},
    {"links", "grafana", K_STR, F(links.grafana)},
    {"links", "loki_datasource", K_STR, F(links.loki_datasource)},
    {"argocd", "namespace", K_STR, F(argocd.ns)},
    {"policy", "memory_factor", K_DOUBLE, F(policy.memory_factor)},
    {"policy", "max_memory", K_QTY, F(policy.max_memory)},
    {"policy", "disk_factor", K_DOUBLE, F(policy.disk_factor)},
    {"policy", "max_disk", K_QTY, F(policy.max_disk)},
    {"policy", "replicas_factor", K_DOUBLE, F(policy.replicas_factor)},
    {"policy", "max_replicas", K_LONG, F(policy.max_replicas)},
    {"policy", "cpu_factor", K_DOUBLE, F(policy.cpu_factor)},
    {"policy", "max_cpu", K_QTY, F(policy.max_cpu)},
    {"policy", "image_change_window", K_DURATION, F(policy.image_change_window)},
    {"policy", "four_eyes", K_BOOL, F(policy.four_eyes)},
    {"policy", "auto_apply", K_AUTO_APPLY, F(policy.auto_apply)},
    {"slack", "channel", K_STR, F(slack.channel)},
    {"slack", "locale", K_LOCALE, F(slack.locale)},
    {"slack", "approvers", K_APPROVERS, F(slack.approvers)},
    {"slack", "api_url", K_STR, F(slack.api_url)},
    {"slack", "post_interval_ms", K_LONG, F(slack.post_interval_ms)},
    {"slack", "ping_interval", K_DURATION, F(slack.ping_interval)},
    {"slack", "dead_after", K_DURATION, F(slack.dead_after)},
    {"storm", "rate", K_LONG, F(storm.rate)},
    {"storm", "window", K_DURATION, F(storm.window)},
    {"http", "listen", K_STR, F(http.listen)},
    {"api", "key", K_STR, F(api.key)},
    {"alertmanager", "token", K_STR, F(alertmanager.token)},
    {"loki", "url", K_STR, F(loki.url)},
    {"loki", "tenant", K_STR, F(loki.tenant)},
    {"loki", "username", K_STR, F(loki.username)},
    {"loki", "interval", K_DURATION, F(loki.interval)},
    {"loki", "lag", K_DURATION, F(loki.lag)},
    {"loki", "limit", K_LONG, F(loki.limit)},
    {"loki", "max_pages", K_LONG, F(loki.max_pages)},
    {"loki", "queries", K_QUERIES, F(loki.queries)},
    {"logfile", "paths", K_PATHS, F(logfile.paths)},
    {"kubernetes", "url", K_STR, F(kubernetes.url)},
    {"kubernetes", "token_file", K_STR, F(kubernetes.token_file)},
    {"kubernetes", "ca_file", K_STR, F(kubernetes.ca_file)},
    {"kubernetes", "label", K_STR, F(kubernetes.label)},
    {"argocd", "url", K_STR, F(argocd.url)},
    {"argocd", "ca_file", K_STR, F(argocd.ca_file)},
    {"logfile", "pattern", K_STR, F(logfile.pattern)},
    {"logfile", "interval", K_DURATION, F(logfile.interval)},
    {"engine", "max_attempts", K_LONG, F(engine.max_attempts)},
    {"engine", "retry_delay", K_DURATION, F(engine.retry_delay)},
    {"engine", "verify_delay", K_DURATION, F(engine.verify_delay)},
    {"engine", "verify_max_checks", K_LONG, F(engine.verify_max_checks)},
    {"engine", "cooldown", K_DURATION, F(engine.cooldown)},
    {"engine", "repeat_note_interval", K_DURATION, F(engine.repeat_note_interval)},
    {"engine", "workers", K_LONG, F(engine.workers)},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void set_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void fb_config_defaults(fb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	set_str(cfg->log_level, sizeof(cfg->log_level), "info");
	set_str(cfg->store.path, sizeof(cfg->store.path), "firebreak.db");
	set_str(cfg->gitops.repo, sizeof(cfg->gitops.repo), ".");
	set_str(cfg->gitops.branch, sizeof(cfg->gitops.branch), "main");
	set_str(cfg->gitops.values_path, sizeof(cfg->gitops.values_path),
	        "helm-values/{app}/values.yaml");
	set_str(cfg->gitops.author_name, sizeof(cfg->gitops.author_name), "firebreak");
	set_str(cfg->gitops.author_email, sizeof(cfg->gitops.author_email), "firebreak@localhost");
	cfg->policy.memory_factor = 2.0;
	set_str(cfg->policy.max_memory, sizeof(cfg->policy.max_memory), "8Gi");
	cfg->policy.disk_factor = 1.5;
	set_str(cfg->policy.max_disk, sizeof(cfg->policy.max_disk), "500Gi");
	cfg->policy.replicas_factor = 1.5;
	cfg->policy.max_replicas = 50;
	cfg->policy.cpu_factor = 2.0;
	set_str(cfg->policy.max_cpu, sizeof(cfg->policy.max_cpu), "4");
	cfg->policy.image_change_window = 24 * 3600;
	set_str(cfg->slack.locale, sizeof(cfg->slack.locale), "en");
	set_str(cfg->slack.api_url, sizeof(cfg->slack.api_url), "https://slack.com/api/");
	cfg->slack.post_interval_ms = -1; /* unset: Slack's published limits (pace.h) */
	cfg->slack.ping_interval = 10;
	cfg->slack.dead_after = 30;
	cfg->storm.rate = 6;
	cfg->storm.window = 120;
	set_str(cfg->http.listen, sizeof(cfg->http.listen), "127.0.0.1:8080");
	cfg->engine.max_attempts = 3;
	cfg->engine.retry_delay = 5;
	cfg->engine.verify_delay = 60;
	cfg->engine.verify_max_checks = 10;
	cfg->engine.workers = 4;
	cfg->engine.cooldown = 30 * 60;
	cfg->loki.interval = 30;
	cfg->loki.lag = 30;
	cfg->loki.limit = 500;
	cfg->loki.max_pages = 10;
	set_str(cfg->logfile.pattern, sizeof(cfg->logfile.pattern),
	        "(?i)\\b(error|fatal|panic|oomkilled|out of memory|exception|traceback)\\b");
	cfg->logfile.interval = 1;
	set_str(cfg->kubernetes.label, sizeof(cfg->kubernetes.label), "app.kubernetes.io/name");
	cfg->engine.repeat_note_interval = 10 * 60;
	set_str(cfg->gitops.mode, sizeof(cfg->gitops.mode), "push");
	cfg->gitops.forge.poll_interval = 60;
	set_str(cfg->argocd.ns, sizeof(cfg->argocd.ns), "argocd");
	set_str(cfg->links.loki_datasource, sizeof(cfg->links.loki_datasource), "loki");
}

/* --- value parsers: each returns NULL on success or a static message --- */

static const char *parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
		*out = 1;
		return NULL;
	}
	if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
		*out = 0;
		return NULL;
	}
	return "expected true or false";
}

static const char *parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 0)
		return "expected a non-negative integer";
	*out = v;
	return NULL;
}

static const char *parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v) || v <= 0)
		return "expected a positive number";
	*out = v;
	return NULL;
}

/* Durations: "90", "30s", "5m", "24h", "1h30m", "7d". */
const char *fb_config_parse_duration(const char *s, long *out)
{
	long total = 0;
	const char *p = s;

	if (*p == '\0')
		return "expected a duration like 30s, 5m, 24h";
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (errno || end == p || v < 0)
			return "expected a duration like 30s, 5m, 24h";
		long mul = 1;
		switch (*end) {
		case '\0': mul = 1; break;
		case 's':
			mul = 1;
			end++;
			break;
		case 'm':
			mul = 60;
			end++;
			break;
		case 'h':
			mul = 3600;
			end++;
			break;
		case 'd':
			mul = 86400;
			end++;
			break;
		default: return "expected a duration like 30s, 5m, 24h";
		}
		if (v > (1L << 40) / mul)
			return "duration too large";
		total += v * mul;
		p = end;
	}
	*out = total;
	return NULL;
}

/* --- the walker --- */

typedef fb_config_loader loader;

_Static_assert(NKEYS <= FB_CONFIG_KEYS_MAX, "raise FB_CONFIG_KEYS_MAX");

/* The row of "section.name" (or a top-level "name"), or -1. */
static int key_index(const char *qualified)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *sec = keys[i].section;
		size_t sl = sec ? strlen(sec) : 0;
		if (!sec && !strcmp(qualified, keys[i].name))
			return (int)i;
		if (sec && !strncmp(qualified, sec, sl) && qualified[sl] == '.' &&
		    !strcmp(qualified + sl + 1, keys[i].name))
			return (int)i;
	}
	return -1;
}

void fb_config_problem_at(loader *ld, unsigned long line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		fb_buf_printf(&ld->errors, "%s:%lu: %s\n", ld->file, line, msg);
	else
		fb_buf_printf(&ld->errors, "%s: %s\n", ld->file, msg);
	ld->nerr++;
}

/* A check between two keys ("dead_after must be longer than
 * ping_interval") blames one; when that one kept its default, the other key
 * the message names, set in the file or the environment, says where. */
static int other_key_named(const loader *ld, const char *msg, int fallback)
{
	char q[128];

	for (size_t k = 0; k < NKEYS; k++) {
		if (!ld->line[k] && !ld->env[k])
			continue;
		snprintf(q, sizeof(q), "%s%s%s", keys[k].section ? keys[k].section : "",
		         keys[k].section ? "." : "", keys[k].name);
		if (strstr(msg, q))
			return (int)k;
	}
	return fallback;
}

void fb_config_problem_key(loader *ld, const char *key, const char *fmt, ...)
{
	char msg[512];
	int i = key_index(key);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (i < 0 || (!ld->line[i] && !ld->env[i]))
		i = other_key_named(ld, msg, i);
	if (i >= 0 && ld->env[i])
		fb_config_problem_at(ld, 0, "%s: %s (set by %s)", key, msg, ld->env[i]);
	else
		fb_config_problem_at(ld, i >= 0 ? ld->line[i] : 0, "%s: %s", key, msg);
}

/* n NULL: a check made after the file was read; its message starts with
 * the key ("loki.url: ..."), which says where it was set. */
static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512], key[128];
	const char *colon;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	colon = strstr(msg, ": ");
	if (n) {
		fb_config_problem_at(ld, (unsigned long)n->start_mark.line + 1, "%s", msg);
	} else if (colon && (size_t)(colon - msg) < sizeof(key)) {
		snprintf(key, sizeof(key), "%.*s", (int)(colon - msg), msg);
		fb_config_problem_key(ld, key, "%s", colon + 2);
	} else {
		fb_config_problem_at(ld, 0, "%s", msg);
	}
}

static const key_def *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		int same_section = section ? (keys[i].section && !strcmp(keys[i].section, section))
		                           : keys[i].section == NULL;
		if (same_section && !strcmp(keys[i].name, name))
			return &keys[i];
	}
	return NULL;
}

static int is_section(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].section && !strcmp(keys[i].section, name))
			return 1;
	return 0;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void load_approvers(loader *ld, yaml_document_t *doc, yaml_node_t *v, fb_config *cfg)
{
	cfg->slack.n_approvers = 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		problem(ld, v, "slack.approvers: expected a list of Slack user ids");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		const char *s = scalar(item);
		if (!s || !fb_config_slack_user_id(s)) {
			problem(ld, item,
			        "slack.approvers: \"%s\" is not a Slack user id (U... or W..., "
			        "upper-case letters and digits)",
			        s ? s : "?");
			continue;
		}
		if (cfg->slack.n_approvers == FB_CFG_LIST_MAX) {
			problem(ld, item, "slack.approvers: more than %d entries", FB_CFG_LIST_MAX);
			return;
		}
		set_str(cfg->slack.approvers[cfg->slack.n_approvers++], 64, s);
	}
}

static void load_queries(loader *ld, yaml_document_t *doc, yaml_node_t *v, fb_config *cfg)
{
	cfg->loki.n_queries = 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		problem(ld, v, "loki.queries: expected a list of LogQL queries");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		const char *s = scalar(item);
		if (!s || s[0] != '{' || strlen(s) >= FB_CFG_STR) {
			problem(ld, item,
			        "loki.queries: each item is a LogQL log query, {...} |~ ...");
			continue;
		}
		if (cfg->loki.n_queries == FB_LOKI_QUERIES) {
			problem(ld, item, "loki.queries: more than %d queries", FB_LOKI_QUERIES);
			return;
		}
		set_str(cfg->loki.queries[cfg->loki.n_queries++], FB_CFG_STR, s);
	}
}

static void load_paths(loader *ld, yaml_document_t *doc, yaml_node_t *v, fb_config *cfg)
{
	cfg->logfile.n_paths = 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		problem(ld, v, "logfile.paths: expected a list of file paths");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		const char *s = scalar(item);
		if (!s || s[0] != '/' || strlen(s) >= FB_CFG_STR) {
			problem(ld, item, "logfile.paths: each item is an absolute path");
			continue;
		}
		if (cfg->logfile.n_paths == FB_LOGFILE_PATHS) {
			problem(ld, item, "logfile.paths: more than %d files", FB_LOGFILE_PATHS);
			return;
		}
		set_str(cfg->logfile.paths[cfg->logfile.n_paths++], FB_CFG_STR, s);
	}
}

static void load_auto_apply_item(loader *ld, yaml_document_t *doc, yaml_node_t *item,
                                 fb_auto_apply *aa)
{
	memset(aa, 0, sizeof(*aa));
	set_str(aa->app, sizeof(aa->app), "*");
	if (item->type != YAML_MAPPING_NODE) {
		problem(ld, item, "policy.auto_apply: each item is {category: C, app: A}");
		return;
	}
	for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *ks = scalar(k), *vs = scalar(v);
		if (!ks || !vs) {
			problem(ld, k, "policy.auto_apply: expected scalar keys and values");
		} else if (!strcmp(ks, "category")) {
			set_str(aa->category, sizeof(aa->category), vs);
		} else if (!strcmp(ks, "app")) {
			set_str(aa->app, sizeof(aa->app), vs);
		} else {
			problem(ld, k, "policy.auto_apply: unknown key \"%s\"", ks);
		}
	}
	if (!aa->category[0])
		problem(ld, item, "policy.auto_apply: category is required");
}

static void load_auto_apply(loader *ld, yaml_document_t *doc, yaml_node_t *v, fb_config *cfg)
{
	cfg->policy.n_auto_apply = 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		problem(ld, v, "policy.auto_apply: expected a list");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		if (cfg->policy.n_auto_apply == FB_CFG_LIST_MAX) {
			problem(ld, v, "policy.auto_apply: more than %d entries", FB_CFG_LIST_MAX);
			return;
		}
		load_auto_apply_item(ld, doc, yaml_document_get_node(doc, *it),
		                     &cfg->policy.auto_apply[cfg->policy.n_auto_apply++]);
	}
}

static const char *store_scalar(const key_def *kd, const char *s, fb_config *cfg)
{
	char *field = (char *)cfg + kd->off;
	fb_quantity q;

	switch (kd->type) {
	case K_STR:
		if (strlen(s) >= kd->size)
			return "value too long";
		set_str(field, kd->size, s);
		return NULL;
	case K_LEVEL:
		if (fb_log_level_parse(s) < 0)
			return "expected debug, info, warn or error";
		set_str(field, kd->size, s);
		return NULL;
	case K_LOCALE:
		if (strcmp(s, "en") && strcmp(s, "ko"))
			return "expected en or ko";
		set_str(field, kd->size, s);
		return NULL;
	case K_QTY:
		if (fb_quantity_parse(s, &q) != FB_OK || strlen(s) >= kd->size)
			return "expected a Kubernetes quantity like 8Gi or 500M";
		if (q.value <= 0) /* a ceiling: a fix never lowers a limit below it */
			return "must be a positive quantity like 8Gi";
		set_str(field, kd->size, s);
		return NULL;
	case K_BOOL: return parse_bool(s, (int *)(void *)field);
	case K_LONG: return parse_long(s, (long *)(void *)field);
	case K_DOUBLE: return parse_double(s, (double *)(void *)field);
	case K_DURATION: return fb_config_parse_duration(s, (long *)(void *)field);
	case K_GITOPS_MODE:
		if (strcmp(s, "push") && strcmp(s, "pull_request"))
			return "expected push or pull_request";
		set_str(field, kd->size, s);
		return NULL;
	default: return "expected a list";
	}
}

static void load_value(loader *ld, yaml_document_t *doc, const key_def *kd, yaml_node_t *v,
                       fb_config *cfg)
{
	char qualified[128];
	const char *s, *msg;

	snprintf(qualified, sizeof(qualified), "%s%s%s", kd->section ? kd->section : "",
	         kd->section ? "." : "", kd->name);
	ld->line[kd - keys] = (unsigned long)v->start_mark.line + 1;
	if (kd->type == K_PATHS) {
		load_paths(ld, doc, v, cfg);
		return;
	}
	if (kd->type == K_QUERIES) {
		load_queries(ld, doc, v, cfg);
		return;
	}
	if (kd->type == K_APPROVERS) {
		load_approvers(ld, doc, v, cfg);
		return;
	}
	if (kd->type == K_AUTO_APPLY) {
		load_auto_apply(ld, doc, v, cfg);
		return;
	}
	if (kd->type == K_FORGE) {
		fb_config_load_forge(ld, doc, v, cfg);
		return;
	}
	s = scalar(v);
	if (!s) {
		problem(ld, v, "%s: expected a single value", qualified);
		return;
	}
	msg = store_scalar(kd, s, cfg);
	if (msg)
		problem(ld, v, "%s: %s", qualified, msg);
}

static void load_section(loader *ld, yaml_document_t *doc, const char *section, yaml_node_t *map,
                         fb_config *cfg)
{
	if (map->type != YAML_MAPPING_NODE) {
		problem(ld, map, "%s: expected a mapping", section);
		return;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *name = scalar(k);
		const key_def *kd = name ? find_key(section, name) : NULL;

		if (!kd)
			problem(ld, k, "unknown key \"%s.%s\"", section, name ? name : "?");
		else
			load_value(ld, doc, kd, v, cfg);
	}
}

static void load_root(loader *ld, yaml_document_t *doc, fb_config *cfg)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (!root)
		return; /* an empty file means "all defaults" */
	if (root->type != YAML_MAPPING_NODE) {
		problem(ld, root, "the top level must be a mapping");
		return;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *name = scalar(k);
		const key_def *kd;

		if (name && is_section(name)) {
			load_section(ld, doc, name, v, cfg);
		} else if (name && (kd = find_key(NULL, name)) != NULL) {
			load_value(ld, doc, kd, v, cfg);
		} else {
			problem(ld, k, "unknown key \"%s\"", name ? name : "?");
		}
	}
}

static void validate(loader *ld, fb_config *cfg)
{
	if (!strstr(cfg->gitops.values_path, "{app}"))
		problem(ld, NULL, "gitops.values_path: must contain {app}");
	if (cfg->engine.max_attempts < 1)
		problem(ld, NULL, "engine.max_attempts: must be at least 1");
	if (cfg->gitops.url[0] && !strstr(cfg->gitops.url, "://") && cfg->gitops.url[0] != '/' &&
	    !strchr(cfg->gitops.url, ':'))
		problem(ld, NULL,
		        "gitops.url: expected an https://, ssh://, file:// URL, a path or "
		        "user@host:path");
	if (cfg->engine.workers < 1 || cfg->engine.workers > 64)
		problem(ld, NULL, "engine.workers: must be from 1 to 64");
	if (cfg->http.listen[0] && (!strrchr(cfg->http.listen, ':') || cfg->http.listen[0] == ':'))
		problem(ld, NULL, "http.listen: expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
	if (cfg->loki.url[0] && strncmp(cfg->loki.url, "http://", 7) &&
	    strncmp(cfg->loki.url, "https://", 8))
		problem(ld, NULL, "loki.url: must be an http:// or https:// URL");
	if (cfg->loki.limit < 1 || cfg->loki.limit > 5000)
		problem(ld, NULL, "loki.limit: between 1 and 5000 (Loki's own cap)");
	if (cfg->loki.interval < 1)
		problem(ld, NULL, "loki.interval: at least 1s");
	if (strncmp(cfg->slack.api_url, "https://", 8) && strncmp(cfg->slack.api_url, "http://", 7))
		problem(ld, NULL, "slack.api_url: must be an http:// or https:// URL");
	if (cfg->slack.ping_interval < 1 || cfg->slack.dead_after <= cfg->slack.ping_interval)
		problem(ld, NULL,
		        "slack.dead_after: must be longer than slack.ping_interval (>= 1s)");
	fb_config_check_pull_request(ld, cfg);
}

static void duplicate(void *ctx, const char *key, unsigned long first_line, unsigned long line)
{
	fb_config_problem_at(ctx, line, "key \"%s\" given twice (first at line %lu)", key,
	                     first_line);
}

static fb_err load_file(loader *ld, const char *path, fb_config *cfg)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fb_buf_printf(&ld->errors, "%s: cannot open: %s\n", path, strerror(errno));
		ld->nerr++;
		return FB_EIO;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fb_buf_printf(&ld->errors, "%s:%lu:%lu: %s\n", path,
		              (unsigned long)parser.problem_mark.line + 1,
		              (unsigned long)parser.problem_mark.column + 1,
		              parser.problem ? parser.problem : "malformed YAML");
		ld->nerr++;
		yaml_parser_delete(&parser);
		fclose(f);
		return FB_EINVAL;
	}
	fb_config_yaml_duplicates(&doc, duplicate, ld);
	load_root(ld, &doc, cfg);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return FB_OK;
}

/* ld (may be NULL) learns which key each variable set. */
static void apply_env(fb_config *cfg, loader *ld)
{
	static const struct {
		const char *env;
		size_t off, size;
	} envs[] = {
	    {"FIREBREAK_DB", F(store.path)},
	    {"FIREBREAK_RULES", F(rules.path)},
	    {"GITOPS_REPO", F(gitops.repo)},
	    {"GITOPS_REMOTE", F(gitops.remote)},
	    {"GITOPS_BRANCH", F(gitops.branch)},
	    {"GITOPS_TOKEN", F(gitops.token)},
	    {"GITOPS_SSH_KEY", F(gitops.ssh_key)},
	    {"GITOPS_URL", F(gitops.url)},
	    {"SLACK_CHANNEL", F(slack.channel)},
	    {"SLACK_API_URL", F(slack.api_url)},
	    {"SLACK_APP_TOKEN", F(slack.app_token)},
	    {"SLACK_BOT_TOKEN", F(slack.bot_token)},
	    {"FIREBREAK_HTTP_LISTEN", F(http.listen)},
	    {"FIREBREAK_API_KEY", F(api.key)},
	    {"ALERTMANAGER_TOKEN", F(alertmanager.token)},
	    {"LOKI_URL", F(loki.url)},
	    {"KUBERNETES_URL", F(kubernetes.url)},
	    {"ARGOCD_URL", F(argocd.url)},
	    {"ARGOCD_TOKEN", F(argocd.token)},
	    {"FIREBREAK_FORGE_TOKEN", F(gitops.forge.token)},
	    {"LOKI_PASSWORD", F(loki.password)},
	    {"LOKI_TOKEN", F(loki.token)},
	    {"LOGNAME", F(user)},
	    {"USER", F(user)},
	    {"FIREBREAK_CRASH_AFTER", F(crash_after)},
	};
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		const char *v = getenv(envs[i].env);
		if (!v || !*v)
			continue;
		set_str((char *)cfg + envs[i].off, envs[i].size, v);
		for (size_t k = 0; ld && k < NKEYS; k++)
			if (keys[k].off == envs[i].off)
				ld->env[k] = envs[i].env;
	}
	/* the one key whose empty value means something: HTTP off */
	const char *listen = getenv("FIREBREAK_HTTP_LISTEN");
	if (listen && !*listen)
		cfg->http.listen[0] = '\0';
}

void fb_config_apply_env(fb_config *cfg)
{
	apply_env(cfg, NULL);
}

/* In a pod, the API server and the service account are known. */
static void kubernetes_in_cluster(fb_config *cfg)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *sa = "/var/run/secrets/kubernetes.io/serviceaccount";

	if (!cfg->kubernetes.url[0] && host && *host)
		snprintf(cfg->kubernetes.url, sizeof(cfg->kubernetes.url), "https://%s:%s", host,
		         port && *port ? port : "443");
	if (cfg->kubernetes.url[0] && !cfg->kubernetes.token_file[0])
		snprintf(cfg->kubernetes.token_file, sizeof(cfg->kubernetes.token_file), "%s/token",
		         sa);
	if (host && *host && !cfg->kubernetes.ca_file[0])
		snprintf(cfg->kubernetes.ca_file, sizeof(cfg->kubernetes.ca_file), "%s/ca.crt", sa);
}

/* gitops.url alone: firebreak owns its clone, in <state dir>/repo, and
 * pushes to the remote it cloned from. */
static void gitops_url_defaults(fb_config *cfg)
{
	const char *dir = cfg->state_dir; /* resolved by fb_config_resolve_state */

	if (!cfg->gitops.url[0])
		return;
	if (!strcmp(cfg->gitops.repo, "."))
		snprintf(cfg->gitops.repo, sizeof(cfg->gitops.repo), "%.500s/repo",
		         strcmp(dir, "/") ? dir : "");
	if (!cfg->gitops.remote[0])
		set_str(cfg->gitops.remote, sizeof(cfg->gitops.remote), "origin");
}

fb_err fb_config_load(const char *path, fb_config *cfg, char **errors)
{
	loader ld = {.file = path ? path : "(defaults)", .nerr = 0};

	*errors = NULL;
	fb_buf_init(&ld.errors, 64 * 1024);
	fb_config_defaults(cfg);
	if (path) {
		set_str(cfg->path, sizeof(cfg->path), path);
		load_file(&ld, path, cfg);
	}
	apply_env(cfg, &ld);
	kubernetes_in_cluster(cfg);
	fb_config_resolve_state(&ld, cfg);
	gitops_url_defaults(cfg);
	validate(&ld, cfg);
	fb_config_check(&ld, cfg);
	if (ld.nerr) {
		*errors = fb_buf_take(&ld.errors);
		return fb_error_set(FB_EINVAL, "%s: %d configuration problem%s", ld.file, ld.nerr,
		                    ld.nerr == 1 ? "" : "s");
	}
	fb_buf_free(&ld.errors);
	return FB_OK;
}

int fb_config_auto_apply(const fb_config *cfg, const char *category, const char *app)
{
	for (size_t i = 0; i < cfg->policy.n_auto_apply; i++) {
		const fb_auto_apply *aa = &cfg->policy.auto_apply[i];
		if (strcmp(aa->category, category) != 0)
			continue;
		if (!strcmp(aa->app, "*") || !aa->app[0] || (app && !strcmp(aa->app, app)))
			return 1;
	}
	return 0;
}

int fb_config_is_approver(const fb_config *cfg, const char *user)
{
	if (cfg->slack.n_approvers == 0)
		return 1;
	for (size_t i = 0; i < cfg->slack.n_approvers; i++)
		if (!strcmp(cfg->slack.approvers[i], user))
			return 1;
	return 0;
}
