/* Unit tests for startup.c: the database lock (held by another process),
 * and the sources that would have no channel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/startup.h"

static void a_second_holder_is_refused_with_the_pid(void **s)
{
	char db[64], lock[80], want[200];
	int fd = -1, ready[2];
	pid_t child;
	(void)s;
	snprintf(db, sizeof(db), "/tmp/fb-lock-%d.db", (int)getpid());
	snprintf(lock, sizeof(lock), "%s.lock", db);
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) { /* the first serve: takes the lock, says so, waits */
		int cfd;
		char c = fb_startup_lock(db, &cfd) == FB_OK ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	char c = 0;
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(fb_startup_lock(db, &fd), FB_ECONFLICT);
	assert_int_equal(fd, -1);
	snprintf(want, sizeof(want), "another serve (pid %d) holds %s; stop it first", (int)child,
	         db);
	assert_string_equal(fb_error_last(), want);
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	/* gone: the lock is free again, and this process's pid is written */
	assert_int_equal(fb_startup_lock(db, &fd), FB_OK);
	assert_true(fd >= 0);
	FILE *f = fopen(lock, "r");
	long pid = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	assert_int_equal(pid, (long)getpid());
	fb_startup_unlock(fd);
	close(ready[0]);
	close(ready[1]);
	unlink(lock);
}

static void an_unopenable_lock_is_an_io_error(void **s)
{
	int fd = 0;
	(void)s;
	assert_int_equal(fb_startup_lock("/nonexistent/dir/x.db", &fd), FB_EIO);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(fb_error_last(), "/nonexistent/dir/x.db.lock"));
}

static void sources_without_a_channel(void **s)
{
	fb_config c;
	char why[512];
	(void)s;
	fb_config_defaults(&c);
	assert_false(fb_startup_source_without_channel(&c, why, sizeof(why)));
	snprintf(c.logfile.paths[0], sizeof(c.logfile.paths[0]), "/var/log/app.log");
	c.logfile.n_paths = 1;
	assert_true(fb_startup_source_without_channel(&c, why, sizeof(why)));
	assert_non_null(strstr(why, "the logfile source is on (logfile.paths)"));
	assert_non_null(strstr(why, "slack.channel (or SLACK_CHANNEL)"));
	snprintf(c.slack.channel, sizeof(c.slack.channel), "C1");
	assert_false(fb_startup_source_without_channel(&c, why, sizeof(why)));

	fb_config_defaults(&c);
	snprintf(c.loki.url, sizeof(c.loki.url), "http://loki:3100");
	assert_false(fb_startup_source_without_channel(&c, why, sizeof(why))); /* no query */
	snprintf(c.loki.queries[0], sizeof(c.loki.queries[0]), "{app=\"x\"}");
	c.loki.n_queries = 1;
	assert_true(fb_startup_source_without_channel(&c, why, sizeof(why)));
	assert_non_null(strstr(why, "the loki source is on"));

	fb_config_defaults(&c);
	snprintf(c.alertmanager.token, sizeof(c.alertmanager.token), "t");
	assert_true(fb_startup_source_without_channel(&c, why, sizeof(why)));
	assert_non_null(strstr(why, "the alertmanager source is on"));
	c.http.listen[0] = '\0'; /* no HTTP server: no hook */
	assert_false(fb_startup_source_without_channel(&c, why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_second_holder_is_refused_with_the_pid),
	    cmocka_unit_test(an_unopenable_lock_is_an_io_error),
	    cmocka_unit_test(sources_without_a_channel),
	};
	return cmocka_run_group_tests_name("startup", tests, NULL, NULL);
}
