/*
 * tmpl.c - owns the Block Kit template engine and the message catalogs:
 * placeholder expansion, $if / $each, escaping by context, and clipping
 * every text to its Block Kit limit.  Templates and catalogs are compiled
 * in (build/gen/embedded_blocks.c from blocks/) and parsed once by
 * fb_tmpl_load; rendering only reads them, so the engine thread that owns
 * an fb_tmpl may render from it at any time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/msg.h"
#include "firebreak/tmpl.h"

typedef struct {
	const char *name;
	const char *data;
	size_t len;
} embedded_file;

extern const embedded_file fb_embedded_blocks[];
extern const size_t fb_embedded_blocks_count;

#define TEXT_MAX 3000
#define OUT_MAX (256u * 1024u)

struct fb_tmpl {
	cJSON *catalog;  /* the locale's messages */
	cJSON *fallback; /* English */
	cJSON *files;    /* name -> parsed template */
};

size_t fb_tmpl_file_count(void)
{
	return fb_embedded_blocks_count;
}

const char *fb_tmpl_file_name(size_t i)
{
	return i < fb_embedded_blocks_count ? fb_embedded_blocks[i].name : NULL;
}

const char *fb_tmpl_file(size_t i, size_t *len)
{
	if (i >= fb_embedded_blocks_count)
		return NULL;
	*len = fb_embedded_blocks[i].len;
	return fb_embedded_blocks[i].data;
}

static const embedded_file *find_file(const char *name)
{
	for (size_t i = 0; i < fb_embedded_blocks_count; i++)
		if (!strcmp(fb_embedded_blocks[i].name, name))
			return &fb_embedded_blocks[i];
	return NULL;
}

static fb_err parse_file(const char *name, cJSON **out)
{
	const embedded_file *f = find_file(name);
	if (!f)
		return fb_error_set(FB_ENOTFOUND, "no template %s", name);
	*out = cJSON_ParseWithLength(f->data, f->len);
	if (!*out)
		return fb_error_set(FB_EINVAL, "template %s is not valid JSON", name);
	return FB_OK;
}

fb_err fb_tmpl_load(const char *locale, fb_tmpl **out)
{
	fb_tmpl *t = calloc(1, sizeof(*t));
	char name[64];
	fb_err rc;

	*out = NULL;
	if (!t)
		return fb_error_set(FB_ENOMEM, "out of memory");
	snprintf(name, sizeof(name), "messages.%s.json", locale && *locale ? locale : "en");
	if ((rc = parse_file("messages.en.json", &t->fallback)) ||
	    (rc = parse_file(name, &t->catalog)) || !(t->files = cJSON_CreateObject())) {
		fb_tmpl_free(t);
		return rc ? rc : fb_error_set(FB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < fb_embedded_blocks_count; i++) {
		const char *n = fb_embedded_blocks[i].name;
		cJSON *doc;
		if (!strncmp(n, "messages.", 9))
			continue;
		if ((rc = parse_file(n, &doc))) {
			fb_tmpl_free(t);
			return rc;
		}
		cJSON_AddItemToObject(t->files, n, doc);
	}
	*out = t;
	return FB_OK;
}

void fb_tmpl_free(fb_tmpl *t)
{
	if (!t)
		return;
	cJSON_Delete(t->catalog);
	cJSON_Delete(t->fallback);
	cJSON_Delete(t->files);
	free(t);
}

/* ---- text helpers ---- */

fb_err fb_mrkdwn_escape(fb_buf *out, const char *s)
{
	fb_err rc = FB_OK;
	for (; *s && !rc; s++) {
		if (*s == '&')
			rc = fb_buf_addstr(out, "&amp;");
		else if (*s == '<')
			rc = fb_buf_addstr(out, "&lt;");
		else if (*s == '>')
			rc = fb_buf_addstr(out, "&gt;");
		else
			rc = fb_buf_addc(out, *s);
	}
	return rc;
}

size_t fb_utf8_prefix(const char *s, size_t max)
{
	size_t i = 0, chars = 0;
	while (s[i] && chars < max) {
		i++;
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	return i;
}

size_t fb_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* ---- expansion ---- */

typedef struct {
	const fb_tmpl *t;
	const cJSON *vars;  /* the caller's */
	const cJSON *local; /* the $each element, or NULL */
} scope;

static const cJSON *lookup(const scope *sc, const char *name)
{
	const cJSON *v = sc->local ? cJSON_GetObjectItemCaseSensitive(sc->local, name) : NULL;
	return v ? v : cJSON_GetObjectItemCaseSensitive(sc->vars, name);
}

static const char *msg_raw(const fb_tmpl *t, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(t->catalog, key);
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(t->fallback, key);
	return cJSON_IsString(m) ? m->valuestring : key;
}

static fb_err expand(const scope *sc, const char *s, int escape, int depth, fb_buf *out);

int fb_tmpl_has(const fb_tmpl *t, const char *key)
{
	return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t->catalog, key)) ||
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t->fallback, key));
}

static fb_err put_var(const scope *sc, const char *name, int escape, int depth, fb_buf *out)
{
	const cJSON *v;
	char num[32];
	size_t n = strlen(name);

	if (!strncmp(name, "t.", 2))
		return depth < 2 ? expand(sc, msg_raw(sc->t, name + 2), escape, depth + 1, out)
		                 : FB_OK;
	v = lookup(sc, name);
	if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%ld", (long)v->valuedouble);
		return fb_buf_addstr(out, num);
	}
	if (!cJSON_IsString(v))
		return FB_OK;
	if (escape && !(n > 3 && !strcmp(name + n - 3, "_md")))
		return fb_mrkdwn_escape(out, v->valuestring);
	return fb_buf_addstr(out, v->valuestring);
}

typedef struct {
	const scope *sc;
	int escape;
} expand_ctx;

static int truthy(const cJSON *v);

static fb_err expand_put(void *ctx, const char *name, int depth, fb_buf *out)
{
	const expand_ctx *c = ctx;
	return put_var(c->sc, name, c->escape, depth, out);
}

static int expand_set(void *ctx, const char *name)
{
	const expand_ctx *c = ctx;
	return truthy(lookup(c->sc, name));
}

/* Placeholders and sections (msg.h) with this scope's variables. */
static fb_err expand(const scope *sc, const char *s, int escape, int depth, fb_buf *out)
{
	expand_ctx c = {sc, escape};
	fb_msg_env env = {expand_put, expand_set, &c};
	return fb_msg_expand(&env, s, depth, out);
}

static int truthy(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsString(v))
		return v->valuestring[0] != '\0';
	if (cJSON_IsArray(v))
		return cJSON_GetArraySize(v) > 0;
	return 1;
}

static const char *type_of(const cJSON *o)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
	return cJSON_IsString(t) ? t->valuestring : "";
}

static cJSON *render_node(const scope *sc, const cJSON *node, const cJSON *parent, int root);

static cJSON *render_array(const scope *sc, const cJSON *arr)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *each = cJSON_GetObjectItemCaseSensitive(it, "$each");
		if (cJSON_IsString(each)) {
			const cJSON *list = lookup(sc, each->valuestring), *el;
			cJSON_ArrayForEach(el, list)
			{
				scope inner = {sc->t, sc->vars, el};
				cJSON *r = render_node(&inner, it, arr, 0);
				if (r)
					cJSON_AddItemToArray(out, r);
			}
			continue;
		}
		cJSON *r = render_node(sc, it, arr, 0);
		if (r)
			cJSON_AddItemToArray(out, r);
	}
	return out;
}

/* NULL means "drop this node" ($if false). */
static cJSON *render_node(const scope *sc, const cJSON *node, const cJSON *parent, int root)
{
	if (cJSON_IsObject(node)) {
		const cJSON *cond = cJSON_GetObjectItemCaseSensitive(node, "$if"), *kv;
		cJSON *out;
		if (cJSON_IsString(cond) && !truthy(lookup(sc, cond->valuestring)))
			return NULL;
		out = cJSON_CreateObject();
		cJSON_ArrayForEach(kv, node)
		{
			if (kv->string[0] == '$')
				continue;
			cJSON *r;
			if (cJSON_IsString(kv)) {
				/* mrkdwn text, and a message's top-level text, are escaped */
				int esc = !strcmp(kv->string, "text") &&
				          (root || !strcmp(type_of(node), "mrkdwn"));
				fb_buf b;
				fb_buf_init(&b, OUT_MAX);
				expand(sc, kv->valuestring, esc, 0, &b);
				r = cJSON_CreateString(fb_buf_str(&b) ? fb_buf_str(&b) : "");
				fb_buf_free(&b);
			} else {
				r = render_node(sc, kv, node, 0);
			}
			if (r)
				cJSON_AddItemToObject(out, kv->string, r);
		}
		return out;
	}
	if (cJSON_IsArray(node))
		return render_array(sc, node);
	(void)parent;
	return cJSON_Duplicate(node, 1);
}

/* ---- Block Kit limits ---- */

static void clip(cJSON *text_obj, size_t max)
{
	cJSON *t = cJSON_GetObjectItemCaseSensitive(text_obj, "text");
	if (!cJSON_IsString(t))
		return;
	if (t->valuestring[0] == '\0') {
		cJSON_SetValuestring(t, "-");
		return;
	}
	if (fb_utf8_len(t->valuestring) <= max)
		return;
	size_t cut = fb_utf8_prefix(t->valuestring, max - 1);
	char *s = malloc(cut + 4);
	if (!s)
		return;
	memcpy(s, t->valuestring, cut);
	memcpy(s + cut, "\xe2\x80\xa6", 4); /* … */
	cJSON_SetValuestring(t, s);
	free(s);
}

static size_t limit_for(const char *container, const char *key)
{
	static const struct {
		const char *container, *key;
		size_t max;
	} limits[] = {
	    {"modal", "title", 24},        {"modal", "submit", 24},
	    {"modal", "close", 24},        {"button", "text", 75},
	    {"header", "text", 150},       {"section", "fields", 2000},
	    {"context", "elements", 2000}, {"input", "label", 2000},
	    {"input", "hint", 2000},       {"plain_text_input", "placeholder", 150},
	    {"confirm", "title", 100},     {"confirm", "text", 300},
	    {"confirm", "confirm", 30},    {"confirm", "deny", 30},
	};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (!strcmp(limits[i].container, container) && !strcmp(limits[i].key, key))
			return limits[i].max;
	return TEXT_MAX;
}

static void clamp(cJSON *node, const char *container)
{
	cJSON *kv;
	if (cJSON_IsArray(node)) {
		cJSON_ArrayForEach(kv, node)
		{
			clamp(kv, container);
		}
		return;
	}
	if (!cJSON_IsObject(node))
		return;
	const char *ty = type_of(node);
	const char *me = *ty ? ty : container;
	/* a confirm object has no type of its own */
	if (cJSON_GetObjectItemCaseSensitive(node, "deny"))
		me = "confirm";
	cJSON_ArrayForEach(kv, node)
	{
		if (cJSON_IsObject(kv) &&
		    (!strcmp(type_of(kv), "plain_text") || !strcmp(type_of(kv), "mrkdwn")))
			clip(kv, limit_for(me, kv->string));
		else if (cJSON_IsArray(kv) &&
		         (!strcmp(kv->string, "fields") || !strcmp(me, "context"))) {
			cJSON *el;
			cJSON_ArrayForEach(el, kv)
			{
				if (!strcmp(type_of(el), "mrkdwn") ||
				    !strcmp(type_of(el), "plain_text"))
					clip(el, limit_for(me, kv->string));
				else
					clamp(el, me);
			}
		} else if (cJSON_IsObject(kv) || cJSON_IsArray(kv))
			clamp(kv, me);
	}
}

fb_err fb_tmpl_render(const fb_tmpl *t, const char *name, const cJSON *vars, cJSON **out)
{
	char file[80];
	const cJSON *tpl;
	scope sc = {t, vars, NULL};

	snprintf(file, sizeof(file), "%s.json", name);
	tpl = cJSON_GetObjectItemCaseSensitive(t->files, file);
	*out = NULL;
	if (!tpl)
		return fb_error_set(FB_ENOTFOUND, "no template %s", file);
	*out = render_node(&sc, tpl, NULL, 1);
	if (!*out)
		return fb_error_set(FB_ENOMEM, "rendering %s failed", file);
	clamp(*out, "");
	cJSON *text = cJSON_GetObjectItemCaseSensitive(*out, "text");
	if (cJSON_IsString(text) && fb_utf8_len(text->valuestring) > TEXT_MAX) {
		cJSON *wrap = cJSON_CreateObject();
		cJSON_AddStringToObject(wrap, "text", text->valuestring);
		clip(wrap, TEXT_MAX);
		cJSON_SetValuestring(text,
		                     cJSON_GetObjectItemCaseSensitive(wrap, "text")->valuestring);
		cJSON_Delete(wrap);
	}
	return FB_OK;
}

char *fb_tmpl_format(const fb_tmpl *t, const char *key, const cJSON *vars, int escape)
{
	scope sc = {t, vars, NULL};
	fb_buf b;
	char *s;

	fb_buf_init(&b, OUT_MAX);
	expand(&sc, msg_raw(t, key), escape, 1, &b);
	s = fb_buf_take(&b);
	return s ? s : strdup("");
}
