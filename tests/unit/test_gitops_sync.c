/* Unit tests for sync.c and remote.c against scratch repositories made
 * with the git command: a bare remote, firebreak's clone and a teammate's
 * clone.  The synced apply fetches, redoes on the teammate's commit and
 * pushes one commit; a push that loses a race is fetched and redone, at
 * most FB_GITOPS_PUSH_TRIES times, then the branch goes back to the
 * remote's tip; a redo conflict commits nothing; follow drops only this
 * incident's unpushed fixes; URLs lose their credentials in messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/config.h"
#include "firebreak/gitops.h"

#define GIT "git -c user.name=t -c user.email=t@t -C "
#define FOO "helm-values/foo/values.yaml"

typedef struct {
	char dir[256], clone[300], mate[300];
	fb_config cfg;
	int redos;    /* redo calls */
	int race;     /* the teammate pushes during this many redos */
	int conflict; /* the redo answers FB_ECONFLICT */
} fixture;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void out(char *buf, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void out(char *buf, size_t sz, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, (int)sz, p))
		buf[0] = '\0';
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The teammate changes another file and pushes. */
static void mate_push(fixture *f, int n)
{
	sh("echo 'replicas: %d' >%s/helm-values/bar/values.yaml && " GIT
	   "%s commit -q -am 'bar %d' && " GIT "%s push -q origin main",
	   n, f->mate, f->mate, n, f->mate);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/fb-test-sync.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sh("mkdir -p %s/seed/helm-values/foo %s/seed/helm-values/bar && "
	   "echo 'replicas: 1' >%s/seed/" FOO " && echo 'replicas: 1' "
	   ">%s/seed/helm-values/bar/values.yaml",
	   f->dir, f->dir, f->dir, f->dir);
	sh("git init -q -b main %s/seed && " GIT "%s/seed add -A && " GIT
	   "%s/seed commit -q -m init && git init -q --bare -b main %s/remote.git && " GIT
	   "%s/seed push -q %s/remote.git main",
	   f->dir, f->dir, f->dir, f->dir, f->dir, f->dir);
	snprintf(f->clone, sizeof(f->clone), "%s/fb", f->dir);
	snprintf(f->mate, sizeof(f->mate), "%s/mate", f->dir);
	sh("git clone -q %s/remote.git %s && git clone -q %s/remote.git %s", f->dir, f->clone,
	   f->dir, f->mate);
	fb_config_defaults(&f->cfg);
	snprintf(f->cfg.gitops.repo, sizeof(f->cfg.gitops.repo), "%s", f->clone);
	snprintf(f->cfg.gitops.remote, sizeof(f->cfg.gitops.remote), "origin");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sh("rm -rf '%s'", f->dir);
	free(f);
	return 0;
}

static fb_commit_info info_for(const char *id)
{
	fb_commit_info info = {.incident_id = id,
	                       .subject = "firebreak: foo to 2",
	                       .body = "why",
	                       .category = "oom",
	                       .approved_by = "alice",
	                       .step = 1};
	return info;
}

/* The redo: foo's replicas to 2 on whatever the tip is now. */
static fb_err redo(void *ctx, fb_gitops *g, fb_change **outc, size_t *n)
{
	fixture *f = ctx;
	fb_change *c = calloc(1, sizeof(*c));
	char *text = NULL;
	size_t len;

	assert_non_null(c);
	f->redos++;
	if (f->race-- > 0) /* the teammate wins the race to the remote */
		mate_push(f, 10 + f->redos);
	if (f->conflict) {
		free(c);
		return fb_error_set(FB_ECONFLICT, "replicas changed upstream");
	}
	snprintf(c->path, sizeof(c->path), FOO);
	assert_int_equal(fb_gitops_read(g, FOO, &text, &len, c->base_blob), FB_OK);
	free(text);
	c->content = strdup("replicas: 2\n");
	c->len = strlen(c->content);
	*outc = c;
	*n = 1;
	return FB_OK;
}

/* The proposal as made on the clone's tip before anything moved. */
static void proposed(fb_gitops *g, fb_change *c)
{
	char *text = NULL;
	size_t len;
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), FOO);
	assert_int_equal(fb_gitops_read(g, FOO, &text, &len, c->base_blob), FB_OK);
	free(text);
	c->content = "replicas: 2\n";
	c->len = strlen(c->content);
}

static void test_redone_on_the_teammates_commit(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_change c;
	fb_gitops_outcome o;
	fb_commit_info info = info_for("incident-1");
	char mate[64], parent[64], remote[64], status[256];

	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	proposed(g, &c);
	mate_push(f, 3);
	out(mate, sizeof(mate), "git -C %s rev-parse main", f->mate);
	assert_int_equal(fb_gitops_apply_synced(g, &c, 1, redo, f, &info, &o), FB_OK);
	assert_int_equal(o.pushed, 1);
	assert_int_equal(o.tries, 1);
	assert_string_equal(o.remote_tip, mate);
	out(parent, sizeof(parent), "git -C %s/remote.git rev-parse main^", f->dir);
	out(remote, sizeof(remote), "git -C %s/remote.git rev-parse main", f->dir);
	assert_string_equal(parent, mate);
	assert_string_equal(remote, o.commit);
	out(status, sizeof(status), "git -C %s status -sb --porcelain | head -n 1", f->clone);
	assert_string_equal(status, "## main...origin/main");
	out(status, sizeof(status), "git -C %s status --porcelain | wc -l", f->clone);
	assert_string_equal(status, "0");

	/* again (a crash before the state was saved): nothing new, no redo */
	f->redos = 0;
	char first[41];
	snprintf(first, sizeof(first), "%s", o.commit);
	assert_int_equal(fb_gitops_apply_synced(g, &c, 1, redo, f, &info, &o), FB_OK);
	assert_string_equal(o.commit, first);
	assert_int_equal(o.pushed, 1);
	assert_int_equal(f->redos, 0);
	fb_gitops_free(g);
}

static void test_a_lost_race_is_redone(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_change c;
	fb_gitops_outcome o;
	fb_commit_info info = info_for("incident-2");
	char parent[64], mate[64];

	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	proposed(g, &c);
	f->race = 1; /* the teammate pushes between our fetch and our push, once */
	assert_int_equal(fb_gitops_apply_synced(g, &c, 1, redo, f, &info, &o), FB_OK);
	assert_int_equal(o.tries, 2);
	assert_int_equal(f->redos, 2);
	out(mate, sizeof(mate), "git -C %s rev-parse main", f->mate);
	out(parent, sizeof(parent), "git -C %s/remote.git rev-parse main^", f->dir);
	assert_string_equal(parent, mate);
	fb_gitops_free(g);
}

static void test_refused_every_time_resets(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_change c;
	fb_gitops_outcome o;
	fb_commit_info info = info_for("incident-3");
	char local[64], count[16];

	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	proposed(g, &c);
	f->race = 99;
	assert_int_equal(fb_gitops_apply_synced(g, &c, 1, redo, f, &info, &o), FB_EGIT);
	assert_int_equal(o.refused, 1);
	assert_int_equal(o.tries, FB_GITOPS_PUSH_TRIES);
	assert_non_null(strstr(fb_error_last(), "refused the push 3 times"));
	assert_non_null(strstr(fb_error_last(), "main was reset to the remote's"));
	out(local, sizeof(local), "git -C %s rev-parse main", f->clone);
	assert_int_equal(strncmp(local, o.remote_tip, 40), 0);
	/* not ahead: everything on the branch is on the remote */
	out(count, sizeof(count), "git -C %s/remote.git rev-list --count %s..main", f->dir, local);
	assert_string_equal(count, "1"); /* the teammate's last push, nothing of ours */
	out(count, sizeof(count), "git -C %s status --porcelain | wc -l", f->clone);
	assert_string_equal(count, "0");
	fb_gitops_free(g);
}

static void test_a_redo_conflict_commits_nothing(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_change c;
	fb_gitops_outcome o;
	fb_commit_info info = info_for("incident-4");
	char local[64], remote[64];

	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	proposed(g, &c);
	mate_push(f, 5);
	f->conflict = 1;
	assert_int_equal(fb_gitops_apply_synced(g, &c, 1, redo, f, &info, &o), FB_ECONFLICT);
	assert_int_equal(o.tries, 0);
	out(local, sizeof(local), "git -C %s rev-parse main", f->clone);
	out(remote, sizeof(remote), "git -C %s/remote.git rev-parse main", f->dir);
	assert_string_equal(local, remote); /* followed, nothing of ours */
	fb_gitops_free(g);
}

static void test_follow_drops_only_our_unpushed_fix(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_commit_info info = info_for("incident-5");
	char tip[41], local[64];

	/* an unpushed fix of this incident (an older run's), then the remote moves */
	sh("echo 'replicas: 2' >%s/" FOO " && " GIT
	   "%s commit -q -am 'fix' -m 'Incident-Id: incident-5'",
	   f->clone, f->clone);
	mate_push(f, 6);
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	assert_int_equal(fb_gitops_fetch(g, tip), FB_OK);
	assert_int_equal(fb_gitops_follow(g, tip, &info), FB_OK);
	out(local, sizeof(local), "git -C %s rev-parse main", f->clone);
	assert_string_equal(local, tip);
	out(local, sizeof(local), "git -C %s status --porcelain | wc -l", f->clone);
	assert_string_equal(local, "0");

	/* a person's commit: left alone, refused */
	sh("echo 'replicas: 8' >%s/" FOO " && " GIT "%s commit -q -am 'mine'", f->clone, f->clone);
	mate_push(f, 7);
	assert_int_equal(fb_gitops_fetch(g, tip), FB_OK);
	assert_int_equal(fb_gitops_follow(g, tip, &info), FB_ESTATE);
	assert_non_null(strstr(fb_error_last(), "1 commit the remote lacks"));
	assert_non_null(strstr(fb_error_last(), "\"mine\""));
	fb_gitops_free(g);
}

static void test_mask_url(void **state)
{
	char m[256];
	(void)state;
	fb_gitops_mask_url("https://x-access-token:ghp_abc@github.com/o/r.git", m, sizeof(m));
	assert_string_equal(m, "https://x-access-token:***@github.com/o/r.git");
	fb_gitops_mask_url("https://ghp_abc@github.com/o/r.git", m, sizeof(m));
	assert_string_equal(m, "https://***@github.com/o/r.git");
	fb_gitops_mask_url("https://github.com/o/r@v1.git", m, sizeof(m));
	assert_string_equal(m, "https://github.com/o/r@v1.git");
	fb_gitops_mask_url("git@github.com:o/r.git", m, sizeof(m));
	assert_string_equal(m, "git@github.com:o/r.git");
	fb_gitops_mask_url("ssh://git@github.com/o/r.git", m, sizeof(m));
	assert_string_equal(m, "ssh://git@github.com/o/r.git");
	fb_gitops_mask_url("ssh://git:pw@github.com/o/r.git", m, sizeof(m));
	assert_string_equal(m, "ssh://git:***@github.com/o/r.git");
	fb_gitops_mask_url("origin", m, sizeof(m));
	assert_string_equal(m, "origin");
}

static void test_unreachable_remote_is_masked(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	char tip[41];

	snprintf(f->cfg.gitops.remote, sizeof(f->cfg.gitops.remote),
	         "http://bob:pw-secret@127.0.0.1:1/r.git");
	snprintf(f->cfg.gitops.token, sizeof(f->cfg.gitops.token), "tok-secret");
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	assert_int_equal(fb_gitops_fetch(g, tip), FB_EIO);
	assert_non_null(strstr(fb_error_last(), "http://bob:***@127.0.0.1:1/r.git"));
	assert_null(strstr(fb_error_last(), "pw-secret"));
	fb_gitops_free(g);

	/* ssh (libgit2's libssh2 transport): the same path, a clear error */
	snprintf(f->cfg.gitops.remote, sizeof(f->cfg.gitops.remote), "ssh://git@127.0.0.1:1/r.git");
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	assert_int_equal(fb_gitops_fetch(g, tip), FB_EIO);
	if (!strstr(fb_error_last(), "fetching from ssh://git@127.0.0.1:1/r.git"))
		fail_msg("%s", fb_error_last());
	fb_gitops_free(g);
}

static void test_clone_from_url(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	char path[400], tip[41], head[64];

	snprintf(path, sizeof(path), "%s/state/repo", f->dir);
	snprintf(f->cfg.gitops.url, sizeof(f->cfg.gitops.url), "file://%s/remote.git", f->dir);
	snprintf(f->cfg.gitops.repo, sizeof(f->cfg.gitops.repo), "%s", path);
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	assert_int_equal(fb_gitops_tip(g, tip), FB_OK);
	out(head, sizeof(head), "git -C %s/remote.git rev-parse main", f->dir);
	assert_string_equal(tip, head);
	assert_non_null(strstr(fb_gitops_path(g), "/state/repo"));
	fb_gitops_free(g);
	/* the second open finds the clone and does not clone again */
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	fb_gitops_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_redone_on_the_teammates_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_lost_race_is_redone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_every_time_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_redo_conflict_commits_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follow_drops_only_our_unpushed_fix, setup,
	                                    teardown),
	    cmocka_unit_test(test_mask_url),
	    cmocka_unit_test_setup_teardown(test_unreachable_remote_is_masked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clone_from_url, setup, teardown),
	};
	fb_gitops_global_init();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fb_gitops_global_shutdown();
	return rc;
}
