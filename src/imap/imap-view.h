/* A session's view of its selected mailbox: the messages in sequence
 * order with their flags, as this session has been told about them.
 * Other sessions' and programs' changes enter it only at sync points,
 * where they are reported (EXISTS, RECENT, FETCH FLAGS, and EXPUNGE where
 * RFC 3501 7.4.1 allows it), so sequence numbers never shift under a
 * client between the responses it was sent.
 *
 * CONDSTORE and QRESYNC (RFC 7162): once the session is CONDSTORE-aware
 * every untagged FETCH of a flag change carries UID and MODSEQ; with
 * QRESYNC enabled expunges are reported as VANISHED. The view tracks the
 * HIGHESTMODSEQ a client may keep (below any expunge held back), and
 * answers VANISHED (EARLIER) for SELECT (QRESYNC) and UID FETCH
 * (VANISHED). */
#ifndef ROOST_IMAP_IMAP_VIEW_H
#define ROOST_IMAP_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "proto/seqset.h"
#include "store/store.h"

struct imap_job;
struct imap_session;

/* in store_msg.flags of a view: \Recent for this session */
#define IMAP_VIEW_RECENT (1u << 31)

struct imap_view {
	uint64_t mailbox_id;
	char *name;
	bool readonly;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t modseq;        /* the store's HIGHESTMODSEQ at the last sync */
	struct store_msg *msgs; /* ascending UID = sequence order */
	size_t count, cap;
	uint32_t recent_count;
	char **keywords;
	size_t keyword_count;
	uint32_t *pending; /* expunged, not yet announced */
	size_t pending_count;
	bool qresync; /* expunges are reported as VANISHED (RFC 7162 3.2.10) */
	/* every change up to it was reported, so a client may keep it as its
	 * HIGHESTMODSEQ: below any expunge held back (RFC 7162 3.2) */
	uint64_t reported_modseq;
	/* CONDSTORE was enabled while selected: say HIGHESTMODSEQ at the
	 * next sync (RFC 7162 3.1) */
	bool announce_modseq;
};

/* Items of imap_view_write_fetch. */
enum {
	IMAP_VIEW_FETCH_UID = 1u << 0,
	IMAP_VIEW_FETCH_FLAGS = 1u << 1,
	IMAP_VIEW_FETCH_MODSEQ = 1u << 2,
};

/* SELECT/EXAMINE: read the mailbox into a new view. */
enum store_status imap_view_open(struct store *st, const char *name,
                                 bool readonly, struct imap_view **view_r);
void imap_view_free(struct imap_view **view);
/* The untagged responses of SELECT/EXAMINE (RFC 3501 6.3.1). */
void imap_view_write_select(const struct imap_view *v, struct buf *out);
/* Bring the job's session view up to date and report the changes. */
void imap_view_sync(struct imap_job *job, bool allow_expunge);
/* A CONDSTORE enabling command (RFC 7162 3.1) was parsed: the session
 * is CONDSTORE-aware from now on; the first time with a mailbox
 * selected, the next sync says its HIGHESTMODSEQ. */
void imap_condstore_enable(struct imap_session *s);
/* "* n FETCH (UID u FLAGS (...) MODSEQ (m))" for message i, with the
 * items asked for (IMAP_VIEW_FETCH_*). */
void imap_view_write_fetch(const struct imap_view *v, size_t i,
                           unsigned int items, struct buf *out);
/* SELECT (QRESYNC) (RFC 7162 3.2.5.1): "* n FETCH (UID FLAGS MODSEQ)"
 * for the messages of known (as below) whose modseq is above since. */
void imap_view_write_changed(const struct imap_view *v,
                             const struct seqset *known, uint64_t since,
                             struct buf *out);
/* VANISHED (EARLIER) (RFC 7162 3.2.5, 3.2.6): the UIDs of known (a UID
 * set; NULL: 1:UIDNEXT-1; '*' is UIDNEXT-1) from from_uid on that were
 * expunged after since: as the store recorded them, or where its history
 * does not reach back that far, every one not in the view. UIDs still
 * in the view are left to a VANISHED of their own. Writes nothing when
 * there are none. */
enum store_status
imap_view_write_vanished_earlier(const struct imap_view *v, struct store *st,
                                 const struct seqset *known, uint32_t from_uid,
                                 uint64_t since, struct buf *out);

/* Index of uid in the view, or -1. */
long imap_view_find(const struct imap_view *v, uint32_t uid);
/* "(\Seen kw ...)" for m, \Recent included. */
void imap_view_write_flags(const struct store_msg *m, struct buf *out);
/* How message i (0-based) is named in an answer: its UID, or its
 * sequence number. */
uint32_t imap_view_number(const struct imap_view *v, size_t i, bool uid);
/* Replace the flags, keywords and modseq of the view's copy of m. */
void imap_view_update(struct imap_view *v, const struct store_msg *m);
/* Remove uids (ascending) that were expunged by this session, writing
 * "* n EXPUNGE" for each to out, or one "* VANISHED set" with QRESYNC. */
void imap_view_expunged(struct imap_view *v, const uint32_t *uids, size_t count,
                        struct buf *out);

/* Resolve a sequence set (by sequence number, or by UID when uid) into
 * ascending view indexes, malloc'd in *idx_r. Returns 0, or -1 with
 * *error_r (static) for a syntax error or a sequence number past the
 * end. */
int imap_view_resolve(const struct imap_view *v, const char *set, bool uid,
                      size_t **idx_r, size_t *count_r, const char **error_r);
/* The UIDs at idx (count entries), malloc'd. */
uint32_t *imap_view_uids(const struct imap_view *v, const size_t *idx,
                         size_t count);
/* Sort uids ascending. */
void imap_sort_uids(uint32_t *uids, size_t n);
/* Write a UID set in compact form (1:3,7) for ascending uids. */
void imap_write_uid_set(struct buf *out, const uint32_t *uids, size_t count);

#endif
