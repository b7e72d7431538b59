/* RFC 5322 date-time (section 3.3) with the obsolete syntax of section
 * 4.3. The text is read as a sequence of numbers, words and single
 * characters, with white space, folding and comments (CFWS) allowed
 * between any two of them. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mail/date.h"

struct cursor {
	const unsigned char *p, *end;
};

/* RFC 5322 3.2.2: CFWS, with nested comments and quoted-pairs */
static void skip_cfws(struct cursor *c)
{
	unsigned int depth = 0;

	while (c->p < c->end) {
		unsigned char ch = *c->p;

		if (ch == '(') {
			depth++;
		} else if (ch == ')' && depth > 0) {
			depth--;
		} else if (ch == '\\' && depth > 0 && c->p + 1 < c->end) {
			c->p++;
		} else if (depth == 0 && ch != ' ' && ch != '\t' &&
		           ch != '\r' && ch != '\n') {
			return;
		}
		c->p++;
	}
}

static bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Up to max_digits digits after CFWS; returns how many were read
 * (0 if none, or if more digits follow). */
static int read_number(struct cursor *c, int max_digits, int *val_r)
{
	int n = 0, val = 0;

	skip_cfws(c);
	while (c->p < c->end && is_digit(*c->p)) {
		if (n == max_digits)
			return 0;
		val = val * 10 + (*c->p++ - '0');
		n++;
	}
	*val_r = val;
	return n;
}

/* A run of letters after CFWS into word (lower case, NUL-terminated,
 * truncated to size - 1); returns its full length. */
static size_t read_word(struct cursor *c, char *word, size_t size)
{
	size_t n = 0;

	skip_cfws(c);
	while (c->p < c->end && is_alpha(*c->p)) {
		if (n + 1 < size)
			word[n] = (char)(*c->p | 0x20);
		c->p++;
		n++;
	}
	word[n < size ? n : size - 1] = '\0';
	return n;
}

static bool read_char(struct cursor *c, unsigned char ch)
{
	skip_cfws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* 1..12 for a month name or its first three letters, else 0 */
static int month_number(const char *word)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (strlen(word) < 3)
		return 0;
	for (int i = 0; i < 12; i++) {
		if (strncmp(word, names + 3 * i, 3) == 0)
			return i + 1;
	}
	return 0;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
	                           31, 31, 30, 31, 30, 31};

	return days[month - 1] + (month == 2 && is_leap(year));
}

/* Days from 1970-01-01 to the date (proleptic Gregorian calendar). */
static int64_t days_from_epoch(int64_t y, int m, int d)
{
	/* count from 1 March so that the leap day ends a year */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* RFC 5322 4.3 obs-zone names; military letters and unknown names mean
 * no zone information, as "-0000" does. */
static int zone_name_offset(const char *word)
{
	static const struct {
		const char *name;
		int offset_min;
	} zones[] = {
	        {"ut", 0},     {"gmt", 0},    {"z", 0},      {"est", -300},
	        {"edt", -240}, {"cst", -360}, {"cdt", -300}, {"mst", -420},
	        {"mdt", -360}, {"pst", -480}, {"pdt", -420},
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strcmp(word, zones[i].name) == 0)
			return zones[i].offset_min;
	}
	return 0;
}

/* zone = ("+" / "-") 4DIGIT, or a name; "+hh:mm" is taken too. No zone
 * at all reads as +0000. */
static bool parse_zone(struct cursor *c, int *offset_min_r)
{
	char word[8];
	int hh, mm;

	*offset_min_r = 0;
	skip_cfws(c);
	if (c->p < c->end && is_alpha(*c->p)) {
		read_word(c, word, sizeof(word));
		*offset_min_r = zone_name_offset(word);
		return true;
	}
	if (c->p == c->end || (*c->p != '+' && *c->p != '-'))
		return true;
	int sign = *c->p++ == '-' ? -1 : 1;
	int n = read_number(c, 4, &hh);
	if (n == 4) {
		mm = hh % 100;
		hh /= 100;
	} else if (n != 2 || !read_char(c, ':') || read_number(c, 2, &mm) != 2)
		return false;
	if (mm > 59)
		return false;
	*offset_min_r = sign * (hh * 60 + mm);
	return true;
}

/* [day-of-week ","] day month year; fills year, month, day */
static bool parse_date(struct cursor *c, int *year_r, int *month_r, int *day_r)
{
	char word[16];
	int year;

	if (read_word(c, word, sizeof(word)) > 0)
		read_char(c, ',');
	if (read_number(c, 2, day_r) == 0)
		return false;
	read_word(c, word, sizeof(word));
	*month_r = month_number(word);
	if (*month_r == 0)
		return false;
	int digits = read_number(c, 9, &year);
	/* RFC 5322 4.3: obs-year */
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	else if (digits < 2)
		return false;
	if (year < 1900 || year > 9999)
		return false;
	*year_r = year;
	return *day_r >= 1 && *day_r <= month_days(year, *month_r);
}

/* hour ":" minute [":" second] */
static bool parse_time(struct cursor *c, int *seconds_r)
{
	int hh, mm, ss = 0;

	if (read_number(c, 2, &hh) == 0 || !read_char(c, ':') ||
	    read_number(c, 2, &mm) == 0)
		return false;
	if (read_char(c, ':') && read_number(c, 2, &ss) == 0)
		return false;
	/* 60: a leap second */
	if (hh > 23 || mm > 59 || ss > 60)
		return false;
	*seconds_r = hh * 3600 + mm * 60 + ss;
	return true;
}

bool date_parse(const void *value, size_t len, time_t *time_r,
                int *tz_offset_min_r)
{
	struct cursor c = {value, value};
	int year, month, day, seconds, offset_min;

	if (len > 0)
		c.end = c.p + len;
	if (!parse_date(&c, &year, &month, &day) || !parse_time(&c, &seconds) ||
	    !parse_zone(&c, &offset_min))
		return false;
	int64_t t = days_from_epoch(year, month, day) * 86400 + seconds -
	            (int64_t)offset_min * 60;
	*time_r = (time_t)t;
	*tz_offset_min_r = offset_min;
	return true;
}
