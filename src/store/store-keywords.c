/* Keywords (RFC 3501 2.3.2) of the local store. Each mailbox numbers the
 * keywords used in it; number i < 26 is Maildir letter 'a'+i, and the
 * list is mirrored in roost-keywords (one per line) for rebuilds. A
 * message's keywords are kept as a string of the defined spellings in
 * number order, so equal sets are equal strings. Keywords compare
 * case-insensitively. */
#include "store/store-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/util.h"
#include "core/xalloc.h"

bool str_eq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool kw_valid(const char *s)
{
	if (s == NULL)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			return false;
	}
	return true;
}

enum store_status kw_load(struct store *st, int64_t mailbox_id,
                          struct kwlist *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *s = db_stmt(st, "SELECT name FROM keyword WHERE"
	                              " mailbox_id = ? ORDER BY idx");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, mailbox_id);
	if (db_collect_text(s, &out->names, &out->count) < 0) {
		kw_free(out);
		return db_error(st, "keywords");
	}
	return STORE_OK;
}

void kw_free(struct kwlist *kw)
{
	for (size_t i = 0; i < kw->count; i++)
		free(kw->names[i]);
	free(kw->names);
	kw->names = NULL;
	kw->count = 0;
}

/* Index of the keyword [s, s+n) or -1. */
static long kw_find(const struct kwlist *kw, const char *s, size_t n)
{
	for (size_t i = 0; i < kw->count; i++) {
		if (strncasecmp(kw->names[i], s, n) == 0 &&
		    kw->names[i][n] == '\0')
			return (long)i;
	}
	return -1;
}

/* The next space-separated word at *p: *w and its length, 0 at the
 * end. */
static size_t next_word(const char **p, const char **w)
{
	const char *s = *p + strspn(*p, " ");
	size_t n = strcspn(s, " ");
	*w = s;
	*p = s + n;
	return n;
}

static enum store_status kw_write_file(struct store *st, const struct mbox *m,
                                       const struct kwlist *kw)
{
	char path[PATH_MAX];
	if (mbox_path(st, m->name, "/roost-keywords", path, sizeof(path)) < 0)
		return STORE_BADNAME;
	struct buf b;
	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < kw->count; i++)
		buf_printf(&b, "%s\n", kw->names[i]);
	enum store_status ret = STORE_OK;
	if (write_file_atomic(path, b.data, b.len, 0600) < 0)
		ret = store_errno_status(st, "write", path, errno);
	buf_free(&b);
	return ret;
}

enum store_status kw_define(struct store *st, const struct mbox *m,
                            struct kwlist *kw, const char *s)
{
	size_t before = kw->count;
	const char *p_s = s != NULL ? s : "", *w;
	size_t n;
	while ((n = next_word(&p_s, &w)) > 0) {
		if (kw_find(kw, w, n) >= 0)
			continue;
		kw->names = xrealloc(kw->names,
		                     (kw->count + 1) * sizeof(*kw->names));
		kw->names[kw->count++] = xstrndup(w, n);
	}
	if (kw->count == before)
		return STORE_OK;
	sqlite3_stmt *ins = db_stmt(st, "INSERT INTO keyword (mailbox_id,"
	                                " idx, name) VALUES (?, ?, ?)");
	if (ins == NULL)
		return STORE_ERROR;
	for (size_t i = before; i < kw->count; i++) {
		sqlite3_bind_int64(ins, 1, m->id);
		sqlite3_bind_int64(ins, 2, (int64_t)i);
		sqlite3_bind_text(ins, 3, kw->names[i], -1, SQLITE_STATIC);
		if (db_exec_stmt(ins) != SQLITE_DONE)
			return db_error(st, "keyword insert");
	}
	return kw_write_file(st, m, kw);
}

uint32_t kw_mask(const struct kwlist *kw, const char *s)
{
	uint32_t mask = 0;
	const char *p_s = s != NULL ? s : "", *w;
	size_t n;
	while ((n = next_word(&p_s, &w)) > 0) {
		long i = kw_find(kw, w, n);
		if (i >= 0 && i < MAILDIR_KEYWORD_LETTERS)
			mask |= 1u << i;
	}
	return mask;
}

/* Join the keywords whose bit is set in `set` (one byte per index). */
static char *kw_join(const struct kwlist *kw, const unsigned char *set)
{
	struct buf b;
	buf_init(&b, SIZE_MAX / 2);
	for (size_t i = 0; i < kw->count; i++) {
		if (!set[i])
			continue;
		if (b.len > 0)
			buf_append_byte(&b, ' ');
		buf_append_str(&b, kw->names[i]);
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

char *kw_from_mask(const struct kwlist *kw, uint32_t mask)
{
	unsigned char *set = xcalloc(kw->count + 1, 1);
	for (size_t i = 0; i < kw->count && i < MAILDIR_KEYWORD_LETTERS; i++)
		set[i] = (mask & (1u << i)) != 0;
	char *ret = kw_join(kw, set);
	free(set);
	return ret;
}

char *kw_apply(const struct kwlist *kw, const char *old, enum store_flag_op op,
               const char *arg)
{
	unsigned char *set = xcalloc(kw->count + 1, 1);
	if (op != STORE_FLAGS_REPLACE) {
		const char *p_old = old != NULL ? old : "", *w;
		size_t n;
		while ((n = next_word(&p_old, &w)) > 0) {
			long i = kw_find(kw, w, n);
			if (i >= 0)
				set[i] = 1;
		}
	}
	const char *p_arg = arg != NULL ? arg : "", *w;
	size_t n;
	while ((n = next_word(&p_arg, &w)) > 0) {
		long i = kw_find(kw, w, n);
		if (i >= 0)
			set[i] = op != STORE_FLAGS_REMOVE;
	}
	char *ret = kw_join(kw, set);
	free(set);
	return ret;
}
