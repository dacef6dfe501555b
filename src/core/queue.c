/*
 * queue.c - owns the message queues between threads (io -> engine,
 * engine -> sender, sender -> engine, engine -> io).  Any thread may push
 * or pop; each queue has one mutex and one condition variable.  Waits use
 * CLOCK_MONOTONIC so that a clock step cannot stall the engine.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "firebreak/queue.h"
#include "firebreak/stopper.h"

struct fb_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void **ring;
	size_t max, head, len;
	int poked;
	void (*wake)(void *);
	void *wake_arg;
};

fb_err fb_queue_new(size_t max, fb_queue **out)
{
	fb_queue *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q || !(q->ring = calloc(max, sizeof(void *)))) {
		free(q);
		return fb_error_set(FB_ENOMEM, "out of memory");
	}
	q->max = max;
	pthread_mutex_init(&q->mu, NULL);
	fb_cond_init_monotonic(&q->cv);
	*out = q;
	return FB_OK;
}

void fb_queue_free(fb_queue *q, void (*free_msg)(void *))
{
	if (!q)
		return;
	for (size_t i = 0; i < q->len; i++)
		if (free_msg)
			free_msg(q->ring[(q->head + i) % q->max]);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q);
}

void fb_queue_set_wake(fb_queue *q, void (*wake)(void *), void *arg)
{
	q->wake = wake;
	q->wake_arg = arg;
}

fb_err fb_queue_push(fb_queue *q, void *msg)
{
	pthread_mutex_lock(&q->mu);
	if (q->len == q->max) {
		pthread_mutex_unlock(&q->mu);
		return fb_error_set(FB_ETOOBIG, "queue full (%zu messages)", q->max);
	}
	q->ring[(q->head + q->len) % q->max] = msg;
	q->len++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (q->wake)
		q->wake(q->wake_arg);
	return FB_OK;
}

void fb_queue_poke(fb_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->poked = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (q->wake)
		q->wake(q->wake_arg);
}

void *fb_queue_pop(fb_queue *q, int64_t timeout_ms)
{
	struct timespec until;
	void *msg = NULL;

	fb_deadline(&until, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&q->mu);
	while (q->len == 0 && !q->poked && timeout_ms != 0) {
		int r = timeout_ms < 0 ? pthread_cond_wait(&q->cv, &q->mu)
		                       : pthread_cond_timedwait(&q->cv, &q->mu, &until);
		if (r == ETIMEDOUT)
			break;
	}
	q->poked = 0;
	if (q->len) {
		msg = q->ring[q->head];
		q->head = (q->head + 1) % q->max;
		q->len--;
	}
	pthread_mutex_unlock(&q->mu);
	return msg;
}

size_t fb_queue_len(fb_queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}
