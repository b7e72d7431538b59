/* Unit tests for the DATA decoder (lmtp-data.h): dot-unstuffing, the end
 * marker, bare LF and CR as data (no "LF . LF" end), bytes after the
 * end left for the next command, and every split of the input giving
 * the same result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lmtp/lmtp-data.h"

struct result {
	unsigned char out[4096];
	size_t out_len;
	size_t consumed;
	bool done;
};

/* Decode in, fed step bytes at a time (0: all at once). */
static void decode(const char *in, size_t len, size_t step, struct result *r)
{
	struct lmtp_data d;
	lmtp_data_init(&d);
	memset(r, 0, sizeof(*r));
	size_t pos = 0;
	while (pos < len && !lmtp_data_done(&d)) {
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		size_t out_len = 0;
		size_t used =
		        lmtp_data_decode(&d, (const unsigned char *)in + pos, n,
		                         r->out + r->out_len, &out_len);
		assert_true(out_len <= n + 1);
		assert_true(used <= n);
		r->out_len += out_len;
		pos += used;
		if (used < n)
			assert_true(lmtp_data_done(&d));
	}
	r->consumed = pos;
	r->done = lmtp_data_done(&d);
}

/* in decodes to want (and ends, leaving the bytes of rest) whatever
 * the split. */
static void check(const char *in, const char *want, bool done, const char *rest)
{
	size_t len = strlen(in);
	size_t in_used = len - strlen(rest);
	for (size_t step = 0; step <= len; step++) {
		struct result r;
		decode(in, len, step, &r);
		assert_int_equal(r.done, done);
		assert_int_equal(r.out_len, strlen(want));
		assert_memory_equal(r.out, want, r.out_len);
		if (done)
			assert_int_equal(r.consumed, in_used);
	}
}

static void test_plain(void **state)
{
	check("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n",
	      true, "");
	check(".\r\n", "", true, "");
	check("a\r\n", "a\r\n", false, "");
}

static void test_unstuffing(void **state)
{
	check("..\r\n.\r\n", ".\r\n", true, "");
	check("a\r\n..b\r\n...\r\n.\r\n", "a\r\n.b\r\n..\r\n", true, "");
	/* a lone dot not followed by CR LF: the dot goes (RFC 5321
	 * 4.5.2), the rest stays */
	check(".x\r\n.\r\n", "x\r\n", true, "");
	check("a.\r\n.\r\n", "a.\r\n", true, "");
}

static void test_end_marker(void **state)
{
	/* what follows the end is the next command's */
	check("x\r\n.\r\nQUIT\r\n", "x\r\n", true, "QUIT\r\n");
	/* ". CR" not followed by LF is data */
	check("x\r\n.\ry\r\n.\r\n", "x\r\n\ry\r\n", true, "");
	check("x\r\n.\r\r\n.\r\n", "x\r\n\r\r\n", true, "");
}

static void test_bare_lf(void **state)
{
	/* only CR LF ends a line: "LF . LF" and "LF . CR LF" are data, and
	 * a dot after a bare LF is not unstuffed */
	check("a\n.\nb\n..\r\n.\r\n", "a\n.\nb\n..\r\n", true, "");
	check("a\n.\r\nMAIL\r\n.\r\n", "a\n.\r\nMAIL\r\n", true, "");
	check("a\r.\r\n.\r\n", "a\r.\r\n", true, "");
	check("a\r\r\n..\r\n.\r\n", "a\r\r\n.\r\n", true, "");
}

static void test_binary(void **state)
{
	const char in[] = "a\0b\r\n.\0\r\n.\r\n";
	struct result r;
	for (size_t step = 0; step < sizeof(in); step++) {
		decode(in, sizeof(in) - 1, step, &r);
		assert_true(r.done);
		assert_int_equal(r.out_len, 8);
		assert_memory_equal(r.out, "a\0b\r\n\0\r\n", 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain),
	        cmocka_unit_test(test_unstuffing),
	        cmocka_unit_test(test_end_marker),
	        cmocka_unit_test(test_bare_lf),
	        cmocka_unit_test(test_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
