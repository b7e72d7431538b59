/* Unit tests for SEARCH programs (search.c): parsing every key form and
 * evaluating against messages built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "imap/search.h"
#include "proto/imap-parser.h"
#include "store/store.h"

/* Parse text as a SEARCH command's arguments. */
static int parse(const char *text, struct search_program *prog,
                 struct imap_parser **p_r)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 4096,
	        .max_literal_bytes = 4096,
	        .max_command_bytes = 8192,
	        .max_depth = 64,
	        .max_args = 1000,
	};
	char line[4200];
	snprintf(line, sizeof(line), "a SEARCH %s\r\n", text);
	*p_r = imap_parser_create(&lim);
	size_t consumed;
	enum imap_parse_result r = imap_parser_feed(
	        *p_r, (const unsigned char *)line, strlen(line), &consumed);
	if (r != IMAP_PARSE_DONE)
		print_message("not a command: %s", line);
	assert_int_equal(r, IMAP_PARSE_DONE);
	const struct imap_command_line *cmd = imap_parser_command(*p_r);
	const char *error = NULL;
	return search_parse(cmd->args, cmd->arg_count, prog, &error);
}

/* Does text match m? */
static bool matches(const char *text, const struct search_msg *m)
{
	struct search_program prog;
	struct imap_parser *p;
	assert_int_equal(parse(text, &prog, &p), 0);
	bool ret = search_match(&prog.root, m);
	search_free(&prog);
	imap_parser_destroy(&p);
	return ret;
}

static struct search_msg sample(void)
{
	struct search_msg m = {
	        .seq = 3,
	        .uid = 30,
	        .max_seq = 5,
	        .max_uid = 50,
	        .flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
	        .recent = true,
	        .keywords = "$Work Later",
	        /* 2021-06-15 23:30 -0700 = 2021-06-16 06:30 UTC */
	        .internaldate = 1623825000,
	        .tz_offset_min = -420,
	        .size = 2048,
	        .now = 1623825000 + 7200,
	};
	return m;
}

static void test_flags_and_keywords(void **state)
{
	struct search_msg m = sample();
	assert_true(matches("SEEN FLAGGED", &m));
	assert_false(matches("SEEN ANSWERED", &m));
	assert_true(matches("UNANSWERED UNDELETED UNDRAFT", &m));
	assert_true(matches("keyword later", &m));
	assert_false(matches("KEYWORD Late", &m));
	assert_true(matches("UNKEYWORD $Home", &m));
	assert_true(matches("RECENT OLD", &m) == false);
	assert_false(matches("NEW", &m)); /* recent but seen */
}

static void test_sets(void **state)
{
	struct search_msg m = sample();
	assert_true(matches("3", &m));
	assert_true(matches("5:1", &m));
	assert_false(matches("4:*", &m));
	assert_true(matches("UID 30", &m));
	assert_true(matches("UID 31:*", &m) == false);
	uint32_t saved[] = {10, 30, 40};
	m.saved = saved;
	m.saved_count = 3;
	assert_true(matches("$", &m));
	m.saved_count = 1;
	assert_false(matches("UID $", &m));
}

static void test_logic(void **state)
{
	struct search_msg m = sample();
	assert_true(matches("OR ANSWERED SEEN", &m));
	assert_false(matches("NOT SEEN", &m));
	assert_true(matches("NOT (SEEN ANSWERED)", &m));
	assert_true(matches("OR (ANSWERED) (NOT DELETED)", &m));
	assert_true(matches("((((SEEN))))", &m));
}

static void test_sizes_and_dates(void **state)
{
	struct search_msg m = sample();
	assert_true(matches("LARGER 2047 SMALLER 2049", &m));
	assert_false(matches("LARGER 2048", &m));
	/* the date in its own zone is 15 June, although it is 16 June UTC */
	assert_true(matches("ON 15-Jun-2021", &m));
	assert_false(matches("ON 16-Jun-2021", &m));
	assert_true(matches("BEFORE 16-Jun-2021 SINCE 15-Jun-2021", &m));
	assert_true(matches("YOUNGER 7200 OLDER 7199", &m));
	assert_false(matches("YOUNGER 7199", &m));
}

static void test_content_keys_flagged(void **state)
{
	static const char *const content[] = {
	        "FROM x",
	        "TO x",
	        "CC x",
	        "BCC x",
	        "SUBJECT x",
	        "BODY x",
	        "TEXT x",
	        "HEADER X-Foo x",
	        "SENTON 1-Jan-2020",
	        "OR SEEN SUBJECT x",
	};
	for (size_t i = 0; i < sizeof(content) / sizeof(content[0]); i++) {
		struct search_program prog;
		struct imap_parser *p;
		assert_int_equal(parse(content[i], &prog, &p), 0);
		assert_true(prog.content);
		bool body = strncmp(content[i], "BODY", 4) == 0 ||
		            strncmp(content[i], "TEXT", 4) == 0;
		assert_int_equal(prog.body, body);
		search_free(&prog);
		imap_parser_destroy(&p);
	}
}

static void test_return_and_charset(void **state)
{
	struct search_program prog;
	struct imap_parser *p;
	assert_int_equal(
	        parse("RETURN (MIN COUNT SAVE) CHARSET UTF-8 ALL", &prog, &p),
	        0);
	assert_true(prog.esearch && prog.ret_min && prog.ret_count &&
	            prog.ret_save && !prog.ret_all && !prog.ret_max);
	assert_string_equal(prog.charset, "UTF-8");
	assert_false(prog.content);
	search_free(&prog);
	imap_parser_destroy(&p);
	assert_int_equal(parse("RETURN () ALL", &prog, &p), 0);
	assert_true(prog.esearch && prog.ret_all);
	search_free(&prog);
	imap_parser_destroy(&p);
}

/* MODSEQ (RFC 7162 3.1.5): at least the value; an entry name and type
 * are checked and ignored (one modseq per message). */
static void test_modseq(void **state)
{
	struct search_msg m = sample();
	m.modseq = 620162338;
	assert_true(matches("MODSEQ 620162338", &m));
	assert_true(matches("MODSEQ 0", &m));
	assert_false(matches("MODSEQ 620162339", &m));
	assert_true(matches("MODSEQ \"/flags/\\\\draft\" all 620162338", &m));
	assert_true(matches("MODSEQ \"/flags/$MDNSent\" priv 1", &m));
	assert_true(matches("MODSEQ {12+}\r\n/flags/\\Seen shared 2", &m));
	assert_false(matches("OR NOT MODSEQ 600000000 LARGER 50000", &m));
	assert_true(matches("OR NOT MODSEQ 720162338 LARGER 50000", &m));
	struct search_program prog;
	struct imap_parser *p;
	assert_int_equal(parse("NOT (SEEN MODSEQ 5)", &prog, &p), 0);
	assert_true(prog.modseq);
	assert_false(prog.content);
	search_free(&prog);
	imap_parser_destroy(&p);
	assert_int_equal(parse("SEEN", &prog, &p), 0);
	assert_false(prog.modseq);
	search_free(&prog);
	imap_parser_destroy(&p);
	static const char *const bad[] = {
	        "MODSEQ",
	        "MODSEQ x",
	        "MODSEQ -1",
	        "MODSEQ 9223372036854775808",
	        "MODSEQ \"/flags/\\\\seen\" 5",
	        "MODSEQ \"/flags/\" all 5",
	        "MODSEQ \"/other/x\" all 5",
	        "MODSEQ \"/flags/x\" none 5",
	        "MODSEQ \"/flags/x\" all",
	        "MODSEQ \"/flags/x\" all \"5\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &prog, &p), -1);
		search_free(&prog);
		imap_parser_destroy(&p);
	}
}

/* A UID SEARCH naming sequence numbers must not report expunges. */
static void test_uses_seqnums(void **state)
{
	static const struct {
		const char *text;
		bool seqnums;
	} cases[] = {
	        {"ALL", false},
	        {"UID 1:5", false},
	        {"1:5", true},
	        {"NOT (SEEN OR 3 ALL)", true},
	        {"$", false},
	        {"OR UID 1 (UID 2 *)", true},
	        {"MODSEQ 5 UID *", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct search_program prog;
		struct imap_parser *p;
		assert_int_equal(parse(cases[i].text, &prog, &p), 0);
		assert_int_equal(search_uses_seqnums(&prog.root),
		                 cases[i].seqnums);
		search_free(&prog);
		imap_parser_destroy(&p);
	}
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
	        "FOO",
	        "NOT",
	        "OR SEEN",
	        "LARGER x",
	        "BEFORE 1-Xyz-2020",
	        "ON 0-Jan-2020",
	        "KEYWORD \\Seen",
	        "UID x",
	        "()",
	        "HEADER",
	        "RETURN (BOGUS) ALL",
	        "CHARSET",
	};
	struct search_program prog;
	const char *error = NULL;
	assert_int_equal(search_parse(NULL, 0, &prog, &error), -1);
	assert_non_null(error);
	search_free(&prog);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_parser *p;
		assert_int_equal(parse(bad[i], &prog, &p), -1);
		search_free(&prog);
		imap_parser_destroy(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_flags_and_keywords),
	        cmocka_unit_test(test_sets),
	        cmocka_unit_test(test_logic),
	        cmocka_unit_test(test_sizes_and_dates),
	        cmocka_unit_test(test_content_keys_flagged),
	        cmocka_unit_test(test_return_and_charset),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_modseq),
	        cmocka_unit_test(test_uses_seqnums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
