/*
 * help.c - owns the per-command help: `firebreak help COMMAND` and
 * `firebreak COMMAND --help` print the command's usage and what it does.
 * Main thread.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/cli.h"

static const struct {
	const char *name;
	const char *usage;
	const char *what;
} commands[] = {
    {"triage",
     "triage --log FILE|- [--repo DIR] [--app NAME] [--yes|--no|--pause]\n"
     "       [--set PATH=VALUE ...] [--user NAME]",
     "Runs the whole graph on one log excerpt: classification, evidence, root\n"
     "cause, suggested actions, the proposed diff, and the result.  On a\n"
     "terminal it asks [a]pprove / [r]eject / [e]dit; --yes and --no decide up\n"
     "front, --pause leaves the incident waiting for `decide`, --set pre-sets a\n"
     "proposed value."},
    {"decide",
     "decide ID approve|reject|edit [--set PATH=VALUE ...] [--note TEXT]\n"
     "       --user NAME [--version N]",
     "Decides on a waiting incident and resumes it.  --version N refuses the\n"
     "decision when the proposal changed since version N."},
    {"classify", "classify [--json] < excerpt.log",
     "Classifies a log excerpt read on stdin; --json prints category, severity,\n"
     "apps, namespace, signature, rule, confidence and evidence."},
    {"incidents",
     "incidents list [--all] [--json]\n       firebreak [-c FILE] incidents show ID [--json]\n"
     "       firebreak [-c FILE] incidents ack|resolve|reopen ID [--note TEXT] [--user NAME]\n"
     "       firebreak [-c FILE] incidents assign ID --to U123 [--note TEXT]\n"
     "       firebreak [-c FILE] incidents snooze ID --until 1h|4h|24h|monday|ISO-TIME\n"
     "       firebreak [-c FILE] incidents close ID --duplicate-of ID|--wontfix",
     "Lists the open incidents (--all: finished ones too) or shows one with its\n"
     "state and timeline; ack, assign, snooze, resolve, reopen and close step an\n"
     "incident through its lifecycle (README, \"The incident lifecycle\").\n"
     "Works while `serve` runs."},
    {"resume", "resume", "Runs every incident that has a due job (after a crash, or for timers)."},
    {"check-config", "check-config [FILE]",
     "Validates FILE (default: the -c file, FIREBREAK_CONFIG, or the built-in\n"
     "defaults) and the rules it names; prints every problem as file:line:\n"
     "message and exits 1 on any."},
    {"serve", "serve",
     "The Slack daemon (Socket Mode); needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN,\n"
     "and SLACK_CHANNEL (slack.channel) when a source is on.  One serve per\n"
     "database: a second one refuses to start.  SIGTERM/SIGINT drain and exit,\n"
     "SIGHUP reloads the configuration."},
    {"version", "version", "Prints the version (also: --version, COMMAND --version)."},
    {"help", "help [COMMAND]", "Prints the usage of every command, or of one."},
};

int fb_cli_help(const char *command, FILE *f)
{
	for (size_t i = 0; command && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, command) != 0)
			continue;
		fprintf(f, "usage: firebreak [-c FILE] %s\n\n%s\n", commands[i].usage,
		        commands[i].what);
		return 0;
	}
	fprintf(stderr, "firebreak: no help for \"%s\" (commands:", command ? command : "");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, " %s", commands[i].name);
	fprintf(stderr, ")\n");
	return 2;
}
