/* FETCH's parsed items and running state, shared by the parser
 * (cmd-fetch.c) and the writer of the answers (fetch-answer.c). */
#ifndef ROOST_IMAP_FETCH_H
#define ROOST_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-msginfo.h"
#include "imap/imap-private.h"
#include "mail/decode.h"
#include "mail/mime.h"
#include "proto/seqset.h"

enum fetch_kind {
	F_FLAGS,
	F_UID,
	F_INTERNALDATE,
	F_SIZE,
	F_ENVELOPE,
	F_STRUCTURE,   /* BODY, BODYSTRUCTURE (extended) */
	F_BODY,        /* BODY[...] and the RFC822 forms */
	F_BINARY,      /* BINARY[...] (RFC 3516): the part decoded */
	F_BINARY_SIZE, /* BINARY.SIZE[...] */
	F_MODSEQ,      /* MODSEQ (RFC 7162 3.1.4.2) */
};

enum body_section {
	SEC_ALL,
	SEC_HEADER,
	SEC_TEXT,
	SEC_MIME,
	SEC_FIELDS,
	SEC_FIELDS_NOT,
};

struct fetch_item {
	enum fetch_kind kind;
	enum body_section section;
	bool peek;
	char *label;   /* how the answer names it: "BODY[HEADER]<0>" */
	char **fields; /* HEADER.FIELDS(.NOT) names */
	size_t field_count;
	bool partial;
	uint64_t origin, count;
	/* part numbers of the section ("1.2" is {1, 2}), depth of them */
	unsigned int path[MIME_MAX_DEPTH];
	size_t depth;
	bool extended; /* BODYSTRUCTURE rather than BODY */
};

/* The message being answered. */
struct fetch_msg {
	const struct store_msg *m;
	struct imap_msginfo mi; /* when an item needs it */
	bool have_info;
	int fd; /* its file, when an item needs it; else -1 */
	uint64_t size;
	struct mime_part *root; /* from mi, when a section needs it */
	bool flags_done;        /* FLAGS was among the items */
};

struct fetch_ctx {
	struct fetch_item *items;
	size_t item_count;
	bool uid;
	bool sets_seen;
	size_t *idx;
	size_t count;
	size_t pos;       /* next message to answer */
	bool *changed;    /* \Seen was set by this FETCH: send FLAGS */
	bool unknown_cte; /* a BINARY part had an encoding we cannot undo */
	bool partial_cmd; /* PARTIAL rather than FETCH */
	bool missing;     /* a message was gone */
	bool read_error;  /* a file could not be read for a literal */
	/* CONDSTORE (RFC 7162): the session was CONDSTORE-aware, so a
	 * FETCH that sets \Seen also says UID and MODSEQ; which of them
	 * the items name; CHANGEDSINCE; UID FETCH's VANISHED with the UID
	 * set it covers, and whether its answer was written */
	bool condstore, has_uid, has_modseq;
	bool changedsince_set;
	uint64_t changedsince;
	bool vanished, vanished_done;
	struct seqset vanished_set;
	/* while answering message pos: its next item, and a literal being
	 * sent from its file */
	bool in_msg;
	size_t item_pos;
	struct fetch_msg cur;
	uint64_t stream_off, stream_left;
	/* BINARY: the decoder the file's bytes go through, the decoded
	 * size and whether it has a NUL (counted first), the decoded bytes
	 * still to skip (partial) and to send, and where they go */
	struct decoder *dec;
	uint64_t bin_size, bin_skip, bin_left;
	bool bin_nul;
	struct buf *bin_out;
	struct imap_msginfo_loader loader;
	bool loader_ready;
};

void fetch_ctx_free(void *ctx);
/* Release what answering holds (the message's file, cached data). */
void fetch_release(struct fetch_ctx *c);
/* The job that writes the answers. */
void fetch_work(struct imap_job *job);

#endif
