/*
 * pool.c - owns the worker threads that run the graph's I/O nodes, each
 * with its own verification clients, and the repository handle they share
 * under the lock that serialises git work on the repository.  The engine thread submits
 * tasks; worker threads run them and hand them back through the done
 * callback; fb_pool_stop runs on the engine thread at shutdown.
 */
#include <pthread.h>
#include <stdlib.h>

#include "firebreak/gitops.h"
#include "firebreak/log.h"
#include "firebreak/pool.h"
#include "firebreak/queue.h"
#include "firebreak/verify.h"

#define POOL_QUEUE_MAX 1024

typedef struct {
	fb_graph_task *task; /* NULL: stop */
	const fb_config *cfg;
	unsigned long gen;
} job;

typedef struct {
	struct fb_pool *pool;
	pthread_t th;
	int started;
	unsigned long gen; /* of the configuration its clients were built from */
	int built;
	fb_verifier *verifier;
} worker;

struct fb_pool {
	fb_pool_opts o;
	fb_queue *q;
	/* One repository per configuration, so one lock: git work on it
	 * (libgit2 handles, the index, the working tree, pushes) runs one
	 * task at a time, whichever worker holds the task. */
	pthread_mutex_t git_mu;
	/* Under git_mu: the one handle on the repository (its Application
	 * index, object cache and index file loaded once, not per worker),
	 * rebuilt when a task brings a newer configuration. */
	fb_gitops *gitops;
	unsigned long git_gen;
	int git_built;
	size_t n;
	worker *w;
};

static void job_free(void *p)
{
	job *j = p;
	if (j)
		fb_graph_task_free(j->task);
	free(j);
}

/* The clients follow the configuration the task was taken with. */
static void rebuild(worker *w, const fb_config *cfg, unsigned long gen)
{
	if (w->built && w->gen == gen)
		return;
	fb_verifier_free(w->verifier);
	w->verifier = NULL;
	if (fb_verifier_new(cfg, &w->verifier) != FB_OK) {
		fb_log(FB_LOG_WARN, "verify.unavailable", "reason=\"%s\"", fb_error_last());
		fb_error_clear();
	}
	w->gen = gen;
	w->built = 1;
}

/* Under git_mu: the shared repository handle, for this configuration. */
static fb_gitops *repository(fb_pool *p, const fb_config *cfg, unsigned long gen)
{
	if (p->git_built && p->git_gen == gen)
		return p->gitops;
	fb_gitops_free(p->gitops);
	p->gitops = NULL;
	if (fb_gitops_open(cfg, &p->gitops) != FB_OK) {
		fb_log(FB_LOG_WARN, "gitops.unavailable", "repo=%s reason=\"%s\" fixes=manual",
		       cfg->gitops.repo, fb_error_last());
		fb_error_clear();
	}
	p->git_gen = gen;
	p->git_built = 1;
	return p->gitops;
}

static void run_one(worker *w, job *j)
{
	fb_pool *p = w->pool;
	int git = (fb_graph_task_flags(j->task) & FB_NODE_GIT) != 0;
	fb_graph_env env = {
	    .cfg = j->cfg,
	    .rules = p->o.rules,
	    .store = NULL, /* workers never touch the store */
	    .verifier = w->verifier,
	};

	if (git) {
		pthread_mutex_lock(&p->git_mu);
		env.gitops = repository(p, j->cfg, j->gen);
	}
	fb_graph_task_run(&env, j->task);
	if (git)
		pthread_mutex_unlock(&p->git_mu);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	job *j;

	while ((j = fb_queue_pop(w->pool->q, -1))) {
		if (!j->task) {
			free(j);
			break;
		}
		rebuild(w, j->cfg, j->gen);
		run_one(w, j);
		w->pool->o.done(w->pool->o.ctx, j->task);
		free(j);
	}
	fb_verifier_free(w->verifier);
	return NULL;
}

fb_err fb_pool_start(const fb_pool_opts *o, fb_pool **out)
{
	fb_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p || !(p->w = calloc(o->workers ? o->workers : 1, sizeof(worker)))) {
		free(p);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	p->o = *o;
	p->n = o->workers ? o->workers : 1;
	pthread_mutex_init(&p->git_mu, NULL);
	if (fb_queue_new(POOL_QUEUE_MAX + p->n, &p->q) != FB_OK) {
		fb_pool_stop(p);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < p->n; i++) {
		p->w[i].pool = p;
		if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]) != 0) {
			fb_pool_stop(p);
			return fb_error_set(FB_EIO, "cannot start worker thread %zu", i + 1);
		}
		p->w[i].started = 1;
	}
	*out = p;
	return FB_OK;
}

fb_err fb_pool_submit(fb_pool *p, fb_graph_task *task, const fb_config *cfg, unsigned long gen)
{
	job *j = malloc(sizeof(*j));

	if (!j)
		return fb_error_set(FB_ENOMEM, "out of memory");
	*j = (job){.task = task, .cfg = cfg, .gen = gen};
	if (fb_queue_len(p->q) >= POOL_QUEUE_MAX || fb_queue_push(p->q, j) != FB_OK) {
		free(j);
		return fb_error_set(FB_ETOOBIG, "the worker queue is full");
	}
	return FB_OK;
}

void fb_pool_stop(fb_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->q && i < p->n; i++) {
		job *stop = calloc(1, sizeof(*stop));
		if (stop && p->w[i].started && fb_queue_push(p->q, stop) == FB_OK)
			continue;
		free(stop);
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].th, NULL);
	fb_queue_free(p->q, job_free);
	fb_gitops_free(p->gitops);
	pthread_mutex_destroy(&p->git_mu);
	free(p->w);
	free(p);
}
