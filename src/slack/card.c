/*
 * card.c - owns what the incident card and the other Slack messages say:
 * it reads an incident's typed state (state.h) and turns it into template variables (the
 * status lines, the diff cut to fit, who decided and when), then renders a
 * template from blocks/.  Pure functions of their inputs; the engine
 * thread calls them while it commits, so they do no I/O.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/card.h"

#define EVIDENCE_MAX 600
#define ROOT_CAUSE_MAX 1500
#define PART_MAX 2800
#define PARTS_MAX 10

static void put(cJSON *vars, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(vars, k);
	cJSON_AddStringToObject(vars, k, v ? v : "");
}

static void put_clipped(cJSON *vars, const char *k, const char *v, size_t max)
{
	size_t cut = fb_utf8_prefix(v, max);
	char *s = malloc(cut + 4);
	if (!s)
		return;
	memcpy(s, v, cut);
	memcpy(s + cut, v[cut] ? "\xe2\x80\xa6" : "", v[cut] ? 4 : 1);
	put(vars, k, s);
	free(s);
}

static int slack_user_id(const char *u)
{
	if ((u[0] != 'U' && u[0] != 'W') || strlen(u) < 2 || strlen(u) > 20)
		return 0;
	for (const char *p = u + 1; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
			return 0;
	return 1;
}

char *fb_card_who(const char *user)
{
	fb_buf b;
	fb_buf_init(&b, 1024);
	if (slack_user_id(user))
		fb_buf_printf(&b, "<@%s>", user);
	else
		fb_mrkdwn_escape(&b, *user ? user : "?");
	char *s = fb_buf_take(&b);
	return s ? s : strdup("?");
}

/* Slack renders <!date^...> in the reader's own time zone. */
static void when(double at_ms, char *out, size_t n)
{
	long secs = (long)(at_ms / 1000);
	if (secs <= 0) {
		snprintf(out, n, "%s", "");
		return;
	}
	snprintf(out, n, "<!date^%ld^{date_short_pretty} {time}|%ld>", secs, secs);
}

static const char *sev_icon(const char *sev)
{
	if (!strcmp(sev, "critical"))
		return "\xf0\x9f\x94\xb4"; /* red circle */
	if (!strcmp(sev, "warning"))
		return "\xf0\x9f\x9f\xa0"; /* orange circle */
	return "\xf0\x9f\x94\xb5";         /* blue circle */
}

/* Appends one catalog line (escaped) to the status. */
static void status_line(const fb_tmpl *t, fb_buf *b, const char *key, const cJSON *vars)
{
	char *s = fb_tmpl_format(t, key, vars, 1);
	if (b->len)
		fb_buf_addc(b, '\n');
	fb_buf_addstr(b, s);
	free(s);
}

static void decision_line(const fb_tmpl *t, fb_buf *b, const fb_state *state)
{
	const fb_state_decision *last = fb_state_last_decision(state);
	char w[96];

	if (!last || (strcmp(last->action, "approve") && strcmp(last->action, "reject")))
		return;
	const char *a = last->action;
	when((double)last->at, w, sizeof(w));
	/* a mention and a date token: trusted mrkdwn (the _md suffix) */
	cJSON *v = cJSON_CreateObject();
	char *who = fb_card_who(last->user);
	put(v, "who_md", who);
	put(v, "when_md", w);
	free(who);
	status_line(t, b, strcmp(a, "approve") ? "status_rejected" : "status_approved", v);
	cJSON_Delete(v);
	if (*last->note) {
		fb_buf_addstr(b, " _");
		fb_mrkdwn_escape(b, last->note);
		fb_buf_addstr(b, "_");
	}
}

static void status(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state, cJSON *vars,
                   fb_buf *b)
{
	const fb_state_apply *ap = &state->apply;
	const fb_state_verify *vf = &state->verify;
	const char *result = state->result;

	decision_line(t, b, state);
	if (ap->present) {
		char hash[16];
		snprintf(hash, sizeof(hash), "%.7s", ap->commit);
		put(vars, "commit", hash);
		put(vars, "branch", ap->branch);
		char *p = ap->pushed ? fb_tmpl_format(t, "status_pushed", vars, 1) : strdup("");
		put(vars, "pushed", p);
		free(p);
		status_line(t, b, "status_committed", vars);
	}
	if (vf->present) {
		char res[400];
		snprintf(res, sizeof(res), "%s%s%.370s", vf->result, *vf->reason ? ": " : "",
		         vf->reason);
		put(vars, "result", res);
		status_line(t, b, "status_verify", vars);
	}
	if (state->repeats > 0) {
		char count[24], w[96];
		cJSON *rv = cJSON_CreateObject();
		snprintf(count, sizeof(count), "%ld", state->repeats);
		when((double)state->last_seen, w, sizeof(w));
		put(rv, "count", count);
		put(rv, "when_md", w);
		status_line(t, b, "status_repeats", rv);
		cJSON_Delete(rv);
	}
	if (!strcmp(state->alert.status, "resolved"))
		status_line(t, b, "status_alert_resolved", vars);
	if (*state->apply_error) {
		put(vars, "error", state->apply_error);
		status_line(t, b, "status_apply_error", vars);
	}
	if (!strcmp(row->status, "waiting")) {
		status_line(t, b, "status_waiting", vars);
	} else if (!strcmp(row->node, "end")) {
		put(vars, "reason", state->proposal.reason);
		put(vars, "error", state->error);
		if (!strcmp(result, "resolved"))
			status_line(t, b, "status_resolved", vars);
		else if (!strcmp(result, "manual"))
			status_line(t, b, "status_manual", vars);
		else if (!strcmp(result, "recorded"))
			status_line(t, b, "status_recorded", vars);
		else if (!strcmp(result, "failed"))
			status_line(t, b, "status_failed", vars);
	} else {
		put(vars, "node", row->node);
		status_line(t, b, "status_running", vars);
	}
}

/* Pull-request mode's line in the status, and the links line (links.c
 * made the URLs; only they and the catalog's labels are shown). */
static void pr_and_links(const fb_tmpl *t, const fb_state *state, cJSON *vars, fb_buf *b)
{
	const fb_state_pr *pr = &state->pr;
	cJSON *v = cJSON_CreateObject();
	fb_buf links;

	if (pr->present) {
		fb_buf md;
		char hash[16];
		fb_buf_init(&md, 2048);
		fb_buf_printf(&md, "<%s|#%ld>", pr->url, pr->number);
		put(v, "pr_md", *pr->url && !strpbrk(pr->url, "|<> ") ? fb_buf_str(&md) : "");
		fb_buf_free(&md);
		snprintf(hash, sizeof(hash), "%.7s", pr->merge_commit);
		put(v, "commit", hash);
		put(v, "branch", pr->branch);
		put(v, "who", pr->closed_by);
		if (!strcmp(pr->state, "merged"))
			status_line(t, b,
			            *pr->closed_by ? "status_pr_merged_by" : "status_pr_merged", v);
		else if (!strcmp(pr->state, "closed"))
			status_line(t, b,
			            *pr->closed_by ? "status_pr_closed_by" : "status_pr_closed", v);
		else
			status_line(t, b, "status_pr_open", v);
	}
	cJSON_Delete(v);
	fb_buf_init(&links, 8192);
	for (size_t i = 0; i < state->n_links; i++) {
		char key[32], *label;
		snprintf(key, sizeof(key), "link_%s", state->links[i].kind);
		label = fb_tmpl_format(t, key, NULL, 1);
		fb_buf_printf(&links, "%s<", links.len ? " \xc2\xb7 " : ":link: ");
		fb_mrkdwn_escape(&links, state->links[i].url);
		fb_buf_printf(&links, "|%s>", label ? label : state->links[i].kind);
		free(label);
	}
	put(vars, "links_md", fb_buf_str(&links) ? fb_buf_str(&links) : "");
	fb_buf_free(&links);
}

/* Cuts text at a line end so it holds at most max bytes; returns the cut. */
static size_t cut_lines(const char *s, size_t max)
{
	size_t n = strlen(s), cut = 0;
	if (n <= max)
		return n;
	for (size_t i = 0; i < max; i++)
		if (s[i] == '\n')
			cut = i + 1;
	return cut ? cut : fb_utf8_prefix(s, max / 4); /* one huge line */
}

static size_t count_lines(const char *s)
{
	size_t n = *s != '\0';
	for (; *s; s++)
		n += *s == '\n' && s[1];
	return n;
}

static void diff_vars(const fb_tmpl *t, const fb_state_proposal *prop, cJSON *vars, int *diff_cut)
{
	const char *diff = prop->diff ? prop->diff : "";
	size_t cut = cut_lines(diff, FB_CARD_DIFF_MAX);
	char *s = strndup(diff, cut);

	*diff_cut = cut < strlen(diff);
	put(vars, "diff", s ? s : "");
	free(s);
	if (*diff_cut) {
		char lines[32];
		snprintf(lines, sizeof(lines), "%zu", count_lines(diff));
		put(vars, "lines", lines);
		char *note = fb_tmpl_format(t, "diff_cut", vars, 1);
		put(vars, "diff_cut_md", note);
		free(note);
	}
}

fb_err fb_card_incident(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                        cJSON **out, int *diff_cut)
{
	cJSON *vars = cJSON_CreateObject();
	const fb_state_proposal *prop = &state->proposal;
	char title[300], value[128], version[24];
	fb_buf st;
	fb_err rc;

	*diff_cut = 0;
	if (!vars)
		return fb_error_set(FB_ENOMEM, "out of memory");
	snprintf(version, sizeof(version), "%ld", row->version);
	snprintf(value, sizeof(value), "%s|%ld", row->id, row->version);
	snprintf(title, sizeof(title), "%s \xc2\xb7 %s", *row->category ? row->category : "triage",
	         *row->app ? row->app : "?");
	put(vars, "id", row->id);
	put(vars, "version", version);
	put(vars, "title", title);
	put(vars, "sev_icon", sev_icon(row->severity));
	put(vars, "sev_word", *row->severity ? row->severity : "new");
	put(vars, "category", *row->category ? row->category : "-");
	put(vars, "severity", *row->severity ? row->severity : "-");
	put(vars, "app", *row->app ? row->app : "-");
	put(vars, "namespace", *row->ns ? row->ns : "-");
	put_clipped(vars, "evidence", state->classification.evidence, EVIDENCE_MAX);
	put_clipped(vars, "root_cause", state->analysis.root_cause, ROOT_CAUSE_MAX);
	put(vars, "action", *prop->summary ? prop->summary : prop->reason);
	put(vars, "file", prop->file);
	diff_vars(t, prop, vars, diff_cut);
	put(vars, "button_value", value);
	if (!strcmp(row->status, "waiting") && strcmp(prop->action, "manual")) {
		put(vars, "buttons", "1");
		put(vars, "editable", prop->n_edits > 0 ? "1" : "");
	}
	fb_buf_init(&st, 8192);
	status(t, row, state, vars, &st);
	pr_and_links(t, state, vars, &st);
	put(vars, "status_md", fb_buf_str(&st) ? fb_buf_str(&st) : "-");
	/* the plain fallback: the status without mrkdwn */
	put(vars, "status", row->status);
	fb_buf_free(&st);
	rc = fb_tmpl_render(t, "card", vars, out);
	cJSON_Delete(vars);
	return rc;
}

fb_err fb_card_diff_parts(const fb_tmpl *t, const fb_state *state, cJSON **out)
{
	const fb_state_proposal *prop = &state->proposal;
	const char *diff = prop->diff ? prop->diff : "";
	cJSON *arr = cJSON_CreateArray();
	size_t total = 0;

	for (size_t off = 0, i = 0; diff[off] && i < PARTS_MAX; i++)
		total++, off += cut_lines(diff + off, PART_MAX);
	for (size_t off = 0, i = 0; diff[off] && i < PARTS_MAX; i++) {
		size_t cut = cut_lines(diff + off, PART_MAX);
		char part[32];
		char *s = strndup(diff + off, cut);
		cJSON *vars = cJSON_CreateObject(), *msg = NULL;
		snprintf(part, sizeof(part), "%zu/%zu", i + 1, total);
		put(vars, "id", state->id);
		put(vars, "file", prop->file);
		put(vars, "part", part);
		put(vars, "diff", s ? s : "");
		free(s);
		if (fb_tmpl_render(t, "diff", vars, &msg) == FB_OK)
			cJSON_AddItemToArray(arr, msg);
		cJSON_Delete(vars);
		off += cut;
	}
	*out = arr;
	return FB_OK;
}

fb_err fb_card_decision_line(const fb_tmpl *t, const fb_state_decision *decision, cJSON **out)
{
	cJSON *v = cJSON_CreateObject(), *msg = NULL;
	char *who = fb_card_who(decision ? decision->user : "");
	const char *note = decision ? decision->note : "";
	const char *action = decision ? decision->action : "";
	fb_err rc;

	put(v, "who_md", who);
	put(v, "action", action);
	put(v, "note", note);
	put(v, "sep", *note ? ": " : "");
	char *line = fb_tmpl_format(t, "thread_decision", v, 1);
	put(v, "icon", ":ballot_box_with_check:");
	put(v, "line_md", line);
	put(v, "line", action);
	free(line);
	free(who);
	rc = fb_tmpl_render(t, "thread", v, &msg);
	cJSON_Delete(v);
	*out = msg;
	return rc;
}

static const char *thread_icon(const char *node)
{
	static const struct {
		const char *node, *icon;
	} icons[] = {{"await_decision", ":ballot_box_with_check:"},
	             {"propose", ":pencil2:"},
	             {"apply", ":package:"},
	             {"verify", ":mag:"},
	             {"report", ":memo:"},
	             {"feedback", ":speech_balloon:"}};
	for (size_t i = 0; i < sizeof(icons) / sizeof(icons[0]); i++)
		if (!strcmp(icons[i].node, node))
			return icons[i].icon;
	return ":small_blue_diamond:";
}

fb_err fb_card_thread_md(const fb_tmpl *t, const char *node, const char *line_md, cJSON **out)
{
	cJSON *vars = cJSON_CreateObject();
	fb_err rc;
	put(vars, "icon", thread_icon(node));
	put(vars, "line", node);
	put(vars, "line_md", line_md);
	rc = fb_tmpl_render(t, "thread", vars, out);
	cJSON_Delete(vars);
	return rc;
}

fb_err fb_card_thread(const fb_tmpl *t, const char *node, const char *line, cJSON **out)
{
	fb_buf b;
	fb_err rc;
	fb_buf_init(&b, 8192);
	fb_mrkdwn_escape(&b, line);
	rc = fb_card_thread_md(t, node, fb_buf_str(&b) ? fb_buf_str(&b) : "", out);
	fb_buf_free(&b);
	return rc;
}

fb_err fb_card_list(const fb_tmpl *t, fb_incident_row **rows, size_t n, int all, cJSON **out)
{
	cJSON *vars = cJSON_CreateObject(), *list = cJSON_CreateArray();
	size_t shown = n > 20 ? 20 : n;
	char num[32];
	fb_err rc;

	snprintf(num, sizeof(num), "%zu", n);
	put(vars, "n", num);
	for (size_t i = 0; i < shown; i++) {
		cJSON *r = cJSON_CreateObject();
		put(r, "id", rows[i]->id);
		put(r, "sev_icon", sev_icon(rows[i]->severity));
		put(r, "category", *rows[i]->category ? rows[i]->category : "-");
		put(r, "app", *rows[i]->app ? rows[i]->app : "-");
		put(r, "status", rows[i]->status);
		put(r, "link_md", "");
		cJSON_AddItemToArray(list, r);
	}
	cJSON_AddItemToObject(vars, "rows", list);
	char *heading = fb_tmpl_format(t,
	                               n == 0 ? "list_empty"
	                               : all  ? "list_all"
	                                      : "list_open",
	                               vars, 0);
	put(vars, "heading", heading);
	free(heading);
	if (n > shown) {
		snprintf(num, sizeof(num), "%zu", n - shown);
		cJSON *mv = cJSON_CreateObject();
		put(mv, "n", num);
		char *more = fb_tmpl_format(t, "list_more", mv, 0);
		put(vars, "more", more);
		free(more);
		cJSON_Delete(mv);
	}
	rc = fb_tmpl_render(t, "list", vars, out);
	cJSON_Delete(vars);
	return rc;
}

fb_err fb_card_help(const fb_tmpl *t, cJSON **out)
{
	return fb_tmpl_render(t, "help", NULL, out);
}

fb_err fb_card_reply(const fb_tmpl *t, const char *key, const cJSON *vars, cJSON **out)
{
	cJSON *v = cJSON_CreateObject();
	char *msg = fb_tmpl_format(t, key, vars, 1); /* escaped here, _md after */
	fb_err rc;
	put(v, "message_md", msg);
	free(msg);
	rc = fb_tmpl_render(t, "reply", v, out);
	cJSON_Delete(v);
	return rc;
}

fb_err fb_card_modal_edit(const fb_tmpl *t, const fb_state *state, const char *meta, cJSON **out)
{
	const fb_state_proposal *prop = &state->proposal;
	cJSON *vars = cJSON_CreateObject(), *edits;
	fb_err rc;

	put(vars, "meta", meta);
	put(vars, "file", *prop->file ? prop->file : "-");
	/* edits in the order of the diff: the memory limit first for an OOM */
	edits = cJSON_AddArrayToObject(vars, "edits");
	for (size_t i = 0; i < prop->n_edits; i++) {
		cJSON *e = cJSON_CreateObject();
		put(e, "path", prop->edits[i].path);
		put(e, "old", prop->edits[i].old_value);
		put(e, "new", prop->edits[i].new_value);
		cJSON_AddItemToArray(edits, e);
	}
	rc = fb_tmpl_render(t, "modal_edit", vars, out);
	cJSON_Delete(vars);
	return rc;
}

fb_err fb_card_modal_reject(const fb_tmpl *t, const char *id, const char *meta, cJSON **out)
{
	cJSON *vars = cJSON_CreateObject();
	fb_err rc;
	put(vars, "meta", meta);
	put(vars, "id", id);
	rc = fb_tmpl_render(t, "modal_reject", vars, out);
	cJSON_Delete(vars);
	return rc;
}

fb_err fb_card_modal_trigger(const fb_tmpl *t, const char *meta, cJSON **out)
{
	cJSON *vars = cJSON_CreateObject();
	fb_err rc;
	put(vars, "meta", meta);
	rc = fb_tmpl_render(t, "modal_trigger", vars, out);
	cJSON_Delete(vars);
	return rc;
}
