/*
 * mask.c - owns the secret patterns and their replacement (any thread:
 * patterns are compiled once under pthread_once, JIT when available, and
 * are read-only after that; match data is per call).
 *
 * The text is treated as bytes, never as UTF-8: the byte scanners of
 * mask_scan.c go first (PEM private key blocks whatever their bytes, a
 * Kubernetes Secret's data), then every pattern below, compiled without
 * PCRE2_UTF so that an invalid byte neither stops a match nor hides what
 * follows it.  Each pattern names the capture group that is the secret;
 * only that group is replaced, so "password=hunter2" becomes
 * "password=[MASKED:password]" and a URL keeps its user and host.
 *
 * Idempotent: no value may start with "[MASKED:" and no pattern matches
 * inside one, so masking masked text changes nothing (a run of asterisks,
 * masked by someone else, is left alone too).  tests/data/mask/cases.txt
 * is the corpus of what is masked and what is not.  Order matters: whole
 * header values go first (a JWT inside "Authorization: Bearer ..." is
 * masked as the header), key=value forms before bare token formats.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firebreak/buf.h"
#include "firebreak/mask.h"
#include "mask_int.h"

#define MASK_MAX (64u * 1024u * 1024u)

/* Pieces of the patterns: not a value masked already, not asterisks. */
#define FRESH "(?!\\[MASKED:)"
#define QUOTED_DQ "((?:[^\"\\\\\\r\\n]|\\\\.)+)(?=\")"
#define ARG "([^\\s'\"]+|'[^'\\r\\n]*'|\"[^\"\\r\\n]*\")"

typedef struct {
	const char *kind;
	int group; /* the capture group that is the secret */
	const char *re;
	pcre2_code *code;
} secret;

static secret secrets[] = {
    /* headers whose whole value is a credential */
    {"authorization", 3,
     "(?i)\\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|x-amz-security-token|"
     "private-token|job-token|x-vault-token|dd-api-key|dd-application-key|x-goog-api-key|"
     "ocp-apim-subscription-key|x-functions-key)"
     "(\"?[ \\t]*[:=][ \\t]*\"?)" FRESH "(?!\\*+(?:[\"\\s]|\\z))([^\"'\\r\\n \\t][^\"'\\r\\n]*)",
     NULL},
    {"cookie", 2,
     "(?i)\\b((?:set-)?cookie\"?[ \\t]*:[ \\t]*\"?)" FRESH
     "(?!\\*+(?:[\"\\s]|\\z))([^\"\\r\\n \\t][^\"\\r\\n]*)",
     NULL},
    /* scheme://user:password@host: everything up to the last @ */
    {"password", 2,
     "(?i)\\b([a-z][a-z0-9+.-]*://[^/\\s:@\\[\\]\"'<>]*:)" FRESH
     "(?!\\*+@)((?:(?!\\[MASKED:)[^\\s/\"'<>`])+)(@)", /* never across a mask: idempotent */
     NULL},
    {"aws_secret", 3,
     "(?i)\\b(aws_secret_access_key|aws_session_token|secretaccesskey|sessiontoken|"
     "aws_secret)(\"?\\s*[:=]\\s*\"?)" FRESH "([A-Za-z0-9/+=]{16,})",
     NULL},
    {"azure_key", 3,
     "(?i)\\b(?|(accountkey|sharedaccesskey|sharedaccesssignature)(=)" FRESH
     "([^\\s;\"'<>]+)|(sig)(=)" FRESH "([^\\s;&\"'<>]{16,}))",
     NULL},
    /* a connection string's Password=...; runs to the ";", blanks and all */
    {"password", 2,
     "(?i)(?<![\\w.-])((?:password|pwd)[ \\t]*=[ \\t]*)" FRESH
     "([^;\\r\\n\"'\\[\\s][^;\\r\\n\"]*)(?=;)",
     NULL},
    /* name=value, name: "value", NAME='value', name<TAB>value; led by the
     * word that makes the name a secret's (the name may have any prefix,
     * a short word only after [._-]), which is several times faster than
     * trying a name at every word */
    {"password", 3,
     "(?i)(password|passwd|passphrase|secret|token|api_?key|apikey|access_?key|private_?key|"
     "credentials?|(?<![a-z0-9])(?:pwd|pass|pw)|(?-i:(?<=[A-Z0-9])_KEY))"
     "(?|(\"?[ \\t]*[=:][ \\t]*\")" FRESH "(?!\\*+\")" QUOTED_DQ "|(\"?[ \\t]*[=:][ \\t]*')" FRESH
     "(?!\\*+')([^'\\r\\n]+)(?=')"
     "|(\"?[ \\t]*[=:][ \\t]*|\\t+)" FRESH "(?!\\*+(?:[\\s\"'&,;]|\\z))"
     "([^\\s\"'&,;\\[\\]{}()<>][^\\s\"'&,;\\]{}()<>]*))",
     NULL},
    /* command lines: --password X, mysql -pX, redis-cli -a X */
    {"password", 2,
     "(?i)(?<![\\w-])(--(?:password|passwd|pass|token|secret|api-key|auth-token|"
     "access-token|client-secret))[ \\t]+(?!-)" FRESH "(?!\\*+(?:\\s|\\z))" ARG,
     NULL},
    {"password", 2,
     "(?|\\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlsh|mariadb|"
     "mariadb-dump)\\b[^\\r\\n]*?[ \\t](-p)" FRESH ARG
     "|\\bredis-cli\\b[^\\r\\n]*?[ \\t](-a)[ \\t]+(?!-)" FRESH ARG ")",
     NULL},
    {"docker_auth", 2,
     "(?i)(\"(?:auth|identitytoken|registrytoken)\"[ \\t]*:[ \\t]*\")" FRESH QUOTED_DQ, NULL},
    /* token formats, by prefix */
    {"slack_token", 1,
     "\\b(xoxe\\.xox[a-z]-\\d-[A-Za-z0-9-]{10,}|xox[a-z]-[A-Za-z0-9-]{10,}|"
     "xapp-\\d-[A-Za-z0-9-]{10,})",
     NULL},
    {"slack_webhook", 1, "hooks\\.slack\\.com/services/(T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+)", NULL},
    {"github_token", 1, "\\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", NULL},
    {"gitlab_token", 1,
     "\\b((?:glpat|glptt|gldt|glrt|glcbt|glimt|glft|glsoat|glffct|gloas|glagent)-"
     "[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,})",
     NULL},
    {"google_key", 1, "\\b(AIza[0-9A-Za-z_-]{35})", NULL},
    {"google_token", 1, "\\b(ya29\\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{20,})", NULL},
    {"stripe_key", 1, "\\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{24,})", NULL},
    {"npm_token", 1, "\\b(npm_[A-Za-z0-9]{36})", NULL},
    {"sendgrid_key", 1, "\\b(SG\\.[A-Za-z0-9_-]{16,32}\\.[A-Za-z0-9_-]{16,64})", NULL},
    {"api_key", 1,
     "\\b(sk-(?:ant-[a-z]+\\d\\d-|proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\\d)"
     "[A-Za-z0-9_-]{20,})",
     NULL},
    {"vault_token", 1, "\\b(hv[sbr]\\.[A-Za-z0-9_-]{20,})", NULL},
    {"atlassian_token", 1, "\\b((?:ATBB|ATATT|ATCTT)[A-Za-z0-9_=.-]{24,})", NULL},
    {"twilio_key", 1, "\\b(SK[0-9a-fA-F]{32})\\b", NULL},
    {"mailgun_key", 1, "\\b(key-[0-9a-zA-Z]{32})\\b", NULL},
    {"token", 1,
     "\\b(shpat_[a-fA-F0-9]{32}|shpss_[a-fA-F0-9]{32}|hf_[A-Za-z0-9]{30,}|"
     "dop_v1_[a-f0-9]{64}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|NRAK-[A-Z0-9]{27}|"
     "lin_api_[A-Za-z0-9]{40}|pul-[a-f0-9]{40}|dp\\.(?:st|ct|sa|pt)\\.[A-Za-z0-9_-]{40,}|"
     "AGE-SECRET-KEY-1[0-9A-Z]{58})",
     NULL},
    {"aws_access_key", 1, "\\b((?:AKIA|ASIA)[A-Z0-9]{16})\\b", NULL},
    {"bearer", 1, "\\b[Bb]earer[ \\t]+" FRESH "([A-Za-z0-9._~+/-]{12,}=*)", NULL},
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
		/* bytes, not UTF-8: PCRE2_NEVER_UTF refuses a (*UTF) in a pattern */
		secrets[i].code = pcre2_compile((PCRE2_SPTR)secrets[i].re, PCRE2_ZERO_TERMINATED,
		                                PCRE2_NEVER_UTF, &err, &off, NULL);
		if (!secrets[i].code) {
			compiled_ok = 0;
			continue;
		}
		pcre2_jit_compile(secrets[i].code, PCRE2_JIT_COMPLETE);
	}
}

/* Replaces every match of one pattern's secret group in in -> out; sets
 * *changed when there was one (out is untouched otherwise). */
static fb_err mask_one(const secret *s, const char *in, size_t len, fb_buf *out,
                       pcre2_match_data *md, int *changed)
{
	PCRE2_SIZE pos = 0, copied = 0;
	fb_err rc = FB_OK;

	*changed = 0;
	while (pos <= len && !rc) {
		int n = pcre2_match(s->code, (PCRE2_SPTR)in, len, pos, 0, md, NULL);
		if (n < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		PCRE2_SIZE a = ov[2 * s->group], b = ov[2 * s->group + 1];
		if (a != PCRE2_UNSET && b > a) {
			*changed = 1;
			rc = fb_buf_add(out, in + copied, a - copied);
			if (!rc)
				rc = fb_buf_printf(out, "[MASKED:%s]", s->kind);
			copied = b;
		}
		pos = ov[1] > pos ? ov[1] : pos + 1;
	}
	if (!rc && *changed && copied < len)
		rc = fb_buf_add(out, in + copied, len - copied);
	return rc;
}

/* Keeps next as the text when the step changed it, else drops it. */
static fb_err keep(fb_buf *cur, fb_buf *next, fb_err rc, int changed)
{
	if (rc || !changed) {
		fb_buf_free(next);
		return rc;
	}
	fb_buf_free(cur);
	*cur = *next;
	return FB_OK;
}

typedef fb_err (*scanner)(const char *, size_t, fb_buf *, int *);

/* One pass of every scanner and pattern over cur; *any says whether it
 * changed anything. */
static fb_err mask_pass(fb_buf *cur, pcre2_match_data *md, int *any)
{
	static const scanner scanners[] = {fb_mask_scan_pem, fb_mask_scan_k8s};
	fb_err rc = FB_OK;

	*any = 0;
	for (size_t i = 0; i < 2 && !rc; i++) { /* bytes first, then patterns */
		fb_buf next;
		int changed = 0;
		fb_buf_init(&next, MASK_MAX);
		rc = scanners[i](fb_buf_str(cur), cur->len, &next, &changed);
		*any |= changed;
		rc = keep(cur, &next, rc, changed);
	}
	for (size_t i = 0; i < NSECRETS && !rc; i++) {
		fb_buf next;
		int changed = 0;
		fb_buf_init(&next, MASK_MAX);
		rc = mask_one(&secrets[i], fb_buf_str(cur), cur->len, &next, md, &changed);
		*any |= changed;
		rc = keep(cur, &next, rc, changed);
	}
	return rc;
}

/* The most passes: a pass that masks something may expose a shape a
 * pattern earlier in the table now sees (a mask closing a URL's userinfo,
 * a Secret's line read as a block scalar), so passes repeat until one
 * changes nothing -- mask(mask(x)) == mask(x).  Text with nothing to mask
 * costs one pass. */
#define MASK_PASSES 6

fb_err fb_mask(const char *text, size_t len, char **out)
{
	fb_buf cur;
	pcre2_match_data *md;
	fb_err rc;
	int any = 1;

	*out = NULL;
	pthread_once(&once, compile_all);
	if (!compiled_ok)
		return fb_error_set(FB_ERR, "masking patterns failed to compile");
	md = pcre2_match_data_create(8, NULL);
	if (!md)
		return fb_error_set(FB_ENOMEM, "out of memory");
	fb_buf_init(&cur, MASK_MAX);
	rc = fb_buf_add(&cur, text, len);
	for (int pass = 0; pass < MASK_PASSES && any && !rc; pass++)
		rc = mask_pass(&cur, md, &any);
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

int fb_mask_finds(const char *text, size_t len)
{
	char *out = NULL;
	int found;
	if (fb_mask(text, len, &out) != FB_OK)
		return 1; /* cannot tell: treat it as a secret */
	found = strlen(out) != len || memcmp(out, text, len) != 0;
	free(out);
	return found;
}

/* Is the host (n bytes, brackets stripped) this machine's loopback? */
static int loopback(const char *host, size_t n)
{
	char h[64];
	struct in_addr a4;
	struct in6_addr a6;

	if (n == 0 || n >= sizeof(h))
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	if (!strcasecmp(h, "localhost"))
		return 1;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

int fb_mask_url_in_clear(const char *url)
{
	const char *host, *end, *at, *hend;

	if (!url || strncasecmp(url, "http://", 7) != 0)
		return 0;
	host = url + 7;
	end = host + strcspn(host, "/?#");
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	host = at; /* after the last @ of the authority */
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(end - host));
		return !hend || !loopback(host + 1, (size_t)(hend - host - 1));
	}
	hend = memchr(host, ':', (size_t)(end - host));
	return !loopback(host, (size_t)((hend ? hend : end) - host));
}
