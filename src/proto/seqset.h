/* IMAP sequence sets (RFC 3501 section 9 "sequence-set", RFC 9051 section
 * 9): a comma-separated list of numbers and ranges, where '*' stands for
 * the largest number in use, and a range may be given in either order. */
#ifndef ROOST_PROTO_SEQSET_H
#define ROOST_PROTO_SEQSET_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* '*'. The number 4294967295 itself is stored the same way: it is the
 * largest possible UID, so reading it as "the largest in use" only differs
 * for a UID that is not in the mailbox (clients send it as "1:4294967295"
 * to mean "all"). */
#define SEQSET_STAR UINT32_MAX

struct seqset_range {
	uint32_t lo, hi; /* lo <= hi; SEQSET_STAR stands for '*' */
};

struct seqset {
	struct seqset_range *ranges; /* as given, normalised lo <= hi */
	size_t count;
};

/* Parse the NUL-terminated s. Returns 0 with *set_r filled (free with
 * seqset_free), or -1 with *error_r set (a static string) and *set_r
 * empty: syntax error (empty element, trailing comma, leading zero), zero,
 * number over 2^32-1, or more than max_ranges ranges. */
int seqset_parse(const char *s, size_t max_ranges, struct seqset *set_r,
                 const char **error_r);
/* Free the ranges; the set is empty afterwards. */
void seqset_free(struct seqset *set);
/* Does the set contain n, when '*' means star? A range with '*' is
 * resolved first and then taken in either order, so "5:*" with star 3
 * is 3:5 (RFC 9051 section 9, "seq-range"). */
bool seqset_contains(const struct seqset *set, uint32_t n, uint32_t star);

#endif
