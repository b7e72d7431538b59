/* libFuzzer target for the MIME part tree (mime.h), the structured
 * header values under it (header.h) and BODYSTRUCTURE (bodystructure.h).
 *
 * The input is parsed as a message. Every part must lie inside the input
 * and inside its parent's body, the root must cover the input exactly,
 * line counts must fit the bodies, BODY and BODYSTRUCTURE must be
 * written, the serialised tree must come back equal and give the same
 * BODYSTRUCTURE, and section numbers taken from the input must resolve
 * inside it. The input is also fed to the deserialiser as is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fuzz.h"
#include "mail/bodystructure.h"
#include "mail/mime.h"

static int stub_envelope(struct buf *out, const char *header, size_t len,
                         void *ctx)
{
	return buf_append_str(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool params_eq(const struct mime_param *a, const struct mime_param *b,
                      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!str_eq(a[i].name, b[i].name) ||
		    !str_eq(a[i].value, b[i].value) ||
		    !str_eq(a[i].charset, b[i].charset) ||
		    !str_eq(a[i].language, b[i].language))
			return false;
	}
	return true;
}

static void check_equal(const struct mime_part *a, const struct mime_part *b)
{
	CHECK(a->flags == b->flags && a->offset == b->offset &&
	      a->header_size == b->header_size &&
	      a->body_size == b->body_size && a->body_lines == b->body_lines &&
	      a->child_count == b->child_count);
	CHECK(str_eq(a->type, b->type) && str_eq(a->subtype, b->subtype) &&
	      str_eq(a->id, b->id) && str_eq(a->description, b->description) &&
	      str_eq(a->encoding, b->encoding) && str_eq(a->md5, b->md5) &&
	      str_eq(a->location, b->location) &&
	      str_eq(a->disposition, b->disposition));
	CHECK(a->param_count == b->param_count &&
	      params_eq(a->params, b->params, a->param_count));
	CHECK(a->disp_param_count == b->disp_param_count &&
	      params_eq(a->disp_params, b->disp_params, a->disp_param_count));
	CHECK(a->language_count == b->language_count);
	for (size_t i = 0; i < a->language_count; i++)
		CHECK(str_eq(a->languages[i], b->languages[i]));
	const struct mime_part *ca = a->children, *cb = b->children;
	for (; ca != NULL && cb != NULL; ca = ca->next, cb = cb->next)
		check_equal(ca, cb);
	CHECK(ca == NULL && cb == NULL);
}

/* Offsets inside [lo, hi); returns the number of parts. */
static size_t check_part(const struct mime_part *m, size_t lo, size_t hi,
                         size_t depth)
{
	size_t body = m->offset + m->header_size, n = 1, count = 0;

	CHECK(depth < MIME_MAX_DEPTH);
	CHECK(m->offset >= lo && m->offset <= hi);
	CHECK(m->header_size <= hi - m->offset);
	CHECK(m->body_size <= hi - body);
	CHECK(m->body_lines <= m->body_size);
	CHECK(m->type != NULL && m->subtype != NULL);
	CHECK((m->flags & MIME_PART_MESSAGE) == 0 || m->child_count == 1);
	CHECK(m->children == NULL ||
	      (m->flags & (MIME_PART_MESSAGE | MIME_PART_MULTIPART)) != 0);
	for (const struct mime_part *c = m->children; c != NULL; c = c->next) {
		CHECK(c->parent == m);
		CHECK(c->offset >= lo);
		n += check_part(c, body, body + m->body_size, depth + 1);
		lo = c->offset + c->header_size + c->body_size;
		count++;
	}
	CHECK(count == m->child_count);
	return n;
}

static char *write_bs(const struct mime_part *m, const uint8_t *data,
                      size_t size, bool extended, size_t *len_r)
{
	struct buf out;

	buf_init(&out, 64 * size + (1 << 20));
	CHECK(bodystructure_write(&out, m, (const char *)data, size, extended,
	                          stub_envelope, NULL) == 0);
	*len_r = out.len;
	return (char *)out.data;
}

static void check_round_trip(const struct mime_part *m, const uint8_t *data,
                             size_t size, const char *bs, size_t bs_len)
{
	struct buf ser;
	struct mime_part *d;
	size_t len;

	buf_init(&ser, 1 << 28);
	CHECK(mime_serialize(m, &ser) == 0);
	d = mime_deserialize(ser.data, ser.len);
	CHECK(d != NULL);
	check_equal(m, d);
	char *again = write_bs(d, data, size, true, &len);
	CHECK(len == bs_len && memcmp(again, bs, len) == 0);
	free(again);
	mime_free(&d);
	buf_free(&ser);
}

/* The first bytes of the input as a section-spec. */
static void check_section_spec(const struct mime_part *m, const uint8_t *data,
                               size_t size)
{
	unsigned int path[4];
	char spec[33];
	size_t spec_len = size < 32 ? size : 32, depth;
	enum mime_section_kind kind;
	const char *text;
	struct mime_section s;

	memcpy(spec, data, spec_len);
	spec[spec_len] = '\0';
	if (mime_section_parse(spec, path, 4, &depth, &kind, &text) == 0)
		return;
	CHECK(depth <= 4 && text >= spec && text <= spec + spec_len);
	if (mime_section_find(m, path, depth, kind, &s) == 1)
		CHECK(s.offset <= size && s.size <= size - s.offset);
}

/* Section numbers from the first bytes of the input. */
static void check_sections(const struct mime_part *m, const uint8_t *data,
                           size_t size)
{
	unsigned int path[4];
	size_t depth = size < 4 ? size : 4;

	for (size_t i = 0; i < depth; i++)
		path[i] = data[i] % 4;
	for (size_t d = 0; d <= depth; d++) {
		for (int kind = MIME_SECTION_ALL; kind <= MIME_SECTION_MIME;
		     kind++) {
			struct mime_section s;
			if (mime_section_find(m, path, d, kind, &s) == 0)
				continue;
			CHECK(s.part != NULL);
			CHECK(s.offset <= size && s.size <= size - s.offset);
		}
	}
	check_section_spec(m, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_part *m = mime_parse((const char *)data, size), *raw;
	size_t bs_len, body_len;

	CHECK(m->offset == 0 && m->header_size + m->body_size == size);
	CHECK(check_part(m, 0, size, 0) <= MIME_MAX_PARTS);
	char *bs = write_bs(m, data, size, true, &bs_len);
	char *body = write_bs(m, data, size, false, &body_len);
	CHECK(body_len <= bs_len);
	check_round_trip(m, data, size, bs, bs_len);
	check_sections(m, data, size);
	free(body);
	free(bs);
	mime_free(&m);

	raw = mime_deserialize(data, size);
	if (raw != NULL) {
		struct buf out;
		buf_init(&out, 1 << 24);
		(void)bodystructure_write(&out, raw, (const char *)data, size,
		                          true, stub_envelope, NULL);
		buf_free(&out);
		mime_free(&raw);
	}
	return 0;
}
