/* libFuzzer target for RFC 5322 address lists (address.h): any bytes
 * parse; groups are balanced and never nested; the IMAP form is "NIL" or
 * a balanced parenthesised list whose strings and literals are well
 * formed; a cap too small leaves the output untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "core/buf.h"
#include "mail/address.h"

static void check_groups(const struct address_list *list)
{
	bool in_group = false;

	for (size_t i = 0; i < address_list_count(list); i++) {
		const struct address *a = address_list_get(list, i);

		if (a->kind == ADDRESS_GROUP_START) {
			CHECK(!in_group);
			in_group = true;
		} else if (a->kind == ADDRESS_GROUP_END) {
			CHECK(in_group);
			in_group = false;
		}
	}
	CHECK(!in_group);
}

/* Skip a quoted string or literal at s[i]; returns the index past it. */
static size_t skip_string(const unsigned char *s, size_t len, size_t i)
{
	if (s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			CHECK(s[i] != '\r' && s[i] != '\n' && s[i] < 0x80);
			if (s[i] == '\\')
				i++;
		}
		CHECK(i < len);
		return i + 1;
	}
	char *end;
	unsigned long n = strtoul((const char *)s + i + 1, &end, 10);
	i = (size_t)((const unsigned char *)end - s);
	CHECK(i + 3 <= len && memcmp(s + i, "}\r\n", 3) == 0);
	CHECK(n <= len - i - 3);
	return i + 3 + n;
}

static void check_imap(const struct buf *out)
{
	const unsigned char *s = out->data;
	int depth = 0;

	if (out->len == 3 && memcmp(s, "NIL", 3) == 0)
		return;
	CHECK(out->len >= 2 && s[0] == '(');
	for (size_t i = 0; i < out->len;) {
		if (s[i] == '"' || s[i] == '{') {
			i = skip_string(s, out->len, i);
			continue;
		}
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')')
			depth--;
		CHECK(depth >= 0 && depth <= 2);
		CHECK(depth > 0 || i == out->len - 1);
		i++;
	}
	CHECK(depth == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address_list *list = address_list_parse(data, size);
	struct buf out, small;

	check_groups(list);
	buf_init(&out, (size_t)1 << 24);
	CHECK(address_list_write_imap(&out, list) == 0);
	check_imap(&out);
	buf_init(&small, out.len / 2);
	if (address_list_write_imap(&small, list) < 0)
		CHECK(small.len == 0);
	buf_free(&small);
	buf_free(&out);
	address_list_free(&list);
	return 0;
}
