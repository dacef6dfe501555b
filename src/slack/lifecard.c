/*
 * lifecard.c - owns what the card and its thread say about the incident
 * lifecycle (lifecard.h): the status lines, the lifecycle buttons, the
 * thread lines and the Resolve, Snooze and Assign modals.  Every word
 * comes from the message catalogs.  Pure functions; the engine thread
 * calls them while it commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/card.h"
#include "firebreak/lifecard.h"

static void put(cJSON *vars, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(vars, k);
	cJSON_AddStringToObject(vars, k, v ? v : "");
}

/* Slack renders <!date^...> in the reader's own time zone. */
static void put_when(cJSON *vars, const char *k, int64_t at_ms)
{
	char w[96] = "";
	long secs = (long)(at_ms / 1000);
	if (secs > 0)
		snprintf(w, sizeof(w), "<!date^%ld^{date_short_pretty} {time}|%ld>", secs, secs);
	put(vars, k, w);
}

static void put_who(cJSON *vars, const char *k, const char *user)
{
	char *who = fb_card_who(user ? user : "");
	put(vars, k, who);
	free(who);
}

/* " _the note_" (escaped), or "". */
static void put_note(cJSON *vars, const char *note)
{
	fb_buf b;
	fb_buf_init(&b, 4096);
	if (note && *note) {
		fb_buf_addstr(&b, " _");
		fb_mrkdwn_escape(&b, note);
		fb_buf_addstr(&b, "_");
	}
	put(vars, "note_md", fb_buf_str(&b) ? fb_buf_str(&b) : "");
	fb_buf_free(&b);
}

/* The variables every lifecycle line may name. */
static cJSON *life_vars(const fb_state *st)
{
	const fb_state_life *l = &st->life;
	cJSON *v = cJSON_CreateObject();

	if (!v)
		return NULL;
	put_who(v, "ack_md", l->ack_by);
	put_when(v, "ack_when_md", l->ack_at);
	put_who(v, "assignee_md", l->assignee);
	put_who(v, "assigned_by_md", l->assigned_by);
	put_who(v, "snoozed_by_md", l->snoozed_by);
	put_when(v, "until_md", l->snoozed_until);
	put_who(v, "resolved_by_md", l->resolved_by);
	put_when(v, "resolved_when_md", l->resolved_at);
	put_who(v, "reopened_by_md", l->reopened_by);
	put_when(v, "reopened_when_md", l->reopened_at);
	put(v, "was", l->prior_status);
	put(v, "duplicate_of", l->duplicate_of);
	put(v, "previous", st->previous);
	put(v, "followed_by", l->followed_by);
	put_note(v, l->note);
	return v;
}

static void line(const fb_tmpl *t, fb_buf *b, const char *key, const cJSON *vars)
{
	char *s = fb_tmpl_format(t, key, vars, 1);
	if (b->len)
		fb_buf_addc(b, '\n');
	fb_buf_addstr(b, s ? s : "");
	free(s);
}

void fb_lifecard_status(const fb_tmpl *t, const fb_state *st, int64_t now_ms, fb_buf *b)
{
	const fb_state_life *l = &st->life;
	cJSON *v;

	if ((!l->present && !*st->previous) || !(v = life_vars(st)))
		return;
	if (*st->previous)
		line(t, b, "life_status_previous", v);
	if (*l->followed_by)
		line(t, b, "life_status_followed", v);
	if (*l->ack_by && !*l->resolved_by)
		line(t, b, "life_status_ack", v);
	if (*l->assignee && !*l->resolved_by)
		line(t, b, "life_status_assigned", v);
	if (l->snoozed_until > now_ms)
		line(t, b, "life_status_snoozed", v);
	else if (l->snoozed_until)
		line(t, b, "life_status_snooze_ended", v);
	if (*l->resolved_by && !strcmp(l->closed_reason, "duplicate"))
		line(t, b, "life_status_duplicate", v);
	else if (*l->resolved_by && !strcmp(l->closed_reason, "wontfix"))
		line(t, b, "life_status_wontfix", v);
	else if (*l->resolved_by)
		line(t, b, "life_status_resolved", v);
	else if (*l->reopened_by)
		line(t, b, "life_status_reopened", v);
	cJSON_Delete(v);
}

static int ended(const char *s)
{
	return !strcmp(s, "resolved") || !strcmp(s, "closed") || !strcmp(s, "rejected") ||
	       !strcmp(s, "failed") || !strcmp(s, "recorded");
}

void fb_lifecard_buttons(const fb_incident_row *row, const fb_state *st, cJSON *vars)
{
	const char *s = row->status;
	int waiting = !strcmp(s, "waiting");
	int manual = !strcmp(s, "manual") || (!strcmp(s, "open") && !strcmp(row->node, "end")) ||
	             (waiting && !strcmp(st->proposal.action, "manual"));
	int any = 0;

	if ((waiting || manual) && !*st->life.ack_by)
		put(vars, "ack_button", "1"), any = 1;
	if (manual)
		put(vars, "manual_buttons", "1"), any = 1;
	if (ended(s))
		put(vars, "reopen_button", "1"), any = 1;
	if (any || cJSON_GetObjectItemCaseSensitive(vars, "buttons"))
		put(vars, "actions", "1");
}

fb_err fb_lifecard_thread(const fb_tmpl *t, const fb_state *st, const char *op, cJSON **out)
{
	char key[48];
	cJSON *v;
	fb_err rc;

	*out = NULL;
	if (!op || !*op)
		return FB_OK;
	if (!strcmp(op, "close"))
		op = !strcmp(st->life.closed_reason, "duplicate") ? "duplicate" : "wontfix";
	snprintf(key, sizeof(key), "life_line_%s", op);
	if (!(v = life_vars(st)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	char *md = fb_tmpl_format(t, key, v, 1), *plain = fb_tmpl_format(t, key, v, 0);
	put(v, "icon", !strcmp(op, "resolve") ? ":white_check_mark:" : ":bookmark_tabs:");
	put(v, "line_md", md);
	put(v, "line", plain);
	free(md);
	free(plain);
	rc = fb_tmpl_render(t, "thread", v, out);
	cJSON_Delete(v);
	return rc;
}

fb_err fb_lifecard_modal(const fb_tmpl *t, const char *op, const char *id, const char *meta,
                         cJSON **out)
{
	char name[32];
	cJSON *v;
	fb_err rc;

	*out = NULL;
	if (strcmp(op, "resolve") && strcmp(op, "snooze") && strcmp(op, "assign"))
		return fb_error_set(FB_EINVAL, "no form for %.20s", op);
	if (!(v = cJSON_CreateObject()))
		return fb_error_set(FB_ENOMEM, "out of memory");
	snprintf(name, sizeof(name), "modal_%s", op);
	put(v, "id", id);
	put(v, "meta", meta);
	rc = fb_tmpl_render(t, name, v, out);
	cJSON_Delete(v);
	return rc;
}
