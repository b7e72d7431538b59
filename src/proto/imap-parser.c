/* Incremental IMAP command parser: see imap-parser.h.
 *
 * Implements the command syntax of RFC 3501 section 9 and RFC 9051
 * section 9 (tag, command name, astring/atom/quoted/literal/list
 * arguments), non-synchronising literals (RFC 7888 LITERAL+) and literal8
 * (RFC 3516 section 4.2).
 *
 * The parser is a byte-at-a-time state machine with no lookahead, which is
 * what makes every byte split of the input parse the same: partial tokens
 * sit in the parser's own capped buffers, finished ones move to the
 * per-command arena. Literal bodies are copied in bulk straight into the
 * arena. */
#include "proto/imap-parser.h"
#include "proto/imap-quote.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/xalloc.h"

#define PARSER_ARENA_BLOCK_BYTES 4096

enum parser_state {
	ST_TAG,          /* reading the tag */
	ST_NAME,         /* reading the command name */
	ST_SP_ARG,       /* after SP: an argument must follow */
	ST_LIST_OPEN,    /* after '(': an argument or ')' */
	ST_AFTER_ARG,    /* after an argument: SP, ')' or end of line */
	ST_ATOM,         /* inside an atom */
	ST_ATOM_BRACKET, /* inside [...] of an atom, e.g. BODY[HEADER] */
	ST_TILDE,        /* after '~': literal8 if '{' follows, else atom */
	ST_QUOTED,       /* inside "..." */
	ST_QUOTED_ESC,   /* after '\' inside "..." */
	ST_LIT_DIGITS,   /* after '{': the size */
	ST_LIT_PLUS,     /* after "{n+": '}' must follow */
	ST_LIT_EOL,      /* after '}': CRLF must follow */
	ST_LIT_DATA,     /* the literal's bytes */
	ST_DONE,         /* a command is ready; the next feed starts anew */
	ST_ENDED,        /* a bad line has ended; the next byte starts anew */
	ST_SKIP,         /* discarding the rest of a bad line */
	ST_SKIP_LITERAL, /* discarding a {n+} literal of a bad line */
	ST_FATAL,        /* the stream cannot be trusted any more */
};

/* Recognises a line that ends in "{n+}" CRLF, so that a bad line's
 * non-synchronising literal is skipped along with the line. */
enum tail_state {
	TAIL_NONE,
	TAIL_OPEN,   /* '{' */
	TAIL_DIGITS, /* '{' 1*DIGIT */
	TAIL_PLUS,   /* '{' 1*DIGIT '+' */
	TAIL_CLOSE,  /* '{' 1*DIGIT "+}" */
	TAIL_CR,     /* '{' 1*DIGIT "+}" CR */
};

struct imap_parser {
	struct imap_parser_limits lim;      /* for the current command */
	struct imap_parser_limits next_lim; /* from imap_parser_set_limits() */
	enum parser_state state;
	struct arena *arena;
	struct buf tag;    /* the tag read so far */
	struct buf token;  /* partial command name, atom or quoted string */
	struct buf args;   /* struct imap_arg stack of the open lists */
	struct buf frames; /* per open list: index in args of its first arg */
	unsigned int depth;
	unsigned int arg_count;
	size_t line_bytes;    /* bytes outside literals */
	size_t command_bytes; /* every byte */
	bool cr_pending;      /* a CR was read; LF must follow */
	bool tag_valid;
	/* the literal being announced or read */
	uint64_t lit_size;
	unsigned int lit_digits;
	bool lit_plus, lit8;
	unsigned char *lit_data;
	size_t lit_done;
	/* spilling large literals to files */
	imap_spill_fn *spill_fn;
	void *spill_ctx;
	int lit_fd; /* the literal being read goes here, or -1 */
	bool lit_spill_failed;
	struct buf spilled; /* ints: this command's spill files */
	/* error recovery */
	enum tail_state tail;
	uint64_t tail_size;
	bool tail_lf_literal; /* the last LF ended a "{n+}" line */
	uint64_t skip_left;
	const char *error;
	bool fatal;
	struct imap_command_line cmd;
};

typedef enum imap_parse_result step_fn(struct imap_parser *p, unsigned char c);

/* tag = 1*<any ASTRING-CHAR except "+"> */
static bool is_tag_char(unsigned char c)
{
	return c != '+' && (imap_char_is_atom(c) || c == ']');
}

/* Atoms as arguments also carry sequence sets ("1:*"), LIST patterns
 * ("%", "*") and astring's resp-specials (']'). '\' may only start one
 * (flags such as \Seen), which start_arg() handles. */
static bool is_arg_atom_char(unsigned char c)
{
	return imap_char_is_atom(c) || c == '%' || c == '*' || c == ']';
}

static size_t cap_bytes(size_t count, size_t size)
{
	return count > SIZE_MAX / size ? SIZE_MAX : count * size;
}

static void apply_limits(struct imap_parser *p)
{
	p->lim = p->next_lim;
	buf_free(&p->tag);
	buf_free(&p->token);
	buf_free(&p->args);
	buf_free(&p->frames);
	buf_init(&p->tag, p->lim.max_line_bytes);
	buf_init(&p->token, p->lim.max_line_bytes);
	buf_init(&p->args, cap_bytes(p->lim.max_args, sizeof(struct imap_arg)));
	buf_init(&p->frames, cap_bytes(p->lim.max_depth, sizeof(size_t)));
}

static bool limits_equal(const struct imap_parser_limits *a,
                         const struct imap_parser_limits *b)
{
	return a->max_line_bytes == b->max_line_bytes &&
	       a->max_literal_bytes == b->max_literal_bytes &&
	       a->max_command_bytes == b->max_command_bytes &&
	       a->max_depth == b->max_depth && a->max_args == b->max_args;
}

static void close_spilled(struct imap_parser *p)
{
	int fd;
	for (size_t i = 0; i + sizeof(fd) <= p->spilled.len; i += sizeof(fd)) {
		memcpy(&fd, p->spilled.data + i, sizeof(fd));
		close(fd);
	}
	buf_reset(&p->spilled);
	p->lit_fd = -1;
}

static void begin_command(struct imap_parser *p)
{
	close_spilled(p);
	arena_clear(p->arena);
	if (!limits_equal(&p->lim, &p->next_lim))
		apply_limits(p);
	buf_reset(&p->tag);
	buf_reset(&p->token);
	buf_reset(&p->args);
	buf_reset(&p->frames);
	p->state = ST_TAG;
	p->depth = 0;
	p->arg_count = 0;
	p->line_bytes = 0;
	p->command_bytes = 0;
	p->cr_pending = false;
	p->tag_valid = false;
	p->lit_data = NULL;
	p->tail = TAIL_NONE;
	p->tail_lf_literal = false;
	p->skip_left = 0;
	p->error = NULL;
	p->fatal = false;
	memset(&p->cmd, 0, sizeof(p->cmd));
}

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));
	p->arena = arena_create(PARSER_ARENA_BLOCK_BYTES);
	buf_init(&p->spilled, 4096 * sizeof(int));
	p->lit_fd = -1;
	p->next_lim = *lim;
	apply_limits(p);
	begin_command(p);
	return p;
}

void imap_parser_destroy(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	if (p == NULL)
		return;
	close_spilled(p);
	buf_free(&p->spilled);
	arena_destroy(&p->arena);
	buf_free(&p->tag);
	buf_free(&p->token);
	buf_free(&p->args);
	buf_free(&p->frames);
	free(p);
	*pp = NULL;
}

void imap_parser_set_limits(struct imap_parser *p,
                            const struct imap_parser_limits *lim)
{
	p->next_lim = *lim;
	/* nothing of the next command read yet: it is the next command */
	if (p->state == ST_TAG && p->command_bytes == 0)
		apply_limits(p);
}

const char *imap_parser_pending_tag(const struct imap_parser *p)
{
	return buf_cstr(&p->tag);
}

const char *imap_parser_pending_name(const struct imap_parser *p)
{
	return p->cmd.name;
}

uint64_t imap_parser_pending_literal(const struct imap_parser *p)
{
	return p->lit_size;
}

void imap_parser_set_spill(struct imap_parser *p, imap_spill_fn *fn, void *ctx)
{
	p->spill_fn = fn;
	p->spill_ctx = ctx;
}

void imap_parser_reset(struct imap_parser *p)
{
	begin_command(p);
}

/* ---- error recovery ---- */

/* n * 10 + the digit c, saturating: a literal size is only compared with
 * max_literal_bytes, and any overflow must not wrap to a small size. */
static uint64_t add_digit(uint64_t n, unsigned char c)
{
	uint64_t d = (uint64_t)(c - '0');

	if (n > (UINT64_MAX - d) / 10)
		return UINT64_MAX;
	return n * 10 + d;
}

static void tail_feed(struct imap_parser *p, unsigned char c)
{
	p->tail_lf_literal = false;
	switch (p->tail) {
	case TAIL_OPEN:
	case TAIL_DIGITS:
		if (c >= '0' && c <= '9') {
			p->tail_size = add_digit(p->tail_size, c);
			p->tail = TAIL_DIGITS;
			return;
		}
		if (c == '+' && p->tail == TAIL_DIGITS) {
			p->tail = TAIL_PLUS;
			return;
		}
		break;
	case TAIL_PLUS:
		if (c == '}') {
			p->tail = TAIL_CLOSE;
			return;
		}
		break;
	case TAIL_CLOSE:
	case TAIL_CR:
		if (c == '\r' && p->tail == TAIL_CLOSE) {
			p->tail = TAIL_CR;
			return;
		}
		p->tail_lf_literal = c == '\n';
		break;
	case TAIL_NONE:
		break;
	}
	/* tail_size stays for resync_at_lf() after a "{n+}" line's LF */
	p->tail = TAIL_NONE;
	if (c == '{') {
		p->tail = TAIL_OPEN;
		p->tail_size = 0;
	}
}

/* A bad line has been read through its LF. If it ended in "{n+}", the n
 * bytes that follow belong to it too (RFC 7888: the client does not wait)
 * and are skipped; one too large to skip makes the stream untrustworthy.
 * Returns -1 in that case. */
static int resync_at_lf(struct imap_parser *p)
{
	if (!p->tail_lf_literal) {
		p->state = ST_ENDED;
		return 0;
	}
	if (p->tail_size > p->lim.max_literal_bytes)
		return -1;
	p->skip_left = p->tail_size;
	p->state = p->skip_left > 0 ? ST_SKIP_LITERAL : ST_SKIP;
	return 0;
}

/* Report an error on byte c (already consumed). A non-fatal error leaves
 * the parser skipping the rest of the line, unless c was its LF. */
static enum imap_parse_result fail(struct imap_parser *p, unsigned char c,
                                   const char *msg, bool fatal)
{
	p->error = msg;
	p->cr_pending = false;
	if (!fatal && c == '\n' && resync_at_lf(p) < 0)
		fatal = true;
	else if (!fatal && c != '\n')
		p->state = ST_SKIP;
	p->fatal = fatal;
	if (fatal)
		p->state = ST_FATAL;
	return IMAP_PARSE_ERROR;
}

static enum imap_parse_result skip_byte(struct imap_parser *p, unsigned char c)
{
	tail_feed(p, c);
	if (c != '\n')
		return IMAP_PARSE_MORE;
	if (resync_at_lf(p) < 0)
		return fail(p, c, "Literal too large", true);
	return IMAP_PARSE_MORE;
}

/* ---- building the argument tree ---- */

static struct imap_arg *arg_stack(const struct imap_parser *p, size_t *n_r)
{
	*n_r = p->args.len / sizeof(struct imap_arg);
	return (struct imap_arg *)(void *)p->args.data;
}

/* Every argument at every depth is counted as it starts. */
static int count_arg(struct imap_parser *p)
{
	if (p->arg_count >= p->lim.max_args)
		return -1;
	p->arg_count++;
	return 0;
}

static void push_arg(struct imap_parser *p, const struct imap_arg *arg)
{
	/* cannot fail: the stack never holds more than arg_count args */
	int ret = buf_append(&p->args, arg, sizeof(*arg));
	assert(ret == 0);
	(void)ret;
}

/* Move args[start..] into the arena; returns NULL for none. */
static const struct imap_arg *pop_args(struct imap_parser *p, size_t start,
                                       size_t *count_r)
{
	size_t n;
	struct imap_arg *stack = arg_stack(p, &n);
	struct imap_arg *copy = NULL;

	*count_r = n - start;
	if (*count_r > 0) {
		copy = arena_alloc(p->arena, *count_r * sizeof(*copy));
		memcpy(copy, stack + start, *count_r * sizeof(*copy));
	}
	buf_truncate(&p->args, start * sizeof(*copy));
	return copy;
}

static void push_string(struct imap_parser *p, enum imap_arg_type type,
                        const void *s, size_t len)
{
	struct imap_arg arg = {.type = type, .len = len};
	arg.str = arena_strndup(p->arena, s, len);
	push_arg(p, &arg);
	buf_reset(&p->token);
}

static void token_add(struct imap_parser *p, unsigned char c)
{
	/* cannot fail: the token is part of the line, which is counted */
	int ret = buf_append_byte(&p->token, c);
	assert(ret == 0);
	(void)ret;
}

static enum imap_parse_result open_list(struct imap_parser *p, unsigned char c)
{
	size_t start;

	if (count_arg(p) < 0)
		return fail(p, c, "Too many arguments", false);
	if (p->depth >= p->lim.max_depth)
		return fail(p, c, "Nesting too deep", false);
	(void)arg_stack(p, &start);
	int ret = buf_append(&p->frames, &start, sizeof(start));
	assert(ret == 0);
	(void)ret;
	p->depth++;
	p->state = ST_LIST_OPEN;
	return IMAP_PARSE_MORE;
}

static void close_list(struct imap_parser *p)
{
	struct imap_arg arg = {.type = IMAP_ARG_LIST};
	size_t start;

	assert(p->depth > 0);
	p->depth--;
	memcpy(&start, p->frames.data + p->depth * sizeof(start),
	       sizeof(start));
	buf_truncate(&p->frames, p->depth * sizeof(start));
	arg.list = pop_args(p, start, &arg.list_count);
	push_arg(p, &arg);
	p->state = ST_AFTER_ARG;
}

static enum imap_parse_result end_line(struct imap_parser *p, unsigned char c)
{
	if (p->depth > 0)
		return fail(p, c, "Missing ')'", false);
	p->cmd.tag = arena_strndup(p->arena, buf_cstr(&p->tag), p->tag.len);
	p->cmd.args = pop_args(p, 0, &p->cmd.arg_count);
	p->state = ST_DONE;
	return IMAP_PARSE_DONE;
}

/* ---- tag and command name ---- */

static enum imap_parse_result st_tag(struct imap_parser *p, unsigned char c)
{
	if (is_tag_char(c)) {
		int ret = buf_append_byte(&p->tag, c);
		assert(ret == 0);
		(void)ret;
		return IMAP_PARSE_MORE;
	}
	if (c == ' ' && p->tag.len == 0)
		return fail(p, c, "Missing tag", false);
	if (c == '\n' && p->tag.len == 0)
		return fail(p, c, "Empty command line", false);
	if (c != ' ' && c != '\n')
		return fail(p, c, "Invalid tag", false);
	p->tag_valid = true;
	if (c == '\n')
		return fail(p, c, "Missing command", false);
	p->state = ST_NAME;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result st_name(struct imap_parser *p, unsigned char c)
{
	if (imap_char_is_atom(c)) {
		token_add(p, c);
		return IMAP_PARSE_MORE;
	}
	if (c != ' ' && c != '\n')
		return fail(p, c, "Invalid command name", false);
	if (p->token.len == 0)
		return fail(p, c, "Missing command", false);
	p->cmd.name =
	        arena_strndup(p->arena, buf_cstr(&p->token), p->token.len);
	buf_reset(&p->token);
	if (c == '\n')
		return end_line(p, c);
	p->state = ST_SP_ARG;
	return IMAP_PARSE_MORE;
}

/* ---- arguments ---- */

/* After an argument: SP, ')' closing a list, or the end of the line. */
static enum imap_parse_result st_after_arg(struct imap_parser *p,
                                           unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = ST_SP_ARG;
		return IMAP_PARSE_MORE;
	case ')':
		if (p->depth == 0)
			return fail(p, c, "Unexpected ')'", false);
		close_list(p);
		return IMAP_PARSE_MORE;
	case '\n':
		return end_line(p, c);
	default:
		return fail(p, c, "Missing space after argument", false);
	}
}

static enum imap_parse_result start_atom(struct imap_parser *p, unsigned char c)
{
	if (count_arg(p) < 0)
		return fail(p, c, "Too many arguments", false);
	token_add(p, c);
	p->state = c == '[' ? ST_ATOM_BRACKET : ST_ATOM;
	return IMAP_PARSE_MORE;
}

/* The first byte of an argument, after SP or '('. */
static enum imap_parse_result start_arg(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case '"':
		if (count_arg(p) < 0)
			return fail(p, c, "Too many arguments", false);
		p->state = ST_QUOTED;
		return IMAP_PARSE_MORE;
	case '(':
		return open_list(p, c);
	case '{':
	case '~':
		p->lit8 = c == '~';
		p->lit_size = 0;
		p->lit_digits = 0;
		p->lit_plus = false;
		p->state = c == '~' ? ST_TILDE : ST_LIT_DIGITS;
		return IMAP_PARSE_MORE;
	case ' ':
		return fail(p, c, "Unexpected space", false);
	default:
		if (c == '\\' || is_arg_atom_char(c))
			return start_atom(p, c);
		return fail(p, c, "Invalid character", false);
	}
}

static enum imap_parse_result st_sp_arg(struct imap_parser *p, unsigned char c)
{
	if (c == '\n')
		return fail(p, c, "Trailing space", false);
	if (c == ')' && p->depth > 0)
		return fail(p, c, "Unexpected space before ')'", false);
	if (c == ')')
		return fail(p, c, "Unexpected ')'", false);
	return start_arg(p, c);
}

static enum imap_parse_result st_list_open(struct imap_parser *p,
                                           unsigned char c)
{
	if (c == '\n')
		return fail(p, c, "Missing ')'", false);
	if (c == ')') {
		close_list(p);
		return IMAP_PARSE_MORE;
	}
	return start_arg(p, c);
}

static enum imap_parse_result finish_atom(struct imap_parser *p,
                                          unsigned char c)
{
	const char *s = buf_cstr(&p->token);
	enum imap_arg_type type = IMAP_ARG_ATOM;

	if (p->token.len == 3 && strcasecmp(s, "NIL") == 0)
		type = IMAP_ARG_NIL;
	push_string(p, type, s, p->token.len);
	p->state = ST_AFTER_ARG;
	return st_after_arg(p, c);
}

static enum imap_parse_result st_atom(struct imap_parser *p, unsigned char c)
{
	if (is_arg_atom_char(c)) {
		token_add(p, c);
		if (c == '[')
			p->state = ST_ATOM_BRACKET;
		return IMAP_PARSE_MORE;
	}
	if (c == ' ' || c == ')' || c == '\n')
		return finish_atom(p, c);
	return fail(p, c, "Invalid character in atom", false);
}

/* FETCH's section spec makes "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>"
 * one atom: inside [...] spaces and parentheses are part of it. A line
 * that ends inside the brackets ends the atom too, so a plain atom such
 * as the mailbox name "a[b" (RFC 3501: '[' is an ATOM-CHAR) still works. */
static enum imap_parse_result st_atom_bracket(struct imap_parser *p,
                                              unsigned char c)
{
	if (c == '\n')
		return finish_atom(p, c);
	if (c < 0x20 || c >= 0x7f || c == '{')
		return fail(p, c, "Invalid character in atom", false);
	token_add(p, c);
	if (c == ']')
		p->state = ST_ATOM;
	return IMAP_PARSE_MORE;
}

/* "~" starts literal8 only when '{' follows; otherwise it is an atom. */
static enum imap_parse_result st_tilde(struct imap_parser *p, unsigned char c)
{
	enum imap_parse_result ret;

	if (c == '{') {
		p->state = ST_LIT_DIGITS;
		return IMAP_PARSE_MORE;
	}
	ret = start_atom(p, '~');
	if (ret != IMAP_PARSE_MORE)
		return ret;
	return st_atom(p, c);
}

/* Length of the UTF-8 sequence that c starts, 0 if c cannot start one
 * (RFC 3629 section 4: C0, C1 and F5..FF never appear). */
static size_t utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return c < 0xf5 ? 4 : 0;
}

/* RFC 9051 section 9 allows utf8-2 / utf8-3 / utf8-4 in quoted strings:
 * no overlong forms, no surrogates, nothing over U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s[i]);
		if (n == 0 || n > len - i)
			return false;
		if (n == 1) {
			i++;
			continue;
		}
		unsigned char c = s[i], c1 = s[i + 1];
		if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) ||
		    (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		}
		i += n;
	}
	return true;
}

static enum imap_parse_result st_quoted(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case '"':
		if (!utf8_valid(p->token.data, p->token.len))
			return fail(p, c, "Invalid UTF-8 in quoted string",
			            false);
		push_string(p, IMAP_ARG_QUOTED, buf_cstr(&p->token),
		            p->token.len);
		p->state = ST_AFTER_ARG;
		return IMAP_PARSE_MORE;
	case '\\':
		p->state = ST_QUOTED_ESC;
		return IMAP_PARSE_MORE;
	case '\0':
	case '\r':
	case '\n':
		/* RFC 3501 section 9: TEXT-CHAR excludes CR and LF, CHAR
		 * excludes NUL */
		return fail(p, c, "Invalid character in quoted string", false);
	default:
		token_add(p, c);
		return IMAP_PARSE_MORE;
	}
}

static enum imap_parse_result st_quoted_esc(struct imap_parser *p,
                                            unsigned char c)
{
	/* quoted-specials are the only escapes */
	if (c != '"' && c != '\\')
		return fail(p, c, "Invalid escape in quoted string", false);
	token_add(p, c);
	p->state = ST_QUOTED;
	return IMAP_PARSE_MORE;
}

/* ---- literals ---- */

/* "}" ends the announcement: check the limits now, before the client
 * sends the bytes. Too large is fatal for {n+}, whose bytes follow at
 * once; after other errors the tail recogniser skips a {n+} literal's
 * bytes with the rest of the line. */
static enum imap_parse_result literal_announced(struct imap_parser *p,
                                                unsigned char c)
{
	/* SIZE_MAX: no room for the terminating NUL */
	if (p->lit_size > p->lim.max_literal_bytes || p->lit_size == SIZE_MAX)
		return fail(p, c, "Literal too large", p->lit_plus);
	if (count_arg(p) < 0)
		return fail(p, c, "Too many arguments", false);
	p->state = ST_LIT_EOL;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result st_lit_digits(struct imap_parser *p,
                                            unsigned char c)
{
	if (c >= '0' && c <= '9') {
		p->lit_size = add_digit(p->lit_size, c);
		p->lit_digits++;
		return IMAP_PARSE_MORE;
	}
	if (p->lit_digits == 0 || (c != '+' && c != '}'))
		return fail(p, c, "Invalid literal size", false);
	if (c == '+') {
		p->state = ST_LIT_PLUS;
		return IMAP_PARSE_MORE;
	}
	return literal_announced(p, c);
}

static enum imap_parse_result st_lit_plus(struct imap_parser *p,
                                          unsigned char c)
{
	if (c != '}')
		return fail(p, c, "Invalid literal size", false);
	p->lit_plus = true;
	return literal_announced(p, c);
}

static void finish_literal(struct imap_parser *p)
{
	struct imap_arg arg = {
	        .type = IMAP_ARG_LITERAL,
	        .str = (const char *)p->lit_data,
	        .len = p->lit_done,
	        .is_literal8 = p->lit8,
	        .fd = -1,
	};
	if (p->lit_data != NULL) {
		p->lit_data[p->lit_done] = '\0';
	} else {
		arg.str = "";
		arg.fd = p->lit_spill_failed ? -1 : p->lit_fd;
		arg.spill_failed = p->lit_spill_failed;
		p->lit_fd = -1;
	}
	push_arg(p, &arg);
	p->lit_data = NULL;
	p->state = ST_AFTER_ARG;
}

/* Ask whether this literal goes to a file; true if it does. */
static bool spill_literal(struct imap_parser *p)
{
	if (p->spill_fn == NULL || p->cmd.name == NULL ||
	    p->spilled.len >= p->spilled.max_bytes)
		return false;
	int fd = p->spill_fn(p->spill_ctx, p->cmd.name, p->lit_size);
	if (fd < 0)
		return false;
	int ret = buf_append(&p->spilled, &fd, sizeof(fd));
	assert(ret == 0);
	(void)ret;
	p->lit_fd = fd;
	p->lit_spill_failed = false;
	return true;
}

/* Write literal bytes to its file; a failure is remembered and the rest
 * of the literal is still consumed. */
static void spill_write(struct imap_parser *p, const unsigned char *data,
                        size_t n)
{
	while (n > 0 && !p->lit_spill_failed) {
		ssize_t w = write(p->lit_fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			p->lit_spill_failed = true;
			break;
		}
		data += w;
		n -= (size_t)w;
	}
}

static enum imap_parse_result st_lit_eol(struct imap_parser *p, unsigned char c)
{
	if (c != '\n')
		return fail(p, c, "Missing CRLF after literal size", false);
	p->lit_done = 0;
	if (p->lit_size > 0 && spill_literal(p)) {
		p->lit_data = NULL;
	} else {
		/* checked at the LF, when the bytes before the literal are
		 * known */
		if (p->lit_size > p->lim.max_command_bytes - p->command_bytes)
			return fail(p, c, "Command too long", false);
		/* within max_literal_bytes, which is a size_t */
		p->lit_data = arena_alloc(p->arena, (size_t)p->lit_size + 1);
	}
	p->state = ST_LIT_DATA;
	if (p->lit_size == 0)
		finish_literal(p);
	return p->lit_plus ? IMAP_PARSE_MORE : IMAP_PARSE_CONTINUE;
}

/* Bulk-copy literal bytes; returns how many were used. */
static size_t literal_data(struct imap_parser *p, const unsigned char *data,
                           size_t len)
{
	size_t n = (size_t)p->lit_size - p->lit_done;

	if (n > len)
		n = len;
	if (p->lit_data != NULL) {
		memcpy(p->lit_data + p->lit_done, data, n);
		p->command_bytes += n;
	} else {
		spill_write(p, data, n);
	}
	p->lit_done += n;
	if (p->lit_done == p->lit_size)
		finish_literal(p);
	return n;
}

/* Bulk-skip a bad line's literal; returns how many bytes were used. */
static size_t skip_literal(struct imap_parser *p, size_t len)
{
	size_t n = p->skip_left < len ? (size_t)p->skip_left : len;

	p->skip_left -= n;
	if (p->skip_left == 0)
		p->state = ST_SKIP;
	return n;
}

/* ---- the byte loop ---- */

static step_fn *const steps[] = {
        [ST_TAG] = st_tag,
        [ST_NAME] = st_name,
        [ST_SP_ARG] = st_sp_arg,
        [ST_LIST_OPEN] = st_list_open,
        [ST_AFTER_ARG] = st_after_arg,
        [ST_ATOM] = st_atom,
        [ST_ATOM_BRACKET] = st_atom_bracket,
        [ST_TILDE] = st_tilde,
        [ST_QUOTED] = st_quoted,
        [ST_QUOTED_ESC] = st_quoted_esc,
        [ST_LIT_DIGITS] = st_lit_digits,
        [ST_LIT_PLUS] = st_lit_plus,
        [ST_LIT_EOL] = st_lit_eol,
};

/* One byte outside literal data. CR is only valid before LF, so it is
 * handled here once and the states see the LF alone (a bare LF is
 * accepted as a line end too). Quoted strings reject CR themselves. */
static enum imap_parse_result step(struct imap_parser *p, unsigned char c)
{
	if (p->state == ST_SKIP)
		return skip_byte(p, c);
	tail_feed(p, c);
	p->line_bytes++;
	p->command_bytes++;
	if (p->line_bytes > p->lim.max_line_bytes)
		return fail(p, c, "Line too long", false);
	if (p->command_bytes > p->lim.max_command_bytes)
		return fail(p, c, "Command too long", false);
	if (p->cr_pending) {
		p->cr_pending = false;
		if (c != '\n')
			return fail(p, c, "CR not followed by LF", false);
	} else if (c == '\r' && p->state != ST_QUOTED &&
	           p->state != ST_QUOTED_ESC) {
		p->cr_pending = true;
		return IMAP_PARSE_MORE;
	}
	assert(p->state < sizeof(steps) / sizeof(steps[0]) &&
	       steps[p->state] != NULL);
	return steps[p->state](p, c);
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p,
                                        const unsigned char *data, size_t len,
                                        size_t *consumed_r)
{
	enum imap_parse_result ret = IMAP_PARSE_MORE;
	size_t i = 0;

	if (p->state == ST_FATAL) {
		*consumed_r = 0;
		return IMAP_PARSE_ERROR;
	}
	if (p->state == ST_DONE)
		begin_command(p);
	while (i < len && ret == IMAP_PARSE_MORE) {
		if (p->state == ST_ENDED)
			begin_command(p);
		if (p->state == ST_LIT_DATA)
			i += literal_data(p, data + i, len - i);
		else if (p->state == ST_SKIP_LITERAL)
			i += skip_literal(p, len - i);
		else
			ret = step(p, data[i++]);
	}
	*consumed_r = i;
	return ret;
}

const struct imap_command_line *imap_parser_command(const struct imap_parser *p)
{
	return p->state == ST_DONE ? &p->cmd : NULL;
}

const char *imap_parser_error(const struct imap_parser *p, bool *fatal_r)
{
	if (fatal_r != NULL)
		*fatal_r = p->fatal;
	return p->error;
}

const char *imap_parser_error_tag(const struct imap_parser *p)
{
	return p->error != NULL && p->tag_valid ? buf_cstr(&p->tag) : NULL;
}

/* ---- helpers for command handlers ---- */

bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
                          size_t *len_r)
{
	/* RFC 3516 4.2: literal8 only where the grammar names it (APPEND
	 * data), never as an astring */
	if (arg->type == IMAP_ARG_LITERAL && arg->is_literal8)
		return false;
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_NIL:
		*str_r = arg->str;
		if (len_r != NULL)
			*len_r = arg->len;
		return true;
	case IMAP_ARG_LIST:
		break;
	}
	return false;
}

bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return false;
	*str_r = arg->str;
	return true;
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name)
{
	const char *s;

	return imap_arg_get_atom(arg, &s) && strcasecmp(s, name) == 0;
}

bool imap_parser_is_idle(const struct imap_parser *p)
{
	switch (p->state) {
	case ST_DONE:
	case ST_ENDED:
		return true;
	case ST_TAG:
		return p->command_bytes == 0 && p->tag.len == 0;
	default:
		return false;
	}
}
