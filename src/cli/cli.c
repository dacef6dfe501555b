/*
 * cli.c - owns the command-line commands: argument parsing, opening what
 * each command needs (config, rules, store, repository), the interactive
 * approval prompt, and exit statuses.  Main thread only.
 *
 * The CLI decides through fb_graph_decide(), the same entry point the
 * Slack dispatcher uses, so a decision typed here obeys the same policy
 * and lands in the same timeline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firebreak/buf.h"
#include "firebreak/cli.h"
#include "firebreak/graph.h"
#include "firebreak/ingest.h"
#include "firebreak/log.h"
#include "firebreak/mask.h"
#include "firebreak/action.h"
#include "firebreak/report.h"
#include "firebreak/startup.h"

#define LOG_MAX (4u * 1024u * 1024u)
#define MAX_SETS 32

enum { NEED_RULES = 1, NEED_STORE = 2, NEED_GITOPS = 4 };

typedef struct {
	fb_config cfg;
	fb_rules *rules;
	fb_store *store;
	fb_gitops *gitops;
	fb_graph_env env;
} app;

static int fail(const char *what)
{
	fprintf(stderr, "firebreak: %s%s%s\n", what, *fb_error_last() ? ": " : "", fb_error_last());
	return 1;
}

static int load_config(const char *path, fb_config *cfg)
{
	char *errors = NULL;
	if (fb_config_load(path, cfg, &errors) != FB_OK) {
		fprintf(stderr, "%s", errors ? errors : "");
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		free(errors);
		return 0;
	}
	int lvl = fb_log_level_parse(cfg->log_level);
	fb_log_set_level(lvl < 0 ? FB_LOG_INFO : (fb_log_level)lvl);
	return 1;
}

static int load_rules(const fb_config *cfg, fb_rules **out)
{
	char *errors = NULL;
	if (fb_rules_load(cfg->rules.path, out, &errors) != FB_OK) {
		fprintf(stderr, "%s", errors ? errors : "");
		free(errors);
		fail("cannot load the rules");
		return 0;
	}
	return 1;
}

static void app_close(app *a)
{
	fb_gitops_free(a->gitops);
	fb_store_free(a->store);
	fb_rules_free(a->rules);
}

static int app_open(app *a, const char *config_path, const char *repo, unsigned need)
{
	memset(a, 0, sizeof(*a));
	if (!load_config(config_path, &a->cfg))
		return 0;
	if (repo)
		snprintf(a->cfg.gitops.repo, sizeof(a->cfg.gitops.repo), "%s", repo);
	if ((need & NEED_RULES) && !load_rules(&a->cfg, &a->rules))
		return 0;
	if ((need & NEED_STORE) && (fb_config_prepare_store(&a->cfg) != FB_OK ||
	                            fb_store_open(a->cfg.store.path, 0, &a->store) != FB_OK)) {
		fail("cannot open the store");
		return 0;
	}
	if ((need & NEED_GITOPS) && fb_gitops_open(&a->cfg, &a->gitops) != FB_OK) {
		fb_log(FB_LOG_WARN, "gitops.unavailable", "repo=%s: fixes will be manual",
		       a->cfg.gitops.repo);
		fb_error_clear();
	}
	a->env = (fb_graph_env){
	    .cfg = &a->cfg,
	    .rules = a->rules,
	    .store = a->store,
	    .gitops = a->gitops,
	    .crash_after = a->cfg.crash_after[0] ? a->cfg.crash_after : NULL,
	};
	return 1;
}

static int read_input(const char *path, fb_buf *b)
{
	fb_buf_init(b, LOG_MAX);
	fb_err rc =
	    (!path || !strcmp(path, "-")) ? fb_buf_read_fd(b, 0) : fb_buf_read_file(b, path);
	if (rc) {
		fail(rc == FB_ETOOBIG ? "the log is larger than 4 MiB" : "cannot read the log");
		fb_buf_free(b);
		return 0;
	}
	return 1;
}

/* ---- check-config ---- */

int fb_cli_check_config(const char *config_path, int argc, char **argv)
{
	const char *path = argc > 0 ? argv[0] : config_path;
	fb_config cfg;
	fb_rules *rules = NULL;
	char *errors = NULL, why[512];
	int bad = 0;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-')) {
		int help = !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h");
		fprintf(help ? stdout : stderr, "usage: firebreak [-c FILE] check-config [FILE]\n"
		                                "  validates FILE (default: the -c file, "
		                                "FIREBREAK_CONFIG, or the built-in defaults)\n");
		return help ? 0 : 2;
	}
	if (fb_config_load(path, &cfg, &errors) != FB_OK) {
		fprintf(stdout, "%s", errors ? errors : "");
		bad = 1;
	}
	free(errors);
	errors = NULL;
	if (!bad && fb_startup_source_without_channel(&cfg, why, sizeof(why))) {
		printf("%s: %s\n", path ? path : "(built-in defaults)", why);
		bad = 1;
	}
	if (!bad && fb_rules_load(cfg.rules.path, &rules, &errors) != FB_OK) {
		fprintf(stdout, "%s", errors ? errors : fb_error_last());
		bad = 1;
	}
	free(errors);
	fb_rules_free(rules);
	if (!bad)
		printf("%s: ok\n", path ? path : "(built-in defaults)");
	return bad;
}

/* ---- classify ---- */

static void print_classification_json(const fb_classification *c)
{
	cJSON *o = fb_classification_json(c);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "facts"); /* the documented keys */
	char *s = cJSON_PrintUnformatted(o);
	printf("%s\n", s ? s : "{}");
	free(s);
	cJSON_Delete(o);
}

int fb_cli_classify(const char *config_path, int argc, char **argv)
{
	int json = 0;
	fb_config cfg;
	fb_rules *rules = NULL;
	fb_buf in;
	char *masked = NULL;
	fb_classification cls;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			fprintf(stderr, "usage: firebreak classify [--json] < excerpt.log\n");
			return 2;
		}
	}
	if (!load_config(config_path, &cfg) || !load_rules(&cfg, &rules))
		return 1;
	if (!read_input("-", &in)) {
		fb_rules_free(rules);
		return 1;
	}
	int ok = fb_mask(fb_buf_str(&in), in.len, &masked) == FB_OK &&
	         fb_rules_classify(rules, masked, strlen(masked), &cls) == FB_OK;
	if (ok && json)
		print_classification_json(&cls);
	else if (ok)
		fb_report_classification(stdout, &cls);
	free(masked);
	fb_buf_free(&in);
	fb_rules_free(rules);
	return ok ? 0 : fail("classification failed");
}

/* ---- showing an incident ---- */

static int load_incident(app *a, const char *id, fb_incident_row **row, fb_state **state)
{
	if (fb_store_incident_get(a->store, id, row) != FB_OK)
		return fail("cannot read the incident");
	if (fb_state_parse((*row)->state, state)) {
		fb_incident_row_free(*row);
		return fail("the incident's state is unreadable");
	}
	return 0;
}

/* ---- the interactive prompt ---- */

static int ask(FILE *tty, const char *prompt, char *out, size_t outsz)
{
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (!fgets(out, (int)outsz, tty))
		return 0;
	out[strcspn(out, "\r\n")] = '\0';
	return 1;
}

/* Asks for each proposed value in the order of the diff; an empty answer
 * keeps the proposed value. */
static size_t ask_edits(FILE *tty, const fb_state *state, char sets[][300], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < state->proposal.n_edits; i++) {
		const char *path = state->proposal.edits[i].path;
		const char *nv = state->proposal.edits[i].new_value;
		char prompt[400], answer[200];
		if (n == max)
			continue;
		snprintf(prompt, sizeof(prompt), "  %s [%s]: ", path, nv);
		if (!ask(tty, prompt, answer, sizeof(answer)))
			break;
		snprintf(sets[n++], 300, "%s=%s", path, answer[0] ? answer : nv);
	}
	return n;
}

/* One round of the prompt: returns 1 when a decision was recorded. */
static int prompt_once(app *a, FILE *tty, const char *id, const char *user)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	char answer[64], note[300] = "", sets[MAX_SETS][300];
	const char *setp[MAX_SETS];
	fb_decision d = {.user = user, .version = -1, .via = "cli"};

	if (!ask(tty, "\nDecision? [a]pprove / [r]eject / [e]dit: ", answer, sizeof(answer)))
		return 0;
	if (answer[0] == 'a') {
		d.action = "approve";
	} else if (answer[0] == 'r') {
		d.action = "reject";
		ask(tty, "Reason (optional): ", note, sizeof(note));
	} else if (answer[0] == 'e') {
		if (load_incident(a, id, &row, &state))
			return 0;
		d.action = "edit";
		d.n_sets = ask_edits(tty, state, sets, MAX_SETS);
		for (size_t i = 0; i < d.n_sets; i++)
			setp[i] = sets[i];
		d.sets = setp;
		ask(tty, "Note (optional): ", note, sizeof(note));
		fb_state_free(state);
		fb_incident_row_free(row);
	} else {
		fprintf(stderr, "Please answer a, r or e.\n");
		return 1;
	}
	d.note = note;
	if (fb_graph_decide(&a->env, id, &d) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 1;
	}
	if (fb_graph_run(&a->env, id) != FB_OK)
		fail("resuming the incident");
	return 1;
}

/* Prints the incident and, if it waits and a terminal is there, asks. */
static int show_and_prompt(app *a, const char *id, const char *user, int interactive)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	FILE *tty = NULL;
	int rc = 0;

	if (interactive)
		tty = isatty(0) ? stdin : fopen("/dev/tty", "r");
	for (int round = 0; round < 20; round++) {
		if (load_incident(a, id, &row, &state))
			return 1;
		fb_report_incident(stdout, row, state);
		int waiting = !strcmp(row->status, "waiting");
		if (!waiting || !tty) {
			fb_report_result(stdout, row, state);
			if (waiting)
				printf("\nWaiting for a decision: firebreak decide %s "
				       "approve|reject|edit "
				       "--user NAME\n",
				       id);
			rc = !strcmp(row->status, "failed") || !strcmp(row->status, "open");
			fb_state_free(state);
			fb_incident_row_free(row);
			break;
		}
		fflush(stdout);
		fb_state_free(state);
		fb_incident_row_free(row);
		if (!prompt_once(a, tty, id, user))
			break;
		printf("\n");
	}
	if (tty && tty != stdin)
		fclose(tty);
	return rc;
}

/* ---- triage ---- */

typedef struct {
	const char *log, *repo, *app, *user, *mode;
	const char *sets[MAX_SETS];
	size_t n_sets;
} triage_args;

static int parse_triage(int argc, char **argv, triage_args *t)
{
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];
		int has = i + 1 < argc;
		if (!strcmp(o, "--log") && has)
			t->log = argv[++i];
		else if (!strcmp(o, "--repo") && has)
			t->repo = argv[++i];
		else if (!strcmp(o, "--app") && has)
			t->app = argv[++i];
		else if (!strcmp(o, "--user") && has)
			t->user = argv[++i];
		else if (!strcmp(o, "--set") && has && t->n_sets < MAX_SETS)
			t->sets[t->n_sets++] = argv[++i];
		else if (!strcmp(o, "--yes") || !strcmp(o, "--no") || !strcmp(o, "--pause"))
			t->mode = o + 2;
		else
			return 0;
	}
	return t->log != NULL;
}

/* --yes and --no are decisions given up front: stored with the incident so
 * that a crash before the approval gate cannot lose them. */
static const fb_state_decision *upfront(const app *a, const triage_args *t, const char *user,
                                        fb_state_decision *out)
{
	fb_decision d = {.user = user, .note = "", .version = -1, .via = "cli"};
	if (!t->mode || !strcmp(t->mode, "pause"))
		return NULL;
	d.action = !strcmp(t->mode, "yes") ? "approve" : "reject";
	if (!strcmp(d.action, "approve") && a->cfg.policy.four_eyes) {
		fb_error_set(FB_ESTATE,
		             "policy.four_eyes forbids approving your own incident (--yes)");
		return NULL;
	}
	if (!fb_config_is_approver(&a->cfg, user)) {
		fb_error_set(FB_ESTATE, "%s is not in slack.approvers", user);
		return NULL;
	}
	fb_graph_decision(&d, out);
	return out;
}

/* --set PATH=VALUE as overrides (a later PATH replaces an earlier); 0 when
 * one is malformed or invalid. */
static int overrides(const app *a, const triage_args *t, fb_state_pair *ov, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < t->n_sets; i++) {
		const char *eq = strchr(t->sets[i], '=');
		char path[256];
		size_t j;
		if (!eq) {
			fb_error_set(FB_EINVAL, "\"%s\" is not PATH=VALUE", t->sets[i]);
			return 0;
		}
		snprintf(path, sizeof(path), "%.*s", (int)(eq - t->sets[i]), t->sets[i]);
		if (fb_action_validate(&a->cfg, NULL, path, eq + 1) != FB_OK)
			return 0;
		for (j = 0; j < *n && strcmp(ov[j].key, path); j++)
			;
		if (j == FB_STATE_SETS_MAX) {
			fb_error_set(FB_EINVAL, "at most %d --set values", FB_STATE_SETS_MAX);
			return 0;
		}
		fb_state_copy(ov[j].key, sizeof(ov[j].key), path);
		fb_state_copy(ov[j].value, sizeof(ov[j].value), eq + 1);
		*n += j == *n;
	}
	return 1;
}

int fb_cli_triage(const char *config_path, int argc, char **argv)
{
	triage_args t = {0};
	app a;
	fb_buf log;
	char id[64];
	const fb_state_decision *dec = NULL;
	fb_state_decision dec_buf;
	fb_state_pair ov[FB_STATE_SETS_MAX];
	size_t n_ov = 0;
	int rc = 1;

	if (!parse_triage(argc, argv, &t)) {
		fprintf(stderr, "usage: firebreak triage --log FILE|- [--repo DIR] [--app NAME] "
		                "[--yes|--no|--pause] [--set PATH=VALUE ...] [--user NAME]\n");
		return 2;
	}
	if (!app_open(&a, config_path, t.repo, NEED_RULES | NEED_STORE | NEED_GITOPS)) {
		app_close(&a);
		return 1;
	}
	const char *user = t.user ? t.user : (a.cfg.user[0] ? a.cfg.user : "cli");
	if (!read_input(t.log, &log)) {
		app_close(&a);
		return 1;
	}
	fb_error_clear();
	dec = upfront(&a, &t, user, &dec_buf);
	int ov_ok = overrides(&a, &t, ov, &n_ov);
	if ((t.mode && strcmp(t.mode, "pause") && !dec) || !ov_ok) {
		fail("refused");
		goto out;
	}
	fb_manual_trigger trig = {
	    .via = "cli", .text = fb_buf_str(&log), .len = log.len, .user = user, .app = t.app};
	fb_ingest_route route = {
	    .channel = "", .decision = dec, .overrides = ov, .n_overrides = n_ov};
	fb_ingest_result res;
	fb_source_batch *b = NULL;
	fb_err err = fb_source_manual_new(&trig, &b);
	if (!err)
		err = fb_ingest_commit(&a.env, b, &route, &res);
	fb_source_batch_free(b);
	if (err) {
		fail("cannot create the incident");
		goto out;
	}
	snprintf(id, sizeof(id), "%s", res.first_id);
	if (fb_graph_run(&a.env, id) != FB_OK) {
		fail("the incident stopped");
		goto out;
	}
	int interactive = !t.mode && (t.log && strcmp(t.log, "-") ? isatty(0) : isatty(2));
	rc = show_and_prompt(&a, id, user, interactive);
out:
	fb_buf_free(&log);
	app_close(&a);
	return rc;
}

/* ---- decide ---- */

/* The repository for a decision on incident id: the configured one, or,
 * when the config names none (gitops.repo is the default "."), the one
 * recorded with the incident when it was proposed. */
static void open_incident_repo(app *a, const char *id)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;

	if (!strcmp(a->cfg.gitops.repo, ".") &&
	    fb_store_incident_get(a->store, id, &row) == FB_OK &&
	    fb_state_parse(row->state, &state) == FB_OK && *state->repo)
		snprintf(a->cfg.gitops.repo, sizeof(a->cfg.gitops.repo), "%s", state->repo);
	fb_state_free(state);
	fb_incident_row_free(row);
	fb_error_clear();
	if (fb_gitops_open(&a->cfg, &a->gitops) != FB_OK) {
		fb_log(FB_LOG_WARN, "gitops.unavailable", "repo=%s: %s", a->cfg.gitops.repo,
		       fb_error_last());
		fb_error_clear();
	}
	a->env.gitops = a->gitops;
}

int fb_cli_decide(const char *config_path, int argc, char **argv)
{
	fb_decision d = {.version = -1, .via = "cli", .note = ""};
	const char *sets[MAX_SETS];
	app a;
	int rc;

	if (argc < 2)
		goto usage;
	d.action = argv[1];
	for (int i = 2; i < argc; i++) {
		int has = i + 1 < argc;
		char *end;
		if (!strcmp(argv[i], "--set") && has && d.n_sets < MAX_SETS)
			sets[d.n_sets++] = argv[++i];
		else if (!strcmp(argv[i], "--note") && has)
			d.note = argv[++i];
		else if (!strcmp(argv[i], "--user") && has)
			d.user = argv[++i];
		else if (!strcmp(argv[i], "--version") && has) {
			d.version = strtol(argv[++i], &end, 10);
			if (*end || d.version < 0)
				goto usage;
		} else
			goto usage;
	}
	if (!d.user)
		goto usage;
	d.sets = sets;
	if (!app_open(&a, config_path, NULL, NEED_RULES | NEED_STORE)) {
		app_close(&a);
		return 1;
	}
	open_incident_repo(&a, argv[0]);
	if (fb_graph_decide(&a.env, argv[0], &d) != FB_OK) {
		fprintf(stderr, "firebreak: decision refused: %s\n", fb_error_last());
		app_close(&a);
		return 1;
	}
	rc = fb_graph_run(&a.env, argv[0]) != FB_OK ? fail("resuming the incident") : 0;
	if (!rc)
		rc = show_and_prompt(&a, argv[0], d.user, 0);
	app_close(&a);
	return rc;
usage:
	fprintf(stderr, "usage: firebreak decide ID approve|reject|edit [--set PATH=VALUE ...] "
	                "[--note TEXT] --user NAME [--version N]\n");
	return 2;
}

/* ---- incidents ---- */

static int incidents_list(app *a, int all, int json)
{
	fb_incident_row **rows = NULL;
	size_t n = 0;

	if (fb_store_incident_list(a->store, all, &rows, &n) != FB_OK)
		return fail("cannot list incidents");
	if (json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, fb_report_json(rows[i], NULL, NULL, 0));
		char *s = cJSON_Print(arr);
		printf("%s\n", s ? s : "[]");
		free(s);
		cJSON_Delete(arr);
	} else {
		fb_report_list(stdout, rows, n);
	}
	fb_incident_rows_free(rows, n);
	return 0;
}

static int incidents_show(app *a, const char *id, int json)
{
	fb_incident_row *row = NULL;
	fb_state *state = NULL;
	fb_timeline_entry *tl = NULL;
	size_t n = 0;

	if (load_incident(a, id, &row, &state))
		return 1;
	if (fb_store_timeline_list(a->store, id, &tl, &n) != FB_OK) {
		fb_state_free(state);
		fb_incident_row_free(row);
		return fail("cannot read the timeline");
	}
	if (json) {
		cJSON *o = fb_report_json(row, state, tl, n);
		char *s = cJSON_Print(o);
		printf("%s\n", s ? s : "{}");
		free(s);
		cJSON_Delete(o);
	} else {
		fb_report_incident(stdout, row, state);
		fb_report_result(stdout, row, state);
		fb_report_timeline(stdout, tl, n);
	}
	fb_timeline_free(tl, n);
	fb_state_free(state);
	fb_incident_row_free(row);
	return 0;
}

int fb_cli_incidents(const char *config_path, int argc, char **argv)
{
	int all = 0, json = 0, rc;
	const char *id = NULL;
	app a;

	if (argc >= 1 && strcmp(argv[0], "list") && strcmp(argv[0], "show"))
		return fb_cli_incidents_life(config_path, argc, argv); /* life.c */
	if (argc < 1)
		goto usage;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = 1;
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] != '-' && !id)
			id = argv[i];
		else
			goto usage;
	}
	if (!strcmp(argv[0], "show") && !id)
		goto usage;
	if (!app_open(&a, config_path, NULL, NEED_STORE)) {
		app_close(&a);
		return 1;
	}
	rc =
	    !strcmp(argv[0], "list") ? incidents_list(&a, all, json) : incidents_show(&a, id, json);
	app_close(&a);
	return rc;
usage:
	fprintf(stderr,
	        "usage: firebreak incidents list [--all] [--json]\n"
	        "       firebreak incidents show ID [--json]\n"
	        "       firebreak incidents ack|assign|snooze|resolve|reopen|close ID ...\n");
	return 2;
}

/* ---- resume ---- */

int fb_cli_resume(const char *config_path, int argc, char **argv)
{
	app a;
	size_t ran = 0;
	(void)argv;

	if (argc > 0) {
		fprintf(stderr, "usage: firebreak resume\n");
		return 2;
	}
	if (!app_open(&a, config_path, NULL, NEED_RULES | NEED_STORE | NEED_GITOPS)) {
		app_close(&a);
		return 1;
	}
	int rc = fb_graph_resume_all(&a.env, &ran) != FB_OK ? fail("resume failed") : 0;
	if (!rc)
		printf("resumed %zu incident%s\n", ran, ran == 1 ? "" : "s");
	app_close(&a);
	return rc;
}
