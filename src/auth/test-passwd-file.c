/* Unit tests for passwd-file.c: parsing edge cases, lookups in a large
 * file, extra fields, and atomic edits in a temporary directory that keep
 * every other line byte for byte (comments, CRLF, other fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/passwd-file.h"

static struct passwd_file *parse(const char *s, unsigned int *bad_r)
{
	return passwd_file_parse(s, strlen(s), bad_r);
}

static void test_parse_fields(void **state)
{
	unsigned int bad = 99;
	struct passwd_file *pf =
	        parse("alice:{PLAIN}pw:1000:100:Alice A:/home/a:/bin/sh:"
	              "quota_rule=*:storage=1G userdb_mail=maildir:~/M\n"
	              "bob:{SHA512-CRYPT}$6$x\n"
	              "carol\n",
	              &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(passwd_file_count(pf), 3);

	const struct passwd_entry *e = passwd_file_lookup(pf, "alice");
	assert_non_null(e);
	assert_string_equal(e->password, "{PLAIN}pw");
	assert_string_equal(e->uid, "1000");
	assert_string_equal(e->gid, "100");
	assert_string_equal(e->gecos, "Alice A");
	assert_string_equal(e->home, "/home/a");
	assert_string_equal(e->shell, "/bin/sh");
	/* extra fields keep their own ':' */
	assert_string_equal(e->extra,
	                    "quota_rule=*:storage=1G userdb_mail=maildir:~/M");

	e = passwd_file_lookup(pf, "bob");
	assert_string_equal(e->password, "{SHA512-CRYPT}$6$x");
	assert_string_equal(e->uid, "");
	assert_string_equal(e->extra, "");
	e = passwd_file_lookup(pf, "carol");
	assert_string_equal(e->password, "");
	assert_string_equal(passwd_file_at(pf, 2)->user, "carol");
	assert_null(passwd_file_at(pf, 3));
	assert_null(passwd_file_lookup(pf, "Alice"));
	assert_null(passwd_file_lookup(pf, "alic"));
	assert_null(passwd_file_lookup(pf, ""));
	passwd_file_free(&pf);
	assert_null(pf);
}

static void test_parse_edge_cases(void **state)
{
	static const char data[] = "# comment:with:colons\n"
	                           "\n"
	                           "dos:{PLAIN}x:1\r\n"
	                           ":nouser\n"
	                           "sp ace:{PLAIN}x\n"
	                           "sl/ash:{PLAIN}x\n"
	                           "..:{PLAIN}x\n"
	                           "ctl\x01:{PLAIN}x\n"
	                           "nul:{PLAIN}a\0b\n"
	                           "dos:{PLAIN}second\n"
	                           "  # not a comment\n"
	                           "last:{PLAIN}nonl";
	unsigned int bad = 0;
	struct passwd_file *pf =
	        passwd_file_parse(data, sizeof(data) - 1, &bad);
	assert_int_equal(bad, 8);
	assert_int_equal(passwd_file_count(pf), 2);
	const struct passwd_entry *e = passwd_file_lookup(pf, "dos");
	/* CR dropped; first line of a user wins */
	assert_string_equal(e->password, "{PLAIN}x");
	assert_string_equal(e->uid, "1");
	assert_string_equal(passwd_file_lookup(pf, "last")->password,
	                    "{PLAIN}nonl");
	assert_null(passwd_file_lookup(pf, "nul"));
	passwd_file_free(&pf);

	pf = passwd_file_parse("", 0, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(passwd_file_count(pf), 0);
	assert_null(passwd_file_lookup(pf, "x"));
	passwd_file_free(&pf);
	pf = passwd_file_parse("\n\n\n", 3, NULL);
	assert_int_equal(passwd_file_count(pf), 0);
	passwd_file_free(&pf);
}

static void test_extra(void **state)
{
	struct passwd_file *pf = parse(
	        "u:p::::::quota_rule=*:storage=1G  nopassword userdb_home=/h "
	        "quota=5 home=/x\n",
	        NULL);
	const struct passwd_entry *e = passwd_file_lookup(pf, "u");
	char *v = passwd_entry_extra(e, "quota_rule");
	assert_string_equal(v, "*:storage=1G");
	free(v);
	v = passwd_entry_extra(e, "nopassword");
	assert_string_equal(v, "");
	free(v);
	v = passwd_entry_extra(e, "quota");
	assert_string_equal(v, "5");
	free(v);
	/* the plain key wins over the userdb_ form */
	v = passwd_entry_extra(e, "home");
	assert_string_equal(v, "/x");
	free(v);
	assert_null(passwd_entry_extra(e, "quota_r"));
	assert_null(passwd_entry_extra(e, "storage"));
	passwd_file_free(&pf);

	pf = parse("u:p::::::userdb_home=/h\n", NULL);
	v = passwd_entry_extra(passwd_file_lookup(pf, "u"), "home");
	assert_string_equal(v, "/h");
	free(v);
	passwd_file_free(&pf);
}

static void test_large_file(void **state)
{
	const size_t n = 100000;
	char *data = malloc(n * 40);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(
		        data + len, "user%zu@example.org:{PLAIN}%zu\n", i, i);
	unsigned int bad = 1;
	struct passwd_file *pf = passwd_file_parse(data, len, &bad);
	assert_int_equal(bad, 0);
	assert_int_equal(passwd_file_count(pf), n);
	char name[64], pw[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "user%zu@example.org", i);
		snprintf(pw, sizeof(pw), "{PLAIN}%zu", i);
		const struct passwd_entry *e = passwd_file_lookup(pf, name);
		assert_non_null(e);
		assert_string_equal(e->password, pw);
	}
	assert_null(passwd_file_lookup(pf, "user100000@example.org"));
	passwd_file_free(&pf);
	free(data);
}

static void test_user_valid(void **state)
{
	assert_true(passwd_user_valid("a"));
	assert_true(passwd_user_valid("user@example.org"));
	assert_true(passwd_user_valid("p\xc3\xa4r"));
	assert_false(passwd_user_valid(""));
	assert_false(passwd_user_valid("a:b"));
	assert_false(passwd_user_valid("a b"));
	assert_false(passwd_user_valid("a/b"));
	assert_false(passwd_user_valid("a\tb"));
	assert_false(passwd_user_valid("a\nb"));
	assert_false(passwd_user_valid("."));
	assert_false(passwd_user_valid(".."));
	assert_false(passwd_user_valid("#x"));
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(passwd_user_valid(long_name));
}

/* ---- editing, in a temporary directory ---- */

struct tmp {
	char dir[64];
	char path[128];
};

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	strcpy(t->dir, "/tmp/roost-test-passwd-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/passwd", t->dir);
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;
	DIR *d = opendir(t->dir);
	struct dirent *de;
	char p[512];
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
	chmod(path, mode);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *s = calloc(1, 65536);
	size_t n = fread(s, 1, 65535, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void assert_file(const char *path, const char *want)
{
	char *got = read_file(path);
	assert_string_equal(got, want);
	free(got);
}

/* Only "passwd" and "passwd.lock" may remain: no temporary files. */
static void assert_no_tmp(const struct tmp *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "passwd") != 0 &&
		    strcmp(de->d_name, "passwd.lock") != 0)
			fail_msg("left behind: %s", de->d_name);
	}
	closedir(d);
}

static const char original[] =
        "# users of example.org\n"
        "alice:{PLAIN}old:1000:100:Alice:/home/alice::quota_rule=*:storage=1G\n"
        "\n"
        "bob:{PLAIN}bob\r\n"
        "alice:{PLAIN}duplicate\n"
        "carol:{PLAIN}c:::::\n"
        "dave\n"
        "# trailing comment";

static void test_set_existing(void **state)
{
	struct tmp *t = *state;
	const char *error = NULL;
	write_file(t->path, original, 0640);

	assert_int_equal(
	        passwd_file_set(t->path, "alice", "{PLAIN}new", &error), 0);
	assert_int_equal(passwd_file_set(t->path, "bob", "{PLAIN}b2", &error),
	                 0);
	assert_int_equal(passwd_file_set(t->path, "carol", "{PLAIN}c2", &error),
	                 0);
	assert_int_equal(passwd_file_set(t->path, "dave", "{PLAIN}d", &error),
	                 0);
	assert_file(t->path, "# users of example.org\n"
	                     "alice:{PLAIN}new:1000:100:Alice:/home/alice::"
	                     "quota_rule=*:storage=1G\n"
	                     "\n"
	                     "bob:{PLAIN}b2\r\n"
	                     "alice:{PLAIN}duplicate\n"
	                     "carol:{PLAIN}c2:::::\n"
	                     "dave:{PLAIN}d\n"
	                     "# trailing comment");
	struct stat st;
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_no_tmp(t);
}

static void test_set_new_and_remove(void **state)
{
	struct tmp *t = *state;
	const char *error = NULL;
	write_file(t->path, original, 0600);

	assert_int_equal(passwd_file_set(t->path, "eve", "{PLAIN}e", &error),
	                 0);
	char *want = malloc(sizeof(original) + 64);
	sprintf(want, "%s\neve:{PLAIN}e\n", original);
	assert_file(t->path, want);
	free(want);

	/* both alice lines go */
	assert_int_equal(passwd_file_remove(t->path, "alice", &error), 1);
	assert_int_equal(passwd_file_remove(t->path, "alice", &error), 0);
	assert_int_equal(passwd_file_remove(t->path, "dave", &error), 1);
	assert_int_equal(passwd_file_remove(t->path, "nobody", &error), 0);
	assert_file(t->path, "# users of example.org\n"
	                     "\n"
	                     "bob:{PLAIN}bob\r\n"
	                     "carol:{PLAIN}c:::::\n"
	                     "# trailing comment\n"
	                     "eve:{PLAIN}e\n");
	assert_no_tmp(t);
}

static void test_new_file(void **state)
{
	struct tmp *t = *state;
	const char *error = NULL;

	assert_int_equal(passwd_file_remove(t->path, "x", &error), 0);
	assert_int_equal(access(t->path, F_OK), -1);

	struct passwd_file *pf = passwd_file_load(t->path, &error);
	assert_non_null(pf);
	assert_int_equal(passwd_file_count(pf), 0);
	passwd_file_free(&pf);

	mode_t old = umask(0);
	assert_int_equal(passwd_file_set(t->path, "x", "{PLAIN}y", &error), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_file(t->path, "x:{PLAIN}y\n");

	pf = passwd_file_load(t->path, &error);
	assert_non_null(pf);
	assert_string_equal(passwd_file_lookup(pf, "x")->password, "{PLAIN}y");
	passwd_file_free(&pf);
	assert_no_tmp(t);
}

static void test_update_modes(void **state)
{
	struct tmp *t = *state;
	const char *error = NULL;
	write_file(t->path, "a:{PLAIN}1\n", 0600);

	assert_int_equal(passwd_file_update(t->path, "a", "{PLAIN}2",
	                                    PASSWD_SET_ADD, &error),
	                 0);
	assert_int_equal(passwd_file_update(t->path, "b", "{PLAIN}2",
	                                    PASSWD_SET_REPLACE, &error),
	                 0);
	assert_file(t->path, "a:{PLAIN}1\n");
	assert_int_equal(passwd_file_update(t->path, "b", "{PLAIN}b",
	                                    PASSWD_SET_ADD, &error),
	                 1);
	assert_int_equal(passwd_file_update(t->path, "a", "{PLAIN}a",
	                                    PASSWD_SET_REPLACE, &error),
	                 1);
	assert_file(t->path, "a:{PLAIN}a\nb:{PLAIN}b\n");
}

static void test_edit_rejects(void **state)
{
	struct tmp *t = *state;
	const char *error = NULL;
	write_file(t->path, "a:{PLAIN}1\n", 0600);

	static const char *const bad_users[] = {"",    "a:b", "a b", "../x",
	                                        "a\n", "#a",  ".."};
	for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
		error = NULL;
		assert_int_equal(passwd_file_set(t->path, bad_users[i],
		                                 "{PLAIN}x", &error),
		                 -1);
		assert_non_null(error);
	}
	static const char *const bad_hashes[] = {"", "{PLAIN}a:b",
	                                         "{PLAIN}a\nb:c", "x\ry"};
	for (size_t i = 0; i < sizeof(bad_hashes) / sizeof(bad_hashes[0]);
	     i++) {
		error = NULL;
		assert_int_equal(
		        passwd_file_set(t->path, "a", bad_hashes[i], &error),
		        -1);
		assert_non_null(error);
	}
	assert_file(t->path, "a:{PLAIN}1\n");

	/* a directory that does not exist */
	error = NULL;
	assert_int_equal(passwd_file_set("/nonexistent-roost/passwd", "a",
	                                 "{PLAIN}x", &error),
	                 -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "/nonexistent-roost/passwd"));
}

/* Concurrent writers must not lose each other's changes. */
static void test_concurrent_edits(void **state)
{
	struct tmp *t = *state;
	const int procs = 8, per_proc = 10;
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid != 0)
			continue;
		for (int i = 0; i < per_proc; i++) {
			char user[32];
			const char *error;
			snprintf(user, sizeof(user), "u%d-%d", p, i);
			if (passwd_file_set(t->path, user, "{PLAIN}x", &error) <
			    0)
				_exit(1);
		}
		_exit(0);
	}
	for (int p = 0; p < procs; p++) {
		int status;
		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	const char *error;
	struct passwd_file *pf = passwd_file_load(t->path, &error);
	assert_non_null(pf);
	assert_int_equal(passwd_file_count(pf), procs * per_proc);
	passwd_file_free(&pf);
	assert_no_tmp(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_fields),
	        cmocka_unit_test(test_parse_edge_cases),
	        cmocka_unit_test(test_extra),
	        cmocka_unit_test(test_large_file),
	        cmocka_unit_test(test_user_valid),
	        cmocka_unit_test_setup_teardown(test_set_existing, setup_tmp,
	                                        teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_set_new_and_remove,
	                                        setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_new_file, setup_tmp,
	                                        teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_update_modes, setup_tmp,
	                                        teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_edit_rejects, setup_tmp,
	                                        teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_concurrent_edits,
	                                        setup_tmp, teardown_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
