/*
 * fuzz_alertmanager.c - the Alertmanager webhook body (alertmanager.c
 * through the source table's parse): any bytes; a batch, when there is
 * one, is freed; an error has a message.
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/config.h"
#include "firebreak/error.h"
#include "firebreak/source.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fb_config cfg;
static const fb_source_ops *am;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	fb_config_defaults(&cfg);
	if (!(am = fb_source_find("alertmanager")) || !am->parse)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fz_bytes(data, size);
	fb_source_batch *b = NULL;
	fb_err rc = am->parse(&cfg, body, size, &b);
	if (rc == FB_OK)
		FZ_ASSERT(b != NULL, "parse succeeded without a batch");
	else
		FZ_ASSERT(b == NULL && *fb_error_last(), "a failed parse left a batch or no message");
	fb_source_batch_free(b);
	free(body);
	return 0;
}
