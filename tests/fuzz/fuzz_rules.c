/*
 * fuzz_rules.c - the triage rules on any text (rules.c): the embedded
 * rules classify the input (not NUL-terminated, so a read past len is
 * caught), and fb_rules_signature() normalises it and its first line.
 * The category must be one of the known ones, the signature a C string
 * within its buffer.
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/rules.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fb_rules *rules;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	char *errors = NULL;
	if (fb_rules_load(NULL, &rules, &errors))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_bytes(data, size), sig[256], app[128];
	const char *nl = size ? memchr(text, '\n', size) : NULL;
	fb_classification c;

	memset(&c, 0, sizeof(c));
	if (fb_rules_classify(rules, text, size, &c) == FB_OK)
		FZ_ASSERT(fb_category_valid(c.category) || !strcmp(c.category, "none"),
		          "unknown category \"%s\"", c.category);
	fb_rules_signature(text, size, sig, sizeof(sig));
	FZ_ASSERT(strlen(sig) < sizeof(sig), "signature overflow");
	fb_rules_signature(text, nl ? (size_t)(nl - text) : size, sig, 16);
	FZ_ASSERT(strlen(sig) < 16, "signature overflow");
	char *s = fz_str(data, size > 200 ? 200 : size);
	fb_rules_pod_to_app(s, app, sizeof(app));
	free(s);
	free(text);
	return 0;
}
