/*
 * graph.c - owns the incident graph runner: creating incidents, running
 * their due jobs node by node, committing after every node, retrying
 * failed nodes with backoff, and recording decisions.  Runs on the engine
 * thread in the daemon (the only writer), or the main thread of a CLI
 * command; the store connection it is given belongs to that thread.
 *
 * The commit after a node holds everything the node changed: the merged
 * state, the denormalised columns, a checkpoint, a timeline line, and the
 * next job.  So the database always says exactly which node runs next,
 * and a node that runs twice after a crash (its side effect done, its
 * commit lost) must be idempotent: apply checks for its own commit first.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "firebreak/json.h"
#include "firebreak/graph.h"
#include "firebreak/log.h"
#include "firebreak/mask.h"
#include "firebreak/action.h"

#define EXCERPT_MAX (256u * 1024u)
#define MAX_STEPS 64 /* a runaway edit/verify loop stops here */

static void new_id(char id[64])
{
	unsigned char r[2] = {0, 0};
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		r[0] = (unsigned char)(clock() & 0xff);
		r[1] = (unsigned char)getpid();
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
	snprintf(id, 64, "incident-%s-%02x%02x", ts, r[0], r[1]);
}

/* Top-level merge: the patch's keys replace the state's; JSON null
 * removes a key. */
static void merge(cJSON *state, const cJSON *patch)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, patch)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(state, it->string);
		if (!cJSON_IsNull(it))
			cJSON_AddItemToObject(state, it->string, cJSON_Duplicate(it, 1));
	}
}

/* Copies the columns a list or a lookup needs out of the state. */
static void denormalise(fb_incident_row *row, const cJSON *state)
{
	const cJSON *cls = cJSON_GetObjectItemCaseSensitive(state, "classification");
	snprintf(row->category, sizeof(row->category), "%s", fb_json_str(cls, "category"));
	snprintf(row->severity, sizeof(row->severity), "%s", fb_json_str(cls, "severity"));
	snprintf(row->app, sizeof(row->app), "%s", fb_json_str(state, "app"));
	snprintf(row->ns, sizeof(row->ns), "%s", fb_json_str(state, "namespace"));
	snprintf(row->fingerprint, sizeof(row->fingerprint), "%s",
	         fb_json_str(state, "fingerprint"));
}

/* The state carries the id too: rewrite it after a redraw. */
static void patch_id(fb_incident_row *row, const char *id)
{
	cJSON *st = cJSON_Parse(row->state);
	char *out;
	if (!st)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(st, "id");
	cJSON_AddStringToObject(st, "id", id);
	if ((out = cJSON_PrintUnformatted(st))) {
		free(row->state);
		row->state = out;
	}
	cJSON_Delete(st);
}

fb_err fb_graph_create(const fb_graph_env *env, const fb_signal *sig, char id[64])
{
	fb_incident_row row = {0};
	char *masked = NULL;
	cJSON *state = cJSON_CreateObject();
	fb_err rc;

	if (!state)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (!sig->text || sig->len == 0) {
		cJSON_Delete(state);
		return fb_error_set(FB_EINVAL, "the log excerpt is empty");
	}
	rc = fb_mask(sig->text, sig->len > EXCERPT_MAX ? EXCERPT_MAX : sig->len, &masked);
	if (rc) {
		cJSON_Delete(state);
		return rc;
	}
	new_id(id);
	cJSON_AddStringToObject(state, "id", id);
	cJSON_AddStringToObject(state, "source", sig->source ? sig->source : "cli");
	cJSON_AddStringToObject(state, "triggered_by", sig->triggered_by ? sig->triggered_by : "");
	cJSON_AddStringToObject(state, "excerpt", masked);
	cJSON_AddBoolToObject(state, "truncated", sig->len > EXCERPT_MAX);
	if (sig->app && *sig->app)
		cJSON_AddStringToObject(state, "app_hint", sig->app);
	if (sig->channel && *sig->channel)
		cJSON_AddStringToObject(state, "slack_channel", sig->channel);
	if (sig->fingerprint && *sig->fingerprint)
		cJSON_AddStringToObject(state, "fingerprint", sig->fingerprint);
	if (sig->decision)
		cJSON_AddItemToObject(state, "decision", cJSON_Duplicate(sig->decision, 1));
	if (sig->overrides && cJSON_GetArraySize(sig->overrides) > 0)
		cJSON_AddItemToObject(state, "overrides", cJSON_Duplicate(sig->overrides, 1));
	free(masked);

	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.status, sizeof(row.status), "open");
	snprintf(row.node, sizeof(row.node), "collect");
	snprintf(row.source, sizeof(row.source), "%s", sig->source ? sig->source : "cli");
	snprintf(row.fingerprint, sizeof(row.fingerprint), "%s",
	         sig->fingerprint ? sig->fingerprint : "");
	row.created_at = row.updated_at = fb_now_ms();
	row.state = cJSON_PrintUnformatted(state);
	cJSON_Delete(state);
	if (!row.state)
		return fb_error_set(FB_ENOMEM, "out of memory");

	rc = fb_store_begin(env->store);
	/* ids are per second with 16 random bits: a burst may collide, so an
	 * id already taken is drawn again (we are the only writer) */
	for (int tries = 0; !rc && tries < 8; tries++) {
		fb_incident_row *taken = NULL;
		if (fb_store_incident_get(env->store, row.id, &taken) == FB_ENOTFOUND)
			break;
		fb_incident_row_free(taken);
		new_id(id);
		snprintf(row.id, sizeof(row.id), "%s", id);
		patch_id(&row, id);
	}
	fb_error_clear();
	if (!rc)
		rc = fb_store_incident_insert(env->store, &row);
	if (!rc)
		rc = fb_store_event_add(env->store, &(fb_event){.incident_id = id,
		                                                .actor = sig->triggered_by,
		                                                .kind = FB_EV_CREATED,
		                                                .detail = row.source});
	if (!rc)
		rc = fb_store_job_put(env->store, id, "collect", row.created_at);
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	free(row.state);
	if (!rc)
		fb_log(FB_LOG_INFO, "incident.created", "id=%s source=%s", id, row.source);
	return rc;
}

static const char *final_status(const cJSON *state)
{
	const char *r = fb_json_str(state, "result");
	return *r ? r : "resolved";
}

/* The transaction after a node: everything it changed, or nothing. */
static fb_err commit_step(const fb_graph_env *env, fb_incident_row *row, const cJSON *state,
                          const char *node, const fb_step *st)
{
	fb_err rc;
	int64_t now = fb_now_ms();

	denormalise(row, state);
	if (!strcmp(st->next, "pause")) {
		snprintf(row->status, sizeof(row->status), "waiting");
		snprintf(row->node, sizeof(row->node), "await_decision");
	} else if (!strcmp(st->next, "end")) {
		snprintf(row->status, sizeof(row->status), "%s", final_status(state));
		snprintf(row->node, sizeof(row->node), "end");
	} else {
		snprintf(row->status, sizeof(row->status), "open");
		snprintf(row->node, sizeof(row->node), "%s", st->next);
	}
	if (!strcmp(node, "propose"))
		row->version++;
	row->updated_at = now;
	free(row->state);
	row->state = cJSON_PrintUnformatted(state);
	if (!row->state)
		return fb_error_set(FB_ENOMEM, "out of memory");

	rc = fb_store_begin(env->store);
	if (!rc)
		rc = fb_store_incident_update(env->store, row);
	if (!rc)
		rc = fb_store_checkpoint_add(env->store, row->id, node, st->next, row->state);
	if (!rc)
		rc = fb_store_event_add(env->store, &(fb_event){.incident_id = row->id,
		                                                .actor = "firebreak",
		                                                .kind = FB_EV_STEP,
		                                                .node = node,
		                                                .outcome = st->outcome,
		                                                .detail = st->detail});
	if (!rc && env->on_step)
		rc = env->on_step(env->hook_ctx, env->store, row, state, node, st->detail);
	if (!rc && (!strcmp(st->next, "pause") || !strcmp(st->next, "end")))
		rc = fb_store_job_clear(env->store, row->id);
	else if (!rc)
		rc = fb_store_job_put(env->store, row->id, st->next, now + st->delay_ms);
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	return rc;
}

/* A node failed: retry later with backoff, or give up and report. */
static fb_err node_failed(const fb_graph_env *env, fb_incident_row *row, const fb_job *job,
                          const char *msg)
{
	int64_t delay = env->cfg->engine.retry_delay * 1000LL
	                << (job->attempts < 16 ? job->attempts : 16);
	int give_up = job->attempts + 1 >= env->cfg->engine.max_attempts;
	char detail[1200];
	fb_err rc;

	fb_log(FB_LOG_WARN, "node.failed", "id=%s node=%s attempt=%ld give_up=%d", row->id,
	       job->node, job->attempts + 1, give_up);
	snprintf(detail, sizeof(detail), "%s failed (attempt %ld of %ld): %s", job->node,
	         job->attempts + 1, env->cfg->engine.max_attempts, msg);
	if (give_up) {
		cJSON *state = cJSON_Parse(row->state);
		fb_step st = {.patch = NULL, .next = "report", .outcome = "error"};
		if (!state)
			return fb_error_set(FB_EDB, "incident %s has unreadable state", row->id);
		cJSON_DeleteItemFromObject(state, "error");
		cJSON_AddStringToObject(state, "error", detail);
		snprintf(st.detail, sizeof(st.detail), "%s", detail);
		rc = commit_step(env, row, state, job->node, &st);
		cJSON_Delete(state);
		return rc;
	}
	rc = fb_store_begin(env->store);
	if (!rc)
		rc = fb_store_job_retry(env->store, job->id, fb_now_ms() + delay);
	if (!rc)
		rc =
		    fb_store_event_add(env->store, &(fb_event){.incident_id = row->id,
		                                               .actor = "firebreak",
		                                               .kind = FB_EV_NODE_ERROR,
		                                               .node = job->node,
		                                               .outcome = "retry",
		                                               .value = (double)(job->attempts + 1),
		                                               .detail = detail});
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	return rc;
}

static void crash_hook(const fb_graph_env *env, const char *node)
{
	if (env->crash_after && !strcmp(env->crash_after, node)) {
		fb_log(FB_LOG_WARN, "test.crash", "after=%s", node);
		_exit(137);
	}
}

/*
 * A step in three parts, so that the daemon can run the node on a worker
 * while the engine keeps answering Slack: take (engine: read the due job
 * and the state), run (worker: the node function, no store access),
 * finish (engine: commit the step, or record the failure).
 */
struct fb_graph_task {
	fb_job job;
	fb_incident_row *row;
	cJSON *state;
	const fb_node *node;
	fb_step st;
	fb_err rc;
	char err[1024];
};

void fb_graph_task_free(fb_graph_task *t)
{
	if (!t)
		return;
	cJSON_Delete(t->st.patch);
	cJSON_Delete(t->state);
	fb_incident_row_free(t->row);
	free(t);
}

const char *fb_graph_task_incident(const fb_graph_task *t)
{
	return t->job.incident_id;
}

unsigned fb_graph_task_flags(const fb_graph_task *t)
{
	return t->node->flags;
}

fb_err fb_graph_task_take(const fb_graph_env *env, const char *id, fb_graph_task **out)
{
	fb_graph_task *t;
	fb_err rc;

	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (fb_store_job_get(env->store, id, &t->job) != FB_OK || t->job.run_at > fb_now_ms()) {
		fb_error_clear();
		free(t);
		return FB_OK;
	}
	if ((rc = fb_store_incident_get(env->store, id, &t->row))) {
		fb_graph_task_free(t);
		return rc;
	}
	if (!(t->node = fb_nodes_find(t->job.node))) {
		fb_graph_task_free(t);
		return fb_error_set(FB_EDB, "incident %s: unknown node %s", id, t->job.node);
	}
	if (!(t->state = cJSON_Parse(t->row->state))) {
		fb_graph_task_free(t);
		return fb_error_set(FB_EDB, "incident %s has unreadable state", id);
	}
	*out = t;
	return FB_OK;
}

void fb_graph_task_run(const fb_graph_env *env, fb_graph_task *t)
{
	fb_error_clear();
	t->rc = t->node->run(env, t->state, &t->st);
	if (t->rc)
		snprintf(t->err, sizeof(t->err), "%s", fb_error_last());
}

static int finished_status(const char *s)
{
	return !strcmp(s, "resolved") || !strcmp(s, "rejected") || !strcmp(s, "recorded") ||
	       !strcmp(s, "failed") || !strcmp(s, "grouped");
}

/* The earlier incident this one repeats: open, or resolved within the
 * cooldown.  NULL when this one stands on its own. */
static fb_incident_row *repeat_of(const fb_graph_env *env, const char *id, const char *fp)
{
	fb_incident_row *x = NULL;

	if (!fp || !*fp || fb_store_incident_by_fingerprint(env->store, fp, id, &x) != FB_OK) {
		fb_error_clear();
		return NULL;
	}
	if (!strcmp(x->status, "grouped") ||
	    (finished_status(x->status) &&
	     fb_now_ms() - x->updated_at > env->cfg->engine.cooldown * 1000LL)) {
		fb_incident_row_free(x);
		return NULL;
	}
	return x;
}

/* Adds one sighting to x, in the caller's transaction; the card shows
 * the count, the thread hears of it at most every repeat_note_interval. */
static fb_err count_repeat(const fb_graph_env *env, fb_incident_row *x, const char *id)
{
	cJSON *xs = cJSON_Parse(x->state);
	const cJSON *r = fb_json_get(xs, "repeats"), *noted = fb_json_get(xs, "repeat_noted_at");
	int64_t now = fb_now_ms();
	int note = !cJSON_IsNumber(noted) || now - (int64_t)noted->valuedouble >=
	                                         env->cfg->engine.repeat_note_interval * 1000LL;
	int count = (cJSON_IsNumber(r) ? r->valueint : 0) + 1;
	char detail[200];
	fb_err rc;

	if (!xs)
		return fb_error_set(FB_EDB, "incident %s has unreadable state", x->id);
	cJSON_DeleteItemFromObjectCaseSensitive(xs, "repeats");
	cJSON_DeleteItemFromObjectCaseSensitive(xs, "last_seen");
	cJSON_AddNumberToObject(xs, "repeats", count);
	cJSON_AddNumberToObject(xs, "last_seen", (double)now);
	if (note) {
		cJSON_DeleteItemFromObjectCaseSensitive(xs, "repeat_noted_at");
		cJSON_AddNumberToObject(xs, "repeat_noted_at", (double)now);
	}
	free(x->state);
	x->state = cJSON_PrintUnformatted(xs);
	x->updated_at = finished_status(x->status) ? x->updated_at : now;
	snprintf(detail, sizeof(detail), "seen again (%d more time%s): %s", count,
	         count == 1 ? "" : "s", id);
	rc = fb_store_incident_update(env->store, x);
	if (!rc)
		rc = fb_store_event_add(env->store, &(fb_event){.incident_id = x->id,
		                                                .actor = "firebreak",
		                                                .kind = FB_EV_REPEAT,
		                                                .value = count,
		                                                .detail = id});
	if (!rc && env->on_step)
		rc = env->on_step(env->hook_ctx, env->store, x, xs, "repeat", note ? detail : "");
	cJSON_Delete(xs);
	return rc;
}

/* classify gave this incident its fingerprint: a repeat folds into the
 * incident it repeats (in the same transaction as this step) and ends. */
static fb_err fold_repeat(const fb_graph_env *env, fb_graph_task *t, int *folded)
{
	fb_incident_row *x = repeat_of(env, t->row->id, fb_json_str(t->state, "fingerprint"));
	fb_err rc;

	*folded = 0;
	if (!x)
		return FB_OK;
	cJSON_DeleteItemFromObjectCaseSensitive(t->state, "result");
	cJSON_AddStringToObject(t->state, "result", "grouped");
	cJSON_AddStringToObject(t->state, "grouped_into", x->id);
	snprintf(t->st.next, sizeof(t->st.next), "end");
	snprintf(t->st.detail, sizeof(t->st.detail), "a repeat of %s", x->id);
	if ((rc = fb_store_begin(env->store)))
		goto out;
	rc = count_repeat(env, x, t->row->id);
	if (!rc)
		rc = commit_step(env, t->row, t->state, t->node->name, &t->st);
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	*folded = !rc;
	if (!rc)
		fb_log(FB_LOG_INFO, "incident.grouped", "id=%s into=%s", t->row->id, x->id);
out:
	fb_incident_row_free(x);
	return rc;
}

fb_err fb_graph_fold_signal(const fb_graph_env *env, const char *fp, const char *by, char into[64])
{
	fb_incident_row *x = repeat_of(env, "", fp);
	fb_err rc;

	into[0] = '\0';
	if (!x)
		return FB_OK;
	if (!(rc = count_repeat(env, x, by)))
		snprintf(into, 64, "%s", x->id);
	fb_incident_row_free(x);
	return rc;
}

fb_err fb_graph_task_finish(const fb_graph_env *env, fb_graph_task *t, int *more)
{
	fb_job now;
	fb_err rc;

	*more = 0;
	/* the job must still be the one the node ran for */
	if (fb_store_job_get(env->store, t->job.incident_id, &now) != FB_OK ||
	    now.id != t->job.id) {
		fb_error_clear();
		fb_log(FB_LOG_WARN, "node.discarded", "id=%s node=%s reason=\"the job changed\"",
		       t->job.incident_id, t->node->name);
		return FB_OK;
	}
	if (t->rc) {
		*more = 1;
		return node_failed(env, t->row, &t->job, t->err);
	}
	merge(t->state, t->st.patch);
	if (!strcmp(t->node->name, "classify")) {
		int folded = 0;
		if ((rc = fold_repeat(env, t, &folded)))
			return rc;
		if (folded)
			return FB_OK;
	}
	rc = commit_step(env, t->row, t->state, t->node->name, &t->st);
	if (rc)
		return rc;
	fb_log(FB_LOG_INFO, "node.done", "id=%s node=%s next=%s", t->job.incident_id, t->node->name,
	       t->st.next);
	crash_hook(env, t->node->name);
	*more = t->st.delay_ms == 0 && strcmp(t->st.next, "pause") && strcmp(t->st.next, "end");
	return FB_OK;
}

/* Runs one due job here and now. *more is set when another may be due. */
static fb_err step_once(const fb_graph_env *env, const char *id, int *more)
{
	fb_graph_task *t = NULL;
	fb_err rc = fb_graph_task_take(env, id, &t);

	*more = 0;
	if (rc || !t)
		return rc;
	fb_graph_task_run(env, t);
	rc = fb_graph_task_finish(env, t, more);
	fb_graph_task_free(t);
	return rc;
}

fb_err fb_graph_run(const fb_graph_env *env, const char *id)
{
	int more = 1;
	for (int i = 0; more && i < MAX_STEPS; i++) {
		fb_err rc = step_once(env, id, &more);
		if (rc)
			return rc;
	}
	return FB_OK;
}

fb_err fb_graph_resume_all(const fb_graph_env *env, size_t *ran)
{
	char ids[64][64];
	size_t n = 0;
	fb_err rc;

	*ran = 0;
	for (int round = 0; round < 1000; round++) {
		if ((rc = fb_store_jobs_due(env->store, fb_now_ms(), ids, 64, &n)))
			return rc;
		if (n == 0)
			return FB_OK;
		for (size_t i = 0; i < n; i++) {
			if ((rc = fb_graph_run(env, ids[i])))
				fb_log(FB_LOG_ERROR, "resume.failed", "id=%s error=\"%s\"", ids[i],
				       fb_error_last());
			(*ran)++;
		}
		/* an incident whose retry is scheduled later is not due again */
		if (n < 64)
			break;
	}
	return FB_OK;
}

/* ---- decisions ---- */

cJSON *fb_graph_decision_json(const fb_decision *d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *sets = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "action", d->action);
	cJSON_AddStringToObject(o, "user", d->user ? d->user : "");
	cJSON_AddStringToObject(o, "note", d->note ? d->note : "");
	cJSON_AddStringToObject(o, "via", d->via ? d->via : "cli");
	cJSON_AddNumberToObject(o, "at", (double)fb_now_ms());
	for (size_t i = 0; i < d->n_sets; i++) {
		const char *eq = strchr(d->sets[i], '=');
		char path[256];
		if (!eq)
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)(eq - d->sets[i]), d->sets[i]);
		cJSON_DeleteItemFromObjectCaseSensitive(sets, path);
		cJSON_AddStringToObject(sets, path, eq + 1);
	}
	cJSON_AddItemToObject(o, "set", sets);
	return o;
}

static int proposed_path(const cJSON *state, const char *path)
{
	const cJSON *edits = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(state, "proposal"), "edits");
	const cJSON *e;
	cJSON_ArrayForEach(e, edits) if (!strcmp(fb_json_str(e, "path"), path)) return 1;
	return 0;
}

static fb_err check_edit(const fb_graph_env *env, const cJSON *state, const fb_decision *d)
{
	if (d->n_sets == 0)
		return fb_error_set(FB_EINVAL, "edit needs at least one --set PATH=VALUE");
	for (size_t i = 0; i < d->n_sets; i++) {
		const char *eq = strchr(d->sets[i], '=');
		char path[256];
		if (!eq || eq == d->sets[i])
			return fb_error_set(FB_EINVAL, "\"%s\" is not PATH=VALUE", d->sets[i]);
		snprintf(path, sizeof(path), "%.*s", (int)(eq - d->sets[i]), d->sets[i]);
		if (!proposed_path(state, path))
			return fb_error_set(FB_EINVAL, "%s is not one of the proposed values",
			                    path);
		fb_err rc = fb_action_validate(env->cfg, NULL, path, eq + 1);
		if (rc)
			return rc;
	}
	return FB_OK;
}

/* Every reason a decision may not be taken, first one wins. */
static fb_err check_decision(const fb_graph_env *env, const fb_incident_row *row,
                             const cJSON *state, const fb_decision *d)
{
	const char *a = d->action;

	if (strcmp(a, "approve") && strcmp(a, "reject") && strcmp(a, "edit"))
		return fb_error_set(FB_EINVAL, "unknown decision \"%s\" (approve, reject or edit)",
		                    a);
	if (!d->user || !*d->user)
		return fb_error_set(FB_EINVAL, "a decision needs the user who makes it");
	if (strcmp(row->status, "waiting") != 0)
		return fb_error_set(FB_ESTATE, "%s is not waiting for a decision (status: %s)",
		                    row->id, row->status);
	if (!fb_config_is_approver(env->cfg, d->user))
		return fb_error_set(FB_ESTATE, "%s is not in slack.approvers", d->user);
	if (env->cfg->policy.four_eyes && !strcmp(a, "approve") &&
	    !strcmp(fb_json_str(state, "triggered_by"), d->user))
		return fb_error_set(
		    FB_ESTATE, "policy.four_eyes: %s raised this incident and may not approve it",
		    d->user);
	if (d->version >= 0 && d->version != row->version)
		return fb_error_set(
		    FB_ECONFLICT, "the proposal changed since it was shown (version %ld, now %ld)",
		    d->version, row->version);
	if (!strcmp(a, "edit"))
		return check_edit(env, state, d);
	return FB_OK;
}

static fb_err record_refusal(const fb_graph_env *env, const char *id, const fb_decision *d,
                             fb_err why)
{
	char reason[1024], detail[1200];

	snprintf(reason, sizeof(reason), "%s", fb_error_last());
	snprintf(detail, sizeof(detail), "%s refused: %s", d->action, reason);
	if (fb_store_event_add(env->store,
	                       &(fb_event){.incident_id = id,
	                                   .actor = d->user,
	                                   .kind = FB_EV_REFUSED,
	                                   .outcome = strlen(d->action) < 24 ? d->action : "",
	                                   .detail = detail}) == FB_OK)
		fb_store_commit(env->store);
	else
		fb_store_rollback(env->store);
	fb_log(FB_LOG_INFO, "decision.refused", "id=%s action=%s", id, d->action);
	return fb_error_set(why, "%s", reason);
}

fb_err fb_graph_decide(const fb_graph_env *env, const char *id, const fb_decision *d)
{
	fb_incident_row *row = NULL;
	cJSON *state = NULL;
	fb_err rc;

	if ((rc = fb_store_begin(env->store)))
		return rc;
	if ((rc = fb_store_incident_get(env->store, id, &row))) {
		fb_store_rollback(env->store);
		return rc;
	}
	if (!(state = cJSON_Parse(row->state))) {
		fb_store_rollback(env->store);
		fb_incident_row_free(row);
		return fb_error_set(FB_EDB, "incident %s has unreadable state", id);
	}
	rc = check_decision(env, row, state, d);
	if (rc) {
		rc = record_refusal(env, id, d, rc);
		goto out;
	}
	cJSON_DeleteItemFromObject(state, "decision");
	cJSON_AddItemToObject(state, "decision", fb_graph_decision_json(d));
	snprintf(row->status, sizeof(row->status), "open");
	free(row->state);
	row->state = cJSON_PrintUnformatted(state);
	row->updated_at = fb_now_ms();
	rc = fb_store_incident_update(env->store, row);
	if (!rc) /* value: seconds from creation, for the time-to-decision metric */
		rc = fb_store_event_add(
		    env->store,
		    &(fb_event){.incident_id = id,
		                .actor = d->user,
		                .kind = FB_EV_DECISION,
		                .outcome = d->action,
		                .value = (double)(row->updated_at - row->created_at) / 1000.0,
		                .detail = d->note});
	if (!rc)
		rc = fb_store_job_put(env->store, id, "await_decision", fb_now_ms());
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	else
		fb_log(FB_LOG_INFO, "decision.recorded", "id=%s action=%s", id, d->action);
out:
	cJSON_Delete(state);
	fb_incident_row_free(row);
	return rc;
}
