/* Charset conversion to UTF-8 (RFC 2046 section 4.1.2), RFC 2047
 * encoded-words and RFC 2231 parameter values. The name rules are in
 * charset.h. UTF-8 is checked here rather than by iconv, so that the
 * most common case costs no iconv_open and every invalid byte is
 * replaced the same way. */
#include "mail/charset.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "mail/decode.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

enum special {
	SPECIAL_NONE,
	SPECIAL_UTF8,
	SPECIAL_UTF16, /* byte order mark, else big-endian */
	SPECIAL_UTF32,
};

struct alias {
	const char *name; /* lower case */
	const char *iconv_name;
	enum special special;
};

static const struct alias aliases[] = {
        {"utf-8", NULL, SPECIAL_UTF8},
        {"utf8", NULL, SPECIAL_UTF8},
        {"us-ascii", NULL, SPECIAL_UTF8},
        {"ascii", NULL, SPECIAL_UTF8},
        {"ansi_x3.4-1968", NULL, SPECIAL_UTF8},
        {"iso646-us", NULL, SPECIAL_UTF8},
        {"utf-16", NULL, SPECIAL_UTF16},
        {"utf-32", NULL, SPECIAL_UTF32},
        {"iso-8859-1", "WINDOWS-1252", SPECIAL_NONE},
        {"iso_8859-1", "WINDOWS-1252", SPECIAL_NONE},
        {"iso8859-1", "WINDOWS-1252", SPECIAL_NONE},
        {"latin1", "WINDOWS-1252", SPECIAL_NONE},
        {"l1", "WINDOWS-1252", SPECIAL_NONE},
        {"cp819", "WINDOWS-1252", SPECIAL_NONE},
        {"x-cp1252", "WINDOWS-1252", SPECIAL_NONE},
        {"gb2312", "GB18030", SPECIAL_NONE},
        {"x-gb2312", "GB18030", SPECIAL_NONE},
        {"euc-cn", "GB18030", SPECIAL_NONE},
        {"gbk", "GB18030", SPECIAL_NONE},
        {"x-gbk", "GB18030", SPECIAL_NONE},
        {"cp936", "GB18030", SPECIAL_NONE},
        {"ks_c_5601-1987", "CP949", SPECIAL_NONE},
        {"ks_c_5601", "CP949", SPECIAL_NONE},
        {"ksc5601", "CP949", SPECIAL_NONE},
        {"euc-kr", "CP949", SPECIAL_NONE},
        {"x-windows-949", "CP949", SPECIAL_NONE},
        {"shift_jis", "CP932", SPECIAL_NONE},
        {"shift-jis", "CP932", SPECIAL_NONE},
        {"sjis", "CP932", SPECIAL_NONE},
        {"x-sjis", "CP932", SPECIAL_NONE},
        {"ms_kanji", "CP932", SPECIAL_NONE},
        {"windows-31j", "CP932", SPECIAL_NONE},
        {"big5", "CP950", SPECIAL_NONE},
        {"big-5", "CP950", SPECIAL_NONE},
        {"x-big5", "CP950", SPECIAL_NONE},
        {"iso-2022-jp", "ISO-2022-JP-2", SPECIAL_NONE},
        {"iso-8859-8-i", "ISO-8859-8", SPECIAL_NONE},
        {"iso-8859-6-i", "ISO-8859-6", SPECIAL_NONE},
        {"windows-874", "CP874", SPECIAL_NONE},
        {"unicode-1-1-utf-7", "UTF-7", SPECIAL_NONE},
};

/* How to convert from a charset name: via iconv_name or specially. */
struct source {
	char iconv_name[CHARSET_MAX_NAME_BYTES + 1];
	enum special special;
	size_t unit_bytes; /* skipped on an invalid sequence */
};

static bool name_char_ok(unsigned char c)
{
	return isalnum(c) || strchr("._:+-", c) != NULL;
}

/* Fill src for name; false if the name cannot be a charset. */
static bool source_lookup(const char *name, struct source *src)
{
	size_t len = strlen(name);

	if (len == 0 || len > CHARSET_MAX_NAME_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_char_ok((unsigned char)name[i]))
			return false;
	}
	memcpy(src->iconv_name, name, len + 1);
	src->special = SPECIAL_NONE;
	src->unit_bytes = 1;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(aliases[i].name, name) != 0)
			continue;
		src->special = aliases[i].special;
		if (aliases[i].iconv_name != NULL)
			strcpy(src->iconv_name, aliases[i].iconv_name);
		break;
	}
	if (strncasecmp(name, "utf-16", 6) == 0 ||
	    strncasecmp(name, "ucs-2", 5) == 0)
		src->unit_bytes = 2;
	else if (strncasecmp(name, "utf-32", 6) == 0 ||
	         strncasecmp(name, "ucs-4", 5) == 0)
		src->unit_bytes = 4;
	return true;
}

bool charset_known(const char *charset)
{
	struct source src;
	iconv_t cd;

	if (!source_lookup(charset, &src))
		return false;
	if (src.special != SPECIAL_NONE)
		return true;
	cd = iconv_open("UTF-8", src.iconv_name);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

/* Length of the valid UTF-8 sequence at the start of s (len > 0 bytes),
 * or 0 if it is not one (RFC 3629 section 4). */
static size_t utf8_seq_bytes(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	uint32_t cp, min;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool charset_utf8_valid(const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_seq_bytes(p + i, len - i);
		if (n == 0)
			return false;
	}
	return true;
}

/* UTF-8 with each invalid byte replaced. */
static int utf8_sanitize(const unsigned char *in, size_t len, struct buf *out)
{
	size_t run = 0, n;

	for (size_t i = 0; i < len; i += n) {
		n = utf8_seq_bytes(in + i, len - i);
		if (n > 0)
			continue;
		n = 1;
		if (buf_append(out, in + run, i - run) < 0 ||
		    buf_append_str(out, REPLACEMENT) < 0)
			return -1;
		run = i + 1;
	}
	return buf_append(out, in + run, len - run);
}

/* RFC 2781 4.3: a byte order mark decides, else big-endian. Sets the
 * iconv name and returns the bytes of the mark. */
static size_t pick_byte_order(struct source *src, const unsigned char *in,
                              size_t len)
{
	bool utf16 = src->special == SPECIAL_UTF16;
	const char *be = utf16 ? "UTF-16BE" : "UTF-32BE";
	const char *le = utf16 ? "UTF-16LE" : "UTF-32LE";
	static const unsigned char bom16be[] = {0xfe, 0xff},
	                           bom16le[] = {0xff, 0xfe},
	                           bom32be[] = {0, 0, 0xfe, 0xff},
	                           bom32le[] = {0xff, 0xfe, 0, 0};
	const unsigned char *mark_be = utf16 ? bom16be : bom32be;
	const unsigned char *mark_le = utf16 ? bom16le : bom32le;
	size_t mark_len = utf16 ? 2 : 4;

	strcpy(src->iconv_name, be);
	if (len >= mark_len && memcmp(in, mark_be, mark_len) == 0)
		return mark_len;
	if (len >= mark_len && memcmp(in, mark_le, mark_len) == 0) {
		strcpy(src->iconv_name, le);
		return mark_len;
	}
	return 0;
}

static int iconv_all(iconv_t cd, const unsigned char *in, size_t len,
                     size_t unit_bytes, struct buf *out)
{
	char tmp[1024];
	char *ip = (char *)in;
	size_t il = len;
	bool end = false;

	while (!end) {
		char *op = tmp;
		size_t ol = sizeof(tmp);
		size_t r = il > 0 ? iconv(cd, &ip, &il, &op, &ol)
		                  : iconv(cd, NULL, NULL, &op, &ol);
		int err = r == (size_t)-1 ? errno : 0;

		if (buf_append(out, tmp, (size_t)(op - tmp)) < 0)
			return -1;
		if (err == EILSEQ || err == EINVAL) {
			/* EINVAL: an incomplete sequence at the end */
			size_t skip = err == EINVAL || il < unit_bytes
			                      ? il
			                      : unit_bytes;
			if (buf_append_str(out, REPLACEMENT) < 0)
				return -1;
			ip += skip;
			il -= skip;
			end = skip == 0; /* never from a flush; do not spin */
		} else if (err == 0 && r != (size_t)-1) {
			end = il == 0 && op == tmp;
		} else if (err != E2BIG) {
			/* not expected from glibc: give up on the rest */
			if (buf_append_str(out, REPLACEMENT) < 0)
				return -1;
			end = true;
		}
	}
	return 0;
}

/* glibc iconv passes some invalid code points (surrogates from UCS-4,
 * say) through to its UTF-8; replace them so the output is always
 * valid. */
static int sanitize_from(struct buf *out, size_t from)
{
	size_t n = out->len - from;
	unsigned char *copy;
	int ret;

	if (n == 0 || charset_utf8_valid(out->data + from, n))
		return 0;
	copy = xmemdup(out->data + from, n);
	buf_truncate(out, from);
	ret = utf8_sanitize(copy, n, out);
	free(copy);
	return ret;
}

int charset_to_utf8(const char *charset, const void *in, size_t len,
                    struct buf *out)
{
	const unsigned char *p = in;
	size_t start_len = out->len;
	struct source src;
	iconv_t cd;
	int ret;

	if (!source_lookup(charset, &src))
		return CHARSET_ERR_UNKNOWN;
	if (src.special == SPECIAL_UTF8) {
		ret = utf8_sanitize(p, len, out);
		goto out_check;
	}
	if (src.special != SPECIAL_NONE) {
		size_t mark = pick_byte_order(&src, p, len);
		p += mark;
		len -= mark;
	}
	cd = iconv_open("UTF-8", src.iconv_name);
	if (cd == (iconv_t)-1)
		return CHARSET_ERR_UNKNOWN;
	ret = iconv_all(cd, p, len, src.unit_bytes, out);
	iconv_close(cd);
	if (ret == 0)
		ret = sanitize_from(out, start_len);
out_check:
	if (ret < 0) {
		buf_truncate(out, start_len);
		return CHARSET_ERR_FULL;
	}
	return 0;
}

/* ---- RFC 2047 encoded-words ---- */

struct encoded_word {
	char charset[CHARSET_MAX_NAME_BYTES + 1]; /* without the language */
	bool base64;
	const char *text;
	size_t text_len;
	size_t total_len; /* from "=?" to "?=" */
};

static bool is_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse the encoded-word at s (RFC 2047 section 2), which starts "=?".
 * The 75-byte limit is not enforced: long words are common and clear. */
static bool word_parse(const char *s, size_t len, struct encoded_word *w)
{
	size_t i = 2, name_len;
	const char *q = memchr(s + 2, '?', len - 2);

	if (q == NULL)
		return false;
	name_len = (size_t)(q - (s + 2));
	i += name_len + 1;
	const char *star = memchr(s + 2, '*', name_len);
	if (star != NULL) /* RFC 2231 section 5 */
		name_len = (size_t)(star - (s + 2));
	if (name_len == 0 || name_len > CHARSET_MAX_NAME_BYTES || i + 2 > len ||
	    s[i + 1] != '?')
		return false;
	memcpy(w->charset, s + 2, name_len);
	w->charset[name_len] = '\0';
	if (s[i] == 'B' || s[i] == 'b')
		w->base64 = true;
	else if (s[i] == 'Q' || s[i] == 'q')
		w->base64 = false;
	else
		return false;
	i += 2;
	w->text = s + i;
	for (; i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '?' && s[i + 1] == '=') {
			w->text_len = (size_t)(s + i - w->text);
			w->total_len = i + 2;
			return charset_known(w->charset);
		}
		if (c == '?' || c <= ' ' || c >= 0x7f)
			return false;
	}
	return false;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2047 section 4.2: the Q encoding. */
static int q_decode(const char *text, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < len &&
		           hex_digit((unsigned char)text[i + 1]) >= 0 &&
		           hex_digit((unsigned char)text[i + 2]) >= 0) {
			c = (unsigned char)(hex_digit((
			                            unsigned char)text[i + 1]) *
			                            16 +
			                    hex_digit((
			                            unsigned char)text[i + 2]));
			i += 2;
		}
		if (buf_append_byte(out, c) < 0)
			return -1;
	}
	return 0;
}

/* Text outside encoded-words: UTF-8 if all of the field is, else
 * latin-1 (see charset.h). */
static int raw_append(const char *s, size_t len, bool utf8, struct buf *out)
{
	if (utf8)
		return buf_append(out, s, len);
	return charset_to_utf8("iso-8859-1", s, len, out) < 0 ? -1 : 0;
}

struct rfc2047 {
	struct buf *out;
	struct buf pending; /* decoded bytes of adjacent words */
	char charset[CHARSET_MAX_NAME_BYTES + 1];
	bool after_word; /* the last thing seen was an encoded-word */
	bool utf8;
};

static int pending_flush(struct rfc2047 *r)
{
	int ret = 0;

	if (r->pending.len > 0)
		ret = charset_to_utf8(r->charset, r->pending.data,
		                      r->pending.len, r->out);
	buf_reset(&r->pending);
	return ret < 0 ? -1 : 0;
}

static int raw_text(struct rfc2047 *r, const char *s, size_t len)
{
	size_t i = 0;

	/* RFC 2047 6.2: whitespace between encoded-words is not shown */
	while (r->after_word && i < len && is_lwsp((unsigned char)s[i]))
		i++;
	if (r->after_word && i == len)
		return 0;
	r->after_word = false;
	if (pending_flush(r) < 0)
		return -1;
	return raw_append(s, len, r->utf8, r->out);
}

static int word_add(struct rfc2047 *r, const struct encoded_word *w)
{
	if (!r->after_word || strcasecmp(r->charset, w->charset) != 0) {
		if (pending_flush(r) < 0)
			return -1;
		strcpy(r->charset, w->charset);
	}
	r->after_word = true;
	/* the decoded text is never longer than the encoded: no cap hit */
	if (w->base64)
		return decode_all(DECODE_BASE64, w->text, w->text_len,
		                  &r->pending, NULL);
	return q_decode(w->text, w->text_len, &r->pending);
}

int rfc2047_decode(const char *s, size_t len, struct buf *out)
{
	struct rfc2047 r = {.out = out, .utf8 = charset_utf8_valid(s, len)};
	size_t start_len = out->len, raw_start = 0, i = 0;
	struct encoded_word w;
	int ret = 0;

	buf_init(&r.pending, len);
	while (i + 1 < len && ret == 0) {
		if (s[i] != '=' || s[i + 1] != '?' ||
		    !word_parse(s + i, len - i, &w)) {
			i++;
			continue;
		}
		ret = raw_text(&r, s + raw_start, i - raw_start);
		if (ret == 0)
			ret = word_add(&r, &w);
		i += w.total_len;
		raw_start = i;
	}
	if (ret == 0)
		ret = raw_text(&r, s + raw_start, len - raw_start);
	if (ret == 0)
		ret = pending_flush(&r);
	buf_free(&r.pending);
	if (ret < 0)
		buf_truncate(out, start_len);
	return ret;
}

int rfc2231_value_to_utf8(const char *charset, const void *bytes, size_t len,
                          struct buf *out)
{
	int ret;

	if (charset != NULL && charset_known(charset))
		ret = charset_to_utf8(charset, bytes, len, out);
	else
		ret = raw_append(bytes, len, charset_utf8_valid(bytes, len),
		                 out);
	return ret < 0 ? -1 : 0;
}
