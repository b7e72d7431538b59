/* The MIME part tree: see mime.h. Implements the body part structure of
 * RFC 2046 section 5.1 (delimiters "--boundary" at the start of a line,
 * with transport padding; the close delimiter "--boundary--"; preamble
 * and epilogue outside every part; the CRLF before a delimiter belongs to
 * it), the defaults of RFC 2045 section 5.2 and RFC 2046 section 5.1.5
 * (multipart/digest), message/rfc822 of RFC 2046 section 5.2.1, and the
 * section numbers of RFC 3501 section 6.4.5.
 *
 * One pass over the lines: each line is looked at once, and only lines
 * starting with "--" are compared with the open boundaries (at most
 * MIME_MAX_DEPTH of them), so the time is linear. A body part ends at a
 * delimiter of any enclosing multipart, so a missing close delimiter
 * ends the multipart at its parent's next delimiter, or at the end. */
#include "mail/mime.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "mail/header.h"

#define MIME_MAX_LANGUAGES 32

/* The root and the arena that holds every part of its tree. */
struct mime_tree {
	struct mime_part root; /* first: a root pointer is a tree pointer */
	struct arena *arena;
};

struct parser {
	const char *msg;
	size_t len;
	size_t pos;   /* start of the current line */
	size_t lines; /* LFs before pos */
	struct arena *arena;
	size_t part_count;
	/* boundaries of the open multiparts, outermost first */
	const char *bounds[MIME_MAX_DEPTH];
	size_t bound_lens[MIME_MAX_DEPTH];
	size_t bound_count;
};

static struct mime_tree *tree_new(void)
{
	struct arena *a = arena_create(4096);
	struct mime_tree *t = arena_zalloc(a, sizeof(*t));

	t->arena = a;
	return t;
}

void mime_free(struct mime_part **root)
{
	struct mime_tree *t = (struct mime_tree *)*root;

	if (t == NULL)
		return;
	struct arena *a = t->arena;
	arena_destroy(&a);
	*root = NULL;
}

static size_t next_line(const struct parser *p)
{
	const char *lf = memchr(p->msg + p->pos, '\n', p->len - p->pos);
	return lf != NULL ? (size_t)(lf - p->msg) + 1 : p->len;
}

static void advance(struct parser *p, size_t next)
{
	if (next > p->pos && p->msg[next - 1] == '\n')
		p->lines++;
	p->pos = next;
}

/* Is the line [pos, next) a delimiter of an open multipart? Returns its
 * index in the stack (the innermost that matches), else -1. After the
 * boundary only "--" (close) and transport padding may follow. */
static int match_boundary(const struct parser *p, size_t next, bool *close_r)
{
	const char *l = p->msg + p->pos;
	size_t n = next - p->pos;

	if (n < 2 || l[0] != '-' || l[1] != '-')
		return -1;
	for (size_t i = p->bound_count; i-- > 0;) {
		size_t k = 2 + p->bound_lens[i];
		bool close = false;
		if (n < k || memcmp(l + 2, p->bounds[i], k - 2) != 0)
			continue;
		if (k + 2 <= n && l[k] == '-' && l[k + 1] == '-') {
			close = true;
			k += 2;
		}
		while (k < n && (l[k] == ' ' || l[k] == '\t' || l[k] == '\r' ||
		                 l[k] == '\n'))
			k++;
		if (k == n) {
			*close_r = close;
			return (int)i;
		}
	}
	return -1;
}

/* Move to the next delimiter line of an open multipart (or the end). */
static int scan_to_boundary(struct parser *p, bool *close_r)
{
	while (p->pos < p->len) {
		size_t next = next_line(p);
		int i = match_boundary(p, next, close_r);
		if (i >= 0)
			return i;
		advance(p, next);
	}
	return -1;
}

/* Move past the header: through its empty line, or to a delimiter. */
static void scan_header(struct parser *p)
{
	bool close;

	while (p->pos < p->len) {
		size_t next = next_line(p);
		const char *l = p->msg + p->pos;
		size_t n = next - p->pos;
		if (match_boundary(p, next, &close) >= 0)
			return;
		advance(p, next);
		if ((n == 1 && l[0] == '\n') ||
		    (n == 2 && l[0] == '\r' && l[1] == '\n'))
			return;
	}
}

static bool ieq(const char *a, const char *b)
{
	return a != NULL && strcasecmp(a, b) == 0;
}

static void copy_params(struct arena *a, const struct header_structured *s,
                        struct mime_param **params_r, size_t *count_r)
{
	struct mime_param *out = arena_alloc(
	        a, (s->param_count > 0 ? s->param_count : 1) * sizeof(*out));

	for (size_t i = 0; i < s->param_count; i++) {
		out[i].name = s->params[i].name;
		out[i].value = s->params[i].value;
		out[i].charset = s->params[i].charset;
		out[i].language = s->params[i].language;
	}
	*params_r = out;
	*count_r = s->param_count;
}

static void set_type(struct arena *a, struct mime_part *part, const char *type,
                     const char *subtype, bool charset)
{
	part->type = type;
	part->subtype = subtype;
	if (!charset)
		return;
	struct mime_param *p = arena_zalloc(a, sizeof(*p));
	p->name = "charset";
	p->value = "us-ascii";
	part->params = p;
	part->param_count = 1;
}

static void parse_content_type(struct arena *a, struct mime_part *part,
                               const struct header_field *f)
{
	struct header_structured s;

	header_parse_structured(a, f->value, f->value_len, &s);
	if (s.token == NULL || s.subtype == NULL)
		return; /* RFC 2045 section 5.2: as if absent */
	part->flags |= MIME_PART_HAS_TYPE;
	part->type = s.token;
	part->subtype = s.subtype;
	copy_params(a, &s, &part->params, &part->param_count);
}

static void parse_disposition(struct arena *a, struct mime_part *part,
                              const struct header_field *f)
{
	struct header_structured s;

	header_parse_structured(a, f->value, f->value_len, &s);
	if (s.token == NULL)
		return;
	part->disposition = s.token;
	copy_params(a, &s, &part->disp_params, &part->disp_param_count);
}

static bool is_lang_end(char c)
{
	return c == ',' || c == '(' || c == ' ' || c == '\t' || c == '\r' ||
	       c == '\n' || c == '\0';
}

/* Content-Language (RFC 3282): language tags separated by commas, with
 * comments and folding between them. */
static void parse_languages(struct arena *a, struct mime_part *part,
                            const struct header_field *f)
{
	const char **tags = arena_alloc(a, MIME_MAX_LANGUAGES * sizeof(*tags));
	const char *v = f->value;
	size_t i = 0, n = 0, len = f->value_len;

	while (i < len && n < MIME_MAX_LANGUAGES) {
		if (v[i] == '(') {
			size_t depth = 0;
			for (; i < len; i++) {
				if (v[i] == '\\' && i + 1 < len)
					i++;
				else if (v[i] == '(')
					depth++;
				else if (v[i] == ')' && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && !is_lang_end(v[i]))
			i++;
		if (i > start)
			tags[n++] = arena_strndup(a, v + start, i - start);
		else
			i++;
	}
	part->languages = tags;
	part->language_count = n;
}

static const char *field_token(struct arena *a, const struct header_field *f)
{
	struct header_structured s;

	header_parse_structured(a, f->value, f->value_len, &s);
	return s.token;
}

/* The first of each Content-* field counts; later copies are ignored. */
static void parse_field(struct arena *a, struct mime_part *part,
                        const struct header_field *f, bool *seen_type)
{
	const char *name = f->name + 8, *v = f->value;
	size_t n = f->name_len - 8, len = f->value_len;

#define IS(s) (n == sizeof(s) - 1 && strncasecmp(name, s, n) == 0)
	if (IS("type") && !*seen_type) {
		*seen_type = true;
		parse_content_type(a, part, f);
	} else if (IS("transfer-encoding") && part->encoding == NULL) {
		part->encoding = field_token(a, f);
	} else if (IS("id") && part->id == NULL) {
		part->id = header_unfold(a, v, len);
	} else if (IS("description") && part->description == NULL) {
		part->description = header_unfold(a, v, len);
	} else if (IS("md5") && part->md5 == NULL) {
		part->md5 = header_unfold(a, v, len);
	} else if (IS("location") && part->location == NULL) {
		part->location = header_unfold(a, v, len);
	} else if (IS("disposition") && part->disposition == NULL) {
		parse_disposition(a, part, f);
	} else if (IS("language") && part->languages == NULL) {
		parse_languages(a, part, f);
	}
#undef IS
}

static void parse_fields(struct parser *p, struct mime_part *part,
                         bool in_digest)
{
	struct header_iter it;
	struct header_field f;
	bool seen_type = false;

	header_iter_init(&it, p->msg + part->offset, part->header_size);
	while (header_iter_next(&it, &f)) {
		if (f.name_len > 8 && strncasecmp(f.name, "content-", 8) == 0)
			parse_field(p->arena, part, &f, &seen_type);
	}
	if ((part->flags & MIME_PART_HAS_TYPE) != 0)
		return;
	if (in_digest)
		set_type(p->arena, part, "message", "rfc822", false);
	else
		set_type(p->arena, part, "text", "plain", true);
}

/* Body [body_start, p->pos) less the line end before a delimiter line at
 * p->pos (RFC 2046 section 5.1.1), unless that line end lies in a header
 * or in the last child already: a part always contains its children. */
static void finish_body(struct parser *p, struct mime_part *part,
                        size_t body_start, size_t lines_before)
{
	size_t end = p->pos, lines = p->lines - lines_before;
	size_t floor = body_start;
	const struct mime_part *c = part->children;

	while (c != NULL && c->next != NULL)
		c = c->next;
	if (c != NULL)
		floor = c->offset + c->header_size + c->body_size;
	if (end < p->len && end > floor && p->msg[end - 1] == '\n') {
		end--;
		lines--;
		if (end > floor && p->msg[end - 1] == '\r')
			end--;
	}
	part->body_size = end - body_start;
	if (part->body_size > 0 && p->msg[end - 1] != '\n')
		lines++;
	part->body_lines = lines;
}

/* A new last child of parent, whose last child so far is prev. */
static struct mime_part *new_child(struct parser *p, struct mime_part *parent,
                                   struct mime_part *prev)
{
	struct mime_part *c = arena_zalloc(p->arena, sizeof(*c));

	c->parent = parent;
	if (prev != NULL)
		prev->next = c;
	else
		parent->children = c;
	parent->child_count++;
	p->part_count++;
	return c;
}

static void parse_part(struct parser *p, struct mime_part *part, size_t depth,
                       bool in_digest);

/* The body parts of a multipart, from its preamble (skipped) to its close
 * delimiter and epilogue (skipped), or to a delimiter of an enclosing
 * multipart, or the end. */
static void parse_multipart(struct parser *p, struct mime_part *part,
                            size_t depth, const struct mime_param *boundary)
{
	size_t mine = p->bound_count++;
	bool digest = ieq(part->subtype, "digest"), close = false;
	struct mime_part *last = NULL;

	p->bounds[mine] = boundary->value;
	p->bound_lens[mine] = strlen(boundary->value);
	while (scan_to_boundary(p, &close) == (int)mine) {
		advance(p, next_line(p));
		if (close)
			break;
		if (p->part_count >= MIME_MAX_PARTS) {
			scan_to_boundary(p, &close);
			continue;
		}
		last = new_child(p, part, last);
		parse_part(p, last, depth + 1, digest);
	}
	p->bound_count = mine;
	if (close)
		scan_to_boundary(p, &close);
}

/* RFC 2046 section 5.2.1: only 7bit, 8bit and binary are allowed. */
static bool encoding_is_identity(const char *encoding)
{
	return encoding == NULL || ieq(encoding, "7bit") ||
	       ieq(encoding, "8bit") || ieq(encoding, "binary");
}

/* Decide how the body is read: as body parts, as a message, or as bytes,
 * turning types that promise children we will not give into leaves. */
static void parse_body(struct parser *p, struct mime_part *part, size_t depth)
{
	bool room =
	        depth + 1 < MIME_MAX_DEPTH && p->part_count < MIME_MAX_PARTS;
	bool close;

	if (ieq(part->type, "multipart")) {
		const struct mime_param *b = mime_param_find(part, "boundary");
		if (room && b != NULL && b->value[0] != '\0') {
			part->flags |= MIME_PART_MULTIPART;
			parse_multipart(p, part, depth, b);
			return;
		}
		part->type = "text";
		part->subtype = "plain";
	} else if (ieq(part->type, "message") && ieq(part->subtype, "rfc822")) {
		if (room && encoding_is_identity(part->encoding)) {
			part->flags |= MIME_PART_MESSAGE;
			parse_part(p, new_child(p, part, NULL), depth + 1,
			           false);
			return;
		}
		part->type = "application";
		part->subtype = "octet-stream";
	}
	scan_to_boundary(p, &close);
}

static void parse_part(struct parser *p, struct mime_part *part, size_t depth,
                       bool in_digest)
{
	size_t body_start, lines_before;

	part->offset = p->pos;
	scan_header(p);
	part->header_size = p->pos - part->offset;
	parse_fields(p, part, in_digest);
	body_start = p->pos;
	lines_before = p->lines;
	parse_body(p, part, depth);
	finish_body(p, part, body_start, lines_before);
}

struct mime_part *mime_parse(const char *msg, size_t len)
{
	struct mime_tree *t = tree_new();
	struct parser p = {.msg = msg, .len = len, .arena = t->arena};

	p.part_count = 1;
	parse_part(&p, &t->root, 0, false);
	return &t->root;
}

static const struct mime_param *param_find(const struct mime_param *params,
                                           size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(params[i].name, name) == 0)
			return &params[i];
	}
	return NULL;
}

const struct mime_param *mime_param_find(const struct mime_part *part,
                                         const char *name)
{
	return param_find(part->params, part->param_count, name);
}

const struct mime_param *mime_disp_param_find(const struct mime_part *part,
                                              const char *name)
{
	return param_find(part->disp_params, part->disp_param_count, name);
}

/* ---- serialisation ----
 * Version byte, then the parts in preorder. Numbers are LEB128 varints;
 * a string is its length + 1 and its bytes, 0 for NULL. Per part: flags,
 * offset, header_size, body_size, body_lines, child_count, type, subtype,
 * id, description, encoding, md5, location, disposition, the params
 * (count, then name value charset language each), the disposition
 * params, the languages (count, strings); then its children. */

#define MIME_SERIAL_VERSION 1

static int put_num(struct buf *out, uint64_t n)
{
	unsigned char b[10];
	size_t len = 0;

	do {
		b[len] = (unsigned char)(n & 0x7f);
		n >>= 7;
		if (n != 0)
			b[len] |= 0x80;
		len++;
	} while (n != 0);
	return buf_append(out, b, len);
}

static int put_str(struct buf *out, const char *s)
{
	if (s == NULL)
		return put_num(out, 0);
	size_t len = strlen(s);
	if (put_num(out, (uint64_t)len + 1) < 0)
		return -1;
	return buf_append(out, s, len);
}

static int put_params(struct buf *out, const struct mime_param *params,
                      size_t count)
{
	if (put_num(out, count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct mime_param *m = &params[i];
		if (put_str(out, m->name) < 0 || put_str(out, m->value) < 0 ||
		    put_str(out, m->charset) < 0 ||
		    put_str(out, m->language) < 0)
			return -1;
	}
	return 0;
}

static int put_part(struct buf *out, const struct mime_part *m)
{
	const uint64_t nums[] = {m->flags,     m->offset,     m->header_size,
	                         m->body_size, m->body_lines, m->child_count};
	const char *strs[] = {m->type,        m->subtype,    m->id,
	                      m->description, m->encoding,   m->md5,
	                      m->location,    m->disposition};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (put_num(out, nums[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (put_str(out, strs[i]) < 0)
			return -1;
	}
	if (put_params(out, m->params, m->param_count) < 0 ||
	    put_params(out, m->disp_params, m->disp_param_count) < 0 ||
	    put_num(out, m->language_count) < 0)
		return -1;
	for (size_t i = 0; i < m->language_count; i++) {
		if (put_str(out, m->languages[i]) < 0)
			return -1;
	}
	for (const struct mime_part *c = m->children; c != NULL; c = c->next) {
		if (put_part(out, c) < 0)
			return -1;
	}
	return 0;
}

int mime_serialize(const struct mime_part *root, struct buf *out)
{
	size_t old_len = out->len;

	if (buf_append_byte(out, MIME_SERIAL_VERSION) < 0 ||
	    put_part(out, root) < 0) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}

struct reader {
	const unsigned char *data;
	size_t len, pos;
	struct arena *arena;
	size_t part_count;
	bool bad;
};

static uint64_t get_num(struct reader *r)
{
	uint64_t n = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (r->pos >= r->len)
			break;
		unsigned char b = r->data[r->pos++];
		n |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return n;
	}
	r->bad = true;
	return 0;
}

/* A count of items of at least min_bytes each still to come. */
static size_t get_count(struct reader *r, size_t min_bytes)
{
	uint64_t n = get_num(r);

	if (n > (r->len - r->pos) / min_bytes) {
		r->bad = true;
		return 0;
	}
	return (size_t)n;
}

static const char *get_str(struct reader *r)
{
	uint64_t n = get_num(r);

	if (n == 0)
		return NULL;
	if (n - 1 > r->len - r->pos ||
	    memchr(r->data + r->pos, '\0', (size_t)(n - 1)) != NULL) {
		r->bad = true;
		return NULL;
	}
	const char *s = arena_strndup(r->arena, (const char *)r->data + r->pos,
	                              (size_t)(n - 1));
	r->pos += (size_t)(n - 1);
	return s;
}

static struct mime_param *get_params(struct reader *r, size_t *count_r)
{
	size_t count = get_count(r, 4);
	struct mime_param *ps =
	        arena_zalloc(r->arena, (count > 0 ? count : 1) * sizeof(*ps));

	for (size_t i = 0; i < count && !r->bad; i++) {
		ps[i].name = get_str(r);
		ps[i].value = get_str(r);
		ps[i].charset = get_str(r);
		ps[i].language = get_str(r);
		if (ps[i].name == NULL || ps[i].value == NULL ||
		    (ps[i].charset == NULL) != (ps[i].language == NULL))
			r->bad = true;
	}
	*count_r = r->bad ? 0 : count;
	return ps;
}

static bool get_sizes(struct reader *r, struct mime_part *m)
{
	uint64_t v[5];

	for (size_t i = 0; i < 5; i++)
		v[i] = get_num(r);
	if (v[0] > 7 || v[1] > SIZE_MAX || v[2] > SIZE_MAX - v[1] ||
	    v[3] > SIZE_MAX - v[1] - v[2] || v[4] > SIZE_MAX)
		return false;
	m->flags = (unsigned int)v[0];
	m->offset = (size_t)v[1];
	m->header_size = (size_t)v[2];
	m->body_size = (size_t)v[3];
	m->body_lines = (size_t)v[4];
	return true;
}

static void get_fields(struct reader *r, struct mime_part *m)
{
	const char **strs[] = {&m->type,        &m->subtype,    &m->id,
	                       &m->description, &m->encoding,   &m->md5,
	                       &m->location,    &m->disposition};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		*strs[i] = get_str(r);
	if (m->type == NULL || m->subtype == NULL)
		r->bad = true;
	m->params = get_params(r, &m->param_count);
	m->disp_params = get_params(r, &m->disp_param_count);
	m->language_count = get_count(r, 1);
	m->languages = arena_alloc(r->arena, (m->language_count + 1) *
	                                             sizeof(*m->languages));
	for (size_t i = 0; i < m->language_count; i++) {
		m->languages[i] = get_str(r);
		if (m->languages[i] == NULL)
			r->bad = true;
	}
}

static bool get_part(struct reader *r, struct mime_part *m, size_t depth)
{
	struct mime_part *last = NULL;
	size_t count;

	if (depth > MIME_MAX_DEPTH || ++r->part_count > MIME_MAX_PARTS ||
	    !get_sizes(r, m))
		return false;
	count = get_count(r, 1);
	get_fields(r, m);
	if (r->bad)
		return false;
	if ((m->flags & MIME_PART_MESSAGE) != 0
	            ? count != 1
	            : (m->flags & MIME_PART_MULTIPART) == 0 && count != 0)
		return false;
	for (size_t i = 0; i < count; i++) {
		struct mime_part *c = arena_zalloc(r->arena, sizeof(*c));
		c->parent = m;
		if (last != NULL)
			last->next = c;
		else
			m->children = c;
		last = c;
		m->child_count++;
		if (!get_part(r, c, depth + 1))
			return false;
	}
	return true;
}

struct mime_part *mime_deserialize(const void *data, size_t len)
{
	struct mime_tree *t = tree_new();
	struct reader r = {.data = data, .len = len, .arena = t->arena};
	struct mime_part *root = &t->root;

	if (len < 1 || r.data[0] != MIME_SERIAL_VERSION) {
		mime_free(&root);
		return NULL;
	}
	r.pos = 1;
	if (!get_part(&r, root, 0) || r.pos != len)
		mime_free(&root);
	return root;
}

/* ---- sections ---- */

static bool is_message(const struct mime_part *part)
{
	return (part->flags & MIME_PART_MESSAGE) != 0;
}

/* The part that number n names inside the message msg. */
static const struct mime_part *section_step(const struct mime_part *msg,
                                            unsigned int n)
{
	const struct mime_part *c;

	if ((msg->flags & MIME_PART_MULTIPART) == 0)
		return n == 1 ? msg : NULL;
	for (c = msg->children; c != NULL && n > 1; c = c->next)
		n--;
	return n == 1 ? c : NULL;
}

static void range_header(const struct mime_part *part, struct mime_section *r)
{
	r->offset = part->offset;
	r->size = part->header_size;
}

static void range_body(const struct mime_part *part, struct mime_section *r)
{
	r->offset = part->offset + part->header_size;
	r->size = part->body_size;
}

int mime_section_find(const struct mime_part *root, const unsigned int *path,
                      size_t depth, enum mime_section_kind kind,
                      struct mime_section *r)
{
	const struct mime_part *part = root;

	for (size_t i = 0; i < depth; i++) {
		const struct mime_part *msg = part;
		if (i > 0 && is_message(part))
			msg = part->children;
		else if (i > 0 && (part->flags & MIME_PART_MULTIPART) == 0)
			return 0;
		part = section_step(msg, path[i]);
		if (part == NULL)
			return 0;
	}
	r->part = part;
	if (kind == MIME_SECTION_MIME) {
		if (depth == 0)
			return 0;
		range_header(part, r);
	} else if (kind == MIME_SECTION_ALL) {
		if (depth == 0) {
			r->offset = part->offset;
			r->size = part->header_size + part->body_size;
		} else {
			range_body(part, r);
		}
	} else {
		if (depth > 0 && !is_message(part))
			return 0;
		if (depth > 0)
			part = part->children;
		if (kind == MIME_SECTION_HEADER)
			range_header(part, r);
		else
			range_body(part, r);
	}
	return 1;
}

/* section-text (or section-msgtext with no part numbers) */
static bool section_kind(const char *p, size_t depth,
                         enum mime_section_kind *kind_r)
{
	if (*p == '\0')
		*kind_r = MIME_SECTION_ALL;
	else if (strcasecmp(p, "TEXT") == 0)
		*kind_r = MIME_SECTION_TEXT;
	else if (strcasecmp(p, "MIME") == 0 && depth > 0)
		*kind_r = MIME_SECTION_MIME;
	else if (strcasecmp(p, "HEADER") == 0 ||
	         strncasecmp(p, "HEADER.FIELDS ", 14) == 0 ||
	         strncasecmp(p, "HEADER.FIELDS.NOT ", 18) == 0)
		*kind_r = MIME_SECTION_HEADER;
	else
		return false;
	return true;
}

int mime_section_parse(const char *spec, unsigned int *path, size_t max_depth,
                       size_t *depth_r, enum mime_section_kind *kind_r,
                       const char **text_r)
{
	const char *p = spec;
	size_t depth = 0;

	while (*p >= '1' && *p <= '9') {
		uint64_t n = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > UINT32_MAX)
				return 0;
		}
		if (depth == max_depth)
			return 0;
		path[depth++] = (unsigned int)n;
		if (*p != '.')
			break;
		p++;
	}
	/* after numbers: the end, or text after a dot; never "1." */
	if (depth > 0 && (p[-1] == '.') == (*p == '\0'))
		return 0;
	if (!section_kind(p, depth, kind_r))
		return 0;
	*depth_r = depth;
	*text_r = p;
	return 1;
}
