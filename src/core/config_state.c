/*
 * config_state.c - owns where firebreak keeps its state: the state
 * directory (the state_dir key, $STATE_DIRECTORY from systemd,
 * $XDG_STATE_HOME/firebreak, ~/.local/state/firebreak) and the database
 * path in it, resolved once when the configuration is loaded; and making
 * that directory (0700) when serve or the CLI is about to open the
 * database.  Runs wherever fb_config_load runs; no state of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_int.h"

static void set_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* Where state lives when the config does not say. */
static void derive_state_dir(char *out, size_t outsz)
{
	const char *sd = getenv("STATE_DIRECTORY"); /* systemd's StateDirectory= */
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (sd && sd[0] == '/')
		snprintf(out, outsz, "%.*s", (int)strcspn(sd, ":"), sd); /* the first of a list */
	else if (xdg && xdg[0] == '/') /* the XDG spec: a relative path is ignored */
		snprintf(out, outsz, "%s/firebreak", xdg);
	else if (home && home[0] == '/' && strcmp(home, "/") != 0)
		snprintf(out, outsz, "%s/.local/state/firebreak", home);
	else
		snprintf(out, outsz, "/var/lib/firebreak");
}

/* After the file and the environment: the state directory is known and a
 * relative store.path lies in it.  FIREBREAK_DB is taken as given. */
void fb_config_resolve_state(fb_config_loader *ld, fb_config *cfg)
{
	const char *db = getenv("FIREBREAK_DB");
	char joined[2 * FB_CFG_STR];
	size_t n;

	if (!cfg->state_dir[0])
		derive_state_dir(cfg->state_dir, sizeof(cfg->state_dir));
	n = strlen(cfg->state_dir);
	while (n > 1 && cfg->state_dir[n - 1] == '/')
		cfg->state_dir[--n] = '\0';
	if ((db && *db) || cfg->store.path[0] == '/')
		return;
	snprintf(joined, sizeof(joined), "%s/%s", cfg->state_dir,
	         cfg->store.path[0] ? cfg->store.path : "firebreak.db");
	if (strlen(joined) >= sizeof(cfg->store.path))
		fb_config_problem_key(ld, "store.path", "too long under state_dir %s",
		                      cfg->state_dir);
	else
		set_str(cfg->store.path, sizeof(cfg->store.path), joined);
}

/* mkdir -p, new directories 0700. */
static fb_err make_dirs(const char *path)
{
	char p[FB_CFG_STR];
	struct stat st;

	if (strlen(path) >= sizeof(p) || path[0] != '/')
		return fb_error_set(FB_EINVAL, "%s: the state directory must be an absolute path",
		                    path);
	set_str(p, sizeof(p), path);
	for (char *c = p + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char was = *c;
		*c = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return fb_error_set(FB_EIO, "cannot create %s: %s", p, strerror(errno));
		*c = was;
		if (!was)
			break;
	}
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
		return fb_error_set(FB_EIO, "%s is not a directory", p);
	return FB_OK;
}

fb_err fb_config_state_dir(const fb_config *cfg, char *out, size_t outsz)
{
	char dir[FB_CFG_STR];
	fb_err rc;

	if (cfg->state_dir[0])
		set_str(dir, sizeof(dir), cfg->state_dir);
	else
		derive_state_dir(dir, sizeof(dir));
	if (strlen(dir) >= outsz)
		return fb_error_set(FB_ETOOBIG, "the state directory %s is too long", dir);
	if ((rc = make_dirs(dir)) != FB_OK)
		return rc;
	set_str(out, outsz, dir);
	return FB_OK;
}

fb_err fb_config_prepare_store(const fb_config *cfg)
{
	size_t n = strlen(cfg->state_dir);
	char parent[FB_CFG_STR];
	const char *slash = strrchr(cfg->store.path, '/');

	if (!n || strncmp(cfg->store.path, cfg->state_dir, n) != 0 || cfg->store.path[n] != '/' ||
	    !slash)
		return FB_OK; /* not ours to create */
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - cfg->store.path), cfg->store.path);
	return make_dirs(parent);
}
