/*
 * config.h - the configuration, parsed once into a struct.
 *
 * Sources, later ones winning: the compiled-in defaults (the same values
 * deploy/firebreak.yaml documents), one YAML file, then environment
 * variables (FIREBREAK_DB, GITOPS_REPO, GITOPS_REMOTE, GITOPS_BRANCH and the
 * secrets).  No other module reads YAML config or the environment.
 * Unknown keys and bad values are errors reported as file:line: message.
 */
#ifndef FIREBREAK_CONFIG_H
#define FIREBREAK_CONFIG_H

#include <stddef.h>
#include "firebreak/error.h"

#define FB_CFG_STR 512
#define FB_CFG_LIST_MAX 32

typedef struct {
	char category[32];
	char app[128]; /* "" or "*" = any app */
} fb_auto_apply;

typedef struct {
	char path[FB_CFG_STR]; /* where the config came from, "" = defaults */
	char log_level[16];
	/* state_dir: after fb_config_load, always set: the key, else
	 * $STATE_DIRECTORY (systemd), $XDG_STATE_HOME/firebreak,
	 * ~/.local/state/firebreak, /var/lib/firebreak (no HOME). */
	char state_dir[FB_CFG_STR];

	struct {
		char path[FB_CFG_STR]; /* after load: absolute, or FIREBREAK_DB as given */
	} store;

	struct {
		char path[FB_CFG_STR]; /* "" = the rules compiled into the binary */
	} rules;

	struct {
		char repo[FB_CFG_STR];
		char branch[128];
		char remote[FB_CFG_STR];
		char values_path[FB_CFG_STR];
		char author_name[128];
		char author_email[128];
		char token[FB_CFG_STR]; /* secret: GITOPS_TOKEN, https pushes */
		char ssh_key[FB_CFG_STR];
		char url[FB_CFG_STR]; /* GITOPS_URL: cloned into repo when it has none */
		/* pull-request mode (README "Pull-request mode") */
		char mode[16]; /* push (default) or pull_request */
#define FB_FORGE_LABELS_MAX 8
		struct {
			char kind[16];            /* github, gitlab, gitea (forgejo) */
			char api_url[FB_CFG_STR]; /* "" = the public service's */
			char repo[256];           /* owner/name, or GitLab's project path */
			char token[FB_CFG_STR];   /* secret: FIREBREAK_FORGE_TOKEN */
			char web_url[FB_CFG_STR]; /* "" = derived from api_url */
			char ca_file[FB_CFG_STR];
			char labels[FB_FORGE_LABELS_MAX][64];
			size_t n_labels;
			long poll_interval; /* seconds between looks at an open PR */
		} forge;
	} gitops;

	struct {
		double memory_factor;
		char max_memory[32];
		double disk_factor;
		char max_disk[32];
		double replicas_factor;   /* an HPA at its maximum: maxReplicas times this */
		long max_replicas;        /* ... up to this */
		double cpu_factor;        /* CPU throttling: limits.cpu times this */
		char max_cpu[32];         /* ... up to this */
		long image_change_window; /* seconds */
		int four_eyes;
		fb_auto_apply auto_apply[FB_CFG_LIST_MAX];
		size_t n_auto_apply;
	} policy;

	struct {
		char channel[128];
		char locale[8];
		char approvers[FB_CFG_LIST_MAX][64];
		size_t n_approvers;
		char api_url[FB_CFG_STR];   /* SLACK_API_URL */
		long post_interval_ms;      /* -1: Slack's limits; 0: none; N: flat */
		long ping_interval;         /* seconds between client pings */
		long dead_after;            /* seconds without a pong: reconnect */
		char app_token[FB_CFG_STR]; /* secret: SLACK_APP_TOKEN (xapp-) */
		char bot_token[FB_CFG_STR]; /* secret: SLACK_BOT_TOKEN (xoxb-) */
	} slack;

	struct {
		long rate;   /* new incidents a minute in a channel that make a storm; 0: off */
		long window; /* seconds: correlation window; a storm outlasts its rate this long */
	} storm;

	struct {
		char listen[128]; /* ADDRESS:PORT; "" = no HTTP server */
	} http;

	struct {
		char key[FB_CFG_STR]; /* secret: FIREBREAK_API_KEY; "" = the API is off */
	} api;

	struct {
		char token[FB_CFG_STR]; /* secret: ALERTMANAGER_TOKEN; "" = the hook is off */
	} alertmanager;

#define FB_LOKI_QUERIES 8
	struct {
		char url[FB_CFG_STR]; /* LOKI_URL; "" = the source is off */
		char tenant[128];     /* X-Scope-OrgID */
		char username[128];   /* basic auth; the password: LOKI_PASSWORD */
		char password[FB_CFG_STR];
		char token[FB_CFG_STR]; /* bearer: LOKI_TOKEN */
		long interval;          /* seconds between polls */
		long lag;               /* seconds behind now: late lines still land */
		long limit;             /* entries per request */
		long max_pages;         /* requests per poll */
		char queries[FB_LOKI_QUERIES][FB_CFG_STR];
		size_t n_queries;
	} loki;

	struct {
		char url[FB_CFG_STR];        /* KUBERNETES_URL; "" = in-cluster when there */
		char token_file[FB_CFG_STR]; /* re-read at every check: tokens rotate */
		char ca_file[FB_CFG_STR];
		char label[128]; /* the pod label that names the app */
	} kubernetes;

	struct {
		char url[FB_CFG_STR];   /* ARGOCD_URL; "" = off */
		char token[FB_CFG_STR]; /* secret: ARGOCD_TOKEN */
		char ca_file[FB_CFG_STR];
		char ns[128]; /* argocd.namespace: where its Applications live (links) */
	} argocd;

	struct {
		char grafana[FB_CFG_STR];  /* Grafana base URL: evidence in Explore; "" = off */
		char loki_datasource[128]; /* the Loki data source's uid in Grafana */
	} links;

#define FB_LOGFILE_PATHS 8
	struct {
		char paths[FB_LOGFILE_PATHS][FB_CFG_STR];
		size_t n_paths;
		char pattern[FB_CFG_STR]; /* PCRE2: the lines that raise incidents */
		long interval;            /* seconds between looks */
	} logfile;

	/* From the environment only: who runs the CLI (USER) and the test
	 * hook FIREBREAK_CRASH_AFTER. */
	char user[64];
	char crash_after[32];

	struct {
		long max_attempts; /* a failing node is retried this many times */
		long retry_delay;  /* seconds before the first retry, doubled */
		long verify_delay; /* seconds between verification checks */
		long verify_max_checks;
		long cooldown;             /* seconds: a repeat after resolution folds in */
		long repeat_note_interval; /* seconds between repeat lines in a thread */
		long workers;              /* threads running nodes that do I/O */
	} engine;
} fb_config;

/* Fills cfg with the compiled-in defaults. */
void fb_config_defaults(fb_config *cfg);

/*
 * Loads path (NULL = defaults only) over the defaults, then applies the
 * environment.  On failure every problem is in *errors (malloc'd, one
 * "file:line: message" per line; free it) and FB_EINVAL is returned.
 */
fb_err fb_config_load(const char *path, fb_config *cfg, char **errors);

/* Applies environment overrides (called by fb_config_load). */
void fb_config_apply_env(fb_config *cfg);

/*
 * The state directory (cfg->state_dir; derived from the environment when
 * cfg holds only defaults) into out, created with mode 0700 (and its
 * missing parents) when it does not exist.  FB_EIO with the path and the
 * reason when it cannot be made or is not a directory.
 */
fb_err fb_config_state_dir(const fb_config *cfg, char *out, size_t outsz);

/* Creates the state directory when the database lies inside it; a
 * database elsewhere (FIREBREAK_DB, store.path) is left to its owner. */
fb_err fb_config_prepare_store(const fb_config *cfg);

/*
 * Duplicate keys in every mapping of a parsed YAML document (libyaml keeps
 * both): calls dup(ctx, key, first_line, line) for each repeat, lines from
 * 1.  Returns how many.  Used by the config and the rules loaders.
 */
struct yaml_document_s;
typedef void (*fb_config_dup_fn)(void *ctx, const char *key, unsigned long first_line,
                                 unsigned long line);
int fb_config_yaml_duplicates(struct yaml_document_s *doc, fb_config_dup_fn dup, void *ctx);

/* Policy helpers. */
int fb_config_auto_apply(const fb_config *cfg, const char *category, const char *app);
int fb_config_is_approver(const fb_config *cfg, const char *user);

#endif
