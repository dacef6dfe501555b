/*
 * fuzz_slash.c - slash-command text: the input is what a person typed
 * after /incidents (the first byte's low bit picks /feedback instead),
 * e.g. "trigger app=grafana <log>", "list all", "ack @ID@ note",
 * "snooze @ID@ 4h", "@ID@".  It goes through fb_dispatch_envelope() in a
 * slash_commands envelope; the reply must be JSON.
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
	if (size < 1)
		return 0;
	char *text = fz_str(data + 1, size - 1);
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "command", (data[0] & 1) ? "/feedback" : "/incidents");
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddStringToObject(p, "user_id", "U0FUZZ");
	cJSON_AddStringToObject(p, "user_name", "fuzz");
	cJSON_AddStringToObject(p, "channel_id", "C0FUZZ");
	cJSON_AddStringToObject(p, "trigger_id", "1337.42.fuzz");
	char *env = fz_slack_wrap("slash_commands", p);
	fz_slack_envelope(env, strlen(env));
	free(env);
	free(text);
	return 0;
}
