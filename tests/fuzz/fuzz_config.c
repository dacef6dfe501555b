/*
 * fuzz_config.c - the config loader (config.c) on any bytes as the YAML
 * file (written to a scratch file, as fb_config_load reads a path).  It
 * must not crash; a failure must say why (errors with file:line).
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/config.h"
#include "firebreak/error.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet();
	snprintf(path, sizeof(path), "%s/firebreak.yaml", fz_tmpdir());
	/* the file alone decides: no variable of the environment adds keys */
	static const char *const env[] = {
	    "FIREBREAK_DB",      "FIREBREAK_RULES",   "GITOPS_REPO",           "GITOPS_REMOTE",
	    "GITOPS_BRANCH",     "GITOPS_TOKEN",      "GITOPS_SSH_KEY",        "GITOPS_URL",
	    "SLACK_CHANNEL",     "SLACK_API_URL",     "SLACK_APP_TOKEN",       "SLACK_BOT_TOKEN",
	    "FIREBREAK_HTTP_LISTEN", "FIREBREAK_API_KEY", "ALERTMANAGER_TOKEN", "LOKI_URL",
	    "KUBERNETES_URL",    "ARGOCD_URL",        "ARGOCD_TOKEN",          "FIREBREAK_FORGE_TOKEN",
	    "LOKI_PASSWORD",     "LOKI_TOKEN",        "KUBERNETES_SERVICE_HOST"};
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		unsetenv(env[i]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fb_config *cfg = calloc(1, sizeof(*cfg));
	char *errors = NULL;
	FILE *f = fopen(path, "wb");

	if (!cfg || !f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();
	fb_err rc = fb_config_load(path, cfg, &errors);
	if (rc != FB_OK)
		FZ_ASSERT(errors && strstr(errors, "firebreak.yaml"),
		          "a refused config without a file:line error");
	free(errors);
	free(cfg);
	return 0;
}
