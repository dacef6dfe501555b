/*
 * nodes.c - owns the node functions of the incident graph and the
 * routing between them (see graph.h and DESIGN.md).  Each node reads the
 * state and returns a patch and the next node; the runner in graph.c
 * commits.  Pure nodes (classify, analyze, await_decision, report) do no
 * I/O; propose and apply use the GitOps repository, so in the daemon they
 * run on a worker.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "firebreak/action.h"
#include "firebreak/analyze.h"
#include "firebreak/buf.h"
#include "firebreak/graph.h"
#include "firebreak/verify.h"

static void go(fb_step *st, const char *next)
{
	snprintf(st->next, sizeof(st->next), "%s", next);
}

static cJSON *patch(fb_step *st)
{
	if (!st->patch)
		st->patch = cJSON_CreateObject();
	return st->patch;
}

/* collect: the excerpt was masked and stored at creation; here it is
 * measured.  Sources that gather context (Loki, Kubernetes) add it here. */
static fb_err node_collect(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const char *ex = fb_json_str(state, "excerpt");
	size_t lines = 0;
	(void)env;
	for (const char *p = ex; *p; p++)
		lines += *p == '\n';
	cJSON_AddNumberToObject(patch(st), "excerpt_lines", (double)lines + (ex[0] != '\0'));
	snprintf(st->detail, sizeof(st->detail), "%zu bytes from %s", strlen(ex),
	         fb_json_str(state, "source"));
	go(st, "classify");
	return FB_OK;
}

/*
 * What makes two incidents the same problem: source, app, namespace,
 * category and the normalised signature (numbers, ids and pod hashes
 * already stripped by the rules), hashed.  Never the free text.
 */
static void fingerprint(const cJSON *state, const char *app, const char *ns, const cJSON *cls,
                        char out[40])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	fb_buf b;

	fb_buf_init(&b, 8192);
	fb_buf_printf(&b, "%s\x1f%s\x1f%s\x1f%s\x1f%s", fb_json_str(state, "source"), app, ns,
	              fb_json_str(cls, "category"), fb_json_str(cls, "signature"));
	EVP_Digest(fb_buf_str(&b) ? fb_buf_str(&b) : "", b.len, md, &n, EVP_sha256(), NULL);
	fb_buf_free(&b);
	snprintf(out, 40, "fp:");
	for (unsigned int i = 0; i < 12 && i < n; i++)
		snprintf(out + 3 + 2 * i, 40 - 3 - 2 * i, "%02x", md[i]);
}

static fb_err node_classify(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const char *ex = fb_json_str(state, "excerpt");
	const char *hint = fb_json_str(state, "app_hint");
	cJSON *cls = NULL;
	const cJSON *apps, *ns;
	fb_err rc = fb_rules_classify(env->rules, ex, strlen(ex), &cls);

	if (rc)
		return rc;
	apps = fb_json_get(cls, "apps");
	ns = fb_json_get(cls, "namespace");
	const char *app =
	    *hint ? hint
	          : (cJSON_GetArraySize(apps) > 0 ? cJSON_GetArrayItem(apps, 0)->valuestring : "");
	cJSON_AddStringToObject(patch(st), "app", app);
	cJSON_AddStringToObject(patch(st), "namespace", cJSON_IsString(ns) ? ns->valuestring : "");
	snprintf(st->detail, sizeof(st->detail), "category=%s severity=%s rule=%s app=%s",
	         fb_json_str(cls, "category"), fb_json_str(cls, "severity"),
	         fb_json_str(cls, "rule"), *app ? app : "-");
	if (!*fb_json_str(state, "fingerprint")) { /* a source may have set its own */
		char fp[40];
		fingerprint(state, app, cJSON_IsString(ns) ? ns->valuestring : "", cls, fp);
		cJSON_AddStringToObject(patch(st), "fingerprint", fp);
	}
	cJSON_AddItemToObject(patch(st), "classification", cls);
	go(st, "analyze");
	return FB_OK;
}

/* Severity routes: info and "none" are recorded only. */
static fb_err node_analyze(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const cJSON *cls = fb_json_get(state, "classification");
	cJSON *an = NULL;
	fb_err rc = fb_analyze(cls, fb_json_str(state, "app"), &an);
	(void)env;

	if (rc)
		return rc;
	snprintf(st->detail, sizeof(st->detail), "%s", fb_json_str(an, "root_cause"));
	cJSON_AddItemToObject(patch(st), "analysis", an);
	if (!strcmp(fb_json_str(cls, "category"), "none") ||
	    !strcmp(fb_json_str(cls, "severity"), "info")) {
		cJSON_AddStringToObject(patch(st), "result", "recorded");
		go(st, "report");
	} else {
		go(st, "propose");
	}
	return FB_OK;
}

#define MAX_SUGGESTIONS 16
#define MAX_OVERRIDES 32

/* The typed input of an action and the arrays it points into. */
typedef struct {
	fb_action_input in;
	const char *sugg[MAX_SUGGESTIONS];
	fb_action_override ov[MAX_OVERRIDES];
} action_args;

static const char *fact(const cJSON *cls, const char *k)
{
	const cJSON *v = fb_json_get(fb_json_get(cls, "facts"), k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Builds what an action may know of the incident from its state; the
 * strings stay owned by state. */
static void action_input(const fb_graph_env *env, const cJSON *state, action_args *a)
{
	const cJSON *cls = fb_json_get(state, "classification"), *it;
	fb_action_input *in = &a->in;

	memset(a, 0, sizeof(*a));
	in->incident_id = fb_json_str(state, "id");
	in->category = *fb_json_str(cls, "category") ? fb_json_str(cls, "category") : "unknown";
	in->severity = fb_json_str(cls, "severity");
	in->app = fb_json_str(state, "app");
	in->ns = fb_json_str(state, "namespace");
	in->evidence = fb_json_str(cls, "evidence");
	in->root_cause = fb_json_str(fb_json_get(state, "analysis"), "root_cause");
	in->facts.container = fact(cls, "container");
	in->facts.limit = fact(cls, "limit");
	in->facts.request = fact(cls, "request");
	in->facts.image = fact(cls, "image");
	in->facts.missing_key = fact(cls, "key");
	in->facts.path = fact(cls, "path");
	in->facts.exit_code = fact(cls, "exit_code");
	in->disk = fb_analyze_is_disk(cls);
	cJSON_ArrayForEach(it, fb_json_get(fb_json_get(state, "analysis"), "actions"))
	{
		if (cJSON_IsString(it) && in->n_suggestions < MAX_SUGGESTIONS)
			a->sugg[in->n_suggestions++] = it->valuestring;
	}
	in->suggestions = a->sugg;
	cJSON_ArrayForEach(it, fb_json_get(state, "overrides"))
	{
		if (cJSON_IsString(it) && in->n_overrides < MAX_OVERRIDES)
			a->ov[in->n_overrides++] =
			    (fb_action_override){.path = it->string, .value = it->valuestring};
	}
	in->overrides = a->ov;
	in->step = cJSON_IsTrue(fb_json_get(state, "verify_retried")) ? 2 : 1;
	in->cfg = env->cfg;
	in->gitops = env->gitops;
}

/* propose: the action the rules choose for the category builds the fix. */
static fb_err node_propose(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	action_args args;
	cJSON *prop = NULL;
	fb_err rc;

	action_input(env, state, &args);
	rc = fb_action_propose(env->rules, &args.in, &prop);
	if (rc)
		return rc;
	if (!strcmp(fb_json_str(prop, "action"), "manual")) {
		snprintf(st->detail, sizeof(st->detail), "manual: %s", fb_json_str(prop, "reason"));
		cJSON_AddStringToObject(patch(st), "result", "manual");
		go(st, "report");
	} else {
		snprintf(st->detail, sizeof(st->detail), "%s: %s", fb_json_str(prop, "action"),
		         fb_json_str(prop, "summary"));
		go(st, "await_decision");
	}
	cJSON_AddItemToObject(patch(st), "proposal", prop);
	return FB_OK;
}

/* Moves the decision into the history and clears it, so that a re-run
 * of this node after a crash cannot act on it twice. */
static void consume_decision(const cJSON *state, fb_step *st, const cJSON *d)
{
	cJSON *hist = cJSON_Duplicate(fb_json_get(state, "decisions"), 1);
	if (!cJSON_IsArray(hist)) {
		cJSON_Delete(hist);
		hist = cJSON_CreateArray();
	}
	cJSON_AddItemToArray(hist, cJSON_Duplicate(d, 1));
	cJSON_AddItemToObject(patch(st), "decisions", hist);
	cJSON_AddNullToObject(patch(st), "decision");
}

static fb_err route_decision(const cJSON *state, const cJSON *d, fb_step *st)
{
	const char *a = fb_json_str(d, "action");

	consume_decision(state, st, d);
	snprintf(st->detail, sizeof(st->detail), "%s by %s%s%s", a, fb_json_str(d, "user"),
	         *fb_json_str(d, "note") ? ": " : "", fb_json_str(d, "note"));
	if (!strcmp(a, "approve")) {
		cJSON_AddItemToObject(patch(st), "approved_by",
		                      cJSON_CreateString(fb_json_str(d, "user")));
		go(st, "apply");
	} else if (!strcmp(a, "reject")) {
		cJSON_AddStringToObject(patch(st), "result", "rejected");
		go(st, "report");
	} else { /* edit: the person's values become overrides for propose */
		cJSON *ov = cJSON_Duplicate(fb_json_get(state, "overrides"), 1);
		const cJSON *it;
		if (!cJSON_IsObject(ov)) {
			cJSON_Delete(ov);
			ov = cJSON_CreateObject();
		}
		cJSON_ArrayForEach(it, fb_json_get(d, "set"))
		{
			cJSON_DeleteItemFromObjectCaseSensitive(ov, it->string);
			cJSON_AddItemToObject(ov, it->string, cJSON_Duplicate(it, 1));
		}
		cJSON_AddItemToObject(patch(st), "overrides", ov);
		go(st, "propose");
	}
	return FB_OK;
}

/* The interrupt: with no decision, pause, unless policy auto-applies
 * this warning-level category for this app. */
static fb_err node_await(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const cJSON *d = fb_json_get(state, "decision");
	const cJSON *cls = fb_json_get(state, "classification");

	if (cJSON_IsObject(d))
		return route_decision(state, d, st);
	if (!strcmp(fb_json_str(cls, "severity"), "warning") &&
	    fb_config_auto_apply(env->cfg, fb_json_str(cls, "category"),
	                         fb_json_str(state, "app"))) {
		cJSON *auto_d = cJSON_CreateObject();
		cJSON_AddStringToObject(auto_d, "action", "approve");
		cJSON_AddStringToObject(auto_d, "user", "policy.auto_apply");
		cJSON_AddStringToObject(auto_d, "note", "");
		fb_err rc = route_decision(state, auto_d, st);
		cJSON_Delete(auto_d);
		return rc;
	}
	snprintf(st->detail, sizeof(st->detail), "waiting for approve, reject or edit");
	go(st, "pause");
	return FB_OK;
}

static void commit_text(const fb_action_ops *a, const cJSON *state, char *subject, size_t ssz,
                        fb_buf *body)
{
	const cJSON *prop = fb_json_get(state, "proposal"), *e;
	const cJSON *cls = fb_json_get(state, "classification");
	const cJSON *last =
	    cJSON_GetArrayItem(fb_json_get(state, "decisions"),
	                       cJSON_GetArraySize(fb_json_get(state, "decisions")) - 1);
	char line[512];

	a->describe(prop, line, sizeof(line));
	snprintf(subject, ssz, "firebreak: %s", line);
	fb_buf_printf(body, "%s\n\nEvidence: %.300s\nAction: %s on %s",
	              fb_json_str(fb_json_get(state, "analysis"), "root_cause"),
	              fb_json_str(cls, "evidence"), a->name,
	              *fb_json_str(prop, "file") ? fb_json_str(prop, "file") : "the repository");
	cJSON_ArrayForEach(e, fb_json_get(prop, "edits"))
	{
		fb_buf_printf(body, "\n  %s: %s -> %s", fb_json_str(e, "path"),
		              *fb_json_str(e, "old") ? fb_json_str(e, "old") : "(unset)",
		              fb_json_str(e, "new"));
	}
	if (last && *fb_json_str(last, "note"))
		fb_buf_printf(body, "\nNote: %s", fb_json_str(last, "note"));
}

/* apply: the proposal's action carries it out (idempotently). */
static fb_err node_apply(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const cJSON *prop = fb_json_get(state, "proposal");
	const fb_action_ops *a = fb_action_find(fb_json_str(prop, "action"));
	action_args args;
	fb_action_result res;
	char subject[512];
	fb_buf body;
	fb_err rc;

	if (!a)
		return fb_error_set(FB_EINVAL, "the proposal's action \"%s\" is not known",
		                    fb_json_str(prop, "action"));
	if (a->needs_repo && !env->gitops)
		return fb_error_set(FB_ESTATE, "no GitOps repository to apply to");
	action_input(env, state, &args);
	fb_buf_init(&body, 16 * 1024);
	commit_text(a, state, subject, sizeof(subject), &body);
	fb_commit_info info = {
	    .incident_id = args.in.incident_id,
	    .subject = subject,
	    .body = fb_buf_str(&body),
	    .category = args.in.category,
	    .approved_by = fb_json_str(state, "approved_by"),
	    .slack_thread = fb_json_str(state, "slack_thread"),
	    .step = args.in.step,
	};
	rc = a->apply(&args.in, prop, &info, &res);
	fb_buf_free(&body);
	if (rc == FB_ECONFLICT) { /* the file moved on: propose against the new tip */
		snprintf(st->detail, sizeof(st->detail), "%s", fb_error_last());
		snprintf(st->outcome, sizeof(st->outcome), "conflict");
		go(st, "propose");
		return FB_OK;
	}
	if (rc == FB_ESTATE) { /* a person must clean the tree; wait again */
		snprintf(st->detail, sizeof(st->detail), "refused: %s", fb_error_last());
		snprintf(st->outcome, sizeof(st->outcome), "refused");
		cJSON_AddStringToObject(patch(st), "apply_error", fb_error_last());
		go(st, "pause");
		return FB_OK;
	}
	if (rc)
		return rc;
	snprintf(st->detail, sizeof(st->detail), "%s", res.detail);
	if (!res.commit[0]) { /* nothing to commit: a person acts */
		cJSON_AddStringToObject(patch(st), "result", "manual");
		go(st, "report");
		return FB_OK;
	}
	cJSON *ap = cJSON_AddObjectToObject(patch(st), "apply");
	cJSON_AddStringToObject(ap, "commit", res.commit);
	cJSON_AddBoolToObject(ap, "pushed", res.pushed);
	cJSON_AddStringToObject(ap, "branch", env->cfg->gitops.branch);
	cJSON_AddNumberToObject(ap, "at", (double)fb_now_ms());
	cJSON_AddNullToObject(patch(st), "apply_error");
	snprintf(st->outcome, sizeof(st->outcome), "committed");
	go(st, "verify");
	return FB_OK;
}

/*
 * verify: every configured check (check.h: the app's pods, its Argo CD
 * Application, its signature in Loki) looks at the typed target.  ok
 * ends it; pending looks again after engine.verify_delay, at most
 * engine.verify_max_checks times (a durable timer: the job's run_at);
 * failed proposes the next step once (for an OOM, a further raise up to
 * the cap), and otherwise reports.
 */
static fb_err node_verify(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const cJSON *prev = fb_json_get(state, "verify");
	const cJSON *done = fb_json_get(prev, "checks_done");
	int checks = (cJSON_IsNumber(done) ? done->valueint : 0) + 1;
	cJSON *v = NULL;
	const char *r;

	if (!env->verifier) {
		v = cJSON_AddObjectToObject(patch(st), "verify");
		cJSON_AddStringToObject(v, "result", "skipped");
		cJSON_AddStringToObject(v, "reason", "no verifier configured");
		snprintf(st->detail, sizeof(st->detail), "skipped: no verifier configured");
		snprintf(st->outcome, sizeof(st->outcome), "skipped");
		go(st, "report");
		return FB_OK;
	}
	const cJSON *cls = fb_json_get(state, "classification"), *ap = fb_json_get(state, "apply");
	const cJSON *at = fb_json_get(ap, "at");
	fb_verify_target target = {
	    .app = fb_json_str(state, "app"),
	    .ns = fb_json_str(state, "namespace"),
	    .category = fb_json_str(cls, "category"),
	    .signature = fb_json_str(cls, "signature"),
	    .commit = fb_json_str(ap, "commit"),
	    .applied_at_ms = cJSON_IsNumber(at) ? (int64_t)at->valuedouble : 0,
	};
	fb_verify_check(env->verifier, &target, &v);
	r = fb_json_str(v, "result");
	cJSON_AddNumberToObject(v, "checks_done", checks);
	snprintf(st->detail, sizeof(st->detail), "%s: %s (check %d)", r, fb_json_str(v, "reason"),
	         checks);
	snprintf(st->outcome, sizeof(st->outcome), "%s", r); /* ok, pending, failed */
	if (!strcmp(r, "pending") && checks < env->cfg->engine.verify_max_checks) {
		st->delay_ms = env->cfg->engine.verify_delay * 1000LL;
		go(st, "verify");
	} else if (!strcmp(r, "pending") || !strcmp(r, "failed")) {
		if (!strcmp(r, "pending")) {
			cJSON_ReplaceItemInObject(v, "result", cJSON_CreateString("failed"));
			cJSON_ReplaceItemInObject(
			    v, "reason", cJSON_CreateString("not recovered after every check"));
		}
		if (!cJSON_IsTrue(fb_json_get(state, "verify_retried")) &&
		    !strcmp(fb_json_str(fb_json_get(state, "classification"), "category"), "oom")) {
			cJSON_AddTrueToObject(patch(st),
			                      "verify_retried"); /* one more step, once */
			cJSON_AddNullToObject(patch(st), "apply");
			go(st, "propose");
		} else {
			cJSON_AddStringToObject(patch(st), "result", "failed");
			go(st, "report");
		}
	} else {
		go(st, "report");
	}
	cJSON_AddItemToObject(patch(st), "verify", v);
	return FB_OK;
}

static fb_err node_report(const fb_graph_env *env, const cJSON *state, fb_step *st)
{
	const char *result = fb_json_str(state, "result");
	(void)env;

	if (*fb_json_str(state, "error"))
		result = "failed";
	else if (!*result && cJSON_IsObject(fb_json_get(state, "apply")))
		result = "resolved";
	else if (!*result)
		result = "manual";
	cJSON_AddStringToObject(patch(st), "result", result);
	snprintf(st->detail, sizeof(st->detail), "%s", result);
	go(st, "end");
	return FB_OK;
}

static const fb_node nodes[] = {
    {"collect", node_collect, FB_NODE_PURE},
    {"classify", node_classify, FB_NODE_PURE},
    {"analyze", node_analyze, FB_NODE_PURE},
    {"propose", node_propose, FB_NODE_IO | FB_NODE_GIT},
    {"await_decision", node_await, FB_NODE_PURE},
    {"apply", node_apply, FB_NODE_IO | FB_NODE_GIT},
    {"verify", node_verify, FB_NODE_IO},
    {"report", node_report, FB_NODE_PURE},
};

const fb_node *fb_nodes_find(const char *name)
{
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (!strcmp(nodes[i].name, name))
			return &nodes[i];
	return NULL;
}
