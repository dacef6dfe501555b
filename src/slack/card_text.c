/*
 * card_text.c - owns the card's text shaping: the evidence window around
 * the decisive line of the excerpt, and the diff without git's header
 * lines (card_text.h).  Pure functions; the engine thread calls them while
 * it renders a card.
 */
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/card_text.h"
#include "firebreak/tmpl.h"

#define CONTEXT_LINES 3
#define MARK "\xe2\x96\xb6 " /* ▶ */

typedef struct {
	const char *s;
	size_t n;
} span;

/* How many bytes of s, whole characters, fit in max. */
static size_t fitting(const char *s, size_t max)
{
	size_t n = 0;
	while (s[n]) {
		size_t c = fb_utf8_prefix(s + n, 1);
		if (n + c > max)
			break;
		n += c;
	}
	return n;
}

/* The line of excerpt holding the evidence (its first 80 bytes, without
 * the "..." rules.c puts where it cut a long line); *at is where in the
 * line the evidence starts. */
static int find_line(const char *excerpt, const char *evidence, span *line, size_t *at)
{
	char needle[84];
	size_t n;
	const char *hit, *start, *end;

	if (!strncmp(evidence, "...", 3))
		evidence += 3;
	n = strlen(evidence);
	if (n >= 3 && !strcmp(evidence + n - 3, "..."))
		n -= 3;
	if (n > 80)
		n = fitting(evidence, 80);
	if (n == 0)
		return 0;
	memcpy(needle, evidence, n);
	needle[n] = '\0';
	if (!(hit = strstr(excerpt, needle)))
		return 0;
	for (start = hit; start > excerpt && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	line->s = start;
	line->n = end ? (size_t)(end - start) : strlen(start);
	*at = (size_t)(hit - start);
	return 1;
}

/* The line before (dir -1) or after (+1) l in excerpt; n 0 at the edge. */
static span neighbour(const char *excerpt, span l, int dir)
{
	span r = {NULL, 0};
	if (dir < 0) {
		if (l.s == excerpt)
			return r;
		const char *end = l.s - 1, *start = end;
		while (start > excerpt && start[-1] != '\n')
			start--;
		r.s = start;
		r.n = (size_t)(end - start);
	} else {
		const char *start = l.s + l.n;
		if (*start != '\n' || !start[1])
			return r;
		start++;
		const char *end = strchr(start, '\n');
		r.s = start;
		r.n = end ? (size_t)(end - start) : strlen(start);
	}
	return r;
}

static char *clip_copy(const char *s, size_t max)
{
	size_t n = fitting(s, max);
	char *out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

/* A line longer than max: the part around at (a third before it), with
 * "…" where it was cut. */
static char *around(span line, size_t at, size_t max)
{
	size_t room = max - 8, from = at > room / 3 ? at - room / 3 : 0, take;
	fb_buf b;

	if (from + room > line.n)
		from = line.n > room ? line.n - room : 0;
	while (from < line.n && ((unsigned char)line.s[from] & 0xC0) == 0x80)
		from++;
	take = line.n - from < room ? line.n - from : room;
	while (take && from + take < line.n && ((unsigned char)line.s[from + take] & 0xC0) == 0x80)
		take--;
	fb_buf_init(&b, max + 16);
	fb_buf_addstr(&b, from ? "\xe2\x80\xa6" : "");
	fb_buf_add(&b, line.s + from, take);
	fb_buf_addstr(&b, from + take < line.n ? "\xe2\x80\xa6" : "");
	return fb_buf_take(&b);
}

char *fb_card_text_evidence(const char *excerpt, const char *evidence, size_t max)
{
	span line, before[CONTEXT_LINES], after[CONTEXT_LINES];
	size_t nb = 0, na = 0, used, at = 0;
	fb_buf b;

	if (!excerpt || !*evidence || !find_line(excerpt, evidence, &line, &at))
		return clip_copy(evidence, max);
	if (line.n + strlen(MARK) >= max) /* the line alone, around the evidence */
		return around(line, at, max);
	used = line.n + strlen(MARK);
	/* nearest lines first, alternating before and after */
	span pb = line, pa = line;
	for (int i = 0; i < CONTEXT_LINES; i++) {
		span x = neighbour(excerpt, pb, -1), y;
		if (x.s && used + x.n + 3 <= max) {
			before[nb++] = pb = x;
			used += x.n + 3;
		}
		y = neighbour(excerpt, pa, +1);
		if (y.s && used + y.n + 3 <= max) {
			after[na++] = pa = y;
			used += y.n + 3;
		}
	}
	fb_buf_init(&b, max + 64);
	for (size_t i = nb; i-- > 0;) {
		fb_buf_addstr(&b, "  ");
		fb_buf_add(&b, before[i].s, before[i].n);
		fb_buf_addc(&b, '\n');
	}
	fb_buf_addstr(&b, nb || na ? MARK : "");
	fb_buf_add(&b, line.s, line.n);
	for (size_t i = 0; i < na; i++) {
		fb_buf_addstr(&b, "\n  ");
		fb_buf_add(&b, after[i].s, after[i].n);
	}
	return fb_buf_take(&b);
}

/* ---- text inside a mrkdwn code block ---- */

#define ZWSP "\xe2\x80\x8b" /* U+200B, zero width space */

char *fb_card_text_code(const char *s)
{
	size_t n = strlen(s), ticks = 0;
	fb_buf b;

	for (size_t i = 0; i < n; i++)
		ticks += s[i] == '`';
	fb_buf_init(&b, n + ticks * 3 + 8);
	for (size_t i = 0; i < n; i++) {
		/* no two backticks side by side, none against the fence */
		if (s[i] == '`' && (i == 0 || s[i - 1] == '`'))
			fb_buf_addstr(&b, ZWSP);
		fb_buf_addc(&b, s[i]);
	}
	if (n && s[n - 1] == '`')
		fb_buf_addstr(&b, ZWSP);
	return fb_buf_take(&b);
}

/* ---- the diff ---- */

static int starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && !memcmp(s, prefix, k);
}

/* The file a "diff --git a/X b/X" line names: X (from "+++ b/" when set). */
static void file_of(const char *s, size_t n, fb_buf *out)
{
	const char *b = NULL;
	for (size_t i = 0; i + 3 < n; i++)
		if (!memcmp(s + i, " b/", 3))
			b = s + i + 3;
	if (b)
		fb_buf_add(out, b, (size_t)(s + n - b));
}

char *fb_card_text_diff(const char *diff)
{
	size_t files = 0;
	int header = 0;
	fb_buf b;

	for (const char *p = diff; (p = strstr(p, "diff --git ")); p++)
		if (p == diff || p[-1] == '\n')
			files++;
	fb_buf_init(&b, strlen(diff) + 1024);
	for (const char *s = diff; *s;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (starts(s, n, "diff --git ")) {
			header = 1;
			if (files > 1) {
				fb_buf_addstr(&b, "\xe2\x94\x80\xe2\x94\x80 "); /* ── */
				file_of(s, n, &b);
				fb_buf_addc(&b, '\n');
			}
		} else if (starts(s, n, "@@")) {
			header = 0;
		}
		if (!header)
			fb_buf_add(&b, s, n + (nl ? 1 : 0));
		s += n + (nl ? 1 : 0);
	}
	/* a values file in Latin-1: the card shows U+FFFD, Slack takes it */
	char *raw = fb_buf_take(&b), *clean = fb_utf8_clean(raw);
	free(raw);
	return clean;
}
