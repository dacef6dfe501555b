/*
 * fuzz_util.h - shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c):
 * quiet logs, NUL-terminated copies, a scratch directory, the Slack
 * dispatcher over a real store, and a loopback HTTP server that answers
 * every request with the fuzzer's bytes.  Single-threaded apart from the
 * server's thread.  Not part of the daemon.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "firebreak/log.h"

/* A crash with a message: libFuzzer saves the input as a crash. */
#define FZ_ASSERT(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(fz_err, "fuzz assertion failed: %s (%s:%d): ", #cond, __FILE__,    \
			        __LINE__);                                                         \
			fprintf(fz_err, __VA_ARGS__);                                              \
			fputc('\n', fz_err);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static FILE *fz_err;

/*
 * The daemon's log lines go to /dev/null (FUZZ_LOG=1 keeps them), at the
 * debug level so that every line is still formatted.  libFuzzer keeps
 * its own copy of stderr, taken before this runs.
 */
static inline void fz_quiet(void)
{
	fz_err = stderr;
	fb_log_set_level(FB_LOG_DEBUG);
	if (!getenv("FUZZ_LOG")) {
		FILE *null = fopen("/dev/null", "w");
		if (null)
			stderr = null;
	}
}

/* A NUL-terminated copy of the input (malloc'd; abort on no memory). */
static inline char *fz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An exact-size copy without a NUL: ASan catches a read past size. */
static inline char *fz_bytes(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	return s;
}

/* Splits the input at the first NUL: *a is the part before (NUL-ended in
 * place of the copy), *b after; both point into one malloc'd copy. */
static inline char *fz_split(const uint8_t *data, size_t size, char **a, char **b, size_t *blen)
{
	char *s = fz_str(data, size);
	size_t alen = strlen(s);
	*a = s;
	*b = alen < size ? s + alen + 1 : s + size;
	*blen = alen < size ? size - alen - 1 : 0;
	return s;
}

/* A scratch directory for the process (tmpfs when there is one). */
static inline const char *fz_tmpdir(void)
{
	static char dir[256];
	if (dir[0])
		return dir;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fb-fuzz.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir))
		abort();
	return dir;
}

/* ---- a loopback HTTP server answering with the fuzzer's bytes ---- */

static struct {
	pthread_mutex_t mu;
	int fd;
	unsigned short port;
	char *answer; /* the whole HTTP answer for the next requests */
	size_t len;
	long requests;
} fz_http = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

/* Reads the request's head and its body (Content-Length) and drops them. */
static inline void fz_http_drain(int c)
{
	char buf[8192];
	size_t have = 0;
	long body = -1;
	for (;;) {
		ssize_t n = recv(c, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end) {
			char *cl = strstr(buf, "\r\nContent-Length:"); /* as curl writes it */
			body = cl ? strtol(cl + 17, NULL, 10) : 0;
			body -= (long)(have - (size_t)(end + 4 - buf));
			break;
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* a long head: keep looking for its end */
	}
	while (body > 0) {
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n <= 0)
			return;
		body -= n;
	}
}

static inline void *fz_http_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(fz_http.fd, NULL, NULL);
		if (c < 0)
			continue;
		fz_http_drain(c);
		pthread_mutex_lock(&fz_http.mu);
		size_t off = 0;
		while (off < fz_http.len) {
			ssize_t n = send(c, fz_http.answer + off, fz_http.len - off, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		fz_http.requests++;
		pthread_mutex_unlock(&fz_http.mu);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

/*
 * Starts the server once; its base URL is http://127.0.0.1:port.  Every
 * proxy variable points at it too, so a URL the answer names (a Link
 * header's next page on another host) comes back here, never the network.
 */
static inline const char *fz_http_start(void)
{
	static char url[64];
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	pthread_t t;

	if (url[0])
		return url;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fz_http.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fz_http.fd < 0 || bind(fz_http.fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fz_http.fd, 16) || getsockname(fz_http.fd, (struct sockaddr *)&a, &alen))
		abort();
	fz_http.port = ntohs(a.sin_port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", fz_http.port);
	setenv("http_proxy", url, 1);
	setenv("https_proxy", url, 1);
	setenv("HTTPS_PROXY", url, 1);
	setenv("ALL_PROXY", url, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	if (pthread_create(&t, NULL, fz_http_main, NULL))
		abort();
	pthread_detach(t);
	return url;
}

/*
 * The answer to the next requests, from the fuzzer's bytes: the first
 * byte picks the status, then header lines up to an empty line ("\n\n"),
 * then the body.  Lines without a colon, and CRs, are dropped so that
 * the answer stays HTTP and the fuzzer spends its time on what firebreak
 * reads.
 */
static inline void fz_http_answer(const uint8_t *data, size_t size)
{
	static const int statuses[] = {200, 200, 200, 201, 204, 301, 400, 401, 403,
	                               404, 409, 422, 429, 500, 502, 503};
	int status = size ? statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))] : 200;
	const uint8_t *p = size ? data + 1 : data, *end = data + size, *body = end;
	char *out;
	size_t o = 0;

	for (const uint8_t *q = p; q + 1 < end; q++)
		if (q[0] == '\n' && q[1] == '\n') {
			body = q + 2;
			break;
		}
	if (body == end) /* no empty line: it is all body */
		body = p;
	out = malloc(256 + 2 * (size_t)(end - p) + 4);
	if (!out)
		abort();
	o += (size_t)snprintf(out, 256, "HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n",
	                     status, (size_t)(end - body));
	for (const uint8_t *q = p; q < body;) {
		const uint8_t *nl = memchr(q, '\n', (size_t)(body - q));
		const uint8_t *le = nl ? nl : body;
		size_t n = 0;
		int colon = 0;
		for (const uint8_t *c = q; c < le; c++) {
			if (*c == '\r' || *c == '\0')
				continue;
			colon |= *c == ':';
			out[o + n++] = (char)*c;
		}
		if (colon && n && out[o] != ':' &&
		    strncasecmp(out + o, "content-length", 14) &&
		    strncasecmp(out + o, "transfer-encoding", 17) &&
		    strncasecmp(out + o, "connection", 10)) {
			o += n;
			out[o++] = '\r';
			out[o++] = '\n';
		}
		q = le + 1;
	}
	out[o++] = '\r';
	out[o++] = '\n';
	memcpy(out + o, body, (size_t)(end - body));
	o += (size_t)(end - body);
	pthread_mutex_lock(&fz_http.mu);
	free(fz_http.answer);
	fz_http.answer = out;
	fz_http.len = o;
	pthread_mutex_unlock(&fz_http.mu);
}

#endif
