/* Unit tests for mask.c: the corpus in tests/data/mask/cases.txt (secret
 * spellings masked exactly, look-alikes left alone, every case masked
 * twice gives the same text), plus a few properties the corpus cannot
 * say.  Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firebreak/buf.h"
#include "firebreak/mask.h"

#define CORPUS "tests/data/mask/cases.txt"

/* "\xHH" at p: the byte, else -1. */
static int hexbyte(const char *p)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *h, *l;
	if (p[0] != '\\' || p[1] != 'x' || !p[2] || !p[3] || !(h = strchr(hex, p[2])) ||
	    !(l = strchr(hex, p[3])))
		return -1;
	return (int)((h - hex) * 16 + (l - hex));
}

/* Builds the masker's input and the expected output of one case:
 * {{kind:secret}} is the secret in one and [MASKED:kind] in the other;
 * "\n" is a newline in both, "\xHH" the byte HH (upper-case hex). */
static int expand(const char *text, fb_buf *in, fb_buf *want)
{
	const char *p = text;
	while (*p) {
		int x = hexbyte(p);
		if (p[0] == '\\' && p[1] == 'n') {
			fb_buf_addc(in, '\n');
			fb_buf_addc(want, '\n');
			p += 2;
		} else if (x >= 0) {
			fb_buf_addc(in, (char)x);
			fb_buf_addc(want, (char)x);
			p += 4;
		} else if (*p == '~') { /* see cases.txt: dropped */
			p++;
		} else if (p[0] == '{' && p[1] == '{') {
			const char *colon = strchr(p, ':'), *end = strstr(p, "}}");
			if (!colon || !end || colon > end)
				return -1;
			fb_buf_printf(want, "[MASKED:%.*s]", (int)(colon - p - 2), p + 2);
			for (const char *q = colon + 1; q < end; q++) {
				if (q[0] == '\\' && q[1] == 'n') {
					fb_buf_addc(in, '\n');
					q++;
				} else if (hexbyte(q) >= 0) {
					fb_buf_addc(in, (char)hexbyte(q));
					q += 3;
				} else if (*q == '~') {
					/* a break that keeps token scanners off the
					 * corpus: the secret is read without it */
				} else {
					fb_buf_addc(in, *q);
				}
			}
			p = end + 2;
		} else {
			fb_buf_addc(in, *p);
			fb_buf_addc(want, *p++);
		}
	}
	return 0;
}

/* The corpus's inputs, kept for the idempotence property below. */
#define MAX_INPUTS 512
static char *inputs[MAX_INPUTS];
static int ninputs;

static char *mask(const char *s)
{
	char *out = NULL;
	assert_int_equal(fb_mask(s, strlen(s), &out), FB_OK);
	assert_non_null(out);
	return out;
}

/* One case; 0 when it holds, else prints why. */
static int run_case(int lineno, const char *kind, const char *text, int *masks)
{
	fb_buf in, want;
	int bad = 0;

	fb_buf_init(&in, 0);
	fb_buf_init(&want, 0);
	if (expand(text, &in, &want) != 0) {
		print_message("line %d: an unclosed {{kind:secret}}\n", lineno);
		bad = 1;
		goto out;
	}
	int is_mask = !strcmp(kind, "mask");
	if (!is_mask && strcmp(kind, "keep")) {
		print_message("line %d: \"%s\" is neither mask nor keep\n", lineno, kind);
		bad = 1;
		goto out;
	}
	if (is_mask && !strcmp(fb_buf_str(&in), fb_buf_str(&want))) {
		print_message("line %d: a mask case without a secret\n", lineno);
		bad = 1;
		goto out;
	}
	*masks += is_mask;
	if (ninputs < MAX_INPUTS)
		inputs[ninputs++] = strdup(fb_buf_str(&in));
	char *once = mask(fb_buf_str(&in)), *twice = mask(once);
	const char *expected = is_mask ? fb_buf_str(&want) : fb_buf_str(&in);
	if (strcmp(once, expected)) {
		print_message("line %d (%s):\n  in:   %s\n  want: %s\n  got:  %s\n", lineno, kind,
		              fb_buf_str(&in), expected, once);
		bad = 1;
	}
	if (strcmp(once, twice)) {
		print_message("line %d: masked twice differs:\n  once:  %s\n  twice: %s\n", lineno,
		              once, twice);
		bad = 1;
	}
	free(once);
	free(twice);
out:
	fb_buf_free(&in);
	fb_buf_free(&want);
	return bad;
}

static void the_corpus(void **s)
{
	FILE *f = fopen(CORPUS, "r");
	char line[8192];
	int lineno = 0, cases = 0, masks = 0, failed = 0;
	(void)s;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		if (!tab) {
			print_message("line %d: no tab between the expectation and the text\n",
			              lineno);
			failed++;
			continue;
		}
		*tab = '\0';
		cases++;
		failed += run_case(lineno, line, tab + 1, &masks);
	}
	fclose(f);
	print_message("# mask corpus: %d cases (%d with secrets), %d failed\n", cases, masks,
	              failed);
	assert_true(masks >= 50 && cases - masks >= 25); /* the corpus was read */
	assert_int_equal(failed, 0);
}

/* Properties the corpus does not show: a secret at the very end, empty
 * text, NUL-free output of a long line, several secrets of one kind. */
static void edges(void **s)
{
	char *out;
	(void)s;
	out = mask("");
	assert_string_equal(out, "");
	free(out);
	out = mask("password=");
	assert_string_equal(out, "password=");
	free(out);
	out = mask("a=1 password=x b=2 password=y");
	assert_string_equal(out, "a=1 password=[MASKED:password] b=2 password=[MASKED:password]");
	free(out);

	fb_buf big;
	fb_buf_init(&big, 0);
	for (int i = 0; i < 2000; i++)
		fb_buf_printf(&big, "line %d token=abc%d\n", i, i);
	out = mask(fb_buf_str(&big));
	assert_null(strstr(out, "abc1999"));
	assert_non_null(strstr(out, "line 1999 token=[MASKED:password]\n"));
	free(out);
	fb_buf_free(&big);

	/* the length given is the length masked, whatever follows */
	const char *t = "password=hunter2 and more";
	assert_int_equal(fb_mask(t, 16, &out), FB_OK);
	assert_string_equal(out, "password=[MASKED:password]");
	free(out);
}

/* mask(mask(x)) == mask(x) beyond the corpus: texts glued from random
 * pieces of the corpus's inputs and of the masks, with the characters
 * the patterns care about between them (a fixed seed: repeatable). */
static void idempotent_on_mixtures(void **s)
{
	static const char *const glue[] = {" ", "=",        ": ", "\"",  "'",  "\n",   "@", "\t",
	                                   ";", "[MASKED:", "]",  "://", "-p", "\xE9", ""};
	unsigned seed = 12345;
	int bad = 0;
	(void)s;
	assert_true(ninputs > 50); /* the corpus ran first */
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 8) & 0xffffff)
	for (int i = 0; i < 4000 && bad < 5; i++) {
		fb_buf t;
		fb_buf_init(&t, 0);
		for (int k = (int)(RND() % 4) + 1; k > 0; k--) {
			const char *x = inputs[RND() % (unsigned)ninputs];
			size_t n = strlen(x), a = RND() % (n + 1), b = a + RND() % (n - a + 1);
			fb_buf_add(&t, x + a, b - a);
			fb_buf_addstr(&t, glue[RND() % (sizeof(glue) / sizeof(glue[0]))]);
		}
		char *once = mask(fb_buf_str(&t)), *twice = mask(once);
		if (strcmp(once, twice)) {
			print_message("not idempotent:\n  in:    %s\n  once:  %s\n  twice: %s\n",
			              fb_buf_str(&t), once, twice);
			bad++;
		}
		free(once);
		free(twice);
		fb_buf_free(&t);
	}
#undef RND
	for (int i = 0; i < ninputs; i++)
		free(inputs[i]);
	ninputs = 0;
	assert_int_equal(bad, 0);
}

/* A PEM block with a byte that is not UTF-8, cut and uncut, in a JSON
 * string, next to a certificate that must stay. */
static void pem_on_bytes(void **s)
{
	char *out;
	(void)s;
	out = mask("a\n-----BEGIN PRIVATE KEY-----\nMII\xe9\xff\x80"
	           "abc\n-----END PRIVATE KEY-----\nb");
	assert_string_equal(out, "a\n[MASKED:private_key]\nb");
	free(out);
	out = mask("-----BEGIN CERTIFICATE-----\nMII\xe9\n-----END CERTIFICATE-----\n"
	           "-----BEGIN EC PRIVATE KEY-----\nMHc\xe9\n-----END EC PRIVATE KEY-----");
	assert_string_equal(out, "-----BEGIN CERTIFICATE-----\nMII\xe9\n-----END CERTIFICATE-----\n"
	                         "[MASKED:private_key]");
	free(out);
	out = mask("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\xe9\xe9\n");
	assert_string_equal(out, "[MASKED:private_key]");
	free(out);
	/* after an invalid byte, the rest of the text is still masked */
	out = mask("caf\xe9 password=hunter2 \xff token=abc");
	assert_string_equal(out, "caf\xe9 password=[MASKED:password] \xff token=[MASKED:password]");
	free(out);
	assert_int_equal(fb_mask_finds("ghp_16C7e42F292c6912E7710c838347Ae178B4a", 40), 1);
	assert_int_equal(fb_mask_finds("2Gi", 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(the_corpus),
	    cmocka_unit_test(idempotent_on_mixtures),
	    cmocka_unit_test(edges),
	    cmocka_unit_test(pem_on_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
