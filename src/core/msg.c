/*
 * msg.c - owns messages as catalog keys with parameters (msg.h): their
 * JSON form, the template text layer (placeholders and sections) that
 * tmpl.c renders through, and the English rendering the CLI stores.
 * Pure functions of their inputs; any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/json.h"
#include "firebreak/msg.h"

typedef struct {
	const char *name;
	const char *data;
	size_t len;
} embedded_file;

extern const embedded_file fb_embedded_blocks[];
extern const size_t fb_embedded_blocks_count;

void fb_msg_init(fb_msg *m, const char *key)
{
	memset(m, 0, sizeof(*m));
	fb_copy_utf8(m->key, sizeof(m->key), key);
}

void fb_msg_set(fb_msg *m, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < m->n_params; i++)
		if (!strcmp(m->params[i].name, name))
			break;
	if (!value || !*value) {
		if (i < m->n_params) {
			memmove(&m->params[i], &m->params[i + 1],
			        (m->n_params - i - 1) * sizeof(m->params[0]));
			m->n_params--;
		}
		return;
	}
	if (i == m->n_params) {
		if (m->n_params == FB_MSG_PARAMS_MAX)
			return;
		m->n_params++;
		fb_copy_utf8(m->params[i].name, sizeof(m->params[i].name), name);
	}
	fb_copy_utf8(m->params[i].value, sizeof(m->params[i].value), value);
}

const char *fb_msg_get(const fb_msg *m, const char *name)
{
	for (size_t i = 0; i < m->n_params; i++)
		if (!strcmp(m->params[i].name, name))
			return m->params[i].value;
	return NULL;
}

cJSON *fb_msg_vars(const fb_msg *m)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; o && i < m->n_params; i++)
		cJSON_AddStringToObject(o, m->params[i].name, m->params[i].value);
	return o;
}

cJSON *fb_msg_json(const fb_msg *m)
{
	cJSON *o;
	if (!*m->key || !(o = cJSON_CreateObject()))
		return NULL;
	cJSON_AddStringToObject(o, "key", m->key);
	cJSON_AddItemToObject(o, "params", fb_msg_vars(m));
	return o;
}

void fb_msg_parse(fb_msg *m, const cJSON *o)
{
	const cJSON *p, *it;

	fb_msg_init(m, cJSON_IsObject(o) ? fb_json_str(o, "key") : "");
	if (!*m->key)
		return;
	p = fb_json_get(o, "params");
	cJSON_ArrayForEach(it, p)
	{
		if (cJSON_IsString(it))
			fb_msg_set(m, it->string, it->valuestring);
	}
}

/* ---- the text layer ---- */

/* The end of the section opened for name at s (just past its open tag):
 * the matching "{{/name}}", or NULL. */
static const char *section_end(const char *s, const char *name)
{
	char open1[72], open2[72], close[72];
	int level = 1;

	snprintf(open1, sizeof(open1), "{{#%s}}", name);
	snprintf(open2, sizeof(open2), "{{^%s}}", name);
	snprintf(close, sizeof(close), "{{/%s}}", name);
	for (const char *p = strstr(s, "{{"); p; p = strstr(p + 2, "{{")) {
		if (!strncmp(p, open1, strlen(open1)) || !strncmp(p, open2, strlen(open2)))
			level++;
		else if (!strncmp(p, close, strlen(close)) && --level == 0)
			return p;
	}
	return NULL;
}

static fb_err expand_n(const fb_msg_env *env, const char *s, size_t n, int depth, fb_buf *out);

/* s points at "{{#name}}" or "{{^name}}"; *next is set past the section. */
static fb_err section(const fb_msg_env *env, const char *s, const char *name, int depth,
                      fb_buf *out, const char **next)
{
	const char *body = strstr(s, "}}") + 2, *end = section_end(body, name);
	int want = s[2] == '#';

	if (!end) { /* unclosed: the rest is the section */
		*next = body + strlen(body);
		end = *next;
	} else {
		*next = end + strlen(name) + 5;
	}
	int on = env->set && env->set(env->ctx, name);
	if (on != want)
		return FB_OK;
	return expand_n(env, body, (size_t)(end - body), depth, out);
}

static fb_err expand_n(const fb_msg_env *env, const char *s, size_t n, int depth, fb_buf *out)
{
	const char *stop = s + n;
	fb_err rc = FB_OK;

	while (s < stop && !rc) {
		const char *open = strstr(s, "{{"), *close;
		char name[64];
		if (!open || open >= stop || !(close = strstr(open + 2, "}}")) || close >= stop ||
		    close - open - 2 >= (long)sizeof(name))
			return fb_buf_add(out, s, (size_t)(stop - s));
		if ((rc = fb_buf_add(out, s, (size_t)(open - s))))
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(close - open - 2), open + 2);
		if (name[0] == '#' || name[0] == '^') {
			rc = section(env, open, name + 1, depth, out, &s);
			continue;
		}
		if (name[0] != '/' && env->put)
			rc = env->put(env->ctx, name, depth, out);
		s = close + 2;
	}
	return rc;
}

fb_err fb_msg_expand(const fb_msg_env *env, const char *s, int depth, fb_buf *out)
{
	return expand_n(env, s, strlen(s), depth, out);
}

/* ---- English ---- */

typedef struct {
	const cJSON *catalog;
	const fb_msg *m;
} english_ctx;

static const char *catalog_text(const cJSON *catalog, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(catalog, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int english_set(void *ctx, const char *name);

static fb_err english_put(void *ctx, const char *name, int depth, fb_buf *out)
{
	const english_ctx *c = ctx;
	const char *v;

	if (!strncmp(name, "t.", 2)) {
		fb_msg_env env = {english_put, english_set, ctx};
		v = catalog_text(c->catalog, name + 2);
		return v && depth < 3 ? fb_msg_expand(&env, v, depth + 1, out) : FB_OK;
	}
	v = fb_msg_get(c->m, name);
	return v ? fb_buf_addstr(out, v) : FB_OK;
}

static int english_set(void *ctx, const char *name)
{
	const english_ctx *c = ctx;
	return fb_msg_get(c->m, name) != NULL;
}

void fb_msg_english(const fb_msg *m, char *out, size_t outsz)
{
	cJSON *catalog = NULL;
	const char *text;
	fb_buf b;

	out[0] = '\0';
	for (size_t i = 0; i < fb_embedded_blocks_count && !catalog; i++)
		if (!strcmp(fb_embedded_blocks[i].name, "messages.en.json"))
			catalog = cJSON_ParseWithLength(fb_embedded_blocks[i].data,
			                                fb_embedded_blocks[i].len);
	if (catalog && (text = catalog_text(catalog, m->key))) {
		english_ctx c = {catalog, m};
		fb_msg_env env = {english_put, english_set, &c};
		fb_buf_init(&b, 16384);
		fb_msg_expand(&env, text, 1, &b);
		fb_copy_utf8(out, outsz, fb_buf_str(&b));
		fb_buf_free(&b);
	}
	cJSON_Delete(catalog);
}
