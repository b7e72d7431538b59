/* Incremental content-transfer-encoding decoders: base64 (RFC 2045
 * section 6.8) and quoted-printable (RFC 2045 section 6.7), for BINARY
 * fetches (RFC 3516) and for searching bodies.
 *
 * Input may be fed in chunks split anywhere; the output is the same as
 * for the whole input at once. Decoding is tolerant, as mail requires,
 * and notes whether the input was clean, i.e. decodable without
 * guessing. RFC 3516 section 4.3 answers a BINARY fetch of content that
 * is not clean with NO [UNKNOWN-CTE]; that decision is the caller's.
 *
 * base64: whitespace is skipped; any other character outside the
 * alphabet is skipped and makes the input not clean. Decoding stops at
 * the end of the padding ("xx==", "xxx="); anything after it other than
 * whitespace is ignored and makes the input not clean. Padding in a
 * place it cannot be ('=' as the first or second character of a group
 * of four, or "xx=" followed by anything but '=') ends the data and
 * makes it not clean. Missing padding at the end ("xx", "xxx", "xx=")
 * is tolerated and clean, but a lone trailing character (six bits, not
 * a byte) makes the input not clean.
 *
 * quoted-printable: "=XX" with hex digits in either case is the byte;
 * '=' followed by optional spaces or tabs and CRLF or LF is a soft line
 * break, and so is '=' (with optional whitespace) at the end of the
 * input, since a body part ends before the CRLF of its boundary. Spaces
 * and tabs before a line end (or the end of the input) are transport
 * padding and dropped; a run longer than QP_MAX_PENDING_WS_BYTES is kept,
 * as no encoder pads that much. Line ends are passed through as they are
 * (CRLF or LF). Any other '=' is passed through literally together with
 * what follows it, and makes the input not clean. */
#ifndef ROOST_MAIL_DECODE_H
#define ROOST_MAIL_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

enum decode_cte {
	DECODE_IDENTITY, /* 7bit, 8bit, binary: bytes as they are */
	DECODE_BASE64,
	DECODE_QP,
	DECODE_UNKNOWN, /* a Content-Transfer-Encoding we cannot decode */
};

/* Longest run of whitespace held back while deciding whether it is
 * quoted-printable transport padding. */
#define QP_MAX_PENDING_WS_BYTES 256

/* Output sink: returns 0, or < 0 to stop decoding (decode_feed and
 * decode_finish then return -1). */
typedef int decode_output_fn(void *context, const void *data, size_t len);

struct decoder;

/* The encoding named by a Content-Transfer-Encoding value (len bytes,
 * case-insensitive, surrounding whitespace ignored). An absent header
 * (NULL) is 7bit. */
enum decode_cte decode_cte_parse(const char *value, size_t len);

/* A decoder for cte (not DECODE_UNKNOWN) writing to output(context, ...).
 * Free with decode_free(). */
struct decoder *decode_new(enum decode_cte cte, decode_output_fn *output,
                           void *context);
/* A decoder appending to out, which must outlive it. Stops with -1 when
 * out would pass its cap. */
struct decoder *decode_new_buf(enum decode_cte cte, struct buf *out);
void decode_free(struct decoder **decoder);

/* Decode len bytes of input; everything decodable so far is written
 * before returning. Returns 0, or -1 if the output sink failed (then and
 * afterwards nothing more is decoded). */
int decode_feed(struct decoder *decoder, const void *in, size_t len);
/* End of input: write what was held back. Returns 0 or -1 as
 * decode_feed. No more input may follow. */
int decode_finish(struct decoder *decoder);
/* Was all input so far clean (see above)? */
bool decode_is_clean(const struct decoder *decoder);

/* Decode all of in appended to out. Returns 0, or -1 if out would pass
 * its cap (out then holds a prefix of the result). *clean_r (if not NULL)
 * tells whether the input was clean. */
int decode_all(enum decode_cte cte, const void *in, size_t len, struct buf *out,
               bool *clean_r);

#endif
