/* Message files and rows of the local store: naming, finding (with the
 * lazy repairs that crash-safety relies on), bringing in files other
 * programs wrote, and the row helpers. */
#include "store/store-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

int msg_filename(const struct kwlist *kw, const struct msgrow *r, char *out,
                 size_t n)
{
	return maildir_name_build(out, n, r->key, r->uid, r->flags,
	                          kw_mask(kw, r->keywords));
}

/* Look in cur/ for a file named "<key>,U=<uid>:..." other than the exact
 * name, e.g. after a crash between a STORE's commit and its renames, or
 * a rename by a Maildir client; rename it to path (repair), or put its
 * path there. */
static int msg_find_by_prefix(const char *mdir, const struct msgrow *r,
                              char *path, bool repair)
{
	char cur[PATH_MAX], prefix[MAILDIR_FILENAME_MAX + 32];
	snprintf(cur, sizeof(cur), "%s/cur", mdir);
	int plen = snprintf(prefix, sizeof(prefix), "%s,U=%u:", r->key, r->uid);
	DIR *d = opendir(cur);
	if (d == NULL)
		return -1;
	int ret = -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, (size_t)plen) != 0)
			continue;
		char from[PATH_MAX];
		snprintf(from, sizeof(from), "%s/%s", cur, de->d_name);
		if (!repair) {
			memcpy(path, from, sizeof(from));
			ret = 0;
		} else if (rename(from, path) == 0) {
			ret = 0;
		}
		break;
	}
	closedir(d);
	return ret;
}

/* A crash after the commit of an APPEND or COPY, before its rename:
 * roll it forward to path. */
static int roll_forward(const char *mdir, const struct msgrow *r,
                        const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", mdir, r->key);
	if (rename(tmp, path) == 0)
		return 0;
	return access(path, F_OK) == 0 ? 0 : -1;
}

int msg_locate(const char *mdir, const struct kwlist *kw,
               const struct msgrow *r, char *path)
{
	char name[MAILDIR_FILENAME_MAX + 1];
	if (msg_filename(kw, r, name, sizeof(name)) < 0)
		return -1;
	snprintf(path, PATH_MAX, "%s/cur/%s", mdir, name);
	if (access(path, F_OK) == 0)
		return 0;
	if (msg_find_by_prefix(mdir, r, path, true) == 0)
		return 0;
	return roll_forward(mdir, r, path);
}

int msg_find(const char *mdir, const struct kwlist *kw, const struct msgrow *r,
             char *path)
{
	char name[MAILDIR_FILENAME_MAX + 1];
	if (msg_filename(kw, r, name, sizeof(name)) < 0)
		return -1;
	snprintf(path, PATH_MAX, "%s/cur/%s", mdir, name);
	if (access(path, F_OK) == 0 ||
	    msg_find_by_prefix(mdir, r, path, false) == 0)
		return 0;
	return roll_forward(mdir, r, path);
}

void msg_rename_flags(const char *mdir, const struct kwlist *kw,
                      const struct msgrow *old, const struct msgrow *now)
{
	char a[MAILDIR_FILENAME_MAX + 1], b[MAILDIR_FILENAME_MAX + 1];
	if (msg_filename(kw, old, a, sizeof(a)) < 0 ||
	    msg_filename(kw, now, b, sizeof(b)) < 0 || strcmp(a, b) == 0)
		return;
	char from[PATH_MAX], to[PATH_MAX];
	snprintf(from, sizeof(from), "%s/cur/%s", mdir, a);
	snprintf(to, sizeof(to), "%s/cur/%s", mdir, b);
	if (rename(from, to) < 0 && errno == ENOENT)
		msg_locate(mdir, kw, now, to);
}

/* Write len bytes of data to a new file at path with CR LF line ends,
 * set its times to mtime and (if sync) sync it; 0 or -1 with errno. */
static int msg_write_crlf_copy(const char *path, const void *data, size_t len,
                               struct timespec mtime, bool sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	struct timespec ts[2] = {mtime, mtime};
	int ret = store_write_crlf(fd, data, len) < 0 || futimens(fd, ts) < 0 ||
	                          (sync && fsync(fd) < 0)
	                  ? -1
	                  : 0;
	int err = errno;
	close(fd);
	errno = err;
	return ret;
}

enum store_status msg_file_to_tmp(struct store *st, const char *dir,
                                  const char *path, bool link_clean, bool sync,
                                  struct msgrow *r, bool *put_r)
{
	*put_r = false;
	int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (in < 0 || fstat(in, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (in >= 0)
			close(in);
		return STORE_OK; /* gone, or not a message: left alone */
	}
	size_t len = (size_t)sb.st_size;
	void *map =
	        len > 0 ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, in, 0) : NULL;
	int err = errno;
	close(in);
	if (map == MAP_FAILED)
		return store_errno_status(st, "mmap", path, err);
	r->size = store_crlf_size(map, len);
	r->internaldate = (int64_t)sb.st_mtim.tv_sec;
	enum store_status ret = STORE_OK;
	if (r->size != len || link_clean) {
		char to[PATH_MAX];
		store_make_key(st, r->size, r->key, sizeof(r->key));
		snprintf(to, sizeof(to), "%s/tmp/%s", dir, r->key);
		if ((r->size == len
		             ? link(path, to)
		             : msg_write_crlf_copy(to, map, len, sb.st_mtim,
		                                   sync)) < 0) {
			err = errno;
			unlink(to);
			ret = store_errno_status(st, "copy to tmp", path, err);
		}
		*put_r = ret == STORE_OK;
	}
	if (map != NULL)
		munmap(map, len);
	return ret;
}

void msgrow_from_stmt(sqlite3_stmt *s, int col, struct msgrow *r)
{
	r->uid = (uint32_t)sqlite3_column_int64(s, col);
	r->flags = (uint32_t)sqlite3_column_int64(s, col + 1);
	const unsigned char *kw = sqlite3_column_text(s, col + 2);
	r->keywords = kw != NULL ? xstrdup((const char *)kw) : NULL;
	const unsigned char *key = sqlite3_column_text(s, col + 3);
	snprintf(r->key, sizeof(r->key), "%s",
	         key != NULL ? (const char *)key : "");
	r->internaldate = sqlite3_column_int64(s, col + 4);
	r->tz_offset_min = sqlite3_column_int(s, col + 5);
	r->savedate = sqlite3_column_int64(s, col + 6);
	r->size = (uint64_t)sqlite3_column_int64(s, col + 7);
	r->modseq = (uint64_t)sqlite3_column_int64(s, col + 8);
}

enum store_status msg_row_get(struct store *st, int64_t mailbox_id,
                              uint32_t uid, struct msgrow *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(st, "SELECT " MSGROW_COLUMNS " FROM message"
	                              " WHERE mailbox_id = ? AND uid = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	int rc = sqlite3_step(s);
	enum store_status ret = STORE_OK;
	if (rc == SQLITE_ROW)
		msgrow_from_stmt(s, 0, out);
	else if (rc == SQLITE_DONE)
		ret = STORE_NONEXISTENT;
	else
		ret = db_error(st, "message lookup");
	sqlite3_reset(s);
	return ret;
}

enum store_status msg_row_insert(struct store *st, int64_t mailbox_id,
                                 const struct msgrow *r)
{
	sqlite3_stmt *s =
	        db_stmt(st, "INSERT INTO message (mailbox_id, " MSGROW_COLUMNS
	                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, r->uid);
	sqlite3_bind_int64(s, 3, r->flags);
	if (r->keywords != NULL)
		sqlite3_bind_text(s, 4, r->keywords, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, r->internaldate);
	sqlite3_bind_int(s, 7, r->tz_offset_min);
	sqlite3_bind_int64(s, 8, r->savedate);
	sqlite3_bind_int64(s, 9, (int64_t)r->size);
	sqlite3_bind_int64(s, 10, (int64_t)r->modseq);
	if (db_exec_stmt(s) != SQLITE_DONE)
		return db_error(st, "message insert");
	return STORE_OK;
}

enum store_status msg_row_delete(struct store *st, int64_t mailbox_id,
                                 uint32_t uid, uint64_t modseq)
{
	sqlite3_stmt *del = db_stmt(st, "DELETE FROM message WHERE"
	                                " mailbox_id = ? AND uid = ?");
	sqlite3_stmt *exp = db_stmt(st, "INSERT OR REPLACE INTO expunged"
	                                " (mailbox_id, uid, modseq)"
	                                " VALUES (?, ?, ?)");
	if (del == NULL || exp == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(del, 1, mailbox_id);
	sqlite3_bind_int64(del, 2, uid);
	sqlite3_bind_int64(exp, 1, mailbox_id);
	sqlite3_bind_int64(exp, 2, uid);
	sqlite3_bind_int64(exp, 3, (int64_t)modseq);
	if (db_exec_stmt(del) != SQLITE_DONE ||
	    db_exec_stmt(exp) != SQLITE_DONE)
		return db_error(st, "message delete");
	return cache_delete(st, mailbox_id, uid);
}
