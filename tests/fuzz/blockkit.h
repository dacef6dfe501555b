/*
 * blockkit.h - Block Kit's published limits, checked on what the card
 * renderer builds (the same rules as tests/fakes/slack_sim.py): at most
 * 50 blocks (100 in a modal), non-empty text objects within their
 * lengths (in characters), header 150, section fields <= 10 of <= 2000,
 * actions <= 25 elements, context <= 10, buttons 75/2000/3000, ids <= 255
 * and unique, every string valid UTF-8.  Returns a problem or NULL.
 */
#ifndef FUZZ_BLOCKKIT_H
#define FUZZ_BLOCKKIT_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static char bk_why[512];

/* Characters in a valid UTF-8 string; -1 when it is not valid UTF-8. */
static inline long bk_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;
	while (*p) {
		int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		if (!len || (len == 2 && *p < 0xc2) || (len == 4 && *p > 0xf4))
			return -1;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		if (len == 3 && ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] >= 0xa0)))
			return -1;
		if (len == 4 && ((*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 && p[1] >= 0x90)))
			return -1;
		p += len;
		n++;
	}
	return n;
}

static inline const char *bk_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline int bk_bad(const char *what, const char *where)
{
	snprintf(bk_why, sizeof(bk_why), "%s: %s", where, what);
	return 0;
}

static inline int bk_max(const cJSON *o, const char *k, long max, const char *where)
{
	const char *s = bk_str(o, k);
	if (!s)
		return 1;
	long n = bk_chars(s);
	if (n < 0)
		return bk_bad("not UTF-8", where);
	return n <= max ? 1 : bk_bad("too long", where);
}

static inline int bk_text(const cJSON *t, long max, int plain, const char *where)
{
	const char *type = bk_str(t, "type"), *s = bk_str(t, "text");
	if (!type || (strcmp(type, "plain_text") && (plain || strcmp(type, "mrkdwn"))))
		return bk_bad("text type", where);
	if (!s || !*s)
		return bk_bad("empty text", where);
	return bk_max(t, "text", max, where);
}

static inline int bk_element(const cJSON *el, const char *where)
{
	const char *type = bk_str(el, "type");
	if (!type)
		return bk_bad("element without a type", where);
	if (!bk_max(el, "action_id", 255, where))
		return 0;
	if (!strcmp(type, "button"))
		return bk_text(cJSON_GetObjectItemCaseSensitive(el, "text"), 75, 1, where) &&
		       bk_max(el, "value", 2000, where) && bk_max(el, "url", 3000, where);
	if (!strcmp(type, "plain_text_input"))
		return bk_max(el, "initial_value", 3000, where);
	return 1;
}

/* Each string anywhere in j is valid UTF-8. */
static inline int bk_utf8(const cJSON *j)
{
	const cJSON *c;
	if (cJSON_IsString(j) && bk_chars(j->valuestring) < 0)
		return bk_bad("not UTF-8", j->string ? j->string : "a string");
	if (j && j->string && bk_chars(j->string) < 0)
		return bk_bad("a key is not UTF-8", "a key");
	cJSON_ArrayForEach(c, j)
	{
		if (!bk_utf8(c))
			return 0;
	}
	return 1;
}

static inline int bk_block(const cJSON *b, int i)
{
	char where[64];
	const char *type = bk_str(b, "type");
	const cJSON *el, *list;
	snprintf(where, sizeof(where), "/blocks/%d", i);
	if (!type)
		return bk_bad("block without a type", where);
	if (!bk_max(b, "block_id", 255, where))
		return 0;
	if (!strcmp(type, "section")) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
		list = cJSON_GetObjectItemCaseSensitive(b, "fields");
		if (!t && !list)
			return bk_bad("section without text or fields", where);
		if (t && !bk_text(t, 3000, 0, where))
			return 0;
		if (list && (cJSON_GetArraySize(list) < 1 || cJSON_GetArraySize(list) > 10))
			return bk_bad("fields", where);
		cJSON_ArrayForEach(el, list) if (!bk_text(el, 2000, 0, where)) return 0;
		el = cJSON_GetObjectItemCaseSensitive(b, "accessory");
		return !el || bk_element(el, where);
	}
	if (!strcmp(type, "header"))
		return bk_text(cJSON_GetObjectItemCaseSensitive(b, "text"), 150, 1, where);
	list = cJSON_GetObjectItemCaseSensitive(b, "elements");
	if (!strcmp(type, "actions") || !strcmp(type, "context")) {
		int max = strcmp(type, "actions") ? 10 : 25;
		if (cJSON_GetArraySize(list) < 1 || cJSON_GetArraySize(list) > max)
			return bk_bad("elements", where);
		int n = 0;
		cJSON_ArrayForEach(el, list)
		{
			const char *aid = bk_str(el, "action_id");
			int k = 0;
			const cJSON *o;
			cJSON_ArrayForEach(o, list)
			{ /* action_ids unique in the block */
				if (k++ < n + 1)
					continue;
				if (aid && bk_str(o, "action_id") && !strcmp(aid, bk_str(o, "action_id")))
					return bk_bad("duplicate action_id", where);
			}
			n++;
			if (!strcmp(type, "context") && bk_str(el, "text") ? !bk_text(el, 3000, 0, where)
			                                                   : !bk_element(el, where))
				return 0;
		}
		return 1;
	}
	if (!strcmp(type, "input"))
		return bk_text(cJSON_GetObjectItemCaseSensitive(b, "label"), 2000, 1, where) &&
		       bk_element(cJSON_GetObjectItemCaseSensitive(b, "element"), where);
	if (!strcmp(type, "divider") || !strcmp(type, "rich_text") || !strcmp(type, "image"))
		return 1;
	return bk_bad("unknown block type", where);
}

/* A message ("blocks", max 50) or a view (max 100): 1 when it is valid. */
static inline int bk_valid(const cJSON *msg, int max_blocks)
{
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(msg, "blocks"), *b, *o;
	int i = 0;
	if (!bk_utf8(msg))
		return 0;
	if (!cJSON_IsArray(blocks))
		return bk_bad("no blocks array", "/blocks");
	if (cJSON_GetArraySize(blocks) > max_blocks)
		return bk_bad("too many blocks", "/blocks");
	if (!bk_max(msg, "text", 40000, "/text"))
		return 0;
	cJSON_ArrayForEach(b, blocks)
	{
		const char *bid = bk_str(b, "block_id");
		int k = 0;
		if (!bk_block(b, i))
			return 0;
		cJSON_ArrayForEach(o, blocks)
		{
			if (k++ <= i)
				continue;
			if (bid && bk_str(o, "block_id") && !strcmp(bid, bk_str(o, "block_id")))
				return bk_bad("duplicate block_id", "/blocks");
		}
		i++;
	}
	return 1;
}

#endif
