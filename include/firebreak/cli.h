/*
 * cli.h - the command-line face: each command is a function of argv that
 * returns the process exit status (0 ok, 1 failure, 2 usage).
 */
#ifndef FIREBREAK_CLI_H
#define FIREBREAK_CLI_H

#include <stdio.h>

int fb_cli_check_config(const char *config_path, int argc, char **argv);
int fb_cli_classify(const char *config_path, int argc, char **argv);
int fb_cli_triage(const char *config_path, int argc, char **argv);
int fb_cli_decide(const char *config_path, int argc, char **argv);
int fb_cli_incidents(const char *config_path, int argc, char **argv);
/* incidents ack|assign|snooze|resolve|reopen|close ID ... (life.c) */
int fb_cli_incidents_life(const char *config_path, int argc, char **argv);
int fb_cli_resume(const char *config_path, int argc, char **argv);

/* The usage of one command and what it does, on f (help.c): 0, or 2 with a
 * line on stderr for an unknown command. */
int fb_cli_help(const char *command, FILE *f);

#endif
