/* Rebuilding a user's index from the files (roost reindex, and on open
 * when index.db is missing or corrupt), creating a new user's layout,
 * and the recovery pass on open.
 *
 * Mailboxes come from the Maildir++ folders; UIDVALIDITY, the uidnext
 * floor and special-use from roost-mailbox; UIDs from ",U=", flags from
 * ":2,", keywords through roost-keywords; internal dates from mtimes
 * (zone +0000). Files without ",U=" come from other programs and are
 * rewritten with CR LF line ends if they have bare LFs. A folder without
 * roost-mailbox gets a new UIDVALIDITY. A file with a UID already taken
 * gets a new UID above the others, and so do files without a UID, after
 * those, in the order of their internal dates, then names. Every modseq
 * becomes one value above any used before (a millisecond clock), so
 * CONDSTORE clients refetch everything; the expunged history is lost.
 * Keywords past the 26th letter live only in the index and are lost too. */
#include "store/store-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

#define LINES_MAX_BYTES (16u << 20)

/* The lines of a small text file (missing: none). */
static size_t read_lines(const char *path, char ***lines_r)
{
	*lines_r = NULL;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	size_t n = 0, cap = 0, total = 0;
	char *line = NULL;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0 && total < LINES_MAX_BYTES) {
		total += (size_t)len;
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		*lines_r = xrealloc(*lines_r, (n + 1) * sizeof(**lines_r));
		(*lines_r)[n++] = xstrdup(line);
	}
	free(line);
	fclose(f);
	return n;
}

static void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

static void read_mailbox_file(const char *dir, struct mbox *m)
{
	char path[PATH_MAX], **lines;
	snprintf(path, sizeof(path), "%s/roost-mailbox", dir);
	size_t n = read_lines(path, &lines);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		const char *l = lines[i];
		if (strncmp(l, "uidvalidity ", 12) == 0 &&
		    parse_uint(l + 12, 1, UINT32_MAX - 1, &v) == 0)
			m->uidvalidity = (uint32_t)v;
		else if (strncmp(l, "uidnext ", 8) == 0 &&
		         parse_uint(l + 8, 1, UINT32_MAX - 1, &v) == 0)
			m->uidnext_floor = (uint32_t)v;
		else if (strncmp(l, "special-use ", 12) == 0)
			m->special_use = special_use_parse(l + 12);
		else if (strcmp(l, "noselect") == 0)
			m->noselect = true;
	}
	free_lines(lines, n);
}

static enum store_status rb_insert_mailbox(struct store *st, struct mbox *m,
                                           bool keep_ids)
{
	static const char keep_sql[] =
	        "INSERT INTO mailbox (id, name, uidvalidity, uidnext,"
	        " uidnext_floor, highestmodseq, first_recent_uid,"
	        " special_use, noselect, messages, bytes) VALUES ("
	        " (SELECT id FROM temp.old_ids WHERE name = ?1),"
	        " ?1, ?2, 1, 1, 0, 1, ?3, ?4, 0, 0)";
	static const char new_sql[] =
	        "INSERT INTO mailbox (name, uidvalidity, uidnext,"
	        " uidnext_floor, highestmodseq, first_recent_uid,"
	        " special_use, noselect, messages, bytes) VALUES ("
	        " ?1, ?2, 1, 1, 0, 1, ?3, ?4, 0, 0)";
	sqlite3_stmt *q = db_stmt(st, keep_ids ? keep_sql : new_sql);
	if (q == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(q, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, m->uidvalidity);
	sqlite3_bind_int64(q, 3, m->special_use);
	sqlite3_bind_int(q, 4, m->noselect);
	if (db_exec_stmt(q) != SQLITE_DONE)
		return db_error(st, "rebuild mailbox");
	m->id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

static enum store_status rb_keywords(struct store *st, const struct mbox *m,
                                     const char *dir, struct kwlist *kw)
{
	char path[PATH_MAX], **lines;
	snprintf(path, sizeof(path), "%s/roost-keywords", dir);
	size_t n = read_lines(path, &lines);
	enum store_status ret = STORE_OK;
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		if (kw_valid(lines[i]) && strchr(lines[i], ' ') == NULL)
			ret = kw_define(st, m, kw, lines[i]);
	}
	free_lines(lines, n);
	return ret;
}

struct rb_file {
	struct msgrow row;
	uint32_t kw_mask;
	char *name;
	bool foreign; /* no usable ",U=": roost did not write it */
};

/* By UID, files without one last; then by internal date and name, so
 * that new UIDs follow the mail's dates whatever order readdir() gives,
 * and the same files always get the same UIDs. */
static int rb_file_cmp(const void *a, const void *b)
{
	const struct rb_file *x = a, *y = b;
	uint32_t ux = x->row.uid - 1, uy = y->row.uid - 1; /* 0 sorts last */
	if (ux != uy)
		return ux < uy ? -1 : 1;
	if (x->row.internaldate != y->row.internaldate)
		return x->row.internaldate < y->row.internaldate ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The message files in dir/cur. */
static size_t rb_scan_cur(const char *dir, struct rb_file **files_r)
{
	char cur[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	DIR *d = opendir(cur);
	size_t n = 0, alloc = 0;
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct maildir_name mn;
		struct stat sb;
		if (maildir_name_parse(de->d_name, &mn) < 0 ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) <
		            0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (n == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			*files_r =
			        xrealloc(*files_r, alloc * sizeof(**files_r));
		}
		struct rb_file *f = &(*files_r)[n++];
		memset(f, 0, sizeof(*f));
		f->name = xstrdup(de->d_name);
		f->kw_mask = mn.keyword_mask;
		snprintf(f->row.key, sizeof(f->row.key), "%s", mn.key);
		f->row.uid = mn.uid;
		f->foreign = mn.uid == 0;
		f->row.flags = mn.flags;
		f->row.size = (uint64_t)sb.st_size;
		f->row.internaldate = (int64_t)sb.st_mtim.tv_sec;
		f->row.savedate = (int64_t)sb.st_ctim.tv_sec;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* A file another program wrote (a Dovecot Maildir, say) may have bare
 * LF line ends, but the bytes of ours must be what IMAP sends: rewrite
 * it with CR LF under a new key in tmp/, and rename that over its old
 * name (which carries its flags; the mtime is kept), so a crash leaves
 * either file and never both. All copies are written first and made
 * durable with one syncfs(), not an fsync each: a Dovecot Maildir of
 * 100,000 messages is converted in seconds, not minutes. Files with our
 * ",U=" are trusted to be CR LF already and are not read. */
static enum store_status rb_normalise(struct store *st, const char *dir,
                                      struct rb_file *files, size_t n)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	bool *put = xcalloc(n + 1, sizeof(*put)), any = false;
	enum store_status ret = STORE_OK;
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		if (!files[i].foreign)
			continue;
		snprintf(path, sizeof(path), "%s/cur/%s", dir, files[i].name);
		ret = msg_file_to_tmp(st, dir, path, false, false,
		                      &files[i].row, &put[i]);
		any |= put[i];
	}
	int fd = any && ret == STORE_OK
	                 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	                 : -1;
	if (any && ret == STORE_OK && (fd < 0 || syncfs(fd) < 0))
		ret = store_errno_status(st, "syncfs", dir, errno);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n; i++) {
		if (!put[i])
			continue;
		snprintf(path, sizeof(path), "%s/cur/%s", dir, files[i].name);
		snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, files[i].row.key);
		if (ret == STORE_OK && rename(tmp, path) < 0)
			ret = store_errno_status(st, "rename", tmp, errno);
		if (ret != STORE_OK)
			unlink(tmp);
	}
	free(put);
	return ret;
}

/* Insert one file's row, renaming the file to its canonical name. */
static enum store_status rb_message(struct store *st, struct mbox *m,
                                    const struct kwlist *kw, const char *dir,
                                    struct rb_file *f)
{
	char name[MAILDIR_FILENAME_MAX + 1], a[PATH_MAX], b[PATH_MAX];
	f->row.keywords = kw_from_mask(kw, f->kw_mask);
	f->row.modseq = m->highestmodseq;
	if (msg_filename(kw, &f->row, name, sizeof(name)) < 0)
		return STORE_OK; /* cannot be named: left alone */
	if (strcmp(name, f->name) != 0) {
		snprintf(a, sizeof(a), "%s/cur/%s", dir, f->name);
		snprintf(b, sizeof(b), "%s/cur/%s", dir, name);
		if (rename(a, b) < 0)
			return store_errno_status(st, "rename", a, errno);
	}
	m->messages++;
	m->bytes += f->row.size;
	return msg_row_insert(st, m->id, &f->row);
}

static enum store_status rb_messages(struct store *st, struct mbox *m,
                                     const struct kwlist *kw, const char *dir)
{
	struct rb_file *files = NULL;
	size_t n = rb_scan_cur(dir, &files);
	if (n > 0)
		qsort(files, n, sizeof(*files), rb_file_cmp);
	uint32_t max = 0;
	for (size_t i = 0; i < n; i++) {
		if (files[i].row.uid <= max)
			files[i].row.uid = 0; /* none, or taken: a new one */
		else
			max = files[i].row.uid;
	}
	m->uidnext = m->uidnext_floor > max ? m->uidnext_floor : max + 1;
	enum store_status ret = rb_normalise(st, dir, files, n);
	for (size_t i = 0; i < n; i++) {
		if (files[i].row.uid == 0)
			files[i].row.uid = m->uidnext++;
		if (ret == STORE_OK)
			ret = rb_message(st, m, kw, dir, &files[i]);
		free(files[i].row.keywords);
		free(files[i].name);
	}
	free(files);
	char cur[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	if (ret == STORE_OK && fsync_dir(cur) < 0)
		ret = store_errno_status(st, "fsync", cur, errno);
	return ret;
}

static enum store_status rb_mailbox(struct store *st, const char *name,
                                    uint64_t modseq, bool keep_ids)
{
	char dir[PATH_MAX], cur[PATH_MAX];
	struct mbox m = {.name = (char *)name};
	if (mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		return STORE_BADNAME;
	read_mailbox_file(dir, &m);
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	if (m.noselect && access(cur, F_OK) < 0) {
		m.uidvalidity = 0;
		return rb_insert_mailbox(st, &m, keep_ids);
	}
	m.noselect = false;
	enum store_status ret = STORE_OK;
	if (m.uidvalidity == 0)
		ret = store_new_uidvalidity(st, &m.uidvalidity);
	else if (m.uidvalidity > db_meta_get(st, "last_uidvalidity"))
		db_meta_set(st, "last_uidvalidity", m.uidvalidity);
	if (ret == STORE_OK && mbox_make_dirs(dir) < 0)
		ret = store_errno_status(st, "mkdir", dir, errno);
	if (ret == STORE_OK)
		ret = rb_insert_mailbox(st, &m, keep_ids);
	struct kwlist kw = {0};
	if (ret == STORE_OK)
		ret = rb_keywords(st, &m, dir, &kw);
	m.highestmodseq = modseq;
	if (ret == STORE_OK)
		ret = rb_messages(st, &m, &kw, dir);
	m.first_recent_uid = m.uidnext;
	uint32_t floor = m.uidnext_floor;
	if (ret == STORE_OK && floor != m.uidnext)
		ret = mbox_write_file(st, &m);
	if (ret == STORE_OK)
		ret = mbox_update(st, &m);
	kw_free(&kw);
	return ret;
}

/* \Noselect rows for the parents that no folder holds. */
static enum store_status rb_parents(struct store *st, bool keep_ids)
{
	struct store_mailbox_list l;
	enum store_status ret = store_list(st, &l);
	for (size_t i = 0; i < l.count && ret == STORE_OK; i++) {
		char *name = l.items[i].name;
		for (char *p = strchr(name, '/'); p != NULL && ret == STORE_OK;
		     p = strchr(p + 1, '/')) {
			*p = '\0';
			struct mbox m;
			ret = mbox_by_name(st, name, &m);
			mbox_free(&m);
			if (ret == STORE_NONEXISTENT) {
				m = (struct mbox){.name = name,
				                  .noselect = true};
				ret = rb_insert_mailbox(st, &m, keep_ids);
			}
			*p = '/';
		}
	}
	store_mailbox_list_free(&l);
	return ret;
}

static enum store_status rb_subscriptions(struct store *st)
{
	char path[PATH_MAX], **lines;
	snprintf(path, sizeof(path), "%s/subscriptions", st->dir);
	size_t n = read_lines(path, &lines);
	sqlite3_stmt *s = db_stmt(st, "INSERT OR IGNORE INTO subscription"
	                              " VALUES (?)");
	enum store_status ret = s != NULL ? STORE_OK : STORE_ERROR;
	for (size_t i = 0; i < n && ret == STORE_OK; i++) {
		if (!maildir_mailbox_name_valid(lines[i]))
			continue;
		sqlite3_bind_text(s, 1, lines[i], -1, SQLITE_STATIC);
		if (db_exec_stmt(s) != SQLITE_DONE)
			ret = db_error(st, "rebuild subscriptions");
	}
	free_lines(lines, n);
	return ret;
}

/* Fill the (empty) tables from the files, in a write transaction. */
static enum store_status rb_all(struct store *st, uint64_t modseq,
                                bool keep_ids)
{
	char path[PATH_MAX], **lines, name[MAILDIR_MAILBOX_NAME_MAX + 1];
	uint64_t v;
	snprintf(path, sizeof(path), "%s/uidvalidity", st->dir);
	size_t n = read_lines(path, &lines);
	if (n > 0 && parse_uint(lines[0], 1, UINT32_MAX - 1, &v) == 0)
		db_meta_set(st, "last_uidvalidity", (int64_t)v);
	free_lines(lines, n);
	if (mkdir(st->maildir, 0700) < 0 && errno != EEXIST)
		return store_errno_status(st, "mkdir", st->maildir, errno);
	enum store_status ret = rb_mailbox(st, "INBOX", modseq, keep_ids);
	DIR *d = opendir(st->maildir);
	if (d == NULL)
		return store_errno_status(st, "opendir", st->maildir, errno);
	struct dirent *de;
	while (ret == STORE_OK && (de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' ||
		    maildir_mailbox_decode(de->d_name + 1, name, sizeof(name)) <
		            0)
			continue;
		ret = rb_mailbox(st, name, modseq, keep_ids);
	}
	closedir(d);
	if (ret == STORE_OK)
		ret = rb_parents(st, keep_ids);
	if (ret == STORE_OK)
		ret = rb_subscriptions(st);
	return ret;
}

/* A modseq above any the old index can have used, when that index is
 * gone: the time in microseconds. Modseqs grow by one per change, and a
 * change takes far longer than a microsecond (it is fsynced), so no
 * index has counted past the clock since it was built the same way. */
static uint64_t rb_modseq(uint64_t old_max)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now =
	        (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return now > old_max ? now : old_max + 1;
}

static void rb_unlink_new(const char *path)
{
	static const char *const sfx[] = {"", "-journal", "-wal", "-shm"};
	char p[PATH_MAX];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

enum store_status store_rebuild_file(struct store *st)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s.new", st->db_path);
	rb_unlink_new(path);
	if (sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                            SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		enum store_status ret = db_error(st, "rebuild open");
		sqlite3_close(st->db);
		st->db = NULL;
		return ret;
	}
	enum store_status ret = STORE_OK;
	if (db_exec(st, "PRAGMA synchronous = FULL") != SQLITE_OK ||
	    db_create_schema(st) < 0)
		ret = db_error(st, "rebuild schema");
	if (ret == STORE_OK)
		ret = db_begin(st, true);
	if (ret == STORE_OK) {
		ret = rb_all(st, rb_modseq(0), false);
		ret = ret == STORE_OK ? db_commit(st) : (db_rollback(st), ret);
	}
	db_finalize_all(st);
	sqlite3_close(st->db);
	st->db = NULL;
	if (ret == STORE_OK &&
	    (rename(path, st->db_path) < 0 || fsync_dir(st->dir) < 0))
		ret = store_errno_status(st, "rename", path, errno);
	if (ret != STORE_OK)
		rb_unlink_new(path);
	return ret;
}

static enum store_status rb_in_place(struct store *st)
{
	static const char *const sql[] = {
	        "CREATE TEMP TABLE old_ids AS SELECT id, name FROM mailbox",
	        "DELETE FROM message",
	        "DELETE FROM derived",
	        "DELETE FROM text_store",
	        "INSERT INTO message_text (message_text) VALUES ('delete-all')",
	        "DELETE FROM expunged",
	        "DELETE FROM keyword",
	        "DELETE FROM subscription",
	        "DELETE FROM mailbox",
	};
	sqlite3_stmt *s = db_stmt(st, "SELECT coalesce(max(highestmodseq), 0)"
	                              " FROM mailbox");
	if (s == NULL || sqlite3_step(s) != SQLITE_ROW) {
		if (s != NULL)
			sqlite3_reset(s);
		return db_error(st, "reindex");
	}
	uint64_t old_max = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	for (size_t i = 0; i < sizeof(sql) / sizeof(*sql); i++) {
		if (db_exec(st, sql[i]) != SQLITE_OK)
			return db_error(st, "reindex");
	}
	enum store_status ret = rb_all(st, rb_modseq(old_max), true);
	db_finalize_all(st); /* some name the temporary table */
	if (db_exec(st, "DROP TABLE temp.old_ids") != SQLITE_OK &&
	    ret == STORE_OK)
		ret = db_error(st, "reindex");
	return ret;
}

/* In place, in one write transaction, so that other handles (sessions
 * of a running server) see the new index at once and keep their
 * mailbox ids. Only when the index cannot be read at all does
 * store_open() build a new file and rename it over the old one; other
 * handles that still have the old file open keep using it until they
 * are closed. */
enum store_status store_reindex(const struct store_settings *set,
                                const char *user)
{
	enum store_status ret;
	struct store *st = store_open(set, user, &ret);
	if (st == NULL)
		return ret;
	ret = db_begin(st, true);
	if (ret == STORE_OK) {
		ret = rb_in_place(st);
		ret = ret == STORE_OK ? db_commit(st) : (db_rollback(st), ret);
	}
	if (ret == STORE_OK)
		log_event(LOG_INFO, "store_reindex", "user", user, NULL);
	store_close(&st);
	return ret;
}

/* ---- a new user ---- */

static const struct {
	const char *name;
	uint32_t use;
} default_mailboxes[] = {
        {"INBOX", 0},
        {"Sent", STORE_USE_SENT},
        {"Drafts", STORE_USE_DRAFTS},
        {"Trash", STORE_USE_TRASH},
        {"Junk", STORE_USE_JUNK},
        {"Archive", STORE_USE_ARCHIVE},
};
#define DEFAULT_MAILBOX_COUNT 6

enum store_status store_create_layout(struct store *st)
{
	char dir[PATH_MAX], text[32], subs[256] = "";
	uint32_t uidvalidity = (uint32_t)store_now();
	if (mkdir(st->maildir, 0700) < 0 && errno != EEXIST)
		return store_errno_status(st, "mkdir", st->maildir, errno);
	for (size_t i = 0; i < DEFAULT_MAILBOX_COUNT; i++) {
		struct mbox m = {.name = (char *)default_mailboxes[i].name,
		                 .uidvalidity = uidvalidity + (uint32_t)i,
		                 .uidnext = 1,
		                 .special_use = default_mailboxes[i].use};
		mbox_path(st, m.name, "", dir, sizeof(dir));
		if (mbox_make_dirs(dir) < 0)
			return store_errno_status(st, "mkdir", dir, errno);
		enum store_status ret = mbox_write_file(st, &m);
		if (ret != STORE_OK)
			return ret;
		strcat(subs, m.name);
		strcat(subs, "\n");
	}
	snprintf(dir, sizeof(dir), "%s/subscriptions", st->dir);
	int len = snprintf(text, sizeof(text), "%u\n",
	                   uidvalidity + DEFAULT_MAILBOX_COUNT - 1);
	if (write_file_atomic(dir, subs, strlen(subs), 0600) < 0)
		return store_errno_status(st, "write", dir, errno);
	snprintf(dir, sizeof(dir), "%s/uidvalidity", st->dir);
	if (write_file_atomic(dir, text, (size_t)len, 0600) < 0)
		return store_errno_status(st, "write", dir, errno);
	return STORE_OK;
}

/* ---- recovery on open ---- */

static void recover_tmp_file(struct store *st, int64_t id, const char *dir,
                             int tmpfd, const char *name, struct kwlist *kw)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT " MSGROW_COLUMNS " FROM message"
	                              " WHERE mailbox_id = ? AND key = ?");
	if (s == NULL)
		return;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	struct msgrow r = {0};
	bool found = sqlite3_step(s) == SQLITE_ROW;
	if (found)
		msgrow_from_stmt(s, 0, &r);
	sqlite3_reset(s);
	char path[PATH_MAX];
	struct stat sb;
	if (found) {
		if (kw->names == NULL)
			kw_load(st, id, kw);
		msg_locate(dir, kw, &r, path); /* rolls it forward */
		free(r.keywords);
	} else if (fstatat(tmpfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	           sb.st_mtime + STORE_STALE_TMP_SECS < store_now()) {
		unlinkat(tmpfd, name, 0);
	}
}

static void recover_mailbox(struct store *st, int64_t id, const char *name)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	if (mbox_path(st, name, "", dir, sizeof(dir)) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	DIR *d = opendir(tmp);
	if (d == NULL)
		return;
	struct kwlist kw = {0};
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			recover_tmp_file(st, id, dir, dirfd(d), de->d_name,
			                 &kw);
	}
	closedir(d);
	kw_free(&kw);
}

void store_recover(struct store *st)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT id, name FROM mailbox"
	                              " WHERE noselect = 0");
	if (s == NULL)
		return;
	size_t n = 0;
	int64_t *ids = NULL;
	char **names = NULL;
	while (sqlite3_step(s) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		names = xrealloc(names, (n + 1) * sizeof(*names));
		ids[n] = sqlite3_column_int64(s, 0);
		names[n++] = xstrdup((const char *)sqlite3_column_text(s, 1));
	}
	sqlite3_reset(s);
	for (size_t i = 0; i < n; i++) {
		recover_mailbox(st, ids[i], names[i]);
		free(names[i]);
	}
	free(ids);
	free(names);
	DIR *d = opendir(st->maildir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "roost-deleted-", 14) != 0)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", st->maildir, de->d_name);
		remove_tree(path);
	}
	if (d != NULL)
		closedir(d);
}
