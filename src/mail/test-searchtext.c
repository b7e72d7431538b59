/* Unit tests for the searchable text of a message (searchtext.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/searchtext.h"

static void build(const char *msg, struct buf *h, struct buf *b)
{
	buf_init(h, 1 << 20);
	buf_init(b, 1 << 20);
	assert_int_equal(searchtext_build(msg, strlen(msg), h, b), 0);
}

static void test_plain(void **state)
{
	struct buf h, b;
	build("Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\n"
	      "From:  Someone\r\n  <a@b>\r\n\r\nHello World\r\n",
	      &h, &b);
	/* folded text is decomposed: ü is u and a combining diaeresis */
	assert_string_equal(buf_cstr(&h), "subject: gru\xcc\x88sse\n"
	                                  "from: someone  <a@b>\n");
	assert_string_equal(buf_cstr(&b), "hello world\r\n\n");
	buf_free(&h);
	buf_free(&b);
}

static void test_multipart(void **state)
{
	struct buf h, b;
	build("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	      "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
	      "Content-Transfer-Encoding: base64\r\n\r\n"
	      "w4RQRkVM\r\n"
	      "--b\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n"
	      "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	      "Subject: Inner\r\n\r\nINNER body\r\n"
	      "--b--\r\n",
	      &h, &b);
	const char *body = buf_cstr(&b);
	assert_non_null(strstr(body, "a\xcc\x88pfel")); /* "ÄPFEL" */
	assert_null(strstr(body, "pngdata"));           /* an attachment */
	assert_non_null(strstr(body, "subject: inner\n"));
	assert_non_null(strstr(body, "inner body"));
	buf_free(&h);
	buf_free(&b);
}

static void test_unknown_charset_and_cte(void **state)
{
	struct buf h, b;
	build("Content-Type: text/plain; charset=x-unknown\r\n"
	      "Content-Transfer-Encoding: x-uuencode\r\n\r\n"
	      "Plain \xff bytes\r\n",
	      &h, &b);
	/* searched as they are, invalid UTF-8 as U+FFFD */
	assert_non_null(strstr(buf_cstr(&b), "plain \xef\xbf\xbd bytes"));
	buf_free(&h);
	buf_free(&b);
}

static void test_fold_needle(void **state)
{
	struct buf n;
	buf_init(&n, 64);
	assert_int_equal(searchtext_fold("GRÜSSE", strlen("GRÜSSE"), &n), 0);
	assert_string_equal(buf_cstr(&n), "gru\xcc\x88sse");
	buf_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain),
	        cmocka_unit_test(test_multipart),
	        cmocka_unit_test(test_unknown_charset_and_cte),
	        cmocka_unit_test(test_fold_needle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
