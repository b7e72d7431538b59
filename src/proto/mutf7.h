/* IMAP modified UTF-7 mailbox names (RFC 3501 section 5.1.3, kept by RFC
 * 9051 section 5.1.3 for clients that do not enable UTF8=ACCEPT).
 *
 * Printable US-ASCII (0x20-0x7e) except '&' stands for itself and "&-" for
 * '&'. Any other character is written as '&', its UTF-16BE code units in
 * modified base64 (RFC 2045 base64 with ',' for '/', no '=' padding), and
 * '-'. Only the canonical form is accepted, so that each name has exactly
 * one spelling and decoding then encoding gives back the same bytes:
 * - a shift encodes at least one character and never a character that
 *   could be written directly (nor controls: see below);
 *   a shift ends with '-', and its leftover bits (fewer than six) are zero;
 * - UTF-16 surrogates come in high-low pairs inside one shift;
 * - two shifts are never adjacent ("&AMk-&AMk-" must be "&AMkAyQ-");
 * - no byte outside 0x20-0x7e, and no encoded control (below U+0020,
 *   U+007F), as a mailbox name carries none. */
#ifndef ROOST_PROTO_MUTF7_H
#define ROOST_PROTO_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Is s (len bytes, no terminator needed) canonical modified UTF-7? */
bool mutf7_valid(const char *s, size_t len);
/* Decode s to UTF-8 appended to out. Returns 0, or -1 if s is not
 * canonical modified UTF-7 (mutf7_valid) or out would pass its cap; out
 * is then unchanged. */
int mutf7_to_utf8(const char *s, size_t len, struct buf *out);
/* Encode the UTF-8 text s as canonical modified UTF-7 appended to out.
 * Returns 0, or -1 if s is not valid UTF-8 (overlong forms, surrogates,
 * code points above U+10FFFF, truncated sequences), contains a control
 * (below U+0020, U+007F), or out would pass its cap; out is then
 * unchanged. Every run of non-ASCII characters becomes one shift.
 * For valid x, mutf7_from_utf8(mutf7_to_utf8(x)) == x. */
int mutf7_from_utf8(const char *s, size_t len, struct buf *out);

#endif
