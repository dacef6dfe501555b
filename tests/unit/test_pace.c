/* Unit tests for pace.c: the sender's scheduling as plain logic with a
 * fake clock - chat.postMessage per channel (a burst, then one a second),
 * method tiers, Retry-After per method, order per incident, collapsing of
 * card updates, critical first, and the flat and off overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/pace.h"

static int64_t next_id = 1;

/* data is the id itself, so that what comes back can be checked. */
static void add(fb_pace *p, const char *incident, const char *method, const char *channel, int prio,
                int card_exists)
{
	int64_t id = next_id++;
	fb_pace_req r = {.id = id,
	                 .incident_id = incident,
	                 .method = method,
	                 .channel = channel,
	                 .priority = prio,
	                 .card_exists = card_exists,
	                 .data = (void *)(intptr_t)id};
	assert_int_equal(fb_pace_add(p, &r, 0), FB_OK);
}

/* Runs the clock from `from` for up to `for_ms`, sending (and finishing)
 * whatever may go; the send times go to at[], the ids to ids[]. */
static size_t drain(fb_pace *p, int64_t from, int64_t for_ms, int64_t *at, int64_t *ids, size_t max)
{
	size_t n = 0;
	int64_t now = from;
	while (now <= from + for_ms && n < max) {
		fb_pace_pick pk;
		fb_pace_what w = fb_pace_next(p, now, &pk);
		if (w == FB_PACE_IDLE)
			break;
		if (w == FB_PACE_WAIT) {
			assert_true(pk.wait_ms > 0);
			now += pk.wait_ms;
			continue;
		}
		if (w == FB_PACE_SEND) {
			at[n] = now;
			ids[n++] = pk.id;
		}
		fb_pace_done(p, pk.id);
	}
	return n;
}

static void a_burst_then_one_a_second_per_channel(void **s)
{
	fb_pace *p = NULL;
	int64_t at[32], ids[32];
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < 10; i++) {
		char inc[32];
		snprintf(inc, sizeof(inc), "incident-%d", i);
		add(p, inc, "card", "C1", FB_PACE_PRIO_LOW, 0);
	}
	size_t n = drain(p, 10000, 60000, at, ids, 32);
	assert_int_equal(n, 10);
	for (int i = 0; i < FB_PACE_POST_BURST; i++)
		assert_true(at[i] == 10000); /* the burst, at once */
	for (size_t i = FB_PACE_POST_BURST; i < n; i++) {
		int64_t gap = at[i] - at[i - 1];
		assert_true(gap >= 990 && gap <= 1010); /* then about one a second */
	}
	assert_true(at[9] - at[0] >= 6900 && at[9] - at[0] <= 7100);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ids[i], ids[0] + i); /* in order */
	fb_pace_free(p, NULL);
}

static void two_channels_do_not_wait_for_each_other(void **s)
{
	fb_pace *p = NULL;
	int64_t at[32], ids[32];
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < 5; i++)
		add(p, "", "chat.postMessage", "C1", FB_PACE_PRIO_LOW, 0);
	for (int i = 0; i < 5; i++)
		add(p, "", "chat.postMessage", "C2", FB_PACE_PRIO_LOW, 0);
	size_t n = drain(p, 0, 60000, at, ids, 32);
	assert_int_equal(n, 10);
	/* both channels' bursts at once, then each one a second: the last
	 * post of each channel 2 s in, not 7 s as in one queue */
	int at_zero = 0;
	for (size_t i = 0; i < n; i++) {
		at_zero += at[i] == 0;
		assert_true(at[i] <= 2000);
	}
	assert_int_equal(at_zero, 2 * FB_PACE_POST_BURST);
	fb_pace_free(p, NULL);
}

static void methods_follow_their_tiers(void **s)
{
	fb_pace *p = NULL;
	int64_t at[128], ids[128];
	(void)s;
	assert_int_equal(fb_pace_tier("chat.postMessage"), 0);
	assert_int_equal(fb_pace_tier("chat.update"), 3);
	assert_int_equal(fb_pace_tier("views.open"), 4);
	assert_int_equal(fb_pace_tier("chat.postEphemeral"), 4);
	assert_int_equal(fb_pace_tier("apps.connections.open"), 1);
	assert_int_equal(fb_pace_tier("some.new_method"), 3);

	/* Tier 3: 50 a minute (one per 1.2 s after a short burst) */
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < 60; i++) {
		char inc[32];
		snprintf(inc, sizeof(inc), "incident-%d", i);
		add(p, inc, "card", "C1", FB_PACE_PRIO_LOW, 1); /* updates */
	}
	size_t n = drain(p, 0, 60000, at, ids, 128);
	assert_true(n >= 50 && n <= 56); /* the burst plus 50 a minute */
	assert_int_equal(at[n - 1] - at[n - 2], 1200);
	fb_pace_free(p, NULL);

	/* Tier 4: 100 a minute; a second method has a bucket of its own */
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < 30; i++)
		add(p, "", "views.open", "", FB_PACE_PRIO_PERSON, 0);
	for (int i = 0; i < 5; i++)
		add(p, "incident-x", "chat.update", "C1", FB_PACE_PRIO_LOW, 0);
	n = drain(p, 0, 10000, at, ids, 128);
	int opens = 0, updates = 0;
	for (size_t i = 0; i < n; i++) {
		opens += ids[i] <= ids[0] + 29 && ids[i] >= ids[0];
		updates += ids[i] > ids[0] + 29;
	}
	assert_int_equal(updates, 5);                      /* not behind the forms */
	assert_true(opens >= 10 + 16 && opens <= 10 + 17); /* burst 10, then 600 ms */
	fb_pace_free(p, NULL);
}

static void a_429_holds_its_method_only(void **s)
{
	fb_pace *p = NULL;
	fb_pace_pick pk;
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 1); /* an update */
	add(p, "incident-b", "card", "C1", FB_PACE_PRIO_LOW, 0); /* a post */
	add(p, "", "views.open", "", FB_PACE_PRIO_PERSON, 0);

	/* the form first (a person waits), then the update: 429, 30 s */
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "views.open");
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.update");
	int64_t update = pk.id;
	fb_pace_hold(p, "chat.update", 30000);

	/* the post still goes */
	assert_int_equal(fb_pace_next(p, 10, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.postMessage");
	fb_pace_done(p, pk.id);

	/* the update waits out Retry-After, then goes again */
	assert_int_equal(fb_pace_next(p, 20, &pk), FB_PACE_WAIT);
	assert_int_equal(pk.wait_ms, 30000 - 20);
	assert_int_equal(fb_pace_next(p, 29999, &pk), FB_PACE_WAIT);
	assert_int_equal(fb_pace_next(p, 30000, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, update);
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 30000, &pk), FB_PACE_IDLE);

	/* a row's own backoff holds that row only */
	add(p, "incident-c", "thread", "C1", FB_PACE_PRIO_LOW, 1);
	add(p, "incident-d", "thread", "C2", FB_PACE_PRIO_LOW, 1);
	assert_int_equal(fb_pace_next(p, 40000, &pk), FB_PACE_SEND);
	fb_pace_later(p, pk.id, 45000);
	int64_t backed = pk.id;
	assert_int_equal(fb_pace_next(p, 40000, &pk), FB_PACE_SEND);
	assert_true(pk.id != backed);
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 40000, &pk), FB_PACE_WAIT);
	assert_int_equal(pk.wait_ms, 5000);
	fb_pace_free(p, NULL);
}

/* chat.postMessage's limit is per channel: a 429 on one channel's posts
 * holds those only (storm control, issue 10). */
static void a_429_on_posts_holds_that_channel_only(void **s)
{
	fb_pace *p = NULL;
	fb_pace_pick pk;
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	add(p, "", "chat.postMessage", "C1", FB_PACE_PRIO_LOW, 0);
	add(p, "", "chat.postMessage", "C2", FB_PACE_PRIO_LOW, 0);
	fb_pace_hold_channel(p, "chat.postMessage", "C1", 5000);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, next_id - 1); /* C2's */
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 1, &pk), FB_PACE_WAIT);
	assert_int_equal(pk.wait_ms, 4999);
	assert_int_equal(fb_pace_next(p, 4999, &pk), FB_PACE_WAIT);
	assert_int_equal(fb_pace_next(p, 5000, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, next_id - 2);
	fb_pace_done(p, pk.id);
	/* no channel: the method everywhere */
	add(p, "", "chat.postMessage", "C3", FB_PACE_PRIO_LOW, 0);
	fb_pace_hold_channel(p, "chat.postMessage", "", 9000);
	assert_int_equal(fb_pace_next(p, 6000, &pk), FB_PACE_WAIT);
	assert_int_equal(pk.wait_ms, 3000);
	fb_pace_free(p, NULL);
}

/* Once a queue forms: a storm card (PERSON), then critical, warning, info;
 * the oldest first within one. */
static void severity_orders_the_queue(void **s)
{
	fb_pace *p = NULL;
	int64_t at[16], ids[16];
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < FB_PACE_POST_BURST; i++) /* the burst is spent */
		add(p, "", "chat.postMessage", "C1", FB_PACE_PRIO_LOW, 0);
	assert_int_equal(drain(p, 0, 0, at, ids, 16), FB_PACE_POST_BURST);
	int64_t first = next_id;
	add(p, "incident-i", "card", "C1", fb_pace_priority("info"), 0);
	add(p, "incident-w", "card", "C1", fb_pace_priority("warning"), 0);
	add(p, "incident-c", "card", "C1", fb_pace_priority("critical"), 0);
	add(p, "incident-w2", "card", "C1", fb_pace_priority("warning"), 0);
	add(p, "storm-C1-1", "card", "C1", FB_PACE_PRIO_PERSON, 0);
	assert_int_equal(drain(p, 1, 10000, at, ids, 16), 5);
	assert_int_equal(ids[0], first + 4); /* the storm card */
	assert_int_equal(ids[1], first + 2); /* critical */
	assert_int_equal(ids[2], first + 1); /* warning, the older */
	assert_int_equal(ids[3], first + 3);
	assert_int_equal(ids[4], first + 0); /* info */
	fb_pace_free(p, NULL);
}

static void three_updates_of_one_card_make_one_call(void **s)
{
	fb_pace *p = NULL;
	fb_pace_pick pk;
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 1);
	int64_t first = next_id - 1;
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 1);
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 1);
	int64_t newest = next_id - 1;

	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.update");
	assert_int_equal(pk.id, newest); /* the newest body */
	assert_int_equal((intptr_t)pk.data, newest);
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_DROP);
	assert_int_equal(pk.id, first);
	assert_int_equal((intptr_t)pk.data, first);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_DROP);
	assert_int_equal(pk.id, first + 1);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_IDLE);
	fb_pace_free(p, NULL);
}

/* A card not yet posted takes the newest body too, and keeps its place:
 * the thread line written after it still waits for it. */
static void a_post_takes_the_newest_card_and_keeps_its_place(void **s)
{
	fb_pace *p = NULL;
	fb_pace_pick pk;
	(void)s;
	assert_int_equal(fb_pace_new(0, &p), FB_OK);
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 0);
	int64_t first = next_id - 1;
	add(p, "incident-a", "thread", "C1", FB_PACE_PRIO_LOW, 0);
	int64_t line = next_id - 1;
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 0);
	int64_t newest = next_id - 1;

	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.postMessage");
	assert_int_equal(pk.id, newest);
	/* in flight, the card has no ts: the thread line may not go */
	int64_t card = pk.id;
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_DROP);
	assert_int_equal(pk.id, first);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, card); /* not the thread line: the post again */
	fb_pace_card(p, "incident-a", 1);
	fb_pace_done(p, card);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, line);
	assert_string_equal(pk.called, "chat.postMessage");
	fb_pace_done(p, pk.id);

	/* a thread line whose card is queued behind it waits for the card */
	add(p, "incident-b", "thread", "C1", FB_PACE_PRIO_LOW, 0);
	line = next_id - 1;
	add(p, "incident-b", "card", "C1", FB_PACE_PRIO_LOW, 0);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, next_id - 1);
	fb_pace_card(p, "incident-b", 1);
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, line);
	fb_pace_done(p, pk.id);

	/* a deleted card: the update becomes a post again */
	add(p, "incident-c", "card", "C1", FB_PACE_PRIO_LOW, 1);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.update");
	fb_pace_card(p, "incident-c", 0);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.postMessage");
	fb_pace_free(p, NULL);
}

static void critical_incidents_go_first_when_a_queue_forms(void **s)
{
	fb_pace *p = NULL;
	int64_t at[32], ids[32];
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < 6; i++) {
		char inc[32];
		snprintf(inc, sizeof(inc), "incident-low-%d", i);
		add(p, inc, "card", "C1", fb_pace_priority("info"), 0);
	}
	add(p, "incident-crit", "card", "C1", fb_pace_priority("critical"), 0);
	int64_t crit = next_id - 1;
	add(p, "incident-warn", "card", "C1", fb_pace_priority("warning"), 0);
	int64_t warn = next_id - 1;
	add(p, "incident-crit", "thread", "C1", fb_pace_priority("critical"), 0);
	int64_t crit_line = next_id - 1;

	size_t n = drain(p, 0, 60000, at, ids, 32);
	assert_int_equal(n, 9);
	/* all may go at once: critical first (its thread line once its card
	 * has left the queue), then warning; the burst is spent */
	assert_int_equal(ids[0], crit);
	assert_int_equal(ids[1], crit_line);
	assert_int_equal(ids[2], warn);
	assert_true(at[2] == 0 && at[3] == 1000);
	for (size_t i = 3; i < n; i++)
		assert_true(ids[i] < crit); /* then the others, oldest first */
	fb_pace_free(p, NULL);
	assert_int_equal(fb_pace_priority("critical"), FB_PACE_PRIO_CRITICAL);
	assert_int_equal(fb_pace_priority("warning"), FB_PACE_PRIO_WARNING);
	assert_int_equal(fb_pace_priority(""), FB_PACE_PRIO_LOW);
}

/* An update need not wait behind thread lines paced at one a second;
 * thread lines keep their order. */
static void an_update_does_not_wait_behind_thread_lines(void **s)
{
	fb_pace *p = NULL;
	fb_pace_pick pk;
	int64_t first;
	(void)s;
	assert_int_equal(fb_pace_new(-1, &p), FB_OK);
	for (int i = 0; i < 5; i++)
		add(p, "incident-a", "thread", "C1", FB_PACE_PRIO_LOW, 1);
	first = next_id - 5;
	add(p, "incident-a", "card", "C1", FB_PACE_PRIO_LOW, 1);
	for (int i = 0; i < FB_PACE_POST_BURST; i++) {
		assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
		assert_int_equal(pk.id, first + i);
		fb_pace_done(p, pk.id);
	}
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_SEND);
	assert_string_equal(pk.called, "chat.update");
	fb_pace_done(p, pk.id);
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_WAIT);
	assert_int_equal(pk.wait_ms, 1000);
	assert_int_equal(fb_pace_next(p, 1000, &pk), FB_PACE_SEND);
	assert_int_equal(pk.id, first + FB_PACE_POST_BURST);
	fb_pace_free(p, NULL);
}

static void overrides_flat_and_off(void **s)
{
	fb_pace *p = NULL;
	int64_t at[64], ids[64];
	(void)s;
	/* flat: one post per channel per 250 ms, no burst, updates unpaced */
	assert_int_equal(fb_pace_new(250, &p), FB_OK);
	for (int i = 0; i < 4; i++)
		add(p, "", "chat.postMessage", "C1", FB_PACE_PRIO_LOW, 0);
	for (int i = 0; i < 20; i++)
		add(p, "", "chat.update", "C1", FB_PACE_PRIO_LOW, 0);
	size_t n = drain(p, 0, 10000, at, ids, 64);
	assert_int_equal(n, 24);
	assert_int_equal(at[n - 1], 750);
	fb_pace_free(p, NULL);

	/* off: everything at once, but a 429 is still waited out */
	assert_int_equal(fb_pace_new(0, &p), FB_OK);
	for (int i = 0; i < 30; i++)
		add(p, "", "chat.postMessage", "C1", FB_PACE_PRIO_LOW, 0);
	n = drain(p, 0, 0, at, ids, 64);
	assert_int_equal(n, 30);
	add(p, "", "chat.postMessage", "C1", FB_PACE_PRIO_LOW, 0);
	fb_pace_hold(p, "chat.postMessage", 2000);
	fb_pace_pick pk;
	assert_int_equal(fb_pace_next(p, 0, &pk), FB_PACE_WAIT);
	assert_int_equal(pk.wait_ms, 2000);
	assert_int_equal(fb_pace_len(p), 1);
	fb_pace_free(p, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_burst_then_one_a_second_per_channel),
	    cmocka_unit_test(two_channels_do_not_wait_for_each_other),
	    cmocka_unit_test(methods_follow_their_tiers),
	    cmocka_unit_test(a_429_holds_its_method_only),
	    cmocka_unit_test(a_429_on_posts_holds_that_channel_only),
	    cmocka_unit_test(severity_orders_the_queue),
	    cmocka_unit_test(three_updates_of_one_card_make_one_call),
	    cmocka_unit_test(a_post_takes_the_newest_card_and_keeps_its_place),
	    cmocka_unit_test(critical_incidents_go_first_when_a_queue_forms),
	    cmocka_unit_test(an_update_does_not_wait_behind_thread_lines),
	    cmocka_unit_test(overrides_flat_and_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
