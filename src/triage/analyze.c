/*
 * analyze.c - owns the deterministic root-cause analysis: a sentence per
 * category assembled from the facts that were actually found (container,
 * limit, exit code, restart count, image, missing key, refusing host), and
 * the suggested actions in the order an SRE would try them.  Pure
 * function of its input; runs on any thread.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/analyze.h"
#include "firebreak/buf.h"

static const char *fact(const fb_classification *cls, const char *name)
{
	return fb_classification_fact(cls, name);
}

/* A resource_exhausted excerpt about disk space (a bigger volume, not a
 * manual look). */
static int is_disk(const fb_classification *cls)
{
	static const char *words[] = {"space", "ENOSPC", "disk",      "Disk", "ephemeral-storage",
	                              "inode", "volume", "filesystem"};
	const char *ev = cls->evidence;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(ev, words[i]))
			return 1;
	return 0;
}

/* "container api of app checkout" / "app checkout" / "the workload" */
static void subject(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *container = fact(cls, "container");
	const char *ns = cls->ns;

	if (container && app && *app && strcmp(container, app) != 0)
		fb_buf_printf(b, "Container %s of %s", container, app);
	else if (app && *app)
		fb_buf_printf(b, "%s", app);
	else if (container)
		fb_buf_printf(b, "Container %s", container);
	else
		fb_buf_addstr(b, "The workload");
	if (*ns)
		fb_buf_printf(b, " (namespace %s)", ns);
}

static void restarts(fb_buf *b, const fb_classification *cls)
{
	const char *rc = fact(cls, "restart_count");
	if (rc && strcmp(rc, "0") != 0)
		fb_buf_printf(b, " It has restarted %s times.", rc);
}

/* " The alert says: <description>." when the alert has one. */
static void alert_says(fb_buf *b, const fb_classification *cls)
{
	const char *d = fact(cls, "description");
	if (!d)
		d = fact(cls, "message");
	if (d)
		fb_buf_printf(b, " The alert says: %s", d);
}

static void cause_oom(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *limit = fact(cls, "limit"), *code = fact(cls, "exit_code");

	subject(b, cls, app);
	fb_buf_addstr(b, " ran out of memory");
	if (limit)
		fb_buf_printf(b, " at its limit of %s", limit);
	if (code && !strcmp(code, "137"))
		fb_buf_addstr(b, " and was killed by the OOM killer (exit code 137, SIGKILL)");
	else if (code)
		fb_buf_printf(b, " (exit code %s)", code);
	fb_buf_addstr(b, ".");
	restarts(b, cls);
	fb_buf_addstr(b, " The memory limit is too low for its working set, or it leaks.");
}

static void cause_crashloop(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *code = fact(cls, "exit_code"), *img = fact(cls, "image");
	subject(b, cls, app);
	fb_buf_addstr(b, " keeps crashing and Kubernetes is backing off its restarts");
	if (code)
		fb_buf_printf(b, " (last exit code %s)", code);
	fb_buf_addstr(b, ".");
	restarts(b, cls);
	if (img)
		fb_buf_printf(b, " Image: %s.", img);
	if (!strncmp(cls->rule, "alert:", 6))
		fb_buf_addstr(b,
		              " The alert does not tell why: the previous container's log and its "
		              "last terminated reason (OOMKilled, Error) do.");
	else
		fb_buf_addstr(b, " The log does not show an out-of-memory, image or configuration "
		                 "cause; the application itself exits.");
}

static void cause_image(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *img = fact(cls, "image");
	fb_buf_addstr(b, "Kubernetes cannot pull the image");
	if (img)
		fb_buf_printf(b, " %s", img);
	fb_buf_addstr(b, " for ");
	subject(b, cls, app);
	fb_buf_addstr(b, ": the tag does not exist, the registry refused the credentials, or a "
	                 "pull rate limit was hit.");
}

static void cause_config(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *key = fact(cls, "key");
	subject(b, cls, app);
	fb_buf_addstr(b, " cannot start because its configuration is missing or invalid");
	if (key)
		fb_buf_printf(b, ": %s is not available", key);
	fb_buf_addstr(b,
	              ". A recent change to its values, Secret or ConfigMap is the usual cause.");
}

static void cause_resource(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *path = fact(cls, "path");
	subject(b, cls, app);
	if (is_disk(cls)) {
		fb_buf_addstr(b, " ran out of disk space");
		if (path)
			fb_buf_printf(b, " writing %s", path);
		fb_buf_addstr(b, "; its volume is full.");
	} else {
		fb_buf_addstr(b, " exhausted a bounded resource (file handles, a connection or "
		                 "thread pool, a quota or schedulable capacity).");
	}
}

static void cause_network(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *host = fact(cls, "host");
	subject(b, cls, app);
	fb_buf_addstr(b, " cannot reach a dependency");
	if (host)
		fb_buf_printf(b, " (%s)", host);
	fb_buf_addstr(b, ": the peer refused, reset or timed out the connection, or its name did "
	                 "not resolve. The fault is most likely on the other side or in between.");
}

static void cause_task(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *code = fact(cls, "exit_code");
	fb_buf_addstr(b, "A job's own code failed");
	if (app && *app)
		fb_buf_printf(b, " in %s", app);
	if (code)
		fb_buf_printf(b, " (return code %s)", code);
	fb_buf_addstr(b, "; the platform ran it as asked.");
	alert_says(b, cls);
}

static void cause_other(fb_buf *b, const fb_classification *cls, const char *app, const char *cat)
{
	if (!strcmp(cat, "none") && !strncmp(cls->rule, "alert:", 6)) {
		fb_buf_printf(b,
		              "No incident: %s is not an alert to act on (a dead man's switch or "
		              "an inhibitor).",
		              cls->rule + 6);
		return;
	}
	if (!strcmp(cat, "none")) {
		fb_buf_addstr(b, "No incident: the excerpt shows no failure that needs action.");
		return;
	}
	subject(b, cls, app);
	fb_buf_addstr(b, " logged an error that no rule explains; it needs a person to look.");
}

/* ---- the categories of alerts (rules.yaml alerts:) ---- */

static void cause_volume(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *pvc = fact(cls, "persistentvolumeclaim");
	if (pvc)
		fb_buf_printf(b, "Volume %s of ", pvc);
	else
		fb_buf_addstr(b, "A volume of ");
	subject(b, cls, app);
	fb_buf_addstr(b, " is filling up; when it is full, writes fail and the app stops or "
	                 "corrupts data.");
	alert_says(b, cls);
}

static void cause_volume_error(fb_buf *b, const fb_classification *cls)
{
	const char *pv = fact(cls, "persistentvolume"), *phase = fact(cls, "phase");
	fb_buf_printf(b,
	              "Persistent volume %s is in phase %s: its provisioner or StorageClass "
	              "failed, so the pods that claim it cannot start.",
	              pv ? pv : "(unnamed)", phase ? phase : "Failed");
}

static void cause_not_ready(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *reason = fact(cls, "reason");
	subject(b, cls, app);
	fb_buf_addstr(b, " has pods that have not become ready");
	if (reason)
		fb_buf_printf(b, " (waiting: %s)", reason);
	fb_buf_addstr(b, ": they are pending, cannot be scheduled, fail their readiness probe or "
	                 "cannot start their containers.");
	alert_says(b, cls);
}

static void cause_replicas(fb_buf *b, const fb_classification *cls, const char *app)
{
	subject(b, cls, app);
	fb_buf_addstr(b, " runs fewer ready replicas than it asks for and the rollout is not "
	                 "progressing: new pods are pending, crashing or cannot be scheduled.");
	alert_says(b, cls);
}

static void cause_cpu(fb_buf *b, const fb_classification *cls, const char *app)
{
	subject(b, cls, app);
	fb_buf_addstr(b, " is CPU-throttled: its CPU limit is below what it uses, so it slows "
	                 "down (latency, failed probes) instead of failing.");
	alert_says(b, cls);
}

static void cause_hpa(fb_buf *b, const fb_classification *cls, const char *app)
{
	const char *hpa = fact(cls, "horizontalpodautoscaler");
	fb_buf_printf(b, "The autoscaler %s of ", hpa ? hpa : "(unnamed)");
	subject(b, cls, app);
	fb_buf_addstr(b, " has run at its maximum replicas: the load needs more pods than "
	                 "maxReplicas allows, so latency and errors may follow.");
	alert_says(b, cls);
}

static void cause_node_disk(fb_buf *b, const fb_classification *cls)
{
	const char *mnt = fact(cls, "mountpoint"), *node = fact(cls, "node");
	fb_buf_printf(b,
	              "The filesystem %s on node %s is filling up; when it is full the "
	              "kubelet evicts pods (DiskPressure) and images cannot be pulled.",
	              mnt ? mnt : "(unknown)", node ? node : "(unknown)");
	alert_says(b, cls);
}

static void cause_target_down(fb_buf *b, const fb_classification *cls)
{
	const char *job = fact(cls, "job"), *svc = fact(cls, "service");
	fb_buf_printf(b, "Prometheus cannot scrape the targets of job %s", job ? job : "(unknown)");
	if (svc)
		fb_buf_printf(b, " (service %s)", svc);
	if (*cls->ns)
		fb_buf_printf(b, " in namespace %s", cls->ns);
	fb_buf_addstr(b, ": the exporter or its service is down, and the alerts fed by it are "
	                 "blind meanwhile.");
	alert_says(b, cls);
}

static void cause_capacity(fb_buf *b, const fb_classification *cls)
{
	const char *node = fact(cls, "node");
	if (node)
		fb_buf_printf(b, "Node %s", node);
	else
		fb_buf_addstr(b, "The cluster");
	fb_buf_addstr(b, " is short of capacity: what the pods request or use is more than the "
	                 "nodes can hold. This is a capacity problem, not one workload's.");
	alert_says(b, cls);
}

/* The root cause of an alert category; 0 when cat is not one. */
static int cause_alert(fb_buf *b, const fb_classification *cls, const char *app, const char *cat)
{
	if (!strcmp(cat, "volume_filling"))
		cause_volume(b, cls, app);
	else if (!strcmp(cat, "volume_error"))
		cause_volume_error(b, cls);
	else if (!strcmp(cat, "pod_not_ready"))
		cause_not_ready(b, cls, app);
	else if (!strcmp(cat, "replicas_mismatch"))
		cause_replicas(b, cls, app);
	else if (!strcmp(cat, "cpu_throttling"))
		cause_cpu(b, cls, app);
	else if (!strcmp(cat, "hpa_maxed"))
		cause_hpa(b, cls, app);
	else if (!strcmp(cat, "node_disk"))
		cause_node_disk(b, cls);
	else if (!strcmp(cat, "target_down"))
		cause_target_down(b, cls);
	else if (!strcmp(cat, "capacity"))
		cause_capacity(b, cls);
	else
		return 0;
	return 1;
}

static void add(cJSON *arr, const char *s)
{
	cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

/* The ranked actions for an alert category; 0 when cat is not one. */
static int actions_alert(cJSON *a, const char *cat)
{
	if (!strcmp(cat, "volume_filling")) {
		add(a, "Grow the volume (persistence.size or the chart's own size key; proposed "
		       "below when the values set it). The StorageClass must allow expansion.");
		add(a, "Find what writes: retention, logs, WAL or temporary files on the volume.");
		add(a, "Free space now if it is nearly full: delete old data or compact.");
	} else if (!strcmp(cat, "volume_error")) {
		add(a, "Read the volume's events: kubectl describe pv NAME.");
		add(a, "Check the StorageClass and its provisioner (CSI driver pods and logs).");
	} else if (!strcmp(cat, "pod_not_ready")) {
		add(a, "Read the pod's events: kubectl describe pod (FailedScheduling, image pull, "
		       "probe failures).");
		add(a, "Check the readiness probe against the app's real start-up time.");
		add(a, "Check that the Secrets, ConfigMaps and volumes it mounts exist.");
	} else if (!strcmp(cat, "replicas_mismatch")) {
		add(a, "List the workload's pods and read the events of those not ready.");
		add(a, "If it began with a rollout, roll back: kubectl rollout undo.");
		add(a, "Check quotas and node capacity (Insufficient cpu/memory, PVC binding).");
	} else if (!strcmp(cat, "cpu_throttling")) {
		add(a, "Raise the container's CPU limit in its values (resources.limits.cpu), or "
		       "remove it and keep the request.");
		add(a,
		    "Compare CPU use to the limit over a day (container_cpu_usage_seconds_total) "
		    "before changing it.");
		add(a, "Spread the load: more replicas instead of a bigger limit.");
	} else if (!strcmp(cat, "hpa_maxed")) {
		add(a, "Raise maxReplicas (autoscaling.maxReplicas; proposed below when the values "
		       "set it).");
		add(a,
		    "Check whether the load is real (traffic, a retry storm, a slow dependency).");
		add(a, "Check that the nodes can hold more replicas (cluster autoscaler limits).");
	} else if (!strcmp(cat, "node_disk")) {
		add(a, "Find what fills the node: container logs, images (crictl rmi --prune), "
		       "emptyDir volumes.");
		add(a, "Cordon and drain the node if it is nearly full.");
		add(a, "Check the kubelet's image garbage collection thresholds.");
	} else if (!strcmp(cat, "target_down")) {
		add(a, "Check the target's pods and endpoints: kubectl get endpoints.");
		add(a, "Open Prometheus' targets page for the scrape error.");
	} else if (!strcmp(cat, "capacity")) {
		add(a, "Add nodes or let the cluster autoscaler grow the node group.");
		add(a, "Trim over-sized requests: compare requests to use per workload.");
	} else {
		return 0;
	}
	return 1;
}

static void actions_log(cJSON *a, const char *cat, const fb_classification *cls)
{
	if (!strcmp(cat, "oom")) {
		add(a, "Raise the memory limit and request in the app's Helm values (proposed "
		       "below).");
		add(a, "Compare memory use over the last day (container_memory_working_set_bytes) "
		       "to tell a leak from growth.");
		add(a, "For a JVM, size the heap to the limit (-XX:MaxRAMPercentage) so the GC "
		       "works before the kernel kills.");
	} else if (!strcmp(cat, "crashloop")) {
		add(a, "Read the previous container's log: kubectl logs --previous.");
		add(a, "If it began right after a deploy, roll the image tag back.");
		add(a, "Check the liveness probe and the command/args for recent changes.");
	} else if (!strcmp(cat, "image_pull_error")) {
		add(a, "Roll image.tag back to the last tag that ran (proposed below when git "
		       "history has one).");
		add(a, "Check that the tag exists in the registry and that imagePullSecrets are "
		       "valid.");
		add(a, "If the registry rate-limits pulls, use a mirror or authenticated pulls.");
	} else if (!strcmp(cat, "config_error")) {
		add(a, "Revert the latest change to the app's configuration (proposed below when "
		       "one is found).");
		add(a, "Create the missing key, Secret or ConfigMap, then restart the pods.");
		add(a, "Render the chart (helm template) to validate values before merging.");
	} else if (!strcmp(cat, "resource_exhausted") && is_disk(cls)) {
		add(a,
		    "Grow the volume (persistence.size; proposed below when the values set it).");
		add(a, "Free space: check retention, logs and temporary files on the volume.");
		add(a, "Alert earlier on kubelet_volume_stats_available_bytes.");
	} else if (!strcmp(cat, "resource_exhausted")) {
		add(a,
		    "Find which resource ran out (file handles, pool size, quota, node capacity).");
		add(a, "Look for a leak of connections or handles before raising the limit.");
	} else if (!strcmp(cat, "network_error")) {
		add(a, "Check the peer is up and has endpoints: kubectl get endpoints.");
		add(a, "Check DNS, NetworkPolicies and TLS certificates between the two.");
		add(a, "Confirm the client retries with backoff instead of failing at once.");
	} else if (!strcmp(cat, "task_failure")) {
		add(a, "Read the task's log and traceback; fix the code or the input data.");
		add(a, "Clear the task to run it again once the cause is fixed.");
	} else if (strcmp(cat, "none") != 0) {
		add(a, "Read the full log around the evidence line.");
		add(a, "Add a rule for this signature once the cause is known.");
	}
}

/* The ranked actions; an alert's runbook comes after the specific steps. */
static void actions_for(cJSON *a, const char *cat, const fb_classification *cls)
{
	const char *runbook = fact(cls, "runbook_url");

	if (!actions_alert(a, cat))
		actions_log(a, cat, cls);
	if (runbook && strcmp(cat, "none") != 0) {
		fb_buf b;
		fb_buf_init(&b, 1024);
		fb_buf_printf(&b, "Follow the alert's runbook: %s", runbook);
		add(a, fb_buf_str(&b));
		fb_buf_free(&b);
	}
}

fb_err fb_analyze(const fb_classification *cls, const char *app, cJSON **out)
{
	const char *cat = cls->category;
	fb_buf b;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&b, 4096);
	if (!strcmp(cat, "oom"))
		cause_oom(&b, cls, app);
	else if (!strcmp(cat, "crashloop"))
		cause_crashloop(&b, cls, app);
	else if (!strcmp(cat, "image_pull_error"))
		cause_image(&b, cls, app);
	else if (!strcmp(cat, "config_error"))
		cause_config(&b, cls, app);
	else if (!strcmp(cat, "resource_exhausted"))
		cause_resource(&b, cls, app);
	else if (!strcmp(cat, "network_error"))
		cause_network(&b, cls, app);
	else if (!strcmp(cat, "task_failure"))
		cause_task(&b, cls, app);
	else if (!cause_alert(&b, cls, app, cat))
		cause_other(&b, cls, app, cat);
	cJSON_AddStringToObject(o, "root_cause", fb_buf_str(&b));
	fb_buf_free(&b);
	actions_for(cJSON_AddArrayToObject(o, "actions"), cat, cls);
	cJSON_AddBoolToObject(o, "disk", is_disk(cls));
	*out = o;
	return FB_OK;
}
