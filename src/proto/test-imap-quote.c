/* Unit tests for the IMAP response encoder (imap-quote.h): the choice of
 * atom, quoted string or literal (RFC 3501 / RFC 9051 section 4.3, 9)
 * and the exact bytes written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "proto/imap-quote.h"

typedef int write_fn(struct buf *out, const void *s, size_t len);

static void expect_write(write_fn *fn, const void *s, size_t len,
                         const char *want, size_t want_len)
{
	struct buf out;

	buf_init(&out, 4096);
	assert_int_equal(buf_append_str(&out, "x "), 0);
	assert_int_equal(fn(&out, s, len), 0);
	assert_int_equal(out.len, want_len + 2);
	assert_memory_equal(out.data, "x ", 2);
	assert_memory_equal(out.data + 2, want, want_len);
	buf_free(&out);
}

/* s and want as C strings without NULs */
#define EXPECT(fn, s, want) expect_write(fn, s, strlen(s), want, strlen(want))

static void test_string_quoted(void **state)
{
	EXPECT(imap_write_string, "", "\"\"");
	EXPECT(imap_write_string, "hello world", "\"hello world\"");
	EXPECT(imap_write_string, "NIL", "\"NIL\"");
	EXPECT(imap_write_string, "a\"b\\c", "\"a\\\"b\\\\c\"");
	EXPECT(imap_write_string, "tab\there (x) {3} * %",
	       "\"tab\there (x) {3} * %\"");
	EXPECT(imap_write_string, "\x7f\x01", "\"\x7f\x01\"");
}

static void test_string_literal(void **state)
{
	EXPECT(imap_write_string, "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9");
	EXPECT(imap_write_string, "a\r\nb", "{4}\r\na\r\nb");
	EXPECT(imap_write_string, "a\rb", "{3}\r\na\rb");
	EXPECT(imap_write_string, "a\nb", "{3}\r\na\nb");
	expect_write(imap_write_string, "a\0b", 3, "{3}\r\na\0b", 8);
	/* long text goes as a literal, however plain */
	char text[IMAP_QUOTED_MAX_BYTES + 1];
	char want[IMAP_QUOTED_MAX_BYTES + 16];
	memset(text, 'a', sizeof(text));
	want[0] = '"';
	memset(want + 1, 'a', IMAP_QUOTED_MAX_BYTES);
	want[IMAP_QUOTED_MAX_BYTES + 1] = '"';
	expect_write(imap_write_string, text, IMAP_QUOTED_MAX_BYTES, want,
	             IMAP_QUOTED_MAX_BYTES + 2);
	int n = snprintf(want, sizeof(want), "{%d}\r\n",
	                 IMAP_QUOTED_MAX_BYTES + 1);
	memcpy(want + n, text, sizeof(text));
	expect_write(imap_write_string, text, sizeof(text), want,
	             (size_t)n + sizeof(text));
}

static void test_astring(void **state)
{
	EXPECT(imap_write_astring, "INBOX", "INBOX");
	EXPECT(imap_write_astring, "a]b", "a]b");
	EXPECT(imap_write_astring, "[Gmail]/Sent", "[Gmail]/Sent");
	EXPECT(imap_write_astring, "~user+tag", "~user+tag");
	EXPECT(imap_write_astring, "", "\"\"");
	EXPECT(imap_write_astring, "NIL", "\"NIL\"");
	EXPECT(imap_write_astring, "nil", "\"nil\"");
	EXPECT(imap_write_astring, "NILS", "NILS");
	EXPECT(imap_write_astring, "a b", "\"a b\"");
	EXPECT(imap_write_astring, "a(b", "\"a(b\"");
	EXPECT(imap_write_astring, "a)b", "\"a)b\"");
	EXPECT(imap_write_astring, "a{b", "\"a{b\"");
	EXPECT(imap_write_astring, "a%", "\"a%\"");
	EXPECT(imap_write_astring, "a*", "\"a*\"");
	EXPECT(imap_write_astring, "a\"b", "\"a\\\"b\"");
	EXPECT(imap_write_astring, "\\Seen", "\"\\\\Seen\"");
	EXPECT(imap_write_astring, "a\x7f", "\"a\x7f\"");
	EXPECT(imap_write_astring, "a\x01", "\"a\x01\"");
	EXPECT(imap_write_astring, "Entw\xc3\xbcrfe", "{9}\r\nEntw\xc3\xbcrfe");
}

static void test_nstring(void **state)
{
	expect_write(imap_write_nstring, NULL, 0, "NIL", 3);
	EXPECT(imap_write_nstring, "", "\"\"");
	EXPECT(imap_write_nstring, "NIL", "\"NIL\"");
	EXPECT(imap_write_nstring, "x\ny", "{3}\r\nx\ny");
}

/* A write that does not fit fails and leaves the buffer as it was. */
static void test_cap(void **state)
{
	struct buf out;

	buf_init(&out, 8);
	assert_int_equal(buf_append_str(&out, "ab"), 0);
	assert_int_equal(imap_write_string(&out, "abcdef", 6), -1);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(imap_write_string(&out, "a\"b\"", 4), -1);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(imap_write_string(&out, "\xff\xff", 2), -1);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(imap_write_astring(&out, "abcdefg", 7), -1);
	assert_string_equal(buf_cstr(&out), "ab");
	assert_int_equal(imap_write_string(&out, "abcd", 4), 0);
	assert_string_equal(buf_cstr(&out), "ab\"abcd\"");
	assert_int_equal(imap_write_nstring(&out, NULL, 0), -1);
	assert_string_equal(buf_cstr(&out), "ab\"abcd\"");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_string_quoted),
	        cmocka_unit_test(test_string_literal),
	        cmocka_unit_test(test_astring),
	        cmocka_unit_test(test_nstring),
	        cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
