/*
 * links.c - owns the URLs of an incident's links (see links.h): the
 * forge's commit and pull-request pages, Argo CD's application page,
 * Grafana Explore on the evidence, and the alert's runbook.  Pure; runs
 * on whichever thread runs the node that calls fb_links_fill (the engine
 * or a worker).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/forge.h"
#include "firebreak/httpc.h"
#include "firebreak/links.h"

#define HALF_HOUR_MS (30LL * 60 * 1000)
#define EVIDENCE_MAX 100 /* bytes of the evidence in the query */

void fb_links_argocd(const fb_config *cfg, const char *app, char *out, size_t outsz)
{
	const char *base = cfg->argocd.url;
	size_t n = strlen(base);

	out[0] = '\0';
	if (!n || !app || !*app)
		return;
	while (n && base[n - 1] == '/')
		n--;
	snprintf(out, outsz, "%.*s/applications/%s/%s", (int)n, base,
	         *cfg->argocd.ns ? cfg->argocd.ns : "argocd", app);
}

/* s inside a LogQL double-quoted string: \ and " escaped, at most max
 * bytes, cut at a character boundary and at the first line end. */
static void logql_string(fb_buf *b, const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n] && s[n] != '\n' && s[n] != '\r' && n < max; n++)
		;
	while (n && ((unsigned char)s[n] & 0xC0) == 0x80) /* not inside a character */
		n--;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == '"')
			fb_buf_addc(b, '\\');
		fb_buf_addc(b, s[i]);
	}
}

/* s as a JSON string's content. */
static void json_string(fb_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fb_buf_addc(b, '\\');
		if ((unsigned char)*s < 0x20)
			fb_buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			fb_buf_addc(b, *s);
	}
}

void fb_links_grafana(const fb_config *cfg, const char *ns, const char *app, const char *evidence,
                      int64_t at_ms, char *out, size_t outsz)
{
	const char *base = cfg->links.grafana, *ds = cfg->links.loki_datasource;
	size_t n = strlen(base);
	fb_buf q, pane, url;

	out[0] = '\0';
	if (!n || ((!ns || !*ns) && (!app || !*app)))
		return;
	while (n && base[n - 1] == '/')
		n--;
	fb_buf_init(&q, 2048);
	if (ns && *ns) {
		fb_buf_addstr(&q, "{namespace=\"");
		logql_string(&q, ns, 128);
	} else {
		fb_buf_addstr(&q, "{app=\"");
		logql_string(&q, app, 128);
	}
	fb_buf_addstr(&q, "\"}");
	if (evidence && *evidence) {
		fb_buf_addstr(&q, " |= \"");
		logql_string(&q, evidence, EVIDENCE_MAX);
		fb_buf_addc(&q, '"');
	}
	/* Explore's panes (Grafana 10 and later): one pane, the Loki query */
	fb_buf_init(&pane, 8192);
	fb_buf_addstr(&pane, "{\"fb\":{\"datasource\":\"");
	json_string(&pane, ds);
	fb_buf_addstr(&pane, "\",\"queries\":[{\"refId\":\"A\",\"expr\":\"");
	json_string(&pane, fb_buf_str(&q) ? fb_buf_str(&q) : "");
	fb_buf_addstr(&pane, "\",\"datasource\":{\"type\":\"loki\",\"uid\":\"");
	json_string(&pane, ds);
	fb_buf_printf(&pane, "\"}}],\"range\":{\"from\":\"%lld\",\"to\":\"%lld\"}}}",
	              (long long)(at_ms - HALF_HOUR_MS), (long long)(at_ms + HALF_HOUR_MS));
	fb_buf_init(&url, 16384);
	fb_buf_printf(&url, "%.*s/explore?schemaVersion=1&orgId=1&panes=", (int)n, base);
	if (fb_httpc_escape(&url, fb_buf_str(&pane) ? fb_buf_str(&pane) : "") == FB_OK &&
	    url.len < outsz)
		snprintf(out, outsz, "%s", fb_buf_str(&url));
	fb_buf_free(&url);
	fb_buf_free(&pane);
	fb_buf_free(&q);
}

void fb_links_runbook(const char *excerpt, char *out, size_t outsz)
{
	const char *p = excerpt;

	out[0] = '\0';
	while (p && (p = strstr(p, "runbook_url: "))) {
		const char *u = p + 13;
		size_t n = strcspn(u, " \t\r\n<>|\"");
		if ((p == excerpt || p[-1] == '\n') &&
		    (!strncmp(u, "https://", 8) || !strncmp(u, "http://", 7)) && n < outsz) {
			snprintf(out, outsz, "%.*s", (int)n, u);
			return;
		}
		p = u;
	}
}

static void add(fb_state *st, const char *kind, const char *url)
{
	if (!*url || st->n_links == FB_STATE_LINKS_MAX || strpbrk(url, " |<>\n"))
		return;
	fb_state_link *l = &st->links[st->n_links++];
	snprintf(l->kind, sizeof(l->kind), "%s", kind);
	fb_state_copy(l->url, sizeof(l->url), url);
}

void fb_links_fill(const fb_config *cfg, fb_state *st)
{
	char url[1024], grafana[1024] = "";
	struct timespec now;

	for (size_t i = 0; i < st->n_links; i++) /* keep the time range it was made with */
		if (!strcmp(st->links[i].kind, "grafana"))
			snprintf(grafana, sizeof(grafana), "%s", st->links[i].url);
	st->n_links = 0;
	if (st->pr.present) {
		snprintf(url, sizeof(url), "%s", st->pr.url);
		if (!*url)
			fb_forge_pr_url(cfg, st->pr.number, url, sizeof(url));
		add(st, "pull_request", url);
	}
	if (st->apply.present && (!st->pr.present || !strcmp(st->pr.state, "merged"))) {
		fb_forge_commit_url(cfg, st->apply.commit, url, sizeof(url));
		add(st, "commit", url);
	}
	fb_links_argocd(cfg, st->app, url, sizeof(url));
	add(st, "argocd", url);
	if (!*grafana) {
		clock_gettime(CLOCK_REALTIME, &now);
		fb_links_grafana(cfg, st->ns, st->app, st->classification.evidence,
		                 st->last_seen ? st->last_seen
		                               : (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
		                 grafana, sizeof(grafana));
	}
	add(st, "grafana", grafana);
	if (!*st->runbook_url && !strcmp(st->source, "alertmanager"))
		fb_links_runbook(st->excerpt, st->runbook_url, sizeof(st->runbook_url));
	add(st, "runbook", st->runbook_url);
}
