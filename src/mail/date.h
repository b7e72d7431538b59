/* The Date header field: RFC 5322 section 3.3 date-time with the
 * obsolete forms of section 4.3 (two- and three-digit years, missing
 * seconds, named and military zones, comments and white space anywhere,
 * no day of week). */
#ifndef ROOST_MAIL_DATE_H
#define ROOST_MAIL_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Parse a Date field's value (folded or not). On success returns true
 * and sets *time_r to the instant (seconds since the epoch, UTC) and
 * *tz_offset_min_r to the zone it was written in, in minutes east of UTC
 * (RFC 5322 4.3: military and unknown zone names, like "-0000", give 0).
 * Anything after the zone (a comment such as "(PST)") is ignored.
 *
 * Returns false for text with no day, month, year and valid time, or an
 * impossible date (31 Feb, 25:00). RFC 3501 leaves open what SEARCH
 * SENTBEFORE, SENTON and SENTSINCE do then; roost applies RFC 5256
 * section 2.2's rule for SORT to both: a message whose Date is missing
 * or unparsable has its INTERNALDATE as its sent date. */
bool date_parse(const void *value, size_t len, time_t *time_r,
                int *tz_offset_min_r);

#endif
