/*
 * graph.c - owns the incident graph runner: creating incidents, running
 * their due jobs node by node, committing after every node, retrying
 * failed nodes with backoff, and recording decisions.  Runs on the engine
 * thread in the daemon (the only writer), or the main thread of a CLI
 * command; the store connection it is given belongs to that thread.
 *
 * The commit after a node holds everything the node changed: its state, the denormalised columns, a checkpoint, a timeline line, and the
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

#include "firebreak/graph.h"
#include "firebreak/lifecycle.h"
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

/* Copies the columns a list or a lookup needs out of the state. */
static void denormalise(fb_incident_row *row, const fb_state *st)
{
	snprintf(row->category, sizeof(row->category), "%s", st->classification.category);
	snprintf(row->severity, sizeof(row->severity), "%s", st->classification.severity);
	snprintf(row->app, sizeof(row->app), "%s", st->app);
	snprintf(row->ns, sizeof(row->ns), "%s", st->ns);
	snprintf(row->fingerprint, sizeof(row->fingerprint), "%s", st->fingerprint);
}

/* Writes st as the row's state. */
static fb_err store_state(fb_incident_row *row, const fb_state *st)
{
	char *json = NULL;
	fb_err rc = fb_state_to_json(st, &json);
	if (rc)
		return rc;
	free(row->state);
	row->state = json;
	return FB_OK;
}

/* The state a new incident starts with: the masked excerpt and what the
 * signal said. */
static fb_err first_state(const fb_signal *sig, const char *id, fb_state **out)
{
	fb_state *st = NULL;
	char *masked = NULL;
	fb_err rc;

	*out = NULL;
	if (!sig->text || sig->len == 0)
		return fb_error_set(FB_EINVAL, "the log excerpt is empty");
	if ((rc = fb_mask(sig->text, sig->len > EXCERPT_MAX ? EXCERPT_MAX : sig->len, &masked)))
		return rc;
	if ((rc = fb_state_new(&st)) || (rc = fb_state_set_excerpt(st, masked))) {
		free(masked);
		fb_state_free(st);
		return rc;
	}
	free(masked);
	fb_state_copy(st->id, sizeof(st->id), id);
	fb_state_copy(st->source, sizeof(st->source), sig->source ? sig->source : "cli");
	fb_state_copy(st->triggered_by, sizeof(st->triggered_by), sig->triggered_by);
	st->truncated = sig->len > EXCERPT_MAX;
	fb_state_copy(st->app_hint, sizeof(st->app_hint), sig->app);
	fb_state_copy(st->slack_channel, sizeof(st->slack_channel), sig->channel);
	fb_state_copy(st->fingerprint, sizeof(st->fingerprint), sig->fingerprint);
	if (sig->decision) {
		st->decision = *sig->decision;
		st->decision.present = 1;
		char *note = fb_mask_str(st->decision.note); /* typed with --yes */
		fb_state_copy(st->decision.note, sizeof(st->decision.note), note ? note : "");
		free(note);
	}
	for (size_t i = 0; i < sig->n_overrides && !rc; i++)
		rc = fb_state_override_set(st, sig->overrides[i].key, sig->overrides[i].value);
	if (rc) {
		fb_state_free(st);
		return rc;
	}
	*out = st;
	return FB_OK;
}

fb_err fb_graph_create(const fb_graph_env *env, const fb_signal *sig, char id[64])
{
	fb_incident_row row = {0};
	fb_state *state = NULL;
	fb_err rc;

	new_id(id);
	if ((rc = first_state(sig, id, &state)))
		return rc;
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.status, sizeof(row.status), "open");
	snprintf(row.node, sizeof(row.node), "collect");
	snprintf(row.source, sizeof(row.source), "%s", sig->source ? sig->source : "cli");
	snprintf(row.fingerprint, sizeof(row.fingerprint), "%s",
	         sig->fingerprint ? sig->fingerprint : "");
	row.created_at = row.updated_at = fb_now_ms();

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
		fb_state_copy(state->id, sizeof(state->id), id);
	}
	fb_error_clear();
	if (!rc)
		rc = store_state(&row, state);
	fb_state_free(state);
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

static const char *final_status(const fb_state *state)
{
	return *state->result ? state->result : "resolved";
}

/* The transaction after a node: everything it changed, or nothing. */
static fb_err commit_step(const fb_graph_env *env, fb_incident_row *row, const fb_state *state,
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
	if ((rc = store_state(row, state)))
		return rc;

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
		/* from the stored state: the failed node's changes are not kept */
		fb_state *state = NULL;
		fb_step st = {.next = "report", .outcome = "error"};
		if (fb_state_parse(row->state, &state))
			return fb_error_set(FB_EDB, "incident %s has unreadable state", row->id);
		fb_state_copy(state->error, sizeof(state->error), detail);
		{ /* the card says it in its locale (msg.h) */
			char n[24], max[24];
			snprintf(n, sizeof(n), "%ld", job->attempts + 1);
			snprintf(max, sizeof(max), "%ld", env->cfg->engine.max_attempts);
			fb_msg_init(&state->error_msg, "error_node_failed");
			fb_msg_set(&state->error_msg, "node", job->node);
			fb_msg_set(&state->error_msg, "attempt", n);
			fb_msg_set(&state->error_msg, "max", max);
			fb_msg_set(&state->error_msg, "error", msg);
		}
		snprintf(st.detail, sizeof(st.detail), "%s", detail);
		rc = commit_step(env, row, state, job->node, &st);
		fb_state_free(state);
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
		/* pure steps run on the engine right after the envelope that
		 * resumed them: give the io thread a moment to send the acks
		 * already handed to it, so the crash is the one the tests
		 * mean -- after the ack, before the next step */
		struct timespec ts = {0, 200 * 1000000L};
		fb_log(FB_LOG_WARN, "test.crash", "after=%s", node);
		nanosleep(&ts, NULL);
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
	fb_state *state; /* the node's own copy */
	const fb_node *node;
	fb_step st;
	fb_err rc;
	char err[1024];
};

void fb_graph_task_free(fb_graph_task *t)
{
	if (!t)
		return;
	fb_state_free(t->state);
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

/*
 * Where the card's thread is, once its ts is known: a permalink when
 * auth.test told the workspace's URL, else channel/ts.  It goes into the
 * Slack-Thread: trailer of every commit the incident makes, and is
 * stored with the next step like any other change of the state.
 */
static void thread_link(const fb_graph_env *env, const fb_incident_row *row, fb_state *st)
{
	char ts[32];
	size_t j = 0;

	if (st->slack_thread[0] || !row->card_ts[0] || !row->card_channel[0])
		return;
	if (!env->slack_url || !*env->slack_url) {
		snprintf(st->slack_thread, sizeof(st->slack_thread), "%s/%s", row->card_channel,
		         row->card_ts);
		return;
	}
	for (const char *p = row->card_ts; *p && j < sizeof(ts) - 1; p++)
		if (*p != '.')
			ts[j++] = *p;
	ts[j] = '\0';
	snprintf(st->slack_thread, sizeof(st->slack_thread), "%s%sarchives/%s/p%s", env->slack_url,
	         env->slack_url[strlen(env->slack_url) - 1] == '/' ? "" : "/", row->card_channel,
	         ts);
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
	if (!strcmp(t->job.node, FB_LIFECYCLE_WAKE_NODE)) { /* a snooze ends: no node runs */
		free(t);
		rc = fb_lifecycle_do(
		    env, &(fb_life_op){
		             .op = FB_LIFE_WAKE, .id = id, .user = "firebreak", .via = "timer"});
		if (rc && rc != FB_ENOMEM && fb_store_begin(env->store) == FB_OK) {
			/* a timer that cannot run must not come back every round */
			if (fb_store_job_clear(env->store, id) || fb_store_commit(env->store))
				fb_store_rollback(env->store);
		}
		return rc;
	}
	if ((rc = fb_store_incident_get(env->store, id, &t->row))) {
		fb_graph_task_free(t);
		return rc;
	}
	if (!(t->node = fb_nodes_find(t->job.node))) {
		fb_graph_task_free(t);
		return fb_error_set(FB_EDB, "incident %s: unknown node %s", id, t->job.node);
	}
	if (fb_state_parse(t->row->state, &t->state)) {
		fb_graph_task_free(t);
		return fb_error_set(FB_EDB, "incident %s has unreadable state", id);
	}
	thread_link(env, t->row, t->state);
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
	       !strcmp(s, "failed") || !strcmp(s, "grouped") || !strcmp(s, "closed");
}

/* A won't-fix is closed for good: its repeats are counted on it. */
static int wontfix(const fb_incident_row *x)
{
	fb_state *xs = NULL;
	int r = !strcmp(x->status, "closed") && fb_state_parse(x->state, &xs) == FB_OK &&
	        !strcmp(xs->life.closed_reason, "wontfix");
	fb_state_free(xs);
	fb_error_clear();
	return r;
}

/*
 * The earlier incident with this fingerprint.  The signal is one more
 * sighting of it (*stale = 0) when it is open, ended within the cooldown,
 * or closed as won't-fix; when it ended before the cooldown the signal
 * stands on its own and is linked to it (*stale = 1).  NULL: no such one.
 */
static fb_incident_row *repeat_of(const fb_graph_env *env, const char *id, const char *fp,
                                  int *stale)
{
	fb_incident_row *x = NULL;

	*stale = 0;
	if (!fp || !*fp || fb_store_incident_by_fingerprint(env->store, fp, id, &x) != FB_OK) {
		fb_error_clear();
		return NULL;
	}
	if (!strcmp(x->status, "grouped")) {
		fb_incident_row_free(x);
		return NULL;
	}
	*stale = finished_status(x->status) &&
	         fb_now_ms() - x->updated_at > env->cfg->engine.cooldown * 1000LL && !wontfix(x);
	return x;
}

/* Adds one sighting to x, in the caller's transaction; the card shows
 * the count, the thread hears of it at most every repeat_note_interval,
 * and never while x is snoozed. */
static fb_err count_repeat(const fb_graph_env *env, fb_incident_row *x, const char *id)
{
	fb_state *xs = NULL;
	int64_t now = fb_now_ms();
	char detail[200];
	fb_err rc;

	if (fb_state_parse(x->state, &xs))
		return fb_error_set(FB_EDB, "incident %s has unreadable state", x->id);
	int note = (!xs->repeat_noted_at ||
	            now - xs->repeat_noted_at >= env->cfg->engine.repeat_note_interval * 1000LL) &&
	           xs->life.snoozed_until <= now;
	long count = xs->repeats + 1;
	xs->repeats = count;
	xs->last_seen = now;
	if (note)
		xs->repeat_noted_at = now;
	if ((rc = store_state(x, xs))) {
		fb_state_free(xs);
		return rc;
	}
	x->updated_at = finished_status(x->status) ? x->updated_at : now;
	snprintf(detail, sizeof(detail), "seen again (%ld more time%s): %s", count,
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
	fb_state_free(xs);
	return rc;
}

/*
 * classify gave this incident its fingerprint: a repeat folds into the
 * incident it repeats (in the same transaction as this step) and ends
 * (*done = 1); a repeat of one resolved before the cooldown goes on as a
 * new incident linked to it, the step committed here (*done = 2).
 */
static fb_err fold_repeat(const fb_graph_env *env, fb_graph_task *t, int *done)
{
	int stale = 0;
	fb_incident_row *x = repeat_of(env, t->row->id, t->state->fingerprint, &stale);
	fb_err rc;

	*done = 0;
	if (!x)
		return FB_OK;
	if (!stale) {
		fb_state_copy(t->state->result, sizeof(t->state->result), "grouped");
		fb_state_copy(t->state->grouped_into, sizeof(t->state->grouped_into), x->id);
		snprintf(t->st.next, sizeof(t->st.next), "end");
		snprintf(t->st.detail, sizeof(t->st.detail), "a repeat of %s", x->id);
	}
	if ((rc = fb_store_begin(env->store)))
		goto out;
	rc = stale ? fb_lifecycle_link_repeat(env, x, t->state) : count_repeat(env, x, t->row->id);
	if (!rc)
		rc = commit_step(env, t->row, t->state, t->node->name, &t->st);
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	*done = rc ? 0 : stale ? 2 : 1;
	if (!rc)
		fb_log(FB_LOG_INFO, stale ? "incident.follows" : "incident.grouped",
		       "id=%s other=%s", t->row->id, x->id);
out:
	fb_incident_row_free(x);
	return rc;
}

fb_err fb_graph_fold_signal(const fb_graph_env *env, const char *fp, const char *by, char into[64])
{
	int stale = 0;
	fb_incident_row *x = repeat_of(env, "", fp, &stale);
	fb_err rc = FB_OK;

	into[0] = '\0';
	if (x && !stale && !(rc = count_repeat(env, x, by)))
		snprintf(into, 64, "%s", x->id);
	fb_incident_row_free(x);
	return rc;
}

/*
 * While the node ran (on a worker, for seconds when an API is slow), the
 * incident may have been written outside the graph's steps: a repeat
 * counted on it, an alert resolved.  Those fields are carried into the
 * state the step commits, so the step does not write them back as they
 * were when it was taken.
 */
static fb_err catch_up(const fb_graph_env *env, fb_graph_task *t)
{
	fb_incident_row *now = NULL;
	fb_state *cur = NULL;
	fb_err rc = fb_store_incident_get(env->store, t->row->id, &now);

	if (rc)
		return rc;
	if (now->updated_at == t->row->updated_at || fb_state_parse(now->state, &cur) != FB_OK) {
		fb_error_clear();
		fb_incident_row_free(now);
		return FB_OK;
	}
	t->state->repeats = cur->repeats;
	t->state->last_seen = cur->last_seen;
	t->state->repeat_noted_at = cur->repeat_noted_at;
	t->state->alert = cur->alert;
	free(t->row->state); /* a node that gives up commits the stored state */
	t->row->state = now->state;
	now->state = NULL;
	t->row->updated_at = now->updated_at;
	fb_state_free(cur);
	fb_incident_row_free(now);
	return FB_OK;
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
	if ((rc = catch_up(env, t)))
		return rc;
	if (t->rc) {
		*more = 1;
		return node_failed(env, t->row, &t->job, t->err);
	}
	int done = 0;
	if (t->st.fold_repeat && (rc = fold_repeat(env, t, &done)))
		return rc;
	if (done == 1)
		return FB_OK;
	if (!done && (rc = commit_step(env, t->row, t->state, t->node->name, &t->st)))
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

void fb_graph_decision(const fb_decision *d, fb_state_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->present = 1;
	fb_state_copy(out->action, sizeof(out->action), d->action);
	fb_state_copy(out->user, sizeof(out->user), d->user);
	fb_state_copy(out->note, sizeof(out->note), d->note);
	fb_state_copy(out->via, sizeof(out->via), d->via ? d->via : "cli");
	out->at = fb_now_ms();
	for (size_t i = 0; i < d->n_sets; i++) {
		const char *eq = strchr(d->sets[i], '=');
		char path[256];
		size_t j;
		if (!eq)
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)(eq - d->sets[i]), d->sets[i]);
		for (j = 0; j < out->n_set && strcmp(out->set[j].key, path); j++)
			;
		if (j == FB_STATE_SETS_MAX)
			continue; /* check_edit refuses more than fit */
		fb_state_copy(out->set[j].key, sizeof(out->set[j].key), path);
		fb_state_copy(out->set[j].value, sizeof(out->set[j].value), eq + 1);
		out->n_set += j == out->n_set;
	}
}

static int proposed_path(const fb_state *state, const char *path)
{
	for (size_t i = 0; i < state->proposal.n_edits; i++)
		if (!strcmp(state->proposal.edits[i].path, path))
			return 1;
	return 0;
}

static fb_err check_edit(const fb_graph_env *env, const fb_state *state, const fb_decision *d)
{
	if (d->n_sets == 0)
		return fb_error_set(FB_EINVAL, "edit needs at least one --set PATH=VALUE");
	if (d->n_sets > FB_STATE_SETS_MAX)
		return fb_error_set(FB_EINVAL, "at most %d values in one edit", FB_STATE_SETS_MAX);
	char paths[FB_STATE_SETS_MAX][256];
	fb_action_override sets[FB_STATE_SETS_MAX];
	for (size_t i = 0; i < d->n_sets; i++) {
		const char *eq = strchr(d->sets[i], '=');
		if (!eq || eq == d->sets[i])
			return fb_error_set(FB_EINVAL, "\"%s\" is not PATH=VALUE", d->sets[i]);
		snprintf(paths[i], sizeof(paths[i]), "%.*s", (int)(eq - d->sets[i]), d->sets[i]);
		if (!proposed_path(state, paths[i]))
			return fb_error_set(FB_EINVAL, "%s is not one of the proposed values",
			                    paths[i]);
		/* an edit goes into a commit: never a secret, even a typed one */
		if (fb_mask_finds(d->sets[i], strlen(d->sets[i])))
			return fb_error_set(
			    FB_EINVAL,
			    "the value for %s looks like a secret (a token, key or "
			    "password); secrets do not go into the GitOps repository",
			    paths[i]);
		fb_err rc = fb_action_validate(env->cfg, NULL, paths[i], eq + 1);
		if (rc)
			return rc;
		sets[i] = (fb_action_override){.path = paths[i], .value = eq + 1};
	}
	return fb_action_coherent(&state->proposal, sets, d->n_sets); /* the values together */
}

/* Every reason a decision may not be taken, first one wins. */
static fb_err check_decision(const fb_graph_env *env, const fb_incident_row *row,
                             const fb_state *state, const fb_decision *d)
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
	    !strcmp(state->triggered_by, d->user))
		return fb_error_set(
		    FB_ESTATE, "policy.four_eyes: %s raised this incident and may not approve it",
		    d->user);
	/* -1 ("the current one") is the CLI's alone: a click carries the
	 * version its card showed, and anything else is stale */
	if ((d->version >= 0 || !d->via || strcmp(d->via, "cli")) && d->version != row->version)
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

	char *masked = fb_mask_str(fb_error_last()); /* it may quote what was typed */
	snprintf(reason, sizeof(reason), "%s", masked ? masked : "refused");
	free(masked);
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

static fb_err decide(const fb_graph_env *env, const char *id, const fb_decision *d);

/* The one way a decision enters: its note, what a person typed, is
 * masked first (mask.h), for SQLite, the card, the thread and the API. */
fb_err fb_graph_decide(const fb_graph_env *env, const char *id, const fb_decision *d)
{
	fb_decision md = *d;
	char *note = d->note ? fb_mask_str(d->note) : NULL;
	if (d->note && !note)
		return fb_error_set(FB_ENOMEM, "out of memory");
	md.note = note;
	fb_err rc = decide(env, id, &md);
	free(note);
	return rc;
}

static fb_err decide(const fb_graph_env *env, const char *id, const fb_decision *d)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	fb_err rc;

	if ((rc = fb_store_begin(env->store)))
		return rc;
	if ((rc = fb_store_incident_get(env->store, id, &row))) {
		fb_store_rollback(env->store);
		return rc;
	}
	if (fb_state_parse(row->state, &state)) {
		fb_store_rollback(env->store);
		fb_incident_row_free(row);
		return fb_error_set(FB_EDB, "incident %s has unreadable state", id);
	}
	rc = check_decision(env, row, state, d);
	if (rc) {
		rc = record_refusal(env, id, d, rc);
		goto out;
	}
	fb_graph_decision(d, &state->decision);
	snprintf(row->status, sizeof(row->status), "open");
	row->updated_at = fb_now_ms();
	rc = store_state(row, state);
	if (!rc)
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
	fb_state_free(state);
	fb_incident_row_free(row);
	return rc;
}
