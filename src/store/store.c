/* The local store backend: opening a user's store and its SQLite index,
 * the statement cache and transactions, and small file helpers. The
 * layout, the crash-safety order of every change and the rebuild are
 * described in docs/ARCHITECTURE.md (Storage). */
#include "store/store-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "core/xalloc.h"

#define BUSY_TIMEOUT_MS 10000

const char *store_status_text(enum store_status st)
{
	switch (st) {
	case STORE_OK:
		return "OK";
	case STORE_NONEXISTENT:
		return "Mailbox does not exist";
	case STORE_ALREADYEXISTS:
		return "Mailbox already exists";
	case STORE_BADNAME:
		return "Invalid mailbox name";
	case STORE_NOSELECT:
		return "Mailbox cannot be selected";
	case STORE_HASCHILDREN:
		return "Mailbox has inferior hierarchical names";
	case STORE_CANNOT:
		return "Operation not permitted on this mailbox";
	case STORE_OVERQUOTA:
		return "Quota exceeded";
	case STORE_NOSPACE:
		return "Not enough disk space";
	case STORE_TOOBIG:
		return "Message too large";
	case STORE_ERROR:
		break;
	}
	return "Internal error in the mail store";
}

/* ---- statements and transactions ---- */

sqlite3_stmt *db_stmt(struct store *st, const char *sql)
{
	for (size_t i = 0; i < st->stmt_count; i++) {
		if (st->stmts[i].sql == sql) {
			sqlite3_reset(st->stmts[i].stmt);
			sqlite3_clear_bindings(st->stmts[i].stmt);
			return st->stmts[i].stmt;
		}
	}
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
	                       NULL) != SQLITE_OK) {
		log_event(LOG_ERROR, "store_error", "user", st->user, "op",
		          "prepare", "error", sqlite3_errmsg(st->db), "sql",
		          sql, NULL);
		return NULL;
	}
	if (st->stmt_count == STORE_STMT_CACHE_MAX) {
		sqlite3_finalize(st->stmts[0].stmt);
		memmove(st->stmts, st->stmts + 1,
		        (STORE_STMT_CACHE_MAX - 1) * sizeof(st->stmts[0]));
		st->stmt_count--;
	}
	st->stmts[st->stmt_count].sql = sql;
	st->stmts[st->stmt_count].stmt = s;
	st->stmt_count++;
	return s;
}

void db_finalize_all(struct store *st)
{
	for (size_t i = 0; i < st->stmt_count; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	st->stmt_count = 0;
}

int db_exec_stmt(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

int db_exec(struct store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

enum store_status db_error(struct store *st, const char *op)
{
	int code = sqlite3_errcode(st->db);
	log_event(LOG_ERROR, "store_error", "user", st->user, "op", op, "error",
	          sqlite3_errmsg(st->db), NULL);
	return code == SQLITE_FULL ? STORE_NOSPACE : STORE_ERROR;
}

/* Writers to one user's index in this process queue on a mutex rather
 * than in SQLite's busy handler, which polls with sleeps of up to 100 ms
 * and so turned contention between a user's sessions into long stalls.
 * Other processes (roost reindex, roost deliver) still meet SQLite's
 * lock. A stripe is shared by the users that hash to it. */
#define WRITE_LOCK_STRIPES 64
#define WRITE_LOCK_WAIT_S 10
static pthread_mutex_t write_locks[WRITE_LOCK_STRIPES];
static pthread_once_t write_locks_once = PTHREAD_ONCE_INIT;

static void write_locks_init(void)
{
	for (size_t i = 0; i < WRITE_LOCK_STRIPES; i++)
		pthread_mutex_init(&write_locks[i], NULL);
}

static void write_lock(struct store *st)
{
	uint32_t h = 2166136261u;
	for (const char *p = st->dir; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	pthread_once(&write_locks_once, write_locks_init);
	pthread_mutex_t *m = &write_locks[h % WRITE_LOCK_STRIPES];
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WRITE_LOCK_WAIT_S;
	/* a holder stuck that long: go on, SQLite's lock still protects */
	if (pthread_mutex_timedlock(m, &until) == 0)
		st->write_lock = m;
}

static void write_unlock(struct store *st)
{
	if (st->write_lock != NULL) {
		pthread_mutex_unlock(st->write_lock);
		st->write_lock = NULL;
	}
}

int db_collect_text(sqlite3_stmt *s, char ***names, size_t *count)
{
	size_t alloc = *count;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			*names = xrealloc(*names, alloc * sizeof(**names));
		}
		const unsigned char *t = sqlite3_column_text(s, 0);
		(*names)[(*count)++] =
		        xstrdup(t != NULL ? (const char *)t : "");
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

enum store_status db_begin(struct store *st, bool write)
{
	if (write)
		write_lock(st);
	if (db_exec(st, write ? "BEGIN IMMEDIATE" : "BEGIN") != SQLITE_OK) {
		write_unlock(st);
		return db_error(st, "begin");
	}
	return STORE_OK;
}

static store_change_fn *change_hook;
static void *change_hook_ctx;

void store_set_change_hook(store_change_fn *fn, void *ctx)
{
	change_hook = fn;
	change_hook_ctx = ctx;
}

void db_mark_changed(struct store *st, int64_t id)
{
	for (size_t i = 0; i < st->changed_count; i++) {
		if (st->changed[i] == id)
			return;
	}
	if (st->changed_count == sizeof(st->changed) / sizeof(st->changed[0]))
		st->changed_many = true;
	else
		st->changed[st->changed_count++] = id;
}

/* After a commit, tell the hook what changed. */
static void report_changes(struct store *st)
{
	if (change_hook != NULL && st->changed_many)
		change_hook(change_hook_ctx, st->user, STORE_CHANGED_ALL);
	else if (change_hook != NULL) {
		for (size_t i = 0; i < st->changed_count; i++)
			change_hook(change_hook_ctx, st->user,
			            (uint64_t)st->changed[i]);
	}
	st->changed_count = 0;
	st->changed_many = false;
}

enum store_status db_commit(struct store *st)
{
	if (db_exec(st, "COMMIT") != SQLITE_OK) {
		enum store_status ret = db_error(st, "commit");
		db_rollback(st);
		return ret;
	}
	write_unlock(st);
	report_changes(st);
	return STORE_OK;
}

void db_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		db_exec(st, "ROLLBACK");
	write_unlock(st);
	st->changed_count = 0;
	st->changed_many = false;
}

int64_t db_meta_get(struct store *st, const char *key)
{
	sqlite3_stmt *s = db_stmt(st, "SELECT value FROM meta WHERE key = ?");
	if (s == NULL)
		return 0;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int64_t v =
	        sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return v;
}

int db_meta_set(struct store *st, const char *key, int64_t value)
{
	sqlite3_stmt *s = db_stmt(
	        st, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, value);
	return db_exec_stmt(s) == SQLITE_DONE ? 0 : -1;
}

static const char schema_sql[] =
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        " WITHOUT ROWID;"
        "CREATE TABLE mailbox (id INTEGER PRIMARY KEY,"
        " name TEXT UNIQUE NOT NULL, uidvalidity INTEGER NOT NULL,"
        " uidnext INTEGER NOT NULL, uidnext_floor INTEGER NOT NULL,"
        " highestmodseq INTEGER NOT NULL,"
        " first_recent_uid INTEGER NOT NULL, special_use INTEGER NOT NULL,"
        " noselect INTEGER NOT NULL, messages INTEGER NOT NULL,"
        " bytes INTEGER NOT NULL);"
        "CREATE TABLE message (mailbox_id INTEGER NOT NULL,"
        " uid INTEGER NOT NULL, flags INTEGER NOT NULL, keywords TEXT,"
        " key TEXT NOT NULL, internaldate INTEGER NOT NULL,"
        " tz_offset INTEGER NOT NULL, savedate INTEGER NOT NULL,"
        " size INTEGER NOT NULL, modseq INTEGER NOT NULL,"
        " PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
        "CREATE INDEX message_modseq ON message (mailbox_id, modseq);"
        "CREATE TABLE expunged (mailbox_id INTEGER NOT NULL,"
        " uid INTEGER NOT NULL, modseq INTEGER NOT NULL,"
        " PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
        "CREATE TABLE subscription (name TEXT PRIMARY KEY) WITHOUT ROWID;"
        "CREATE TABLE keyword (mailbox_id INTEGER NOT NULL,"
        " idx INTEGER NOT NULL, name TEXT NOT NULL,"
        " PRIMARY KEY (mailbox_id, idx)) WITHOUT ROWID;"
        "PRAGMA user_version = 1;";

/* Version 2: what the message model derives from each message. */
static const char schema_v2_sql[] =
        "CREATE TABLE message_cache (mailbox_id INTEGER NOT NULL,"
        " uid INTEGER NOT NULL, data BLOB NOT NULL,"
        " has_text INTEGER NOT NULL,"
        " PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
        "CREATE VIRTUAL TABLE message_text USING fts5(header, body,"
        " tokenize = 'trigram', detail = 'column');"
        "PRAGMA user_version = 2;";

/* Version 3: the blob in a rowid table (id = mailbox_id << 32 | uid)
 * where a few KiB stay in the leaf page; the search text stored once,
 * with a contentless trigram index over it filled in batches; and
 * which messages have a text, on the message row. */
static const char schema_v3_sql[] =
        "CREATE TABLE derived (id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
        "CREATE TABLE text_store (id INTEGER PRIMARY KEY,"
        " header TEXT NOT NULL, body TEXT NOT NULL);"
        "CREATE TABLE text_unindexed (id INTEGER PRIMARY KEY);"
        "ALTER TABLE message ADD COLUMN has_text INTEGER NOT NULL"
        " DEFAULT 0;"
        "INSERT INTO derived SELECT mailbox_id << 32 | uid, data"
        " FROM message_cache WHERE length(data) > 0;"
        "INSERT INTO text_store SELECT rowid, header, body"
        " FROM message_text;"
        "INSERT INTO text_unindexed SELECT id FROM text_store;"
        "UPDATE message SET has_text = 1 WHERE EXISTS (SELECT 1"
        " FROM text_store t WHERE t.id = message.mailbox_id << 32 |"
        " message.uid);"
        "DROP TABLE message_cache;"
        "DROP TABLE message_text;"
        "CREATE VIRTUAL TABLE message_text USING fts5(header, body,"
        " content = '', tokenize = 'trigram', detail = 'column');"
        "CREATE INDEX message_notext ON message (mailbox_id, uid)"
        " WHERE has_text = 0;"
        "PRAGMA user_version = 3;";

/* Version 4: expunges by modseq, for the sync after every command
 * (the table keeps every expunge, for QRESYNC). */
static const char schema_v4_sql[] =
        "CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);"
        "PRAGMA user_version = 4;";

/* Each version's changes, from version 1 on. */
static const char *const schema_steps[] = {schema_sql, schema_v2_sql,
                                           schema_v3_sql, schema_v4_sql};

static int db_apply(struct store *st, int from_version)
{
	for (size_t i = (size_t)from_version;
	     i < sizeof(schema_steps) / sizeof(schema_steps[0]); i++) {
		if (db_exec(st, schema_steps[i]) != SQLITE_OK)
			return -1;
	}
	return 0;
}

int db_create_schema(struct store *st)
{
	return db_apply(st, 0);
}

/* Bring an index of an older version up to date (in a transaction). */
static int db_migrate(struct store *st, int version)
{
	if (version < 1 || version >= STORE_SCHEMA_VERSION ||
	    db_begin(st, true) != STORE_OK)
		return 1;
	if (db_apply(st, version) < 0) {
		db_rollback(st);
		return 1;
	}
	return db_commit(st) == STORE_OK ? 0 : 1;
}

/* ---- files ---- */

enum store_status store_errno_status(struct store *st, const char *op,
                                     const char *path, int err)
{
	log_event(err == ENOSPC || err == EDQUOT ? LOG_WARN : LOG_ERROR,
	          "store_error", "user", st->user, "op", op, "path", path,
	          "error", strerror(err), NULL);
	if (err == ENOSPC || err == EDQUOT)
		return STORE_NOSPACE;
	return STORE_ERROR;
}

int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

void store_make_key(struct store *st, uint64_t size, char *out, size_t n)
{
	static atomic_uint counter;
	struct timeval tv;
	uint32_t rnd = 0;
	gettimeofday(&tv, NULL);
	if (random_bytes(&rnd, sizeof(rnd)) < 0)
		rnd = (uint32_t)tv.tv_usec ^ (uint32_t)getpid();
	snprintf(out, n, "%lld.M%ldP%ldQ%uR%08x.%s,S=%llu",
	         (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	         atomic_fetch_add(&counter, 1) + 1, rnd, st->host,
	         (unsigned long long)size);
}

static int remove_tree_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = openat(dirfd, name,
	                O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_tree_at(fd, de->d_name) < 0)
			ret = -1;
	}
	closedir(d);
	if (ret == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		ret = -1;
	return ret;
}

int remove_tree(const char *path)
{
	return remove_tree_at(AT_FDCWD, path);
}

/* ---- open and close ---- */

static bool user_name_valid(const char *user)
{
	if (user[0] == '\0' || user[0] == '.' || strchr(user, '/') != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return strlen(user) <= MAILDIR_FILENAME_MAX;
}

static void store_host_init(struct store *st)
{
	if (gethostname(st->host, sizeof(st->host) - 1) < 0 ||
	    st->host[0] == '\0')
		strcpy(st->host, "localhost");
	st->host[sizeof(st->host) - 1] = '\0';
	for (char *p = st->host; *p != '\0'; p++) {
		if (*p == '/' || *p == ':' || *p == ',' ||
		    (unsigned char)*p < 0x20)
			*p = '_';
	}
}

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = xmalloc(la + lb + 2);
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

static struct store *store_alloc(const struct store_settings *set,
                                 const char *user)
{
	struct store *st = xcalloc(1, sizeof(*st));
	st->set = *set;
	st->data_dir = xstrdup(set->data_dir);
	st->set.data_dir = st->data_dir;
	st->user = xstrdup(user);
	char *mail = path_join(set->data_dir, "mail");
	st->dir = path_join(mail, user);
	free(mail);
	st->maildir = path_join(st->dir, "Maildir");
	st->db_path = path_join(st->dir, "index.db");
	store_host_init(st);
	return st;
}

static void store_free(struct store *st)
{
	if (st->db != NULL)
		db_rollback(st); /* and let go of the write lock */
	db_finalize_all(st);
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st->data_dir);
	free(st->user);
	free(st->dir);
	free(st->maildir);
	free(st->db_path);
	free(st);
}

void store_close(struct store **stp)
{
	if (*stp == NULL)
		return;
	store_free(*stp);
	*stp = NULL;
}

/* 1 if the database is corrupt or not one, 0 if usable, -1 on other
 * errors. */
static int db_classify(int rc)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return 1;
	return rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
	                                                                : -1;
}

static int db_check_schema(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int rc =
	        sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	int version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (db_classify(rc) != 0)
		return db_classify(rc);
	if (version != STORE_SCHEMA_VERSION && db_migrate(st, version) != 0)
		return 1;
	rc = sqlite3_exec(st->db, "SELECT count(*) FROM mailbox", NULL, NULL,
	                  NULL);
	return db_classify(rc);
}

/* Open the existing index: 0, 1 if it is corrupt, -1 on errors. */
static int db_open(struct store *st)
{
	int rc = sqlite3_open_v2(st->db_path, &st->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
		/* closing a handle is quick (servers close them on their
		 * loops); commits still checkpoint the WAL as it grows */
		sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		                  NULL);
		rc = sqlite3_exec(st->db,
		                  "PRAGMA journal_mode = WAL;"
		                  "PRAGMA synchronous = FULL;"
		                  "PRAGMA cache_size = -1024;",
		                  NULL, NULL, NULL);
	}
	int ret = db_classify(rc);
	if (ret == 0)
		ret = db_check_schema(st);
	if (ret != 0) {
		if (ret < 0)
			db_error(st, "open");
		sqlite3_close(st->db);
		st->db = NULL;
	}
	return ret;
}

/* Move a corrupt index (and its -wal, -shm) aside. */
static void db_move_aside(struct store *st)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char from[PATH_MAX], to[PATH_MAX];
	long long now = (long long)store_now();
	for (size_t i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", st->db_path, sfx[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%lld%s", st->db_path, now,
		         sfx[i]);
		if (rename(from, to) == 0 && i == 0)
			log_event(LOG_ERROR, "store_index_corrupt", "user",
			          st->user, "moved_to", to, NULL);
	}
}

/* Under the rebuild lock: make, or remake, a usable index file. */
static enum store_status store_ensure_index_locked(struct store *st)
{
	int r = access(st->db_path, F_OK) == 0 ? db_open(st) : 1;
	if (r <= 0)
		return r == 0 ? STORE_OK : STORE_ERROR;
	if (access(st->db_path, F_OK) == 0)
		db_move_aside(st);
	enum store_status ret = STORE_OK;
	if (access(st->maildir, F_OK) < 0 && errno == ENOENT)
		ret = store_create_layout(st);
	else
		log_event(LOG_WARN, "store_rebuild", "user", st->user, "reason",
		          "index missing or corrupt", NULL);
	if (ret == STORE_OK)
		ret = store_rebuild_file(st);
	if (ret == STORE_OK && db_open(st) != 0)
		ret = STORE_ERROR;
	return ret;
}

static enum store_status store_ensure_index(struct store *st)
{
	if (access(st->db_path, F_OK) == 0 && db_open(st) == 0)
		return STORE_OK;
	char lock_path[PATH_MAX];
	snprintf(lock_path, sizeof(lock_path), "%s/index.lock", st->dir);
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_errno_status(st, "lock", lock_path, errno);
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	enum store_status ret = store_ensure_index_locked(st);
	close(fd);
	return ret;
}

struct store *store_open(const struct store_settings *set, const char *user,
                         enum store_status *status_r)
{
	if (!user_name_valid(user)) {
		*status_r = STORE_BADNAME;
		return NULL;
	}
	struct store *st = store_alloc(set, user);
	char mail[PATH_MAX];
	snprintf(mail, sizeof(mail), "%s/mail", set->data_dir);
	if (mkdir_p(mail, 0700) < 0 ||
	    (mkdir(st->dir, 0700) < 0 && errno != EEXIST)) {
		*status_r = store_errno_status(st, "mkdir", st->dir, errno);
		store_free(st);
		return NULL;
	}
	*status_r = store_ensure_index(st);
	if (*status_r != STORE_OK) {
		store_free(st);
		return NULL;
	}
	store_recover(st);
	return st;
}

int store_spool_open(const struct store_settings *set)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/mail", set->data_dir) >=
	    (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	/* a file system without O_TMPFILE */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/.spool-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}
