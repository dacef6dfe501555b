/*
 * links.h - the links an incident's card shows: the fix's commit or pull
 * request on the forge's web (a URL template per forge, forge.h), the
 * app's Argo CD Application, the evidence in Grafana's Explore (Loki),
 * and an alert's runbook_url annotation.  Built from the config and the
 * state into state->links, so that the card renders what it is given.
 * Pure; any thread.
 */
#ifndef FIREBREAK_LINKS_H
#define FIREBREAK_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "firebreak/config.h"
#include "firebreak/state.h"

/* Recomputes st->links (a Grafana link, once made, keeps its time range). */
void fb_links_fill(const fb_config *cfg, fb_state *st);

/* <argocd.url>/applications/<argocd.namespace>/<app>; "" without argocd.url
 * or an app. */
void fb_links_argocd(const fb_config *cfg, const char *app, char *out, size_t outsz);

/* Grafana Explore on the Loki data source (links.loki_datasource), the
 * query {namespace="ns"} (or {app="app"}) |= "the evidence", half an hour
 * either side of at_ms; "" without links.grafana or a selector. */
void fb_links_grafana(const fb_config *cfg, const char *ns, const char *app, const char *evidence,
                      int64_t at_ms, char *out, size_t outsz);

/* The "runbook_url: URL" line of an Alertmanager excerpt (http or https
 * only); "" when none. */
void fb_links_runbook(const char *excerpt, char *out, size_t outsz);

#endif
