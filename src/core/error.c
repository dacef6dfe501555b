/*
 * error.c - owns the thread-local last-error message behind fb_err.
 * Any thread may call it; each thread sees only its own message.
 */
#include <stdio.h>
#include <string.h>

#include "firebreak/error.h"

#define FB_ERROR_MSG_MAX 1024

static _Thread_local char last_msg[FB_ERROR_MSG_MAX];

fb_err fb_error_setv(fb_err code, const char *fmt, va_list ap)
{
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	return code;
}

fb_err fb_error_set(fb_err code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fb_error_setv(code, fmt, ap);
	va_end(ap);
	return code;
}

fb_err fb_error_wrap(fb_err code, const char *fmt, ...)
{
	char prev[FB_ERROR_MSG_MAX];
	char ctx[FB_ERROR_MSG_MAX];
	va_list ap;

	memcpy(prev, last_msg, sizeof(prev));
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (prev[0] != '\0')
		snprintf(last_msg, sizeof(last_msg), "%s: %s", ctx, prev);
	else
		snprintf(last_msg, sizeof(last_msg), "%s", ctx);
	return code;
}

const char *fb_error_last(void)
{
	return last_msg;
}

void fb_error_clear(void)
{
	last_msg[0] = '\0';
}

const char *fb_err_name(fb_err code)
{
	switch (code) {
	case FB_OK: return "OK";
	case FB_ERR: return "ERR";
	case FB_ENOMEM: return "ENOMEM";
	case FB_EINVAL: return "EINVAL";
	case FB_ENOTFOUND: return "ENOTFOUND";
	case FB_ECONFLICT: return "ECONFLICT";
	case FB_EIO: return "EIO";
	case FB_ESTATE: return "ESTATE";
	case FB_ETOOBIG: return "ETOOBIG";
	case FB_EDB: return "EDB";
	case FB_EGIT: return "EGIT";
	}
	return "E?";
}
