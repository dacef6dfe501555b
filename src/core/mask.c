/*
 * mask.c - owns the secret patterns and their replacement.  Patterns are
 * compiled once (pthread_once, JIT when available) and are read-only
 * after that; match data is per call, so any thread may mask.
 *
 * Each pattern names the capture group that holds the secret; only that
 * group is replaced, so "password=hunter2" becomes
 * "password=[MASKED:password]" and a URL keeps its user and host.  Values
 * never start with "[" (nor a header value with a blank), which keeps
 * masking idempotent, and a run of asterisks (masked already, by someone
 * else) is left alone.  tests/data/mask/cases.txt is the corpus of what
 * is masked and what is not.  Order matters:
 * whole blocks (PEM keys) and whole header values go first, so a JWT
 * inside "Authorization: Bearer ..." is masked as the header.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "firebreak/buf.h"
#include "firebreak/mask.h"

#define MASK_MAX (64u * 1024u * 1024u)

typedef struct {
	const char *kind;
	int group; /* the capture group that is the secret */
	const char *re;
	pcre2_code *code;
} secret;

static secret secrets[] = {
    {"private_key", 0,
     "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE "
     "KEY-----|\\z)",
     NULL},
    {"authorization", 3,
     "(?i)\\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|x-amz-security-token)"
     "(\"?[ \\t]*[:=][ \\t]*\"?)(?!\\*+(?:[\"\\s]|\\z))([^\\[\"\\r\\n \\t][^\"\\r\\n]*)",
     NULL},
    {"password", 2, "(?i)\\b([a-z][a-z0-9+.-]*://[^/\\s:@\\[]*:)(?!\\*+@)([^@\\s/\\[][^@\\s/]*)(@)",
     NULL},
    {"aws_secret", 3,
     "(?i)\\b(aws_secret_access_key|aws_session_token|secretaccesskey|sessiontoken|"
     "aws_secret)(\"?\\s*[:=]\\s*\"?)([A-Za-z0-9/+=]{16,})",
     NULL},
    {"password", 3,
     "(?i)\\b([\\w.-]*?(?:password|passwd|pwd|secret|token|api_?key|apikey|access_?key|"
     "private_?key|credentials?))(\"?[ \\t]*[=:][ \\t]*[\"']?)(?!\\*+(?:[\\s\"'&,;]|\\z))"
     "([^\\s\"'&,;\\[\\]{}()<>][^\\s\"'&,;"
     "\\]{}()<>]*)",
     NULL},
    {"slack_token", 1, "\\b(xox[abprs]-[A-Za-z0-9-]{10,}|xapp-\\d-[A-Za-z0-9-]{10,})", NULL},
    {"slack_webhook", 1, "hooks\\.slack\\.com/services/(T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+)", NULL},
    {"github_token", 1, "\\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", NULL},
    {"aws_access_key", 1, "\\b((?:AKIA|ASIA)[A-Z0-9]{16})\\b", NULL},
    {"jwt", 1, "\\b(eyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,})", NULL},
};
#define NSECRETS (sizeof(secrets) / sizeof(secrets[0]))

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int compiled_ok;

static void compile_all(void)
{
	compiled_ok = 1;
	for (size_t i = 0; i < NSECRETS; i++) {
		int err;
		PCRE2_SIZE off;
		secrets[i].code = pcre2_compile((PCRE2_SPTR)secrets[i].re, PCRE2_ZERO_TERMINATED,
		                                PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
		if (!secrets[i].code) {
			compiled_ok = 0;
			continue;
		}
		pcre2_jit_compile(secrets[i].code, PCRE2_JIT_COMPLETE);
	}
}

/* Replaces every match of one pattern's secret group in in -> out. */
static fb_err mask_one(const secret *s, const char *in, size_t len, fb_buf *out,
                       pcre2_match_data *md)
{
	PCRE2_SIZE pos = 0;
	fb_err rc = FB_OK;

	while (pos <= len && !rc) {
		int n = pcre2_match(s->code, (PCRE2_SPTR)in, len, pos, 0, md, NULL);
		if (n < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		PCRE2_SIZE a = ov[2 * s->group], b = ov[2 * s->group + 1];
		if (a == PCRE2_UNSET || b <= a) {
			rc = fb_buf_add(out, in + pos, ov[1] - pos);
			pos = ov[1] > pos ? ov[1] : pos + 1;
			continue;
		}
		rc = fb_buf_add(out, in + pos, a - pos);
		if (!rc)
			rc = fb_buf_printf(out, "[MASKED:%s]", s->kind);
		if (!rc)
			rc = fb_buf_add(out, in + b, ov[1] - b);
		pos = ov[1] > pos ? ov[1] : pos + 1;
	}
	if (!rc && pos < len)
		rc = fb_buf_add(out, in + pos, len - pos);
	return rc;
}

fb_err fb_mask(const char *text, size_t len, char **out)
{
	fb_buf cur, next;
	pcre2_match_data *md;
	fb_err rc = FB_OK;

	*out = NULL;
	pthread_once(&once, compile_all);
	if (!compiled_ok)
		return fb_error_set(FB_ERR, "masking patterns failed to compile");
	md = pcre2_match_data_create(8, NULL);
	if (!md)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&cur, MASK_MAX);
	rc = fb_buf_add(&cur, text, len);
	for (size_t i = 0; i < NSECRETS && !rc; i++) {
		fb_buf_init(&next, MASK_MAX);
		rc = mask_one(&secrets[i], fb_buf_str(&cur), cur.len, &next, md);
		fb_buf_free(&cur);
		cur = next;
	}
	pcre2_match_data_free(md);
	if (rc) {
		fb_buf_free(&cur);
		return rc;
	}
	*out = fb_buf_take(&cur);
	return *out ? FB_OK : fb_error_set(FB_ENOMEM, "out of memory");
}

char *fb_mask_str(const char *s)
{
	char *out = NULL;
	if (fb_mask(s, strlen(s), &out) != FB_OK)
		return NULL;
	return out;
}
