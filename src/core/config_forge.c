/*
 * config_forge.c - owns gitops.forge (the forge of pull-request mode:
 * kind, api_url, repo, token, web_url, ca_file, labels, poll_interval) and
 * the check that pull_request mode has what it needs.  Called by
 * config.c's loader, on the thread that loads the configuration.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config_int.h"

typedef fb_config_loader loader;

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fb_config_problem_at(ld, (unsigned long)n->start_mark.line + 1, "%s", msg);
}

static int is_http_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static void load_forge_labels(loader *ld, yaml_document_t *doc, yaml_node_t *v, fb_config *cfg)
{
	cfg->gitops.forge.n_labels = 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		problem(ld, v, "gitops.forge.labels: expected a list of label names");
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		const char *s = scalar(item);
		if (!s || !*s || strlen(s) >= 64 || strchr(s, ',')) {
			problem(ld, item,
			        "gitops.forge.labels: each item is a label name (no comma, "
			        "under 64 bytes)");
		} else if (cfg->gitops.forge.n_labels == FB_FORGE_LABELS_MAX) {
			problem(ld, item, "gitops.forge.labels: more than %d labels",
			        FB_FORGE_LABELS_MAX);
			return;
		} else {
			snprintf(cfg->gitops.forge.labels[cfg->gitops.forge.n_labels++], 64, "%s",
			         s);
		}
	}
}

/* One scalar key of gitops.forge; NULL or a message. */
static const char *forge_scalar(fb_config *cfg, const char *k, const char *s)
{
	struct {
		const char *key;
		char *dst;
		size_t size;
	} strs[] = {
	    {"kind", cfg->gitops.forge.kind, sizeof(cfg->gitops.forge.kind)},
	    {"api_url", cfg->gitops.forge.api_url, sizeof(cfg->gitops.forge.api_url)},
	    {"repo", cfg->gitops.forge.repo, sizeof(cfg->gitops.forge.repo)},
	    {"token", cfg->gitops.forge.token, sizeof(cfg->gitops.forge.token)},
	    {"web_url", cfg->gitops.forge.web_url, sizeof(cfg->gitops.forge.web_url)},
	    {"ca_file", cfg->gitops.forge.ca_file, sizeof(cfg->gitops.forge.ca_file)},
	};
	if (!strcmp(k, "poll_interval")) {
		const char *m = fb_config_parse_duration(s, &cfg->gitops.forge.poll_interval);
		return m ? m : cfg->gitops.forge.poll_interval < 1 ? "at least 1s" : NULL;
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(k, strs[i].key))
			continue;
		if (strlen(s) >= strs[i].size)
			return "value too long";
		if (!strcmp(k, "kind") && strcmp(s, "github") && strcmp(s, "gitlab") &&
		    strcmp(s, "gitea") && strcmp(s, "forgejo"))
			return "expected github, gitlab, gitea or forgejo";
		if ((!strcmp(k, "api_url") || !strcmp(k, "web_url")) && *s && !is_http_url(s))
			return "must be an http:// or https:// URL";
		if (!strcmp(k, "repo") && *s &&
		    (!strchr(s, '/') || s[0] == '/' || s[strlen(s) - 1] == '/' ||
		     strpbrk(s, " ?#%")))
			return "expected owner/name (GitLab: group/subgroup/project)";
		snprintf(strs[i].dst, strs[i].size, "%s", s);
		return NULL;
	}
	return "unknown key";
}

void fb_config_load_forge(loader *ld, yaml_document_t *doc, yaml_node_t *v, fb_config *cfg)
{
	if (v->type != YAML_MAPPING_NODE) {
		problem(ld, v, "gitops.forge: expected a mapping {kind, api_url, repo, ...}");
		return;
	}
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *val = yaml_document_get_node(doc, p->value);
		const char *ks = scalar(k), *vs = scalar(val), *m;
		if (ks && !strcmp(ks, "labels")) {
			load_forge_labels(ld, doc, val, cfg);
		} else if (!ks || !vs) {
			problem(ld, k, "gitops.forge: expected scalar keys and values");
		} else if ((m = forge_scalar(cfg, ks, vs))) {
			problem(ld, !strcmp(m, "unknown key") ? k : val, "gitops.forge.%s: %s", ks,
			        m);
		}
	}
	if (!cfg->gitops.forge.kind[0])
		problem(ld, v, "gitops.forge.kind: required (github, gitlab, gitea or forgejo)");
	if (!cfg->gitops.forge.repo[0])
		problem(ld, v, "gitops.forge.repo: required (owner/name)");
}

/* After the environment: pull_request mode needs a forge and a remote. */
void fb_config_check_pull_request(loader *ld, fb_config *cfg)
{
	const char *why = NULL;

	if (!strcmp(cfg->gitops.mode, "push"))
		return;
	if (!cfg->gitops.forge.kind[0])
		why = "needs gitops.forge (kind, repo, token)";
	else if (!cfg->gitops.remote[0])
		why = "needs gitops.remote (or GITOPS_REMOTE): the branch is pushed there";
	else if (!cfg->gitops.forge.token[0])
		why = "needs gitops.forge.token or FIREBREAK_FORGE_TOKEN";
	if (why)
		fb_config_problem_key(ld, "gitops.mode", "pull_request %s", why);
}
