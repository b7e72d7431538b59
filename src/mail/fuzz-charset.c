/* libFuzzer target for charset conversion (charset.h): byte 0 picks a
 * charset, the rest is converted from it, decoded as an RFC 2047 header
 * value and as an RFC 2231 value. Whatever the input, the output must be
 * valid UTF-8, and a conversion that fails for lack of room must leave
 * its buffer as it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "mail/charset.h"

/* Room for the worst expansion: 3 bytes of U+FFFD per input byte. */
#define EXPANSION 4

static const char *const charsets[] = {
        "utf-8",  "us-ascii",    "iso-8859-1",     "iso-8859-2", "windows-1251",
        "koi8-r", "gb2312",      "gb18030",        "big5",       "shift_jis",
        "euc-jp", "iso-2022-jp", "ks_c_5601-1987", "utf-16",     "utf-16le",
        "utf-32", "utf-7",       "x-unknown",
};

static void check_utf8(const struct buf *b, size_t from)
{
	if (b->len > from)
		CHECK(charset_utf8_valid(b->data + from, b->len - from));
}

/* A call that succeeds with room to spare; and with too little room,
 * fails without a trace. */
static void check_convert(const char *charset, const uint8_t *s, size_t len)
{
	struct buf out;
	int ret;

	buf_init(&out, EXPANSION * len + 16);
	ret = charset_to_utf8(charset, s, len, &out);
	CHECK(ret == 0 || ret == CHARSET_ERR_UNKNOWN);
	CHECK(ret == 0 || out.len == 0);
	check_utf8(&out, 0);
	if (ret == 0 && out.len > 0) {
		struct buf small;
		buf_init(&small, out.len - 1);
		CHECK(charset_to_utf8(charset, s, len, &small) ==
		      CHARSET_ERR_FULL);
		CHECK(small.len == 0);
		buf_free(&small);
	}
	buf_free(&out);
}

static void check_rfc2047(const uint8_t *s, size_t len)
{
	struct buf out;

	buf_init(&out, EXPANSION * len + 16);
	CHECK(buf_append_str(&out, "pre") == 0);
	CHECK(rfc2047_decode((const char *)s, len, &out) == 0);
	CHECK(memcmp(out.data, "pre", 3) == 0);
	check_utf8(&out, 3);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *charset =
	        charsets[data[0] % (sizeof(charsets) / sizeof(charsets[0]))];
	struct buf out;

	check_convert(charset, data + 1, size - 1);
	check_rfc2047(data + 1, size - 1);
	buf_init(&out, EXPANSION * size + 16);
	CHECK(rfc2231_value_to_utf8(charset, data + 1, size - 1, &out) == 0);
	check_utf8(&out, 0);
	buf_free(&out);
	return 0;
}
