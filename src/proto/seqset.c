/* IMAP sequence sets: see seqset.h. Implements "sequence-set",
 * "seq-range", "seq-number" and "nz-number" of RFC 3501 section 9 and
 * RFC 9051 section 9. */
#include "proto/seqset.h"

#include <string.h>

#include "core/xalloc.h"

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, below 2^32.
 * Advances *sp past it. */
static int parse_number(const char **sp, uint32_t *n_r, const char **error_r)
{
	const char *s = *sp;
	uint64_t n = 0;

	if (*s == '*') {
		*n_r = SEQSET_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '0' || *s > '9') {
		*error_r = "Invalid sequence set";
		return -1;
	}
	if (*s == '0') {
		*error_r = s[1] >= '0' && s[1] <= '9'
		                   ? "Invalid sequence set"
		                   : "Sequence number 0 is not allowed";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX) {
			*error_r = "Sequence number too large";
			return -1;
		}
	}
	*n_r = (uint32_t)n;
	*sp = s;
	return 0;
}

/* seq-number / seq-range; advances *sp past it. */
static int parse_range(const char **sp, struct seqset_range *r,
                       const char **error_r)
{
	uint32_t a, b;

	if (parse_number(sp, &a, error_r) < 0)
		return -1;
	b = a;
	if (**sp == ':') {
		(*sp)++;
		if (parse_number(sp, &b, error_r) < 0)
			return -1;
	}
	r->lo = a < b ? a : b;
	r->hi = a < b ? b : a;
	return 0;
}

static size_t count_elements(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++) {
		if (*s == ',')
			n++;
	}
	return n;
}

int seqset_parse(const char *s, size_t max_ranges, struct seqset *set_r,
                 const char **error_r)
{
	size_t n = count_elements(s);

	set_r->ranges = NULL;
	set_r->count = 0;
	if (n > max_ranges) {
		*error_r = "Too many ranges in sequence set";
		return -1;
	}
	set_r->ranges = xmalloc(n * sizeof(*set_r->ranges));
	for (;;) {
		if (parse_range(&s, &set_r->ranges[set_r->count], error_r) < 0)
			goto out_free_ranges;
		set_r->count++;
		if (*s == '\0')
			return 0;
		if (*s != ',') {
			*error_r = "Invalid sequence set";
			goto out_free_ranges;
		}
		s++;
	}
out_free_ranges:
	seqset_free(set_r);
	return -1;
}

void seqset_free(struct seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = 0;
}

bool seqset_contains(const struct seqset *set, uint32_t n, uint32_t star)
{
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;
		if (lo == SEQSET_STAR)
			lo = star;
		if (hi == SEQSET_STAR)
			hi = star;
		if ((lo <= n && n <= hi) || (hi <= n && n <= lo))
			return true;
	}
	return false;
}
