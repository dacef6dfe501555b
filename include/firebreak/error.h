/*
 * error.h - the program's one error type and its last-error message.
 *
 * Every fallible function returns an fb_err (FB_OK is 0, failures are
 * negative) and, on failure, leaves a human-readable message retrievable
 * with fb_error_last().  Library error codes (SQLite, libgit2, libyaml,
 * PCRE2) are translated into this type at the edge of the module that calls
 * the library.  The message is thread-local, like git_error_last().
 * Messages never contain secrets: callers mask anything user-supplied.
 */
#ifndef FIREBREAK_ERROR_H
#define FIREBREAK_ERROR_H

#include <stdarg.h>

typedef enum {
	FB_OK = 0,
	FB_ERR = -1,       /* generic failure */
	FB_ENOMEM = -2,    /* allocation failed */
	FB_EINVAL = -3,    /* bad input: malformed, out of range, hostile */
	FB_ENOTFOUND = -4, /* the thing asked for does not exist */
	FB_ECONFLICT = -5, /* the world changed under us (file, tree, state) */
	FB_EIO = -6,       /* filesystem or network I/O */
	FB_ESTATE = -7,    /* not allowed in the current state */
	FB_ETOOBIG = -8,   /* a bounded buffer or limit was exceeded */
	FB_EDB = -9,       /* the store failed */
	FB_EGIT = -10,     /* a git operation failed */
} fb_err;

/* Sets the thread's last error message and returns code, so that
 * `return fb_error_set(FB_EINVAL, "bad %s", x);` reads naturally. */
fb_err fb_error_set(fb_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
fb_err fb_error_setv(fb_err code, const char *fmt, va_list ap);

/* Prefixes the current message: "ctx: previous message". */
fb_err fb_error_wrap(fb_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message set on this thread, or "" when none. Never NULL. */
const char *fb_error_last(void);

/* The code's short name, e.g. "EINVAL". */
const char *fb_err_name(fb_err code);

void fb_error_clear(void);

#endif
