/* Unit tests for the delivery pipeline (deliver.h) on a store in a
 * temporary directory: finding users (whole address, local part,
 * detail, case), one copy per user and mailbox, the trace fields, the
 * detail folder, quotas, size limits, NUL bytes and spooled messages. */
#include <fcntl.h>
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

#include "auth/userdb.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "lmtp/deliver.h"
#include "store/store.h"

static char data_dir[PATH_MAX];
static struct deliver_settings set;

static const char passwd[] = "alice:{PLAIN}pw::::::\n"
                             "bob:{PLAIN}pw::::::quota_rule=*:messages=1\n"
                             "carol@example.org:{PLAIN}pw::::::\n"
                             "dave+x:{PLAIN}pw::::::\n";

static int setup(void **state)
{
	char path[PATH_MAX + 16], *error = NULL;
	strcpy(data_dir, "/tmp/roost-test-deliver-XXXXXX");
	assert_non_null(mkdtemp(data_dir));
	snprintf(path, sizeof(path), "%s/passwd", data_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(passwd, f);
	fclose(f);
	assert_int_equal(userdb_load(path, &error), 0);
	set = (struct deliver_settings){.data_dir = data_dir,
	                                .max_message_size = 1024 * 1024,
	                                .detail_mailbox = true,
	                                .delimiters = "+"};
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	userdb_unload();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void want_user(const char *local, const char *domain, const char *user,
                      const char *detail)
{
	char *u = NULL, *d = NULL;
	if (!deliver_resolve(&set, local, domain, &u, &d))
		fail_msg("%s@%s: not found", local, domain);
	assert_string_equal(u, user);
	if (detail == NULL)
		assert_null(d);
	else
		assert_string_equal(d, detail);
	free(u);
	free(d);
}

static void test_resolve(void **state)
{
	char *u, *d;
	want_user("alice", "example.org", "alice", NULL);
	want_user("alice", "", "alice", NULL);
	want_user("alice+lists", "any.example", "alice", "lists");
	want_user("Alice+Lists", "any.example", "alice", "Lists");
	want_user("carol", "example.org", "carol@example.org", NULL);
	want_user("carol+x", "example.org", "carol@example.org", "x");
	want_user("CAROL", "Example.ORG", "carol@example.org", NULL);
	/* a user whose name holds the delimiter is found as it is */
	want_user("dave+x", "example.org", "dave+x", NULL);
	want_user("alice+a+b", "e.org", "alice", "a+b");
	assert_false(deliver_resolve(&set, "carol", "other.org", &u, &d));
	assert_false(deliver_resolve(&set, "nobody", "e.org", &u, &d));
	assert_false(deliver_resolve(&set, "+alice", "e.org", &u, &d));
	set.delimiters = "";
	assert_false(deliver_resolve(&set, "alice+x", "e.org", &u, &d));
	set.delimiters = "-+";
	want_user("alice-x", "e.org", "alice", "x");
	set.delimiters = "+";
}

static struct deliver_msg *message(const char *text, size_t len)
{
	struct deliver_msg *m = deliver_msg_create(&set);
	assert_int_equal(deliver_msg_write(m, text, len), 0);
	return m;
}

static const struct deliver_envelope env = {
        .sender = "sender@example.net",
        .received_from = "mx.example.net ([192.0.2.1])",
        .protocol = "LMTP",
        .hostname = "host.example",
        .id = "0123abcd",
};

static struct deliver_rcpt rcpt(const char *address, const char *user,
                                const char *mailbox)
{
	return (struct deliver_rcpt){
	        .address = xstrdup(address),
	        .user = xstrdup(user),
	        .mailbox = mailbox != NULL ? xstrdup(mailbox) : NULL};
}

/* The file of user's message uid in mailbox, whole. */
static char *read_message(const char *user, const char *mailbox, uint32_t uid,
                          size_t *len_r)
{
	struct store_settings ss = {.data_dir = data_dir};
	enum store_status ret;
	struct store *st = store_open(&ss, user, &ret);
	struct store_changes ch;
	assert_non_null(st);
	assert_int_equal(store_sync(st, mailbox, 0, false, &ch), STORE_OK);
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, ch.mailbox_id, uid, &fd, &size),
	                 STORE_OK);
	char *buf = xmalloc(size + 1);
	assert_int_equal(read(fd, buf, size), (ssize_t)size);
	buf[size] = '\0';
	close(fd);
	store_changes_free(&ch);
	store_close(&st);
	*len_r = size;
	return buf;
}

static uint32_t message_count(const char *user, const char *mailbox)
{
	struct store_settings ss = {.data_dir = data_dir};
	enum store_status ret;
	struct store *st = store_open(&ss, user, &ret);
	struct store_status_info info;
	assert_non_null(st);
	assert_int_equal(store_status(st, mailbox, &info), STORE_OK);
	store_close(&st);
	return info.messages;
}

static void create_mailbox(const char *user, const char *name)
{
	struct store_settings ss = {.data_dir = data_dir};
	enum store_status ret;
	struct store *st = store_open(&ss, user, &ret);
	assert_non_null(st);
	assert_int_equal(store_create(st, name, 0), STORE_OK);
	store_close(&st);
}

static const char body[] = "Subject: hi\r\n\r\nHello.\r\n";

/* Recipients of one user and mailbox share a copy; a missing detail
 * folder means INBOX; each copy carries its own trace fields. */
static void test_deliver_copies(void **state)
{
	create_mailbox("alice", "Lists");
	struct deliver_msg *m = message(body, strlen(body));
	struct deliver_rcpt r[4] = {
	        rcpt("alice@example.org", "alice", NULL),
	        rcpt("alice+Lists@example.org", "alice", "Lists"),
	        rcpt("alice+nofolder@example.org", "alice", "nofolder"),
	        rcpt("bob@example.org", "bob", NULL),
	};
	deliver_run(m, &set, &env, r, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i].result, DELIVER_OK);
	assert_string_equal(r[0].stored_in, "INBOX");
	assert_string_equal(r[1].stored_in, "Lists");
	assert_string_equal(r[2].stored_in, "INBOX");
	assert_int_equal(r[2].uid, r[0].uid);
	assert_int_equal(message_count("alice", "INBOX"), 1);
	assert_int_equal(message_count("alice", "Lists"), 1);
	assert_int_equal(message_count("bob", "INBOX"), 1);
	size_t len;
	char *text = read_message("alice", "Lists", r[1].uid, &len);
	const char *want_head =
	        "Return-Path: <sender@example.net>\r\n"
	        "Delivered-To: alice+Lists@example.org\r\n"
	        "Received: from mx.example.net ([192.0.2.1])\r\n"
	        "\tby host.example (roost) with LMTP id 0123abcd\r\n"
	        "\tfor <alice+Lists@example.org>; ";
	assert_memory_equal(text, want_head, strlen(want_head));
	assert_string_equal(text + len - strlen(body), body);
	free(text);
	text = read_message("bob", "INBOX", r[3].uid, &len);
	assert_non_null(strstr(text, "Delivered-To: bob@example.org\r\n"));
	free(text);
	for (int i = 0; i < 4; i++)
		deliver_rcpt_clear(&r[i]);
	deliver_msg_free(&m);
}

/* Detail folders off: everything into INBOX. Bare LFs are stored as
 * CR LF. No sender: no Return-Path; no "from": no Received. */
static void test_deliver_inbox_only(void **state)
{
	create_mailbox("alice", "Lists");
	struct deliver_msg *m = message("Subject: x\n\nbare\n", 17);
	struct deliver_rcpt r = rcpt("alice", "alice", NULL);
	struct deliver_envelope e = {
	        .protocol = "LMTP", .hostname = "h", .id = "1"};
	deliver_run(m, &set, &e, &r, 1);
	assert_int_equal(r.result, DELIVER_OK);
	size_t len;
	char *text = read_message("alice", "INBOX", r.uid, &len);
	assert_string_equal(text, "Delivered-To: alice\r\nSubject: x\r\n\r\n"
	                          "bare\r\n");
	free(text);
	deliver_rcpt_clear(&r);
	deliver_msg_free(&m);
}

static void test_deliver_quota(void **state)
{
	struct deliver_msg *m = message(body, strlen(body));
	struct deliver_rcpt r[2] = {rcpt("bob@x", "bob", NULL),
	                            rcpt("alice@x", "alice", NULL)};
	deliver_run(m, &set, &env, r, 2);
	assert_int_equal(r[0].result, DELIVER_OK);
	deliver_rcpt_clear(&r[0]);
	deliver_rcpt_clear(&r[1]);
	r[0] = rcpt("bob@x", "bob", NULL);
	r[1] = rcpt("alice@x", "alice", NULL);
	deliver_run(m, &set, &env, r, 2);
	/* bob may have one message; alice is not held back by him */
	assert_int_equal(r[0].result, DELIVER_OVERQUOTA);
	assert_null(r[0].stored_in);
	assert_int_equal(r[1].result, DELIVER_OK);
	assert_int_equal(message_count("bob", "INBOX"), 1);
	assert_int_equal(message_count("alice", "INBOX"), 2);
	deliver_rcpt_clear(&r[0]);
	deliver_rcpt_clear(&r[1]);
	deliver_msg_free(&m);
}

static void test_deliver_refused(void **state)
{
	struct deliver_rcpt r = rcpt("alice@x", "alice", NULL);
	struct deliver_msg *m = message("Subject: a\r\n\r\n\0x\r\n", 18);
	deliver_run(m, &set, &env, &r, 1);
	assert_int_equal(r.result, DELIVER_NUL);
	deliver_msg_free(&m);
	/* past the limit: counted, not kept */
	set.max_message_size = 100;
	m = deliver_msg_create(&set);
	for (int i = 0; i < 10; i++)
		assert_int_equal(deliver_msg_write(m, body, strlen(body)), 0);
	assert_int_equal(deliver_msg_size(m), 10 * strlen(body));
	deliver_run(m, &set, &env, &r, 1);
	assert_int_equal(r.result, DELIVER_TOOBIG);
	deliver_msg_free(&m);
	/* the message fits, but not with the trace fields: the store
	 * refuses it */
	m = message(body, strlen(body));
	char big[90];
	memset(big, 'x', sizeof(big));
	assert_int_equal(deliver_msg_write(m, big, 100 - strlen(body)), 0);
	deliver_run(m, &set, &env, &r, 1);
	assert_int_equal(r.result, DELIVER_TOOBIG);
	set.max_message_size = 1024 * 1024;
	assert_int_equal(message_count("alice", "INBOX"), 0);
	deliver_rcpt_clear(&r);
	deliver_msg_free(&m);
}

/* A message past DELIVER_SPILL_BYTES goes through a spool file; each
 * copy's header lines go into a private mapping, not the file. */
static void test_deliver_spooled(void **state)
{
	size_t n = DELIVER_SPILL_BYTES * 2 + 123;
	char *big = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	memcpy(big, "Subject: big\r\n\r\n", 16);
	struct deliver_msg *m = deliver_msg_create(&set);
	for (size_t off = 0; off < n; off += 4000)
		deliver_msg_write(m, big + off,
		                  n - off < 4000 ? n - off : 4000);
	struct deliver_rcpt r[2] = {rcpt("alice@x", "alice", NULL),
	                            rcpt("bob@x", "bob", NULL)};
	deliver_run(m, &set, &env, r, 2);
	assert_int_equal(r[0].result, DELIVER_OK);
	assert_int_equal(r[1].result, DELIVER_OK);
	size_t len;
	char *text = read_message("bob", "INBOX", r[1].uid, &len);
	assert_non_null(strstr(text, "Delivered-To: bob@x\r\n"));
	assert_null(strstr(text, "alice@x"));
	/* the body, bare LFs as CR LF */
	char *sub = strstr(text, "Subject: big\r\n\r\n");
	assert_non_null(sub);
	assert_int_equal(len - (size_t)(sub - text), n + (n - 16) / 64);
	free(text);
	free(big);
	deliver_rcpt_clear(&r[0]);
	deliver_rcpt_clear(&r[1]);
	deliver_msg_free(&m);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_deliver_copies, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_deliver_inbox_only, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_deliver_quota, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_deliver_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_deliver_spooled, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
