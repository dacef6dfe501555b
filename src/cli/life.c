/*
 * life.c - owns the lifecycle commands of the CLI: `firebreak incidents
 * ack|assign|snooze|resolve|reopen|close ID ...`.  Main thread only.
 *
 * They go through fb_lifecycle_do(), the entry point Slack and the API
 * use, with the Slack dispatcher as the step hook: the card's update and
 * its thread line are written to the outbox in the same transaction, and
 * the daemon sends them.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firebreak/cli.h"
#include "firebreak/dispatch.h"
#include "firebreak/lifecycle.h"
#include "firebreak/log.h"

typedef struct {
	fb_life_op op;
	const char *until, *to, *dup;
	int wontfix;
	char user[128];
} life_args;

/* Who runs the command, when --user does not say: the login name. */
static void login_name(char *out, size_t n)
{
	struct passwd *pw = getpwuid(geteuid());
	if (getlogin_r(out, n) != 0 || !*out)
		snprintf(out, n, "%s", pw && pw->pw_name ? pw->pw_name : "cli");
}

static int parse(int argc, char **argv, life_args *a)
{
	memset(a, 0, sizeof(*a));
	a->op.op = fb_lifecycle_parse(argv[0]);
	if (!a->op.op || a->op.op == FB_LIFE_WAKE || argc < 2 || argv[1][0] == '-')
		return 0;
	a->op.id = argv[1];
	a->op.via = "cli";
	a->op.note = "";
	for (int i = 2; i < argc; i++) {
		int has = i + 1 < argc;
		if (!strcmp(argv[i], "--note") && has)
			a->op.note = argv[++i];
		else if (!strcmp(argv[i], "--user") && has)
			snprintf(a->user, sizeof(a->user), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--until") && has && a->op.op == FB_LIFE_SNOOZE)
			a->until = argv[++i];
		else if (!strcmp(argv[i], "--to") && has && a->op.op == FB_LIFE_ASSIGN)
			a->to = argv[++i];
		else if (!strcmp(argv[i], "--duplicate-of") && has && a->op.op == FB_LIFE_CLOSE)
			a->dup = argv[++i];
		else if (!strcmp(argv[i], "--wontfix") && a->op.op == FB_LIFE_CLOSE)
			a->wontfix = 1;
		else
			return 0;
	}
	if ((a->op.op == FB_LIFE_SNOOZE && !a->until) || (a->op.op == FB_LIFE_ASSIGN && !a->to) ||
	    (a->op.op == FB_LIFE_CLOSE && !a->dup == !a->wontfix))
		return 0;
	if (!*a->user)
		login_name(a->user, sizeof(a->user));
	a->op.user = a->user;
	a->op.other_id = a->op.op == FB_LIFE_ASSIGN ? a->to : a->dup ? a->dup : "";
	return 1;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: firebreak incidents ack|resolve|reopen ID [--note TEXT] [--user NAME]\n"
	        "       firebreak incidents assign ID --to U123 [--note TEXT] [--user NAME]\n"
	        "       firebreak incidents snooze ID --until 1h|4h|24h|monday|ISO-TIME "
	        "[--note TEXT]\n"
	        "       firebreak incidents close ID --duplicate-of ID|--wontfix [--note TEXT]\n");
	return 2;
}

/* Runs the op with the card's outbox rows as its hook. */
static int run(const fb_config *cfg, fb_store *store, const fb_life_op *op)
{
	fb_graph_env env = {.cfg = cfg, .store = store};
	fb_dispatch disp = {.env = &env};
	fb_tmpl *tmpl = NULL;
	fb_err rc;

	if (fb_tmpl_load(cfg->slack.locale, &tmpl) == FB_OK) {
		disp.tmpl = tmpl;
		env.on_step = fb_dispatch_on_step;
		env.hook_ctx = &disp;
	}
	fb_error_clear();
	rc = fb_lifecycle_do(&env, op);
	fb_tmpl_free(tmpl);
	if (rc) {
		fprintf(stderr, "firebreak: %s refused: %s\n", fb_lifecycle_name(op->op),
		        fb_error_last());
		return 1;
	}
	printf("%s: %s\n", op->id, fb_lifecycle_name(op->op));
	return 0;
}

int fb_cli_incidents_life(const char *config_path, int argc, char **argv)
{
	fb_config cfg;
	fb_store *store = NULL;
	char *errors = NULL;
	life_args a;
	int rc;

	if (argc < 1 || !parse(argc, argv, &a))
		return usage();
	if (a.op.op == FB_LIFE_SNOOZE &&
	    fb_lifecycle_parse_until(a.until, fb_now_ms(), &a.op.until) != FB_OK) {
		fprintf(stderr, "firebreak: %s\n", fb_error_last());
		return 2;
	}
	if (fb_config_load(config_path, &cfg, &errors) != FB_OK) {
		fprintf(stderr, "%sfirebreak: %s\n", errors ? errors : "", fb_error_last());
		free(errors);
		return 1;
	}
	int lvl = fb_log_level_parse(cfg.log_level);
	fb_log_set_level(lvl < 0 ? FB_LOG_INFO : (fb_log_level)lvl);
	if (fb_store_open(cfg.store.path, 0, &store) != FB_OK) {
		fprintf(stderr, "firebreak: cannot open the store: %s\n", fb_error_last());
		return 1;
	}
	rc = run(&cfg, store, &a.op);
	fb_store_free(store);
	return rc;
}
