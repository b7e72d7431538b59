/* Message threading (RFC 5256): the ORDEREDSUBJECT and REFERENCES
 * algorithms of section 3 with the sent-date rules of section 2.2, and
 * the thread-list syntax of section 4. Independent of IMAP sessions:
 * the caller gives each message's fields and the number to name it by. */
#ifndef ROOST_MAIL_THREAD_H
#define ROOST_MAIL_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum thread_algorithm {
	THREAD_ORDEREDSUBJECT,
	THREAD_REFERENCES,
};

/* One message to thread. The array given to thread_write is in mailbox
 * (sequence number) order, which breaks ties between equal dates. */
struct thread_msg {
	uint32_t number; /* what the answer calls it: sequence number or UID */
	/* the sent date (section 2.2): the Date field in UTC seconds, or the
	 * internal date when the field is missing or unreadable */
	int64_t date;
	/* the base subject (section 2.1) as a comparison key: two subjects
	 * are the same when their keys are equal bytes (the caller folds
	 * case); "" for none */
	const char *subject;
	bool reply; /* extracting the base subject removed a Re:/Fwd: */
	/* field values as sent (unfolded), "" when absent */
	const char *message_id, *in_reply_to, *references;
};

/* Thread msgs[0..count) with alg and append the thread-lists to out:
 * "(3 4)(1 (2)(5))", nothing when count is 0. Returns 0, or -1 if out
 * would pass its cap (out then holds part of the answer). */
int thread_write(enum thread_algorithm alg, const struct thread_msg *msgs,
                 size_t count, struct buf *out);

/* The next valid message ID in the field value at *pos (NUL-terminated):
 * "<" id-left "@" id-right ">", leniently: the bytes between "<" and
 * ">" holding an "@" and no "<", with white space removed (obsolete
 * syntax allows it). The ID without its brackets replaces id's
 * contents; *pos moves past it. Returns false when there is none
 * (or id would pass its cap). IDs compare case-sensitively (section 3). */
bool thread_msgid_next(const char **pos, struct buf *id);

#endif
