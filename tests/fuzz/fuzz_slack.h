/*
 * fuzz_slack.h - the Slack dispatcher for the harnesses that feed it
 * envelopes (fuzz_envelope, fuzz_slash, fuzz_interactive): the default
 * config, the embedded rules and templates, and a store that starts every
 * input from the same file, which holds one incident waiting for a
 * decision (its id replaces "@ID@" in an input), so that a crash replays.
 */
#ifndef FUZZ_SLACK_H
#define FUZZ_SLACK_H

#include <cjson/cJSON.h>

#include "firebreak/config.h"
#include "firebreak/dispatch.h"
#include "firebreak/graph.h"
#include "firebreak/rules.h"
#include "firebreak/store.h"
#include "firebreak/tmpl.h"
#include "fuzz_util.h"

static struct {
	fb_config cfg;
	fb_rules *rules;
	fb_tmpl *tmpl;
	fb_graph_env env;
	fb_dispatch d;
	char id[64];         /* the incident waiting for a decision */
	char db[512];        /* the store an input runs on */
	char *pristine;      /* the store's file before any input */
	size_t pristine_len;
	long serial;         /* envelope ids made by the harnesses */
} fz_slack;

static inline void fz_slack_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f))
		abort();
}

static inline void fz_slack_init(void)
{
	static const char oom[] =
	    "2026-11-21T03:12:09Z grafana-7d9f8b6c4-x2x9q grafana "
	    "java.lang.OutOfMemoryError: Java heap space\n"
	    "Last State: Terminated Reason: OOMKilled Exit Code: 137\n";
	fb_store *st = NULL;
	char tpl[512];

	fz_quiet();
	fb_config_defaults(&fz_slack.cfg);
	snprintf(fz_slack.cfg.slack.channel, sizeof(fz_slack.cfg.slack.channel), "C0FUZZ");
	char *errors = NULL;
	if (fb_rules_load(NULL, &fz_slack.rules, &errors) || fb_tmpl_load("en", &fz_slack.tmpl))
		abort();
	snprintf(tpl, sizeof(tpl), "%s/pristine.db", fz_tmpdir());
	snprintf(fz_slack.db, sizeof(fz_slack.db), "%s/input.db", fz_tmpdir());
	if (fb_store_open(tpl, 0, &st))
		abort();
	fz_slack.env.cfg = &fz_slack.cfg;
	fz_slack.env.rules = fz_slack.rules;
	fz_slack.env.store = st;
	fz_slack.env.on_step = fb_dispatch_on_step;
	fz_slack.env.hook_ctx = &fz_slack.d;
	fz_slack.d.env = &fz_slack.env;
	fz_slack.d.tmpl = fz_slack.tmpl;
	fb_signal sig = {.source = "slack",
	                 .text = oom,
	                 .len = sizeof(oom) - 1,
	                 .app = "grafana",
	                 .triggered_by = "U0FUZZ",
	                 .channel = "C0FUZZ"};
	if (fb_graph_create(&fz_slack.env, &sig, fz_slack.id))
		abort();
	fb_graph_run(&fz_slack.env, fz_slack.id); /* to await_decision, as far as it goes */
	fb_store_free(st);
	fz_slack.env.store = NULL;

	FILE *f = fopen(tpl, "rb");
	if (!f || fseek(f, 0, SEEK_END))
		abort();
	fz_slack.pristine_len = (size_t)ftell(f);
	rewind(f);
	fz_slack.pristine = malloc(fz_slack.pristine_len + 1);
	if (!fz_slack.pristine ||
	    fread(fz_slack.pristine, 1, fz_slack.pristine_len, f) != fz_slack.pristine_len)
		abort();
	fclose(f);
}

/* text with every "@ID@" replaced by the waiting incident's id (malloc'd). */
static inline char *fz_slack_subst(const char *text, size_t len, size_t *outlen)
{
	size_t idlen = strlen(fz_slack.id), o = 0;
	char *out = malloc(len * (idlen > 4 ? idlen : 4) / 4 + 1);
	if (!out)
		abort();
	for (size_t i = 0; i < len;) {
		if (i + 4 <= len && !memcmp(text + i, "@ID@", 4)) {
			memcpy(out + o, fz_slack.id, idlen);
			o += idlen;
			i += 4;
		} else {
			out[o++] = text[i++];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * One envelope on a fresh copy of the store.  An ack, when there is one,
 * must be JSON that names the envelope.
 */
static inline void fz_slack_envelope(const char *json, size_t len)
{
	char path[600], *ack = NULL;
	fb_store *st = NULL;
	size_t n;
	char *text = fz_slack_subst(json, len, &n);

	fz_slack_file(fz_slack.db, fz_slack.pristine, fz_slack.pristine_len);
	snprintf(path, sizeof(path), "%s-wal", fz_slack.db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", fz_slack.db);
	unlink(path);
	if (fb_store_open(fz_slack.db, 0, &st))
		abort();
	fz_slack.env.store = st;
	fb_err rc = fb_dispatch_envelope(&fz_slack.d, text, n, &ack);
	if (rc == FB_OK) {
		cJSON *j = cJSON_Parse(ack);
		FZ_ASSERT(cJSON_IsObject(j), "the ack is not a JSON object: %s", ack ? ack : "(null)");
		FZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "envelope_id")),
		          "the ack has no envelope_id: %s", ack);
		cJSON_Delete(j);
	}
	free(ack);
	fb_store_free(st);
	fz_slack.env.store = NULL;
	free(text);
}

/* {"envelope_id":"fz-N","type":type,"payload":payload} as text (malloc'd). */
static inline char *fz_slack_wrap(const char *type, cJSON *payload)
{
	char eid[32];
	cJSON *env = cJSON_CreateObject();
	snprintf(eid, sizeof(eid), "fz-%ld", ++fz_slack.serial);
	cJSON_AddStringToObject(env, "envelope_id", eid);
	cJSON_AddStringToObject(env, "type", type);
	cJSON_AddItemToObject(env, "payload", payload);
	char *s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	return s;
}

#endif
