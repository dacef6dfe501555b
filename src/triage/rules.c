/*
 * rules.c - owns the triage rule set: loading deploy/rules.yaml (or the
 * embedded copy), compiling every pattern once with PCRE2 (JIT when
 * available), and classifying log text.  Loading runs once at start-up;
 * classification runs on any thread, since a loaded rule set is read-only
 * and match data is allocated per call.
 *
 * Rules match one line at a time so that the evidence is the line that
 * matched.  When several rules match, the highest priority wins: the rule
 * file gives root causes (an OOM kill) a higher priority than their
 * symptoms (the CrashLoopBackOff that follows), and gives "not an incident"
 * look-alikes (error=0, a retry that succeeded) a priority above the
 * generic error catch-all.  Extractors run over the whole text.
 *
 * The file's `actions:` mapping says which action (action.h) fixes each
 * category; its names are checked against the action table at load.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "firebreak/action.h"
#include "firebreak/buf.h"
#include "firebreak/config.h"
#include "firebreak/rules.h"
#include "alerts.h"

#define MAX_PATTERNS 64
#define MAX_RULES 256
#define MAX_EXTRACTORS 32
#define MAX_ACTIONS 32     /* entries of the category -> action mapping */
#define MAX_LINE_SCAN 4096 /* longest line looked at; longer ones are cut */
#define EVIDENCE_MAX 400

const char *const fb_categories[] = {"oom",
                                     "crashloop",
                                     "config_error",
                                     "resource_exhausted",
                                     "network_error",
                                     "image_pull_error",
                                     "task_failure",
                                     "volume_filling",
                                     "volume_error",
                                     "pod_not_ready",
                                     "replicas_mismatch",
                                     "cpu_throttling",
                                     "hpa_maxed",
                                     "node_disk",
                                     "target_down",
                                     "capacity",
                                     "unknown",
                                     "none"};
const size_t fb_n_categories = sizeof(fb_categories) / sizeof(fb_categories[0]);

extern const char fb_embedded_rules[];
extern const size_t fb_embedded_rules_len;

typedef struct {
	pcre2_code *re[MAX_PATTERNS];
	size_t n;
} pattern_set;

typedef struct {
	char name[64];
	char category[32];
	char severity[16];
	int priority;
	double confidence;
	pattern_set match;
	pattern_set unless;
} rule;

typedef struct {
	char name[32]; /* app, pod, container, namespace, or a fact name */
	pattern_set patterns;
} extractor;

typedef struct {
	char category[32];
	char action[32];
} action_map;

struct fb_rules {
	rule rules[MAX_RULES];
	size_t n_rules;
	extractor ex[MAX_EXTRACTORS];
	size_t n_ex;
	action_map act[MAX_ACTIONS]; /* category -> action; the rest is manual */
	size_t n_act;
	int has_actions;   /* the file had an actions: mapping */
	fb_alerts *alerts; /* the alerts: section; NULL when there is none */
};

int fb_category_valid(const char *s)
{
	for (size_t i = 0; i < fb_n_categories; i++)
		if (!strcmp(s, fb_categories[i]))
			return 1;
	return 0;
}

int fb_severity_valid(const char *s)
{
	return !strcmp(s, "critical") || !strcmp(s, "warning") || !strcmp(s, "info");
}

/* ---- loading ---- */

typedef struct {
	const char *file;
	yaml_document_t *doc;
	fb_buf errors;
	int nerr;
} loader;

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		fb_buf_printf(&ld->errors, "%s:%lu: %s\n", ld->file,
		              (unsigned long)n->start_mark.line + 1, msg);
	else /* an empty document */
		fb_buf_printf(&ld->errors, "%s: %s\n", ld->file, msg);
	ld->nerr++;
}

static void duplicate(void *ctx, const char *key, unsigned long first_line, unsigned long line)
{
	loader *ld = ctx;
	fb_buf_printf(&ld->errors, "%s:%lu: key \"%s\" given twice (first at line %lu)\n", ld->file,
	              line, key, first_line);
	ld->nerr++;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(loader *ld, int id)
{
	return yaml_document_get_node(ld->doc, id);
}

static void compile_one(loader *ld, yaml_node_t *n, pattern_set *set)
{
	const char *src = scalar(n);
	int err;
	PCRE2_SIZE off;

	if (!src) {
		problem(ld, n, "a pattern must be a string");
		return;
	}
	if (set->n == MAX_PATTERNS) {
		problem(ld, n, "more than %d patterns", MAX_PATTERNS);
		return;
	}
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
	                               PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		problem(ld, n, "bad pattern at offset %zu: %s", (size_t)off, (char *)msg);
		return;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
	set->re[set->n++] = re;
}

static void compile_set(loader *ld, yaml_node_t *n, pattern_set *set)
{
	if (n->type == YAML_SCALAR_NODE) {
		compile_one(ld, n, set);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, n, "expected a pattern or a list of patterns");
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++)
		compile_one(ld, node(ld, *it), set);
}

static void free_set(pattern_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		pcre2_code_free(set->re[i]);
	set->n = 0;
}

static void load_rule_key(loader *ld, rule *r, const char *k, yaml_node_t *kn, yaml_node_t *v)
{
	const char *s = scalar(v);
	char *end;

	if (!strcmp(k, "match") || !strcmp(k, "unless")) {
		compile_set(ld, v, !strcmp(k, "match") ? &r->match : &r->unless);
	} else if (!s) {
		problem(ld, v, "%s: expected a single value", k);
	} else if (!strcmp(k, "name")) {
		snprintf(r->name, sizeof(r->name), "%s", s);
	} else if (!strcmp(k, "category")) {
		if (!fb_category_valid(s))
			problem(ld, v, "unknown category \"%s\"", s);
		snprintf(r->category, sizeof(r->category), "%s", s);
	} else if (!strcmp(k, "severity")) {
		if (!fb_severity_valid(s))
			problem(ld, v, "severity must be critical, warning or info");
		snprintf(r->severity, sizeof(r->severity), "%s", s);
	} else if (!strcmp(k, "priority")) {
		long p = strtol(s, &end, 10);
		if (*end || end == s || p < 0 || p > 1000)
			problem(ld, v, "priority must be an integer from 0 to 1000");
		r->priority = (int)p;
	} else if (!strcmp(k, "confidence")) {
		double c = strtod(s, &end);
		if (*end || end == s || c < 0 || c > 1)
			problem(ld, v, "confidence must be a number from 0 to 1");
		r->confidence = c;
	} else {
		problem(ld, kn, "unknown rule key \"%s\"", k);
	}
}

static void load_rule(loader *ld, yaml_node_t *n, rule *r)
{
	memset(r, 0, sizeof(*r));
	r->confidence = 0.8;
	snprintf(r->severity, sizeof(r->severity), "warning");
	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, n, "a rule must be a mapping");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = node(ld, p->key);
		const char *k = scalar(kn);
		if (k)
			load_rule_key(ld, r, k, kn, node(ld, p->value));
	}
	if (!r->name[0])
		problem(ld, n, "rule without a name");
	if (!r->category[0])
		problem(ld, n, "rule \"%s\" has no category", r->name);
	if (r->match.n == 0)
		problem(ld, n, "rule \"%s\" has no match patterns", r->name);
}

static void load_rules(loader *ld, yaml_node_t *n, fb_rules *rs)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, n, "rules: expected a list");
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		if (rs->n_rules == MAX_RULES) {
			problem(ld, n, "more than %d rules", MAX_RULES);
			return;
		}
		load_rule(ld, node(ld, *it), &rs->rules[rs->n_rules++]);
	}
}

static void load_extractors(loader *ld, yaml_node_t *n, fb_rules *rs)
{
	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, n, "extractors: expected a mapping of name: [patterns]");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = node(ld, p->key);
		const char *k = scalar(kn);
		if (!k || rs->n_ex == MAX_EXTRACTORS) {
			problem(ld, kn, "bad or too many extractors");
			continue;
		}
		extractor *e = &rs->ex[rs->n_ex++];
		snprintf(e->name, sizeof(e->name), "%s", k);
		compile_set(ld, node(ld, p->value), &e->patterns);
		for (size_t i = 0; i < e->patterns.n; i++) {
			uint32_t groups = 0;
			pcre2_pattern_info(e->patterns.re[i], PCRE2_INFO_CAPTURECOUNT, &groups);
			if (groups < 1)
				problem(ld, kn,
				        "extractor \"%s\": pattern %zu has no capture group", k,
				        i + 1);
		}
	}
}

/* The names of the actions, for a message: "values_patch, git_revert, manual". */
static void action_names(char *out, size_t outsz)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < fb_action_count() && off < outsz; i++) {
		int w =
		    snprintf(out + off, outsz - off, "%s%s", i ? ", " : "", fb_action_at(i)->name);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static void load_action(loader *ld, yaml_node_t *kn, yaml_node_t *vn, fb_rules *rs)
{
	const char *k = scalar(kn), *v = scalar(vn);
	char names[256];

	if (!k || !fb_category_valid(k)) {
		problem(ld, kn, "actions: unknown category \"%s\"", k ? k : "?");
		return;
	}
	if (!v || !fb_action_find(v)) {
		action_names(names, sizeof(names));
		problem(ld, vn, "actions: %s: unknown action \"%s\" (one of %s)", k, v ? v : "?",
		        names);
		return;
	}
	for (size_t i = 0; i < rs->n_act; i++)
		if (!strcmp(rs->act[i].category, k)) {
			problem(ld, kn, "actions: %s is mapped twice", k);
			return;
		}
	if (rs->n_act == MAX_ACTIONS) {
		problem(ld, kn, "actions: more than %d entries", MAX_ACTIONS);
		return;
	}
	snprintf(rs->act[rs->n_act].category, sizeof(rs->act[0].category), "%s", k);
	snprintf(rs->act[rs->n_act].action, sizeof(rs->act[0].action), "%s", v);
	rs->n_act++;
}

static void load_actions(loader *ld, yaml_node_t *n, fb_rules *rs)
{
	rs->has_actions = 1;
	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, n, "actions: expected a mapping of category: action");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		load_action(ld, node(ld, p->key), node(ld, p->value), rs);
}

static void load_root(loader *ld, fb_rules *rs)
{
	yaml_node_t *root = yaml_document_get_root_node(ld->doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		problem(ld, root,
		        "the top level must be a mapping with rules:, extractors:, actions: and "
		        "alerts:");
		return;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = node(ld, p->key);
		const char *k = scalar(kn);
		if (k && !strcmp(k, "rules"))
			load_rules(ld, node(ld, p->value), rs);
		else if (k && !strcmp(k, "extractors"))
			load_extractors(ld, node(ld, p->value), rs);
		else if (k && !strcmp(k, "actions"))
			load_actions(ld, node(ld, p->value), rs);
		else if (k && !strcmp(k, "alerts") && !rs->alerts)
			rs->alerts = fb_alerts_load(ld->doc, node(ld, p->value), ld->file,
			                            &ld->errors, &ld->nerr);
		else if (k && !strcmp(k, "version"))
			continue;
		else
			problem(ld, kn, "unknown key \"%s\"", k ? k : "?");
	}
	if (rs->n_rules == 0)
		problem(ld, root, "no rules");
}

/* The value of a top-level key, or NULL. */
static yaml_node_t *top_level(loader *ld, const char *key)
{
	yaml_node_t *root = yaml_document_get_root_node(ld->doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node(ld, p->key));
		if (k && !strcmp(k, key))
			return node(ld, p->value);
	}
	return NULL;
}

/*
 * A rules file without an actions: mapping or an alerts: section (one
 * written before there was one) keeps those of the embedded rules, so
 * that its fixes do not silently become manual and alerts keep their
 * categories.
 */
static void embedded_defaults(fb_rules *rs)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	loader ld = {.file = "(embedded rules.yaml)", .doc = &doc};

	fb_buf_init(&ld.errors, 4096);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)fb_embedded_rules,
	                             fb_embedded_rules_len);
	if (yaml_parser_load(&parser, &doc)) {
		yaml_node_t *n = top_level(&ld, "actions");
		if (n && !rs->has_actions)
			load_actions(&ld, n, rs);
		n = top_level(&ld, "alerts");
		if (n && !rs->alerts)
			rs->alerts = fb_alerts_load(&doc, n, ld.file, &ld.errors, &ld.nerr);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fb_buf_free(&ld.errors);
}

const char *fb_rules_action_for(const fb_rules *rs, const char *category)
{
	for (size_t i = 0; rs && category && i < rs->n_act; i++)
		if (!strcmp(rs->act[i].category, category))
			return rs->act[i].action;
	return "manual";
}

fb_err fb_rules_parse(const char *text, size_t len, const char *name, fb_rules **out, char **errors)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	loader ld = {.file = name, .doc = &doc};
	fb_rules *rs = calloc(1, sizeof(*rs));

	*out = NULL;
	*errors = NULL;
	if (!rs)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&ld.errors, 64 * 1024);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		fb_buf_printf(&ld.errors, "%s:%lu:%lu: %s\n", name,
		              (unsigned long)parser.problem_mark.line + 1,
		              (unsigned long)parser.problem_mark.column + 1,
		              parser.problem ? parser.problem : "malformed YAML");
		ld.nerr++;
	} else {
		fb_config_yaml_duplicates(&doc, duplicate, &ld);
		load_root(&ld, rs);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (ld.nerr) {
		*errors = fb_buf_take(&ld.errors);
		fb_rules_free(rs);
		return fb_error_set(FB_EINVAL, "%s: %d problem%s in the rules", name, ld.nerr,
		                    ld.nerr == 1 ? "" : "s");
	}
	fb_buf_free(&ld.errors);
	if ((!rs->has_actions || !rs->alerts) && text != fb_embedded_rules)
		embedded_defaults(rs);
	*out = rs;
	return FB_OK;
}

fb_err fb_rules_load(const char *path, fb_rules **out, char **errors)
{
	fb_buf b;
	fb_err rc;

	if (!path || !*path)
		return fb_rules_parse(fb_embedded_rules, fb_embedded_rules_len,
		                      "(embedded rules.yaml)", out, errors);
	*out = NULL;
	*errors = NULL;
	fb_buf_init(&b, 4 * 1024 * 1024);
	rc = fb_buf_read_file(&b, path);
	if (rc) { /* "path: reason", as every other problem with the file */
		fb_buf_free(&b);
		fb_buf_init(&b, 4096);
		fb_buf_printf(&b, "%s\n", fb_error_last());
		*errors = fb_buf_take(&b);
		return rc;
	}
	rc = fb_rules_parse(fb_buf_str(&b), b.len, path, out, errors);
	fb_buf_free(&b);
	return rc;
}

void fb_rules_free(fb_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++) {
		free_set(&rs->rules[i].match);
		free_set(&rs->rules[i].unless);
	}
	for (size_t i = 0; i < rs->n_ex; i++)
		free_set(&rs->ex[i].patterns);
	fb_alerts_free(rs->alerts);
	free(rs);
}

size_t fb_rules_count(const fb_rules *rs)
{
	return rs->n_rules;
}

/* ---- classification ---- */

static int set_matches(const pattern_set *set, const char *s, size_t len, pcre2_match_data *md)
{
	for (size_t i = 0; i < set->n; i++)
		if (pcre2_match(set->re[i], (PCRE2_SPTR)s, len, 0, 0, md, NULL) >= 0)
			return 1;
	return 0;
}

/* Is the controller-generated suffix made of Kubernetes' "safe" alphabet
 * (no vowels, no 0/1/3), so that "nginx-proxy" is not mistaken for a pod? */
static int k8s_suffix(const char *s, size_t len)
{
	static const char safe[] = "bcdfghjklmnpqrstvwxz2456789";
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(safe, s[i]))
			return 0;
	return 1;
}

void fb_rules_pod_to_app(const char *pod, char *out, size_t outsz)
{
	size_t n = strlen(pod);
	const char *d1 = strrchr(pod, '-');

	snprintf(out, outsz, "%s", pod);
	if (!d1 || d1 == pod)
		return;
	size_t tail = n - (size_t)(d1 - pod) - 1;
	if (tail > 0 && strspn(d1 + 1, "0123456789") == tail) { /* StatefulSet ordinal */
		snprintf(out, outsz, "%.*s", (int)(d1 - pod), pod);
		return;
	}
	if (tail != 5 || !k8s_suffix(d1 + 1, 5))
		return;
	/* name-<hash>-<5>: a ReplicaSet pod; name-<5>: DaemonSet or Job pod */
	const char *d2 = d1 - 1;
	while (d2 > pod && *d2 != '-')
		d2--;
	size_t hl = (size_t)(d1 - d2) - 1;
	if (*d2 == '-' && d2 > pod && hl >= 6 && hl <= 10 && k8s_suffix(d2 + 1, hl))
		snprintf(out, outsz, "%.*s", (int)(d2 - pod), pod);
	else if (*d2 == '-' && d2 > pod && hl >= 8 && strspn(d2 + 1, "0123456789") == hl)
		snprintf(out, outsz, "%.*s", (int)(d2 - pod),
		         pod); /* CronJob: name-<epoch min>-<5> */
	else
		snprintf(out, outsz, "%.*s", (int)(d1 - pod), pod);
}

static int is_hexish(const char *s, size_t n)
{
	size_t digits = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return 0;
		digits += isdigit((unsigned char)s[i]) != 0;
	}
	return n >= 8 && digits > 0;
}

/* Token-level normalisation: words that vary between occurrences of the
 * same problem (numbers, hashes, pod suffixes, addresses) become
 * placeholders, so repeats share one signature. */
void fb_rules_signature(const char *line, size_t len, char *out, size_t outsz)
{
	fb_buf b;
	size_t i = 0;

	fb_buf_init(&b, outsz > 1 ? outsz - 1 : 1);
	while (i < len) {
		size_t j = i;
		if (isspace((unsigned char)line[i])) {
			while (j < len && isspace((unsigned char)line[j]))
				j++;
			if (b.len)
				fb_buf_addc(&b, ' ');
		} else if (isalnum((unsigned char)line[i])) {
			int digit = 0;
			while (j < len && (isalnum((unsigned char)line[j]) || line[j] == '_')) {
				digit |= isdigit((unsigned char)line[j]) != 0;
				j++;
			}
			size_t ndig = 0; /* within the word: line need not end in a NUL */
			while (i + ndig < j && isdigit((unsigned char)line[i + ndig]))
				ndig++;
			if (ndig >= j - i)
				fb_buf_addc(&b, '#');
			else if (is_hexish(line + i, j - i) ||
			         (digit && k8s_suffix(line + i, j - i)))
				fb_buf_addstr(&b, "<id>");
			else if (digit)
				fb_buf_addc(&b, '#');
			else
				fb_buf_add(&b, line + i, j - i);
		} else {
			j++;
			fb_buf_addc(&b, line[i]);
		}
		i = j;
	}
	snprintf(out, outsz, "%s", fb_buf_str(&b));
	fb_buf_free(&b);
}

typedef struct {
	const rule *r;
	const char *line;
	size_t len;
	size_t at; /* where in the line the rule matched */
} hit;

static hit best_rule(const fb_rules *rs, const char *text, size_t len, pcre2_match_data *md)
{
	hit best = {0};
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t scan = ll > MAX_LINE_SCAN ? MAX_LINE_SCAN : ll;
		if (scan && p[scan - 1] == '\r')
			scan--;
		for (size_t i = 0; i < rs->n_rules; i++) {
			const rule *r = &rs->rules[i];
			if (best.r && r->priority <= best.r->priority)
				continue;
			if (!set_matches(&r->match, p, scan, md))
				continue;
			size_t at = (size_t)pcre2_get_ovector_pointer(md)[0];
			if (!set_matches(&r->unless, p, scan, md))
				best = (hit){r, p, scan, at};
		}
		p += ll + 1;
	}
	return best;
}

static int has_app(const fb_classification *c, const char *s)
{
	for (size_t i = 0; i < c->n_apps; i++)
		if (!strcmp(c->apps[i], s))
			return 1;
	return 0;
}

/* Runs every pattern of an extractor over the whole text and calls back
 * with each capture (group 1). */
static void extract_all(const extractor *e, const char *text, size_t len, pcre2_match_data *md,
                        void (*fn)(void *, const char *), void *arg)
{
	for (size_t i = 0; i < e->patterns.n; i++) {
		PCRE2_SIZE off = 0;
		int guard = 0;
		while (off < len && guard++ < 64 &&
		       pcre2_match(e->patterns.re[i], (PCRE2_SPTR)text, len, off, 0, md, NULL) >=
		           0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			if (ov[2] != PCRE2_UNSET && ov[3] > ov[2]) {
				char v[256];
				snprintf(v, sizeof(v), "%.*s", (int)(ov[3] - ov[2]), text + ov[2]);
				fn(arg, v);
			}
			off = ov[1] > off ? ov[1] : off + 1;
		}
	}
}

typedef struct {
	fb_classification *c;
	int pod; /* reduce pod names to apps */
} collect;

static void add_unique(void *arg, const char *v)
{
	collect *k = arg;
	fb_classification *c = k->c;
	char app[256];

	if (k->pod)
		fb_rules_pod_to_app(v, app, sizeof(app));
	else
		snprintf(app, sizeof(app), "%s", v);
	if (app[0] && !has_app(c, app) && c->n_apps < FB_CLASS_APPS_MAX)
		fb_copy_utf8(c->apps[c->n_apps++], sizeof(c->apps[0]), app);
}

static const extractor *find_ex(const fb_rules *rs, const char *name)
{
	for (size_t i = 0; i < rs->n_ex; i++)
		if (!strcmp(rs->ex[i].name, name))
			return &rs->ex[i];
	return NULL;
}

static void add_apps(const fb_rules *rs, const char *text, size_t len, pcre2_match_data *md,
                     fb_classification *c)
{
	static const struct {
		const char *ex;
		int pod;
	} order[] = {{"app", 0}, {"workload", 0}, {"pod", 1}, {"container", 0}};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const extractor *e = find_ex(rs, order[i].ex);
		collect k = {c, order[i].pod};
		if (e)
			extract_all(e, text, len, md, add_unique, &k);
	}
}

typedef struct {
	fb_classification *c;
	const char *name;
} fact_arg;

/* The first value an extractor finds is the fact. */
static void first_value(void *arg, const char *v)
{
	fact_arg *f = arg;
	fb_classification *c = f->c;
	if (fb_classification_fact(c, f->name) || c->n_facts >= FB_CLASS_FACTS_MAX)
		return;
	fb_copy_utf8(c->facts[c->n_facts].key, sizeof(c->facts[0].key), f->name);
	fb_copy_utf8(c->facts[c->n_facts].value, sizeof(c->facts[0].value), v);
	c->n_facts++;
}

/* identity 0: the namespace, pod and container are known already (an
 * alert's labels said, or said they are not the object's). */
static void add_facts(const fb_rules *rs, const char *text, size_t len, pcre2_match_data *md,
                      fb_classification *c, int identity)
{
	for (size_t i = 0; i < rs->n_ex; i++) {
		const extractor *e = &rs->ex[i];
		fact_arg f = {c, e->name};
		if (!identity && (!strcmp(e->name, "namespace") || !strcmp(e->name, "pod") ||
		                  !strcmp(e->name, "container")))
			continue;
		if (strcmp(e->name, "app") && strcmp(e->name, "workload"))
			extract_all(e, text, len, md, first_value, &f);
	}
}

static void set_evidence(fb_classification *c, const hit *h)
{
	char ev[EVIDENCE_MAX + 4];
	const char *s = h->line;
	size_t n = h->len;

	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	size_t lead = (size_t)(s - h->line), at = h->at > lead ? h->at - lead : 0;
	if (n > EVIDENCE_MAX && at > EVIDENCE_MAX / 2) { /* keep the words that matched */
		size_t from = at - EVIDENCE_MAX / 2, take;
		while (from < n && ((unsigned char)s[from] & 0xC0) == 0x80)
			from++;
		take = n - from < EVIDENCE_MAX - 6 ? n - from : EVIDENCE_MAX - 6;
		while (take && from + take < n && ((unsigned char)s[from + take] & 0xC0) == 0x80)
			take--;
		snprintf(ev, sizeof(ev), "...%.*s%s", (int)take, s + from,
		         from + take < n ? "..." : "");
	} else if (n > EVIDENCE_MAX)
		snprintf(ev, sizeof(ev), "%.*s...", EVIDENCE_MAX, s);
	else
		snprintf(ev, sizeof(ev), "%.*s", (int)n, s);
	fb_rules_signature(s, n, c->signature, sizeof(c->signature));
	fb_copy_utf8(c->rule, sizeof(c->rule), h->r->name);
	c->confidence = h->r->confidence;
	fb_copy_utf8(c->evidence, sizeof(c->evidence), ev);
}

fb_err fb_rules_classify(const fb_rules *rs, const char *text, size_t len, fb_classification *out)
{
	pcre2_match_data *md = pcre2_match_data_create(16, NULL);
	const char *ns;
	hit h;

	memset(out, 0, sizeof(*out));
	if (!md)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (fb_alerts_classify(rs->alerts, text, len, out)) {
		add_facts(rs, text, len, md, out, 0); /* a limit in the description, ... */
		pcre2_match_data_free(md);
		return FB_OK;
	}
	h = best_rule(rs, text, len, md);
	out->present = 1;
	fb_copy_utf8(out->category, sizeof(out->category), h.r ? h.r->category : "none");
	fb_copy_utf8(out->severity, sizeof(out->severity), h.r ? h.r->severity : "info");
	add_apps(rs, text, len, md, out);
	add_facts(rs, text, len, md, out, 1);
	if ((ns = fb_classification_fact(out, "namespace")))
		fb_copy_utf8(out->ns, sizeof(out->ns), ns);
	if (h.r)
		set_evidence(out, &h);
	else
		out->confidence = 0.5;
	pcre2_match_data_free(md);
	return FB_OK;
}
