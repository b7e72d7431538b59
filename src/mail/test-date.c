/* Unit tests for the Date header parser (date.h): RFC 5322 section 3.3
 * dates, the obsolete forms of section 4.3 and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/date.h"

static void expect_date(const char *in, time_t want, int want_offset)
{
	time_t t = 0;
	int offset = 12345;

	if (!date_parse(in, strlen(in), &t, &offset))
		fail_msg("not parsed: \"%s\"", in);
	if (t != want || offset != want_offset)
		fail_msg("\"%s\": got %lld %d, want %lld %d", in, (long long)t,
		         offset, (long long)want, want_offset);
}

static void expect_fail(const char *in)
{
	time_t t;
	int offset;

	if (date_parse(in, strlen(in), &t, &offset))
		fail_msg("parsed: \"%s\"", in);
}

/* 2024-02-29 12:34:56 UTC, a leap day */
#define T0 1709210096

static void test_modern(void **state)
{
	expect_date("Thu, 29 Feb 2024 12:34:56 +0000", T0, 0);
	expect_date("Thu, 29 Feb 2024 14:34:56 +0200", T0, 120);
	expect_date("Thu, 29 Feb 2024 07:04:56 -0530", T0, -330);
	expect_date("29 Feb 2024 12:34:56 +0000", T0, 0);
	expect_date("Thu, 1 Jan 1970 00:00:00 +0000", 0, 0);
	expect_date("Fri, 13 Feb 2009 23:31:30 +0000", 1234567890, 0);
	expect_date("Wed, 31 Dec 1969 23:59:59 +0000", -1, 0);
	expect_date("Tue, 1 Mar 2100 00:00:00 +0000", 4107542400, 0);
	expect_date("Fri, 31 Dec 9999 23:59:59 -0000", 253402300799, 0);
}

static void test_obsolete(void **state)
{
	/* two- and three-digit years (RFC 5322 4.3) */
	expect_date("Thu, 29 Feb 24 12:34:56 +0000", T0, 0);
	expect_date("Thu, 29 Feb 124 12:34:56 +0000", T0, 0);
	expect_date("1 Jan 70 00:00:00 GMT", 0, 0);
	expect_date("1 Jan 49 00:00:00 GMT", 2493072000, 0);
	/* no seconds */
	expect_date("Thu, 29 Feb 2024 12:34 +0000", T0 - 56, 0);
	/* named zones */
	expect_date("Thu, 29 Feb 2024 12:34:56 UT", T0, 0);
	expect_date("Thu, 29 Feb 2024 12:34:56 GMT", T0, 0);
	expect_date("Thu, 29 Feb 2024 12:34:56 Z", T0, 0);
	expect_date("Thu, 29 Feb 2024 07:34:56 EST", T0, -300);
	expect_date("Thu, 29 Feb 2024 08:34:56 edt", T0, -240);
	expect_date("Thu, 29 Feb 2024 06:34:56 CST", T0, -360);
	expect_date("Thu, 29 Feb 2024 07:34:56 CDT", T0, -300);
	expect_date("Thu, 29 Feb 2024 05:34:56 MST", T0, -420);
	expect_date("Thu, 29 Feb 2024 06:34:56 MDT", T0, -360);
	expect_date("Thu, 29 Feb 2024 04:34:56 PST", T0, -480);
	expect_date("Thu, 29 Feb 2024 05:34:56 PDT", T0, -420);
	/* military and unknown names carry no information: -0000 */
	expect_date("Thu, 29 Feb 2024 12:34:56 A", T0, 0);
	expect_date("Thu, 29 Feb 2024 12:34:56 CEST", T0, 0);
	/* no zone, "+hh:mm", trailing comment and junk */
	expect_date("Thu, 29 Feb 2024 12:34:56", T0, 0);
	expect_date("Thu, 29 Feb 2024 14:34:56 +02:00", T0, 120);
	expect_date("Thu, 29 Feb 2024 04:34:56 -0800 (PST)", T0, -480);
	expect_date("Thu, 29 Feb 2024 12:34:56 +0000 garbage", T0, 0);
}

static void test_whitespace(void **state)
{
	expect_date("  Thu ,29   Feb\t2024  12 : 34 : 56  +0000  ", T0, 0);
	expect_date("Thu, 29 Feb 2024\r\n 12:34:56 +0000", T0, 0);
	expect_date("(sent) Thu,(day) 29 (x (nested) \\) y) Feb 2024 "
	            "12:34:56 +0000",
	            T0, 0);
	expect_date("THURSDAY, 29 FEBRUARY 2024 12:34:56 +0000", T0, 0);
	/* leap second */
	expect_date("Sat, 31 Dec 2016 23:59:60 +0000", 1483228800, 0);
}

static void test_garbage(void **state)
{
	expect_fail("");
	expect_fail("   ");
	expect_fail("garbage");
	expect_fail("Thu, 29 Feb 2024");
	expect_fail("Thu, 29 Foo 2024 12:34:56 +0000");
	expect_fail("Thu, 30 Feb 2024 12:34:56 +0000");
	expect_fail("Fri, 29 Feb 2023 12:34:56 +0000");
	expect_fail("Thu, 0 Feb 2024 12:34:56 +0000");
	expect_fail("Thu, 29 Feb 2024 24:00:00 +0000");
	expect_fail("Thu, 29 Feb 2024 12:60:00 +0000");
	expect_fail("Thu, 29 Feb 2024 12:34:61 +0000");
	expect_fail("Thu, 29 Feb 2024 12 +0000");
	expect_fail("Thu, 29 Feb 2024 12:34: +0000");
	expect_fail("Thu, 29 Feb 2024 12:34:56 +000");
	expect_fail("Thu, 29 Feb 2024 12:34:56 +0099");
	expect_fail("Thu, 29 Feb 1 12:34:56 +0000");
	expect_fail("Thu, 29 Feb 10000 12:34:56 +0000");
	expect_fail("Thu, 123 Feb 2024 12:34:56 +0000");
	expect_fail("2024-02-29T12:34:56Z");
	expect_fail("Thu, 29 Feb 2024 123:34:56 +0000");
}

static void test_not_terminated(void **state)
{
	/* the length is respected: no reading past it */
	const char *s = "Thu, 29 Feb 2024 12:34:56 +0200";
	time_t t;
	int offset;

	assert_true(date_parse(s, strlen(s) - 5, &t, &offset));
	assert_int_equal(t, T0);
	assert_int_equal(offset, 0);
	assert_false(date_parse(s, 10, &t, &offset));
	assert_false(date_parse(NULL, 0, &t, &offset));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_modern),
	        cmocka_unit_test(test_obsolete),
	        cmocka_unit_test(test_whitespace),
	        cmocka_unit_test(test_garbage),
	        cmocka_unit_test(test_not_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
