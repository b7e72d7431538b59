/* IMAP response encoder: see imap-quote.h. Implements the string, astring
 * and nstring forms of RFC 3501 section 4.3 and 9 / RFC 9051 section 4.3
 * and 9 for output: atom, quoted (quoted-specials escaped) or literal. */
#include "proto/imap-quote.h"

#include <stdbool.h>
#include <strings.h>

bool imap_char_is_atom(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(':
	case ')':
	case '{':
	case '%':
	case '*':
	case '"':
	case '\\':
	case ']':
		return false;
	default:
		return true;
	}
}

/* RFC 3501 section 9: ASTRING-CHAR = ATOM-CHAR / resp-specials */
static bool is_astring_char(unsigned char c)
{
	return imap_char_is_atom(c) || c == ']';
}

/* QUOTED-CHAR is any TEXT-CHAR (CHAR except CR and LF; CHAR excludes
 * NUL and 8-bit bytes). */
static bool can_quote(const unsigned char *s, size_t len)
{
	if (len > IMAP_QUOTED_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n' ||
		    s[i] >= 0x80)
			return false;
	}
	return true;
}

static int write_quoted(struct buf *out, const unsigned char *s, size_t len)
{
	if (buf_append_byte(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if ((s[i] == '"' || s[i] == '\\') &&
		    buf_append_byte(out, '\\') < 0)
			return -1;
		if (buf_append_byte(out, s[i]) < 0)
			return -1;
	}
	return buf_append_byte(out, '"');
}

static int write_literal(struct buf *out, const void *s, size_t len)
{
	if (buf_printf(out, "{%zu}\r\n", len) < 0)
		return -1;
	return buf_append(out, s, len);
}

/* Undo a partial write so that a failed call leaves out unchanged. */
static int finish(struct buf *out, size_t old_len, int ret)
{
	if (ret < 0)
		buf_truncate(out, old_len);
	return ret;
}

int imap_write_string(struct buf *out, const void *s, size_t len)
{
	size_t old_len = out->len;
	int ret;

	if (can_quote(s, len))
		ret = write_quoted(out, s, len);
	else
		ret = write_literal(out, s, len);
	return finish(out, old_len, ret);
}

int imap_write_astring(struct buf *out, const void *s, size_t len)
{
	const unsigned char *p = s;
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);

	for (size_t i = 0; atom && i < len; i++)
		atom = is_astring_char(p[i]);
	if (!atom)
		return imap_write_string(out, s, len);
	return buf_append(out, s, len);
}

int imap_write_nstring(struct buf *out, const void *s, size_t len)
{
	if (s == NULL)
		return buf_append_str(out, "NIL");
	return imap_write_string(out, s, len);
}
