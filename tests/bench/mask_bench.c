/*
 * mask_bench.c - `make bench-mask`: the masker's throughput over a 1 MB
 * log shaped like what it masks (JSON service logs, access logs, Java
 * stack traces, Kubernetes events, a secret every 40 lines or so).
 * Single thread; prints MB/s as a Markdown row.  Not a test: nothing is
 * asserted but that masking succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/buf.h"
#include "firebreak/mask.h"

/* the log lines are formats picked at random: checked by eye */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static const char *const lines[] = {
    "{\"ts\":\"2026-11-30T03:12:%02dZ\",\"level\":\"info\",\"msg\":\"request done\","
    "\"path\":\"/api/v1/orders\",\"status\":200,\"dur_ms\":%d,\"trace\":"
    "\"4bf92f3577b34da6a3ce929d0e0e4736\"}",
    "10.0.%d.%d - - [30/Nov/2026:03:12:44 +0000] \"GET /static/app.js HTTP/1.1\" 200 5123 "
    "\"https://shop.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64)\"",
    "\tat com.example.shop.OrderService.place(OrderService.java:%d)",
    "java.lang.OutOfMemoryError: Java heap space (pod checkout-%d-7f9c)",
    "Warning  BackOff  %dm  kubelet  Back-off restarting failed container grafana in pod "
    "grafana-%d",
    "level=warn ts=2026-11-30T03:12:44Z caller=scrape.go:%d component=\"scrape manager\" "
    "msg=\"append failed\" err=\"out of order sample\"",
    "2026-11-30 03:12:44.%03d ERROR [pool-%d] c.e.d.Db - connection refused to "
    "db.internal:5432, retrying",
};
static const char *const secrets[] = {
    "db login failed: user=app password=correct-horse-%d host=db",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abcdefghijk%d",
    "dial postgres://app:s3cr3t%d@db.internal:5432/app failed",
    "export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae17%04d",
};

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 1u << 20;
	int rounds = argc > 2 ? atoi(argv[2]) : 20; /* NOLINT: a bench argument */
	fb_buf log;
	char *out = NULL;
	unsigned seed = 7;

	fb_buf_init(&log, 0);
	for (int i = 0; log.len < size; i++) {
		seed = seed * 1103515245u + 12345u;
		int r = (int)(seed >> 16);
		if (r % 40 == 0)
			fb_buf_printf(&log, secrets[r % 4], r % 10000);
		else
			fb_buf_printf(&log, lines[r % 7], r % 60, r % 997);
		fb_buf_addc(&log, '\n');
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < rounds; i++) {
		free(out);
		if (fb_mask(fb_buf_str(&log), log.len, &out) != FB_OK) {
			fprintf(stderr, "mask_bench: %s\n", fb_error_last());
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	double mb = (double)log.len * rounds / (1024.0 * 1024.0);
	size_t masks = 0;
	for (const char *p = strstr(out, "[MASKED:"); p; p = strstr(p + 1, "[MASKED:"))
		masks++;
	printf("| masker | %.2f MB log x %d | %.1f MB/s | %zu masks |\n",
	       (double)log.len / (1024.0 * 1024.0), rounds, mb / s, masks);
	free(out);
	fb_buf_free(&log);
	return 0;
}
