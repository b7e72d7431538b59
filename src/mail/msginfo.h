/* What the server derives from a message once, when it takes the
 * message in (APPEND, delivery, a file found in the Maildir), and keeps
 * in the index, so that FETCH ENVELOPE, BODY and BODYSTRUCTURE, section
 * lookups, SORT and THREAD never parse the message file again:
 *
 *  - the ENVELOPE, BODY and BODYSTRUCTURE answers, ready to send;
 *  - the MIME part tree (mime_serialize), for BODY[section] and BINARY
 *    to find a part's bytes in the file without parsing it;
 *  - the fields SORT (RFC 5256, RFC 5957) and THREAD need.
 *
 * msginfo_build writes all of it as one blob; msginfo_parse reads a blob
 * back without copying: every pointer in a struct msginfo points into
 * the blob, and every string is NUL-terminated there. A blob that is not
 * one msginfo_build wrote (a damaged index) is refused, and the caller
 * builds it again from the message. */
#ifndef ROOST_MAIL_MSGINFO_H
#define ROOST_MAIL_MSGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mail/mime.h"

/* The first address of an address list (RFC 5322 From, To, Cc): the
 * display name RFC 2047-decoded to UTF-8, the local part and the domain,
 * each as sent and "" when absent. Group syntax is looked through: the
 * first mailbox counts. All "" when the field has no mailbox. */
struct msginfo_addr {
	const char *name, *mailbox, *domain;
};

struct msginfo {
	/* IMAP answers (RFC 3501 section 9 "envelope" and "body"); they may
	 * hold literals, so use the lengths */
	const char *envelope, *body, *bodystructure;
	size_t envelope_len, body_len, bodystructure_len;
	/* the part tree, for mime_deserialize */
	const void *mime;
	size_t mime_len;
	/* the top-level header block, with its empty line */
	uint64_t header_size;
	/* the Date field as seconds since the epoch (UTC); has_date is false
	 * when the field is missing or cannot be parsed (RFC 5256 then takes
	 * the internal date, which the index has) */
	bool has_date;
	int64_t date;
	int date_tz_min; /* the zone it was written in, minutes east */
	/* the RFC 5256 base subject (UTF-8, white space runs as one space),
	 * and whether extracting it removed a reply or forward marker */
	const char *subject_base;
	bool subject_reply;
	struct msginfo_addr from, to, cc;
	/* Message-ID, In-Reply-To and References values, unfolded (line
	 * breaks removed) but otherwise as sent; "" when absent */
	const char *message_id, *in_reply_to, *references;
};

/* The blob for the message msg[0..len) appended to out. Returns 0, or
 * -1 if out would pass its cap (out is then unchanged). */
int msginfo_build(const char *msg, size_t len, struct buf *out);
/* The same for a message already parsed into root (mime_parse). */
int msginfo_build_parsed(const char *msg, size_t len,
                         const struct mime_part *root, struct buf *out);

/* Read the blob data[0..len) into *info (pointing into data, which must
 * outlive it). False if it is not a blob msginfo_build wrote. */
bool msginfo_parse(const void *data, size_t len, struct msginfo *info);

#endif
