/* The IMAP ENVELOPE of a message or of a message/rfc822 part (RFC 3501
 * section 7.4.2 and 9):
 *   ("date" "subject" (from) (sender) (reply-to) (to) (cc) (bcc)
 *    "in-reply-to" "message-id") */
#ifndef ROOST_MAIL_ENVELOPE_H
#define ROOST_MAIL_ENVELOPE_H

#include <stddef.h>

#include "core/buf.h"

/* Append the ENVELOPE of the header block header[0..len) (the fields up
 * to the empty line; the empty line and anything after it are ignored).
 *
 * Each member comes from the first field of its name. Strings are the
 * field's value unfolded (CR, LF and NUL removed, white space at both
 * ends trimmed), not RFC 2047-decoded, and NIL when the field is absent;
 * 8-bit text goes as a literal. Address lists are as
 * address_list_write_imap() writes them, NIL when absent or empty; an
 * absent or empty Sender or Reply-To is the From list. (Dovecot 2.3
 * differs: it takes the last Subject and all From fields, turns tabs and
 * folds into single spaces, and keeps trailing white space.)
 *
 * If out would pass its cap, out is left as it was and nothing is
 * written: a caller that writes more must check the room itself. */
void envelope_write(struct buf *out, const char *header, size_t len);

#endif
