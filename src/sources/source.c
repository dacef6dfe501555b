/*
 * source.c - owns the source family's table (name -> ops) and the batch a
 * source hands the engine (source.h).  Batches are made on a poller's
 * thread or the engine's and freed by whoever holds them last; the table
 * is constant.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "firebreak/json.h"
#include "source_int.h"

#define BATCH_SIGNALS_MAX 10000

/* The table: one row per source. */
static const fb_source_ops *const sources[] = {
    &fb_source_loki,
    &fb_source_logfile,
    &fb_source_alertmanager,
    &fb_source_manual,
};

const fb_source_ops *fb_source_at(size_t i)
{
	return i < sizeof(sources) / sizeof(sources[0]) ? sources[i] : NULL;
}

const fb_source_ops *fb_source_find(const char *name)
{
	for (size_t i = 0; name && fb_source_at(i); i++)
		if (!strcmp(sources[i]->name, name))
			return sources[i];
	return NULL;
}

const char *fb_source_app_from_labels(const cJSON *labels)
{
	static const char *keys[] = {
	    "app", "app_kubernetes_io_name", "container", "deployment", "statefulset", "service",
	    "job"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (*fb_json_str(labels, keys[i]))
			return fb_json_str(labels, keys[i]);
	return "";
}

fb_err fb_source_batch_new(const char *source, fb_source_batch **out)
{
	fb_source_batch *b;

	*out = NULL;
	if (!source || !*source || strlen(source) >= sizeof(b->source))
		return fb_error_set(FB_EINVAL, "a source name must have 1 to %zu characters",
		                    sizeof(b->source) - 1);
	if (!(b = calloc(1, sizeof(*b))))
		return fb_error_set(FB_ENOMEM, "out of memory");
	snprintf(b->source, sizeof(b->source), "%s", source);
	*out = b;
	return FB_OK;
}

fb_err fb_source_batch_add(fb_source_batch *b, const fb_source_signal *sig, const char *text,
                           size_t len, fb_source_signal **added)
{
	fb_source_signal *s;

	if (added)
		*added = NULL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4;
		fb_source_signal *grown;
		if (b->n >= BATCH_SIGNALS_MAX)
			return fb_error_set(FB_EINVAL, "more than %d signals in one batch",
			                    BATCH_SIGNALS_MAX);
		if (!(grown = realloc(b->signals, cap * sizeof(*grown))))
			return fb_error_set(FB_ENOMEM, "out of memory");
		b->signals = grown;
		b->cap = cap;
	}
	s = &b->signals[b->n];
	*s = *sig;
	if (!(s->text = malloc(len + 1)))
		return fb_error_set(FB_ENOMEM, "out of memory");
	if (len)
		memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->len = len;
	b->n++;
	if (added)
		*added = s;
	return FB_OK;
}

void fb_source_batch_set_cursor(fb_source_batch *b, const char *name, char *cursor)
{
	snprintf(b->cursor_name, sizeof(b->cursor_name), "%s", name ? name : "");
	free(b->cursor);
	b->cursor = cursor;
}

void fb_source_batch_free(fb_source_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->signals[i].text);
	free(b->signals);
	free(b->cursor);
	free(b);
}
