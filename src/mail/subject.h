/* Base subject extraction (RFC 5256 section 2.1), used by SORT SUBJECT
 * and THREAD=ORDEREDSUBJECT / REFERENCES. */
#ifndef ROOST_MAIL_SUBJECT_H
#define ROOST_MAIL_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Append the base subject of subject to out. subject is the Subject
 * field's value already RFC 2047-decoded to UTF-8 (step 1's decoding is
 * the caller's); this does the rest of step 1 (white space runs become
 * one space) and steps 2 to 7: trailing "(fwd)", leading "Re:", "Fw:",
 * "Fwd:" with their "[blob]"s, "[blob]" prefixes that leave something,
 * and "[fwd: ...]" wrapping, until nothing more matches. Matching is
 * ASCII case-insensitive; other bytes pass through unchanged.
 *
 * If reply_or_fwd_r is not NULL it is set to whether a "Re:"/"Fw:"/
 * "Fwd:", a "(fwd)" trailer or a "[fwd: ...]" wrapper was removed: the
 * message is then a reply or forward for THREAD=ORDEREDSUBJECT (RFC 5256
 * section 2.1, the note after step 7).
 *
 * Returns 0, or -1 if out would pass its cap while it holds the subject
 * with white space collapsed (out is then unchanged). */
int subject_base(struct buf *out, const void *subject, size_t len,
                 bool *reply_or_fwd_r);

#endif
