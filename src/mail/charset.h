/* Character sets of mail, converted to UTF-8: MIME charset names (RFC
 * 2046 section 4.1.2) through glibc iconv, RFC 2047 encoded-words in
 * header fields, and RFC 2231 parameter values. SEARCH matches on the
 * result (after casemap.h folding); its output is always valid UTF-8.
 *
 * Names are case-insensitive. Mail labels text by the names people use,
 * not by what it holds, so some names convert as the superset everyone
 * actually writes (as WHATWG encoding rules do): us-ascii and utf-8 as
 * UTF-8; iso-8859-1 (latin1) as windows-1252; gb2312 and gbk as
 * gb18030; ks_c_5601-1987 and euc-kr as cp949; shift_jis as cp932;
 * big5 as cp950; iso-2022-jp as iso-2022-jp-2. utf-16 and utf-32 follow
 * a byte order mark and are big-endian without one (RFC 2781 section
 * 4.3). Other names glibc iconv knows are accepted as it spells them;
 * names with characters outside [A-Za-z0-9._:+-] or over
 * CHARSET_MAX_NAME_BYTES never reach iconv. */
#ifndef ROOST_MAIL_CHARSET_H
#define ROOST_MAIL_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define CHARSET_MAX_NAME_BYTES 40

/* charset_to_utf8() failures */
#define CHARSET_ERR_UNKNOWN (-1)
#define CHARSET_ERR_FULL (-2)

/* Can text in charset (a NUL-terminated name) be converted? */
bool charset_known(const char *charset);

/* Convert len bytes of in from charset to UTF-8, appended to out. Each
 * invalid byte (a code unit for UTF-16/32) becomes U+FFFD and conversion
 * goes on; an incomplete sequence at the end becomes one U+FFFD.
 * Returns 0; CHARSET_ERR_UNKNOWN if charset is not known (out unchanged;
 * SEARCH answers NO [BADCHARSET]); CHARSET_ERR_FULL if out would pass its
 * cap (out is then as it was before the call). */
int charset_to_utf8(const char *charset, const void *in, size_t len,
                    struct buf *out);

/* Is s (len bytes) valid UTF-8: shortest forms, no surrogates, nothing
 * above U+10FFFF? */
bool charset_utf8_valid(const void *s, size_t len);

/* Decode the RFC 2047 encoded-words of the header field value s (len
 * bytes, folded or not) to UTF-8 appended to out. Words are decoded
 * wherever they are, also inside quoted strings or next to other text,
 * as mail clients do (RFC 2047 section 5 is stricter):
 * - "=?charset?B?...?=" and "=?charset?Q?...?=" in either case; in Q, '_'
 *   is a space and "=XX" a byte (a stray '=' stays as it is);
 * - an RFC 2231 section 5 language ("=?utf-8*en?Q?...?=") is ignored;
 * - whitespace (SP, HT, CR, LF) between adjacent encoded-words is dropped
 *   (RFC 2047 section 6.2), and the bytes of adjacent words in the same
 *   charset are converted together, so a character split across two
 *   words comes out whole;
 * - a malformed word (bad syntax, '?' or whitespace in the text) or one in
 *   an unknown charset is left as it is;
 * - text outside encoded-words is passed through if the whole of s is
 *   valid UTF-8 (RFC 6532 headers), and otherwise read as latin-1 (as
 *   windows-1252, see above): 8-bit headers in mail are most often a
 *   Western legacy charset.
 * Returns 0, or -1 if out would pass its cap (out is then unchanged). */
int rfc2047_decode(const char *s, size_t len, struct buf *out);

/* Convert an RFC 2231 parameter value (already %-decoded and with its
 * continuations joined) in charset to UTF-8 appended to out. A NULL,
 * empty or unknown charset is treated like unencoded header text above
 * (UTF-8 if valid, else latin-1). Returns 0, or -1 if out would pass its
 * cap (out is then unchanged). */
int rfc2231_value_to_utf8(const char *charset, const void *bytes, size_t len,
                          struct buf *out);

#endif
