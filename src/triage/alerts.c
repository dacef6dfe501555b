/*
 * alerts.c - owns the rules file's `alerts:` section: which category an
 * Alertmanager alert is, by its alertname (refined by its `reason` label),
 * whether it is an incident at all (Watchdog, InfoInhibitor), and what
 * its labels say (severity, namespace, the app, facts for the card).
 * Loading runs once at start-up with the rest of the rules (rules.c);
 * classification runs on any thread (a loaded table is read-only).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"

#define MAX_ALERTS 256
#define MAX_REASONS 16
#define MAX_PAIRS 64 /* labels and annotations looked at per alert */
#define HEADER "Alertmanager alert "

enum { SCOPE_WORKLOAD = 0, SCOPE_NODE, SCOPE_CLUSTER };

typedef struct {
	char reason[64];
	char category[32];
} reason_map;

typedef struct {
	char name[128];
	char category[32];
	char severity[16]; /* when the alert has no severity label */
	int scope;
	int ignore;
	reason_map reasons[MAX_REASONS];
	size_t n_reasons;
} alert_entry;

struct fb_alerts {
	alert_entry e[MAX_ALERTS];
	size_t n;
};

/* ---- loading ---- */

typedef struct {
	yaml_document_t *doc;
	const char *file;
	fb_buf *errors;
	int *nerr;
} ctx;

static void problem(ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fb_buf_printf(c->errors, "%s:%lu: alerts: %s\n", c->file,
	              n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
	(*c->nerr)++;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static void load_category(ctx *c, yaml_node_t *v, const char *what, char *out, size_t outsz)
{
	const char *s = scalar(v);
	if (!s || !fb_category_valid(s) || !strcmp(s, "none")) {
		problem(c, v, "%s: unknown category \"%s\"", what, s ? s : "?");
		return;
	}
	snprintf(out, outsz, "%s", s);
}

static void load_reasons(ctx *c, yaml_node_t *n, alert_entry *e)
{
	if (n->type != YAML_MAPPING_NODE) {
		problem(c, n, "%s: reason: expected a mapping of reason: category", e->name);
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = node(c, p->key);
		const char *k = scalar(kn);
		if (!k || !*k || e->n_reasons == MAX_REASONS) {
			problem(c, kn, "%s: a bad reason, or more than %d", e->name, MAX_REASONS);
			continue;
		}
		reason_map *r = &e->reasons[e->n_reasons++];
		snprintf(r->reason, sizeof(r->reason), "%s", k);
		load_category(c, node(c, p->value), e->name, r->category, sizeof(r->category));
	}
}

static void load_key(ctx *c, alert_entry *e, yaml_node_t *kn, yaml_node_t *v)
{
	const char *k = scalar(kn), *s = scalar(v);

	if (k && !strcmp(k, "reason")) {
		load_reasons(c, v, e);
	} else if (!k || !s) {
		problem(c, v, "%s: %s: expected a single value", e->name, k ? k : "?");
	} else if (!strcmp(k, "category")) {
		load_category(c, v, e->name, e->category, sizeof(e->category));
	} else if (!strcmp(k, "severity")) {
		if (!fb_severity_valid(s))
			problem(c, v, "%s: severity must be critical, warning or info", e->name);
		snprintf(e->severity, sizeof(e->severity), "%s", s);
	} else if (!strcmp(k, "scope")) {
		if (!strcmp(s, "workload"))
			e->scope = SCOPE_WORKLOAD;
		else if (!strcmp(s, "node"))
			e->scope = SCOPE_NODE;
		else if (!strcmp(s, "cluster"))
			e->scope = SCOPE_CLUSTER;
		else
			problem(c, v, "%s: scope must be workload, node or cluster", e->name);
	} else if (!strcmp(k, "ignore")) {
		if (strcmp(s, "true") && strcmp(s, "false"))
			problem(c, v, "%s: ignore must be true or false", e->name);
		e->ignore = !strcmp(s, "true");
	} else {
		problem(c, kn, "%s: unknown key \"%s\" (category, severity, scope, reason, ignore)",
		        e->name, k);
	}
}

static void load_entry(ctx *c, yaml_node_t *kn, yaml_node_t *v, fb_alerts *a)
{
	const char *name = scalar(kn);
	alert_entry *e;

	if (!name || !*name || strlen(name) >= sizeof(e->name)) {
		problem(c, kn, "an alert name must be a string of 1 to %zu characters",
		        sizeof(e->name) - 1);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->e[i].name, name)) {
			problem(c, kn, "%s is named twice", name);
			return;
		}
	if (a->n == MAX_ALERTS) {
		problem(c, kn, "more than %d alerts", MAX_ALERTS);
		return;
	}
	e = &a->e[a->n++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (!v || v->type != YAML_MAPPING_NODE) {
		problem(c, v ? v : kn, "%s: expected a mapping (category:, severity:, ...)", name);
		return;
	}
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++)
		load_key(c, e, node(c, p->key), node(c, p->value));
	if (!e->ignore && !e->category[0])
		problem(c, v, "%s: no category (or ignore: true)", name);
}

fb_alerts *fb_alerts_load(yaml_document_t *doc, yaml_node_t *n, const char *file, fb_buf *errors,
                          int *nerr)
{
	ctx c = {doc, file, errors, nerr};
	fb_alerts *a = calloc(1, sizeof(*a));

	if (!a) {
		problem(&c, n, "out of memory");
		return NULL;
	}
	if (n->type != YAML_MAPPING_NODE) {
		problem(&c, n, "expected a mapping of alertname: {category: ...}");
		return a;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		load_entry(&c, node(&c, p->key), node(&c, p->value), a);
	return a;
}

void fb_alerts_free(fb_alerts *a)
{
	free(a);
}

/* ---- classification ---- */

typedef struct {
	const char *k, *v;
	size_t kl, vl;
	int label; /* 1: a label (k=v); 0: an annotation (k: v) */
} pair;

typedef struct {
	const char *name;
	size_t name_len;
	pair p[MAX_PAIRS];
	size_t n;
} alert_text;

static int ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* One "label=value" or "annotation: value" line. */
static void parse_line(alert_text *t, const char *s, size_t n)
{
	size_t k = 0;

	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_') || t->n == MAX_PAIRS)
		return;
	while (k < n && ident_char(s[k]))
		k++;
	if (k < n && s[k] == '=')
		t->p[t->n++] = (pair){s, s + k + 1, k, n - k - 1, 1};
	else if (k + 1 < n && s[k] == ':' && s[k + 1] == ' ')
		t->p[t->n++] = (pair){s, s + k + 2, k, n - k - 2, 0};
}

static int parse_text(const char *text, size_t len, alert_text *t)
{
	const char *p = text, *end = text + len;
	size_t hl = sizeof(HEADER) - 1;

	memset(t, 0, sizeof(*t));
	if (len <= hl || memcmp(text, HEADER, hl) != 0)
		return 0;
	t->name = text + hl;
	while (t->name + t->name_len < end && t->name[t->name_len] != '\r' &&
	       t->name[t->name_len] != '\n')
		t->name_len++; /* text need not end with a NUL */
	p = t->name + t->name_len;
	while (p < end) {
		const char *nl;
		size_t ll;
		if (*p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		parse_line(t, p, ll);
		p += ll;
	}
	return t->name_len > 0;
}

/* The value of a label (label 1) or annotation (0) into out; "" if none. */
static const char *get(const alert_text *t, int label, const char *key, char *out, size_t outsz)
{
	out[0] = '\0';
	for (size_t i = t->n; i-- > 0;) {
		const pair *p = &t->p[i];
		if (p->label == label && p->kl == strlen(key) && !memcmp(p->k, key, p->kl)) {
			snprintf(out, outsz, "%.*s", (int)p->vl, p->v);
			break;
		}
	}
	return out;
}

static const alert_entry *find(const fb_alerts *a, const alert_text *t)
{
	for (size_t i = 0; i < a->n; i++)
		if (strlen(a->e[i].name) == t->name_len &&
		    !memcmp(a->e[i].name, t->name, t->name_len))
			return &a->e[i];
	return NULL;
}

static void add_fact(fb_classification *c, const char *key, const char *value)
{
	if (!*value || fb_classification_fact(c, key) || c->n_facts >= FB_CLASS_FACTS_MAX)
		return;
	fb_copy_utf8(c->facts[c->n_facts].key, sizeof(c->facts[0].key), key);
	fb_copy_utf8(c->facts[c->n_facts].value, sizeof(c->facts[0].value), value);
	c->n_facts++;
}

static void add_app(fb_classification *c, const char *app)
{
	if (!*app || c->n_apps >= FB_CLASS_APPS_MAX)
		return;
	for (size_t i = 0; i < c->n_apps; i++)
		if (!strcmp(c->apps[i], app))
			return;
	fb_copy_utf8(c->apps[c->n_apps++], sizeof(c->apps[0]), app);
}

/* A StatefulSet's claim is <template>-<statefulset>-<ordinal>
 * (data-postgres-0 -> postgres); any other claim is named as it is. */
static void claim_to_app(const char *pvc, char *out, size_t outsz)
{
	const char *d = strrchr(pvc, '-'), *first = strchr(pvc, '-');

	snprintf(out, outsz, "%s", pvc);
	if (!d || !d[1] || strspn(d + 1, "0123456789") != strlen(d + 1) || first == d)
		return;
	snprintf(out, outsz, "%.*s", (int)(d - first - 1), first + 1);
}

/*
 * Is the label the scrape target's rather than the object's?  A node
 * alert's namespace, pod, container and service are node-exporter's; a
 * cluster alert's namespace and pod are kube-state-metrics'; and an alert
 * about a Deployment, an HPA or a Job carries kube-state-metrics' own pod
 * and container (kube-prometheus-stack's target labels), which a pod name
 * starting with the service's name gives away.
 */
static int exporter_label(const alert_text *t, const alert_entry *e, const char *name)
{
	static const char *target[] = {"namespace", "pod", "container", "service"};
	char pod[256], svc[256];
	size_t n;

	if (e->scope != SCOPE_WORKLOAD) {
		for (size_t i = 0; i < sizeof(target) / sizeof(target[0]); i++)
			if (!strcmp(name, target[i]))
				return e->scope == SCOPE_NODE || i < 3;
		return 0;
	}
	if (strcmp(name, "pod") && strcmp(name, "container"))
		return 0;
	get(t, 1, "pod", pod, sizeof(pod));
	n = strlen(get(t, 1, "service", svc, sizeof(svc)));
	return n && !strncmp(pod, svc, n) && pod[n] == '-';
}

/* The app from the object labels, most specific name first. */
static void add_apps(const alert_text *t, const alert_entry *e, fb_classification *c)
{
	static const struct {
		const char *label;
		char reduce; /* p: a pod name, c: a claim name */
	} order[] = {{"app", 0},
	             {"app_kubernetes_io_name", 0},
	             {"app_kubernetes_io_instance", 0},
	             {"deployment", 0},
	             {"statefulset", 0},
	             {"daemonset", 0},
	             {"horizontalpodautoscaler", 0},
	             {"job_name", 'p'},
	             {"pod", 'p'},
	             {"persistentvolumeclaim", 'c'},
	             {"container", 0}};
	char v[256], app[256];

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!*get(t, 1, order[i].label, v, sizeof(v)) ||
		    exporter_label(t, e, order[i].label))
			continue;
		if (order[i].reduce == 'p')
			fb_rules_pod_to_app(v, app, sizeof(app));
		else if (order[i].reduce == 'c')
			claim_to_app(v, app, sizeof(app));
		else
			snprintf(app, sizeof(app), "%s", v);
		add_app(c, app);
	}
	if (c->n_apps == 0) /* TargetDown: the service whose targets are down */
		add_app(c, get(t, 1, "service", v, sizeof(v)));
}

/* Labels and annotations as facts: what the card shows first, then the
 * rest while there is room. */
static void add_facts(const alert_text *t, const alert_entry *e, fb_classification *c)
{
	static const char *first[] = {"summary",
	                              "description",
	                              "message",
	                              "runbook_url",
	                              "namespace",
	                              "pod",
	                              "container",
	                              "persistentvolumeclaim",
	                              "persistentvolume",
	                              "deployment",
	                              "statefulset",
	                              "daemonset",
	                              "horizontalpodautoscaler",
	                              "job_name",
	                              "reason",
	                              "phase",
	                              "mountpoint",
	                              "device",
	                              "service",
	                              "job"};
	char v[256], name[256];

	add_fact(c, "alertname", e->name);
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		int label = i > 3; /* message: older mixins' description */
		if (label && exporter_label(t, e, first[i]))
			continue;
		add_fact(c, first[i], get(t, label, first[i], v, sizeof(v)));
	}
	if (e->scope == SCOPE_NODE)
		add_fact(c, "node",
		         *get(t, 1, "node", v, sizeof(v)) ? v
		                                          : get(t, 1, "instance", v, sizeof(v)));
	for (size_t i = 0; i < t->n; i++) {
		const pair *p = &t->p[i];
		snprintf(name, sizeof(name), "%.*s", (int)p->kl, p->k);
		snprintf(v, sizeof(v), "%.*s", (int)p->vl, p->v);
		if (p->label && strcmp(name, "severity") && strcmp(name, "alertname") &&
		    !exporter_label(t, e, name))
			add_fact(c, name, v);
	}
}

static const char *category_of(const alert_entry *e, const alert_text *t)
{
	char reason[64];

	get(t, 1, "reason", reason, sizeof(reason));
	for (size_t i = 0; *reason && i < e->n_reasons; i++)
		if (!strcmp(e->reasons[i].reason, reason))
			return e->reasons[i].category;
	return e->category;
}

static void set_evidence(const alert_text *t, const alert_entry *e, fb_classification *c)
{
	char what[400], ev[512], sig[200];

	if (!*get(t, 0, "summary", what, sizeof(what)) &&
	    !*get(t, 0, "description", what, sizeof(what)) &&
	    !*get(t, 0, "message", what, sizeof(what)))
		snprintf(what, sizeof(what), "firing");
	snprintf(ev, sizeof(ev), "%s: %s", e->name, what);
	fb_copy_utf8(c->evidence, sizeof(c->evidence), ev);
	snprintf(sig, sizeof(sig), "alert %s", e->name);
	fb_copy_utf8(c->signature, sizeof(c->signature), sig);
	snprintf(sig, sizeof(sig), "alert:%s", e->name);
	fb_copy_utf8(c->rule, sizeof(c->rule), sig);
}

int fb_alerts_classify(const fb_alerts *a, const char *text, size_t len, fb_classification *out)
{
	alert_text *t;
	const alert_entry *e;
	char sev[32], ns[128];

	if (!a || !text || !(t = malloc(sizeof(*t))))
		return 0;
	if (!parse_text(text, len, t) || !(e = find(a, t))) {
		free(t);
		return 0;
	}
	out->present = 1;
	out->confidence = 0.95;
	set_evidence(t, e, out);
	if (e->ignore) {
		fb_copy_utf8(out->category, sizeof(out->category), "none");
		fb_copy_utf8(out->severity, sizeof(out->severity), "info");
		free(t);
		return 1;
	}
	fb_copy_utf8(out->category, sizeof(out->category), category_of(e, t));
	if (!fb_severity_valid(get(t, 1, "severity", sev, sizeof(sev))))
		snprintf(sev, sizeof(sev), "%s", e->severity[0] ? e->severity : "warning");
	fb_copy_utf8(out->severity, sizeof(out->severity), sev);
	add_facts(t, e, out);
	if (e->scope == SCOPE_WORKLOAD) {
		fb_copy_utf8(out->ns, sizeof(out->ns), get(t, 1, "namespace", ns, sizeof(ns)));
		add_apps(t, e, out);
	}
	free(t);
	return 1;
}
