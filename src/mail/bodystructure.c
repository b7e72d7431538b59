/* BODY and BODYSTRUCTURE: see bodystructure.h. Follows the formal syntax
 * of RFC 3501 section 9 ("body", "body-type-1part", "body-type-mpart",
 * "body-fields", "body-ext-1part", "body-ext-mpart"); strings go through
 * the IMAP quoting of proto/imap-quote.h, so any bytes are sent as a
 * quoted string or a literal correctly. */
#include "mail/bodystructure.h"

#include <string.h>
#include <strings.h>

#include "proto/imap-quote.h"

struct writer {
	struct buf *out;
	const char *msg;
	size_t len;
	bool extended;
	bodystructure_envelope_fn *write_envelope;
	void *ctx;
	bool failed; /* sticky: out is full or the tree does not fit msg */
};

static void put(struct writer *w, const char *s)
{
	w->failed |= buf_append_str(w->out, s) < 0;
}

static void put_string(struct writer *w, const char *s)
{
	w->failed |= imap_write_string(w->out, s, strlen(s)) < 0;
}

static void put_nstring(struct writer *w, const char *s)
{
	w->failed |=
	        imap_write_nstring(w->out, s, s == NULL ? 0 : strlen(s)) < 0;
}

static void put_num(struct writer *w, size_t n)
{
	w->failed |= buf_printf(w->out, "%zu", n) < 0;
}

/* RFC 2231 section 7 attribute-char: CHAR but SPACE, CTLs, "*", "'",
 * "%" and the RFC 2045 tspecials. */
static bool is_attribute_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f &&
	       strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* An extended parameter in its RFC 2231 form: name*, charset'lang'%XX */
static void put_extended(struct writer *w, const struct mime_param *p)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t vlen = strlen(p->value);
	struct buf v;

	buf_init(&v, strlen(p->name) + strlen(p->charset) +
	                     strlen(p->language) + 3 * vlen + 3);
	buf_printf(&v, "%s*", p->name);
	put_string(w, buf_cstr(&v));
	put(w, " ");
	buf_reset(&v);
	buf_printf(&v, "%s'%s'", p->charset, p->language);
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)p->value[i];
		if (is_attribute_char(c)) {
			buf_append_byte(&v, c);
		} else {
			buf_append_byte(&v, '%');
			buf_append_byte(&v, (unsigned char)hex[c >> 4]);
			buf_append_byte(&v, (unsigned char)hex[c & 15]);
		}
	}
	w->failed |= imap_write_string(w->out, v.data, v.len) < 0;
	buf_free(&v);
}

/* body-fld-param; a text part without charset gets us-ascii. */
static void put_params(struct writer *w, const struct mime_param *params,
                       size_t count, bool add_charset)
{
	if (count == 0 && !add_charset) {
		put(w, "NIL");
		return;
	}
	put(w, "(");
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			put(w, " ");
		if (params[i].charset != NULL) {
			put_extended(w, &params[i]);
			continue;
		}
		put_string(w, params[i].name);
		put(w, " ");
		put_string(w, params[i].value);
	}
	if (add_charset)
		put(w, count > 0 ? " \"charset\" \"us-ascii\""
		                 : "\"charset\" \"us-ascii\"");
	put(w, ")");
}

static bool is_text(const struct mime_part *m)
{
	return strcasecmp(m->type, "text") == 0;
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void put_ext_common(struct writer *w, const struct mime_part *m)
{
	put(w, " ");
	if (m->disposition == NULL) {
		put(w, "NIL");
	} else {
		put(w, "(");
		put_string(w, m->disposition);
		put(w, " ");
		put_params(w, m->disp_params, m->disp_param_count, false);
		put(w, ")");
	}
	put(w, " ");
	if (m->language_count == 0) {
		put(w, "NIL");
	} else {
		put(w, "(");
		for (size_t i = 0; i < m->language_count; i++) {
			if (i > 0)
				put(w, " ");
			put_string(w, m->languages[i]);
		}
		put(w, ")");
	}
	put(w, " ");
	put_nstring(w, m->location);
}

static void put_part(struct writer *w, const struct mime_part *m);

static void put_multipart(struct writer *w, const struct mime_part *m)
{
	put(w, "(");
	if (m->children == NULL) /* "1*body": one empty text part */
		put(w, w->extended ? "(\"text\" \"plain\" (\"charset\" "
		                     "\"us-ascii\") NIL NIL \"7bit\" 0 0 NIL "
		                     "NIL NIL NIL)"
		                   : "(\"text\" \"plain\" (\"charset\" "
		                     "\"us-ascii\") NIL NIL \"7bit\" 0 0)");
	for (const struct mime_part *c = m->children; c != NULL; c = c->next)
		put_part(w, c);
	put(w, " ");
	put_string(w, m->subtype);
	if (w->extended) {
		put(w, " ");
		put_params(w, m->params, m->param_count, false);
		put_ext_common(w, m);
	}
	put(w, ")");
}

/* SP envelope SP body of the embedded message */
static void put_message(struct writer *w, const struct mime_part *m)
{
	const struct mime_part *c = m->children;

	if (c == NULL || c->offset > w->len ||
	    c->header_size > w->len - c->offset) {
		w->failed = true;
		return;
	}
	put(w, " ");
	if (w->write_envelope(w->out, w->msg + c->offset, c->header_size,
	                      w->ctx) < 0)
		w->failed = true;
	put(w, " ");
	put_part(w, c);
}

static void put_single(struct writer *w, const struct mime_part *m)
{
	bool text = is_text(m);

	put(w, "(");
	put_string(w, m->type);
	put(w, " ");
	put_string(w, m->subtype);
	put(w, " ");
	put_params(w, m->params, m->param_count,
	           text && mime_param_find(m, "charset") == NULL);
	put(w, " ");
	put_nstring(w, m->id);
	put(w, " ");
	put_nstring(w, m->description);
	put(w, " ");
	put_string(w, m->encoding != NULL ? m->encoding : "7bit");
	put(w, " ");
	put_num(w, m->body_size);
	if ((m->flags & MIME_PART_MESSAGE) != 0)
		put_message(w, m);
	if (text || (m->flags & MIME_PART_MESSAGE) != 0) {
		put(w, " ");
		put_num(w, m->body_lines);
	}
	if (w->extended) {
		put(w, " ");
		put_nstring(w, m->md5);
		put_ext_common(w, m);
	}
	put(w, ")");
}

static void put_part(struct writer *w, const struct mime_part *m)
{
	if (w->failed)
		return;
	if ((m->flags & MIME_PART_MULTIPART) != 0)
		put_multipart(w, m);
	else
		put_single(w, m);
}

int bodystructure_write(struct buf *out, const struct mime_part *root,
                        const char *msg, size_t len, bool extended,
                        bodystructure_envelope_fn *write_envelope, void *ctx)
{
	struct writer w = {.out = out,
	                   .msg = msg,
	                   .len = len,
	                   .extended = extended,
	                   .write_envelope = write_envelope,
	                   .ctx = ctx};
	size_t old_len = out->len;

	put_part(&w, root);
	if (w.failed) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}
