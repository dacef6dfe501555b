/*
 * queue.h - a bounded FIFO of heap messages between threads (mutex and
 * condition variable).  Whoever pops a message owns it.  An optional
 * wake function runs after every push, for consumers that sleep somewhere
 * other than the condition variable (the io thread sleeps in lws_service
 * and is woken by lws_cancel_service).
 */
#ifndef FIREBREAK_QUEUE_H
#define FIREBREAK_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "firebreak/error.h"

typedef struct fb_queue fb_queue;

fb_err fb_queue_new(size_t max, fb_queue **out);
/* Frees the queue and every message still in it with free_msg. */
void fb_queue_free(fb_queue *q, void (*free_msg)(void *));
void fb_queue_set_wake(fb_queue *q, void (*wake)(void *), void *arg);

/* FB_ETOOBIG when the queue is full (the message stays the caller's). */
fb_err fb_queue_push(fb_queue *q, void *msg);
/* Waits up to timeout_ms (<0: forever, 0: no wait); NULL on timeout. */
void *fb_queue_pop(fb_queue *q, int64_t timeout_ms);
size_t fb_queue_len(fb_queue *q);
/* Wakes a waiting pop without a message. */
void fb_queue_poke(fb_queue *q);

#endif
