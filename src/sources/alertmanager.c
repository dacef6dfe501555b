/*
 * alertmanager.c - owns the Alertmanager source (fb_source_alertmanager, a
 * webhook): what a notification (webhook payload version 4) says, turned
 * into signals.  A firing alert is a signal with the alert's own
 * fingerprint ("am:" + Alertmanager's), so the engine's one repeat rule
 * folds a notification repeated while its incident is open; a resolved
 * alert is a resolved signal for that fingerprint.  An alert labelled
 * severity=none (kube-prometheus-stack's Watchdog and InfoInhibitor: a dead
 * man's switch and an inhibitor, never something to act on) is no signal.
 * The excerpt is the alert itself: a first line naming it, then one line
 * per annotation and per label (values on one line), which the rules'
 * alerts: section classifies by name (src/triage/alerts.c).  Runs on the engine
 * thread (serve.c hands it the body the io thread received); no store, no
 * Slack.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/json.h"
#include "source_int.h"

#define TEXT_MAX (64u * 1024u)
#define ALERTS_MAX 10000 /* per notification: one transaction's worth */

/* "name<sep>value\n" with the value's line breaks and tabs as spaces, so
 * that a multi-line description cannot pose as a label line. */
static void text_line(fb_buf *b, const char *name, const char *sep, const char *value)
{
	fb_buf_printf(b, "%s%s", name, sep);
	for (const char *p = value; *p; p++)
		fb_buf_addc(b, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
	fb_buf_addc(b, '\n');
}

/* The excerpt the rules classify: what the alert says about itself. */
static void alert_text(const cJSON *a, fb_buf *b)
{
	const cJSON *labels = fb_json_get(a, "labels"), *ann = fb_json_get(a, "annotations"), *it;
	text_line(b, "Alertmanager alert", " ", fb_json_str(labels, "alertname"));
	cJSON_ArrayForEach(it, ann)
	{
		if (cJSON_IsString(it) && it->string)
			text_line(b, it->string, ": ", it->valuestring);
	}
	cJSON_ArrayForEach(it, labels)
	{
		if (cJSON_IsString(it) && it->string)
			text_line(b, it->string, "=", it->valuestring);
	}
}

/*
 * The app the labels name.  An alert about an object (a pod, a claim, an
 * HPA, a Job) or a node carries the scrape target's job and service too
 * (kube-state-metrics, kubelet, node-exporter): those name the exporter,
 * not the app, so the rules pick the app from the object labels instead.
 */
static const char *alert_app(const cJSON *labels)
{
	static const char *objects[] = {"pod",
	                                "container",
	                                "persistentvolumeclaim",
	                                "horizontalpodautoscaler",
	                                "job_name",
	                                "persistentvolume",
	                                "mountpoint",
	                                "node"};
	static const char *own[] = {"app", "app_kubernetes_io_name", "deployment", "statefulset"};
	const char *app = fb_source_app_from_labels(labels);

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (*fb_json_str(labels, own[i]))
			return fb_json_str(labels, own[i]);
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (*fb_json_str(labels, objects[i]))
			return "";
	return app;
}

/* One alert to one signal; alerts without a fingerprint are skipped
 * (0.25 and later always send one; without it a repeat cannot be told). */
static fb_err add_alert(fb_source_batch *b, const cJSON *a)
{
	const char *fp = fb_json_str(a, "fingerprint");
	fb_source_signal s = {.status = FB_SIGNAL_FIRING};
	fb_buf text;
	fb_err rc;

	if (!cJSON_IsObject(a) || !*fp ||
	    !strcmp(fb_json_str(fb_json_get(a, "labels"), "severity"), "none"))
		return FB_OK;
	snprintf(s.fingerprint, sizeof(s.fingerprint), "am:%.60s", fp);
	snprintf(s.triggered_by, sizeof(s.triggered_by), "alertmanager");
	snprintf(s.app, sizeof(s.app), "%s", alert_app(fb_json_get(a, "labels")));
	if (!strcmp(fb_json_str(a, "status"), "resolved")) {
		static const char line[] = "Alertmanager: the alert resolved";
		s.status = FB_SIGNAL_RESOLVED;
		snprintf(s.ends_at, sizeof(s.ends_at), "%s", fb_json_str(a, "endsAt"));
		return fb_source_batch_add(b, &s, line, sizeof(line) - 1, NULL);
	}
	fb_buf_init(&text, TEXT_MAX);
	alert_text(a, &text);
	rc = fb_source_batch_add(b, &s, fb_buf_str(&text) ? fb_buf_str(&text) : "", text.len, NULL);
	fb_buf_free(&text);
	return rc;
}

static fb_err check_payload(const cJSON *j)
{
	const cJSON *v = fb_json_get(j, "version");

	if (!j)
		return fb_error_set(FB_EINVAL, "not an Alertmanager webhook payload: the body is "
		                               "not JSON");
	if (!cJSON_IsObject(j))
		return fb_error_set(FB_EINVAL, "not an Alertmanager webhook payload: the body is "
		                               "not a JSON object");
	if (v && !(cJSON_IsString(v) && !strcmp(v->valuestring, "4")))
		return fb_error_set(FB_EINVAL,
		                    "Alertmanager webhook payload version %.16s is not supported "
		                    "(version 4 is)",
		                    cJSON_IsString(v) ? v->valuestring : "(not a string)");
	if (!cJSON_IsArray(fb_json_get(j, "alerts")))
		return fb_error_set(FB_EINVAL, "not an Alertmanager webhook payload: \"alerts\" "
		                               "(an array) is missing");
	return FB_OK;
}

static fb_err am_parse(const fb_config *cfg, const char *body, size_t len, fb_source_batch **out)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	const cJSON *a;
	fb_err rc;

	(void)cfg;
	*out = NULL;
	if (!(rc = check_payload(j)) && cJSON_GetArraySize(fb_json_get(j, "alerts")) > ALERTS_MAX)
		rc = fb_error_set(FB_ETOOBIG,
		                  "a notification of %d alerts is more than %d; set max_alerts "
		                  "(at most %d) in Alertmanager's webhook_config",
		                  cJSON_GetArraySize(fb_json_get(j, "alerts")), ALERTS_MAX,
		                  ALERTS_MAX);
	if (rc || (rc = fb_source_batch_new("alertmanager", out))) {
		cJSON_Delete(j);
		return rc;
	}
	/* every alert, however many: the hook acknowledges only what it
	 * stored, and the body's bound (http.c, 413) bounds their number */
	cJSON_ArrayForEach(a, fb_json_get(j, "alerts"))
	{
		if ((rc = add_alert(*out, a)))
			break;
	}
	cJSON_Delete(j);
	if (rc) {
		fb_source_batch_free(*out);
		*out = NULL;
	}
	return rc;
}

static int am_enabled(const fb_config *cfg)
{
	return cfg->alertmanager.token[0] && cfg->http.listen[0];
}

const fb_source_ops fb_source_alertmanager = {
    .version = FB_SOURCE_OPS_VERSION,
    .name = "alertmanager",
    .enabled = am_enabled,
    .parse = am_parse,
};
