/* Unit tests for charset conversion (charset.h): names and aliases, the
 * common legacy charsets of mail, byte order marks, U+FFFD for invalid
 * input, caps; RFC 2047 section 8 examples and the tolerance rules for
 * encoded-words; RFC 2231 values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/charset.h"

#define MAX_BYTES 4096
#define FFFD "\xef\xbf\xbd"

struct conversion {
	const char *charset;
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	const char *out;
};

static void test_known(void **state)
{
	static const char *const known[] = {
	        "UTF-8",          "utf-8",        "US-ASCII",    "us-ascii",
	        "ISO-8859-1",     "iso-8859-2",   "ISO-8859-15", "Windows-1250",
	        "windows-1251",   "windows-1252", "KOI8-R",      "koi8-u",
	        "GB2312",         "gbk",          "GB18030",     "Big5",
	        "Shift_JIS",      "EUC-JP",       "ISO-2022-JP", "EUC-KR",
	        "ks_c_5601-1987", "UTF-16",       "utf-16le",    "UTF-32",
	        "UTF-7",          "latin1",       "cp1252",
	};
	static const char *const unknown[] = {
	        "",
	        "x-unknown",
	        "unknown-8bit",
	        "utf-8//TRANSLIT",
	        "../../etc/passwd",
	        "utf 8",
	        "a-name-much-longer-than-forty-characters-is-refused",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (!charset_known(known[i]))
			fail_msg("%s should be known", known[i]);
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		if (charset_known(unknown[i]))
			fail_msg("%s should be unknown", unknown[i]);
	}
}

static const struct conversion conversions[] = {
        {"us-ascii", "plain", 0, "plain"},
        {"US-ASCII", "caf\xc3\xa9", 0, "caf\xc3\xa9"},
        {"utf-8", "\xe2\x82\xac", 0, "\xe2\x82\xac"},
        {"ISO-8859-1", "caf\xe9", 0, "caf\xc3\xa9"},
        /* iso-8859-1 is read as windows-1252 */
        {"iso-8859-1", "\x80", 0, "\xe2\x82\xac"},
        {"iso-8859-15", "\xa4", 0, "\xe2\x82\xac"},
        {"windows-1251", "\xcf\xf0\xe8", 0, "\xd0\x9f\xd1\x80\xd0\xb8"},
        {"koi8-r", "\xf0\xd2\xc9", 0, "\xd0\x9f\xd1\x80\xd0\xb8"},
        {"gb2312", "\xc4\xe3\xba\xc3", 0, "\xe4\xbd\xa0\xe5\xa5\xbd"},
        {"GBK", "\xc4\xe3\xba\xc3", 0, "\xe4\xbd\xa0\xe5\xa5\xbd"},
        {"big5", "\xa7\x41\xa6\x6e", 0, "\xe4\xbd\xa0\xe5\xa5\xbd"},
        {"shift_jis", "\x82\xa0", 0, "\xe3\x81\x82"},
        {"euc-jp", "\xa4\xa2", 0, "\xe3\x81\x82"},
        {"iso-2022-jp", "\x1b$B$\"\x1b(B!", 0, "\xe3\x81\x82!"},
        {"ks_c_5601-1987", "\xc7\xd1", 0, "\xed\x95\x9c"},
        {"euc-kr", "\xc7\xd1", 0, "\xed\x95\x9c"},
        /* byte order marks; big-endian without one */
        {"utf-16",
         "\xff\xfe"
         "A\0",
         4, "A"},
        {"UTF-16", "\xfe\xff\0A", 4, "A"},
        {"utf-16", "\0A\0B", 4, "AB"},
        {"utf-16le", "A\0", 2, "A"},
        {"utf-32", "\xff\xfe\0\0A\0\0\0", 8, "A"},
        {"utf-32", "\0\0\0A", 4, "A"},
        {"utf-7", "a+AOk-", 0, "a\xc3\xa9"},
        /* invalid input becomes U+FFFD and conversion goes on */
        {"utf-8",
         "a\xff"
         "b",
         0, "a" FFFD "b"},
        {"utf-8", "\xc0\xaf", 0, FFFD FFFD},
        {"utf-8", "\xed\xa0\x80z", 0, FFFD FFFD FFFD "z"},
        {"utf-8", "\xf4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD},
        {"utf-8", "x\xe2\x82", 0, "x" FFFD FFFD},
        {"us-ascii", "caf\xe9", 0, "caf" FFFD},
        {"shift_jis", "\x82\xa0\xff\x82\xa0", 0,
         "\xe3\x81\x82" FFFD "\xe3\x81\x82"},
        {"shift_jis", "a\x82", 0, "a" FFFD},
        {"utf-16", "\0A\xd8\x00\0B", 6, "A" FFFD "B"},
        {"utf-16", "\0A\0", 3, "A" FFFD},
        {"windows-1252", "\x81", 0, FFFD},
        {"gb18030", "a\x81", 0, "a" FFFD},
        {"utf-8", "", 0, ""},
        {"koi8-r", "", 0, ""},
};

static void check_valid_utf8(const struct buf *out)
{
	assert_true(charset_utf8_valid(out->data, out->len));
}

static void test_convert(void **state)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	for (size_t i = 0; i < sizeof(conversions) / sizeof(conversions[0]);
	     i++) {
		const struct conversion *c = &conversions[i];
		size_t len = c->in_len > 0 ? c->in_len : strlen(c->in);
		buf_reset(&out);
		assert_int_equal(charset_to_utf8(c->charset, c->in, len, &out),
		                 0);
		if (strcmp(buf_cstr(&out), c->out) != 0)
			fail_msg("%s #%zu: got \"%s\", want \"%s\"", c->charset,
			         i, buf_cstr(&out), c->out);
		check_valid_utf8(&out);
	}
	buf_free(&out);
}

static void test_convert_errors(void **state)
{
	struct buf out;

	buf_init(&out, 6);
	assert_int_equal(buf_append_str(&out, "ab"), 0);
	assert_int_equal(charset_to_utf8("x-unknown", "c", 1, &out),
	                 CHARSET_ERR_UNKNOWN);
	assert_int_equal(charset_to_utf8("utf-8//IGNORE", "c", 1, &out),
	                 CHARSET_ERR_UNKNOWN);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(charset_to_utf8("iso-8859-1", "\xe9\xe9\xe9", 3, &out),
	                 CHARSET_ERR_FULL);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(charset_to_utf8("utf-8", "\xff\xff", 2, &out),
	                 CHARSET_ERR_FULL);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(charset_to_utf8("iso-8859-1", "\xe9\xe9", 2, &out), 0);
	assert_string_equal(buf_cstr(&out), "ab\xc3\xa9\xc3\xa9");
	buf_free(&out);
}

static void test_utf8_valid(void **state)
{
	assert_true(charset_utf8_valid("", 0));
	assert_true(charset_utf8_valid("a\0b", 3));
	assert_true(charset_utf8_valid("\xf4\x8f\xbf\xbf", 4));
	assert_true(charset_utf8_valid("\xef\xbf\xbd", 3));
	assert_false(charset_utf8_valid("\xe0\x80\x80", 3));
	assert_false(charset_utf8_valid("\xed\xbf\xbf", 3));
	assert_false(charset_utf8_valid("\xf5\x80\x80\x80", 4));
	assert_false(charset_utf8_valid("\xc3", 1));
	assert_false(charset_utf8_valid("\x80", 1));
}

struct pair {
	const char *in;
	const char *out;
};

static const struct pair rfc2047_pairs[] = {
        {"", ""},
        {"plain text", "plain text"},
        /* RFC 2047 section 8 */
        {"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
         "Keith Moore <moore@cs.utk.edu>"},
        {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
         "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>"},
        {"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
         "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>"},
        {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n "
         "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
         "If you can read this you understand the example."},
        {"(=?ISO-8859-1?Q?a?=)", "(a)"},
        {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
        {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
        {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
        /* case of the encoding letter and the hex digits */
        {"=?utf-8?q?caf=c3=a9?=", "caf\xc3\xa9"},
        {"=?utf-8?b?Y2Fmw6k=?=", "caf\xc3\xa9"},
        /* a character split across words of the same charset */
        {"=?UTF-8?Q?=C3?= =?utf-8?Q?=A9?=", "\xc3\xa9"},
        {"=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac"},
        {"=?utf-8?B?4oI=?==?utf-8?Q?=AC?=", "\xe2\x82\xac"},
        {"=?UTF-8?Q?=C3?= =?ISO-8859-1?Q?=E9?=", FFFD "\xc3\xa9"},
        {"=?UTF-8?Q?=C3?= x =?UTF-8?Q?=A9?=", FFFD " x " FFFD},
        /* RFC 2231 section 5 language */
        {"=?utf-8*en?Q?hello?=", "hello"},
        {"=?US-ASCII*EN-us?B?aGk=?= there", "hi there"},
        /* malformed words stay as they are, with their whitespace */
        {"=?utf-8?X?abc?=", "=?utf-8?X?abc?="},
        {"=?utf-8?Q?a b?=", "=?utf-8?Q?a b?="},
        {"=?utf-8?Q?abc", "=?utf-8?Q?abc"},
        {"=??Q?a?=", "=??Q?a?="},
        {"=?*en?Q?a?=", "=?*en?Q?a?="},
        {"=?utf-8?Q?a?b?=", "=?utf-8?Q?a?b?="},
        {"=?", "=?"},
        {"=?x-unknown?Q?a?= =?utf-8?Q?b?=", "=?x-unknown?Q?a?= b"},
        {"=?utf-8?Q?a?= =?x-unknown?Q?b?=", "a =?x-unknown?Q?b?="},
        {"=?utf-8?Q?a=Zb=?=", "a=Zb="},
        {"=?utf-8?B?#Y2Fm?=", "caf"},
        {"==?utf-8?Q?a?==", "=a="},
        {"=?utf-8?Q?\?=", ""},
        /* raw 8-bit text: UTF-8 if valid, else latin-1 */
        {"Caf\xc3\xa9 =?utf-8?Q?x?=", "Caf\xc3\xa9 x"},
        {"Caf\xe9 =?utf-8?Q?x?=", "Caf\xc3\xa9 x"},
        {"\xe9=?utf-8?Q?=C3=A9?=", "\xc3\xa9\xc3\xa9"},
        /* decoded bytes invalid in their charset */
        {"=?utf-8?Q?=FF?=", FFFD},
};

static void test_rfc2047(void **state)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	for (size_t i = 0; i < sizeof(rfc2047_pairs) / sizeof(rfc2047_pairs[0]);
	     i++) {
		const struct pair *p = &rfc2047_pairs[i];
		buf_reset(&out);
		assert_int_equal(rfc2047_decode(p->in, strlen(p->in), &out), 0);
		if (strcmp(buf_cstr(&out), p->out) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", p->in,
			         buf_cstr(&out), p->out);
		check_valid_utf8(&out);
	}
	buf_free(&out);
}

static void test_rfc2047_cap(void **state)
{
	const char *in = "=?utf-8?Q?abc?= =?iso-8859-1?Q?=E9?= def";
	struct buf out;

	buf_init(&out, 8);
	assert_int_equal(buf_append_str(&out, "x"), 0);
	assert_int_equal(rfc2047_decode(in, strlen(in), &out), -1);
	assert_string_equal(buf_cstr(&out), "x");
	buf_free(&out);
	buf_init(&out, 10);
	assert_int_equal(rfc2047_decode(in, strlen(in), &out), 0);
	assert_string_equal(buf_cstr(&out), "abc\xc3\xa9 def");
	buf_free(&out);
}

static void test_rfc2231(void **state)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	assert_int_equal(
	        rfc2231_value_to_utf8("iso-8859-1", "caf\xe9", 4, &out), 0);
	assert_string_equal(buf_cstr(&out), "caf\xc3\xa9");
	buf_reset(&out);
	assert_int_equal(
	        rfc2231_value_to_utf8("UTF-8", "\xe2\x82\xac", 3, &out), 0);
	assert_string_equal(buf_cstr(&out), "\xe2\x82\xac");
	buf_reset(&out);
	assert_int_equal(rfc2231_value_to_utf8(NULL, "caf\xc3\xa9", 5, &out),
	                 0);
	assert_string_equal(buf_cstr(&out), "caf\xc3\xa9");
	buf_reset(&out);
	assert_int_equal(rfc2231_value_to_utf8("", "caf\xe9", 4, &out), 0);
	assert_string_equal(buf_cstr(&out), "caf\xc3\xa9");
	buf_reset(&out);
	assert_int_equal(
	        rfc2231_value_to_utf8("x-mac-unknown", "\xe9", 1, &out), 0);
	assert_string_equal(buf_cstr(&out), "\xc3\xa9");
	buf_free(&out);
	buf_init(&out, 2);
	assert_int_equal(rfc2231_value_to_utf8("utf-8", "abc", 3, &out), -1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_known),
	        cmocka_unit_test(test_convert),
	        cmocka_unit_test(test_convert_errors),
	        cmocka_unit_test(test_utf8_valid),
	        cmocka_unit_test(test_rfc2047),
	        cmocka_unit_test(test_rfc2047_cap),
	        cmocka_unit_test(test_rfc2231),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
