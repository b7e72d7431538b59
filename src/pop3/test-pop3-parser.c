/* Unit tests for the POP3 wire code (pop3-parser.h): line splitting with
 * the length limit and its recovery, any byte split of the input, the
 * command grammar (RFC 1939 3, RFC 2449 3-4), message numbers, and
 * byte-stuffing with TOP's line counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "pop3/pop3-parser.h"

/* Feed input in pieces of step bytes; the lines found (TOO_LONG as
 * "!"), joined with '|'. */
static void read_lines(const char *input, size_t max_bytes, size_t step,
                       char *out, size_t out_size)
{
	struct pop3_line_reader r = {.max_bytes = max_bytes};
	struct buf in;
	buf_init(&in, 1 << 20);
	size_t fed = 0, total = strlen(input);
	out[0] = '\0';
	while (fed < total || in.len > 0) {
		size_t n = total - fed < step ? total - fed : step;
		buf_append(&in, input + fed, n);
		fed += n;
		size_t consumed, len;
		enum pop3_line_result res =
		        pop3_line_read(&r, in.data, in.len, &consumed, &len);
		if (res == POP3_LINE_DONE) {
			strncat(out, (const char *)in.data, len);
			strcat(out, "|");
		} else if (res == POP3_LINE_TOO_LONG) {
			strcat(out, "!|");
		}
		buf_consume(&in, consumed);
		if (res == POP3_LINE_MORE && fed == total)
			break;
	}
	buf_free(&in);
}

static void test_lines(void **state)
{
	char out[256];
	for (size_t step = 1; step <= 40; step++) {
		read_lines("STAT\r\nLIST 1\nNOOP\r\n", 16, step, out,
		           sizeof(out));
		assert_string_equal(out, "STAT|LIST 1|NOOP|");
		/* 16 bytes with CR LF fit; 17 do not */
		read_lines("12345678901234\r\n123456789012345\r\nOK\r\n", 16,
		           step, out, sizeof(out));
		assert_string_equal(out, "12345678901234|!|OK|");
		/* a line far over the limit is dropped as it comes */
		read_lines("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
		           "QUIT\r\n",
		           16, step, out, sizeof(out));
		assert_string_equal(out, "!|QUIT|");
	}
	/* an unfinished line is not a line */
	read_lines("STAT", 16, 1, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_skipping_consumes(void **state)
{
	struct pop3_line_reader r = {.max_bytes = 8};
	size_t consumed, len;
	const unsigned char big[] = "0123456789abcdef";
	assert_int_equal(pop3_line_read(&r, big, 16, &consumed, &len),
	                 POP3_LINE_MORE);
	assert_int_equal(consumed, 16);
	assert_true(r.skipping);
	assert_int_equal(pop3_line_read(&r, (const unsigned char *)"zz\nA\n", 5,
	                                &consumed, &len),
	                 POP3_LINE_TOO_LONG);
	assert_int_equal(consumed, 3);
	assert_false(r.skipping);
}

static void test_commands(void **state)
{
	struct pop3_command cmd;
	const char *error;
	const char *line = "top 1 10";
	assert_int_equal(pop3_command_parse(line, strlen(line), &cmd, &error),
	                 0);
	assert_string_equal(cmd.name, "TOP");
	assert_int_equal(cmd.arg_count, 2);
	assert_string_equal(cmd.args[0], "1");
	assert_string_equal(cmd.args[1], "10");
	assert_string_equal(cmd.rest, "1 10");
	line = "PASS my secret  pass";
	assert_int_equal(pop3_command_parse(line, strlen(line), &cmd, &error),
	                 0);
	assert_string_equal(cmd.rest, "my secret  pass");
	assert_int_equal(cmd.arg_count, 3);
	line = "LIST 1 2 3 4";
	assert_int_equal(pop3_command_parse(line, strlen(line), &cmd, &error),
	                 0);
	assert_true(cmd.too_many_args);
	line = "STAT";
	assert_int_equal(pop3_command_parse(line, strlen(line), &cmd, &error),
	                 0);
	assert_int_equal(cmd.arg_count, 0);
	assert_string_equal(cmd.rest, "");
}

static void test_bad_commands(void **state)
{
	struct pop3_command cmd;
	const char *error;
	static const char *const bad[] = {"", " STAT", "ST4T", "VERYLONGCMD",
	                                  "ST\tAT"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pop3_command_parse(bad[i], strlen(bad[i]),
		                                    &cmd, &error),
		                 -1);
	assert_int_equal(pop3_command_parse("USER a\0b", 8, &cmd, &error), -1);
	assert_string_equal(error, "NUL byte in command");
}

static void test_numbers(void **state)
{
	uint64_t v;
	assert_int_equal(pop3_parse_number("42", 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(pop3_parse_number("0", 100, &v), 0);
	assert_int_equal(pop3_parse_number("101", 100, &v), -1);
	assert_int_equal(pop3_parse_number("", 100, &v), -1);
	assert_int_equal(pop3_parse_number("+1", 100, &v), -1);
	assert_int_equal(pop3_parse_number("-1", 100, &v), -1);
	assert_int_equal(pop3_parse_number("1x", 100, &v), -1);
	assert_int_equal(
	        pop3_parse_number("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(
	        pop3_parse_number("18446744073709551616", UINT64_MAX, &v), -1);
}

/* Stuff msg in pieces of step bytes with TOP's body_lines. */
static void stuff(const char *msg, uint64_t body_lines, size_t step,
                  struct buf *out)
{
	struct pop3_stuffer st;
	pop3_stuffer_init(&st, body_lines);
	size_t len = strlen(msg);
	for (size_t off = 0; off < len && !st.done; off += step) {
		size_t n = len - off < step ? len - off : step;
		pop3_stuff(&st, (const unsigned char *)msg + off, n, out);
	}
	pop3_stuff_finish(&st, out);
}

static void check_stuff(const char *msg, uint64_t body_lines, const char *want)
{
	for (size_t step = 1; step <= strlen(msg) + 1; step++) {
		struct buf out;
		buf_init(&out, 1 << 20);
		stuff(msg, body_lines, step, &out);
		assert_string_equal(buf_cstr(&out), want);
		buf_free(&out);
	}
}

static void test_stuffing(void **state)
{
	const char *msg = "Subject: x\r\n\r\n.line\r\n..two\r\nend.\r\n.\r\n";
	check_stuff(msg, UINT64_MAX,
	            "Subject: x\r\n\r\n..line\r\n...two\r\nend.\r\n..\r\n"
	            ".\r\n");
	/* a message that does not end a line gets one */
	check_stuff("a: b\r\n\r\nno end", UINT64_MAX,
	            "a: b\r\n\r\nno end\r\n.\r\n");
	check_stuff("", UINT64_MAX, ".\r\n");
}

static void test_top(void **state)
{
	const char *msg = "A: 1\r\nB: 2\r\n\r\none\r\n.two\r\nthree\r\n";
	check_stuff(msg, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	check_stuff(msg, 1, "A: 1\r\nB: 2\r\n\r\none\r\n.\r\n");
	check_stuff(msg, 2, "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\n.\r\n");
	check_stuff(msg, 99,
	            "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\nthree\r\n"
	            ".\r\n");
	/* no body at all: the header is everything */
	check_stuff("A: 1\r\n", 0, "A: 1\r\n.\r\n");
	/* a header line starting with CR but not empty */
	check_stuff("A: 1\r\n\rX\r\n\r\nbody\r\n", 0,
	            "A: 1\r\n\rX\r\n\r\n.\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lines),
	        cmocka_unit_test(test_skipping_consumes),
	        cmocka_unit_test(test_commands),
	        cmocka_unit_test(test_bad_commands),
	        cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_stuffing),
	        cmocka_unit_test(test_top),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
