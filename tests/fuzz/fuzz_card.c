/*
 * fuzz_card.c - the card renderer on a hostile state (state.c parse,
 * card.c render): the input's first byte picks the row's status and
 * node, the locale and the severity; the rest is the incident's state
 * JSON.  What fb_card_incident, fb_card_diff_parts and fb_card_modal_edit
 * build must be a JSON object within Block Kit's limits (blockkit.h), and
 * fb_state_to_json of a parsed state must parse again.
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/card.h"
#include "firebreak/state.h"
#include "firebreak/tmpl.h"
#include "blockkit.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fb_tmpl *en, *ko;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	if (fb_tmpl_load("en", &en) || fb_tmpl_load("ko", &ko))
		abort();
	return 0;
}

static void check(cJSON *msg, int max_blocks, const char *what)
{
	if (!msg)
		return;
	char *s = cJSON_PrintUnformatted(msg);
	cJSON *back = s ? cJSON_Parse(s) : NULL;
	FZ_ASSERT(back, "%s: not JSON once printed", what);
	FZ_ASSERT(bk_valid(back, max_blocks), "%s: %s\n%s", what, bk_why, s);
	cJSON_Delete(back);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rows[][2] = {{"waiting", "await_decision"}, {"running", "verify"},
	                                      {"done", "end"},               {"failed", "end"},
	                                      {"running", "apply"},          {"waiting", "await_merge"},
	                                      {"running", "classify"},       {"done", "report"}};
	static const char *const sev[] = {"critical", "warning", "info", ""};
	if (size < 1)
		return 0;
	char *json = fz_str(data + 1, size - 1), *again = NULL;
	const fb_tmpl *t = (data[0] & 0x80) ? ko : en;
	fb_state *st = NULL;
	fb_incident_row row;
	cJSON *out = NULL;
	int cut = 0;

	if (fb_state_parse(json, &st) != FB_OK) {
		free(json);
		return 0;
	}
	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "incident-20261121000000-abcd");
	snprintf(row.status, sizeof(row.status), "%s", rows[data[0] & 7][0]);
	snprintf(row.node, sizeof(row.node), "%s", rows[data[0] & 7][1]);
	snprintf(row.category, sizeof(row.category), "%s", st->classification.category);
	snprintf(row.severity, sizeof(row.severity), "%s", sev[(data[0] >> 3) & 3]);
	snprintf(row.app, sizeof(row.app), "grafana");
	row.version = (data[0] >> 5) & 3;
	snprintf(row.card_channel, sizeof(row.card_channel), "C0FUZZ");

	if (fb_card_incident(t, &row, st, &out, &cut) == FB_OK)
		check(out, 50, "the card");
	cJSON_Delete(out);
	out = NULL;
	if (fb_card_diff_parts(t, st, &out) == FB_OK) {
		const cJSON *p;
		cJSON_ArrayForEach(p, out) check((cJSON *)p, 50, "a diff part");
	}
	cJSON_Delete(out);
	out = NULL;
	if (fb_card_modal_edit(t, st, "incident-20261121000000-abcd|1|C0FUZZ", &out) == FB_OK)
		check(out, 100, "the edit modal");
	cJSON_Delete(out);
	if (fb_state_to_json(st, &again) == FB_OK) {
		fb_state *st2 = NULL;
		FZ_ASSERT(fb_state_parse(again, &st2) == FB_OK, "the state's JSON does not parse");
		fb_state_free(st2);
	}
	free(again);
	fb_state_free(st);
	free(json);
	return 0;
}
