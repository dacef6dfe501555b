/*
 * mask_int.h - the masker's private parts: the byte scanners that mask
 * what a regular expression cannot (a PEM block whatever its bytes, a
 * Kubernetes Secret's data whatever its keys).  Shared by mask.c and
 * mask_scan.c only.
 */
#ifndef FIREBREAK_MASK_INT_H
#define FIREBREAK_MASK_INT_H

#include <stddef.h>
#include "firebreak/buf.h"
#include "firebreak/error.h"

/* Each scanner copies in[0..len) to out with its secrets replaced by
 * [MASKED:<kind>] and sets *changed when it replaced something; when
 * nothing is found out is left as it was (the caller keeps in). */
fb_err fb_mask_scan_pem(const char *in, size_t len, fb_buf *out, int *changed);
fb_err fb_mask_scan_k8s(const char *in, size_t len, fb_buf *out, int *changed);

#endif
