/*
 * merge.c - owns pull-request mode's node, await_merge: it opens the
 * fix's pull request (or finds the one already open for the branch, so a
 * step run twice never makes a second), then looks at it on a durable
 * timer (gitops.forge.poll_interval, the job's run_at) until it is merged
 * -- verify then checks the merge commit -- or closed unmerged -- the
 * incident ends rejected, by whom the forge says.  A forge that asks to
 * wait (rate limits) is asked again after the delay it gave.  After a
 * merge the clone's branch follows the remote.  Runs on a worker
 * (FB_NODE_IO, serialised on the repository like apply); the forge
 * handle lives for one step.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/forge.h"
#include "firebreak/links.h"
#include "merge_int.h"

#define SET(field, v) fb_state_copy((field), sizeof(field), (v))

static void go(fb_step *st, const char *next, int64_t delay_ms)
{
	snprintf(st->next, sizeof(st->next), "%s", next);
	st->delay_ms = delay_ms;
}

static int64_t poll_ms(const fb_graph_env *env)
{
	long s = env->cfg->gitops.forge.poll_interval;
	return (s > 0 ? s : 60) * 1000LL;
}

void fb_merge_applied(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	fb_gitops_pr_branch(s->id, s->verify_retried ? 2 : 1, s->apply.branch,
	                    sizeof(s->apply.branch));
	memset(&s->pr, 0, sizeof(s->pr)); /* a further fix gets its own */
	fb_links_fill(env->cfg, s);
	go(st, "await_merge", 0);
}

/* The body: the incident summary, then the commit's trailers. */
static void pr_body(const fb_state *s, fb_buf *b)
{
	const fb_state_proposal *p = &s->proposal;

	fb_buf_printf(b, "Incident `%s`: %s (%s) in %s", s->id, s->classification.category,
	              s->classification.severity, *s->app ? s->app : "an unknown app");
	if (*s->ns)
		fb_buf_printf(b, ", namespace `%s`", s->ns);
	fb_buf_printf(b, ".\n\n**Root cause**: %s\n\n", s->analysis.root_cause);
	if (*s->classification.evidence)
		fb_buf_printf(b, "**Evidence**:\n```\n%.1000s\n```\n\n",
		              s->classification.evidence);
	fb_buf_printf(b, "**Fix**: %s\n", p->summary);
	for (size_t i = 0; i < p->n_edits; i++)
		fb_buf_printf(b, "- `%s`: %s -> %s\n", p->edits[i].path,
		              *p->edits[i].old_value ? p->edits[i].old_value : "(unset)",
		              p->edits[i].new_value);
	if (*s->runbook_url)
		fb_buf_printf(b, "\nRunbook: %s\n", s->runbook_url);
	fb_buf_printf(b, "\nMerging this pull request applies the fix; firebreak then verifies "
	                 "the merge commit.  Closing it unmerged rejects the fix.\n\n");
	fb_buf_printf(b, "Incident-Id: %s\n", s->id);
	if (s->verify_retried)
		fb_buf_printf(b, "Incident-Step: 2\n");
	fb_buf_printf(b, "Category: %s\nApproved-By: %s\n", s->classification.category,
	              s->approved_by);
	if (*s->slack_thread)
		fb_buf_printf(b, "Slack-Thread: %s\n", s->slack_thread);
}

static fb_err open_pr(const fb_graph_env *env, fb_forge *f, fb_state *s, fb_step *st)
{
	const char *labels[FB_FORGE_LABELS_MAX];
	char title[300];
	fb_pr pr = {0};
	int created = 0;
	fb_buf body;
	fb_err rc;

	for (size_t i = 0; i < env->cfg->gitops.forge.n_labels; i++)
		labels[i] = env->cfg->gitops.forge.labels[i];
	snprintf(title, sizeof(title), "firebreak: %s", s->proposal.summary);
	fb_buf_init(&body, 64 * 1024);
	pr_body(s, &body);
	fb_pr_request req = {
	    .title = title,
	    .body = fb_buf_str(&body) ? fb_buf_str(&body) : "",
	    .head = s->apply.branch,
	    .base = env->cfg->gitops.branch,
	    .labels = labels,
	    .n_labels = env->cfg->gitops.forge.n_labels,
	};
	rc = f->ops->create(f, &req, &pr, &created);
	fb_buf_free(&body);
	if (rc)
		return rc;
	s->pr = (fb_state_pr){.present = 1, .number = pr.number};
	SET(s->pr.url, pr.url);
	SET(s->pr.branch, s->apply.branch);
	SET(s->pr.state, "open");
	fb_links_fill(env->cfg, s);
	snprintf(st->detail, sizeof(st->detail), "%s pull request #%ld %s",
	         created ? "opened" : "reused", pr.number, pr.url);
	snprintf(st->outcome, sizeof(st->outcome), "%s", created ? "pr_opened" : "pr_reused");
	go(st, "await_merge", poll_ms(env));
	return FB_OK;
}

static fb_err look(const fb_graph_env *env, fb_forge *f, fb_state *s, fb_step *st)
{
	fb_pr pr = {0};
	fb_err rc = f->ops->get(f, s->pr.number, &pr);

	if (rc)
		return rc;
	s->pr.checks_done++;
	SET(s->pr.state, fb_pr_state_name(pr.state));
	SET(s->pr.closed_by, pr.closed_by);
	snprintf(st->outcome, sizeof(st->outcome), "pr_%s", s->pr.state);
	if (pr.state == FB_PR_OPEN) {
		snprintf(st->detail, sizeof(st->detail), "pull request #%ld is open (look %ld)",
		         s->pr.number, s->pr.checks_done);
		go(st, "await_merge", poll_ms(env));
	} else if (pr.state == FB_PR_MERGED) {
		if (!*pr.merge_commit)
			return fb_error_set(FB_EIO,
			                    "pull request #%ld merged without a merge commit",
			                    s->pr.number);
		SET(s->pr.merge_commit, pr.merge_commit);
		SET(s->apply.commit, pr.merge_commit); /* verify checks what landed */
		SET(s->apply.branch, env->cfg->gitops.branch);
		snprintf(st->detail, sizeof(st->detail), "pull request #%ld merged%s%s as %.12s",
		         s->pr.number, *pr.closed_by ? " by " : "", pr.closed_by, pr.merge_commit);
		if (env->gitops && fb_gitops_branch_follow(env->gitops) != FB_OK)
			fb_error_clear(); /* the clone catches up at the next apply */
		fb_links_fill(env->cfg, s);
		go(st, "verify", 0);
	} else {
		SET(s->result, "rejected");
		snprintf(st->detail, sizeof(st->detail),
		         "pull request #%ld closed without merging%s%s", s->pr.number,
		         *pr.closed_by ? " by " : "", pr.closed_by);
		go(st, "report", 0);
	}
	return FB_OK;
}

fb_err fb_merge_node(const fb_graph_env *env, fb_state *s, fb_step *st)
{
	fb_forge *f = NULL;
	fb_err rc = fb_forge_open(env->cfg, &f);

	if (!rc)
		rc = s->pr.present ? look(env, f, s, st) : open_pr(env, f, s, st);
	if (rc && f && f->retry_after >= 0) { /* the forge asked to wait: ask again then */
		snprintf(st->detail, sizeof(st->detail), "%s", fb_error_last());
		snprintf(st->outcome, sizeof(st->outcome), "rate_limited");
		go(st, "await_merge", (f->retry_after > 0 ? f->retry_after : 1) * 1000LL);
		rc = FB_OK;
	}
	fb_forge_close(f);
	return rc;
}
