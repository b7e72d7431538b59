/* Unit tests for LIST/LSUB patterns (mailbox-match.h): '*' and '%'
 * (RFC 3501 section 6.3.8), INBOX in any case, combining reference and
 * pattern, descendants for RFC 5258, and patterns that would make a
 * backtracking matcher run for ever. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proto/mailbox-match.h"

struct match_case {
	const char *pattern;
	const char *name;
	char delim;
	bool match;
};

static void check_cases(const struct match_case *cases, size_t count,
                        bool (*fn)(const char *, const char *, char))
{
	for (size_t i = 0; i < count; i++) {
		const struct match_case *c = &cases[i];
		if (fn(c->pattern, c->name, c->delim) != c->match)
			fail_msg("\"%s\" vs \"%s\" (delim '%c'): expected %d",
			         c->pattern, c->name, c->delim, c->match);
	}
}

static void test_wildcards(void **state)
{
	static const struct match_case cases[] = {
	        {"", "", '/', true},
	        {"", "a", '/', false},
	        {"abc", "abc", '/', true},
	        {"abc", "abd", '/', false},
	        {"abc", "ab", '/', false},
	        {"ab", "abc", '/', false},
	        {"a", "A", '/', false},
	        {"*", "", '/', true},
	        {"*", "a/b/c", '/', true},
	        {"%", "", '/', true},
	        {"%", "a", '/', true},
	        {"%", "a/b", '/', false},
	        {"%", "a/", '/', false},
	        {"a/%", "a/b", '/', true},
	        {"a/%", "a/", '/', true},
	        {"a/%", "a/b/c", '/', false},
	        {"a/%", "a", '/', false},
	        {"a/*", "a/b/c", '/', true},
	        {"a/*", "a", '/', false},
	        {"a*", "a", '/', true},
	        {"%/%", "a/b", '/', true},
	        {"%/%", "a", '/', false},
	        {"%/%", "a/b/c", '/', false},
	        {"a%c", "abc", '/', true},
	        {"a%c", "ac", '/', true},
	        {"a%c", "a/c", '/', false},
	        {"a*c", "a/c", '/', true},
	        {"**", "abc", '/', true},
	        {"%%", "a/b", '/', false},
	        {"*%", "a/b", '/', true},
	        {"%*", "a/b", '/', true},
	        {"a%%b", "ab", '/', true},
	        {"*a*b*c", "xaybzc", '/', true},
	        {"*a*b*c", "xaybzcd", '/', false},
	        {"*a*b*c*", "abcabc", '/', true},
	        {"%a%", "xay/z", '/', false},
	        {"*/x", "a/b/x", '/', true},
	        {"%/x", "a/b/x", '/', false},
	        {"caf\xc3\xa9", "caf\xc3\xa9", '/', true},
	        {"caf%", "caf\xc3\xa9", '/', true},
	        {"&U,BTFw-/%", "&U,BTFw-/&ZeVnLIqe-", '/', true},
	        /* other delimiters, and none */
	        {"%", "a.b", '.', false},
	        {"%", "a/b", '.', true},
	        {"a.%", "a.b", '.', true},
	        {"%", "a/b", '\0', true},
	        {"a%", "a.b/c", '\0', true},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), mailbox_match);
}

static void test_inbox(void **state)
{
	static const struct match_case cases[] = {
	        {"INBOX", "INBOX", '/', true},
	        {"inbox", "INBOX", '/', true},
	        {"INBOX", "inbox", '/', true},
	        {"iNbOx", "InBoX", '/', true},
	        {"Inbox/%", "INBOX/x", '/', true},
	        {"Inbox/%", "inbox/x", '/', true},
	        {"inbox/*", "INBOX/a/b", '/', true},
	        {"INBOX/X", "INBOX/x", '/', false},
	        {"inbox/x", "INBOX/X", '/', false},
	        {"INBOX", "INBOX/", '/', false},
	        {"inbox", "inboxes", '/', false},
	        {"INBOX", "inboxes", '/', false},
	        {"INBOX*", "inboxes", '/', false},
	        {"INBOX*", "INBOXes", '/', true},
	        {"inbox*", "INBOX", '/', true},
	        {"i*", "INBOX", '/', true},
	        {"i*", "Inbox/x", '/', true},
	        {"i*", "Iris", '/', false},
	        {"inb%", "INBOX", '/', true},
	        {"%", "inbox", '/', true},
	        {"*X", "inbox", '/', true},
	        {"*x", "inbox/X", '/', false},
	        {"x/inbox", "x/INBOX", '/', false},
	        {"inbox.%", "INBOX.x", '.', true},
	        {"inbox/%", "INBOX/x", '.', false},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]), mailbox_match);
}

static void test_children(void **state)
{
	static const struct match_case cases[] = {
	        {"%", "a", '/', false},
	        {"a/%", "a", '/', true},
	        {"a/%", "b", '/', false},
	        {"*", "a", '/', true},
	        {"*", "", '/', true},
	        {"a", "a", '/', false},
	        {"", "a", '/', false},
	        {"a/", "a", '/', false},
	        {"a/b", "a", '/', true},
	        {"a/b", "a/b", '/', false},
	        {"a/b/%", "a", '/', true},
	        {"a/b/%", "a/c", '/', false},
	        {"%/%", "a", '/', true},
	        {"%/%", "a/b", '/', false},
	        {"a*", "a", '/', true},
	        {"a%", "a", '/', false},
	        {"*/x", "a/b", '/', true},
	        {"*b", "a", '/', true},
	        {"INBOX/%", "inbox", '/', true},
	        {"inbox/%", "INBOX", '/', true},
	        {"a.%", "a", '.', true},
	        {"a/%", "a", '.', false},
	        {"*", "a", '\0', false},
	};
	check_cases(cases, sizeof(cases) / sizeof(cases[0]),
	            mailbox_match_children);
}

static void test_combine(void **state)
{
	static const struct {
		const char *ref, *pattern;
		char delim;
		const char *expect;
	} cases[] = {
	        {"", "%", '/', "%"},
	        {"", "/x", '/', "/x"},
	        {"", "", '/', ""},
	        {"a/", "%", '/', "a/%"},
	        {"a/", "/b", '/', "a/b"},
	        {"a/", "", '/', "a/"},
	        {"a", "/b", '/', "a/b"},
	        {"a", "b", '/', "ab"},
	        {"a//", "/b", '/', "a//b"},
	        {"/", "/", '/', "/"},
	        {"#news.", ".x", '.', "#news.x"},
	        {"a/", "/b", '.', "a//b"},
	        {"~smith/Mail/", "foo.*", '/', "~smith/Mail/foo.*"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = mailbox_pattern_combine(
		        cases[i].ref, cases[i].pattern, cases[i].delim);
		assert_string_equal(s, cases[i].expect);
		free(s);
	}
}

static void test_normalize(void **state)
{
	static const struct {
		const char *name;
		char delim;
		const char *expect;
	} cases[] = {
	        {"inbox", '/', "INBOX"},
	        {"INBOX", '/', "INBOX"},
	        {"InBox/x", '/', "INBOX/x"},
	        {"inbox/inbox", '/', "INBOX/inbox"},
	        {"inboxes", '/', "inboxes"},
	        {"inbo", '/', "inbo"},
	        {"x/inbox", '/', "x/inbox"},
	        {"inbox.x", '.', "INBOX.x"},
	        {"inbox.x", '/', "inbox.x"},
	        {"", '/', ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = mailbox_name_normalize(cases[i].name, cases[i].delim);
		assert_string_equal(s, cases[i].expect);
		free(s);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *repeat(const char *unit, size_t times, const char *tail)
{
	size_t n = strlen(unit), t = strlen(tail);
	char *s = malloc(n * times + t + 1);

	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * n, unit, n);
	memcpy(s + n * times, tail, t + 1);
	return s;
}

/* A backtracking matcher takes exponential time on these; ours a few
 * million steps. The bound is loose so that sanitizers fit in it. */
static void test_pathological(void **state)
{
	char *name = repeat("x", 20000, "");
	char *slashed = repeat("x/", 5000, "");
	char *long_pattern = repeat("*%", 150, "a");
	char *long_ok = repeat("*%", 150, "x");
	double start = now_s();

	assert_false(mailbox_match("*%*%*%*%a", name, '/'));
	assert_true(mailbox_match_children("*%*%*%*%a/a", name, '/'));
	assert_false(mailbox_match_children("%%%%%%%%%a", name, '/'));
	assert_false(mailbox_match("%*%*%*%*%*%*a", slashed, '/'));
	assert_false(mailbox_match(long_pattern, slashed, '/'));
	assert_false(mailbox_match(long_ok, slashed, '/'));
	assert_true(mailbox_match(long_ok, name, '/'));
	assert_true(mailbox_match_children(long_ok, name, '/'));
	assert_true(now_s() - start < 10.0);
	free(name);
	free(slashed);
	free(long_pattern);
	free(long_ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_wildcards),
	        cmocka_unit_test(test_inbox),
	        cmocka_unit_test(test_children),
	        cmocka_unit_test(test_combine),
	        cmocka_unit_test(test_normalize),
	        cmocka_unit_test(test_pathological),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
