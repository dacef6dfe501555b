/*
 * main.c - owns process start-up: global options, library initialisation
 * and dispatch to the command.  Main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/cli.h"
#include "firebreak/gitops.h"
#include "firebreak/serve.h"

#define FIREBREAK_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: firebreak [-c FILE] COMMAND [ARGS]\n"
	        "\n"
	        "  triage --log FILE|- [--repo DIR] [--app NAME] [--yes|--no|--pause]\n"
	        "         [--set PATH=VALUE ...] [--user NAME]\n"
	        "                       run the whole graph on one log excerpt\n"
	        "  decide ID approve|reject|edit [--set PATH=VALUE ...] [--note TEXT]\n"
	        "         --user NAME [--version N]\n"
	        "                       decide on a waiting incident and resume it\n"
	        "  classify [--json]    classify a log excerpt read on stdin\n"
	        "  incidents list [--all] [--json]\n"
	        "  incidents show ID [--json]\n"
	        "  resume               run every incident that has a due job\n"
	        "  check-config [FILE]  validate a configuration file\n"
	        "  serve                the Slack daemon (Socket Mode); needs SLACK_APP_TOKEN,\n"
	        "                       SLACK_BOT_TOKEN and SLACK_CHANNEL\n"
	        "  version\n"
	        "  help [COMMAND]       the usage of one command (also: COMMAND --help)\n"
	        "\n"
	        "  -c, --config FILE    configuration (default: $FIREBREAK_CONFIG, else built-in\n"
	        "                       defaults; see deploy/firebreak.yaml)\n");
}

int main(int argc, char **argv)
{
	const char *config = getenv("FIREBREAK_CONFIG");
	int i = 1, rc;

	if (config && !*config)
		config = NULL;
	while (i < argc && argv[i][0] == '-') {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			config = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("firebreak %s\n", FIREBREAK_VERSION);
			return 0;
		} else {
			fprintf(stderr, "firebreak: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i];
	int cargc = argc - i - 1;
	char **cargv = argv + i + 1;

	if (!strcmp(cmd, "help") && cargc > 0)
		return fb_cli_help(cargv[0], stdout);
	for (int k = 0; k < cargc; k++)
		if (!strcmp(cargv[k], "--help") || (cargc == 1 && !strcmp(cargv[k], "-h")))
			return fb_cli_help(cmd, stdout);
	if (cargc == 1 && !strcmp(cargv[0], "--version")) { /* decide's takes a number */
		printf("firebreak %s\n", FIREBREAK_VERSION);
		return 0;
	}
	fb_gitops_global_init();
	if (!strcmp(cmd, "triage"))
		rc = fb_cli_triage(config, cargc, cargv);
	else if (!strcmp(cmd, "decide"))
		rc = fb_cli_decide(config, cargc, cargv);
	else if (!strcmp(cmd, "classify"))
		rc = fb_cli_classify(config, cargc, cargv);
	else if (!strcmp(cmd, "incidents"))
		rc = fb_cli_incidents(config, cargc, cargv);
	else if (!strcmp(cmd, "resume"))
		rc = fb_cli_resume(config, cargc, cargv);
	else if (!strcmp(cmd, "serve"))
		rc = fb_serve_main(config, cargc, cargv);
	else if (!strcmp(cmd, "check-config"))
		rc = fb_cli_check_config(config, cargc, cargv);
	else if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("firebreak %s\n", FIREBREAK_VERSION);
		rc = 0;
	} else if (!strcmp(cmd, "help")) {
		usage(stdout);
		rc = 0;
	} else {
		fprintf(stderr, "firebreak: unknown command \"%s\"\n", cmd);
		usage(stderr);
		rc = 2;
	}
	fb_gitops_global_shutdown();
	return rc;
}
