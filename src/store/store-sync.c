/* Reporting a mailbox's changes to a session (RFC 3501 SELECT/NOOP,
 * CONDSTORE/QRESYNC RFC 7162), \Recent (RFC 3501 2.3.2), and taking in
 * mail that other programs left in new/. */
#include "store/store-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

void store_changes_free(struct store_changes *c)
{
	for (size_t i = 0; i < c->msg_count; i++)
		free(c->msgs[i].keywords);
	free(c->msgs);
	free(c->expunged);
	for (size_t i = 0; i < c->keyword_count; i++)
		free(c->keywords[i]);
	free(c->keywords);
	memset(c, 0, sizeof(*c));
}

static enum store_status sync_messages(struct store *st, int64_t id,
                                       uint64_t since, struct store_changes *c)
{
	/* Everything: along the primary key. Changes since a modseq: along
	 * the modseq index, then sorted (there are few), instead of a scan
	 * of the whole mailbox. */
	sqlite3_stmt *s =
	        since == 0
	                ? db_stmt(st,
	                          "SELECT uid, flags, keywords, internaldate,"
	                          " tz_offset, savedate, size, modseq"
	                          " FROM message WHERE mailbox_id = ?"
	                          " AND modseq > ? ORDER BY uid")
	                : db_stmt(st,
	                          "SELECT uid, flags, keywords, internaldate,"
	                          " tz_offset, savedate, size, modseq"
	                          " FROM message INDEXED BY message_modseq"
	                          " WHERE mailbox_id = ? AND modseq > ?"
	                          " ORDER BY uid");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)since);
	size_t alloc = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (c->msg_count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			c->msgs = xrealloc(c->msgs, alloc * sizeof(*c->msgs));
		}
		struct store_msg *m = &c->msgs[c->msg_count++];
		m->uid = (uint32_t)sqlite3_column_int64(s, 0);
		m->flags = (uint32_t)sqlite3_column_int64(s, 1);
		const unsigned char *kw = sqlite3_column_text(s, 2);
		m->keywords = kw != NULL ? xstrdup((const char *)kw) : NULL;
		m->internaldate = sqlite3_column_int64(s, 3);
		m->tz_offset_min = sqlite3_column_int(s, 4);
		m->savedate = sqlite3_column_int64(s, 5);
		m->size = (uint64_t)sqlite3_column_int64(s, 6);
		m->modseq = (uint64_t)sqlite3_column_int64(s, 7);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : db_error(st, "sync");
}

static enum store_status sync_expunged(struct store *st, int64_t id,
                                       uint64_t since, struct store_changes *c)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT uid FROM expunged"
	                              " INDEXED BY expunged_modseq WHERE"
	                              " mailbox_id = ? AND modseq > ?"
	                              " ORDER BY uid");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)since);
	size_t alloc = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (c->expunged_count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			c->expunged = xrealloc(c->expunged,
			                       alloc * sizeof(*c->expunged));
		}
		c->expunged[c->expunged_count++] =
		        (uint32_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK : db_error(st, "sync expunged");
}

/* Does the index know every expunge from mailbox m with a modseq above
 * since? Its history starts at its oldest change: a rebuild gives every
 * message one new modseq above all before and forgets the expunges
 * (store-rebuild.c), so a message or an expunge with a modseq at or
 * below since shows that the history reaches back that far. Nothing
 * after since at all needs no history. (Rows of `expunged` are never
 * dropped while the mailbox lives; a scheme that dropped old ones would
 * have to keep the modseq it dropped up to, and test against it.) */
static enum store_status history_reaches(struct store *st, const struct mbox *m,
                                         uint64_t since, bool *complete_r)
{
	static const char *const sql[] = {
	        "SELECT 1 FROM message INDEXED BY message_modseq"
	        " WHERE mailbox_id = ? AND modseq <= ? LIMIT 1",
	        "SELECT 1 FROM expunged WHERE mailbox_id = ? AND modseq <= ?"
	        " LIMIT 1",
	};
	*complete_r = since >= m->highestmodseq;
	for (size_t i = 0; i < 2 && !*complete_r; i++) {
		sqlite3_stmt *s = db_stmt(st, sql[i]);
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, m->id);
		sqlite3_bind_int64(s, 2, (int64_t)since);
		int rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_error(st, "expunge history");
		*complete_r = rc == SQLITE_ROW;
	}
	return STORE_OK;
}

/* Inside the transaction: claim \Recent and report. */
static enum store_status sync_report(struct store *st, struct mbox *m,
                                     uint64_t since, bool claim,
                                     struct store_changes *out)
{
	out->mailbox_id = (uint64_t)m->id;
	out->uidvalidity = m->uidvalidity;
	out->uidnext = m->uidnext;
	out->highestmodseq = m->highestmodseq;
	out->recent_uid = m->first_recent_uid;
	enum store_status ret = STORE_OK;
	if (claim && m->first_recent_uid < m->uidnext) {
		m->first_recent_uid = m->uidnext;
		ret = mbox_update(st, m);
	}
	bool complete = true;
	if (ret == STORE_OK && since > 0)
		ret = history_reaches(st, m, since, &complete);
	out->expunges_unknown = !complete;
	if (ret == STORE_OK)
		ret = sync_messages(st, m->id, since, out);
	if (ret == STORE_OK && since > 0)
		ret = sync_expunged(st, m->id, since, out);
	struct kwlist kw;
	if (ret == STORE_OK && (ret = kw_load(st, m->id, &kw)) == STORE_OK) {
		out->keywords = kw.names;
		out->keyword_count = kw.count;
	}
	return ret;
}

/* Look up the mailbox by name or id; the transaction is a write one
 * only when claiming \Recent would change something. */
static enum store_status sync_locked(struct store *st, const char *name,
                                     int64_t id, uint64_t since, bool claim,
                                     struct store_changes *out)
{
	struct mbox m;
	enum store_status ret = name != NULL ? mbox_by_name(st, name, &m)
	                                     : mbox_by_id(st, id, &m);
	bool write = ret == STORE_OK && claim && m.first_recent_uid < m.uidnext;
	if (ret == STORE_OK) {
		mbox_free(&m);
		ret = db_begin(st, write);
	}
	if (ret != STORE_OK)
		return ret;
	ret = name != NULL ? mbox_by_name(st, name, &m)
	                   : mbox_by_id(st, id, &m);
	if (ret == STORE_OK && m.noselect)
		ret = name != NULL ? STORE_NOSELECT : STORE_NONEXISTENT;
	if (ret == STORE_OK)
		ret = sync_report(st, &m, since, claim && write, out);
	mbox_free(&m);
	if (ret == STORE_OK)
		return write ? db_commit(st) : (db_rollback(st), STORE_OK);
	db_rollback(st);
	return ret;
}

static enum store_status sync_common(struct store *st, const char *name,
                                     int64_t id, uint64_t since, bool claim,
                                     struct store_changes *out)
{
	memset(out, 0, sizeof(*out));
	enum store_status ret = STORE_OK;
	if (name == NULL) {
		struct mbox m;
		ret = mbox_by_id(st, id, &m);
		if (ret == STORE_OK && !m.noselect)
			ret = store_take_new(st, m.name);
		mbox_free(&m);
	} else {
		ret = store_take_new(st, name);
	}
	if (ret == STORE_OK)
		ret = sync_locked(st, name, id, since, claim, out);
	if (ret != STORE_OK)
		store_changes_free(out);
	return ret;
}

enum store_status store_sync(struct store *st, const char *name,
                             uint64_t since_modseq, bool claim_recent,
                             struct store_changes *out)
{
	if (!maildir_mailbox_name_valid(name)) {
		memset(out, 0, sizeof(*out));
		return STORE_BADNAME;
	}
	return sync_common(st, name, 0, since_modseq, claim_recent, out);
}

enum store_status store_sync_id(struct store *st, uint64_t mailbox_id,
                                uint64_t since_modseq, bool claim_recent,
                                struct store_changes *out)
{
	return sync_common(st, NULL, (int64_t)mailbox_id, since_modseq,
	                   claim_recent, out);
}

enum store_status store_expunged_since(struct store *st, uint64_t mailbox_id,
                                       uint64_t since_modseq, uint32_t **uids_r,
                                       size_t *count_r, bool *complete_r)
{
	struct store_changes c;
	struct mbox m;
	memset(&c, 0, sizeof(c));
	*uids_r = NULL;
	*count_r = 0;
	*complete_r = false;
	enum store_status ret = db_begin(st, false);
	if (ret != STORE_OK)
		return ret;
	ret = mbox_by_id(st, (int64_t)mailbox_id, &m);
	if (ret == STORE_OK && m.noselect)
		ret = STORE_NONEXISTENT;
	if (ret == STORE_OK)
		ret = history_reaches(st, &m, since_modseq, complete_r);
	if (ret == STORE_OK)
		ret = sync_expunged(st, m.id, since_modseq, &c);
	mbox_free(&m);
	db_rollback(st);
	if (ret != STORE_OK) {
		store_changes_free(&c);
		return ret;
	}
	*uids_r = c.expunged;
	*count_r = c.expunged_count;
	return STORE_OK;
}

/* ---- new/ ---- */

/* One file taken from new/: its row, and its name there. */
struct new_file {
	struct msgrow row;
	char name[MAILDIR_FILENAME_MAX + 1];
	uint32_t kw_mask;
};

/* Put new/<name> at tmp/<key>: linked as it is when its lines end in
 * CR LF, else copied with CR LF line ends and synced. */
static int new_to_tmp(struct store *st, const char *dir, struct new_file *f)
{
	char from[PATH_MAX];
	snprintf(from, sizeof(from), "%s/new/%s", dir, f->name);
	bool put;
	enum store_status ret =
	        msg_file_to_tmp(st, dir, from, true, true, &f->row, &put);
	return ret == STORE_OK && put ? 0 : -1;
}

#define NEW_FILES_PER_CALL 1000

static int new_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct new_file *)a)->name,
	              ((const struct new_file *)b)->name);
}

/* Names in new/ (not starting with '.'), at most NEW_FILES_PER_CALL. */
static size_t new_list(const char *newdir, struct new_file **files_r)
{
	DIR *d = opendir(newdir);
	if (d == NULL)
		return 0;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < NEW_FILES_PER_CALL) {
		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) > MAILDIR_FILENAME_MAX)
			continue;
		if (n == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			*files_r =
			        xrealloc(*files_r, alloc * sizeof(**files_r));
		}
		memset(&(*files_r)[n], 0, sizeof(**files_r));
		strcpy((*files_r)[n++].name, de->d_name);
	}
	closedir(d);
	/* delivery order, for names that start with the time */
	if (n > 0)
		qsort(*files_r, n, sizeof(**files_r), new_file_cmp);
	return n;
}

static enum store_status new_commit(struct store *st, const char *name,
                                    struct kwlist *kw, struct msgrow *rows,
                                    const struct new_file *files, size_t n)
{
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	struct mbox m;
	ret = mbox_by_name(st, name, &m);
	if (ret == STORE_OK)
		ret = kw_load(st, m.id, kw);
	for (size_t i = 0; i < n && ret == STORE_OK; i++)
		rows[i].keywords = kw_from_mask(kw, files[i].kw_mask);
	if (ret == STORE_OK)
		ret = store_insert_rows(st, &m, kw, rows, n);
	if (ret == STORE_OK)
		ret = db_commit(st);
	else
		db_rollback(st);
	mbox_free(&m);
	return ret;
}

/* Under the lock on new/: take its files in. */
static enum store_status new_take_locked(struct store *st, const char *name,
                                         const char *dir, const char *newdir)
{
	struct new_file *files = NULL;
	size_t count = new_list(newdir, &files), n = 0;
	struct msgrow *rows = xcalloc(count + 1, sizeof(*rows));
	for (size_t i = 0; i < count; i++) {
		struct maildir_name mn;
		if (maildir_name_parse(files[i].name, &mn) < 0 ||
		    new_to_tmp(st, dir, &files[i]) < 0)
			continue;
		files[i].kw_mask = mn.keyword_mask;
		files[i].row.flags = mn.flags;
		files[n] = files[i];
		rows[n++] = files[i].row;
	}
	struct kwlist kw = {0};
	enum store_status ret =
	        n > 0 ? new_commit(st, name, &kw, rows, files, n) : STORE_OK;
	if (ret != STORE_OK)
		store_unlink_tmp(dir, rows, n);
	if (ret == STORE_OK && n > 0) {
		store_finish_renames(st, dir, &kw, rows, n);
		char path[PATH_MAX];
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", newdir,
			         files[i].name);
			unlink(path);
		}
		fsync_dir(newdir);
	}
	for (size_t i = 0; i < n; i++)
		free(rows[i].keywords);
	free(rows);
	free(files);
	kw_free(&kw);
	return ret;
}

static bool dir_has_files(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return false;
	struct dirent *de;
	bool any = false;
	while (!any && (de = readdir(d)) != NULL)
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

enum store_status store_take_new(struct store *st, const char *name)
{
	char dir[PATH_MAX], newdir[PATH_MAX];
	if (mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		return STORE_OK;
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	if (!dir_has_files(newdir))
		return STORE_OK;
	/* one taker at a time, so a file is never taken twice */
	int fd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return STORE_OK;
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	enum store_status ret = new_take_locked(st, name, dir, newdir);
	close(fd);
	return ret;
}
