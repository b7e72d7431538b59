/* IMAP modified UTF-7 (RFC 3501 section 5.1.3): see mutf7.h. The decoder
 * accepts only the canonical form the encoder produces, so the two are
 * exact inverses on valid input. */
#include "proto/mutf7.h"

#include <stdint.h>

static const char b64_alphabet[64] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

#define SURROGATE_HIGH_MIN 0xd800u
#define SURROGATE_LOW_MIN 0xdc00u
#define SURROGATE_MAX 0xdfffu
#define UNICODE_MAX 0x10ffffu

/* A shift in progress: bits not yet written (encoder) or not yet a whole
 * code unit (decoder), and a pending high surrogate (decoder). */
struct shift {
	uint32_t bits;
	unsigned int nbits;
	uint32_t high;
	size_t units;
};

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Appends to out unless out is NULL (validation only). */
static int put(struct buf *out, const void *p, size_t n)
{
	return out == NULL ? 0 : buf_append(out, p, n);
}

static int put_utf8(struct buf *out, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		n = 4;
	}
	u[n - 1] = (unsigned char)(0x80 | (cp & 0x3f));
	return put(out, u, n);
}

/* One decoded UTF-16 code unit: pairs surrogates, refuses ASCII. */
static int decode_unit(struct shift *sh, uint32_t unit, struct buf *out)
{
	uint32_t cp = unit;

	sh->units++;
	if (sh->high != 0) {
		if (unit < SURROGATE_LOW_MIN || unit > SURROGATE_MAX)
			return -1;
		cp = 0x10000 + ((sh->high - SURROGATE_HIGH_MIN) << 10) +
		     (unit - SURROGATE_LOW_MIN);
		sh->high = 0;
	} else if (unit >= SURROGATE_HIGH_MIN && unit < SURROGATE_LOW_MIN) {
		sh->high = unit;
		return 0;
	} else if (unit >= SURROGATE_LOW_MIN && unit <= SURROGATE_MAX) {
		return -1;
	}
	/* ASCII is written directly, and controls are not allowed at all */
	if (cp < 0x80)
		return -1;
	return put_utf8(out, cp);
}

/* Decode the shift whose base64 starts at s[*pos], up to and past its
 * '-'. */
static int decode_shift(const char *s, size_t len, size_t *pos, struct buf *out)
{
	struct shift sh = {0};
	size_t i;

	for (i = *pos; i < len && s[i] != '-'; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		sh.bits = (sh.bits << 6) | (uint32_t)v;
		sh.nbits += 6;
		if (sh.nbits < 16)
			continue;
		sh.nbits -= 16;
		if (decode_unit(&sh, sh.bits >> sh.nbits, out) < 0)
			return -1;
		sh.bits &= (1u << sh.nbits) - 1;
	}
	/* unterminated, empty, half a pair, a spare base64 character, or
	 * padding that is not zero: none of them is canonical */
	if (i == len || sh.units == 0 || sh.high != 0 || sh.nbits >= 6 ||
	    sh.bits != 0)
		return -1;
	*pos = i + 1;
	return 0;
}

/* Decode or, with out NULL, only validate. */
static int decode(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			if (put(out, &c, 1) < 0)
				return -1;
			i++;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '-') {
			if (put(out, "&", 1) < 0)
				return -1;
			i += 2;
			continue;
		}
		i++;
		if (decode_shift(s, len, &i, out) < 0)
			return -1;
		/* adjacent shifts would have been one */
		if (i + 1 < len && s[i] == '&' && s[i + 1] != '-')
			return -1;
	}
	return 0;
}

bool mutf7_valid(const char *s, size_t len)
{
	return decode(s, len, NULL) == 0;
}

int mutf7_to_utf8(const char *s, size_t len, struct buf *out)
{
	size_t start = out->len;

	if (decode(s, len, out) < 0) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}

/* Strict UTF-8 (RFC 3629): one code point from s[*pos], advancing *pos. */
static int utf8_next(const unsigned char *s, size_t len, size_t *pos,
                     uint32_t *cp_r)
{
	size_t i = *pos, n;
	uint32_t cp, min;
	unsigned char c = s[i];

	if (c < 0x80) {
		*cp_r = c;
		*pos = i + 1;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
		cp = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
		cp = c & 0x0fu;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
		cp = c & 0x07u;
	} else {
		return -1;
	}
	if (len - i < n)
		return -1;
	for (size_t k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i + k] & 0x3fu);
	}
	if (cp < min || cp > UNICODE_MAX ||
	    (cp >= SURROGATE_HIGH_MIN && cp <= SURROGATE_MAX))
		return -1;
	*cp_r = cp;
	*pos = i + n;
	return 0;
}

static int put_b64_digit(struct buf *out, uint32_t v)
{
	return buf_append_byte(out, (unsigned char)b64_alphabet[v & 63]);
}

/* Add one UTF-16 code unit to the shift, writing whole base64 digits. */
static int encode_unit(struct shift *sh, uint32_t unit, struct buf *out)
{
	sh->bits = (sh->bits << 16) | unit;
	sh->nbits += 16;
	while (sh->nbits >= 6) {
		sh->nbits -= 6;
		if (put_b64_digit(out, sh->bits >> sh->nbits) < 0)
			return -1;
	}
	sh->bits &= (1u << sh->nbits) - 1;
	return 0;
}

static int encode_char(struct shift *sh, uint32_t cp, struct buf *out)
{
	if (cp < 0x10000)
		return encode_unit(sh, cp, out);
	cp -= 0x10000;
	if (encode_unit(sh, SURROGATE_HIGH_MIN + (cp >> 10), out) < 0)
		return -1;
	return encode_unit(sh, SURROGATE_LOW_MIN + (cp & 0x3ff), out);
}

/* Write the last bits, zero-padded to a base64 digit, and the '-'. */
static int end_shift(struct shift *sh, struct buf *out)
{
	if (sh->nbits > 0 &&
	    put_b64_digit(out, sh->bits << (6 - sh->nbits)) < 0)
		return -1;
	sh->bits = 0;
	sh->nbits = 0;
	return buf_append_byte(out, '-');
}

static int encode(const unsigned char *s, size_t len, struct buf *out)
{
	struct shift sh = {0};
	bool shifted = false;
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		if (utf8_next(s, len, &i, &cp) < 0 || cp < 0x20 || cp == 0x7f)
			return -1;
		if (cp >= 0x80) {
			if (!shifted && buf_append_byte(out, '&') < 0)
				return -1;
			shifted = true;
			if (encode_char(&sh, cp, out) < 0)
				return -1;
			continue;
		}
		if (shifted && end_shift(&sh, out) < 0)
			return -1;
		shifted = false;
		if (cp == '&' ? buf_append(out, "&-", 2) < 0
		              : buf_append_byte(out, (unsigned char)cp) < 0)
			return -1;
	}
	if (shifted && end_shift(&sh, out) < 0)
		return -1;
	return 0;
}

int mutf7_from_utf8(const char *s, size_t len, struct buf *out)
{
	size_t start = out->len;

	if (encode((const unsigned char *)s, len, out) < 0) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}
