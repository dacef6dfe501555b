/* Unit tests for salvage.c: the stand-in for an unreadable envelope finds
 * the envelope's own members, in its head or its tail, and never a key
 * spelled inside a string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "../../src/slack/salvage_int.h"

static cJSON *stand_in(const char *head, const char *tail, const char *why)
{
	char *json = fb_salvage_envelope(head, strlen(head), tail, tail ? strlen(tail) : 0, why);
	cJSON *o = json ? cJSON_Parse(json) : NULL;
	free(json);
	return o;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void finds_the_envelope_in_head_or_tail(void **s)
{
	(void)s;
	/* Slack's order: envelope_id, payload, then type (in the tail) */
	cJSON *o = stand_in(
	    "{\"envelope_id\":\"e-1\",\"payload\":{\"user_id\":\"U1\","
	    "\"channel_id\":\"C1\",\"command\":\"/incidents\",\"text\":\"trig",
	    "xxxx\"},\"type\":\"slash_commands\",\"accepts_response_payload\":true}", "too_long");
	assert_non_null(o);
	assert_string_equal(str(o, "envelope_id"), "e-1");
	assert_string_equal(str(o, "type"), "slash_commands");
	assert_string_equal(str(o, FB_SALVAGE_KEY), "too_long");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(o, "payload"), "user_id"), "U1");
	cJSON_Delete(o);
	/* with spaces, as Python writes it */
	o = stand_in("{\"envelope_id\": \"e-2\", \"type\": \"interactive\", \"payload\": {}}", NULL,
	             "bad_text");
	assert_string_equal(str(o, "envelope_id"), "e-2");
	assert_string_equal(str(o, "type"), "interactive");
	cJSON_Delete(o);
}

static void a_key_inside_a_string_is_not_the_envelope(void **s)
{
	(void)s;
	/* the text says \"envelope_id\":\"forged\" (escaped quotes): not a key */
	cJSON *o = stand_in("{\"payload\":{\"text\":\"\\\"envelope_id\\\":\\\"forged\\\"\"},"
	                    "\"envelope_id\":\"real\"}",
	                    NULL, "bad_text");
	assert_string_equal(str(o, "envelope_id"), "real");
	assert_string_equal(str(o, "type"), "unknown");
	cJSON_Delete(o);
	assert_null(fb_salvage_envelope("{\"payload\":{}}", 14, NULL, 0, "bad_text"));
	assert_null(fb_salvage_envelope("", 0, NULL, 0, "too_long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finds_the_envelope_in_head_or_tail),
	    cmocka_unit_test(a_key_inside_a_string_is_not_the_envelope),
	};
	return cmocka_run_group_tests_name("salvage", tests, NULL, NULL);
}
