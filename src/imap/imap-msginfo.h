/* A message's derived data (mail/msginfo.h, and its searchable text,
 * mail/searchtext.h) for the IMAP commands: computed when APPEND takes
 * the message in and kept in the index with it; read back by FETCH,
 * SORT and THREAD. A message that has none (taken in from the Maildir's
 * new/, or after the index was rebuilt) gets it computed from its file
 * on first use, and kept. */
#ifndef ROOST_IMAP_MSGINFO_H
#define ROOST_IMAP_MSGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mail/derive.h"
#include "mail/msginfo.h"
#include "store/store.h"

/* Everything derived from one message (mail/derive.h), ready for
 * store_append. */
struct imap_derived {
	struct derived d;
	struct store_cache_entry entry; /* points into d */
};
void imap_derive(const char *msg, size_t len, struct imap_derived *d);
void imap_derived_free(struct imap_derived *d);

/* Loads derived data for the messages of one mailbox, keeping what it
 * had to compute to put into the index in batches. */
struct imap_msginfo_loader {
	struct store *st;
	uint64_t mailbox_id;
	struct imap_derived *fresh;
	size_t fresh_count;
};

struct imap_msginfo {
	void *blob;
	size_t len;
	struct msginfo info; /* points into blob */
};

void imap_msginfo_loader_init(struct imap_msginfo_loader *l, struct store *st,
                              uint64_t mailbox_id);
/* Put what was computed into the index and free it. */
void imap_msginfo_loader_flush(struct imap_msginfo_loader *l);
/* Free what was computed without touching the index (it does no I/O,
 * so the session's loop may call it when a command is dropped). */
void imap_msginfo_loader_discard(struct imap_msginfo_loader *l);
/* The derived data of uid into *m (free with imap_msginfo_free); false
 * if the message no longer exists. */
bool imap_msginfo_load(struct imap_msginfo_loader *l, uint32_t uid,
                       struct imap_msginfo *m);
void imap_msginfo_free(struct imap_msginfo *m);
/* Keep what was computed for uid (d, whose entry may hold a blob, a
 * text or both; taken over) for the index, put there with the loader's
 * next batch. */
void imap_msginfo_keep(struct imap_msginfo_loader *l, uint32_t uid,
                       struct imap_derived *d);

/* Compute and keep the derived data of every message of the mailbox
 * (id) that lacks it, as `roost reindex` does after a rebuild; the
 * number done in *done_r. */
enum store_status imap_derive_missing(struct store *st, uint64_t mailbox_id,
                                      size_t *done_r);

/* The file of uid mapped read-only (*len_r bytes; "" for an empty
 * file): unmap with imap_unmap_message. NULL if it is gone. */
const char *imap_map_message(struct store *st, uint64_t mailbox_id,
                             uint32_t uid, size_t *len_r);
void imap_unmap_message(const char *map, size_t len);

#endif
