/* RFC 5322 address lists (section 3.4, obsolete forms of section 4.4) and
 * their IMAP ENVELOPE form (RFC 3501 section 7.4.2 and 9).
 *
 * A lexer turns the value into words (atoms, quoted strings, domain
 * literals) and the specials "<>@,;:."; white space and comments only
 * mark the next token as preceded by space. The parser reads one item at
 * a time (a group start, a group end, a name-addr or an addr-spec) and
 * always consumes at least one token, so any input ends. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/xalloc.h"
#include "mail/address.h"
#include "proto/imap-quote.h"

/* token types: the special's own byte, or one of these */
#define TOK_END (-1)
#define TOK_WORD 256

struct node {
	struct address addr;
	struct node *next;
};

struct address_list {
	struct arena *arena;
	struct address *entries;
	size_t count;
};

struct parser {
	const unsigned char *p, *end;
	int tok;           /* current token */
	bool space_before; /* white space or a comment before it */
	struct buf word;   /* a TOK_WORD's bytes, unquoted */
	struct buf phrase; /* words with single spaces: display name */
	struct buf local;  /* the same words without spaces: local part */
	struct buf domain;
	struct buf route;
	struct buf comment; /* the last comment's text */
	bool in_group;
	struct address_list *list;
	struct node *head, **tail;
};

static void put(struct buf *b, const void *p, size_t n)
{
	/* every buffer is sized for the whole input: cannot fail */
	int ret = buf_append(b, p, n);

	(void)ret;
}

static void put_byte(struct buf *b, unsigned char c)
{
	put(b, &c, 1);
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(unsigned char c)
{
	return c != '\0' && strchr("<>@,;:.", c) != NULL;
}

/* RFC 5322 3.2.2: comments nest and hold quoted-pairs. Folding (CR, LF)
 * is dropped; an unclosed comment runs to the end. */
static void lex_comment(struct parser *ps)
{
	unsigned int depth = 0;

	buf_reset(&ps->comment); /* the last comment is the one kept */
	do {
		unsigned char c = *ps->p++;

		if (c == '(') {
			if (depth++ > 0)
				put_byte(&ps->comment, c);
		} else if (c == ')') {
			if (--depth > 0)
				put_byte(&ps->comment, c);
		} else if (c == '\\' && ps->p < ps->end) {
			c = *ps->p++;
			if (c != '\r' && c != '\n')
				put_byte(&ps->comment, c);
		} else if (c != '\r' && c != '\n') {
			put_byte(&ps->comment, c);
		}
	} while (depth > 0 && ps->p < ps->end);
}

/* quoted-string (3.2.4) or domain-literal (3.4.1) up to close, which is
 * kept for literals; quoted-pairs unescaped, folding dropped */
static void lex_quoted(struct parser *ps, unsigned char close, bool keep)
{
	if (keep)
		put_byte(&ps->word, *ps->p);
	ps->p++;
	while (ps->p < ps->end) {
		unsigned char c = *ps->p++;

		if (c == close) {
			if (keep)
				put_byte(&ps->word, c);
			return;
		}
		if (c == '\\' && ps->p < ps->end)
			c = *ps->p++;
		if (c != '\r' && c != '\n')
			put_byte(&ps->word, c);
	}
}

/* Anything that is not space, a special or an opener is atom text here,
 * 8-bit bytes and stray ")" "]" "\" included. */
static void lex_atom(struct parser *ps)
{
	const unsigned char *start = ps->p;

	while (ps->p < ps->end) {
		unsigned char c = *ps->p;

		if (is_space(c) || is_special(c) || c == '(' || c == '"' ||
		    c == '[')
			break;
		ps->p++;
	}
	put(&ps->word, start, (size_t)(ps->p - start));
}

static void lex_next(struct parser *ps)
{
	ps->space_before = false;
	buf_reset(&ps->word);
	for (;;) {
		if (ps->p >= ps->end) {
			ps->tok = TOK_END;
			return;
		}
		if (*ps->p == '(')
			lex_comment(ps);
		else if (is_space(*ps->p))
			ps->p++;
		else
			break;
		ps->space_before = true;
	}
	unsigned char c = *ps->p;
	if (is_special(c)) {
		ps->tok = c;
		ps->p++;
		return;
	}
	ps->tok = TOK_WORD;
	if (c == '"')
		lex_quoted(ps, '"', false);
	else if (c == '[')
		lex_quoted(ps, ']', true);
	else
		lex_atom(ps);
}

static struct address_text text_dup(struct parser *ps, const struct buf *b)
{
	struct address_text t = {NULL, 0};

	if (b->len > 0) {
		t.data = arena_strndup(ps->list->arena, (const char *)b->data,
		                       b->len);
		t.len = b->len;
	}
	return t;
}

static struct address *emit(struct parser *ps, enum address_kind kind)
{
	struct node *n = arena_zalloc(ps->list->arena, sizeof(*n));

	n->addr.kind = kind;
	*ps->tail = n;
	ps->tail = &n->next;
	ps->list->count++;
	return &n->addr;
}

/* word *("." word), possibly with obs-phrase dots: into phrase (display
 * name form) and local (local-part form). Returns whether any. */
static bool collect_words(struct parser *ps)
{
	bool any = false;

	buf_reset(&ps->phrase);
	buf_reset(&ps->local);
	while (ps->tok == TOK_WORD || ps->tok == '.') {
		if (ps->space_before && ps->phrase.len > 0)
			put_byte(&ps->phrase, ' ');
		if (ps->tok == '.') {
			put_byte(&ps->phrase, '.');
			put_byte(&ps->local, '.');
		} else {
			put(&ps->phrase, ps->word.data, ps->word.len);
			put(&ps->local, ps->word.data, ps->word.len);
		}
		any = true;
		lex_next(ps);
	}
	return any;
}

/* domain after "@". A word after space, with no dot between, starts the
 * next address (obsolete lists with missing commas). */
static void collect_domain(struct parser *ps)
{
	buf_reset(&ps->domain);
	while (ps->tok == TOK_WORD || ps->tok == '.') {
		if (ps->tok == TOK_WORD && ps->space_before &&
		    ps->domain.len > 0 &&
		    ps->domain.data[ps->domain.len - 1] != '.')
			break;
		if (ps->tok == '.')
			put_byte(&ps->domain, '.');
		else
			put(&ps->domain, ps->word.data, ps->word.len);
		lex_next(ps);
	}
}

/* obs-route "@a,@b:" after "<" (the "@" is the current token). Returns
 * false if no ":" ended it: then it was "<@host>", a mailbox without a
 * local part, and the route holds "@host". */
static bool collect_route(struct parser *ps)
{
	buf_reset(&ps->route);
	while (ps->tok == '@' || ps->tok == ',' || ps->tok == '.' ||
	       ps->tok == TOK_WORD) {
		if (ps->tok == TOK_WORD)
			put(&ps->route, ps->word.data, ps->word.len);
		else if (ps->tok != ',' ||
		         (ps->route.len > 0 &&
		          ps->route.data[ps->route.len - 1] != ','))
			put_byte(&ps->route, (unsigned char)ps->tok);
		lex_next(ps);
	}
	if (ps->route.len > 0 && ps->route.data[ps->route.len - 1] == ',')
		buf_truncate(&ps->route, ps->route.len - 1);
	if (ps->tok != ':')
		return false;
	lex_next(ps);
	return true;
}

/* name-addr from "<" (the current token); the display name is in
 * phrase. A missing ">" ends at the next "," or ";". */
static void parse_angle(struct parser *ps)
{
	struct address *a = emit(ps, ADDRESS_MAILBOX);

	a->name = text_dup(ps, &ps->phrase);
	buf_reset(&ps->route);
	lex_next(ps);
	if (ps->tok == '@' && !collect_route(ps)) {
		const char *at = memrchr(ps->route.data, '@', ps->route.len);
		size_t skip = (size_t)(at - (const char *)ps->route.data) + 1;

		buf_consume(&ps->route, skip);
		a->domain = text_dup(ps, &ps->route);
	} else {
		a->route = text_dup(ps, &ps->route);
		collect_words(ps);
		a->mailbox = text_dup(ps, &ps->local);
		if (ps->tok == '@') {
			lex_next(ps);
			collect_domain(ps);
			a->domain = text_dup(ps, &ps->domain);
		}
	}
	while (ps->tok != TOK_END && ps->tok != '>' && ps->tok != ',' &&
	       ps->tok != ';')
		lex_next(ps);
	if (ps->tok == '>')
		lex_next(ps);
}

/* addr-spec from its "@" (the current token); the local part is in
 * local. The last comment after the "@" names the mailbox:
 * "joe@host (Joe)" (Dovecot does the same). */
static void parse_addr_spec(struct parser *ps)
{
	struct address *a = emit(ps, ADDRESS_MAILBOX);

	a->mailbox = text_dup(ps, &ps->local);
	buf_reset(&ps->comment);
	lex_next(ps);
	collect_domain(ps);
	a->domain = text_dup(ps, &ps->domain);
	a->name = text_dup(ps, &ps->comment);
}

static void parse_item(struct parser *ps)
{
	if (ps->tok == ',') {
		lex_next(ps);
		return;
	}
	if (ps->tok == ';') {
		if (ps->in_group)
			emit(ps, ADDRESS_GROUP_END);
		ps->in_group = false;
		lex_next(ps);
		return;
	}
	bool words = collect_words(ps);
	if (ps->tok == '<') {
		parse_angle(ps);
	} else if (ps->tok == '@') {
		parse_addr_spec(ps);
	} else if (ps->tok == ':' && !ps->in_group) {
		/* RFC 5322 3.4: group = display-name ":" [group-list] ";" */
		emit(ps, ADDRESS_GROUP_START)->name = text_dup(ps, &ps->phrase);
		ps->in_group = true;
		lex_next(ps);
	} else if (words) {
		/* no "@": a local part alone ("postmaster") */
		emit(ps, ADDRESS_MAILBOX)->mailbox = text_dup(ps, &ps->phrase);
	} else {
		lex_next(ps); /* stray ">" or ":" */
	}
}

static void parser_init(struct parser *ps, const void *value, size_t len)
{
	/* no buffer holds more than the input plus a separator per byte */
	size_t cap = len < SIZE_MAX / 4 ? 2 * len + 16 : SIZE_MAX / 2;

	memset(ps, 0, sizeof(*ps));
	ps->p = value;
	ps->end = len > 0 ? ps->p + len : ps->p;
	buf_init(&ps->word, cap);
	buf_init(&ps->phrase, cap);
	buf_init(&ps->local, cap);
	buf_init(&ps->domain, cap);
	buf_init(&ps->route, cap);
	buf_init(&ps->comment, cap);
	ps->tail = &ps->head;
}

static void parser_deinit(struct parser *ps)
{
	buf_free(&ps->word);
	buf_free(&ps->phrase);
	buf_free(&ps->local);
	buf_free(&ps->domain);
	buf_free(&ps->route);
	buf_free(&ps->comment);
}

struct address_list *address_list_parse(const void *value, size_t len)
{
	struct address_list *list = xcalloc(1, sizeof(*list));
	struct parser ps;

	list->arena = arena_create(1024);
	parser_init(&ps, value, len);
	ps.list = list;
	lex_next(&ps);
	while (ps.tok != TOK_END)
		parse_item(&ps);
	if (ps.in_group)
		emit(&ps, ADDRESS_GROUP_END);
	parser_deinit(&ps);

	list->entries = arena_alloc(list->arena,
	                            sizeof(*list->entries) * list->count + 1);
	size_t i = 0;
	for (struct node *n = ps.head; n != NULL; n = n->next)
		list->entries[i++] = n->addr;
	return list;
}

void address_list_free(struct address_list **list)
{
	if (*list == NULL)
		return;
	arena_destroy(&(*list)->arena);
	free(*list);
	*list = NULL;
}

size_t address_list_count(const struct address_list *list)
{
	return list == NULL ? 0 : list->count;
}

const struct address *address_list_get(const struct address_list *list,
                                       size_t i)
{
	assert(i < list->count);
	return &list->entries[i];
}

static int write_text(struct buf *out, const struct address_text *t,
                      const char *missing)
{
	if (t->data == NULL && missing != NULL)
		return imap_write_string(out, missing, strlen(missing));
	return imap_write_nstring(out, t->data, t->len);
}

static int write_address(struct buf *out, const struct address *a)
{
	static const struct address_text empty = {"", 0};

	switch (a->kind) {
	case ADDRESS_GROUP_START:
		/* RFC 3501 7.4.2: the group name goes in the mailbox field */
		if (buf_append_str(out, "(NIL NIL ") < 0 ||
		    write_text(out, a->name.data ? &a->name : &empty, NULL) < 0)
			return -1;
		return buf_append_str(out, " NIL)");
	case ADDRESS_GROUP_END:
		return buf_append_str(out, "(NIL NIL NIL NIL)");
	case ADDRESS_MAILBOX:
		break;
	}
	if (buf_append_byte(out, '(') < 0 ||
	    write_text(out, &a->name, NULL) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_text(out, &a->route, NULL) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_text(out, &a->mailbox, ADDRESS_MISSING_MAILBOX) < 0 ||
	    buf_append_byte(out, ' ') < 0 ||
	    write_text(out, &a->domain, ADDRESS_MISSING_DOMAIN) < 0)
		return -1;
	return buf_append_byte(out, ')');
}

int address_list_write_imap(struct buf *out, const struct address_list *list)
{
	size_t start = out->len;

	if (address_list_count(list) == 0)
		return buf_append_str(out, "NIL");
	if (buf_append_byte(out, '(') < 0)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		if (write_address(out, &list->entries[i]) < 0)
			goto out_truncate;
	}
	if (buf_append_byte(out, ')') < 0)
		goto out_truncate;
	return 0;
out_truncate:
	buf_truncate(out, start);
	return -1;
}
