/* FETCH and UID FETCH (RFC 3501 6.4.5): what the store keeps per
 * message (FLAGS, UID, INTERNALDATE, RFC822.SIZE), ENVELOPE, BODY and
 * BODYSTRUCTURE, the macros ALL, FAST and FULL, and BODY[section] with
 * part numbers at any depth (through message/rfc822), HEADER, TEXT,
 * MIME, HEADER.FIELDS[.NOT], PEEK and partial <origin.count>, and the
 * RFC822 forms. BINARY comes next.
 *
 * The answer is produced a slice at a time: the job returns after about
 * FETCH_SLICE bytes and is called again when the client has read them.
 * ENVELOPE alone reads only the message's header; BODY[STRUCTURE] and
 * sections read and parse the message (caching the parsed structure in
 * the index comes next). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "core/xalloc.h"
#include "imap/imap-private.h"
#include "imap/imap-view.h"
#include "mail/bodystructure.h"
#include "mail/decode.h"
#include "mail/envelope.h"
#include "mail/header.h"
#include "mail/mime.h"
#include "net/conn.h"
#include "proto/imap-quote.h"

#define FETCH_SLICE (256 * 1024)

enum fetch_kind {
	F_FLAGS,
	F_UID,
	F_INTERNALDATE,
	F_SIZE,
	F_ENVELOPE,
	F_STRUCTURE,   /* BODY, BODYSTRUCTURE (extended) */
	F_BODY,        /* BODY[...] and the RFC822 forms */
	F_BINARY,      /* BINARY[...] (RFC 3516): the part decoded */
	F_BINARY_SIZE, /* BINARY.SIZE[...] */
};

enum body_section {
	SEC_ALL,
	SEC_HEADER,
	SEC_TEXT,
	SEC_MIME,
	SEC_FIELDS,
	SEC_FIELDS_NOT,
};

struct fetch_item {
	enum fetch_kind kind;
	enum body_section section;
	bool peek;
	char *label;   /* how the answer names it: "BODY[HEADER]<0>" */
	char **fields; /* HEADER.FIELDS(.NOT) names */
	size_t field_count;
	bool partial;
	uint64_t origin, count;
	/* part numbers of the section ("1.2" is {1, 2}), depth of them */
	unsigned int path[MIME_MAX_DEPTH];
	size_t depth;
	bool extended; /* BODYSTRUCTURE rather than BODY */
};

struct fetch_ctx {
	struct fetch_item *items;
	size_t item_count;
	bool uid;
	bool sets_seen;
	size_t *idx;
	size_t count;
	size_t pos;       /* next message to answer */
	bool *changed;    /* \Seen was set by this FETCH: send FLAGS */
	bool unknown_cte; /* a BINARY part had an encoding we cannot undo */
	bool partial_cmd; /* PARTIAL rather than FETCH */
};

static void fetch_ctx_free(void *p)
{
	struct fetch_ctx *c = p;
	for (size_t i = 0; i < c->item_count; i++) {
		struct fetch_item *it = &c->items[i];
		for (size_t k = 0; k < it->field_count; k++)
			free(it->fields[k]);
		free(it->fields);
		free(it->label);
	}
	free(c->items);
	free(c->idx);
	free(c->changed);
	free(c);
}

static struct fetch_item *add_item(struct fetch_ctx *c, enum fetch_kind kind)
{
	c->items = xrealloc(c->items, (c->item_count + 1) * sizeof(*c->items));
	struct fetch_item *it = &c->items[c->item_count++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

/* "(A B "C")" of HEADER.FIELDS: the names into the item; -1 if bad. */
static int parse_fields(const char *s, struct fetch_item *it)
{
	while (*s == ' ')
		s++;
	if (*s++ != '(')
		return -1;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == ')')
			break;
		bool quoted = *s == '"';
		const char *start = quoted ? ++s : s;
		while (*s != '\0' &&
		       (quoted ? *s != '"' : *s != ' ' && *s != ')'))
			s++;
		if (*s == '\0' || s == start)
			return -1;
		it->fields = xrealloc(it->fields,
		                      (it->field_count + 1) * sizeof(char *));
		it->fields[it->field_count++] =
		        xstrndup(start, (size_t)(s - start));
		if (quoted)
			s++;
	}
	return it->field_count > 0 && s[1] == '\0' ? 0 : -1;
}

/* section-spec: part numbers, then "", HEADER, TEXT, MIME or
 * HEADER.FIELDS[.NOT] (list). */
static int parse_section(const char *sec, size_t len, struct fetch_item *it)
{
	char *s = xstrndup(sec, len);
	enum mime_section_kind kind;
	const char *text;
	int ret = 0;
	if (!mime_section_parse(s, it->path, MIME_MAX_DEPTH, &it->depth, &kind,
	                        &text))
		ret = -1;
	else if (text[0] == '\0')
		it->section = SEC_ALL;
	else if (strcasecmp(text, "HEADER") == 0)
		it->section = SEC_HEADER;
	else if (strcasecmp(text, "TEXT") == 0)
		it->section = SEC_TEXT;
	else if (strcasecmp(text, "MIME") == 0)
		it->section = SEC_MIME;
	else if (strncasecmp(text, "HEADER.FIELDS.NOT ", 18) == 0) {
		it->section = SEC_FIELDS_NOT;
		ret = parse_fields(text + 17, it);
	} else if (strncasecmp(text, "HEADER.FIELDS ", 14) == 0) {
		it->section = SEC_FIELDS;
		ret = parse_fields(text + 13, it);
	} else {
		ret = -1;
	}
	free(s);
	return ret;
}

/* "<origin.count>" after the section; -1 if malformed. */
static int parse_partial(const char *s, struct fetch_item *it)
{
	char *end;
	if (*s == '\0')
		return 0;
	if (*s != '<' || !isdigit((unsigned char)s[1]))
		return -1;
	it->origin = strtoull(s + 1, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	it->count = strtoull(end + 1, &end, 10);
	if (strcmp(end, ">") != 0 || it->count == 0)
		return -1;
	it->partial = true;
	return 0;
}

static void make_label(struct fetch_item *it, const char *sec, size_t len)
{
	char *upper = xstrndup(sec, len);
	for (char *p = upper; *p != '\0' && *p != ' '; p++)
		*p = (char)toupper((unsigned char)*p);
	if (it->partial)
		it->label = xasprintf("BODY[%s]<%llu>", upper,
		                      (unsigned long long)it->origin);
	else
		it->label = xasprintf("BODY[%s]", upper);
	free(upper);
}

/* BODY[...] / BODY.PEEK[...]: -1 if bad. */
static int parse_body_item(const char *name, struct fetch_ctx *c)
{
	bool peek = strncasecmp(name, "BODY.PEEK[", 10) == 0;
	if (!peek && strncasecmp(name, "BODY[", 5) != 0)
		return -1;
	const char *sec = name + (peek ? 10 : 5);
	const char *close = strchr(sec, ']');
	if (close == NULL)
		return -1;
	struct fetch_item *it = add_item(c, F_BODY);
	it->peek = peek;
	int ret = parse_section(sec, (size_t)(close - sec), it);
	if (ret == 0)
		ret = parse_partial(close + 1, it);
	if (ret == 0)
		make_label(it, sec, (size_t)(close - sec));
	return ret;
}

/* BINARY[part]<o.c>, BINARY.PEEK[part]<o.c>, BINARY.SIZE[part]: only
 * part numbers, no HEADER/TEXT/MIME (RFC 3516 section-binary). */
static int parse_binary_item(const char *name, struct fetch_ctx *c)
{
	static const struct {
		const char *prefix;
		enum fetch_kind kind;
		bool peek;
	} forms[] = {
	        {"BINARY[", F_BINARY, false},
	        {"BINARY.PEEK[", F_BINARY, true},
	        {"BINARY.SIZE[", F_BINARY_SIZE, true},
	};
	size_t f = 0, n = sizeof(forms) / sizeof(forms[0]);
	while (f < n &&
	       strncasecmp(name, forms[f].prefix, strlen(forms[f].prefix)) != 0)
		f++;
	const char *sec = f < n ? name + strlen(forms[f].prefix) : NULL;
	const char *close = sec != NULL ? strchr(sec, ']') : NULL;
	if (close == NULL)
		return -1;
	struct fetch_item *it = add_item(c, forms[f].kind);
	it->peek = forms[f].peek;
	int ret = parse_section(sec, (size_t)(close - sec), it);
	if (ret == 0 && it->section != SEC_ALL)
		ret = -1;
	if (ret == 0 && forms[f].kind == F_BINARY)
		ret = parse_partial(close + 1, it);
	else if (ret == 0 && close[1] != '\0')
		ret = -1;
	if (ret == 0) {
		char *part = xstrndup(sec, (size_t)(close - sec));
		it->label = forms[f].kind == F_BINARY_SIZE
		                    ? xasprintf("BINARY.SIZE[%s]", part)
		            : it->partial
		                    ? xasprintf("BINARY[%s]<%llu>", part,
		                                (unsigned long long)it->origin)
		                    : xasprintf("BINARY[%s]", part);
		free(part);
	}
	return ret;
}

/* The RFC822 forms; with partial, also RFC 1730's PEEK forms, which
 * only PARTIAL takes. */
static int parse_rfc822_item(const char *name, struct fetch_ctx *c,
                             bool partial)
{
	static const struct {
		const char *name, *label;
		enum body_section section;
		bool peek;
	} forms[] = {
	        {"RFC822", "RFC822", SEC_ALL, false},
	        {"RFC822.HEADER", "RFC822.HEADER", SEC_HEADER, true},
	        {"RFC822.TEXT", "RFC822.TEXT", SEC_TEXT, false},
	        {"RFC822.PEEK", "RFC822", SEC_ALL, true},
	        {"RFC822.TEXT.PEEK", "RFC822.TEXT", SEC_TEXT, true},
	};
	size_t n = sizeof(forms) / sizeof(forms[0]) - (partial ? 0 : 2);
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(name, forms[i].name) != 0)
			continue;
		struct fetch_item *it = add_item(c, F_BODY);
		it->section = forms[i].section;
		it->peek = forms[i].peek;
		it->label = xstrdup(forms[i].label);
		return 0;
	}
	return -1;
}

/* One fetch-att; -1 if bad. */
static int parse_item(const struct imap_arg *a, struct fetch_ctx *c)
{
	static const struct {
		const char *name;
		enum fetch_kind kind;
	} simple[] = {
	        {"FLAGS", F_FLAGS},
	        {"UID", F_UID},
	        {"INTERNALDATE", F_INTERNALDATE},
	        {"RFC822.SIZE", F_SIZE},
	};
	const char *name;
	if (!imap_arg_get_atom(a, &name) || a->type != IMAP_ARG_ATOM)
		return -1;
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcasecmp(name, simple[i].name) == 0) {
			add_item(c, simple[i].kind);
			return 0;
		}
	}
	if (strcasecmp(name, "FAST") == 0) {
		add_item(c, F_FLAGS);
		add_item(c, F_INTERNALDATE);
		add_item(c, F_SIZE);
		return 0;
	}
	bool all = strcasecmp(name, "ALL") == 0;
	if (all || strcasecmp(name, "ENVELOPE") == 0) {
		if (all) {
			add_item(c, F_FLAGS);
			add_item(c, F_INTERNALDATE);
			add_item(c, F_SIZE);
		}
		add_item(c, F_ENVELOPE);
		return 0;
	}
	bool full = strcasecmp(name, "FULL") == 0;
	if (full || strcasecmp(name, "BODY") == 0 ||
	    strcasecmp(name, "BODYSTRUCTURE") == 0) {
		if (full) {
			add_item(c, F_FLAGS);
			add_item(c, F_INTERNALDATE);
			add_item(c, F_SIZE);
			add_item(c, F_ENVELOPE);
		}
		add_item(c, F_STRUCTURE)->extended = name[4] != '\0' && !full;
		return 0;
	}
	if (strncasecmp(name, "BINARY", 6) == 0)
		return parse_binary_item(name, c);
	if (strncasecmp(name, "RFC822", 6) == 0)
		return parse_rfc822_item(name, c, false);
	return parse_body_item(name, c);
}

static int parse_items(const struct imap_arg *arg, struct fetch_ctx *c)
{
	const struct imap_arg *list = arg;
	size_t n = 1;
	if (arg->type == IMAP_ARG_LIST) {
		list = arg->list;
		n = arg->list_count;
		if (n == 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int ret = parse_item(&list[i], c);
		if (ret < 0)
			return ret;
	}
	if (c->uid) {
		bool has_uid = false;
		for (size_t i = 0; i < c->item_count; i++)
			has_uid |= c->items[i].kind == F_UID;
		if (!has_uid) /* RFC 3501 6.4.8: UID FETCH always says UID */
			add_item(c, F_UID);
	}
	for (size_t i = 0; i < c->item_count; i++)
		c->sets_seen |= (c->items[i].kind == F_BODY ||
		                 c->items[i].kind == F_BINARY) &&
		                !c->items[i].peek;
	return 0;
}

static void write_internaldate(struct buf *out, const struct store_msg *m)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
	                                   "May", "Jun", "Jul", "Aug",
	                                   "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(m->internaldate + (int64_t)m->tz_offset_min * 60);
	struct tm tm;
	gmtime_r(&t, &tm);
	int off = m->tz_offset_min < 0 ? -m->tz_offset_min : m->tz_offset_min;
	buf_printf(out,
	           "INTERNALDATE \"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
	           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	           tm.tm_min, tm.tm_sec, m->tz_offset_min < 0 ? '-' : '+',
	           off / 60, off % 60);
}

/* The whole message file; NULL if it is gone. */
#define HEADER_READ_BLOCK 16384
char *imap_read_message(struct store *st, uint64_t mailbox_id, uint32_t uid,
                        bool header_only, size_t *len_r)
{
	int fd;
	uint64_t size;
	if (store_open_message(st, mailbox_id, uid, &fd, &size) != STORE_OK)
		return NULL;
	/* the header alone: a block, doubled while no empty line shows */
	size_t cap = header_only && size > HEADER_READ_BLOCK ? HEADER_READ_BLOCK
	                                                     : (size_t)size;
	char *data = xmalloc(cap + 1);
	size_t got = 0;
	while (got < size) {
		if (got == cap) {
			cap = 2 * cap < size ? 2 * cap : (size_t)size;
			data = xrealloc(data, cap + 1);
		}
		ssize_t n = pread(fd, data + got, cap - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (header_only && memmem(data, got, "\r\n\r\n", 4) != NULL)
			break;
	}
	close(fd);
	data[got] = '\0';
	*len_r = got;
	return data;
}

static bool field_listed(const struct fetch_item *it,
                         const struct header_field *f)
{
	for (size_t i = 0; i < it->field_count; i++) {
		if (strlen(it->fields[i]) == f->name_len &&
		    strncasecmp(it->fields[i], f->name, f->name_len) == 0)
			return true;
	}
	return false;
}

/* HEADER.FIELDS / .NOT of the header block h: the chosen fields, then
 * the empty line. */
static void filter_header(const struct fetch_item *it, const char *h,
                          size_t len, struct buf *out)
{
	struct header_iter iter;
	struct header_field f;
	header_iter_init(&iter, h, len);
	while (header_iter_next(&iter, &f)) {
		if (field_listed(it, &f) == (it->section == SEC_FIELDS))
			buf_append(out, h + f.offset, f.size);
	}
	buf_append_str(out, "\r\n");
}

/* The bytes a section names: at the top of the message directly, or
 * below it through the MIME tree (parsed once per message, into
 * *root). False if there is no such part. */
static bool section_bytes(const struct fetch_item *it, const char *msg,
                          size_t len, struct mime_part **root,
                          const char **start_r, size_t *size_r)
{
	size_t hlen = header_block_size(msg, len);
	if (it->depth == 0 && it->section != SEC_MIME) {
		bool text = it->section == SEC_TEXT;
		bool all = it->section == SEC_ALL;
		*start_r = text ? msg + hlen : msg;
		*size_r = all ? len : text ? len - hlen : hlen;
		return true;
	}
	static const enum mime_section_kind kinds[] = {
	        [SEC_ALL] = MIME_SECTION_ALL,
	        [SEC_HEADER] = MIME_SECTION_HEADER,
	        [SEC_TEXT] = MIME_SECTION_TEXT,
	        [SEC_MIME] = MIME_SECTION_MIME,
	        [SEC_FIELDS] = MIME_SECTION_HEADER,
	        [SEC_FIELDS_NOT] = MIME_SECTION_HEADER,
	};
	struct mime_section r;
	if (*root == NULL)
		*root = mime_parse(msg, len);
	if (!mime_section_find(*root, it->path, it->depth, kinds[it->section],
	                       &r) ||
	    r.offset + r.size > len)
		return false;
	*start_r = msg + r.offset;
	*size_r = r.size;
	return true;
}

static void write_body(struct buf *out, const struct fetch_item *it,
                       const char *msg, size_t len, struct mime_part **root)
{
	const char *start;
	size_t size;
	if (!section_bytes(it, msg, len, root, &start, &size)) {
		/* no such part (RFC 3501 leaves it open; NIL, as others do) */
		buf_printf(out, "%s NIL", it->label);
		return;
	}
	struct buf part;
	buf_init(&part, size + 3);
	if (it->section == SEC_FIELDS || it->section == SEC_FIELDS_NOT) {
		filter_header(it, start, header_block_size(start, size), &part);
	} else {
		buf_append(&part, start, size);
	}
	size_t from = 0, n = part.len;
	if (it->partial) {
		from = it->origin < part.len ? (size_t)it->origin : part.len;
		n = part.len - from < it->count ? part.len - from
		                                : (size_t)it->count;
	}
	buf_printf(out, "%s {%zu}\r\n", it->label, n);
	buf_append(out, part.data == NULL ? "" : (char *)part.data + from, n);
	buf_free(&part);
}

/* The part a BINARY item names, transfer-decoded into out; -1 (with
 * nothing in out) if the part has an encoding we cannot undo. */
static int binary_bytes(const struct fetch_item *it, const char *msg,
                        size_t len, struct mime_part **root, struct buf *out)
{
	const char *start;
	size_t size;
	if (!section_bytes(it, msg, len, root, &start, &size))
		return 0; /* no such part: empty */
	enum decode_cte cte = DECODE_IDENTITY;
	if (it->depth > 0) {
		struct mime_section r;
		mime_section_find(*root, it->path, it->depth, MIME_SECTION_ALL,
		                  &r);
		const char *enc = r.part->encoding;
		if (enc != NULL)
			cte = decode_cte_parse(enc, strlen(enc));
	}
	if (cte == DECODE_UNKNOWN)
		return -1;
	return decode_all(cte, start, size, out, NULL) == 0 ? 0 : -1;
}

static void write_binary(struct fetch_ctx *c, struct buf *out,
                         const struct fetch_item *it, const char *msg,
                         size_t len, struct mime_part **root)
{
	struct buf part;
	buf_init(&part, 2 * len + 16);
	if (binary_bytes(it, msg, len, root, &part) < 0) {
		c->unknown_cte = true;
		buf_printf(out, "%s NIL", it->label);
		buf_free(&part);
		return;
	}
	if (it->kind == F_BINARY_SIZE) {
		buf_printf(out, "%s %zu", it->label, part.len);
		buf_free(&part);
		return;
	}
	size_t from = 0, n = part.len;
	if (it->partial) {
		from = it->origin < part.len ? (size_t)it->origin : part.len;
		n = part.len - from < it->count ? part.len - from
		                                : (size_t)it->count;
	}
	const char *bytes = part.data == NULL ? "" : (char *)part.data + from;
	/* literal8 where the bytes hold a NUL (RFC 3516 4.2) */
	buf_printf(out, "%s %s{%zu}\r\n", it->label,
	           memchr(bytes, '\0', n) != NULL ? "~" : "", n);
	buf_append(out, bytes, n);
	buf_free(&part);
}

static int write_envelope(struct buf *out, const char *header, size_t len,
                          void *ctx)
{
	size_t before = out->len;
	envelope_write(out, header, len);
	return out->len > before ? 0 : -1;
}

static void write_structure(struct buf *out, const struct fetch_item *it,
                            const char *msg, size_t len,
                            struct mime_part **root)
{
	if (*root == NULL)
		*root = mime_parse(msg, len);
	buf_append_str(out, it->extended ? "BODYSTRUCTURE " : "BODY ");
	if (bodystructure_write(out, *root, msg, len, it->extended,
	                        write_envelope, NULL) < 0)
		buf_append_str(out, "NIL");
}

/* A message as the items need it. */
struct fetch_msg {
	const struct store_msg *m;
	const char *msg; /* its file, or its header only, or NULL */
	size_t len;
	struct mime_part *root; /* parsed when a section needs it */
};

/* One item of one message; true if it was FLAGS. */
static bool write_item(struct fetch_ctx *c, struct buf *out,
                       const struct fetch_item *it, struct fetch_msg *f)
{
	switch (it->kind) {
	case F_FLAGS:
		buf_append_str(out, "FLAGS ");
		imap_view_write_flags(f->m, out);
		return true;
	case F_UID:
		buf_printf(out, "UID %u", f->m->uid);
		break;
	case F_INTERNALDATE:
		write_internaldate(out, f->m);
		break;
	case F_SIZE:
		buf_printf(out, "RFC822.SIZE %llu",
		           (unsigned long long)f->m->size);
		break;
	case F_ENVELOPE:
		buf_append_str(out, "ENVELOPE ");
		envelope_write(out, f->msg, header_block_size(f->msg, f->len));
		break;
	case F_STRUCTURE:
		write_structure(out, it, f->msg, f->len, &f->root);
		break;
	case F_BODY:
		write_body(out, it, f->msg, f->len, &f->root);
		break;
	case F_BINARY:
	case F_BINARY_SIZE:
		write_binary(c, out, it, f->msg, f->len, &f->root);
		break;
	}
	return false;
}

/* What of the message file the items need: 2 all, 1 its header, 0. */
static int file_needed(const struct fetch_ctx *c)
{
	int need = 0;
	for (size_t n = 0; n < c->item_count; n++) {
		enum fetch_kind k = c->items[n].kind;
		if (k == F_ENVELOPE && need == 0)
			need = 1;
		if (k == F_BODY || k == F_STRUCTURE || k == F_BINARY ||
		    k == F_BINARY_SIZE)
			need = 2;
	}
	return need;
}

/* One message's "* n FETCH (...)"; false if its file is gone. */
static bool write_message(struct imap_job *job, struct store *st, size_t k)
{
	struct fetch_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	size_t i = c->idx[k];
	struct fetch_msg f = {.m = &v->msgs[i]};
	char *file = NULL;
	int need = file_needed(c);
	if (need > 0) {
		file = imap_read_message(st, v->mailbox_id, f.m->uid, need == 1,
		                         &f.len);
		if (file == NULL)
			return false;
		f.msg = file;
	}
	buf_printf(&job->out, "* %zu FETCH (", i + 1);
	bool flags_done = false;
	for (size_t n = 0; n < c->item_count; n++) {
		if (n > 0)
			buf_append_byte(&job->out, ' ');
		flags_done |= write_item(c, &job->out, &c->items[n], &f);
	}
	if (!flags_done && c->changed != NULL && c->changed[k]) {
		buf_append_str(&job->out, " FLAGS ");
		imap_view_write_flags(f.m, &job->out);
	}
	buf_append_str(&job->out, ")\r\n");
	mime_free(&f.root);
	free(file);
	return true;
}

/* Non-PEEK body fetches set \Seen first (RFC 3501 6.4.5). */
static void set_seen(struct imap_job *job, struct store *st)
{
	struct fetch_ctx *c = job->ctx;
	struct imap_view *v = job->s->view;
	uint32_t *uids = xmalloc((c->count + 1) * sizeof(*uids));
	size_t n = 0;
	c->changed = xcalloc(c->count + 1, sizeof(bool));
	for (size_t k = 0; k < c->count; k++) {
		if ((v->msgs[c->idx[k]].flags & STORE_FLAG_SEEN) == 0) {
			uids[n++] = v->msgs[c->idx[k]].uid;
			c->changed[k] = true;
		}
	}
	struct store_msg *res = NULL;
	size_t res_count = 0;
	if (n > 0 && store_set_flags(st, v->mailbox_id, uids, n,
	                             STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0,
	                             &res, &res_count) == STORE_OK) {
		for (size_t i = 0; i < res_count; i++) {
			imap_view_update(v, &res[i]);
			store_msg_free(&res[i]);
		}
	}
	free(res);
	free(uids);
}

static void fetch_work(struct imap_job *job)
{
	struct fetch_ctx *c = job->ctx;
	struct store *st = imap_job_store(job);
	if (st == NULL)
		return;
	if (c->pos == 0 && c->sets_seen && !job->s->view->readonly)
		set_seen(job, st);
	bool missing = false;
	while (c->pos < c->count) {
		missing |= !write_message(job, st, c->pos);
		c->pos++;
		if (job->out.len >= FETCH_SLICE && c->pos < c->count) {
			job->more = true;
			return;
		}
	}
	if (c->unknown_cte)
		imap_job_reply(
		        job, "NO",
		        "[UNKNOWN-CTE] A part's content-transfer-encoding "
		        "is not one the server can decode");
	else if (missing)
		imap_job_reply(
		        job, "NO",
		        "Some of the requested messages no longer exist");
	else
		imap_job_reply(job, "OK", "%s completed",
		               c->partial_cmd ? "PARTIAL" : "FETCH");
}

void imap_cmd_fetch(struct imap_session *s, const struct imap_command_line *cmd,
                    const struct imap_arg *args, size_t count, bool uid)
{
	struct fetch_ctx *c = xcalloc(1, sizeof(*c));
	c->uid = uid;
	int ret = count == 2 ? parse_items(&args[1], c) : -1;
	if (ret < 0) {
		fetch_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (imap_resolve_set(s, cmd, &args[0], uid, &c->idx, &c->count) < 0) {
		fetch_ctx_free(c);
		return;
	}
	imap_job_start(s, cmd, fetch_work,
	               uid ? IMAP_SYNC_ALL : IMAP_SYNC_NO_EXPUNGE, c,
	               fetch_ctx_free);
}

void cmd_fetch(struct imap_session *s, const struct imap_command_line *cmd)
{
	imap_cmd_fetch(s, cmd, cmd->args, cmd->arg_count, false);
}

/* PARTIAL (RFC 1730 6.4.6, obsolete, still in RFC 3501's predecessors'
 * clients): one message, one body item, from octet position (counting
 * from 1) for length octets; the answer names the item without an
 * origin, as RFC 1730's example shows. */
static int parse_partial_args(const struct imap_command_line *cmd,
                              struct fetch_ctx *c)
{
	const char *item, *pos, *len;
	uint64_t origin, count;
	if (cmd->arg_count != 4 || !imap_arg_get_atom(&cmd->args[1], &item) ||
	    !imap_arg_get_atom(&cmd->args[2], &pos) ||
	    !imap_arg_get_atom(&cmd->args[3], &len) ||
	    parse_uint(pos, 1, UINT32_MAX, &origin) < 0 ||
	    parse_uint(len, 0, UINT32_MAX, &count) < 0)
		return -1;
	int ret = strncasecmp(item, "RFC822", 6) == 0
	                  ? parse_rfc822_item(item, c, true)
	                  : parse_body_item(item, c);
	if (ret < 0 || c->item_count != 1 || c->items[0].partial)
		return -1;
	c->items[0].partial = true;
	c->items[0].origin = origin - 1;
	c->items[0].count = count;
	c->sets_seen = !c->items[0].peek;
	c->partial_cmd = true;
	return 0;
}

void cmd_partial(struct imap_session *s, const struct imap_command_line *cmd)
{
	struct fetch_ctx *c = xcalloc(1, sizeof(*c));
	const char *seq;
	uint64_t n;
	if (parse_partial_args(cmd, c) < 0 ||
	    !imap_arg_get_atom(&cmd->args[0], &seq) ||
	    parse_uint(seq, 1, UINT32_MAX, &n) < 0) {
		fetch_ctx_free(c);
		imap_reply_bad_args(s, cmd);
		return;
	}
	if (imap_resolve_set(s, cmd, &cmd->args[0], false, &c->idx, &c->count) <
	    0) {
		fetch_ctx_free(c);
		return;
	}
	imap_job_start(s, cmd, fetch_work, IMAP_SYNC_NO_EXPUNGE, c,
	               fetch_ctx_free);
}
