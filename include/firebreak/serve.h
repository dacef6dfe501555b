/*
 * serve.h - `firebreak serve`: the Slack daemon (see serve.c).
 */
#ifndef FIREBREAK_SERVE_H
#define FIREBREAK_SERVE_H

/* Runs until SIGTERM/SIGINT (0) or a fatal Slack error (1). */
int fb_serve_main(const char *config_path, int argc, char **argv);

#endif
