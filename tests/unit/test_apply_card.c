/* The card of an incident whose push the remote refused every time: the
 * apply node ends it failed with the reason in the state's error (and
 * nothing in apply), and the card must say why -- in both languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/card.h"
#include "firebreak/graph.h"
#include "firebreak/tmpl.h"

#define WHY                                                                                        \
	"the remote refused the push 3 times (last: http://127.0.0.1:1/r.git refused the push "    \
	"(refs/heads/main: pre-receive hook declined)); main was reset to the remote's "           \
	"1a2b3c4d5e6f"

static void refused_push_is_on_the_card(void **s)
{
	const char *locales[] = {"en", "ko"};
	fb_incident_row row;
	fb_state *st = NULL;
	(void)s;

	assert_int_equal(fb_state_new(&st), FB_OK);
	snprintf(st->id, sizeof(st->id), "incident-20261201000000-abcd");
	snprintf(st->result, sizeof(st->result), "failed");
	snprintf(st->error, sizeof(st->error), "%s", WHY);
	snprintf(st->repo, sizeof(st->repo), "/srv/gitops/");
	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "%s", st->id);
	snprintf(row.status, sizeof(row.status), "failed");
	snprintf(row.node, sizeof(row.node), "end");
	snprintf(row.category, sizeof(row.category), "oom");
	snprintf(row.severity, sizeof(row.severity), "critical");
	for (size_t i = 0; i < 2; i++) {
		fb_tmpl *t = NULL;
		cJSON *card = NULL;
		int cut = 0;
		assert_int_equal(fb_tmpl_load(locales[i], &t), FB_OK);
		assert_int_equal(fb_card_incident(t, &row, st, &card, &cut), FB_OK);
		char *json = cJSON_PrintUnformatted(card);
		assert_non_null(strstr(json, "pre-receive hook declined"));
		assert_non_null(strstr(json, "was reset to the remote"));
		free(json);
		cJSON_Delete(card);
		fb_tmpl_free(t);
	}
	/* the recorded repository round-trips through the stored state */
	char *text = NULL;
	fb_state *back = NULL;
	assert_int_equal(fb_state_to_json(st, &text), FB_OK);
	assert_int_equal(fb_state_parse(text, &back), FB_OK);
	assert_string_equal(back->repo, "/srv/gitops/");
	assert_string_equal(back->error, WHY);
	free(text);
	fb_state_free(back);
	fb_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(refused_push_is_on_the_card),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
