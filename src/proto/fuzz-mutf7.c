/* libFuzzer target for modified UTF-7 (mutf7.h, RFC 3501 section 5.1.3)
 * and LIST patterns (mailbox-match.h, RFC 3501 section 6.3.8, RFC 5258).
 *
 * Input layout: byte 0 picks the hierarchy delimiter, the rest is the
 * payload. The payload is taken as modified UTF-7 and as UTF-8; each must
 * round-trip through the other form exactly, validity must agree with
 * decoding, and a failed call must leave its buffer as it was. Then the
 * payload, split at its first NUL into pattern and name, is matched and
 * checked against a memoised recursive matcher, against the name's
 * normal form, and for descendants against explicit witnesses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fuzz.h"
#include "core/xalloc.h"
#include "proto/mailbox-match.h"
#include "proto/mutf7.h"

/* Longest pattern and name checked against the reference matcher. */
#define REF_MAX_BYTES 64
#define PREFIX "pre"

static const char delims[] = {'/', '.', '\0'};

/* out holds PREFIX, then whatever the call appended. */
static void buf_init_prefixed(struct buf *out, size_t max_bytes)
{
	buf_init(out, max_bytes + strlen(PREFIX));
	CHECK(buf_append_str(out, PREFIX) == 0);
}

static bool buf_is_prefix_only(const struct buf *out)
{
	return out->len == strlen(PREFIX) &&
	       memcmp(out->data, PREFIX, out->len) == 0;
}

static bool buf_equals(const struct buf *out, const char *s, size_t len)
{
	size_t p = strlen(PREFIX);

	return out->len == p + len && memcmp(out->data + p, s, len) == 0;
}

/* s as modified UTF-7: valid exactly when it decodes, and it comes back
 * from its UTF-8 unchanged. */
static void check_as_mutf7(const char *s, size_t len)
{
	size_t p = strlen(PREFIX);
	struct buf u, m;
	bool valid = mutf7_valid(s, len);

	buf_init_prefixed(&u, 2 * len);
	CHECK((mutf7_to_utf8(s, len, &u) == 0) == valid);
	if (!valid) {
		CHECK(buf_is_prefix_only(&u));
		buf_free(&u);
		return;
	}
	buf_init_prefixed(&m, len);
	CHECK(mutf7_from_utf8((const char *)u.data + p, u.len - p, &m) == 0);
	CHECK(buf_equals(&m, s, len));
	buf_free(&m);
	buf_free(&u);
}

/* s as UTF-8: when it encodes, the result is valid and decodes back to
 * s; one byte less room makes the encoding fail without a trace. */
static void check_as_utf8(const char *s, size_t len)
{
	size_t p = strlen(PREFIX);
	struct buf m, u;

	buf_init_prefixed(&m, 3 * len);
	if (mutf7_from_utf8(s, len, &m) < 0) {
		CHECK(buf_is_prefix_only(&m));
		buf_free(&m);
		return;
	}
	CHECK(m.len - p <= 3 * len);
	CHECK(mutf7_valid((const char *)m.data + p, m.len - p));
	buf_init_prefixed(&u, len);
	CHECK(mutf7_to_utf8((const char *)m.data + p, m.len - p, &u) == 0);
	CHECK(buf_equals(&u, s, len));
	buf_free(&u);
	if (m.len > p) {
		buf_init_prefixed(&u, m.len - p - 1);
		CHECK(mutf7_from_utf8(s, len, &u) < 0);
		CHECK(buf_is_prefix_only(&u));
		buf_free(&u);
	}
	buf_free(&m);
}

struct ref {
	const char *pattern, *name;
	size_t pattern_len, name_len, fold_len;
	char delim;
	signed char memo[REF_MAX_BYTES + 1][REF_MAX_BYTES + 1];
};

static bool ref_eq(const struct ref *r, char p, size_t k)
{
	char c = r->name[k];

	if (k < r->fold_len)
		return strncasecmp(&p, &c, 1) == 0;
	return p == c;
}

/* Does pattern[i..] match name[k..]? */
static bool ref_match(struct ref *r, size_t i, size_t k)
{
	signed char *memo = &r->memo[i][k];
	bool more = k < r->name_len;
	bool ok;

	if (*memo >= 0)
		return *memo != 0;
	if (i == r->pattern_len)
		ok = !more;
	else if (r->pattern[i] == '*')
		ok = ref_match(r, i + 1, k) || (more && ref_match(r, i, k + 1));
	else if (r->pattern[i] == '%')
		ok = ref_match(r, i + 1, k) ||
		     (more && r->name[k] != r->delim && ref_match(r, i, k + 1));
	else
		ok = more && ref_eq(r, r->pattern[i], k) &&
		     ref_match(r, i + 1, k + 1);
	*memo = ok ? 1 : 0;
	return ok;
}

static bool ref_mailbox_match(const char *pattern, const char *name, char delim)
{
	struct ref r = {.pattern = pattern,
	                .name = name,
	                .pattern_len = strlen(pattern),
	                .name_len = strlen(name),
	                .delim = delim};

	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == delim))
		r.fold_len = 5;
	memset(r.memo, -1, sizeof(r.memo));
	return ref_match(&r, 0, 0);
}

/* Is there a descendant of name that matches? Exactly when one of these
 * does: name, delim, and the literal bytes of a pattern suffix (or "x" if
 * it has none). */
static bool ref_children(const char *pattern, const char *name, char delim)
{
	size_t plen = strlen(pattern), nlen = strlen(name);
	char *child = xmalloc(nlen + 1 + plen + 2);
	bool found = false;

	memcpy(child, name, nlen);
	child[nlen] = delim;
	for (size_t j = 0; j <= plen && !found; j++) {
		size_t n = nlen + 1;
		for (size_t i = j; i < plen; i++) {
			if (pattern[i] != '*' && pattern[i] != '%')
				child[n++] = pattern[i];
		}
		if (n == nlen + 1)
			child[n++] = 'x';
		child[n] = '\0';
		found = mailbox_match(pattern, child, delim);
	}
	free(child);
	return found;
}

static void check_match(const char *pattern, const char *name, char delim)
{
	bool match = mailbox_match(pattern, name, delim);
	bool children = mailbox_match_children(pattern, name, delim);
	char *normal = mailbox_name_normalize(name, delim);
	char *combined = mailbox_pattern_combine(pattern, name, delim);
	size_t sum = strlen(pattern) + strlen(name);

	CHECK(strlen(normal) == strlen(name));
	CHECK(mailbox_match(pattern, normal, delim) == match);
	CHECK(mailbox_match_children(pattern, normal, delim) == children);
	CHECK(strlen(combined) == sum || strlen(combined) + 1 == sum);
	if (strlen(pattern) <= REF_MAX_BYTES && strlen(name) <= REF_MAX_BYTES) {
		CHECK(ref_mailbox_match(pattern, name, delim) == match);
		if (delim != '\0')
			CHECK(ref_children(pattern, name, delim) == children);
		else
			CHECK(!children);
	}
	free(normal);
	free(combined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char delim = delims[data[0] % sizeof(delims)];
	const char *s = (const char *)data + 1;
	size_t len = size - 1;

	check_as_mutf7(s, len);
	check_as_utf8(s, len);

	size_t pattern_len = strnlen(s, len);
	size_t rest = pattern_len < len ? len - pattern_len - 1 : 0;
	char *pattern = xstrndup(s, pattern_len);
	char *name = xstrndup(s + len - rest, rest);
	check_match(pattern, name, delim);
	free(pattern);
	free(name);
	return 0;
}
