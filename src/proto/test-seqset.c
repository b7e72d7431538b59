/* Unit tests for IMAP sequence sets (seqset.h): the sequence-set grammar
 * of RFC 9051 section 9, its limits, and membership with '*'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/seqset.h"

#define STAR SEQSET_STAR

struct range_case {
	const char *input;
	size_t count;
	struct seqset_range ranges[4];
};

static void test_parse_valid(void **state)
{
	static const struct range_case cases[] = {
	        {"1", 1, {{1, 1}}},
	        {"*", 1, {{STAR, STAR}}},
	        {"1:*", 1, {{1, STAR}}},
	        {"*:1", 1, {{1, STAR}}},
	        {"5:3", 1, {{3, 5}}},
	        {"1,3:4,*", 3, {{1, 1}, {3, 4}, {STAR, STAR}}},
	        {"4294967294:4294967295", 1, {{4294967294u, STAR}}},
	        {"10:2,7,7", 3, {{2, 10}, {7, 7}, {7, 7}}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seqset set;
		const char *error = NULL;
		assert_int_equal(seqset_parse(cases[i].input, 4, &set, &error),
		                 0);
		assert_null(error);
		assert_int_equal(set.count, cases[i].count);
		for (size_t k = 0; k < set.count; k++) {
			assert_int_equal(set.ranges[k].lo,
			                 cases[i].ranges[k].lo);
			assert_int_equal(set.ranges[k].hi,
			                 cases[i].ranges[k].hi);
		}
		seqset_free(&set);
		assert_null(set.ranges);
		assert_int_equal(set.count, 0);
	}
}

static void test_parse_invalid(void **state)
{
	static const struct {
		const char *input;
		const char *error;
	} cases[] = {
	        {"", "Invalid sequence set"},
	        {",", "Invalid sequence set"},
	        {"1,", "Invalid sequence set"},
	        {",1", "Invalid sequence set"},
	        {"1,,2", "Invalid sequence set"},
	        {"1:", "Invalid sequence set"},
	        {":1", "Invalid sequence set"},
	        {"1:2:3", "Invalid sequence set"},
	        {"1 ", "Invalid sequence set"},
	        {"-1", "Invalid sequence set"},
	        {"+1", "Invalid sequence set"},
	        {"01", "Invalid sequence set"},
	        {"**", "Invalid sequence set"},
	        {"1*", "Invalid sequence set"},
	        {"a", "Invalid sequence set"},
	        {"0", "Sequence number 0 is not allowed"},
	        {"1:0", "Sequence number 0 is not allowed"},
	        {"4294967296", "Sequence number too large"},
	        {"1:99999999999999999999999", "Sequence number too large"},
	        {"1,2,3,4,5", "Too many ranges in sequence set"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seqset set = {(struct seqset_range *)&set, 99};
		const char *error = NULL;
		assert_int_equal(seqset_parse(cases[i].input, 4, &set, &error),
		                 -1);
		assert_non_null(error);
		assert_string_equal(error, cases[i].error);
		assert_null(set.ranges);
		assert_int_equal(set.count, 0);
	}
}

static void test_max_ranges(void **state)
{
	struct seqset set;
	const char *error;

	assert_int_equal(seqset_parse("1,2,3,4", 4, &set, &error), 0);
	assert_int_equal(set.count, 4);
	seqset_free(&set);
	assert_int_equal(seqset_parse("1", 0, &set, &error), -1);
}

static void test_contains(void **state)
{
	struct seqset set;
	const char *error;

	assert_int_equal(seqset_parse("2,5:7,10:*", 8, &set, &error), 0);
	assert_false(seqset_contains(&set, 1, 20));
	assert_true(seqset_contains(&set, 2, 20));
	assert_false(seqset_contains(&set, 3, 20));
	assert_true(seqset_contains(&set, 5, 20));
	assert_true(seqset_contains(&set, 7, 20));
	assert_false(seqset_contains(&set, 8, 20));
	assert_true(seqset_contains(&set, 10, 20));
	assert_true(seqset_contains(&set, 20, 20));
	assert_false(seqset_contains(&set, 21, 20));
	/* 10:* with '*' = 4 is 4:10 */
	assert_true(seqset_contains(&set, 4, 4));
	assert_false(seqset_contains(&set, 3, 4));
	seqset_free(&set);

	assert_int_equal(seqset_parse("*", 8, &set, &error), 0);
	assert_true(seqset_contains(&set, 9, 9));
	assert_false(seqset_contains(&set, 8, 9));
	seqset_free(&set);

	assert_int_equal(seqset_parse("1:4294967295", 8, &set, &error), 0);
	assert_true(seqset_contains(&set, 1, 100));
	assert_true(seqset_contains(&set, 100, 100));
	seqset_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_valid),
	        cmocka_unit_test(test_parse_invalid),
	        cmocka_unit_test(test_max_ranges),
	        cmocka_unit_test(test_contains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
