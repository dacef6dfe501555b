/*
 * fuzz_envelope.c - a Socket Mode frame as Slack sends it, any bytes:
 * what socket.c hands on (a JSON object with an envelope_id) goes to
 * fb_dispatch_envelope() on a fresh copy of a store with one waiting
 * incident ("@ID@" in the input names it).  An ack must be JSON.
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
	char *frame = fz_bytes(data, size);
	fz_slack_envelope(frame, size);
	free(frame);
	return 0;
}
