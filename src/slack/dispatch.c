/*
 * dispatch.c - owns what firebreak does with a Slack envelope (slash
 * commands, button clicks, modal submissions) and which Slack messages an
 * incident step causes (the card, thread lines, the full diff).  Engine
 * thread only: every write goes through the engine's store connection,
 * inside the transaction of the envelope or of the graph step, so the
 * outbox rows commit with the state change that causes them.
 *
 * Decisions go through fb_graph_decide(), the same entry point as the
 * CLI: policy, stale cards and late clicks are refused there and written
 * to the timeline; here the refusal becomes an ephemeral answer.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "salvage_int.h"
#include "firebreak/buf.h"
#include "firebreak/card.h"
#include "firebreak/dispatch.h"
#include "firebreak/ingest.h"
#include "firebreak/log.h"
#include "firebreak/mask.h"
#include "firebreak/action.h"
#include "firebreak/pace.h"
#include "firebreak/lifecard.h"
#include "firebreak/stormcard.h"
#include "dispatch_int.h"

#define TEXT_MAX (64u * 1024u) /* a pasted log, after unescaping */
#define MAX_SETS 16

/* ---- outbox ---- */

static fb_err out_put(fb_dispatch *d, const char *incident, const char *method, const char *channel,
                      cJSON *body)
{
	fb_err rc;
	char *json;
	if (!body)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (channel && *channel && !fb_json_get(body, "channel"))
		cJSON_AddStringToObject(body, "channel", channel);
	json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!json)
		return fb_error_set(FB_ENOMEM, "out of memory");
	rc = fb_store_outbox_add(d->env->store, incident ? incident : "", method,
	                         channel ? channel : "", json, NULL);
	free(json);
	return rc;
}

/* Takes vars. */
static fb_err ephemeral(fb_dispatch *d, const char *channel, const char *user, const char *key,
                        cJSON *vars)
{
	cJSON *msg = NULL;
	fb_err rc = FB_OK;
	if (*channel && *user)
		rc = fb_card_reply(d->tmpl, key, vars, &msg);
	cJSON_Delete(vars);
	if (rc || !msg)
		return rc;
	cJSON_DeleteItemFromObject(msg, "response_type");
	cJSON_AddStringToObject(msg, "user", user);
	return out_put(d, "", "chat.postEphemeral", channel, msg);
}

/* The user and channel are kept so that a failure can be explained. */
static fb_err open_view(fb_dispatch *d, const char *trigger, cJSON *view, const char *user,
                        const char *channel)
{
	cJSON *body = cJSON_CreateObject();
	if (!view) {
		cJSON_Delete(body);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	cJSON_AddStringToObject(body, "trigger_id", trigger);
	cJSON_AddStringToObject(body, "_notify_user", user);
	cJSON_AddStringToObject(body, "_notify_channel", channel);
	cJSON_AddItemToObject(body, "view", view);
	return out_put(d, "", "views.open", "", body);
}

static const char *card_channel(fb_dispatch *d, const fb_state *state)
{
	(void)d;
	return state->slack_channel;
}

/* ---- what a graph step costs in Slack calls ---- */

#define ANALYSING_AFTER_MS 1000 /* an incident this old without a card gets one */

static int decided(const fb_state *state)
{
	return state->n_decisions > 0;
}

/* A card row was written earlier: the card exists or is on its way. */
static int card_written(const fb_incident_row *row, const fb_state *state)
{
	return row->card_ts[0] || !strcmp(row->status, "waiting") || !strcmp(row->node, "end") ||
	       decided(state);
}

/* Before any decision a card goes out once it can be acted on; but an
 * incident that has gone on for more than about a second without one
 * gets an "analysing" card first, once: at the first step that ends past
 * that second (the step before it, whose commit time is the run_at of
 * this step's job, ended within it). */
static int analysing_due(fb_store *st, const fb_incident_row *row, const char *node)
{
	int64_t now = fb_now_ms();
	fb_job job;

	if (row->card_ts[0] || now - row->created_at <= ANALYSING_AFTER_MS)
		return 0;
	if (!strcmp(node, "classify")) /* the first step that may show a card */
		return 1;
	if (strcmp(node, "analyze") && strcmp(node, "propose"))
		return 0;
	if (fb_store_job_get(st, row->id, &job) != FB_OK) {
		fb_error_clear();
		return 0;
	}
	return job.run_at - row->created_at <= ANALYSING_AFTER_MS;
}

/* pull-request mode: the await_merge step that opened the pull request
 * or saw it merged or closed (not one that found it still open). */
static int pr_news(const fb_state *state)
{
	return state->pr.present && (state->pr.checks_done == 0 || strcmp(state->pr.state, "open"));
}

/* Does this step change what a person sees on the card?  Waiting (the
 * proposal and its buttons) and the end always do; after a decision the
 * decision itself, the commit and the first verify check do; a step that
 * another follows at once (re-propose, report) leaves it to that one. */
static int card_due(fb_store *st, const fb_incident_row *row, const fb_state *state,
                    const char *node)
{
	/* the counter, a resolved alert, a person's lifecycle step: on a card
	 * already written */
	if (!strcmp(node, "repeat") || !strcmp(node, "resolved") || !strcmp(node, "lifecycle"))
		return card_written(row, state);
	if (!strcmp(row->status, "waiting") || !strcmp(row->node, "end"))
		return 1;
	if (!decided(state))
		return analysing_due(st, row, node);
	if (!strcmp(node, "await_decision"))
		return 1;
	if (!strcmp(node, "apply"))
		return !strcmp(row->node, "verify") || !strcmp(row->node, "await_merge");
	if (!strcmp(node, "await_merge")) /* pull-request mode: opened, merged */
		return pr_news(state);
	if (!strcmp(node, "verify"))
		return !strcmp(row->node, "verify") && state->verify.present &&
		       state->verify.checks_done == 1;
	return 0;
}

/* storm control (stormcard.h): the storm card's thread when this step's
 * incident has its card there; set per step (engine thread only). */
static char storm_thread[32];

/* An outbox row of the incident, with its priority (pace.h). */
static fb_err step_put(fb_dispatch *d, const fb_incident_row *row, const char *method,
                       const char *channel, cJSON *body)
{
	if (body)
		cJSON_AddNumberToObject(body, "_priority", fb_pace_priority(row->severity));
	/* its thread lines, and its card while not yet posted (an update
	 * collapsed into the post must not take it out of the thread) */
	if (body && storm_thread[0] &&
	    (!strcmp(method, "thread") || (!strcmp(method, "card") && !row->card_ts[0])))
		cJSON_AddStringToObject(body, "thread_ts", storm_thread);
	return out_put(d, row->id, method, channel, body);
}

/* A fresh proposal waits: the whole diff in the thread when the card's
 * copy is cut (after the card, which the thread hangs on). */
static fb_err diff_parts(fb_dispatch *d, const fb_incident_row *row, const fb_state *state,
                         const char *channel)
{
	cJSON *parts = NULL, *p;
	fb_err rc = FB_OK;
	fb_card_diff_parts(d->tmpl, state, &parts);
	cJSON_ArrayForEach(p, parts)
	{
		if ((rc = step_put(d, row, "thread", channel, cJSON_Duplicate(p, 1))))
			break;
	}
	cJSON_Delete(parts);
	return rc;
}

static fb_err thread_line(fb_dispatch *d, const fb_incident_row *row, const fb_state *state,
                          const char *node, const char *detail, const char *channel)
{
	cJSON *line = NULL;
	fb_err rc;
	if (!strcmp(node, "await_decision"))
		rc = fb_card_decision_line(d->tmpl, fb_state_last_decision(state), &line);
	else if (!strcmp(node, "lifecycle")) /* detail: the op (lifecycle.h) */
		rc = fb_lifecard_thread(d->tmpl, state, detail, &line);
	else
		rc = fb_card_step_line(d->tmpl, row, state, node, detail, &line);
	return rc ? rc : step_put(d, row, "thread", channel, line);
}

fb_err fb_dispatch_on_step(void *ctx, fb_store *st, const fb_incident_row *row,
                           const fb_state *state, const char *node, const char *detail)
{
	fb_dispatch *d = ctx;
	const char *channel = card_channel(d, state);
	cJSON *card = NULL;
	int cut = 0, after_edit = decided(state), due;
	fb_err rc = FB_OK;

	if (!*channel) /* an incident raised outside Slack (the CLI) */
		return FB_OK;
	/* no card before classify has said whether this repeats another
	 * incident; a repeat's card is the other one's */
	if (!strcmp(node, "collect") || !strcmp(state->result, "grouped"))
		return FB_OK;
	due = card_due(st, row, state, node);
	int held = 0; /* storm control: a group or the digest holds its card */
	if ((rc = fb_stormcard_step(d->env->cfg, d->tmpl, st, row, state, channel,
	                            due && !row->card_ts[0], &held, storm_thread)) ||
	    held)
		return rc;
	if (due && ((rc = fb_card_incident(d->tmpl, row, state, &card, &cut)) ||
	            (rc = step_put(d, row, "card", channel, card))))
		return rc;
	int thread =
	    !strcmp(node, "apply") || !strcmp(node, "verify") ||
	    (!strcmp(node, "await_merge") && pr_news(state)) ||
	    ((!strcmp(node, "repeat") || !strcmp(node, "resolved") || !strcmp(node, "lifecycle")) &&
	     due) ||
	    !strcmp(node, "report") || (!strcmp(node, "propose") && after_edit) ||
	    (!strcmp(node, "await_decision") && strcmp(row->status, "waiting"));
	if (thread && *detail && (rc = thread_line(d, row, state, node, detail, channel)))
		return rc;
	if (cut && !strcmp(node, "await_decision") && !strcmp(row->status, "waiting"))
		rc = diff_parts(d, row, state, channel);
	return rc;
}

/* ---- slash commands ---- */

/* Slack sends & < > in command text as entities; a pasted log wants them back. */
static char *unescape(const char *s)
{
	fb_buf b;
	fb_buf_init(&b, TEXT_MAX);
	while (*s) {
		if (!strncmp(s, "&amp;", 5))
			fb_buf_addc(&b, '&'), s += 5;
		else if (!strncmp(s, "&lt;", 4))
			fb_buf_addc(&b, '<'), s += 4;
		else if (!strncmp(s, "&gt;", 4))
			fb_buf_addc(&b, '>'), s += 4;
		else if (fb_buf_addc(&b, *s++) != FB_OK)
			break;
	}
	char *r = fb_buf_take(&b);
	return r ? r : strdup("");
}

static int valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 10 || n > 60 || strncmp(s, "incident-", 9))
		return 0;
	for (size_t i = 9; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static cJSON *vars1(const char *k, const char *v)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, k, v ? v : "");
	return o;
}

static fb_err reply_key(fb_dispatch *d, const char *key, cJSON *vars, cJSON **reply)
{
	fb_err rc = fb_card_reply(d->tmpl, key, vars, reply);
	cJSON_Delete(vars);
	return rc;
}

/* "app=NAME" as the log's first word names the app (README "The card");
 * the form's App field (form_app) does the same. */
static const char *app_hint(const char *log, const char *form_app, char *app, size_t n)
{
	size_t k;

	snprintf(app, n, "%s", form_app ? form_app : "");
	while (*log == ' ' || *log == '\t' || *log == '\n')
		log++;
	if (strncmp(log, "app=", 4) != 0)
		return log;
	k = strcspn(log + 4, " \t\r\n");
	if (!*app)
		snprintf(app, n, "%.*s", (int)(k < n ? k : n - 1), log + 4);
	return log + 4 + k;
}

static fb_err create_incident(fb_dispatch *d, const char *text, const char *user,
                              const char *channel, char id[64], const char *form_app)
{
	const char *announce = *d->env->cfg->slack.channel ? d->env->cfg->slack.channel : channel;
	char *log = unescape(text), app[128];
	const char *body = app_hint(log, form_app, app, sizeof(app));
	fb_manual_trigger t = {
	    .via = "slack", .text = body, .len = strlen(body), .user = user, .app = app};
	fb_ingest_route route = {.channel = announce};
	fb_ingest_result res;
	fb_source_batch *b = NULL;
	fb_err rc = fb_source_manual_new(&t, &b);

	if (!rc && !(rc = fb_ingest_commit(d->env, b, &route, &res)))
		snprintf(id, 64, "%s", res.first_id);
	fb_source_batch_free(b);
	free(log);
	return rc;
}

static fb_err slash_trigger(fb_dispatch *d, const cJSON *p, const char *rest, cJSON **reply)
{
	const char *user = fb_json_str(p, "user_id"), *channel = fb_json_str(p, "channel_id");
	char id[64];
	fb_err rc;

	if (!*rest) { /* no text: a form, opened inside the trigger's 3 seconds */
		cJSON *view = NULL;
		if ((rc = fb_card_modal_trigger(d->tmpl, channel, &view)))
			return rc;
		return open_view(d, fb_json_str(p, "trigger_id"), view, user, channel);
	}
	if ((rc = create_incident(d, rest, user, channel, id, NULL))) {
		if (rc != FB_EINVAL)
			return rc;
		return reply_key(d, "error", vars1("reason", fb_error_last()), reply);
	}
	cJSON *v = vars1("id", id);
	const char *announce = *d->env->cfg->slack.channel ? d->env->cfg->slack.channel : channel;
	char mention[80];
	snprintf(mention, sizeof(mention), "<#%s>", announce);
	cJSON_AddStringToObject(v, "channel_md", mention);
	return reply_key(d, "triggered", v, reply);
}

static fb_err slash_show(fb_dispatch *d, const char *id, cJSON **reply)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	int cut;
	fb_err rc;

	if (!valid_id(id) || fb_store_incident_get(d->env->store, id, &row) != FB_OK) {
		fb_error_clear();
		return reply_key(d, "not_found", vars1("id", id), reply);
	}
	if (fb_state_parse(row->state, &state) && (rc = fb_state_new(&state))) {
		fb_incident_row_free(row);
		return rc;
	}
	rc = fb_card_incident(d->tmpl, row, state, reply, &cut);
	if (!rc) { /* a copy for one person: no buttons on it */
		cJSON *blocks = cJSON_GetObjectItemCaseSensitive(*reply, "blocks"), *b, *next;
		for (b = blocks ? blocks->child : NULL; b; b = next) {
			next = b->next;
			if (!strcmp(fb_json_str(b, "type"), "actions"))
				cJSON_Delete(cJSON_DetachItemViaPointer(blocks, b));
		}
		cJSON_AddStringToObject(*reply, "response_type", "ephemeral");
	}
	fb_state_free(state);
	fb_incident_row_free(row);
	return rc;
}

static fb_err slash_list(fb_dispatch *d, const char *arg, cJSON **reply)
{
	fb_incident_row **rows = NULL;
	size_t n = 0;
	int all = !strcmp(arg, "all");
	fb_err rc = fb_store_incident_list(d->env->store, all, &rows, &n);
	if (!rc)
		rc = fb_card_list(d->tmpl, rows, n, all, reply);
	fb_incident_rows_free(rows, n);
	return rc;
}

static fb_err handle_slash(fb_dispatch *d, const cJSON *p, cJSON **reply)
{
	const char *cmd = fb_json_str(p, "command"), *text = fb_json_str(p, "text");
	char word[32] = "", arg[96] = "";
	const char *rest;

	while (isspace((unsigned char)*text))
		text++;
	if (strstr(cmd, "feedback"))
		return fb_dispatch_feedback_slash(d, p, text, reply);
	sscanf(text, "%31s %95s", word, arg);
	rest = text + strlen(word);
	while (isspace((unsigned char)*rest))
		rest++;
	if (!*word || !strcmp(word, "help"))
		return fb_card_help(d->tmpl, reply);
	if (!strcmp(word, "list"))
		return slash_list(d, arg, reply);
	if (!strcmp(word, "trigger"))
		return slash_trigger(d, p, rest, reply);
	if (fb_dispatch_life_word(word)) /* ack, assign, ... (dispatch_life.c) */
		return fb_dispatch_life_slash(d, p, word, rest, reply);
	if (!strncmp(word, "incident-", 9))
		return slash_show(d, word, reply);
	return reply_key(d, "unknown_command", NULL, reply);
}

/* ---- decisions ---- */

/* Takes a decision; a refusal becomes an ephemeral answer (and is already
 * in the timeline).  Only store failures are returned as errors. */
static fb_err decide(fb_dispatch *d, const char *id, const fb_decision *dec, const char *channel,
                     const char *user)
{
	fb_err rc = fb_graph_decide(d->env, id, dec);
	if (rc == FB_OK) {
		d->decisions++;
		return FB_OK;
	}
	if (rc == FB_EDB || rc == FB_ENOMEM)
		return rc;
	d->refusals++;
	fb_log(FB_LOG_INFO, "slack.refused", "id=%s action=%s user=%s", id, dec->action, user);
	return ephemeral(d, channel, user, "refused", vars1("reason", fb_error_last()));
}

/* "incident-…|3" -> id and version; 0 when malformed.  A version that
 * is not a positive number (say -1, "current" to the CLI) becomes 0, a
 * version no card shows: the decision is refused as stale. */
static int parse_value(const char *v, char id[64], long *version, char *rest, size_t rest_sz)
{
	const char *bar = strchr(v, '|');
	char *end;
	if (!bar || bar - v >= 64)
		return 0;
	snprintf(id, 64, "%.*s", (int)(bar - v), v);
	*version = strtol(bar + 1, &end, 10);
	if (end == bar + 1 || !valid_id(id))
		return 0;
	if (*version < 1 || *version == LONG_MAX || (*end && *end != '|'))
		*version = 0;
	if (rest)
		snprintf(rest, rest_sz, "%s", *end == '|' ? end + 1 : "");
	return 1;
}

/* May this click open a form?  If not, the refusal is recorded. */
static int may_open(fb_dispatch *d, const char *id, long version, const char *action,
                    const char *user, const char *channel, fb_err *rc)
{
	fb_incident_row *row = NULL;
	int ok = fb_store_incident_get(d->env->store, id, &row) == FB_OK &&
	         !strcmp(row->status, "waiting") && row->version == version &&
	         fb_config_is_approver(d->env->cfg, user);
	fb_incident_row_free(row);
	fb_error_clear();
	if (!ok) {
		fb_decision dec = {
		    .action = action, .user = user, .version = version, .via = "slack"};
		*rc = decide(d, id, &dec, channel, user);
	}
	return ok;
}

/* A member of a storm card, picked from its menu: the member's card goes
 * into the storm card's thread, with its buttons (stormcard.h). */
static fb_err storm_open(fb_dispatch *d, const char *value, const char *channel, const char *user)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	cJSON *card = NULL;
	char id[64], ts[32], storm[128];
	long version;
	int cut;
	fb_err rc;

	if (!parse_value(value, id, &version, storm, sizeof(storm)))
		return FB_OK;
	rc = fb_stormcard_open(d->env->store, storm, id, ts);
	if (rc == FB_ENOTFOUND || rc == FB_ESTATE || rc == FB_ECONFLICT) {
		fb_error_clear();
		return ephemeral(d, channel, user,
		                 rc == FB_ECONFLICT ? "storm_not_yet" : "storm_already_open",
		                 vars1("id", id));
	}
	if (!rc && !(rc = fb_store_incident_get(d->env->store, id, &row)) &&
	    !(rc = fb_state_parse(row->state, &state)) &&
	    !(rc = fb_card_incident(d->tmpl, row, state, &card, &cut))) {
		cJSON_AddStringToObject(card, "thread_ts", ts);
		cJSON_AddNumberToObject(card, "_priority", FB_PACE_PRIO_PERSON);
		rc = out_put(d, row->id, "card", channel, card);
	}
	fb_state_free(state);
	fb_incident_row_free(row);
	return rc;
}

static fb_err handle_click(fb_dispatch *d, const cJSON *p)
{
	const cJSON *a = cJSON_GetArrayItem(fb_json_get(p, "actions"), 0);
	const char *action = fb_json_str(a, "action_id");
	const char *user = fb_json_str(fb_json_get(p, "user"), "id");
	const char *channel = fb_json_str(fb_json_get(p, "channel"), "id");
	char id[64], meta[160];
	long version;
	fb_err rc = FB_OK;

	if (!*channel)
		channel = fb_json_str(fb_json_get(p, "container"), "channel_id");
	if (!strcmp(action, "storm_open") && *user) /* a storm card's menu */
		return storm_open(d, fb_json_str(fb_json_get(a, "selected_option"), "value"),
		                  channel, user);
	if (!parse_value(fb_json_str(a, "value"), id, &version, NULL, 0) || !*user) {
		fb_log(FB_LOG_INFO, "slack.unknown_action", "action=%.60s", action);
		return FB_OK;
	}
	snprintf(meta, sizeof(meta), "%s|%ld|%s", id, version, channel);
	if (!strcmp(action, "approve")) {
		fb_decision dec = {
		    .action = "approve", .user = user, .version = version, .via = "slack"};
		return decide(d, id, &dec, channel, user);
	}
	if (!strncmp(action, "life_", 5)) /* dispatch_life.c */
		return fb_dispatch_life_click(d, p, action, id, channel, user);
	if (strcmp(action, "reject") && strcmp(action, "edit")) {
		fb_log(FB_LOG_INFO, "slack.unknown_action", "action=%.60s id=%s", action, id);
		return FB_OK;
	}
	if (!may_open(d, id, version, action, user, channel, &rc))
		return rc;
	cJSON *view = NULL;
	if (!strcmp(action, "reject")) {
		rc = fb_card_modal_reject(d->tmpl, id, meta, &view);
	} else {
		fb_incident_row *row = NULL;
		fb_state *state = NULL;
		if (!(rc = fb_store_incident_get(d->env->store, id, &row)) &&
		    !(rc = fb_state_parse(row->state, &state)))
			rc = fb_card_modal_edit(d->tmpl, state, meta, &view);
		fb_state_free(state);
		fb_incident_row_free(row);
	}
	return rc ? rc : open_view(d, fb_json_str(p, "trigger_id"), view, user, channel);
}

/* ---- modal submissions ---- */

static const char *input_value(const cJSON *values, const char *block)
{
	return fb_json_str(fb_json_get(fb_json_get(values, block), "value"), "value");
}

/* The values together with the proposal they edit (fb_action_check: a
 * request above its limit, a fix that lowers the limit, a heap that does
 * not fit): a refusal goes on the field at fault, with the reason. */
static void check_together(fb_dispatch *d, const char *id, char **sets, size_t n, cJSON *errors)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	fb_action_override ov[MAX_SETS];
	const char *bad = NULL;
	char block[300];

	for (size_t i = 0; i < n; i++) { /* "path=value" -> path, value */
		char *eq = strchr(sets[i], '=');
		*eq = '\0';
		ov[i] = (fb_action_override){.path = sets[i], .value = eq + 1};
	}
	if (n && !fb_store_incident_get(d->env->store, id, &row) &&
	    !fb_state_parse(row->state, &state) &&
	    fb_action_check(d->env->cfg, &state->proposal, ov, n, &bad) != FB_OK) {
		snprintf(block, sizeof(block), "set:%s", bad ? bad : ov[0].path);
		cJSON_AddStringToObject(errors, block, fb_error_last());
	}
	for (size_t i = 0; i < n; i++)
		sets[i][strlen(sets[i])] = '=';
	fb_state_free(state);
	fb_incident_row_free(row);
	fb_error_clear();
}

/* Validates an edit; invalid values become response_action errors. */
static fb_err submit_edit(fb_dispatch *d, const cJSON *view, const char *user, cJSON **ack)
{
	const cJSON *values = fb_json_get(fb_json_get(view, "state"), "values"), *blk;
	char id[64], channel[64];
	long version;
	char *sets[MAX_SETS];
	size_t n = 0;
	cJSON *errors = cJSON_CreateObject();
	fb_err rc = FB_OK;

	if (!parse_value(fb_json_str(view, "private_metadata"), id, &version, channel,
	                 sizeof(channel))) {
		cJSON_Delete(errors);
		return FB_OK;
	}
	cJSON_ArrayForEach(blk, values)
	{
		const char *v = fb_json_str(fb_json_get(blk, "value"), "value");
		if (strncmp(blk->string, "set:", 4) || n == MAX_SETS)
			continue;
		while (isspace((unsigned char)*v))
			v++;
		if (fb_action_validate(d->env->cfg, NULL, blk->string + 4, v) != FB_OK) {
			cJSON_AddStringToObject(errors, blk->string, fb_error_last());
			continue;
		}
		size_t len = strlen(blk->string + 4) + strlen(v) + 2;
		if ((sets[n] = malloc(len)))
			snprintf(sets[n++], len, "%s=%s", blk->string + 4, v);
	}
	if (cJSON_GetArraySize(errors) == 0)
		check_together(d, id, sets, n, errors);
	if (cJSON_GetArraySize(errors) > 0) {
		*ack = cJSON_CreateObject();
		cJSON_AddStringToObject(*ack, "response_action", "errors");
		cJSON_AddItemToObject(*ack, "errors", errors);
		errors = NULL;
	} else {
		fb_decision dec = {.action = "edit",
		                   .user = user,
		                   .note = input_value(values, "note"),
		                   .sets = (const char *const *)sets,
		                   .n_sets = n,
		                   .version = version,
		                   .via = "slack"};
		rc = decide(d, id, &dec, channel, user);
	}
	cJSON_Delete(errors);
	for (size_t i = 0; i < n; i++)
		free(sets[i]);
	return rc;
}

static fb_err handle_submission(fb_dispatch *d, const cJSON *p, cJSON **ack)
{
	const cJSON *view = fb_json_get(p, "view");
	const cJSON *values = fb_json_get(fb_json_get(view, "state"), "values");
	const char *cb = fb_json_str(view, "callback_id"),
	           *user = fb_json_str(fb_json_get(p, "user"), "id");
	char id[64], channel[64];
	long version;

	if (!*user)
		return FB_OK;
	if (!strcmp(cb, "edit"))
		return submit_edit(d, view, user, ack);
	if (!strncmp(cb, "life_", 5)) /* dispatch_life.c */
		return fb_dispatch_life_submit(d, view, user, ack);
	if (!strcmp(cb, "reject")) {
		if (!parse_value(fb_json_str(view, "private_metadata"), id, &version, channel,
		                 sizeof(channel)))
			return FB_OK;
		fb_decision dec = {.action = "reject",
		                   .user = user,
		                   .note = input_value(values, "reason"),
		                   .version = version,
		                   .via = "slack"};
		return decide(d, id, &dec, channel, user);
	}
	if (!strcmp(cb, "trigger")) {
		const char *log = input_value(values, "log");
		const char *chan = fb_json_str(view, "private_metadata");
		fb_err rc;
		rc = *log ? create_incident(d, log, user, chan, id, input_value(values, "app"))
		          : fb_error_set(FB_EINVAL, "the log excerpt is empty");
		if (rc == FB_EINVAL) {
			*ack = cJSON_CreateObject();
			cJSON_AddStringToObject(*ack, "response_action", "errors");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(*ack, "errors"), "log",
			                        fb_error_last());
			return FB_OK;
		}
		return rc;
	}
	fb_log(FB_LOG_INFO, "slack.unknown_view", "callback_id=%.60s", cb);
	return FB_OK;
}

/* ---- envelopes ---- */

static fb_err handle(fb_dispatch *d, const char *type, const cJSON *p, cJSON **payload)
{
	if (!strcmp(type, "slash_commands"))
		return handle_slash(d, p, payload);
	if (strcmp(type, "interactive"))
		return FB_OK; /* events_api and the rest: acked, nothing to do */
	if (!strcmp(fb_json_str(p, "type"), "block_actions"))
		return handle_click(d, p);
	if (!strcmp(fb_json_str(p, "type"), "view_submission"))
		return handle_submission(d, p, payload);
	return FB_OK;
}

/* A stand-in for an envelope socket.c could not read whole (salvage.c):
 * acked, and a slash command answered with why. */
static fb_err unreadable(fb_dispatch *d, const char *type, const char *why, cJSON **payload)
{
	fb_log(FB_LOG_WARN, "slack.unreadable", "type=%s why=%s", type, why);
	if (strcmp(type, "slash_commands"))
		return FB_OK;
	return reply_key(d, !strcmp(why, "too_long") ? "too_long" : "bad_text",
	                 vars1("limit", "1 MiB"), payload);
}

static char *make_ack(const char *eid, cJSON *payload)
{
	cJSON *ack = cJSON_CreateObject();
	cJSON_AddStringToObject(ack, "envelope_id", eid);
	if (payload)
		cJSON_AddItemToObject(ack, "payload", payload);
	char *s = cJSON_PrintUnformatted(ack);
	cJSON_Delete(ack);
	return s;
}

fb_err fb_dispatch_envelope(fb_dispatch *d, const char *json, size_t len, char **ack)
{
	cJSON *env = cJSON_ParseWithLength(json, len), *payload = NULL;
	const char *eid = fb_json_str(env, "envelope_id"), *type = fb_json_str(env, "type");
	const char *event_id = fb_json_str(fb_json_get(env, "payload"), "event_id");
	fb_store *st = d->env->store;
	int dup = 0;
	fb_err rc;

	*ack = NULL;
	if (!*eid) {
		cJSON_Delete(env);
		return fb_error_set(FB_EINVAL, "an envelope without an envelope_id");
	}
	d->envelopes++;
	if ((rc = fb_store_begin(st)))
		goto out;
	rc = fb_store_inbox_add(st, eid, type, &dup);
	if (!rc && !dup && *event_id) /* a retried event comes in a new envelope */
		rc = fb_store_inbox_add(st, event_id, "event", &dup);
	if (!rc && dup) {
		fb_store_rollback(st);
		d->duplicates++;
		fb_log(FB_LOG_INFO, "slack.duplicate", "envelope=%s", eid);
		*ack = make_ack(eid, NULL);
		goto out;
	}
	if (!rc && *fb_json_str(env, FB_SALVAGE_KEY))
		rc = unreadable(d, type, fb_json_str(env, FB_SALVAGE_KEY), &payload);
	else if (!rc)
		rc = handle(d, type, fb_json_get(env, "payload"), &payload);
	if (!rc)
		rc = fb_store_commit(st);
	if (rc) {
		fb_store_rollback(st);
		cJSON_Delete(payload);
		fb_log(FB_LOG_ERROR, "slack.envelope_failed", "envelope=%s type=%s error=\"%s\"",
		       eid, type, fb_error_last());
		goto out;
	}
	*ack = make_ack(eid, payload);
out:
	cJSON_Delete(env);
	return rc;
}

fb_err fb_dispatch_notify(fb_dispatch *d, const char *channel, const char *user, const char *key)
{
	fb_err rc = fb_store_begin(d->env->store);
	if (!rc)
		rc = ephemeral(d, channel, user, key, NULL);
	if (!rc)
		rc = fb_store_commit(d->env->store);
	if (rc)
		fb_store_rollback(d->env->store);
	return rc;
}

/* ---- for dispatch_life.c and dispatch_feedback.c (dispatch_int.h) ---- */

fb_err fb_dispatch_out_put(fb_dispatch *d, const char *incident, const char *method,
                           const char *channel, cJSON *body)
{
	return out_put(d, incident, method, channel, body);
}

fb_err fb_dispatch_ephemeral(fb_dispatch *d, const char *channel, const char *user, const char *key,
                             cJSON *vars)
{
	return ephemeral(d, channel, user, key, vars);
}

fb_err fb_dispatch_open_view(fb_dispatch *d, const char *trigger, cJSON *view, const char *user,
                             const char *channel)
{
	return open_view(d, trigger, view, user, channel);
}

fb_err fb_dispatch_reply(fb_dispatch *d, const char *key, cJSON *vars, cJSON **reply)
{
	return reply_key(d, key, vars, reply);
}

int fb_dispatch_valid_id(const char *s)
{
	return valid_id(s);
}

char *fb_dispatch_unescape(const char *s)
{
	return unescape(s);
}
