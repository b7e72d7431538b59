/* Unit tests for derive.h: one parse gives the blob and the texts, and
 * a message with bare LFs gives what its CR LF form (the file) gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/derive.h"
#include "mail/msginfo.h"

static const char crlf[] = "From: Ann <ann@example.org>\r\n"
                           "Subject: Caf=?utf-8?q?=C3=A9?=\r\n"
                           "Content-Type: multipart/mixed; boundary=b\r\n"
                           "\r\n--b\r\n\r\nHello World\r\n--b--\r\n";

static void test_blob_and_text(void **state)
{
	(void)state;
	struct derived d;
	struct msginfo info;
	derive_message(crlf, strlen(crlf), &d);
	assert_true(d.blob_ok && d.text_ok);
	assert_true(msginfo_parse(d.blob.data, d.blob.len, &info));
	assert_string_equal(info.from.mailbox, "ann");
	assert_string_equal(info.subject_base, "Caf\xc3\xa9");
	assert_non_null(strstr(buf_cstr(&d.body_text), "hello world"));
	assert_non_null(
	        strstr(buf_cstr(&d.header_text), "subject: cafe\xcc\x81"));
	derived_free(&d);
}

static void test_bare_lf_as_crlf(void **state)
{
	(void)state;
	char lf[sizeof(crlf)];
	size_t n = 0;
	for (const char *p = crlf; *p != '\0'; p++) {
		if (*p != '\r')
			lf[n++] = *p;
	}
	struct derived a, b;
	derive_message(crlf, strlen(crlf), &a);
	derive_message(lf, n, &b);
	assert_int_equal(a.blob.len, b.blob.len);
	assert_memory_equal(a.blob.data, b.blob.data, a.blob.len);
	assert_string_equal(buf_cstr(&a.body_text), buf_cstr(&b.body_text));
	derived_free(&a);
	derived_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_blob_and_text),
	        cmocka_unit_test(test_bare_lf_as_crlf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
