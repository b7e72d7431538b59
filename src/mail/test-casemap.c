/* Unit tests for i;unicode-casemap folding (casemap.h): ASCII case,
 * full case folding (German sharp s, Greek final sigma), precomposed and
 * decomposed accents, canonical order of combining marks, the Turkish
 * letters as utf8proc's default mappings give them, invalid UTF-8, caps,
 * and substring search on folded text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "mail/casemap.h"

#define MAX_BYTES 4096

struct fold {
	const char *in;
	const char *out;
};

static const struct fold folds[] = {
        {"", ""},
        {"Hello WORLD 123 []", "hello world 123 []"},
        /* full folding: sharp s becomes ss */
        {"Stra\xc3\x9f"
         "e",
         "strasse"},
        {"STRASSE", "strasse"},
        {"\xe1\xba\x9e", "ss"}, /* U+1E9E LATIN CAPITAL LETTER SHARP S */
        /* Greek: capital, small and final sigma fold alike */
        {"\xce\x9f\xce\x94\xce\x9f\xce\xa3",
         "\xce\xbf\xce\xb4\xce\xbf\xcf\x83"},
        {"\xce\xbf\xce\xb4\xce\xbf\xcf\x82",
         "\xce\xbf\xce\xb4\xce\xbf\xcf\x83"},
        /* precomposed and decomposed accents meet in the decomposed form */
        {"Caf\xc3\xa9", "cafe\xcc\x81"},
        {"CAF\xc3\x89", "cafe\xcc\x81"},
        {"Cafe\xcc\x81", "cafe\xcc\x81"},
        {"CAFE\xcc\x81", "cafe\xcc\x81"},
        /* combining marks in canonical order (dot below, ccc 220, first) */
        {"a\xcc\x81\xcc\xa3", "a\xcc\xa3\xcc\x81"},
        {"a\xcc\xa3\xcc\x81", "a\xcc\xa3\xcc\x81"},
        {"\xe1\xba\xa1\xcc\x81", "a\xcc\xa3\xcc\x81"}, /* U+1EA1 + acute */
        /* Turkish: default mappings, no locale */
        {"I", "i"},
        {"\xc4\xb0", "i\xcc\x87"}, /* U+0130 -> i + U+0307 */
        {"\xc4\xb1", "\xc4\xb1"},  /* U+0131 dotless i stays */
        {"ISIK \xc4\xb1\xc5\x9f\xc4\xb1k", "isik \xc4\xb1s\xcc\xa7\xc4\xb1k"},
        /* invalid UTF-8: each bad byte is U+FFFD */
        {"a\xff"
         "B",
         "a\xef\xbf\xbd"
         "b"},
        {"\xc3", "\xef\xbf\xbd"},
        {"\xed\xa0\x80X", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"},
        /* Cyrillic */
        {"\xd0\x9f\xd0\xa0\xd0\x98", "\xd0\xbf\xd1\x80\xd0\xb8"},
};

static void test_fold(void **state)
{
	struct buf out;

	buf_init(&out, MAX_BYTES);
	for (size_t i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
		buf_reset(&out);
		assert_int_equal(
		        casemap_fold(folds[i].in, strlen(folds[i].in), &out),
		        0);
		if (strcmp(buf_cstr(&out), folds[i].out) != 0)
			fail_msg("#%zu \"%s\": got \"%s\", want \"%s\"", i,
			         folds[i].in, buf_cstr(&out), folds[i].out);
	}
	buf_free(&out);
}

/* Does hay contain needle after both are folded? */
static bool contains(const char *hay, const char *needle)
{
	struct buf h, n;
	bool found;

	buf_init(&h, MAX_BYTES);
	buf_init(&n, MAX_BYTES);
	assert_int_equal(casemap_fold(hay, strlen(hay), &h), 0);
	assert_int_equal(casemap_fold(needle, strlen(needle), &n), 0);
	found = casemap_contains(buf_cstr(&h), h.len, buf_cstr(&n), n.len);
	buf_free(&h);
	buf_free(&n);
	return found;
}

/* Folding ASCII runs apart from the rest gives what folding the whole
 * string with utf8proc gives, on strings mixing ASCII, combining marks
 * (also right after ASCII letters), precomposed and multi-codepoint
 * folds. */
static void test_runs_equal_whole(void **state)
{
	static const char *const pieces[] = {"a",
	                                     "Z",
	                                     " ",
	                                     "K",
	                                     "\xcc\x81",
	                                     "\xcc\xa3",
	                                     "\xc3\x89",
	                                     "\xc3\x9f",
	                                     "\xc4\xb0",
	                                     "\xce\xa3",
	                                     "\xe2\x84\xaa",
	                                     "\xef\xac\x80",
	                                     "\xd0\x9f",
	                                     ".",
	                                     "\xe1\xba\x9e"};
	unsigned int seed = 12345;
	struct buf mine, s;
	buf_init(&mine, MAX_BYTES);
	buf_init(&s, MAX_BYTES);
	for (int round = 0; round < 2000; round++) {
		buf_reset(&s);
		buf_reset(&mine);
		for (int k = 0; k < 12; k++) {
			seed = seed * 1103515245u + 12345u;
			buf_append_str(&s, pieces[(seed >> 16) % 15]);
		}
		utf8proc_uint8_t *whole = NULL;
		utf8proc_ssize_t n =
		        utf8proc_map((const utf8proc_uint8_t *)buf_cstr(&s),
		                     (utf8proc_ssize_t)s.len, &whole,
		                     UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD);
		assert_true(n >= 0);
		assert_int_equal(casemap_fold(buf_cstr(&s), s.len, &mine), 0);
		assert_int_equal(mine.len, (size_t)n);
		assert_memory_equal(mine.data, whole, (size_t)n);
		free(whole);
	}
	buf_free(&mine);
	buf_free(&s);
}

static void test_contains(void **state)
{
	assert_true(contains("Subject: Hello World", "WORLD"));
	assert_true(contains("Subject: Hello World", "o w"));
	assert_false(contains("Subject: Hello World", "worlds"));
	assert_true(contains("anything", ""));
	assert_true(contains("", ""));
	assert_false(contains("", "a"));
	assert_true(contains("Gro\xc3\x9f"
	                     "e Stra\xc3\x9f"
	                     "e",
	                     "STRASSE"));
	assert_true(contains("Stra\xc3\x9f"
	                     "e",
	                     "strasse"));
	assert_true(contains("STRASSE", "stra\xc3\x9f"));
	assert_true(contains("\xce\x9f\xce\x94\xce\x9f\xce\xa3",
	                     "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"));
	assert_true(contains("Un caf\xc3\xa9 noir", "CAFE\xcc\x81"));
	assert_true(contains("Un cafe\xcc\x81 noir", "Caf\xc3\xa9"));
	/* RFC 5051: decomposition lets the base letter match */
	assert_true(contains("caf\xc3\xa9", "cafe"));
	assert_false(contains("cafe", "caf\xc3\xa9"));
	/* dotless i does not match I; dotted capital I keeps its dot, so it
	 * matches only a dotted i (casemap.h) */
	assert_false(contains("\xc4\xb1", "I"));
	assert_false(contains("\xc4\xb0stanbul", "istanbul"));
	assert_true(contains("\xc4\xb0STANBUL", "i\xcc\x87stanbul"));
	assert_true(contains("\xc4\xb0stanbul", "STANBUL"));
	assert_true(contains("a\xff"
	                     "b",
	                     "A\xef\xbf\xbd"
	                     "B"));
}

static void test_cap(void **state)
{
	struct buf out;

	buf_init(&out, 6);
	assert_int_equal(buf_append_str(&out, "x"), 0);
	assert_int_equal(casemap_fold("Stra\xc3\x9f"
	                              "e",
	                              7, &out),
	                 -1);
	assert_string_equal(buf_cstr(&out), "x");
	assert_int_equal(casemap_fold("ABCDE", 5, &out), 0);
	assert_string_equal(buf_cstr(&out), "xabcde");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fold),
	        cmocka_unit_test(test_runs_equal_whole),
	        cmocka_unit_test(test_contains),
	        cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
