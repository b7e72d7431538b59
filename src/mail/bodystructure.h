/* IMAP BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2, formal syntax
 * "body" in section 9) from a MIME part tree (mime.h).
 *
 * Output follows Dovecot where the RFC leaves a choice, so clients see
 * the same answers after a migration: type, subtype and values keep the
 * case they were sent in; a text part without a charset parameter gets
 * ("charset" "us-ascii"); BODYSTRUCTURE always carries every extension
 * field (body-fld-md5, body-fld-dsp, body-fld-lang as a list,
 * body-fld-loc), NIL when absent; a multipart with no body parts gets one
 * empty text/plain part (the grammar needs one); an RFC 2231 parameter
 * is sent as Dovecot does, in its RFC 2231 form with continuations
 * joined: "title*" "us-ascii'en'This%20is" (plain continuations are
 * joined into the plain name), so no charset information is lost.
 * Where we differ from Dovecot 2.3:
 *  - parameter names are sent lowercase (they are case-insensitive,
 *    RFC 2045 section 5.1; Dovecot keeps the sender's case);
 *  - body-fld-lines counts a last line without a line end (RFC 3501:
 *    "the size of the body in text lines"; Dovecot counts only LFs, so
 *    "See below." before a delimiter is 0 lines there, 1 here);
 *  - the type changes mime.h describes (multipart without a boundary
 *    is text/plain, an unparsed message/rfc822 application/octet-stream;
 *    Dovecot writes an empty child instead) and strict delimiter lines
 *    (RFC 2046 section 5.1.1; Dovecot takes "--boundaryX" as one). */
#ifndef ROOST_MAIL_BODYSTRUCTURE_H
#define ROOST_MAIL_BODYSTRUCTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "mail/mime.h"

/* Writes the ENVELOPE (RFC 3501 section 9 "envelope") of the message
 * whose header is header[0..len). Returns 0, or -1 if out is full. */
typedef int bodystructure_envelope_fn(struct buf *out, const char *header,
                                      size_t len, void *ctx);

/* Append the body structure of the tree root, parsed from msg[0..len)
 * (needed for the envelopes of message/rfc822 parts), to out:
 * BODYSTRUCTURE when extended, else BODY. Returns 0, or -1 if out would
 * pass its cap or the tree does not fit msg (out is then unchanged). */
int bodystructure_write(struct buf *out, const struct mime_part *root,
                        const char *msg, size_t len, bool extended,
                        bodystructure_envelope_fn *write_envelope, void *ctx);

#endif
