/*
 * card_text.h - the card's text shaping (card_text.c): the evidence
 * around its decisive line, and the diff without git's header lines.
 * Pure functions; results are the caller's to free.
 */
#ifndef FIREBREAK_CARD_TEXT_H
#define FIREBREAK_CARD_TEXT_H

#include <stddef.h>

/* The excerpt's lines around the one that holds evidence (the rule's
 * matched line), at most max bytes: the matched line is kept whole (cut
 * only when it alone is longer than max) and marked, context lines before
 * and after are added while they fit, nearest first.  Without the line
 * in the excerpt, the evidence itself (cut at a character boundary).
 * Caller frees; NULL only when out of memory. */
char *fb_card_text_evidence(const char *excerpt, const char *evidence, size_t max);

/* s made safe inside a mrkdwn code block (```...```): a zero width space
 * between backticks that touch, and between a backtick and the fence, so
 * a log line with ``` cannot end the block.  Caller frees; NULL only when
 * out of memory. */
char *fb_card_text_code(const char *s);

/* The diff without git's per-file header lines (diff --git, index,
 * ---, +++, mode lines): hunks only.  With more than one file, each
 * file's hunks are led by one line naming it; a byte that is not UTF-8
 * becomes U+FFFD.  Caller frees. */
char *fb_card_text_diff(const char *diff);

#endif
