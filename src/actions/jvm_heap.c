/*
 * jvm_heap.c - owns the values_patch fix for a JVM that ran out of memory
 * (the rules' jvm_oom fact).  An exhausted heap ("Java heap space", "GC
 * overhead limit exceeded") raises the heap setting where the values set
 * it -- -Xmx or -XX:MaxRAMPercentage in a JAVA_OPTS-like key, an env
 * entry {name: JAVA_OPTS, value: ...}, or jvmOptions {-Xmx: 2g} -- by
 * policy.memory_factor, and the container's memory limit with it so the
 * heap stays within three quarters of it (up to policy.max_memory), as
 * one minimal diff (kind heap_raise).  No heap setting in the values, or
 * another kind of JVM out of memory (Metaspace, direct buffers, native
 * threads), is manual with the reason and ranked suggestions.  Runs on the
 * thread that owns the fb_gitops handle.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "action_int.h"
#include "firebreak/quantity.h"

#define MI (1024.0 * 1024.0)
#define HEAP_SHARE 0.75 /* of the memory limit; the rest is the JVM's own */
#define SITES_MAX 8

static const char *const opt_keys[] = {
    "JAVA_OPTS",    "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS", "JVM_OPTS",
    "JAVA_OPTIONS", "jvmOptions",        "javaOpts",         "javaOptions",   "jvmOpts",
};

/* Where the values set JVM options. */
typedef struct {
	char path[300];
	char value[256];
	int bare; /* the value is the size itself (jvmOptions: {-Xmx: 2g}) */
} site;

typedef struct {
	site s[SITES_MAX];
	size_t n;
	char plain[300]; /* a JVM options key that sets no heap ("" when none) */
	char lim_path[600], req_path[600];
	char cur_lim[64], cur_req[64];
} jvm_find;

static int is_opt_key(const char *k)
{
	for (size_t i = 0; i < sizeof(opt_keys) / sizeof(opt_keys[0]); i++)
		if (!strcmp(k, opt_keys[i]))
			return 1;
	return 0;
}

static void scan(jvm_find *f, const fb_yaml_doc *doc, const char *path)
{
	char probe[320];
	const char *v;

	snprintf(probe, sizeof(probe), "%s.-Xmx", path);
	if (fb_yaml_get_scalar(doc, path, &v) != FB_OK &&
	    fb_yaml_get_scalar(doc, probe, &v) == FB_OK && f->n < SITES_MAX) {
		f->s[f->n].bare = 1; /* jvmOptions: {"-Xmx": "2g"} */
		snprintf(f->s[f->n].path, sizeof(f->s[0].path), "%s", probe);
		snprintf(f->s[f->n++].value, sizeof(f->s[0].value), "%s", v);
	} else if (fb_yaml_get_scalar(doc, path, &v) != FB_OK) {
		return;
	} else if (fb_action_jvm_opts(v) && f->n < SITES_MAX && strlen(v) < sizeof(f->s[0].value)) {
		f->s[f->n].bare = 0;
		snprintf(f->s[f->n].path, sizeof(f->s[0].path), "%s", path);
		snprintf(f->s[f->n++].value, sizeof(f->s[0].value), "%s", v);
	} else if (!f->plain[0]) {
		snprintf(f->plain, sizeof(f->plain), "%s", path);
	}
}

/* Every JAVA_OPTS-like key, and every env entry named like one. */
static void collect(jvm_find *f, const fb_yaml_doc *doc)
{
	char **paths = NULL;
	size_t n = 0;

	for (size_t k = 0; k < sizeof(opt_keys) / sizeof(opt_keys[0]); k++) {
		if (fb_yaml_find_key(doc, opt_keys[k], &paths, &n) != FB_OK)
			continue;
		for (size_t i = 0; i < n; i++)
			scan(f, doc, paths[i]);
		fb_yaml_paths_free(paths);
	}
	if (fb_yaml_find_key(doc, "name", &paths, &n) != FB_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *v;
		char vpath[300];
		size_t len = strlen(paths[i]);
		if (fb_yaml_get_scalar(doc, paths[i], &v) != FB_OK || !is_opt_key(v) ||
		    len - 4 + 6 > sizeof(vpath))
			continue;
		snprintf(vpath, sizeof(vpath), "%.*svalue", (int)(len - 4), paths[i]);
		scan(f, doc, vpath);
	}
	fb_yaml_paths_free(paths);
}

static int names(const char *path, const char *name)
{
	size_t k = name ? strlen(name) : 0;
	for (const char *p = path; k && *p;) {
		size_t n = strcspn(p, ".[");
		if (n == k && !strncmp(p, name, k))
			return 1;
		p += n;
		p += *p != '\0';
	}
	return 0;
}

/* The one site that sets the heap; NULL (and manual) when several do. */
static const site *choose(fb_action_draft *d, const jvm_find *f)
{
	const site *pick = NULL;
	size_t hits = 0;

	if (f->n == 1)
		return &f->s[0];
	for (size_t i = 0; i < f->n; i++)
		if (names(f->s[i].path, d->in->app) ||
		    names(f->s[i].path, d->in->facts.container)) {
			pick = &f->s[i];
			hits++;
		}
	if (hits == 1)
		return pick;
	fb_action_draft_manual(
	    d, "%s sets the JVM heap in several places (%s, %s); none is clearly %s's", d->file,
	    f->s[0].path, f->s[1].path, d->in->app);
	return NULL;
}

static void scalar_at(const fb_yaml_doc *doc, const char *path, char *out, size_t outsz)
{
	const char *v;
	out[0] = '\0';
	if (fb_yaml_get_scalar(doc, path, &v) == FB_OK && *v)
		snprintf(out, outsz, "%s", v);
}

/* The JVM options and the memory limit and request of the app. */
static int find(fb_action_draft *d, jvm_find *f)
{
	fb_yaml_doc *doc = NULL;
	char block[512];

	memset(f, 0, sizeof(*f));
	if (fb_yaml_doc_parse(d->text, d->len, d->file, &doc) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return 0;
	}
	collect(f, doc);
	if (!fb_action_draft_block(d, doc, "resources", "limits", block, sizeof(block))) {
		fb_yaml_doc_free(doc);
		fb_action_draft_manual(d,
		                       "%s has several resources blocks and none is clearly %s's",
		                       d->file, d->in->app);
		return 0;
	}
	snprintf(f->lim_path, sizeof(f->lim_path), "%s%slimits.memory", block,
	         *block ? "." : "resources.");
	snprintf(f->req_path, sizeof(f->req_path), "%s%srequests.memory", block,
	         *block ? "." : "resources.");
	scalar_at(doc, f->lim_path, f->cur_lim, sizeof(f->cur_lim));
	scalar_at(doc, f->req_path, f->cur_req, sizeof(f->cur_req));
	fb_yaml_doc_free(doc);
	fb_error_clear();
	return 1;
}

static void suggest(fb_action_draft *d, const char *const *s, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s[i]));
	cJSON_DeleteItemFromObjectCaseSensitive(d->out, "suggestions");
	cJSON_AddItemToObject(d->out, "suggestions", arr);
}

/* Not the heap: a bigger heap or limit does not help; say what does. */
static int other_kind(fb_action_draft *d, const char *kind)
{
	static const char *const meta[] = {
	    "Look for a class loader leak (redeploys, generated proxies, scripting engines): "
	    "jcmd PID VM.classloader_stats.",
	    "If the app really loads that many classes, raise -XX:MaxMetaspaceSize in its JVM "
	    "options."};
	static const char *const direct[] = {
	    "Look for direct buffers that are never released (Netty: "
	    "-Dio.netty.leakDetection.level=advanced).",
	    "If the load needs them, raise -XX:MaxDirectMemorySize and the memory limit with it."};
	static const char *const thread[] = {
	    "Count the threads (jcmd PID Thread.print) and look for a pool that keeps growing.",
	    "Check the pod's pids limit and the node's ulimit -u."};

	if (strstr(kind, "Metaspace") || strstr(kind, "class space")) {
		suggest(d, meta, 2);
		fb_action_draft_manual(d,
		                       "the JVM ran out of %s (class metadata), not heap: a bigger "
		                       "heap or memory limit does not help",
		                       kind);
	} else if (strstr(kind, "Direct buffer")) {
		suggest(d, direct, 2);
		fb_action_draft_manual(d,
		                       "the JVM ran out of direct (off-heap) buffer memory, which "
		                       "-XX:MaxDirectMemorySize bounds, not the heap");
	} else if (strstr(kind, "native thread")) {
		suggest(d, thread, 2);
		fb_action_draft_manual(d,
		                       "the JVM could not start another thread: a thread leak or a "
		                       "pids limit, not the heap or the memory limit");
	} else if (strstr(kind, "array size")) {
		fb_action_draft_manual(d, "the code asked for an array larger than the JVM allows: "
		                          "a bug to fix in the code, not a memory size");
	} else {
		return 0;
	}
	return 1;
}

static void no_heap_setting(fb_action_draft *d, const jvm_find *f, const char *kind)
{
	static const char *const s[] = {
	    "Set the heap in the values: -XX:MaxRAMPercentage=75 in JAVA_TOOL_OPTIONS (it follows "
	    "the memory limit), or -Xmx at about 75% of the limit.",
	    "Look for a leak with a heap dump: -XX:+HeapDumpOnOutOfMemoryError "
	    "-XX:HeapDumpPath=/tmp, then open it in Eclipse MAT.",
	    "Compare the heap after each GC over a day (jvm_memory_used_bytes{area=\"heap\"}) to "
	    "tell a leak from growth."};

	suggest(d, s, 3);
	if (f->plain[0])
		fb_action_draft_manual(d,
		                       "the JVM ran out of heap (%s) and %s in %s sets no -Xmx or "
		                       "-XX:MaxRAMPercentage: a bigger memory limit alone does not "
		                       "grow the heap",
		                       kind, f->plain, d->file);
	else
		fb_action_draft_manual(d,
		                       "the JVM ran out of heap (%s) and %s sets no -Xmx or "
		                       "-XX:MaxRAMPercentage in a JAVA_OPTS-like key: a bigger "
		                       "memory limit alone does not grow the heap",
		                       kind, d->file);
}

typedef struct {
	double lim;        /* the limit the heap must fit (bytes); 0 when unknown */
	char lim_text[64]; /* as written */
	double max;        /* policy.max_memory */
	char lim_new[64];  /* the proposed limit ("" when unchanged) */
	int capped;
} budget;

static double up_mi(double b)
{
	return ceil(b / MI - 1e-9) * MI;
}

/* A limit a reviewer reads at a glance: up to a multiple of 128Mi. */
static double up_limit(double b)
{
	return ceil(b / (128 * MI) - 1e-9) * 128 * MI;
}

/* Proposes the limit that holds need (bytes), capped; request kept at or
 * below it. */
static int fit_limit(fb_action_draft *d, const jvm_find *f, budget *b, double need)
{
	fb_quantity style, q;
	const char *final;

	need = up_limit(need);
	if (need > b->max) {
		need = b->max;
		b->capped = 1;
	}
	if (b->lim <= 0 || need <= b->lim)
		return 1;
	if (fb_quantity_parse(b->lim_text, &style) != FB_OK)
		fb_quantity_parse("1Mi", &style);
	if (fb_quantity_format(need, &style, b->lim_new, sizeof(b->lim_new)) != FB_OK ||
	    !fb_action_draft_edit(d, f->lim_path, f->cur_lim[0] ? f->cur_lim : NULL, b->lim_new))
		return 0;
	final = fb_action_draft_value(d, f->lim_path, b->lim_new);
	if (final != b->lim_new) /* the person's */
		snprintf(b->lim_new, sizeof(b->lim_new), "%s", final);
	if (f->cur_req[0] && fb_quantity_parse(f->cur_req, &q) == FB_OK &&
	    fb_quantity_parse(final, &style) == FB_OK && q.value > style.value)
		return fb_action_draft_edit(d, f->req_path, f->cur_req, final);
	return 1;
}

static void summary(fb_action_draft *d, const budget *b, const char *heap_part)
{
	char s[600];
	snprintf(s, sizeof(s), "Raise the Java heap of %s %s%s%s%s%s%s", d->in->app, heap_part,
	         b->lim_new[0] ? " and the memory limit from " : "",
	         b->lim_new[0] ? b->lim_text : "", b->lim_new[0] ? " to " : "", b->lim_new,
	         b->capped ? " (capped by policy.max_memory)" : "");
	cJSON_AddStringToObject(d->out, "summary", s);
	cJSON_AddBoolToObject(d->out, "capped", b->capped);
	cJSON_AddStringToObject(d->out, "kind", "heap_raise");
}

/* -Xmx (or jvmOptions' bare size): the heap by the factor, the limit so
 * that it stays within HEAP_SHARE. */
static void raise_xmx(fb_action_draft *d, const jvm_find *f, const site *s, budget *b)
{
	double heap, now, want;
	char unit, eff_unit, next[32], opts[256], was[32], part[200];
	int ok = s->bare ? fb_action_jvm_size(s->value, strlen(s->value), &heap, &unit)
	                 : fb_action_jvm_heap(s->value, &heap, &unit) > 0;

	if (!ok) {
		fb_action_draft_manual(d, "cannot read the heap size in %s (%s)", s->path,
		                       s->value);
		return;
	}
	want = up_mi(heap * d->in->cfg->policy.memory_factor);
	if (up_mi(want / HEAP_SHARE) > b->max) {
		want = floor(b->max * HEAP_SHARE / MI) * MI;
		b->capped = 1;
	}
	if (want <= heap) {
		fb_action_draft_manual(d,
		                       "the heap (%.0fMi) cannot grow and stay within three "
		                       "quarters of policy.max_memory (%s)",
		                       heap / MI, d->in->cfg->policy.max_memory);
		return;
	}
	fb_action_jvm_format(want, unit, next, sizeof(next));
	if (!s->bare && !fb_action_jvm_splice(s->value, "-Xmx", next, opts, sizeof(opts))) {
		fb_action_draft_manual(d, "the JVM options in %s are too long to edit", s->path);
		return;
	}
	if (!fb_action_draft_edit(d, s->path, s->value, s->bare ? next : opts))
		return;
	const char *eff = fb_action_draft_value(d, s->path, s->bare ? next : opts);
	if (!(s->bare ? fb_action_jvm_size(eff, strlen(eff), &now, &eff_unit)
	              : fb_action_jvm_heap(eff, &now, &eff_unit) > 0)) {
		now = want; /* the check before it is shown says why */
		eff_unit = unit;
	}
	if (!fit_limit(d, f, b, now / HEAP_SHARE))
		return;
	fb_action_jvm_format(heap, unit, was, sizeof(was));
	fb_action_jvm_format(now, eff_unit, next, sizeof(next));
	snprintf(part, sizeof(part), "from -Xmx%s to -Xmx%s", was, next);
	summary(d, b, part);
}

/* -XX:MaxRAMPercentage: the heap is a share of the limit; the share up to
 * 75 and the limit so that the heap grows by the factor. */
static void raise_pct(fb_action_draft *d, const jvm_find *f, const site *s, budget *b)
{
	double pct = 0, share, heap, target, need;
	char text[16], opts[256], part[200];

	if (fb_action_jvm_ram_pct(s->value, &pct) <= 0) {
		fb_action_draft_manual(d, "cannot read -XX:MaxRAMPercentage in %s", s->path);
		return;
	}
	if (b->lim <= 0) {
		fb_action_draft_manual(d,
		                       "-XX:MaxRAMPercentage sizes the heap from the memory limit, "
		                       "and neither %s nor the log shows one",
		                       d->file);
		return;
	}
	share = pct < HEAP_SHARE * 100 ? HEAP_SHARE * 100 : pct;
	heap = b->lim * pct / 100;
	target = heap * d->in->cfg->policy.memory_factor;
	need = up_mi(target * 100 / share);
	double lim = need > b->lim ? need : b->lim;
	if (lim > b->max)
		lim = b->max;
	if (lim * share / 100 <= heap * 1.001) {
		fb_action_draft_manual(
		    d,
		    "the heap (%.0f%% of %s) cannot grow within policy.max_memory "
		    "(%s)",
		    pct, b->lim_text, d->in->cfg->policy.max_memory);
		return;
	}
	if (share != pct) {
		snprintf(text, sizeof(text),
		         strstr(s->value, "Percentage=") &&
		                 strchr(strstr(s->value, "Percentage="), '.')
		             ? "%.1f"
		             : "%.0f",
		         share);
		if (!fb_action_jvm_splice(s->value, "-XX:MaxRAMPercentage=", text, opts,
		                          sizeof(opts)) ||
		    !fb_action_draft_edit(d, s->path, s->value, opts))
			return;
	}
	if (!fit_limit(d, f, b, need))
		return;
	snprintf(part, sizeof(part), "from %.0f%% to %.0f%% of the memory limit (MaxRAMPercentage)",
	         pct, share);
	summary(d, b, share != pct ? part : "by raising its memory limit (MaxRAMPercentage)");
}

static int heap_kind(const char *kind)
{
	return strstr(kind, "heap space") || strstr(kind, "GC overhead");
}

void fb_action_jvm_propose(fb_action_draft *d)
{
	const char *kind = d->in->facts.jvm_oom;
	fb_quantity q;
	jvm_find f;
	budget b = {0};

	if (other_kind(d, kind) || !fb_action_draft_load(d) || !find(d, &f))
		return;
	if (!heap_kind(kind)) {
		fb_action_draft_manual(d, "the JVM reported %s; no automatic fix for it", kind);
		return;
	}
	if (f.n == 0) {
		no_heap_setting(d, &f, kind);
		return;
	}
	const site *s = choose(d, &f);
	if (!s)
		return;
	if (f.cur_lim[0])
		snprintf(b.lim_text, sizeof(b.lim_text), "%s", f.cur_lim);
	else if (d->in->facts.limit)
		fb_action_normalise_qty(d->in->facts.limit, b.lim_text, sizeof(b.lim_text));
	b.lim = fb_quantity_parse(b.lim_text, &q) == FB_OK ? q.value : 0;
	b.max = fb_quantity_parse(d->in->cfg->policy.max_memory, &q) == FB_OK ? q.value : 1e300;
	fb_action_note_limit(d, f.cur_lim);
	if (s->bare || fb_action_jvm_heap(s->value, &(double){0}, &(char){0}))
		raise_xmx(d, &f, s, &b);
	else
		raise_pct(d, &f, s, &b);
}
