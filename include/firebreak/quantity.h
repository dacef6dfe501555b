/*
 * quantity.h - Kubernetes resource quantities ("512Mi", "1.5Gi", "500M",
 * "1e9"), parsed and written the way k8s.io/apimachinery resource.Quantity
 * reads them, so that a proposed memory limit or volume size is one that
 * the API server accepts and a reviewer recognises.
 *
 * Grammar (resource.Quantity):
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." digits | digits "." | "." digits
 *   suffix   ::= "" | binarySI | decimalSI | ("e"|"E") [+-] digits
 *   binarySI ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   decimalSI::= m | k | M | G | T | P | E
 * A bare "E" is exa; "E" followed by digits is an exponent.  Leading and
 * trailing blanks are ignored (as resource.Quantity's JSON decoder does);
 * anything else that does not fit, such as "1KB", "1 Gi" or "1gi", is
 * FB_EINVAL.
 */
#ifndef FIREBREAK_QUANTITY_H
#define FIREBREAK_QUANTITY_H

#include <stddef.h>
#include "firebreak/error.h"

typedef struct {
	double value;   /* amount in base units (bytes for memory) */
	char suffix[3]; /* "", "Ki".."Ei", "k".."E", or "m" */
	int exponent;   /* the written exponent of "1e9" (9); 0 otherwise, and for "1e0" */
} fb_quantity;

fb_err fb_quantity_parse(const char *s, fb_quantity *out);

/*
 * Writes value (base units, >= 0) in the unit style of style:
 *  - the value is first rounded up to whole base units (whole thousandths
 *    for the "m" style); a product that misses a whole number by float
 *    noise (1.2 * 100Mi) is rounded to it rather than up;
 *  - the same suffix when the result is whole in it (512Mi*2 -> "1024Mi",
 *    500M*2 -> "1000M"); the suffix is never made larger (no 1024Mi -> 1Gi)
 *    so the diff reads as the same unit;
 *  - otherwise the largest smaller unit of the same family in which it is
 *    whole (binary stays binary, decimal stays decimal: 1.5Gi -> "1536Mi");
 *  - otherwise a plain integer ("1395864372").
 * The exponent style keeps its exponent when whole in it (1e9*2 -> "2e9").
 * style NULL means a plain integer.  FB_ETOOBIG when out is too small.
 */
fb_err fb_quantity_format(double value, const fb_quantity *style, char *out, size_t outsz);

/*
 * Scales current by factor (> 1), capped at max, and writes the result in
 * current's style into out.  FB_ECONFLICT when current is already >= max
 * (nothing to raise).  *capped (may be NULL) is 1 when the cap applied;
 * the cap is then written in current's unit when whole in it (current
 * 512Mi, max 8Gi -> "8192Mi"), else as max is written (current 500M, max
 * 8Gi -> "8Gi").
 */
fb_err fb_quantity_raise(const char *current, double factor, const char *max, char *out,
                         size_t outsz, int *capped);

#endif
