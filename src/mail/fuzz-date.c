/* libFuzzer target for Date fields (date.h).
 *
 * Whatever the input, a parse that succeeds gives a zone a Date can
 * name (at most 99:59 either way), and writing the instant back as an
 * RFC 5322 date-time in that zone parses to the same instant and zone. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/fuzz.h"
#include "mail/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	time_t t, t2;
	int tz, tz2;
	if (!date_parse(data, size, &t, &tz))
		return 0;
	CHECK(tz >= -(99 * 60 + 59) && tz <= 99 * 60 + 59);
	time_t local = t + (time_t)tz * 60;
	struct tm tm;
	CHECK(gmtime_r(&local, &tm) != NULL);
	if (tm.tm_year + 1900 < 1900 || tm.tm_year + 1900 > 9999)
		return 0; /* a leap second pushed it past the years we read */
	int off = tz < 0 ? -tz : tz;
	char s[80];
	snprintf(s, sizeof(s), "%d %s %d %02d:%02d:%02d %c%02d%02d", tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec, tz < 0 ? '-' : '+', off / 60, off % 60);
	CHECK(date_parse(s, strlen(s), &t2, &tz2));
	CHECK(t2 == t && tz2 == tz);
	return 0;
}
