/*
 * nodes.c - owns the node functions of the incident graph and the
 * routing between them (see graph.h and DESIGN.md).  Each node changes
 * its own copy of the typed state (state.h) and names the next node; the
 * runner in graph.c commits.  The table at the end says where each may
 * run: pure nodes (collect, classify, analyze, await_decision, report) on
 * the engine thread; propose and apply (the GitOps repository, serialised
 * per repository) and verify (the checks' APIs) on a worker.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/analyze.h"
#include "firebreak/buf.h"
#include "firebreak/graph.h"
#include "firebreak/links.h"
#include "firebreak/action.h"
#include "firebreak/verify.h"
#include "merge_int.h"

static void go(fb_step *st, const char *next)
{
	snprintf(st->next, sizeof(st->next), "%s", next);
}

#define SET(field, v) fb_state_copy((field), sizeof(field), (v))

/* collect: the excerpt was masked and stored at creation; here it is
 * measured.  Sources that gather context (Loki, Kubernetes) add it here. */
static fb_err node_collect(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	const char *ex = s->excerpt;
	size_t lines = 0;
	(void)env;
	for (const char *p = ex; *p; p++)
		lines += *p == '\n';
	s->excerpt_lines = (long)lines + (ex[0] != '\0');
	snprintf(st->detail, sizeof(st->detail), "%zu bytes from %s", strlen(ex), s->source);
	go(st, "classify");
	return FB_OK;
}

/*
 * What makes two incidents the same problem: source, app, namespace,
 * category and the normalised signature (numbers, ids and pod hashes
 * already stripped by the rules), hashed.  Never the free text.
 */
static void fingerprint(const fb_state *s, char out[40])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	fb_buf b;

	fb_buf_init(&b, 8192);
	fb_buf_printf(&b, "%s\x1f%s\x1f%s\x1f%s\x1f%s", s->source, s->app, s->ns,
	              s->classification.category, s->classification.signature);
	EVP_Digest(fb_buf_str(&b) ? fb_buf_str(&b) : "", b.len, md, &n, EVP_sha256(), NULL);
	fb_buf_free(&b);
	snprintf(out, 40, "fp:");
	for (unsigned int i = 0; i < 12 && i < n; i++)
		snprintf(out + 3 + 2 * i, 40 - 3 - 2 * i, "%02x", md[i]);
}

static fb_err node_classify(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	const fb_state_classification *c = &s->classification;
	fb_err rc =
	    fb_rules_classify(env->rules, s->excerpt, strlen(s->excerpt), &s->classification);

	if (rc)
		return rc;
	SET(s->app, *s->app_hint ? s->app_hint : (c->n_apps > 0 ? c->apps[0] : ""));
	SET(s->ns, c->ns);
	snprintf(st->detail, sizeof(st->detail), "category=%s severity=%s rule=%s app=%s",
	         c->category, c->severity, c->rule, *s->app ? s->app : "-");
	if (!*s->fingerprint) { /* a source may have set its own */
		char fp[40];
		fingerprint(s, fp);
		SET(s->fingerprint, fp);
	}
	st->fold_repeat = 1;
	go(st, "analyze");
	return FB_OK;
}

/* Severity routes: info and "none" are recorded only. */
static fb_err node_analyze(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	const fb_state_classification *c = &s->classification;
	cJSON *an = NULL;
	fb_err rc = fb_analyze(c, s->app, &an);

	if (!rc)
		rc = fb_state_set_analysis(s, an);
	cJSON_Delete(an);
	if (rc)
		return rc;
	fb_links_fill(env->cfg, s); /* Argo CD, Grafana, the runbook */
	snprintf(st->detail, sizeof(st->detail), "%s", s->analysis.root_cause);
	if (!strcmp(c->category, "none") || !strcmp(c->severity, "info")) {
		SET(s->result, "recorded");
		go(st, "report");
	} else {
		go(st, "propose");
	}
	return FB_OK;
}

#define MAX_SUGGESTIONS FB_STATE_ACTIONS_MAX
#define MAX_OVERRIDES FB_STATE_SETS_MAX

/* The typed input of an action and the arrays it points into. */
typedef struct {
	fb_action_input in;
	const char *sugg[MAX_SUGGESTIONS];
	fb_action_override ov[MAX_OVERRIDES];
} action_args;

/* Builds what an action may know of the incident; the strings stay owned
 * by the state. */
static void action_input(const fb_graph_env *env, const fb_state *s, action_args *a)
{
	const fb_state_classification *c = &s->classification;
	fb_action_input *in = &a->in;

	memset(a, 0, sizeof(*a));
	in->incident_id = s->id;
	in->category = *c->category ? c->category : "unknown";
	in->severity = c->severity;
	in->app = s->app;
	in->ns = s->ns;
	in->evidence = c->evidence;
	in->root_cause = s->analysis.root_cause;
	in->facts.container = fb_classification_fact(c, "container");
	in->facts.limit = fb_classification_fact(c, "limit");
	in->facts.request = fb_classification_fact(c, "request");
	in->facts.image = fb_classification_fact(c, "image");
	in->facts.missing_key = fb_classification_fact(c, "key");
	in->facts.path = fb_classification_fact(c, "path");
	in->facts.exit_code = fb_classification_fact(c, "exit_code");
	in->facts.jvm_oom = fb_classification_fact(c, "jvm_oom");
	in->facts.claim = fb_classification_fact(c, "persistentvolumeclaim");
	in->facts.autoscaler = fb_classification_fact(c, "horizontalpodautoscaler");
	in->disk = s->analysis.disk;
	for (size_t i = 0; i < s->analysis.n_actions && i < MAX_SUGGESTIONS; i++)
		a->sugg[in->n_suggestions++] = s->analysis.actions[i];
	in->suggestions = a->sugg;
	for (size_t i = 0; i < s->n_overrides && i < MAX_OVERRIDES; i++)
		a->ov[in->n_overrides++] = (fb_action_override){.path = s->overrides[i].key,
		                                                .value = s->overrides[i].value};
	in->overrides = a->ov;
	in->step = s->verify_retried ? 2 : 1;
	in->cfg = env->cfg;
	in->gitops = env->gitops;
}

/* The repository for the incident: the process's, else the one recorded
 * when it was proposed (opened into *own; the caller frees it). */
static fb_gitops *repository(const fb_graph_env *env, const fb_state *s, fb_gitops **own)
{
	*own = NULL;
	if (env->gitops || !*s->repo)
		return env->gitops;
	if (fb_gitops_open_at(env->cfg, s->repo, own) != FB_OK)
		fb_error_clear();
	return *own;
}

/* propose: the action the rules choose for the category builds the fix. */
static fb_err node_propose(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	action_args args;
	cJSON *prop = NULL;
	fb_gitops *own;
	fb_err rc;

	action_input(env, s, &args);
	args.in.gitops = repository(env, s, &own);
	if (args.in.gitops) /* where a later decide finds it */
		SET(s->repo, fb_gitops_path(args.in.gitops));
	rc = fb_action_propose(fb_rules_action_for(env->rules, args.in.category), &args.in, &prop);
	if (!rc)
		rc = fb_state_set_proposal(s, prop);
	cJSON_Delete(prop);
	fb_gitops_free(own);
	if (rc)
		return rc;
	if (!strcmp(s->proposal.action, "manual")) {
		snprintf(st->detail, sizeof(st->detail), "manual: %s", s->proposal.reason);
		SET(s->result, "manual");
		go(st, "report");
	} else {
		snprintf(st->detail, sizeof(st->detail), "%s: %s", s->proposal.action,
		         s->proposal.summary);
		go(st, "await_decision");
	}
	return FB_OK;
}

/* Moves the decision into the history and clears it, so that a re-run
 * of this node after a crash cannot act on it twice. */
static fb_err route_decision(fb_state *s, const fb_state_decision *in, fb_step *st)
{
	fb_state_decision d = *in;
	const char *a = d.action;

	fb_state_decision_push(s, &d);
	memset(&s->decision, 0, sizeof(s->decision));
	snprintf(st->detail, sizeof(st->detail), "%s by %s%s%s", a, d.user, *d.note ? ": " : "",
	         d.note);
	if (!strcmp(a, "approve")) {
		SET(s->approved_by, d.user);
		go(st, "apply");
	} else if (!strcmp(a, "reject")) {
		SET(s->result, "rejected");
		go(st, "report");
	} else { /* edit: the person's values become overrides for propose */
		for (size_t i = 0; i < d.n_set; i++) {
			fb_err rc = fb_state_override_set(s, d.set[i].key, d.set[i].value);
			if (rc)
				return rc;
		}
		go(st, "propose");
	}
	return FB_OK;
}

/* The interrupt: with no decision, pause, unless policy auto-applies
 * this warning-level category for this app. */
static fb_err node_await(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	const fb_state_classification *c = &s->classification;

	if (s->decision.present)
		return route_decision(s, &s->decision, st);
	if (!strcmp(c->severity, "warning") &&
	    fb_config_auto_apply(env->cfg, c->category, s->app)) {
		fb_state_decision auto_d = {
		    .present = 1, .action = "approve", .user = "policy.auto_apply"};
		return route_decision(s, &auto_d, st);
	}
	snprintf(st->detail, sizeof(st->detail), "waiting for approve, reject or edit");
	go(st, "pause");
	return FB_OK;
}

static void commit_text(const fb_action_ops *a, const fb_state *s, char *subject, size_t ssz,
                        fb_buf *body)
{
	const fb_state_proposal *p = &s->proposal;
	const fb_state_decision *last = fb_state_last_decision(s);
	char line[512];

	a->describe(p, line, sizeof(line));
	snprintf(subject, ssz, "firebreak: %s", line);
	fb_buf_printf(body, "%s\n\nEvidence: %.300s\nAction: %s on %s", s->analysis.root_cause,
	              s->classification.evidence, a->name, *p->file ? p->file : "the repository");
	for (size_t i = 0; i < p->n_edits; i++)
		fb_buf_printf(body, "\n  %s: %s -> %s", p->edits[i].path,
		              *p->edits[i].old_value ? p->edits[i].old_value : "(unset)",
		              p->edits[i].new_value);
	if (last && *last->note)
		fb_buf_printf(body, "\nNote: %s", last->note);
}

/* What the action's apply says, in the state and the step. */
static fb_err applied(const fb_graph_env *env, fb_state *s, fb_step *st, fb_err rc,
                      const fb_action_result *res)
{
	if (rc == FB_ECONFLICT) { /* the file moved on: propose against the new tip */
		snprintf(st->detail, sizeof(st->detail), "%s", fb_error_last());
		snprintf(st->outcome, sizeof(st->outcome), "conflict");
		go(st, "propose");
		return FB_OK;
	}
	if (rc && res && res->refused) { /* the remote refused every push: say why, end */
		snprintf(st->detail, sizeof(st->detail), "refused: %s", fb_error_last());
		snprintf(st->outcome, sizeof(st->outcome), "refused");
		SET(s->error, fb_error_last());
		SET(s->result, "failed");
		s->apply_error[0] = '\0'; /* an earlier refusal no longer holds */
		go(st, "report");
		return FB_OK;
	}
	if (rc == FB_ESTATE) { /* a person must clean the tree; wait again */
		snprintf(st->detail, sizeof(st->detail), "refused: %s", fb_error_last());
		snprintf(st->outcome, sizeof(st->outcome), "refused");
		SET(s->apply_error, fb_error_last());
		go(st, "pause");
		return FB_OK;
	}
	if (rc)
		return rc;
	snprintf(st->detail, sizeof(st->detail), "%s", res->detail);
	if (!res->commit[0]) { /* nothing to commit: a person acts */
		SET(s->result, "manual");
		go(st, "report");
		return FB_OK;
	}
	s->apply = (fb_state_apply){.present = 1, .pushed = res->pushed, .at = fb_now_ms()};
	SET(s->apply.commit, res->commit);
	SET(s->apply.branch, env->cfg->gitops.branch);
	s->apply_error[0] = '\0';
	snprintf(st->outcome, sizeof(st->outcome), "committed");
	fb_links_fill(env->cfg, s);                         /* the commit's page */
	if (!strcmp(env->cfg->gitops.mode, "pull_request")) /* merge.c: a PR, then its merge */
		fb_merge_applied(env, s, st);
	else
		go(st, "verify");
	return FB_OK;
}

/* apply: the proposal's action carries it out (idempotently). */
static fb_err node_apply(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	const fb_action_ops *a = fb_action_find(s->proposal.action);
	fb_action_result res = {0};
	char subject[1024];
	action_args args;
	fb_gitops *own = NULL;
	fb_buf body;
	fb_err rc;

	if (!a)
		return fb_error_set(FB_EINVAL, "the proposal's action \"%s\" is not known",
		                    s->proposal.action);
	if (fb_action_check(env->cfg, &s->proposal, NULL, 0, NULL) != FB_OK) /* again, now */
		return applied(env, s, st, FB_ESTATE, NULL);
	action_input(env, s, &args);
	if (a->needs_repo && !(args.in.gitops = repository(env, s, &own)))
		return fb_error_set(FB_ESTATE, "no GitOps repository to apply to");
	fb_buf_init(&body, 16 * 1024);
	commit_text(a, s, subject, sizeof(subject), &body);
	fb_commit_info info = {
	    .incident_id = s->id,
	    .subject = subject,
	    .body = fb_buf_str(&body),
	    .category = s->classification.category,
	    .approved_by = s->approved_by,
	    .slack_thread = s->slack_thread,
	    .step = args.in.step,
	};
	rc = a->apply(&args.in, &s->proposal, &info, &res);
	fb_buf_free(&body);
	rc = applied(env, s, st, rc, &res);
	fb_gitops_free(own);
	return rc;
}

/* A check that failed (or never recovered): one more step for an OOM,
 * once; otherwise the incident failed. */
static void verify_failed(fb_state *s, fb_step *st)
{
	if (!s->verify_retried && !strcmp(s->classification.category, "oom")) {
		s->verify_retried = 1; /* one more step, once */
		memset(&s->apply, 0, sizeof(s->apply));
		go(st, "propose");
	} else {
		SET(s->result, "failed");
		go(st, "report");
	}
}

/*
 * verify: the app's pods and its Argo CD Application after the fix.  ok
 * ends it; pending looks again after engine.verify_delay, at most
 * engine.verify_max_checks times (a durable timer: the job's run_at);
 * failed proposes the next step once (for an OOM, a further raise up to
 * the cap), and otherwise reports.
 */
static fb_err node_verify(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	long checks = (s->verify.present ? s->verify.checks_done : 0) + 1;
	fb_state_verify *v = &s->verify;
	cJSON *res = NULL;
	fb_err rc;

	if (!env->verifier) {
		*v = (fb_state_verify){
		    .present = 1, .result = "skipped", .reason = "no verifier configured"};
		snprintf(st->detail, sizeof(st->detail), "skipped: no verifier configured");
		snprintf(st->outcome, sizeof(st->outcome), "skipped");
		go(st, "report");
		return FB_OK;
	}
	fb_verify_target target = {
	    .app = s->app,
	    .ns = s->ns,
	    .category = s->classification.category,
	    .signature = s->classification.signature,
	    .commit = s->apply.commit,
	    .applied_at_ms = s->apply.at,
	};
	fb_verify_check(env->verifier, &target, &res);
	rc = fb_state_set_verify(s, res);
	cJSON_Delete(res);
	if (rc)
		return rc;
	v->checks_done = checks;
	snprintf(st->detail, sizeof(st->detail), "%s: %s (check %ld)", v->result, v->reason,
	         checks);
	snprintf(st->outcome, sizeof(st->outcome), "%s", v->result); /* ok, pending, failed */
	if (!strcmp(v->result, "pending") && checks < env->cfg->engine.verify_max_checks) {
		st->delay_ms = env->cfg->engine.verify_delay * 1000LL;
		go(st, "verify");
	} else if (!strcmp(v->result, "pending") || !strcmp(v->result, "failed")) {
		if (!strcmp(v->result, "pending")) {
			SET(v->result, "failed");
			SET(v->reason, "not recovered after every check");
		}
		verify_failed(s, st);
	} else {
		go(st, "report");
	}
	return FB_OK;
}

static fb_err node_report(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	const char *result = s->result;
	(void)env;

	if (*s->error)
		result = "failed";
	else if (!*result && s->apply.present)
		result = "resolved";
	else if (!*result)
		result = "manual";
	if (result != s->result)
		SET(s->result, result);
	snprintf(st->detail, sizeof(st->detail), "%s", s->result);
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
    {"await_merge", fb_merge_node, FB_NODE_IO | FB_NODE_GIT}, /* pull-request mode (merge.c) */
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
