/* IMAP response encoder: picks atom, quoted string or literal for any
 * bytes (RFC 3501 section 4.1-4.3 and 9, RFC 9051 section 4.3 and 9).
 * Quoted strings carry 7-bit text without NUL, CR and LF, escaping only
 * '"' and '\'; anything with 8-bit bytes, NUL, CR or LF, and any text
 * longer than IMAP_QUOTED_MAX_BYTES, is sent as a literal. */
#ifndef ROOST_PROTO_IMAP_QUOTE_H
#define ROOST_PROTO_IMAP_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Longer text is sent as a literal, which clients read without scanning
 * for escapes. */
#define IMAP_QUOTED_MAX_BYTES 1024

/* Each appends to out and returns 0, or returns -1 if out would pass its
 * cap (out is then unchanged). */
/* string: quoted if possible, else literal "{n}\r\n" and the bytes */
int imap_write_string(struct buf *out, const void *s, size_t len);
/* astring: atom when non-empty, every byte an ASTRING-CHAR and not "NIL"
 * in any case (which would read as NIL), else string */
int imap_write_astring(struct buf *out, const void *s, size_t len);
/* nstring: NIL for s == NULL, else string */
int imap_write_nstring(struct buf *out, const void *s, size_t len);

/* RFC 3501 section 9: ATOM-CHAR, any CHAR except atom-specials
 * ("(" ")" "{" SP CTL "%" "*" DQUOTE "\\" "]"). */
bool imap_char_is_atom(unsigned char c);

#endif
