/* Unit tests for keycmp.c: the presented key matches only when it is the
 * configured one, whatever its length; an empty or missing key never does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/keycmp.h"

#define KEY "fbk-0123456789abcdefghijklmnopqrstuv"

static void only_the_key_matches(void **s)
{
	fb_keycmp k;
	char given[300];
	size_t klen = strlen(KEY);
	(void)s;
	assert_int_equal(fb_keycmp_init(&k, KEY), FB_OK);
	assert_true(fb_keycmp_matches(&k, KEY, klen));
	/* a wrong key of every length from 0 to 299: prefixes of the key,
	 * the key with more after it, and the key with one byte changed */
	for (size_t n = 0; n < sizeof(given); n++) {
		for (size_t i = 0; i < n; i++)
			given[i] = i < klen ? KEY[i] : 'x';
		if (n != klen)
			assert_false(fb_keycmp_matches(&k, given, n));
		if (n == klen) {
			for (size_t i = 0; i < n; i++) {
				given[i] ^= 1;
				assert_false(fb_keycmp_matches(&k, given, n));
				given[i] ^= 1;
			}
			assert_true(fb_keycmp_matches(&k, given, n));
		}
	}
	assert_false(fb_keycmp_matches(&k, "", 0));
	assert_false(fb_keycmp_matches(&k, NULL, 0));
	/* len, not the NUL, bounds the given key */
	assert_false(fb_keycmp_matches(&k, KEY "tail", klen + 4));
	assert_true(fb_keycmp_matches(&k, KEY "tail", klen));
	fb_keycmp_clear(&k);
	assert_false(fb_keycmp_matches(&k, KEY, klen));
}

static void no_key_matches_nothing(void **s)
{
	fb_keycmp k;
	(void)s;
	assert_int_equal(fb_keycmp_init(&k, ""), FB_OK);
	assert_false(fb_keycmp_matches(&k, "", 0));
	assert_false(fb_keycmp_matches(&k, "anything", 8));
	assert_int_equal(fb_keycmp_init(&k, NULL), FB_OK);
	assert_false(fb_keycmp_matches(&k, "", 0));
}

/* The digest is keyed per process: it is not the plain SHA-256 of the key,
 * and two keys never share one. */
static void digests_are_keyed(void **s)
{
	fb_keycmp a, b;
	(void)s;
	assert_int_equal(fb_keycmp_init(&a, KEY), FB_OK);
	assert_int_equal(fb_keycmp_init(&b, KEY "x"), FB_OK);
	assert_memory_not_equal(a.digest, b.digest, sizeof(a.digest));
	assert_false(fb_keycmp_matches(&a, KEY "x", strlen(KEY) + 1));
	assert_true(fb_keycmp_matches(&b, KEY "x", strlen(KEY) + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_the_key_matches),
	    cmocka_unit_test(no_key_matches_nothing),
	    cmocka_unit_test(digests_are_keyed),
	};
	return cmocka_run_group_tests_name("keycmp", tests, NULL, NULL);
}
