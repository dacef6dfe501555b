/*
 * stopper.c - owns the interruptible sleep of the polling threads (Loki,
 * log files) and the monotonic deadlines every timed wait in firebreak
 * uses (queue.c, socket.c).  Any thread.
 */
#include "firebreak/stopper.h"

void fb_deadline(struct timespec *until, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

int64_t fb_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fb_cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

void fb_stopper_init(fb_stopper *s)
{
	pthread_mutex_init(&s->mu, NULL);
	fb_cond_init_monotonic(&s->cv);
	s->stop = 0;
}

void fb_stopper_destroy(fb_stopper *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

void fb_stopper_stop(fb_stopper *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int fb_stopper_stopped(fb_stopper *s)
{
	pthread_mutex_lock(&s->mu);
	int stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

int fb_stopper_sleep(fb_stopper *s, int64_t ms)
{
	struct timespec until;
	int stop;

	fb_deadline(&until, ms);
	pthread_mutex_lock(&s->mu);
	while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
		;
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}
