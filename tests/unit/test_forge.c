/* Unit tests for the forge family's table and web URL templates
 * (forge.c), the card's links (links.c), and the gitops.forge config
 * (config.c): kinds by name, web bases from api_url (github.com, GitHub
 * Enterprise, GitLab, Gitea), commit and pull-request pages, Argo CD,
 * Grafana Explore, runbooks, and errors with file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/card.h"
#include "firebreak/config.h"
#include "firebreak/forge.h"
#include "firebreak/links.h"
#include "firebreak/state.h"

static void forge(fb_config *c, const char *kind, const char *api, const char *repo)
{
	fb_config_defaults(c);
	snprintf(c->gitops.forge.kind, sizeof(c->gitops.forge.kind), "%s", kind);
	snprintf(c->gitops.forge.api_url, sizeof(c->gitops.forge.api_url), "%s", api);
	snprintf(c->gitops.forge.repo, sizeof(c->gitops.forge.repo), "%s", repo);
}

static void kinds_by_name(void **s)
{
	(void)s;
	assert_ptr_equal(fb_forge_find("github"), &fb_forge_github);
	assert_null(fb_forge_find("ghes"));
	assert_ptr_equal(fb_forge_find("gitlab"), &fb_forge_gitlab);
	assert_ptr_equal(fb_forge_find("gitea"), &fb_forge_gitea);
	assert_ptr_equal(fb_forge_find("forgejo"), &fb_forge_gitea);
	assert_null(fb_forge_find("bitbucket"));
	assert_null(fb_forge_find(NULL));
	for (size_t i = 0; fb_forges[i]; i++) {
		const fb_forge_ops *o = fb_forges[i];
		assert_int_equal(o->version, FB_FORGE_OPS_VERSION);
		assert_non_null(o->open);
		assert_non_null(o->find_open);
		assert_non_null(o->create);
		assert_non_null(o->get);
		assert_non_null(o->close);
		assert_non_null(o->commit_prefix);
		assert_non_null(o->pr_prefix);
	}
}

static void web_urls_per_forge(void **s)
{
	fb_config c;
	char u[1024];
	(void)s;

	forge(&c, "github", "", "acme/gitops");
	fb_forge_commit_url(&c, "abc123", u, sizeof(u));
	assert_string_equal(u, "https://github.com/acme/gitops/commit/abc123");
	forge(&c, "github", "https://api.github.com/", "acme/gitops");
	fb_forge_pr_url(&c, 42, u, sizeof(u));
	assert_string_equal(u, "https://github.com/acme/gitops/pull/42");
	forge(&c, "github", "https://ghe.example.com/api/v3", "acme/gitops"); /* Enterprise */
	fb_forge_pr_url(&c, 7, u, sizeof(u));
	assert_string_equal(u, "https://ghe.example.com/acme/gitops/pull/7");
	forge(&c, "gitlab", "https://gitlab.example.com/api/v4/", "platform/infra/gitops");
	fb_forge_commit_url(&c, "ed899a2f", u, sizeof(u));
	assert_string_equal(u,
	                    "https://gitlab.example.com/platform/infra/gitops/-/commit/ed899a2f");
	fb_forge_pr_url(&c, 133, u, sizeof(u));
	assert_string_equal(
	    u, "https://gitlab.example.com/platform/infra/gitops/-/merge_requests/133");
	forge(&c, "gitlab", "", "g/p");
	fb_forge_pr_url(&c, 1, u, sizeof(u));
	assert_string_equal(u, "https://gitlab.com/g/p/-/merge_requests/1");
	forge(&c, "forgejo", "https://codeberg.org/api/v1", "acme/gitops");
	fb_forge_pr_url(&c, 3, u, sizeof(u));
	assert_string_equal(u, "https://codeberg.org/acme/gitops/pulls/3");
	fb_forge_commit_url(&c, "ff", u, sizeof(u));
	assert_string_equal(u, "https://codeberg.org/acme/gitops/commit/ff");
	/* web_url wins; nothing is cut from it */
	snprintf(c.gitops.forge.web_url, sizeof(c.gitops.forge.web_url),
	         "https://git.example.com/api/v1");
	fb_forge_pr_url(&c, 3, u, sizeof(u));
	assert_string_equal(u, "https://git.example.com/api/v1/acme/gitops/pulls/3");
	/* no forge, no repo, no number: no link */
	forge(&c, "", "", "acme/gitops");
	fb_forge_commit_url(&c, "abc", u, sizeof(u));
	assert_string_equal(u, "");
	forge(&c, "gitea", "", "acme/gitops"); /* Gitea has no public default */
	fb_forge_pr_url(&c, 3, u, sizeof(u));
	assert_string_equal(u, "");
	forge(&c, "github", "", "");
	fb_forge_pr_url(&c, 3, u, sizeof(u));
	assert_string_equal(u, "");
	forge(&c, "github", "", "a/b");
	fb_forge_pr_url(&c, 0, u, sizeof(u));
	assert_string_equal(u, "");
}

static void argocd_and_runbook_links(void **s)
{
	fb_config c;
	char u[1024];
	(void)s;

	fb_config_defaults(&c);
	fb_links_argocd(&c, "grafana", u, sizeof(u));
	assert_string_equal(u, ""); /* argocd.url unset */
	snprintf(c.argocd.url, sizeof(c.argocd.url), "https://argocd.example.com/");
	fb_links_argocd(&c, "grafana", u, sizeof(u));
	assert_string_equal(u, "https://argocd.example.com/applications/argocd/grafana");
	snprintf(c.argocd.ns, sizeof(c.argocd.ns), "gitops");
	fb_links_argocd(&c, "api", u, sizeof(u));
	assert_string_equal(u, "https://argocd.example.com/applications/gitops/api");
	fb_links_argocd(&c, "", u, sizeof(u));
	assert_string_equal(u, "");

	fb_links_runbook("Alertmanager alert KubePodCrashLooping\nrunbook_url: "
	                 "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"
	                 "kubepodcrashlooping\nsummary: x\n",
	                 u, sizeof(u));
	assert_string_equal(
	    u, "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping");
	fb_links_runbook("runbook_url: javascript:alert(1)\n", u, sizeof(u));
	assert_string_equal(u, "");
	fb_links_runbook("description: see runbook_url: https://evil.example\n", u, sizeof(u));
	assert_string_equal(u, ""); /* only an annotation line of its own */
	fb_links_runbook("no runbook here", u, sizeof(u));
	assert_string_equal(u, "");
}

static void grafana_explore_link(void **s)
{
	fb_config c;
	char u[1024];
	(void)s;

	fb_config_defaults(&c);
	fb_links_grafana(&c, "monitoring", "grafana", "OOMKilled", 3600000, u, sizeof(u));
	assert_string_equal(u, ""); /* links.grafana unset */
	snprintf(c.links.grafana, sizeof(c.links.grafana), "https://grafana.example.com/");
	fb_links_grafana(&c, "", "", "x", 3600000, u, sizeof(u));
	assert_string_equal(u, ""); /* nothing to select on */
	fb_links_grafana(&c, "monitoring", "grafana", "say \"hi\"\nsecond line", 3600000, u,
	                 sizeof(u));
	assert_non_null(
	    strstr(u, "https://grafana.example.com/explore?schemaVersion=1&orgId=1&panes="));
	/* {namespace="monitoring"} |= "say \"hi\"" inside JSON, percent-encoded */
	assert_non_null(strstr(u, "%7Bnamespace%3D%5C%22monitoring%5C%22%7D"));
	assert_non_null(
	    strstr(u, "say%20%5C%5C%5C%22hi%5C%5C%5C%22%5C%22")); /* cut at the line end */
	assert_null(strstr(u, "second"));
	assert_non_null(strstr(u, "%22from%22%3A%221800000%22")); /* half an hour before */
	assert_non_null(strstr(u, "%22to%22%3A%225400000%22"));
	assert_non_null(strstr(u, "%22uid%22%3A%22loki%22"));
	assert_null(strpbrk(u, " |<>\""));
}

static void links_follow_the_state(void **s)
{
	fb_config c;
	fb_state *st = NULL;
	(void)s;

	forge(&c, "github", "https://ghe.example.com/api/v3", "acme/gitops");
	snprintf(c.argocd.url, sizeof(c.argocd.url), "https://argocd.example.com");
	assert_int_equal(fb_state_new(&st), FB_OK);
	snprintf(st->app, sizeof(st->app), "grafana");
	snprintf(st->source, sizeof(st->source), "alertmanager");
	fb_state_set_excerpt(st, "Alertmanager alert X\nrunbook_url: https://r.example/x\n");
	fb_links_fill(&c, st);
	assert_int_equal(st->n_links, 2);
	assert_string_equal(st->links[0].kind, "argocd");
	assert_string_equal(st->links[1].kind, "runbook");
	assert_string_equal(st->runbook_url, "https://r.example/x");
	/* push mode: the commit */
	st->apply.present = 1;
	snprintf(st->apply.commit, sizeof(st->apply.commit), "abcdef");
	fb_links_fill(&c, st);
	assert_string_equal(st->links[0].kind, "commit");
	assert_string_equal(st->links[0].url, "https://ghe.example.com/acme/gitops/commit/abcdef");
	/* pull-request mode: the PR while it is open, then the merge commit too */
	st->pr.present = 1;
	st->pr.number = 9;
	snprintf(st->pr.state, sizeof(st->pr.state), "open");
	fb_links_fill(&c, st);
	assert_string_equal(st->links[0].kind, "pull_request");
	assert_string_equal(st->links[0].url, "https://ghe.example.com/acme/gitops/pull/9");
	assert_string_equal(st->links[1].kind, "argocd");
	snprintf(st->pr.state, sizeof(st->pr.state), "merged");
	snprintf(st->pr.url, sizeof(st->pr.url), "https://ghe.example.com/acme/gitops/pull/9");
	fb_links_fill(&c, st);
	assert_string_equal(st->links[1].kind, "commit");
	/* and it all survives the stored form */
	char *json = NULL;
	fb_state *back = NULL;
	assert_int_equal(fb_state_to_json(st, &json), FB_OK);
	assert_int_equal(fb_state_parse(json, &back), FB_OK);
	assert_int_equal(back->n_links, st->n_links);
	assert_int_equal(back->pr.number, 9);
	assert_string_equal(back->pr.state, "merged");
	assert_string_equal(back->runbook_url, "https://r.example/x");
	free(json);
	fb_state_free(back);
	fb_state_free(st);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/fb-forge-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void config_pull_request_mode(void **s)
{
	fb_config c;
	char *errors = NULL;
	(void)s;

	unsetenv("FIREBREAK_FORGE_TOKEN");
	setenv("GITOPS_REMOTE", "origin", 1);
	char *p = write_tmp("gitops:\n  mode: pull_request\n  forge:\n    kind: gitlab\n"
	                    "    api_url: https://gitlab.example.com/api/v4\n"
	                    "    repo: platform/infra/gitops\n    token: glpat-x\n"
	                    "    labels: [incident, automated]\n    poll_interval: 2m\n"
	                    "links:\n  grafana: https://grafana.example.com\n"
	                    "argocd:\n  namespace: gitops\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	assert_string_equal(c.gitops.mode, "pull_request");
	assert_string_equal(c.gitops.forge.kind, "gitlab");
	assert_string_equal(c.gitops.forge.repo, "platform/infra/gitops");
	assert_int_equal(c.gitops.forge.n_labels, 2);
	assert_string_equal(c.gitops.forge.labels[1], "automated");
	assert_int_equal(c.gitops.forge.poll_interval, 120);
	assert_string_equal(c.links.grafana, "https://grafana.example.com");
	assert_string_equal(c.argocd.ns, "gitops");
	setenv("FIREBREAK_FORGE_TOKEN", "from-env", 1);
	assert_int_equal(fb_config_load(p, &c, &errors), FB_OK);
	assert_string_equal(c.gitops.forge.token, "from-env");
	unsetenv("FIREBREAK_FORGE_TOKEN");
	unlink(p);

	unsetenv("GITOPS_REMOTE");
	p = write_tmp("gitops:\n  mode: pr\n  forge:\n    kind: gitea\n    repo: /x\n"
	              "    api_url: ftp://x\n    labels: [a, 'b,c']\n    colour: red\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, ":2: gitops.mode: expected push or pull_request"));
	assert_non_null(strstr(errors, ":5: gitops.forge.repo: expected owner/name"));
	assert_non_null(strstr(errors, ":6: gitops.forge.api_url: must be an http:// or https://"));
	assert_non_null(strstr(errors, ":7: gitops.forge.labels: each item is a label name"));
	assert_non_null(strstr(errors, ":8: gitops.forge.colour: unknown key"));
	free(errors);
	unlink(p);

	p = write_tmp("gitops:\n  mode: pull_request\n");
	assert_int_equal(fb_config_load(p, &c, &errors), FB_EINVAL);
	assert_non_null(strstr(errors, ":2: gitops.mode: pull_request needs gitops.forge"));
	free(errors);
	unlink(p);
	fb_config_defaults(&c);
	assert_string_equal(c.gitops.mode, "push");
	assert_int_equal(c.gitops.forge.poll_interval, 60);
}

/* The card shows the PR's line and the links, labels from the catalog. */
static void card_shows_pr_and_links(void **s)
{
	fb_tmpl *t = NULL;
	fb_state *st = NULL;
	fb_incident_row row;
	cJSON *card = NULL;
	int cut;
	(void)s;

	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "incident-1");
	snprintf(row.status, sizeof(row.status), "open");
	snprintf(row.node, sizeof(row.node), "await_merge");
	assert_int_equal(fb_state_new(&st), FB_OK);
	st->pr = (fb_state_pr){.present = 1, .number = 12};
	snprintf(st->pr.url, sizeof(st->pr.url), "https://github.com/acme/gitops/pull/12");
	snprintf(st->pr.branch, sizeof(st->pr.branch), "firebreak/incident-1");
	snprintf(st->pr.state, sizeof(st->pr.state), "open");
	st->n_links = 2;
	snprintf(st->links[0].kind, sizeof(st->links[0].kind), "pull_request");
	snprintf(st->links[0].url, sizeof(st->links[0].url), "%s", st->pr.url);
	snprintf(st->links[1].kind, sizeof(st->links[1].kind), "grafana");
	snprintf(st->links[1].url, sizeof(st->links[1].url), "https://g.example/explore?a=1&b=2");
	assert_int_equal(fb_tmpl_load("en", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	char *json = cJSON_PrintUnformatted(card);
	assert_non_null(strstr(json, "Pull request <https://github.com/acme/gitops/pull/12|#12> is "
	                             "open from `firebreak/incident-1`"));
	assert_non_null(strstr(json, "<https://github.com/acme/gitops/pull/12|Pull request>"));
	assert_non_null(strstr(json, "<https://g.example/explore?a=1&amp;b=2|Logs in Grafana>"));
	free(json);
	cJSON_Delete(card);
	fb_tmpl_free(t);

	/* closed unmerged, in Korean, with who */
	snprintf(st->pr.state, sizeof(st->pr.state), "closed");
	snprintf(st->pr.closed_by, sizeof(st->pr.closed_by), "dave");
	assert_int_equal(fb_tmpl_load("ko", &t), FB_OK);
	assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
	json = cJSON_PrintUnformatted(card);
	assert_non_null(strstr(json, "dave 님이 PR <https://github.com/acme/gitops/pull/12|#12>을 "
	                             "머지하지 않고 닫아"));
	assert_non_null(strstr(json, "|Grafana 로그>"));
	free(json);
	cJSON_Delete(card);
	fb_tmpl_free(t);
	fb_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kinds_by_name),
	    cmocka_unit_test(web_urls_per_forge),
	    cmocka_unit_test(argocd_and_runbook_links),
	    cmocka_unit_test(grafana_explore_link),
	    cmocka_unit_test(links_follow_the_state),
	    cmocka_unit_test(config_pull_request_mode),
	    cmocka_unit_test(card_shows_pr_and_links),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
