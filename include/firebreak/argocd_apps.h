/*
 * argocd_apps.h - reading Argo CD Application manifests (App of Apps layouts)
 * to learn which Helm values files belong to an app (src/gitops/
 * argocd_apps.c).  Pure parsing; the Argo CD check that asks the Argo CD
 * API after a fix is src/checks/argocd.c (check.h).
 */
#ifndef FIREBREAK_ARGOCD_APPS_H
#define FIREBREAK_ARGOCD_APPS_H

#include <stddef.h>
#include "firebreak/error.h"

#define FB_ARGOCD_MAX_FILES 16

typedef struct {
	char files[FB_ARGOCD_MAX_FILES][512]; /* repo-relative, in precedence order */
	size_t n;
} fb_argocd_values;

/*
 * Scans one YAML file (possibly several documents) for Application
 * objects named app (metadata.name, or helm.releaseName) and appends the
 * repo-relative paths of their values files to out: spec.source.helm.
 * valueFiles resolved against spec.source.path, and for spec.sources[]
 * the same per source, with "$ref/" prefixes resolved to the repo root.
 * Returns 1 when an Application for app was found, 0 when not, and a
 * negative fb_err for unreadable YAML.
 */
int fb_argocd_scan(const char *text, size_t len, const char *app, fb_argocd_values *out);

/* Joins base and rel like a path (handles ".." and "."), into out. */
void fb_argocd_join(const char *base, const char *rel, char *out, size_t outsz);

#endif
