/*
 * config_int.h - private to config.c and config_check.c: the loader that
 * collects every problem of one load, with where each key was set (its
 * line in the file, or the environment variable), so that a check made
 * after the whole file is read still says file:line.
 */
#ifndef FIREBREAK_CONFIG_INT_H
#define FIREBREAK_CONFIG_INT_H

#include "firebreak/buf.h"
#include "firebreak/config.h"

#define FB_CONFIG_KEYS_MAX 160 /* rows of config.c's key table */

typedef struct {
	const char *file;
	fb_buf errors;
	int nerr;
	unsigned long line[FB_CONFIG_KEYS_MAX]; /* line where key i was set; 0: not in the file */
	const char *env[FB_CONFIG_KEYS_MAX];    /* the variable that set key i last, or NULL */
} fb_config_loader;

/* "file:line: message" (line 0: "file: message"). */
void fb_config_problem_at(fb_config_loader *ld, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "key: message" at the line where key (section.name) was set, or naming
 * the environment variable that set it. */
void fb_config_problem_key(fb_config_loader *ld, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The range and shape checks made once the file and the environment are
 * read (config_check.c). */
void fb_config_check(fb_config_loader *ld, const fb_config *cfg);

/* After the file and the environment: cfg->state_dir is set and a
 * relative store.path lies in it (config_state.c). */
void fb_config_resolve_state(fb_config_loader *ld, fb_config *cfg);

/* 1 when s looks like a Slack user id: U or W, then upper-case letters and
 * digits. */
int fb_config_slack_user_id(const char *s);

/* "30s", "5m", "1h": seconds into *out; NULL or a message. */
const char *fb_config_parse_duration(const char *s, long *out);

/* config_forge.c: the gitops.forge mapping; after the environment, what
 * pull_request mode needs. */
struct yaml_document_s;
struct yaml_node_s;
void fb_config_load_forge(fb_config_loader *ld, struct yaml_document_s *doc, struct yaml_node_s *v,
                          fb_config *cfg);
void fb_config_check_pull_request(fb_config_loader *ld, fb_config *cfg);

#endif
