/* Unit tests for penalty.c: doubling delays with a cap, clearing on
 * success and after an hour, eviction of the oldest entry when full, and
 * use from many threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "auth/penalty.h"

#define HOUR_MS (60u * 60 * 1000)

static void test_doubling(void **state)
{
	struct penalty *p = penalty_create(100, 1500, 16);
	assert_int_equal(penalty_delay_ms(p, "192.0.2.1", 0), 0);
	const unsigned int want[] = {100, 200, 400, 800, 1500, 1500};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		penalty_fail(p, "192.0.2.1", 1000 + i);
		assert_int_equal(penalty_delay_ms(p, "192.0.2.1", 1000 + i),
		                 want[i]);
	}
	/* many more failures: still capped, no overflow */
	for (int i = 0; i < 200; i++)
		penalty_fail(p, "192.0.2.1", 2000);
	assert_int_equal(penalty_delay_ms(p, "192.0.2.1", 2000), 1500);
	/* other addresses are independent */
	assert_int_equal(penalty_delay_ms(p, "192.0.2.2", 2000), 0);
	assert_int_equal(penalty_delay_ms(p, "2001:db8::1", 2000), 0);
	penalty_free(&p);
	assert_null(p);
	penalty_free(&p);
}

static void test_success_clears(void **state)
{
	struct penalty *p = penalty_create(50, 1000, 16);
	penalty_fail(p, "a", 10);
	penalty_fail(p, "a", 11);
	penalty_fail(p, "b", 12);
	assert_int_equal(penalty_delay_ms(p, "a", 12), 100);
	penalty_success(p, "a");
	assert_int_equal(penalty_delay_ms(p, "a", 13), 0);
	assert_int_equal(penalty_delay_ms(p, "b", 13), 50);
	penalty_success(p, "never-failed");
	/* a new failure starts again at base */
	penalty_fail(p, "a", 14);
	assert_int_equal(penalty_delay_ms(p, "a", 14), 50);
	penalty_free(&p);
}

static void test_expiry(void **state)
{
	struct penalty *p = penalty_create(50, 1000, 16);
	penalty_fail(p, "a", 1000);
	penalty_fail(p, "a", 2000);
	assert_int_equal(penalty_delay_ms(p, "a", 2000 + HOUR_MS - 1), 100);
	assert_int_equal(penalty_delay_ms(p, "a", 2000 + HOUR_MS), 0);

	/* a failure after an hour's quiet starts at base again */
	penalty_fail(p, "b", 0);
	penalty_fail(p, "b", 1);
	penalty_fail(p, "b", 1 + HOUR_MS);
	assert_int_equal(penalty_delay_ms(p, "b", 2 + HOUR_MS), 50);
	penalty_free(&p);
}

static void test_eviction(void **state)
{
	struct penalty *p = penalty_create(10, 1000, 3);
	penalty_fail(p, "a", 1);
	penalty_fail(p, "b", 2);
	penalty_fail(p, "c", 3);
	penalty_fail(p, "a", 4); /* a is now the newest */
	penalty_fail(p, "d", 5); /* evicts b, the oldest */
	assert_int_equal(penalty_delay_ms(p, "a", 6), 20);
	assert_int_equal(penalty_delay_ms(p, "b", 6), 0);
	assert_int_equal(penalty_delay_ms(p, "c", 6), 10);
	assert_int_equal(penalty_delay_ms(p, "d", 6), 10);
	penalty_fail(p, "e", 7); /* evicts c */
	assert_int_equal(penalty_delay_ms(p, "c", 8), 0);
	assert_int_equal(penalty_delay_ms(p, "e", 8), 10);
	penalty_free(&p);

	/* capacity 1 and 0 (taken as 1) still work */
	p = penalty_create(10, 10, 0);
	penalty_fail(p, "x", 1);
	penalty_fail(p, "y", 2);
	assert_int_equal(penalty_delay_ms(p, "x", 3), 0);
	assert_int_equal(penalty_delay_ms(p, "y", 3), 10);
	penalty_free(&p);
}

static void test_long_address(void **state)
{
	struct penalty *p = penalty_create(10, 100, 4);
	char addr[200];
	memset(addr, 'x', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	penalty_fail(p, addr, 1);
	assert_int_equal(penalty_delay_ms(p, addr, 1), 10);
	penalty_success(p, addr);
	assert_int_equal(penalty_delay_ms(p, addr, 1), 0);
	penalty_free(&p);
}

struct thread_arg {
	struct penalty *p;
	int id;
};

static void *hammer(void *arg)
{
	struct thread_arg *t = arg;
	char addr[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", t->id, i % 300);
		penalty_fail(t->p, addr, (uint64_t)i);
		(void)penalty_delay_ms(t->p, addr, (uint64_t)i);
		if (i % 7 == 0)
			penalty_success(t->p, addr);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct penalty *p = penalty_create(10, 1000, 128);
	pthread_t th[8];
	struct thread_arg args[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (struct thread_arg){p, i};
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]),
		                 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	/* the table is intact: a full set of new addresses fits, and each
	 * one evicts exactly one older entry */
	char addr[32];
	for (int i = 0; i < 128; i++) {
		snprintf(addr, sizeof(addr), "new-%d", i);
		penalty_fail(p, addr, 30000);
		penalty_fail(p, addr, 30000);
	}
	for (int i = 0; i < 128; i++) {
		snprintf(addr, sizeof(addr), "new-%d", i);
		assert_int_equal(penalty_delay_ms(p, addr, 30000), 20);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		assert_int_equal(penalty_delay_ms(p, addr, 30000), 0);
	}
	penalty_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_doubling),
	        cmocka_unit_test(test_success_clears),
	        cmocka_unit_test(test_expiry),
	        cmocka_unit_test(test_eviction),
	        cmocka_unit_test(test_long_address),
	        cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
