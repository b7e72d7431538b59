/* Unit tests for the derived-data blob (msginfo.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "mail/bodystructure.h"
#include "mail/envelope.h"
#include "mail/header.h"
#include "mail/mime.h"
#include "mail/msginfo.h"

static const char reply[] =
        "Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n"
        "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>, b@example.net\r\n"
        "To: friends: ann@example.com, bob@example.com;\r\n"
        "Subject: Re: [list] Fwd: the\r\n  plan (fwd)\r\n"
        "Message-ID: <m2@example.org>\r\n"
        "In-Reply-To: <m1@example.org>\r\n"
        "References: <m0@example.org>\r\n <m1@example.org>\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n"
        "\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n";

static void build(const char *msg, struct buf *out, struct msginfo *info)
{
	buf_init(out, 1 << 20);
	assert_int_equal(msginfo_build(msg, strlen(msg), out), 0);
	assert_true(msginfo_parse(out->data, out->len, info));
}

static int envelope_cb(struct buf *out, const char *header, size_t len,
                       void *ctx)
{
	(void)ctx;
	envelope_write(out, header, len);
	return 0;
}

/* The answers are the ones the modules give for the message itself. */
static void test_answers(void **state)
{
	(void)state;
	struct buf blob, want;
	struct msginfo info;
	build(reply, &blob, &info);
	buf_init(&want, 1 << 20);
	size_t hlen = header_block_size(reply, strlen(reply));
	assert_int_equal(info.header_size, hlen);
	envelope_write(&want, reply, hlen);
	assert_int_equal(info.envelope_len, want.len);
	assert_memory_equal(info.envelope, want.data, want.len);
	struct mime_part *root = mime_parse(reply, strlen(reply));
	for (int ext = 0; ext < 2; ext++) {
		buf_reset(&want);
		bodystructure_write(&want, root, reply, strlen(reply), ext,
		                    envelope_cb, NULL);
		assert_int_equal(ext ? info.bodystructure_len : info.body_len,
		                 want.len);
		assert_memory_equal(ext ? info.bodystructure : info.body,
		                    want.data, want.len);
	}
	struct mime_part *copy = mime_deserialize(info.mime, info.mime_len);
	assert_non_null(copy);
	assert_int_equal(copy->child_count, 2);
	assert_int_equal(copy->children[1].offset, root->children[1].offset);
	mime_free(&copy);
	mime_free(&root);
	buf_free(&want);
	buf_free(&blob);
}

static void test_sort_fields(void **state)
{
	(void)state;
	struct buf blob;
	struct msginfo info;
	build(reply, &blob, &info);
	assert_true(info.has_date);
	assert_int_equal(info.date, 1772442000); /* 2026-03-02 09:00 UTC */
	assert_int_equal(info.date_tz_min, 60);
	assert_string_equal(info.subject_base, "the plan");
	assert_true(info.subject_reply);
	assert_string_equal(info.from.name, "J\xc3\xb6rg");
	assert_string_equal(info.from.mailbox, "joerg");
	assert_string_equal(info.from.domain, "example.org");
	/* a group is looked through */
	assert_string_equal(info.to.name, "");
	assert_string_equal(info.to.mailbox, "ann");
	assert_string_equal(info.cc.mailbox, "");
	assert_string_equal(info.message_id, "<m2@example.org>");
	assert_string_equal(info.in_reply_to, "<m1@example.org>");
	assert_string_equal(info.references,
	                    "<m0@example.org> <m1@example.org>");
	buf_free(&blob);
}

static void test_bare_message(void **state)
{
	(void)state;
	struct buf blob;
	struct msginfo info;
	build("", &blob, &info);
	assert_false(info.has_date);
	assert_false(info.subject_reply);
	assert_string_equal(info.subject_base, "");
	assert_string_equal(info.from.mailbox, "");
	assert_string_equal(info.references, "");
	assert_memory_equal(info.envelope, "(NIL NIL NIL NIL", 16);
	buf_free(&blob);
	build("Date: someday\r\nSubject: x\r\n", &blob, &info);
	assert_false(info.has_date);
	assert_string_equal(info.subject_base, "x");
	buf_free(&blob);
	/* the widest zone a Date can name (found by fuzzing) */
	build("Date: 5 Nov 2026 23:59:59 +9959\r\n", &blob, &info);
	assert_true(info.has_date);
	assert_int_equal(info.date_tz_min, 99 * 60 + 59);
	buf_free(&blob);
}

/* Anything but an intact blob is refused, never read past its end. */
static void test_damaged(void **state)
{
	(void)state;
	struct buf blob;
	struct msginfo info;
	build(reply, &blob, &info);
	for (size_t n = 0; n < blob.len; n++)
		assert_false(msginfo_parse(blob.data, n, &info));
	unsigned char *p = (unsigned char *)blob.data;
	p[0] = 'X';
	assert_false(msginfo_parse(blob.data, blob.len, &info));
	p[0] = 'R';
	p[29] ^= 0x40; /* the envelope's length */
	assert_false(msginfo_parse(blob.data, blob.len, &info));
	p[29] ^= 0x40;
	p[26] = 0x40; /* an impossible zone */
	assert_false(msginfo_parse(blob.data, blob.len, &info));
	p[26] = 0;
	assert_true(msginfo_parse(blob.data, blob.len, &info));
	buf_free(&blob);
}

static void test_cap(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 64);
	assert_int_equal(buf_append_str(&out, "keep"), 0);
	assert_int_equal(msginfo_build(reply, strlen(reply), &out), -1);
	assert_int_equal(out.len, 4);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_answers),
	        cmocka_unit_test(test_sort_fields),
	        cmocka_unit_test(test_bare_message),
	        cmocka_unit_test(test_damaged),
	        cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
