/* What the message model derives from a message: a blob per message
 * (message_cache) and its searchable text in an FTS5 trigram index
 * (message_text, whose rowid is mailbox_id << 32 | uid). See store.h. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "store/store-private.h"

#define TEXT_MIN_NEEDLE 3

static int64_t text_rowid(int64_t mailbox_id, uint32_t uid)
{
	return (int64_t)((uint64_t)mailbox_id << 32 | uid);
}

enum store_status cache_delete(struct store *st, int64_t mailbox_id,
                               uint32_t uid)
{
	sqlite3_stmt *c = db_stmt(st, "DELETE FROM message_cache"
	                              " WHERE mailbox_id = ? AND uid = ?");
	sqlite3_stmt *t = db_stmt(st, "DELETE FROM message_text"
	                              " WHERE rowid = ?");
	if (c == NULL || t == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(c, 1, mailbox_id);
	sqlite3_bind_int64(c, 2, uid);
	sqlite3_bind_int64(t, 1, text_rowid(mailbox_id, uid));
	if (db_exec_stmt(c) != SQLITE_DONE || db_exec_stmt(t) != SQLITE_DONE)
		return db_error(st, "cache delete");
	return STORE_OK;
}

enum store_status cache_delete_mailbox(struct store *st, int64_t mailbox_id)
{
	sqlite3_stmt *c = db_stmt(st, "DELETE FROM message_cache"
	                              " WHERE mailbox_id = ?");
	sqlite3_stmt *t = db_stmt(st, "DELETE FROM message_text"
	                              " WHERE rowid BETWEEN ? AND ?");
	if (c == NULL || t == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(c, 1, mailbox_id);
	sqlite3_bind_int64(t, 1, text_rowid(mailbox_id, 0));
	sqlite3_bind_int64(t, 2, text_rowid(mailbox_id, UINT32_MAX));
	if (db_exec_stmt(c) != SQLITE_DONE || db_exec_stmt(t) != SQLITE_DONE)
		return db_error(st, "cache delete");
	return STORE_OK;
}

static bool message_exists(struct store *st, int64_t mailbox_id, uint32_t uid)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT 1 FROM message"
	                              " WHERE mailbox_id = ? AND uid = ?");
	if (s == NULL)
		return false;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	bool found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_reset(s);
	return found;
}

/* Keep e's blob and text (each only if given) with uid, replacing what
 * it had (in a write transaction). */
enum store_status cache_put(struct store *st, int64_t mailbox_id, uint32_t uid,
                            const struct store_cache_entry *e)
{
	sqlite3_stmt *c = db_stmt(
	        st,
	        "INSERT INTO message_cache (mailbox_id, uid, data, has_text)"
	        " VALUES (?1, ?2, coalesce(?3, x''), ?4)"
	        " ON CONFLICT (mailbox_id, uid) DO UPDATE SET"
	        " data = coalesce(?3, data), has_text = has_text OR ?4");
	sqlite3_stmt *d = db_stmt(st, "DELETE FROM message_text"
	                              " WHERE rowid = ?");
	sqlite3_stmt *t =
	        db_stmt(st, "INSERT INTO message_text"
	                    " (rowid, header, body) VALUES (?, ?, ?)");
	if (c == NULL || d == NULL || t == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(c, 1, mailbox_id);
	sqlite3_bind_int64(c, 2, uid);
	if (e->data != NULL)
		sqlite3_bind_blob64(c, 3, e->data, e->len, SQLITE_STATIC);
	sqlite3_bind_int(c, 4, e->body_text != NULL);
	if (db_exec_stmt(c) != SQLITE_DONE)
		return db_error(st, "cache put");
	if (e->body_text == NULL)
		return STORE_OK;
	int64_t rowid = text_rowid(mailbox_id, uid);
	sqlite3_bind_int64(d, 1, rowid);
	sqlite3_bind_int64(t, 1, rowid);
	sqlite3_bind_text64(t, 2, e->header_text != NULL ? e->header_text : "",
	                    e->header_len, SQLITE_STATIC, SQLITE_UTF8);
	sqlite3_bind_text64(t, 3, e->body_text, e->body_len, SQLITE_STATIC,
	                    SQLITE_UTF8);
	if (db_exec_stmt(d) != SQLITE_DONE || db_exec_stmt(t) != SQLITE_DONE)
		return db_error(st, "text put");
	return STORE_OK;
}

/* The derived data of one message for a copy of it (in a write
 * transaction). */
enum store_status cache_copy(struct store *st, int64_t from_id,
                             uint32_t from_uid, int64_t to_id, uint32_t to_uid)
{
	sqlite3_stmt *c =
	        db_stmt(st, "INSERT OR REPLACE INTO message_cache"
	                    " SELECT ?, ?, data, has_text FROM message_cache"
	                    " WHERE mailbox_id = ? AND uid = ?");
	sqlite3_stmt *t = db_stmt(
	        st,
	        "INSERT INTO message_text (rowid, header, body)"
	        " SELECT ?, header, body FROM message_text WHERE rowid = ?");
	if (c == NULL || t == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(c, 1, to_id);
	sqlite3_bind_int64(c, 2, to_uid);
	sqlite3_bind_int64(c, 3, from_id);
	sqlite3_bind_int64(c, 4, from_uid);
	sqlite3_bind_int64(t, 1, text_rowid(to_id, to_uid));
	sqlite3_bind_int64(t, 2, text_rowid(from_id, from_uid));
	if (db_exec_stmt(c) != SQLITE_DONE || db_exec_stmt(t) != SQLITE_DONE)
		return db_error(st, "cache copy");
	return STORE_OK;
}

enum store_status store_cache_put(struct store *st, uint64_t mailbox_id,
                                  const struct store_cache_entry *entries,
                                  size_t count)
{
	enum store_status ret = db_begin(st, true);
	for (size_t i = 0; i < count && ret == STORE_OK; i++) {
		if (message_exists(st, (int64_t)mailbox_id, entries[i].uid))
			ret = cache_put(st, (int64_t)mailbox_id, entries[i].uid,
			                &entries[i]);
	}
	if (ret != STORE_OK) {
		db_rollback(st);
		return ret;
	}
	return db_commit(st);
}

enum store_status store_cache_get(struct store *st, uint64_t mailbox_id,
                                  uint32_t uid, void **data_r, size_t *len_r)
{
	*data_r = NULL;
	*len_r = 0;
	sqlite3_stmt *s = db_stmt(st, "SELECT data FROM message_cache"
	                              " WHERE mailbox_id = ? AND uid = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, (int64_t)mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s, 0);
		const void *blob = sqlite3_column_blob(s, 0);
		*data_r = xmemdup(blob != NULL ? blob : "", len + 1);
		*len_r = len;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, "cache get");
	return STORE_OK;
}

/* The FTS5 query for needle: every run of three characters (the
 * trigram index's tokens; a longer phrase would need detail=full, twice
 * the index) as a quoted term, ANDed. A superset of the messages that
 * contain needle, which the caller narrows. NULL if needle has fewer
 * than three characters. */
#define TEXT_MAX_TERMS 64
static char *fts_query(const char *needle, enum store_text_part part)
{
	/* the start of each character, and one past the last */
	size_t starts[TEXT_MAX_TERMS + 4], n = 0, len = strlen(needle), i;
	for (i = 0; i < len && n < TEXT_MAX_TERMS + 3; i++) {
		if (((unsigned char)needle[i] & 0xc0) != 0x80)
			starts[n++] = i;
	}
	/* cut short: the last start only ends the character before it */
	size_t chars = i < len ? n - 1 : n;
	if (chars < TEXT_MIN_NEEDLE)
		return NULL;
	starts[chars] = i < len ? starts[chars] : len;
	struct buf b;
	buf_init(&b, 16 * len + 64);
	if (part != STORE_TEXT_ALL)
		buf_append_str(&b, part == STORE_TEXT_BODY ? "body : ("
		                                           : "header : (");
	for (size_t t = 0; t + 3 <= chars; t++) {
		buf_append_str(&b, t == 0 ? "\"" : " AND \"");
		for (size_t k = starts[t]; k < starts[t + 3]; k++) {
			if (needle[k] == '"')
				buf_append_byte(&b, '"');
			buf_append_byte(&b, (unsigned char)needle[k]);
		}
		buf_append_byte(&b, '"');
	}
	if (part != STORE_TEXT_ALL)
		buf_append_byte(&b, ')');
	char *q = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return q;
}

static void add_uid(uint32_t **uids, size_t *n, size_t *cap, uint32_t uid)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		*uids = xrealloc(*uids, *cap * sizeof(**uids));
	}
	(*uids)[(*n)++] = uid;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Run s (bound already), adding column 0 (a UID, or a rowid whose low
 * 32 bits are one) to the list. */
static int collect(sqlite3_stmt *s, uint32_t **uids, size_t *n, size_t *cap)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		add_uid(uids, n, cap,
		        (uint32_t)((uint64_t)sqlite3_column_int64(s, 0) &
		                   UINT32_MAX));
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

enum store_status store_text_candidates(struct store *st, uint64_t mailbox_id,
                                        const char *needle,
                                        enum store_text_part part,
                                        uint32_t **uids_r, size_t *count_r,
                                        bool *all_r)
{
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	*uids_r = NULL;
	*count_r = 0;
	char *query = fts_query(needle, part);
	*all_r = query == NULL;
	if (*all_r)
		return STORE_OK;
	sqlite3_stmt *fts = db_stmt(
	        st, "SELECT rowid FROM message_text WHERE message_text MATCH ?"
	            " AND rowid BETWEEN ? AND ?");
	sqlite3_stmt *bare = db_stmt(
	        st, "SELECT m.uid FROM message m LEFT JOIN message_cache c"
	            " ON c.mailbox_id = m.mailbox_id AND c.uid = m.uid"
	            " WHERE m.mailbox_id = ? AND coalesce(c.has_text, 0) = 0");
	if (fts == NULL || bare == NULL) {
		free(query);
		return STORE_ERROR;
	}
	sqlite3_bind_text(fts, 1, query, -1, SQLITE_TRANSIENT);
	free(query);
	sqlite3_bind_int64(fts, 2, text_rowid((int64_t)mailbox_id, 0));
	sqlite3_bind_int64(fts, 3, text_rowid((int64_t)mailbox_id, UINT32_MAX));
	sqlite3_bind_int64(bare, 1, (int64_t)mailbox_id);
	if (collect(fts, &uids, &n, &cap) < 0 ||
	    collect(bare, &uids, &n, &cap) < 0) {
		free(uids);
		return db_error(st, "text search");
	}
	if (n > 1)
		qsort(uids, n, sizeof(*uids), uid_cmp);
	*uids_r = uids;
	*count_r = n;
	return STORE_OK;
}

enum store_status store_cache_missing(struct store *st, uint64_t mailbox_id,
                                      uint32_t **uids_r, size_t *count_r)
{
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	*uids_r = NULL;
	*count_r = 0;
	sqlite3_stmt *s = db_stmt(
	        st, "SELECT m.uid FROM message m LEFT JOIN message_cache c"
	            " ON c.mailbox_id = m.mailbox_id AND c.uid = m.uid"
	            " WHERE m.mailbox_id = ? AND (c.uid IS NULL OR"
	            " length(c.data) = 0 OR c.has_text = 0) ORDER BY m.uid");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, (int64_t)mailbox_id);
	if (collect(s, &uids, &n, &cap) < 0) {
		free(uids);
		return db_error(st, "cache missing");
	}
	*uids_r = uids;
	*count_r = n;
	return STORE_OK;
}

static char *column_copy(sqlite3_stmt *s, int col, size_t *len_r)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*len_r = (size_t)sqlite3_column_bytes(s, col);
	return xmemdup(t != NULL ? (const char *)t : "", *len_r + 1);
}

enum store_status store_text_get(struct store *st, uint64_t mailbox_id,
                                 uint32_t uid, char **header_r,
                                 size_t *header_len_r, char **body_r,
                                 size_t *body_len_r)
{
	*header_r = NULL;
	*header_len_r = 0;
	if (body_r != NULL) {
		*body_r = NULL;
		*body_len_r = 0;
	}
	sqlite3_stmt *s =
	        body_r != NULL
	                ? db_stmt(st, "SELECT header, body FROM message_text"
	                              " WHERE rowid = ?")
	                : db_stmt(st, "SELECT header FROM message_text"
	                              " WHERE rowid = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, text_rowid((int64_t)mailbox_id, uid));
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*header_r = column_copy(s, 0, header_len_r);
		if (body_r != NULL)
			*body_r = column_copy(s, 1, body_len_r);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, "text get");
	return STORE_OK;
}
