/* Exactly-once posts (src/slack/adopt.c): the metadata a post carries, the
 * thread keys, and the set of cards that may exist.  The history reads
 * themselves run against the simulator (tests/integration/once.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/slack/adopt_int.h" /* private to src/slack */

static void tag_names_the_post(void **unused)
{
	(void)unused;
	cJSON *args = cJSON_Parse("{\"channel\":\"C1\",\"text\":\"x\",\"metadata\":{\"old\":1}}");
	fb_adopt_tag(args, "incident-20261201000000-abcd", FB_ADOPT_CARD_KEY);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(args, "metadata");
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(md, "event_payload");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(md, "event_type")->valuestring,
	                    "firebreak_incident");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(pl, "incident_id")->valuestring,
	                    "incident-20261201000000-abcd");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(pl, "post_key")->valuestring, "card");
	assert_null(cJSON_GetObjectItemCaseSensitive(md, "old")); /* replaced, not merged */
	int n = 0;
	for (const cJSON *k = args->child; k; k = k->next)
		n += !strcmp(k->string, "metadata");
	assert_int_equal(n, 1);
	cJSON_Delete(args);
}

static void thread_keys_differ(void **unused)
{
	(void)unused;
	char a[48], b[48];
	fb_adopt_thread_key(41, a, sizeof(a));
	fb_adopt_thread_key(42, b, sizeof(b));
	assert_string_equal(a, "thread-41");
	assert_string_not_equal(a, b);
}

static void unsure_cards_keep_the_earliest(void **unused)
{
	(void)unused;
	fb_adopt *a = NULL;
	int64_t since = 0;
	assert_int_equal(fb_adopt_new(&a), FB_OK);
	assert_false(fb_adopt_card_is_unsure(a, "i1", &since));
	fb_adopt_card_unsure(a, "i1", 5000);
	fb_adopt_card_unsure(a, "i1", 3000);
	fb_adopt_card_unsure(a, "i1", 9000);
	fb_adopt_card_unsure(a, "i2", 7000);
	assert_true(fb_adopt_card_is_unsure(a, "i1", &since));
	assert_int_equal(since, 3000);
	fb_adopt_card_settle(a, "i1");
	assert_false(fb_adopt_card_is_unsure(a, "i1", NULL));
	assert_true(fb_adopt_card_is_unsure(a, "i2", &since));
	assert_int_equal(since, 7000);
	fb_adopt_forget(a, "C1", ""); /* nothing read yet: harmless */
	fb_adopt_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tag_names_the_post),
	    cmocka_unit_test(thread_keys_differ),
	    cmocka_unit_test(unsure_cards_keep_the_earliest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
