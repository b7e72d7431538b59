/* Unit tests for LMTP command lines (lmtp-parser.h): verbs, RFC 5321
 * paths (quoted local parts, source routes, address literals, the null
 * path, Postmaster), MAIL's SIZE and BODY parameters, and every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lmtp/lmtp-parser.h"

static void test_verbs(void **state)
{
	const char *args;
	assert_int_equal(lmtp_parse_verb("LHLO mx.example", &args),
	                 LMTP_VERB_LHLO);
	assert_string_equal(args, "mx.example");
	assert_int_equal(lmtp_parse_verb("mail FROM:<a@b>", &args),
	                 LMTP_VERB_MAIL);
	assert_string_equal(args, "FROM:<a@b>");
	assert_int_equal(lmtp_parse_verb("DATA", &args), LMTP_VERB_DATA);
	assert_string_equal(args, "");
	assert_int_equal(lmtp_parse_verb("rset   ", &args), LMTP_VERB_RSET);
	assert_string_equal(args, "");
	assert_int_equal(lmtp_parse_verb("Quit", &args), LMTP_VERB_QUIT);
	assert_int_equal(lmtp_parse_verb("EHLO x", &args), LMTP_VERB_EHLO);
	assert_int_equal(lmtp_parse_verb("HELO x", &args), LMTP_VERB_HELO);
	assert_int_equal(lmtp_parse_verb("VRFY a", &args), LMTP_VERB_VRFY);
	assert_int_equal(lmtp_parse_verb("DATAX", &args), LMTP_VERB_UNKNOWN);
	assert_int_equal(lmtp_parse_verb("DAT", &args), LMTP_VERB_UNKNOWN);
	assert_int_equal(lmtp_parse_verb("", &args), LMTP_VERB_UNKNOWN);
	assert_int_equal(lmtp_parse_verb("STARTTLS", &args), LMTP_VERB_UNKNOWN);
}

static void test_mail_paths(void **state)
{
	struct lmtp_path p;
	struct lmtp_mail_params mp;
	assert_int_equal(lmtp_parse_mail("FROM:<a@example.org>", &p, &mp),
	                 LMTP_PARSE_OK);
	assert_false(p.null);
	assert_string_equal(p.addr, "a@example.org");
	assert_string_equal(p.local, "a");
	assert_string_equal(p.domain, "example.org");
	assert_false(mp.has_size);
	assert_int_equal(mp.body, LMTP_BODY_UNSPECIFIED);
	assert_int_equal(lmtp_parse_mail("from:<>", &p, &mp), LMTP_PARSE_OK);
	assert_true(p.null);
	assert_string_equal(p.addr, "");
	/* tolerated: a space after the colon */
	assert_int_equal(lmtp_parse_mail("FROM: <x.y+z@[10.0.0.1]>", &p, &mp),
	                 LMTP_PARSE_OK);
	assert_string_equal(p.local, "x.y+z");
	assert_string_equal(p.domain, "[10.0.0.1]");
	/* a quoted local part: kept quoted in addr, unquoted in local */
	assert_int_equal(
	        lmtp_parse_mail("FROM:<\"a b\\\"c>\"@ex.org>", &p, &mp),
	        LMTP_PARSE_OK);
	assert_string_equal(p.addr, "\"a b\\\"c>\"@ex.org");
	assert_string_equal(p.local, "a b\"c>");
	/* a source route is dropped */
	assert_int_equal(lmtp_parse_mail("FROM:<@r1,@r2:u@d.example>", &p, &mp),
	                 LMTP_PARSE_OK);
	assert_string_equal(p.addr, "u@d.example");
}

static void test_mail_params(void **state)
{
	struct lmtp_path p;
	struct lmtp_mail_params mp;
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c> SIZE=12345 "
	                                 "BODY=8BITMIME",
	                                 &p, &mp),
	                 LMTP_PARSE_OK);
	assert_true(mp.has_size);
	assert_int_equal(mp.size, 12345);
	assert_int_equal(mp.body, LMTP_BODY_8BITMIME);
	assert_int_equal(lmtp_parse_mail("FROM:<> body=7bit", &p, &mp),
	                 LMTP_PARSE_OK);
	assert_int_equal(mp.body, LMTP_BODY_7BIT);
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c> RET=FULL", &p, &mp),
	                 LMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c> SIZE=x", &p, &mp),
	                 LMTP_PARSE_BAD_PARAM);
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c> SIZE=", &p, &mp),
	                 LMTP_PARSE_BAD_PARAM);
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c> SIZE", &p, &mp),
	                 LMTP_PARSE_BAD_PARAM);
	assert_int_equal(
	        lmtp_parse_mail("FROM:<a@b.c> SIZE=99999999999999999999999", &p,
	                        &mp),
	        LMTP_PARSE_BAD_PARAM);
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c> SIZE=1 SIZE=2", &p, &mp),
	                 LMTP_PARSE_BAD_PARAM);
	assert_int_equal(
	        lmtp_parse_mail("FROM:<a@b.c> BODY=BINARYMIME", &p, &mp),
	        LMTP_PARSE_BAD_PARAM);
	assert_int_equal(lmtp_parse_mail("FROM:<a@b.c>SIZE=1", &p, &mp),
	                 LMTP_PARSE_SYNTAX);
}

static void test_mail_errors(void **state)
{
	struct lmtp_path p;
	struct lmtp_mail_params mp;
	static const struct {
		const char *args;
		enum lmtp_parse_result want;
	} cases[] = {
	        {"", LMTP_PARSE_SYNTAX},
	        {"FROM", LMTP_PARSE_SYNTAX},
	        {"TO:<a@b.c>", LMTP_PARSE_SYNTAX},
	        {"FROM:a@b.c", LMTP_PARSE_SYNTAX},
	        {"FROM:<a@b.c", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a b@c.d>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<@b.c>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a@>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a@-b.c>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a@b..c>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a@b.c.>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a@[1.2.3.4>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<\"unterminated@b.c>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<\"\"@b.c>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<a@b.c>x", LMTP_PARSE_SYNTAX},
	        {"FROM:<\x80@b.c>", LMTP_PARSE_BAD_PATH},
	        {"FROM:<@r1:>", LMTP_PARSE_BAD_PATH},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum lmtp_parse_result r =
		        lmtp_parse_mail(cases[i].args, &p, &mp);
		if (r != cases[i].want)
			fail_msg("%s: %d, want %d", cases[i].args, r,
			         cases[i].want);
	}
}

static void test_rcpt(void **state)
{
	struct lmtp_path p;
	assert_int_equal(lmtp_parse_rcpt("TO:<alice+lists@example.org>", &p),
	                 LMTP_PARSE_OK);
	assert_string_equal(p.local, "alice+lists");
	assert_string_equal(p.domain, "example.org");
	assert_int_equal(lmtp_parse_rcpt("To:<Postmaster>", &p), LMTP_PARSE_OK);
	assert_string_equal(p.local, "Postmaster");
	assert_string_equal(p.domain, "");
	assert_int_equal(lmtp_parse_rcpt("TO:<alice>", &p),
	                 LMTP_PARSE_BAD_PATH);
	assert_int_equal(lmtp_parse_rcpt("TO:<>", &p), LMTP_PARSE_BAD_PATH);
	assert_int_equal(lmtp_parse_rcpt("TO:<a@b.c> NOTIFY=NEVER", &p),
	                 LMTP_PARSE_UNKNOWN_PARAM);
	assert_int_equal(lmtp_parse_rcpt("FROM:<a@b.c>", &p),
	                 LMTP_PARSE_SYNTAX);
}

/* RFC 5321 4.5.3.1.3: 256 octets with the brackets, and never more
 * copied than that, however long the line. */
static void test_path_length(void **state)
{
	char line[2048], local[1024];
	struct lmtp_path p;
	memset(local, 'a', sizeof(local));
	/* "<" local "@b.c" ">" = n + 6 bytes */
	snprintf(line, sizeof(line), "TO:<%.*s@b.c>", 250, local);
	assert_int_equal(lmtp_parse_rcpt(line, &p), LMTP_PARSE_OK);
	assert_int_equal(strlen(p.addr), 254);
	snprintf(line, sizeof(line), "TO:<%.*s@b.c>", 251, local);
	assert_int_equal(lmtp_parse_rcpt(line, &p), LMTP_PARSE_PATH_TOO_LONG);
	snprintf(line, sizeof(line), "TO:<%.*s@b.c>", 1000, local);
	assert_int_equal(lmtp_parse_rcpt(line, &p), LMTP_PARSE_PATH_TOO_LONG);
	snprintf(line, sizeof(line), "TO:<\"%.*s\"@b.c>", 1000, local);
	assert_int_equal(lmtp_parse_rcpt(line, &p), LMTP_PARSE_PATH_TOO_LONG);
	snprintf(line, sizeof(line), "TO:<a@%.*s.c>", 1000, local);
	assert_int_equal(lmtp_parse_rcpt(line, &p), LMTP_PARSE_PATH_TOO_LONG);
}

static void test_domain(void **state)
{
	assert_true(lmtp_domain_valid("mx.example.org"));
	assert_true(lmtp_domain_valid("localhost"));
	assert_true(lmtp_domain_valid("[127.0.0.1]"));
	assert_true(lmtp_domain_valid("[IPv6:::1]"));
	assert_true(lmtp_domain_valid("host_name.lan"));
	assert_false(lmtp_domain_valid(""));
	assert_false(lmtp_domain_valid("a b"));
	assert_false(lmtp_domain_valid("a..b"));
	assert_false(lmtp_domain_valid(".a"));
	assert_false(lmtp_domain_valid("[]"));
	assert_false(lmtp_domain_valid("a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_verbs),
	        cmocka_unit_test(test_mail_paths),
	        cmocka_unit_test(test_mail_params),
	        cmocka_unit_test(test_mail_errors),
	        cmocka_unit_test(test_rcpt),
	        cmocka_unit_test(test_path_length),
	        cmocka_unit_test(test_domain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
