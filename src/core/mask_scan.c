/*
 * mask_scan.c - the masker's byte scanners (any thread; no state): PEM
 * private key blocks and the values of a Kubernetes Secret's data in
 * YAML.  They work on bytes, never on UTF-8, so a block with a byte that
 * is not valid UTF-8 (a Latin-1 comment) is masked whole, which a
 * regular expression with PCRE2_MATCH_INVALID_UTF does not do.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "mask_int.h"

#define DASHES "-----"

/* Where the armour line at p ("-----BEGIN <label>-----" after the word)
 * names a private key, the end of the line's dashes; NULL otherwise. */
static const char *private_label(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == ' '))
		q++;
	if ((size_t)(end - q) < 5 || memcmp(q, DASHES, 5))
		return NULL;
	size_t n = (size_t)(q - p);
	if ((n >= 11 && !memcmp(q - 11, "PRIVATE KEY", 11)) ||
	    (n >= 17 && !memcmp(q - 17, "PRIVATE KEY BLOCK", 17)))
		return q + 5;
	return NULL;
}

/* The first private key block in [p, end): its start in *a and its end
 * (after the END line's dashes, or end when the text is cut) in *b. */
static int find_block(const char *p, const char *end, const char **a, const char **b)
{
	static const char begin[] = DASHES "BEGIN ", fin[] = DASHES "END ";
	while (p < end) {
		const char *s = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1);
		if (!s)
			return 0;
		const char *h = private_label(s + sizeof(begin) - 1, end);
		if (!h) {
			p = s + 1;
			continue;
		}
		*a = s;
		*b = end;
		for (const char *e = h; e < end;) {
			const char *f = memmem(e, (size_t)(end - e), fin, sizeof(fin) - 1);
			if (!f)
				break;
			const char *t = private_label(f + sizeof(fin) - 1, end);
			if (t) {
				*b = t;
				break;
			}
			e = f + 1;
		}
		return 1;
	}
	return 0;
}

fb_err fb_mask_scan_pem(const char *in, size_t len, fb_buf *out, int *changed)
{
	const char *p = in, *end = in + len, *a, *b;
	fb_err rc = FB_OK;

	*changed = 0;
	while (!rc && find_block(p, end, &a, &b)) {
		*changed = 1;
		rc = fb_buf_add(out, p, (size_t)(a - p));
		if (!rc)
			rc = fb_buf_addstr(out, "[MASKED:private_key]");
		p = b;
	}
	if (!rc && *changed)
		rc = fb_buf_add(out, p, (size_t)(end - p));
	return rc;
}

/* ---- Kubernetes Secrets in YAML */

static const char *line_end(const char *p, const char *end)
{
	const char *n = memchr(p, '\n', (size_t)(end - p));
	return n ? n : end;
}

static size_t indent(const char *p, const char *e)
{
	const char *q = p;
	while (q < e && (*q == ' ' || *q == '\t'))
		q++;
	return (size_t)(q - p);
}

static int blank(const char *p, const char *e)
{
	return p + indent(p, e) == e || (p + indent(p, e) + 1 == e && e[-1] == '\r');
}

/* Is [p, e) "data:" or "stringData:" alone (a map follows)? */
static int data_line(const char *p, const char *e)
{
	p += indent(p, e);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return ((size_t)(e - p) == 5 && !memcmp(p, "data:", 5)) ||
	       ((size_t)(e - p) == 11 && !memcmp(p, "stringData:", 11));
}

/* Does the YAML document around line p say "kind: Secret"? */
static int in_secret(const char *in, const char *end, const char *p)
{
	const char *a = p, *b = p;
	while (a > in) { /* back to the document's start */
		const char *s = a - 1;
		while (s > in && s[-1] != '\n')
			s--;
		if ((size_t)(end - s) >= 3 && !memcmp(s, "---", 3))
			break;
		a = s;
	}
	for (const char *e; b < end; b = e + 1) {
		e = line_end(b, end);
		if (b != p && (size_t)(e - b) >= 3 && !memcmp(b, "---", 3))
			break;
		if (e == end)
			break;
	}
	b = b < end ? b : end;
	static const char k[] = "kind: Secret";
	return memmem(a, (size_t)(b - a), k, sizeof(k) - 1) != NULL;
}

/* The value's span on the entry line [p, e) "  key: value", when the
 * value is inline and not masked yet; 0 when there is none. */
static int entry_value(const char *p, const char *e, const char **va, const char **vb)
{
	const char *c = p + indent(p, e);
	while (c < e && *c != ':')
		c++;
	if (c >= e)
		return 0;
	c++;
	while (c < e && (*c == ' ' || *c == '\t'))
		c++;
	while (e > c && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (c == e || *c == '|' || *c == '>' || *c == '#')
		return 0;
	if ((size_t)(e - c) >= 8 && !memcmp(c, "[MASKED:", 8))
		return 0;
	*va = c;
	*vb = e;
	return 1;
}

fb_err fb_mask_scan_k8s(const char *in, size_t len, fb_buf *out, int *changed)
{
	const char *end = in + len, *copied = in;
	fb_err rc = FB_OK;

	*changed = 0;
	if (len < 12 || !memmem(in, len, "kind: Secret", 12))
		return FB_OK;
	for (const char *p = in; p < end && !rc;) {
		const char *e = line_end(p, end);
		if (!data_line(p, e) || !in_secret(in, end, p)) {
			p = e + 1;
			continue;
		}
		size_t base = indent(p, e), block = 0;
		for (p = e + 1; p < end && !rc; p = e + 1) {
			e = line_end(p, end);
			if (blank(p, e))
				continue;
			size_t ind = indent(p, e);
			if (ind <= base)
				break;
			const char *va, *vb;
			if (block && ind > block) { /* a line of a block scalar */
				va = p + ind;
				vb = e > va && e[-1] == '\r' ? e - 1 : e;
			} else if (!entry_value(p, e, &va, &vb)) {
				block = ind; /* "key: |" or "key:": its lines follow */
				continue;
			} else {
				block = 0;
			}
			if ((size_t)(vb - va) >= 8 && !memcmp(va, "[MASKED:", 8))
				continue;
			*changed = 1;
			rc = fb_buf_add(out, copied, (size_t)(va - copied));
			if (!rc)
				rc = fb_buf_addstr(out, "[MASKED:k8s_secret]");
			copied = vb;
		}
	}
	if (!rc && *changed)
		rc = fb_buf_add(out, copied, (size_t)(end - copied));
	return rc;
}
