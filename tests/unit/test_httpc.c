/* Unit tests for httpc.c against a tiny HTTP/1.1 server on a thread in
 * this process (127.0.0.1, an ephemeral port, keep-alive): status codes,
 * the body limit, Retry-After as seconds and as a date, the bearer and
 * basic auth and extra headers as sent, JSON bodies, a timeout, connection
 * reuse, and error texts without secrets. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "firebreak/httpc.h"
#include "firebreak/json.h"
#include "firebreak/loki_api.h"

static int listen_fd = -1, port, stopping, connections;
static pthread_t server;

static void reply(int fd, int status, const char *extra, const char *body, size_t len)
{
	char head[1024];
	int n =
	    snprintf(head, sizeof(head),
	             "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n%s\r\n",
	             status, len, extra);
	send(fd, head, (size_t)n, MSG_NOSIGNAL);
	send(fd, body, len, MSG_NOSIGNAL);
}

/* One request from fd into req (head and body); 0 at EOF. */
static size_t read_request(int fd, char *req, size_t cap)
{
	size_t len = 0, want = 0;
	char *end = NULL;

	while (len < cap - 1) {
		ssize_t r = recv(fd, req + len, cap - 1 - len, 0);
		if (r <= 0)
			return 0;
		len += (size_t)r;
		req[len] = '\0';
		if (!end && (end = strstr(req, "\r\n\r\n"))) {
			const char *cl = strstr(req, "Content-Length:");
			want = (size_t)(end + 4 - req) +
			       (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (end && len >= want)
			return len;
	}
	return len;
}

/* The value of header name in req ("" when absent), into out. */
static void header(const char *req, const char *name, char *out, size_t outsz)
{
	const char *h = strstr(req, name);
	out[0] = '\0';
	if (h)
		snprintf(out, outsz, "%.*s", (int)strcspn(h + strlen(name), "\r\n"),
		         h + strlen(name));
}

/* query_range: Loki's plain-text error for a query with "bad" in it, else
 * one stream whose labels say what was asked and how. */
static void loki(int fd, const char *req, const char *path)
{
	char auth[128], org[128], body[2048];
	int n;
	if (strstr(path, "bad")) {
		reply(fd, 400, "", "parse error at line 1, col 2: syntax error", 42);
		return;
	}
	header(req, "\r\nAuthorization: ", auth, sizeof(auth));
	header(req, "\r\nX-Scope-OrgID: ", org, sizeof(org));
	n = snprintf(body, sizeof(body),
	             "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":"
	             "[{\"stream\":{\"path\":\"%s\",\"auth\":\"%s\",\"org\":\"%s\"},"
	             "\"values\":[[\"1700000000000000000\",\"a line\"]]}]}}",
	             path, auth, org);
	reply(fd, 200, "", body, (size_t)n);
}

static void answer(int fd, const char *req, size_t len)
{
	char path[256] = "", extra[256];
	time_t later = time(NULL) + 30;
	struct tm tm;

	sscanf(req, "%*s %255s", path);
	if (!strncmp(path, "/status/", 8)) {
		reply(fd, (int)strtol(path + 8, NULL, 10), "", path, strlen(path));
	} else if (!strncmp(path, "/loki/api/v1/query_range?", 25)) {
		loki(fd, req, path);
	} else if (!strcmp(path, "/big")) {
		static char big[4096];
		memset(big, 'x', sizeof(big));
		reply(fd, 200, "", big, sizeof(big));
	} else if (!strcmp(path, "/retry-seconds")) {
		reply(fd, 429, "Retry-After: 7\r\n", "slow down", 9);
	} else if (!strcmp(path, "/retry-date")) {
		gmtime_r(&later, &tm);
		strftime(extra, sizeof(extra), "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		reply(fd, 503, extra, "later", 5);
	} else if (!strncmp(path, "/slow/", 6)) { /* /slow/<ms> */
		usleep((useconds_t)strtoul(path + 6, NULL, 10) * 1000u);
		reply(fd, 200, "", "late", 4);
	} else { /* echo: the request as the body */
		reply(fd, 200, "", req, len);
	}
}

static void *serve(void *arg)
{
	static char req[65536];
	(void)arg;
	while (!__atomic_load_n(&stopping, __ATOMIC_SEQ_CST)) {
		struct pollfd p = {listen_fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(listen_fd, NULL, NULL);
		size_t len;
		if (fd < 0)
			continue;
		__atomic_add_fetch(&connections, 1, __ATOMIC_SEQ_CST);
		while ((len = read_request(fd, req, sizeof(req))) > 0)
			answer(fd, req, len);
		close(fd);
	}
	return NULL;
}

static int start_server(void **s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	(void)s;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(listen_fd, 8) || getsockname(listen_fd, (struct sockaddr *)&a, &alen))
		return -1;
	port = ntohs(a.sin_port);
	return pthread_create(&server, NULL, serve, NULL);
}

static int stop_server(void **s)
{
	(void)s;
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	pthread_join(server, NULL);
	close(listen_fd);
	return 0;
}

static fb_httpc *client(fb_httpc_opts *o)
{
	char base[64];
	fb_httpc *c = NULL;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/", port);
	o->base_url = base;
	assert_int_equal(fb_httpc_new(o, &c), FB_OK);
	return c;
}

static void status_codes_are_answers(void **s)
{
	fb_httpc_opts o = {0};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	(void)s;
	assert_int_equal(fb_httpc_request(c, "GET", "status/200", NULL, &r), FB_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "/status/200");
	assert_int_equal(r.retry_after, -1);
	assert_int_equal(fb_httpc_request(c, "GET", "/status/404", NULL, &r), FB_OK);
	assert_int_equal(r.status, 404);
	assert_int_equal(fb_httpc_request(c, "GET", "/status/500", NULL, &r), FB_OK);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.body_len, strlen("/status/500"));
	fb_httpc_free(c);
}

static void keeps_the_connection(void **s)
{
	fb_httpc_opts o = {0};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	int before = __atomic_load_n(&connections, __ATOMIC_SEQ_CST);
	(void)s;
	for (int i = 0; i < 5; i++)
		assert_int_equal(fb_httpc_request(c, "GET", "/status/202", NULL, &r), FB_OK);
	assert_int_equal(__atomic_load_n(&connections, __ATOMIC_SEQ_CST) - before, 1);
	fb_httpc_free(c);
}

static void body_over_the_limit_is_an_error(void **s)
{
	fb_httpc_opts o = {.max_body = 1024};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	(void)s;
	assert_int_equal(fb_httpc_request(c, "GET", "/big", NULL, &r), FB_ETOOBIG);
	assert_non_null(strstr(fb_error_last(), "over 1024 bytes"));
	assert_int_equal(r.status, 0);
	assert_int_equal(r.body_len, 0);
	/* the client still works afterwards */
	assert_int_equal(fb_httpc_request(c, "GET", "/status/200", NULL, &r), FB_OK);
	assert_int_equal(r.status, 200);
	fb_httpc_free(c);
}

static void retry_after_from_the_answer(void **s)
{
	fb_httpc_opts o = {0};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	(void)s;
	assert_int_equal(fb_httpc_request(c, "POST", "/retry-seconds", "{}", &r), FB_OK);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after, 7);
	assert_int_equal(fb_httpc_request(c, "GET", "/retry-date", NULL, &r), FB_OK);
	assert_int_equal(r.status, 503);
	assert_in_range(r.retry_after, 27, 30);
	assert_int_equal(fb_httpc_request(c, "GET", "/status/200", NULL, &r), FB_OK);
	assert_int_equal(r.retry_after, -1); /* not carried over */
	fb_httpc_free(c);
}

static void retry_after_values(void **s)
{
	time_t t0 = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
	(void)s;
	assert_int_equal(fb_httpc_retry_after("120", t0), 120);
	assert_int_equal(fb_httpc_retry_after(" 5 \r\n", t0), 5);
	assert_int_equal(fb_httpc_retry_after("0", t0), 0);
	assert_int_equal(fb_httpc_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t0 - 60), 60);
	assert_int_equal(fb_httpc_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", t0 - 5), 5);
	assert_int_equal(fb_httpc_retry_after("Wed Oct 21 07:28:00 2015", t0 - 9), 9);
	assert_int_equal(fb_httpc_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t0 + 60), 0);
	assert_int_equal(fb_httpc_retry_after("soon", t0), -1);
	assert_int_equal(fb_httpc_retry_after("-3", t0), -1);
	assert_int_equal(fb_httpc_retry_after("12abc", t0), -1);
	assert_int_equal(fb_httpc_retry_after("", t0), -1);
	assert_int_equal(fb_httpc_retry_after(NULL, t0), -1);
}

static void bearer_headers_and_json_are_sent(void **s)
{
	fb_httpc_opts o = {.bearer = "tok-123",
	                   .headers = {"X-Scope-OrgID: team-a", NULL},
	                   .user_agent = "fb-test/1"};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	(void)s;
	assert_int_equal(fb_httpc_request(c, "POST", "/echo", "{\"a\":1}", &r), FB_OK);
	assert_non_null(strstr(r.body, "POST /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(r.body, "\r\nAuthorization: Bearer tok-123\r\n"));
	assert_non_null(strstr(r.body, "\r\nX-Scope-OrgID: team-a\r\n"));
	assert_non_null(strstr(r.body, "\r\nUser-Agent: fb-test/1\r\n"));
	assert_non_null(strstr(r.body, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
	assert_non_null(strstr(r.body, "\r\n\r\n{\"a\":1}"));
	assert_int_equal(fb_httpc_request(c, "GET", "/echo?x=1", NULL, &r), FB_OK);
	assert_non_null(strstr(r.body, "GET /echo?x=1 HTTP/1.1\r\n"));
	assert_null(strstr(r.body, "Content-Type: application/json"));
	/* a new token replaces the old one */
	assert_int_equal(fb_httpc_set_bearer(c, "tok-456"), FB_OK);
	assert_int_equal(fb_httpc_request(c, "GET", "/echo", NULL, &r), FB_OK);
	assert_non_null(strstr(r.body, "Authorization: Bearer tok-456\r\n"));
	assert_null(strstr(r.body, "tok-123"));
	assert_int_equal(fb_httpc_set_bearer(c, NULL), FB_OK);
	assert_int_equal(fb_httpc_request(c, "DELETE", "/echo", NULL, &r), FB_OK);
	assert_non_null(strstr(r.body, "DELETE /echo HTTP/1.1\r\n"));
	assert_null(strstr(r.body, "Authorization"));
	fb_httpc_free(c);
}

static void basic_auth_is_sent(void **s)
{
	fb_httpc_opts o = {.user = "user", .password = "pass"};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	(void)s;
	assert_int_equal(fb_httpc_request(c, "GET", "/echo", NULL, &r), FB_OK);
	assert_non_null(strstr(r.body, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"));
	fb_httpc_free(c);
}

static void full_urls_and_no_base(void **s)
{
	fb_httpc_opts o = {0};
	fb_httpc *c = NULL;
	fb_httpc_result r;
	char url[96];
	(void)s;
	assert_int_equal(fb_httpc_new(&o, &c), FB_OK);
	assert_int_equal(fb_httpc_request(c, "GET", "/status/200", NULL, &r), FB_EINVAL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/status/201", port);
	assert_int_equal(fb_httpc_request(c, "GET", url, NULL, &r), FB_OK);
	assert_int_equal(r.status, 201);
	fb_httpc_free(c);
}

static void errors_show_no_secret(void **s)
{
	fb_httpc_opts o = {.bearer = "sekrit-token", .connect_timeout_ms = 500};
	fb_httpc *c = NULL;
	fb_httpc_result r;
	(void)s;
	assert_int_equal(fb_httpc_new(&o, &c), FB_OK);
	/* port 1 on loopback: refused */
	assert_int_equal(
	    fb_httpc_request(c, "GET", "http://alice:hunter2@127.0.0.1:1/p?token=abc", NULL, &r),
	    FB_EIO);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(fb_error_last(), "GET http://127.0.0.1:1/p"));
	assert_null(strstr(fb_error_last(), "hunter2"));
	assert_null(strstr(fb_error_last(), "alice"));
	assert_null(strstr(fb_error_last(), "token=abc"));
	assert_null(strstr(fb_error_last(), "sekrit"));
	fb_httpc_free(c);
}

static void redacts_and_escapes(void **s)
{
	char out[128];
	fb_buf b;
	(void)s;
	fb_httpc_redact_url("https://u:p@host:8443/a/b?q=1#f", out, sizeof(out));
	assert_string_equal(out, "https://host:8443/a/b");
	fb_httpc_redact_url("http://host/x@y", out, sizeof(out));
	assert_string_equal(out, "http://host/x@y");
	fb_httpc_redact_url("host/path?k=v", out, sizeof(out));
	assert_string_equal(out, "host/path");
	fb_buf_init(&b, 256);
	assert_int_equal(fb_httpc_escape(&b, "app.kubernetes.io/name=a b~"), FB_OK);
	assert_string_equal(fb_buf_str(&b), "app.kubernetes.io%2Fname%3Da%20b~");
	fb_buf_reset(&b);
	assert_int_equal(fb_httpc_escape(&b, "{ns=\"x\"} |~ `é`"), FB_OK);
	assert_string_equal(fb_buf_str(&b), "%7Bns%3D%22x%22%7D%20%7C~%20%60%C3%A9%60");
	fb_buf_free(&b);
}

static const char *label(const cJSON *answer, const char *name)
{
	const cJSON *st = cJSON_GetArrayItem(fb_json_get(fb_json_get(answer, "data"), "result"), 0);
	return fb_json_str(fb_json_get(st, "stream"), name);
}

static void loki_query_range(void **s)
{
	char base[64];
	fb_loki_api *l = NULL;
	cJSON *out = NULL;
	long status = -1;
	(void)s;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	fb_loki_api_opts o = {
	    .url = base, .tenant = "team-a", .username = "u", .password = "p", .token = "unused"};
	assert_int_equal(fb_loki_api_new(&o, &l), FB_OK);
	fb_loki_range r = {.query = "{namespace=\"x\"} |~ `OOM`",
	                   .start_ns = 1700000000000000000LL,
	                   .end_ns = 1700000060000000000LL,
	                   .limit = 500,
	                   .direction = FB_LOKI_FORWARD};
	assert_int_equal(fb_loki_api_query_range(l, &r, &status, &out), FB_OK);
	assert_int_equal(status, 200);
	assert_string_equal(
	    label(out, "path"),
	    "/loki/api/v1/query_range?query=%7Bnamespace%3D%22x%22%7D%20%7C~%20%60OOM%60"
	    "&start=1700000000000000000&end=1700000060000000000&limit=500"
	    "&direction=forward");
	assert_string_equal(label(out, "auth"), "Basic dTpw");
	assert_string_equal(label(out, "org"), "team-a");
	cJSON_Delete(out);
	r.direction = FB_LOKI_BACKWARD;
	r.limit = 0;
	assert_int_equal(fb_loki_api_query_range(l, &r, NULL, &out), FB_OK);
	assert_non_null(strstr(label(out, "path"), "&end=1700000060000000000&direction=backward"));
	cJSON_Delete(out);
	r.query = "{bad";
	assert_int_equal(fb_loki_api_query_range(l, &r, &status, &out), FB_EIO);
	assert_null(out);
	assert_int_equal(status, 400);
	assert_string_equal(fb_error_last(),
	                    "Loki: HTTP 400: parse error at line 1, col 2: syntax error");
	fb_loki_api_free(l);
}

static void a_slow_answer_times_out(void **s)
{
	fb_httpc_opts o = {.timeout_ms = 300};
	fb_httpc *c = client(&o);
	fb_httpc_result r;
	struct timespec a, b;
	(void)s;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(fb_httpc_request(c, "GET", "/slow/1000", NULL, &r), FB_EIO);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_non_null(strstr(fb_error_last(), "timed out after 300 ms"));
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 900);
	fb_httpc_free(c);
}

static void *stop_soon(void *arg)
{
	usleep(100 * 1000);
	fb_stopper_stop(arg);
	return NULL;
}

static void a_stopped_request_ends_early(void **s)
{
	fb_stopper stopper;
	fb_httpc_opts o = {.stopper = &stopper};
	fb_httpc *c;
	fb_httpc_result r;
	pthread_t t;
	int64_t t0;
	(void)s;
	fb_stopper_init(&stopper);
	c = client(&o);
	assert_int_equal(pthread_create(&t, NULL, stop_soon, &stopper), 0);
	t0 = fb_mono_ms();
	assert_int_equal(fb_httpc_request(c, "GET", "/slow/2500", NULL, &r), FB_ESTATE);
	assert_true(fb_mono_ms() - t0 < 2000);
	assert_non_null(strstr(fb_error_last(), ": stopped"));
	assert_int_equal(r.status, 0);
	pthread_join(t, NULL);
	fb_httpc_free(c);
	fb_stopper_destroy(&stopper);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_codes_are_answers),
	    cmocka_unit_test(keeps_the_connection),
	    cmocka_unit_test(body_over_the_limit_is_an_error),
	    cmocka_unit_test(retry_after_from_the_answer),
	    cmocka_unit_test(retry_after_values),
	    cmocka_unit_test(bearer_headers_and_json_are_sent),
	    cmocka_unit_test(basic_auth_is_sent),
	    cmocka_unit_test(full_urls_and_no_base),
	    cmocka_unit_test(errors_show_no_secret),
	    cmocka_unit_test(redacts_and_escapes),
	    cmocka_unit_test(loki_query_range),
	    cmocka_unit_test(a_slow_answer_times_out),
	    cmocka_unit_test(a_stopped_request_ends_early),
	};
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
