/* Unit tests for the IMAP command parser (imap-parser.h): RFC 3501 /
 * RFC 9051 section 9 syntax, LITERAL+ (RFC 7888), literal8 (RFC 3516),
 * every limit and the error recovery rules.
 *
 * Every input is fed whole, one byte at a time, split in two at every
 * offset and (when short) in three at every pair of offsets; each way must
 * give the same transcript of results, which is then compared with the
 * expected one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "proto/imap-parser.h"

#define TRANSCRIPT_MAX_BYTES (1024 * 1024)
#define MAX_CHUNKS 3

static const struct imap_parser_limits default_limits = {
        .max_line_bytes = 1000,
        .max_literal_bytes = 1000,
        .max_command_bytes = 4000,
        .max_depth = 4,
        .max_args = 20,
};

/* a string literal with NULs, as input and len */
#define BYTES(s) s, sizeof(s) - 1

struct parse_case {
	const char *input;
	size_t len; /* 0: strlen(input) */
	const char *expect;
	const struct imap_parser_limits *lim; /* NULL: default_limits */
};

/* ---- transcripts ---- */

static void describe_bytes(struct buf *t, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_printf(t, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(t, "\\x%02x", c);
		else
			buf_append_byte(t, c);
	}
}

static void describe_arg(struct buf *t, const struct imap_arg *arg)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
		assert_int_equal(strlen(arg->str), arg->len);
		buf_append(t, arg->str, arg->len);
		break;
	case IMAP_ARG_NIL:
		buf_append_str(t, "NIL");
		break;
	case IMAP_ARG_QUOTED:
		buf_append_byte(t, '"');
		describe_bytes(t, arg->str, arg->len);
		buf_append_byte(t, '"');
		break;
	case IMAP_ARG_LITERAL:
		assert_int_equal(arg->str[arg->len], '\0');
		buf_printf(t, "%s{%zu}", arg->is_literal8 ? "~" : "", arg->len);
		describe_bytes(t, arg->str, arg->len);
		break;
	case IMAP_ARG_LIST:
		buf_append_byte(t, '(');
		for (size_t i = 0; i < arg->list_count; i++) {
			if (i > 0)
				buf_append_byte(t, ' ');
			describe_arg(t, &arg->list[i]);
		}
		buf_append_byte(t, ')');
		break;
	}
}

/* Appends one line per result other than MORE. Returns false after a
 * fatal error. */
static bool record(struct buf *t, struct imap_parser *p,
                   enum imap_parse_result r)
{
	const struct imap_command_line *cmd;
	const char *msg, *tag;
	bool fatal;

	if (t->len > 0)
		buf_append_byte(t, '\n');
	switch (r) {
	case IMAP_PARSE_DONE:
		cmd = imap_parser_command(p);
		assert_non_null(cmd);
		buf_printf(t, "%s %s", cmd->tag, cmd->name);
		for (size_t i = 0; i < cmd->arg_count; i++) {
			buf_append_byte(t, ' ');
			describe_arg(t, &cmd->args[i]);
		}
		return true;
	case IMAP_PARSE_CONTINUE:
		buf_append_byte(t, '+');
		return true;
	case IMAP_PARSE_ERROR:
		msg = imap_parser_error(p, &fatal);
		tag = imap_parser_error_tag(p);
		assert_non_null(msg);
		buf_printf(t, "%s %s \"%s\"", fatal ? "BYE" : "BAD",
		           tag != NULL ? tag : "*", msg);
		return !fatal;
	case IMAP_PARSE_MORE:
		break;
	}
	fail_msg("MORE is not recorded");
	return false;
}

/* Feed one chunk the way a session does: after each result other than
 * MORE, drop what was consumed and feed the rest. */
static bool feed_chunk(struct imap_parser *p, struct buf *t,
                       const unsigned char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t consumed;
		enum imap_parse_result r =
		        imap_parser_feed(p, data + off, len - off, &consumed);
		assert_true(consumed <= len - off);
		if (r == IMAP_PARSE_MORE) {
			assert_int_equal(consumed, len - off);
			return true;
		}
		assert_true(consumed > 0);
		off += consumed;
		if (!record(t, p, r))
			return false;
	}
	return true;
}

/* Split the input at the sorted offsets cuts[0..ncuts-1]. */
static void run_split(const struct parse_case *c, const size_t *cuts,
                      size_t ncuts, struct buf *t)
{
	const struct imap_parser_limits *lim =
	        c->lim != NULL ? c->lim : &default_limits;
	const unsigned char *in = (const unsigned char *)c->input;
	size_t len = c->len != 0 ? c->len : strlen(c->input);
	struct imap_parser *p = imap_parser_create(lim);
	size_t start = 0;

	buf_reset(t);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		if (!feed_chunk(p, t, in + start, end - start))
			break;
		start = end;
	}
	imap_parser_destroy(&p);
	assert_null(p);
}

static void run_bytewise(const struct parse_case *c, struct buf *t)
{
	const unsigned char *in = (const unsigned char *)c->input;
	size_t len = c->len != 0 ? c->len : strlen(c->input);
	struct imap_parser *p =
	        imap_parser_create(c->lim != NULL ? c->lim : &default_limits);

	buf_reset(t);
	for (size_t i = 0; i < len; i++) {
		if (!feed_chunk(p, t, in + i, 1))
			break;
	}
	imap_parser_destroy(&p);
}

static void expect_same(const struct parse_case *c, const struct buf *want,
                        const struct buf *got, const char *how)
{
	if (strcmp(buf_cstr(want), buf_cstr(got)) == 0)
		return;
	print_error("input %s fed %s:\n%s\nbut whole:\n%s\n", c->input, how,
	            buf_cstr(got), buf_cstr(want));
	fail();
}

static void check_case(const struct parse_case *c)
{
	size_t len = c->len != 0 ? c->len : strlen(c->input);
	struct buf whole, t;
	size_t cuts[MAX_CHUNKS - 1] = {0};

	buf_init(&whole, TRANSCRIPT_MAX_BYTES);
	buf_init(&t, TRANSCRIPT_MAX_BYTES);
	run_split(c, cuts, 0, &whole);
	if (strcmp(buf_cstr(&whole), c->expect) != 0) {
		print_error("input %s gave:\n%s\nexpected:\n%s\n", c->input,
		            buf_cstr(&whole), c->expect);
		fail();
	}
	run_bytewise(c, &t);
	expect_same(c, &whole, &t, "bytewise");
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		run_split(c, cuts, 1, &t);
		expect_same(c, &whole, &t, "in two");
		for (cuts[1] = cuts[0]; len <= 80 && cuts[1] <= len;
		     cuts[1]++) {
			run_split(c, cuts, 2, &t);
			expect_same(c, &whole, &t, "in three");
		}
	}
	buf_free(&whole);
	buf_free(&t);
}

static void check_cases(const struct parse_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

#define CHECK_CASES(cases) check_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* ---- well-formed commands ---- */

static void test_simple(void **state)
{
	static const struct parse_case cases[] = {
	        {"a NOOP\r\n", 0, "a NOOP", NULL},
	        {"a noop\n", 0, "a noop", NULL},
	        {"a] CAPABILITY\r\n", 0, "a] CAPABILITY", NULL},
	        {"A001 LOGIN user pass\r\n", 0, "A001 LOGIN user pass", NULL},
	        {"a NOOP\r\nb NOOP\nc LOGOUT\r\n", 0,
	         "a NOOP\nb NOOP\nc LOGOUT", NULL},
	        {"a SELECT NIL nil Nil NILS\r\n", 0,
	         "a SELECT NIL NIL NIL NILS", NULL},
	        {"a NOOP", 0, "", NULL},
	};
	CHECK_CASES(cases);
}

static void test_atoms(void **state)
{
	static const struct parse_case cases[] = {
	        {"a STORE 1:*,3 +FLAGS (\\Seen $Forwarded \\Flagged)\r\n", 0,
	         "a STORE 1:*,3 +FLAGS (\\Seen $Forwarded \\Flagged)", NULL},
	        {"a LIST \"\" INBOX.%\r\n", 0, "a LIST \"\" INBOX.%", NULL},
	        {"a LIST \"\" *\r\n", 0, "a LIST \"\" *", NULL},
	        {"a SELECT foo]bar\r\n", 0, "a SELECT foo]bar", NULL},
	        {"a SELECT ~foo\r\n", 0, "a SELECT ~foo", NULL},
	        {"a X ~ ~)\r\n", 0, "BAD a \"Unexpected ')'\"", NULL},
	        {"a X (~)\r\n", 0, "a X (~)", NULL},
	        {"a X ~\r\n", 0, "a X ~", NULL},
	};
	CHECK_CASES(cases);
}

/* A '[' in an atom runs through the next ']' (FETCH section specs). */
static void test_fetch_atoms(void **state)
{
	static const struct parse_case cases[] = {
	        {"a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]"
	         "<0.100>)\r\n",
	         0,
	         "a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]"
	         "<0.100>)",
	         NULL},
	        {"a UID FETCH 5 BODY[]\r\n", 0, "a UID FETCH 5 BODY[]", NULL},
	        {"a FETCH 1 (BODY[1.2.MIME] BINARY.PEEK[1]<0.5>)\r\n", 0,
	         "a FETCH 1 (BODY[1.2.MIME] BINARY.PEEK[1]<0.5>)", NULL},
	        {"a FETCH 1 BODY[HEADER.FIELDS.NOT (X-A)] UID\r\n", 0,
	         "a FETCH 1 BODY[HEADER.FIELDS.NOT (X-A)] UID", NULL},
	        /* a line ending inside brackets ends the atom: a[b is a
	         * valid mailbox atom */
	        {"a SELECT a[b\r\n", 0, "a SELECT a[b", NULL},
	        {"a FETCH 1 BODY[{3}]\r\n", 0,
	         "BAD a \"Invalid character in atom\"", NULL},
	        {"a FETCH 1 BODY[\x01]\r\nb NOOP\r\n", 0,
	         "BAD a \"Invalid character in atom\"\nb NOOP", NULL},
	};
	CHECK_CASES(cases);
}

static void test_quoted(void **state)
{
	static const struct parse_case cases[] = {
	        {"a LOGIN \"us\\\"er\" \"p\\\\w\"\r\n", 0,
	         "a LOGIN \"us\\\"er\" \"p\\\\w\"", NULL},
	        {"a X \"\" \"a b\t(c)\"\r\n", 0, "a X \"\" \"a b\\x09(c)\"",
	         NULL},
	        {"a X \"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\r\n", 0,
	         "a X \"h\\xc3\\xa9 \\xe2\\x82\\xac \\xf0\\x9f\\x98\\x80\"",
	         NULL},
	        {"a X (\"a\" \"b\")\r\n", 0, "a X (\"a\" \"b\")", NULL},
	        {"a X \"ab\\c\"\r\nb NOOP\r\n", 0,
	         "BAD a \"Invalid escape in quoted string\"\nb NOOP", NULL},
	        {"a X \"ab\r\nb NOOP\r\n", 0,
	         "BAD a \"Invalid character in quoted string\"\nb NOOP", NULL},
	        {"a X \"ab\nb NOOP\r\n", 0,
	         "BAD a \"Invalid character in quoted string\"\nb NOOP", NULL},
	        {BYTES("a X \"a\0b\"\r\nb NOOP\r\n"),
	         "BAD a \"Invalid character in quoted string\"\nb NOOP", NULL},
	        {"a X \"\xc3(\"\r\n", 0,
	         "BAD a \"Invalid UTF-8 in quoted string\"", NULL},
	        {"a X \"\xc0\x80\"\r\n", 0,
	         "BAD a \"Invalid UTF-8 in quoted string\"", NULL},
	        {"a X \"\xed\xa0\x80\"\r\n", 0,
	         "BAD a \"Invalid UTF-8 in quoted string\"", NULL},
	        {"a X \"\xf4\x90\x80\x80\"\r\n", 0,
	         "BAD a \"Invalid UTF-8 in quoted string\"", NULL},
	        {"a X \"\xe2\x82\"\r\n", 0,
	         "BAD a \"Invalid UTF-8 in quoted string\"", NULL},
	        {"a X \"a\"b\r\n", 0, "BAD a \"Missing space after argument\"",
	         NULL},
	};
	CHECK_CASES(cases);
}

static void test_literals(void **state)
{
	static const struct parse_case cases[] = {
	        {"a LOGIN {4}\r\nuser {3}\r\npwd\r\n", 0,
	         "+\n+\na LOGIN {4}user {3}pwd", NULL},
	        {"a LOGIN {4+}\r\nuser {3+}\npwd\r\n", 0,
	         "a LOGIN {4}user {3}pwd", NULL},
	        {"a X {0}\r\n\r\n", 0, "+\na X {0}", NULL},
	        {"a X {0+}\r\n ()\r\n", 0, "a X {0} ()", NULL},
	        {"a X {00005}\r\n\r\n)(\"\r\n", 0, "+\na X {5}\\x0d\\x0a)(\\\"",
	         NULL},
	        {"a X ({2}\r\nab {1+}\r\nc)\r\n", 0, "+\na X ({2}ab {1}c)",
	         NULL},
	        {BYTES("a APPEND INBOX ~{3}\r\na\0b\r\n"),
	         "+\na APPEND INBOX ~{3}a\\x00b", NULL},
	        {BYTES("a APPEND INBOX ~{3+}\r\n\0\r\n\r\n"),
	         "a APPEND INBOX ~{3}\\x00\\x0d\\x0a", NULL},
	        {"a X {3}x\r\nb NOOP\r\n", 0,
	         "BAD a \"Missing CRLF after literal size\"\nb NOOP", NULL},
	        {"a X {}\r\nb NOOP\r\n", 0,
	         "BAD a \"Invalid literal size\"\nb NOOP", NULL},
	        {"a X {+}\r\n", 0, "BAD a \"Invalid literal size\"", NULL},
	        {"a X {1a}\r\n", 0, "BAD a \"Invalid literal size\"", NULL},
	        {"a X {1+x}\r\nb NOOP\r\n", 0,
	         "BAD a \"Invalid literal size\"\nb NOOP", NULL},
	        {"a X {1\r\n", 0, "BAD a \"Invalid literal size\"", NULL},
	        {"a X ~{1\r\n", 0, "BAD a \"Invalid literal size\"", NULL},
	        {"a X {1}\r\nab\r\n", 0,
	         "+\nBAD a \"Missing space after argument\"", NULL},
	        /* digits past any size are checked for overflow */
	        {"a X {99999999999999999999999999999}\r\nb NOOP\r\n", 0,
	         "BAD a \"Literal too large\"\nb NOOP", NULL},
	        {"a X {18446744073709551616+}\r\n", 0,
	         "BYE a \"Literal too large\"", NULL},
	};
	CHECK_CASES(cases);
}

static void test_lists(void **state)
{
	static const struct parse_case cases[] = {
	        {"a X (1 (2 (3 ())) NIL nil)\r\n", 0,
	         "a X (1 (2 (3 ())) NIL NIL)", NULL},
	        {"a X () ()\r\n", 0, "a X () ()", NULL},
	        {"a X ((a)(b))\r\n", 0,
	         "BAD a \"Missing space after argument\"", NULL},
	        {"a X )\r\nb NOOP\r\n", 0, "BAD a \"Unexpected ')'\"\nb NOOP",
	         NULL},
	        {"a X (a))\r\n", 0, "BAD a \"Unexpected ')'\"", NULL},
	        {"a X (a\r\nb NOOP\r\n", 0, "BAD a \"Missing ')'\"\nb NOOP",
	         NULL},
	        {"a X (\r\n", 0, "BAD a \"Missing ')'\"", NULL},
	        {"a X (b )\r\n", 0, "BAD a \"Unexpected space before ')'\"",
	         NULL},
	        {"a X ( b)\r\n", 0, "BAD a \"Unexpected space\"", NULL},
	};
	CHECK_CASES(cases);
}

/* ---- line-level errors ---- */

static void test_line_errors(void **state)
{
	static const struct parse_case cases[] = {
	        {"\r\n", 0, "BAD * \"Empty command line\"", NULL},
	        {"\n\n", 0,
	         "BAD * \"Empty command line\"\nBAD * \"Empty command line\"",
	         NULL},
	        {"a\r\n", 0, "BAD a \"Missing command\"", NULL},
	        {"a \r\n", 0, "BAD a \"Missing command\"", NULL},
	        {"a  NOOP\r\n", 0, "BAD a \"Missing command\"", NULL},
	        {" NOOP\r\nb NOOP\r\n", 0, "BAD * \"Missing tag\"\nb NOOP",
	         NULL},
	        {"a+ NOOP\r\nb NOOP\r\n", 0, "BAD * \"Invalid tag\"\nb NOOP",
	         NULL},
	        {"a* NOOP\r\n", 0, "BAD * \"Invalid tag\"", NULL},
	        {"\xc3\xa9 NOOP\r\n", 0, "BAD * \"Invalid tag\"", NULL},
	        {"a NO(OP\r\n", 0, "BAD a \"Invalid command name\"", NULL},
	        {"a NOOP\xff\r\n", 0, "BAD a \"Invalid command name\"", NULL},
	        {"a X  b\r\n", 0, "BAD a \"Unexpected space\"", NULL},
	        {"a X b \r\n", 0, "BAD a \"Trailing space\"", NULL},
	        {"a X b\"c\r\n", 0, "BAD a \"Invalid character in atom\"",
	         NULL},
	        {"a X b\xc3\xa9\r\n", 0, "BAD a \"Invalid character in atom\"",
	         NULL},
	        {"a X \\\\\r\n", 0, "BAD a \"Invalid character in atom\"",
	         NULL},
	        {"a X \x01\r\n", 0, "BAD a \"Invalid character\"", NULL},
	        {"a X b\rc\r\nb NOOP\r\n", 0,
	         "BAD a \"CR not followed by LF\"\nb NOOP", NULL},
	        {"a NOOP\r\r\nb NOOP\r\n", 0,
	         "BAD a \"CR not followed by LF\"\nb NOOP", NULL},
	};
	CHECK_CASES(cases);
}

/* ---- limits ---- */

static void test_limit_line(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 10,
	        .max_literal_bytes = 100,
	        .max_command_bytes = 1000,
	        .max_depth = 4,
	        .max_args = 20,
	};
	static const struct parse_case cases[] = {
	        {"a NOOP12\r\n", 0, "a NOOP12", &lim},
	        /* detected at the LF: nothing more to skip */
	        {"a NOOP123\r\nb NOOP\r\n", 0,
	         "BAD a \"Line too long\"\nb NOOP", &lim},
	        {"a X 0123456789abcdef\r\nb NOOP\r\n", 0,
	         "BAD a \"Line too long\"\nb NOOP", &lim},
	        {"abcdefghijklmnop NOOP\r\nb NOOP\r\n", 0,
	         "BAD * \"Line too long\"\nb NOOP", &lim},
	        /* bytes outside literals add up over the lines */
	        {"a X {1}\r\nx y\r\n", 0, "+\nBAD a \"Line too long\"", &lim},
	        {"a X {1}\nx\n", 0, "+\na X {1}x", &lim},
	        /* the bad line's {n+} literal is skipped with it */
	        {"a X 123456789 {8+}\r\nb NOOP\r\n\r\nc NOOP\r\n", 0,
	         "BAD a \"Line too long\"\nc NOOP", &lim},
	        {"a X {8+}\nb NOOP\r\n\nc NOOP\r\n", 0,
	         "a X {8}b NOOP\\x0d\\x0a\nc NOOP", &lim},
	        {"a XY {8+}\r\nb NOOP\r\n\r\nc NOOP\r\n", 0,
	         "BAD a \"Line too long\"\nc NOOP", &lim},
	        {"a X {8+}\nb NOOP\r\n)\nc NOOP\r\n", 0,
	         "BAD a \"Unexpected ')'\"\nc NOOP", &lim},
	        {"a XYZWV {101+}\r\n", 0,
	         "BAD a \"Line too long\"\nBYE a \"Literal too large\"", &lim},
	};
	CHECK_CASES(cases);
}

static void test_limit_literal(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 100,
	        .max_literal_bytes = 10,
	        .max_command_bytes = 1000,
	        .max_depth = 4,
	        .max_args = 20,
	};
	static const struct parse_case cases[] = {
	        {"a X {10}\r\n0123456789\r\n", 0, "+\na X {10}0123456789",
	         &lim},
	        {"a X {10+}\r\n0123456789\r\n", 0, "a X {10}0123456789", &lim},
	        /* synchronising: the client waits for "+", gets BAD */
	        {"a X {11}\r\nb NOOP\r\n", 0,
	         "BAD a \"Literal too large\"\nb NOOP", &lim},
	        {"a X ~{11}\r\nb NOOP\r\n", 0,
	         "BAD a \"Literal too large\"\nb NOOP", &lim},
	        /* non-synchronising: the bytes follow, the stream is lost */
	        {"a X {11+}\r\n01234567890\r\nb NOOP\r\n", 0,
	         "BYE a \"Literal too large\"", &lim},
	        {"a X ~{11+}\r\n", 0, "BYE a \"Literal too large\"", &lim},
	        /* a bad line ending in a too large {n+} */
	        {"a X ) {11+}\r\n01234567890\r\nb NOOP\r\n", 0,
	         "BAD a \"Unexpected ')'\"\nBYE a \"Literal too large\"", &lim},
	        {"a X ) {10+}\r\n0123456789\r\nb NOOP\r\n", 0,
	         "BAD a \"Unexpected ')'\"\nb NOOP", &lim},
	        /* a sync literal in a bad line is not waited for */
	        {"a X ) {10}\r\nb NOOP\r\n", 0,
	         "BAD a \"Unexpected ')'\"\nb NOOP", &lim},
	};
	CHECK_CASES(cases);
}

static void test_limit_command(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 100,
	        .max_literal_bytes = 100,
	        .max_command_bytes = 32,
	        .max_depth = 4,
	        .max_args = 20,
	};
	/* "a X {20}\r\n" is 10 bytes, the literal 20, the CRLF 2 */
	static const struct parse_case cases[] = {
	        {"a X {20}\r\n01234567890123456789\r\n", 0,
	         "+\na X {20}01234567890123456789", &lim},
	        {"a X {20}\r\n01234567890123456789 \r\nb NOOP\r\n", 0,
	         "+\nBAD a \"Command too long\"\nb NOOP", &lim},
	        {"a X {23}\r\nb NOOP\r\n", 0,
	         "BAD a \"Command too long\"\nb NOOP", &lim},
	        {"a X {23+}\r\n01234567890123456789012\r\nb NOOP\r\n", 0,
	         "BAD a \"Command too long\"\nb NOOP", &lim},
	        {"a X 01234567890123456789012345678\r\nb NOOP\r\n", 0,
	         "BAD a \"Command too long\"\nb NOOP", &lim},
	};
	CHECK_CASES(cases);
}

static void test_limit_args(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 100,
	        .max_literal_bytes = 100,
	        .max_command_bytes = 1000,
	        .max_depth = 4,
	        .max_args = 3,
	};
	static const struct parse_case cases[] = {
	        {"a X 1 2 3\r\n", 0, "a X 1 2 3", &lim},
	        {"a X 1 2 3 4\r\nb NOOP\r\n", 0,
	         "BAD a \"Too many arguments\"\nb NOOP", &lim},
	        {"a X (1 2)\r\n", 0, "a X (1 2)", &lim},
	        {"a X (1 (2))\r\n", 0, "BAD a \"Too many arguments\"", &lim},
	        {"a X (1 2 \"3\")\r\n", 0, "BAD a \"Too many arguments\"",
	         &lim},
	        {"a X 1 2 ~x\r\n", 0, "a X 1 2 ~x", &lim},
	        {"a X 1 2 3 ~x\r\n", 0, "BAD a \"Too many arguments\"", &lim},
	        {"a X 1 2 {1}\r\nx\r\n", 0, "+\na X 1 2 {1}x", &lim},
	        /* counted at '}': the {n+} literal is skipped, not run */
	        {"a X 1 2 3 {8+}\r\nb NOOP\r\n\r\nc NOOP\r\n", 0,
	         "BAD a \"Too many arguments\"\nc NOOP", &lim},
	        {"a X 1 2 3 {8}\r\nb NOOP\r\n", 0,
	         "BAD a \"Too many arguments\"\nb NOOP", &lim},
	};
	CHECK_CASES(cases);
}

static void test_limit_depth(void **state)
{
	static const struct imap_parser_limits lim2 = {
	        .max_line_bytes = 100,
	        .max_literal_bytes = 100,
	        .max_command_bytes = 1000,
	        .max_depth = 2,
	        .max_args = 20,
	};
	static const struct imap_parser_limits lim0 = {
	        .max_line_bytes = 100,
	        .max_literal_bytes = 100,
	        .max_command_bytes = 1000,
	        .max_depth = 0,
	        .max_args = 20,
	};
	static const struct parse_case cases[] = {
	        {"a X ((1)) (2)\r\n", 0, "a X ((1)) (2)", &lim2},
	        {"a X (((1)))\r\nb NOOP\r\n", 0,
	         "BAD a \"Nesting too deep\"\nb NOOP", &lim2},
	        {"a X ()\r\n", 0, "BAD a \"Nesting too deep\"", &lim0},
	        {"a X 1\r\n", 0, "a X 1", &lim0},
	};
	CHECK_CASES(cases);
}

/* ---- behaviour across feeds ---- */

static enum imap_parse_result feed_str(struct imap_parser *p, const char *s,
                                       size_t *consumed_r)
{
	return imap_parser_feed(p, (const unsigned char *)s, strlen(s),
	                        consumed_r);
}

/* CONTINUE comes once per synchronising literal, right after its CRLF. */
static void test_continue(void **state)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	const char *in = "a X {3}\r\nabc {2+}\r\nde\r\n";
	size_t consumed;

	assert_int_equal(feed_str(p, in, &consumed), IMAP_PARSE_CONTINUE);
	assert_int_equal(consumed, 9);
	in += consumed;
	/* measured before consumed is reused: GCC 12 at -O2 folds a later
	 * strlen(in) wrongly through the pointer to consumed */
	size_t rest = strlen(in);
	assert_int_equal(feed_str(p, "", &consumed), IMAP_PARSE_MORE);
	assert_int_equal(feed_str(p, in, &consumed), IMAP_PARSE_DONE);
	assert_int_equal(consumed, rest);
	const struct imap_command_line *cmd = imap_parser_command(p);
	assert_non_null(cmd);
	assert_int_equal(cmd->arg_count, 2);
	assert_memory_equal(cmd->args[0].str, "abc", 4);
	assert_false(cmd->args[0].is_literal8);
	assert_memory_equal(cmd->args[1].str, "de", 3);
	imap_parser_destroy(&p);
}

/* After a fatal error the parser consumes nothing until reset. */
static void test_fatal_and_reset(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 100,
	        .max_literal_bytes = 10,
	        .max_command_bytes = 1000,
	        .max_depth = 4,
	        .max_args = 20,
	};
	struct imap_parser *p = imap_parser_create(&lim);
	size_t consumed;
	bool fatal = false;

	assert_int_equal(feed_str(p, "t1 APPEND x {11+}\r\nhello", &consumed),
	                 IMAP_PARSE_ERROR);
	assert_int_equal(consumed, strlen("t1 APPEND x {11+}"));
	assert_string_equal(imap_parser_error(p, &fatal), "Literal too large");
	assert_true(fatal);
	assert_string_equal(imap_parser_error_tag(p), "t1");
	assert_int_equal(feed_str(p, "\r\n", &consumed), IMAP_PARSE_ERROR);
	assert_int_equal(consumed, 0);
	assert_null(imap_parser_command(p));

	imap_parser_reset(p);
	assert_int_equal(feed_str(p, "t2 NOOP\r\n", &consumed),
	                 IMAP_PARSE_DONE);
	assert_string_equal(imap_parser_command(p)->tag, "t2");
	imap_parser_destroy(&p);
}

/* The error is reported at once; the rest of the line is discarded by
 * later feeds without being buffered, however long it is. */
static void test_skip_huge_line(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 64,
	        .max_literal_bytes = 64,
	        .max_command_bytes = 128,
	        .max_depth = 4,
	        .max_args = 8,
	};
	struct imap_parser *p = imap_parser_create(&lim);
	const size_t chunk = 1024 * 1024;
	unsigned char *junk = malloc(chunk);
	size_t consumed;
	bool fatal = true;

	assert_non_null(junk);
	memset(junk, 'x', chunk);
	assert_int_equal(feed_str(p, "t1 X ", &consumed), IMAP_PARSE_MORE);
	assert_int_equal(imap_parser_feed(p, junk, chunk, &consumed),
	                 IMAP_PARSE_ERROR);
	assert_int_equal(consumed, 64 - 5 + 1);
	assert_string_equal(imap_parser_error(p, &fatal), "Line too long");
	assert_false(fatal);
	assert_string_equal(imap_parser_error_tag(p), "t1");
	for (int i = 0; i < 32; i++) {
		assert_int_equal(imap_parser_feed(p, junk, chunk, &consumed),
		                 IMAP_PARSE_MORE);
		assert_int_equal(consumed, chunk);
	}
	assert_int_equal(feed_str(p, "\r\nt2 NOOP\r\n", &consumed),
	                 IMAP_PARSE_DONE);
	assert_string_equal(imap_parser_command(p)->tag, "t2");
	free(junk);
	imap_parser_destroy(&p);
}

static void test_error_tag(void **state)
{
	static const struct imap_parser_limits lim = {
	        .max_line_bytes = 5,
	        .max_literal_bytes = 10,
	        .max_command_bytes = 100,
	        .max_depth = 4,
	        .max_args = 20,
	};
	struct imap_parser *p = imap_parser_create(&lim);
	size_t consumed;

	/* the tag was not ended before the limit: not known */
	assert_int_equal(feed_str(p, "abcdefgh NOOP\r\n", &consumed),
	                 IMAP_PARSE_ERROR);
	assert_null(imap_parser_error_tag(p));
	assert_int_equal(consumed, 6);
	imap_parser_reset(p);
	assert_int_equal(feed_str(p, "abcd NOOP\r\n", &consumed),
	                 IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_error_tag(p), "abcd");
	imap_parser_destroy(&p);
}

/* New limits apply from the next command, not to one in progress. */
static void test_set_limits(void **state)
{
	static const struct imap_parser_limits tight = {
	        .max_line_bytes = 12,
	        .max_literal_bytes = 4,
	        .max_command_bytes = 100,
	        .max_depth = 1,
	        .max_args = 2,
	};
	struct imap_parser *p = imap_parser_create(&tight);
	size_t consumed;

	assert_int_equal(feed_str(p, "a LOGIN ", &consumed), IMAP_PARSE_MORE);
	imap_parser_set_limits(p, &default_limits);
	assert_int_equal(feed_str(p, "u pass\r\n", &consumed),
	                 IMAP_PARSE_ERROR);
	assert_int_equal(consumed, 5);
	assert_string_equal(imap_parser_error(p, NULL), "Line too long");
	assert_int_equal(feed_str(p, "s\r\n", &consumed), IMAP_PARSE_MORE);
	assert_int_equal(feed_str(p, "b SELECT ((x)) {10}\r\n", &consumed),
	                 IMAP_PARSE_CONTINUE);

	imap_parser_reset(p);
	imap_parser_set_limits(p, &tight);
	assert_int_equal(feed_str(p, "c X 1 2 3\r\n", &consumed),
	                 IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_error(p, NULL), "Too many arguments");
	imap_parser_destroy(&p);
}

/* A long pipelined session in random chunks parses as a whole. */
static void test_random_chunks(void **state)
{
	static const char session[] =
	        "a1 LOGIN {4}\r\nuser \"p\\\"w\"\r\n"
	        "a2 SELECT INBOX\r\n"
	        "a3 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM)]<0.10>)\r\n"
	        "a4 bad)\r\n"
	        "a5 APPEND INBOX (\\Seen) ~{5+}\r\nab\0cd\r\n"
	        "a6 X ) {3+}\r\nz\r\n\r\n"
	        "a7 LOGOUT\r\n";
	struct parse_case c = {session, sizeof(session) - 1, NULL, NULL};
	struct buf whole, t;
	unsigned int seed = 1;
	size_t cuts[MAX_CHUNKS - 1] = {0};

	buf_init(&whole, TRANSCRIPT_MAX_BYTES);
	buf_init(&t, TRANSCRIPT_MAX_BYTES);
	run_split(&c, cuts, 0, &whole);
	assert_string_equal(buf_cstr(&whole),
	                    "+\na1 LOGIN {4}user \"p\\\"w\"\n"
	                    "a2 SELECT INBOX\n"
	                    "a3 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS "
	                    "(FROM)]<0.10>)\n"
	                    "BAD a4 \"Invalid command name\"\n"
	                    "a5 APPEND INBOX (\\Seen) ~{5}ab\\x00cd\n"
	                    "BAD a6 \"Unexpected ')'\"\n"
	                    "a7 LOGOUT");
	for (int i = 0; i < 2000; i++) {
		seed = seed * 1103515245 + 12345;
		cuts[0] = (seed >> 8) % c.len;
		seed = seed * 1103515245 + 12345;
		cuts[1] = cuts[0] + (seed >> 8) % (c.len - cuts[0]);
		run_split(&c, cuts, 2, &t);
		assert_string_equal(buf_cstr(&t), buf_cstr(&whole));
	}
	buf_free(&whole);
	buf_free(&t);
}

static void test_arg_helpers(void **state)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	const char *in = "a X Atom nil \"q\" {1+}\r\nl (x)\r\n";
	const struct imap_command_line *cmd;
	const char *s;
	size_t len, consumed;

	assert_int_equal(feed_str(p, in, &consumed), IMAP_PARSE_DONE);
	cmd = imap_parser_command(p);
	assert_non_null(cmd);
	assert_int_equal(cmd->arg_count, 5);
	assert_true(imap_arg_atom_equals(&cmd->args[0], "ATOM"));
	assert_false(imap_arg_atom_equals(&cmd->args[0], "ATO"));
	assert_true(imap_arg_get_atom(&cmd->args[1], &s));
	assert_string_equal(s, "nil");
	assert_true(imap_arg_atom_equals(&cmd->args[1], "NIL"));
	assert_true(imap_arg_get_astring(&cmd->args[1], &s, &len));
	assert_int_equal(len, 3);
	assert_false(imap_arg_get_atom(&cmd->args[2], &s));
	assert_false(imap_arg_atom_equals(&cmd->args[2], "q"));
	assert_true(imap_arg_get_astring(&cmd->args[2], &s, &len));
	assert_string_equal(s, "q");
	assert_true(imap_arg_get_astring(&cmd->args[3], &s, NULL));
	assert_string_equal(s, "l");
	assert_false(imap_arg_get_astring(&cmd->args[4], &s, &len));
	assert_false(imap_arg_get_atom(&cmd->args[4], &s));
	assert_int_equal(cmd->args[4].type, IMAP_ARG_LIST);
	assert_int_equal(cmd->args[4].list_count, 1);
	/* regression: LOGIN ~{5+} logged in; a literal8 is no astring */
	assert_int_equal(feed_str(p, "b LOGIN ~{5+}\r\nalice x\r\n", &consumed),
	                 IMAP_PARSE_DONE);
	cmd = imap_parser_command(p);
	assert_true(cmd->args[0].is_literal8);
	assert_false(imap_arg_get_astring(&cmd->args[0], &s, &len));
	imap_parser_destroy(&p);
}

/* Regression: a session destroyed its idle parser right after an error
 * reported on a CR, losing the skip of the LF that followed in the next
 * read, which then parsed as an empty command line. */
static void test_is_idle(void **state)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	size_t used;
	assert_true(imap_parser_is_idle(p));
	const unsigned char bad[] = "a FROB \"x\r";
	assert_int_equal(imap_parser_feed(p, bad, sizeof(bad) - 1, &used),
	                 IMAP_PARSE_ERROR);
	assert_int_equal(used, sizeof(bad) - 1);
	assert_false(imap_parser_is_idle(p)); /* the LF is still to skip */
	const unsigned char lf[] = "\n";
	assert_int_equal(imap_parser_feed(p, lf, 1, &used), IMAP_PARSE_MORE);
	assert_true(imap_parser_is_idle(p));
	const unsigned char part[] = "b NO";
	assert_int_equal(imap_parser_feed(p, part, 4, &used), IMAP_PARSE_MORE);
	assert_false(imap_parser_is_idle(p));
	const unsigned char rest[] = "OP\r\n";
	assert_int_equal(imap_parser_feed(p, rest, 4, &used), IMAP_PARSE_DONE);
	assert_true(imap_parser_is_idle(p));
	imap_parser_destroy(&p);
}

/* ---- literals spilled to files ---- */

struct spill_log {
	unsigned int calls;
	char command[16];
};

/* Spill literals of 10 bytes or more, of APPEND only, to memfds. */
static int spill_to_memfd(void *ctx, const char *command, uint64_t size)
{
	struct spill_log *log = ctx;
	log->calls++;
	snprintf(log->command, sizeof(log->command), "%s", command);
	if (size < 10 || strcmp(command, "APPEND") != 0)
		return -1;
	return memfd_create("spill", MFD_CLOEXEC);
}

static void check_spilled(const struct imap_arg *a, const char *want)
{
	char got[64] = "";
	assert_int_equal(a->type, IMAP_ARG_LITERAL);
	assert_true(a->fd >= 0);
	assert_false(a->spill_failed);
	assert_string_equal(a->str, "");
	assert_int_equal(a->len, strlen(want));
	assert_int_equal(pread(a->fd, got, sizeof(got) - 1, 0), strlen(want));
	assert_string_equal(got, want);
}

/* Whatever the byte split, a large APPEND literal arrives in its file and
 * a small one in memory, and the next command closes the file. */
static void test_spill(void **state)
{
	static const char in[] = "a APPEND INBOX {3+}\r\nabc {12+}\r\n"
	                         "Hello world!\r\nb NOOP\r\n";
	size_t first_len = strlen(in) - strlen("b NOOP\r\n");
	for (size_t cut = 1; cut < first_len; cut++) {
		struct spill_log log = {0};
		struct imap_parser *p = imap_parser_create(&default_limits);
		imap_parser_set_spill(p, spill_to_memfd, &log);
		size_t consumed, off = 0;
		enum imap_parse_result r = imap_parser_feed(
		        p, (const unsigned char *)in, cut, &consumed);
		assert_int_equal(r, IMAP_PARSE_MORE);
		off += consumed;
		r = imap_parser_feed(p, (const unsigned char *)in + off,
		                     first_len - off, &consumed);
		assert_int_equal(r, IMAP_PARSE_DONE);
		const struct imap_command_line *cmd = imap_parser_command(p);
		assert_int_equal(cmd->arg_count, 3);
		assert_int_equal(cmd->args[1].fd, -1);
		assert_memory_equal(cmd->args[1].str, "abc", 4);
		check_spilled(&cmd->args[2], "Hello world!");
		int fd = cmd->args[2].fd;
		assert_int_equal(log.calls, 2);
		assert_string_equal(log.command, "APPEND");
		r = imap_parser_feed(p, (const unsigned char *)in + first_len,
		                     strlen(in) - first_len, &consumed);
		assert_int_equal(r, IMAP_PARSE_DONE);
		/* the spill file was closed when the next command began */
		assert_int_equal(fcntl(fd, F_GETFD), -1);
		imap_parser_destroy(&p);
	}
}

static int spill_to_readonly(void *ctx, const char *command, uint64_t size)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* A spill file that cannot be written: the literal is still consumed,
 * and the argument says it failed. */
static void test_spill_failed(void **state)
{
	static const char in[] = "a APPEND INBOX {12+}\r\nHello world!\r\n";
	struct imap_parser *p = imap_parser_create(&default_limits);
	imap_parser_set_spill(p, spill_to_readonly, NULL);
	size_t consumed;
	assert_int_equal(imap_parser_feed(p, (const unsigned char *)in,
	                                  strlen(in), &consumed),
	                 IMAP_PARSE_DONE);
	assert_int_equal(consumed, strlen(in));
	const struct imap_arg *a = &imap_parser_command(p)->args[1];
	assert_int_equal(a->type, IMAP_ARG_LITERAL);
	assert_true(a->spill_failed);
	assert_int_equal(a->fd, -1);
	assert_int_equal(a->len, 12);
	imap_parser_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_simple),
	        cmocka_unit_test(test_atoms),
	        cmocka_unit_test(test_fetch_atoms),
	        cmocka_unit_test(test_quoted),
	        cmocka_unit_test(test_literals),
	        cmocka_unit_test(test_lists),
	        cmocka_unit_test(test_line_errors),
	        cmocka_unit_test(test_limit_line),
	        cmocka_unit_test(test_limit_literal),
	        cmocka_unit_test(test_limit_command),
	        cmocka_unit_test(test_limit_args),
	        cmocka_unit_test(test_limit_depth),
	        cmocka_unit_test(test_continue),
	        cmocka_unit_test(test_spill),
	        cmocka_unit_test(test_spill_failed),
	        cmocka_unit_test(test_fatal_and_reset),
	        cmocka_unit_test(test_skip_huge_line),
	        cmocka_unit_test(test_error_tag),
	        cmocka_unit_test(test_set_limits),
	        cmocka_unit_test(test_random_chunks),
	        cmocka_unit_test(test_arg_helpers),
	        cmocka_unit_test(test_is_idle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
