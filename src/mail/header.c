/* Header blocks and structured MIME values: see header.h. Implements the
 * field syntax of RFC 5322 sections 2.2 and 3.6 (with the obsolete
 * whitespace before the colon of section 4.5), the Content-Type grammar
 * of RFC 2045 section 5.1 (shared by Content-Disposition, RFC 2183), and
 * RFC 2231 parameter value continuations, charsets and languages. */
#include "mail/header.h"

#include <string.h>
#include <strings.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Start of the line after the one starting at pos. */
static size_t line_next(const char *d, size_t len, size_t pos)
{
	const char *lf = memchr(d + pos, '\n', len - pos);
	return lf != NULL ? (size_t)(lf - d) + 1 : len;
}

static bool line_is_empty(const char *d, size_t pos, size_t next)
{
	size_t n = next - pos;
	return (n == 1 && d[pos] == '\n') ||
	       (n == 2 && d[pos] == '\r' && d[pos + 1] == '\n');
}

size_t header_block_size(const char *data, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t next = line_next(data, len, pos);
		if (line_is_empty(data, pos, next))
			return next;
		pos = next;
	}
	return len;
}

void header_iter_init(struct header_iter *it, const char *data, size_t len)
{
	it->data = data;
	it->len = len;
	it->pos = 0;
}

/* RFC 5322 ftext is printable ASCII but ':'; we take 8-bit too, but no
 * space or control inside a name (an mbox "From " line has colons). */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Fill f from the field at [start, end) if it is one. */
static bool field_parse(const char *d, size_t start, size_t end,
                        struct header_field *f)
{
	size_t first = line_next(d, end, start);
	const char *colon = memchr(d + start, ':', first - start);
	size_t name_len, vend = end;

	if (colon == NULL)
		return false;
	name_len = (size_t)(colon - (d + start));
	while (name_len > 0 && is_wsp(d[start + name_len - 1]))
		name_len--;
	if (!name_ok(d + start, name_len))
		return false;
	if (vend > start && d[vend - 1] == '\n')
		vend--;
	if (vend > start && d[vend - 1] == '\r')
		vend--;
	f->name = d + start;
	f->name_len = name_len;
	f->value = colon + 1;
	f->value_len =
	        vend > (size_t)(colon + 1 - d) ? vend - (colon + 1 - d) : 0;
	f->offset = start;
	f->size = end - start;
	return true;
}

bool header_iter_next(struct header_iter *it, struct header_field *field_r)
{
	const char *d = it->data;

	while (it->pos < it->len) {
		size_t start = it->pos;
		size_t end = line_next(d, it->len, start);
		bool empty = line_is_empty(d, start, end);

		while (!empty && end < it->len && is_wsp(d[end]))
			end = line_next(d, it->len, end);
		it->pos = end;
		/* a continuation line with no field before it, an empty
		 * line, or a line without a colon: skipped */
		if (empty || is_wsp(d[start]))
			continue;
		if (field_parse(d, start, end, field_r))
			return true;
	}
	return false;
}

bool header_find(const char *data, size_t len, const char *name,
                 struct header_field *field_r)
{
	struct header_iter it;
	size_t name_len = strlen(name);

	header_iter_init(&it, data, len);
	while (header_iter_next(&it, field_r)) {
		if (field_r->name_len == name_len &&
		    strncasecmp(field_r->name, name, name_len) == 0)
			return true;
	}
	return false;
}

char *header_unfold(struct arena *a, const char *value, size_t len)
{
	char *out = arena_alloc(a, len + 1);
	size_t n = 0, start = 0;

	for (size_t i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n' && value[i] != '\0')
			out[n++] = value[i];
	}
	while (start < n && is_wsp(out[start]))
		start++;
	while (n > start && is_wsp(out[n - 1]))
		n--;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	return out;
}

/* ---- structured values ---- */

struct scan {
	const char *s;
	size_t len, pos;
};

/* A parameter as written: name*section* = value. */
struct raw_param {
	char *name;    /* lowercased base name */
	int section;   /* -1: none */
	bool extended; /* value is charset'lang'%xx (section 0) or %xx */
	bool used;
	char *value;
	size_t value_len;
};

/* RFC 2045 tspecials, plus SPACE and CTLs, end a token. */
static bool is_token_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip a comment at s->pos (which is '('), nested, with quoted-pairs. */
static void skip_comment(struct scan *s)
{
	size_t depth = 0;

	while (s->pos < s->len) {
		char c = s->s[s->pos++];
		if (c == '\\' && s->pos < s->len)
			s->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return;
	}
}

static void skip_cfws(struct scan *s)
{
	while (s->pos < s->len) {
		char c = s->s[s->pos];
		if (c == '(')
			skip_comment(s);
		else if (is_wsp(c) || c == '\r' || c == '\n')
			s->pos++;
		else
			return;
	}
}

static char *scan_token(struct arena *a, struct scan *s)
{
	size_t start = s->pos;

	while (s->pos < s->len && is_token_char((unsigned char)s->s[s->pos]))
		s->pos++;
	if (s->pos == start)
		return NULL;
	return arena_strndup(a, s->s + start, s->pos - start);
}

/* A quoted-string at s->pos (which is '"'), unescaped, line ends
 * dropped; an unterminated one runs to the end. */
static char *scan_quoted(struct arena *a, struct scan *s, size_t *len_r)
{
	size_t end = s->pos + 1, n = 0;
	char *out;

	while (end < s->len && s->s[end] != '"')
		end += s->s[end] == '\\' ? 2 : 1;
	if (end > s->len)
		end = s->len;
	out = arena_alloc(a, end - s->pos);
	s->pos++;
	while (s->pos < end) {
		char c = s->s[s->pos++];
		if (c == '\\' && s->pos < end)
			c = s->s[s->pos++];
		else if (c == '\r' || c == '\n')
			continue;
		out[n++] = c;
	}
	if (s->pos < s->len)
		s->pos++;
	out[n] = '\0';
	*len_r = n;
	return out;
}

/* An unquoted value: to the next ';' or '(' with trailing space cut. */
static char *scan_bare(struct arena *a, struct scan *s, size_t *len_r)
{
	size_t start = s->pos, end;

	while (s->pos < s->len && s->s[s->pos] != ';' && s->s[s->pos] != '(')
		s->pos++;
	end = s->pos;
	while (end > start && (is_wsp(s->s[end - 1]) || s->s[end - 1] == '\r' ||
	                       s->s[end - 1] == '\n'))
		end--;
	*len_r = end - start;
	return arena_strndup(a, s->s + start, end - start);
}

/* Move to the next ';' outside quotes and comments (or the end). */
static void skip_to_semicolon(struct scan *s)
{
	while (s->pos < s->len && s->s[s->pos] != ';') {
		if (s->s[s->pos] == '(') {
			skip_comment(s);
		} else if (s->s[s->pos] == '"') {
			s->pos++;
			while (s->pos < s->len && s->s[s->pos] != '"')
				s->pos += s->s[s->pos] == '\\' ? 2 : 1;
			s->pos = s->pos < s->len ? s->pos + 1 : s->len;
		} else {
			s->pos++;
		}
	}
}

/* Split "name*3*" into base name, section and extended flag; false for
 * an RFC 2231 form we cannot read. */
static bool split_name(char *name, struct raw_param *p)
{
	char *star = strchr(name, '*');
	int section = 0;
	size_t digits = 0;

	p->section = -1;
	p->extended = false;
	for (char *c = name; *c != '\0'; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	}
	p->name = name;
	if (star == NULL)
		return true;
	*star++ = '\0';
	while (*star >= '0' && *star <= '9' && digits < 4) {
		section = section * 10 + (*star++ - '0');
		digits++;
	}
	if (digits == 0) {
		p->extended = true;
		return *star == '\0' && name[0] != '\0';
	}
	p->section = section;
	if (*star == '*') {
		p->extended = true;
		star++;
	}
	return *star == '\0' && name[0] != '\0';
}

/* One parameter at s->pos (after the ';'); false when there is none. */
static bool scan_param(struct arena *a, struct scan *s, struct raw_param *p)
{
	char *name;

	skip_cfws(s);
	name = scan_token(a, s);
	if (name == NULL)
		return false;
	skip_cfws(s);
	if (s->pos >= s->len || s->s[s->pos] != '=')
		return false;
	s->pos++;
	skip_cfws(s);
	if (s->pos < s->len && s->s[s->pos] == '"')
		p->value = scan_quoted(a, s, &p->value_len);
	else
		p->value = scan_bare(a, s, &p->value_len);
	p->used = false;
	return split_name(name, p);
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append value to out (room assured), percent-decoding when extended;
 * a '%' without two hex digits stays as it is. NULs are dropped. */
static size_t append_value(char *out, const char *v, size_t len, bool ext)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (ext && c == '%' && i + 2 < len && hex_val(v[i + 1]) >= 0 &&
		    hex_val(v[i + 2]) >= 0) {
			c = (char)(hex_val(v[i + 1]) * 16 + hex_val(v[i + 2]));
			i += 2;
		}
		if (c != '\0')
			out[n++] = c;
	}
	return n;
}

/* Cut "charset'language'" off the first extended section. */
static void split_charset(struct arena *a, struct header_param *out,
                          const char **v, size_t *len)
{
	const char *q1 = memchr(*v, '\'', *len), *q2 = NULL;

	if (q1 != NULL)
		q2 = memchr(q1 + 1, '\'', *len - (size_t)(q1 + 1 - *v));
	if (q2 == NULL) {
		out->charset = "";
		out->language = "";
		return;
	}
	out->charset = arena_strndup(a, *v, (size_t)(q1 - *v));
	out->language = arena_strndup(a, q1 + 1, (size_t)(q2 - q1 - 1));
	*len -= (size_t)(q2 + 1 - *v);
	*v = q2 + 1;
}

static struct raw_param *find_raw(struct raw_param *raw, size_t n,
                                  const char *name, int section)
{
	for (size_t i = 0; i < n; i++) {
		if (raw[i].section == section && strcmp(raw[i].name, name) == 0)
			return &raw[i];
	}
	return NULL;
}

/* Join name*0, name*1, ... (stopping at the first gap) into out. */
static void join_sections(struct arena *a, struct raw_param *raw, size_t n,
                          struct raw_param *first, struct header_param *out)
{
	size_t total = 0, len = 0;
	char *value;
	struct raw_param *p;

	for (int k = 0; (p = find_raw(raw, n, first->name, k)) != NULL; k++)
		total += p->value_len;
	value = arena_alloc(a, total + 1);
	for (int k = 0; (p = find_raw(raw, n, first->name, k)) != NULL; k++) {
		const char *v = p->value;
		size_t vlen = p->value_len;
		if (k == 0 && p->extended)
			split_charset(a, out, &v, &vlen);
		len += append_value(value + len, v, vlen, p->extended);
	}
	value[len] = '\0';
	out->value = value;
	out->value_len = len;
}

/* The parameter for first->name from every raw form of it: sections
 * from 0, else name*, else the first plain name. */
static void assemble(struct arena *a, struct raw_param *raw, size_t n,
                     struct raw_param *first, struct header_param *out)
{
	struct raw_param *p = find_raw(raw, n, first->name, 0);

	out->name = first->name;
	out->charset = out->language = NULL;
	out->value = "";
	out->value_len = 0;
	if (p != NULL) {
		join_sections(a, raw, n, p, out);
		return;
	}
	p = find_raw(raw, n, first->name, -1);
	if (p == NULL)
		return;
	for (size_t i = 0; i < n && !p->extended; i++) {
		if (raw[i].section == -1 && raw[i].extended &&
		    strcmp(raw[i].name, first->name) == 0)
			p = &raw[i];
	}
	char *value = arena_alloc(a, p->value_len + 1);
	const char *v = p->value;
	size_t vlen = p->value_len;
	if (p->extended)
		split_charset(a, out, &v, &vlen);
	out->value_len = append_value(value, v, vlen, p->extended);
	value[out->value_len] = '\0';
	out->value = value;
}

static void assemble_all(struct arena *a, struct raw_param *raw, size_t n,
                         struct header_structured *r)
{
	r->params = arena_alloc(a, (n > 0 ? n : 1) * sizeof(*r->params));
	r->param_count = 0;
	for (size_t i = 0; i < n; i++) {
		if (raw[i].used)
			continue;
		/* continuations without a section 0 or plain/name* form are
		 * dropped: there is no start to join them to */
		if (find_raw(raw, n, raw[i].name, 0) != NULL ||
		    find_raw(raw, n, raw[i].name, -1) != NULL)
			assemble(a, raw, n, &raw[i],
			         &r->params[r->param_count++]);
		for (size_t j = i; j < n; j++) {
			if (strcmp(raw[j].name, raw[i].name) == 0)
				raw[j].used = true;
		}
	}
}

void header_parse_structured(struct arena *a, const char *value, size_t len,
                             struct header_structured *r)
{
	struct scan s = {value, len, 0};
	struct raw_param raw[HEADER_MAX_PARAMS];
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	skip_cfws(&s);
	r->token = scan_token(a, &s);
	skip_cfws(&s);
	if (r->token != NULL && s.pos < s.len && s.s[s.pos] == '/') {
		s.pos++;
		skip_cfws(&s);
		r->subtype = scan_token(a, &s);
	}
	for (;;) {
		skip_to_semicolon(&s);
		if (s.pos >= s.len)
			break;
		s.pos++;
		if (n < HEADER_MAX_PARAMS && scan_param(a, &s, &raw[n]))
			n++;
	}
	assemble_all(a, raw, n, r);
}

const struct header_param *header_param_find(const struct header_structured *s,
                                             const char *name)
{
	for (size_t i = 0; i < s->param_count; i++) {
		if (strcmp(s->params[i].name, name) == 0)
			return &s->params[i];
	}
	return NULL;
}
