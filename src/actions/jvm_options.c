/*
 * jvm_options.c - owns reading and rewriting a JVM options string
 * ("-Xms512m -Xmx1g -XX:+UseG1GC", "-XX:MaxRAMPercentage=75.0"): the
 * heap size it sets, the share of the container's memory it gives the
 * heap, a new value spliced in place of the old one (the rest of the
 * string byte for byte), and the check of a person's options string.
 * Pure functions; any thread.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"
#include "firebreak/quantity.h"

#define MI (1024.0 * 1024.0)

/* "1g", "1536m", "2048M", "1073741824" -> bytes; 0 when not a JVM size. */
int fb_action_jvm_size(const char *s, size_t n, double *bytes, char *unit)
{
	size_t i = 0;
	double v = 0, mul = 1;

	while (i < n && isdigit((unsigned char)s[i]))
		v = v * 10 + (s[i++] - '0');
	if (i == 0 || v <= 0)
		return 0;
	*unit = '\0';
	if (i < n) {
		const char *u = strchr("kKmMgGtT", s[i]);
		if (!u || !*u || i + 1 != n)
			return 0;
		*unit = s[i];
		mul = pow(1024.0, (double)((u - "kKmMgGtT") / 2 + 1));
	}
	*bytes = v * mul;
	return 1;
}

/* The last token of opts that starts with prefix (the JVM takes the
 * last); NULL when none.  *len is the token's length. */
static const char *last_token(const char *opts, const char *prefix, size_t *len)
{
	const char *found = NULL, *p = opts;
	size_t k = strlen(prefix);

	while (*p) {
		size_t n;
		while (isspace((unsigned char)*p))
			p++;
		n = strcspn(p, " \t\r\n");
		if (n >= k && !strncmp(p, prefix, k)) {
			found = p;
			*len = n;
		}
		p += n;
	}
	return found;
}

int fb_action_jvm_heap(const char *opts, double *bytes, char *unit)
{
	size_t n = 0;
	const char *t = last_token(opts, "-Xmx", &n);
	if (!t)
		return 0;
	return fb_action_jvm_size(t + 4, n - 4, bytes, unit) ? 1 : -1;
}

int fb_action_jvm_ram_pct(const char *opts, double *pct)
{
	size_t n = 0;
	char num[32], *end;
	const char *t = last_token(opts, "-XX:MaxRAMPercentage=", &n);
	if (!t)
		return 0;
	t += 21;
	n -= 21;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, t, n);
	num[n] = '\0';
	*pct = strtod(num, &end);
	return *end || !(*pct > 0 && *pct <= 100) ? -1 : 1;
}

int fb_action_jvm_opts(const char *value)
{
	return strstr(value, "-Xmx") || strstr(value, "MaxRAMPercentage");
}

/* bytes in the JVM's own notation, in unit when whole in it, else in the
 * next smaller unit of the same case ("g" -> "m"), else in bytes. */
void fb_action_jvm_format(double bytes, char unit, char *out, size_t outsz)
{
	static const char units[] = "kmgt";
	const char *u = unit ? strchr(units, tolower((unsigned char)unit)) : NULL;

	for (int i = u ? (int)(u - units) : -1; i >= 0; i--) {
		double mul = pow(1024.0, i + 1), v = bytes / mul;
		if (fabs(v - round(v)) < 1e-9) {
			char c = isupper((unsigned char)unit) ? (char)toupper(units[i]) : units[i];
			snprintf(out, outsz, "%.0f%c", round(v), c);
			return;
		}
	}
	snprintf(out, outsz, "%.0f", ceil(bytes));
}

/* opts with the value of the last prefix token replaced by value. */
int fb_action_jvm_splice(const char *opts, const char *prefix, const char *value, char *out,
                         size_t outsz)
{
	size_t n = 0, k = strlen(prefix);
	const char *t = last_token(opts, prefix, &n);
	int w;

	if (!t)
		return 0;
	w = snprintf(out, outsz, "%.*s%s%s", (int)(t - opts + k), opts, value, t + n);
	return w > 0 && (size_t)w < outsz;
}

/* A person's options string: one line, the heap settings well formed,
 * the heap within policy.max_memory. */
fb_err fb_action_jvm_validate(const fb_config *cfg, const char *path, const char *value)
{
	fb_quantity max;
	double heap = 0, pct = 0;
	char unit;

	if (strlen(value) >= 256)
		return fb_error_set(FB_EINVAL, "%s: the options are longer than 255 bytes", path);
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20)
			return fb_error_set(FB_EINVAL, "%s: the options must be one line", path);
	int h = fb_action_jvm_heap(value, &heap, &unit);
	if (h < 0)
		return fb_error_set(FB_EINVAL, "%s: -Xmx needs a size like -Xmx1536m or -Xmx2g",
		                    path);
	if (fb_action_jvm_ram_pct(value, &pct) < 0)
		return fb_error_set(FB_EINVAL,
		                    "%s: -XX:MaxRAMPercentage needs a number above 0, at most 100",
		                    path);
	if (h > 0 && fb_quantity_parse(cfg->policy.max_memory, &max) == FB_OK && heap > max.value)
		return fb_error_set(FB_EINVAL,
		                    "%s: the heap (%.0fMi) is above the policy maximum %s", path,
		                    heap / MI, cfg->policy.max_memory);
	return FB_OK;
}
