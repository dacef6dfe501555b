/*
 * stopper.h - what a polling thread needs to sleep and still stop at
 * once: a stop flag, a mutex and a condition variable that measures
 * CLOCK_MONOTONIC (a wall-clock step cannot stretch or cut a sleep).
 * Embedded in its owner; any thread may stop it.
 */
#ifndef FIREBREAK_STOPPER_H
#define FIREBREAK_STOPPER_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
} fb_stopper;

void fb_stopper_init(fb_stopper *s);
void fb_stopper_destroy(fb_stopper *s);
/* Sets the flag and wakes every sleeper. */
void fb_stopper_stop(fb_stopper *s);
int fb_stopper_stopped(fb_stopper *s);
/* Sleeps up to ms, or less when stopped; returns 1 when stopped. */
int fb_stopper_sleep(fb_stopper *s, int64_t ms);

/* now + ms on CLOCK_MONOTONIC, for pthread_cond_timedwait on a condition
 * variable set to that clock. */
void fb_deadline(struct timespec *until, int64_t ms);
/* Milliseconds on CLOCK_MONOTONIC: for intervals, never for dates. */
int64_t fb_mono_ms(void);
/* Initialises cv to measure CLOCK_MONOTONIC. */
void fb_cond_init_monotonic(pthread_cond_t *cv);

#endif
