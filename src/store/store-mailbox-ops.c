/* CREATE, DELETE and RENAME (RFC 3501 6.3.3-6.3.5) in the local store.
 * The directories change inside the write transaction that changes the
 * rows, so concurrent handles are serialised by the index lock. */
#include "store/store-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

static enum store_status mbox_insert(struct store *st, struct mbox *m)
{
	sqlite3_stmt *s =
	        db_stmt(st, "INSERT INTO mailbox (name, uidvalidity, uidnext,"
	                    " uidnext_floor, highestmodseq, first_recent_uid,"
	                    " special_use, noselect, messages, bytes)"
	                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->uidvalidity);
	sqlite3_bind_int64(s, 3, m->uidnext);
	sqlite3_bind_int64(s, 4, m->uidnext_floor);
	sqlite3_bind_int64(s, 5, (int64_t)m->highestmodseq);
	sqlite3_bind_int64(s, 6, m->first_recent_uid);
	sqlite3_bind_int64(s, 7, m->special_use);
	sqlite3_bind_int(s, 8, m->noselect);
	if (db_exec_stmt(s) != SQLITE_DONE)
		return db_error(st, "mailbox insert");
	m->id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/* Make a new selectable mailbox: directories, roost-mailbox, row (or
 * turn the \Noselect row `existing` into one). */
static enum store_status create_one(struct store *st, const char *name,
                                    uint32_t special_use, int64_t existing)
{
	char dir[PATH_MAX];
	if (mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		return STORE_BADNAME;
	struct mbox m = {.name = (char *)name,
	                 .uidnext = 1,
	                 .first_recent_uid = 1,
	                 .special_use = special_use};
	enum store_status ret = store_new_uidvalidity(st, &m.uidvalidity);
	if (ret != STORE_OK)
		return ret;
	if (mbox_make_dirs(dir) < 0 || fsync_dir(st->maildir) < 0)
		return store_errno_status(st, "mkdir", dir, errno);
	if ((ret = mbox_write_file(st, &m)) != STORE_OK)
		return ret;
	if (existing != 0) {
		sqlite3_stmt *s = db_stmt(
		        st, "UPDATE mailbox SET noselect = 0, uidvalidity = ?,"
		            " special_use = ? WHERE id = ?");
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, m.uidvalidity);
		sqlite3_bind_int64(s, 2, special_use);
		sqlite3_bind_int64(s, 3, existing);
		return db_exec_stmt(s) == SQLITE_DONE
		               ? STORE_OK
		               : db_error(st, "mailbox update");
	}
	return mbox_insert(st, &m);
}

/* Create name and its missing parents (in a write transaction). */
static enum store_status create_path(struct store *st, const char *name,
                                     uint32_t special_use)
{
	char *buf = xstrdup(name);
	enum store_status ret = STORE_OK;
	for (char *p = buf;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		bool last = *p == '\0';
		*p = '\0';
		struct mbox m;
		ret = mbox_by_name(st, buf, &m);
		if (ret == STORE_OK && last)
			ret = m.noselect
			              ? create_one(st, buf, special_use, m.id)
			              : STORE_ALREADYEXISTS;
		else if (ret == STORE_NONEXISTENT)
			ret = create_one(st, buf, last ? special_use : 0, 0);
		mbox_free(&m);
		if (ret != STORE_OK || last)
			break;
		*p = '/';
	}
	free(buf);
	return ret;
}

static enum store_status finish(struct store *st, enum store_status ret)
{
	if (ret == STORE_OK)
		return db_commit(st);
	db_rollback(st);
	return ret;
}

enum store_status store_create(struct store *st, const char *name,
                               uint32_t special_use)
{
	if (!maildir_mailbox_name_valid(name))
		return STORE_BADNAME;
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	return finish(st, create_path(st, name, special_use));
}

/* ---- DELETE ---- */

static bool has_children(struct store *st, const char *name)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT 1 FROM mailbox WHERE"
	                              " name > ? || '/' AND name < ? || '0'");
	if (s == NULL)
		return false;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	bool any = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	return any;
}

static enum store_status delete_rows(struct store *st, int64_t id)
{
	static const char *const sql[] = {
	        "DELETE FROM message WHERE mailbox_id = ?",
	        "DELETE FROM expunged WHERE mailbox_id = ?",
	        "DELETE FROM keyword WHERE mailbox_id = ?",
	        "DELETE FROM mailbox WHERE id = ?",
	};
	for (size_t i = 0; i < sizeof(sql) / sizeof(*sql); i++) {
		sqlite3_stmt *s = db_stmt(st, sql[i]);
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, id);
		if (db_exec_stmt(s) != SQLITE_DONE)
			return db_error(st, "delete");
	}
	db_mark_changed(st, id);
	return cache_delete_mailbox(st, id);
}

/* Move the mailbox directory out of the way (a name no folder can have);
 * it is removed after the commit. */
static enum store_status delete_dir(struct store *st, const char *name,
                                    char *trash)
{
	char dir[PATH_MAX];
	uint32_t rnd = 0;
	if (mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		return STORE_BADNAME;
	random_bytes(&rnd, sizeof(rnd));
	snprintf(trash, PATH_MAX, "%s/roost-deleted-%08x", st->maildir, rnd);
	if (rename(dir, trash) < 0 && errno != ENOENT)
		return store_errno_status(st, "rename", dir, errno);
	if (fsync_dir(st->maildir) < 0)
		return store_errno_status(st, "fsync", st->maildir, errno);
	return STORE_OK;
}

/* A mailbox with children becomes \Noselect: a new row (sessions that
 * had the old one see it gone) and a directory with only its file. */
static enum store_status delete_to_noselect(struct store *st, const char *name)
{
	char dir[PATH_MAX];
	if (mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		return STORE_BADNAME;
	struct mbox m = {.name = (char *)name, .noselect = true};
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return store_errno_status(st, "mkdir", dir, errno);
	enum store_status ret = mbox_write_file(st, &m);
	return ret == STORE_OK ? mbox_insert(st, &m) : ret;
}

enum store_status store_delete(struct store *st, const char *name)
{
	if (!maildir_mailbox_name_valid(name))
		return STORE_BADNAME;
	if (strcmp(name, "INBOX") == 0)
		return STORE_CANNOT;
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	struct mbox m;
	char trash[PATH_MAX] = "";
	ret = mbox_by_name(st, name, &m);
	bool children = ret == STORE_OK && has_children(st, name);
	if (ret == STORE_OK && m.noselect && children)
		ret = STORE_HASCHILDREN;
	if (ret == STORE_OK)
		ret = delete_rows(st, m.id);
	if (ret == STORE_OK)
		ret = delete_dir(st, name, trash);
	if (ret == STORE_OK && children)
		ret = delete_to_noselect(st, name);
	mbox_free(&m);
	ret = finish(st, ret);
	if (trash[0] == '\0')
		return ret;
	if (ret != STORE_OK) {
		/* put it back as it was */
		char dir[PATH_MAX];
		if (mbox_path(st, name, "", dir, sizeof(dir)) == 0) {
			remove_tree(dir);
			rename(trash, dir);
		}
	} else if (remove_tree(trash) < 0) {
		store_errno_status(st, "remove", trash, errno);
	}
	return ret;
}

/* ---- RENAME ---- */

/* Create the missing parents of name (in a write transaction). */
static enum store_status ensure_parents(struct store *st, const char *name)
{
	char *slash = strrchr(name, '/');
	if (slash == NULL)
		return STORE_OK;
	char *parent = xstrndup(name, (size_t)(slash - name));
	enum store_status ret = create_path(st, parent, 0);
	free(parent);
	return ret == STORE_ALREADYEXISTS ? STORE_OK : ret;
}

struct rename_item {
	int64_t id;
	char *from;
	char *to;
	bool moved;
};

static enum store_status rename_collect(struct store *st, const char *from,
                                        const char *to,
                                        struct rename_item **items_r,
                                        size_t *count_r)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT id, name FROM mailbox WHERE"
	                              " name = ?1 OR (name > ?1 || '/' AND"
	                              " name < ?1 || '0')");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, from, -1, SQLITE_STATIC);
	size_t alloc = 0, flen = strlen(from);
	int rc;
	enum store_status ret = STORE_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*count_r == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			*items_r =
			        xrealloc(*items_r, alloc * sizeof(**items_r));
		}
		struct rename_item *it = &(*items_r)[(*count_r)++];
		const char *name = (const char *)sqlite3_column_text(s, 1);
		it->id = sqlite3_column_int64(s, 0);
		it->from = xstrdup(name);
		size_t tlen = strlen(to), rest = strlen(name + flen);
		it->to = xmalloc(tlen + rest + 1);
		memcpy(it->to, to, tlen);
		memcpy(it->to + tlen, name + flen, rest + 1);
		it->moved = false;
		if (!maildir_mailbox_name_valid(it->to))
			ret = STORE_BADNAME;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_error(st, "rename");
	return ret;
}

static enum store_status rename_one(struct store *st, struct rename_item *it)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (mbox_path(st, it->from, "", a, sizeof(a)) < 0 ||
	    mbox_path(st, it->to, "", b, sizeof(b)) < 0)
		return STORE_BADNAME;
	if (rename(a, b) < 0 && errno != ENOENT)
		return store_errno_status(st, "rename", a, errno);
	it->moved = true;
	sqlite3_stmt *s = db_stmt(st, "UPDATE mailbox SET name = ?"
	                              " WHERE id = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, it->to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, it->id);
	if (db_exec_stmt(s) != SQLITE_DONE)
		return db_error(st, "rename");
	return STORE_OK;
}

static enum store_status rename_tree(struct store *st, const char *from,
                                     const char *to)
{
	struct rename_item *items = NULL;
	size_t n = 0;
	enum store_status ret = rename_collect(st, from, to, &items, &n);
	if (ret == STORE_OK)
		ret = ensure_parents(st, to);
	for (size_t i = 0; i < n && ret == STORE_OK; i++)
		ret = rename_one(st, &items[i]);
	if (ret == STORE_OK && fsync_dir(st->maildir) < 0)
		ret = store_errno_status(st, "fsync", st->maildir, errno);
	if (ret == STORE_OK)
		ret = db_commit(st);
	for (size_t i = 0; i < n; i++) {
		char a[PATH_MAX], b[PATH_MAX];
		if (ret != STORE_OK && items[i].moved &&
		    mbox_path(st, items[i].from, "", a, sizeof(a)) == 0 &&
		    mbox_path(st, items[i].to, "", b, sizeof(b)) == 0)
			rename(b, a);
		free(items[i].from);
		free(items[i].to);
	}
	free(items);
	if (ret != STORE_OK)
		db_rollback(st);
	return ret;
}

/* RFC 3501 6.3.5: renaming INBOX moves its messages (keeping their
 * UIDs) to a new mailbox; INBOX stays, empty, and its children stay. */
static enum store_status rename_inbox_files(struct store *st, struct mbox *in,
                                            const struct kwlist *kw,
                                            const char *to)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT " MSGROW_COLUMNS " FROM message"
	                              " WHERE mailbox_id = ?");
	char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	char name[MAILDIR_FILENAME_MAX + 1];
	if (s == NULL || mbox_path(st, to, "", dir, sizeof(dir)) < 0)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, in->id);
	uint64_t modseq = in->highestmodseq + 1;
	enum store_status ret = mbox_raise_floor(st, in);
	int rc;
	struct msgrow r;
	while (ret == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		msgrow_from_stmt(s, 0, &r);
		if (msg_locate(st->maildir, kw, &r, src) == 0 &&
		    msg_filename(kw, &r, name, sizeof(name)) >= 0) {
			snprintf(dst, sizeof(dst), "%s/cur/%s", dir, name);
			if (rename(src, dst) < 0)
				ret = store_errno_status(st, "rename", src,
				                         errno);
		}
		free(r.keywords);
	}
	sqlite3_reset(s);
	in->highestmodseq = modseq;
	snprintf(dst, sizeof(dst), "%s/cur", dir);
	if (ret == STORE_OK && fsync_dir(dst) < 0)
		ret = store_errno_status(st, "fsync", dst, errno);
	return ret;
}

static enum store_status
rename_inbox_rows(struct store *st, const struct mbox *in, struct mbox *d)
{
	sqlite3_stmt *e = db_stmt(st, "INSERT OR REPLACE INTO expunged"
	                              " SELECT mailbox_id, uid, ? FROM message"
	                              " WHERE mailbox_id = ?");
	sqlite3_stmt *u = db_stmt(st, "UPDATE message SET mailbox_id = ?"
	                              " WHERE mailbox_id = ?");
	if (e == NULL || u == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(e, 1, (int64_t)in->highestmodseq);
	sqlite3_bind_int64(e, 2, in->id);
	sqlite3_bind_int64(u, 1, d->id);
	sqlite3_bind_int64(u, 2, in->id);
	if (db_exec_stmt(e) != SQLITE_DONE || db_exec_stmt(u) != SQLITE_DONE)
		return db_error(st, "rename inbox");
	d->uidnext = in->uidnext;
	d->highestmodseq = in->highestmodseq;
	d->messages = in->messages;
	d->bytes = in->bytes;
	d->first_recent_uid = in->uidnext;
	enum store_status ret = mbox_write_file(st, d);
	return ret == STORE_OK ? mbox_update(st, d) : ret;
}

static enum store_status rename_inbox(struct store *st, struct mbox *in,
                                      const char *to)
{
	struct kwlist kw = {0}, dkw = {0};
	struct mbox d = {0};
	enum store_status ret = ensure_parents(st, to);
	if (ret == STORE_OK)
		ret = create_one(st, to, 0, 0);
	if (ret == STORE_OK)
		ret = mbox_by_name(st, to, &d);
	if (ret == STORE_OK)
		ret = kw_load(st, in->id, &kw);
	for (size_t i = 0; i < kw.count && ret == STORE_OK; i++)
		ret = kw_define(st, &d, &dkw, kw.names[i]);
	if (ret == STORE_OK)
		ret = rename_inbox_files(st, in, &kw, to);
	if (ret == STORE_OK)
		ret = rename_inbox_rows(st, in, &d);
	in->messages = 0;
	in->bytes = 0;
	if (ret == STORE_OK)
		ret = mbox_update(st, in);
	kw_free(&kw);
	kw_free(&dkw);
	mbox_free(&d);
	return finish(st, ret);
}

enum store_status store_rename(struct store *st, const char *from,
                               const char *to)
{
	if (!maildir_mailbox_name_valid(from) ||
	    !maildir_mailbox_name_valid(to))
		return STORE_BADNAME;
	size_t flen = strlen(from);
	if (strncmp(to, from, flen) == 0 && to[flen] == '/')
		return STORE_CANNOT;
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	struct mbox src, dst;
	ret = mbox_by_name(st, from, &src);
	if (ret == STORE_OK) {
		enum store_status t = mbox_by_name(st, to, &dst);
		mbox_free(&dst);
		if (t != STORE_NONEXISTENT)
			ret = t == STORE_OK ? STORE_ALREADYEXISTS : t;
	}
	if (ret == STORE_OK && strcmp(from, "INBOX") == 0) {
		ret = rename_inbox(st, &src, to);
		mbox_free(&src);
		return ret;
	}
	mbox_free(&src);
	if (ret != STORE_OK) {
		db_rollback(st);
		return ret;
	}
	return rename_tree(st, from, to);
}
