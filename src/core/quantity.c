/*
 * quantity.c - owns Kubernetes quantity parsing and formatting (the
 * grammar of k8s.io/apimachinery resource.Quantity: binary Ki..Ei, decimal
 * k..E and m, exponent form) and the "raise by a factor, capped" rule.
 * Pure functions with no shared state; any thread may call them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/quantity.h"

typedef struct {
	const char *suffix;
	double mult;
	int binary;
} unit;

/* Each family from large to small, so the units below a suffix are the
 * entries that follow it in the same family. */
static const unit units[] = {
    {"Ei", 1152921504606846976.0, 1},
    {"Pi", 1125899906842624.0, 1},
    {"Ti", 1099511627776.0, 1},
    {"Gi", 1073741824.0, 1},
    {"Mi", 1048576.0, 1},
    {"Ki", 1024.0, 1},
    {"E", 1e18, 0},
    {"P", 1e15, 0},
    {"T", 1e12, 0},
    {"G", 1e9, 0},
    {"M", 1e6, 0},
    {"k", 1e3, 0},
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

/* Beyond int64 the API server refuses the value anyway, and doubles stop
 * counting bytes exactly long before; 2^63 keeps the arithmetic honest. */
#define QTY_MAX 9223372036854775807.0
#define QTY_TEXT_MAX 64
#define EXP_MAX 18

static const unit *find_unit(const char *s)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (!strcmp(units[i].suffix, s))
			return &units[i];
	return NULL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Scans [+-] digits [. digits]; returns the end, or NULL without a digit. */
static const char *scan_number(const char *p)
{
	int digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	return digits ? p : NULL;
}

/* "e9", "E-3", "e+6": an exponent is [eE] [+-] digits and nothing more. */
static int parse_exponent(const char *s, size_t n, int *exp)
{
	char tmp[16];
	char *end;
	long e;

	if (n < 2 || n >= sizeof(tmp) || (s[0] != 'e' && s[0] != 'E'))
		return 0;
	memcpy(tmp, s + 1, n - 1);
	tmp[n - 1] = '\0';
	if (!((tmp[0] >= '0' && tmp[0] <= '9') ||
	      ((tmp[0] == '+' || tmp[0] == '-') && tmp[1] >= '0' && tmp[1] <= '9')))
		return 0;
	errno = 0;
	e = strtol(tmp, &end, 10);
	if (errno || *end || e < -EXP_MAX || e > EXP_MAX)
		return 0;
	*exp = (int)e;
	return 1;
}

/* Applies the suffix in s[0..n) to the number; 0 when it is not one. */
static int apply_suffix(const char *s, size_t n, double *v, fb_quantity *out)
{
	if (n == 0)
		return 1;
	if (n <= 2) {
		char suf[3];
		const unit *u;
		memcpy(suf, s, n);
		suf[n] = '\0';
		if ((u = find_unit(suf)) != NULL) {
			*v *= u->mult;
			memcpy(out->suffix, suf, n + 1);
			return 1;
		}
		if (!strcmp(suf, "m")) {
			*v /= 1000.0;
			memcpy(out->suffix, "m", 2);
			return 1;
		}
	}
	if (!parse_exponent(s, n, &out->exponent))
		return 0;
	*v *= pow(10.0, out->exponent);
	return 1;
}

fb_err fb_quantity_parse(const char *s, fb_quantity *out)
{
	char num[QTY_TEXT_MAX];
	const char *b, *e, *end;
	double v;

	memset(out, 0, sizeof(*out));
	if (!s)
		return fb_error_set(FB_EINVAL, "no quantity given");
	for (b = s; is_blank(*b); b++)
		;
	for (e = b + strlen(b); e > b && is_blank(e[-1]); e--)
		;
	if (e == b)
		return fb_error_set(FB_EINVAL,
		                    "empty quantity: expected a value like 512Mi or 1Gi");
	if ((size_t)(e - b) >= sizeof(num))
		return fb_error_set(FB_EINVAL, "quantity \"%.20s...\" is too long", b);
	end = scan_number(b);
	if (!end || end > e)
		return fb_error_set(FB_EINVAL,
		                    "\"%.*s\" is not a quantity: it must start with a number",
		                    (int)(e - b), b);
	memcpy(num, b, (size_t)(end - b));
	num[end - b] = '\0';
	v = strtod(num, NULL);
	if (!apply_suffix(end, (size_t)(e - end), &v, out))
		return fb_error_set(
		    FB_EINVAL,
		    "\"%.*s\" is not a quantity: unknown suffix \"%.*s\" (use Ki, Mi, "
		    "Gi, Ti, k, M, G, T, m or an exponent like e9)",
		    (int)(e - b), b, (int)(e - end), end);
	if (!isfinite(v) || fabs(v) > QTY_MAX) {
		memset(out, 0, sizeof(*out));
		return fb_error_set(FB_EINVAL, "quantity \"%.*s\" is out of range", (int)(e - b),
		                    b);
	}
	out->value = v;
	return FB_OK;
}

/* Rounds up to a whole number, except that a product which misses one by
 * float noise (104857600 * 1.2 = 125829120.00000001) is taken as that
 * number: rounding it up would turn 120Mi into a byte count. */
static double whole_up(double x)
{
	double r = nearbyint(x);
	double tol = fabs(x) * 1e-12;

	if (tol < 1e-6)
		tol = 1e-6;
	return fabs(x - r) <= tol ? r : ceil(x);
}

static fb_err put(char *out, size_t outsz, double n, const char *suffix)
{
	int w = snprintf(out, outsz, "%.0f%s", n, suffix);
	if (w < 0 || (size_t)w >= outsz)
		return fb_error_set(FB_ETOOBIG, "quantity does not fit in %zu bytes", outsz);
	return FB_OK;
}

/* Writes v (already whole) in style's own unit only; FB_ENOTFOUND when
 * it is not whole there.  ladder also tries the smaller units. */
static fb_err format_whole(double v, const fb_quantity *style, int ladder, char *out, size_t outsz)
{
	const unit *u = find_unit(style->suffix);

	if (!strcmp(style->suffix, "m"))
		return put(out, outsz, whole_up(v * 1000.0), "m");
	if (style->exponent > 0) {
		double p = pow(10.0, style->exponent);
		char exp[16];
		snprintf(exp, sizeof(exp), "e%d", style->exponent);
		if (fmod(v, p) == 0.0)
			return put(out, outsz, v / p, exp);
	}
	for (size_t i = u ? (size_t)(u - units) : NUNITS; i < NUNITS; i++) {
		if (units[i].binary != u->binary || (!ladder && &units[i] != u))
			break;
		if (fmod(v, units[i].mult) == 0.0)
			return put(out, outsz, v / units[i].mult, units[i].suffix);
	}
	if (!ladder && (u || style->exponent))
		return FB_ENOTFOUND;
	return put(out, outsz, v, "");
}

fb_err fb_quantity_format(double value, const fb_quantity *style, char *out, size_t outsz)
{
	static const fb_quantity plain;

	if (!out || outsz == 0)
		return fb_error_set(FB_EINVAL, "no room for a quantity");
	out[0] = '\0';
	if (!isfinite(value) || value < 0 || value > QTY_MAX)
		return fb_error_set(FB_EINVAL, "cannot write %g as a quantity", value);
	if (!style)
		style = &plain;
	if (!strcmp(style->suffix, "m"))
		return format_whole(value, style, 1, out, outsz);
	return format_whole(whole_up(value), style, 1, out, outsz);
}

/* Copies s without its surrounding blanks, as parse read it. */
static fb_err put_trimmed(const char *s, char *out, size_t outsz)
{
	size_t n;
	while (is_blank(*s))
		s++;
	for (n = strlen(s); n > 0 && is_blank(s[n - 1]); n--)
		;
	if (n >= outsz)
		return fb_error_set(FB_ETOOBIG, "quantity does not fit in %zu bytes", outsz);
	memcpy(out, s, n);
	out[n] = '\0';
	return FB_OK;
}

static fb_err put_cap(const fb_quantity *cur, const fb_quantity *cap, const char *max, char *out,
                      size_t outsz)
{
	/* The file's own unit reads best ("8192Mi" beside "512Mi"), but only
	 * when the cap is exact in it; otherwise the policy's own spelling. */
	fb_err rc = format_whole(whole_up(cap->value), cur, 0, out, outsz);
	if (rc == FB_ENOTFOUND || fabs(whole_up(cap->value) - cap->value) > 0.0)
		return put_trimmed(max, out, outsz);
	return rc;
}

fb_err fb_quantity_raise(const char *current, double factor, const char *max, char *out,
                         size_t outsz, int *capped)
{
	fb_quantity cur, cap;
	double next;
	fb_err rc;

	if (capped)
		*capped = 0;
	if (!out || outsz == 0)
		return fb_error_set(FB_EINVAL, "no room for a quantity");
	out[0] = '\0';
	if ((rc = fb_quantity_parse(current, &cur)) != FB_OK)
		return fb_error_wrap(rc, "current value");
	if ((rc = fb_quantity_parse(max, &cap)) != FB_OK)
		return fb_error_wrap(rc, "maximum");
	if (!isfinite(factor) || factor <= 1.0)
		return fb_error_set(
		    FB_EINVAL, "factor %g does not raise anything: it must be above 1", factor);
	if (cur.value <= 0)
		return fb_error_set(FB_EINVAL, "%s is not a positive quantity to raise", current);
	if (cur.value >= cap.value)
		return fb_error_set(FB_ECONFLICT, "%s is already at or above the maximum %s",
		                    current, max);
	next = cur.value * factor;
	if (strcmp(cur.suffix, "m"))
		next = whole_up(next);
	if (next < cap.value)
		return fb_quantity_format(next, &cur, out, outsz);
	if (capped)
		*capped = 1;
	return put_cap(&cur, &cap, max, out, outsz);
}
