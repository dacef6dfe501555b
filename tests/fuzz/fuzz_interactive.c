/*
 * fuzz_interactive.c - block_actions and view_submission payloads: the
 * input is the payload's JSON text ("@ID@" names the waiting incident),
 * put as it is into an "interactive" envelope for fb_dispatch_envelope():
 * clicks (approve, reject, edit, life_*) and modal submissions (edit with
 * set: fields, reject reasons, trigger, life_* forms).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_slack.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_slack_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "{\"envelope_id\":\"fz-i\",\"type\":\"interactive\",\"payload\":";
	char *env = malloc(sizeof(head) + size + 2);
	if (!env)
		abort();
	memcpy(env, head, sizeof(head) - 1);
	if (size)
		memcpy(env + sizeof(head) - 1, data, size);
	env[sizeof(head) - 1 + size] = '}';
	fz_slack_envelope(env, sizeof(head) + size);
	free(env);
	return 0;
}
