/*
 * argocd_apps.c - owns the interpretation of Argo CD Application manifests
 * found in the GitOps repository: which values files feed which app.
 * Pure functions over YAML text (libyaml document API); any thread.
 *
 * Only Applications count (kind: Application, apiVersion argoproj.io/...).
 * valueFiles are relative to the source's path (Argo CD's helm.md); in a
 * multi-source app a "$values/..." entry points into the source with that
 * ref, which for an App of Apps repo is this repository, so the prefix is
 * dropped and the path is taken from the repo root.
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "firebreak/argocd_apps.h"

typedef struct {
	yaml_document_t *doc;
} walk;

static yaml_node_t *get(walk *w, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(w->doc, p->value);
	}
	return NULL;
}

static const char *sval(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

void fb_argocd_join(const char *base, const char *rel, char *out, size_t outsz)
{
	char tmp[1024], *parts[128] = {NULL};
	size_t np = 0, o = 0;
	char *save = NULL;

	if (rel[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", rel + 1);
	else if (base && *base)
		snprintf(tmp, sizeof(tmp), "%s/%s", base, rel);
	else
		snprintf(tmp, sizeof(tmp), "%s", rel);
	for (char *t = strtok_r(tmp, "/", &save); t && np < 128; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, ".") || !*t)
			continue;
		if (!strcmp(t, "..")) {
			if (np)
				np--;
			continue;
		}
		parts[np++] = t;
	}
	out[0] = '\0';
	for (size_t i = 0; i < np && o < outsz; i++) {
		int n = snprintf(out + o, outsz - o, "%s%s", i ? "/" : "", parts[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static void add_file(fb_argocd_values *out, const char *path)
{
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(out->files[i], path))
			return;
	if (out->n < FB_ARGOCD_MAX_FILES)
		snprintf(out->files[out->n++], sizeof(out->files[0]), "%s", path);
}

static void add_source(walk *w, yaml_node_t *src, fb_argocd_values *out)
{
	yaml_node_t *helm = get(w, src, "helm");
	yaml_node_t *files = get(w, helm, "valueFiles");
	const char *base = sval(get(w, src, "path"));
	char path[512];

	if (!files || files->type != YAML_SEQUENCE_NODE)
		return;
	for (yaml_node_item_t *it = files->data.sequence.items.start;
	     it < files->data.sequence.items.top; it++) {
		const char *f = sval(yaml_document_get_node(w->doc, *it));
		if (!f)
			continue;
		if (f[0] == '$') { /* $ref/path: from the repo root */
			const char *slash = strchr(f, '/');
			if (!slash)
				continue;
			fb_argocd_join("", slash + 1, path, sizeof(path));
		} else {
			fb_argocd_join(base ? base : "", f, path, sizeof(path));
		}
		add_file(out, path);
	}
}

static int is_app_for(walk *w, yaml_node_t *root, const char *app)
{
	const char *kind = sval(get(w, root, "kind"));
	const char *api = sval(get(w, root, "apiVersion"));
	const char *name = sval(get(w, get(w, root, "metadata"), "name"));
	yaml_node_t *spec = get(w, root, "spec");
	const char *release = sval(get(w, get(w, get(w, spec, "source"), "helm"), "releaseName"));

	if (!kind || strcmp(kind, "Application") != 0 || !api || !strstr(api, "argoproj.io"))
		return 0;
	return (name && !strcmp(name, app)) || (release && !strcmp(release, app));
}

static void collect(walk *w, yaml_node_t *root, fb_argocd_values *out)
{
	yaml_node_t *spec = get(w, root, "spec");
	yaml_node_t *sources = get(w, spec, "sources");

	if (get(w, spec, "source"))
		add_source(w, get(w, spec, "source"), out);
	if (sources && sources->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *it = sources->data.sequence.items.start;
		     it < sources->data.sequence.items.top; it++)
			add_source(w, yaml_document_get_node(w->doc, *it), out);
}

int fb_argocd_scan(const char *text, size_t len, const char *app, fb_argocd_values *out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int found = 0;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (int ndoc = 0; ndoc < 256; ndoc++) {
		if (!yaml_parser_load(&parser, &doc)) {
			yaml_parser_delete(&parser);
			return found ? found : FB_EINVAL;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		walk w = {&doc};
		if (is_app_for(&w, root, app)) {
			collect(&w, root, out);
			found = 1;
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return found;
}
