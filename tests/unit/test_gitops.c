/* Unit tests for gitops.c, appindex.c and worktree.c against scratch git
 * repositories made with the git command: the index of Argo CD
 * Applications follows the branch (rebuilt after it moves, not before,
 * warm from its cache file in a new process), apply's idempotency walk
 * finds this incident's commit and stops at the base, and the working-tree
 * guard refuses only edits that are in the way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "firebreak/buf.h"
#include "firebreak/config.h"
#include "firebreak/gitops.h"

typedef struct {
	char dir[256];
	fb_config cfg;
} fixture;

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main -C "

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

/* The output of a command, trimmed. */
static void out(char *buf, size_t sz, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, (int)sz, p))
		buf[0] = '\0';
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
}

static void put(fixture *f, const char *path, const char *text)
{
	char full[512];
	FILE *fp;
	snprintf(full, sizeof(full), "%s/%s", f->dir, path);
	sh("mkdir -p \"$(dirname '%s')\"", full);
	fp = fopen(full, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void commit_all(fixture *f, const char *msg)
{
	sh(GIT "%s add -A && " GIT "%s commit -q -m '%s'", f->dir, f->dir, msg);
}

static const char *app_yaml(const char *name, const char *values)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
	         "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: %s\n"
	         "spec:\n  sources:\n    - repoURL: https://charts.example.com\n"
	         "      chart: %s\n      helm:\n        valueFiles:\n          - $values/%s\n"
	         "    - repoURL: https://git.example.com/gitops.git\n      ref: values\n",
	         name, name, values);
	return buf;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/fb-test-gitops.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sh(GIT "%s init -q -b main", f->dir);
	put(f, "apps/foo.yaml", app_yaml("foo", "helm-values/foo/values.yaml"));
	put(f, "helm-values/foo/values.yaml", "replicas: 1\n");
	put(f, "helm-values/bar/values.yaml", "replicas: 1\n");
	put(f, "charts/x/Chart.yaml", "name: x\n");
	commit_all(f, "Initial layout");
	fb_config_defaults(&f->cfg);
	snprintf(f->cfg.gitops.repo, sizeof(f->cfg.gitops.repo), "%s", f->dir);
	/* not the layout above, so that the index has to find the files */
	snprintf(f->cfg.gitops.values_path, sizeof(f->cfg.gitops.values_path), "envs/{app}.yaml");
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

static void find(fb_gitops *g, const char *app, const char *want_path, const char *want_how)
{
	char path[512], how[600];
	assert_int_equal(fb_gitops_find_values(g, app, path, sizeof(path), how, sizeof(how)),
	                 FB_OK);
	assert_string_equal(path, want_path);
	assert_non_null(strstr(how, want_how));
}

static void head_tree(fixture *f, char hex[41])
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD^{tree}", f->dir);
	out(hex, 41, cmd);
}

static void test_index_follows_the_branch(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_gitops_index_stats st;
	char tree[41];

	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	find(g, "foo", "helm-values/foo/values.yaml", "Argo CD Application in apps/foo.yaml");
	find(g, "bar", "helm-values/bar/values.yaml", "the only bar/values.yaml");
	fb_gitops_index_stats_get(g, &st);
	head_tree(f, tree);
	assert_string_equal(st.tree, tree);
	assert_int_equal(st.builds, 1); /* one walk for both lookups */
	assert_int_equal(st.updates, 0);
	assert_int_equal(st.manifests, 1);
	assert_int_equal(st.values_files, 2);

	/* the branch moves: an Application for bar and an override file */
	put(f, "apps/bar.yaml", app_yaml("bar", "helm-values/bar/override.yaml"));
	put(f, "helm-values/bar/override.yaml", "replicas: 2\n");
	commit_all(f, "Add bar");
	find(g, "bar", "helm-values/bar/override.yaml", "Argo CD Application in apps/bar.yaml");
	find(g, "foo", "helm-values/foo/values.yaml", "apps/foo.yaml");
	fb_gitops_index_stats_get(g, &st);
	head_tree(f, tree);
	assert_string_equal(st.tree, tree);
	assert_int_equal(st.builds, 1);
	assert_int_equal(st.updates, 1);
	assert_int_equal(st.manifests, 2);

	/* a whole directory goes: its Application with it */
	sh(GIT "%s rm -q -r apps/foo.yaml && " GIT "%s commit -q -m 'Drop foo'", f->dir, f->dir);
	find(g, "foo", "helm-values/foo/values.yaml", "the only foo/values.yaml");
	sh(GIT "%s rm -q -r helm-values/foo && " GIT "%s commit -q -m 'Drop foo values'", f->dir,
	   f->dir);
	char path[512], how[600];
	assert_int_equal(fb_gitops_find_values(g, "foo", path, sizeof(path), how, sizeof(how)),
	                 FB_ENOTFOUND);
	fb_gitops_index_stats_get(g, &st);
	assert_int_equal(st.builds, 1);
	assert_int_equal(st.updates, 3);
	assert_int_equal(st.manifests, 1);    /* apps/bar.yaml */
	assert_int_equal(st.values_files, 1); /* helm-values/bar/values.yaml */
	fb_gitops_free(g);

	/* a new process starts from the cache file, without a walk */
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	find(g, "bar", "helm-values/bar/override.yaml", "apps/bar.yaml");
	fb_gitops_index_stats_get(g, &st);
	assert_int_equal(st.loads, 1);
	assert_int_equal(st.builds, 0);
	assert_int_equal(st.updates, 0);
	fb_gitops_free(g);

	/* a damaged cache file is rebuilt, not trusted */
	sh("printf 'firebreak-appindex 1 %s\\nR nonsense\\n' >'%s/.git/firebreak-appindex'", tree,
	   f->dir);
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	find(g, "bar", "helm-values/bar/override.yaml", "apps/bar.yaml");
	fb_gitops_index_stats_get(g, &st);
	assert_int_equal(st.loads, 0);
	assert_int_equal(st.builds, 1);
	fb_gitops_free(g);
}

/* The change that raises foo's replicas to n, against the tip. */
static void change(fb_gitops *g, fb_change *c, const char *text)
{
	char *content;
	size_t len;
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "helm-values/foo/values.yaml");
	assert_int_equal(fb_gitops_read(g, c->path, &content, &len, c->base_blob), FB_OK);
	free(content);
	c->content = text;
	c->len = strlen(text);
}

static fb_commit_info info_for(const char *id, int step)
{
	fb_commit_info info = {.incident_id = id,
	                       .subject = "Raise foo",
	                       .body = "why",
	                       .category = "oom",
	                       .approved_by = "alice",
	                       .slack_thread = "C1/1.2",
	                       .step = step};
	return info;
}

static void test_applied_walk_is_bounded_by_the_base(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_change c, c2;
	fb_commit_info info = info_for("incident-1", 1);
	char hex[41], again[41], tip[41];
	unsigned walked;
	int pushed;

	/* a long history before the base: the walk must not read it */
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof(name), "noise/n%d.yaml", i % 5);
		put(f, name, i % 2 ? "a: 1\n" : "a: 2\n");
		commit_all(f, "noise");
	}
	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	change(g, &c, "replicas: 2\n");
	assert_int_equal(fb_gitops_find_applied(g, &c, 1, &info, hex, &walked), FB_ENOTFOUND);
	assert_int_equal(walked, 1); /* the tip is the base */
	assert_int_equal(fb_gitops_apply(g, &c, 1, &info, hex, &pushed), FB_OK);

	/* people commit on top, one of them to the same file */
	put(f, "helm-values/bar/values.yaml", "replicas: 3\n");
	commit_all(f, "bar");
	put(f, "helm-values/foo/values.yaml", "replicas: 2\nimage: {tag: x}\n");
	commit_all(f, "foo tag");
	assert_int_equal(fb_gitops_find_applied(g, &c, 1, &info, again, &walked), FB_OK);
	assert_string_equal(again, hex);
	assert_int_equal(walked, 3);

	/* apply again (a crash after the commit): nothing new is committed */
	fb_gitops_tip(g, tip);
	assert_int_equal(fb_gitops_apply(g, &c, 1, &info, again, &pushed), FB_OK);
	assert_string_equal(again, hex);
	fb_gitops_tip(g, again);
	assert_string_equal(again, tip);

	/* another step of the same incident: the walk stops at the base,
	 * just before the fix, never reaching the 40 older commits */
	fb_commit_info step2 = info_for("incident-1", 2);
	assert_int_equal(fb_gitops_find_applied(g, &c, 1, &step2, again, &walked), FB_ENOTFOUND);
	assert_int_equal(walked, 4);
	/* a fix proposed on today's tip looks at the tip only */
	fb_commit_info other = info_for("incident-2", 1);
	change(g, &c2, "replicas: 5\n");
	assert_int_equal(fb_gitops_find_applied(g, &c2, 1, &other, again, &walked), FB_ENOTFOUND);
	assert_int_equal(walked, 1);
	/* the public history search still finds the first fix */
	assert_int_equal(fb_gitops_find_incident_commit(g, "incident-1", 1, again), FB_OK);
	assert_string_equal(again, hex);
	fb_gitops_free(g);
}

static void test_worktree_guard(void **state)
{
	fixture *f = *state;
	fb_gitops *g;
	fb_change c;
	fb_commit_info info = info_for("incident-3", 1);
	char hex[41], msg[256], cmd[512];
	int pushed;

	assert_int_equal(fb_gitops_open(&f->cfg, &g), FB_OK);
	change(g, &c, "replicas: 4\n");
	/* an edit of the file the fix writes: refused */
	put(f, "helm-values/foo/values.yaml", "replicas: 9 # mine\n");
	assert_int_equal(fb_gitops_apply(g, &c, 1, &info, hex, &pushed), FB_ESTATE);
	assert_non_null(strstr(fb_error_last(), "helm-values/foo/values.yaml"));
	sh(GIT "%s checkout -q -- helm-values/foo/values.yaml", f->dir);
	/* a staged file elsewhere: refused */
	put(f, "helm-values/bar/values.yaml", "replicas: 7\n");
	sh(GIT "%s add helm-values/bar/values.yaml", f->dir);
	assert_int_equal(fb_gitops_apply(g, &c, 1, &info, hex, &pushed), FB_ESTATE);
	assert_non_null(strstr(fb_error_last(), "helm-values/bar/values.yaml"));
	/* the same edit, not staged: left alone, and not swept in */
	sh(GIT "%s reset -q", f->dir);
	assert_int_equal(fb_gitops_apply(g, &c, 1, &info, hex, &pushed), FB_OK);
	snprintf(cmd, sizeof(cmd), "git -C '%s' show --stat --format= HEAD | head -n 1", f->dir);
	out(msg, sizeof(msg), cmd);
	assert_non_null(strstr(msg, "helm-values/foo/values.yaml"));
	snprintf(cmd, sizeof(cmd), "git -C '%s' status --porcelain", f->dir);
	out(msg, sizeof(msg), cmd);
	assert_string_equal(msg, " M helm-values/bar/values.yaml");
	snprintf(cmd, sizeof(cmd), "git -C '%s' log -1 --format=%%B | grep Slack-Thread", f->dir);
	out(msg, sizeof(msg), cmd);
	assert_string_equal(msg, "Slack-Thread: C1/1.2");
	fb_gitops_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_index_follows_the_branch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_applied_walk_is_bounded_by_the_base, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_worktree_guard, setup, teardown),
	};
	fb_gitops_global_init();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fb_gitops_global_shutdown();
	return rc;
}
