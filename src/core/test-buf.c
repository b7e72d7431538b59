/* Unit tests for core/buf and core/arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"

static void test_buf_append_and_cap(void **state)
{
	struct buf b;
	buf_init(&b, 10);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_append_str(&b, "hello"), 0);
	assert_int_equal(buf_append_str(&b, "world"), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(buf_cstr(&b), "helloworld");
	/* one byte over the cap fails and leaves the buffer unchanged */
	assert_int_equal(buf_append_byte(&b, '!'), -1);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_room(&b), 0);
	buf_consume(&b, 5);
	assert_string_equal(buf_cstr(&b), "world");
	assert_int_equal(buf_printf(&b, "%d", 12345), 0);
	assert_string_equal(buf_cstr(&b), "world12345");
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	buf_truncate(&b, 3);
	assert_string_equal(buf_cstr(&b), "wor");
	buf_free(&b);
	assert_null(b.data);
}

static void test_buf_binary_and_reserve(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	const unsigned char bin[] = {0, 1, 2, 0, 255};
	assert_int_equal(buf_append(&b, bin, sizeof(bin)), 0);
	assert_memory_equal(b.data, bin, sizeof(bin));
	unsigned char *p = buf_reserve(&b, 100000);
	assert_non_null(p);
	memset(p, 'x', 100000);
	buf_commit(&b, 100000);
	assert_int_equal(b.len, 100005);
	assert_int_equal(b.data[b.len], '\0');
	assert_null(buf_reserve(&b, 1 << 20));
	buf_consume(&b, b.len);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* A buffer capped at SIZE_MAX (no real cap) grows like any other: the
 * room for the terminator used to wrap to zero bytes. */
static void test_buf_uncapped(void **state)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_append_str(&b, "0123456789"), 0);
	assert_int_equal(b.len, 1000);
	assert_true(b.size > b.len);
	assert_int_equal(buf_cstr(&b)[999], '9');
	assert_int_equal(buf_append(&b, "x", SIZE_MAX - 10), -1);
	buf_free(&b);
}

static void test_arena(void **state)
{
	struct arena *a = arena_create(256);
	char *s = arena_strdup(a, "abc");
	assert_string_equal(s, "abc");
	void *big = arena_alloc(a, 10000);
	memset(big, 1, 10000);
	for (int i = 0; i < 1000; i++) {
		uint64_t *v = arena_alloc(a, sizeof(*v));
		assert_int_equal((uintptr_t)v % _Alignof(uint64_t), 0);
		*v = (uint64_t)i;
	}
	assert_true(arena_allocated_bytes(a) >= 10000);
	arena_clear(a);
	assert_true(arena_allocated_bytes(a) <= 256);
	assert_string_equal(arena_strndup(a, "xyz", 2), "xy");
	arena_destroy(&a);
	assert_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buf_append_and_cap),
	        cmocka_unit_test(test_buf_binary_and_reserve),
	        cmocka_unit_test(test_buf_uncapped),
	        cmocka_unit_test(test_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
