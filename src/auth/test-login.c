/* Unit tests for login.c with a fake session: what reaches the protocol's
 * callbacks for plain passwords, a protocol's own check, SASL exchanges
 * (challenges, cancelling, bad base64, authorization identities), the
 * penalty delay shared by two sessions, and the session references held
 * while the thread pool works. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/login.h"
#include "auth/penalty.h"
#include "auth/userdb.h"
#include "net/loop.h"
#include "net/threadpool.h"

struct fake {
	struct loop *loop;
	struct auth_login *login;
	bool waiting; /* in wait_answer() */
	int refs, paused, challenges, bad, failed, succeeded;
	unsigned int delay_ms;
	char last[64]; /* the challenge, bad text, user or mech answered */
	char mech[32];
};

static char dir[] = "/tmp/roost-test-login-XXXXXX";
static struct penalty *penalty;
static struct threadpool *pool;

/* An answer has come: a loop waiting for it may stop. */
static void answered(struct fake *f)
{
	if (f->waiting)
		loop_stop(f->loop);
	f->waiting = false;
}

static void fake_ref(void *ctx)
{
	((struct fake *)ctx)->refs++;
}

static void fake_unref(void *ctx)
{
	((struct fake *)ctx)->refs--;
}

static bool fake_closed(void *ctx)
{
	return false;
}

static void fake_pause(void *ctx)
{
	((struct fake *)ctx)->paused++;
}

static void fake_challenge(void *ctx, const char *base64)
{
	struct fake *f = ctx;
	f->challenges++;
	snprintf(f->last, sizeof(f->last), "%s", base64);
	answered(f);
}

static void fake_bad(void *ctx, const char *text)
{
	struct fake *f = ctx;
	f->bad++;
	snprintf(f->last, sizeof(f->last), "%s", text);
}

static void fake_failed(void *ctx, unsigned int delay_ms)
{
	struct fake *f = ctx;
	f->failed++;
	f->delay_ms = delay_ms;
	answered(f);
}

static void fake_succeeded(void *ctx, const char *user, const char *mech)
{
	struct fake *f = ctx;
	f->succeeded++;
	snprintf(f->last, sizeof(f->last), "%s", user);
	snprintf(f->mech, sizeof(f->mech), "%s", mech);
	answered(f);
}

static const struct auth_login_ops ops = {
        .ref = fake_ref,
        .unref = fake_unref,
        .closed = fake_closed,
        .pause = fake_pause,
        .challenge = fake_challenge,
        .bad = fake_bad,
        .failed = fake_failed,
        .succeeded = fake_succeeded,
};

static void fake_init(struct fake *f, const char *ip)
{
	memset(f, 0, sizeof(*f));
	f->loop = loop_create(0);
	const struct auth_login_settings set = {
	        .pool = pool,
	        .loop = f->loop,
	        .penalty = penalty,
	        .remote = ip,
	        .remote_ip = ip,
	        .max_user_bytes = 255,
	};
	f->login = auth_login_create(&set, &ops, f);
}

static void fake_done(struct fake *f)
{
	assert_int_equal(f->refs, 0);
	auth_login_free(&f->login);
	assert_null(f->login);
	loop_destroy(&f->loop);
}

/* Run the loop until a pool job has answered. */
static void wait_answer(struct fake *f)
{
	assert_int_equal(f->refs, 1);
	f->waiting = true;
	loop_run(f->loop);
	assert_int_equal(f->refs, 0);
}

static int setup(void **state)
{
	char path[PATH_MAX], *error = NULL;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/passwd", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("alice:{PLAIN}secret::::::\n", fp);
	fclose(fp);
	assert_int_equal(userdb_load(path, &error), 0);
	pool = threadpool_create(1);
	return 0;
}

static int teardown(void **state)
{
	char path[PATH_MAX];
	threadpool_destroy(&pool);
	userdb_unload();
	snprintf(path, sizeof(path), "%s/passwd", dir);
	unlink(path);
	return rmdir(dir);
}

static int penalty_setup(void **state)
{
	penalty = penalty_create(100, 1000, 16);
	return 0;
}

static int penalty_teardown(void **state)
{
	penalty_free(&penalty);
	return 0;
}

static void test_password(void **state)
{
	struct fake f;
	fake_init(&f, "192.0.2.1");
	auth_login_password(f.login, "login", "alice", 5, "secret", 6);
	wait_answer(&f);
	assert_int_equal(f.succeeded, 1);
	assert_string_equal(f.last, "alice");
	assert_string_equal(f.mech, "LOGIN");

	auth_login_password(f.login, "USER", "alice", 5, "wrong", 5);
	wait_answer(&f);
	assert_int_equal(f.failed, 1);
	assert_int_equal(f.delay_ms, 100);
	auth_login_password(f.login, "USER", "nobody", 6, "secret", 6);
	wait_answer(&f);
	assert_int_equal(f.failed, 2);
	assert_int_equal(f.delay_ms, 200);
	/* a success clears the address's penalty */
	auth_login_password(f.login, "USER", "alice", 5, "secret", 6);
	wait_answer(&f);
	assert_int_equal(f.succeeded, 2);
	assert_int_equal(penalty_delay_ms(penalty, "192.0.2.1", 0), 0);
	fake_done(&f);
}

static void test_insane_credentials(void **state)
{
	struct fake f;
	char long_user[300];
	memset(long_user, 'a', sizeof(long_user) - 1);
	long_user[sizeof(long_user) - 1] = '\0';
	fake_init(&f, "192.0.2.2");
	/* each fails at once, without a pool job */
	auth_login_password(f.login, "LOGIN", "", 0, "x", 1);
	auth_login_password(f.login, "LOGIN", "al\0ce", 5, "x", 1);
	auth_login_password(f.login, "LOGIN", long_user, 299, "x", 1);
	auth_login_password(f.login, "LOGIN", "alice", 5, long_user, 1025);
	assert_int_equal(f.refs, 0);
	assert_int_equal(f.failed, 4);
	assert_int_equal(f.delay_ms, 800);
	assert_int_equal(f.succeeded, 0);
	fake_done(&f);
}

static void test_penalty_shared(void **state)
{
	struct fake imap, pop3;
	fake_init(&imap, "192.0.2.3");
	fake_init(&pop3, "192.0.2.3");
	auth_login_fail(imap.login, "LOGIN", "alice", "test");
	assert_int_equal(imap.delay_ms, 100);
	auth_login_fail(pop3.login, "APOP", "alice", "test");
	assert_int_equal(pop3.delay_ms, 200);
	fake_done(&imap);
	fake_done(&pop3);
}

static int verify_reversed(const char *stored, const char *secret,
                           size_t secret_len, void *ctx)
{
	/* the stored password "{PLAIN}secret", checked as "terces" */
	char want[16];
	if (stored == NULL || strcmp(stored, "{PLAIN}secret") != 0 ||
	    secret_len != 6)
		return 0;
	for (size_t i = 0; i < 6; i++)
		want[i] = secret[5 - i];
	want[6] = '\0';
	return strcmp(want, "secret") == 0;
}

static void test_verify(void **state)
{
	struct fake f;
	fake_init(&f, "192.0.2.4");
	auth_login_verify(f.login, "APOP", "alice", 5, "terces", 6,
	                  verify_reversed);
	wait_answer(&f);
	assert_int_equal(f.succeeded, 1);
	assert_string_equal(f.mech, "APOP");
	auth_login_verify(f.login, "APOP", "alice", 5, "secret", 6,
	                  verify_reversed);
	wait_answer(&f);
	assert_int_equal(f.failed, 1);
	fake_done(&f);
}

static void test_sasl_plain(void **state)
{
	struct fake f;
	fake_init(&f, "192.0.2.5");
	assert_false(auth_login_sasl_start(f.login, "CRAM-MD5"));
	assert_true(auth_login_sasl_start(f.login, "plain"));
	/* "\0alice\0secret" */
	auth_login_sasl_begin(f.login, "AGFsaWNlAHNlY3JldA==", 20);
	wait_answer(&f);
	assert_int_equal(f.succeeded, 1);
	assert_string_equal(f.mech, "PLAIN");

	/* no initial response: an empty challenge, then the answer */
	assert_true(auth_login_sasl_start(f.login, "PLAIN"));
	auth_login_sasl_begin(f.login, NULL, 0);
	assert_int_equal(f.challenges, 1);
	assert_string_equal(f.last, "");
	auth_login_sasl_input(f.login, "AGFsaWNlAHdyb25n", 16);
	wait_answer(&f);
	assert_int_equal(f.failed, 1);

	/* "bob\0alice\0secret": no proxy authorization */
	assert_true(auth_login_sasl_start(f.login, "PLAIN"));
	auth_login_sasl_begin(f.login, "Ym9iAGFsaWNlAHNlY3JldA==", 24);
	assert_int_equal(f.refs, 0);
	assert_int_equal(f.failed, 2);
	fake_done(&f);
}

static void test_sasl_bad(void **state)
{
	struct fake f;
	fake_init(&f, "192.0.2.6");
	assert_true(auth_login_sasl_start(f.login, "LOGIN"));
	auth_login_sasl_begin(f.login, NULL, 0);
	assert_int_equal(f.challenges, 1);
	auth_login_sasl_input(f.login, "*", 1);
	assert_int_equal(f.bad, 1);
	assert_string_equal(f.last, "Authentication cancelled");

	assert_true(auth_login_sasl_start(f.login, "LOGIN"));
	auth_login_sasl_begin(f.login, "not base64", 10);
	assert_int_equal(f.bad, 2);
	assert_string_equal(f.last, "Invalid base64 data");

	/* "=" is an empty initial response, not base64 */
	assert_true(auth_login_sasl_start(f.login, "PLAIN"));
	auth_login_sasl_begin(f.login, "=", 1);
	assert_int_equal(f.bad, 3);
	assert_string_equal(f.last, "Invalid SASL message");
	assert_int_equal(f.failed + f.succeeded, 0);
	assert_int_equal(f.refs, 0);
	fake_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_password, penalty_setup,
	                                        penalty_teardown),
	        cmocka_unit_test_setup_teardown(test_insane_credentials,
	                                        penalty_setup,
	                                        penalty_teardown),
	        cmocka_unit_test_setup_teardown(
	                test_penalty_shared, penalty_setup, penalty_teardown),
	        cmocka_unit_test_setup_teardown(test_verify, penalty_setup,
	                                        penalty_teardown),
	        cmocka_unit_test_setup_teardown(test_sasl_plain, penalty_setup,
	                                        penalty_teardown),
	        cmocka_unit_test_setup_teardown(test_sasl_bad, penalty_setup,
	                                        penalty_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
