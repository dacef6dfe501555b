/*
 * forge_int.h - private to the forge family (forge.c, github.c, gitlab.c,
 * gitea.c): the HTTP call every forge makes (rate limits read from the
 * answer's headers, the forge's error message kept for people, never a
 * token) and the JSON helpers they share.
 */
#ifndef FIREBREAK_FORGE_INT_H
#define FIREBREAK_FORGE_INT_H

#include <cjson/cJSON.h>

#include "firebreak/buf.h"
#include "firebreak/forge.h"
#include "firebreak/httpc.h"

/* The answer to one call: the status and the body as JSON (NULL when it
 * is not JSON).  Free with fb_forge_answer_free_. */
typedef struct {
	long status;
	cJSON *json;
	char next[1024]; /* the Link header's rel="next" URL; "" = the last page */
} fb_forge_answer;

/* A client for the forge's API: base URL (api_url, or fallback when
 * empty), the token as a bearer, extra headers (NULL-ended, may be NULL). */
fb_err fb_forge_http_new_(const fb_config *cfg, const char *fallback, const char *const *headers,
                          fb_httpc **out);

/*
 * One request.  FB_OK whenever the forge answered something other than a
 * rate limit (the caller reads ans->status).  A rate limit: FB_EIO and
 * f->retry_after set.  A network error: FB_EIO.  who names the forge in
 * error messages.
 */
fb_err fb_forge_call_(fb_forge *f, fb_httpc *h, const char *who, const char *method,
                      const char *path, const cJSON *body, fb_forge_answer *ans);
void fb_forge_answer_free_(fb_forge_answer *ans);

/* An error for an answer the caller did not expect: "who: what: HTTP
 * status: the forge's message" (masked); FB_EIO, or FB_ESTATE for 401/403
 * (a person must fix the token). */
fb_err fb_forge_fail_(const char *who, const char *what, const fb_forge_answer *ans);

/* GET path, a list of pull (merge) requests newest first: the first read
 * into out by read; FB_ENOTFOUND "no open <what> for head" when the list
 * is empty.  Frees path (NULL text: out of memory). */
typedef void (*fb_forge_read_fn)(const cJSON *item, fb_pr *out);
fb_err fb_forge_first_(fb_forge *f, fb_httpc *h, const char *who, fb_buf *path, const char *what,
                       const char *head, fb_forge_read_fn read, fb_pr *out);

/* The forge's message: "message" (a string, or GitLab's array) and
 * GitHub's errors[].message, joined; "" when none. */
void fb_forge_message_(const cJSON *j, char *out, size_t outsz);

/* Appends "/<owner>/<name>" with each part percent-encoded. */
fb_err fb_forge_repo_path_(fb_buf *b, const char *repo);

/* A string member copied into dst (cut), "" when missing. */
void fb_forge_copy_(char *dst, size_t dstsz, const cJSON *o, const char *key);
/* A number member, 0 when missing or beyond what a long holds. */
long fb_forge_long_(const cJSON *o, const char *key);

#endif
