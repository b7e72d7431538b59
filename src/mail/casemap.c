/* i;unicode-casemap folding (RFC 5051) with utf8proc; what it does and
 * where it differs from the RFC's titlecase rule is in casemap.h. */
#include "mail/casemap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "mail/charset.h"

#define FOLD_OPTIONS (UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD)

/* utf8proc_map refuses invalid UTF-8: replace each bad byte first, in
 * copy (to be freed by the caller) only when there is one. */
static const char *sanitize(const char *s, size_t len, size_t *len_r,
                            struct buf *copy)
{
	if (charset_utf8_valid(s, len)) {
		*len_r = len;
		return s;
	}
	buf_init(copy, 3 * len);
	/* invalid bytes cost 3 bytes each at most: never full */
	(void)charset_to_utf8("utf-8", s, len, copy);
	*len_r = copy->len;
	return (const char *)copy->data;
}

/* Fold a run of valid UTF-8 with utf8proc. */
static int fold_run(const char *s, size_t len, struct buf *out)
{
	utf8proc_uint8_t *folded = NULL;
	utf8proc_ssize_t n =
	        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
	                     &folded, FOLD_OPTIONS);
	if (n < 0)
		abort(); /* only for invalid UTF-8 or out of memory */
	int ret = buf_append(out, folded, (size_t)n);
	free(folded);
	return ret;
}

static int fold_ascii(const char *s, size_t len, struct buf *out)
{
	unsigned char *p = buf_reserve(out, len);
	if (p == NULL)
		return -1;
	for (size_t k = 0; k < len; k++)
		p[k] = (unsigned char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32
		                                                  : s[k]);
	buf_commit(out, len);
	return 0;
}

/* ASCII folds to lowercase and decomposes to itself, and an ASCII
 * character is a starter that canonical reordering never moves marks
 * across, so runs of it are folded here and only the rest goes through
 * utf8proc: most mail text is mostly ASCII. */
static int fold_valid(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && (unsigned char)s[i] < 0x80)
			i++;
		if (i > start && fold_ascii(s + start, i - start, out) < 0)
			return -1;
		start = i;
		while (i < len && (unsigned char)s[i] >= 0x80)
			i++;
		if (i > start && fold_run(s + start, i - start, out) < 0)
			return -1;
	}
	return 0;
}

int casemap_fold(const char *utf8, size_t len, struct buf *out)
{
	struct buf copy = {0};
	size_t valid_len, before = out->len;
	if (len == 0)
		return 0;
	const char *valid = sanitize(utf8, len, &valid_len, &copy);
	int ret = fold_valid(valid, valid_len, out);
	buf_free(&copy);
	if (ret < 0)
		buf_truncate(out, before);
	return ret;
}

bool casemap_contains(const char *hay, size_t hay_len, const char *needle,
                      size_t needle_len)
{
	if (needle_len == 0)
		return true;
	return memmem(hay, hay_len, needle, needle_len) != NULL;
}
