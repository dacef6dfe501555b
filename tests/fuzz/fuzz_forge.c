/*
 * fuzz_forge.c - the forges' answers (forges/github.c, gitlab.c, gitea.c
 * and forge_http.c: JSON bodies, Link next pages, rate-limit headers): a
 * loopback server answers every request with the input after its first
 * byte (fz_http_answer); the first byte picks the forge and the call
 * (find_open, create, get, add_labels).  A URL the answer names goes to
 * the loopback server too (proxy variables), never the network.
 */
#include <stddef.h>
#include <stdint.h>

#include "firebreak/config.h"
#include "firebreak/forge.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fb_config cfg[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const kinds[] = {"github", "gitlab", "gitea"};
	(void)argc;
	(void)argv;
	fz_quiet();
	const char *url = fz_http_start();
	for (int i = 0; i < 3; i++) {
		fb_config_defaults(&cfg[i]);
		snprintf(cfg[i].gitops.forge.kind, sizeof(cfg[i].gitops.forge.kind), "%s", kinds[i]);
		snprintf(cfg[i].gitops.forge.api_url, sizeof(cfg[i].gitops.forge.api_url), "%s", url);
		snprintf(cfg[i].gitops.forge.repo, sizeof(cfg[i].gitops.forge.repo), "acme/gitops");
		snprintf(cfg[i].gitops.forge.token, sizeof(cfg[i].gitops.forge.token), "fuzz-token");
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const labels[] = {"firebreak", "incident"};
	fb_forge *f = NULL;
	fb_pr pr;
	int created = 0;

	if (size < 1)
		return 0;
	fz_http_answer(data + 1, size - 1);
	if (fb_forge_open(&cfg[data[0] % 3], &f) != FB_OK)
		abort();
	memset(&pr, 0, sizeof(pr));
	switch ((data[0] / 3) % 4) {
	case 0:
		f->ops->find_open(f, "firebreak/incident-20261121000000-abcd", "main", &pr);
		break;
	case 1: {
		fb_pr_request req = {.title = "Raise grafana's memory",
		                     .body = "The fix for incident-20261121000000-abcd.",
		                     .head = "firebreak/incident-20261121000000-abcd",
		                     .base = "main",
		                     .labels = labels,
		                     .n_labels = 2};
		f->ops->create(f, &req, &pr, &created);
		break;
	}
	case 2:
		f->ops->get(f, 42, &pr);
		break;
	default:
		if (f->ops->add_labels)
			f->ops->add_labels(f, 42, labels, 2);
		break;
	}
	FZ_ASSERT(memchr(pr.url, '\0', sizeof(pr.url)) && memchr(pr.head, '\0', sizeof(pr.head)) &&
	              memchr(pr.merge_commit, '\0', sizeof(pr.merge_commit)),
	          "a pull request field is not a C string");
	fb_forge_close(f);
	return 0;
}
