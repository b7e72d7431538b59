/* Unit tests for modified UTF-7 (mutf7.h): the RFC 3501 section 5.1.3
 * examples, every rule of the canonical form, strict UTF-8 on the way in,
 * buffer caps, and round trips over the whole of Unicode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/mutf7.h"

#define MAX_BYTES 4096

struct pair {
	const char *mutf7;
	const char *utf8;
};

/* Canonical spellings and their UTF-8. */
static const struct pair pairs[] = {
        {"", ""},
        {"INBOX", "INBOX"},
        {"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
         "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
         "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
        {"&-", "&"},
        {"&-&-", "&&"},
        {"&-Jo", "&Jo"},
        {"&AOk-", "\xc3\xa9"},
        {"&AOkA6Q-", "\xc3\xa9\xc3\xa9"},
        {"&AOk-&-", "\xc3\xa9&"},
        {"&AOk--", "\xc3\xa9-"},
        {"-&AOk-a&AOk-", "-\xc3\xa9"
                         "a\xc3\xa9"},
        {"&2D3eAA-", "\xf0\x9f\x98\x80"},
        {"a&2D3eAA-b", "a\xf0\x9f\x98\x80"
                       "b"},
        {"&AOnYPd4AAOk-", "\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9"},
        {"&A6kiSADn-", "\xce\xa9\xe2\x89\x88\xc3\xa7"},
        {"&AIA-", "\xc2\x80"},
        {"&,,8-", "\xef\xbf\xbf"},
        {"&2,,f,w-", "\xf4\x8f\xbf\xbf"},
        {" ~}", " ~}"},
};

static void check_decode(const char *in, size_t len, const char *expect)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	assert_true(mutf7_valid(in, len));
	assert_int_equal(mutf7_to_utf8(in, len, &out), 0);
	assert_int_equal(out.len, strlen(expect));
	assert_memory_equal(buf_cstr(&out), expect, out.len);
	buf_free(&out);
}

static void check_encode(const char *in, size_t len, const char *expect)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	assert_int_equal(mutf7_from_utf8(in, len, &out), 0);
	assert_string_equal(buf_cstr(&out), expect);
	buf_free(&out);
}

static void test_pairs(void **state)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		check_decode(pairs[i].mutf7, strlen(pairs[i].mutf7),
		             pairs[i].utf8);
		check_encode(pairs[i].utf8, strlen(pairs[i].utf8),
		             pairs[i].mutf7);
	}
}

static void check_invalid(const char *in, size_t len)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	assert_int_equal(buf_append_str(&out, "keep"), 0);
	assert_false(mutf7_valid(in, len));
	assert_int_equal(mutf7_to_utf8(in, len, &out), -1);
	assert_string_equal(buf_cstr(&out), "keep");
	buf_free(&out);
}

static void test_invalid_mutf7(void **state)
{
	static const char *const cases[] = {
	        "&",          /* shift never started */
	        "a&",         /* ditto */
	        "&AOk",       /* no '-' */
	        "&AOk a-",    /* space inside a shift */
	        "&AOk/-",     /* '/' is not modified base64 */
	        "&AOk=-",     /* no padding */
	        "&&-",        /* '&' inside a shift */
	        "&A-",        /* no whole code unit */
	        "&AO-",       /* ditto */
	        "&AOkA-",     /* a spare base64 digit */
	        "&AOl-",      /* leftover bits not zero */
	        "&AOn-",      /* ditto */
	        "&AGE-",      /* 'a' could be written directly */
	        "&ACY-",      /* '&' is "&-" */
	        "&ACA-",      /* space */
	        "&AH4-",      /* '~' */
	        "&AAA-",      /* NUL */
	        "&AAo-",      /* LF */
	        "&AH8-",      /* DEL */
	        "&AOkAYQ-",   /* ASCII after a non-ASCII character */
	        "&2D0-",      /* high surrogate alone */
	        "&2D3YPQ-",   /* two high surrogates */
	        "&3gA-",      /* low surrogate alone */
	        "&3gDYPQ-",   /* pair in the wrong order */
	        "&2D0-&3gA-", /* pair split over two shifts */
	        "&AOk-&AOk-", /* adjacent shifts: "&AOkA6Q-" */
	        "&AOk-&2D3eAA-",
	        "a\tb", /* controls, 8-bit bytes */
	        "\x7f",
	        "\xc3\xa9",
	        "\x80",
	        "&AOk\xff-",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_invalid(cases[i], strlen(cases[i]));
	check_invalid("a\0b", 3);
	check_invalid("&AOk-\0", 6);
	/* the length counts, not a terminator */
	check_invalid("&AOk-", 4);
	check_decode("&-&AOk-", 2, "&");
}

static void check_invalid_utf8(const char *in, size_t len)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	assert_int_equal(buf_append_str(&out, "keep"), 0);
	assert_int_equal(mutf7_from_utf8(in, len, &out), -1);
	assert_string_equal(buf_cstr(&out), "keep");
	buf_free(&out);
}

static void test_invalid_utf8(void **state)
{
	static const char *const cases[] = {
	        "\x80",                     /* continuation without a lead */
	        "\xbf",                     /* ditto */
	        "\xc3",                     /* truncated */
	        "a\xe6\x97",                /* ditto */
	        "\xf0\x9f\x98",             /* ditto */
	        "\xc3\x28",                 /* bad continuation */
	        "\xc0\xaf",                 /* overlong '/' */
	        "\xc1\xbf",                 /* overlong */
	        "\xe0\x80\xaf",             /* overlong */
	        "\xe0\x9f\xbf",             /* overlong U+07FF */
	        "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
	        "\xed\xa0\x80",             /* U+D800 */
	        "\xed\xbf\xbf",             /* U+DFFF */
	        "\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
	        "\xf4\x90\x80\x80",         /* U+110000 */
	        "\xf5\x80\x80\x80",         /* beyond */
	        "\xf8\x88\x80\x80\x80",     /* five bytes */
	        "\xfe",
	        "\xff",
	        "a\tb", /* controls */
	        "\r\n",
	        "\x1f",
	        "\x7f",
	        "\xc3\xa9\x01",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_invalid_utf8(cases[i], strlen(cases[i]));
	check_invalid_utf8("a\0b", 3);
	check_invalid_utf8("\0", 1);
}

static void test_cap(void **state)
{
	struct buf out;

	/* "&U,BTFw-" is 8 bytes */
	buf_init(&out, 9);
	assert_int_equal(buf_append_str(&out, "xy"), 0);
	assert_int_equal(mutf7_from_utf8("\xe5\x8f\xb0\xe5\x8c\x97", 6, &out),
	                 -1);
	assert_string_equal(buf_cstr(&out), "xy");
	assert_int_equal(mutf7_from_utf8("a&", 2, &out), 0);
	assert_string_equal(buf_cstr(&out), "xya&-");
	buf_free(&out);

	/* decoding: 6 bytes of UTF-8 */
	buf_init(&out, 5);
	assert_int_equal(mutf7_to_utf8("&U,BTFw-", 8, &out), -1);
	assert_int_equal(out.len, 0);
	assert_int_equal(mutf7_to_utf8("&-&-&-&-&-", 10, &out), 0);
	assert_string_equal(buf_cstr(&out), "&&&&&");
	assert_int_equal(mutf7_to_utf8("&-", 2, &out), -1);
	assert_string_equal(buf_cstr(&out), "&&&&&");
	buf_free(&out);
}

static size_t put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | (cp >> 6));
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | (cp >> 12));
		p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | (cp >> 18));
	p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* UTF-8 -> modified UTF-7 -> UTF-8 gives the input back, and the middle
 * is valid. */
static void check_round_trip(const char *utf8, size_t len)
{
	struct buf m, u;

	buf_init(&m, MAX_BYTES);
	buf_init(&u, MAX_BYTES);
	assert_int_equal(mutf7_from_utf8(utf8, len, &m), 0);
	assert_true(mutf7_valid((const char *)m.data, m.len));
	assert_int_equal(mutf7_to_utf8((const char *)m.data, m.len, &u), 0);
	assert_int_equal(u.len, len);
	assert_memory_equal(u.data, utf8, len);
	buf_free(&m);
	buf_free(&u);
}

static bool is_encodable(uint32_t cp)
{
	return cp >= 0x20 && cp != 0x7f && (cp < 0xd800 || cp > 0xdfff);
}

/* All of the first 2048 and of the edges of the surrogates, the BMP and
 * Unicode; a sample of the rest. */
static bool is_tested(uint32_t cp)
{
	return cp < 0x800 || cp % 97 == 0 || (cp >= 0xd700 && cp < 0xe100) ||
	       (cp >= 0xff00 && cp < 0x10100) || cp >= 0x10ff00;
}

/* Every code point alone, and after one and two others so that it starts
 * at each bit offset within a base64 digit. */
static void test_round_trip_all(void **state)
{
	for (uint32_t cp = 0x20; cp <= 0x10ffff; cp++) {
		char s[16];
		size_t n = 0;
		if (!is_encodable(cp) || !is_tested(cp))
			continue;
		n += put_utf8(s + n, cp);
		check_round_trip(s, n);
		n = put_utf8(s, 0xe9);
		n += put_utf8(s + n, cp);
		check_round_trip(s, n);
		n = put_utf8(s, 0x1f600);
		n += put_utf8(s + n, 0xe9);
		n += put_utf8(s + n, cp);
		n += put_utf8(s + n, '&');
		check_round_trip(s, n);
	}
}

/* Modified UTF-7 -> UTF-8 -> modified UTF-7 gives the input back. */
static void test_round_trip_mutf7(void **state)
{
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *in = pairs[i].mutf7;
		struct buf u, m;
		buf_init(&u, MAX_BYTES);
		buf_init(&m, MAX_BYTES);
		assert_int_equal(mutf7_to_utf8(in, strlen(in), &u), 0);
		assert_int_equal(
		        mutf7_from_utf8((const char *)u.data, u.len, &m), 0);
		assert_string_equal(buf_cstr(&m), in);
		buf_free(&u);
		buf_free(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pairs),
	        cmocka_unit_test(test_invalid_mutf7),
	        cmocka_unit_test(test_invalid_utf8),
	        cmocka_unit_test(test_cap),
	        cmocka_unit_test(test_round_trip_all),
	        cmocka_unit_test(test_round_trip_mutf7),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
