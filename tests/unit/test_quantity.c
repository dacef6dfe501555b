/* Unit tests for quantity.c: the resource.Quantity grammar, formatting in
 * the file's own unit style, and the capped raise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/quantity.h"

static void parses_binary_decimal_and_plain(void **s)
{
	fb_quantity q;
	(void)s;
	assert_int_equal(fb_quantity_parse("512Mi", &q), FB_OK);
	assert_true(q.value == 536870912.0);
	assert_string_equal(q.suffix, "Mi");
	assert_int_equal(q.exponent, 0);
	assert_int_equal(fb_quantity_parse("1.5Gi", &q), FB_OK);
	assert_true(q.value == 1610612736.0);
	assert_int_equal(fb_quantity_parse("500M", &q), FB_OK);
	assert_true(q.value == 500e6);
	assert_string_equal(q.suffix, "M");
	assert_int_equal(fb_quantity_parse("128974848", &q), FB_OK);
	assert_true(q.value == 128974848.0);
	assert_string_equal(q.suffix, "");
	assert_int_equal(fb_quantity_parse("100m", &q), FB_OK);
	assert_true(q.value > 0.0999 && q.value < 0.1001);
	assert_string_equal(q.suffix, "m");
	assert_int_equal(fb_quantity_parse("2E", &q), FB_OK); /* a bare E is exa */
	assert_true(q.value == 2e18);
	assert_int_equal(fb_quantity_parse(".5Ki", &q), FB_OK);
	assert_true(q.value == 512.0);
	assert_int_equal(fb_quantity_parse("1.Ki", &q), FB_OK);
	assert_true(q.value == 1024.0);
}

static void parses_exponent_form(void **s)
{
	fb_quantity q;
	(void)s;
	assert_int_equal(fb_quantity_parse("1e9", &q), FB_OK);
	assert_true(q.value == 1e9);
	assert_int_equal(q.exponent, 9);
	assert_string_equal(q.suffix, "");
	assert_int_equal(fb_quantity_parse("12E3", &q), FB_OK);
	assert_true(q.value == 12000.0);
	assert_int_equal(q.exponent, 3);
	assert_int_equal(fb_quantity_parse("5e+6", &q), FB_OK);
	assert_true(q.value == 5e6);
}

static void surrounding_blanks_are_ignored(void **s)
{
	fb_quantity q;
	(void)s;
	assert_int_equal(fb_quantity_parse(" 1Gi", &q), FB_OK);
	assert_true(q.value == 1073741824.0);
	assert_int_equal(fb_quantity_parse("1Gi\t ", &q), FB_OK);
	assert_string_equal(q.suffix, "Gi");
}

static void junk_is_rejected_with_a_message(void **s)
{
	static const char *bad[] = {"",     "   ", "Gi",    "1KB",  "1 Gi", "1gi",  "1K",
	                            "1e",   "1e+", "1.5.2", "1Mi2", "0x10", "abc",  "1Ei5",
	                            "1e99", "inf", "nan",   "--1",  "1ee3", "1e3Mi"};
	fb_quantity q;
	(void)s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fb_error_clear();
		assert_int_equal(fb_quantity_parse(bad[i], &q), FB_EINVAL);
		assert_true(fb_error_last()[0] != '\0');
	}
	assert_int_equal(fb_quantity_parse("1KB", &q), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "unknown suffix \"KB\""));
	assert_int_equal(fb_quantity_parse(NULL, &q), FB_EINVAL);
	assert_int_equal(fb_quantity_parse("99999999999999999999999Ei", &q), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "out of range"));
}

static void expect_format(double v, const char *style, const char *want)
{
	fb_quantity q;
	char out[32];
	assert_int_equal(fb_quantity_parse(style, &q), FB_OK);
	assert_int_equal(fb_quantity_format(v, &q, out, sizeof(out)), FB_OK);
	assert_string_equal(out, want);
}

static void formats_in_the_same_unit_when_whole(void **s)
{
	(void)s;
	expect_format(2 * 536870912.0, "512Mi", "1024Mi"); /* never grows to 1Gi */
	expect_format(2 * 1073741824.0, "1Gi", "2Gi");
	expect_format(1000e6, "500M", "1000M");
	expect_format(2e9, "1e9", "2e9");
	expect_format(0.25, "100m", "250m");
	expect_format(256.0, "128", "256");
}

static void formats_in_a_smaller_unit_of_the_same_family(void **s)
{
	(void)s;
	expect_format(1.5 * 1073741824.0, "1Gi", "1536Mi");
	expect_format(2.25 * 1073741824.0, "1.5Gi", "2304Mi");
	expect_format(1.5 * 1048576.0, "1Mi", "1536Ki");
	expect_format(1.5e9, "1G", "1500M");
	expect_format(1234567.0, "1M", "1234567");
	expect_format(1.3 * 1073741824.0, "1Gi", "1395864372"); /* rounded up to a byte */
	expect_format(2.5e9, "1e9", "2500000000");
}

static void float_noise_does_not_round_up(void **s)
{
	char out[32];
	fb_quantity q;
	(void)s;
	assert_int_equal(fb_quantity_parse("100Mi", &q), FB_OK);
	assert_int_equal(fb_quantity_format(q.value * 1.2, &q, out, sizeof(out)), FB_OK);
	assert_string_equal(out, "120Mi");
	assert_int_equal(fb_quantity_format(1.0001, NULL, out, sizeof(out)), FB_OK);
	assert_string_equal(out, "2");
}

static void format_rejects_bad_values_and_small_buffers(void **s)
{
	char out[4];
	fb_quantity q;
	(void)s;
	assert_int_equal(fb_quantity_parse("1Gi", &q), FB_OK);
	assert_int_equal(fb_quantity_format(-1.0, &q, out, sizeof(out)), FB_EINVAL);
	assert_int_equal(fb_quantity_format(2 * 1073741824.0, &q, out, sizeof(out)), FB_OK);
	assert_string_equal(out, "2Gi");
	assert_int_equal(fb_quantity_format(20 * 1073741824.0, &q, out, sizeof(out)), FB_ETOOBIG);
}

static void expect_raise(const char *cur, double f, const char *max, const char *want, int cap)
{
	char out[32];
	int capped = -1;
	assert_int_equal(fb_quantity_raise(cur, f, max, out, sizeof(out), &capped), FB_OK);
	assert_string_equal(out, want);
	assert_int_equal(capped, cap);
}

static void raise_scales_in_the_current_style(void **s)
{
	(void)s;
	expect_raise("512Mi", 2, "8Gi", "1024Mi", 0);
	expect_raise("1Gi", 1.5, "8Gi", "1536Mi", 0);
	expect_raise("500M", 2, "8Gi", "1000M", 0);
	expect_raise("536870912", 1.5, "8Gi", "805306368", 0);
	expect_raise("1e9", 2, "8Gi", "2e9", 0);
}

static void raise_is_capped_in_the_best_form(void **s)
{
	(void)s;
	expect_raise("6Gi", 2, "8Gi", "8Gi", 1);
	expect_raise("5120Mi", 2, "8Gi", "8192Mi", 1); /* whole in the file's unit */
	expect_raise("5000M", 2, "8Gi", "8Gi", 1);     /* not whole in M: the cap's own form */
	expect_raise("6Gi", 2, " 10G ", "10G", 1);
	expect_raise("4Gi", 2, "8Gi", "8Gi", 1); /* exactly at the cap counts as capped */
}

static void raise_refuses_when_nothing_to_raise(void **s)
{
	char out[32];
	int capped = -1;
	(void)s;
	assert_int_equal(fb_quantity_raise("8Gi", 2, "8Gi", out, sizeof(out), &capped),
	                 FB_ECONFLICT);
	assert_int_equal(capped, 0);
	assert_int_equal(fb_quantity_raise("16Gi", 2, "8Gi", out, sizeof(out), NULL), FB_ECONFLICT);
	assert_non_null(strstr(fb_error_last(), "already"));
	assert_int_equal(fb_quantity_raise("1Gi", 1.0, "8Gi", out, sizeof(out), NULL), FB_EINVAL);
	assert_int_equal(fb_quantity_raise("0", 2, "8Gi", out, sizeof(out), NULL), FB_EINVAL);
	assert_int_equal(fb_quantity_raise("lots", 2, "8Gi", out, sizeof(out), NULL), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "current value"));
	assert_int_equal(fb_quantity_raise("1Gi", 2, "8 GB", out, sizeof(out), NULL), FB_EINVAL);
	assert_non_null(strstr(fb_error_last(), "maximum"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_binary_decimal_and_plain),
	    cmocka_unit_test(parses_exponent_form),
	    cmocka_unit_test(surrounding_blanks_are_ignored),
	    cmocka_unit_test(junk_is_rejected_with_a_message),
	    cmocka_unit_test(formats_in_the_same_unit_when_whole),
	    cmocka_unit_test(formats_in_a_smaller_unit_of_the_same_family),
	    cmocka_unit_test(float_noise_does_not_round_up),
	    cmocka_unit_test(format_rejects_bad_values_and_small_buffers),
	    cmocka_unit_test(raise_scales_in_the_current_style),
	    cmocka_unit_test(raise_is_capped_in_the_best_form),
	    cmocka_unit_test(raise_refuses_when_nothing_to_raise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
