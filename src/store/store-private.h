/* Internals shared by the files of the local store backend (Maildir
 * files plus a SQLite index per user). */
#ifndef ROOST_STORE_STORE_PRIVATE_H
#define ROOST_STORE_STORE_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/maildir-name.h"
#include "store/store.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_STMT_CACHE_MAX 96
/* tmp/ files no index row names are deleted when this old */
#define STORE_STALE_TMP_SECS 3600

struct store {
	struct store_settings set;
	char *data_dir;
	char *user;
	char *dir;     /* data_dir/mail/USER */
	char *maildir; /* dir/Maildir: INBOX, and the folders in it */
	char *db_path;
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} stmts[STORE_STMT_CACHE_MAX];
	size_t stmt_count;
	char host[64];               /* for file keys */
	pthread_mutex_t *write_lock; /* held from BEGIN IMMEDIATE to its end */
	/* mailboxes the write transaction changed, reported to the change
	 * hook once it commits */
	int64_t changed[8];
	size_t changed_count;
	bool changed_many; /* more than fit: report the user's every one */
};

/* A row of the mailbox table. */
struct mbox {
	int64_t id;
	char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t uidnext_floor; /* as written in roost-mailbox */
	uint64_t highestmodseq;
	uint32_t first_recent_uid;
	uint32_t special_use;
	bool noselect;
	uint64_t messages;
	uint64_t bytes;
};

/* A row of the message table. */
struct msgrow {
	uint32_t uid;
	uint32_t flags;
	char *keywords; /* NULL: none */
	char key[MAILDIR_FILENAME_MAX + 1];
	int64_t internaldate;
	int tz_offset_min;
	int64_t savedate;
	uint64_t size;
	uint64_t modseq;
};

/* The keywords defined in a mailbox; index i is Maildir letter 'a'+i. */
struct kwlist {
	char **names;
	size_t count;
};

/* ---- store.c: the index ---- */
/* A cached prepared statement for sql (a string literal: the pointer is
 * the cache key), reset and ready to bind; NULL after logging. */
sqlite3_stmt *db_stmt(struct store *st, const char *sql);
/* Step a statement that returns no rows and reset it: SQLITE_DONE or an
 * error code. */
int db_exec_stmt(sqlite3_stmt *s);
int db_exec(struct store *st, const char *sql);
enum store_status db_begin(struct store *st, bool write);
/* The open write transaction changes what sessions see of mailbox id
 * (its messages, flags or existence): the change hook hears of it after
 * the commit. */
void db_mark_changed(struct store *st, int64_t id);
enum store_status db_commit(struct store *st);
void db_rollback(struct store *st);
/* Log the index error of op and map it to a status. */
enum store_status db_error(struct store *st, const char *op);
/* Step the bound statement s, appending its first column (text) to the
 * array *names (*count entries); resets s. 0, or -1 on an error (what
 * was collected stays for the caller to free). */
int db_collect_text(sqlite3_stmt *s, char ***names, size_t *count);
/* Drop what the message model stored for a message, or for every
 * message of a mailbox (in the caller's transaction). */
enum store_status cache_delete(struct store *st, int64_t mailbox_id,
                               uint32_t uid);
enum store_status cache_delete_mailbox(struct store *st, int64_t mailbox_id);
enum store_status cache_put(struct store *st, int64_t mailbox_id, uint32_t uid,
                            const struct store_cache_entry *e);
/* Move waiting search texts into the trigram index once there are a
 * batch of them, in a transaction of its own (after a commit that added
 * texts); a failure leaves them waiting. */
void cache_text_flush_now(struct store *st);
enum store_status cache_copy(struct store *st, int64_t from_id,
                             uint32_t from_uid, int64_t to_id, uint32_t to_uid);
void db_finalize_all(struct store *st);
int db_create_schema(struct store *st);
int64_t db_meta_get(struct store *st, const char *key);
int db_meta_set(struct store *st, const char *key, int64_t value);

/* ---- store.c: files ---- */
enum store_status store_errno_status(struct store *st, const char *op,
                                     const char *path, int err);
int fsync_dir(const char *path);
/* A new unique file key for a message of size bytes. */
void store_make_key(struct store *st, uint64_t size, char *out, size_t n);
int64_t store_now(void);
/* rm -r; 0 or -1 with errno */
int remove_tree(const char *path);

/* ---- store-mailbox.c ---- */
/* Directory of mailbox name (with sub appended, e.g. "/cur", or "");
 * -1 if it does not fit. */
int mbox_path(const struct store *st, const char *name, const char *sub,
              char *out, size_t n);
enum store_status mbox_by_name(struct store *st, const char *name,
                               struct mbox *out);
enum store_status mbox_by_id(struct store *st, int64_t id, struct mbox *out);
void mbox_free(struct mbox *m);
/* Write the mailbox's roost-mailbox file and record the floor. */
enum store_status mbox_write_file(struct store *st, struct mbox *m);
/* Before UIDs leave the mailbox: make sure the file's uidnext floor is
 * the current uidnext (in a write transaction). */
enum store_status mbox_raise_floor(struct store *st, struct mbox *m);
/* Save counters of m (uidnext, highestmodseq, totals) to its row. */
enum store_status mbox_update(struct store *st, const struct mbox *m);
/* A new UIDVALIDITY (in a write transaction). */
enum store_status store_new_uidvalidity(struct store *st, uint32_t *out);
enum store_status store_write_subscriptions(struct store *st);
const char *special_use_text(uint32_t bit);
uint32_t special_use_parse(const char *s);
/* Make mailbox dir with cur/ new/ tmp/; 0 or -1 with errno. */
int mbox_make_dirs(const char *dir);

/* ---- store-keywords.c ---- */
enum store_status kw_load(struct store *st, int64_t mailbox_id,
                          struct kwlist *out);
void kw_free(struct kwlist *kw);
/* Define the keywords of s (space-separated) that m does not have yet,
 * in the index and in roost-keywords (in a write transaction). */
enum store_status kw_define(struct store *st, const struct mbox *m,
                            struct kwlist *kw, const char *s);
/* Letters mask of the keywords string s. */
uint32_t kw_mask(const struct kwlist *kw, const char *s);
/* Keywords of letters mask, as a malloc'd string or NULL. */
char *kw_from_mask(const struct kwlist *kw, uint32_t mask);
/* Canonical keyword string (defined spelling, index order) of op
 * applied to old with arg; malloc'd or NULL for none. */
char *kw_apply(const struct kwlist *kw, const char *old, enum store_flag_op op,
               const char *arg);
bool kw_valid(const char *s);
bool str_eq_null(const char *a, const char *b);

/* ---- store-file.c: message files ---- */
/* File name of row in cur/. */
int msg_filename(const struct kwlist *kw, const struct msgrow *r, char *out,
                 size_t n);
/* Find the file of r in mailbox dir mdir: the exact name, another name
 * with its key (renamed to the exact one), or tmp/<key> (rolled
 * forward). Fills path (PATH_MAX). 0, or -1 when it is nowhere. */
int msg_locate(const char *mdir, const struct kwlist *kw,
               const struct msgrow *r, char *path);
/* The same for a reader: a file found under another name is read where
 * it is, not renamed (a STORE may be renaming it to newer flags than the
 * reader's row has; only writers repair names). */
int msg_find(const char *mdir, const struct kwlist *kw, const struct msgrow *r,
             char *path);
/* Rename r's file from its name with old flags to its new name. */
void msg_rename_flags(const char *mdir, const struct kwlist *kw,
                      const struct msgrow *old, const struct msgrow *now);
/* Put the message file at path (which another program wrote) into
 * dir/tmp/ under a new key r->key, with CR LF line ends: copied, keeping
 * its mtime, when it has bare LFs (and fsynced if sync is set: else the
 * caller makes it durable); when it has none,
 * hard-linked if link_clean is set, else left alone. r->size gets its
 * CR LF size and r->internaldate its mtime. STORE_OK with *put_r telling
 * whether tmp/<r->key> now holds it (a file that cannot be opened is
 * left alone), or an error (logged; nothing is left in tmp/). */
enum store_status msg_file_to_tmp(struct store *st, const char *dir,
                                  const char *path, bool link_clean, bool sync,
                                  struct msgrow *r, bool *put_r);
enum store_status msg_row_get(struct store *st, int64_t mailbox_id,
                              uint32_t uid, struct msgrow *out);
void msgrow_from_stmt(sqlite3_stmt *s, int col, struct msgrow *r);
enum store_status msg_row_insert(struct store *st, int64_t mailbox_id,
                                 const struct msgrow *r);
enum store_status msg_row_delete(struct store *st, int64_t mailbox_id,
                                 uint32_t uid, uint64_t modseq);
#define MSGROW_COLUMNS                                                         \
	"uid, flags, keywords, key, internaldate, tz_offset, savedate, "       \
	"size, modseq"

/* ---- store-append.c ---- */
/* Bytes of p once every bare LF is a CR LF. */
uint64_t store_crlf_size(const unsigned char *p, size_t n);
/* Write data with bare LFs turned into CR LF, buffered (one write() for
 * a message up to 64 KiB); 0 or -1 with errno. */
int store_write_crlf(int fd, const unsigned char *p, size_t n);
/* Unlink dir/tmp/<key> of each row with a key. */
void store_unlink_tmp(const char *dir, const struct msgrow *rows, size_t count);
/* STORE_OVERQUOTA if adding would pass the quota (in a transaction). */
enum store_status store_quota_check(struct store *st, uint64_t add_messages,
                                    uint64_t add_bytes);
/* Give rows UIDs and one new modseq, make their keywords canonical, and
 * insert them into m (in a write transaction). */
enum store_status store_insert_rows(struct store *st, struct mbox *m,
                                    struct kwlist *kw, struct msgrow *rows,
                                    size_t count);
/* Rename committed rows' files from dir/tmp/ into dir/cur/ and sync
 * cur/. A failure leaves a file that msg_locate() rolls forward. */
void store_finish_renames(struct store *st, const char *dir,
                          const struct kwlist *kw, const struct msgrow *rows,
                          size_t count);

/* ---- store-rebuild.c ---- */
/* Build a new index file from the message files and put it in place
 * of the missing or corrupt one. */
enum store_status store_rebuild_file(struct store *st);
/* Make the layout of a new user store (before the first rebuild). */
enum store_status store_create_layout(struct store *st);
/* After open: roll forward tmp/ files the index names, delete stale
 * ones and leftovers of deleted mailboxes. */
void store_recover(struct store *st);

/* ---- store-sync.c ---- */
/* Take in the files other programs left in new/. */
enum store_status store_take_new(struct store *st, const char *name);

#endif
