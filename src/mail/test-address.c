/* Unit tests for RFC 5322 address lists (address.h): real-world and
 * obsolete forms, malformed input, and the exact IMAP ENVELOPE bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "mail/address.h"

static void expect_imap_n(const char *in, size_t len, const char *want,
                          size_t want_len)
{
	struct address_list *list = address_list_parse(in, len);
	struct buf out;

	buf_init(&out, 65536);
	assert_int_equal(address_list_write_imap(&out, list), 0);
	if (out.len != want_len || memcmp(out.data, want, want_len) != 0)
		fail_msg("got \"%s\" want \"%s\"", buf_cstr(&out), want);
	/* the output never exceeds its cap: a cap one byte short fails
	 * and leaves the buffer as it was */
	struct buf small;
	buf_init(&small, out.len - 1);
	assert_int_equal(address_list_write_imap(&small, list), -1);
	assert_int_equal(small.len, 0);
	buf_free(&small);
	buf_free(&out);
	address_list_free(&list);
	assert_null(list);
}

#define EXPECT(in, want) expect_imap_n(in, strlen(in), want, strlen(want))

static void test_simple(void **state)
{
	EXPECT("", "NIL");
	EXPECT("   ", "NIL");
	EXPECT(" , ,, ", "NIL");
	EXPECT("joe@example.com", "((NIL NIL \"joe\" \"example.com\"))");
	EXPECT("Joe Bloggs <joe@example.com>",
	       "((\"Joe Bloggs\" NIL \"joe\" \"example.com\"))");
	EXPECT("<joe@example.com>", "((NIL NIL \"joe\" \"example.com\"))");
	EXPECT("a@b, c@d,e@f", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")"
	                       "(NIL NIL \"e\" \"f\"))");
	EXPECT("\"Bloggs, Joe\" <joe@x.org>, Ann <ann@y.org>",
	       "((\"Bloggs, Joe\" NIL \"joe\" \"x.org\")"
	       "(\"Ann\" NIL \"ann\" \"y.org\"))");
}

static void test_names(void **state)
{
	/* obs-phrase with a dot, as Dovecot answers too */
	EXPECT("Joe Q. Public <john.q.public@example.com>",
	       "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))");
	EXPECT("\"Joe \\\"Q\\\" Public\" <j@x>",
	       "((\"Joe \\\"Q\\\" Public\" NIL \"j\" \"x\"))");
	EXPECT("Joe   \t Bloggs<j@x>", "((\"Joe Bloggs\" NIL \"j\" \"x\"))");
	EXPECT("\"Joe\"Bloggs <j@x>", "((\"JoeBloggs\" NIL \"j\" \"x\"))");
	EXPECT("Joe (the man) Bloggs <j@x>",
	       "((\"Joe Bloggs\" NIL \"j\" \"x\"))");
	EXPECT("\"\" <j@x>", "((NIL NIL \"j\" \"x\"))");
	EXPECT("=?utf-8?q?J=C3=B6rg?= <j@x>",
	       "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\"))");
	/* 8-bit and folded names */
	EXPECT("J\xc3\xb6rg <j@x>", "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\"))");
	EXPECT("\"Joe\r\n Bloggs\" <j@x>",
	       "((\"Joe Bloggs\" NIL \"j\" \"x\"))");
	EXPECT("Joe\r\n\tBloggs\r\n <j@x>",
	       "((\"Joe Bloggs\" NIL \"j\" \"x\"))");
	/* old style: the comment after an addr-spec is the name */
	EXPECT("joe@x (Joe Bloggs)", "((\"Joe Bloggs\" NIL \"joe\" \"x\"))");
	EXPECT("joe(c1)@(c2)x(c3)", "((\"c3\" NIL \"joe\" \"x\"))");
	EXPECT("joe(c1)@x", "((NIL NIL \"joe\" \"x\"))");
	EXPECT("Joe <j@x> (note)", "((\"Joe\" NIL \"j\" \"x\"))");
	EXPECT("joe@x ((nested) \\) c)",
	       "((\"(nested) ) c\" NIL \"joe\" \"x\"))");
}

static void test_local_domain(void **state)
{
	EXPECT("\"john doe\"@x", "((NIL NIL \"john doe\" \"x\"))");
	EXPECT("john . doe @ example . com",
	       "((NIL NIL \"john.doe\" \"example.com\"))");
	EXPECT("j@[192.0.2.1]", "((NIL NIL \"j\" \"[192.0.2.1]\"))");
	EXPECT("j@[ 192.0.2.1 ]", "((NIL NIL \"j\" \"[ 192.0.2.1 ]\"))");
	EXPECT("\"a\\\\b\"@x", "((NIL NIL \"a\\\\b\" \"x\"))");
}

static void test_missing(void **state)
{
	/* no "@": Dovecot 2.3 answers the same */
	EXPECT("foo", "((NIL NIL \"foo\" \"MISSING_DOMAIN\"))");
	EXPECT("foo@", "((NIL NIL \"foo\" \"MISSING_DOMAIN\"))");
	EXPECT("@x", "((NIL NIL \"MISSING_MAILBOX\" \"x\"))");
	EXPECT("<>", "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))");
	EXPECT("Joe <>", "((\"Joe\" NIL \"MISSING_MAILBOX\" "
	                 "\"MISSING_DOMAIN\"))");
	EXPECT("<@x>", "((NIL NIL \"MISSING_MAILBOX\" \"x\"))");
	EXPECT("Joe <joe>", "((\"Joe\" NIL \"joe\" \"MISSING_DOMAIN\"))");
	EXPECT("Undisclosed recipients",
	       "((NIL NIL \"Undisclosed recipients\" \"MISSING_DOMAIN\"))");
}

static void test_route(void **state)
{
	EXPECT("<@a,@b:c@d>", "((NIL \"@a,@b\" \"c\" \"d\"))");
	EXPECT("Joe <@a.org, ,@b.org : c@d>",
	       "((\"Joe\" \"@a.org,@b.org\" \"c\" \"d\"))");
	EXPECT("<@a:c@d>, e@f",
	       "((NIL \"@a\" \"c\" \"d\")(NIL NIL \"e\" \"f\"))");
}

static void test_groups(void **state)
{
	EXPECT("undisclosed-recipients:;",
	       "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))");
	EXPECT("team: a@b, Ann <c@d>;, e@f",
	       "((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b\")"
	       "(\"Ann\" NIL \"c\" \"d\")(NIL NIL NIL NIL)"
	       "(NIL NIL \"e\" \"f\"))");
	/* unterminated group, and an empty name */
	EXPECT("team: a@b", "((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"b\")"
	                    "(NIL NIL NIL NIL))");
	EXPECT(":;", "((NIL NIL \"\" NIL)(NIL NIL NIL NIL))");
	EXPECT("\"My Team\" : ;",
	       "((NIL NIL \"My Team\" NIL)(NIL NIL NIL NIL))");
	/* stray ";" outside a group, ":" inside one */
	EXPECT("a@b; c@d", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\"))");
	EXPECT("g: x: a@b;", "((NIL NIL \"g\" NIL)"
	                     "(NIL NIL \"x\" \"MISSING_DOMAIN\")"
	                     "(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))");
}

static void test_obsolete_and_broken(void **state)
{
	/* missing commas */
	EXPECT("a@b c@d", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\"))");
	EXPECT("Joe <a@b> Ann <c@d>",
	       "((\"Joe\" NIL \"a\" \"b\")(\"Ann\" NIL \"c\" \"d\"))");
	/* unbalanced */
	EXPECT("Joe <a@b", "((\"Joe\" NIL \"a\" \"b\"))");
	EXPECT("Joe <a@b, Ann <c@d>",
	       "((\"Joe\" NIL \"a\" \"b\")(\"Ann\" NIL \"c\" \"d\"))");
	EXPECT("\"Joe <a@b>", "((NIL NIL \"Joe <a@b>\" \"MISSING_DOMAIN\"))");
	EXPECT("a@b (unclosed", "((\"unclosed\" NIL \"a\" \"b\"))");
	EXPECT("a@[1.2", "((NIL NIL \"a\" \"[1.2\"))");
	EXPECT("> a@b", "((NIL NIL \"a\" \"b\"))");
	EXPECT("a@b >", "((NIL NIL \"a\" \"b\"))");
	EXPECT("<a@b> junk", "((NIL NIL \"a\" \"b\")"
	                     "(NIL NIL \"junk\" \"MISSING_DOMAIN\"))");
	EXPECT("<a@b c>", "((NIL NIL \"a\" \"b\"))");
	EXPECT("a@b@c", "((NIL NIL \"a\" \"b\")"
	                "(NIL NIL \"MISSING_MAILBOX\" \"c\"))");
	EXPECT(")x@y", "((NIL NIL \")x\" \"y\"))");
	expect_imap_n("a\0b@c", 5, "((NIL NIL {3}\r\na\0b \"c\"))", 24);
}

static void test_entries(void **state)
{
	struct address_list *list =
	        address_list_parse("g: \"A B\" <@r:a@b>;", 18);

	assert_int_equal(address_list_count(list), 3);
	const struct address *a = address_list_get(list, 0);
	assert_int_equal(a->kind, ADDRESS_GROUP_START);
	assert_string_equal(a->name.data, "g");
	a = address_list_get(list, 1);
	assert_int_equal(a->kind, ADDRESS_MAILBOX);
	assert_string_equal(a->name.data, "A B");
	assert_int_equal(a->name.len, 3);
	assert_string_equal(a->route.data, "@r");
	assert_string_equal(a->mailbox.data, "a");
	assert_string_equal(a->domain.data, "b");
	a = address_list_get(list, 2);
	assert_int_equal(a->kind, ADDRESS_GROUP_END);
	assert_null(a->name.data);
	address_list_free(&list);
	address_list_free(&list);
	assert_int_equal(address_list_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_simple),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_local_domain),
	        cmocka_unit_test(test_missing),
	        cmocka_unit_test(test_route),
	        cmocka_unit_test(test_groups),
	        cmocka_unit_test(test_obsolete_and_broken),
	        cmocka_unit_test(test_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
