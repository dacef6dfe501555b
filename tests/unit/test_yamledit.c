/* Unit tests for yamledit.c: lookups, find_key, and byte-exact minimal
 * edits of chart values files (tests/data/yaml), including the refusals
 * and hostile input.  Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/buf.h"
#include "firebreak/yamledit.h"

#define DATA "tests/data/yaml/"

static char *fixture(const char *name, size_t *len)
{
	char path[256];
	fb_buf b;
	fb_buf_init(&b, 0);
	snprintf(path, sizeof(path), DATA "%s", name);
	assert_int_equal(fb_buf_read_file(&b, path), FB_OK);
	*len = b.len;
	return fb_buf_take(&b);
}

/* orig with the one occurrence of from replaced by to. */
static char *splice(const char *orig, const char *from, const char *to)
{
	const char *at = strstr(orig, from);
	fb_buf b;
	assert_non_null(at);
	assert_null(strstr(at + 1, from)); /* the anchor text must be unique */
	fb_buf_init(&b, 0);
	assert_int_equal(fb_buf_add(&b, orig, (size_t)(at - orig)), FB_OK);
	assert_int_equal(fb_buf_addstr(&b, to), FB_OK);
	assert_int_equal(fb_buf_addstr(&b, at + strlen(from)), FB_OK);
	return fb_buf_take(&b);
}

static size_t count_lines(const char *s)
{
	size_t n = 0, len = strlen(s);
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len && s[len - 1] != '\n');
}

/* Line i (0-based) of s, as a pointer and length including its break. */
static size_t line_at(const char *s, size_t i, const char **start)
{
	for (; i > 0 && *s; s++)
		i -= *s == '\n';
	*start = s;
	const char *e = strchr(s, '\n');
	return e ? (size_t)(e - s) + 1 : strlen(s);
}

static int same_line(const char *a, size_t i, const char *b, size_t j)
{
	const char *pa, *pb;
	size_t la = line_at(a, i, &pa), lb = line_at(b, j, &pb);
	return la == lb && !memcmp(pa, pb, la);
}

/* Asserts that out differs from orig only in one block of lines starting
 * at 1-based line `at`: `removed` old lines replaced by `added` new ones. */
static void assert_only_lines(const char *orig, const char *out, size_t at, size_t removed,
                              size_t added)
{
	size_t na = count_lines(orig), nb = count_lines(out), pre = 0, suf = 0;
	while (pre < na && pre < nb && same_line(orig, pre, out, pre))
		pre++;
	size_t room = (na < nb ? na : nb) - pre;
	while (suf < room && same_line(orig, na - 1 - suf, out, nb - 1 - suf))
		suf++;
	assert_int_equal(pre + 1, at);
	assert_int_equal(na - pre - suf, removed);
	assert_int_equal(nb - pre - suf, added);
}

static char *set_ok(const char *text, const char *path, const char *value)
{
	char *out = NULL;
	size_t n = 0;
	fb_err rc = fb_yaml_set(text, strlen(text), "values.yaml", path, value, &out, &n);
	if (rc)
		fail_msg("set %s: %s", path, fb_error_last());
	assert_non_null(out);
	assert_int_equal(n, strlen(out));
	return out;
}

static void set_fails(const char *text, const char *path, const char *value, fb_err want,
                      const char *msg)
{
	char *out = (char *)"untouched";
	size_t n = 7;
	assert_int_equal(fb_yaml_set(text, strlen(text), "values.yaml", path, value, &out, &n),
	                 want);
	assert_null(out);
	assert_int_equal(n, 0);
	if (msg && !strstr(fb_error_last(), msg))
		fail_msg("message \"%s\" lacks \"%s\"", fb_error_last(), msg);
}

/* Edits fixture `name` at path and checks the whole output against the
 * fixture with one unique text replaced, and which lines changed. */
static void expect_edit(const char *name, const char *path, const char *value, const char *from,
                        const char *to, size_t at, size_t removed, size_t added)
{
	size_t len;
	char *orig = fixture(name, &len);
	char *want = splice(orig, from, to);
	char *out = set_ok(orig, path, value);
	assert_string_equal(out, want);
	assert_only_lines(orig, out, at, removed, added);
	free(out);
	free(want);
	free(orig);
}

static void top_level_memory_keeps_comments_around(void **s)
{
	(void)s;
	expect_edit("grafana-values.yaml", "resources.limits.memory", "1024Mi",
	            "    memory: 512Mi  # bumped in INC-12\n",
	            "    memory: 1024Mi  # bumped in INC-12\n", 58, 1, 1);
}

static void trailing_comment_after_value_is_kept(void **s)
{
	const char *in = "resources:\n  limits:\n    memory: 512Mi  # bumped in INC-12\n";
	char *out;
	(void)s;
	out = set_ok(in, "resources.limits.memory", "1Gi");
	assert_string_equal(out, "resources:\n  limits:\n    memory: 1Gi  # bumped in INC-12\n");
	free(out);
}

static void nested_chart_keys(void **s)
{
	(void)s;
	expect_edit("prometheus-values.yaml", "server.resources.limits.memory", "1Gi",
	            "      cpu: 500m\n      memory: 512Mi\n",
	            "      cpu: 500m\n      memory: 1Gi\n", 54, 1, 1);
	expect_edit("redis-values.yaml", "replica.resources.limits.memory", "1Gi",
	            "      memory: 512Mi\n", "      memory: 1Gi\n", 78, 1, 1);
}

static void double_quoted_stays_double_quoted(void **s)
{
	(void)s;
	expect_edit("redis-values.yaml", "master.resources.limits.memory", "1024Mi",
	            "memory: \"512Mi\"", "memory: \"1024Mi\"", 55, 1, 1);
}

static void single_quoted_stays_single_quoted(void **s)
{
	(void)s;
	expect_edit("redis-values.yaml", "image.tag", "7.2.5-debian-12-r0",
	            "tag: '7.2.4-debian-12-r9'", "tag: '7.2.5-debian-12-r0'", 29, 1, 1);
	/* the quote inside is escaped the single-quote way */
	expect_edit("redis-values.yaml", "master.resources.requests.memory", "it's 1Gi",
	            "'it''s 256Mi'", "'it''s 1Gi'", 58, 1, 1);
}

static void image_tag_in_double_quotes(void **s)
{
	size_t len;
	char *orig = fixture("grafana-values.yaml", &len);
	fb_yaml_doc *d;
	const char *v;
	(void)s;
	assert_int_equal(fb_yaml_doc_parse(orig, len, "grafana-values.yaml", &d), FB_OK);
	assert_int_equal(fb_yaml_get_scalar(d, "image.tag", &v), FB_OK);
	assert_string_equal(v, "10.4.1");
	fb_yaml_doc_free(d);
	free(orig);
	expect_edit("grafana-values.yaml", "image.tag", "10.4.0", "tag: \"10.4.1\"",
	            "tag: \"10.4.0\"", 23, 1, 1);
	/* an escape that the double-quoted style needs */
	expect_edit("grafana-values.yaml", "image.tag", "a\"b\\c", "tag: \"10.4.1\"",
	            "tag: \"a\\\"b\\\\c\"", 23, 1, 1);
}

static void flow_mapping_is_edited_inside(void **s)
{
	char *out;
	(void)s;
	expect_edit("flow-values.yaml", "resources.limits.memory", "1Gi",
	            "{limits: {memory: 512Mi, cpu: 250m}}", "{limits: {memory: 1Gi, cpu: 250m}}", 2,
	            1, 1);
	expect_edit("flow-values.yaml", "resources.requests.memory", "1Gi",
	            "{limits: {memory: 512Mi, cpu: 250m}}",
	            "{limits: {memory: 512Mi, cpu: 250m}, requests: {memory: 1Gi}}", 2, 1, 1);
	expect_edit("flow-values.yaml", "extra.requests.memory", "64Mi", "{cpu: 100m}}   #",
	            "{cpu: 100m, memory: 64Mi}}   #", 7, 1, 1);
	/* a multi-line flow mapping gets the entry after its last one */
	out = set_ok("resources: {\n  limits: {memory: 512Mi},   # keep\n}\n",
	             "resources.requests.memory", "1Gi");
	assert_string_equal(out, "resources: {\n  limits: {memory: 512Mi}, requests: {memory: 1Gi},"
	                         "   # keep\n}\n");
	free(out);
	/* a value that flow context cannot hold plain */
	expect_edit("flow-values.yaml", "sidecar.env[1]", "x, y", "[a, b]", "[a, \"x, y\"]", 5, 1,
	            1);
}

static void empty_flow_mapping_becomes_a_block(void **s)
{
	size_t len;
	char *orig = fixture("kube-prometheus-stack-values.yaml", &len);
	char *one, *two, *want;
	(void)s;
	one = set_ok(orig, "prometheus.prometheusSpec.resources.limits.memory", "2Gi");
	two = set_ok(one, "prometheus.prometheusSpec.resources.requests.memory", "1Gi");
	want = splice(orig, "    resources: {}\n    # requests:\n",
	              "    resources:\n      limits:\n        memory: 2Gi\n"
	              "      requests:\n        memory: 1Gi\n    # requests:\n");
	assert_string_equal(two, want);
	assert_only_lines(orig, one, 25, 1, 3);
	assert_only_lines(one, two, 28, 0, 2);
	free(want);
	free(two);
	free(one);
	free(orig);
}

static void null_value_becomes_a_block(void **s)
{
	(void)s;
	expect_edit("kube-prometheus-stack-values.yaml",
	            "alertmanager.alertmanagerSpec.resources.limits.memory", "512Mi",
	            "    resources:\n    # requests:",
	            "    resources:\n      limits:\n        memory: 512Mi\n    # requests:", 47, 0,
	            2);
	char *out = set_ok("a:\n  resources: ~  # none yet\n", "a.resources.limits.memory", "1Gi");
	assert_string_equal(out, "a:\n  resources:  # none yet\n    limits:\n      memory: 1Gi\n");
	free(out);
}

static void missing_requests_added_beside_limits(void **s)
{
	(void)s;
	/* after the last content line, before the blank line and comments
	 * that belong to the next key */
	expect_edit("prometheus-values.yaml", "server.resources.requests.memory", "512Mi",
	            "      memory: 512Mi\n\n  ## Vertical",
	            "      memory: 512Mi\n    requests:\n      memory: 512Mi\n\n  ## Vertical", 55,
	            0, 2);
	expect_edit("grafana-values.yaml", "extraContainers[0].resources.requests.memory", "128Mi",
	            "        memory: 256Mi\n",
	            "        memory: 256Mi\n      requests:\n        memory: 128Mi\n", 93, 0, 2);
}

static void alias_and_used_anchor_are_refused(void **s)
{
	size_t len;
	char *t = fixture("anchors-values.yaml", &len);
	(void)s;
	set_fails(
	    t, "api.resources.limits.memory", "1Gi", FB_ECONFLICT,
	    "values.yaml:10: api.resources.limits.memory comes from alias *default_resources; "
	    "editing it would change other places");
	set_fails(t, "api.resources.requests.memory", "1Gi", FB_ECONFLICT,
	          "comes from alias *default_resources");
	set_fails(t, "defaults.resources.limits.memory", "1Gi", FB_ECONFLICT,
	          "is under anchor &default_resources");
	set_fails(t, "batch.resources.limits.memory", "3Gi", FB_ECONFLICT,
	          "carries anchor &batch_mem, which *batch_mem uses elsewhere");
	set_fails(t, "batch.resources.requests.memory", "3Gi", FB_ECONFLICT,
	          "comes from alias *batch_mem");
	set_fails(t, "api.livenessProbe.periodSeconds", "5", FB_ECONFLICT,
	          "comes from alias *probe"); /* through the merge key */
	free(t);
}

static void unused_anchor_is_kept(void **s)
{
	(void)s;
	expect_edit("anchors-values.yaml", "worker.resources.limits.memory", "2Gi",
	            "memory: &worker_mem 1Gi", "memory: &worker_mem 2Gi", 18, 1, 1);
	/* a key beside a merge key that the merge does not bring in */
	expect_edit("anchors-values.yaml", "api.livenessProbe.timeoutSeconds", "5",
	            "timeoutSeconds: 2", "timeoutSeconds: 5", 13, 1, 1);
}

static void mapping_at_eof_without_newline(void **s)
{
	const char *in = "a: 1\nresources:\n  limits:\n    cpu: 1";
	char *out;
	(void)s;
	out = set_ok(in, "resources.limits.memory", "1Gi");
	assert_string_equal(out, "a: 1\nresources:\n  limits:\n    cpu: 1\n    memory: 1Gi");
	free(out);
	out = set_ok(in, "resources.limits.cpu", "2");
	assert_string_equal(out, "a: 1\nresources:\n  limits:\n    cpu: 2");
	free(out);
	out = set_ok(in, "resources.requests.memory", "1Gi");
	assert_string_equal(out, "a: 1\nresources:\n  limits:\n    cpu: 1\n  requests:\n"
	                         "    memory: 1Gi");
	free(out);
}

static void crlf_file_keeps_crlf(void **s)
{
	size_t len;
	char *orig = fixture("crlf-values.yaml", &len);
	char *out, *want;
	(void)s;
	out = set_ok(orig, "resources.requests.memory", "512Mi");
	want = splice(orig, "    memory: 512Mi\r\n",
	              "    memory: 512Mi\r\n  requests:\r\n    memory: 512Mi\r\n");
	assert_string_equal(out, want);
	free(out);
	free(want);
	out = set_ok(orig, "image.tag", "v2.3.0");
	want = splice(orig, "tag: v2.3.1\r\n", "tag: v2.3.0\r\n");
	assert_string_equal(out, want);
	free(out);
	free(want);
	free(orig);
}

static void document_start_and_end_markers(void **s)
{
	(void)s;
	expect_edit("docstart-values.yaml", "image.tag", "v1.7.9", "'v1.8.0'", "'v1.7.9'", 5, 1, 1);
	expect_edit("docstart-values.yaml", "resources.requests.memory", "512Mi",
	            "    memory: 1Gi\n...\n",
	            "    memory: 1Gi\n  requests:\n    memory: 512Mi\n...\n", 10, 0, 2);
}

static void non_ascii_text_before_the_value(void **s)
{
	/* libyaml counts characters; the splice must land on bytes */
	const char *in = "\xef\xbb\xbf# \xeb\xa9\x94\xeb\xaa\xa8\xeb\xa6\xac \xed\x95\x9c\xeb\x8f"
	                 "\x84\nname: caf\xc3\xa9\nresources:\n  limits:\n    memory: 512Mi\n";
	char *out, *want;
	(void)s;
	out = set_ok(in, "resources.limits.memory", "1Gi");
	want = splice(in, "512Mi", "1Gi");
	assert_string_equal(out, want);
	free(out);
	free(want);
	out = set_ok(in, "name", "th\xc3\xa9");
	want = splice(in, "caf\xc3\xa9", "th\xc3\xa9");
	assert_string_equal(out, want);
	free(out);
	free(want);
}

static void plain_values_are_quoted_when_needed(void **s)
{
	const char *in = "image:\n  tag: v1.2.3\nreplicas: 2\n";
	char *out;
	(void)s;
	out = set_ok(in, "image.tag", "1.10"); /* plain it would be the float 1.1 */
	assert_string_equal(out, "image:\n  tag: \"1.10\"\nreplicas: 2\n");
	free(out);
	out = set_ok(in, "image.tag", "a: b #c");
	assert_string_equal(out, "image:\n  tag: \"a: b #c\"\nreplicas: 2\n");
	free(out);
	out = set_ok(in, "replicas", "3"); /* a number stays a number */
	assert_string_equal(out, "image:\n  tag: v1.2.3\nreplicas: 3\n");
	free(out);
	out = set_ok(in, "image.pullPolicy", "yes"); /* not the boolean */
	assert_string_equal(out, "image:\n  tag: v1.2.3\n  pullPolicy: \"yes\"\nreplicas: 2\n");
	free(out);
	out = set_ok(in, "image.digest", "");
	assert_string_equal(out, "image:\n  tag: v1.2.3\n  digest: \"\"\nreplicas: 2\n");
	free(out);
	out = set_ok("a: 'x'\n", "a", "line1\nline2"); /* single quotes cannot escape */
	assert_string_equal(out, "a: \"line1\\nline2\"\n");
	free(out);
	out = set_ok("a:\n", "a", "1Gi");
	assert_string_equal(out, "a: 1Gi\n");
	free(out);
}

static void empty_and_comment_only_files_get_the_path_at_top_level(void **s)
{
	char *out;
	(void)s;
	out = set_ok("", "resources.limits.memory", "1Gi");
	assert_string_equal(out, "resources:\n  limits:\n    memory: 1Gi\n");
	free(out);
	out = set_ok("# nothing yet\n\n", "resources.limits.memory", "1Gi");
	assert_string_equal(out, "# nothing yet\n\nresources:\n  limits:\n    memory: 1Gi\n");
	free(out);
	out = set_ok("---\n", "image.tag", "v1");
	assert_string_equal(out, "---\nimage:\n  tag: v1\n");
	free(out);
	out = set_ok("--- # c\n ", "image.tag", "v1");
	assert_string_equal(out, "--- # c\nimage:\n  tag: v1\n");
	free(out);
	out = set_ok("{}\n", "image.tag", "v1");
	assert_string_equal(out, "{image: {tag: v1}}\n");
	free(out);
}

static void new_lines_use_the_files_indent_step(void **s)
{
	const char *in = "server:\n    name: a\n    resources:\n        limits:\n"
	                 "            cpu: 1\n    sidecar: {}\n";
	char *out;
	(void)s;
	out = set_ok(in, "server.resources.requests.memory", "1Gi");
	assert_string_equal(out, "server:\n    name: a\n    resources:\n        limits:\n"
	                         "            cpu: 1\n        requests:\n            memory: 1Gi\n"
	                         "    sidecar: {}\n");
	free(out);
	out = set_ok(in, "server.sidecar.limits.memory", "1Gi");
	assert_string_equal(out, "server:\n    name: a\n    resources:\n        limits:\n"
	                         "            cpu: 1\n    sidecar:\n        limits:\n"
	                         "            memory: 1Gi\n");
	free(out);
}

static void a_wrong_result_is_never_returned(void **s)
{
	(void)s;
	/* after an explicit "? key" entry the planned lines land in the
	 * wrong place; the re-parse catches it */
	set_fails("? a\n", "x", "1Gi", FB_ERR, "would break the file");
	set_fails("?\n", "x", "1Gi", FB_ERR, "did not set x as asked");
	/* a block scalar at the end of a file without a final newline would
	 * gain one: its value would change, which the check sees */
	set_fails("a: |\n  text", "b", "1", FB_ERR, "editing b would change other values");
}

static void sequence_items(void **s)
{
	const char *in = "containers:\n  - name: app\n    image: app:1.0\n  - name: log\n";
	char *out;
	(void)s;
	out = set_ok(in, "containers[0].image", "app:1.1");
	assert_string_equal(out, "containers:\n  - name: app\n    image: app:1.1\n  - name: log\n");
	free(out);
	out = set_ok(in, "containers[1].resources.limits.memory", "1Gi");
	assert_string_equal(out, "containers:\n  - name: app\n    image: app:1.0\n  - name: log\n"
	                         "    resources:\n      limits:\n        memory: 1Gi\n");
	free(out);
	set_fails(in, "containers[2].image", "x", FB_ENOTFOUND, "sequence items are not created");
	set_fails(in, "containers.image", "x", FB_EINVAL, "the value there is a sequence");
}

static void refuses_what_it_cannot_edit(void **s)
{
	(void)s;
	set_fails("resources:\n  limits:\n    cpu: 1\n", "resources.limits", "1", FB_EINVAL,
	          "values.yaml:3: resources.limits is a mapping, not a scalar");
	set_fails("note: |\n  text\n", "note", "x", FB_EINVAL, "block scalar");
	set_fails("a: 1\na: 2\n", "a", "3", FB_ECONFLICT, "values.yaml:2: key \"a\" appears twice");
	set_fails("image: nginx\n", "image.tag", "1", FB_EINVAL, "the value there is a scalar");
	set_fails("a: 1\n", "a..b", "1", FB_EINVAL, "bad path");
	set_fails("a: 1\n", "a[x]", "1", FB_EINVAL, "bad path");
	set_fails("a: 1\n", "", "1", FB_EINVAL, "bad path");
	set_fails("a: 1\n", "a", "\xff\xfe", FB_EINVAL, "not UTF-8");
}

static void hostile_input_is_an_error_not_a_crash(void **s)
{
	static const struct {
		const char *text;
		fb_err rc;
		const char *msg;
	} cases[] = {
	    {"a: [1, 2\nb: 3\n", FB_EINVAL, "values.yaml:2:"},
	    {"a: \"unterminated\nb: 1\n", FB_EINVAL, "while scanning a quoted scalar"},
	    {"a:\n\tb: 1\n", FB_EINVAL, "values.yaml:2:1: found character that cannot start"},
	    {"a: b: c\n", FB_EINVAL, "values.yaml:1:5: mapping values are not allowed"},
	    {"a: *nowhere\n", FB_EINVAL, "alias *nowhere refers to no anchor"},
	    {"a: \x01\x02\xff\xfe junk\n", FB_EINVAL, "values.yaml: byte"},
	    {"\xff\xfe\0a", FB_EINVAL, "UTF-16"},
	};
	char deep[200], *big, *out = NULL;
	size_t n;
	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = i == 6 ? 4 : strlen(cases[i].text);
		fb_yaml_doc *d = (fb_yaml_doc *)1;
		assert_int_equal(fb_yaml_doc_parse(cases[i].text, len, "values.yaml", &d),
		                 cases[i].rc);
		assert_null(d);
		if (!strstr(fb_error_last(), cases[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, fb_error_last(), cases[i].msg);
		assert_int_equal(fb_yaml_set(cases[i].text, len, "values.yaml", "a", "1", &out, &n),
		                 cases[i].rc);
		assert_null(out);
	}
	memset(deep, '[', sizeof(deep));
	deep[sizeof(deep) - 1] = '\0';
	set_fails(deep, "a", "1", FB_ETOOBIG, "nesting deeper than 64");
	big = calloc(1, FB_YAML_MAX_LEN + 2);
	assert_non_null(big);
	memset(big, '#', FB_YAML_MAX_LEN + 1);
	set_fails(big, "a", "1", FB_ETOOBIG, "byte limit");
	free(big);
}

static void find_key_lists_every_block(void **s)
{
	static const char *grafana[] = {"resources", "sidecar.resources",
	                                "extraContainers[0].resources"};
	size_t len, n;
	char *t = fixture("grafana-values.yaml", &len);
	char **paths;
	fb_yaml_doc *d;
	(void)s;
	assert_int_equal(fb_yaml_doc_parse(t, len, "grafana-values.yaml", &d), FB_OK);
	assert_int_equal(fb_yaml_find_key(d, "resources", &paths, &n), FB_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(paths[i], grafana[i]);
	assert_null(paths[3]);
	fb_yaml_paths_free(paths);
	assert_int_equal(fb_yaml_find_key(d, "nothing-like-this", &paths, &n), FB_OK);
	assert_int_equal(n, 0);
	assert_null(paths[0]);
	fb_yaml_paths_free(paths);
	fb_yaml_doc_free(d);
	free(t);

	t = fixture("prometheus-values.yaml", &len);
	assert_int_equal(fb_yaml_doc_parse(t, len, "prometheus-values.yaml", &d), FB_OK);
	assert_int_equal(fb_yaml_find_key(d, "resources", &paths, &n), FB_OK);
	assert_int_equal(n, 2);
	assert_string_equal(paths[0], "configmapReload.prometheus.resources");
	assert_string_equal(paths[1], "server.resources");
	fb_yaml_paths_free(paths);
	fb_yaml_doc_free(d);
	free(t);
}

static void lookups(void **s)
{
	size_t len;
	char *t = fixture("anchors-values.yaml", &len);
	fb_yaml_doc *d;
	const char *v;
	(void)s;
	assert_int_equal(fb_yaml_doc_parse(t, len, "anchors-values.yaml", &d), FB_OK);
	assert_int_equal(fb_yaml_get_scalar(d, "worker.resources.limits.memory", &v), FB_OK);
	assert_string_equal(v, "1Gi");
	assert_int_equal(fb_yaml_get_scalar(d, "api.resources.limits.memory", &v), FB_OK);
	assert_string_equal(v, "512Mi"); /* read through the alias */
	assert_int_equal(fb_yaml_get_scalar(d, "api.livenessProbe.periodSeconds", &v), FB_OK);
	assert_string_equal(v, "10"); /* and through the merge key */
	assert_int_equal(fb_yaml_get_scalar(d, "batch.resources.requests.memory", &v), FB_OK);
	assert_string_equal(v, "2Gi");
	assert_int_equal(fb_yaml_get_scalar(d, "worker.resources", &v), FB_EINVAL);
	assert_int_equal(fb_yaml_get_scalar(d, "worker.nope", &v), FB_ENOTFOUND);
	assert_int_equal(fb_yaml_get_scalar(d, "worker.replicas.deeper", &v), FB_ENOTFOUND);
	assert_true(fb_yaml_has(d, "worker.resources"));
	assert_true(fb_yaml_is_mapping(d, "worker.resources"));
	assert_true(fb_yaml_is_mapping(d, "api.resources"));
	assert_false(fb_yaml_is_mapping(d, "worker.replicas"));
	assert_false(fb_yaml_has(d, "worker.limits"));
	assert_int_equal(fb_yaml_line(d, "worker.resources.limits.memory"), 18);
	assert_int_equal(fb_yaml_line(d, "worker"), 15);
	assert_int_equal(fb_yaml_line(d, "nope"), 0);
	fb_yaml_doc_free(d);
	free(t);

	const char *small = "a:\nb: ~\nc: 'null'\nd: [x, y]\n";
	assert_int_equal(fb_yaml_doc_parse(small, strlen(small), "v", &d), FB_OK);
	assert_int_equal(fb_yaml_get_scalar(d, "a", &v), FB_OK);
	assert_string_equal(v, "");
	assert_int_equal(fb_yaml_get_scalar(d, "b", &v), FB_OK);
	assert_string_equal(v, "");
	assert_int_equal(fb_yaml_get_scalar(d, "c", &v), FB_OK);
	assert_string_equal(v, "null"); /* quoted: a string, not null */
	assert_int_equal(fb_yaml_get_scalar(d, "d[1]", &v), FB_OK);
	assert_string_equal(v, "y");
	assert_int_equal(fb_yaml_get_scalar(d, "d[2]", &v), FB_ENOTFOUND);
	fb_yaml_doc_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(top_level_memory_keeps_comments_around),
	    cmocka_unit_test(trailing_comment_after_value_is_kept),
	    cmocka_unit_test(nested_chart_keys),
	    cmocka_unit_test(double_quoted_stays_double_quoted),
	    cmocka_unit_test(single_quoted_stays_single_quoted),
	    cmocka_unit_test(image_tag_in_double_quotes),
	    cmocka_unit_test(flow_mapping_is_edited_inside),
	    cmocka_unit_test(empty_flow_mapping_becomes_a_block),
	    cmocka_unit_test(null_value_becomes_a_block),
	    cmocka_unit_test(missing_requests_added_beside_limits),
	    cmocka_unit_test(alias_and_used_anchor_are_refused),
	    cmocka_unit_test(unused_anchor_is_kept),
	    cmocka_unit_test(mapping_at_eof_without_newline),
	    cmocka_unit_test(crlf_file_keeps_crlf),
	    cmocka_unit_test(document_start_and_end_markers),
	    cmocka_unit_test(non_ascii_text_before_the_value),
	    cmocka_unit_test(plain_values_are_quoted_when_needed),
	    cmocka_unit_test(empty_and_comment_only_files_get_the_path_at_top_level),
	    cmocka_unit_test(new_lines_use_the_files_indent_step),
	    cmocka_unit_test(a_wrong_result_is_never_returned),
	    cmocka_unit_test(sequence_items),
	    cmocka_unit_test(refuses_what_it_cannot_edit),
	    cmocka_unit_test(hostile_input_is_an_error_not_a_crash),
	    cmocka_unit_test(find_key_lists_every_block),
	    cmocka_unit_test(lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
