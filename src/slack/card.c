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
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/card.h"
#include "firebreak/lifecard.h"
#include "firebreak/msg.h"

#define EVIDENCE_MAX 1500
#define ROOT_CAUSE_MAX 1500
#define SUGGESTIONS_MAX 1500
#define PART_MAX 2800
#define PARTS_MAX 10

static void put(cJSON *vars, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(vars, k);
	cJSON_AddStringToObject(vars, k, v ? v : "");
}

/* A string variable already put, "" when there is none. */
static const char *var(const cJSON *vars, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, k);
	return cJSON_IsString(v) ? v->valuestring : "";
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

/* The catalog's label "<prefix>_<name>" (cat_oom, sev_critical), or name
 * itself for a name the catalogs do not know. */
static char *label(const fb_tmpl *t, const char *prefix, const char *name)
{
	char key[96];
	snprintf(key, sizeof(key), "%s_%s", prefix, name);
	return fb_tmpl_has(t, key) ? fb_tmpl_format(t, key, NULL, 0) : strdup(name);
}

/* m rendered in the card's locale (plain, escaped later by the template),
 * with the card's own variables under it; english when m has no key the
 * catalogs know (a state stored before the keys). */
static char *msg_text(const fb_tmpl *t, const fb_msg *m, const char *english, const cJSON *card)
{
	cJSON *v, *it;
	char *s;

	if (!*m->key || !fb_tmpl_has(t, m->key))
		return strdup(english ? english : "");
	v = fb_msg_vars(m);
	cJSON_ArrayForEach(it, card)
	{
		if (!cJSON_GetObjectItemCaseSensitive(v, it->string))
			cJSON_AddItemToObject(v, it->string, cJSON_Duplicate(it, 1));
	}
	s = fb_tmpl_format(t, m->key, v, 0);
	cJSON_Delete(v);
	return s;
}

/* Where an incident is, as a person sees it: the header's word and icon
 * and the colour of the card's bar. */
typedef struct {
	const char *name, *colour, *icon;
} phase;

static const phase phases[] = {
    {"waiting", "#ECB22E", "\xe2\x8f\xb3"},       /* hourglass */
    {"analysing", "#1264A3", "\xf0\x9f\x94\x8e"}, /* magnifier */
    {"applying", "#1264A3", "\xf0\x9f\x93\xa6"},  /* package */
    {"verifying", "#1264A3", "\xf0\x9f\x94\x8d"}, /* magnifier */
    {"resolved", "#2EB67D", "\xe2\x9c\x85"},      /* check mark */
    {"failed", "#E01E5A", "\xe2\x9d\x8c"},        /* cross */
    {"rejected", "#9E9E9E", "\xe2\x9b\x94"},      /* no entry */
    {"closed", "#9E9E9E", "\xe2\x9a\xaa"},        /* white circle */
    {"manual", "#E8912D", "\xe2\x9c\x8b"},        /* raised hand */
    {"recorded", "#9E9E9E", "\xe2\x84\xb9\xef\xb8\x8f"},
    {"grouped", "#9E9E9E", "\xf0\x9f\x94\x97"}, /* link */
    {"snoozed", "#9E9E9E", "\xf0\x9f\x92\xa4"}, /* zzz */
};

static const phase *phase_of(const fb_incident_row *row, const fb_state *state)
{
	static const phase other = {"", "#9E9E9E", "\xe2\x9a\xaa"};
	const char *name = row->status;

	if (!strcmp(row->status, "open")) {
		if (!strcmp(row->node, "apply"))
			name = "applying";
		else if (state->apply.present &&
		         (!strcmp(row->node, "verify") || !strcmp(row->node, "report")))
			name = "verifying";
		else
			name = "analysing";
	}
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phases[i].name, name))
			return &phases[i];
	return &other;
}

/* Puts phase_word, phase_icon and colour into vars. */
static void phase_vars(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                       cJSON *vars)
{
	const phase *ph = phase_of(row, state);
	char *word = label(t, "phase", *ph->name ? ph->name : row->status);
	put(vars, "phase_word", word);
	put(vars, "phase_icon", ph->icon);
	put(vars, "colour", ph->colour);
	free(word);
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

static void committed_line(const fb_tmpl *t, fb_buf *b, const fb_state *state, cJSON *vars)
{
	const fb_state_apply *ap = &state->apply;
	char hash[16];

	if (!ap->present)
		return;
	fb_copy_utf8(hash, 8, ap->commit); /* 7 bytes, never half a character */
	put(vars, "commit", hash);
	put(vars, "branch", ap->branch);
	char *p = ap->pushed ? fb_tmpl_format(t, "status_pushed", vars, 1) : strdup("");
	put(vars, "pushed", p);
	free(p);
	status_line(t, b, "status_committed", vars);
}

/* The verification's reason in the card's words when it is one of the
 * engine's and the verifier's own fixed sentences (nodes.c, verify.c); a
 * check's detail is shown as the check wrote it. */
static char *verify_reason(const fb_tmpl *t, const char *reason)
{
	static const struct {
		const char *reason, *key;
	} fixed[] = {{"no verifier configured", "verify_why_no_verifier"},
	             {"nothing could be checked", "verify_why_nothing_checked"}};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(reason, fixed[i].reason))
			return fb_tmpl_format(t, fixed[i].key, NULL, 0);
	return strdup(reason);
}

static void verify_line(const fb_tmpl *t, fb_buf *b, const fb_state *state, cJSON *vars)
{
	const fb_state_verify *vf = &state->verify;
	char res[600];

	if (!vf->present)
		return;
	char *word = label(t, "verify", vf->result), *why = verify_reason(t, vf->reason);
	char cut[371];
	fb_copy_utf8(cut, sizeof(cut), why); /* 370 bytes, never half a character */
	snprintf(res, sizeof(res), "%s%s%s", word, *why ? ": " : "", cut);
	free(word);
	free(why);
	put(vars, "result", res);
	status_line(t, b, "status_verify", vars);
}

static void repeats_line(const fb_tmpl *t, fb_buf *b, const fb_state *state, const char *key)
{
	char count[24], w[96];
	cJSON *rv;

	if (state->repeats <= 0)
		return;
	rv = cJSON_CreateObject();
	snprintf(count, sizeof(count), "%ld", state->repeats);
	when((double)state->last_seen, w, sizeof(w));
	put(rv, "count", count);
	put(rv, "when_md", w);
	status_line(t, b, key, rv);
	cJSON_Delete(rv);
}

/* How the incident ended (row->node "end"). */
static void end_line(const fb_tmpl *t, fb_buf *b, const fb_state *state, cJSON *vars)
{
	const fb_state_proposal *prop = &state->proposal;
	const char *result = state->result;
	char *reason = msg_text(t, &prop->reason_msg, prop->reason, vars);

	put(vars, "reason", reason);
	free(reason);
	const char *node = fb_msg_get(&state->error_msg, "node");
	char *node_word = label(t, "node", node ? node : "");
	put(vars, "node_label", node_word);
	free(node_word);
	char *error = msg_text(t, &state->error_msg, state->error, vars);
	put(vars, "error", error);
	free(error);
	if (!strcmp(result, "resolved")) {
		if (!*state->life.resolved_by) /* else lifecard.c says who */
			status_line(t, b, "status_resolved", vars);
	} else if (!strcmp(result, "manual"))
		status_line(t, b, *prop->reason_msg.key ? "status_manual_msg" : "status_manual",
		            vars);
	else if (!strcmp(result, "recorded"))
		status_line(t, b, "status_recorded", vars);
	else if (!strcmp(result, "failed"))
		status_line(t, b, "status_failed", vars);
	else /* rejected, closed: the phase says it */
		status_line(t, b, "status_end", vars);
}

static void status(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state, cJSON *vars,
                   fb_buf *b)
{
	decision_line(t, b, state);
	committed_line(t, b, state, vars);
	verify_line(t, b, state, vars);
	repeats_line(t, b, state, "status_repeats");
	if (!strcmp(state->alert.status, "resolved"))
		status_line(t, b, "status_alert_resolved", vars);
	if (*state->apply_error) {
		put(vars, "error", state->apply_error);
		status_line(t, b, "status_apply_error", vars);
	}
	if (!strcmp(row->status, "waiting")) {
		status_line(t, b, "status_waiting", vars);
	} else if (!strcmp(row->node, "end")) {
		end_line(t, b, state, vars);
	} else {
		put(vars, "node", *var(vars, "phase_word") ? var(vars, "phase_word") : row->node);
		status_line(t, b, "status_running", vars);
	}
}

/* The Pod ran with another memory limit than the values say: they may not
 * be deployed (safe fixes, issue 9). */
static void limit_note(const fb_tmpl *t, fb_buf *b, const fb_state_proposal *p)
{
	cJSON *v;

	if (!*p->running_limit)
		return;
	v = cJSON_CreateObject();
	put(v, "running", p->running_limit);
	put(v, "values", p->values_limit);
	put(v, "file", p->file);
	status_line(t, b, "status_limit_drift", v);
	cJSON_Delete(v);
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
		fb_copy_utf8(hash, 8, pr->merge_commit);
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

/* The wall clock in ms, as the engine's timers read it: time() reads a
 * coarse clock that can lag a timer that fired on the second by a few ms,
 * and the card would then still say "snoozed". */
static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	char *clean = fb_card_text_diff(prop->diff ? prop->diff : "");
	const char *diff = clean ? clean : "";
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
	free(clean);
}

/* The analysis' ranked suggested actions as a numbered mrkdwn list (a
 * manual proposal's own copy for a state without the analysis'). */
static void suggestion_vars(const fb_tmpl *t, const fb_state *state, cJSON *vars)
{
	const fb_state_analysis *an = &state->analysis;
	const fb_state_proposal *prop = &state->proposal;
	size_t n = an->n_actions ? an->n_actions : prop->n_suggestions;
	fb_buf b;

	if (n == 0)
		return;
	fb_buf_init(&b, 8192);
	for (size_t i = 0; i < n; i++) {
		char *line = an->n_actions ? msg_text(t, &an->actions_msg[i], an->actions[i], vars)
		                           : strdup(prop->suggestions[i]);
		fb_buf_printf(&b, "%s%zu. ", i ? "\n" : "", i + 1);
		fb_mrkdwn_escape(&b, line ? line : "");
		free(line);
	}
	/* whole lines, within the card's budget */
	const char *md = fb_buf_str(&b);
	char *cut = strndup(md, cut_lines(md, SUGGESTIONS_MAX));
	put(vars, "suggestions_md", cut ? cut : "");
	free(cut);
	fb_buf_free(&b);
}

/* The words of the card that come from the triage and the action, in the
 * card's locale: labels, the evidence window, the root cause, the fix. */
static void story_vars(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                       cJSON *vars)
{
	const fb_state_proposal *prop = &state->proposal;
	/* before classify: "Triage", no severity yet */
	char *cat = label(t, "cat", *row->category ? row->category : "triage");
	char *sev = *row->severity ? label(t, "sev", row->severity) : strdup("-");
	char *ev, *rc, *act;

	put(vars, "category", cat);
	put(vars, "category_label", cat);
	put(vars, "severity", sev);
	put(vars, "sev_word", sev);
	free(cat);
	free(sev);
	ev = fb_card_text_evidence(state->excerpt, state->classification.evidence, EVIDENCE_MAX);
	char *code = fb_card_text_code(ev ? ev : ""); /* it sits in a ``` block */
	put(vars, "evidence", code ? code : "");
	free(code);
	free(ev);
	rc = msg_text(t, &state->analysis.root_cause_msg, state->analysis.root_cause, vars);
	put_clipped(vars, "root_cause", rc ? rc : "", ROOT_CAUSE_MAX);
	free(rc);
	if (!strcmp(prop->action, "manual")) /* the status line says why */
		act = strdup("");
	else if (*prop->summary)
		act = msg_text(t, &prop->summary_msg, prop->summary, vars);
	else
		act = msg_text(t, &prop->reason_msg, prop->reason, vars);
	put(vars, "action", act ? act : "");
	free(act);
	suggestion_vars(t, state, vars);
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
	put(vars, "id", row->id);
	put(vars, "version", version);
	put(vars, "sev_icon", sev_icon(row->severity));
	put(vars, "app", *row->app ? row->app : "-");
	put(vars, "namespace", *row->ns ? row->ns : "-");
	phase_vars(t, row, state, vars);
	story_vars(t, row, state, vars);
	snprintf(title, sizeof(title), "%s \xc2\xb7 %s \xc2\xb7 %s", var(vars, "phase_word"),
	         var(vars, "category"), *row->app ? row->app : "?");
	put(vars, "title", title);
	put(vars, "file", prop->file);
	diff_vars(t, prop, vars, diff_cut);
	put(vars, "button_value", value);
	if (!strcmp(row->status, "waiting") && strcmp(prop->action, "manual")) {
		put(vars, "buttons", "1");
		put(vars, "editable", prop->n_edits > 0 ? "1" : "");
	}
	fb_lifecard_buttons(row, state, vars); /* lifecard.c */
	fb_buf_init(&st, 8192);
	status(t, row, state, vars, &st);
	limit_note(t, &st, prop);
	fb_lifecard_status(t, state, now_ms(), &st);
	pr_and_links(t, state, vars, &st);
	put(vars, "status_md", fb_buf_str(&st) ? fb_buf_str(&st) : "-");
	/* the plain fallback: the status without mrkdwn */
	put(vars, "status", var(vars, "phase_word"));
	fb_buf_free(&st);
	rc = fb_tmpl_render(t, "card", vars, out);
	cJSON_Delete(vars);
	return rc;
}

fb_err fb_card_diff_parts(const fb_tmpl *t, const fb_state *state, cJSON **out)
{
	const fb_state_proposal *prop = &state->proposal;
	char *clean = fb_card_text_diff(prop->diff ? prop->diff : "");
	const char *diff = clean ? clean : "";
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
	free(clean);
	*out = arr;
	return FB_OK;
}

/* "path=value, ..." of an edit decision. */
static void sets_var(const fb_state_decision *d, cJSON *v)
{
	fb_buf b;
	fb_buf_init(&b, 4096);
	for (size_t i = 0; i < d->n_set; i++)
		fb_buf_printf(&b, "%s%s=%s", i ? ", " : "", d->set[i].key, d->set[i].value);
	put(v, "sets", fb_buf_str(&b));
	fb_buf_free(&b);
}

fb_err fb_card_decision_line(const fb_tmpl *t, const fb_state_decision *decision, cJSON **out)
{
	cJSON *v = cJSON_CreateObject(), *msg = NULL;
	char *who = fb_card_who(decision ? decision->user : "");
	const char *note = decision ? decision->note : "";
	const char *action = decision ? decision->action : "";
	char key[64];
	fb_err rc;

	put(v, "who_md", who);
	put(v, "action", action);
	put(v, "note", note);
	put(v, "sep", *note ? ": " : "");
	if (decision)
		sets_var(decision, v);
	/* a sentence per action (thread_decision_approve...); any other
	 * action a person takes reads "who chose action" */
	snprintf(key, sizeof(key), "thread_decision_%s", action);
	char *line = fb_tmpl_format(t, fb_tmpl_has(t, key) ? key : "thread_decision", v, 1);
	put(v, "icon", ":ballot_box_with_check:");
	put(v, "line_md", line);
	free(line);
	free(who);
	rc = fb_tmpl_render(t, "thread", v, &msg);
	cJSON_Delete(v);
	*out = msg;
	return rc;
}

/* The thread's line for a step, from the state in the card's words;
 * "" when the step has no line of its own (the caller's detail then). */
static void step_text(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                      const char *node, cJSON *vars, fb_buf *b)
{
	if (!strcmp(node, "apply")) {
		committed_line(t, b, state, vars);
		if (!b->len && *state->apply_error) {
			put(vars, "error", state->apply_error);
			status_line(t, b, "status_apply_error", vars);
		}
	} else if (!strcmp(node, "verify")) {
		verify_line(t, b, state, vars);
	} else if (!strcmp(node, "report") && !strcmp(row->node, "end")) {
		end_line(t, b, state, vars);
	} else if (!strcmp(node, "repeat")) {
		repeats_line(t, b, state, "thread_repeat");
	} else if (!strcmp(node, "resolved")) {
		status_line(t, b, "status_alert_resolved", vars);
	} else if (!strcmp(node, "propose")) {
		const fb_state_decision *last = fb_state_last_decision(state);
		char *who = fb_card_who(last ? last->user : "");
		put(vars, "who_md", who);
		free(who);
		status_line(t, b, "thread_reproposed", vars);
	}
}

fb_err fb_card_step_line(const fb_tmpl *t, const fb_incident_row *row, const fb_state *state,
                         const char *node, const char *detail, cJSON **out)
{
	cJSON *vars = cJSON_CreateObject();
	char version[24];
	fb_buf b;
	fb_err rc;

	if (!vars)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&b, 16384);
	put(vars, "id", row->id);
	put(vars, "app", *row->app ? row->app : "-");
	snprintf(version, sizeof(version), "%ld", row->version);
	put(vars, "version", version);
	phase_vars(t, row, state, vars);
	story_vars(t, row, state, vars);
	step_text(t, row, state, node, vars, &b);
	if (!b.len) {
		rc = fb_card_thread(t, node, detail, out);
	} else {
		cJSON *v = cJSON_CreateObject();
		put(v, "icon", "");
		put(v, "line_md", fb_buf_str(&b));
		rc = fb_tmpl_render(t, "thread", v, out);
		cJSON_Delete(v);
	}
	fb_buf_free(&b);
	cJSON_Delete(vars);
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
		char *cat = label(t, "cat", *rows[i]->category ? rows[i]->category : "unknown");
		char *word = label(t, "phase", rows[i]->status);
		put(r, "category", cat);
		put(r, "app", *rows[i]->app ? rows[i]->app : "-");
		put(r, "status", word);
		free(cat);
		free(word);
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
		/* the field's block_id is "set:<path>", at most 255 characters in
		 * Block Kit: a longer path cannot be named there (it is cut nowhere
		 * else, so it is left out of the form rather than misnamed) */
		if (strlen(prop->edits[i].path) > 255 - 4)
			continue;
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
