/*
 * lifecycle.c - owns what people do to an incident besides deciding on a
 * fix (lifecycle.h): acknowledge, assign, snooze (and the durable timer
 * that ends a snooze), resolve, reopen, close as a duplicate or won't-fix,
 * and the link between a resolved incident and the newer one a later
 * repeat opens.  Runs on the engine thread in the daemon (the only
 * writer) or the main thread of a CLI command, on that thread's store.
 *
 * One op is one transaction: the typed state, the status column, a
 * timeline entry, the job (a snooze's timer; none once an incident is
 * resolved or closed) and the card through env->on_step with the node
 * "lifecycle" and the op's name as the detail.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/lifecycle.h"
#include "firebreak/log.h"
#include "firebreak/mask.h"

#define COPY(dst, s) fb_state_copy((dst), sizeof(dst), (s))
#define SNOOZE_MAX_MS (30LL * 24 * 3600 * 1000) /* a month at most */

static const char *const names[] = {
    [FB_LIFE_ACK] = "ack",         [FB_LIFE_ASSIGN] = "assign", [FB_LIFE_SNOOZE] = "snooze",
    [FB_LIFE_RESOLVE] = "resolve", [FB_LIFE_REOPEN] = "reopen", [FB_LIFE_CLOSE] = "close",
    [FB_LIFE_WAKE] = "snooze_end",
};

const char *fb_lifecycle_name(fb_life_kind op)
{
	if (op < FB_LIFE_ACK || op > FB_LIFE_WAKE)
		return "";
	return names[op];
}

fb_life_kind fb_lifecycle_parse(const char *name)
{
	for (int i = FB_LIFE_ACK; i <= FB_LIFE_WAKE; i++)
		if (name && !strcmp(names[i], name))
			return (fb_life_kind)i;
	if (name && !strcmp(name, "acknowledge"))
		return FB_LIFE_ACK;
	return (fb_life_kind)0;
}

/* ---- times ---- */

/* "1h30m", "4h", "2d", "45m": the sum, in ms; 0 when malformed. */
static int64_t parse_duration(const char *s)
{
	int64_t total = 0;

	while (*s) {
		char *end;
		long long n = strtoll(s, &end, 10);
		int64_t unit;
		if (end == s || n <= 0 || n > 100000)
			return 0;
		switch (*end) {
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return 0;
		}
		total += (int64_t)n * unit * 1000;
		s = end + 1;
	}
	return total;
}

/* The next Monday, 09:00 UTC, after now. */
static int64_t next_monday(int64_t now_ms)
{
	time_t now = (time_t)(now_ms / 1000), t;
	struct tm tm;

	gmtime_r(&now, &tm);
	int days = (8 - tm.tm_wday) % 7; /* tm_wday: 0 = Sunday */
	tm.tm_mday += days;
	tm.tm_hour = 9;
	tm.tm_min = tm.tm_sec = 0;
	t = timegm(&tm);
	if ((int64_t)t * 1000 <= now_ms) {
		tm.tm_mday += 7;
		t = timegm(&tm);
	}
	return (int64_t)t * 1000;
}

/* "2026-12-01T09:00:00Z" or "2026-12-01 09:00" (UTC); 0 when malformed. */
static int64_t parse_iso(const char *s)
{
	struct tm tm = {0};
	int used = 0;

	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &used) != 5)
		return 0;
	s += used;
	if (*s == ':') {
		int n = 0;
		if (sscanf(s, ":%2d%n", &tm.tm_sec, &n) != 1)
			return 0;
		s += n;
	}
	if (*s == 'Z')
		s++;
	if (*s || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000;
}

fb_err fb_lifecycle_parse_until(const char *s, int64_t now_ms, int64_t *out)
{
	int64_t d;

	*out = 0;
	if (!s || !*s)
		return fb_error_set(FB_EINVAL, "a snooze needs a time: 1h, 4h, 24h, monday or an "
		                               "ISO time (2026-12-01T09:00:00Z)");
	if (!strcmp(s, "monday"))
		*out = next_monday(now_ms);
	else if (isdigit((unsigned char)*s) && strchr(s, '-'))
		*out = parse_iso(s);
	else if ((d = parse_duration(s)))
		*out = now_ms + d;
	if (!*out)
		return fb_error_set(
		    FB_EINVAL,
		    "\"%.40s\" is not a time: use 1h, 4h, 24h, 2d, monday or an ISO "
		    "time (2026-12-01T09:00:00Z)",
		    s);
	return FB_OK;
}

/* ---- the rules ---- */

static int active(const char *status)
{
	return !strcmp(status, "open") || !strcmp(status, "waiting") || !strcmp(status, "manual");
}

static int slack_user(const char *u)
{
	size_t n = u ? strlen(u) : 0;
	if (n < 2 || n > 20 || (u[0] != 'U' && u[0] != 'W'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isupper((unsigned char)u[i]) && !isdigit((unsigned char)u[i]))
			return 0;
	return 1;
}

static fb_err check_args(const fb_life_op *op, int64_t now)
{
	if (!fb_lifecycle_parse(fb_lifecycle_name(op->op)))
		return fb_error_set(FB_EINVAL, "unknown lifecycle step %d", (int)op->op);
	if (!op->user || !*op->user)
		return fb_error_set(FB_EINVAL, "%s needs the user who does it",
		                    fb_lifecycle_name(op->op));
	if (op->note && strlen(op->note) > 1000)
		return fb_error_set(FB_EINVAL, "the note is longer than 1000 characters");
	if (op->op == FB_LIFE_ASSIGN && !slack_user(op->other_id))
		return fb_error_set(FB_EINVAL,
		                    "assign needs a Slack user id (U… or W…), not \"%.40s\"",
		                    op->other_id ? op->other_id : "");
	if (op->op == FB_LIFE_SNOOZE && op->until <= now)
		return fb_error_set(FB_EINVAL, "the snooze would end in the past");
	if (op->op == FB_LIFE_SNOOZE && op->until - now > SNOOZE_MAX_MS)
		return fb_error_set(FB_EINVAL, "a snooze lasts at most 30 days");
	if (op->op == FB_LIFE_CLOSE && op->other_id && !strcmp(op->other_id, op->id))
		return fb_error_set(FB_EINVAL, "%s cannot be a duplicate of itself", op->id);
	return FB_OK;
}

/* May op be done on an incident in this status?  The reason if not. */
static fb_err check_status(const fb_life_op *op, const fb_incident_row *row)
{
	const char *s = row->status, *name = fb_lifecycle_name(op->op);

	if (!strcmp(s, "grouped"))
		return fb_error_set(FB_ESTATE, "%s is a repeat of another incident: %s that one",
		                    row->id, name);
	switch (op->op) {
	case FB_LIFE_ACK:
	case FB_LIFE_ASSIGN:
	case FB_LIFE_SNOOZE:
		if (!active(s))
			return fb_error_set(FB_ESTATE, "%s is %s: reopen it first", row->id, s);
		return FB_OK;
	case FB_LIFE_RESOLVE:
		if (!strcmp(s, "resolved") || !strcmp(s, "closed"))
			return fb_error_set(FB_ESTATE, "%s is already %s", row->id, s);
		return FB_OK;
	case FB_LIFE_REOPEN:
		if (active(s))
			return fb_error_set(FB_ESTATE, "%s is still %s: nothing to reopen", row->id,
			                    s);
		return FB_OK;
	case FB_LIFE_CLOSE:
		if (!strcmp(s, "closed"))
			return fb_error_set(FB_ESTATE, "%s is already closed", row->id);
		return FB_OK;
	default: return FB_OK;
	}
}

/* ---- the changes ---- */

static void stamp(char *who, size_t n, int64_t *at, const fb_life_op *op, int64_t now)
{
	fb_state_copy(who, n, op->user);
	if (at)
		*at = now;
}

/* Ends the incident by a person: resolved or closed. */
static void finish(fb_incident_row *row, fb_state *st, const char *status, const fb_life_op *op,
                   int64_t now)
{
	snprintf(row->status, sizeof(row->status), "%s", status);
	snprintf(row->node, sizeof(row->node), "end");
	COPY(st->result, status);
	st->decision.present = 0; /* a pending decision is dropped with the wait */
	st->life.snoozed_until = 0;
	stamp(st->life.resolved_by, sizeof(st->life.resolved_by), &st->life.resolved_at, op, now);
	COPY(st->life.note, op->note ? op->note : "");
}

static void reopen(fb_incident_row *row, fb_state *st, const fb_life_op *op, int64_t now)
{
	fb_state_life *l = &st->life;

	COPY(l->prior_status, row->status);
	snprintf(row->status, sizeof(row->status), "open");
	snprintf(row->node, sizeof(row->node), "end");
	st->result[0] = '\0';
	l->resolved_by[0] = l->closed_reason[0] = l->duplicate_of[0] = '\0';
	l->resolved_at = 0;
	l->snoozed_until = 0;
	stamp(l->reopened_by, sizeof(l->reopened_by), &l->reopened_at, op, now);
	COPY(l->note, op->note ? op->note : "");
}

/* Changes the row and the state; *quiet when nothing a person sees changed. */
static void apply_op(fb_incident_row *row, fb_state *st, const fb_life_op *op, int64_t now,
                     int *quiet)
{
	fb_state_life *l = &st->life;

	*quiet = 0;
	l->present = 1;
	switch (op->op) {
	case FB_LIFE_ACK: stamp(l->ack_by, sizeof(l->ack_by), &l->ack_at, op, now); break;
	case FB_LIFE_ASSIGN:
		COPY(l->assignee, op->other_id);
		stamp(l->assigned_by, sizeof(l->assigned_by), NULL, op, now);
		break;
	case FB_LIFE_SNOOZE:
		l->snoozed_until = op->until;
		stamp(l->snoozed_by, sizeof(l->snoozed_by), NULL, op, now);
		break;
	case FB_LIFE_RESOLVE: finish(row, st, "resolved", op, now); break;
	case FB_LIFE_CLOSE:
		finish(row, st, "closed", op, now);
		COPY(l->closed_reason, op->other_id && *op->other_id ? "duplicate" : "wontfix");
		COPY(l->duplicate_of, op->other_id ? op->other_id : "");
		break;
	case FB_LIFE_REOPEN: reopen(row, st, op, now); break;
	case FB_LIFE_WAKE:
		/* snoozed_until stays: the card says when the snooze ended */
		*quiet = !l->snoozed_until || l->snoozed_until > now;
		break;
	}
	row->updated_at = now;
}

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

/* The job the op leaves: none once ended; a snooze's timer when nothing
 * else is pending (a running graph shows the snooze at its next step). */
static fb_err job_after(const fb_graph_env *env, const fb_incident_row *row, const fb_life_op *op)
{
	fb_job job;
	int has = fb_store_job_get(env->store, row->id, &job) == FB_OK;

	fb_error_clear();
	if (!strcmp(row->node, "end") &&
	    (op->op == FB_LIFE_RESOLVE || op->op == FB_LIFE_CLOSE || op->op == FB_LIFE_REOPEN))
		return has ? fb_store_job_clear(env->store, row->id) : FB_OK;
	if (op->op == FB_LIFE_WAKE && has && !strcmp(job.node, FB_LIFECYCLE_WAKE_NODE))
		return fb_store_job_clear(env->store, row->id);
	if (op->op == FB_LIFE_SNOOZE && (!has || !strcmp(job.node, FB_LIFECYCLE_WAKE_NODE)))
		return fb_store_job_put(env->store, row->id, FB_LIFECYCLE_WAKE_NODE, op->until);
	return FB_OK;
}

/* The timeline's prose: "resolved by U1 (slack): the note". */
static void detail_of(const fb_life_op *op, char *out, size_t n)
{
	const char *note = op->note ? op->note : "";
	char extra[160] = "";

	if (op->op == FB_LIFE_ASSIGN)
		snprintf(extra, sizeof(extra), " to %s", op->other_id);
	else if (op->op == FB_LIFE_CLOSE)
		snprintf(extra, sizeof(extra),
		         *op->other_id ? " as a duplicate of %s" : " as won't fix", op->other_id);
	else if (op->op == FB_LIFE_SNOOZE) {
		time_t t = (time_t)(op->until / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(extra, sizeof(extra), " until %Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(out, n, "%s%s by %s (%s)%s%s", fb_lifecycle_name(op->op), extra, op->user,
	         op->via && *op->via ? op->via : "cli", *note ? ": " : "", note);
}

static fb_err link_event(fb_store *st, const char *id, const char *actor, const char *how,
                         const char *other)
{
	return fb_store_event_add(st, &(fb_event){.incident_id = id,
	                                          .actor = actor,
	                                          .kind = FB_EV_LINKED,
	                                          .outcome = how,
	                                          .detail = other});
}

/* Writes everything the op changed (inside the caller's begin). */
static fb_err write_op(const fb_graph_env *env, fb_incident_row *row, const fb_state *st,
                       const fb_life_op *op, int quiet)
{
	char detail[1400];
	fb_err rc = store_state(row, st);

	detail_of(op, detail, sizeof(detail));
	if (!rc)
		rc = fb_store_incident_update(env->store, row);
	if (!rc)
		rc =
		    fb_store_event_add(env->store, &(fb_event){.incident_id = row->id,
		                                               .actor = op->user,
		                                               .kind = FB_EV_LIFECYCLE,
		                                               .outcome = fb_lifecycle_name(op->op),
		                                               .detail = detail});
	if (!rc && op->op == FB_LIFE_CLOSE && *op->other_id)
		rc = link_event(env->store, op->other_id, op->user, "duplicated_by", row->id);
	if (!rc && op->op == FB_LIFE_CLOSE && *op->other_id)
		rc = link_event(env->store, row->id, op->user, "duplicate", op->other_id);
	if (!rc)
		rc = job_after(env, row, op);
	if (!rc && env->on_step)
		rc = env->on_step(env->hook_ctx, env->store, row, st, "lifecycle",
		                  quiet ? "" : fb_lifecycle_name(op->op));
	return rc;
}

/* The other incident of a duplicate must exist and not be a repeat. */
static fb_err check_other(const fb_graph_env *env, const fb_life_op *op)
{
	fb_incident_row *o = NULL;
	fb_err rc;

	if (op->op != FB_LIFE_CLOSE || !*op->other_id)
		return FB_OK;
	if (fb_store_incident_get(env->store, op->other_id, &o) != FB_OK) {
		fb_error_clear();
		return fb_error_set(FB_ENOTFOUND, "no incident %.64s to be a duplicate of",
		                    op->other_id);
	}
	rc = strcmp(o->status, "grouped")
	         ? FB_OK
	         : fb_error_set(FB_EINVAL, "%s is itself a repeat of another incident", o->id);
	fb_incident_row_free(o);
	return rc;
}

static fb_err load(const fb_graph_env *env, const char *id, fb_incident_row **row, fb_state **st)
{
	*st = NULL;
	if (fb_store_incident_get(env->store, id, row) != FB_OK) {
		*row = NULL;
		fb_error_clear();
		return fb_error_set(FB_ENOTFOUND, "no incident %.64s", id);
	}
	if (fb_state_parse((*row)->state, st) != FB_OK)
		return fb_error_set(FB_EDB, "incident %s has unreadable state", id);
	return FB_OK;
}

static fb_err life_do(const fb_graph_env *env, const fb_life_op *in);

/* The one way a lifecycle step enters: its note, what a person typed, is
 * masked first (mask.h), for SQLite, the timeline, the thread and the API. */
fb_err fb_lifecycle_do(const fb_graph_env *env, const fb_life_op *in)
{
	fb_life_op op = *in;
	char *note = in->note ? fb_mask_str(in->note) : NULL;
	if (in->note && !note)
		return fb_error_set(FB_ENOMEM, "out of memory");
	op.note = note;
	fb_err rc = life_do(env, &op);
	free(note);
	return rc;
}

static fb_err life_do(const fb_graph_env *env, const fb_life_op *in)
{
	fb_life_op op = *in;
	fb_incident_row *row = NULL;
	fb_state *st = NULL;
	int64_t now = fb_now_ms();
	int quiet = 0;
	fb_err rc;

	if (!op.other_id)
		op.other_id = "";
	if (!op.id || !*op.id)
		return fb_error_set(FB_EINVAL, "which incident?");
	if ((rc = check_args(&op, now)))
		return rc;
	if ((rc = fb_store_begin(env->store)))
		return rc;
	rc = load(env, op.id, &row, &st);
	if (!rc && op.op != FB_LIFE_WAKE)
		rc = check_status(&op, row);
	if (!rc)
		rc = check_other(env, &op);
	if (!rc) {
		apply_op(row, st, &op, now, &quiet);
		/* a timer that finds nothing snoozed only goes away */
		rc = op.op == FB_LIFE_WAKE && (quiet || !active(row->status))
		         ? job_after(env, row, &op)
		         : write_op(env, row, st, &op, quiet);
	}
	if (!rc)
		rc = fb_store_commit(env->store);
	if (rc)
		fb_store_rollback(env->store);
	else
		fb_log(FB_LOG_INFO, "incident.lifecycle", "id=%s op=%s via=%s", op.id,
		       fb_lifecycle_name(op.op), op.via ? op.via : "cli");
	fb_state_free(st);
	fb_incident_row_free(row);
	return rc;
}

fb_err fb_lifecycle_link_repeat(const fb_graph_env *env, fb_incident_row *old_row,
                                fb_state *new_state)
{
	fb_state *os = NULL;
	fb_err rc;

	if (fb_state_parse(old_row->state, &os) != FB_OK)
		return fb_error_set(FB_EDB, "incident %s has unreadable state", old_row->id);
	COPY(new_state->previous, old_row->id);
	os->life.present = 1;
	COPY(os->life.followed_by, new_state->id);
	rc = store_state(old_row, os); /* updated_at stays: the cooldown counts from the end */
	if (!rc)
		rc = fb_store_incident_update(env->store, old_row);
	if (!rc)
		rc = link_event(env->store, old_row->id, "firebreak", "next", new_state->id);
	if (!rc)
		rc = link_event(env->store, new_state->id, "firebreak", "previous", old_row->id);
	if (!rc && env->on_step)
		rc = env->on_step(env->hook_ctx, env->store, old_row, os, "lifecycle", "followed");
	fb_state_free(os);
	return rc;
}
