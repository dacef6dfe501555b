/* Unit tests for alerts (rules.yaml alerts:, src/triage/alerts.c): every
 * payload in tests/data/alerts goes through the real Alertmanager source
 * parse, the embedded rules, the analysis and, for values_patch, a
 * proposal on a scratch GitOps repository; tests/data/alerts/expected.tsv
 * says what must come out.  Also: the alerts: section's load errors, the
 * volume and maxReplicas keys charts use, and namespaces from `kubectl get
 * events` (tests/data/events). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/action.h"
#include "firebreak/analyze.h"
#include "firebreak/buf.h"
#include "firebreak/config.h"
#include "firebreak/gitops.h"
#include "firebreak/msg.h"
#include "firebreak/rules.h"
#include "firebreak/source.h"
#include "firebreak/tmpl.h"

#define DATA "tests/data/alerts/"

static char repo[64];
static fb_rules *rules;
static fb_tmpl *ko;

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void write_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", repo, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The demo repository plus the charts the alerts name. */
static int setup(void **state)
{
	char cmd[768], *errors = NULL;
	char tmpl[] = "/tmp/fb-alerts-XXXXXX";
	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(repo, sizeof(repo), "%s/r", tmpl);
	snprintf(cmd, sizeof(cmd),
	         "cp -R tests/data/demo/gitops %s && mkdir -p %s/helm-values/postgresql "
	         "%s/helm-values/kube-prometheus-stack %s/helm-values/tempo",
	         repo, repo, repo, repo);
	if (system(cmd) != 0)
		return -1;
	write_file("helm-values/postgresql/values.yaml",
	           "auth:\n  database: app\nprimary:\n  persistence:\n    size: 8Gi\n");
	write_file("helm-values/kube-prometheus-stack/values.yaml",
	           "alertmanager:\n  alertmanagerSpec:\n    storage:\n      volumeClaimTemplate:\n"
	           "        spec:\n          resources:\n            requests:\n"
	           "              storage: 10Gi\n"
	           "prometheus:\n  prometheusSpec:\n    retention: 15d\n    storageSpec:\n"
	           "      volumeClaimTemplate:\n        spec:\n          storageClassName: gp3\n"
	           "          resources:\n            requests:\n              storage: 50Gi\n");
	write_file("helm-values/tempo/values.yaml", "ingester:\n  persistence:\n    size: 10Gi\n"
	                                            "compactor:\n  persistence:\n    size: 10Gi\n");
	snprintf(cmd, sizeof(cmd),
	         "cd %s && printf 'autoscaling:\\n  enabled: true\\n  minReplicas: 2\\n"
	         "  maxReplicas: 10\\n' >> helm-values/api/values.yaml && git init -q -b main && "
	         "git add -A && git -c user.name=t -c user.email=t@example.com commit -q -m init",
	         repo);
	fb_gitops_global_init();
	if (system(cmd) != 0 || fb_rules_load(NULL, &rules, &errors) != FB_OK ||
	    fb_tmpl_load("ko", &ko) != FB_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	fb_rules_free(rules);
	fb_tmpl_free(ko);
	snprintf(cmd, sizeof(cmd), "rm -rf %.*s", (int)(strlen(repo) - 2), repo);
	fb_gitops_global_shutdown();
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the Korean card ---- */

/* Technical words a Korean SRE writes as they are. */
static const char *const terms[] = {"Kubernetes",
                                    "Pod",
                                    "Job",
                                    "CPU",
                                    "limit",
                                    "request",
                                    "values",
                                    "Ready",
                                    "Pending",
                                    "readiness",
                                    "probe",
                                    "StatefulSet",
                                    "PersistentVolume",
                                    "StorageClass",
                                    "CSI",
                                    "kubelet",
                                    "DiskPressure",
                                    "Prometheus",
                                    "exporter",
                                    "job",
                                    "OOMKilled",
                                    "Error",
                                    "maxReplicas",
                                    "autoscaling",
                                    "persistence",
                                    "size",
                                    "kubectl",
                                    "describe",
                                    "pod",
                                    "pv",
                                    "rollout",
                                    "undo",
                                    "get",
                                    "endpoints",
                                    "logs",
                                    "previous",
                                    "crictl",
                                    "rmi",
                                    "prune",
                                    "emptyDir",
                                    "cordon",
                                    "drain",
                                    "GC",
                                    "WAL",
                                    "Targets",
                                    "container_cpu_usage_seconds_total",
                                    "resources",
                                    "limits",
                                    "cpu",
                                    "cluster",
                                    "autoscaler",
                                    "Insufficient",
                                    "memory",
                                    "PVC",
                                    "Helm",
                                    "JVM",
                                    "Secret",
                                    "ConfigMap",
                                    "OOM",
                                    "killer",
                                    "SIGKILL",
                                    "CrashLoopBackOff",
                                    "heap",
                                    "GC",
                                    "MaxRAMPercentage",
                                    "XX",
                                    "orphan",
                                    "cascade",
                                    "pvc",
                                    "patch",
                                    "template",
                                    "helm",
                                    "imagePullSecrets",
                                    "git",
                                    "tag",
                                    "image",
                                    "pull",
                                    "FailedScheduling",
                                    "args",
                                    "command",
                                    "liveness",
                                    "container_memory_working_set_bytes",
                                    "Failed",
                                    "NAME",
                                    "kube",
                                    "runbook",
                                    "https"};

static int is_term(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(terms) / sizeof(terms[0]); i++)
		if (strlen(terms[i]) == n && !strncmp(terms[i], w, n))
			return 1;
	return 0;
}

/* The message rendered in Korean: no placeholder left, some Hangul, and
 * every ASCII word outside `code` either a parameter's value (a name, the
 * alert's own words) or a technical term. */
static void korean(const cJSON *msg_json)
{
	fb_msg m;
	cJSON *vars;
	char *text, *rest;

	fb_msg_parse(&m, msg_json);
	assert_true(m.key[0]);
	vars = fb_msg_vars(&m);
	text = fb_tmpl_format(ko, m.key, vars, 0);
	assert_non_null(text);
	assert_null(strstr(text, "{{"));
	assert_non_null(strpbrk(text, "\xea\xeb\xec\xed")); /* Hangul syllables */
	rest = strdup(text);
	for (size_t left = m.n_params; left > 0; left--) { /* blank the values, longest first */
		size_t best = 0;
		char *at;
		for (size_t i = 1; i < m.n_params; i++)
			if (strlen(m.params[i].value) > strlen(m.params[best].value))
				best = i;
		while (*m.params[best].value && (at = strstr(rest, m.params[best].value)))
			memset(at, ' ', strlen(m.params[best].value));
		m.params[best].value[0] = '\0';
	}
	for (char *p; (p = strchr(rest, '`'));) { /* `code` is not prose */
		char *q = strchr(p + 1, '`');
		if (!q)
			break;
		memset(p, ' ', (size_t)(q - p + 1));
	}
	for (char *p = rest; *p;) {
		size_t n = 0;
		while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') || p[n] == '_')
			n++;
		if (n >= 2 && !is_term(p, n))
			fail_msg("English word \"%.*s\" in the Korean %s: %s", (int)n, p, m.key,
			         text);
		p += n ? n : 1;
	}
	free(rest);
	free(text);
	cJSON_Delete(vars);
}

/* Every category has a label in both catalogs (the card's Category). */
static void every_category_has_a_label(void **s)
{
	static const char *files[] = {"blocks/messages.en.json", "blocks/messages.ko.json"};
	(void)s;
	for (size_t f = 0; f < 2; f++) {
		fb_buf t;
		fb_buf_init(&t, 1 << 20);
		assert_int_equal(fb_buf_read_file(&t, files[f]), FB_OK);
		cJSON *cat = cJSON_Parse(fb_buf_str(&t));
		assert_non_null(cat);
		for (size_t i = 0; i < fb_n_categories; i++) {
			char key[64];
			snprintf(key, sizeof(key), "cat_%s", fb_categories[i]);
			if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cat, key)))
				fail_msg("%s has no %s", files[f], key);
		}
		cJSON_Delete(cat);
		fb_buf_free(&t);
	}
}

/* ---- the data-driven table ---- */

enum { C_FILE, C_CAT, C_SEV, C_NS, C_APP, C_ACTION, C_KIND, C_MENTION, C_N };

/* Splits line on tabs into col (pointers into line); returns how many. */
static size_t split(char *line, char *col[C_N])
{
	size_t n = 0;
	char *p = line;
	while (n < C_N) {
		col[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static const char *dash(const char *s)
{
	return *s ? s : "-";
}

/* The proposal's kind, or "manual", for the incident the row describes. */
static void propose_kind(const fb_classification *c, const char *app, const cJSON *an, char *kind,
                         size_t kindsz)
{
	fb_config cfg;
	fb_gitops *g = NULL;
	cJSON *p = NULL;
	fb_config_defaults(&cfg);
	snprintf(cfg.gitops.repo, sizeof(cfg.gitops.repo), "%s", repo);
	assert_int_equal(fb_gitops_open(&cfg, &g), FB_OK);
	fb_action_input in = {.incident_id = "incident-alert-1",
	                      .category = c->category,
	                      .severity = c->severity,
	                      .app = app,
	                      .ns = c->ns,
	                      .evidence = c->evidence,
	                      .root_cause = str(an, "root_cause"),
	                      .step = 1,
	                      .cfg = &cfg,
	                      .gitops = g};
	in.facts.container = fb_classification_fact(c, "container");
	in.facts.limit = fb_classification_fact(c, "limit");
	in.facts.claim = fb_classification_fact(c, "persistentvolumeclaim");
	in.facts.autoscaler = fb_classification_fact(c, "horizontalpodautoscaler");
	assert_int_equal(fb_action_propose(fb_rules_action_for(rules, c->category), &in, &p),
	                 FB_OK);
	snprintf(kind, kindsz, "%s",
	         !strcmp(str(p, "action"), "manual") ? "manual" : str(p, "kind"));
	cJSON_Delete(p);
	fb_gitops_free(g);
}

static void check_row(char *col[C_N])
{
	fb_config cfg;
	fb_buf body;
	fb_source_batch *b = NULL;
	fb_classification c;
	cJSON *an = NULL;
	char path[256], kind[32] = "-";

	fb_config_defaults(&cfg);
	snprintf(path, sizeof(path), DATA "%s", col[C_FILE]);
	fb_buf_init(&body, 1 << 20);
	assert_int_equal(fb_buf_read_file(&body, path), FB_OK);
	assert_int_equal(
	    fb_source_find("alertmanager")->parse(&cfg, fb_buf_str(&body), body.len, &b), FB_OK);
	fb_buf_free(&body);
	if (!strcmp(col[C_CAT], "ignored")) {
		assert_int_equal(b->n, 0);
		fb_source_batch_free(b);
		return;
	}
	assert_int_equal(b->n, 1);
	const fb_source_signal *s = &b->signals[0];
	assert_int_equal(fb_rules_classify(rules, s->text, s->len, &c), FB_OK);
	/* the app as the engine's classify node chooses it */
	const char *app = *s->app ? s->app : (c.n_apps ? c.apps[0] : "");
	assert_int_equal(fb_analyze(&c, app, &an), FB_OK);
	if (strcmp(col[C_KIND], "-") != 0)
		propose_kind(&c, app, an, kind, sizeof(kind));
	print_message("%s: %s %s ns=%s app=%s action=%s kind=%s\n  %s\n", col[C_FILE], c.category,
	              c.severity, dash(c.ns), dash(app), fb_rules_action_for(rules, c.category),
	              kind, str(an, "root_cause"));
	assert_string_equal(c.category, col[C_CAT]);
	assert_string_equal(c.severity, col[C_SEV]);
	assert_string_equal(dash(c.ns), col[C_NS]);
	assert_string_equal(dash(app), col[C_APP]);
	assert_string_equal(fb_rules_action_for(rules, c.category), col[C_ACTION]);
	assert_string_equal(kind, col[C_KIND]);
	assert_non_null(strstr(str(an, "root_cause"), col[C_MENTION]));
	/* the Korean card says it all in Korean */
	const cJSON *it;
	korean(cJSON_GetObjectItem(an, "root_cause_msg"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(an, "actions_msg")) korean(it);
	/* the runbook the alert links is one of the suggested actions */
	const char *rb = fb_classification_fact(&c, "runbook_url");
	if (rb) {
		int found = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(an, "actions"))
		{
			found |= cJSON_IsString(it) && strstr(it->valuestring, rb) != NULL;
		}
		assert_true(found);
	}
	cJSON_Delete(an);
	fb_source_batch_free(b);
}

static void every_alert_gets_its_category(void **s)
{
	fb_buf t;
	size_t rows = 0;
	(void)s;
	fb_buf_init(&t, 1 << 20);
	assert_int_equal(fb_buf_read_file(&t, DATA "expected.tsv"), FB_OK);
	char *text = fb_buf_take(&t), *line = text;
	while (line && *line) {
		char *nl = strchr(line, '\n'), *col[C_N];
		if (nl)
			*nl = '\0';
		if (*line && *line != '#') {
			assert_int_equal(split(line, col), C_N);
			check_row(col);
			rows++;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	assert_true(rows >= 23);
}

/* ---- the rules' alerts: section ---- */

static void an_ignored_alert_is_no_incident_even_relabelled(void **s)
{
	fb_classification c;
	const char *text = "Alertmanager alert Watchdog\nsummary: An alert that should always "
	                   "be firing\nseverity=warning\n";
	(void)s;
	assert_int_equal(fb_rules_classify(rules, text, strlen(text), &c), FB_OK);
	assert_string_equal(c.category, "none");
	assert_string_equal(c.rule, "alert:Watchdog");
	/* an alert the table does not name is classified from its text */
	const char *other = "Alertmanager alert MyAppDown\ndescription: connection refused "
	                    "to db:5432\nseverity=critical\n";
	assert_int_equal(fb_rules_classify(rules, other, strlen(other), &c), FB_OK);
	assert_string_equal(c.category, "network_error");
	/* a description cannot pose as a label (the source puts values on one line) */
	const char *multi = "Alertmanager alert KubePodNotReady\ndescription: x namespace=evil\n"
	                    "namespace=prod\npod=api-7f9c8d6b5-x2kqp\n";
	assert_int_equal(fb_rules_classify(rules, multi, strlen(multi), &c), FB_OK);
	assert_string_equal(c.ns, "prod");
	assert_string_equal(c.severity, "warning"); /* no severity label: the default */
}

/* Odd alert texts: no name, no NUL at the end (ASan watches), lines
 * that are neither labels nor annotations, a label without a value. */
static void odd_alert_texts_do_not_break(void **s)
{
	static const char *texts[] = {
	    "Alertmanager alert ", "Alertmanager alert \nseverity=critical\n",
	    "Alertmanager alert KubePodNotReady",
	    "Alertmanager alert KubePodNotReady\r\nnamespace=\r\n=x\n: y\nsummary:\n"
	    "severity=bogus\npod=api-7f9c8d6b5-x2kqp",
	    "Alertmanager alert KubeHpaMaxedOut\nhorizontalpodautoscaler=api\nnamespace=shop"};
	(void)s;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = strlen(texts[i]);
		char *exact = malloc(n); /* no NUL after the text */
		fb_classification c;
		assert_non_null(exact);
		memcpy(exact, texts[i], n);
		assert_int_equal(fb_rules_classify(rules, exact, n, &c), FB_OK);
		free(exact);
		if (i >= 2)
			assert_string_equal(c.rule + 6,
			                    i == 4 ? "KubeHpaMaxedOut" : "KubePodNotReady");
	}
	fb_classification c;
	const char *t = "Alertmanager alert KubePodNotReady\nseverity=bogus\n";
	assert_int_equal(fb_rules_classify(rules, t, strlen(t), &c), FB_OK);
	assert_string_equal(c.severity, "warning"); /* not a severity: the default */
	assert_string_equal(c.ns, "");
}

static void alerts_section_errors_have_file_and_line(void **s)
{
	static const char text[] = "version: 1\n"
	                           "rules:\n"
	                           "  - name: oom\n"
	                           "    category: oom\n"
	                           "    match: OOMKilled\n"
	                           "alerts:\n"
	                           "  KubeFoo:\n"
	                           "    category: flooding\n"
	                           "  KubeBar:\n"
	                           "    severity: page\n"
	                           "    scope: galaxy\n"
	                           "  KubeBaz:\n"
	                           "    ignore: true\n"
	                           "    colour: red\n"
	                           "  KubeQux:\n"
	                           "    category: oom\n"
	                           "    reason:\n"
	                           "      OOMKilled: nothing\n";
	fb_rules *r = NULL;
	char *errors = NULL;
	(void)s;
	assert_int_equal(fb_rules_parse(text, strlen(text), "r.yaml", &r, &errors), FB_EINVAL);
	assert_null(r);
	assert_non_null(strstr(errors, "r.yaml:8: alerts: KubeFoo: unknown category \"flooding\""));
	assert_non_null(strstr(errors, "r.yaml:10: alerts: KubeBar: severity must be"));
	assert_non_null(strstr(errors, "r.yaml:11: alerts: KubeBar: scope must be"));
	assert_non_null(strstr(errors, "r.yaml:10: alerts: KubeBar: no category"));
	assert_non_null(strstr(errors, "r.yaml:14: alerts: KubeBaz: unknown key \"colour\""));
	assert_non_null(strstr(errors, "r.yaml:18: alerts: KubeQux: unknown category \"nothing\""));
	free(errors);

	/* a rules file written before alerts: existed keeps the shipped table */
	static const char old[] = "version: 1\nrules:\n  - name: oom\n    category: oom\n"
	                          "    match: OOMKilled\n";
	fb_classification c;
	const char *am = "Alertmanager alert KubeHpaMaxedOut\nhorizontalpodautoscaler=api\n";
	assert_int_equal(fb_rules_parse(old, strlen(old), "old.yaml", &r, &errors), FB_OK);
	assert_int_equal(fb_rules_classify(r, am, strlen(am), &c), FB_OK);
	assert_string_equal(c.category, "hpa_maxed");
	fb_rules_free(r);
}

/* ---- the chart's own keys ---- */

static cJSON *propose(const char *category, const char *app, const char *claim, const char *hpa)
{
	fb_config cfg;
	fb_gitops *g = NULL;
	cJSON *p = NULL;
	fb_config_defaults(&cfg);
	snprintf(cfg.gitops.repo, sizeof(cfg.gitops.repo), "%s", repo);
	assert_int_equal(fb_gitops_open(&cfg, &g), FB_OK);
	fb_action_input in = {.incident_id = "incident-alert-2",
	                      .category = category,
	                      .severity = "warning",
	                      .app = app,
	                      .ns = "",
	                      .evidence = "",
	                      .root_cause = "",
	                      .step = 1,
	                      .cfg = &cfg,
	                      .gitops = g};
	in.facts.claim = claim;
	in.facts.autoscaler = hpa;
	assert_int_equal(fb_action_propose("values_patch", &in, &p), FB_OK);
	fb_gitops_free(g);
	return p;
}

static const cJSON *edit0(const cJSON *p)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(p, "edits"), 0);
}

static void a_filling_volume_grows_the_charts_key(void **s)
{
	cJSON *p;
	(void)s;
	/* the Done-when: persistence.size, with a diff growing it */
	p = propose("volume_filling", "grafana", "grafana", NULL);
	assert_string_equal(str(p, "action"), "values_patch");
	assert_string_equal(str(p, "kind"), "volume_grow");
	assert_string_equal(str(edit0(p), "path"), "persistence.size");
	assert_string_equal(str(edit0(p), "old"), "10Gi");
	assert_string_equal(str(edit0(p), "new"), "15Gi");
	assert_non_null(strstr(str(p, "diff"), "-  size: 10Gi\n+  size: 15Gi\n"));
	assert_non_null(strstr(str(p, "summary"), "Grow the volume grafana of grafana from 10Gi "
	                                          "to 15Gi"));
	assert_null(strstr(str(p, "summary"), "StatefulSet"));
	cJSON_Delete(p);

	/* a component's persistence (loki's singleBinary), a StatefulSet claim */
	p = propose("volume_filling", "loki", "storage-loki-0", NULL);
	assert_string_equal(str(edit0(p), "path"), "singleBinary.persistence.size");
	assert_string_equal(str(edit0(p), "new"), "75Gi");
	assert_non_null(strstr(str(p, "summary"), "--cascade=orphan"));
	korean(cJSON_GetObjectItem(p, "summary_msg"));
	cJSON_Delete(p);

	/* the alert names the StatefulSet (loki-write); its claim names the release */
	p = propose("volume_filling", "loki-write", "data-loki-write-0", NULL);
	assert_string_equal(str(p, "kind"), "volume_grow");
	assert_string_equal(str(p, "file"), "helm-values/loki/values.yaml");
	assert_non_null(strstr(str(p, "summary"), "data-loki-write-0 of loki from 50Gi"));
	cJSON_Delete(p);
	p = propose("volume_filling", "redis-master", "redis-data-redis-master-0", NULL);
	assert_string_equal(str(p, "action"), "manual"); /* no values for redis anywhere */
	cJSON_Delete(p);

	/* bitnami: primary.persistence.size */
	p = propose("volume_filling", "postgresql", "data-postgresql-0", NULL);
	assert_string_equal(str(edit0(p), "path"), "primary.persistence.size");
	assert_string_equal(str(edit0(p), "new"), "12Gi");
	cJSON_Delete(p);

	/* kube-prometheus-stack: the claim names the volumeClaimTemplate */
	p = propose("volume_filling", "kube-prometheus-stack",
	            "prometheus-kube-prometheus-stack-prometheus-db-prometheus-kube-prometheus-"
	            "stack-prometheus-0",
	            NULL);
	assert_string_equal(str(edit0(p), "path"), "prometheus.prometheusSpec.storageSpec."
	                                           "volumeClaimTemplate.spec.resources.requests."
	                                           "storage");
	assert_string_equal(str(edit0(p), "new"), "75Gi");
	cJSON_Delete(p);
	p = propose("volume_filling", "kube-prometheus-stack",
	            "alertmanager-kube-prometheus-stack-alertmanager-db-alertmanager-kube-"
	            "prometheus-stack-alertmanager-0",
	            NULL);
	assert_string_equal(str(edit0(p), "path"), "alertmanager.alertmanagerSpec.storage."
	                                           "volumeClaimTemplate.spec.resources.requests."
	                                           "storage");
	cJSON_Delete(p);

	/* two components and a claim that names neither: a person chooses */
	p = propose("volume_filling", "tempo", "data-tempo-0", NULL);
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "in 2 places"));
	korean(cJSON_GetObjectItem(p, "reason_msg"));
	cJSON_Delete(p);
	p = propose("volume_filling", "tempo", "data-tempo-ingester-0", NULL);
	assert_string_equal(str(edit0(p), "path"), "ingester.persistence.size");
	cJSON_Delete(p);

	/* no size key: manual, and says so */
	p = propose("volume_filling", "api", "data-api-0", NULL);
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "has no volume size key (persistence.size"));
	cJSON_Delete(p);
}

static void an_hpa_at_its_maximum_raises_max_replicas(void **s)
{
	fb_config cfg;
	cJSON *p;
	(void)s;
	p = propose("hpa_maxed", "api", NULL, "api");
	assert_string_equal(str(p, "kind"), "replicas_raise");
	assert_string_equal(str(edit0(p), "path"), "autoscaling.maxReplicas");
	assert_string_equal(str(edit0(p), "new"), "15");
	assert_non_null(strstr(str(p, "diff"), "+  maxReplicas: 15\n"));
	korean(cJSON_GetObjectItem(p, "summary_msg"));
	cJSON_Delete(p);
	p = propose("hpa_maxed", "grafana", NULL, "grafana");
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "maxReplicas"));
	cJSON_Delete(p);
	fb_config_defaults(&cfg);
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "autoscaling.maxReplicas", "20"),
	                 FB_OK);
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "autoscaling.maxReplicas", "500"),
	                 FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "policy.max_replicas"));
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "autoscaling.maxReplicas", "ten"),
	                 FB_EINVAL);
	assert_int_equal(fb_action_validate(&cfg, "values_patch",
	                                    "prometheus.prometheusSpec.storageSpec."
	                                    "volumeClaimTemplate.spec.resources.requests.storage",
	                                    "900Gi"),
	                 FB_EINVAL);
}

static void cpu_throttling_raises_a_limit_the_values_set(void **s)
{
	fb_config cfg;
	cJSON *p;
	(void)s;
	p = propose("cpu_throttling", "grafana", NULL, NULL);
	assert_string_equal(str(p, "kind"), "cpu_raise");
	assert_string_equal(str(edit0(p), "path"), "resources.limits.cpu");
	assert_string_equal(str(edit0(p), "old"), "500m");
	assert_string_equal(str(edit0(p), "new"), "1000m");
	cJSON_Delete(p);
	/* loki's values set no CPU limit: nothing clear to raise */
	p = propose("cpu_throttling", "loki", NULL, NULL);
	assert_string_equal(str(p, "action"), "manual");
	assert_non_null(strstr(str(p, "reason"), "sets no CPU limit"));
	korean(cJSON_GetObjectItem(p, "reason_msg"));
	cJSON_Delete(p);
	fb_config_defaults(&cfg);
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "resources.limits.cpu", "2"),
	                 FB_OK);
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "resources.limits.cpu", "8"),
	                 FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "policy.max_cpu"));
	assert_int_equal(fb_action_validate(&cfg, "values_patch", "resources.limits.cpu", "lots"),
	                 FB_EINVAL);
}

static void the_policy_keys_are_config(void **s)
{
	char path[] = "/tmp/fb-alerts-cfg-XXXXXX", *errors = NULL;
	fb_config cfg;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	(void)s;
	assert_non_null(f);
	fputs("policy:\n  replicas_factor: 2\n  max_replicas: 30\n  cpu_factor: 1.5\n"
	      "  max_cpu: \"8\"\n",
	      f);
	fclose(f);
	assert_int_equal(fb_config_load(path, &cfg, &errors), FB_OK);
	assert_true(cfg.policy.replicas_factor == 2.0);
	assert_int_equal(cfg.policy.max_replicas, 30);
	assert_true(cfg.policy.cpu_factor == 1.5);
	assert_string_equal(cfg.policy.max_cpu, "8");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("policy:\n  cpu_factor: 0\n  max_cpu: lots\n", f);
	fclose(f);
	assert_int_not_equal(fb_config_load(path, &cfg, &errors), FB_OK);
	assert_non_null(errors);
	assert_non_null(strstr(errors, ":2: policy.cpu_factor"));
	assert_non_null(strstr(errors, ":3: policy.max_cpu"));
	free(errors);
	unlink(path);
}

/* ---- namespaces from kubectl get events ---- */

static void namespaces_from_kubectl_get_events(void **s)
{
	static const struct {
		const char *file, *ns, *app;
	} cases[] = {
	    {"all-namespaces-backoff.log", "payments", "ledger-api"},
	    {"no-namespace-column.log", "shop", "checkout"},
	    {"no-namespace-column-flag.log", "search", "opensearch-data"},
	    {"scheduled-assigned.log", "batch", "worker"},
	};
	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fb_buf t;
		fb_classification c;
		char path[256];
		snprintf(path, sizeof(path), "tests/data/events/%s", cases[i].file);
		fb_buf_init(&t, 1 << 20);
		assert_int_equal(fb_buf_read_file(&t, path), FB_OK);
		assert_int_equal(fb_rules_classify(rules, fb_buf_str(&t), t.len, &c), FB_OK);
		print_message("%s: ns=%s app=%s\n", cases[i].file, c.ns, c.apps[0]);
		assert_string_equal(c.ns, cases[i].ns);
		assert_string_equal(c.apps[0], cases[i].app);
		fb_buf_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_alert_gets_its_category),
	    cmocka_unit_test(every_category_has_a_label),
	    cmocka_unit_test(an_ignored_alert_is_no_incident_even_relabelled),
	    cmocka_unit_test(odd_alert_texts_do_not_break),
	    cmocka_unit_test(alerts_section_errors_have_file_and_line),
	    cmocka_unit_test(a_filling_volume_grows_the_charts_key),
	    cmocka_unit_test(an_hpa_at_its_maximum_raises_max_replicas),
	    cmocka_unit_test(cpu_throttling_raises_a_limit_the_values_set),
	    cmocka_unit_test(the_policy_keys_are_config),
	    cmocka_unit_test(namespaces_from_kubectl_get_events),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
