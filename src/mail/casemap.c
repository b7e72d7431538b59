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

int casemap_fold(const char *utf8, size_t len, struct buf *out)
{
	struct buf copy = {0};
	utf8proc_uint8_t *folded = NULL;
	utf8proc_ssize_t n;
	size_t valid_len;
	const char *valid;
	int ret = 0;

	if (len == 0)
		return 0;
	valid = sanitize(utf8, len, &valid_len, &copy);
	n = utf8proc_map((const utf8proc_uint8_t *)valid,
	                 (utf8proc_ssize_t)valid_len, &folded, FOLD_OPTIONS);
	if (n < 0)
		abort(); /* only for invalid UTF-8 or out of memory */
	if (buf_append(out, folded, (size_t)n) < 0)
		ret = -1;
	free(folded);
	buf_free(&copy);
	return ret;
}

bool casemap_contains(const char *hay, size_t hay_len, const char *needle,
                      size_t needle_len)
{
	if (needle_len == 0)
		return true;
	return memmem(hay, hay_len, needle, needle_len) != NULL;
}
