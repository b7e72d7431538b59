/* Unit tests for the IMAP ENVELOPE writer (envelope.h), checked byte for
 * byte against RFC 3501 section 7.4.2 and 9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "mail/envelope.h"

static void expect_env_n(const char *header, size_t len, const char *want)
{
	struct buf out;

	buf_init(&out, 65536);
	assert_int_equal(buf_append_str(&out, "x "), 0);
	envelope_write(&out, header, len);
	if (strcmp(buf_cstr(&out) + 2, want) != 0)
		fail_msg("got\n%s\nwant\n%s", buf_cstr(&out) + 2, want);
	/* one byte short of the cap: nothing written */
	struct buf small;
	buf_init(&small, out.len - 3);
	assert_int_equal(buf_append_str(&small, "x "), 0);
	envelope_write(&small, header, len);
	assert_int_equal(small.len, 2);
	buf_free(&small);
	buf_free(&out);
}

#define expect_env(header, want) expect_env_n(header, strlen(header), want)

static void test_full(void **state)
{
	expect_env(
	        "Date: Thu, 29 Feb 2024 12:34:56 +0000\r\n"
	        "From: Joe Q. Public <john.q.public@example.com>\r\n"
	        "Sender: Secretary <sec@example.com>\r\n"
	        "Reply-To: list@example.org\r\n"
	        "To: Mary Smith <mary@x.test>, jdoe@example.org,\r\n"
	        " Who? <one@y.test>\r\n"
	        "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
	        "<sysservices@example.net>\r\n"
	        "Bcc: hidden@example.com\r\n"
	        "Subject: Saying Hello\r\n"
	        "Message-ID: <1234@local.machine.example>\r\n"
	        "In-Reply-To: <3456@example.net>\r\n"
	        "\r\n"
	        "body: not a field\r\n",
	        "(\"Thu, 29 Feb 2024 12:34:56 +0000\" \"Saying Hello\" "
	        "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
	        "((\"Secretary\" NIL \"sec\" \"example.com\")) "
	        "((NIL NIL \"list\" \"example.org\")) "
	        "((\"Mary Smith\" NIL \"mary\" \"x.test\")"
	        "(NIL NIL \"jdoe\" \"example.org\")"
	        "(\"Who?\" NIL \"one\" \"y.test\")) "
	        "((NIL NIL \"boss\" \"nil.test\")"
	        "(\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" "
	        "\"example.net\")) "
	        "((NIL NIL \"hidden\" \"example.com\")) "
	        "\"<3456@example.net>\" \"<1234@local.machine.example>\")");
}

static void test_empty(void **state)
{
	const char *nil10 = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

	/* no header fields at all: Dovecot answers the same */
	expect_env("", nil10);
	expect_env("\r\n", nil10);
	expect_env("\r\nSubject: in the body\r\n", nil10);
	expect_env("X-Other: 1\r\n\r\n", nil10);
	/* empty fields are empty strings; empty lists are NIL */
	expect_env("Subject:\r\nDate: \r\nTo:\r\nMessage-ID:  <a@b>  \r\n\r\n",
	           "(\"\" \"\" NIL NIL NIL NIL NIL NIL NIL \"<a@b>\")");
}

static void test_defaults(void **state)
{
	/* Sender and Reply-To take From when absent or empty */
	expect_env("From: a@b\r\nSender:\r\nReply-To: (nobody)\r\n\r\n",
	           "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	           "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)");
	/* missing From: all three NIL */
	expect_env(
	        "To: c@d\r\nSubject: hi\r\n\r\n",
	        "(NIL \"hi\" NIL NIL NIL ((NIL NIL \"c\" \"d\")) NIL NIL NIL "
	        "NIL)");
	/* a Sender of its own is kept */
	expect_env("Sender: s@t\r\n\r\n",
	           "(NIL NIL NIL ((NIL NIL \"s\" \"t\")) NIL NIL NIL NIL NIL "
	           "NIL)");
}

static void test_raw_values(void **state)
{
	/* 8-bit subject as a literal; folding removed, not decoded */
	expect_env("Subject: caf\xc3\xa9\r\n  folded\ttab\r\n\r\n",
	           "(NIL {17}\r\ncaf\xc3\xa9  folded\ttab NIL NIL NIL NIL NIL "
	           "NIL NIL NIL)");
	expect_env("Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\n",
	           "(NIL \"=?utf-8?q?caf=C3=A9?=\" NIL NIL NIL NIL NIL NIL NIL "
	           "NIL)");
	/* first occurrence wins; names are case-insensitive; bare LF */
	expect_env(
	        "SUBJECT: one\nsubject: two\nfrom: a@b\nFrom: c@d\n\n",
	        "(NIL \"one\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	        "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)");
	expect_env(
	        "In-Reply-To: <x@y>\r\n <z@w>\r\nSubject: a \"q\" \\\r\n\r\n",
	        "(NIL \"a \\\"q\\\" \\\\\" NIL NIL NIL NIL NIL NIL "
	        "\"<x@y> <z@w>\" NIL)");
}

static void test_field_names(void **state)
{
	/* white space before the colon; a field name that only starts like
	 * one of ours; a stray continuation line first */
	expect_env(" stray\r\nSubject\t: x\r\nTo-Do: y\r\nToo: z\r\n\r\n",
	           "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* a header block without its empty line */
	expect_env("Message-Id: <m@x>", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL "
	                                "\"<m@x>\")");
}

static void test_groups(void **state)
{
	expect_env(
	        "From: boss@x\r\nTo: undisclosed-recipients:;\r\n"
	        "Cc: team: a@b, \"A, B\" <c@d>;, e@f\r\n\r\n",
	        "(NIL NIL ((NIL NIL \"boss\" \"x\")) ((NIL NIL \"boss\" "
	        "\"x\")) ((NIL NIL \"boss\" \"x\")) "
	        "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	        "((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b\")"
	        "(\"A, B\" NIL \"c\" \"d\")(NIL NIL NIL NIL)"
	        "(NIL NIL \"e\" \"f\")) NIL NIL NIL)");
	/* 8-bit display name and a NUL byte (dropped by unfolding) */
	expect_env_n("From: J\xc3\xb6rg <j@x>\r\nTo: a\0b@c\r\n\r\n", 32,
	             "(NIL NIL (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) "
	             "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) "
	             "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) "
	             "((NIL NIL \"ab\" \"c\")) NIL NIL NIL NIL)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_full),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_raw_values),
	        cmocka_unit_test(test_groups),
	        cmocka_unit_test(test_field_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
