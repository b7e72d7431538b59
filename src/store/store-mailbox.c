/* Mailbox rows and their roost-mailbox files, LIST, LSUB, STATUS and
 * quota of the local store. */
#include "store/store-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

static const struct {
	uint32_t bit;
	const char *text;
} special_uses[] = {
        {STORE_USE_SENT, "\\Sent"},       {STORE_USE_DRAFTS, "\\Drafts"},
        {STORE_USE_TRASH, "\\Trash"},     {STORE_USE_JUNK, "\\Junk"},
        {STORE_USE_ARCHIVE, "\\Archive"}, {STORE_USE_ALL, "\\All"},
        {STORE_USE_FLAGGED, "\\Flagged"},
};
#define SPECIAL_USE_COUNT (sizeof(special_uses) / sizeof(*special_uses))

const char *special_use_text(uint32_t bit)
{
	for (size_t i = 0; i < SPECIAL_USE_COUNT; i++) {
		if (special_uses[i].bit == bit)
			return special_uses[i].text;
	}
	return NULL;
}

uint32_t special_use_parse(const char *s)
{
	uint32_t bits = 0;
	for (size_t i = 0; i < SPECIAL_USE_COUNT; i++) {
		const char *t = special_uses[i].text;
		const char *p = strstr(s, t);
		size_t n = strlen(t);
		if (p != NULL && (p[n] == '\0' || p[n] == ' '))
			bits |= special_uses[i].bit;
	}
	return bits;
}

int mbox_path(const struct store *st, const char *name, const char *sub,
              char *out, size_t n)
{
	int len;
	if (strcmp(name, "INBOX") == 0) {
		len = snprintf(out, n, "%s%s", st->maildir, sub);
	} else {
		char enc[MAILDIR_FILENAME_MAX + 1];
		if (maildir_mailbox_encode(name, enc, sizeof(enc)) < 0)
			return -1;
		len = snprintf(out, n, "%s/.%s%s", st->maildir, enc, sub);
	}
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int mbox_make_dirs(const char *dir)
{
	static const char *const subs[] = {"", "/cur", "/new", "/tmp"};
	char path[PATH_MAX];
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

#define MBOX_COLUMNS                                                           \
	"id, name, uidvalidity, uidnext, uidnext_floor, highestmodseq, "       \
	"first_recent_uid, special_use, noselect, messages, bytes"

static void mbox_from_stmt(sqlite3_stmt *s, struct mbox *m)
{
	m->id = sqlite3_column_int64(s, 0);
	m->name = xstrdup((const char *)sqlite3_column_text(s, 1));
	m->uidvalidity = (uint32_t)sqlite3_column_int64(s, 2);
	m->uidnext = (uint32_t)sqlite3_column_int64(s, 3);
	m->uidnext_floor = (uint32_t)sqlite3_column_int64(s, 4);
	m->highestmodseq = (uint64_t)sqlite3_column_int64(s, 5);
	m->first_recent_uid = (uint32_t)sqlite3_column_int64(s, 6);
	m->special_use = (uint32_t)sqlite3_column_int64(s, 7);
	m->noselect = sqlite3_column_int(s, 8) != 0;
	m->messages = (uint64_t)sqlite3_column_int64(s, 9);
	m->bytes = (uint64_t)sqlite3_column_int64(s, 10);
}

static enum store_status mbox_fetch(struct store *st, sqlite3_stmt *s,
                                    struct mbox *out)
{
	memset(out, 0, sizeof(*out));
	int rc = sqlite3_step(s);
	enum store_status ret = STORE_OK;
	if (rc == SQLITE_ROW)
		mbox_from_stmt(s, out);
	else if (rc == SQLITE_DONE)
		ret = STORE_NONEXISTENT;
	else
		ret = db_error(st, "mailbox lookup");
	sqlite3_reset(s);
	return ret;
}

enum store_status mbox_by_name(struct store *st, const char *name,
                               struct mbox *out)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT " MBOX_COLUMNS
	                              " FROM mailbox WHERE name = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	return mbox_fetch(st, s, out);
}

enum store_status mbox_by_id(struct store *st, int64_t id, struct mbox *out)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT " MBOX_COLUMNS
	                              " FROM mailbox WHERE id = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	return mbox_fetch(st, s, out);
}

void mbox_free(struct mbox *m)
{
	free(m->name);
	m->name = NULL;
}

enum store_status mbox_write_file(struct store *st, struct mbox *m)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (mbox_path(st, m->name, "", dir, sizeof(dir)) < 0)
		return STORE_BADNAME;
	snprintf(path, sizeof(path), "%s/roost-mailbox", dir);
	struct buf b;
	buf_init(&b, 4096);
	buf_printf(&b, "uidvalidity %u\nuidnext %u\n", m->uidvalidity,
	           m->uidnext);
	if (m->special_use != 0) {
		buf_append_str(&b, "special-use");
		for (size_t i = 0; i < SPECIAL_USE_COUNT; i++) {
			if ((m->special_use & special_uses[i].bit) != 0)
				buf_printf(&b, " %s", special_uses[i].text);
		}
		buf_append_byte(&b, '\n');
	}
	if (m->noselect)
		buf_append_str(&b, "noselect\n");
	enum store_status ret = STORE_OK;
	if (write_file_atomic(path, b.data, b.len, 0600) < 0)
		ret = store_errno_status(st, "write", path, errno);
	else
		m->uidnext_floor = m->uidnext;
	buf_free(&b);
	return ret;
}

enum store_status mbox_update(struct store *st, const struct mbox *m)
{
	sqlite3_stmt *s = db_stmt(
	        st, "UPDATE mailbox SET uidnext = ?, uidnext_floor = ?,"
	            " highestmodseq = ?, first_recent_uid = ?, messages = ?,"
	            " bytes = ? WHERE id = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, m->uidnext);
	sqlite3_bind_int64(s, 2, m->uidnext_floor);
	sqlite3_bind_int64(s, 3, (int64_t)m->highestmodseq);
	sqlite3_bind_int64(s, 4, m->first_recent_uid);
	sqlite3_bind_int64(s, 5, (int64_t)m->messages);
	sqlite3_bind_int64(s, 6, (int64_t)m->bytes);
	sqlite3_bind_int64(s, 7, m->id);
	if (db_exec_stmt(s) != SQLITE_DONE)
		return db_error(st, "mailbox update");
	db_mark_changed(st, m->id);
	return STORE_OK;
}

enum store_status mbox_raise_floor(struct store *st, struct mbox *m)
{
	if (m->uidnext_floor >= m->uidnext)
		return STORE_OK;
	enum store_status ret = mbox_write_file(st, m);
	return ret == STORE_OK ? mbox_update(st, m) : ret;
}

enum store_status store_new_uidvalidity(struct store *st, uint32_t *out)
{
	int64_t last = db_meta_get(st, "last_uidvalidity");
	int64_t v = store_now();
	if (v <= last)
		v = last + 1;
	if (v >= UINT32_MAX)
		v = 1; /* year 2106: wrap rather than fail */
	if (db_meta_set(st, "last_uidvalidity", v) < 0)
		return db_error(st, "uidvalidity");
	char path[PATH_MAX], text[32];
	snprintf(path, sizeof(path), "%s/uidvalidity", st->dir);
	int len = snprintf(text, sizeof(text), "%lld\n", (long long)v);
	if (write_file_atomic(path, text, (size_t)len, 0600) < 0)
		return store_errno_status(st, "write", path, errno);
	*out = (uint32_t)v;
	return STORE_OK;
}

/* ---- LIST and subscriptions ---- */

enum store_status store_list(struct store *st, struct store_mailbox_list *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(st, "SELECT name, special_use, noselect,"
	                              " name IN (SELECT name FROM subscription)"
	                              " FROM mailbox ORDER BY name");
	if (s == NULL)
		return STORE_ERROR;
	size_t alloc = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			out->items = xrealloc(out->items,
			                      alloc * sizeof(*out->items));
		}
		struct store_mailbox_info *i = &out->items[out->count++];
		i->name = xstrdup((const char *)sqlite3_column_text(s, 0));
		i->special_use = (uint32_t)sqlite3_column_int64(s, 1);
		i->noselect = sqlite3_column_int(s, 2) != 0;
		i->subscribed = sqlite3_column_int(s, 3) != 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_mailbox_list_free(out);
		return db_error(st, "list");
	}
	return STORE_OK;
}

void store_mailbox_list_free(struct store_mailbox_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].name);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

enum store_status store_subscriptions(struct store *st,
                                      struct store_name_list *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s =
	        db_stmt(st, "SELECT name FROM subscription ORDER BY name");
	if (s == NULL)
		return STORE_ERROR;
	if (db_collect_text(s, &out->names, &out->count) < 0) {
		store_name_list_free(out);
		return db_error(st, "subscriptions");
	}
	return STORE_OK;
}

void store_name_list_free(struct store_name_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
	list->names = NULL;
	list->count = 0;
}

enum store_status store_write_subscriptions(struct store *st)
{
	struct store_name_list l;
	enum store_status ret = store_subscriptions(st, &l);
	if (ret != STORE_OK)
		return ret;
	struct buf b;
	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < l.count; i++)
		buf_printf(&b, "%s\n", l.names[i]);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/subscriptions", st->dir);
	if (write_file_atomic(path, b.data != NULL ? (void *)b.data : "", b.len,
	                      0600) < 0)
		ret = store_errno_status(st, "write", path, errno);
	buf_free(&b);
	store_name_list_free(&l);
	return ret;
}

enum store_status store_subscribe(struct store *st, const char *name,
                                  bool subscribe)
{
	if (!maildir_mailbox_name_valid(name))
		return STORE_BADNAME;
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	sqlite3_stmt *s = db_stmt(
	        st, subscribe ? "INSERT OR IGNORE INTO subscription VALUES (?)"
	                      : "DELETE FROM subscription WHERE name = ?");
	if (s == NULL) {
		db_rollback(st);
		return STORE_ERROR;
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (db_exec_stmt(s) != SQLITE_DONE)
		ret = db_error(st, "subscribe");
	if (ret == STORE_OK)
		ret = store_write_subscriptions(st);
	if (ret == STORE_OK)
		return db_commit(st);
	db_rollback(st);
	return ret;
}

/* ---- STATUS and quota ---- */

static enum store_status status_counts(struct store *st, const struct mbox *m,
                                       struct store_status_info *out)
{
	sqlite3_stmt *s = db_stmt(
	        st, "SELECT count(*), coalesce(sum((flags & 1) = 0), 0),"
	            " coalesce(sum((flags & 8) != 0), 0),"
	            " coalesce(sum(uid >= ?), 0)"
	            " FROM message WHERE mailbox_id = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, m->first_recent_uid);
	sqlite3_bind_int64(s, 2, m->id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(st, "status");
	}
	out->messages = (uint32_t)sqlite3_column_int64(s, 0);
	out->unseen = (uint32_t)sqlite3_column_int64(s, 1);
	out->deleted = (uint32_t)sqlite3_column_int64(s, 2);
	out->recent = (uint32_t)sqlite3_column_int64(s, 3);
	sqlite3_reset(s);
	return STORE_OK;
}

enum store_status store_status(struct store *st, const char *name,
                               struct store_status_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!maildir_mailbox_name_valid(name))
		return STORE_BADNAME;
	enum store_status ret = store_take_new(st, name);
	if (ret != STORE_OK)
		return ret;
	if ((ret = db_begin(st, false)) != STORE_OK)
		return ret;
	struct mbox m;
	ret = mbox_by_name(st, name, &m);
	if (ret == STORE_OK && m.noselect)
		ret = STORE_NOSELECT;
	if (ret == STORE_OK) {
		out->uidnext = m.uidnext;
		out->uidvalidity = m.uidvalidity;
		out->size = m.bytes;
		out->highestmodseq = m.highestmodseq;
		ret = status_counts(st, &m, out);
	}
	mbox_free(&m);
	db_rollback(st);
	return ret;
}

enum store_status store_get_quota(struct store *st, struct store_quota *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(st, "SELECT coalesce(sum(messages), 0),"
	                              " coalesce(sum(bytes), 0) FROM mailbox");
	if (s == NULL)
		return STORE_ERROR;
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_error(st, "quota");
	}
	out->messages_used = (uint64_t)sqlite3_column_int64(s, 0);
	out->bytes_used = (uint64_t)sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	out->messages_limit = st->set.quota_messages;
	out->bytes_limit = st->set.quota_bytes;
	return STORE_OK;
}

enum store_status store_watch_dirs(struct store *st, uint64_t mailbox_id,
                                   char ***dirs_r, size_t *count_r)
{
	static const char *const subs[] = {"/new", "/cur"};
	*dirs_r = NULL;
	*count_r = 0;
	struct mbox m;
	enum store_status ret = mbox_by_id(st, (int64_t)mailbox_id, &m);
	if (ret != STORE_OK)
		return ret;
	char **dirs = xcalloc(2, sizeof(*dirs));
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX];
		if (mbox_path(st, m.name, subs[i], path, sizeof(path)) < 0) {
			ret = STORE_BADNAME;
			break;
		}
		dirs[i] = xstrdup(path);
	}
	mbox_free(&m);
	if (ret != STORE_OK) {
		free(dirs[0]);
		free(dirs);
		return ret;
	}
	*dirs_r = dirs;
	*count_r = 2;
	return STORE_OK;
}
