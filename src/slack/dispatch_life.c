/*
 * dispatch_life.c - owns the Slack side of the incident lifecycle: the
 * card's Acknowledge, Resolve, Snooze, Assign and Reopen buttons, the
 * Resolve, Snooze and Assign modals, the `/incidents ack|assign|snooze|
 * resolve|reopen|close` sub-commands, and the API's lifecycle routes.
 * Engine thread only, inside the envelope's (or the API request's)
 * transaction: fb_lifecycle_do() nests in it, so the change, its
 * timeline entry, the card's outbox rows and the envelope's dedupe row
 * commit together -- a redelivered click does nothing twice.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "firebreak/lifecard.h"
#include "firebreak/lifecycle.h"
#include "firebreak/log.h"
#include "dispatch_int.h"

static cJSON *vars1(const char *k, const char *v)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, k, v ? v : "");
	return o;
}

/*
 * Does the op.  A refusal is no error here: *refused is its code and the
 * reason is in fb_error_last().  Only store failures are returned.
 */
static fb_err life_do(fb_dispatch *d, const fb_life_op *op, fb_err *refused)
{
	fb_err rc = fb_lifecycle_do(d->env, op);

	*refused = FB_OK;
	if (rc == FB_OK || rc == FB_EDB || rc == FB_ENOMEM)
		return rc;
	*refused = rc;
	fb_log(FB_LOG_INFO, "slack.life_refused", "id=%s op=%s reason=\"%s\"", op->id,
	       fb_lifecycle_name(op->op), fb_error_last());
	return FB_OK;
}

/* The answer to a person: done, or why not. */
static fb_err answer(fb_dispatch *d, const fb_life_op *op, fb_err refused, cJSON **reply)
{
	char key[40];

	if (refused)
		return fb_dispatch_reply(d, "refused", vars1("reason", fb_error_last()), reply);
	snprintf(key, sizeof(key), "life_what_%s", fb_lifecycle_name(op->op));
	char *what = fb_tmpl_format(d->tmpl, key, NULL, 0);
	cJSON *v = vars1("id", op->id);
	cJSON_AddStringToObject(v, "what", what ? what : "");
	free(what);
	return fb_dispatch_reply(d, "life_done", v, reply);
}

/* ---- /incidents ack|assign|snooze|resolve|reopen|close ID ... ---- */

int fb_dispatch_life_word(const char *word)
{
	fb_life_kind k = fb_lifecycle_parse(word);
	return k && k != FB_LIFE_WAKE;
}

/* "<@U123|name>" (how Slack sends a mention in a command) or "U123". */
static void user_of(const char *tok, char *out, size_t n)
{
	const char *bar;
	if (!strncmp(tok, "<@", 2) && (bar = strpbrk(tok + 2, "|>")))
		snprintf(out, n, "%.*s", (int)(bar - tok - 2), tok + 2);
	else
		snprintf(out, n, "%s", tok[0] == '@' ? tok + 1 : tok);
}

/* Reads the words after the id into op; 0 when they do not fit the op. */
static int slash_args(fb_life_op *op, const char *rest, char *arg, size_t argsz, int64_t now)
{
	char w1[96] = "", w2[96] = "";
	int used = 0;
	const char *next;

	op->note = rest;
	if (op->op != FB_LIFE_ASSIGN && op->op != FB_LIFE_SNOOZE && op->op != FB_LIFE_CLOSE)
		return 1;
	if (sscanf(rest, "%95s %n", w1, &used) < 1)
		return 0;
	next = rest + used;
	if (op->op == FB_LIFE_ASSIGN) {
		user_of(w1, arg, argsz);
		op->other_id = arg;
	} else if (op->op == FB_LIFE_SNOOZE) {
		if (fb_lifecycle_parse_until(w1, now, &op->until) != FB_OK)
			return 0;
	} else if (!strcmp(w1, "wontfix") || !strcmp(w1, "won't-fix")) {
		op->other_id = "";
	} else if (!strcmp(w1, "duplicate-of") || !strcmp(w1, "duplicate") || !strcmp(w1, "dup")) {
		if (sscanf(next, "%95s %n", w2, &used) < 1)
			return 0;
		snprintf(arg, argsz, "%s", w2);
		op->other_id = arg;
		next += used;
	} else {
		return 0;
	}
	op->note = next;
	return 1;
}

fb_err fb_dispatch_life_slash(fb_dispatch *d, const cJSON *p, const char *word, const char *rest,
                              cJSON **reply)
{
	char id[64] = "", arg[96] = "";
	int used = 0;
	fb_err refused = FB_OK;
	fb_life_op op = {.op = fb_lifecycle_parse(word),
	                 .user = fb_json_str(p, "user_id"),
	                 .via = "slack",
	                 .other_id = ""};
	fb_err rc;

	if (sscanf(rest, "%63s %n", id, &used) < 1 || !fb_dispatch_valid_id(id))
		return fb_dispatch_reply(d, "life_usage", NULL, reply);
	op.id = id;
	char *text = fb_dispatch_unescape(rest + used);
	fb_error_clear();
	if (!slash_args(&op, text, arg, sizeof(arg), fb_now_ms())) {
		free(text);
		if (*fb_error_last())
			return fb_dispatch_reply(d, "refused", vars1("reason", fb_error_last()),
			                         reply);
		return fb_dispatch_reply(d, "life_usage", NULL, reply);
	}
	rc = life_do(d, &op, &refused);
	if (!rc)
		rc = answer(d, &op, refused, reply);
	free(text);
	return rc;
}

/* ---- card buttons ---- */

fb_err fb_dispatch_life_click(fb_dispatch *d, const cJSON *p, const char *action, const char *id,
                              const char *channel, const char *user)
{
	const char *op_name = action + 5; /* after "life_" */
	fb_life_op op = {.op = fb_lifecycle_parse(op_name), .id = id, .user = user, .via = "slack"};
	char meta[160];
	fb_err refused = FB_OK;
	fb_err rc;

	if (op.op == FB_LIFE_ACK || op.op == FB_LIFE_REOPEN) {
		rc = life_do(d, &op, &refused);
		if (!rc && refused)
			rc = fb_dispatch_ephemeral(d, channel, user, "refused",
			                           vars1("reason", fb_error_last()));
		return rc;
	}
	if (op.op != FB_LIFE_RESOLVE && op.op != FB_LIFE_SNOOZE && op.op != FB_LIFE_ASSIGN) {
		fb_log(FB_LOG_INFO, "slack.unknown_action", "action=%.60s id=%s", action, id);
		return FB_OK;
	}
	cJSON *view = NULL;
	snprintf(meta, sizeof(meta), "%s|0|%s", id, channel);
	if ((rc = fb_lifecard_modal(d->tmpl, op_name, id, meta, &view)))
		return rc;
	return fb_dispatch_open_view(d, fb_json_str(p, "trigger_id"), view, user, channel);
}

/* ---- modal submissions ---- */

static const cJSON *field(const cJSON *view, const char *block)
{
	return fb_json_get(fb_json_get(fb_json_get(fb_json_get(view, "state"), "values"), block),
	                   "value");
}

/* A field's error shown on the modal (response_action errors). */
static void field_error(cJSON **ack, const char *block, const char *why)
{
	*ack = cJSON_CreateObject();
	cJSON_AddStringToObject(*ack, "response_action", "errors");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(*ack, "errors"), block, why);
}

fb_err fb_dispatch_life_submit(fb_dispatch *d, const cJSON *view, const char *user, cJSON **ack)
{
	const char *cb = fb_json_str(view, "callback_id"),
	           *meta = fb_json_str(view, "private_metadata");
	const char *bar = strchr(meta, '|'), *chan = bar ? strchr(bar + 1, '|') : NULL;
	char id[64];
	fb_err refused = FB_OK;
	fb_life_op op = {.op = fb_lifecycle_parse(cb + 5), .user = user, .via = "slack"};
	fb_err rc;

	if (!bar || bar - meta >= 64 || !chan)
		return FB_OK;
	snprintf(id, sizeof(id), "%.*s", (int)(bar - meta), meta);
	if (!fb_dispatch_valid_id(id))
		return FB_OK;
	op.id = id;
	op.note = fb_json_str(field(view, "note"), "value");
	if (op.op == FB_LIFE_SNOOZE &&
	    fb_lifecycle_parse_until(
	        fb_json_str(fb_json_get(field(view, "until"), "selected_option"), "value"),
	        fb_now_ms(), &op.until) != FB_OK) {
		field_error(ack, "until", fb_error_last());
		return FB_OK;
	}
	if (op.op == FB_LIFE_ASSIGN)
		op.other_id = fb_json_str(field(view, "to"), "selected_user");
	if (op.op != FB_LIFE_RESOLVE && op.op != FB_LIFE_SNOOZE && op.op != FB_LIFE_ASSIGN)
		return FB_OK;
	rc = life_do(d, &op, &refused);
	if (!rc && refused == FB_EINVAL && op.op != FB_LIFE_RESOLVE)
		field_error(ack, op.op == FB_LIFE_ASSIGN ? "to" : "until", fb_error_last());
	else if (!rc && refused)
		rc = fb_dispatch_ephemeral(d, chan + 1, user, "refused",
		                           vars1("reason", fb_error_last()));
	return rc;
}

/* ---- the HTTP API ---- */

/* The JSON body's fields into op (strings borrowed from j). */
static fb_err api_args(const cJSON *j, fb_life_op *op)
{
	const char *until = fb_json_str(j, "until");
	const cJSON *wf = fb_json_get(j, "wontfix");

	if (!cJSON_IsObject(j))
		return fb_error_set(FB_EINVAL, "the body must be a JSON object");
	op->user = *fb_json_str(j, "user") ? fb_json_str(j, "user") : "api";
	op->note = fb_json_str(j, "note");
	if (op->op == FB_LIFE_SNOOZE)
		return fb_lifecycle_parse_until(until, fb_now_ms(), &op->until);
	if (op->op == FB_LIFE_ASSIGN)
		op->other_id = fb_json_str(j, "to");
	if (op->op == FB_LIFE_CLOSE) {
		op->other_id = fb_json_str(j, "duplicate_of");
		if (!*op->other_id == !cJSON_IsTrue(wf))
			return fb_error_set(FB_EINVAL, "close needs \"duplicate_of\": ID or "
			                               "\"wontfix\": true");
	}
	return FB_OK;
}

fb_err fb_dispatch_api_life(fb_dispatch *d, const char *id, const char *op_name, const char *body,
                            size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	fb_life_op op = {.op = fb_lifecycle_parse(op_name), .id = id, .via = "api", .other_id = ""};
	fb_err rc;

	if (!op.op || op.op == FB_LIFE_WAKE)
		rc = fb_error_set(FB_ENOTFOUND, "no such route");
	else
		rc = api_args(j, &op);
	if (!rc)
		rc = fb_lifecycle_do(d->env, &op);
	cJSON_Delete(j);
	return rc;
}
