/* Unit tests for header blocks and structured MIME values (header.h):
 * field iteration over malformed blocks, unfolding, and Content-Type /
 * Content-Disposition parameters with quoting, comments and RFC 2231. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mail/header.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_block_size(void **state)
{
	assert_int_equal(header_block_size(S("A: b\r\n\r\nbody")), 8);
	assert_int_equal(header_block_size(S("A: b\n\nbody")), 6);
	assert_int_equal(header_block_size(S("A: b\r\n")), 6);
	assert_int_equal(header_block_size(S("")), 0);
	assert_int_equal(header_block_size(S("\r\nbody")), 2);
	assert_int_equal(header_block_size(S("\nbody")), 1);
	/* a line of spaces is not the empty line */
	assert_int_equal(header_block_size(S("A: b\n \nC: d\n\nx")), 13);
	assert_int_equal(header_block_size(S("A: b\r\r\nx\n\n")), 10);
}

struct want {
	const char *name, *value;
	size_t value_len; /* 0: strlen(value) */
};

static void check_fields(const char *block, size_t len, const struct want *want,
                         size_t n)
{
	struct header_iter it;
	struct header_field f;
	size_t i = 0;

	header_iter_init(&it, block, len);
	while (header_iter_next(&it, &f)) {
		assert_true(i < n);
		assert_int_equal(f.name_len, strlen(want[i].name));
		assert_memory_equal(f.name, want[i].name, f.name_len);
		size_t vlen = want[i].value_len;
		if (vlen == 0)
			vlen = strlen(want[i].value);
		assert_int_equal(f.value_len, vlen);
		assert_memory_equal(f.value, want[i].value, f.value_len);
		assert_true(f.offset + f.size <= len);
		i++;
	}
	assert_int_equal(i, n);
}

static void test_iter(void **state)
{
	static const struct want w1[] = {
	        {"Subject", " hello\r\n world"}, {"To", " x"}, {"X-Empty", ""}};
	check_fields(S("Subject: hello\r\n world\r\nTo: x\r\nX-Empty:\r\n\r\n"),
	             w1, 3);
	/* bare LF, orphan continuation, no colon, obsolete space before the
	 * colon, mbox From line, 8-bit and NUL in values, no final LF */
	static const struct want w2[] = {{"A", " 1\n\t2"},
	                                 {"B", " x\0y", 4},
	                                 {"Sub", " \xe9t\xe9"},
	                                 {"Last", " z"}};
	check_fields(S("  orphan\nFrom a@b Mon 12:00\nA: 1\n\t2\nnocolon\n"
	               "B: x\0y\nSub : \xe9t\xe9\n: novalue\nLast: z"),
	             w2, 4);
	static const struct want w3[] = {{"A", ""}};
	check_fields(S("A:"), w3, 1);
	check_fields(S(""), NULL, 0);
	check_fields(S("\r\n"), NULL, 0);
}

static void test_find_unfold(void **state)
{
	static const char block[] = "Content-Type: text/plain\r\n"
	                            "content-type: text/html\r\n"
	                            "Subject:  a\r\n   b \t\r\n\r\n";
	struct header_field f;
	struct arena *a = arena_create(1024);

	assert_true(header_find(S(block), "CONTENT-TYPE", &f));
	assert_int_equal(f.value_len, strlen(" text/plain"));
	assert_false(header_find(S(block), "Content", &f));
	assert_true(header_find(S(block), "subject", &f));
	assert_string_equal(header_unfold(a, f.value, f.value_len), "a   b");
	assert_string_equal(header_unfold(a, S(" x\0y\r\n\tz ")), "xy\tz");
	assert_string_equal(header_unfold(a, S("")), "");
	assert_string_equal(header_unfold(a, S(" \t ")), "");
	arena_destroy(&a);
}

struct pwant {
	const char *name, *value, *charset, *language;
};

static void check_structured(const char *value, const char *token,
                             const char *subtype, const struct pwant *want,
                             size_t n)
{
	struct arena *a = arena_create(1024);
	struct header_structured r;

	header_parse_structured(a, value, strlen(value), &r);
	if (token == NULL)
		assert_null(r.token);
	else
		assert_string_equal(r.token, token);
	if (subtype == NULL)
		assert_null(r.subtype);
	else
		assert_string_equal(r.subtype, subtype);
	assert_int_equal(r.param_count, n);
	for (size_t i = 0; i < n; i++) {
		const struct header_param *p = &r.params[i];
		assert_string_equal(p->name, want[i].name);
		assert_string_equal(p->value, want[i].value);
		assert_int_equal(p->value_len, strlen(want[i].value));
		if (want[i].charset == NULL) {
			assert_null(p->charset);
			assert_null(p->language);
		} else {
			assert_string_equal(p->charset, want[i].charset);
			assert_string_equal(p->language, want[i].language);
		}
		assert_ptr_equal(header_param_find(&r, want[i].name), p);
	}
	arena_destroy(&a);
}

static void test_structured_basic(void **state)
{
	static const struct pwant p1[] = {{"a", "b", NULL, NULL},
	                                  {"c", "d e", NULL, NULL}};
	check_structured("type/subtype; a=b; c=\"d e\"", "type", "subtype", p1,
	                 2);
	static const struct pwant p2[] = {{"charset", "us-ascii", NULL, NULL}};
	check_structured(" (comment (nested)) Text / Plain (x) ;\r\n\tCharSet="
	                 "us-ascii (Plain text)",
	                 "Text", "Plain", p2, 1);
	static const struct pwant p3[] = {{"filename", "a b.pdf", NULL, NULL}};
	check_structured("attachment; filename=a b.pdf;", "attachment", NULL,
	                 p3, 1);
	static const struct pwant p4[] = {{"name", "q\"x\\;y", NULL, NULL},
	                                  {"n2", "", NULL, NULL}};
	check_structured(
	        "a/b; name=\"q\\\"x\\\\;y\"; ; junk; n2=\"\"; =x; n2=2", "a",
	        "b", p4, 2);
	static const struct pwant p5[] = {{"boundary", "=_(x)", NULL, NULL}};
	check_structured("multipart/mixed; boundary=\"=_(x)\"", "multipart",
	                 "mixed", p5, 1);
	check_structured("", NULL, NULL, NULL, 0);
	check_structured("  ;a", NULL, NULL, NULL, 0);
	check_structured("text/", "text", NULL, NULL, 0);
	static const struct pwant p6[] = {{"a", "open", NULL, NULL}};
	check_structured("x/y; a=\"open", "x", "y", p6, 1);
	check_structured("x/y (unterminated; a=b", "x", "y", NULL, 0);
}

static void test_structured_rfc2231(void **state)
{
	static const struct pwant p1[] = {
	        {"name", "\xe2\x82\xac", "utf-8", ""}};
	check_structured("attachment; name*=utf-8''%E2%82%ac", "attachment",
	                 NULL, p1, 1);
	/* RFC 2231 section 4.1 example, sections out of order */
	static const struct pwant p2[] = {
	        {"title", "This is even more ***fun*** isn't it!", "us-ascii",
	         "en"}};
	check_structured("application/x-stuff;\r\n"
	                 " title*2=\"isn't it!\";\r\n"
	                 " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
	                 " title*0*=us-ascii'en'This%20is%20even%20more%20",
	                 "application", "x-stuff", p2, 1);
	/* plain continuations; a gap ends the value; the 2231 form wins
	 * over the plain one whatever the order */
	static const struct pwant p3[] = {
	        {"url", "ftp://x/y", NULL, NULL},
	        {"filename", "\xe9t\xe9.txt", "iso-8859-1", "fr"}};
	check_structured("message/external-body; URL*0=\"ftp://\"; url*1=x/y;"
	                 " url*3=lost; filename=plain.txt;"
	                 " filename*=iso-8859-1'fr'%E9t%E9.txt",
	                 "message", "external-body", p3, 2);
	/* bad percent escapes stay; %00 is dropped; no quotes: no
	 * charset split; a continuation without section 0 is dropped */
	static const struct pwant p4[] = {{"a", "%zz%4", "", ""},
	                                  {"b", "x", "", ""}};
	check_structured("t/s; a*=''%zz%4; b*=x%00; c*1=orphan; d*x=bad", "t",
	                 "s", p4, 2);
}

static void test_many_params(void **state)
{
	struct arena *a = arena_create(1024);
	struct header_structured r;
	char value[HEADER_MAX_PARAMS * 16 + 64];
	size_t len = 0;

	len += (size_t)sprintf(value, "text/plain");
	for (size_t i = 0; i < HEADER_MAX_PARAMS + 20; i++)
		len += (size_t)sprintf(value + len, ";p%zu=%zu", i, i);
	header_parse_structured(a, value, len, &r);
	assert_int_equal(r.param_count, HEADER_MAX_PARAMS);
	arena_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_block_size),
	        cmocka_unit_test(test_iter),
	        cmocka_unit_test(test_find_unfold),
	        cmocka_unit_test(test_structured_basic),
	        cmocka_unit_test(test_structured_rfc2231),
	        cmocka_unit_test(test_many_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
