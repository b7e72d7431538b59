/* The searchable text of a message; see searchtext.h. */
#include "mail/searchtext.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "mail/casemap.h"
#include "mail/charset.h"
#include "mail/decode.h"
#include "mail/header.h"
#include "mail/mime.h"

/* Fold the UTF-8 text and append it with a newline. */
static int append_folded(struct buf *out, const char *utf8, size_t len)
{
	if (casemap_fold(utf8, len, out) < 0)
		return -1;
	return buf_append_byte(out, '\n');
}

int searchtext_value(const char *value, size_t len, struct buf *out)
{
	struct buf decoded;
	buf_init(&decoded, 4 * len + 64);
	char *flat = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n' && value[i] != '\0')
			flat[n++] = value[i];
	}
	int ret = rfc2047_decode(flat, n, &decoded);
	if (ret == 0)
		ret = casemap_fold(buf_cstr(&decoded), decoded.len, out);
	free(flat);
	buf_free(&decoded);
	return ret;
}

/* Each field as "name: value", value unfolded and RFC 2047-decoded. */
static int header_text(const char *h, size_t len, struct buf *out)
{
	struct header_iter it;
	struct header_field f;
	header_iter_init(&it, h, len);
	while (header_iter_next(&it, &f)) {
		size_t i = 0;
		while (i < f.value_len &&
		       (f.value[i] == ' ' || f.value[i] == '\t'))
			i++; /* "name: value" with one space */
		if (casemap_fold(f.name, f.name_len, out) < 0 ||
		    buf_append_str(out, ": ") < 0 ||
		    searchtext_value(f.value + i, f.value_len - i, out) < 0 ||
		    buf_append_byte(out, '\n') < 0)
			return -1;
	}
	return 0;
}

/* A text part's content: transfer-decoded, to UTF-8, folded. */
static int part_text(const struct mime_part *p, const char *msg,
                     struct buf *out)
{
	const char *body = msg + p->offset + p->header_size;
	size_t len = p->body_size;
	enum decode_cte cte =
	        p->encoding != NULL
	                ? decode_cte_parse(p->encoding, strlen(p->encoding))
	                : DECODE_IDENTITY;
	struct buf raw, utf8;
	buf_init(&raw, len + 16);
	buf_init(&utf8, 4 * len + 1024);
	if (cte == DECODE_UNKNOWN)
		cte = DECODE_IDENTITY; /* search what is there */
	const struct mime_param *cs = mime_param_find(p, "charset");
	int ret = decode_all(cte, body, len, &raw, NULL);
	const void *bytes = raw.data != NULL ? (const void *)raw.data : "";
	if (ret == 0 &&
	    charset_to_utf8(cs != NULL ? cs->value : "us-ascii",
	                    raw.data != NULL ? raw.data : (void *)"", raw.len,
	                    &utf8) != 0)
		/* an unknown charset: its bytes as UTF-8 (U+FFFD where not) */
		ret = charset_to_utf8("utf-8", bytes, raw.len, &utf8);
	if (ret == 0)
		ret = append_folded(out, buf_cstr(&utf8), utf8.len);
	buf_free(&raw);
	buf_free(&utf8);
	return ret;
}

static int body_text(const struct mime_part *p, const char *msg,
                     struct buf *out)
{
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		/* an embedded message's header is part of the body */
		if ((p->flags & MIME_PART_MESSAGE) &&
		    header_text(msg + c->offset, c->header_size, out) < 0)
			return -1;
		if (body_text(c, msg, out) < 0)
			return -1;
	}
	if (p->children != NULL)
		return 0;
	if (strcasecmp(p->type, "text") != 0)
		return 0; /* an attachment */
	return part_text(p, msg, out);
}

int searchtext_build_parsed(const char *msg, const struct mime_part *root,
                            struct buf *header, struct buf *body)
{
	int ret = header_text(msg + root->offset, root->header_size, header);
	return ret == 0 ? body_text(root, msg, body) : ret;
}

int searchtext_build(const char *msg, size_t len, struct buf *header,
                     struct buf *body)
{
	struct mime_part *root = mime_parse(msg, len);
	int ret = searchtext_build_parsed(msg, root, header, body);
	mime_free(&root);
	return ret;
}

int searchtext_fold(const char *needle, size_t len, struct buf *out)
{
	return casemap_fold(needle, len, out);
}
