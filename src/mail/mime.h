/* The MIME part tree of a message (RFC 2045, RFC 2046, RFC 5322), with
 * what IMAP FETCH needs: byte offsets and sizes of every part's header
 * and body, body line counts, and the Content-* fields parsed.
 *
 * The parser takes the whole message as one buffer (an mmap'd file) and
 * never gives up: bare LF line ends, NUL and 8-bit bytes, missing or wrong
 * boundaries and headers with no body all give a tree. Parts deeper than
 * MIME_MAX_DEPTH, and multiparts or message/rfc822 parts beyond
 * MIME_MAX_PARTS, become leaves. Time is linear in the message size.
 *
 * The tree is plain data; the server caches it (mime_serialize) so FETCH
 * does not parse again. */
#ifndef ROOST_MAIL_MIME_H
#define ROOST_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define MIME_MAX_DEPTH 100
#define MIME_MAX_PARTS 10000

enum mime_part_flags {
	/* A multipart with a boundary: children are its body parts. */
	MIME_PART_MULTIPART = 1 << 0,
	/* message/rfc822 (or global) parsed as a message: the one child
	 * is the embedded message (header = its header). */
	MIME_PART_MESSAGE = 1 << 1,
	/* There was a Content-Type field (else the defaults apply). */
	MIME_PART_HAS_TYPE = 1 << 2,
};

struct mime_param {
	const char *name;  /* lowercase */
	const char *value; /* RFC 2231 decoded bytes, in charset */
	/* RFC 2231 extended value: its charset and language ("" when
	 * empty), else both NULL */
	const char *charset, *language;
};

struct mime_part {
	struct mime_part *parent, *children, *next;
	size_t child_count;

	/* In the message: the part starts with its header at offset, of
	 * header_size bytes with the empty line; the body follows. For a
	 * body part of a multipart the CRLF before the next boundary
	 * belongs to the boundary (RFC 2046 section 5.1.1). */
	size_t offset, header_size, body_size;
	/* Lines of the body: LFs, plus one for a last line without one. */
	size_t body_lines;
	unsigned int flags; /* enum mime_part_flags */

	/* Content-Type, case as sent. Defaults text/plain with charset
	 * us-ascii (message/rfc822 in multipart/digest). A syntactically
	 * bad type, a multipart without a usable boundary and a message
	 * not parsed as one (too deep, too many parts, or encoded) are
	 * given text/plain or application/octet-stream: IMAP clients take
	 * "multipart" and "message/rfc822" to have children. */
	const char *type, *subtype;
	struct mime_param *params;
	size_t param_count;
	/* The other Content-* fields, unfolded and trimmed; NULL if absent */
	const char *id, *description, *encoding, *md5, *location;
	const char *disposition; /* its token; NULL if absent */
	struct mime_param *disp_params;
	size_t disp_param_count;
	const char **languages; /* Content-Language tags */
	size_t language_count;
};

/* Parse msg[0..len). Never NULL; free with mime_free. The tree refers to
 * nothing in msg (values are copied); offsets index into it. */
struct mime_part *mime_parse(const char *msg, size_t len);
/* Free a tree from mime_parse or mime_deserialize; sets *root to NULL. */
void mime_free(struct mime_part **root);

/* The parameter named name (lowercase) of a part's Content-Type, or of
 * its Content-Disposition; NULL when absent. */
const struct mime_param *mime_param_find(const struct mime_part *part,
                                         const char *name);
const struct mime_param *mime_disp_param_find(const struct mime_part *part,
                                              const char *name);

/* Append a compact encoding of the tree to out. Returns 0, or -1 if out
 * would pass its cap (out is then unchanged). */
int mime_serialize(const struct mime_part *root, struct buf *out);
/* The tree encoded in data[0..len), or NULL if it is not a valid
 * encoding (free with mime_free). */
struct mime_part *mime_deserialize(const void *data, size_t len);

/* What an IMAP section (RFC 3501 section 6.4.5) names. */
enum mime_section_kind {
	MIME_SECTION_ALL,    /* BODY[] or BODY[1.2]: the part's content */
	MIME_SECTION_HEADER, /* HEADER, HEADER.FIELDS[.NOT]: a header */
	MIME_SECTION_TEXT,   /* TEXT: a message's body */
	MIME_SECTION_MIME,   /* MIME: a body part's own header */
};

struct mime_section {
	const struct mime_part *part; /* the part the numbers name */
	size_t offset, size;          /* the bytes the section is */
};

/* Parse the section-spec of RFC 3501 section 9 inside BODY[...]:
 * [section-part "."] section-text, or section-part, or empty. The part
 * numbers go to path (at most max_depth of them, each 1..2^32-1, no
 * leading zero), their count to *depth_r, the kind to *kind_r, and
 * *text_r points at the section-text ("HEADER.FIELDS (A B)", say; "" if
 * none) for the caller to read a header-list from. Keywords are
 * case-insensitive. Returns 1, or 0 on a syntax error. */
int mime_section_parse(const char *spec, unsigned int *path, size_t max_depth,
                       size_t *depth_r, enum mime_section_kind *kind_r,
                       const char **text_r);

/* Resolve section part numbers path[0..depth) and kind on the message
 * root. Part numbers count from 1; part 1 of a message that is not
 * multipart is its body; numbers after a message/rfc822 part count in
 * the embedded message. HEADER and TEXT take the root (depth 0) or a
 * message/rfc822 part; MIME needs depth > 0. Returns 1 with *r filled,
 * 0 if there is no such part or the kind does not apply to it. */
int mime_section_find(const struct mime_part *root, const unsigned int *path,
                      size_t depth, enum mime_section_kind kind,
                      struct mime_section *r);

#endif
