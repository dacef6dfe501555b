/*
 * values_patch.c - owns the values_patch action: a minimal edit of the
 * app's Helm values.  For an OOM it raises the memory limit (and the
 * request) by policy.memory_factor up to policy.max_memory; for a full
 * disk or a filling volume it grows the chart's size key, for an
 * autoscaler at its maximum its maxReplicas, for CPU throttling the CPU
 * limit (scale.c); a JVM out of memory is jvm_heap.c's; for any other
 * category it answers manual.  Applies by one commit through
 * fb_gitops_apply.  Runs on the thread that owns the fb_gitops handle (a
 * worker in the daemon, the main thread in the CLI).
 */
#include <stdio.h>
#include <string.h>

#include "action_int.h"
#include "firebreak/quantity.h"

static void join(char *out, size_t outsz, const char *base, const char *rest)
{
	snprintf(out, outsz, "%s%s%s", base, *base ? "." : "", rest);
}

static double qty_value(const char *s)
{
	fb_quantity q;
	return s && fb_quantity_parse(s, &q) == FB_OK ? q.value : -1;
}

/* The kernel reports cgroup limits in kB; Kubernetes wants Ki. */
static void normalise_qty(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in);
	if (n > 2 && !strcmp(in + n - 2, "kB"))
		snprintf(out, outsz, "%.*sKi", (int)(n - 2), in);
	else
		snprintf(out, outsz, "%s", in);
}

/* The scalar at path, or "" into out. */
static void scalar_at(const fb_yaml_doc *doc, const char *path, char *out, size_t outsz)
{
	const char *v;
	out[0] = '\0';
	if (fb_yaml_get_scalar(doc, path, &v) == FB_OK && *v)
		snprintf(out, outsz, "%s", v);
}

typedef struct {
	char lim_path[600], req_path[600];
	char cur_lim[64], cur_req[64];
} memory_paths;

/* Where the app's memory limit and request are, and what they say. */
static int find_memory(fb_action_draft *d, memory_paths *m)
{
	fb_yaml_doc *doc = NULL;
	char block[512];

	if (fb_yaml_doc_parse(d->text, d->len, d->file, &doc) != FB_OK) {
		fb_action_draft_manual(d, "%s", fb_error_last());
		return 0;
	}
	if (!fb_action_draft_block(d, doc, "resources", "limits", block, sizeof(block))) {
		fb_yaml_doc_free(doc);
		fb_action_draft_manual(d,
		                       "%s has several resources blocks and none is clearly %s's",
		                       d->file, d->in->app);
		return 0;
	}
	if (!block[0])
		snprintf(block, sizeof(block), "resources");
	join(m->lim_path, sizeof(m->lim_path), block, "limits.memory");
	join(m->req_path, sizeof(m->req_path), block, "requests.memory");
	scalar_at(doc, m->lim_path, m->cur_lim, sizeof(m->cur_lim));
	scalar_at(doc, m->req_path, m->cur_req, sizeof(m->cur_req));
	fb_yaml_doc_free(doc);
	fb_error_clear();
	return 1;
}

static void propose_oom(fb_action_draft *d)
{
	const fb_config *cfg = d->in->cfg;
	memory_paths m;
	char base[64] = "", new_lim[64], new_req[64], summary[400];
	const char *final_lim;
	int capped = 0, capped_req = 0;
	double factor = cfg->policy.memory_factor;
	const char *max = cfg->policy.max_memory;

	if (!fb_action_draft_load(d) || !find_memory(d, &m))
		return;
	if (m.cur_lim[0])
		snprintf(base, sizeof(base), "%s", m.cur_lim);
	else if (d->in->facts.limit)
		normalise_qty(d->in->facts.limit, base, sizeof(base));
	else if (m.cur_req[0])
		snprintf(base, sizeof(base), "%s", m.cur_req);
	if (!base[0]) {
		fb_action_draft_manual(d, "neither %s nor the log shows a memory limit to raise",
		                       d->file);
		fb_action_draft_say(d, "reason", "manual_no_limit", "file", d->file, FB_SAY_END);
		return;
	}
	fb_action_note_limit(d, m.cur_lim);
	fb_err rc = fb_quantity_raise(base, factor, max, new_lim, sizeof(new_lim), &capped);
	if (rc == FB_ECONFLICT) {
		fb_action_draft_manual(
		    d, "the memory limit %s is already at policy.max_memory (%s)", base, max);
		fb_action_draft_say(d, "reason", "manual_max_memory", "limit", base, "max", max,
		                    FB_SAY_END);
		return;
	} else if (rc) {
		fb_action_draft_manual(d, "cannot raise %s: %s", base, fb_error_last());
		return;
	}
	if (!fb_action_draft_edit(d, m.lim_path, m.cur_lim[0] ? m.cur_lim : NULL, new_lim))
		return;
	final_lim = fb_action_draft_value(d, m.lim_path, new_lim);
	if (m.cur_req[0] && fb_quantity_raise(m.cur_req, factor, max, new_req, sizeof(new_req),
	                                      &capped_req) == FB_OK) {
		if (qty_value(new_req) > qty_value(final_lim))
			snprintf(new_req, sizeof(new_req), "%s", final_lim);
		if (!fb_action_draft_edit(d, m.req_path, m.cur_req, new_req))
			return;
	}
	snprintf(summary, sizeof(summary), "Raise the memory limit of %s from %s to %s%s",
	         d->in->app, m.cur_lim[0] ? m.cur_lim : base, final_lim,
	         capped ? " (capped by policy.max_memory)" : "");
	cJSON_AddStringToObject(d->out, "summary", summary);
	fb_action_draft_say(d, "summary", "fix_memory_raise", "app", d->in->app, "from",
	                    m.cur_lim[0] ? m.cur_lim : base, "to", final_lim, "capped",
	                    capped ? "1" : NULL, FB_SAY_END);
	cJSON_AddBoolToObject(d->out, "capped", capped);
	cJSON_AddStringToObject(d->out, "kind", "memory_raise");
}

static fb_err propose(const fb_action_input *in, cJSON **out)
{
	fb_action_draft d;
	fb_err rc = fb_action_draft_init(&d, in, "values_patch");

	if (rc)
		return rc;
	if (!strcmp(in->category, "oom") && in->facts.jvm_oom)
		fb_action_jvm_propose(&d); /* the heap, not only the limit */
	else if (!strcmp(in->category, "oom"))
		propose_oom(&d);
	else if ((!strcmp(in->category, "resource_exhausted") && in->disk) ||
	         !strcmp(in->category, "volume_filling"))
		fb_action_volume_propose(&d); /* scale.c */
	else if (!strcmp(in->category, "hpa_maxed"))
		fb_action_replicas_propose(&d);
	else if (!strcmp(in->category, "cpu_throttling"))
		fb_action_cpu_propose(&d);
	else {
		fb_action_draft_manual(&d, "no automatic fix for %s; see the suggested actions",
		                       *in->category ? in->category : "unknown");
		fb_action_draft_say(&d, "reason", "manual_category", "category", in->category,
		                    FB_SAY_END);
	}
	return fb_action_draft_finish(&d, out);
}

/* Memory limits and requests, and volume sizes: a quantity within the
 * policy's ceiling. */
static fb_err validate(const fb_config *cfg, const char *path, const char *value)
{
	fb_quantity q, max;
	int memory = fb_action_path_ends(path, "memory");
	fb_err rc;

	if (fb_action_jvm_opts(value)) /* JVM options: spaces and = are fine */
		return fb_action_jvm_validate(cfg, path, value);
	if ((rc = fb_action_check_plain(path, value)) ||
	    fb_action_scale_validate(cfg, path, value, &rc))
		return rc;
	if (!memory && !fb_action_path_ends(path, "size") && !fb_action_path_ends(path, "storage"))
		return FB_OK;
	const char *cap = memory ? cfg->policy.max_memory : cfg->policy.max_disk;
	if (fb_quantity_parse(value, &q) != FB_OK || q.value <= 0)
		return fb_error_set(FB_EINVAL,
		                    "%s: \"%s\" is not a Kubernetes quantity like 1Gi or 1536Mi",
		                    path, value);
	if (fb_quantity_parse(cap, &max) == FB_OK && q.value > max.value)
		return fb_error_set(FB_EINVAL, "%s: %s is above the policy maximum %s", path, value,
		                    cap);
	return FB_OK;
}

const fb_action_ops fb_action_values_patch = {
    .version = FB_ACTION_OPS_VERSION,
    .name = "values_patch",
    .needs_repo = 1,
    .propose = propose,
    .validate = validate,
    .apply = fb_action_commit,
    .describe = fb_action_describe_summary,
    .redo = fb_action_redo,
};
