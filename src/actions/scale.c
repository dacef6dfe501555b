/*
 * scale.c - owns the values_patch kinds that size things other than
 * memory: volume_grow (a full or filling volume: the app's volume size
 * key grown by policy.disk_factor up to policy.max_disk), replicas_raise
 * (an autoscaler at its maximum: maxReplicas raised by
 * policy.replicas_factor up to policy.max_replicas) and cpu_raise (a
 * CPU-throttled container whose values set its CPU limit: the limit raised
 * by policy.cpu_factor up to policy.max_cpu).  The key is the
 * chart's own: persistence.size, <component>.persistence.size,
 * primary.persistence.size, persistentVolume.size, a volumeClaimTemplate's
 * spec.resources.requests.storage, autoscaling.maxReplicas; when several
 * fit, the one whose path names the claim, the autoscaler or the app wins,
 * and a tie is manual.  Runs where values_patch runs (the thread that owns
 * the fb_gitops handle).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"
#include "firebreak/quantity.h"

#define CANDIDATES_MAX 16

typedef struct {
	char path[600];
	char cur[64];
	int score;
} candidate;

typedef struct {
	candidate c[CANDIDATES_MAX];
	size_t n;
} candidates;

/* The last n components of path, as pointers to their starts; returns how
 * many there are. */
static size_t components(const char *path, const char *out[], size_t max)
{
	size_t n = 0;
	const char *p = path;
	while (*p && n < max) {
		out[n++] = p;
		p += strcspn(p, ".");
		if (*p)
			p++;
	}
	return n;
}

static int comp_eq(const char *comp, const char *word)
{
	size_t n = strcspn(comp, ".");
	return strlen(word) == n && !strncmp(comp, word, n);
}

/* Is the component (up to its '.') one of name's dash-separated words,
 * ignoring case ("primary" in "data-pg-primary-0")?  2 when it is the
 * first word (a claim template's own name), 1 elsewhere, 0 not at all. */
static int names_word(const char *comp, const char *name)
{
	size_t n = strcspn(comp, ".");
	const char *p = name;

	while (name && *p) {
		size_t w = strcspn(p, "-");
		if (w == n && !strncasecmp(p, comp, n))
			return p == name ? 2 : 1;
		p += w;
		if (*p)
			p++;
	}
	return 0;
}

/* The score of a key's path: it names the object (claim, autoscaler) 4,
 * or 5 with the object's first word, the app or container 3, it is at the
 * top 2, otherwise 1. */
static int score(const fb_action_draft *d, const char *path, const char *object, size_t depth)
{
	const char *comp[32];
	size_t n = components(path, comp, 32);
	const char *app = d->in->app, *container = d->in->facts.container;
	int best = n <= depth ? 2 : 1;

	for (size_t i = 0; i + depth < n; i++) {
		int w = object ? names_word(comp[i], object) : 0;
		if (w)
			return 3 + w;
		if ((app && *app && comp_eq(comp[i], app)) ||
		    (container && comp_eq(comp[i], container)))
			best = 3;
	}
	return best;
}

static void add(candidates *cs, const fb_yaml_doc *doc, const char *path, int sc)
{
	const char *v;
	if (cs->n == CANDIDATES_MAX || fb_yaml_get_scalar(doc, path, &v) != FB_OK || !*v)
		return;
	snprintf(cs->c[cs->n].path, sizeof(cs->c[0].path), "%s", path);
	snprintf(cs->c[cs->n].cur, sizeof(cs->c[0].cur), "%s", v);
	cs->c[cs->n++].score = sc;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail) && (n == t || s[n - t - 1] == '.');
}

/* Every key called key whose path passes fit, scored. */
static void collect(const fb_action_draft *d, const fb_yaml_doc *doc, const char *key,
                    int (*fit)(const char *), const char *object, size_t depth, candidates *cs)
{
	char **paths = NULL;
	size_t n = 0;

	if (fb_yaml_find_key(doc, key, &paths, &n) != FB_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (fit(paths[i]))
			add(cs, doc, paths[i], score(d, paths[i], object, depth));
	fb_yaml_paths_free(paths);
}

/* persistence.size, primary.persistence.size, server.persistentVolume.size */
static int fits_size(const char *path)
{
	return ends_with(path, "persistence.size") || ends_with(path, "persistentVolume.size") ||
	       ends_with(path, "Persistence.size");
}

/* ...volumeClaimTemplate.spec.resources.requests.storage (a mapping; a
 * template in a list cannot be named by a path) */
static int fits_storage(const char *path)
{
	return ends_with(path, "volumeClaimTemplate.spec.resources.requests.storage");
}

static int fits_replicas(const char *path)
{
	(void)path;
	return 1;
}

/* The best candidate, or NULL (and manual) when there is none or a tie;
 * the reason's catalog keys are <keys>_none and <keys>_ambiguous. */
static const candidate *choose(fb_action_draft *d, const candidates *cs, const char *what,
                               const char *object, const char *keys)
{
	char key[64], n[16];
	const char *whose = object && *object ? object : d->in->app;
	const candidate *best = NULL;
	int ties = 0;

	for (size_t i = 0; i < cs->n; i++) {
		if (!best || cs->c[i].score > best->score) {
			best = &cs->c[i];
			ties = 0;
		} else if (cs->c[i].score == best->score) {
			ties++;
		}
	}
	if (!best) {
		fb_action_draft_manual(d, "%s has no %s", d->file, what);
		snprintf(key, sizeof(key), "%s_none", keys);
		fb_action_draft_say(d, "reason", key, "file", d->file, FB_SAY_END);
	} else if (ties) {
		fb_action_draft_manual(
		    d, "%s has a %s in %d places (%s, ...) and none is clearly %s's", d->file, what,
		    ties + 1, best->path, whose);
		snprintf(key, sizeof(key), "%s_ambiguous", keys);
		snprintf(n, sizeof(n), "%d", ties + 1);
		fb_action_draft_say(d, "reason", key, "file", d->file, "n", n, "path", best->path,
		                    "object", whose, FB_SAY_END);
	}
	return ties ? NULL : best;
}

static fb_yaml_doc *parse(fb_action_draft *d)
{
	fb_yaml_doc *doc = NULL;
	if (!fb_action_draft_load(d))
		return NULL;
	if (fb_yaml_doc_parse(d->text, d->len, d->file, &doc) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return NULL;
	}
	return doc;
}

/* Is the claim a StatefulSet's (<template>-<name>-<ordinal>)? */
static int statefulset_claim(const char *claim)
{
	const char *d = claim ? strrchr(claim, '-') : NULL;
	return d && d[1] && strspn(d + 1, "0123456789") == strlen(d + 1);
}

/* Does name have a values file in the repository? */
static int has_values(const fb_action_draft *d, const char *name)
{
	char file[512], how[600];
	int ok = fb_gitops_find_values(d->in->gitops, name, file, sizeof(file), how, sizeof(how)) ==
	         FB_OK;
	fb_error_clear();
	return ok;
}

/*
 * The release a StatefulSet's claim belongs to when the app the alert
 * named has no values file: a chart's StatefulSet is often
 * <release>-<component> (data-loki-write-0, data-postgresql-primary-0,
 * redis-data-redis-master-0), so the claim's runs of words are tried,
 * longest first, for one that has a values file.  1 and out when found.
 */
static int claim_release(const fb_action_draft *d, const char *claim, char *out, size_t outsz)
{
	const char *w[16] = {NULL};
	size_t wl[16] = {0}, n = 0;

	for (const char *p = claim; *p && n < 16;) {
		w[n] = p;
		wl[n] = strcspn(p, "-");
		p += wl[n] + (p[wl[n]] == '-');
		n++;
	}
	if (n > 1 && strspn(w[n - 1], "0123456789") == wl[n - 1])
		n--; /* the ordinal */
	for (size_t len = n; len >= 1; len--)
		for (size_t start = 0; start + len <= n; start++) {
			int k = snprintf(out, outsz, "%.*s",
			                 (int)(w[start + len - 1] + wl[start + len - 1] - w[start]),
			                 w[start]);
			if (k > 0 && (size_t)k < outsz && strcmp(out, d->in->app) != 0 &&
			    has_values(d, out))
				return 1;
		}
	return 0;
}

static void volume(fb_action_draft *d);

void fb_action_volume_propose(fb_action_draft *d)
{
	const fb_action_input *in = d->in;
	fb_action_input named;
	char release[256];

	if (in->gitops && in->facts.claim && *in->app && !has_values(d, in->app) &&
	    claim_release(d, in->facts.claim, release, sizeof(release))) {
		named = *in;
		named.app = release;
		d->in = &named;
	}
	volume(d);
	d->in = in; /* named lives on this stack only */
}

static void volume(fb_action_draft *d)
{
	const fb_config *cfg = d->in->cfg;
	const char *claim = d->in->facts.claim;
	fb_yaml_doc *doc = parse(d);
	candidates cs = {.n = 0};
	char next[64], summary[700], name[300] = "";
	int capped = 0;

	if (!doc)
		return;
	collect(d, doc, "size", fits_size, claim, 2, &cs);
	collect(d, doc, "storage", fits_storage, claim, 5, &cs);
	fb_yaml_doc_free(doc);
	fb_error_clear();
	const candidate *c = choose(d, &cs, "volume size key (persistence.size or the chart's own)",
	                            claim, "manual_volume");
	if (!c)
		return;
	fb_err rc = fb_quantity_raise(c->cur, cfg->policy.disk_factor, cfg->policy.max_disk, next,
	                              sizeof(next), &capped);
	if (rc == FB_ECONFLICT) {
		fb_action_draft_manual(d, "the volume (%s) is already at policy.max_disk", c->cur);
		fb_action_draft_say(d, "reason", "manual_max_disk", "size", c->cur, FB_SAY_END);
		return;
	} else if (rc) {
		fb_action_draft_manual(d, "cannot grow the volume %s: %s", c->cur, fb_error_last());
		return;
	}
	if (!fb_action_draft_edit(d, c->path, c->cur, next))
		return;
	if (claim)
		snprintf(name, sizeof(name), " %s", claim);
	snprintf(summary, sizeof(summary), "Grow the volume%s of %s from %s to %s%s%s", name,
	         d->in->app, c->cur, fb_action_draft_value(d, c->path, next),
	         capped ? " (capped by policy.max_disk)" : "",
	         statefulset_claim(claim)
	             ? ". A StatefulSet's claim template cannot change in place: expand the claim "
	               "too (kubectl patch pvc) and recreate the StatefulSet with "
	               "--cascade=orphan"
	             : "");
	cJSON_AddStringToObject(d->out, "summary", summary);
	if (claim)
		fb_action_draft_say(d, "summary", "fix_volume_grow_claim", "app", d->in->app,
		                    "claim", claim, "from", c->cur, "to",
		                    fb_action_draft_value(d, c->path, next), "capped",
		                    capped ? "1" : NULL, "statefulset",
		                    statefulset_claim(claim) ? "1" : NULL, FB_SAY_END);
	else
		fb_action_draft_say(d, "summary", "fix_volume_grow", "app", d->in->app, "from",
		                    c->cur, "to", fb_action_draft_value(d, c->path, next),
		                    FB_SAY_END);
	cJSON_AddBoolToObject(d->out, "capped", capped);
	cJSON_AddStringToObject(d->out, "kind", "volume_grow");
}

/* ceil(cur * factor), at least cur + 1, capped by max. */
static long raise_replicas(long cur, double factor, long max, int *capped)
{
	double up = ceil((double)cur * factor);
	long next = up > (double)max ? max : (long)up;
	if (next <= cur)
		next = cur + 1;
	*capped = up > (double)max;
	return next > max ? max : next;
}

void fb_action_replicas_propose(fb_action_draft *d)
{
	const fb_config *cfg = d->in->cfg;
	fb_yaml_doc *doc = parse(d);
	candidates cs = {.n = 0};
	char next[32], summary[600], *end;
	int capped = 0;

	if (!doc)
		return;
	collect(d, doc, "maxReplicas", fits_replicas, d->in->facts.autoscaler, 2, &cs);
	fb_yaml_doc_free(doc);
	fb_error_clear();
	const candidate *c = choose(d, &cs, "maxReplicas (autoscaling.maxReplicas)",
	                            d->in->facts.autoscaler, "manual_replicas");
	if (!c)
		return;
	long cur = strtol(c->cur, &end, 10);
	if (*end || end == c->cur || cur < 1) {
		fb_action_draft_manual(d, "%s: maxReplicas \"%s\" is not a whole number", d->file,
		                       c->cur);
		fb_action_draft_say(d, "reason", "manual_replicas_nan", "file", d->file, "value",
		                    c->cur, FB_SAY_END);
		return;
	}
	if (cur >= cfg->policy.max_replicas) {
		fb_action_draft_manual(d, "maxReplicas (%ld) is already at policy.max_replicas",
		                       cur);
		fb_action_draft_say(d, "reason", "manual_max_replicas", "value", c->cur,
		                    FB_SAY_END);
		return;
	}
	snprintf(
	    next, sizeof(next), "%ld",
	    raise_replicas(cur, cfg->policy.replicas_factor, cfg->policy.max_replicas, &capped));
	if (!fb_action_draft_edit(d, c->path, c->cur, next))
		return;
	snprintf(summary, sizeof(summary), "Raise maxReplicas of %s from %s to %s%s", d->in->app,
	         c->cur, fb_action_draft_value(d, c->path, next),
	         capped ? " (capped by policy.max_replicas)" : "");
	cJSON_AddStringToObject(d->out, "summary", summary);
	fb_action_draft_say(d, "summary", "fix_replicas_raise", "app", d->in->app, "from", c->cur,
	                    "to", fb_action_draft_value(d, c->path, next), "capped",
	                    capped ? "1" : NULL, FB_SAY_END);
	cJSON_AddBoolToObject(d->out, "capped", capped);
	cJSON_AddStringToObject(d->out, "kind", "replicas_raise");
}

/* The CPU limit of the app's resources block, raised.  Only when it is
 * clear: one resources block is the app's and it sets limits.cpu (CFS
 * throttling needs a limit; one set elsewhere is not ours to change). */
void fb_action_cpu_propose(fb_action_draft *d)
{
	const fb_config *cfg = d->in->cfg;
	fb_yaml_doc *doc = parse(d);
	char block[512], path[600], old[64], next[64], summary[600];
	const char *cur = NULL;
	int capped = 0;

	if (!doc)
		return;
	if (!fb_action_draft_block(d, doc, "resources", "limits", block, sizeof(block))) {
		fb_yaml_doc_free(doc);
		fb_action_draft_manual(d,
		                       "%s has several resources blocks and none is clearly %s's",
		                       d->file, d->in->app);
		fb_action_draft_say(d, "reason", "manual_resources_ambiguous", "file", d->file,
		                    "app", d->in->app, FB_SAY_END);
		return;
	}
	snprintf(path, sizeof(path), "%s%slimits.cpu", block, *block ? "." : "resources.");
	if (fb_yaml_get_scalar(doc, path, &cur) != FB_OK || !*cur) {
		fb_yaml_doc_free(doc);
		fb_error_clear();
		fb_action_draft_manual(
		    d, "%s sets no CPU limit (%s) for the throttling to come from", d->file, path);
		fb_action_draft_say(d, "reason", "manual_no_cpu_limit", "file", d->file, "path",
		                    path, FB_SAY_END);
		return;
	}
	snprintf(old, sizeof(old), "%s", cur);
	fb_yaml_doc_free(doc);
	fb_err rc = fb_quantity_raise(old, cfg->policy.cpu_factor, cfg->policy.max_cpu, next,
	                              sizeof(next), &capped);
	if (rc == FB_ECONFLICT) {
		fb_action_draft_manual(d, "the CPU limit %s is already at policy.max_cpu (%s)", old,
		                       cfg->policy.max_cpu);
		fb_action_draft_say(d, "reason", "manual_max_cpu", "limit", old, "max",
		                    cfg->policy.max_cpu, FB_SAY_END);
		return;
	} else if (rc) {
		fb_action_draft_manual(d, "cannot raise the CPU limit %s: %s", old,
		                       fb_error_last());
		return;
	}
	if (!fb_action_draft_edit(d, path, old, next))
		return;
	snprintf(summary, sizeof(summary), "Raise the CPU limit of %s from %s to %s%s", d->in->app,
	         old, fb_action_draft_value(d, path, next),
	         capped ? " (capped by policy.max_cpu)" : "");
	cJSON_AddStringToObject(d->out, "summary", summary);
	fb_action_draft_say(d, "summary", "fix_cpu_raise", "app", d->in->app, "from", old, "to",
	                    fb_action_draft_value(d, path, next), "capped", capped ? "1" : NULL,
	                    FB_SAY_END);
	cJSON_AddBoolToObject(d->out, "capped", capped);
	cJSON_AddStringToObject(d->out, "kind", "cpu_raise");
}

/* A CPU limit: a quantity within policy.max_cpu. */
static fb_err check_cpu(const fb_config *cfg, const char *path, const char *value)
{
	fb_quantity q, max;
	if (fb_quantity_parse(value, &q) != FB_OK || q.value <= 0)
		return fb_error_set(FB_EINVAL, "%s: \"%s\" is not a CPU quantity like 500m or 2",
		                    path, value);
	if (fb_quantity_parse(cfg->policy.max_cpu, &max) == FB_OK && q.value > max.value)
		return fb_error_set(FB_EINVAL, "%s: %s is above policy.max_cpu (%s)", path, value,
		                    cfg->policy.max_cpu);
	return FB_OK;
}

/* A person's value for a maxReplicas path (a whole number from 1 to
 * policy.max_replicas) or a CPU limit (within policy.max_cpu).  1 when
 * path is one of them (and *rc says), 0 otherwise. */
int fb_action_scale_validate(const fb_config *cfg, const char *path, const char *value, fb_err *rc)
{
	char *end;
	long v;

	if (fb_action_path_ends(path, "cpu") && strstr(path, "limits.cpu")) {
		*rc = check_cpu(cfg, path, value);
		return 1;
	}
	if (!fb_action_path_ends(path, "maxReplicas"))
		return 0;
	v = strtol(value, &end, 10);
	if (*end || end == value || !isdigit((unsigned char)value[0]) || v < 1)
		*rc = fb_error_set(FB_EINVAL, "%s: \"%s\" is not a whole number of replicas", path,
		                   value);
	else if (v > cfg->policy.max_replicas)
		*rc = fb_error_set(FB_EINVAL, "%s: %ld is above policy.max_replicas (%ld)", path, v,
		                   cfg->policy.max_replicas);
	else
		*rc = FB_OK;
	return 1;
}
