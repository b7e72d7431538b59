/* Unit tests for RFC 5256 threading (thread.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "mail/thread.h"

/* A message for the tables below: number = position + 1. */
struct spec {
	int64_t date;
	const char *subject, *id, *irt, *refs;
	bool reply;
};

static void expect_threads(enum thread_algorithm alg, const struct spec *s,
                           size_t n, const char *want)
{
	struct thread_msg *m = xcalloc(n + 1, sizeof(*m));
	struct buf out;
	for (size_t i = 0; i < n; i++) {
		m[i] = (struct thread_msg){
		        .number = (uint32_t)i + 1,
		        .date = s[i].date,
		        .subject = s[i].subject ? s[i].subject : "",
		        .reply = s[i].reply,
		        .message_id = s[i].id ? s[i].id : "",
		        .in_reply_to = s[i].irt ? s[i].irt : "",
		        .references = s[i].refs ? s[i].refs : ""};
	}
	buf_init(&out, 1 << 24);
	assert_int_equal(thread_write(alg, m, n, &out), 0);
	if (strcmp(buf_cstr(&out), want) != 0)
		fail_msg("got \"%s\", want \"%s\"", buf_cstr(&out), want);
	buf_free(&out);
	free(m);
}

#define REFS(specs, want)                                                      \
	expect_threads(THREAD_REFERENCES, specs,                               \
	               sizeof(specs) / sizeof(specs[0]), want)
#define ORDERED(specs, want)                                                   \
	expect_threads(THREAD_ORDEREDSUBJECT, specs,                           \
	               sizeof(specs) / sizeof(specs[0]), want)

static void expect_ids(const char *value, const char *want)
{
	struct buf id, all;
	const char *p = value;
	buf_init(&id, 256);
	buf_init(&all, 4096);
	while (thread_msgid_next(&p, &id))
		buf_printf(&all, "[%s]", buf_cstr(&id));
	assert_int_equal(*p, '\0');
	if (strcmp(buf_cstr(&all), want) != 0)
		fail_msg("\"%s\": got %s, want %s", value, buf_cstr(&all),
		         want);
	buf_free(&id);
	buf_free(&all);
}

static void test_msgid(void **state)
{
	expect_ids("", "");
	expect_ids("<a@b>", "[a@b]");
	expect_ids("  <a@b>  (comment)", "[a@b]");
	expect_ids("<a@b> <c@d>\t<e@f>", "[a@b][c@d][e@f]");
	expect_ids("<a@b><c@d>", "[a@b][c@d]");
	expect_ids("<a.b @ c.d>", "[a.b@c.d]");
	expect_ids("<Case@Sensitive>", "[Case@Sensitive]");
	/* no "@", no ">", nothing inside: not an ID */
	expect_ids("<nodomain>", "");
	expect_ids("<a@b", "");
	expect_ids("<>", "");
	expect_ids("a@b", "");
	expect_ids("<junk <a@b>", "[a@b]");
	expect_ids("<x> <a@b> <y", "[a@b]");
	expect_ids("foo@bar (Joe) <a@b>", "[a@b]");
}

static void test_msgid_cap(void **state)
{
	struct buf id;
	const char *p = "<abc@def> <a@b>";
	buf_init(&id, 4);
	/* the first is too long for the buffer, the second fits */
	assert_false(thread_msgid_next(&p, &id));
	assert_true(thread_msgid_next(&p, &id));
	assert_string_equal(buf_cstr(&id), "a@b");
	buf_free(&id);
}

static void test_empty(void **state)
{
	struct buf out;
	buf_init(&out, 16);
	assert_int_equal(thread_write(THREAD_REFERENCES, NULL, 0, &out), 0);
	assert_int_equal(thread_write(THREAD_ORDEREDSUBJECT, NULL, 0, &out), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void test_orderedsubject(void **state)
{
	/* subjects b a c a b, dates falling */
	const struct spec s[] = {
	        {14, "b"}, {13, "a"}, {12, "c"}, {11, "a"}, {10, "b"},
	};
	ORDERED(s, "(5 1)(4 2)(3)");
	/* three in a thread: the first, then the others as its children */
	const struct spec t[] = {{1, "x"}, {3, "x"}, {2, "x"}, {0, "y"}};
	ORDERED(t, "(4)(1 (3)(2))");
	/* equal dates: sequence order; empty subjects are one thread */
	const struct spec u[] = {{5, ""}, {5, "q"}, {5, ""}, {4, "q"}};
	ORDERED(u, "(4 2)(1 3)");
}

static void test_chain_and_fork(void **state)
{
	const struct spec s[] = {
	        {1, "a", "<a@x>"},
	        {2, "a", "<b@x>", "<a@x>", NULL, true},
	        {3, "a", "<c@x>", NULL, "<a@x> <b@x>", true},
	        {4, "a", "<d@x>", NULL, "<a@x>", true},
	};
	REFS(s, "(1 (2 3)(4))");
	/* In-Reply-To when References has no ID; only its first ID */
	const struct spec t[] = {
	        {1, "a", "<a@x>"},
	        {2, "b", "<b@x>"},
	        {3, "c", "<c@x>", "<b@x> <a@x>", "junk"},
	};
	REFS(t, "(1)(2 3)");
}

static void test_dummies(void **state)
{
	/* two replies to a missing message: a dummy at the top */
	const struct spec s[] = {
	        {1, "a", "<a@x>", NULL, "<gone@x>"},
	        {2, "b", "<b@x>", NULL, "<gone@x>"},
	        {0, "c", "<c@x>"},
	};
	REFS(s, "(3)((1)(2))");
	/* one reply to a missing message: promoted to the top */
	const struct spec t[] = {{1, "a", "<a@x>", NULL, "<gone@x>"}};
	REFS(t, "(1)");
	/* a missing message in the middle of a chain: spliced out */
	const struct spec u[] = {
	        {1, "a", "<a@x>"},
	        {2, "b", "<b@x>", NULL, "<a@x> <gone@x>"},
	        {3, "c", "<c@x>", NULL, "<a@x> <gone@x> <gone2@x>"},
	};
	REFS(u, "(1 (2)(3))");
	/* a dummy below a top-level dummy: its children join the top one */
	const struct spec v[] = {
	        {1, "a", "<a@x>", NULL, "<g1@x>"},
	        {2, "b", "<b@x>", NULL, "<g1@x> <g2@x>"},
	        {3, "c", "<c@x>", NULL, "<g1@x> <g2@x>"},
	};
	REFS(v, "((1)(2)(3))");
	/* the dummy's first child decides where it sorts */
	const struct spec w[] = {
	        {5, "a", "<a@x>", NULL, "<g@x>"},
	        {1, "b", "<b@x>", NULL, "<g@x>"},
	        {3, "c", "<c@x>"},
	};
	REFS(w, "((2)(1))(3)");
}

static void test_loops(void **state)
{
	/* each says it replies to the other: the second link would loop */
	const struct spec s[] = {
	        {1, "a", "<a@x>", NULL, "<b@x>"},
	        {2, "b", "<b@x>", NULL, "<a@x>"},
	};
	REFS(s, "(2 1)");
	/* a message referring to itself, and a loop inside References */
	const struct spec t[] = {
	        {1, "a", "<a@x>", NULL, "<a@x>"},
	        {2, "b", "<b@x>", NULL, "<p@x> <q@x> <p@x> <a@x>"},
	};
	REFS(t, "(1 2)");
	/* a parent link once made is not replaced by a later References */
	const struct spec u[] = {
	        {1, "a", "<a@x>"},
	        {2, "b", "<b@x>"},
	        {3, "c", "<c@x>"},
	        {4, "d", "<d@x>", NULL, "<a@x> <c@x>"},
	        {5, "e", "<e@x>", NULL, "<b@x> <c@x>"},
	};
	REFS(u, "(1 3 (4)(5))(2)");
	/* but the last reference always is the parent (1.B) */
	const struct spec v[] = {
	        {1, "a", "<a@x>"},
	        {2, "b", "<b@x>", NULL, "<a@x>"},
	        {3, "c", "<c@x>", NULL, "<b@x>"},
	        {4, "d", "<d@x>", NULL, "<c@x> <a@x>"},
	};
	REFS(v, "(1 (2 3)(4))");
}

static void test_duplicate_ids(void **state)
{
	/* the second <d@x> is not an ID any more; replies go to the first */
	const struct spec s[] = {
	        {1, "a", "<d@x>"},
	        {2, "b", "<d@x>"},
	        {3, "c", "<r@x>", NULL, "<d@x>"},
	        {4, "d", "", NULL, "<r@x>"},
	        {5, "e", "not an id", NULL, "<r@x>"},
	};
	REFS(s, "(1 3 (4)(5))(2)");
}

static void test_subjects(void **state)
{
	/* neither a reply: a new dummy holds both */
	const struct spec s[] = {{1, "x", "<a@x>"}, {2, "x", "<b@x>"}};
	REFS(s, "((1)(2))");
	/* a reply joins the non-reply with its subject, even if older */
	const struct spec t[] = {
	        {1, "x", "<a@x>", NULL, NULL, true},
	        {2, "x", "<b@x>"},
	        {3, "y", "<c@x>"},
	};
	REFS(t, "(2 1)(3)");
	/* two replies, and neither a non-reply: a dummy holds both */
	const struct spec u[] = {
	        {2, "x", "<a@x>", NULL, NULL, true},
	        {1, "x", "<b@x>", NULL, NULL, true},
	};
	REFS(u, "((2)(1))");
	/* a dummy thread takes the message threads of its subject */
	const struct spec v[] = {
	        {1, "x", "<a@x>", NULL, "<g@x>"},
	        {2, "x", "<b@x>", NULL, "<g@x>"},
	        {3, "x", "<c@x>"},
	        {4, "x", "<d@x>", NULL, NULL, true},
	};
	REFS(v, "((1)(2)(3)(4))");
	/* two dummy threads with one subject become one */
	const struct spec w[] = {
	        {1, "x", "<a@x>", NULL, "<g@x>"},
	        {2, "x", "<b@x>", NULL, "<g@x>"},
	        {3, "x", "<c@x>", NULL, "<h@x>"},
	        {4, "x", "<d@x>", NULL, "<h@x>"},
	};
	REFS(w, "((1)(2)(3)(4))");
	/* empty subjects are never gathered */
	const struct spec z[] = {{1, "", "<a@x>"}, {2, "", "<b@x>"}};
	REFS(z, "(1)(2)");
}

static void test_sibling_order(void **state)
{
	/* children by date, equal dates by sequence number */
	const struct spec s[] = {
	        {1, "a", "<a@x>"},
	        {9, "a", "<b@x>", NULL, "<a@x>", true},
	        {5, "a", "<c@x>", NULL, "<a@x>", true},
	        {5, "a", "<d@x>", NULL, "<a@x>", true},
	        {0, "z", "<e@x>"},
	};
	REFS(s, "(5)(1 (3)(4)(2))");
}

/* A chain and a comb far deeper than any call stack could take. */
static void test_deep(void **state)
{
	enum { N = 200000 };
	struct thread_msg *m = xcalloc(N, sizeof(*m));
	char *ids = xmalloc((size_t)N * 32);
	struct buf out, want;
	for (size_t i = 0; i < N; i++) {
		snprintf(ids + i * 32, 32, "<%zu@x>", i);
		m[i] = (struct thread_msg){
		        .number = (uint32_t)i + 1,
		        .date = (int64_t)i,
		        .subject = "s",
		        .message_id = ids + i * 32,
		        .in_reply_to = i > 0 ? ids + (i - 1) * 32 : "",
		        .references = ""};
	}
	buf_init(&out, (size_t)1 << 26);
	buf_init(&want, (size_t)1 << 26);
	assert_int_equal(thread_write(THREAD_REFERENCES, m, N, &out), 0);
	buf_append_str(&want, "(1");
	for (size_t i = 1; i < N; i++)
		buf_printf(&want, " %zu", i + 1);
	buf_append_str(&want, ")");
	assert_string_equal(buf_cstr(&out), buf_cstr(&want));
	/* a comb: every other message forks, each fork nested in the last */
	for (size_t i = 1; i < N; i++)
		m[i].in_reply_to = ids + (i - 1) / 2 * 2 * 32;
	buf_reset(&out);
	assert_int_equal(thread_write(THREAD_REFERENCES, m, N, &out), 0);
	assert_true(strncmp(buf_cstr(&out), "(1 (2)(3 (4)(5 (6)(7 ", 21) == 0);
	size_t open = 0, close = 0;
	for (size_t i = 0; i < out.len; i++) {
		open += out.data[i] == '(';
		close += out.data[i] == ')';
	}
	assert_int_equal(open, close);
	assert_int_equal(open, N - 1); /* the last message is no fork's */
	buf_free(&out);
	buf_free(&want);
	free(ids);
	free(m);
}

static void test_cap(void **state)
{
	const struct thread_msg m[2] = {
	        {1, 0, "a", false, "", "", ""},
	        {2, 0, "b", false, "", "", ""},
	};
	struct buf out;
	buf_init(&out, 4);
	assert_int_equal(thread_write(THREAD_REFERENCES, m, 2, &out), -1);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_msgid),
	        cmocka_unit_test(test_msgid_cap),
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_orderedsubject),
	        cmocka_unit_test(test_chain_and_fork),
	        cmocka_unit_test(test_dummies),
	        cmocka_unit_test(test_loops),
	        cmocka_unit_test(test_duplicate_ids),
	        cmocka_unit_test(test_subjects),
	        cmocka_unit_test(test_sibling_order),
	        cmocka_unit_test(test_deep),
	        cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
