/*
 * salvage.c - owns the stand-in for an envelope that cannot be read whole
 * (salvage_int.h): its envelope_id, type and who sent it, found in the
 * raw bytes that were kept, so that Slack gets its ack and the person a
 * reply instead of silence.  Pure function; socket.c calls it on the io
 * thread.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "salvage_int.h"

/* The string value of "key" (an unescaped JSON string of [-A-Za-z0-9_.])
 * in s[0..n), at its first structural occurrence; 0 when none. */
static int raw_field(const char *s, size_t n, const char *key, char *out, size_t outsz)
{
	char pat[48];
	size_t k = (size_t)snprintf(pat, sizeof(pat), "\"%s\"", key);

	if (!s || k >= sizeof(pat))
		return 0;
	for (size_t i = 0; i + k < n; i++) {
		if (memcmp(s + i, pat, k) || (i && s[i - 1] == '\\'))
			continue;
		size_t j = i + k, o = 0;
		while (j < n && (s[j] == ' ' || s[j] == ':'))
			j++;
		if (j >= n || s[j] != '"')
			continue;
		for (j++; j < n && o + 1 < outsz && s[j] != '"'; j++) {
			char c = s[j];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
			      c == '/'))
				break;
			out[o++] = c;
		}
		out[o] = '\0';
		if (j < n && s[j] == '"' && o)
			return 1;
	}
	return 0;
}

static int contains(const char *s, size_t n, const char *pat, size_t k)
{
	for (size_t i = 0; s && i + k <= n; i++)
		if (!memcmp(s + i, pat, k))
			return 1;
	return 0;
}

/* key from head, else from tail. */
static int field(const char *head, size_t head_n, const char *tail, size_t tail_n, const char *key,
                 char *out, size_t outsz)
{
	*out = '\0';
	return raw_field(head, head_n, key, out, outsz) || raw_field(tail, tail_n, key, out, outsz);
}

char *fb_salvage_envelope(const char *head, size_t head_n, const char *tail, size_t tail_n,
                          const char *why)
{
	static const char *const types[] = {"slash_commands", "interactive", "events_api"};
	static const char *const who[] = {"command", "user_id", "channel_id"};
	char eid[128], v[128], type[32] = "unknown";
	cJSON *o, *p;
	char *json;

	if (!field(head, head_n, tail, tail_n, "envelope_id", eid, sizeof(eid)))
		return NULL;
	/* the envelope's type, not a payload's: one of Slack's three */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) * 2; i++) {
		char pat[48]; /* compact JSON, or with a space after the colon */
		int k =
		    snprintf(pat, sizeof(pat), "\"type\":%s\"%s\"", i % 2 ? " " : "", types[i / 2]);
		if (contains(head, head_n, pat, (size_t)k) ||
		    contains(tail, tail_n, pat, (size_t)k)) {
			snprintf(type, sizeof(type), "%s", types[i / 2]);
			break;
		}
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "envelope_id", eid);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, FB_SALVAGE_KEY, why);
	p = cJSON_AddObjectToObject(o, "payload");
	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++)
		if (field(head, head_n, tail, tail_n, who[i], v, sizeof(v)))
			cJSON_AddStringToObject(p, who[i], v);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return json;
}
