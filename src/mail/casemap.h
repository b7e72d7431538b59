/* The i;unicode-casemap collation (RFC 5051) for SEARCH (RFC 3501
 * section 6.4.4: case-insensitive substring matching; RFC 9051 names
 * this collation).
 *
 * RFC 5051 section 2 prepares each string as "titlecased canonicalized
 * UTF-8": each character mapped to its titlecase and fully (canonically)
 * decomposed, repeatedly. We fold with utf8proc instead: canonical
 * decomposition (NFD, with combining marks in canonical order) and full
 * Unicode case folding (CaseFolding.txt, statuses C and F). For nearly
 * all text the two agree on what matches; the differences are where
 * full folding is better for users: "ß" folds to "ss" (so "STRASSE"
 * finds "Straße"), and final sigma "ς" folds like "σ". Turkish letters
 * follow the default (not Turkish) mappings: "I" folds to "i", "İ"
 * (U+0130) to "i" with U+0307 COMBINING DOT ABOVE, and dotless "ı"
 * (U+0131) stays itself, so "ı" does not match "I" and "istanbul" does
 * not find "İstanbul".
 *
 * As in RFC 5051, decomposition makes a base letter match inside its
 * accented form: the needle "e" is found in "é". */
#ifndef ROOST_MAIL_CASEMAP_H
#define ROOST_MAIL_CASEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Fold the UTF-8 text utf8 (len bytes) as above, appended to out; each
 * invalid byte is taken as U+FFFD. Returns 0, or -1 if out would pass
 * its cap (out is then unchanged). */
int casemap_fold(const char *utf8, size_t len, struct buf *out);

/* Does the folded text hay contain the folded text needle? An empty
 * needle is found everywhere. Both must come from casemap_fold(). */
bool casemap_contains(const char *hay, size_t hay_len, const char *needle,
                      size_t needle_len);

#endif
