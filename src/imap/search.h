/* SEARCH programs (RFC 3501 6.4.4, RFC 9051 6.4.4): the search keys of
 * a SEARCH command parsed into a tree, and their evaluation against a
 * message. Keys on what the index holds (flags, keywords, UIDs, sequence
 * numbers, sizes, internal dates, WITHIN's YOUNGER/OLDER of RFC 5032,
 * CONDSTORE's MODSEQ of RFC 7162)
 * are evaluated here; keys on the message's content (header fields,
 * body, text, sent dates) ask a callback, which the message model
 * answers. */
#ifndef ROOST_IMAP_SEARCH_H
#define ROOST_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/imap-parser.h"
#include "proto/seqset.h"

enum search_op {
	SEARCH_ALL,
	SEARCH_AND,         /* children */
	SEARCH_OR,          /* two children */
	SEARCH_NOT,         /* one child */
	SEARCH_FLAGS_SET,   /* flags: all of them set */
	SEARCH_FLAGS_UNSET, /* flags: all of them unset */
	SEARCH_KEYWORD,     /* str */
	SEARCH_UNKEYWORD,   /* str */
	SEARCH_RECENT,
	SEARCH_NEW,    /* \Recent and not \Seen */
	SEARCH_OLD,    /* not \Recent */
	SEARCH_SEQSET, /* set: sequence numbers */
	SEARCH_UIDSET, /* set: UIDs */
	SEARCH_SAVED,  /* $ (SEARCHRES, RFC 5182) */
	SEARCH_LARGER, /* number */
	SEARCH_SMALLER,
	SEARCH_BEFORE, /* number: a day, as Unix time of its 00:00 UTC */
	SEARCH_ON,
	SEARCH_SINCE,
	SEARCH_OLDER, /* number: seconds (WITHIN) */
	SEARCH_YOUNGER,
	SEARCH_MODSEQ, /* number: modseq at least this (RFC 7162 3.1.5) */
	/* content: answered by the message model */
	SEARCH_SENTBEFORE,
	SEARCH_SENTON,
	SEARCH_SENTSINCE,
	SEARCH_HEADER, /* field, str */
	SEARCH_BODY,   /* str */
	SEARCH_TEXT,   /* str */
};

struct search_key {
	enum search_op op;
	uint32_t flags; /* STORE_FLAG_* */
	char *field;    /* HEADER's field name (FROM, TO... become HEADER) */
	char *str;      /* what to look for, as the client sent it */
	char *folded;   /* str case-folded as searchable text is (NULL
	                   if it could not be) */
	size_t folded_len;
	uint64_t number;
	struct seqset set;
	struct search_key *children;
	size_t child_count;
};

struct search_program {
	struct search_key root; /* SEARCH_AND of the keys */
	char *charset;          /* CHARSET argument, NULL if none */
	bool content;           /* some key needs the message's content */
	bool body;              /* BODY or TEXT: its body too */
	bool modseq;            /* a MODSEQ key: results say the highest */
	/* ESEARCH (RFC 4731) RETURN options; none given: plain SEARCH */
	bool esearch;
	bool ret_min, ret_max, ret_all, ret_count, ret_save;
};

/* Parse the arguments of SEARCH (after the command name, or after UID
 * SEARCH). Returns 0, or -1 with *error_r (static text for BAD). */
int search_parse(const struct imap_arg *args, size_t count,
                 struct search_program *prog, const char **error_r);
void search_free(struct search_program *prog);

/* What one message offers the evaluator. */
struct search_msg {
	uint32_t seq, uid;
	uint32_t max_seq, max_uid; /* what '*' stands for */
	uint32_t flags;            /* STORE_FLAG_* */
	bool recent;
	const char *keywords; /* space-separated, or NULL */
	int64_t internaldate; /* Unix time */
	int tz_offset_min;    /* the zone of INTERNALDATE */
	uint64_t size;
	uint64_t modseq;
	uint64_t now; /* for YOUNGER/OLDER */
	/* the saved result ($), ascending UIDs */
	const uint32_t *saved;
	size_t saved_count;
	/* content keys: return true if the message matches key */
	bool (*content)(const struct search_key *key, void *ctx);
	void *ctx;
};

bool search_match(const struct search_key *key, const struct search_msg *m);
/* Does the program name messages by sequence number (then a UID SEARCH
 * must not report expunges: RFC 7162 3.2.10.2)? */
bool search_uses_seqnums(const struct search_key *key);

#endif
