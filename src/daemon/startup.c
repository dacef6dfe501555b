/*
 * startup.c - owns the start-up refusals of `firebreak serve`: the lock
 * that keeps a second serve off a database, and the check that every
 * source that is on has a channel for its incidents.  Main thread, before
 * any other thread starts; check-config calls the channel check too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firebreak/source.h"
#include "firebreak/startup.h"

/* What turns each source on, for the message. */
static const struct {
	const char *source;
	const char *keys;
} switches[] = {
    {"loki", "loki.url and loki.queries"},
    {"logfile", "logfile.paths"},
    {"alertmanager", "alertmanager.token (ALERTMANAGER_TOKEN) with http.listen"},
};

int fb_startup_source_without_channel(const fb_config *cfg, char *why, size_t whysz)
{
	if (cfg->slack.channel[0])
		return 0;
	for (size_t i = 0; i < sizeof(switches) / sizeof(switches[0]); i++) {
		const fb_source_ops *src = fb_source_find(switches[i].source);
		if (!src || !src->enabled(cfg))
			continue;
		snprintf(why, whysz,
		         "the %s source is on (%s) but its incidents have no channel: set "
		         "slack.channel (or SLACK_CHANNEL) to a channel id",
		         switches[i].source, switches[i].keys);
		return 1;
	}
	return 0;
}

/* The pid in the lock file, or 0. */
static long pid_in(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strtol(text, NULL, 10);
}

fb_err fb_startup_lock(const char *db_path, int *fd_out)
{
	char path[1024], pid[32];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	*fd_out = -1;
	if ((size_t)snprintf(path, sizeof(path), "%s.lock", db_path) >= sizeof(path))
		return fb_error_set(FB_ETOOBIG, "%s: the path is too long", db_path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return fb_error_set(FB_EIO, "cannot open %s: %s", path, strerror(errno));
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		long holder = 0;
		if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK)
			holder = who.l_pid; /* 0 when it runs in another pid namespace */
		if (holder <= 0)
			holder = pid_in(fd);
		close(fd);
		pid[0] = '\0';
		if (holder > 0)
			snprintf(pid, sizeof(pid), " (pid %ld)", holder);
		return fb_error_set(FB_ECONFLICT, "another serve%s holds %s; stop it first", pid,
		                    db_path);
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0) {
		fb_error_set(FB_EIO, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return FB_EIO;
	}
	*fd_out = fd;
	return FB_OK;
}

void fb_startup_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* the lock goes with the descriptor; the file stays */
}
