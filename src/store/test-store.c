/* Unit tests for the local store backend (store/store.h), each on a
 * fresh store in a temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store-private.h"
#include "store/store.h"

static char data_dir[PATH_MAX];
static struct store_settings set;

static int setup(void **state)
{
	strcpy(data_dir, "/tmp/roost-test-store-XXXXXX");
	assert_non_null(mkdtemp(data_dir));
	memset(&set, 0, sizeof(set));
	set.data_dir = data_dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_store(void)
{
	enum store_status ret = STORE_ERROR;
	struct store *st = store_open(&set, "alice", &ret);
	assert_int_equal(ret, STORE_OK);
	assert_non_null(st);
	return st;
}

static void upath(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/mail/alice/%s", data_dir, rel);
}

static int count_files(const char *rel)
{
	char path[PATH_MAX];
	upath(path, rel);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The name of the file in rel (a directory) whose name holds needle, or
 * "" if none. */
static void find_file(const char *rel, const char *needle, char *out)
{
	char path[PATH_MAX];
	upath(path, rel);
	DIR *d = opendir(path);
	assert_non_null(d);
	struct dirent *de;
	out[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, needle) != NULL)
			strcpy(out, de->d_name);
	}
	closedir(d);
}

static uint32_t append1(struct store *st, const char *mbox, const char *text,
                        uint32_t flags, const char *kw)
{
	struct store_append_msg m = {.data = text,
	                             .size = strlen(text),
	                             .flags = flags,
	                             .keywords = kw};
	uint32_t uidv = 0, uid = 0;
	assert_int_equal(store_append(st, mbox, &m, 1, &uidv, &uid), STORE_OK);
	assert_true(uidv > 0);
	return uid;
}

static uint64_t mbox_id(struct store *st, const char *name)
{
	struct store_changes c;
	assert_int_equal(store_sync(st, name, 0, false, &c), STORE_OK);
	uint64_t id = c.mailbox_id;
	store_changes_free(&c);
	return id;
}

/* p with every bare LF made CR LF, a byte at a time: what the store's
 * files must hold. out has room for 2 * n bytes. */
static size_t crlf_ref(const char *p, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			out[k++] = '\r';
		out[k++] = p[i];
	}
	return k;
}

/* The bytes of message uid (malloc'd), checked against its size. */
static char *read_message(struct store *st, uint64_t id, uint32_t uid,
                          size_t *size_r)
{
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, id, uid, &fd, &size), STORE_OK);
	char *data = malloc(size + 1);
	assert_non_null(data);
	size_t got = 0;
	ssize_t r;
	while ((r = read(fd, data + got, size + 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	assert_int_equal(got, size);
	*size_r = got;
	return data;
}

static bool has_mailbox(const struct store_mailbox_list *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->items[i].name, name) == 0)
			return true;
	}
	return false;
}

static const struct store_mailbox_info *
find_mailbox(const struct store_mailbox_list *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	}
	fail_msg("no mailbox %s", name);
	abort(); /* not reached: tells the compiler the result is non-NULL */
}

static void test_new_store(void **state)
{
	struct store *st = open_store();
	struct store_mailbox_list l;
	assert_int_equal(store_list(st, &l), STORE_OK);
	assert_int_equal(l.count, 6);
	static const char *const names[] = {"Archive", "Drafts", "INBOX",
	                                    "Junk",    "Sent",   "Trash"};
	static const uint32_t uses[] = {
	        STORE_USE_ARCHIVE, STORE_USE_DRAFTS, 0,
	        STORE_USE_JUNK,    STORE_USE_SENT,   STORE_USE_TRASH};
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(l.items[i].name, names[i]);
		assert_int_equal(l.items[i].special_use, uses[i]);
		assert_true(l.items[i].subscribed);
		assert_false(l.items[i].noselect);
	}
	store_mailbox_list_free(&l);
	struct store_name_list s;
	assert_int_equal(store_subscriptions(st, &s), STORE_OK);
	assert_int_equal(s.count, 6);
	store_name_list_free(&s);
	store_close(&st);
	assert_null(st);
	enum store_status ret;
	assert_null(store_open(&set, "../x", &ret));
	assert_int_equal(ret, STORE_BADNAME);
	assert_null(store_open(&set, "", &ret));
	assert_null(store_open(&set, ".hidden", &ret));
}

static void test_names(void **state)
{
	struct store *st = open_store();
	static const char *const bad[] = {"",      "/a", "a/",    "a//b",
	                                  "a/./b", "..", "a\x01", "a\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(store_create(st, bad[i], 0), STORE_BADNAME);
	char longname[600];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_create(st, longname, 0), STORE_BADNAME);
	assert_int_equal(store_create(st, "a.b%c", 0), STORE_OK);
	assert_int_equal(count_files("Maildir/.a%2Eb%25c/cur"), 0);
	store_close(&st);
}

static void test_create_delete(void **state)
{
	struct store *st = open_store();
	assert_int_equal(store_create(st, "a/b/c", 0), STORE_OK);
	assert_int_equal(store_create(st, "a/b", 0), STORE_ALREADYEXISTS);
	struct store_mailbox_list l;
	assert_int_equal(store_list(st, &l), STORE_OK);
	assert_false(find_mailbox(&l, "a")->noselect);
	assert_false(find_mailbox(&l, "a/b")->noselect);
	store_mailbox_list_free(&l);
	append1(st, "a", "Subject: x\r\n\r\nbody\r\n", 0, NULL);
	/* a mailbox with children becomes \Noselect */
	assert_int_equal(store_delete(st, "a"), STORE_OK);
	struct store_status_info si;
	assert_int_equal(store_status(st, "a", &si), STORE_NOSELECT);
	assert_int_equal(store_delete(st, "a"), STORE_HASCHILDREN);
	assert_int_equal(store_delete(st, "a/b/c"), STORE_OK);
	assert_int_equal(store_delete(st, "a/b"), STORE_OK);
	assert_int_equal(store_list(st, &l), STORE_OK);
	assert_true(find_mailbox(&l, "a")->noselect);
	assert_false(has_mailbox(&l, "a/b"));
	store_mailbox_list_free(&l);
	/* CREATE makes a \Noselect mailbox selectable again */
	assert_int_equal(store_create(st, "a", 0), STORE_OK);
	assert_int_equal(store_status(st, "a", &si), STORE_OK);
	assert_int_equal(si.messages, 0);
	assert_int_equal(store_delete(st, "a"), STORE_OK);
	assert_int_equal(store_delete(st, "a"), STORE_NONEXISTENT);
	assert_int_equal(store_delete(st, "INBOX"), STORE_CANNOT);
	store_close(&st);
}

static void test_rename(void **state)
{
	struct store *st = open_store();
	assert_int_equal(store_create(st, "x/y", 0), STORE_OK);
	uint32_t uid = append1(st, "x/y", "a\r\n", 0, NULL);
	uint64_t id = mbox_id(st, "x/y");
	struct store_status_info before, after;
	assert_int_equal(store_status(st, "x/y", &before), STORE_OK);
	assert_int_equal(store_rename(st, "x", "x/z"), STORE_CANNOT);
	assert_int_equal(store_rename(st, "x", "Sent"), STORE_ALREADYEXISTS);
	assert_int_equal(store_rename(st, "nope", "q"), STORE_NONEXISTENT);
	assert_int_equal(store_rename(st, "x", "p/q"), STORE_OK);
	assert_int_equal(store_status(st, "x/y", &after), STORE_NONEXISTENT);
	assert_int_equal(store_status(st, "p/q/y", &after), STORE_OK);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.messages, 1);
	assert_int_equal(mbox_id(st, "p/q/y"), id);
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, id, uid, &fd, &size), STORE_OK);
	assert_int_equal(size, 3);
	close(fd);
	/* INBOX: its messages move, it stays */
	append1(st, "INBOX", "one\r\n", 0, NULL);
	append1(st, "INBOX", "two\r\n", STORE_FLAG_SEEN, "$Work");
	assert_int_equal(store_rename(st, "INBOX", "Old/inbox"), STORE_OK);
	assert_int_equal(store_status(st, "INBOX", &after), STORE_OK);
	assert_int_equal(after.messages, 0);
	assert_int_equal(store_status(st, "Old/inbox", &after), STORE_OK);
	assert_int_equal(after.messages, 2);
	assert_int_equal(count_files("Maildir/cur"), 0);
	assert_int_equal(count_files("Maildir/.Old.inbox/cur"), 2);
	struct store_changes c;
	assert_int_equal(store_sync(st, "Old/inbox", 0, false, &c), STORE_OK);
	assert_int_equal(c.msg_count, 2);
	assert_string_equal(c.msgs[1].keywords, "$Work");
	assert_int_equal(
	        store_open_message(st, c.mailbox_id, c.msgs[1].uid, &fd, &size),
	        STORE_OK);
	close(fd);
	store_changes_free(&c);
	store_close(&st);
}

static void test_subscribe(void **state)
{
	struct store *st = open_store();
	assert_int_equal(store_subscribe(st, "Junk", false), STORE_OK);
	assert_int_equal(store_subscribe(st, "nonexistent/x", true), STORE_OK);
	store_close(&st);
	st = open_store();
	struct store_name_list s;
	assert_int_equal(store_subscriptions(st, &s), STORE_OK);
	assert_int_equal(s.count, 6);
	assert_string_equal(s.names[5], "nonexistent/x");
	store_name_list_free(&s);
	store_close(&st);
}

static void test_append(void **state)
{
	struct store *st = open_store();
	struct store_append_msg m[2] = {
	        {.data = "a\nb\r\nc\n",
	         .size = 7,
	         .flags = STORE_FLAG_SEEN,
	         .keywords = "$Label1 foo",
	         .internaldate = 1000000000,
	         .tz_offset_min = 120},
	        {.data = "x", .size = 1, .flags = 0xffff}};
	uint32_t uidv, uids[2];
	assert_int_equal(store_append(st, "INBOX", m, 2, &uidv, uids),
	                 STORE_OK);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 2);
	uint32_t uidv2;
	assert_int_equal(store_append(st, "nope", m, 1, &uidv2, uids),
	                 STORE_NONEXISTENT);
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &c), STORE_OK);
	assert_int_equal(c.uidvalidity, uidv);
	assert_int_equal(c.uidnext, 3);
	assert_int_equal(c.msg_count, 2);
	assert_int_equal(c.msgs[0].size, 9);
	assert_int_equal(c.msgs[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(c.msgs[0].keywords, "$Label1 foo");
	assert_int_equal(c.msgs[0].internaldate, 1000000000);
	assert_int_equal(c.msgs[0].tz_offset_min, 120);
	assert_int_equal(c.msgs[1].flags, STORE_FLAGS_ALL);
	assert_null(c.msgs[1].keywords);
	assert_int_equal(c.keyword_count, 2);
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, c.mailbox_id, 1, &fd, &size),
	                 STORE_OK);
	char buf[32];
	assert_int_equal(read(fd, buf, sizeof(buf)), 9);
	assert_memory_equal(buf, "a\r\nb\r\nc\r\n", 9);
	close(fd);
	assert_int_equal(size, 9);
	store_changes_free(&c);
	char name[PATH_MAX];
	find_file("Maildir/cur", ",U=1:", name);
	assert_non_null(strstr(name, ",S=9,U=1:2,Sab"));
	assert_int_equal(count_files("Maildir/tmp"), 0);
	store_close(&st);
}

static void test_uids_never_reused(void **state)
{
	struct store *st = open_store();
	for (int i = 0; i < 3; i++)
		append1(st, "INBOX", "m\r\n", STORE_FLAG_DELETED, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	uint32_t *exp;
	size_t n;
	assert_int_equal(store_expunge(st, id, NULL, 0, false, &exp, &n),
	                 STORE_OK);
	assert_int_equal(n, 3);
	free(exp);
	store_close(&st);
	st = open_store();
	assert_int_equal(append1(st, "INBOX", "m\r\n", 0, NULL), 4);
	store_close(&st);
	/* index loss: the floor in roost-mailbox keeps them */
	char path[PATH_MAX];
	upath(path, "index.db");
	unlink(path);
	upath(path, "index.db-wal");
	unlink(path);
	upath(path, "index.db-shm");
	unlink(path);
	st = open_store();
	assert_int_equal(append1(st, "INBOX", "m\r\n", 0, NULL), 5);
	store_close(&st);
}

static void test_uidvalidity(void **state)
{
	struct store *st = open_store();
	struct store_status_info a, b;
	assert_int_equal(store_create(st, "t", 0), STORE_OK);
	assert_int_equal(store_status(st, "t", &a), STORE_OK);
	store_close(&st);
	st = open_store();
	assert_int_equal(store_status(st, "t", &b), STORE_OK);
	assert_int_equal(a.uidvalidity, b.uidvalidity);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_delete(st, "t"), STORE_OK);
		assert_int_equal(store_create(st, "t", 0), STORE_OK);
		assert_int_equal(store_status(st, "t", &b), STORE_OK);
		assert_true(b.uidvalidity > a.uidvalidity);
		a = b;
	}
	store_close(&st);
}

static void test_sync_changes(void **state)
{
	struct store *st = open_store();
	append1(st, "INBOX", "1\r\n", 0, NULL);
	append1(st, "INBOX", "2\r\n", 0, NULL);
	append1(st, "INBOX", "3\r\n", STORE_FLAG_DELETED, NULL);
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &c), STORE_OK);
	assert_int_equal(c.msg_count, 3);
	assert_int_equal(c.expunged_count, 0);
	uint64_t since = c.highestmodseq, id = c.mailbox_id;
	store_changes_free(&c);
	uint32_t uid1 = 1, *exp;
	struct store_msg *out;
	size_t n;
	assert_int_equal(store_set_flags(st, id, &uid1, 1, STORE_FLAGS_ADD,
	                                 STORE_FLAG_FLAGGED, NULL, 0, &out, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);
	store_msg_free(&out[0]);
	free(out);
	assert_int_equal(store_expunge(st, id, NULL, 0, false, &exp, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(exp[0], 3);
	free(exp);
	append1(st, "INBOX", "4\r\n", 0, NULL);
	assert_int_equal(store_sync_id(st, id, since, false, &c), STORE_OK);
	assert_int_equal(c.msg_count, 2);
	assert_int_equal(c.msgs[0].uid, 1);
	assert_int_equal(c.msgs[0].flags, STORE_FLAG_FLAGGED);
	assert_int_equal(c.msgs[1].uid, 4);
	assert_int_equal(c.expunged_count, 1);
	assert_int_equal(c.expunged[0], 3);
	assert_true(c.highestmodseq > since);
	store_changes_free(&c);
	/* nothing new: nothing reported */
	assert_int_equal(store_sync_id(st, id, since + 100, false, &c),
	                 STORE_OK);
	assert_int_equal(c.msg_count, 0);
	store_changes_free(&c);
	assert_int_equal(store_delete(st, "Junk"), STORE_OK);
	store_close(&st);
}

static void test_recent(void **state)
{
	struct store *st = open_store();
	append1(st, "INBOX", "1\r\n", 0, NULL);
	append1(st, "INBOX", "2\r\n", 0, NULL);
	struct store_status_info si;
	assert_int_equal(store_status(st, "INBOX", &si), STORE_OK);
	assert_int_equal(si.recent, 2);
	assert_int_equal(si.unseen, 2);
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &c), STORE_OK);
	assert_int_equal(c.recent_uid, 1);
	store_changes_free(&c);
	assert_int_equal(store_sync(st, "INBOX", 0, true, &c), STORE_OK);
	assert_int_equal(c.recent_uid, 1);
	store_changes_free(&c);
	assert_int_equal(store_sync(st, "INBOX", 0, true, &c), STORE_OK);
	assert_int_equal(c.recent_uid, 3);
	store_changes_free(&c);
	assert_int_equal(store_status(st, "INBOX", &si), STORE_OK);
	assert_int_equal(si.recent, 0);
	append1(st, "INBOX", "3\r\n", 0, NULL);
	assert_int_equal(store_status(st, "INBOX", &si), STORE_OK);
	assert_int_equal(si.recent, 1);
	store_close(&st);
}

static void test_set_flags(void **state)
{
	struct store *st = open_store();
	append1(st, "INBOX", "1\r\n", 0, NULL);
	append1(st, "INBOX", "2\r\n", STORE_FLAG_SEEN, "old");
	uint64_t id = mbox_id(st, "INBOX");
	uint32_t uids[] = {1, 2, 9};
	struct store_msg *out;
	size_t n;
	assert_int_equal(store_set_flags(st, id, uids, 3, STORE_FLAGS_ADD,
	                                 STORE_FLAG_FLAGGED, "$Foo OLD", 0,
	                                 &out, &n),
	                 STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].flags, STORE_FLAG_FLAGGED);
	assert_string_equal(out[0].keywords, "old $Foo");
	assert_int_equal(out[1].flags, STORE_FLAG_FLAGGED | STORE_FLAG_SEEN);
	uint64_t modseq = out[0].modseq;
	for (size_t i = 0; i < n; i++)
		store_msg_free(&out[i]);
	free(out);
	char name[PATH_MAX];
	find_file("Maildir/cur", ",U=2:", name);
	assert_non_null(strstr(name, ":2,FSab"));
	/* unchangedsince below the modseq: nothing changes */
	assert_int_equal(store_set_flags(st, id, uids, 1, STORE_FLAGS_REPLACE,
	                                 0, NULL, modseq - 1, &out, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].flags, STORE_FLAG_FLAGGED);
	assert_int_equal(out[0].modseq, modseq);
	store_msg_free(&out[0]);
	free(out);
	assert_int_equal(store_set_flags(st, id, uids + 1, 1,
	                                 STORE_FLAGS_REMOVE, STORE_FLAG_SEEN,
	                                 "old", modseq, &out, &n),
	                 STORE_OK);
	assert_int_equal(out[0].flags, STORE_FLAG_FLAGGED);
	assert_string_equal(out[0].keywords, "$Foo");
	assert_true(out[0].modseq > modseq);
	store_msg_free(&out[0]);
	free(out);
	find_file("Maildir/cur", ",U=2:", name);
	assert_non_null(strstr(name, ":2,Fb"));
	assert_int_equal(store_set_flags(st, id, uids + 1, 1,
	                                 STORE_FLAGS_REPLACE, STORE_FLAG_DRAFT,
	                                 NULL, 0, &out, &n),
	                 STORE_OK);
	assert_null(out[0].keywords);
	store_msg_free(&out[0]);
	free(out);
	find_file("Maildir/cur", ",U=2:", name);
	assert_non_null(strstr(name, ":2,D"));
	assert_int_equal(count_files("Maildir/cur"), 2);
	store_close(&st);
}

static void test_copy_move(void **state)
{
	struct store *st = open_store();
	append1(st, "INBOX", "1\r\n", STORE_FLAG_SEEN, "k1");
	append1(st, "INBOX", "2\r\n", 0, NULL);
	append1(st, "INBOX", "3\r\n", 0, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	uint32_t uids[] = {1, 2, 7}, src[3], dst[3], uidv;
	size_t n;
	assert_int_equal(store_copy(st, id, uids, 3, "Archive", false, &uidv,
	                            src, dst, &n),
	                 STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(src[0], 1);
	assert_int_equal(dst[0], 1);
	assert_int_equal(src[1], 2);
	assert_int_equal(dst[1], 2);
	assert_int_equal(
	        store_copy(st, id, uids, 1, "nope", false, &uidv, src, dst, &n),
	        STORE_NONEXISTENT);
	uint32_t mv[] = {2, 3};
	assert_int_equal(
	        store_copy(st, id, mv, 2, "Archive", true, &uidv, src, dst, &n),
	        STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(dst[0], 3);
	assert_int_equal(dst[1], 4);
	struct store_changes c;
	assert_int_equal(store_sync(st, "Archive", 0, false, &c), STORE_OK);
	assert_int_equal(uidv, c.uidvalidity);
	assert_int_equal(c.msg_count, 4);
	assert_int_equal(c.msgs[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(c.msgs[0].keywords, "k1");
	store_changes_free(&c);
	assert_int_equal(store_sync(st, "INBOX", 1, false, &c), STORE_OK);
	assert_int_equal(c.expunged_count, 2);
	store_changes_free(&c);
	assert_int_equal(count_files("Maildir/cur"), 1);
	assert_int_equal(count_files("Maildir/.Archive/cur"), 4);
	assert_int_equal(count_files("Maildir/.Archive/tmp"), 0);
	store_close(&st);
}

static void test_expunge(void **state)
{
	struct store *st = open_store();
	for (int i = 0; i < 4; i++)
		append1(st, "INBOX", "x\r\n", i == 0 ? 0 : STORE_FLAG_DELETED,
		        NULL);
	uint64_t id = mbox_id(st, "INBOX");
	uint32_t only[] = {1, 2, 3}, *exp;
	size_t n;
	assert_int_equal(store_expunge(st, id, only, 3, true, &exp, &n),
	                 STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(exp[0], 2);
	assert_int_equal(exp[1], 3);
	free(exp);
	assert_int_equal(store_expunge(st, id, NULL, 0, false, &exp, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(exp[0], 4);
	free(exp);
	assert_int_equal(store_expunge(st, id, NULL, 0, false, &exp, &n),
	                 STORE_OK);
	assert_int_equal(n, 0);
	free(exp);
	assert_int_equal(count_files("Maildir/cur"), 1);
	struct store_quota q;
	assert_int_equal(store_get_quota(st, &q), STORE_OK);
	assert_int_equal(q.messages_used, 1);
	assert_int_equal(q.bytes_used, 3);
	store_close(&st);
}

/* store_remove takes exactly the given messages, flags or not. */
static void test_remove(void **state)
{
	struct store *st = open_store();
	assert_int_equal(store_create(st, "Pop", 0), STORE_OK);
	uint32_t u[4];
	for (int i = 0; i < 4; i++)
		u[i] = append1(st, "Pop", "x\r\n",
		               i == 1 ? STORE_FLAG_DELETED : 0, NULL);
	uint64_t id = mbox_id(st, "Pop");
	uint32_t some[] = {u[0], u[2], 999}, *gone;
	size_t n;
	assert_int_equal(store_remove(st, id, some, 3, &gone, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(gone[0], u[0]);
	assert_int_equal(gone[1], u[2]);
	free(gone);
	struct store_status_info info;
	assert_int_equal(store_status(st, "Pop", &info), STORE_OK);
	assert_int_equal(info.messages, 2);
	store_close(&st);
}

static void test_quota(void **state)
{
	set.quota_messages = 2;
	set.max_message_bytes = 100;
	struct store *st = open_store();
	append1(st, "INBOX", "1\r\n", 0, NULL);
	struct store_append_msg m[2] = {{.data = "a", .size = 1},
	                                {.data = "b", .size = 1}};
	uint32_t uidv, uids[2];
	assert_int_equal(store_append(st, "INBOX", m, 2, &uidv, uids),
	                 STORE_OVERQUOTA);
	assert_int_equal(count_files("Maildir/cur"), 1);
	assert_int_equal(count_files("Maildir/tmp"), 0);
	char big[200];
	memset(big, 'x', sizeof(big));
	m[0].data = big;
	m[0].size = sizeof(big);
	assert_int_equal(store_append(st, "INBOX", m, 1, &uidv, uids),
	                 STORE_TOOBIG);
	assert_int_equal(count_files("Maildir/tmp"), 0);
	uint32_t one = 1, src, dst;
	size_t n;
	uint64_t id = mbox_id(st, "INBOX");
	append1(st, "INBOX", "2\r\n", 0, NULL);
	assert_int_equal(store_copy(st, id, &one, 1, "Sent", false, &uidv, &src,
	                            &dst, &n),
	                 STORE_OVERQUOTA);
	assert_int_equal(count_files("Maildir/.Sent/tmp"), 0);
	assert_int_equal(count_files("Maildir/.Sent/cur"), 0);
	struct store_quota q;
	assert_int_equal(store_get_quota(st, &q), STORE_OK);
	assert_int_equal(q.messages_used, 2);
	assert_int_equal(q.messages_limit, 2);
	store_close(&st);
}

static void test_new_dir(void **state)
{
	struct store *st = open_store();
	append1(st, "INBOX", "1\r\n", 0, "kw");
	char path[PATH_MAX];
	upath(path, "Maildir/new/1700000000.P1.other:2,FSa");
	const char *text = "Subject: hi\n\nbody\n";
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
	upath(path, "Maildir/new/1700000001.P2.other");
	assert_int_equal(write_file_atomic(path, "x\r\n", 3, 0600), 0);
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, true, &c), STORE_OK);
	assert_int_equal(c.msg_count, 3);
	assert_int_equal(c.msgs[1].uid, 2);
	assert_int_equal(c.msgs[1].flags, STORE_FLAG_FLAGGED | STORE_FLAG_SEEN);
	assert_string_equal(c.msgs[1].keywords, "kw");
	assert_int_equal(c.msgs[1].size, strlen(text) + 3);
	assert_int_equal(c.msgs[2].size, 3);
	assert_int_equal(count_files("Maildir/new"), 0);
	assert_int_equal(count_files("Maildir/cur"), 3);
	assert_int_equal(count_files("Maildir/tmp"), 0);
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, c.mailbox_id, 2, &fd, &size),
	                 STORE_OK);
	assert_int_equal(size, strlen(text) + 3);
	close(fd);
	store_changes_free(&c);
	store_close(&st);
}

/* A store with some state to compare after a rebuild. */
static void fill_store(struct store *st)
{
	assert_int_equal(store_create(st, "Work/Projects", STORE_USE_FLAGGED),
	                 STORE_OK);
	assert_int_equal(store_subscribe(st, "Work/Projects", true), STORE_OK);
	assert_int_equal(store_subscribe(st, "Trash", false), STORE_OK);
	append1(st, "Work/Projects", "a\r\n", STORE_FLAG_ANSWERED, "$x");
	append1(st, "Work/Projects", "b\r\n", STORE_FLAG_DELETED, NULL);
	append1(st, "Work/Projects", "c\r\n", STORE_FLAG_SEEN, "$y $x");
	uint64_t id = mbox_id(st, "Work/Projects");
	uint32_t *exp;
	size_t n;
	assert_int_equal(store_expunge(st, id, NULL, 0, false, &exp, &n),
	                 STORE_OK);
	free(exp);
}

static void check_store(struct store *st, uint32_t uidvalidity)
{
	struct store_changes c;
	assert_int_equal(store_sync(st, "Work/Projects", 0, false, &c),
	                 STORE_OK);
	assert_int_equal(c.uidvalidity, uidvalidity);
	assert_int_equal(c.uidnext, 4);
	assert_int_equal(c.msg_count, 2);
	assert_int_equal(c.msgs[0].uid, 1);
	assert_int_equal(c.msgs[0].flags, STORE_FLAG_ANSWERED);
	assert_string_equal(c.msgs[0].keywords, "$x");
	assert_int_equal(c.msgs[1].uid, 3);
	assert_int_equal(c.msgs[1].flags, STORE_FLAG_SEEN);
	assert_string_equal(c.msgs[1].keywords, "$x $y");
	assert_int_equal(c.msgs[1].size, 3);
	store_changes_free(&c);
	struct store_mailbox_list l;
	assert_int_equal(store_list(st, &l), STORE_OK);
	assert_int_equal(l.count, 8);
	const struct store_mailbox_info *i = find_mailbox(&l, "Work/Projects");
	assert_int_equal(i->special_use, STORE_USE_FLAGGED);
	assert_true(i->subscribed);
	assert_false(find_mailbox(&l, "Trash")->subscribed);
	assert_int_equal(find_mailbox(&l, "Sent")->special_use, STORE_USE_SENT);
	store_mailbox_list_free(&l);
	assert_int_equal(append1(st, "Work/Projects", "d\r\n", 0, NULL), 4);
}

static uint32_t uidvalidity_of(struct store *st, const char *name)
{
	struct store_status_info si;
	assert_int_equal(store_status(st, name, &si), STORE_OK);
	return si.uidvalidity;
}

static void remove_index(bool garbage)
{
	static const char *const names[] = {"index.db", "index.db-wal",
	                                    "index.db-shm"};
	char path[PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		upath(path, names[i]);
		unlink(path);
	}
	if (garbage) {
		upath(path, "index.db");
		char junk[8192];
		memset(junk, 'G', sizeof(junk));
		assert_int_equal(
		        write_file_atomic(path, junk, sizeof(junk), 0600), 0);
	}
}

static void test_index_loss(void **state)
{
	struct store *st = open_store();
	fill_store(st);
	uint32_t uidv = uidvalidity_of(st, "Work/Projects");
	store_close(&st);
	remove_index(false);
	st = open_store();
	check_store(st, uidv);
	store_close(&st);
}

/* A lost index is rebuilt with modseqs above the old ones, even when
 * it was built, changed many times and lost within the same second:
 * a client's cached modseq must never be ahead of the mailbox. */
static void test_index_loss_modseq(void **state)
{
	struct store *st = open_store();
	uint32_t uid = append1(st, "INBOX", "x\r\n", 0, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	for (int i = 0; i < 20; i++) {
		struct store_msg *res = NULL;
		size_t n = 0;
		assert_int_equal(store_set_flags(st, id, &uid, 1,
		                                 i % 2 ? STORE_FLAGS_REMOVE
		                                       : STORE_FLAGS_ADD,
		                                 STORE_FLAG_FLAGGED, NULL, 0,
		                                 &res, &n),
		                 STORE_OK);
		for (size_t k = 0; k < n; k++)
			store_msg_free(&res[k]);
		free(res);
	}
	struct store_status_info before, after;
	assert_int_equal(store_status(st, "INBOX", &before), STORE_OK);
	store_close(&st);
	remove_index(false);
	st = open_store();
	assert_int_equal(store_status(st, "INBOX", &after), STORE_OK);
	assert_true(after.highestmodseq > before.highestmodseq);
	store_close(&st);
}

static void test_index_corrupt(void **state)
{
	struct store *st = open_store();
	fill_store(st);
	uint32_t uidv = uidvalidity_of(st, "Work/Projects");
	store_close(&st);
	remove_index(true);
	st = open_store();
	check_store(st, uidv);
	store_close(&st);
	char name[PATH_MAX];
	find_file("", "index.db.corrupt-", name);
	assert_true(name[0] != '\0');
}

static void test_reindex(void **state)
{
	struct store *st = open_store();
	fill_store(st);
	uint32_t uidv = uidvalidity_of(st, "Work/Projects");
	uint64_t id = mbox_id(st, "Work/Projects");
	assert_int_equal(store_reindex(&set, "alice"), STORE_OK);
	/* the open handle sees the rebuilt index, with the same ids */
	assert_int_equal(mbox_id(st, "Work/Projects"), id);
	check_store(st, uidv);
	store_close(&st);
	assert_int_equal(store_reindex(&set, "a/b"), STORE_BADNAME);
}

/* Write a file at rel (as another program would) with mtime. */
static void put_file(const char *rel, const char *text, int64_t mtime)
{
	char path[PATH_MAX];
	upath(path, rel);
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
	struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_reindex_uid_order(void **state)
{
	struct store *st = open_store();
	assert_int_equal(append1(st, "INBOX", "kept\r\n", 0, NULL), 1);
	store_close(&st);
	/* names (and so readdir order) disagree with the dates */
	put_file("Maildir/cur/m1.other:2,", "1\r\n", 1700003000);
	put_file("Maildir/cur/m2.other:2,", "2\r\n", 1700001000);
	put_file("Maildir/cur/m3.other:2,S", "3\r\n", 1700002000);
	put_file("Maildir/cur/m4.other", "4\r\n", 1700001000);
	assert_int_equal(store_reindex(&set, "alice"), STORE_OK);
	/* by date, then (m2, m4 share one) by name, above the kept UID */
	static const char *const order[] = {"m2.other", "m4.other", "m3.other",
	                                    "m1.other"};
	static const int64_t dates[] = {1700001000, 1700001000, 1700002000,
	                                1700003000};
	char name[PATH_MAX], want[32];
	for (size_t i = 0; i < 4; i++) {
		find_file("Maildir/cur", order[i], name);
		snprintf(want, sizeof(want), ",U=%zu:", i + 2);
		assert_non_null(strstr(name, want));
	}
	find_file("Maildir/cur", ",U=1:", name);
	assert_true(name[0] != '\0');
	st = open_store();
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &c), STORE_OK);
	assert_int_equal(c.msg_count, 5);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(c.msgs[i + 1].uid, i + 2);
		assert_int_equal(c.msgs[i + 1].internaldate, dates[i]);
	}
	assert_int_equal(c.msgs[3].flags, STORE_FLAG_SEEN);
	store_changes_free(&c);
	store_close(&st);
}

/* Message uid's bytes are want (a C string), with that size. */
static void check_bytes(struct store *st, uint64_t id, uint32_t uid,
                        const char *want)
{
	size_t n;
	char *got = read_message(st, id, uid, &n);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(got, want, n);
	free(got);
}

/* A rebuild from another program's Maildir (Dovecot's: LF line ends,
 * no ",U=") makes its files CR LF, keeping dates and flags. */
static void check_foreign(void)
{
	struct store *st = open_store();
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &c), STORE_OK);
	assert_int_equal(c.msg_count, 4);
	/* ours: trusted to be CR LF already, so not read */
	assert_int_equal(c.msgs[0].uid, 9);
	assert_int_equal(c.msgs[0].size, 4);
	assert_int_equal(c.msgs[1].uid, 10);
	assert_int_equal(c.msgs[1].size, 20);
	assert_int_equal(c.msgs[1].flags, STORE_FLAG_SEEN);
	assert_int_equal(c.msgs[1].internaldate, 1700000001);
	check_bytes(st, c.mailbox_id, 10, "Subject: a\r\n\r\nline\r\n");
	assert_int_equal(c.msgs[2].uid, 11);
	assert_int_equal(c.msgs[2].flags,
	                 STORE_FLAG_FLAGGED | STORE_FLAG_DELETED);
	assert_int_equal(c.msgs[2].internaldate, 1700000002);
	assert_int_equal(c.msgs[2].size, 24);
	check_bytes(st, c.mailbox_id, 11, "Subject: b\r\n\r\nmixed\r\nend");
	assert_int_equal(c.msgs[3].uid, 12);
	check_bytes(st, c.mailbox_id, 12, "ok\r\n");
	store_changes_free(&c);
	store_close(&st);
	char name[PATH_MAX];
	find_file("Maildir/cur", "1700000003.M3P3.dove,U=12:", name);
	assert_true(name[0] != '\0'); /* had no bare LF: kept its key */
	assert_int_equal(count_files("Maildir/cur"), 4);
	assert_int_equal(count_files("Maildir/tmp"), 0);
}

static void test_reindex_foreign_lf(void **state)
{
	char path[PATH_MAX];
	upath(path, "Maildir/cur");
	assert_int_equal(mkdir_p(path, 0700), 0);
	put_file("Maildir/cur/1700000001.M1P1.dove,S=17,W=20:2,S",
	         "Subject: a\n\nline\n", 1700000001);
	put_file("Maildir/cur/1700000002.M2P2.dove:2,FT",
	         "Subject: b\r\n\r\nmixed\nend", 1700000002);
	put_file("Maildir/cur/1700000003.M3P3.dove:2,", "ok\r\n", 1700000003);
	put_file("Maildir/cur/1700000000.M0P0.roost,S=4,U=9:2,", "x\ny\n",
	         1700000000);
	assert_int_equal(store_reindex(&set, "alice"), STORE_OK);
	check_foreign();
	/* the rewritten files kept their mtimes: a second rebuild agrees */
	assert_int_equal(store_reindex(&set, "alice"), STORE_OK);
	check_foreign();
}

static void test_roll_forward(void **state)
{
	struct store *st = open_store();
	uint32_t uid = append1(st, "INBOX", "hello\r\n", STORE_FLAG_SEEN, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	store_close(&st);
	/* as if the server died between the commit and the rename */
	char name[PATH_MAX], from[PATH_MAX], to[PATH_MAX], rel[PATH_MAX];
	find_file("Maildir/cur", ",U=1:", name);
	snprintf(rel, sizeof(rel), "Maildir/cur/%s", name);
	upath(from, rel);
	*strstr(name, ",U=") = '\0';
	snprintf(rel, sizeof(rel), "Maildir/tmp/%s", name);
	upath(to, rel);
	assert_int_equal(rename(from, to), 0);
	st = open_store();
	assert_int_equal(count_files("Maildir/tmp"), 0);
	assert_int_equal(count_files("Maildir/cur"), 1);
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, id, uid, &fd, &size), STORE_OK);
	assert_int_equal(size, 7);
	close(fd);
	/* a file that is nowhere: the row goes */
	find_file("Maildir/cur", ",U=1:", name);
	snprintf(rel, sizeof(rel), "Maildir/cur/%s", name);
	upath(from, rel);
	assert_int_equal(unlink(from), 0);
	assert_int_equal(store_open_message(st, id, uid, &fd, &size),
	                 STORE_NONEXISTENT);
	struct store_status_info si;
	assert_int_equal(store_status(st, "INBOX", &si), STORE_OK);
	assert_int_equal(si.messages, 0);
	store_close(&st);
}

/* A reader that finds the file under another name (a STORE renaming it
 * to newer flags than the reader's row has) reads it there and leaves
 * the name alone: only writers repair names. */
static void test_reader_leaves_name(void **state)
{
	struct store *st = open_store();
	uint32_t uid = append1(st, "INBOX", "hello\r\n", 0, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	char name[PATH_MAX], from[PATH_MAX], to[PATH_MAX], rel[PATH_MAX];
	find_file("Maildir/cur", ",U=1:", name);
	snprintf(rel, sizeof(rel), "Maildir/cur/%s", name);
	upath(from, rel);
	snprintf(rel, sizeof(rel), "Maildir/cur/%sF", name);
	upath(to, rel);
	assert_int_equal(rename(from, to), 0);
	int fd;
	uint64_t size;
	assert_int_equal(store_open_message(st, id, uid, &fd, &size), STORE_OK);
	assert_int_equal(size, 7);
	close(fd);
	assert_int_equal(access(to, F_OK), 0);
	assert_int_not_equal(access(from, F_OK), 0);
	store_close(&st);
}

static void test_big_mailbox(void **state)
{
	struct store *st = open_store();
	enum { N = 2000, BATCH = 500 };
	struct store_append_msg m[BATCH];
	uint32_t uidv, uids[BATCH];
	for (size_t i = 0; i < BATCH; i++)
		m[i] = (struct store_append_msg){.data = "x\r\n", .size = 3};
	for (int b = 0; b < N / BATCH; b++)
		assert_int_equal(
		        store_append(st, "INBOX", m, BATCH, &uidv, uids),
		        STORE_OK);
	uint64_t t0 = time_now_ms();
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, true, &c), STORE_OK);
	assert_int_equal(c.msg_count, N);
	assert_true(time_now_ms() - t0 < 1000);
	store_changes_free(&c);
	store_close(&st);
}

/* More than the 64 KiB write buffer: a leading LF, lines ending in LF
 * and in CR LF, a line longer than the buffer, a trailing CR. */
static size_t mixed_text(char *text)
{
	size_t n = 0;
	text[n++] = '\n';
	for (int i = 0; n < 100000; i++)
		n += (size_t)sprintf(text + n,
		                     i % 3 ? "line %d\n" : "line %d\r\n", i);
	memset(text + n, 'x', 70000);
	n += 70000;
	static const char tail[] = "\n\r\n\n\r\r\nend\r";
	memcpy(text + n, tail, sizeof(tail) - 1);
	return n + sizeof(tail) - 1;
}

static void test_append_large_mixed(void **state)
{
	char *text = malloc(200000), *want = malloc(400000);
	assert_non_null(text);
	assert_non_null(want);
	size_t n = mixed_text(text), want_n = crlf_ref(text, n, want);
	struct store *st = open_store();
	struct store_append_msg m = {.data = text, .size = n};
	uint32_t uidv, uid;
	assert_int_equal(store_append(st, "INBOX", &m, 1, &uidv, &uid),
	                 STORE_OK);
	struct store_changes c;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &c), STORE_OK);
	assert_int_equal(c.msg_count, 1);
	assert_int_equal(c.msgs[0].size, want_n);
	size_t got_n;
	char *got = read_message(st, c.mailbox_id, uid, &got_n);
	assert_int_equal(got_n, want_n);
	assert_memory_equal(got, want, want_n);
	free(got);
	store_changes_free(&c);
	/* a write error (here: past the file size limit) fails the APPEND
	 * and leaves nothing in tmp/ */
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 100000;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	enum store_status ret = store_append(st, "INBOX", &m, 1, &uidv, &uid);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(ret, STORE_ERROR);
	assert_int_equal(count_files("Maildir/tmp"), 0);
	store_close(&st);
	free(text);
	free(want);
}

/* A message smaller than the buffer goes out in one write(): a
 * SOCK_SEQPACKET socket keeps each write() a record of its own. */
static void test_write_crlf(void **state)
{
	char text[4096], want[8192], got[16384];
	size_t n = 0;
	for (int i = 0; n < sizeof(text) - 64; i++)
		n += (size_t)sprintf(text + n,
		                     i % 2 ? "line %d\n" : "line %d\r\n", i);
	size_t want_n = crlf_ref(text, n, want);
	int sv[2];
	/* non-blocking, so that many small writes fail (EAGAIN) once the
	 * socket's buffer is full instead of hanging the test */
	assert_int_equal(
	        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(store_write_crlf(sv[0], (unsigned char *)text, n), 0);
	close(sv[0]);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), (ssize_t)want_n);
	assert_memory_equal(got, want, want_n);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), 0);
	close(sv[1]);
	/* errors keep their errno, at the last flush and at one on the way */
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(store_write_crlf(fd, (unsigned char *)text, n), -1);
	assert_int_equal(errno, ENOSPC);
	char *big = malloc(200000);
	assert_non_null(big);
	n = mixed_text(big);
	assert_int_equal(store_write_crlf(fd, (unsigned char *)big, n), -1);
	assert_int_equal(errno, ENOSPC);
	free(big);
	close(fd);
}

/* ---- what the message model stores with a message ---- */

/* text goes in as body text; its header text is "subject: " + blob */
static void put_cache(struct store *st, uint64_t id, uint32_t uid,
                      const char *blob, const char *text)
{
	char header[128];
	snprintf(header, sizeof(header), "subject: %s", blob);
	struct store_cache_entry e = {
	        .uid = uid,
	        .data = blob,
	        .len = strlen(blob),
	        .header_text = text != NULL ? header : NULL,
	        .header_len = text != NULL ? strlen(header) : 0,
	        .body_text = text,
	        .body_len = text != NULL ? strlen(text) : 0,
	};
	assert_int_equal(store_cache_put(st, id, &e, 1), STORE_OK);
	/* pending texts are candidates for any needle: index them now */
	assert_int_equal(store_text_flush(st), STORE_OK);
}

static void expect_in(struct store *st, uint64_t id, const char *needle,
                      enum store_text_part part, const uint32_t *want, size_t n)
{
	uint32_t *uids;
	size_t count;
	bool all;
	assert_int_equal(store_text_candidates(st, id, needle, part, &uids,
	                                       &count, &all),
	                 STORE_OK);
	assert_false(all);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(uids[i], want[i]);
	free(uids);
}

static void expect_candidates(struct store *st, uint64_t id, const char *needle,
                              const uint32_t *want, size_t n)
{
	expect_in(st, id, needle, STORE_TEXT_BODY, want, n);
}

/* Long and 8-bit needles, and what header and body text each answer. */
static void check_text_columns(struct store *st, uint64_t inbox, uint32_t a,
                               uint32_t c)
{
	/* a long needle (more characters than the query takes) and 8-bit */
	put_cache(st, inbox, c, "blob-c",
	          "h\xc3\xa9llo w\xc3\xb6rld, this is a fairly long sentence "
	          "that goes on and on for more than sixty-four characters");
	expect_candidates(st, inbox,
	                  "this is a fairly long sentence that goes on and on "
	                  "for more than sixty-four characters",
	                  (uint32_t[]){c}, 1);
	expect_candidates(st, inbox, "\xc3\xa9llo w\xc3\xb6", (uint32_t[]){c},
	                  1);
	expect_candidates(st, inbox, "brown", (uint32_t[]){a}, 1);
	/* header text is found only when not searching the body alone */
	expect_in(st, inbox, "subject: blob-a", STORE_TEXT_ALL, (uint32_t[]){a},
	          1);
	expect_in(st, inbox, "subject: blob-a", STORE_TEXT_BODY, NULL, 0);
	expect_in(st, inbox, "subject: blob-a", STORE_TEXT_HEADER,
	          (uint32_t[]){a}, 1);
	expect_in(st, inbox, "brown", STORE_TEXT_HEADER, NULL, 0);
	char *h, *bt;
	size_t hl, bl;
	assert_int_equal(store_text_get(st, inbox, a, &h, &hl, &bt, &bl),
	                 STORE_OK);
	assert_string_equal(h, "subject: blob-a");
	assert_string_equal(bt, "the quick brown fox");
	assert_int_equal(bl, strlen(bt));
	free(h);
	free(bt);
}

static void test_cache_and_text(void **state)
{
	struct store *st = open_store();
	uint64_t inbox = mbox_id(st, "INBOX");
	uint32_t a = append1(st, "INBOX", "Subject: a\r\n\r\nx\r\n", 0, NULL);
	uint32_t b = append1(st, "INBOX", "Subject: b\r\n\r\ny\r\n", 0, NULL);
	uint32_t c = append1(st, "INBOX", "Subject: c\r\n\r\nz\r\n", 0, NULL);
	void *data;
	size_t len;
	assert_int_equal(store_cache_get(st, inbox, a, &data, &len), STORE_OK);
	assert_null(data);
	put_cache(st, inbox, a, "blob-a", "the quick brown fox");
	put_cache(st, inbox, b, "blob-b", "lazy dogs \"sleep\"");
	put_cache(st, inbox, 999, "nobody", "no such message"); /* skipped */
	assert_int_equal(store_cache_get(st, inbox, a, &data, &len), STORE_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "blob-a", 6);
	free(data);
	/* c has no text yet: always a candidate */
	expect_candidates(st, inbox, "brown", (uint32_t[]){a, c}, 2);
	expect_candidates(st, inbox, "\"sleep", (uint32_t[]){b, c}, 2);
	expect_candidates(st, inbox, "nothing here", (uint32_t[]){c}, 1);
	check_text_columns(st, inbox, a, c);
	/* replacing an entry replaces its text */
	put_cache(st, inbox, a, "blob-a2", "slow red fox");
	expect_candidates(st, inbox, "brown", NULL, 0);
	uint32_t *uids;
	size_t n;
	bool all;
	assert_int_equal(store_text_candidates(st, inbox, "ox", STORE_TEXT_BODY,
	                                       &uids, &n, &all),
	                 STORE_OK);
	assert_true(all);
	/* expunging drops both */
	struct store_msg *res;
	size_t rn;
	assert_int_equal(store_set_flags(st, inbox, &b, 1, STORE_FLAGS_ADD,
	                                 STORE_FLAG_DELETED, NULL, 0, &res,
	                                 &rn),
	                 STORE_OK);
	for (size_t i = 0; i < rn; i++)
		store_msg_free(&res[i]);
	free(res);
	uint32_t *gone;
	assert_int_equal(store_expunge(st, inbox, NULL, 0, false, &gone, &rn),
	                 STORE_OK);
	free(gone);
	assert_int_equal(store_cache_get(st, inbox, b, &data, &len), STORE_OK);
	assert_null(data);
	expect_candidates(st, inbox, "sleep", NULL, 0);
	store_close(&st);
}

static void expect_blob(struct store *st, uint64_t id, uint32_t uid,
                        const char *want)
{
	void *data;
	size_t len;
	assert_int_equal(store_cache_get(st, id, uid, &data, &len), STORE_OK);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
	free(data);
}

/* A text waiting for the trigram index is a candidate of every search
 * (its text is found like any other), until the batch is indexed. */
static void test_text_unindexed(void **state)
{
	struct store *st = open_store();
	uint64_t inbox = mbox_id(st, "INBOX");
	uint32_t a = append1(st, "INBOX", "S: a\r\n\r\nx\r\n", 0, NULL);
	put_cache(st, inbox, a, "blob-a", "indexed words");
	struct store_cache_entry e = {.body_text = "waiting words",
	                              .body_len = 13};
	struct store_append_msg m = {
	        .data = "S: b\r\n\r\ny\r\n", .size = 11, .cache = &e};
	uint32_t uidv, b;
	assert_int_equal(store_append(st, "INBOX", &m, 1, &uidv, &b), STORE_OK);
	expect_candidates(st, inbox, "nowhere", (uint32_t[]){b}, 1);
	expect_candidates(st, inbox, "words", (uint32_t[]){a, b}, 2);
	char *h, *t;
	size_t hl, tl;
	assert_int_equal(store_text_get(st, inbox, b, &h, &hl, &t, &tl),
	                 STORE_OK);
	assert_string_equal(t, "waiting words");
	free(h);
	free(t);
	assert_int_equal(store_text_flush(st), STORE_OK);
	expect_candidates(st, inbox, "nowhere", NULL, 0);
	expect_candidates(st, inbox, "waiting", (uint32_t[]){b}, 1);
	store_close(&st);
}

/* Derived data given to APPEND is kept with the message, each half can
 * be replaced alone, and COPY and MOVE carry both. */
static void test_cache_append_copy(void **state)
{
	struct store *st = open_store();
	uint64_t inbox = mbox_id(st, "INBOX");
	assert_int_equal(store_create(st, "Derived", 0), STORE_OK);
	uint64_t archive = mbox_id(st, "Derived");
	struct store_cache_entry e = {.data = "blob",
	                              .len = 4,
	                              .body_text = "hello world",
	                              .body_len = 11};
	struct store_append_msg m = {
	        .data = "S: x\r\n\r\nhi\r\n", .size = 11, .cache = &e};
	uint32_t uidv, uid;
	assert_int_equal(store_append(st, "INBOX", &m, 1, &uidv, &uid),
	                 STORE_OK);
	assert_int_equal(store_text_flush(st), STORE_OK);
	expect_blob(st, inbox, uid, "blob");
	expect_candidates(st, inbox, "hello", (uint32_t[]){uid}, 1);
	/* a message appended without is missing its derived data */
	uint32_t bare = append1(st, "INBOX", "S: y\r\n\r\nho\r\n", 0, NULL);
	uint32_t *missing;
	size_t mn;
	assert_int_equal(store_cache_missing(st, inbox, &missing, &mn),
	                 STORE_OK);
	assert_int_equal(mn, 1);
	assert_int_equal(missing[0], bare);
	free(missing);
	put_cache(st, inbox, bare, "b", "zzz");
	assert_int_equal(store_cache_missing(st, inbox, &missing, &mn),
	                 STORE_OK);
	assert_int_equal(mn, 0);
	free(missing);
	/* text alone, then blob alone */
	struct store_cache_entry t = {
	        .uid = uid, .body_text = "goodbye", .body_len = 7};
	assert_int_equal(store_cache_put(st, inbox, &t, 1), STORE_OK);
	assert_int_equal(store_text_flush(st), STORE_OK);
	expect_blob(st, inbox, uid, "blob");
	expect_candidates(st, inbox, "hello", NULL, 0);
	struct store_cache_entry b = {.uid = uid, .data = "blob2", .len = 5};
	assert_int_equal(store_cache_put(st, inbox, &b, 1), STORE_OK);
	expect_blob(st, inbox, uid, "blob2");
	expect_candidates(st, inbox, "goodbye", (uint32_t[]){uid}, 1);
	uint32_t src, dst[2];
	size_t n;
	assert_int_equal(store_copy(st, inbox, &uid, 1, "Derived", false, &uidv,
	                            &src, &dst[0], &n),
	                 STORE_OK);
	assert_int_equal(store_copy(st, inbox, &uid, 1, "Derived", true, &uidv,
	                            &src, &dst[1], &n),
	                 STORE_OK);
	for (size_t i = 0; i < 2; i++)
		expect_blob(st, archive, dst[i], "blob2");
	assert_int_equal(store_text_flush(st), STORE_OK);
	expect_candidates(st, archive, "goodbye", dst, 2);
	expect_candidates(st, inbox, "goodbye", NULL, 0);
	store_close(&st);
}

/* Turn the index back into an older version's with sql. */
static void downgrade(const char *sql)
{
	char path[PATH_MAX];
	upath(path, "index.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Schema 4 back to 2: no index of expunges by modseq; the blob and the
 * text flag in message_cache, the text in a trigram index that keeps its
 * own copy. */
#define TO_V2                                                                  \
	"DROP INDEX expunged_modseq;"                                          \
	"CREATE TABLE message_cache (mailbox_id INTEGER NOT NULL,"             \
	" uid INTEGER NOT NULL, data BLOB NOT NULL,"                           \
	" has_text INTEGER NOT NULL, PRIMARY KEY (mailbox_id, uid))"           \
	" WITHOUT ROWID;"                                                      \
	"INSERT INTO message_cache SELECT id >> 32, id & 4294967295, data,"    \
	" 1 FROM derived;"                                                     \
	"DROP TABLE message_text;"                                             \
	"CREATE VIRTUAL TABLE message_text USING fts5(header, body,"           \
	" tokenize = 'trigram', detail = 'column');"                           \
	"INSERT INTO message_text (rowid, header, body)"                       \
	" SELECT id, header, body FROM text_store;"                            \
	"DROP INDEX message_notext; ALTER TABLE message DROP COLUMN has_text;" \
	"DROP TABLE derived; DROP TABLE text_store;"                           \
	"DROP TABLE text_unindexed;"                                           \
	"PRAGMA user_version = 2;"

/* Indexes of schema versions 1 and 2 are brought up to date and keep
 * their data, derived data included. */
static void test_schema_migration(void **state)
{
	struct store *st = open_store();
	uint32_t uid = append1(st, "INBOX", "Subject: m\r\n\r\nm\r\n",
	                       STORE_FLAG_FLAGGED, NULL);
	uint64_t inbox = mbox_id(st, "INBOX");
	put_cache(st, inbox, uid, "blob", "migrated text");
	store_close(&st);
	downgrade(TO_V2);
	st = open_store();
	expect_blob(st, inbox, uid, "blob");
	expect_candidates(st, inbox, "migrated", (uint32_t[]){uid}, 1);
	store_close(&st);
	downgrade(TO_V2 "DROP TABLE message_cache; DROP TABLE message_text;"
	                "PRAGMA user_version = 1;");
	st = open_store();
	struct store_changes ch;
	assert_int_equal(store_sync(st, "INBOX", 0, false, &ch), STORE_OK);
	assert_int_equal(ch.msg_count, 1);
	assert_int_equal(ch.msgs[0].uid, uid);
	assert_int_equal(ch.msgs[0].flags, STORE_FLAG_FLAGGED);
	store_changes_free(&ch);
	/* a sync since a modseq reads expunges by the new index */
	assert_int_equal(store_sync(st, "INBOX", 1, false, &ch), STORE_OK);
	store_changes_free(&ch);
	void *data;
	size_t len;
	assert_int_equal(store_cache_get(st, inbox, uid, &data, &len),
	                 STORE_OK);
	assert_null(data);
	put_cache(st, inbox, uid, "blob", "migrated text");
	store_text_flush(st);
	expect_candidates(st, inbox, "migrated", (uint32_t[]){uid}, 1);
	store_close(&st);
}

/* The modseq the mailbox is at. */
static uint64_t highestmodseq_of(struct store *st, const char *name)
{
	struct store_status_info info;
	assert_int_equal(store_status(st, name, &info), STORE_OK);
	return info.highestmodseq;
}

static void assert_expunged_since(struct store *st, uint64_t id, uint64_t since,
                                  bool complete, const uint32_t *want, size_t n)
{
	uint32_t *uids = NULL;
	size_t count = 99;
	bool all = !complete;
	assert_int_equal(
	        store_expunged_since(st, id, since, &uids, &count, &all),
	        STORE_OK);
	assert_int_equal(all, complete);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(uids[i], want[i]);
	free(uids);
}

/* QRESYNC: every way a message leaves a mailbox (EXPUNGE, MOVE, POP3's
 * removal) raises its modseq and is recorded with it. */
static void test_expunged_since(void **state)
{
	struct store *st = open_store();
	for (int i = 0; i < 5; i++)
		append1(st, "INBOX", "x\r\n", i == 1 ? STORE_FLAG_DELETED : 0,
		        NULL);
	uint64_t id = mbox_id(st, "INBOX");
	uint64_t h0 = highestmodseq_of(st, "INBOX");
	uint32_t *gone, mv = 3, rm = 4, src[1], dst[1], uidv;
	size_t n;
	assert_expunged_since(st, id, h0, true, NULL, 0);
	assert_int_equal(store_expunge(st, id, NULL, 0, false, &gone, &n),
	                 STORE_OK);
	free(gone);
	uint64_t h1 = highestmodseq_of(st, "INBOX");
	assert_true(h1 > h0);
	assert_int_equal(
	        store_copy(st, id, &mv, 1, "Trash", true, &uidv, src, dst, &n),
	        STORE_OK);
	uint64_t h2 = highestmodseq_of(st, "INBOX");
	assert_true(h2 > h1);
	assert_int_equal(store_remove(st, id, &rm, 1, &gone, &n), STORE_OK);
	free(gone);
	uint64_t h3 = highestmodseq_of(st, "INBOX");
	assert_true(h3 > h2);
	const uint32_t all[] = {2, 3, 4};
	assert_expunged_since(st, id, h0, true, all, 3);
	assert_expunged_since(st, id, h1, true, all + 1, 2);
	assert_expunged_since(st, id, h2, true, all + 2, 1);
	assert_expunged_since(st, id, h3, true, NULL, 0);
	bool complete;
	assert_int_equal(
	        store_expunged_since(st, 999, h0, &gone, &n, &complete),
	        STORE_NONEXISTENT);
	store_close(&st);
}

/* After a rebuild the expunges before it are gone from the index: the
 * store says so, for resync from a modseq before it, and its modseqs
 * go on above the old ones. */
static void test_expunge_history_after_reindex(void **state)
{
	struct store *st = open_store();
	for (int i = 0; i < 3; i++)
		append1(st, "INBOX", "x\r\n", 0, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	uint64_t h0 = highestmodseq_of(st, "INBOX");
	uint32_t two = 2, *gone;
	size_t n;
	assert_int_equal(store_remove(st, id, &two, 1, &gone, &n), STORE_OK);
	free(gone);
	uint64_t h1 = highestmodseq_of(st, "INBOX");
	assert_int_equal(store_reindex(&set, "alice"), STORE_OK);
	uint64_t h2 = highestmodseq_of(st, "INBOX");
	assert_true(h2 > h1);
	assert_expunged_since(st, id, h0, false, NULL, 0);
	assert_expunged_since(st, id, h1, false, NULL, 0);
	assert_expunged_since(st, id, h2, true, NULL, 0);
	struct store_changes c;
	assert_int_equal(store_sync_id(st, id, h1, false, &c), STORE_OK);
	assert_true(c.expunges_unknown);
	assert_int_equal(c.msg_count, 2); /* all changed by the rebuild */
	store_changes_free(&c);
	assert_int_equal(store_sync_id(st, id, h2, false, &c), STORE_OK);
	assert_false(c.expunges_unknown);
	assert_int_equal(c.msg_count, 0);
	store_changes_free(&c);
	/* new expunges are recorded again */
	uint32_t three = 3;
	assert_int_equal(store_remove(st, id, &three, 1, &gone, &n), STORE_OK);
	free(gone);
	assert_expunged_since(st, id, h2, true, &three, 1);
	assert_int_equal(store_sync_id(st, id, h2, false, &c), STORE_OK);
	assert_false(c.expunges_unknown);
	assert_int_equal(c.expunged_count, 1);
	store_changes_free(&c);
	store_close(&st);
}

/* UNCHANGEDSINCE per message; 0 fails; a change that changes nothing
 * keeps the modseq (RFC 7162 3.1.11). */
static void test_set_flags_if(void **state)
{
	struct store *st = open_store();
	for (int i = 0; i < 3; i++)
		append1(st, "INBOX", "x\r\n", STORE_FLAG_SEEN, NULL);
	uint64_t id = mbox_id(st, "INBOX");
	uint64_t h0 = highestmodseq_of(st, "INBOX");
	uint32_t uids[] = {1, 2, 3, 7};
	uint64_t limits[] = {h0, 0, h0 - 1, h0};
	struct store_msg *out;
	bool *failed;
	size_t n;
	assert_int_equal(store_set_flags_if(st, id, uids, limits, 4,
	                                    STORE_FLAGS_ADD, STORE_FLAG_FLAGGED,
	                                    NULL, &out, &failed, &n),
	                 STORE_OK);
	assert_int_equal(n, 3);
	assert_false(failed[0]);
	assert_int_equal(out[0].flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_true(out[0].modseq > h0);
	assert_true(failed[1]);
	assert_int_equal(out[1].flags, STORE_FLAG_SEEN);
	assert_true(out[1].modseq <= h0);
	/* message 3 was appended last, at h0: above h0 - 1 */
	assert_true(failed[2]);
	assert_int_equal(out[2].modseq, h0);
	uint64_t h1 = out[0].modseq;
	for (size_t i = 0; i < n; i++)
		store_msg_free(&out[i]);
	free(out);
	free(failed);
	/* \Seen is set already: passes, changes nothing */
	limits[0] = h1;
	assert_int_equal(store_set_flags_if(st, id, uids, limits, 1,
	                                    STORE_FLAGS_ADD, STORE_FLAG_SEEN,
	                                    NULL, &out, &failed, &n),
	                 STORE_OK);
	assert_int_equal(n, 1);
	assert_false(failed[0]);
	assert_int_equal(out[0].modseq, h1);
	store_msg_free(&out[0]);
	free(out);
	free(failed);
	assert_int_equal(highestmodseq_of(st, "INBOX"), h1);
	store_close(&st);
}

int main(void)
{
	log_set_level(LOG_ERROR + 1);
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	        T(test_new_store),
	        T(test_cache_and_text),
	        T(test_cache_append_copy),
	        T(test_text_unindexed),
	        T(test_schema_migration),
	        T(test_names),
	        T(test_create_delete),
	        T(test_rename),
	        T(test_subscribe),
	        T(test_append),
	        T(test_uids_never_reused),
	        T(test_uidvalidity),
	        T(test_sync_changes),
	        T(test_recent),
	        T(test_set_flags),
	        T(test_copy_move),
	        T(test_expunge),
	        T(test_remove),
	        T(test_quota),
	        T(test_new_dir),
	        T(test_index_loss),
	        T(test_index_corrupt),
	        T(test_reindex),
	        T(test_roll_forward),
	        T(test_index_loss_modseq),
	        T(test_reader_leaves_name),
	        T(test_big_mailbox),
	        T(test_append_large_mixed),
	        T(test_write_crlf),
	        T(test_reindex_uid_order),
	        T(test_reindex_foreign_lf),
	        T(test_expunged_since),
	        T(test_expunge_history_after_reindex),
	        T(test_set_flags_if),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
