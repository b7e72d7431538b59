/* Unit tests for the POP3 server's maildrop lock registry (RFC 1939 4:
 * one session per maildrop) and LOGIN-DELAY (RFC 2449 6.5), and the APOP
 * timestamps of the greeting (RFC 1939 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "pop3/pop3-private.h"
#include "pop3/pop3-server.h"

static struct pop3_server *make_server(void)
{
	struct config *cfg = config_defaults();
	config_finish(cfg);
	struct pop3_server *server =
	        pop3_server_create(cfg, NULL, 0, NULL, NULL, NULL);
	config_free(&cfg);
	return server;
}

static void test_lock_one_session_per_user(void **state)
{
	struct pop3_server *server = make_server();
	assert_int_equal(pop3_server_lock_user(server, "alice", 0), 1);
	assert_int_equal(pop3_server_lock_user(server, "alice", 0), 0);
	/* others are not affected */
	assert_int_equal(pop3_server_lock_user(server, "bob", 0), 1);
	assert_int_equal(pop3_server_lock_user(server, "alic", 0), 1);
	pop3_server_unlock_user(server, "alice");
	assert_int_equal(pop3_server_lock_user(server, "alice", 0), 1);
	pop3_server_unlock_user(server, "alice");
	pop3_server_unlock_user(server, "bob");
	pop3_server_unlock_user(server, "alic");
	/* unlocking what is not locked changes nothing */
	pop3_server_unlock_user(server, "nobody");
	pop3_server_destroy(&server);
	assert_null(server);
}

static void test_many_users(void **state)
{
	struct pop3_server *server = make_server();
	char name[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		assert_int_equal(pop3_server_lock_user(server, name, 0), 1);
	}
	for (int i = 0; i < 2000; i += 2) {
		snprintf(name, sizeof(name), "user%d", i);
		pop3_server_unlock_user(server, name);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		assert_int_equal(pop3_server_lock_user(server, name, 0),
		                 i % 2 == 0 ? 1 : 0);
	}
	/* destroy frees what is still held */
	pop3_server_destroy(&server);
}

static void test_login_delay(void **state)
{
	struct pop3_server *server = make_server();
	assert_int_equal(pop3_server_lock_user(server, "alice", 3600), 1);
	/* held: IN-USE comes first */
	assert_int_equal(pop3_server_lock_user(server, "alice", 3600), 0);
	pop3_server_unlock_user(server, "alice");
	/* released, but too soon */
	assert_int_equal(pop3_server_lock_user(server, "alice", 3600), -1);
	/* without a delay (or after it) the user may log in again */
	assert_int_equal(pop3_server_lock_user(server, "alice", 0), 1);
	pop3_server_destroy(&server);
}

static void test_apop_stamps(void **state)
{
	struct pop3_server *server = make_server();
	char a[96], b[96];
	pop3_server_apop_stamp(server, a, sizeof(a));
	pop3_server_apop_stamp(server, b, sizeof(b));
	assert_true(a[0] == '<' && a[strlen(a) - 1] == '>');
	assert_non_null(strchr(a, '@'));
	assert_null(strchr(a + 1, '<'));
	assert_string_not_equal(a, b);
	pop3_server_destroy(&server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lock_one_session_per_user),
	        cmocka_unit_test(test_many_users),
	        cmocka_unit_test(test_login_delay),
	        cmocka_unit_test(test_apop_stamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
