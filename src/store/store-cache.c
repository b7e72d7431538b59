/* What the message model derives from a message (see store.h), keyed by
 * id = mailbox_id << 32 | uid:
 *  - `derived`: the blob, in a rowid table, so a blob of a few KiB fits
 *    in its leaf page instead of spilling to an overflow page;
 *  - the searchable text, once, in `text_store`; the FTS5 trigram
 *    index `message_text` is contentless (it keeps no copy of the
 *    text) and takes texts TEXT_BATCH messages at a time: indexing one
 *    message per transaction made FTS5 write a new segment, and merge
 *    segments, for every APPEND (45 page writes per 4 KB message); a
 *    batch writes one segment. A text not indexed yet (its id in
 *    `text_unindexed`, so the text row is written once) is a candidate
 *    of every search, confirmed like the rest, so answers do not
 *    depend on it. A contentless index forgets a text
 *    only when told its exact words, which `text_store` has;
 *  - `message.has_text`, with a partial index on the messages that have
 *    no text, so finding those costs nothing when there are none. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "store/store-private.h"

#define TEXT_MIN_NEEDLE 3
#define TEXT_BATCH 128

static int64_t text_rowid(int64_t mailbox_id, uint32_t uid)
{
	return (int64_t)((uint64_t)mailbox_id << 32 | uid);
}

/* Run the statement, its parameters (none, one or two) bound to a and
 * b. */
static enum store_status run_ids(struct store *st, const char *sql, int64_t a,
                                 int64_t b, const char *what)
{
	sqlite3_stmt *s = db_stmt(st, sql);
	if (s == NULL)
		return STORE_ERROR;
	if (sqlite3_bind_parameter_count(s) > 0)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) > 1)
		sqlite3_bind_int64(s, 2, b);
	return db_exec_stmt(s) == SQLITE_DONE ? STORE_OK : db_error(st, what);
}

/* Drop the texts (and the blobs too, unless text_only) of the ids in
 * [lo, hi]. */
static enum store_status cache_delete_range(struct store *st, int64_t lo,
                                            int64_t hi, bool text_only)
{
	static const char *const sql[] = {
	        "INSERT INTO message_text (message_text, rowid, header, body)"
	        " SELECT 'delete', id, header, body FROM text_store"
	        " WHERE id BETWEEN ?1 AND ?2 AND id NOT IN"
	        " (SELECT id FROM text_unindexed WHERE id BETWEEN ?1 AND ?2)",
	        "DELETE FROM text_unindexed WHERE id BETWEEN ? AND ?",
	        "DELETE FROM text_store WHERE id BETWEEN ? AND ?",
	        "DELETE FROM derived WHERE id BETWEEN ? AND ?",
	};
	enum store_status ret = STORE_OK;
	size_t n = sizeof(sql) / sizeof(sql[0]) - (text_only ? 1 : 0);
	for (size_t i = 0; i < n && ret == STORE_OK; i++)
		ret = run_ids(st, sql[i], lo, hi, "cache delete");
	return ret;
}

enum store_status cache_delete(struct store *st, int64_t mailbox_id,
                               uint32_t uid)
{
	int64_t id = text_rowid(mailbox_id, uid);
	return cache_delete_range(st, id, id, false);
}

enum store_status cache_delete_mailbox(struct store *st, int64_t mailbox_id)
{
	return cache_delete_range(st, text_rowid(mailbox_id, 0),
	                          text_rowid(mailbox_id, UINT32_MAX), false);
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

/* The message's has_text mark. */
static enum store_status mark_text(struct store *st, int64_t mailbox_id,
                                   uint32_t uid, bool has)
{
	sqlite3_stmt *s = db_stmt(st, "UPDATE message SET has_text = ?"
	                              " WHERE mailbox_id = ? AND uid = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int(s, 1, has);
	sqlite3_bind_int64(s, 2, mailbox_id);
	sqlite3_bind_int64(s, 3, uid);
	return db_exec_stmt(s) == SQLITE_DONE ? STORE_OK
	                                      : db_error(st, "text mark");
}

static enum store_status put_text(struct store *st, int64_t id,
                                  const struct store_cache_entry *e)
{
	sqlite3_stmt *t =
	        db_stmt(st, "INSERT INTO text_store (id, header, body)"
	                    " VALUES (?, ?, ?)");
	/* a text it had leaves the index first */
	enum store_status ret = cache_delete_range(st, id, id, true);
	if (ret == STORE_OK)
		ret = run_ids(st, "INSERT INTO text_unindexed (id) VALUES (?)",
		              id, 0, "text put");
	if (t == NULL || ret != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(t, 1, id);
	sqlite3_bind_text64(t, 2, e->header_text != NULL ? e->header_text : "",
	                    e->header_len, SQLITE_STATIC, SQLITE_UTF8);
	sqlite3_bind_text64(t, 3, e->body_text, e->body_len, SQLITE_STATIC,
	                    SQLITE_UTF8);
	return db_exec_stmt(t) == SQLITE_DONE ? STORE_OK
	                                      : db_error(st, "text put");
}

/* Keep e's blob and text (each only if given) with uid, replacing what
 * it had (in a write transaction). */
enum store_status cache_put(struct store *st, int64_t mailbox_id, uint32_t uid,
                            const struct store_cache_entry *e)
{
	int64_t id = text_rowid(mailbox_id, uid);
	enum store_status ret = STORE_OK;
	if (e->body_text != NULL) {
		ret = put_text(st, id, e);
		if (ret == STORE_OK)
			ret = mark_text(st, mailbox_id, uid, true);
	}
	if (ret != STORE_OK || e->data == NULL)
		return ret;
	sqlite3_stmt *c = db_stmt(st, "INSERT OR REPLACE INTO derived"
	                              " (id, data) VALUES (?, ?)");
	if (c == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(c, 1, id);
	sqlite3_bind_blob64(c, 2, e->len > 0 ? e->data : "", e->len,
	                    SQLITE_STATIC);
	return db_exec_stmt(c) == SQLITE_DONE ? STORE_OK
	                                      : db_error(st, "cache put");
}

/* The derived data of one message for a copy of it (in a write
 * transaction): the copy's text waits for the next batch. */
enum store_status cache_copy(struct store *st, int64_t from_id,
                             uint32_t from_uid, int64_t to_id, uint32_t to_uid)
{
	int64_t from = text_rowid(from_id, from_uid);
	int64_t to = text_rowid(to_id, to_uid);
	enum store_status ret = run_ids(
	        st,
	        "INSERT OR REPLACE INTO derived SELECT ?2, data FROM derived"
	        " WHERE id = ?1",
	        from, to, "cache copy");
	if (ret == STORE_OK)
		ret = run_ids(st,
		              "INSERT OR REPLACE INTO text_store"
		              " SELECT ?2, header, body FROM text_store"
		              " WHERE id = ?1",
		              from, to, "cache copy");
	if (ret != STORE_OK || sqlite3_changes(st->db) == 0)
		return ret;
	ret = run_ids(st,
	              "INSERT OR REPLACE INTO text_unindexed (id)"
	              " VALUES (?)",
	              to, 0, "cache copy");
	return ret == STORE_OK ? mark_text(st, to_id, to_uid, true) : ret;
}

/* Move the pending texts into the trigram index once there are
 * TEXT_BATCH of them (in a write transaction). */
static enum store_status cache_text_flush(struct store *st, bool force)
{
	sqlite3_stmt *n = db_stmt(st, "SELECT count(*) FROM text_unindexed");
	if (n == NULL || sqlite3_step(n) != SQLITE_ROW) {
		if (n != NULL)
			sqlite3_reset(n);
		return db_error(st, "text count");
	}
	int64_t pending = sqlite3_column_int64(n, 0);
	sqlite3_reset(n);
	if (pending == 0 || (!force && pending < TEXT_BATCH))
		return STORE_OK;
	enum store_status ret =
	        run_ids(st,
	                "INSERT INTO message_text (rowid, header, body)"
	                " SELECT id, header, body FROM text_store"
	                " WHERE id IN (SELECT id FROM text_unindexed)",
	                0, 0, "text flush");
	if (ret == STORE_OK)
		ret = run_ids(st, "DELETE FROM text_unindexed", 0, 0,
		              "text flush");
	return ret;
}

/* cache_text_flush in a transaction of its own. */
static enum store_status flush_transaction(struct store *st, bool force)
{
	enum store_status ret = db_begin(st, true);
	if (ret != STORE_OK)
		return ret;
	ret = cache_text_flush(st, force);
	if (ret != STORE_OK) {
		db_rollback(st);
		return ret;
	}
	return db_commit(st);
}

enum store_status store_text_flush(struct store *st)
{
	return flush_transaction(st, true);
}

void cache_text_flush_now(struct store *st)
{
	/* a failure leaves the texts waiting: they are still searched */
	(void)flush_transaction(st, false);
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
	ret = db_commit(st);
	if (ret == STORE_OK)
		cache_text_flush_now(st);
	return ret;
}

enum store_status store_cache_get(struct store *st, uint64_t mailbox_id,
                                  uint32_t uid, void **data_r, size_t *len_r)
{
	*data_r = NULL;
	*len_r = 0;
	sqlite3_stmt *s = db_stmt(st, "SELECT data FROM derived WHERE id = ?");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, text_rowid((int64_t)mailbox_id, uid));
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
	/* not in the trigram index: pending, or no text at all */
	sqlite3_stmt *rest = db_stmt(
	        st, "SELECT id FROM text_unindexed WHERE"
	            " id BETWEEN ?2 AND ?3 UNION ALL SELECT uid FROM message"
	            " WHERE mailbox_id = ?1 AND has_text = 0");
	if (fts == NULL || rest == NULL) {
		free(query);
		return STORE_ERROR;
	}
	int64_t lo = text_rowid((int64_t)mailbox_id, 0);
	int64_t hi = text_rowid((int64_t)mailbox_id, UINT32_MAX);
	sqlite3_bind_text(fts, 1, query, -1, SQLITE_TRANSIENT);
	free(query);
	sqlite3_bind_int64(fts, 2, lo);
	sqlite3_bind_int64(fts, 3, hi);
	sqlite3_bind_int64(rest, 1, (int64_t)mailbox_id);
	sqlite3_bind_int64(rest, 2, lo);
	sqlite3_bind_int64(rest, 3, hi);
	if (collect(fts, &uids, &n, &cap) < 0 ||
	    collect(rest, &uids, &n, &cap) < 0) {
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
	        st, "SELECT uid FROM message WHERE mailbox_id = ?1 AND"
	            " (has_text = 0 OR NOT EXISTS (SELECT 1 FROM derived"
	            " WHERE id = ?1 << 32 | uid)) ORDER BY uid");
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

/* The texts of id from the statement s (bound here); true if found. */
static bool text_row(sqlite3_stmt *s, int64_t id, char **header_r,
                     size_t *header_len_r, char **body_r, size_t *body_len_r,
                     int *rc_r)
{
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*header_r = column_copy(s, 0, header_len_r);
		if (body_r != NULL)
			*body_r = column_copy(s, 1, body_len_r);
	}
	sqlite3_reset(s);
	*rc_r = rc;
	return rc == SQLITE_ROW;
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
	bool body = body_r != NULL;
	sqlite3_stmt *p = db_stmt(st, body ? "SELECT header, body FROM"
	                                     " text_store WHERE id = ?"
	                                   : "SELECT header FROM text_store"
	                                     " WHERE id = ?");
	if (p == NULL)
		return STORE_ERROR;
	int rc;
	text_row(p, text_rowid((int64_t)mailbox_id, uid), header_r,
	         header_len_r, body_r, body_len_r, &rc);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, "text get");
	return STORE_OK;
}
