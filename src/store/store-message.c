/* STORE (RFC 3501 6.4.6, CONDSTORE RFC 7162), EXPUNGE (RFC 3501 6.4.3,
 * UID EXPUNGE RFC 4315) and reading messages in the local store.
 *
 * STORE commits the rows first, then renames the files to their new
 * flag letters (one sync of cur/); a crash between leaves names that
 * msg_locate() repairs when it meets them. EXPUNGE raises the uidnext
 * floor in roost-mailbox, unlinks the files and syncs cur/, then deletes
 * the rows: a UID is never reused, even by a rebuild. Every expunge
 * (EXPUNGE, POP3's removal, a lost file) raises the mailbox's modseq
 * and keeps the UIDs in `expunged` with it, for QRESYNC (RFC 7162 3.2). */
#include "store/store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

void store_msg_free(struct store_msg *m)
{
	free(m->keywords);
	m->keywords = NULL;
}

static void msg_to_public(const struct msgrow *r, struct store_msg *out)
{
	out->uid = r->uid;
	out->flags = r->flags;
	out->keywords = r->keywords != NULL ? xstrdup(r->keywords) : NULL;
	out->internaldate = r->internaldate;
	out->tz_offset_min = r->tz_offset_min;
	out->savedate = r->savedate;
	out->size = r->size;
	out->modseq = r->modseq;
}

/* ---- STORE ---- */

struct flag_change {
	struct msgrow row; /* the new state */
	uint32_t old_flags;
	uint32_t old_mask;
	bool changed;
	bool failed; /* the UNCHANGEDSINCE test: left alone */
};

static enum store_status flags_update_row(struct store *st, int64_t id,
                                          const struct msgrow *r)
{
	sqlite3_stmt *s = db_stmt(st, "UPDATE message SET flags = ?,"
	                              " keywords = ?, modseq = ?"
	                              " WHERE mailbox_id = ? AND uid = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, r->flags);
	if (r->keywords != NULL)
		sqlite3_bind_text(s, 2, r->keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)r->modseq);
	sqlite3_bind_int64(s, 4, id);
	sqlite3_bind_int64(s, 5, r->uid);
	if (db_exec_stmt(s) != SQLITE_DONE)
		return db_error(st, "flags update");
	return STORE_OK;
}

static uint32_t flags_apply(uint32_t old, enum store_flag_op op, uint32_t flags)
{
	switch (op) {
	case STORE_FLAGS_ADD:
		return old | flags;
	case STORE_FLAGS_REMOVE:
		return old & ~flags;
	case STORE_FLAGS_REPLACE:
		break;
	}
	return flags;
}

struct flag_request {
	enum store_flag_op op;
	uint32_t flags;
	const char *keywords;
	/* CONDSTORE: uids[i] is changed only if its modseq is at most
	 * limits[i]; without limits, at most unchangedsince (0: always) */
	const uint64_t *limits;
	uint64_t unchangedsince;
};

/* Does the row fail the UNCHANGEDSINCE test (RFC 7162 3.1.3) of the
 * request's uids[i]? */
static bool flags_test_fails(const struct flag_request *req, size_t i,
                             const struct msgrow *r)
{
	if (req->limits != NULL)
		return r->modseq > req->limits[i];
	return req->unchangedsince != 0 && r->modseq > req->unchangedsince;
}

/* Apply the request to one row c->row (read from the index). A flag
 * set that is already set, or cleared that is not, changes nothing, not
 * even the modseq (RFC 7162 3.1.11). */
static enum store_status flags_change_one(struct store *st, struct mbox *m,
                                          const struct kwlist *kw,
                                          const struct flag_request *req,
                                          struct flag_change *c)
{
	struct msgrow *r = &c->row;
	c->old_flags = r->flags;
	c->old_mask = kw_mask(kw, r->keywords);
	if (c->failed)
		return STORE_OK;
	uint32_t flags =
	        flags_apply(r->flags, req->op, req->flags) & STORE_FLAGS_ALL;
	char *kws = kw_apply(kw, r->keywords, req->op, req->keywords);
	if (flags == r->flags && str_eq_null(kws, r->keywords)) {
		free(kws);
		return STORE_OK;
	}
	free(r->keywords);
	r->keywords = kws;
	r->flags = flags;
	r->modseq = m->highestmodseq + 1;
	c->changed = true;
	return flags_update_row(st, m->id, r);
}

static enum store_status flags_transaction(struct store *st, struct mbox *m,
                                           struct kwlist *kw,
                                           const uint32_t *uids, size_t n,
                                           const struct flag_request *req,
                                           struct flag_change *c,
                                           size_t *count_r)
{
	enum store_status ret = STORE_OK;
	if (req->op != STORE_FLAGS_REMOVE)
		ret = kw_define(st, m, kw, req->keywords);
	bool any = false;
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		struct flag_change *x = &c[*count_r];
		ret = msg_row_get(st, m->id, uids[i], &x->row);
		if (ret == STORE_NONEXISTENT) {
			ret = STORE_OK;
			continue;
		}
		(*count_r)++;
		if (ret == STORE_OK) {
			x->failed = flags_test_fails(req, i, &x->row);
			ret = flags_change_one(st, m, kw, req, x);
		}
		any = any || x->changed;
	}
	if (ret == STORE_OK && any) {
		m->highestmodseq++;
		ret = mbox_update(st, m);
	}
	return ret;
}

static void flags_rename_files(struct store *st, const char *dir,
                               const struct kwlist *kw,
                               const struct flag_change *c, size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (!c[i].changed)
			continue;
		struct msgrow old = c[i].row;
		old.flags = c[i].old_flags;
		old.keywords = kw_from_mask(kw, c[i].old_mask);
		msg_rename_flags(dir, kw, &old, &c[i].row);
		free(old.keywords);
		any = true;
	}
	char cur[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	if (any && fsync_dir(cur) < 0)
		store_errno_status(st, "fsync", cur, errno);
}

static enum store_status flags_begin(struct store *st, uint64_t mailbox_id,
                                     struct mbox *m, struct kwlist *kw,
                                     char *dir)
{
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	ret = mbox_by_id(st, (int64_t)mailbox_id, m);
	if (ret == STORE_OK && m->noselect)
		ret = STORE_NONEXISTENT;
	if (ret == STORE_OK && mbox_path(st, m->name, "", dir, PATH_MAX) < 0)
		ret = STORE_BADNAME;
	if (ret == STORE_OK)
		ret = kw_load(st, m->id, kw);
	if (ret != STORE_OK)
		db_rollback(st);
	return ret;
}

/* Both forms of STORE; failed_r may be NULL. */
static enum store_status set_flags(struct store *st, uint64_t mailbox_id,
                                   const uint32_t *uids, size_t uid_count,
                                   const struct flag_request *req,
                                   struct store_msg **out_r, bool **failed_r,
                                   size_t *count_r)
{
	*out_r = NULL;
	*count_r = 0;
	if (!kw_valid(req->keywords))
		return STORE_BADNAME;
	struct mbox m = {0};
	struct kwlist kw = {0};
	char dir[PATH_MAX];
	enum store_status ret = flags_begin(st, mailbox_id, &m, &kw, dir);
	struct flag_change *c = xcalloc(uid_count + 1, sizeof(*c));
	size_t n = 0;
	if (ret == STORE_OK) {
		ret = flags_transaction(st, &m, &kw, uids, uid_count, req, c,
		                        &n);
		if (ret == STORE_OK)
			ret = db_commit(st);
		else
			db_rollback(st);
	}
	if (ret == STORE_OK) {
		flags_rename_files(st, dir, &kw, c, n);
		*out_r = xcalloc(n + 1, sizeof(**out_r));
		if (failed_r != NULL)
			*failed_r = xcalloc(n + 1, sizeof(**failed_r));
		for (size_t i = 0; i < n; i++) {
			msg_to_public(&c[i].row, &(*out_r)[i]);
			if (failed_r != NULL)
				(*failed_r)[i] = c[i].failed;
		}
		*count_r = n;
	}
	for (size_t i = 0; i < n; i++)
		free(c[i].row.keywords);
	free(c);
	kw_free(&kw);
	mbox_free(&m);
	return ret;
}

enum store_status store_set_flags(struct store *st, uint64_t mailbox_id,
                                  const uint32_t *uids, size_t uid_count,
                                  enum store_flag_op op, uint32_t flags,
                                  const char *keywords, uint64_t unchangedsince,
                                  struct store_msg **out_r, size_t *count_r)
{
	struct flag_request req = {op, flags, keywords, NULL, unchangedsince};
	return set_flags(st, mailbox_id, uids, uid_count, &req, out_r, NULL,
	                 count_r);
}

enum store_status
store_set_flags_if(struct store *st, uint64_t mailbox_id, const uint32_t *uids,
                   const uint64_t *unchangedsince, size_t uid_count,
                   enum store_flag_op op, uint32_t flags, const char *keywords,
                   struct store_msg **out_r, bool **failed_r, size_t *count_r)
{
	struct flag_request req = {op, flags, keywords, unchangedsince, 0};
	*failed_r = NULL;
	return set_flags(st, mailbox_id, uids, uid_count, &req, out_r, failed_r,
	                 count_r);
}

/* ---- EXPUNGE ---- */

/* The rows to expunge: among uids if only_uids, and with \Deleted
 * unless any_flags. */
static enum store_status expunge_select(struct store *st, int64_t id,
                                        const uint32_t *uids, size_t n,
                                        bool only_uids, bool any_flags,
                                        struct msgrow **out, size_t *count_r)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT " MSGROW_COLUMNS " FROM message"
	                              " WHERE mailbox_id = ? AND"
	                              " ((flags & 8) != 0 OR ?) ORDER BY uid");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, any_flags);
	size_t alloc = 0, j = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(s, 0);
		while (only_uids && j < n && uids[j] < uid)
			j++;
		if (only_uids && (j == n || uids[j] != uid))
			continue;
		if (*count_r == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			*out = xrealloc(*out, alloc * sizeof(**out));
		}
		msgrow_from_stmt(s, 0, &(*out)[(*count_r)++]);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : db_error(st, "expunge select");
}

static enum store_status expunge_rows(struct store *st, struct mbox *m,
                                      const struct kwlist *kw,
                                      const struct msgrow *rows, size_t n)
{
	char dir[PATH_MAX], path[PATH_MAX];
	if (mbox_path(st, m->name, "", dir, sizeof(dir)) < 0)
		return STORE_BADNAME;
	/* the floor first: a rebuild must never hand these UIDs out */
	enum store_status ret = mbox_raise_floor(st, m);
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		if (msg_locate(dir, kw, &rows[i], path) == 0 &&
		    unlink(path) < 0 && errno != ENOENT)
			ret = store_errno_status(st, "unlink", path, errno);
	}
	snprintf(path, sizeof(path), "%s/cur", dir);
	if (ret == STORE_OK && fsync_dir(path) < 0)
		ret = store_errno_status(st, "fsync", path, errno);
	uint64_t modseq = m->highestmodseq + 1;
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		ret = msg_row_delete(st, m->id, rows[i].uid, modseq);
		m->messages--;
		m->bytes -= rows[i].size;
	}
	m->highestmodseq = modseq;
	return ret == STORE_OK ? mbox_update(st, m) : ret;
}

static enum store_status expunge(struct store *st, uint64_t mailbox_id,
                                 const uint32_t *uids, size_t uid_count,
                                 bool only_uids, bool any_flags,
                                 uint32_t **expunged_r, size_t *count_r)
{
	*expunged_r = NULL;
	*count_r = 0;
	struct mbox m = {0};
	struct kwlist kw = {0};
	char dir[PATH_MAX];
	enum store_status ret = flags_begin(st, mailbox_id, &m, &kw, dir);
	if (ret != STORE_OK) {
		mbox_free(&m);
		return ret;
	}
	struct msgrow *rows = NULL;
	size_t n = 0;
	ret = expunge_select(st, m.id, uids, uid_count, only_uids, any_flags,
	                     &rows, &n);
	if (ret == STORE_OK && n > 0)
		ret = expunge_rows(st, &m, &kw, rows, n);
	if (ret == STORE_OK && n > 0)
		ret = db_commit(st);
	else
		db_rollback(st);
	if (ret == STORE_OK) {
		*expunged_r = xcalloc(n + 1, sizeof(**expunged_r));
		for (size_t i = 0; i < n; i++)
			(*expunged_r)[i] = rows[i].uid;
		*count_r = n;
	}
	for (size_t i = 0; i < n; i++)
		free(rows[i].keywords);
	free(rows);
	kw_free(&kw);
	mbox_free(&m);
	return ret;
}

enum store_status store_expunge(struct store *st, uint64_t mailbox_id,
                                const uint32_t *uids, size_t uid_count,
                                bool only_uids, uint32_t **expunged_r,
                                size_t *count_r)
{
	return expunge(st, mailbox_id, uids, uid_count, only_uids, false,
	               expunged_r, count_r);
}

enum store_status store_remove(struct store *st, uint64_t mailbox_id,
                               const uint32_t *uids, size_t uid_count,
                               uint32_t **removed_r, size_t *count_r)
{
	return expunge(st, mailbox_id, uids, uid_count, true, true, removed_r,
	               count_r);
}

/* ---- reading ---- */

/* A row whose file is nowhere (a crash lost an unacknowledged change):
 * drop it as if expunged. */
static void message_drop_lost(struct store *st, int64_t id, uint32_t uid)
{
	struct mbox m;
	struct msgrow r;
	if (db_begin(st, true) != STORE_OK)
		return;
	enum store_status ret = mbox_by_id(st, id, &m);
	if (ret == STORE_OK && msg_row_get(st, id, uid, &r) == STORE_OK) {
		m.highestmodseq++;
		m.messages--;
		m.bytes -= r.size;
		ret = msg_row_delete(st, id, uid, m.highestmodseq);
		if (ret == STORE_OK)
			ret = mbox_update(st, &m);
		free(r.keywords);
	}
	if (ret == STORE_OK && db_commit(st) == STORE_OK) {
		char u[16];
		snprintf(u, sizeof(u), "%u", uid);
		log_event(LOG_ERROR, "store_error", "user", st->user, "op",
		          "open message", "mailbox", m.name, "uid", u, "error",
		          "message file lost; dropped from the index", NULL);
	} else {
		db_rollback(st);
	}
	mbox_free(&m);
}

/* Find the file of uid in mailbox id: path, or STORE_NONEXISTENT. */
static enum store_status message_find(struct store *st, int64_t id,
                                      uint32_t uid, char *path)
{
	struct mbox m;
	struct msgrow r = {0};
	struct kwlist kw = {0};
	char dir[PATH_MAX];
	enum store_status ret = mbox_by_id(st, id, &m);
	if (ret == STORE_OK && m.noselect)
		ret = STORE_NONEXISTENT;
	if (ret == STORE_OK && mbox_path(st, m.name, "", dir, sizeof(dir)) < 0)
		ret = STORE_BADNAME;
	if (ret == STORE_OK)
		ret = msg_row_get(st, id, uid, &r);
	if (ret == STORE_OK)
		ret = kw_load(st, id, &kw);
	if (ret == STORE_OK && msg_find(dir, &kw, &r, path) < 0)
		ret = STORE_NONEXISTENT;
	free(r.keywords);
	kw_free(&kw);
	mbox_free(&m);
	return ret;
}

/* A concurrent STORE renames a file to its new flags after its commit,
 * so a reader may find a name that is gone when it opens it, or miss the
 * file in a directory scan that races the rename: it looks again. */
#define OPEN_ATTEMPTS 4

/* One attempt: STORE_OK with *fd_r, or STORE_NONEXISTENT when the file
 * was not found (or vanished before the open). */
static enum store_status open_once(struct store *st, int64_t id, uint32_t uid,
                                   int *fd_r)
{
	char path[PATH_MAX];
	enum store_status ret = message_find(st, id, uid, path);
	if (ret != STORE_OK)
		return ret;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		*fd_r = fd;
		return STORE_OK;
	}
	return errno == ENOENT ? STORE_NONEXISTENT
	                       : store_errno_status(st, "open", path, errno);
}

enum store_status store_open_message(struct store *st, uint64_t mailbox_id,
                                     uint32_t uid, int *fd_r, uint64_t *size_r)
{
	int fd = -1;
	*fd_r = -1;
	enum store_status ret = STORE_NONEXISTENT;
	for (int i = 0; i < OPEN_ATTEMPTS && ret == STORE_NONEXISTENT; i++)
		ret = open_once(st, (int64_t)mailbox_id, uid, &fd);
	if (ret == STORE_NONEXISTENT) {
		/* the row is there, its file nowhere, time after time */
		struct msgrow r = {0};
		if (msg_row_get(st, (int64_t)mailbox_id, uid, &r) == STORE_OK)
			message_drop_lost(st, (int64_t)mailbox_id, uid);
		free(r.keywords);
	}
	if (ret != STORE_OK)
		return ret;
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		ret = store_errno_status(st, "stat", "message file", errno);
		close(fd);
		return ret;
	}
	*fd_r = fd;
	*size_r = (uint64_t)sb.st_size;
	return STORE_OK;
}
