/*
 * yamlquote.c - owns the YAML scalar writing rules yamledit splices with:
 * YAML 1.2 plain-scalar safety, quoting and escaping, and the type a plain
 * scalar reads as to Helm, so an edit never turns "1.10" into a float or
 * "yes" into a boolean.  Pure functions; any thread.
 */
#include <string.h>
#include <strings.h>

#include "yamlquote.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_space(char c)
{
	return is_blank(c) || c == '\n' || c == '\r';
}

static int is_digits(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

static size_t digits(const char *s)
{
	return strspn(s, "0123456789_");
}

/* Numbers as go-yaml reads them: ints (also 0x, 0o, 0b and YAML 1.1's
 * 1:30), floats with an optional fraction and exponent, .inf and .nan. */
static int number_type(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t ipart = digits(p), fpart = 0;

	if (!strncmp(p, "0x", 2) || !strncmp(p, "0o", 2) || !strncmp(p, "0b", 2))
		return is_digits(p + 2, "0123456789abcdefABCDEF_") ? FB_YQ_INT : FB_YQ_STR;
	if (!strcasecmp(p, ".inf") || !strcasecmp(s, ".nan"))
		return FB_YQ_FLOAT;
	if (*p >= '0' && *p <= '9' && is_digits(p, "0123456789_:"))
		return FB_YQ_INT;
	p += ipart;
	if (*p == '.')
		p += 1 + (fpart = digits(p + 1));
	if (ipart + fpart == 0 || !strpbrk(s, "0123456789"))
		return FB_YQ_STR;
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '-' || p[1] == '+');
		if (!(*p >= '0' && *p <= '9'))
			return FB_YQ_STR;
		p += strspn(p, "0123456789");
	}
	return *p ? FB_YQ_STR : FB_YQ_FLOAT;
}

/* How a plain scalar reads to Helm (go-yaml, with YAML 1.1 booleans). */
int fb_yamlquote_type(const char *s)
{
	static const char *const words[] = {
	    "~",     "null",  "Null", "NULL", "y",  "Y",    "yes",  "Yes",  "YES",
	    "n",     "N",     "no",   "No",   "NO", "true", "True", "TRUE", "false",
	    "False", "FALSE", "on",   "On",   "ON", "off",  "Off",  "OFF"};

	if (!*s)
		return FB_YQ_NULL;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return i < 4 ? FB_YQ_NULL : FB_YQ_BOOL;
	return number_type(s);
}

static int flow_indicator(char c)
{
	return c && strchr(",[]{}", c) != NULL;
}

/* Whether s can be written as a plain scalar (YAML 1.2 ns-plain). */
int fb_yamlquote_plain_safe(const char *s, int flow)
{
	size_t n = strlen(s);

	if (n == 0 || is_space(s[0]) || is_space(s[n - 1]) || !strncmp(s, "---", 3) ||
	    !strncmp(s, "...", 3))
		return 0;
	if (strchr("?:-", s[0]) ? (s[1] == '\0' || is_space(s[1]) || (flow && flow_indicator(s[1])))
	                        : strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) != NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (flow && flow_indicator(s[i])))
			return 0;
		if (c == ':' &&
		    (s[i + 1] == '\0' || is_space(s[i + 1]) || (flow && flow_indicator(s[i + 1]))))
			return 0;
		if (c == '#' && i > 0 && is_blank(s[i - 1]))
			return 0;
	}
	return 1;
}

fb_err fb_yamlquote_double(fb_buf *b, const char *v)
{
	fb_err rc = fb_buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p && rc == FB_OK; p++) {
		if (*p == '"' || *p == '\\')
			rc = fb_buf_printf(b, "\\%c", *p);
		else if (*p == '\n' || *p == '\t' || *p == '\r')
			rc = fb_buf_printf(b, "\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
		else if (*p < 0x20 || *p == 0x7f)
			rc = fb_buf_printf(b, "\\x%02x", *p);
		else
			rc = fb_buf_addc(b, (char)*p);
	}
	return rc ? rc : fb_buf_addc(b, '"');
}

fb_err fb_yamlquote_single(fb_buf *b, const char *v)
{
	fb_err rc = FB_OK;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return fb_yamlquote_double(b, v); /* single quotes cannot escape */
	rc = fb_buf_addc(b, '\'');
	for (const char *p = v; *p && rc == FB_OK; p++)
		rc = *p == '\'' ? fb_buf_add(b, "''", 2) : fb_buf_addc(b, *p);
	return rc ? rc : fb_buf_addc(b, '\'');
}

/* A new value (or key) is quoted only when plain it would not be the same
 * string, or would read as a boolean or null. */
fb_err fb_yamlquote_new(fb_buf *b, const char *v, int flow)
{
	int t = fb_yamlquote_type(v);
	if (!fb_yamlquote_plain_safe(v, flow) || t == FB_YQ_BOOL || t == FB_YQ_NULL)
		return fb_yamlquote_double(b, v);
	return fb_buf_addstr(b, v);
}
