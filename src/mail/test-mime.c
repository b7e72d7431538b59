/* Unit tests for the MIME part tree (mime.h): offsets and sizes of
 * headers and bodies, line counts, boundaries (nested, missing, broken),
 * message/rfc822 nesting, defaults, limits, the serialised form and IMAP
 * section numbers. Trees are compared as a compact dump: each part is
 * "type/subtype h<header bytes> b<body bytes>/<lines>", leaves with their
 * body text in [], children in {}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "mail/mime.h"

static void dump_part(const struct mime_part *m, const char *msg,
                      struct buf *out)
{
	assert_int_equal(buf_printf(out, "%s/%s h%zu b%zu/%zu", m->type,
	                            m->subtype, m->header_size, m->body_size,
	                            m->body_lines),
	                 0);
	if (m->children == NULL) {
		const char *b = msg + m->offset + m->header_size;
		assert_int_equal(buf_append_byte(out, '['), 0);
		for (size_t i = 0; i < m->body_size; i++) {
			if (b[i] == '\r')
				buf_append_str(out, "\\r");
			else if (b[i] == '\n')
				buf_append_str(out, "\\n");
			else
				buf_append_byte(out, (unsigned char)b[i]);
		}
		assert_int_equal(buf_append_byte(out, ']'), 0);
		return;
	}
	buf_append_str(out, "{");
	for (const struct mime_part *c = m->children; c != NULL; c = c->next) {
		assert_ptr_equal(c->parent, m);
		assert_true(c->offset >= m->offset + m->header_size);
		assert_true(c->offset + c->header_size + c->body_size <=
		            m->offset + m->header_size + m->body_size);
		dump_part(c, msg, out);
		if (c->next != NULL)
			buf_append_str(out, ", ");
	}
	buf_append_str(out, "}");
}

static void check_tree(const char *msg, const char *want)
{
	struct mime_part *root = mime_parse(msg, strlen(msg));
	struct buf out;

	buf_init(&out, 1 << 20);
	dump_part(root, msg, &out);
	if (strcmp(buf_cstr(&out), want) != 0)
		print_error("got  %s\nwant %s\n", buf_cstr(&out), want);
	assert_string_equal(buf_cstr(&out), want);
	assert_int_equal(root->offset, 0);
	assert_int_equal(root->header_size + root->body_size, strlen(msg));
	buf_free(&out);
	mime_free(&root);
	assert_null(root);
}

static void test_single(void **state)
{
	check_tree("Subject: x\r\n\r\nhello\r\nworld\r\n",
	           "text/plain h14 b14/2[hello\\r\\nworld\\r\\n]");
	check_tree("Subject: x\r\n\r\nno final line end",
	           "text/plain h14 b17/1[no final line end]");
	/* a header with no body, with no empty line, an empty message */
	check_tree("Subject: x\r\n", "text/plain h12 b0/0[]");
	check_tree("Subject: x", "text/plain h10 b0/0[]");
	check_tree("", "text/plain h0 b0/0[]");
	check_tree("\r\nbody", "text/plain h2 b4/1[body]");
	check_tree("A: b\n\nbare\nLF\n", "text/plain h6 b8/2[bare\\nLF\\n]");
	check_tree("Content-Type: TEXT/HTML; charset=x\r\n\r\n<p>",
	           "TEXT/HTML h38 b3/1[<p>]");
}

static const char mixed[] =
        "Content-Type: multipart/mixed; boundary=\"out er\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--out er\r\n"
        "Content-Type: multipart/alternative; boundary=in\r\n"
        "\r\n"
        "--in\r\n"
        "\r\n"
        "plain\r\n"
        "--in \t\r\n"
        "Content-Type: text/html\r\n"
        "\r\n"
        "<b>html</b>\r\n"
        "\r\n"
        "--in--\r\n"
        "inner epilogue\r\n"
        "--out er\r\n"
        "Content-Type: image/png\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "iVBO\r\n"
        "--out er--\r\n"
        "epilogue\r\n";

static void test_multipart(void **state)
{
	check_tree(mixed,
	           "multipart/mixed h52 b261/21{multipart/alternative h52 "
	           "b87/10{text/plain h2 b5/1[plain], text/html h27 "
	           "b13/1[<b>html</b>\\r\\n]}, image/png h62 b4/1[iVBO]}");
	/* missing close delimiters: the inner part ends at the outer
	 * delimiter, the outer at the end; lookalike lines are text */
	check_tree("Content-Type: multipart/mixed; boundary=a\n\n"
	           "--a\n"
	           "Content-Type: multipart/mixed; boundary=b\n\n"
	           "--b\n\nb1\n--bb\n--b x\n"
	           "--a\n\nsecond\n",
	           "multipart/mixed h43 b78/11{multipart/mixed h43 "
	           "b18/5{text/plain h1 b13/3[b1\\n--bb\\n--b x]}, text/plain "
	           "h1 b7/1[second\\n]}");
	/* an empty part, a part whose header runs into the delimiter, and
	 * a delimiter right after the header */
	check_tree("Content-Type: multipart/mixed; boundary=a\n\n"
	           "--a\n--a\nX-Header: y\n--a\nA: b\n\n--a--\n",
	           "multipart/mixed h43 b36/7{text/plain h0 b0/0[], text/plain "
	           "h12 b0/0[], text/plain h6 b0/0[]}");
}

/* Where a delimiter cuts a header short, or follows the empty line at
 * once, the line end before it stays in the part, and every part stays
 * inside its parent (dump_part checks that). */
static void test_delimiter_in_header(void **state)
{
	check_tree("Content-Type: multipart/mixed; boundary=x\n\n"
	           "--x\nContent-Type: message/rfc822\n\nSubject: s\n--x--\n",
	           "multipart/mixed h43 b51/5{message/rfc822 h30 b11/1{"
	           "text/plain h11 b0/0[]}}");
	check_tree("Content-Type: multipart/mixed; boundary=x\n\n"
	           "--x\nContent-Type: message/rfc822\n\nA: b\n\n--x--\n",
	           "multipart/mixed h43 b46/6{message/rfc822 h30 b6/2{"
	           "text/plain h6 b0/0[]}}");
	check_tree("Content-Type: multipart/mixed; boundary=x\n\n"
	           "--x\nContent-Type: multipart/mixed; boundary=y\n"
	           "--x\n\nz\n--x--\n",
	           "multipart/mixed h43 b59/6{multipart/mixed h42 b0/0[], "
	           "text/plain h1 b1/1[z]}");
}

static void test_no_boundary(void **state)
{
	/* no usable boundary: a leaf reported as text/plain */
	check_tree("Content-Type: multipart/mixed\r\n\r\n--a\r\nx\r\n",
	           "text/plain h33 b8/2[--a\\r\\nx\\r\\n]");
	check_tree("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
	           "text/plain h46 b4/1[--\\r\\n]");
	/* a boundary that never appears: no parts */
	check_tree("Content-Type: multipart/mixed; boundary=z\r\n\r\nx\r\n",
	           "multipart/mixed h45 b3/1[x\\r\\n]");
	/* no Content-Type; a bad one; defaults */
	struct mime_part *m = mime_parse("Content-Type: text\r\n\r\n", 22);
	assert_string_equal(m->type, "text");
	assert_string_equal(m->subtype, "plain");
	assert_int_equal(m->param_count, 1);
	assert_string_equal(mime_param_find(m, "charset")->value, "us-ascii");
	assert_int_equal(m->flags & MIME_PART_HAS_TYPE, 0);
	mime_free(&m);
}

static const char nested[] = "Subject: outer\r\n"
                             "Content-Type: message/rfc822\r\n"
                             "\r\n"
                             "Subject: middle\r\n"
                             "Content-Type: message/RFC822\r\n"
                             "\r\n"
                             "Subject: inner\r\n"
                             "\r\n"
                             "body\r\n";

static void test_message(void **state)
{
	check_tree(nested, "message/rfc822 h48 b73/6{message/RFC822 h49 "
	                   "b24/3{text/plain h18 b6/1[body\\r\\n]}}");
	/* encoded message/rfc822 is not parsed: a leaf */
	check_tree("Content-Type: message/rfc822\r\n"
	           "Content-Transfer-Encoding: base64\r\n\r\nQQ==\r\n",
	           "application/octet-stream h67 b6/1[QQ==\\r\\n]");
	/* multipart/digest: body parts default to message/rfc822 */
	check_tree(
	        "Content-Type: multipart/digest; boundary=d\n\n"
	        "--d\n\nA: 1\n\nm1\n--d\nContent-Type: text/plain\n\nt\n"
	        "--d--\n",
	        "multipart/digest h44 b52/10{message/rfc822 h1 b8/3{text/plain "
	        "h6 b2/1[m1]}, text/plain h26 b1/1[t]}");
}

static void test_params(void **state)
{
	static const char msg[] =
	        "Content-Type: text/plain; charset=\"UTF-8\"; format=flowed\r\n"
	        "Content-Disposition: attachment;\r\n"
	        " filename*0*=utf-8'de'%E2%82%AC;\r\n filename*1=\".txt\"\r\n"
	        "Content-ID: <id@x>\r\n"
	        "Content-Description: =?utf-8?q?d?=\r\n"
	        "Content-Transfer-Encoding: Quoted-Printable (qp)\r\n"
	        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
	        "Content-Language: en (English), de-CH\r\n"
	        "Content-Location: http://x/\r\n"
	        " y\r\n"
	        "Content-ID: <second@x>\r\n"
	        "\r\n";
	struct mime_part *m = mime_parse(msg, strlen(msg));
	const struct mime_param *p;

	assert_int_equal(m->param_count, 2);
	assert_string_equal(mime_param_find(m, "charset")->value, "UTF-8");
	assert_string_equal(mime_param_find(m, "format")->value, "flowed");
	assert_string_equal(m->disposition, "attachment");
	p = mime_disp_param_find(m, "filename");
	assert_non_null(p);
	assert_string_equal(p->value, "\xe2\x82\xac.txt");
	assert_string_equal(p->charset, "utf-8");
	assert_string_equal(p->language, "de");
	assert_string_equal(m->id, "<id@x>");
	assert_string_equal(m->description, "=?utf-8?q?d?=");
	assert_string_equal(m->encoding, "Quoted-Printable");
	assert_string_equal(m->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	assert_int_equal(m->language_count, 2);
	assert_string_equal(m->languages[0], "en");
	assert_string_equal(m->languages[1], "de-CH");
	assert_string_equal(m->location, "http://x/ y");
	mime_free(&m);
}

/* n multiparts nested in each other, each with one text part after. */
static char *deep_message(size_t n, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 1 << 24);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b,
		           "Content-Type: multipart/mixed; boundary=b%zu\n"
		           "\n--b%zu\n",
		           i, i);
	buf_append_str(&b, "\nleaf\n");
	for (size_t i = n; i-- > 0;)
		buf_printf(&b, "--b%zu\n\nt%zu\n--b%zu--\n", i, i, i);
	*len_r = b.len;
	return (char *)b.data;
}

static size_t tree_depth(const struct mime_part *m)
{
	size_t max = 0;

	for (const struct mime_part *c = m->children; c != NULL; c = c->next) {
		size_t d = tree_depth(c);
		if (d > max)
			max = d;
	}
	return max + 1;
}

static size_t tree_count(const struct mime_part *m)
{
	size_t n = 1;

	for (const struct mime_part *c = m->children; c != NULL; c = c->next)
		n += tree_count(c);
	return n;
}

static void test_limits(void **state)
{
	size_t len;
	char *msg = deep_message(MIME_MAX_DEPTH * 2, &len);
	struct mime_part *m = mime_parse(msg, len);

	assert_int_equal(tree_depth(m), MIME_MAX_DEPTH);
	assert_int_equal(m->header_size + m->body_size, len);
	mime_free(&m);
	free(msg);

	/* message/rfc822 nested too deep: the deepest is a leaf */
	struct buf b;
	buf_init(&b, 1 << 24);
	for (size_t i = 0; i < MIME_MAX_DEPTH + 10; i++)
		buf_append_str(&b, "Content-Type: message/rfc822\r\n\r\n");
	buf_append_str(&b, "Subject: end\r\n\r\nbody\r\n");
	m = mime_parse((const char *)b.data, b.len);
	assert_int_equal(tree_depth(m), MIME_MAX_DEPTH);
	const struct mime_part *leaf = m;
	while (leaf->children != NULL)
		leaf = leaf->children;
	assert_string_equal(leaf->type, "application");
	assert_int_equal(leaf->offset + leaf->header_size + leaf->body_size,
	                 b.len);
	mime_free(&m);
	buf_free(&b);

	buf_init(&b, 1 << 24);
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (size_t i = 0; i < MIME_MAX_PARTS + 500; i++)
		buf_append_str(&b, "--x\n\np\n");
	buf_append_str(&b, "--x--\n");
	m = mime_parse((const char *)b.data, b.len);
	assert_int_equal(tree_count(m), MIME_MAX_PARTS);
	assert_int_equal(m->header_size + m->body_size, b.len);
	mime_free(&m);
	buf_free(&b);
}

static void assert_params_equal(const struct mime_param *a,
                                const struct mime_param *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(a[i].name, b[i].name);
		assert_string_equal(a[i].value, b[i].value);
		assert_true((a[i].charset == NULL) == (b[i].charset == NULL));
		if (a[i].charset != NULL) {
			assert_string_equal(a[i].charset, b[i].charset);
			assert_string_equal(a[i].language, b[i].language);
		}
	}
}

static void assert_str_equal(const char *a, const char *b)
{
	assert_true((a == NULL) == (b == NULL));
	if (a != NULL)
		assert_string_equal(a, b);
}

static void assert_tree_equal(const struct mime_part *a,
                              const struct mime_part *b)
{
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->header_size, b->header_size);
	assert_int_equal(a->body_size, b->body_size);
	assert_int_equal(a->body_lines, b->body_lines);
	assert_int_equal(a->child_count, b->child_count);
	assert_string_equal(a->type, b->type);
	assert_string_equal(a->subtype, b->subtype);
	assert_str_equal(a->id, b->id);
	assert_str_equal(a->description, b->description);
	assert_str_equal(a->encoding, b->encoding);
	assert_str_equal(a->md5, b->md5);
	assert_str_equal(a->location, b->location);
	assert_str_equal(a->disposition, b->disposition);
	assert_int_equal(a->param_count, b->param_count);
	assert_params_equal(a->params, b->params, a->param_count);
	assert_int_equal(a->disp_param_count, b->disp_param_count);
	assert_params_equal(a->disp_params, b->disp_params,
	                    a->disp_param_count);
	assert_int_equal(a->language_count, b->language_count);
	for (size_t i = 0; i < a->language_count; i++)
		assert_string_equal(a->languages[i], b->languages[i]);
	const struct mime_part *ca = a->children, *cb = b->children;
	for (; ca != NULL && cb != NULL; ca = ca->next, cb = cb->next) {
		assert_ptr_equal(cb->parent, b);
		assert_tree_equal(ca, cb);
	}
	assert_null(ca);
	assert_null(cb);
}

static void check_round_trip(const char *msg, size_t len)
{
	struct mime_part *m = mime_parse(msg, len), *d;
	struct buf out, small;

	buf_init(&out, 1 << 24);
	assert_int_equal(mime_serialize(m, &out), 0);
	d = mime_deserialize(out.data, out.len);
	assert_non_null(d);
	assert_tree_equal(m, d);
	mime_free(&d);
	/* every truncation and a trailing byte are refused */
	for (size_t i = 0; i < out.len; i++)
		assert_null(mime_deserialize(out.data, i));
	buf_append_byte(&out, 0);
	assert_null(mime_deserialize(out.data, out.len));
	/* too little room leaves the buffer as it was */
	buf_init(&small, out.len - 2);
	buf_append_str(&small, "x");
	assert_int_equal(mime_serialize(m, &small), -1);
	assert_int_equal(small.len, 1);
	buf_free(&small);
	buf_free(&out);
	mime_free(&m);
}

static void test_serialize(void **state)
{
	static const char params[] =
	        "Content-Type: text/plain; a*=utf-8'en'%41\r\n"
	        "Content-Disposition: inline; filename=x\r\n"
	        "Content-Language: en, fr\r\nContent-ID: <i>\r\n"
	        "Content-MD5: m\r\nContent-Location: l\r\n"
	        "Content-Description: d\r\nContent-Transfer-Encoding: 8bit\r\n"
	        "\r\nbody\r\n";

	check_round_trip(mixed, strlen(mixed));
	check_round_trip(nested, strlen(nested));
	check_round_trip(params, strlen(params));
	check_round_trip("", 0);
	assert_null(mime_deserialize("", 0));
	assert_null(mime_deserialize("\x02", 1));
}

struct section_case {
	unsigned int path[4];
	size_t depth;
	enum mime_section_kind kind;
	const char *want; /* NULL: no such section */
};

static void check_sections(const char *msg, const struct section_case *cases,
                           size_t n)
{
	struct mime_part *m = mime_parse(msg, strlen(msg));

	for (size_t i = 0; i < n; i++) {
		struct mime_section s;
		int ret = mime_section_find(m, cases[i].path, cases[i].depth,
		                            cases[i].kind, &s);
		if (cases[i].want == NULL) {
			assert_int_equal(ret, 0);
			continue;
		}
		assert_int_equal(ret, 1);
		assert_int_equal(s.size, strlen(cases[i].want));
		assert_memory_equal(msg + s.offset, cases[i].want, s.size);
	}
	mime_free(&m);
}

static void test_sections(void **state)
{
	static const struct section_case c1[] = {
	        {{0}, 0, MIME_SECTION_TEXT, "hello\r\n"},
	        {{0}, 0, MIME_SECTION_HEADER, "Subject: x\r\n\r\n"},
	        {{1}, 1, MIME_SECTION_ALL, "hello\r\n"},
	        {{1}, 1, MIME_SECTION_TEXT, NULL},
	        {{2}, 1, MIME_SECTION_ALL, NULL},
	        {{1, 1}, 2, MIME_SECTION_ALL, NULL},
	        {{0}, 0, MIME_SECTION_MIME, NULL},
	};
	check_sections("Subject: x\r\n\r\nhello\r\n", c1, 7);
	static const struct section_case c2[] = {
	        {{1},
	         1,
	         MIME_SECTION_ALL,
	         "Subject: middle\r\nContent-Type: "
	         "message/RFC822\r\n\r\nSubject: "
	         "inner\r\n\r\nbody\r\n"},
	        {{1},
	         1,
	         MIME_SECTION_HEADER,
	         "Subject: middle\r\nContent-Type:"
	         " message/RFC822\r\n\r\n"},
	        {{1, 1}, 2, MIME_SECTION_TEXT, "body\r\n"},
	        {{1, 1}, 2, MIME_SECTION_HEADER, "Subject: inner\r\n\r\n"},
	        {{1, 1, 1}, 3, MIME_SECTION_ALL, "body\r\n"},
	        {{1, 1, 1}, 3, MIME_SECTION_HEADER, NULL},
	        {{1, 2}, 2, MIME_SECTION_ALL, NULL},
	};
	check_sections(nested, c2, 7);
	static const struct section_case c3[] = {
	        {{1},
	         1,
	         MIME_SECTION_MIME,
	         "Content-Type: multipart/"
	         "alternative; boundary=in\r\n\r\n"},
	        {{1, 1}, 2, MIME_SECTION_ALL, "plain"},
	        {{1, 2}, 2, MIME_SECTION_ALL, "<b>html</b>\r\n"},
	        {{1, 2},
	         2,
	         MIME_SECTION_MIME,
	         "Content-Type: text/html\r\n"
	         "\r\n"},
	        {{1, 3}, 2, MIME_SECTION_ALL, NULL},
	        {{2}, 1, MIME_SECTION_ALL, "iVBO"},
	        {{2}, 1, MIME_SECTION_HEADER, NULL},
	        {{2, 1}, 2, MIME_SECTION_ALL, NULL},
	        {{3}, 1, MIME_SECTION_ALL, NULL},
	        {{0}, 1, MIME_SECTION_ALL, NULL},
	};
	check_sections(mixed, c3, 10);
}

static void test_section_parse(void **state)
{
	static const struct {
		const char *spec;
		int ret;
		size_t depth;
		unsigned int path[3];
		enum mime_section_kind kind;
		const char *text;
	} cases[] = {
	        {"", 1, 0, {0}, MIME_SECTION_ALL, ""},
	        {"HEADER", 1, 0, {0}, MIME_SECTION_HEADER, "HEADER"},
	        {"text", 1, 0, {0}, MIME_SECTION_TEXT, "text"},
	        {"1", 1, 1, {1}, MIME_SECTION_ALL, ""},
	        {"1.20.3", 1, 3, {1, 20, 3}, MIME_SECTION_ALL, ""},
	        {"4.2.MIME", 1, 2, {4, 2}, MIME_SECTION_MIME, "MIME"},
	        {"2.HEADER.FIELDS (A B)",
	         1,
	         1,
	         {2},
	         MIME_SECTION_HEADER,
	         "HEADER.FIELDS (A B)"},
	        {"HEADER.FIELDS.NOT (X)",
	         1,
	         0,
	         {0},
	         MIME_SECTION_HEADER,
	         "HEADER.FIELDS.NOT (X)"},
	        {"4294967295", 1, 1, {4294967295u}, MIME_SECTION_ALL, ""},
	        {"MIME", 0},
	        {"1.", 0},
	        {"1..2", 0},
	        {"0", 0},
	        {"01", 0},
	        {"1.0", 0},
	        {"1HEADER", 0},
	        {"4294967296", 0},
	        {"1.2.3.4", 0},
	        {"HEADERX", 0},
	        {"HEADER.FIELDS", 0},
	        {".1", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int path[3];
		size_t depth;
		enum mime_section_kind kind;
		const char *text;
		int ret = mime_section_parse(cases[i].spec, path, 3, &depth,
		                             &kind, &text);
		if (ret != cases[i].ret)
			print_error("case %s\n", cases[i].spec);
		assert_int_equal(ret, cases[i].ret);
		if (ret == 0)
			continue;
		assert_int_equal(depth, cases[i].depth);
		for (size_t k = 0; k < depth; k++)
			assert_int_equal(path[k], cases[i].path[k]);
		assert_int_equal(kind, cases[i].kind);
		assert_string_equal(text, cases[i].text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_single),
	        cmocka_unit_test(test_multipart),
	        cmocka_unit_test(test_delimiter_in_header),
	        cmocka_unit_test(test_no_boundary),
	        cmocka_unit_test(test_message),
	        cmocka_unit_test(test_params),
	        cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_serialize),
	        cmocka_unit_test(test_sections),
	        cmocka_unit_test(test_section_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
