/* Unit tests for the content-transfer-encoding decoders (decode.h): RFC
 * 2045 and RFC 4648 examples, the tolerance rules for malformed input
 * and whether each input counts as clean, every split of the input into
 * two chunks and one byte at a time, caps and failing sinks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/decode.h"

#define MAX_BYTES 4096

struct vector {
	const char *in;
	const char *out;
	bool clean;
};

static void decode_split(enum decode_cte cte, const char *in, size_t len,
                         size_t split, struct buf *out, bool *clean_r)
{
	struct decoder *d = decode_new_buf(cte, out);

	assert_int_equal(decode_feed(d, in, split), 0);
	assert_int_equal(decode_feed(d, in + split, len - split), 0);
	assert_int_equal(decode_finish(d), 0);
	*clean_r = decode_is_clean(d);
	decode_free(&d);
	assert_null(d);
}

static void decode_bytewise(enum decode_cte cte, const char *in, size_t len,
                            struct buf *out, bool *clean_r)
{
	struct decoder *d = decode_new_buf(cte, out);

	for (size_t i = 0; i < len; i++)
		assert_int_equal(decode_feed(d, in + i, 1), 0);
	assert_int_equal(decode_finish(d), 0);
	*clean_r = decode_is_clean(d);
	decode_free(&d);
}

static void check_output(const struct buf *out, bool clean,
                         const struct vector *v)
{
	if (out->len != strlen(v->out) ||
	    memcmp(buf_cstr(out), v->out, out->len) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", v->in,
		         buf_cstr(out), v->out);
	if (clean != v->clean)
		fail_msg("\"%s\": clean %d, want %d", v->in, clean, v->clean);
}

/* Whole, every two-chunk split, and one byte at a time agree. */
static void check_vectors(enum decode_cte cte, const struct vector *v, size_t n)
{
	struct buf out;
	bool clean;

	buf_init(&out, MAX_BYTES);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].in);
		buf_reset(&out);
		assert_int_equal(decode_all(cte, v[i].in, len, &out, &clean),
		                 0);
		check_output(&out, clean, &v[i]);
		for (size_t split = 0; split <= len; split++) {
			buf_reset(&out);
			decode_split(cte, v[i].in, len, split, &out, &clean);
			check_output(&out, clean, &v[i]);
		}
		buf_reset(&out);
		decode_bytewise(cte, v[i].in, len, &out, &clean);
		check_output(&out, clean, &v[i]);
	}
	buf_free(&out);
}

static const struct vector base64_vectors[] = {
        /* RFC 4648 section 10 */
        {"", "", true},
        {"Zg==", "f", true},
        {"Zm8=", "fo", true},
        {"Zm9v", "foo", true},
        {"Zm9vYg==", "foob", true},
        {"Zm9vYmE=", "fooba", true},
        {"Zm9vYmFy", "foobar", true},
        /* RFC 2045 6.8: line breaks and other whitespace are ignored */
        {"Zm9v\r\nYmFy\r\n", "foobar", true},
        {" Zm 9v\tYm\nFy ", "foobar", true},
        {"Zm9vYg=\r\n=\r\n", "foob", true},
        {"TWFu", "Man", true},
        {"4pyTIMOgIGxhIG1vZGU=", "\xe2\x9c\x93 \xc3\xa0 la mode", true},
        {"/+8=", "\xff\xef", true},
        /* missing padding is tolerated */
        {"Zm9vYg", "foob", true},
        {"Zm9vYmE", "fooba", true},
        {"Zm9vYg=", "foob", true},
        /* characters outside the alphabet are skipped, not clean */
        {"Zm9v*YmFy", "foobar", false},
        {"Zm9v-_YmFy", "foobar", false},
        {"Zm9v\x80YmFy", "foobar", false},
        /* broken padding */
        {"=Zm9v", "", false},
        {"Zm9v=", "foo", false},
        {"Zm9vY=", "foo", false},
        {"Zm9vY===", "foo", false},
        {"Zg=a", "f", false},
        {"Zg=aZm9v", "f", false},
        /* data after the padding is ignored */
        {"Zg==Zm9v", "f", false},
        {"Zg==\r\n \r\n", "f", true},
        {"Zm8==", "fo", false},
        /* six bits are not a byte */
        {"Zm9vY", "foo", false},
        {"Z", "", false},
};

static void test_base64(void **state)
{
	check_vectors(DECODE_BASE64, base64_vectors,
	              sizeof(base64_vectors) / sizeof(base64_vectors[0]));
}

static const struct vector qp_vectors[] = {
        {"", "", true},
        /* RFC 2045 6.7 rule 5 */
        {"Now's the time =\r\nfor all folk to come=\r\n to the aid of "
         "their country.",
         "Now's the time for all folk to come to the aid of their country.",
         true},
        {"caf=C3=A9", "caf\xc3\xa9", true},
        {"caf=c3=a9", "caf\xc3\xa9", true},
        {"a=3Db", "a=b", true},
        {"=01=FF", "\x01\xff", true},
        /* line ends pass through; trailing whitespace is dropped */
        {"a  \r\nb\t\nc", "a\r\nb\nc", true},
        {"a \t b\r\n", "a \t b\r\n", true},
        {"end  ", "end", true},
        {"a \rb", "a \rb", true},
        {"a \r", "a \r", true},
        /* soft line breaks, also with padding and bare LF */
        {"a=\r\nb", "ab", true},
        {"a=\nb", "ab", true},
        {"a= \t\r\nb", "ab", true},
        {"a=  \nb", "ab", true},
        {"a=", "a", true},
        {"a= ", "a", true},
        {"a=\r", "a", true},
        /* invalid '=' sequences stand for themselves */
        {"a=4G", "a=4G", false},
        {"a=G4", "a=G4", false},
        {"a=4", "a=4", false},
        {"a= b", "a= b", false},
        {"a= 41", "a= 41", false},
        {"a==41", "a=A", false},
        {"a=\rb", "a=\rb", false},
        {"a= \rb", "a= \rb", false},
        {"a=4\r\n", "a=4\r\n", false},
        {"a= x \r\n", "a= x\r\n", false},
        /* 8-bit and controls pass as they are */
        {"\xc3\xa9\t\x01", "\xc3\xa9\t\x01", true},
};

static void test_qp(void **state)
{
	check_vectors(DECODE_QP, qp_vectors,
	              sizeof(qp_vectors) / sizeof(qp_vectors[0]));
}

static const struct vector identity_vectors[] = {
        {"", "", true},
        {"a=4G \r\n", "a=4G \r\n", true},
};

static void test_identity(void **state)
{
	check_vectors(DECODE_IDENTITY, identity_vectors,
	              sizeof(identity_vectors) / sizeof(identity_vectors[0]));
}

/* Whitespace runs longer than any padding are kept, whatever the split. */
static void test_qp_long_whitespace(void **state)
{
	char in[600], want[600];
	size_t n = 300;
	struct vector v = {in, want, true};

	memset(in, ' ', n);
	memcpy(in + n, "\r\n", 3);
	memset(want, ' ', QP_MAX_PENDING_WS_BYTES);
	memcpy(want + QP_MAX_PENDING_WS_BYTES, "\r\n", 3);
	check_vectors(DECODE_QP, &v, 1);

	/* after '=' the long run makes the '=' literal */
	in[0] = '=';
	memset(in + 1, ' ', n);
	memcpy(in + 1 + n, "x", 2);
	memcpy(want, in, n + 2);
	v.clean = false;
	check_vectors(DECODE_QP, &v, 1);
}

static void test_cte_parse(void **state)
{
	assert_int_equal(decode_cte_parse(NULL, 0), DECODE_IDENTITY);
	assert_int_equal(decode_cte_parse("7bit", 4), DECODE_IDENTITY);
	assert_int_equal(decode_cte_parse(" 8BIT\r\n", 7), DECODE_IDENTITY);
	assert_int_equal(decode_cte_parse("Binary", 6), DECODE_IDENTITY);
	assert_int_equal(decode_cte_parse("BASE64", 6), DECODE_BASE64);
	assert_int_equal(decode_cte_parse("Quoted-Printable", 16), DECODE_QP);
	assert_int_equal(decode_cte_parse("x-uuencode", 10), DECODE_UNKNOWN);
	assert_int_equal(decode_cte_parse("base6", 5), DECODE_UNKNOWN);
	assert_int_equal(decode_cte_parse("", 0), DECODE_UNKNOWN);
}

static void test_cap(void **state)
{
	struct buf out;
	bool clean;

	buf_init(&out, 5);
	assert_int_equal(decode_all(DECODE_BASE64, "Zm9vYmFy", 8, &out, &clean),
	                 -1);
	assert_true(out.len <= 5);
	buf_reset(&out);
	assert_int_equal(decode_all(DECODE_BASE64, "Zm9vYmE=", 8, &out, &clean),
	                 0);
	assert_string_equal(buf_cstr(&out), "fooba");
	buf_free(&out);
}

struct counter {
	size_t bytes;
	size_t calls;
	size_t fail_after;
};

static int count_output(void *context, const void *data, size_t len)
{
	struct counter *c = context;

	c->bytes += len;
	return ++c->calls > c->fail_after ? -1 : 0;
}

/* A failing sink stops the decoder for good; large output is chunked. */
static void test_sink(void **state)
{
	struct counter c = {0, 0, 1};
	struct decoder *d = decode_new(DECODE_QP, count_output, &c);
	char in[3000];

	memset(in, 'x', sizeof(in));
	assert_int_equal(decode_feed(d, in, 10), 0);
	assert_int_equal(c.bytes, 10);
	assert_int_equal(decode_feed(d, in, sizeof(in)), -1);
	assert_int_equal(decode_feed(d, in, 1), -1);
	assert_int_equal(decode_finish(d), -1);
	decode_free(&d);

	c = (struct counter){0, 0, SIZE_MAX};
	d = decode_new(DECODE_QP, count_output, &c);
	assert_int_equal(decode_feed(d, in, sizeof(in)), 0);
	assert_int_equal(decode_finish(d), 0);
	assert_int_equal(c.bytes, sizeof(in));
	assert_true(c.calls > 1);
	decode_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_qp),
	        cmocka_unit_test(test_identity),
	        cmocka_unit_test(test_qp_long_whitespace),
	        cmocka_unit_test(test_cte_parse),
	        cmocka_unit_test(test_cap),
	        cmocka_unit_test(test_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
