/*
 * check.h - the family of verification checks: after a fix is applied,
 * each configured check looks at the app once and says ok, pending,
 * failed, or skip (it cannot judge this target).  The runner (verify.h)
 * opens every check in the table, runs them and combines the answers.
 *
 * A check is one file in src/checks/ with one `const fb_check_ops`, a
 * line in the table in src/checks/check.c, and its config keys in
 * config.c.  Its state embeds `fb_check` as its first member (like
 * libgit2's backends embed their parent).  A check runs on the worker
 * thread that runs the verify node; it never touches the store.
 */
#ifndef FIREBREAK_CHECK_H
#define FIREBREAK_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "firebreak/config.h"
#include "firebreak/error.h"

#define FB_CHECK_OPS_VERSION 1

/* What a check looks at: built from the incident state by node_verify.
 * Strings are never NULL ("" when unknown) and belong to the caller. */
typedef struct {
	const char *app;
	const char *ns; /* the Kubernetes namespace */
	const char *category;
	const char *signature; /* the normalised error text */
	const char *commit;    /* the fix's commit (hex) */
	int64_t applied_at_ms; /* when the fix was committed; 0 = unknown */
} fb_verify_target;

typedef enum {
	FB_CHECK_OK,      /* recovered */
	FB_CHECK_PENDING, /* not yet: look again later */
	FB_CHECK_FAILED,  /* the fix did not hold */
	FB_CHECK_SKIP,    /* cannot judge this target (403, unknown app): left out */
} fb_check_verdict;

typedef struct {
	fb_check_verdict verdict;
	char detail[300]; /* one line for the card */
} fb_check_result;

typedef struct fb_check_ops fb_check_ops;

typedef struct fb_check {
	const fb_check_ops *ops; /* set by the runner after open */
} fb_check;

struct fb_check_ops {
	int version;      /* FB_CHECK_OPS_VERSION */
	const char *name; /* "kubernetes": the card's and the config's name */

	/* must: reads its keys from cfg.  FB_OK with *out NULL means the
	 * check is not configured and is left out. */
	fb_err (*open)(const fb_config *cfg, fb_check **out);

	/* may (NULL = every target): whether the target has what the check
	 * needs (an app, a namespace, a signature). */
	int (*applies)(const fb_check *check, const fb_verify_target *t);

	/* must: one look.  An error return is taken as pending with the
	 * error text as detail (the API may be back next time). */
	fb_err (*check)(fb_check *check, const fb_verify_target *t, fb_check_result *res);

	/* must: frees what open made. */
	void (*close)(fb_check *check);
};

extern const fb_check_ops fb_check_kubernetes;
extern const fb_check_ops fb_check_argocd;
extern const fb_check_ops fb_check_loki;

/* The table, in the order checks run, NULL-ended. */
extern const fb_check_ops *const fb_checks[];

/* The check of that name in the table, or NULL. */
const fb_check_ops *fb_check_find(const char *name);

/* "ok", "pending", "failed", "skip". */
const char *fb_check_verdict_name(fb_check_verdict v);

/*
 * Combines n results (SKIP ones are left out): failed when any failed;
 * else pending when any is pending; else ok when any is ok; else skip
 * (nothing could be checked).  *reason (may be NULL) is the index of the
 * result whose detail explains the verdict, or n when none.
 */
fb_check_verdict fb_check_combine(const fb_check_result *r, size_t n, size_t *reason);

/* Formats a detail line into res and sets its verdict; returns FB_OK. */
fb_err fb_check_say(fb_check_result *res, fb_check_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
