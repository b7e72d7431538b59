/* The mail store: the only code that touches message files or the index.
 *
 * The API is narrow and backend-neutral. The protocols name mailboxes by
 * their wire names (modified UTF-7, hierarchy delimiter '/', "INBOX" in
 * upper case: the caller validates and normalises) and messages by UID;
 * they never see paths, file names or SQL. The local backend (Maildir
 * files plus a SQLite index per user) is the embedded default.
 *
 * Every call blocks (it may fsync) and must run off the event loops, on
 * the thread pool. A handle is used by one thread at a time; any number
 * of handles (sessions, `roost deliver`, `roost reindex`) may be open on
 * one user's store at once, in one process or several.
 *
 * Durability: a call that changes the store returns STORE_OK only once
 * the change is on stable storage. A crash at any instant loses nothing
 * a call returned STORE_OK for, and never shows a half-written message. */
#ifndef ROOST_STORE_STORE_H
#define ROOST_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* System flags (RFC 3501 2.3.2). \Recent is not stored: see recent_uid. */
enum {
	STORE_FLAG_SEEN = 1u << 0,
	STORE_FLAG_ANSWERED = 1u << 1,
	STORE_FLAG_FLAGGED = 1u << 2,
	STORE_FLAG_DELETED = 1u << 3,
	STORE_FLAG_DRAFT = 1u << 4,
};
#define STORE_FLAGS_ALL 0x1fu

/* Special-use attributes (RFC 6154). */
enum {
	STORE_USE_SENT = 1u << 0,
	STORE_USE_DRAFTS = 1u << 1,
	STORE_USE_TRASH = 1u << 2,
	STORE_USE_JUNK = 1u << 3,
	STORE_USE_ARCHIVE = 1u << 4,
	STORE_USE_ALL = 1u << 5,
	STORE_USE_FLAGGED = 1u << 6,
};

enum store_status {
	STORE_OK = 0,
	STORE_NONEXISTENT,   /* no such mailbox (or it was deleted) */
	STORE_ALREADYEXISTS, /* CREATE/RENAME target exists */
	STORE_BADNAME,       /* a name the store cannot hold */
	STORE_NOSELECT,      /* the mailbox exists only as a parent */
	STORE_HASCHILDREN,   /* DELETE of a \Noselect mailbox with children */
	STORE_CANNOT,        /* not allowed (DELETE INBOX, RENAME into self) */
	STORE_OVERQUOTA,     /* would pass the user's quota */
	STORE_NOSPACE,       /* the disk is full */
	STORE_TOOBIG,        /* a message over the size limit */
	STORE_ERROR,         /* I/O or index failure; details were logged */
};

/* Short text for a status, e.g. "Mailbox does not exist". */
const char *store_status_text(enum store_status st);

struct store_settings {
	const char *data_dir;    /* stores live in data_dir/mail/USER */
	uint64_t quota_bytes;    /* 0: unlimited */
	uint64_t quota_messages; /* 0: unlimited */
	uint64_t max_message_bytes;
};

struct store;

/* Open user's store, creating it on first use (INBOX, and Sent, Drafts,
 * Trash, Junk, Archive with their special-use attributes, subscribed).
 * A missing or corrupt index is rebuilt from the message files. Returns
 * NULL with *status_r set on failure (STORE_BADNAME: a user name that
 * cannot be a directory). */
struct store *store_open(const struct store_settings *set, const char *user,
                         enum store_status *status_r);
void store_close(struct store **st);

/* Rebuild user's index from the message files (roost reindex): UIDs,
 * UIDVALIDITY, flags and keywords are kept where the files record them.
 * Safe while the server runs. */
enum store_status store_reindex(const struct store_settings *set,
                                const char *user);

/* ---- mailboxes ---- */

struct store_mailbox_info {
	char *name;
	uint32_t special_use; /* STORE_USE_* */
	bool noselect;        /* exists only as a parent of others */
	bool subscribed;
};

struct store_mailbox_list {
	struct store_mailbox_info *items; /* sorted by name (bytewise) */
	size_t count;
};

/* Every mailbox, including \Noselect parents. */
enum store_status store_list(struct store *st, struct store_mailbox_list *out);
void store_mailbox_list_free(struct store_mailbox_list *list);

/* Subscribed names, including those of mailboxes that do not exist. */
struct store_name_list {
	char **names; /* sorted */
	size_t count;
};
enum store_status store_subscriptions(struct store *st,
                                      struct store_name_list *out);
void store_name_list_free(struct store_name_list *list);
enum store_status store_subscribe(struct store *st, const char *name,
                                  bool subscribe);

/* CREATE: missing parents are created too. special_use may be 0. */
enum store_status store_create(struct store *st, const char *name,
                               uint32_t special_use);
/* DELETE per RFC 3501 6.3.4: INBOX cannot be deleted (STORE_CANNOT); a
 * mailbox with children loses its messages and becomes \Noselect; a
 * \Noselect mailbox with children is STORE_HASCHILDREN. */
enum store_status store_delete(struct store *st, const char *name);
/* RENAME per RFC 3501 6.3.5: children move too; renaming INBOX moves its
 * messages into a new mailbox and leaves INBOX empty. */
enum store_status store_rename(struct store *st, const char *from,
                               const char *to);

struct store_status_info {
	uint32_t messages;
	uint32_t recent;
	uint32_t unseen;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t size; /* sum of message sizes (RFC 8438) */
	uint64_t highestmodseq;
	uint32_t deleted; /* messages with \Deleted */
};
enum store_status store_status(struct store *st, const char *name,
                               struct store_status_info *out);

/* ---- messages ---- */

struct store_msg {
	uint32_t uid;
	uint32_t flags;       /* STORE_FLAG_* */
	char *keywords;       /* space-separated, NULL when none */
	int64_t internaldate; /* Unix seconds */
	int tz_offset_min;    /* the zone INTERNALDATE is shown in */
	int64_t savedate;
	uint64_t size; /* RFC822.SIZE: bytes with CRLF line ends */
	uint64_t modseq;
};

/* A mailbox as a session sees it: store_sync() fills it with what
 * changed since `since_modseq` (0: everything). */
struct store_changes {
	uint64_t mailbox_id; /* stable across RENAME */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	/* Messages with uid >= recent_uid are \Recent for this caller. */
	uint32_t recent_uid;
	/* messages whose modseq > since_modseq (new ones and changed
	 * flags), ascending UID */
	struct store_msg *msgs;
	size_t msg_count;
	/* UIDs expunged with modseq > since_modseq, ascending; only when
	 * since_modseq > 0 */
	uint32_t *expunged;
	size_t expunged_count;
	/* keywords defined in the mailbox */
	char **keywords;
	size_t keyword_count;
	/* since_modseq > 0, but the index may not know every expunge
	 * since then (its history starts later, as after a rebuild):
	 * expunged may lack some, so a caller that must know compares the
	 * UIDs it has with a sync from 0 */
	bool expunges_unknown;
};

/* Find name (STORE_NOSELECT for a parent-only mailbox), take in mail
 * that other programs left in its new/ directory, and report changes.
 * claim_recent: this caller is a read-write session, and messages it is
 * the first to see become \Recent for it alone (RFC 3501 2.3.2). */
enum store_status store_sync(struct store *st, const char *name,
                             uint64_t since_modseq, bool claim_recent,
                             struct store_changes *out);
/* The same by mailbox_id, for a session whose mailbox may have been
 * renamed; STORE_NONEXISTENT once it was deleted. */
enum store_status store_sync_id(struct store *st, uint64_t mailbox_id,
                                uint64_t since_modseq, bool claim_recent,
                                struct store_changes *out);
void store_changes_free(struct store_changes *c);
void store_msg_free(struct store_msg *m);

struct store_cache_entry;

struct store_append_msg {
	const void *data; /* the message as the client sent it */
	size_t size;
	uint32_t flags;
	const char *keywords; /* space-separated or NULL */
	int64_t internaldate; /* 0: now */
	int tz_offset_min;
	/* what the message model derived from it (uid ignored), kept with
	 * it in the same transaction; NULL for none */
	const struct store_cache_entry *cache;
};

/* APPEND/MULTIAPPEND: all messages or none. uids_r has count entries. */
enum store_status store_append(struct store *st, const char *name,
                               const struct store_append_msg *msgs,
                               size_t count, uint32_t *uidvalidity_r,
                               uint32_t *uids_r);

enum store_flag_op {
	STORE_FLAGS_REPLACE,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};

/* STORE: change flags of the given UIDs (ascending; ones that do not
 * exist are skipped). unchangedsince: 0, or only messages whose modseq
 * is <= it are changed (CONDSTORE). out_r gets the resulting state of
 * every existing UID asked for, changed or not, ascending; *count_r. */
enum store_status store_set_flags(struct store *st, uint64_t mailbox_id,
                                  const uint32_t *uids, size_t uid_count,
                                  enum store_flag_op op, uint32_t flags,
                                  const char *keywords, uint64_t unchangedsince,
                                  struct store_msg **out_r, size_t *count_r);

/* COPY/MOVE of the given UIDs (ascending) into dest. src_uids_r and
 * dest_uids_r (caller-allocated, uid_count entries) get the pairs for
 * the UIDs that existed, *count_r of them, in ascending source order.
 * MOVE expunges the sources in the same transaction. */
enum store_status store_copy(struct store *st, uint64_t mailbox_id,
                             const uint32_t *uids, size_t uid_count,
                             const char *dest, bool move,
                             uint32_t *dest_uidvalidity_r, uint32_t *src_uids_r,
                             uint32_t *dest_uids_r, size_t *count_r);

/* EXPUNGE: remove the messages with \Deleted; with uids (ascending) only
 * those among them (UID EXPUNGE). *expunged_r (malloc'd, ascending, free
 * with free()) gets what was removed. */
enum store_status store_expunge(struct store *st, uint64_t mailbox_id,
                                const uint32_t *uids, size_t uid_count,
                                bool only_uids, uint32_t **expunged_r,
                                size_t *count_r);

/* Remove the given UIDs (ascending) whatever their flags, in one
 * transaction, as EXPUNGE does (POP3's UPDATE state); *removed_r as
 * for store_expunge. UIDs that no longer exist are skipped. */
enum store_status store_remove(struct store *st, uint64_t mailbox_id,
                               const uint32_t *uids, size_t uid_count,
                               uint32_t **removed_r, size_t *count_r);

/* QRESYNC (RFC 7162 3.2.5, 3.2.6): the UIDs expunged from the mailbox
 * with a modseq above since_modseq, ascending in *uids_r (malloc'd,
 * free with free()). *complete_r is false when the index does not know
 * every expunge since then (its history starts later, as after a
 * rebuild): any UID not in the mailbox may then have been expunged. */
enum store_status store_expunged_since(struct store *st, uint64_t mailbox_id,
                                       uint64_t since_modseq, uint32_t **uids_r,
                                       size_t *count_r, bool *complete_r);

/* STORE with UNCHANGEDSINCE (CONDSTORE, RFC 7162 3.1.3): as
 * store_set_flags, but uids[i] is changed only if its modseq is at most
 * unchangedsince[i] (so 0 fails for every message). *failed_r (malloc'd,
 * *count_r entries) marks the entries of *out_r that failed the test
 * and were left as they were. */
enum store_status
store_set_flags_if(struct store *st, uint64_t mailbox_id, const uint32_t *uids,
                   const uint64_t *unchangedsince, size_t uid_count,
                   enum store_flag_op op, uint32_t flags, const char *keywords,
                   struct store_msg **out_r, bool **failed_r, size_t *count_r);

/* Open a message's file for reading: *fd_r (close it) and its size. */
enum store_status store_open_message(struct store *st, uint64_t mailbox_id,
                                     uint32_t uid, int *fd_r, uint64_t *size_r);

/* An anonymous file, on the store's file system, to receive a large
 * message before it is appended (an APPEND literal): read/write, gone
 * when closed. -1 with errno on failure. */
int store_spool_open(const struct store_settings *set);

/* ---- what the message model derives from a message ----
 *
 * The store keeps, per message, a blob the message model computes once
 * (the parsed MIME structure, envelope, the header fields SEARCH and
 * SORT use) and the message's searchable text in a full-text index
 * (SQLite FTS5, trigrams). It does not look inside either: it only
 * keeps them with the message and drops them with it. They can always
 * be computed again from the message, so a message may have none (mail
 * taken in from new/, or after a rebuild): the model fills them in
 * lazily. */

struct store_cache_entry {
	uint32_t uid;
	const void *data;
	size_t len;
	/* searchable text (UTF-8) of the header and of the body; both NULL
	 * for none */
	const char *header_text, *body_text;
	size_t header_len, body_len;
};

/* Store entries for messages of the mailbox, in one transaction; UIDs
 * that no longer exist are skipped. A NULL data keeps the blob the
 * message has, a NULL body_text its text; others replace them. */
enum store_status store_cache_put(struct store *st, uint64_t mailbox_id,
                                  const struct store_cache_entry *entries,
                                  size_t count);
/* The blob of uid: malloc'd into *data_r, or NULL with *len_r 0 when the
 * message has none. */
enum store_status store_cache_get(struct store *st, uint64_t mailbox_id,
                                  uint32_t uid, void **data_r, size_t *len_r);
/* Search texts are indexed in batches (see store-cache.c); this indexes
 * the ones still waiting now (`roost reindex` does, at its end). */
enum store_status store_text_flush(struct store *st);
/* Messages of the mailbox lacking a blob or a text (ascending UIDs in
 * *uids_r, malloc'd). */
enum store_status store_cache_missing(struct store *st, uint64_t mailbox_id,
                                      uint32_t **uids_r, size_t *count_r);
/* The searchable texts of uid, malloc'd (NUL-terminated); both NULL
 * when it has none. body_r NULL: the header text alone. */
enum store_status store_text_get(struct store *st, uint64_t mailbox_id,
                                 uint32_t uid, char **header_r,
                                 size_t *header_len_r, char **body_r,
                                 size_t *body_len_r);
/* Which of a message's searchable texts a candidate search looks in. */
enum store_text_part {
	STORE_TEXT_ALL, /* header or body */
	STORE_TEXT_BODY,
	STORE_TEXT_HEADER,
};
/* Messages that may contain needle (UTF-8) in the part of their
 * searchable text: those whose indexed text has all of its trigrams
 * there, and those with no indexed text at all;
 * ascending UIDs in *uids_r (malloc'd). The caller confirms each, so the
 * answer equals a full scan. A needle of fewer than 3 characters cannot
 * be narrowed: *all_r is set and every message is a candidate. */
enum store_status store_text_candidates(struct store *st, uint64_t mailbox_id,
                                        const char *needle,
                                        enum store_text_part part,
                                        uint32_t **uids_r, size_t *count_r,
                                        bool *all_r);

/* ---- changes, as they happen ---- */

/* The hook hears of every change this process commits to a user's
 * mailbox: new or expunged messages, changed flags, the mailbox
 * deleted. It is called on the thread that committed, after the commit
 * (STORE_CHANGED_ALL: any of the user's mailboxes may have changed). Set
 * it before any store is opened; NULL for none. */
#define STORE_CHANGED_ALL UINT64_MAX
typedef void store_change_fn(void *ctx, const char *user, uint64_t mailbox_id);
void store_set_change_hook(store_change_fn *fn, void *ctx);

/* Directories where another program's change to the mailbox shows (for
 * inotify): malloc'd paths into *dirs_r (free each and the array), or
 * none for a backend that has none. */
enum store_status store_watch_dirs(struct store *st, uint64_t mailbox_id,
                                   char ***dirs_r, size_t *count_r);

/* ---- quota ---- */

struct store_quota {
	uint64_t bytes_used, bytes_limit;       /* limit 0: none */
	uint64_t messages_used, messages_limit; /* limit 0: none */
};
enum store_status store_get_quota(struct store *st, struct store_quota *out);

#endif
