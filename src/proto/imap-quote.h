/* IMAP response encoder: picks atom, quoted string or literal for any
 * bytes (RFC 3501 section 4.3, 9: quoted strings hold 7-bit text without
 * CR, LF, NUL, '"' needing escapes only for '"' and '\'; anything with
 * 8-bit bytes, CR, LF or NUL is sent as a literal). */
#ifndef ROOST_PROTO_IMAP_QUOTE_H
#define ROOST_PROTO_IMAP_QUOTE_H

#include <stddef.h>

#include "core/buf.h"

/* Each returns 0, or -1 if out would pass its cap. */
/* string: quoted if possible, else literal {n}\r\n... */
int imap_write_string(struct buf *out, const void *s, size_t len);
/* astring: atom when every byte is an ATOM-CHAR (and not "NIL"), else
 * string */
int imap_write_astring(struct buf *out, const void *s, size_t len);
/* nstring: NIL for s == NULL, else string */
int imap_write_nstring(struct buf *out, const void *s, size_t len);
/* quoted only: for text known to be short 7-bit (e.g. ID values); bytes
 * that cannot be quoted fall back to a literal. Same as imap_write_string. */

#endif
