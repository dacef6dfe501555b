/*
 * state.c - owns the incident state struct (state.h) and its JSON: the
 * only file that knows the keys of incidents.state and of the checkpoints.
 * Pure functions of their inputs; any thread (the engine parses and
 * commits, a worker runs a node on its own copy).
 *
 * Unknown top-level keys are kept as they were read and written back
 * (state.extra): a database written by a newer or an older build loses
 * nothing when this one commits a step.  Unknown keys inside the known
 * sub-objects are dropped: those objects are made only by this program's
 * own modules, and this file is where a new key gets its field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "firebreak/buf.h"
#include "firebreak/state.h"

#define COPY(dst, s) fb_state_copy((dst), sizeof(dst), (s))

static const char *const top_keys[] = {
    "id",
    "source",
    "triggered_by",
    "excerpt",
    "truncated",
    "excerpt_lines",
    "app_hint",
    "app",
    "namespace",
    "fingerprint",
    "slack_channel",
    "slack_thread",
    "classification",
    "analysis",
    "proposal",
    "repo",
    "overrides",
    "decision",
    "decisions",
    "approved_by",
    "apply",
    "apply_error",
    "verify",
    "verify_retried",
    "result",
    "error",
    "error_msg",
    "grouped_into",
    "repeats",
    "last_seen",
    "repeat_noted_at",
    "alert",
    "lifecycle",
    "previous",
    "pull_request",
    "runbook_url",
    "links",
};

void fb_state_copy(char *dst, size_t dstsz, const char *s)
{
	fb_copy_utf8(dst, dstsz, s);
}

/* A number member, 0 when missing; within +-9e18, so that the integer
 * fields it fills can hold it (a stored 1e300 is no UB). */
static double num(const cJSON *o, const char *k)
{
	const cJSON *v = fb_json_get(o, k);
	double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	return d != d ? 0 : d > 9e18 ? 9e18 : d < -9e18 ? -9e18 : d;
}

static int truth(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(fb_json_get(o, k));
}

static char *dup_str(const char *s)
{
	return fb_utf8_clean(s); /* the excerpt: as fb_state_copy, text only */
}

/* ---- reading ---- */

/* Key/value strings of an object; FB_ETOOBIG when more than max. */
static fb_err read_pairs(const cJSON *o, fb_state_pair *out, size_t max, size_t *n, int strict)
{
	const cJSON *it;
	size_t cnt = 0;

	cJSON_ArrayForEach(it, o)
	{
		if (!it->string || !cJSON_IsString(it))
			continue;
		if (cnt == max) {
			if (strict)
				return fb_error_set(FB_ETOOBIG, "more than %zu values", max);
			break;
		}
		COPY(out[cnt].key, it->string);
		COPY(out[cnt].value, it->valuestring);
		cnt++;
	}
	*n = cnt;
	return FB_OK;
}

static fb_err read_analysis(fb_state_analysis *an, const cJSON *o, int strict)
{
	const cJSON *a;

	if (strict && cJSON_GetArraySize(fb_json_get(o, "actions")) > FB_STATE_ACTIONS_MAX)
		return fb_error_set(FB_ETOOBIG, "more than %d actions", FB_STATE_ACTIONS_MAX);
	memset(an, 0, sizeof(*an));
	an->present = 1;
	COPY(an->root_cause, fb_json_str(o, "root_cause"));
	cJSON_ArrayForEach(a, fb_json_get(o, "actions"))
	{
		if (cJSON_IsString(a) && an->n_actions < FB_STATE_ACTIONS_MAX)
			COPY(an->actions[an->n_actions++], a->valuestring);
	}
	an->disk = truth(o, "disk");
	fb_msg_parse(&an->root_cause_msg, fb_json_get(o, "root_cause_msg"));
	for (size_t i = 0; i < an->n_actions; i++)
		fb_msg_parse(&an->actions_msg[i],
		             cJSON_GetArrayItem(fb_json_get(o, "actions_msg"), (int)i));
	return FB_OK;
}

static void read_decision(fb_state_decision *d, const cJSON *o)
{
	memset(d, 0, sizeof(*d));
	d->present = 1;
	COPY(d->action, fb_json_str(o, "action"));
	COPY(d->user, fb_json_str(o, "user"));
	COPY(d->note, fb_json_str(o, "note"));
	COPY(d->via, fb_json_str(o, "via"));
	d->at = (int64_t)num(o, "at");
	read_pairs(fb_json_get(o, "set"), d->set, FB_STATE_SETS_MAX, &d->n_set, 0);
}

static void read_apply(fb_state_apply *a, const cJSON *o)
{
	memset(a, 0, sizeof(*a));
	a->present = 1;
	COPY(a->commit, fb_json_str(o, "commit"));
	a->pushed = truth(o, "pushed");
	COPY(a->branch, fb_json_str(o, "branch"));
	a->at = (int64_t)num(o, "at");
}

static fb_err read_verify(fb_state_verify *v, const cJSON *o, int strict)
{
	const cJSON *c;

	if (strict && cJSON_GetArraySize(fb_json_get(o, "checks")) > FB_STATE_CHECKS_MAX)
		return fb_error_set(FB_ETOOBIG, "more than %d checks", FB_STATE_CHECKS_MAX);
	memset(v, 0, sizeof(*v));
	v->present = 1;
	COPY(v->result, fb_json_str(o, "result"));
	COPY(v->reason, fb_json_str(o, "reason"));
	v->checks_done = (long)num(o, "checks_done");
	cJSON_ArrayForEach(c, fb_json_get(o, "checks"))
	{
		fb_state_check *x;
		if (v->n_checks == FB_STATE_CHECKS_MAX)
			break;
		x = &v->checks[v->n_checks++];
		COPY(x->name, fb_json_str(c, "name"));
		COPY(x->result, fb_json_str(c, "result"));
		COPY(x->detail, fb_json_str(c, "detail"));
	}
	return FB_OK;
}

static void read_alert(fb_state_alert *a, const cJSON *o)
{
	memset(a, 0, sizeof(*a));
	a->present = 1;
	COPY(a->status, fb_json_str(o, "status"));
	COPY(a->ends_at, fb_json_str(o, "ends_at"));
	a->at = (int64_t)num(o, "at");
}

static void read_life(fb_state_life *l, const cJSON *o)
{
	memset(l, 0, sizeof(*l));
	l->present = 1;
	COPY(l->ack_by, fb_json_str(o, "ack_by"));
	l->ack_at = (int64_t)num(o, "ack_at");
	COPY(l->assignee, fb_json_str(o, "assignee"));
	COPY(l->assigned_by, fb_json_str(o, "assigned_by"));
	l->snoozed_until = (int64_t)num(o, "snoozed_until");
	COPY(l->snoozed_by, fb_json_str(o, "snoozed_by"));
	COPY(l->resolved_by, fb_json_str(o, "resolved_by"));
	l->resolved_at = (int64_t)num(o, "resolved_at");
	COPY(l->note, fb_json_str(o, "note"));
	COPY(l->closed_reason, fb_json_str(o, "closed_reason"));
	COPY(l->duplicate_of, fb_json_str(o, "duplicate_of"));
	COPY(l->reopened_by, fb_json_str(o, "reopened_by"));
	l->reopened_at = (int64_t)num(o, "reopened_at");
	COPY(l->prior_status, fb_json_str(o, "prior_status"));
	COPY(l->followed_by, fb_json_str(o, "followed_by"));
}

static void read_scalars(fb_state *st, const cJSON *j)
{
	COPY(st->id, fb_json_str(j, "id"));
	COPY(st->source, fb_json_str(j, "source"));
	COPY(st->triggered_by, fb_json_str(j, "triggered_by"));
	st->truncated = truth(j, "truncated");
	st->excerpt_lines = (long)num(j, "excerpt_lines");
	COPY(st->app_hint, fb_json_str(j, "app_hint"));
	COPY(st->app, fb_json_str(j, "app"));
	COPY(st->ns, fb_json_str(j, "namespace"));
	COPY(st->fingerprint, fb_json_str(j, "fingerprint"));
	COPY(st->slack_channel, fb_json_str(j, "slack_channel"));
	COPY(st->slack_thread, fb_json_str(j, "slack_thread"));
	COPY(st->repo, fb_json_str(j, "repo"));
	COPY(st->approved_by, fb_json_str(j, "approved_by"));
	COPY(st->apply_error, fb_json_str(j, "apply_error"));
	st->verify_retried = truth(j, "verify_retried");
	COPY(st->result, fb_json_str(j, "result"));
	COPY(st->error, fb_json_str(j, "error"));
	fb_msg_parse(&st->error_msg, fb_json_get(j, "error_msg"));
	COPY(st->grouped_into, fb_json_str(j, "grouped_into"));
	st->repeats = (long)num(j, "repeats");
	st->last_seen = (int64_t)num(j, "last_seen");
	st->repeat_noted_at = (int64_t)num(j, "repeat_noted_at");
	COPY(st->previous, fb_json_str(j, "previous"));
	read_pairs(fb_json_get(j, "overrides"), st->overrides, FB_STATE_SETS_MAX, &st->n_overrides,
	           0);
}

static int known_key(const char *k)
{
	for (size_t i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
		if (!strcmp(top_keys[i], k))
			return 1;
	return 0;
}

/* pull-request mode and links (README "Pull-request mode"): read. */
static void read_pr_links(fb_state *st, const cJSON *j)
{
	const cJSON *o = fb_json_get(j, "pull_request"), *it;

	if (cJSON_IsObject(o)) {
		fb_state_pr *p = &st->pr;
		p->present = 1;
		p->number = (long)num(o, "number");
		COPY(p->url, fb_json_str(o, "url"));
		COPY(p->branch, fb_json_str(o, "branch"));
		COPY(p->state, fb_json_str(o, "state"));
		COPY(p->merge_commit, fb_json_str(o, "merge_commit"));
		COPY(p->closed_by, fb_json_str(o, "closed_by"));
		p->checks_done = (long)num(o, "checks_done");
	}
	COPY(st->runbook_url, fb_json_str(j, "runbook_url"));
	cJSON_ArrayForEach(it, fb_json_get(j, "links"))
	{
		if (st->n_links == FB_STATE_LINKS_MAX)
			break;
		COPY(st->links[st->n_links].kind, fb_json_str(it, "kind"));
		COPY(st->links[st->n_links].url, fb_json_str(it, "url"));
		st->n_links++;
	}
}

/* ... and written. */
static void put_pr_links(cJSON *o, const fb_state *st)
{
	const fb_state_pr *p = &st->pr;

	if (p->present) {
		cJSON *x = cJSON_AddObjectToObject(o, "pull_request");
		cJSON_AddNumberToObject(x, "number", (double)p->number);
		cJSON_AddStringToObject(x, "url", p->url);
		cJSON_AddStringToObject(x, "branch", p->branch);
		cJSON_AddStringToObject(x, "state", p->state);
		if (*p->merge_commit)
			cJSON_AddStringToObject(x, "merge_commit", p->merge_commit);
		if (*p->closed_by)
			cJSON_AddStringToObject(x, "closed_by", p->closed_by);
		cJSON_AddNumberToObject(x, "checks_done", (double)p->checks_done);
	}
	if (*st->runbook_url)
		cJSON_AddStringToObject(o, "runbook_url", st->runbook_url);
	if (st->n_links) {
		cJSON *arr = cJSON_AddArrayToObject(o, "links");
		for (size_t i = 0; i < st->n_links; i++) {
			cJSON *l = cJSON_CreateObject();
			cJSON_AddStringToObject(l, "kind", st->links[i].kind);
			cJSON_AddStringToObject(l, "url", st->links[i].url);
			cJSON_AddItemToArray(arr, l);
		}
	}
}

static fb_err read_objects(fb_state *st, const cJSON *j)
{
	const cJSON *o, *d;
	fb_err rc = FB_OK;

	if (cJSON_IsObject(o = fb_json_get(j, "classification")))
		rc = fb_classification_parse(&st->classification, o);
	if (rc == FB_ETOOBIG) { /* a stored state always loads: keep what fits */
		cJSON *cut = cJSON_Duplicate(o, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(cut, "apps");
		cJSON_DeleteItemFromObjectCaseSensitive(cut, "facts");
		rc = fb_classification_parse(&st->classification, cut);
		cJSON_Delete(cut);
	}
	if (!rc && cJSON_IsObject(o = fb_json_get(j, "analysis")))
		rc = read_analysis(&st->analysis, o, 0);
	if (!rc && cJSON_IsObject(o = fb_json_get(j, "proposal")))
		rc = fb_proposal_parse(&st->proposal, o, 0);
	if (!rc && cJSON_IsObject(o = fb_json_get(j, "verify")))
		rc = read_verify(&st->verify, o, 0);
	if (cJSON_IsObject(o = fb_json_get(j, "decision")))
		read_decision(&st->decision, o);
	cJSON_ArrayForEach(d, fb_json_get(j, "decisions"))
	{
		fb_state_decision x;
		if (cJSON_IsObject(d)) {
			read_decision(&x, d);
			fb_state_decision_push(st, &x);
		}
	}
	if (cJSON_IsObject(o = fb_json_get(j, "apply")))
		read_apply(&st->apply, o);
	if (cJSON_IsObject(o = fb_json_get(j, "alert")))
		read_alert(&st->alert, o);
	if (cJSON_IsObject(o = fb_json_get(j, "lifecycle")))
		read_life(&st->life, o);
	read_pr_links(st, j);
	return rc;
}

static fb_err keep_unknown(fb_state *st, const cJSON *j)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, j)
	{
		if (!it->string || known_key(it->string))
			continue;
		if (!st->extra && !(st->extra = cJSON_CreateObject()))
			return fb_error_set(FB_ENOMEM, "out of memory");
		cJSON_AddItemToObject(st->extra, it->string, cJSON_Duplicate(it, 1));
	}
	return FB_OK;
}

fb_err fb_state_new(fb_state **out)
{
	fb_state *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st || !(st->excerpt = strdup(""))) {
		free(st);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	st->proposal.capped = -1;
	*out = st;
	return FB_OK;
}

fb_err fb_state_parse(const char *json, fb_state **out)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	fb_state *st = NULL;
	fb_err rc;

	*out = NULL;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return fb_error_set(FB_EDB, "the incident state is not a JSON object");
	}
	if ((rc = fb_state_new(&st))) {
		cJSON_Delete(j);
		return rc;
	}
	read_scalars(st, j);
	rc = fb_state_set_excerpt(st, fb_json_str(j, "excerpt"));
	if (!rc)
		rc = read_objects(st, j);
	if (!rc)
		rc = keep_unknown(st, j);
	cJSON_Delete(j);
	if (rc) {
		fb_state_free(st);
		return rc;
	}
	*out = st;
	return FB_OK;
}

void fb_state_free(fb_state *st)
{
	if (!st)
		return;
	fb_proposal_clear(&st->proposal);
	free(st->excerpt);
	cJSON_Delete(st->extra);
	free(st);
}

fb_err fb_state_set_excerpt(fb_state *st, const char *text)
{
	char *s = dup_str(text);
	if (!s)
		return fb_error_set(FB_ENOMEM, "out of memory");
	free(st->excerpt);
	st->excerpt = s;
	return FB_OK;
}

fb_err fb_state_set_analysis(fb_state *st, const cJSON *an)
{
	return read_analysis(&st->analysis, an, 1);
}

fb_err fb_state_set_proposal(fb_state *st, const cJSON *prop)
{
	fb_state_proposal p = {.capped = -1};
	fb_err rc = fb_proposal_parse(&p, prop, 1);
	if (rc)
		return rc;
	fb_proposal_clear(&st->proposal);
	st->proposal = p;
	return FB_OK;
}

fb_err fb_state_set_verify(fb_state *st, const cJSON *v)
{
	return read_verify(&st->verify, v, 1);
}

fb_err fb_state_override_set(fb_state *st, const char *path, const char *value)
{
	size_t i;
	for (i = 0; i < st->n_overrides; i++)
		if (!strcmp(st->overrides[i].key, path))
			break;
	if (i == FB_STATE_SETS_MAX)
		return fb_error_set(FB_ETOOBIG, "more than %d edited values", FB_STATE_SETS_MAX);
	COPY(st->overrides[i].key, path);
	COPY(st->overrides[i].value, value);
	if (i == st->n_overrides)
		st->n_overrides++;
	return FB_OK;
}

void fb_state_decision_push(fb_state *st, const fb_state_decision *d)
{
	if (st->n_decisions == FB_STATE_DECISIONS_MAX) {
		memmove(&st->decisions[0], &st->decisions[1],
		        (FB_STATE_DECISIONS_MAX - 1) * sizeof(st->decisions[0]));
		st->n_decisions--;
	}
	st->decisions[st->n_decisions] = *d;
	st->decisions[st->n_decisions++].present = 1;
}

const fb_state_decision *fb_state_last_decision(const fb_state *st)
{
	return st->n_decisions ? &st->decisions[st->n_decisions - 1] : NULL;
}

/* ---- writing ---- */

static void put_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddStringToObject(o, k, v ? v : "");
}

/* A string that exists only when it says something. */
static void put_opt(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
}

static cJSON *pairs_cjson(const fb_state_pair *p, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; o && i < n; i++) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, p[i].key);
		cJSON_AddStringToObject(o, p[i].key, p[i].value);
	}
	return o;
}

static cJSON *analysis_cjson(const fb_state_analysis *an)
{
	cJSON *o = cJSON_CreateObject(), *acts;
	put_str(o, "root_cause", an->root_cause);
	acts = cJSON_AddArrayToObject(o, "actions");
	for (size_t i = 0; i < an->n_actions; i++)
		cJSON_AddItemToArray(acts, cJSON_CreateString(an->actions[i]));
	cJSON_AddBoolToObject(o, "disk", an->disk);
	if (*an->root_cause_msg.key) {
		cJSON *msgs = cJSON_CreateArray();
		cJSON_AddItemToObject(o, "root_cause_msg", fb_msg_json(&an->root_cause_msg));
		for (size_t i = 0; i < an->n_actions; i++) {
			cJSON *m = fb_msg_json(&an->actions_msg[i]);
			cJSON_AddItemToArray(msgs, m ? m : cJSON_CreateNull());
		}
		cJSON_AddItemToObject(o, "actions_msg", msgs);
	}
	return o;
}

static cJSON *decision_cjson(const fb_state_decision *d)
{
	cJSON *o = cJSON_CreateObject();
	put_str(o, "action", d->action);
	put_str(o, "user", d->user);
	put_str(o, "note", d->note);
	put_opt(o, "via", d->via);
	if (d->at)
		cJSON_AddNumberToObject(o, "at", (double)d->at);
	/* a person's decision carries its values, even none; policy's has none */
	if (*d->via || d->n_set)
		cJSON_AddItemToObject(o, "set", pairs_cjson(d->set, d->n_set));
	return o;
}

static cJSON *apply_cjson(const fb_state_apply *a)
{
	cJSON *o = cJSON_CreateObject();
	put_str(o, "commit", a->commit);
	cJSON_AddBoolToObject(o, "pushed", a->pushed);
	put_str(o, "branch", a->branch);
	cJSON_AddNumberToObject(o, "at", (double)a->at);
	return o;
}

static cJSON *verify_cjson(const fb_state_verify *v)
{
	cJSON *o = cJSON_CreateObject();
	put_str(o, "result", v->result);
	put_str(o, "reason", v->reason);
	if (v->n_checks || v->checks_done) {
		cJSON *checks = cJSON_AddArrayToObject(o, "checks");
		for (size_t i = 0; i < v->n_checks; i++) {
			cJSON *c = cJSON_CreateObject();
			put_str(c, "name", v->checks[i].name);
			put_str(c, "result", v->checks[i].result);
			put_str(c, "detail", v->checks[i].detail);
			cJSON_AddItemToArray(checks, c);
		}
	}
	if (v->checks_done)
		cJSON_AddNumberToObject(o, "checks_done", (double)v->checks_done);
	return o;
}

static cJSON *alert_cjson(const fb_state_alert *a)
{
	cJSON *o = cJSON_CreateObject();
	put_str(o, "status", a->status);
	put_str(o, "ends_at", a->ends_at);
	if (a->at)
		cJSON_AddNumberToObject(o, "at", (double)a->at);
	return o;
}

static void put_num(cJSON *o, const char *k, double v)
{
	if (v != 0)
		cJSON_AddNumberToObject(o, k, v);
}

static cJSON *life_cjson(const fb_state_life *l)
{
	cJSON *o = cJSON_CreateObject();
	put_opt(o, "ack_by", l->ack_by);
	put_num(o, "ack_at", (double)l->ack_at);
	put_opt(o, "assignee", l->assignee);
	put_opt(o, "assigned_by", l->assigned_by);
	put_num(o, "snoozed_until", (double)l->snoozed_until);
	put_opt(o, "snoozed_by", l->snoozed_by);
	put_opt(o, "resolved_by", l->resolved_by);
	put_num(o, "resolved_at", (double)l->resolved_at);
	put_opt(o, "note", l->note);
	put_opt(o, "closed_reason", l->closed_reason);
	put_opt(o, "duplicate_of", l->duplicate_of);
	put_opt(o, "reopened_by", l->reopened_by);
	put_num(o, "reopened_at", (double)l->reopened_at);
	put_opt(o, "prior_status", l->prior_status);
	put_opt(o, "followed_by", l->followed_by);
	return o;
}

/* The keys every stage writes, in the order the stages write them. */
static void put_early(cJSON *o, const fb_state *st)
{
	put_str(o, "id", st->id);
	put_str(o, "source", st->source);
	put_str(o, "triggered_by", st->triggered_by);
	put_str(o, "excerpt", st->excerpt);
	cJSON_AddBoolToObject(o, "truncated", st->truncated);
	put_opt(o, "app_hint", st->app_hint);
	put_opt(o, "slack_channel", st->slack_channel);
	put_opt(o, "slack_thread", st->slack_thread);
	put_opt(o, "fingerprint", st->fingerprint);
	if (st->decision.present)
		cJSON_AddItemToObject(o, "decision", decision_cjson(&st->decision));
	if (st->n_overrides)
		cJSON_AddItemToObject(o, "overrides", pairs_cjson(st->overrides, st->n_overrides));
	put_num(o, "excerpt_lines", (double)st->excerpt_lines);
	if (st->classification.present || *st->app || *st->ns) {
		put_str(o, "app", st->app);
		put_str(o, "namespace", st->ns);
	}
	if (st->classification.present)
		cJSON_AddItemToObject(o, "classification",
		                      fb_classification_json(&st->classification));
	if (st->analysis.present)
		cJSON_AddItemToObject(o, "analysis", analysis_cjson(&st->analysis));
	if (st->proposal.present)
		cJSON_AddItemToObject(o, "proposal", fb_proposal_json(&st->proposal));
	put_opt(o, "repo", st->repo);
}

static void put_late(cJSON *o, const fb_state *st)
{
	if (st->n_decisions) {
		cJSON *h = cJSON_AddArrayToObject(o, "decisions");
		for (size_t i = 0; i < st->n_decisions; i++)
			cJSON_AddItemToArray(h, decision_cjson(&st->decisions[i]));
	}
	put_opt(o, "approved_by", st->approved_by);
	if (st->apply.present)
		cJSON_AddItemToObject(o, "apply", apply_cjson(&st->apply));
	put_opt(o, "apply_error", st->apply_error);
	if (st->verify.present)
		cJSON_AddItemToObject(o, "verify", verify_cjson(&st->verify));
	if (st->verify_retried)
		cJSON_AddTrueToObject(o, "verify_retried");
	put_opt(o, "result", st->result);
	put_opt(o, "error", st->error);
	if (*st->error_msg.key)
		cJSON_AddItemToObject(o, "error_msg", fb_msg_json(&st->error_msg));
	put_opt(o, "grouped_into", st->grouped_into);
	put_num(o, "repeats", (double)st->repeats);
	put_num(o, "last_seen", (double)st->last_seen);
	put_num(o, "repeat_noted_at", (double)st->repeat_noted_at);
	if (st->alert.present)
		cJSON_AddItemToObject(o, "alert", alert_cjson(&st->alert));
	if (st->life.present)
		cJSON_AddItemToObject(o, "lifecycle", life_cjson(&st->life));
	put_opt(o, "previous", st->previous);
	put_pr_links(o, st);
}

cJSON *fb_state_to_cjson(const fb_state *st)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *it;

	if (!o)
		return NULL;
	put_early(o, st);
	put_late(o, st);
	cJSON_ArrayForEach(it, st->extra)
	{
		if (!cJSON_GetObjectItemCaseSensitive(o, it->string))
			cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
	}
	return o;
}

fb_err fb_state_to_json(const fb_state *st, char **out)
{
	cJSON *o = fb_state_to_cjson(st);

	*out = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!*out)
		return fb_error_set(FB_ENOMEM, "out of memory");
	return FB_OK;
}
