/*
 * buf.c - owns the bounded growable buffer (fb_buf).  No shared state;
 * a buffer belongs to whichever thread holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firebreak/buf.h"

void fb_buf_init(fb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : FB_BUF_MAX_DEFAULT;
}

static fb_err grow(fb_buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return fb_error_set(FB_ETOOBIG, "buffer limit of %zu bytes exceeded", b->max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return FB_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (!p)
		return fb_error_set(FB_ENOMEM, "out of memory");
	b->data = p;
	b->cap = ncap;
	return FB_OK;
}

fb_err fb_buf_add(fb_buf *b, const void *p, size_t n)
{
	fb_err rc = grow(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return FB_OK;
}

fb_err fb_buf_addstr(fb_buf *b, const char *s)
{
	return fb_buf_add(b, s, strlen(s));
}

fb_err fb_buf_addc(fb_buf *b, char c)
{
	return fb_buf_add(b, &c, 1);
}

fb_err fb_buf_printf(fb_buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	fb_err rc;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return fb_error_set(FB_EINVAL, "bad format");
	}
	rc = grow(b, (size_t)n);
	if (rc) {
		va_end(ap2);
		return rc;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
	return FB_OK;
}

void fb_buf_reset(fb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *fb_buf_str(const fb_buf *b)
{
	return b->data ? b->data : "";
}

char *fb_buf_take(fb_buf *b)
{
	char *p = b->data;
	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void fb_buf_free(fb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

fb_err fb_buf_read_fd(fb_buf *b, int fd)
{
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return FB_OK;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fb_error_set(FB_EIO, "read: %s", strerror(errno));
		}
		fb_err rc = fb_buf_add(b, chunk, (size_t)n);
		if (rc)
			return rc;
	}
}

fb_err fb_buf_read_file(fb_buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	fb_err rc;

	if (fd < 0)
		return fb_error_set(FB_EIO, "%s: %s", path, strerror(errno));
	rc = fb_buf_read_fd(b, fd);
	close(fd);
	if (rc)
		return fb_error_wrap(rc, "%s", path);
	return FB_OK;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p)
{
	size_t n = p[0] < 0x80           ? 1
	           : (p[0] >> 5) == 0x06 ? 2
	           : (p[0] >> 4) == 0x0e ? 3
	           : (p[0] >> 3) == 0x1e ? 4
	                                 : 0;
	if (n == 0 || (n == 2 && p[0] < 0xc2) || (n == 4 && p[0] > 0xf4))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
		return 0; /* overlong, or a UTF-16 surrogate */
	if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
		return 0;
	return n;
}

void fb_copy_utf8(char *dst, size_t dstsz, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	if (!dstsz)
		return;
	while (*p) {
		size_t n = utf8_seq(p);
		const char *put = n ? (const char *)p : "\xef\xbf\xbd"; /* U+FFFD */
		size_t putlen = n ? n : 3;
		if (o + putlen >= dstsz)
			break; /* too long: cut, never inside a character */
		memcpy(dst + o, put, putlen);
		o += putlen;
		p += n ? n : 1;
	}
	dst[o] = '\0';
}

char *fb_utf8_clean(const char *s)
{
	size_t len = strlen(s ? s : "");
	char *out = malloc(len * 3 + 1);
	if (out)
		fb_copy_utf8(out, len * 3 + 1, s);
	return out;
}
