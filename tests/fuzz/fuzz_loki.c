/*
 * fuzz_loki.c - the Loki query_range answer (loki_api.c, and the Loki
 * source that reads it, sources/loki.c): a loopback server answers every
 * request with the input (fz_http_answer: status byte, headers, body);
 * one poll of one query over up to two pages; a batch is freed.
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/config.h"
#include "firebreak/source.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fb_config cfg;
static const fb_source_ops *loki;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	fb_config_defaults(&cfg);
	snprintf(cfg.loki.url, sizeof(cfg.loki.url), "%s", fz_http_start());
	snprintf(cfg.loki.queries[0], sizeof(cfg.loki.queries[0]), "{namespace=\"prod\"} |= \"error\"");
	cfg.loki.n_queries = 1;
	cfg.loki.max_pages = 2;
	cfg.loki.limit = 100;
	if (!(loki = fb_source_find("loki")) || !loki->open || !loki->poll)
		abort();
	return 0;
}

static void put(void *ctx, fb_source_batch *b)
{
	(void)ctx;
	fb_source_batch_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fb_source_sink sink = {.put = put};
	void *poller = NULL;
	int64_t wait = 0;

	fz_http_answer(data, size);
	if (loki->open(&cfg, NULL, &poller) != FB_OK)
		abort();
	loki->poll(poller, &sink, &wait);
	loki->close(poller);
	return 0;
}
