/* The derived data of a message from one parse (derive.h). */
#include "mail/derive.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "mail/msginfo.h"
#include "mail/searchtext.h"

/* Caps on what one message yields. */
#define DERIVED_MAX_BLOB ((size_t)1 << 26)
#define DERIVED_MAX_TEXT ((size_t)1 << 28)

/* msg with every bare LF made CR LF; NULL if it has none. */
static char *crlf_copy(const char *msg, size_t len, size_t *len_r)
{
	const char *lf = memchr(msg, '\n', len);
	while (lf != NULL && lf > msg && lf[-1] == '\r')
		lf = memchr(lf + 1, '\n', len - (size_t)(lf + 1 - msg));
	if (lf == NULL)
		return NULL;
	struct buf out;
	buf_init(&out, SIZE_MAX);
	buf_append(&out, msg, (size_t)(lf - msg));
	for (const char *p = lf; p < msg + len; p++) {
		if (*p == '\n' && (p == msg || p[-1] != '\r'))
			buf_append_byte(&out, '\r');
		buf_append_byte(&out, (unsigned char)*p);
	}
	*len_r = out.len;
	return (char *)out.data;
}

void derive_message(const char *msg, size_t len, struct derived *d)
{
	buf_init(&d->blob, DERIVED_MAX_BLOB);
	buf_init(&d->header_text, DERIVED_MAX_TEXT);
	buf_init(&d->body_text, DERIVED_MAX_TEXT);
	char *copy = crlf_copy(msg, len, &len);
	if (copy != NULL)
		msg = copy;
	struct mime_part *root = mime_parse(msg, len);
	d->blob_ok = msginfo_build_parsed(msg, len, root, &d->blob) == 0;
	d->text_ok = searchtext_build_parsed(msg, root, &d->header_text,
	                                     &d->body_text) == 0;
	mime_free(&root);
	free(copy);
}

void derived_free(struct derived *d)
{
	buf_free(&d->blob);
	buf_free(&d->header_text);
	buf_free(&d->body_text);
}
