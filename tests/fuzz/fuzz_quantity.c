/*
 * fuzz_quantity.c - Kubernetes quantities (quantity.c): the input is
 * "current\0factor\0max" (factor as text, default 1.5).  Properties:
 * parse never crashes nor gives NaN; a parsed quantity >= 0 that formats
 * gives text that parses back to at least the same amount (format rounds
 * up to whole units); raise (max "1Ei" when none is given) gives text that
 * parses, is not below current and not above max.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "firebreak/quantity.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	return 0;
}

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-6 * fmax(1.0, fmax(fabs(a), fabs(b))) + 0.001;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cur, *rest, *fac, *max;
	size_t restlen, maxlen;
	char *copy = fz_split(data, size, &cur, &rest, &restlen);
	char *copy2 = fz_split((const uint8_t *)rest, restlen, &fac, &max, &maxlen);
	fb_quantity q, back, m;
	char out[128];
	double factor = 1.5;

	if (*fac) {
		char *end;
		factor = strtod(fac, &end);
		if (end == fac || !isfinite(factor) || factor <= 1.0 || factor > 64.0)
			factor = 1.5;
	}
	if (fb_quantity_parse(cur, &q) == FB_OK) {
		FZ_ASSERT(!isnan(q.value), "\"%s\" parsed to NaN", cur);
		if (q.value >= 0 && fb_quantity_format(q.value, &q, out, sizeof(out)) == FB_OK) {
			FZ_ASSERT(fb_quantity_parse(out, &back) == FB_OK,
			          "\"%s\" formatted as \"%s\", which does not parse", cur, out);
			FZ_ASSERT(back.value >= q.value || near(back.value, q.value),
			          "\"%s\" (%g) formatted as \"%s\" (%g): less", cur, q.value, out,
			          back.value);
		}
		const char *cap = *max ? max : "1Ei";
		int has_max = fb_quantity_parse(cap, &m) == FB_OK;
		if (fb_quantity_raise(cur, factor, cap, out, sizeof(out), NULL) == FB_OK) {
			FZ_ASSERT(fb_quantity_parse(out, &back) == FB_OK,
			          "raise(\"%s\", %g) gave \"%s\", which does not parse", cur, factor, out);
			FZ_ASSERT(back.value >= q.value || near(back.value, q.value),
			          "raise(\"%s\", %g) gave \"%s\": less than current", cur, factor, out);
			if (has_max)
				FZ_ASSERT(back.value <= m.value || near(back.value, m.value),
				          "raise(\"%s\", %g, \"%s\") gave \"%s\": above max", cur, factor,
				          cap, out);
		}
	} else {
		fb_quantity_raise(cur, factor, *max ? max : "1Ei", out, sizeof(out), NULL);
	}
	free(copy2);
	free(copy);
	return 0;
}
