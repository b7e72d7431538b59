/* Message header blocks (RFC 5322 section 2.2 and 3.6) and structured
 * MIME header values (RFC 2045 section 5.1, RFC 2183, RFC 2231).
 *
 * Input is untrusted mail: lines may end in CRLF or bare LF, hold NUL and
 * 8-bit bytes, lack a colon (skipped), or be continuation lines with no
 * field before them (skipped). Nothing here fails on malformed input; the
 * worst case is fewer fields or parameters than the sender meant. */
#ifndef ROOST_MAIL_HEADER_H
#define ROOST_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

/* Parameters kept per structured value; further ones are ignored. */
#define HEADER_MAX_PARAMS 128

struct header_field {
	const char *name; /* not NUL-terminated; trailing WSP trimmed */
	size_t name_len;
	/* Raw value: the bytes after the colon through the end of the last
	 * continuation line, without that line's line end. Folds kept. */
	const char *value;
	size_t value_len;
	size_t offset; /* of the field's first byte in the block */
	size_t size;   /* of the whole field, with its final line end */
};

struct header_iter {
	const char *data;
	size_t len, pos;
};

/* Bytes of the header block at the start of data, through the empty line
 * that ends it (CRLF or LF); all of data when there is no empty line. */
size_t header_block_size(const char *data, size_t len);

/* Iterate the fields of the header block data[0..len) (pass the size from
 * header_block_size). header_iter_next returns true with *field_r set,
 * false at the end. Fields point into data. */
void header_iter_init(struct header_iter *it, const char *data, size_t len);
bool header_iter_next(struct header_iter *it, struct header_field *field_r);

/* The first field named name (ASCII case-insensitive). Returns true with
 * *field_r set, false when there is none. */
bool header_find(const char *data, size_t len, const char *name,
                 struct header_field *field_r);

/* The value unfolded (RFC 5322 section 2.2.3): CR, LF and NUL bytes
 * removed, leading and trailing WSP trimmed. NUL-terminated, in a. */
char *header_unfold(struct arena *a, const char *value, size_t len);

struct header_param {
	const char *name; /* lowercased, without RFC 2231 "*" or "*N" */
	/* The value: quoted-string unescaped; RFC 2231 continuations joined
	 * in order and extended sections percent-decoded, in charset (not
	 * converted). NUL bytes are dropped, so value_len == strlen(value). */
	const char *value;
	size_t value_len;
	/* RFC 2231 extended value ("name*=" or "name*0*="): the charset and
	 * language from its first section ("" if empty); both NULL for a
	 * plain value. */
	const char *charset, *language;
};

struct header_structured {
	/* Content-Type "type/subtype": token "type", subtype "subtype".
	 * Content-Disposition "attachment": token "attachment", subtype NULL.
	 * NULL token when the value has none. Case as sent. */
	const char *token, *subtype;
	struct header_param *params; /* in order of first appearance */
	size_t param_count;
};

/* Parse a structured MIME value: token ["/" subtype] *(";" param), with
 * RFC 5322 comments and folding anywhere between the parts. An unquoted
 * value runs to the next ';' or '(' (senders write `name=a b.pdf`).
 * A plain parameter appearing twice keeps its first value; RFC 2231 forms
 * win over a plain one of the same name. Never fails; allocates in a. */
void header_parse_structured(struct arena *a, const char *value, size_t len,
                             struct header_structured *r);

/* The parameter named name (lowercase), or NULL. */
const struct header_param *header_param_find(const struct header_structured *s,
                                             const char *name);

#endif
