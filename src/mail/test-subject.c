/* Unit tests for RFC 5256 base subject extraction (subject.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "mail/subject.h"

static void expect_base(const char *in, const char *want, bool want_reply)
{
	struct buf out;
	bool reply = !want_reply;

	buf_init(&out, 4096);
	assert_int_equal(buf_append_str(&out, "x"), 0);
	assert_int_equal(subject_base(&out, in, strlen(in), &reply), 0);
	if (strcmp(buf_cstr(&out) + 1, want) != 0 || reply != want_reply)
		fail_msg("\"%s\": got \"%s\" %d, want \"%s\" %d", in,
		         buf_cstr(&out) + 1, reply, want, want_reply);
	buf_free(&out);
}

static void test_plain(void **state)
{
	expect_base("", "", false);
	expect_base("   ", "", false);
	expect_base("hello", "hello", false);
	expect_base("  hello \t\r\n  world  ", "hello world", false);
	expect_base("Rewrite: the plan", "Rewrite: the plan", false);
	expect_base("Fwdx: a", "Fwdx: a", false);
	expect_base("Re x", "Re x", false);
	expect_base("re[: x", "re[: x", false);
	expect_base("Gr\xc3\xbc\xc3\x9f"
	            "e",
	            "Gr\xc3\xbc\xc3\x9f"
	            "e",
	            false);
}

static void test_refwd(void **state)
{
	expect_base("Re: hello", "hello", true);
	expect_base("RE:hello", "hello", true);
	expect_base("re : hello", "hello", true);
	expect_base("Fw: hello", "hello", true);
	expect_base("FWD: hello", "hello", true);
	expect_base("Re: Re: Fwd: re: hello", "hello", true);
	expect_base("Re[2]: hello", "hello", true);
	expect_base("Re [2] : hello", "hello", true);
	expect_base("Re:", "", true);
	expect_base("Re: Gr\xc3\xbc\xc3\x9f"
	            "e",
	            "Gr\xc3\xbc\xc3\x9f"
	            "e",
	            true);
}

static void test_blobs(void **state)
{
	expect_base("[list] hello", "hello", false);
	expect_base("[list] Re: hello", "hello", true);
	expect_base("Re: [list] Re: hello", "hello", true);
	expect_base("[a][b] Re[c]: [d] hello", "hello", true);
	/* a blob stays when nothing would be left */
	expect_base("[list]", "[list]", false);
	expect_base("[a] [b]", "[b]", false);
	expect_base("Re: [list]", "[list]", true);
	/* an unclosed blob is text */
	expect_base("[list hello", "[list hello", false);
	expect_base("[l[i]st] x", "[l[i]st] x", false);
	expect_base("[\xc3\xa9t\xc3\xa9] x", "x", false);
}

static void test_trailer(void **state)
{
	expect_base("hello (fwd)", "hello", true);
	expect_base("hello (FWD) (fwd)  ", "hello", true);
	expect_base("hello(fwd)", "hello", true);
	expect_base("(fwd)", "", true);
	expect_base("hello (fw)", "hello (fw)", false);
}

static void test_fwd_wrapper(void **state)
{
	expect_base("[fwd: hello]", "hello", true);
	expect_base("[Fwd: Re: hello (fwd)]", "hello", true);
	expect_base("Re: [fwd: [fwd: hello]]", "hello", true);
	expect_base("[fwd: [list] hello] (fwd)", "hello", true);
	expect_base("[fwd:]", "", true);
	expect_base("[fwd: hello", "[fwd: hello", false);
	/* "[fwd: a]" is a blob when text follows */
	expect_base("[fwd: a] b", "b", false);
}

static void test_cap(void **state)
{
	struct buf out;

	buf_init(&out, 4);
	assert_int_equal(subject_base(&out, "Re: hello", 9, NULL), -1);
	assert_int_equal(out.len, 0);
	assert_int_equal(subject_base(&out, "Re: abcd", 8, NULL), -1);
	assert_int_equal(subject_base(&out, "Re:  abc  ", 10, NULL), -1);
	assert_int_equal(subject_base(&out, "abcd", 4, NULL), 0);
	assert_string_equal(buf_cstr(&out), "abcd");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain),
	        cmocka_unit_test(test_refwd),
	        cmocka_unit_test(test_blobs),
	        cmocka_unit_test(test_trailer),
	        cmocka_unit_test(test_fwd_wrapper),
	        cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
