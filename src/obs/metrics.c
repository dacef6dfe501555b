/*
 * metrics.c - owns the daemon's counters, gauges, the ack latency
 * histogram and the health verdict.  The engine thread writes; the io
 * thread reads for /metrics and /health.  A mutex guards everything; no
 * call does I/O while holding it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firebreak/stopper.h"
#include "firebreak/metrics.h"
#include "firebreak/domain.h"

#define STATUSES 12
#define STALL_MS 10000      /* an engine loop wakes at least every 200 ms */
#define LINK_DOWN_MS 120000 /* Slack link down this long: unhealthy */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
#define NB (sizeof(buckets) / sizeof(buckets[0]))

static const struct {
	const char *name, *help, *labels;
} names[FB_M_COUNT] = {
    [FB_M_ENVELOPES] = {"firebreak_slack_envelopes_total", "Socket Mode envelopes handled", ""},
    [FB_M_DUPLICATES] = {"firebreak_slack_envelope_duplicates_total",
                         "Envelopes delivered again and ignored", ""},
    [FB_M_ENVELOPES_REFUSED] = {"firebreak_slack_envelopes_refused_total",
                                "Envelopes that could not be stored (not acked)", ""},
    [FB_M_DECISIONS] = {"firebreak_decisions_total", "Decisions", "result=\"accepted\""},
    [FB_M_REFUSALS] = {"firebreak_decisions_total", "Decisions", "result=\"refused\""},
    [FB_M_SLACK_SENT] = {"firebreak_slack_api_calls_total", "Web API calls by outcome",
                         "outcome=\"sent\""},
    [FB_M_SLACK_FAILED] = {"firebreak_slack_api_calls_total", "Web API calls by outcome",
                           "outcome=\"failed\""},
    [FB_M_SLACK_SUPERSEDED] = {"firebreak_slack_api_calls_total", "Web API calls by outcome",
                               "outcome=\"superseded\""},
    [FB_M_SLACK_RETRIED] = {"firebreak_slack_api_calls_total", "Web API calls by outcome",
                            "outcome=\"retried\""},
    [FB_M_SLACK_RATE_LIMITED] = {"firebreak_slack_rate_limited_total",
                                 "HTTP 429 answers from the Web API", ""},
    [FB_M_STEPS] = {"firebreak_graph_steps_total", "Graph node steps committed", ""},
    [FB_M_STEP_FAILURES] = {"firebreak_graph_step_failures_total",
                            "Graph steps that failed to commit", ""},
};

struct fb_metrics {
	pthread_mutex_t mu;
	long counters[FB_M_COUNT];
	uint64_t ack_bucket[NB];
	uint64_t ack_count;
	double ack_sum;
	char status[STATUSES][16];
	long status_n[STATUSES];
	size_t n_status;
	long outbox;
	int64_t beat, started;
	int db_ok;
	int store_ok; /* the writer's guard (fb_metrics_store_health) */
	char store_why[300];
	int link_open;
	long connects;
	int64_t link_down_since;
	fb_stat_row stats[FB_STAT_KINDS][16];
	size_t n_stats[FB_STAT_KINDS];
	int source_down;
	char source_why[200];
};

fb_metrics *fb_metrics_new(void)
{
	fb_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->beat = m->started = m->link_down_since = fb_mono_ms();
	m->db_ok = 1;
	m->store_ok = 1;
	return m;
}

void fb_metrics_free(fb_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void fb_metrics_add(fb_metrics *m, fb_metric which, long n)
{
	pthread_mutex_lock(&m->mu);
	m->counters[which] += n;
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_ack_latency(fb_metrics *m, int64_t micros)
{
	double s = (double)micros / 1e6;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < NB; i++)
		if (s <= buckets[i])
			m->ack_bucket[i]++;
	m->ack_count++;
	m->ack_sum += s;
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_set_incidents(fb_metrics *m, const char (*status)[16], const long *counts, size_t n)
{
	pthread_mutex_lock(&m->mu);
	m->n_status = n < STATUSES ? n : STATUSES;
	for (size_t i = 0; i < m->n_status; i++) {
		snprintf(m->status[i], sizeof(m->status[i]), "%s", status[i]);
		m->status_n[i] = counts[i];
	}
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_set_outbox(fb_metrics *m, long depth)
{
	pthread_mutex_lock(&m->mu);
	m->outbox = depth;
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_engine_beat(fb_metrics *m, int db_ok)
{
	pthread_mutex_lock(&m->mu);
	m->beat = fb_mono_ms();
	m->db_ok = db_ok;
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_store_health(fb_metrics *m, int ok, const char *why)
{
	pthread_mutex_lock(&m->mu);
	m->store_ok = ok;
	snprintf(m->store_why, sizeof(m->store_why), "%s", why ? why : "");
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_slack_link(fb_metrics *m, int open, long connects)
{
	pthread_mutex_lock(&m->mu);
	if (open && !m->link_open)
		m->link_down_since = 0;
	else if (!open && (m->link_open || !m->link_down_since))
		m->link_down_since = fb_mono_ms();
	m->link_open = open;
	m->connects = connects;
	pthread_mutex_unlock(&m->mu);
}

void fb_metrics_set_stats(fb_metrics *m, int kind, const void *rows, size_t n)
{
	if (kind < 0 || kind >= FB_STAT_KINDS)
		return;
	pthread_mutex_lock(&m->mu);
	m->n_stats[kind] = n < 16 ? n : 16;
	memcpy(m->stats[kind], rows, m->n_stats[kind] * sizeof(fb_stat_row));
	pthread_mutex_unlock(&m->mu);
}

static void render_stats(fb_metrics *m, fb_buf *out)
{
	static const struct {
		const char *name, *help, *label;
	} fam[FB_STAT_KINDS] = {
	    {"firebreak_signals_total", "Incidents raised, by source", "source"},
	    {"firebreak_decisions_by_action_total", "Decisions taken, by action", "action"},
	    {"firebreak_verify_checks_total", "Verification checks, by result", "result"},
	    {"firebreak_apply_total", "Apply steps, by outcome", "outcome"},
	};
	for (int k = 0; k < FB_STAT_KINDS; k++) {
		fb_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", fam[k].name, fam[k].help,
		              fam[k].name);
		for (size_t i = 0; i < m->n_stats[k]; i++)
			fb_buf_printf(out, "%s{%s=\"%s\"} %ld\n", fam[k].name, fam[k].label,
			              m->stats[k][i].key, m->stats[k][i].count);
	}
	double sum = 0;
	long count = 0;
	for (size_t i = 0; i < m->n_stats[FB_STAT_DECISIONS]; i++) {
		sum += m->stats[FB_STAT_DECISIONS][i].sum;
		count += m->stats[FB_STAT_DECISIONS][i].count;
	}
	fb_buf_printf(out,
	              "# HELP firebreak_time_to_decision_seconds From an incident's creation to a "
	              "decision\n# TYPE firebreak_time_to_decision_seconds summary\n"
	              "firebreak_time_to_decision_seconds_sum %.3f\n"
	              "firebreak_time_to_decision_seconds_count %ld\n",
	              sum, count);
}

void fb_metrics_source(fb_metrics *m, int up, const char *why)
{
	pthread_mutex_lock(&m->mu);
	m->source_down = !up;
	snprintf(m->source_why, sizeof(m->source_why), "%s", why ? why : "");
	pthread_mutex_unlock(&m->mu);
}

int fb_metrics_health(fb_metrics *m, char *why, size_t why_sz)
{
	int64_t now = fb_mono_ms();
	int ok = 1;

	pthread_mutex_lock(&m->mu);
	if (now - m->beat > STALL_MS) {
		snprintf(why, why_sz, "engine stalled: no loop for %lld ms",
		         (long long)(now - m->beat));
		ok = 0;
	} else if (!m->store_ok) {
		snprintf(why, why_sz, "%s", m->store_why);
		ok = 0;
	} else if (!m->db_ok) {
		snprintf(why, why_sz, "database not writable: the last commit failed");
		ok = 0;
	} else if (m->source_down) {
		snprintf(why, why_sz, "source down: %s", m->source_why);
		ok = 0;
	} else if (!m->link_open && m->link_down_since && now - m->link_down_since > LINK_DOWN_MS) {
		snprintf(why, why_sz, "Slack link down for %lld s",
		         (long long)((now - m->link_down_since) / 1000));
		ok = 0;
	}
	pthread_mutex_unlock(&m->mu);
	return ok;
}

static void counter(fb_buf *out, fb_metric i, long v, int header)
{
	if (header)
		fb_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", names[i].name,
		              names[i].help, names[i].name);
	if (names[i].labels[0])
		fb_buf_printf(out, "%s{%s} %ld\n", names[i].name, names[i].labels, v);
	else
		fb_buf_printf(out, "%s %ld\n", names[i].name, v);
}

void fb_metrics_render(fb_metrics *m, fb_buf *out)
{
	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < FB_M_COUNT; i++) /* a family's HELP once, before its first sample */
		counter(out, (fb_metric)i, m->counters[i],
		        i == 0 || strcmp(names[i].name, names[i - 1].name) != 0);
	render_stats(m, out);
	fb_buf_printf(out, "# HELP firebreak_incidents Incidents by status\n"
	                   "# TYPE firebreak_incidents gauge\n");
	for (size_t i = 0; i < m->n_status; i++)
		fb_buf_printf(out, "firebreak_incidents{status=\"%s\"} %ld\n", m->status[i],
		              m->status_n[i]);
	fb_buf_printf(out,
	              "# HELP firebreak_source_up Whether the log sources answer\n"
	              "# TYPE firebreak_source_up gauge\nfirebreak_source_up %d\n",
	              !m->source_down);
	fb_buf_printf(out,
	              "# HELP firebreak_outbox_depth Slack calls waiting to be sent\n"
	              "# TYPE firebreak_outbox_depth gauge\nfirebreak_outbox_depth %ld\n",
	              m->outbox);
	fb_buf_printf(out,
	              "# HELP firebreak_slack_connected Socket Mode connections open\n"
	              "# TYPE firebreak_slack_connected gauge\nfirebreak_slack_connected %d\n",
	              m->link_open);
	fb_buf_printf(out,
	              "# HELP firebreak_slack_connects_total Socket Mode connections opened\n"
	              "# TYPE firebreak_slack_connects_total counter\n"
	              "firebreak_slack_connects_total %ld\n",
	              m->connects);
	fb_buf_printf(out, "# HELP firebreak_ack_latency_seconds Envelope read to ack queued\n"
	                   "# TYPE firebreak_ack_latency_seconds histogram\n");
	for (size_t i = 0; i < NB; i++)
		fb_buf_printf(out, "firebreak_ack_latency_seconds_bucket{le=\"%g\"} %llu\n",
		              buckets[i], (unsigned long long)m->ack_bucket[i]);
	fb_buf_printf(out,
	              "firebreak_ack_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
	              "firebreak_ack_latency_seconds_sum %.6f\n"
	              "firebreak_ack_latency_seconds_count %llu\n",
	              (unsigned long long)m->ack_count, m->ack_sum,
	              (unsigned long long)m->ack_count);
	pthread_mutex_unlock(&m->mu);
}
