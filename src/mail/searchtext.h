/* The searchable text of a message, for SEARCH's TEXT and BODY keys and
 * the full-text index: its header and the text of its body, decoded to
 * UTF-8 and case-folded (i;unicode-casemap, RFC 5051), so that a search
 * string folded the same way is found by a plain substring search.
 *
 * The header text is each field as "name: value" with the value
 * unfolded and RFC 2047-decoded. The body text is every text part's
 * content, transfer-decoded (base64, quoted-printable) and converted
 * from its charset, and the header text of embedded messages; other
 * parts (attachments) are left out. Parts are separated by a newline. */
#ifndef ROOST_MAIL_SEARCHTEXT_H
#define ROOST_MAIL_SEARCHTEXT_H

#include <stddef.h>

#include "core/buf.h"
#include "mail/mime.h"

/* Append the texts of the message msg[0..len) to header and body.
 * Returns 0, or -1 if a buffer's cap was reached (the text is then
 * incomplete and must not be used to answer a search). */
int searchtext_build(const char *msg, size_t len, struct buf *header,
                     struct buf *body);

/* The same for a message already parsed into root (mime_parse). */
int searchtext_build_parsed(const char *msg, const struct mime_part *root,
                            struct buf *header, struct buf *body);
/* A header field's value as the header text holds it: unfolded (the
 * line breaks dropped, the space kept), RFC 2047-decoded and folded;
 * appended to out. 0, or -1 if out's cap was reached. */
int searchtext_value(const char *value, size_t len, struct buf *out);

/* needle folded as the texts are, appended to out; 0 or -1 (cap). */
int searchtext_fold(const char *needle, size_t len, struct buf *out);

#endif
