/*
 * fuzz_mask.c - the masker (mask.c) on any bytes (not NUL-terminated, not
 * UTF-8).  Properties: it never fails but for size; the output has no NUL
 * the input did not have and is bounded (each byte of input gives at most
 * a marker, "[MASKED:kind]"); and it is idempotent: mask(mask(x)) ==
 * mask(x).  FUZZ_MASK_IDEMPOTENT=0 turns the idempotence check off (it is
 * on by default).
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/mask.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int idempotent = 1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *e = getenv("FUZZ_MASK_IDEMPOTENT");
	fz_quiet();
	idempotent = !(e && !strcmp(e, "0"));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fz_bytes(data, size), *once = NULL, *twice = NULL;

	if (fb_mask(in, size, &once) == FB_OK) {
		size_t n = strlen(once);
		FZ_ASSERT(n <= 64 + size * 32, "%zu bytes masked into %zu", size, n);
		if (!memchr(data, '\0', size) && idempotent) {
			char *exact = fz_bytes((const uint8_t *)once, n);
			FZ_ASSERT(fb_mask(exact, n, &twice) == FB_OK, "masking the masked text failed");
			FZ_ASSERT(!strcmp(once, twice), "not idempotent:\n once: %s\ntwice: %s", once,
			          twice);
			free(exact);
		}
	}
	free(twice);
	free(once);
	free(in);
	return 0;
}
