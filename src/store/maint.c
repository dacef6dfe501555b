/*
 * maint.c - owns the store's maintenance thread: a connection of its own
 * that runs the backend's housekeeping (for SQLite, PASSIVE WAL
 * checkpoints) every interval, so that the engine's commits -- the ones
 * an envelope's ack waits for -- never pay for a checkpoint's fsync.
 * Started and stopped by the engine thread; the loop runs on its own.
 */
#include <pthread.h>
#include <stdlib.h>

#include "firebreak/log.h"
#include "firebreak/stopper.h"
#include "firebreak/store.h"

struct fb_store_maint {
	fb_store *st; /* this thread's connection */
	long interval_ms;
	fb_stopper stop;
	pthread_t th;
};

static void *maint_main(void *arg)
{
	fb_store_maint *m = arg;
	int failing = 0;

	while (!fb_stopper_sleep(&m->stop, m->interval_ms)) {
		long pending = 0;
		if (fb_store_maintain(m->st, &pending) != FB_OK) {
			if (!failing++) /* once per spell, not once a tick */
				fb_log(FB_LOG_WARN, "store.maintain_failed", "error=\"%s\"",
				       fb_error_last());
			continue;
		}
		failing = 0;
	}
	return NULL;
}

fb_err fb_store_maint_start(const char *path, long interval_ms, fb_store_maint **out)
{
	fb_store_maint *m = calloc(1, sizeof(*m));
	fb_err rc;

	*out = NULL;
	if (!m)
		return fb_error_set(FB_ENOMEM, "out of memory");
	if ((rc = fb_store_open(path, 0, &m->st))) {
		free(m);
		return rc;
	}
	m->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	fb_stopper_init(&m->stop);
	if (pthread_create(&m->th, NULL, maint_main, m) != 0) {
		fb_stopper_destroy(&m->stop);
		fb_store_free(m->st);
		free(m);
		return fb_error_set(FB_EIO, "cannot start the store's maintenance thread");
	}
	*out = m;
	return FB_OK;
}

void fb_store_maint_stop(fb_store_maint *m)
{
	long pending = 0;

	if (!m)
		return;
	fb_stopper_stop(&m->stop);
	pthread_join(m->th, NULL);
	fb_store_maintain(m->st, &pending); /* leave little WAL behind */
	fb_stopper_destroy(&m->stop);
	fb_store_free(m->st);
	free(m);
}
