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
	fb_buf_addstr(b, " The log does not show an out-of-memory, image or configuration cause; "
	                 "the application itself exits.");
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
}

static void cause_other(fb_buf *b, const fb_classification *cls, const char *app, const char *cat)
{
	if (!strcmp(cat, "none")) {
		fb_buf_addstr(b, "No incident: the excerpt shows no failure that needs action.");
		return;
	}
	subject(b, cls, app);
	fb_buf_addstr(b, " logged an error that no rule explains; it needs a person to look.");
}

static void add(cJSON *arr, const char *s)
{
	cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

static void actions_for(cJSON *a, const char *cat, const fb_classification *cls)
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
	else
		cause_other(&b, cls, app, cat);
	cJSON_AddStringToObject(o, "root_cause", fb_buf_str(&b));
	fb_buf_free(&b);
	actions_for(cJSON_AddArrayToObject(o, "actions"), cat, cls);
	cJSON_AddBoolToObject(o, "disk", is_disk(cls));
	*out = o;
	return FB_OK;
}
