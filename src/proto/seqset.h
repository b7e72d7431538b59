/* IMAP sequence sets (RFC 3501 section 9 "sequence-set", RFC 9051): a
 * comma-separated list of numbers and ranges, where '*' stands for the
 * largest number in use, and a range may be given in either order. */
#ifndef ROOST_PROTO_SEQSET_H
#define ROOST_PROTO_SEQSET_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define SEQSET_STAR UINT32_MAX

struct seqset_range {
	uint32_t lo, hi; /* lo <= hi; SEQSET_STAR stands for '*' */
};

struct seqset {
	struct seqset_range *ranges; /* as given, normalised lo <= hi */
	size_t count;
};

/* Parse s. Returns 0 with *set_r filled (free with seqset_free), or -1
 * with *error_r set: syntax error, zero, number over 2^32-1, or more than
 * max_ranges ranges. */
int seqset_parse(const char *s, size_t max_ranges, struct seqset *set_r,
		 const char **error_r);
void seqset_free(struct seqset *set);
/* Does the set contain n, when '*' means star? */
bool seqset_contains(const struct seqset *set, uint32_t n, uint32_t star);

#endif
