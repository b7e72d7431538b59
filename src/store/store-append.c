/* APPEND (RFC 3501 6.3.11, RFC 3502 MULTIAPPEND) into the local store.
 *
 * Crash-safety order: each message is written to tmp/<key> and synced
 * outside any transaction; one write transaction then allocates the UIDs
 * and inserts the rows (which record the key); after the commit the files
 * are renamed into cur/ and cur/ is synced once. A crash after the commit
 * leaves a file in tmp/ that a row names: it is rolled forward when
 * found. A crash before leaves an unnamed tmp/ file, deleted after an
 * hour. */
#include "store/store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

#define WRITE_BUF_BYTES 65536

/* Bytes of data once every bare LF is a CR LF. */
uint64_t store_crlf_size(const unsigned char *p, size_t n)
{
	uint64_t size = n;
	for (const unsigned char *lf = memchr(p, '\n', n); lf != NULL;
	     lf = memchr(lf + 1, '\n', n - (size_t)(lf + 1 - p))) {
		if (lf == p || lf[-1] != '\r')
			size++;
		if (lf + 1 == p + n)
			break;
	}
	return size;
}

/* Append n bytes to out, writing it to fd each time it fills. */
static int crlf_put(int fd, struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	while (n > 0) {
		if (buf_room(out) == 0) {
			if (write_full(fd, out->data, out->len) < 0)
				return -1;
			buf_reset(out);
		}
		size_t take = n < buf_room(out) ? n : buf_room(out);
		buf_append(out, p, take);
		p += take;
		n -= take;
	}
	return 0;
}

/* Write data with bare LFs turned into CR LF, through a buffer of
 * WRITE_BUF_BYTES: a message below that is one write(). */
int store_write_crlf(int fd, const unsigned char *p, size_t n)
{
	const unsigned char *start = p, *end = p + n;
	struct buf out;
	buf_init(&out, WRITE_BUF_BYTES);
	buf_reserve(&out, n < WRITE_BUF_BYTES ? n : WRITE_BUF_BYTES);
	int ret = 0;
	while (ret == 0 && p < end) {
		const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *stop = lf != NULL ? lf : end;
		ret = crlf_put(fd, &out, p, (size_t)(stop - p));
		if (ret < 0 || lf == NULL)
			break;
		bool bare = lf == start || lf[-1] != '\r';
		ret = crlf_put(fd, &out, bare ? "\r\n" : "\n", bare ? 2 : 1);
		p = lf + 1;
	}
	if (ret == 0 && out.len > 0)
		ret = write_full(fd, out.data, out.len);
	int err = errno;
	buf_free(&out);
	errno = err;
	return ret;
}

/* Write one message to tmp/ and set its mtime to the internal date;
 * the fd is left open for the sync. */
static enum store_status append_write(struct store *st, const char *dir,
                                      const struct store_append_msg *m,
                                      struct msgrow *r, int *fd_r)
{
	r->size = store_crlf_size(m->data, m->size);
	if (st->set.max_message_bytes != 0 &&
	    r->size > st->set.max_message_bytes)
		return STORE_TOOBIG;
	store_make_key(st, r->size, r->key, sizeof(r->key));
	r->flags = m->flags & STORE_FLAGS_ALL;
	r->internaldate = m->internaldate != 0 ? m->internaldate : store_now();
	r->tz_offset_min = m->internaldate != 0 ? m->tz_offset_min : 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tmp/%s", dir, r->key);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_errno_status(st, "create", path, errno);
	struct timespec ts[2] = {{.tv_sec = r->internaldate},
	                         {.tv_sec = r->internaldate}};
	if (store_write_crlf(fd, m->data, m->size) < 0 ||
	    futimens(fd, ts) < 0) {
		int err = errno;
		close(fd);
		unlink(path);
		return store_errno_status(st, "write", path, err);
	}
	/* start the writeback now so that the syncs below overlap */
	sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	*fd_r = fd;
	return STORE_OK;
}

void store_unlink_tmp(const char *dir, const struct msgrow *rows, size_t count)
{
	char path[PATH_MAX];
	for (size_t i = 0; i < count; i++) {
		if (rows[i].key[0] == '\0')
			continue;
		snprintf(path, sizeof(path), "%s/tmp/%s", dir, rows[i].key);
		unlink(path);
	}
}

static enum store_status append_write_all(struct store *st, const char *dir,
                                          const struct store_append_msg *msgs,
                                          size_t count, struct msgrow *rows)
{
	int *fds = xcalloc(count, sizeof(*fds));
	size_t opened = 0;
	enum store_status ret = STORE_OK;
	for (; opened < count && ret == STORE_OK; opened++) {
		ret = append_write(st, dir, &msgs[opened], &rows[opened],
		                   &fds[opened]);
		if (ret != STORE_OK)
			rows[opened].key[0] = '\0';
	}
	for (size_t i = 0; i < count; i++) {
		if (ret == STORE_OK && fsync(fds[i]) < 0)
			ret = store_errno_status(st, "fsync", dir, errno);
		if (i < opened && rows[i].key[0] != '\0')
			close(fds[i]);
	}
	free(fds);
	if (ret != STORE_OK)
		store_unlink_tmp(dir, rows, count);
	return ret;
}

enum store_status store_quota_check(struct store *st, uint64_t add_messages,
                                    uint64_t add_bytes)
{
	if (st->set.quota_bytes == 0 && st->set.quota_messages == 0)
		return STORE_OK;
	struct store_quota q;
	enum store_status ret = store_get_quota(st, &q);
	if (ret != STORE_OK)
		return ret;
	if (q.bytes_limit != 0 && q.bytes_used + add_bytes > q.bytes_limit)
		return STORE_OVERQUOTA;
	if (q.messages_limit != 0 &&
	    q.messages_used + add_messages > q.messages_limit)
		return STORE_OVERQUOTA;
	return STORE_OK;
}

/* Give rows UIDs and insert them into m (in a write transaction). */
enum store_status store_insert_rows(struct store *st, struct mbox *m,
                                    struct kwlist *kw, struct msgrow *rows,
                                    size_t count)
{
	enum store_status ret = STORE_OK;
	for (size_t i = 0; i < count && ret == STORE_OK; i++)
		ret = kw_define(st, m, kw, rows[i].keywords);
	uint64_t modseq = m->highestmodseq + 1;
	int64_t now = store_now();
	for (size_t i = 0; i < count && ret == STORE_OK; i++) {
		if (m->uidnext >= UINT32_MAX - 1)
			return STORE_ERROR;
		char *canon =
		        kw_apply(kw, NULL, STORE_FLAGS_ADD, rows[i].keywords);
		free(rows[i].keywords);
		rows[i].keywords = canon;
		rows[i].uid = m->uidnext++;
		rows[i].modseq = modseq;
		rows[i].savedate = now;
		m->messages++;
		m->bytes += rows[i].size;
		ret = msg_row_insert(st, m->id, &rows[i]);
	}
	m->highestmodseq = modseq;
	return ret == STORE_OK ? mbox_update(st, m) : ret;
}

/* Rename committed rows' files from tmp/ into cur/ and sync cur/. A
 * failure leaves a file that msg_locate() rolls forward later. */
void store_finish_renames(struct store *st, const char *dir,
                          const struct kwlist *kw, const struct msgrow *rows,
                          size_t count)
{
	char from[PATH_MAX], to[PATH_MAX], name[MAILDIR_FILENAME_MAX + 1];
	for (size_t i = 0; i < count; i++) {
		if (rows[i].uid == 0 ||
		    msg_filename(kw, &rows[i], name, sizeof(name)) < 0)
			continue;
		snprintf(from, sizeof(from), "%s/tmp/%s", dir, rows[i].key);
		snprintf(to, sizeof(to), "%s/cur/%s", dir, name);
		if (rename(from, to) < 0)
			store_errno_status(st, "rename", from, errno);
	}
	snprintf(to, sizeof(to), "%s/cur", dir);
	if (fsync_dir(to) < 0)
		store_errno_status(st, "fsync", to, errno);
}

static enum store_status append_cache(struct store *st, int64_t id,
                                      const struct store_append_msg *msgs,
                                      const struct msgrow *rows, size_t count)
{
	enum store_status ret = STORE_OK;
	for (size_t i = 0; i < count && ret == STORE_OK; i++) {
		if (msgs[i].cache != NULL)
			ret = cache_put(st, id, rows[i].uid, msgs[i].cache);
	}
	return ret;
}

static enum store_status append_commit(struct store *st, const char *name,
                                       int64_t id,
                                       const struct store_append_msg *msgs,
                                       struct kwlist *kw, struct msgrow *rows,
                                       size_t count, uint32_t *uidvalidity_r)
{
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	struct mbox m;
	ret = mbox_by_name(st, name, &m);
	if (ret == STORE_OK && (m.id != id || m.noselect))
		ret = STORE_NONEXISTENT; /* renamed or deleted meanwhile */
	uint64_t bytes = 0;
	for (size_t i = 0; i < count; i++)
		bytes += rows[i].size;
	if (ret == STORE_OK)
		ret = store_quota_check(st, count, bytes);
	if (ret == STORE_OK)
		ret = kw_load(st, m.id, kw);
	if (ret == STORE_OK)
		ret = store_insert_rows(st, &m, kw, rows, count);
	if (ret == STORE_OK)
		ret = append_cache(st, m.id, msgs, rows, count);
	if (ret == STORE_OK)
		ret = db_commit(st);
	else
		db_rollback(st);
	*uidvalidity_r = m.uidvalidity;
	mbox_free(&m);
	return ret;
}

static enum store_status append_check(struct store *st, const char *name,
                                      const struct store_append_msg *msgs,
                                      size_t count, struct mbox *m)
{
	memset(m, 0, sizeof(*m));
	if (!maildir_mailbox_name_valid(name))
		return STORE_BADNAME;
	for (size_t i = 0; i < count; i++) {
		if (!kw_valid(msgs[i].keywords))
			return STORE_BADNAME;
	}
	enum store_status ret = mbox_by_name(st, name, m);
	if (ret == STORE_OK && m->noselect)
		ret = STORE_NOSELECT;
	return ret;
}

enum store_status store_append(struct store *st, const char *name,
                               const struct store_append_msg *msgs,
                               size_t count, uint32_t *uidvalidity_r,
                               uint32_t *uids_r)
{
	struct mbox m;
	enum store_status ret = append_check(st, name, msgs, count, &m);
	char dir[PATH_MAX];
	if (ret == STORE_OK && mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		ret = STORE_BADNAME;
	*uidvalidity_r = m.uidvalidity;
	if (ret != STORE_OK || count == 0) {
		mbox_free(&m);
		return ret;
	}
	struct msgrow *rows = xcalloc(count, sizeof(*rows));
	for (size_t i = 0; i < count; i++)
		rows[i].keywords = msgs[i].keywords != NULL
		                           ? xstrdup(msgs[i].keywords)
		                           : NULL;
	struct kwlist kw = {0};
	ret = append_write_all(st, dir, msgs, count, rows);
	if (ret == STORE_OK) {
		ret = append_commit(st, name, m.id, msgs, &kw, rows, count,
		                    uidvalidity_r);
		if (ret != STORE_OK)
			store_unlink_tmp(dir, rows, count);
	}
	if (ret == STORE_OK) {
		store_finish_renames(st, dir, &kw, rows, count);
		cache_text_flush_now(st);
		for (size_t i = 0; i < count; i++)
			uids_r[i] = rows[i].uid;
	}
	for (size_t i = 0; i < count; i++)
		free(rows[i].keywords);
	free(rows);
	kw_free(&kw);
	mbox_free(&m);
	return ret;
}
